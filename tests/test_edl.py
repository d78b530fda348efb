"""Edit engine: cover the picture exactly, splice on downbeats, follow the path, loop, honour sync points."""
from __future__ import annotations

import json

import numpy as np
import pytest

from supervisor_app.edit.edl import Edit, Excerpt, build_edit
from supervisor_app.infra.errors import AnalysisError, UsageError

BAR = 2.0
DOWNBEATS = np.arange(0.0, 60.0, BAR)  # 0, 2, ..., 58: 120 bpm 4/4, a 60 s track
M = 60.0
SECTIONS = [16.0, 32.0, 48.0]  # four music segments of 16 s
FRAME_S = 1 / 25


def on_downbeat(t, downbeats=DOWNBEATS, tol=0.010):
    return float(np.min(np.abs(np.asarray(downbeats) - t))) <= tol


def assert_covers(edit: Edit, duration_s: float):
    ex = edit.excerpts
    assert abs(ex[0].video_start_s) <= FRAME_S
    assert abs(ex[-1].video_end_s - duration_s) <= FRAME_S
    for a, b in zip(ex, ex[1:]):
        assert abs(a.video_end_s - b.video_start_s) < 1e-9
    for e in ex:
        assert e.video_end_s > e.video_start_s
        # slicing only: the music plays at speed 1
        assert e.music_out_s - e.music_in_s == pytest.approx(e.video_end_s - e.video_start_s, abs=1e-9)
        assert 0.0 <= e.music_in_s and e.music_out_s <= M + 1e-9


def assert_splices_on_downbeats(edit: Edit, downbeats=DOWNBEATS, head=True):
    ex = edit.excerpts
    for k, e in enumerate(ex):
        if k > 0 or head:
            assert on_downbeat(e.music_in_s, downbeats), (k, e)
        if k < len(ex) - 1 and "mid-bar" not in e.reason:
            assert on_downbeat(e.music_out_s, downbeats), (k, e)


def test_path_with_cuts_on_the_bar_grid_gives_the_hand_computed_edit():
    # video segments [0,8] [8,20] [20,30]; the path puts music segments 0, 2, 3 under them
    edit = build_edit(30.0, [8.0, 20.0], M, DOWNBEATS, SECTIONS, path=[(0, 0), (1, 0), (2, 1), (3, 2)])
    got = np.array([(e.video_start_s, e.video_end_s, e.music_in_s, e.music_out_s) for e in edit.excerpts])
    np.testing.assert_allclose(got, [(0, 8, 0, 8), (8, 20, 32, 44), (20, 30, 48, 58)], atol=1e-9)
    assert [e.snap_offset_s for e in edit.excerpts] == pytest.approx([0, 0, 0])
    assert [e.cut_s for e in edit.excerpts] == [None, 8.0, 20.0]
    assert [e.music_segment for e in edit.excerpts] == [0, 2, 3]
    assert edit.ending == "track ending"  # the out (58) is the last downbeat of the track
    assert_covers(edit, 30.0)
    assert_splices_on_downbeats(edit)


def test_consecutive_segments_play_continuously():
    # the path asks for segments 0 then 1 exactly where the music gets there by itself: no splice
    edit = build_edit(30.0, [16.0], M, DOWNBEATS, SECTIONS, path=[(0, 0), (1, 1)])
    assert edit.excerpts[0].video_start_s == 0.0 and edit.excerpts[0].music_in_s == 0.0
    assert edit.excerpts[0].video_end_s >= 16.0  # continuous through the section change


def test_splice_snaps_to_the_downbeat_and_records_the_offset():
    # the cut at 8.1 s is 0.1 s after the bar line at 8 s of the open excerpt
    edit = build_edit(30.0, [8.1], M, DOWNBEATS, SECTIONS, path=[(0, 0), (2, 1)])
    sp = edit.excerpts[1]
    assert sp.video_start_s == pytest.approx(8.0)
    assert sp.cut_s == pytest.approx(8.1)
    assert sp.snap_offset_s == pytest.approx(-0.1)
    assert sp.music_in_s == pytest.approx(32.0)
    assert edit.excerpts[0].music_out_s == pytest.approx(8.0)


def test_anticipation_puts_the_bar_line_after_the_picture_cut():
    # cut at 9.0 s, bar lines of the open excerpt at 8 s and 10 s (both 1 s away, tolerance 1 s)
    kw = dict(path=[(0, 0), (2, 1)], tolerance_s=1.0)
    ant = build_edit(30.0, [9.0], M, DOWNBEATS, SECTIONS, allow_anticipation=True, **kw)
    assert ant.excerpts[1].video_start_s == pytest.approx(10.0)
    assert ant.excerpts[1].snap_offset_s == pytest.approx(1.0)  # the picture cut comes first
    # nearer to the earlier bar line (0.9 s vs 1.1 s): anticipation still prefers the later one (half cost)
    kw["tolerance_s"] = 1.2
    ant2 = build_edit(30.0, [8.9], M, DOWNBEATS, SECTIONS, allow_anticipation=True, **kw)
    assert ant2.excerpts[1].video_start_s == pytest.approx(10.0)
    plain = build_edit(30.0, [8.9], M, DOWNBEATS, SECTIONS, allow_anticipation=False, **kw)
    assert plain.excerpts[1].video_start_s == pytest.approx(8.0)


def test_a_neighbouring_cut_on_the_grid_is_preferred_over_an_off_grid_cut():
    # the run starts at 9.0 (1 s off the grid) but the next shot starts at 10.05 (on it, within 0.25 s)
    edit = build_edit(30.0, [9.0, 10.05], M, DOWNBEATS, SECTIONS, path=[(0, 0), (2, 1), (2, 2)])
    sp = edit.excerpts[1]
    assert sp.video_start_s == pytest.approx(10.0)
    assert sp.cut_s == pytest.approx(10.05)
    assert abs(sp.snap_offset_s) <= 0.25


def test_video_longer_than_the_track_repeats_sections_in_path_order():
    cuts = np.arange(10.0, 130.0, 10.0)  # 13 video segments of 10 s
    path = [(0, 0), (0, 1), (0, 2), (1, 3), (1, 4), (1, 5), (2, 6), (2, 7), (2, 8), (3, 9), (3, 10), (3, 11),
            (3, 12)]
    edit = build_edit(130.0, cuts, M, DOWNBEATS, SECTIONS, path=path)
    assert_covers(edit, 130.0)
    assert_splices_on_downbeats(edit)
    loops = [e for e in edit.excerpts if e.reason.startswith("loop")]
    assert loops, "a 130 s picture under a 60 s track must loop"
    starts = {0.0, 16.0, 32.0, 48.0}
    assert all(e.music_in_s in starts for e in loops)  # loops restart a section
    # the sections the path asks for appear in its order: 0 .. 1 .. 2 .. 3
    firsts = [min(k for k, e in enumerate(edit.excerpts) if e.music_segment == s) for s in (0, 2, 3)]
    assert firsts == sorted(firsts)
    # every excerpt stays inside the music (the total music used exceeds the track)
    assert sum(e.duration_s for e in edit.excerpts) == pytest.approx(130.0)


def test_video_shorter_than_the_track_starts_on_a_downbeat_and_ends_in_the_tracks_ending():
    edit = build_edit(21.0, [5.0, 12.0], M, DOWNBEATS, SECTIONS, start_offset_s=9.3)
    assert edit.excerpts[0].music_in_s == pytest.approx(10.0)  # nearest downbeat to the offset
    assert edit.ending == "track ending"
    last = edit.excerpts[-1]
    assert 58.0 - 1e-9 <= last.music_out_s <= M  # the final bar line plays, then its ring-out
    assert_covers(edit, 21.0)
    assert_splices_on_downbeats(edit)


def test_ending_stays_mid_phrase_when_no_bar_line_allows_it():
    # a track with no ring-out (last downbeat at the very end) and a picture of 21 s: the out would
    # have to fall exactly on 59.99 s from a bar line, impossible on a 2 s grid with an odd length
    db = np.arange(0.0, 60.0, BAR)
    edit = build_edit(21.0, [], 58.0 + 1e-3, db[db < 58.0 + 1e-3], SECTIONS, start_offset_s=0.0)
    assert edit.ending in ("mid-phrase", "section boundary")
    assert_covers(edit, 21.0)


def test_one_sync_point_is_honoured_by_a_head_pickup():
    edit = build_edit(30.0, [8.0, 20.0], M, DOWNBEATS, SECTIONS, path=[(0, 0), (2, 1), (3, 2)],
                      sync_points_s=[13.3])
    vdb = edit.music_to_video(DOWNBEATS)
    assert np.min(np.abs(vdb - 13.3)) <= 0.010
    assert "pickup" in edit.excerpts[0].reason
    assert_covers(edit, 30.0)
    assert_splices_on_downbeats(edit, head=False)  # every internal splice is still on bar lines


def test_two_inconsistent_sync_points_both_land():
    # 13.3 and 20.0 are 6.7 s apart: no 2 s grid fits both, so one hit-point splice is needed
    edit = build_edit(30.0, [8.0, 20.0], M, DOWNBEATS, SECTIONS, sync_points_s=[13.3, 20.0])
    vdb = edit.music_to_video(DOWNBEATS)
    for p in (13.3, 20.0):
        assert np.min(np.abs(vdb - p)) <= 0.010
    assert sum("mid-bar" in e.reason for e in edit.excerpts) == 1
    assert_covers(edit, 30.0)
    assert_splices_on_downbeats(edit, head=False)


def test_music_to_video_counts_repeated_events_once_per_repetition():
    ed = Edit([Excerpt(0, 4, 10, 14), Excerpt(4, 8, 10, 14)], 8.0, M)
    assert ed.music_to_video([12.0]).tolist() == [2.0, 6.0]
    assert ed.video_to_music(5.0) == pytest.approx(11.0)
    assert ed.splice_times_s().tolist() == [4.0]


def test_to_dict_round_trip_is_json():
    edit = build_edit(30.0, [8.0, 20.0], M, DOWNBEATS, SECTIONS, path=[(0, 0), (2, 1), (3, 2)],
                      sync_points_s=[13.3])
    d = json.loads(json.dumps(edit.to_dict()))
    back = Edit.from_dict(d)
    assert back == edit
    assert [m[1] for m in back.markers()].count("sync") == 1


def test_sw_path_starting_later_back_times_the_head():
    # a local path pairing music segment 2 with video segment 1 (which starts at 6 s)
    edit = build_edit(20.0, [6.0, 14.0], M, DOWNBEATS, SECTIONS, path=[(2, 1)])
    assert edit.excerpts[0].music_in_s == pytest.approx(26.0)  # 32 - 6: the section arrives on the cut
    assert edit.video_to_music(6.0) == pytest.approx(32.0)
    assert len(edit.excerpts) <= 2  # no splice needed to get there


@pytest.mark.parametrize("kwargs, exc", [
    (dict(downbeats_s=[1.0]), AnalysisError),
    (dict(path=[(7, 0)]), UsageError),
    (dict(path=[(0, 9)]), UsageError),
    (dict(sync_points_s=[31.0]), UsageError),
    (dict(video_duration_s=0.0), UsageError),
    (dict(music_duration_s=-1.0), UsageError),
])
def test_bad_inputs_raise_typed_errors(kwargs, exc):
    args = dict(video_duration_s=30.0, video_boundaries_s=[8.0], music_duration_s=M, downbeats_s=DOWNBEATS,
                music_boundaries_s=SECTIONS)
    args.update(kwargs)
    with pytest.raises(exc) as ei:
        build_edit(**args)
    assert str(ei.value).endswith(".")


def _random_case(rng):
    bar = rng.uniform(1.2, 3.0)
    m = rng.uniform(20, 200)
    db = np.arange(rng.uniform(0, 1.5), m - 0.3, bar)
    db = np.sort(db + rng.normal(0, 0.01, db.size))
    db = db[(db >= 0) & (db < m)]
    mb = np.sort(rng.uniform(0.5, m - 0.5, rng.integers(0, 7)))
    d = rng.uniform(5, 250)
    vb = np.sort(rng.uniform(0.05, d - 0.05, rng.integers(0, 30)))
    path = None
    if rng.random() < 0.7:
        i = j = 0
        path = [(0, 0)]
        while i < mb.size or j < vb.size:
            r = rng.random()
            if (r < 0.33 and i < mb.size) or j == vb.size:
                i += 1
            elif r < 0.66:
                j += 1
            else:
                i, j = min(i + 1, mb.size), j + 1
            path.append((i, j))
        if rng.random() < 0.3:
            a = int(rng.integers(0, len(path)))
            path = path[a:int(rng.integers(a, len(path))) + 1]
    sync = sorted(rng.uniform(0, d, rng.integers(0, 3))) if rng.random() < 0.4 else []
    kw = dict(path=path, sync_points_s=sync, tolerance_s=float(rng.choice([0.0, 0.1, 0.25, 1.0])),
              allow_anticipation=bool(rng.random() < 0.5), prefer_track_ending=bool(rng.random() < 0.7))
    if path is None and rng.random() < 0.5:
        kw["start_offset_s"] = rng.uniform(0, m)
    return d, vb, m, db, mb, kw


def test_random_inputs_keep_the_invariants():
    rng = np.random.default_rng(1234)
    for _ in range(400):
        d, vb, m, db, mb, kw = _random_case(rng)
        edit = build_edit(d, vb, m, db, mb, **kw)
        ex = edit.excerpts
        assert ex[0].video_start_s == 0.0 and ex[-1].video_end_s == pytest.approx(d, abs=1e-9)
        for a, b in zip(ex, ex[1:]):
            assert a.video_end_s == pytest.approx(b.video_start_s, abs=1e-9)
        for k, e in enumerate(ex):
            assert e.music_out_s - e.music_in_s == pytest.approx(e.duration_s, abs=1e-9)
            assert -1e-9 <= e.music_in_s and e.music_out_s <= m + 1e-6
            if k > 0 or not kw["sync_points_s"]:
                assert on_downbeat(e.music_in_s, db), e
            if k < len(ex) - 1 and "mid-bar" not in e.reason:
                assert on_downbeat(e.music_out_s, db), e
        vdb = edit.music_to_video(db)
        for p in kw["sync_points_s"]:
            assert np.min(np.abs(vdb - p)) <= 0.010
