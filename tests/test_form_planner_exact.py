"""The faster form planner (issue 21) plans exactly what the original one did: the same Edit (excerpts,
in/out points, fades, reasons, plan numbers), compared as ``repr`` (exact floats) against the planner of
commit 9c80096 loaded from git (tests/_form_reference.py), over synthetic bar grids: tracks shorter and
longer than the picture, 15 s / 60 s / 3-minute pictures, few and many cuts, sync points (hit points:
the forced-start re-plan), a climax, with and without the track's splice features, late starts allowed or
not, a preferred start. The real pool tracks are compared by ``benchmarks/bench_planner.py``."""
from __future__ import annotations

import numpy as np
import pytest

from supervisor_app.edit import audibility as aud
from supervisor_app.edit import form as new
from supervisor_app.ranking.sync import sync_score



@pytest.fixture(scope="module")
def ref(form_reference):
    return form_reference


def _grid(rng, dur, bpm, drift, n_sections):
    bar = 240.0 / bpm
    t, db = float(rng.uniform(0.0, bar)), []
    while t < dur - 0.3 * bar:
        db.append(t)
        t += bar * (1.0 + float(rng.uniform(-drift, drift)))
    bounds = [0.0] + sorted(rng.uniform(0.0, dur, n_sections).tolist()) + [dur]
    return np.array(db), np.array(bounds)


def _features(mod, rng, dur):
    """Splice features of a synthetic track (``mod.TrackFeatures``): sections of different harmony,
    timbre and level, a few silent frames."""
    n = int(dur / aud.HOP_S) + 2
    seg = np.minimum((np.arange(n) * aud.HOP_S / max(dur, 1e-9) * 6).astype(int), 5)
    base = rng.random((6, 12))
    chroma = np.clip(base[seg] + 0.3 * rng.random((n, 12)), 0, None)
    chroma /= chroma.max(axis=1, keepdims=True)
    mfcc = rng.normal(size=(6, 12))[seg] + 0.5 * rng.normal(size=(n, 12))
    rms_db = (-30.0 + 8.0 * rng.normal(size=6))[seg] + rng.normal(size=n)
    rms_db[rng.random(n) < 0.01] = -90.0
    chroma[rms_db < -60.0] = 0.0
    return mod.TrackFeatures(aud.HOP_S, chroma, mfcc, rms_db, float(dur), 10 ** (rms_db / 20.0),
                             np.abs(rng.normal(size=n)) * (1 + seg), "synthetic")


def _case(seed, dur, D, *, bpm=120.0, drift=0.02, n_sections=5, n_cuts=8, n_sync=0, climax=False, audio=False,
          allow_late=True, prefer=False):
    rng = np.random.default_rng(seed)
    db, bounds = _grid(rng, dur, bpm, drift, n_sections)
    cuts = np.sort(rng.uniform(0.0, D, n_cuts))
    sync = sorted(rng.uniform(new.SYNC_EDGE_S + 0.1, D - new.SYNC_EDGE_S - 0.1, n_sync).tolist())
    kw = dict(sync_points_s=sync, picture_climax_s=float(rng.uniform(0, D)) if climax else None,
              allow_late_start=allow_late, prefer_start_s=float(bounds[len(bounds) // 2]) if prefer else None)
    return dict(dur=dur, db=db, bounds=bounds, D=D, cuts=cuts, kw=kw, audio_seed=seed + 1000 if audio else None)


def _plan(mod, aud_mod, c):
    audio = _features(aud_mod, np.random.default_rng(c["audio_seed"]), c["dur"]) if c["audio_seed"] is not None else None
    try:
        f = mod.TrackForm.build(c["dur"], c["db"], c["bounds"], audio=audio,
                                sr=aud.FEATURES_SR if audio is not None else None)
        return repr(mod.plan_edit(c["D"], c["cuts"], f, **c["kw"]))
    except Exception as e:  # the same refusal is the same answer
        return f"{type(e).__name__}: {e}"


def _candidates(mod, aud_mod, c):
    """Every plan ``generate`` keeps, in its order, with its validity and structural cost (the planner's
    intermediate contract: a candidate lost or reordered here may not change the chosen edit)."""
    audio = _features(aud_mod, np.random.default_rng(c["audio_seed"]), c["dur"]) if c["audio_seed"] is not None else None
    try:
        f = mod.TrackForm.build(c["dur"], c["db"], c["bounds"], audio=audio,
                                sr=aud.FEATURES_SR if audio is not None else None)
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    D, kw = c["D"], c["kw"]
    vb = np.unique(c["cuts"])
    cuts = vb[(vb > new.EDGE_EPS_S) & (vb < D - new.EDGE_EPS_S)]
    p = mod._Planner(D, cuts, f, sorted(kw["sync_points_s"]), kw["picture_climax_s"], 0.25, kw["allow_late_start"],
                     kw["prefer_start_s"])
    out = []
    for x in p.generate():
        ok = p._valid(x)
        out.append((x.blocks, x.pickup_s, x.family, x.start_kind, ok, p._quick_cost(x) if ok else None,
                    sorted((k, _py(v)) for k, v in x.parts.items()) if ok else None))
    return repr(out)


def _py(v):
    """The number itself (numpy scalars and Python floats of the same value print alike)."""
    if isinstance(v, (list, tuple)):
        return [_py(x) for x in v]
    return v.item() if isinstance(v, np.generic) else v


def _assert_same(ref, cases):
    ref_form, ref_aud = ref
    for i, c in enumerate(cases):
        what = f"case {i}: {c['dur']} s track, {c['D']} s picture, {c['kw']}"
        assert _candidates(new, aud, c) == _candidates(ref_form, ref_aud, c), what
        assert _plan(new, aud, c) == _plan(ref_form, ref_aud, c), what


FAST_CASES = [
    _case(1, 95.0, 60.0),  # longer track: drops, late starts
    _case(2, 40.0, 60.0, n_sections=3),  # shorter track: repeats
    _case(3, 200.0, 15.0, n_cuts=4),  # a 15 s spot from a long track
    _case(4, 70.0, 180.0, n_cuts=60, audio=True),  # a 3-minute picture under a short track, with features
    _case(5, 130.0, 60.0, n_cuts=25, n_sync=2, audio=True, climax=True),  # sync points (hit points), climax
    _case(6, 61.0, 60.0, n_cuts=0, allow_late=False),  # about the picture's length, no cuts
    _case(7, 150.0, 60.0, bpm=90.0, drift=0.08, prefer=True),  # drifting tempo, a preferred start
    _case(8, 240.0, 180.0, n_cuts=40, n_sections=9, audio=True),
]


def test_same_edits_as_the_original_planner(ref):
    _assert_same(ref, FAST_CASES)


def _bank():
    rng = np.random.default_rng(21)
    out = []
    for i in range(36):
        D = float(rng.choice([15.0, 30.0, 60.0, 120.0, 180.0]))
        dur = float(D * rng.choice([0.3, 0.6, 0.9, 1.0, 1.1, 1.6, 3.0]) + rng.uniform(-3, 3))
        out.append(_case(100 + i, max(dur, 8.0), D, bpm=float(rng.uniform(70, 170)), drift=float(rng.uniform(0, 0.1)),
                         n_sections=int(rng.integers(0, 12)), n_cuts=int(rng.integers(0, int(D / 2) + 1)),
                         n_sync=int(rng.choice([0, 0, 1, 3])), climax=bool(rng.random() < 0.3),
                         audio=bool(rng.random() < 0.5), allow_late=bool(rng.random() < 0.85),
                         prefer=bool(rng.random() < 0.2)))
    return out


@pytest.mark.slow
def test_same_edits_over_a_bank_of_random_grids_and_pictures(ref):
    _assert_same(ref, _bank())


def test_splice_table_equals_splice_audibility():
    rng = np.random.default_rng(3)
    feats = _features(aud, rng, 80.0)
    times = np.sort(rng.uniform(0.0, 80.0, 30))
    tab = aud.SpliceTable(feats, aud.FEATURES_SR, times)
    for i, j in rng.integers(0, times.size, (60, 2)):
        assert tab.cost(i, j) == aud.splice_audibility(feats, aud.FEATURES_SR, times[i], times[j])
    assert tab.cost(4, 4) == aud.natural_audibility(feats, aud.FEATURES_SR, [times[4]])[0]


def test_cooccurrence_equals_sync_score_S():
    c = _case(11, 100.0, 60.0, n_cuts=20)
    f = new.TrackForm.build(c["dur"], c["db"], c["bounds"])
    p = new._Planner(c["D"], c["cuts"], f, [], None, 0.25, True, None)
    cands = [x for x in p.generate() if p._valid(x)][:15]
    assert cands
    for x in cands:
        e = p._to_edit(x, final=False)
        want = sync_score(e, p.cuts, None, f.downbeats_s, f.T[f.section_idx[1:]], n_random=0).details["S"]
        assert p._cooccurrence(e) == want


def test_grid_tables_are_shared_by_forms_of_the_same_grid():
    c = _case(12, 90.0, 60.0)
    f1 = new.TrackForm.build(c["dur"], c["db"], c["bounds"])
    f2 = new.TrackForm.build(c["dur"], c["db"], c["bounds"])
    assert new._tables(f1) is new._tables(f2)
    f3 = new.TrackForm.build(c["dur"], c["db"][:-3], c["bounds"])
    assert new._tables(f3) is not new._tables(f1)
