"""Fit-score calibration measurement (supervisor_app.evaluation.fit_calibration) on tiny synthetic tracks
whose answers are known: steady 120 BPM grids (bar 2 s) with hand-placed section boundaries."""
from __future__ import annotations

import json

import numpy as np
import pytest

from supervisor_app.evaluation.fit_calibration import (
    EditorStyle,
    CalibrationTrack,
    auc,
    covering_offsets,
    fit_track,
    make_editor_cuts,
    offset_test,
    rank_true_track,
    run_calibration,
    score_at_offset,
    spearman,
    calibration_tracks_from_catalog,
)


def grid_track(key: str, bpm: float, duration_s: float, section_bars=(), phase_s: float = 0.0) -> CalibrationTrack:
    bar = 4 * 60.0 / bpm
    db = np.arange(phase_s, duration_s - 1e-9, bar)
    bounds = [0.0]
    for nb in section_bars:
        bounds.append(bounds[-1] + nb * bar)
    bounds = [b for b in bounds if b < duration_s] + [duration_s]
    return CalibrationTrack(key, duration_s, db, np.array(bounds), bpm)


ON_SECTIONS_ONLY = EditorStyle(p_section_cut=1.0, p_downbeat_cut=0.0, anticipation_s=0.04, jitter_s=0.0,
                               off_grid_per_min=0.0)


def test_editor_cuts_land_one_anticipation_before_the_section_downbeats():
    t = grid_track("a", 120, 80.0, section_bars=(3, 5, 4, 6, 7))  # sections start at 6, 16, 24, 36, 50 s
    e = make_editor_cuts(t, 4.0, 30.0, ON_SECTIONS_ONLY, np.random.default_rng(1))
    # picture time = music time - 4 s - 0.04 s; sections at 6, 16, 24 s of the track fall inside (4, 34)
    assert np.allclose(e.cuts_s, [2.0 - 0.04, 12.0 - 0.04, 20.0 - 0.04])
    assert (e.n_on_grid, e.n_off_grid) == (3, 0) and e.track_key == "a" and e.start_offset_s == 4.0


def test_editor_cuts_off_grid_only_and_min_shot():
    t = grid_track("a", 120, 80.0)
    style = EditorStyle(p_section_cut=0.0, p_downbeat_cut=0.0, off_grid_per_min=120.0, min_shot_s=0.5)
    e = make_editor_cuts(t, 0.0, 30.0, style, np.random.default_rng(2))
    # with no on-grid probability, make_editor_cuts still forces one cut on a downbeat
    assert e.n_on_grid <= 1 and e.n_off_grid > 10
    assert np.all(np.diff(e.cuts_s) >= 0.5) and e.cuts_s.min() >= 0.5 and e.cuts_s.max() <= 29.5


def test_every_downbeat_cut_with_jitter_stays_near_the_grid():
    t = grid_track("a", 120, 80.0)
    style = EditorStyle(p_section_cut=1.0, p_downbeat_cut=1.0, anticipation_s=0.04, jitter_s=0.02, off_grid_per_min=0)
    e = make_editor_cuts(t, 10.0, 30.0, style, np.random.default_rng(3))
    assert e.n_on_grid == 14  # downbeats at 12, 14, …, 38 s of the track (strictly inside the picture ± 0.5 s)
    err = e.cuts_s - (np.round((e.cuts_s + 0.04) / 2.0) * 2.0 - 0.04)
    assert np.abs(err).max() < 0.1 and abs(err.mean()) < 0.02


def test_auc_and_spearman_known_values():
    assert auc([2.0], [1.0, 3.0]) == 0.5
    assert auc([2.0], [2.0]) == 0.5
    assert auc([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert np.isnan(auc([], [1.0]))
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_covering_offsets_keep_the_picture_inside_the_track():
    t = grid_track("a", 120, 60.0)
    offs = covering_offsets(t, 30.0)
    assert offs[0] == 0.0 and offs[-1] == 30.0 and np.all(offs + 30.0 <= 60.0)


def test_true_offset_beats_other_offsets_when_cuts_follow_the_sections():
    # irregular section lengths: only the true offset puts the picture's cuts on section changes
    t = grid_track("a", 120, 120.0, section_bars=(3, 5, 2, 7, 4, 6, 3, 5, 8, 6, 4))
    e = make_editor_cuts(t, 12.0, 30.0, ON_SECTIONS_ONLY, np.random.default_rng(4))
    ot = offset_test(t, e, n_offsets=12, n_random=50, rng=np.random.default_rng(5))
    assert len(ot.random_z) == 12
    assert ot.auc_S > 0.9  # raw S: only the true offset has a section change on every cut
    # the calibrated score (excess S over circular shifts) also prefers it
    assert ot.auc_z > 0.6
    assert ot.true_z > float(np.median(ot.random_z)) + 0.05  # clearly above the other offsets (score in S units)


def test_fit_track_raw_choice_is_the_best_raw_S_over_covering_offsets():
    t = grid_track("a", 120, 70.0, section_bars=(3, 5, 2, 7, 4, 6))
    e = make_editor_cuts(t, 6.0, 30.0, EditorStyle(), np.random.default_rng(6))
    fit = fit_track(t, e.cuts_s, 30.0, n_random=30)
    for o in covering_offsets(t, 30.0)[::3]:
        assert fit.raw_S >= score_at_offset(t, e.cuts_s, 30.0, o, n_random=0)[1] - 1e-12


def test_true_track_rank_among_other_tempi():
    true = grid_track("true", 120, 70.0, section_bars=(3, 5, 2, 7, 4, 6))
    others = [grid_track(f"t{bpm}", bpm, 70.0, section_bars=(4, 4, 4, 4), phase_s=0.3) for bpm in (87, 101, 139, 163)]
    style = EditorStyle(p_section_cut=1.0, p_downbeat_cut=0.6, jitter_s=0.02, off_grid_per_min=0.0)
    e = make_editor_cuts(true, 8.0, 30.0, style, np.random.default_rng(7))
    rr = rank_true_track(e, [others[0], others[1], true, others[2], others[3]], n_random=50)
    assert [f.key for f in rr.fits] == ["t87", "t101", "true", "t139", "t163"]
    # only the true track puts bar lines on most cuts: the best raw S is its own
    assert rr.rank_raw == 1.0 and rr.recall_raw[1] == 1.0
    z = np.array([f.z for f in rr.fits])
    assert rr.rank_z == 1.0 + np.sum(z > z[2]) and rr.recall_z[1] == float(rr.rank_z == 1.0)
    assert rr.recall_z[5] == 1.0
    with pytest.raises(ValueError):
        rank_true_track(e, others, n_random=10)


def test_run_calibration_summarises_queries():
    tracks = [grid_track("a", 120, 50.0, section_bars=(3, 5, 2, 7)), grid_track("b", 97, 50.0, section_bars=(4, 2, 6)),
              grid_track("c", 143, 50.0, section_bars=(2, 6, 3, 5))]
    rep = run_calibration(tracks, n_queries=2, video_duration_s=20.0, seed=1, n_offsets=4, n_random=20)
    s = rep.summary
    assert rep.n_queries == 2 and s["n_tracks"] == 3 and s["chance"]["mean_rank"] == 2.0
    assert 1.0 <= s["calibrated"]["mean_rank"] <= 3.0 and 0.0 <= s["raw"]["R@1"] <= 100.0
    assert s["calibrated"]["R@5"] == 100.0  # 3 tracks: always in the top 5
    assert 0.0 <= s["offset"]["auc_z"] <= 1.0 and len(rep.queries) == 2
    again = run_calibration(tracks, n_queries=2, video_duration_s=20.0, seed=1, n_offsets=4, n_random=20)
    assert json.dumps(again.queries) == json.dumps(rep.queries)  # deterministic (NaN-safe comparison)


def test_track_events_from_catalog(tmp_path):
    from supervisor_app.catalog import Catalog
    from supervisor_app.indexing.keys import beats_key, segment_versions

    cat = Catalog.create(tmp_path / "c.sqlite")
    try:
        a = cat.add_track(tmp_path / "a.ogg", "h1", 1, 0.0, 40.0)
        b = cat.add_track(tmp_path / "b.ogg", "h2", 1, 0.0, 40.0)  # no beats: left out
        c = cat.add_track(tmp_path / "c.ogg", "h3", 1, 0.0, 40.0)  # beats, no segments: one section
        beats = {"beats_s": list(np.arange(0, 40, 0.5)), "beat_positions": [1, 2, 3, 4] * 20,
                 "downbeats_s": list(np.arange(0, 40, 2.0)), "tempo_bpm": 120.0, "meter": 4}
        cat.put_analysis(a, *beats_key(), beats)
        cat.put_analysis(c, *beats_key(), beats)
        name, versions = segment_versions("olda")
        cat.put_analysis(a, name, versions[0], {"boundaries_s": [0.0, 12.0, 40.0]})
        ev = {e.key: e for e in calibration_tracks_from_catalog(cat)}
    finally:
        cat.close()
    assert set(ev) == {str(a), str(c)} and str(b) not in ev
    assert list(ev[str(a)].boundaries_s) == [0.0, 12.0, 40.0] and ev[str(a)].tempo_bpm == 120.0
    assert list(ev[str(c)].boundaries_s) == [0.0, 40.0] and len(ev[str(c)].downbeats_s) == 20
