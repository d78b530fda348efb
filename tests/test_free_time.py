"""Beatless, rubato and short music: beat-grid confidence, the free-time edit engine, buttons, dispatch.

Synthetic free-time music (sine pads, chord changes at irregular times whose rate drifts ±20 %, slow
swells, no percussion: ``synth_music.free_time_pad``) has known phrase ends (the quiet overlap between
two chords); splices must fall on them and be no more audible than the track's own neighbouring frames
by :mod:`supervisor_app.edit.audibility`, and clearly less than random splices.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from supervisor_app.analysis.beat_confidence import METRIC_THRESHOLD, beat_confidence
from supervisor_app.analysis.envelope import MusicEnvelope, music_envelope
from supervisor_app.edit.audibility import natural_audibility, splice_audibility
from supervisor_app.edit.edl import Edit
from supervisor_app.edit.free_time import (
    FREE_CROSSFADE_S,
    FreeTimeEdit,
    build_button_edit,
    build_free_time_edit,
    edit_from_dict,
)
from supervisor_app.edit.planner import TrackEvents, edit_mode, fit_edit, mode_reason, plan_edit
from supervisor_app.edit.render import render_from_array
from supervisor_app.infra.errors import UsageError

from fixture_paths import BBB
from synth_music import free_time_pad, sting


def _grid(bpm=120.0, duration_s=60.0, meter=4, jitter=0.0, start=0.5, seed=0):
    rng = np.random.default_rng(seed)
    ibi = 60.0 / bpm
    beats = [start]
    while beats[-1] + ibi < duration_s:
        beats.append(beats[-1] + ibi * (1 + jitter * rng.standard_normal()))
    b = np.array(beats)
    pos = (np.arange(b.size) % meter) + 1
    return {"beats_s": b.tolist(), "beat_positions": pos.tolist(), "downbeats_s": b[pos == 1].tolist(),
            "tempo_bpm": bpm, "meter": meter}


def _check_cover(edit, D, M):
    ex = edit.excerpts
    assert abs(ex[0].video_start_s) < 1e-9 and abs(ex[-1].video_end_s - D) < 1e-9
    for a, b in zip(ex, ex[1:]):
        assert abs(a.video_end_s - b.video_start_s) < 1e-9
    for e in ex:
        assert abs((e.music_out_s - e.music_in_s) - (e.video_end_s - e.video_start_s)) < 1e-9
        assert -1e-9 <= e.music_in_s and e.music_out_s <= M + 1e-6


# --- confidence -------------------------------------------------------------------------------------
def test_a_steady_bar_grid_is_trusted():
    c = beat_confidence(_grid(), 60.0)
    assert c.metric and c.score > 0.9 and c.n_downbeats >= 25
    assert "steady bar grid" in c.reason


def test_missing_partial_drifting_and_short_grids_are_not_trusted():
    failed = beat_confidence(None, 90.0, "No steady beat was found in the audio (fewer than two beats detected).")
    assert failed.score == 0 and not failed.metric and "No steady beat" in failed.reason
    partial = beat_confidence(_grid(duration_s=12.0), 90.0)  # a grid over 12 s of a 90 s ambient bed
    assert partial.coverage < 0.2 and not partial.metric and "spans" in partial.reason
    drifting = beat_confidence(_grid(jitter=0.15), 60.0)  # rubato: successive beats vary by ~15 %
    assert drifting.tempo_stability < 0.3 and not drifting.metric and "tempo keeps moving" in drifting.reason
    quantised = _grid()
    quantised["beats_s"] = list(np.round(np.array(quantised["beats_s"]) + 0.004, 2))  # madmom's 10 ms frames
    assert beat_confidence(quantised, 60.0).tempo_stability == 1.0
    two_tempi = _grid(bpm=90, duration_s=30.0)
    later = _grid(bpm=120, duration_s=30.0, start=30.5)
    two_tempi["beats_s"] += later["beats_s"]
    two_tempi["downbeats_s"] += later["downbeats_s"]
    assert beat_confidence(two_tempi, 60.0).tempo_stability > 0.9  # a tempo change is not rubato
    short = beat_confidence(_grid(bpm=90, duration_s=5.0), 5.0)  # a sting: two downbeats
    assert short.n_downbeats < 4 and not short.metric
    assert beat_confidence(_grid(jitter=0.01), 60.0).score >= METRIC_THRESHOLD


# --- free-time engine -------------------------------------------------------------------------------
def _pad(seed):
    x, sr, changes, lows = free_time_pad(90.0, seed=seed)
    return x, sr, changes, lows, music_envelope(x, sr)


@pytest.fixture(scope="module")
def pads():
    return [_pad(0)]


def test_free_time_splices_fall_on_phrase_ends_and_are_no_more_audible_than_the_track(pads):
    """A 160 s picture on a 90 s pad: loops and an ending, every out on a phrase end (a known quiet
    overlap of two chords, within 0.5 s), 1.5 s crossfades, every splice no more audible than the
    loudest of the track's own frames within 2 s of its out, all of them clearly less than random
    splices of the same track."""
    _check_free_time_splices(pads)


@pytest.mark.slow
def test_free_time_splices_on_more_pads():
    _check_free_time_splices([_pad(1), _pad(2)])


def _check_free_time_splices(pads):
    for x, sr, changes, lows, env in pads:
        cuts = np.sort(np.random.default_rng(7).uniform(1, 159, 25))
        e = build_free_time_edit(160.0, cuts, 90.0, env, np.concatenate([[0.0], changes[::4], [90.0]]))
        _check_cover(e, 160.0, 90.0)
        assert isinstance(e, FreeTimeEdit) and e.mode == "free-time"
        assert len(e.excerpts) >= 2 and e.crossfades_s == (FREE_CROSSFADE_S,) * (len(e.excerpts) - 1)
        assert e.ending == "track ending" and e.excerpts[-1].music_out_s >= 90.0 - 3.0
        assert all("free time" in e.excerpts[0].reason for _ in [0]) and "free-time" in e.notes[0]
        splices = [(a.music_out_s, b.music_in_s) for a, b in zip(e.excerpts, e.excerpts[1:])]
        for o, _ in splices:
            assert np.min(np.abs(lows - o)) <= 0.5, (o, lows)
        aud = np.array([splice_audibility(x, sr, o, i) for o, i in splices])
        for a, (o, _) in zip(aud, splices):
            assert a <= np.max(natural_audibility(x, sr, np.arange(o - 2.0, o + 2.01, 0.25))) + 1e-6
        rng = np.random.default_rng(1)
        rand = [splice_audibility(x, sr, o, i) for o, i in zip(rng.uniform(10, 88, 100), rng.uniform(0, 78, 100))]
        assert aud.mean() < 0.75 * np.median(rand)


def test_free_time_follows_an_alignment_path_and_lands_an_onset_on_a_sync_point(pads):
    x, sr, changes, lows, env = pads[0]
    bounds = np.concatenate([[0.0], changes[::3], [90.0]])
    cuts = [20.0, 45.0]
    path = [(0, 0), (3, 1), (1, 2)]
    e = build_free_time_edit(70.0, cuts, 90.0, env, bounds, path=path)
    _check_cover(e, 70.0, 90.0)
    starts = [(ex.video_start_s, ex.music_in_s) for ex in e.excerpts[1:]]
    assert any(abs(v - 20.0) <= 1.0 + 1e-6 and abs(m - bounds[3]) < 1e-6 for v, m in starts), starts
    assert any(abs(v - 45.0) <= 1.0 + 1e-6 and abs(m - bounds[1]) < 1e-6 for v, m in starts), starts
    s = build_free_time_edit(60.0, [], 90.0, env, bounds, sync_points_s=[33.3])
    _check_cover(s, 60.0, 90.0)
    hits = np.concatenate([env.strong_onsets_s(), bounds])
    landed = s.music_to_video(hits)
    assert np.min(np.abs(landed - 33.3)) <= 0.05
    with pytest.raises(UsageError, match="sync point"):
        build_free_time_edit(60.0, [], 90.0, env, bounds, sync_points_s=[61.0])


def test_render_uses_each_splices_own_crossfade():
    sr = 1000
    audio = np.concatenate([np.full(20 * sr, 0.5), np.full(20 * sr, -0.5)]).astype(np.float32)[None]
    from supervisor_app.edit.edl import Excerpt

    ex = [Excerpt(0.0, 10.0, 0.0, 10.0), Excerpt(10.0, 20.0, 25.0, 35.0)]
    hard = render_from_array(Edit(ex, 20.0, 40.0, ending="track ending"), audio, sr)
    soft = render_from_array(FreeTimeEdit(ex, 20.0, 40.0, ending="track ending", crossfades_s=(1.5,)), audio, sr)
    t = lambda s: int(s * sr)  # noqa: E731
    assert hard[0, t(9.5)] == pytest.approx(0.5, abs=1e-4) and soft[0, t(9.5)] < 0.45  # fading already
    assert soft[0, t(9.0)] == pytest.approx(0.5, abs=1e-4)  # 0.75 s before the splice: not yet
    assert soft[0, t(10.5)] > -0.45 and hard[0, t(10.5)] == pytest.approx(-0.5, abs=1e-4)
    assert np.max(np.abs(np.diff(soft[0, t(9):t(11)]))) < 2e-3  # no step anywhere in the crossfade


def test_a_sting_is_a_button_at_the_end_of_the_picture(tmp_path):
    x, sr = sting(6.0)
    env = music_envelope(x, sr)
    e = build_button_edit(30.0, 6.0, env)
    assert e.mode == "button" and len(e.excerpts) == 1
    ex = e.excerpts[0]
    assert ex.video_start_s == pytest.approx(24.0) and ex.video_end_s == 30.0 and ex.music_in_s == 0.0
    y = render_from_array(e, x[None], sr)
    assert np.max(np.abs(y[:, : int(23.9 * sr)])) == 0.0 and np.max(np.abs(y[:, int(24.5 * sr):])) > 0.05
    hit = float(env.strong_onsets_s()[0])
    s = build_button_edit(30.0, 6.0, env, sync_points_s=[20.0])  # its first hit on the pack shot
    assert s.excerpts[0].video_start_s + hit == pytest.approx(20.0)
    short = build_button_edit(4.0, 6.0, env)  # a picture shorter than the sting: it starts with it
    assert short.excerpts[0].video_start_s == 0.0 and short.excerpts[0].music_out_s == 4.0
    d = json.loads(json.dumps(e.to_dict()))
    back = edit_from_dict(d)
    assert isinstance(back, FreeTimeEdit) and back.mode == "button" and back.excerpts == e.excerpts
    assert type(edit_from_dict(Edit(e.excerpts, 30.0, 6.0).to_dict())) is Edit
    from supervisor_app.edit.export_timeline import build_timeline

    wav = tmp_path / "sting.wav"
    import soundfile as sf

    sf.write(str(wav), x, sr)
    tl = build_timeline(e, BBB, wav, fps=25.0)
    a1 = tl.tracks[-1]  # the music: A2 under BBB's own sound on A1 (issue 13)
    assert a1[0].schema_name() == "Gap" and a1[0].duration().to_seconds() == pytest.approx(24.0)
    assert a1[1].duration().to_seconds() == pytest.approx(6.0)


def test_the_planner_dispatches_on_confidence_and_length(pads):
    x, sr, changes, lows, env = pads[0]
    free = TrackEvents.from_analyses("pad.wav", 90.0, None, [0.0, 30.0, 60.0, 90.0], beats_error="No steady beat.")
    free._envelope = env
    assert edit_mode(free, 60.0) == "free-time"
    off, e, sc = fit_edit(60.0, [10.0, 25.0, 41.0], None, free)
    assert e.mode == "free-time" and sc.details["events"] == "strong onsets"
    assert "free-time: splices on phrase ends" in mode_reason(e, free) and "1.5 s crossfades" in mode_reason(e, free)
    metric = TrackEvents.from_analyses("x.wav", 60.0, _grid(), [0.0, 20.0, 40.0, 60.0])
    assert edit_mode(metric, 50.0) == "metric"
    m = plan_edit(50.0, [10.0, 30.0], metric)
    assert type(m) is Edit and mode_reason(m, metric).startswith("metric: splices on bar lines")
    short = TrackEvents.from_analyses("s.wav", 6.0, _grid(bpm=90, duration_s=6.0), [0.0, 6.0])
    assert edit_mode(short, 30.0) == "button" and edit_mode(short, 6.0) != "button"
    assert plan_edit(30.0, [], short).mode == "button"


def test_envelope_roundtrip_and_points():
    x, sr, changes, lows = free_time_pad(40.0, seed=3)
    env = music_envelope(x, sr)
    back = MusicEnvelope.from_arrays(env.to_arrays())
    assert back.duration_s == pytest.approx(40.0, abs=0.05) and back.chroma.shape[1] == 12
    q = env.low_energy_s()
    assert q.size >= 3 and all(np.min(np.abs(lows - t)) <= 0.6 for t in q)


def test_the_apps_preview_cuts_a_beatless_track_in_free_time(tmp_path):
    """The GUI rebuilds a candidate's edit for its preview (services.mockup.preview_edit): a track whose beat
    tracking failed is cut in free time there too, not refused for lack of downbeats."""
    from types import SimpleNamespace

    import soundfile as sf

    from supervisor_app.services.mockup import preview_edit

    x, sr, changes, _ = free_time_pad(45.0, seed=6)
    wav = tmp_path / "pad.wav"
    sf.write(str(wav), x, sr)
    video = SimpleNamespace(duration_s=60.0, cuts_s=[7.0, 19.5, 33.0, 48.0], cut_probs_25hz=None, segments_s=[])
    ev = TrackEvents.from_analyses(str(wav), 45.0, None, np.array([0.0, 20.0, 45.0]),
                                   beats_error="No steady beat was found in the audio.")
    edit, offset, sc = preview_edit(video, ev, None, None, ())
    assert edit.mode == "free-time" and abs(edit.excerpts[-1].video_end_s - 60.0) < 1e-9
    assert sc.details["events"] == "strong onsets"
    edit2, _, _ = preview_edit(video, ev, None, 10.0, (25.0,))
    assert edit2.mode == "free-time" and edit2.sync_points_s == (25.0,)


@pytest.mark.slow
def test_madmom_on_rubato_piano_gives_an_unreliable_grid_and_on_the_same_notes_in_time_a_steady_one():
    """Synthetic piano (plucked notes, no percussion) with a tempo drifting ±20 % around 80 BPM, and the
    same kind of notes on a strict grid: the confidence separates them through madmom's real output."""
    from supervisor_app.analysis.beats import track_beats
    from synth_music import rubato_piano

    x, sr, _ = rubato_piano(60.0, seed=0, steady=True)
    steady = beat_confidence(track_beats(x, sr), 60.0)
    assert steady.metric, steady
    for seed in (0, 1):
        x, sr, _ = rubato_piano(60.0, seed=seed)
        c = beat_confidence(track_beats(x, sr), 60.0)
        assert not c.metric and c.tempo_stability < 0.5, c


def test_the_free_time_fit_finds_the_start_a_picture_was_cut_to(pads):
    """A 40 s picture cut on the pad's own strong onsets from 20 s on: the fit scores the true start
    clearly above random offsets and picks a start within a second of it; cuts at times unrelated to
    the music meet far fewer onsets."""
    from supervisor_app.ranking.sync import best_free_time_start

    x, sr, changes, lows, env = pads[0]
    bounds = np.concatenate([[0.0], changes[::4], [90.0]])
    on = env.strong_onsets_s()
    true_start = float(on[np.argmin(np.abs(on - 20.0))])
    cuts = on[(on > true_start + 0.5) & (on < true_start + 39.5)] - true_start
    off, e, sc = best_free_time_start(40.0, cuts, None, 90.0, env, bounds)
    # the last third may jump to the track's ending: the cuts before it land on onsets
    assert abs(off - true_start) <= 1.0 and sc.score > 0.2 and sc.n_cuts_on_downbeat >= 0.6 * len(cuts), (off, sc)
    rng = np.random.default_rng(3)
    unrelated = np.sort(rng.uniform(1, 39, len(cuts)))
    from supervisor_app.ranking.sync import free_time_sync_score

    e2 = build_free_time_edit(40.0, unrelated, 90.0, env, bounds, start_offset_s=true_start)
    sc2 = free_time_sync_score(e2, unrelated, None, on, bounds)
    # the onsets' co-occurrence with the cuts (S_bar) tells them apart; S_seg does not, since both edits
    # put their splice near a cut by design
    assert sc2.S_bar < sc.S_bar / 2 and sc2.n_cuts_on_downbeat < sc.n_cuts_on_downbeat / 2


def test_a_sync_point_at_the_very_start_shifts_the_head_within_the_track(pads):
    x, sr, changes, lows, env = pads[0]
    for p in (0.0, 0.1, 0.2):
        e = build_free_time_edit(30.0, [], 90.0, env, [0.0, 45.0, 90.0], sync_points_s=[p])
        _check_cover(e, 30.0, 90.0)


def test_tempo_moving_share_equals_the_median_of_every_window():
    """The fast path (a sliding-window median inside, statistics.median at the edges) gives exactly the
    per-beat np.median loop's share, on short and long beat lists."""
    from supervisor_app.analysis.beat_confidence import tempo_moving_share

    def loop(ibi_s, radius=4, lag=4, tol=0.03):
        li = np.log(np.asarray(ibi_s, float))
        if li.size <= lag:
            return 0.0
        lt = np.array([np.median(li[max(0, i - radius):i + radius + 1]) for i in range(li.size)])
        return float(np.mean(np.abs(lt[lag:] - lt[:-lag]) > tol))

    rng = np.random.default_rng(3)
    for n in (3, 5, 6, 8, 9, 10, 17, 400):
        for _ in range(20):
            ibi = 0.5 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
            assert tempo_moving_share(ibi) == loop(ibi)
    rng = np.random.default_rng(10)  # every length up to 30, and long lists with irregular beats
    for size in list(range(0, 30)) + [200, 777]:
        ibi = rng.uniform(0.4, 0.6, size) * (1.0 + 0.2 * rng.standard_normal(size) ** 2)
        assert repr(tempo_moving_share(ibi)) == repr(loop(ibi))


def _splice_points_reference(env, bounds, M):
    """The splice points' rule, written plainly (quadratic): a later kind replaces any point within 0.3 s."""
    from supervisor_app.edit.free_time import EDGE_EPS_S

    pts: dict[float, str] = {}
    for kind, arr in (("onset", env.strong_onsets_s()), ("quiet moment", env.low_energy_s()),
                      ("phrase end", np.asarray(bounds, float))):
        for x in np.asarray(arr, float).ravel():
            if EDGE_EPS_S < x < M - EDGE_EPS_S:
                for p in [p for p in pts if abs(p - x) < 0.3]:
                    del pts[p]
                pts[round(float(x), 4)] = kind
    times = sorted(pts)
    return times, [pts[t] for t in times]


@pytest.mark.parametrize("seed", range(6))
def test_splice_points_equal_the_plain_rule_and_memos_hand_out_copies(seed):
    from supervisor_app.edit.free_time import splice_points

    rng = np.random.default_rng(seed)
    T = int(rng.integers(200, 3000))
    onset = rng.random(T) ** 3  # dense attacks: many points within 0.3 s of one another
    env = MusicEnvelope(rng.normal(-20, 6, T), onset, rng.normal(-40, 5, (T, 40)), rng.random((T, 12)),
                        T / 21.533)
    M = env.duration_s
    bounds = np.sort(rng.uniform(0, M, int(rng.integers(0, 12))))
    want = _splice_points_reference(env, bounds, M)
    for _ in range(2):  # the second call comes from the memo
        times, kinds = splice_points(env, bounds, M)
        assert times.tolist() == want[0] and kinds == want[1]
        times[:] = -1.0
        kinds.clear()
    onsets = env.strong_onsets_s()
    onsets[:] = -1.0
    assert (env.strong_onsets_s() >= 0).all()
