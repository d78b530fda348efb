"""The faster fit-only ``recommend`` stages compute exactly what the straightforward code did.

Each rewritten piece is compared, bit for bit (``repr`` of floats or ``np.array_equal``), with the code it
replaced, kept here as the reference:

* the quick fit's S (:func:`supervisor_app.ranking.search._masked_S`): a transposed coefficient table read
  one window offset at a time, only at the valid events, against the (rows x events x window) block;
* :func:`~supervisor_app.ranking.search.metric_rows`: slices of the sorted grids against one boolean mask
  per start, and :func:`~supervisor_app.ranking.search.quick_fits` end to end on those rows;
* the planner's passage tables (``edit.form._build_tables``): one stable sort by length against
  ``np.lexsort((b, a, length))`` per table (searched with ``searchsorted`` instead of ``bisect`` on lists);
* the planner's double drops and double repeats, which pair only the passages that can satisfy the
  position conditions: every plan ``generate`` keeps, in order, with its costs, and the chosen edit,
  against the original planner (tests/_form_reference.py), on long tracks under 60 s pictures (many
  double drops) and short tracks under long pictures (double repeats);
* a stored bar-splice table's costs read from per-bar-line sides built once;
* the beat-confidence medians (partition instead of ``np.median``, ``as_strided`` windows).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from supervisor_app.analysis import beat_confidence as bc
from supervisor_app.edit import form as form_mod
from supervisor_app.edit.audibility import _step
from supervisor_app.edit.bar_splices import BarSplices
from supervisor_app.edit.form import TrackForm
from supervisor_app.ranking import search



# --- references: the code before the speed-up ------------------------------------------------------
def _masked_S_block(times, valid, curve, rate_hz, sigma_frames):
    """search._masked_S as it was: the (rows, events, W) coefficient block, Horner's scheme over it."""
    m, n = times.shape
    out = np.full(m, np.nan)
    if n == 0 or m == 0:
        return out
    if curve.size == 0:
        return np.where(valid.any(axis=1), 0.0, np.nan)
    R = int(math.ceil(8 * sigma_frames))
    W = 2 * R + 1
    g = np.exp(-0.5 * (np.arange(-R, R + 1) / sigma_frames) ** 2)
    padded = np.concatenate([np.zeros(2 * R), np.asarray(curve, dtype=np.float64), np.zeros(2 * R)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, W)
    inv_var = 1.0 / (sigma_frames * sigma_frames)
    step = max(1, search._CHUNK_ELEMS // max(1, n * W))
    for a0 in range(0, m, step):
        v = valid[a0:a0 + step]
        u = np.where(v, times[a0:a0 + step], 0.0) * rate_hz
        r = np.rint(u)
        d = u - r
        r = r.astype(np.int64)
        inside = (r >= -R) & (r <= curve.size - 1 + R)
        b = frames[np.clip(r, -R, curve.size - 1 + R) + R] * g
        x = np.exp(d * inv_var)
        acc = b[..., -1].copy()
        for j in range(W - 2, -1, -1):
            acc *= x
            acc += b[..., j]
        s_i = np.where(inside, acc * x ** (-R) * np.exp(-0.5 * d * d * inv_var), 0.0)
        cnt = v.sum(axis=1)
        tot = np.where(v, s_i, 0.0).sum(axis=1)
        out[a0:a0 + step] = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    return out


def _metric_rows_loop(video_duration_s, duration_s, downbeats_s, section_starts_idx, best_cut_s=None):
    """search.metric_rows as it was: every bar line in turn, one boolean mask per start."""
    D, M = float(video_duration_s), float(duration_s)
    db = np.asarray(downbeats_s, float)
    T = np.append(db, M)
    secs = [int(x) for x in np.asarray(section_starts_idx, int).ravel()]
    bounds_m = T[secs[1:]] if len(secs) > 1 else np.zeros(0)
    ring = M - float(db[-1]) if db.size else 0.0
    sec_set = set(secs)
    phrase: set[int] = set()
    for a, b in zip(secs, secs[1:] + [db.size]):
        phrase.update(range(a, b, 4))
    rows = []
    eps = search._EPS
    for s in range(db.size):
        base = 0.0 if s == 0 else float(T[s])
        if s > 0 and M - base < D - eps:
            break
        if s not in phrase:
            continue
        rest = M - base
        v_db = db[(db >= base - eps) & (db < base + D)] - base
        v_seg = bounds_m[(bounds_m > base + eps) & (bounds_m < base + D)] - base
        form = plan = 0.0
        if rest < D - eps:
            body = max(M - float(db[0]) if db.size else M, eps)
            missing = D - rest
            form -= search._P_REPEAT * math.ceil(missing / body - 1e-9) + search._P_REPEATED_SHARE * missing / D
            plan -= form
        elif rest - D > ring + eps:
            form -= search._P_SPLICE
            plan += search._W_SHORTEN
            if best_cut_s is not None:
                v_seg = np.append(v_seg, float(best_cut_s))
        if s > 0:
            form -= search._P_LATE
            plan += search._W_LATE + (0.0 if s in sec_set else search._JC_PHRASE if s in phrase else search._JC_BAR)
        rows.append((base, v_db, v_seg, form, plan))
    return rows


def _tables_lexsort(form):
    """edit.form._build_tables' four passage tables as they were: np.lexsort((b, a, length)) per table."""
    T, n = form.T, form.n
    J = form.joints()
    phrase = frozenset(int(j) for j in J)
    sb = frozenset(int(x) for x in form.section_bounds)
    in_ph = np.array([k in phrase for k in range(n + 1)], dtype=bool)
    in_sb = np.array([k in sb for k in range(n + 1)], dtype=bool)
    a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a, b = a.ravel(), b.ravel()

    def table(mask):
        aa, bb = a[mask], b[mask]
        ln = T[bb] - T[aa]
        order = np.lexsort((bb, aa, ln))
        ln, aa, bb = ln[order], aa[order], bb[order]
        return ln, aa, bb, ln.tolist()

    drop = (a >= 1) & (b - a >= form_mod.PHRASE_BARS)
    rep = (b >= 1) & (b > a) & ((in_sb[a] & in_sb[b]) | (b - a >= form_mod.MIN_REPEAT_BARS))
    both_ph = in_ph[a] & in_ph[b]
    return table(drop), table(drop & both_ph), table(rep), table(rep & both_ph)


def _grid_form(rng, duration_s, bpm, drift=0.02, n_sections=6, even=False):
    bar = 240.0 / bpm
    if even:  # an exactly even grid: many passages of equal length (sort ties)
        db = np.arange(0.25, duration_s - 0.5 * bar, bar)
    else:
        db = np.cumsum(bar * (1.0 + rng.uniform(-drift, drift, int(duration_s / bar) + 2))) - rng.uniform(0, bar)
    bounds = [0.0] + sorted(rng.uniform(0.0, duration_s, n_sections).tolist()) + [duration_s]
    return TrackForm.build(duration_s, db, bounds)


# --- the quick fit -----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_masked_S_is_bit_identical_to_the_block_version(seed):
    rng = np.random.default_rng(seed)
    n_curve = int(rng.integers(1, 4000))
    curve = rng.random(n_curve) ** 8
    if seed % 2:
        curve[rng.random(n_curve) < 0.9] = 0.0  # a sparse curve (cuts only)
    m, n = int(rng.integers(1, 2500)), int(rng.integers(1, 50))
    times = rng.uniform(-3.0, n_curve / 25.0 + 3.0, (m, n))  # before, inside and beyond the curve
    valid = rng.random((m, n)) < rng.uniform(0.05, 1.0)
    valid[0] = False  # a row without events: NaN
    got = search._masked_S(times, valid, curve, 25.0, 2.0)
    want = _masked_S_block(times, valid, curve, 25.0, 2.0)
    assert np.array_equal(got, want, equal_nan=True)


def test_masked_S_edge_shapes():
    curve = np.random.default_rng(1).random(100)
    for times, valid in ((np.zeros((0, 3)), np.zeros((0, 3), bool)), (np.zeros((4, 0)), np.zeros((4, 0), bool))):
        assert np.array_equal(search._masked_S(times, valid, curve, 25.0, 2.0),
                              _masked_S_block(times, valid, curve, 25.0, 2.0), equal_nan=True)
    t, v = np.ones((3, 2)), np.array([[True, False], [False, False], [True, True]])
    assert np.array_equal(search._masked_S(t, v, np.zeros(0), 25.0, 2.0),
                          _masked_S_block(t, v, np.zeros(0), 25.0, 2.0), equal_nan=True)


def _same_rows(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert repr((g[0], g[3], g[4])) == repr((w[0], w[3], w[4]))
        for x, y in ((g[1], w[1]), (g[2], w[2])):
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)


def test_metric_rows_equal_the_per_start_loop():
    rng = np.random.default_rng(7)
    n_cases = 0
    for i in range(400):
        M = float(rng.uniform(5.0, 420.0))
        try:
            f = _grid_form(rng, M, float(rng.uniform(60, 180)), float(rng.uniform(0, 0.15)),
                           int(rng.integers(0, 12)), even=i % 9 == 0)
        except Exception:  # noqa: BLE001 - too few bars for a grid
            continue
        D = float(rng.choice([15.0, 60.0, 180.0, float(rng.uniform(1.0, 500.0))]))
        cut = None if i % 4 == 0 else float(rng.uniform(0.0, D))
        _same_rows(search.metric_rows(D, f.duration_s, f.downbeats_s, f.section_idx, cut),
                   _metric_rows_loop(D, f.duration_s, f.downbeats_s, f.section_idx, cut))
        # unsorted downbeats and section starts (the function's contract does not require TrackForm's order)
        db = rng.permutation(f.downbeats_s)
        secs = sorted(rng.choice(db.size, size=min(3, db.size), replace=False).tolist())
        _same_rows(search.metric_rows(D, M, db, secs, cut), _metric_rows_loop(D, M, db, secs, cut))
        n_cases += 1
    assert n_cases > 300


def test_quick_fits_on_the_rows_are_bit_identical():
    """quick_fits end to end (padding, both S, the estimates and the chosen start) on the new rows and on the
    reference rows scored with the reference S."""
    rng = np.random.default_rng(11)
    D = 60.0
    cuts = np.sort(rng.uniform(1.0, D - 1.0, 12))
    curve = np.zeros(int(D * 25) + 1)
    curve[np.rint(cuts * 25).astype(int)] = 1.0
    forms = [_grid_form(rng, float(rng.uniform(20.0, 300.0)), float(rng.uniform(70, 170))) for _ in range(60)]
    cut = search.best_cut(cuts, curve, D)
    rows = [search.metric_rows(D, f.duration_s, f.downbeats_s, f.section_idx, cut) for f in forms]
    ref_rows = [_metric_rows_loop(D, f.duration_s, f.downbeats_s, f.section_idx, cut) for f in forms]
    got = search.quick_fits(D, cuts, curve, rows)
    orig = search._masked_S
    try:
        search._masked_S = _masked_S_block
        want = search.quick_fits(D, cuts, curve, ref_rows)
    finally:
        search._masked_S = orig
    assert repr(got) == repr(want)


# --- the planner -------------------------------------------------------------------------------------
def test_passage_tables_equal_the_lexsort_tables():
    rng = np.random.default_rng(3)
    for i in range(40):
        f = _grid_form(rng, float(rng.uniform(10.0, 400.0)), float(rng.uniform(60, 180)),
                       n_sections=int(rng.integers(0, 14)), even=i % 3 == 0)
        tb = form_mod._build_tables(f)
        for got, want in zip((tb.drops, tb.drops_p, tb.reps, tb.reps_p), _tables_lexsort(f)):
            assert len(got) == 3
            for x, y in zip(got, want[:3]):
                assert x.dtype == y.dtype and np.array_equal(x, y)


@pytest.fixture(scope="module")
def ref(form_reference):
    return form_reference


@pytest.mark.slow
def test_double_drops_and_repeats_plan_what_the_original_planner_did(ref):
    from tests.test_form_planner_exact import _assert_same, _case

    cases = [
        _case(31, 420.0, 60.0, n_sections=9, n_cuts=30),  # a 7-minute track under a minute: many double drops
        _case(32, 300.0, 60.0, bpm=150.0, n_sections=4, n_cuts=20, audio=True),
        _case(33, 240.0, 30.0, bpm=80.0, drift=0.0, n_sections=6, n_cuts=10),  # an even grid: equal lengths
        _case(34, 45.0, 180.0, n_sections=5, n_cuts=50),  # a short track under 3 minutes: double repeats
        _case(35, 90.0, 180.0, bpm=100.0, n_sections=8, n_cuts=40, audio=True),
        _case(36, 70.0, 120.0, n_sections=2, n_cuts=30, allow_late=False),
    ]
    _assert_same(ref, cases)


def test_bar_splice_costs_from_the_built_sides_equal_the_per_call_sides():
    rng = np.random.default_rng(5)
    n = 40
    T = np.cumsum(rng.uniform(1.5, 2.5, n + 1))
    sides = rng.random((n + 1, 26))
    sides[3, :12] = 0.0  # silence: the chroma norm 0
    sides[:, 25] = np.linalg.norm(sides[:, :12], axis=1)
    ins = rng.random((n + 1, 26))
    ins[:, 25] = np.linalg.norm(ins[:, :12], axis=1)
    tab = BarSplices(T, sides, ins, np.zeros((n + 1, 5)), 100, 0.023)
    for i in range(n + 1):
        for j in range(n + 1):
            assert repr(tab.cost(i, j)) == repr(_step(tab._side(i, True), tab._side(j, False)))


# --- the beat confidence -----------------------------------------------------------------------------
def test_median_equals_numpy_median():
    rng = np.random.default_rng(9)
    for size in list(range(1, 40)) + [500, 501]:
        x = rng.uniform(0.2, 2.0, size)
        x[rng.random(size) < 0.2] = x[0]  # ties
        assert repr(bc._median(x)) == repr(float(np.median(x)))
    x = np.array([1.0, np.nan, 2.0])
    assert math.isnan(bc._median(x))
