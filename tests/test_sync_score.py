"""Sync score: the thesis's co-occurrence S through an edit, calibrated against random offsets."""
from __future__ import annotations

import numpy as np
import pytest

from supervisor_app.edit.edl import Edit, Excerpt
from supervisor_app.ranking.sync import best_start_offset, cut_curve_from_times, sync_score

BAR = 2.0
DOWNBEATS = np.arange(0.0, 60.0, BAR)
SECTIONS = [16.0, 32.0, 48.0]
CUTS = np.array([4.0, 8.0, 14.0, 20.0, 24.0])  # on the bar grid of music that starts on a downbeat at 0


def _edits():
    # the same two-excerpt edit, its splices on downbeats vs. everything half a bar (1 s) later
    on = Edit([Excerpt(0.0, 14.0, 0.0, 14.0), Excerpt(14.0, 30.0, 32.0, 48.0)], 30.0, 60.0)
    off = Edit([Excerpt(0.0, 14.0, 1.0, 15.0), Excerpt(14.0, 30.0, 33.0, 49.0)], 30.0, 60.0)
    return on, off


def test_edit_on_downbeats_scores_higher_than_half_a_bar_off():
    on, off = _edits()
    s_on = sync_score(on, CUTS, None, DOWNBEATS, SECTIONS)
    s_off = sync_score(off, CUTS, None, DOWNBEATS, SECTIONS)
    # the calibrated score is S's excess over random offsets of the same edit (S units)
    assert s_on.score == pytest.approx(s_on.details["S"] - s_on.details["null_mean"]) and s_on.score > 0
    assert s_on.score > s_off.score
    assert s_on.S_bar > s_off.S_bar
    assert s_on.n_cuts_on_downbeat == 5 and s_off.n_cuts_on_downbeat == 0
    assert s_on.S_bar == pytest.approx(5 / 16)  # 16 downbeats heard (0..30 s), 5 of them exactly on a cut
    assert s_off.S_bar == pytest.approx(0.0, abs=1e-6)  # 1 s = 12.5 sigma away from every cut
    assert s_on.details["z"] > 2.0  # far above what random offsets of the same music give
    assert s_on.details["percentile"] > 0.9


def test_the_probability_curve_and_the_cut_times_agree():
    on, _ = _edits()
    curve = cut_curve_from_times(CUTS, 30.0)
    a = sync_score(on, CUTS, curve, DOWNBEATS, SECTIONS)
    b = sync_score(on, CUTS, None, DOWNBEATS, SECTIONS)
    assert a.S_bar == pytest.approx(b.S_bar) and a.score == pytest.approx(b.score)


def test_no_cuts_gives_a_neutral_score():
    on, _ = _edits()
    s = sync_score(on, [], None, DOWNBEATS, SECTIONS)
    assert s.score == 0.0 and s.S_bar == 0.0 and s.n_cuts_on_downbeat == 0


def test_score_is_deterministic_and_json_friendly():
    on, _ = _edits()
    a = sync_score(on, CUTS, None, DOWNBEATS, SECTIONS)
    b = sync_score(on, CUTS, None, DOWNBEATS, SECTIONS)
    assert a.score == b.score
    d = a.to_dict()
    assert set(d) == {"score", "S_bar", "S_seg", "n_cuts_on_downbeat", "details"}


@pytest.mark.parametrize("bar_s", [0.8, 2.0, 4.0])
def test_calibration_does_not_favour_a_tempo_on_unrelated_pictures(bar_s):
    # pictures with random cuts have no relation to the music laid under them (one excerpt, no splice):
    # whatever the tempo (bars of 0.8-4 s), the calibrated score must average near 0
    rng = np.random.default_rng(7)
    db = np.arange(0.0, 120.0, bar_s)
    zs, excess = [], []
    for _ in range(40):
        cuts = np.sort(rng.uniform(0.5, 59.5, 20))
        start = float(rng.uniform(0.0, 60.0))
        edit = Edit([Excerpt(0.0, 60.0, start, start + 60.0)], 60.0, 120.0)
        sc = sync_score(edit, cuts, None, db, [], n_random=60)
        zs.append(sc.details["z"])
        excess.append(sc.score)
    assert abs(float(np.mean(zs))) < 0.4
    assert 0.2 < float(np.std(zs)) < 2.0  # and spreads like a z-score
    assert abs(float(np.mean(excess))) < 0.02  # the score (excess S over random offsets) averages near 0 too


def test_best_start_offset_finds_the_start_that_puts_a_section_on_the_cut():
    # one cut at 6 s; the section boundary at 20 s lands on it only when the track starts at 14 s
    cuts = [6.0]
    off, edit, sc = best_start_offset(12.0, cuts, None, 60.0, DOWNBEATS, [20.0], n_random=50,
                                      prefer_track_ending=False)
    assert off == pytest.approx(14.0)
    assert edit.video_to_music(6.0) == pytest.approx(20.0)
    assert sc.S_seg > 0.9
