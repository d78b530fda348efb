"""Beats/downbeats with madmom: the compatibility shim, accuracy on known answers, input limits."""
from __future__ import annotations

import collections
import json
import sys

import numpy as np
import pytest

from fixture_paths import DATA
from synth_music import click_track
from supervisor_app.analysis import madmom_compat
from supervisor_app.analysis.beats import BeatResult, track_beats, track_beats_file
from supervisor_app.infra.errors import AnalysisError

SR = 44100


# --- the shim -------------------------------------------------------------------------------------
def test_shim_imports_madmom_without_leaking_aliases():
    had_pkg_resources = "pkg_resources" in sys.modules
    madmom = madmom_compat.import_madmom()
    assert madmom.__version__ == "0.16.1"
    assert "float" not in vars(np) and not hasattr(np, "float")
    assert not hasattr(collections, "MutableSequence")
    assert ("pkg_resources" in sys.modules) == had_pkg_resources
    import madmom.features.beats_hmm as bh

    assert bh.np.float is float and bh.np.int is int
    assert bh.np.zeros is np.zeros and bh.np.float64 is np.float64  # everything else is numpy's own
    assert madmom_compat.import_madmom() is madmom  # idempotent


def test_ragged_asarray_only_in_downbeats_and_only_for_ragged_input():
    madmom_compat.import_madmom()
    import madmom.features.beats_hmm as bh
    import madmom.features.downbeats as db

    ragged = [(np.arange(3), -1.0), (np.arange(5), -2.0)]
    a = db.np.asarray(ragged)
    assert a.dtype == object and a.shape == (2, 2) and a[1, 1] == -2.0
    assert db.np.asarray([[1, 2], [3, 4]]).dtype != object
    with pytest.raises(ValueError):
        db.np.asarray(ragged, dtype=float)  # an explicit dtype is never overridden
    with pytest.raises(ValueError):
        bh.np.asarray(ragged)  # other modules keep numpy's behaviour
    with pytest.raises(ValueError):
        np.asarray(ragged)


def test_in1d_alias_matches_isin():
    madmom_compat.import_madmom()
    import madmom.features.beats_hmm as bh

    assert bh.np.in1d([[1, 5], [3, 7]], [3, 5]).tolist() == [False, True, True, False]


# --- accuracy -------------------------------------------------------------------------------------
def test_beats_on_madmom_sample_match_hand_annotations():
    import mir_eval
    import soundfile as sf

    x, sr = sf.read(str(DATA / "madmom_sample.wav"), dtype="float32")
    ref = np.loadtxt(DATA / "madmom_sample.beats")[:, 0]
    r = track_beats(x, sr)
    f = mir_eval.beat.f_measure(ref, r.beats_s, f_measure_threshold=0.07)
    print(f"madmom_sample: F = {f:.3f}, {len(r.beats_s)} beats at {r.tempo_bpm:.1f} BPM")
    assert f >= 0.9


def test_downbeats_of_an_accented_4_4_click_track_all_found_within_50_ms():
    y, times, pos = click_track(120.0, 4, 30.0)
    r = track_beats(y, SR)
    ref_down = times[pos == 1]
    assert r.meter == 4
    assert r.tempo_bpm == pytest.approx(120.0, abs=1.0)
    assert len(r.downbeats_s) == len(ref_down)
    assert np.max(np.abs(r.downbeats_s - ref_down)) <= 0.05
    assert np.all(r.beat_positions[np.isin(r.beats_s, r.downbeats_s)] == 1)
    # every beat found, with its bar position
    assert len(r.beats_s) == len(times)
    assert np.max(np.abs(r.beats_s - times)) <= 0.05
    assert r.beat_positions.tolist() == pos.tolist()
    assert r.delta_beat_s == pytest.approx(0.5, abs=0.005) and r.delta_bar_s == pytest.approx(2.0, abs=0.02)


def test_three_four_at_another_sample_rate_is_resampled_and_found():
    sr = 22050
    y, times, pos = click_track(100.0, 3, 20.0, sr=sr)
    r = track_beats(np.stack([y, y]), sr)  # (channels, n) as the media layer returns
    ref_down = times[pos == 1]
    assert r.meter == 3
    assert len(r.downbeats_s) == len(ref_down)
    assert np.max(np.abs(r.downbeats_s - ref_down)) <= 0.05


def test_track_beats_file_decodes_like_the_array_path():
    import soundfile as sf

    x, sr = sf.read(str(DATA / "madmom_sample.wav"), dtype="float32")
    a = track_beats(x, sr)
    b = track_beats_file(DATA / "madmom_sample.wav")
    assert np.allclose(a.beats_s, b.beats_s, atol=0.011)
    assert a.meter == b.meter


# --- limits and serialisation ---------------------------------------------------------------------
def test_silence_is_a_clear_error():
    with pytest.raises(AnalysisError, match="silent"):
        track_beats(np.zeros(10 * SR, np.float32), SR)


def test_too_short_is_a_clear_error():
    with pytest.raises(AnalysisError, match=r"only 1\.0 s long.*at least 2 s"):
        track_beats(np.random.default_rng(0).normal(0, 0.1, SR).astype(np.float32), SR)


def test_too_long_is_refused_before_any_work():
    sr = 1000  # 16 minutes at a low rate: cheap to allocate, refused by duration alone
    with pytest.raises(AnalysisError, match=r"16\.0 min.*10-min limit"):
        track_beats(np.zeros(16 * 60 * sr, np.float32), sr)
    with pytest.raises(AnalysisError, match="1-min limit"):
        track_beats(np.zeros(90 * sr, np.float32), sr, max_duration_s=60)


def test_invalid_samples_are_a_clear_error():
    x = np.ones(5 * SR, np.float32)
    x[100] = np.nan
    with pytest.raises(AnalysisError, match="invalid samples"):
        track_beats(x, SR)


def test_beat_result_round_trips_through_json():
    r = BeatResult(np.array([0.5, 1.0, 1.5, 2.0]), np.array([1, 2, 3, 1]), np.array([0.5, 2.0]), 120.0, 3)
    d = json.loads(json.dumps(r.to_dict()))
    back = BeatResult.from_dict(d)
    assert back.beats_s.tolist() == r.beats_s.tolist()
    assert back.beat_positions.tolist() == [1, 2, 3, 1]
    assert back.downbeats_s.tolist() == [0.5, 2.0]
    assert back.tempo_bpm == 120.0 and back.meter == 3
    assert back.delta_bar_s == pytest.approx(1.5)
