"""The thesis ch. 6 measures on synthetic cut curves and beat grids with known answers."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from supervisor_app.analysis.beats import BeatResult
from supervisor_app.analysis.language_of_clips import (
    cooccurrence_score,
    cut_downbeat_offsets,
    language_of_clips,
    shot_duration_histogram,
)

RATE = 25.0


def grid_beats(bpm: float, meter: int, duration_s: float, first_s: float = 0.4) -> BeatResult:
    """A steady beat grid whose beats fall on 25 Hz frames when 60/bpm is a multiple of 40 ms."""
    period = 60.0 / bpm
    beats = np.round((first_s + period * np.arange(int((duration_s - first_s) / period))) * RATE) / RATE
    pos = np.arange(len(beats)) % meter + 1
    return BeatResult(beats, pos, beats[pos == 1], bpm, meter)


def curve_with_cuts(cuts_s, duration_s: float) -> np.ndarray:
    f = np.zeros(int(round(duration_s * RATE)))
    for c in cuts_s:
        k = int(round(c * RATE))
        if 0 <= k < len(f):
            f[k] = 1.0
    return f


def shots_from_cuts(cuts_s, duration_s):
    edges = [0.0] + [float(c) for c in cuts_s] + [duration_s]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:])]


def test_window_is_one_at_zero_and_gaussian_with_two_frame_sigma():
    f = np.zeros(250)
    f[100] = 1.0  # t = 4.0 s
    s, s_i = cooccurrence_score([4.0, 4.04, 4.08, 4.0 + 25 / RATE], f)
    assert s_i[0] == pytest.approx(1.0)
    assert s_i[1] == pytest.approx(math.exp(-1 / 8))  # one frame = σ/2
    assert s_i[2] == pytest.approx(math.exp(-1 / 2))  # two frames = σ
    assert s_i[3] < 1e-12
    assert s == pytest.approx(np.mean(s_i))


def test_score_is_a_sum_over_frames_not_an_integral_in_seconds():
    f = np.zeros(100)
    f[49:52] = [0.5, 1.0, 0.5]  # a cut spread over three frames
    _, s_i = cooccurrence_score([50 / RATE], f)
    assert s_i[0] == pytest.approx(1.0 + 2 * 0.5 * math.exp(-1 / 8))


def test_no_events_gives_nan_and_empty_curve_gives_zero():
    s, s_i = cooccurrence_score([], np.ones(10))
    assert math.isnan(s) and len(s_i) == 0
    s, s_i = cooccurrence_score([1.0], np.zeros(0))
    assert s == 0.0 and s_i.tolist() == [0.0]


def test_cuts_on_downbeats_give_s_bar_close_to_one_and_half_a_bar_away_close_to_zero():
    dur = 60.0
    beats = grid_beats(120.0, 4, dur)  # Δbar = 2 s
    on = beats.downbeats_s
    rep_on = language_of_clips(shots_from_cuts(on, dur), on, curve_with_cuts(on, dur), beats, [0, dur])
    assert rep_on["S_bar"] == pytest.approx(1.0, abs=1e-6)
    off = on + beats.delta_bar_s / 2
    off = off[off < dur]
    rep_off = language_of_clips(shots_from_cuts(off, dur), off, curve_with_cuts(off, dur), beats, [0, dur])
    assert rep_off["S_bar"] < 1e-6
    # every second downbeat cut: half the bars have a cut
    half = on[::2]
    rep_half = language_of_clips(shots_from_cuts(half, dur), half, curve_with_cuts(half, dur), beats, [0, dur])
    assert rep_half["S_bar"] == pytest.approx(len(half) / len(on), abs=1e-6)


def test_s_seg_uses_inner_boundaries_only():
    dur = 60.0
    beats = grid_beats(120.0, 4, dur)
    cuts = [16.0, 40.0]
    rep = language_of_clips(shots_from_cuts(cuts, dur), cuts, curve_with_cuts(cuts, dur), beats,
                            [0.0, 16.0, 32.0, 40.0, dur])
    assert rep["n_segment_boundaries"] == 3
    assert rep["S_seg_i"] == pytest.approx([1.0, 0.0, 1.0], abs=1e-9)
    assert rep["S_seg"] == pytest.approx(2 / 3)


def test_shot_histogram_mode_and_duration_agreement_levels():
    # Δbeat 0.5 s, Δbar 2 s, pattern 8 s; most shots last 2 s
    durations = [2.0] * 6 + [1.0, 4.0, 6.0]
    edges = np.concatenate(([0.0], np.cumsum(durations)))
    shots = list(zip(edges[:-1], edges[1:]))
    h = shot_duration_histogram(shots)
    assert h["delta_max_shot_s"] == pytest.approx(2.0)
    assert sum(h["counts"]) == len(durations)
    assert h["mean_shot_s"] == pytest.approx(np.mean(durations))
    dur = float(edges[-1])
    beats = grid_beats(120.0, 4, dur)
    rep = language_of_clips(shots, edges[1:-1], curve_with_cuts(edges[1:-1], dur), beats, [])
    assert rep["delta_beat_s"] == pytest.approx(0.5) and rep["delta_bar_s"] == pytest.approx(2.0)
    assert rep["agreement"] == {"beat": False, "bar": True, "pattern": False}
    assert rep["S_seg"] is None  # no segment boundaries: no score, not a zero


def test_histogram_ties_go_to_the_denser_neighbourhood():
    # one shot each at 1.0, 3.0, 3.25 s: 3.0 and 3.25 tie with 1.0 on count, but they neighbour each other
    h = shot_duration_histogram([(0, 1.0), (1.0, 4.0), (4.0, 7.25)])
    assert h["delta_max_shot_s"] in (3.0, 3.25)


def test_cuts_before_downbeats_are_counted_and_found_by_the_lag_profile():
    dur = 60.0
    beats = grid_beats(120.0, 4, dur)
    early = beats.downbeats_s[1:] - 0.08  # editors cut two frames early
    off = cut_downbeat_offsets(early, beats.downbeats_s)
    assert off["n_before"] == len(early) and off["n_after"] == 0 and off["n_on"] == 0
    assert off["median_offset_s"] == pytest.approx(-0.08)
    assert sum(off["counts"]) == len(early)
    rep = language_of_clips(shots_from_cuts(early, dur), early, curve_with_cuts(early, dur), beats, [])
    assert rep["S_bar_by_lag"]["best_lag_s"] == pytest.approx(-0.08)
    assert rep["S_bar"] == pytest.approx(math.exp(-0.5) * len(early) / len(beats.downbeats_s), rel=1e-6)


def test_cuts_after_downbeats_and_mixed_offsets():
    db = np.arange(0.0, 20.0, 2.0)
    cuts = [2.1, 4.0, 5.95, 8.3]
    off = cut_downbeat_offsets(cuts, db)
    assert (off["n_before"], off["n_on"], off["n_after"]) == (1, 1, 2)
    assert off["offsets_s"] == pytest.approx([0.1, 0.0, -0.05, 0.3])
    assert off["n_outside"] == 0


def test_cuts_outside_the_music_bars_are_left_out_of_the_offsets():
    db = np.arange(4.0, 20.0, 2.0)  # the music's bars start at 4 s and end at 18 s
    off = cut_downbeat_offsets([1.0, 6.1, 25.0], db)
    assert off["n_outside"] == 2
    assert off["offsets_s"] == pytest.approx([0.1])


def test_report_is_json_serialisable_and_ignores_music_after_the_video():
    dur = 20.0
    beats = grid_beats(100.0, 3, 60.0)  # music longer than the video
    cuts = [5.0, 11.0]
    rep = language_of_clips(shots_from_cuts(cuts, dur), cuts, curve_with_cuts(cuts, dur), beats, [0, 30, 60])
    json.dumps(rep, allow_nan=False)
    assert rep["n_downbeats"] == int(np.sum(beats.downbeats_s <= dur))
    assert rep["n_segment_boundaries"] == 0
    assert rep["meter"] == 3 and rep["delta_bar_s"] == pytest.approx(1.8)
