"""The fit search over a whole catalog: a cheap score for every candidate, the planner only for the best.

``recommend`` without a model used to cut *every* candidate to the picture with the form planner
(:func:`supervisor_app.ranking.form_score.fit_to_picture`: hundreds of candidate plans and a calibrated
sync score per track, ~0.1-0.3 s of CPU each), so a 1,000-track catalog cost minutes. Here every
candidate first gets a *quick fit* (:func:`quick_fits`), computed for all candidates and all their
musically sensible starts at once with numpy, and only the best ones (:func:`n_planned`, the ``k`` asked
plus a margin) are cut by the planner, best quick fit first; the rest are not shown.

The quick fit of a track is the best, over its sensible starts, of

    quick = S(start) - c  +  form estimate(start)

* **sensible starts**: the track's start (music time 0 at the picture's first frame, its lead-in
  included) and every phrase bar line (section starts and every 4 bars after them) from which the rest of
  the track covers the picture (the planner's late, backtimed and lead-in starts are all on bar lines,
  :mod:`supervisor_app.edit.form`);
* **S(start)**: the thesis's co-occurrence S (:func:`supervisor_app.ranking.sync.cooccurrence_rows`) of
  the picture's cut curve with the track played straight from that start: ``(S_bar + S_seg) / 2`` over
  its downbeats and its section starts, exactly as :func:`~supervisor_app.ranking.sync.sync_score`
  combines them;
* **c**: the mean of the Gaussian-smoothed cut curve over the picture, which is what the sync score's
  random circular offsets average to for *any* event set (so ``S - c`` estimates the calibrated sync
  score ``S - null mean`` without its 100 offsets);
* **form estimate**: the form score's structural terms that the start decides
  (:data:`supervisor_app.ranking.form_score.PENALTY`): repeats when the rest of the track is shorter than
  the picture (a repeat per track length missing and the repeated share), a splice when the track must
  be shortened to land its ending (that splice is heard as a boundary on the picture's strongest cut,
  where the planner puts it when it can), a late start.

Free-time tracks (no trustworthy bar grid) get the same S from their strong onsets played from the
start, with no form estimate (their fit has none). The quick fit is an estimate used only to choose
which candidates the planner cuts; every result shown carries the planner's fit. When there are no more
candidates than :func:`n_planned`, every candidate is planned and the ranking is exactly the exhaustive
one. ``tests/test_fit_search.py`` checks the vectorised scorer against a per-candidate loop and the
selection against the exhaustive ranking.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from supervisor_app.ranking.sync import RATE_HZ, SIGMA_FRAMES, cut_curve_from_times

__all__ = ["QuickFit", "quick_fits", "quick_fit_reference", "n_planned", "null_level", "metric_rows",
           "free_rows", "best_cut", "PLANNED_MIN", "PLANNED_MARGIN"]

PLANNED_MIN = 40  # catalogs with at most this many candidates are planned exhaustively
PLANNED_MARGIN = 20  # tracks planned beyond the k asked (and at least 2k)
_CHUNK_ELEMS = 4_000_000  # rows x events x window elements per numpy block (~32 MB of float64)
_EPS = 1e-6
# the form score's structural terms (ranking.form_score.PENALTY), repeated here as plain numbers so that
# this module does not import the planner; a test checks they agree
_P_REPEAT, _P_REPEATED_SHARE, _P_LATE, _P_SPLICE = 0.30, 1.00, 0.10, 0.02
# the planner's own plan costs (edit.form.WEIGHTS / JOINT_COST / ENDING_COST), used to guess which start it
# picks: a late start, its bar line (section start, phrase bar line, other), shortening to land the ending
# (a section-end ending or a drop, the cheaper), and minus half the co-occurrence S; a test checks them
_W_LATE, _JC_PHRASE, _JC_BAR, _W_SHORTEN, _W_COOC = 0.15, 0.05, 0.20, 0.10, 0.50


def n_planned(n_candidates: int, k: int) -> int:
    """How many candidates the planner cuts: all of them up to ``PLANNED_MIN``, else ``max(2k, k +
    PLANNED_MARGIN, PLANNED_MIN)``."""
    want = max(2 * int(k), int(k) + PLANNED_MARGIN, PLANNED_MIN)
    return int(n_candidates) if n_candidates <= PLANNED_MIN else min(int(n_candidates), want)


@dataclass
class QuickFit:
    """A candidate's quick fit: ``score`` (higher is better), the start it came from (music time, s),
    and its two parts."""

    score: float
    start_s: float
    sync_estimate: float
    form_estimate: float


def _curve(video_duration_s: float, cuts_s, cut_probs_25hz) -> np.ndarray:
    if cut_probs_25hz is None or len(cut_probs_25hz) == 0:
        return cut_curve_from_times(np.asarray(cuts_s if cuts_s is not None else [], float), video_duration_s)
    return np.asarray(cut_probs_25hz, dtype=np.float64).ravel()


def null_level(video_duration_s: float, curve: np.ndarray, rate_hz: float = RATE_HZ,
               sigma_frames: float = SIGMA_FRAMES, step_s: float = 0.01) -> float:
    """The mean over ``[0, D)`` of the Gaussian-smoothed cut curve: the expected S of an event placed
    uniformly at random (what the sync score's random offsets estimate)."""
    from supervisor_app.ranking.sync import cooccurrence_rows

    t = np.arange(0.0, float(video_duration_s), step_s)
    if t.size == 0 or curve.size == 0:
        return 0.0
    return float(cooccurrence_rows(t[None, :], curve, rate_hz, sigma_frames)[0])


def _masked_S(times: np.ndarray, valid: np.ndarray, curve: np.ndarray, rate_hz: float,
              sigma_frames: float) -> np.ndarray:
    """Row-wise S over the valid entries of ``times`` (rows, events); NaN for rows without events.

    Each event at ``u = t * rate_hz`` frames reads the curve over the ``2R + 1`` frames ``r + j`` around
    ``r = rint(u)`` (``R = ceil(8 sigma)``) with the Gaussian weights ``exp(-(j - d)² / 2 sigma²)``,
    ``d = u - r`` (:func:`supervisor_app.ranking.sync.cooccurrence_rows`). Those weights factor as
    ``exp(-d² / 2 sigma²) · g_j · a^j`` with ``g_j = exp(-j² / 2 sigma²)`` and ``a = exp(d / sigma²)``, so the
    sum is a polynomial in ``a`` (Horner's scheme): two exponentials per event instead of one per event
    and frame, the same value up to float rounding (~1e-15, tested against the direct sum)."""
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
    frames = np.lib.stride_tricks.sliding_window_view(padded, W)  # frames[r + R] = curve[r - R .. r + R] (0 outside)
    # the Horner coefficients b_j = curve[r + j - R] g_j of every frame r, one contiguous row per j: each
    # step reads one small row at the events' frames instead of a (rows, events, W) block (the same products)
    coef = np.ascontiguousarray((frames * g).T)
    inv_var = 1.0 / (sigma_frames * sigma_frames)
    step = max(1, _CHUNK_ELEMS // max(1, n * W))
    for a0 in range(0, m, step):
        v = valid[a0:a0 + step]
        at = np.flatnonzero(v)  # only the valid events are computed; the others are 0 in the sums below
        u = times[a0:a0 + step].ravel()[at] * rate_hz
        r = np.rint(u)
        d = u - r
        r = r.astype(np.int64)
        inside = (r >= -R) & (r <= curve.size - 1 + R)  # farther out, every frame read is outside the curve
        idx = np.clip(r, -R, curve.size - 1 + R) + R
        x = np.exp(d * inv_var)
        acc = coef[W - 1].take(idx)
        for j in range(W - 2, -1, -1):  # sum_j b_j x^(j - R), Horner's scheme from the highest power
            acc *= x
            acc += coef[j].take(idx)
        s_i = np.zeros(v.shape)
        s_i.ravel()[at] = np.where(inside, acc * x ** (-R) * np.exp(-0.5 * d * d * inv_var), 0.0)
        cnt = v.sum(axis=1)
        tot = s_i.sum(axis=1)  # the padded rows, as before: the same summation order
        out[a0:a0 + step] = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    return out


def metric_rows(video_duration_s: float, duration_s: float, downbeats_s: np.ndarray, section_starts_idx,
                best_cut_s: float | None = None):
    """The sensible starts of a bar-grid track and what each plays under the picture.

    Returns a list of ``(start_s, downbeats_video_s, boundaries_video_s, form_estimate, plan_cost)``: the track's
    start (music time 0 at video 0, its lead-in included) and every phrase bar line (section starts and
    every 4 bars after them) from which the rest of the track covers the picture.
    When the rest is longer than the picture plus the final chord, the planner shortens it with a splice
    (or ends on a section end) and puts that splice on a cut when it can: ``best_cut_s`` (the picture's
    strongest cut, video time) then counts as one of the heard boundaries."""
    D, M = float(video_duration_s), float(duration_s)
    db = np.asarray(downbeats_s, float)
    T = np.append(db, M)
    secs = [int(x) for x in np.asarray(section_starts_idx, int).ravel()]
    bounds_m = T[secs[1:]] if len(secs) > 1 else np.zeros(0)
    ring = M - float(db[-1]) if db.size else 0.0
    sec_set = set(secs)
    phrase: set[int] = set()
    for a, b in zip(secs, secs[1:] + [db.size]):
        phrase.update(range(a, b, 4))  # PHRASE_BARS
    # the starts: the track's start and the phrase bar lines before the first late start whose rest is shorter
    # than the picture (a late start only when the rest covers it, as the planner; later ones cover less)
    stop = db.size
    if db.size > 1:
        short = np.flatnonzero(M - T[1:db.size] < D - _EPS)
        if short.size:
            stop = int(short[0]) + 1
    starts = sorted(k for k in phrase if 0 <= k < stop)  # phrase bar lines only: every other bar line gave the same choices on the pool, at 4x the rows
    if not starts:
        return []
    bases = np.array([0.0 if k == 0 else float(T[k]) for k in starts])
    ends = bases + D
    # sorted (TrackForm's grid): each window is a slice (the searches are used only then)
    db_sorted = db.size < 2 or bool(np.all(db[1:] > db[:-1]))
    db_lo, db_hi = np.searchsorted(db, bases - _EPS, "left"), np.searchsorted(db, ends, "left")
    seg_sorted = bounds_m.size < 2 or bool(np.all(bounds_m[1:] > bounds_m[:-1]))
    sg_lo, sg_hi = np.searchsorted(bounds_m, bases + _EPS, "right"), np.searchsorted(bounds_m, ends, "left")
    cut_at = np.array([float(best_cut_s) if best_cut_s is not None else 0.0])
    rows = []
    for r, s in enumerate(starts):
        base = float(bases[r])
        rest = M - base
        if db_sorted:
            v_db = db[int(db_lo[r]):max(int(db_lo[r]), int(db_hi[r]))] - base
        else:
            v_db = db[(db >= base - _EPS) & (db < base + D)] - base
        if seg_sorted:
            v_seg = bounds_m[int(sg_lo[r]):max(int(sg_lo[r]), int(sg_hi[r]))] - base
        else:
            v_seg = bounds_m[(bounds_m > base + _EPS) & (bounds_m < base + D)] - base
        form = plan = 0.0
        if rest < D - _EPS:  # the track runs out: repeats
            body = max(M - float(db[0]) if db.size else M, _EPS)
            missing = D - rest
            form -= _P_REPEAT * math.ceil(missing / body - 1e-9) + _P_REPEATED_SHARE * missing / D
            plan -= form
        elif rest - D > ring + _EPS:  # longer than the picture: a splice lands the ending
            form -= _P_SPLICE
            plan += _W_SHORTEN
            if best_cut_s is not None:
                v_seg = np.concatenate((v_seg, cut_at))  # np.append's result, without its overhead
        if s > 0:
            form -= _P_LATE
            plan += _W_LATE + (0.0 if s in sec_set else _JC_PHRASE if s in phrase else _JC_BAR)
        rows.append((base, v_db, v_seg, form, plan))
    return rows


def best_cut(video_cuts_s, cut_probs_25hz, video_duration_s: float, rate_hz: float = RATE_HZ) -> float | None:
    """The picture's strongest cut (video time, s; None without cuts): the highest cut-curve value at a
    cut (the first on ties)."""
    cuts = np.asarray(video_cuts_s if video_cuts_s is not None else [], float).ravel()
    cuts = cuts[(cuts > 0) & (cuts < float(video_duration_s))]
    if cuts.size == 0:
        return None
    curve = _curve(video_duration_s, cuts, cut_probs_25hz)
    idx = np.clip(np.rint(cuts * rate_hz).astype(int), 0, curve.size - 1)
    return float(cuts[int(np.argmax(curve[idx]))])


def free_rows(video_duration_s: float, onsets_s: np.ndarray, boundaries_s: np.ndarray, duration_s: float):
    """A free-time track played from its start: ``[(0.0, onsets_video_s, boundaries_video_s, 0.0, 0.0)]``."""
    D = float(video_duration_s)
    on = np.asarray(onsets_s, float)
    b = np.asarray(boundaries_s, float)
    b = b[(b > _EPS) & (b < float(duration_s) - _EPS)]
    return [(0.0, on[(on >= 0) & (on < D)], b[b < D], 0.0, 0.0)]


def quick_fits(video_duration_s: float, video_cuts_s: Sequence[float], cut_probs_25hz,
               rows_per_candidate: Sequence[list], *, rate_hz: float = RATE_HZ,
               sigma_frames: float = SIGMA_FRAMES) -> list[QuickFit | None]:
    """The quick fit of every candidate (None for one without rows): all (candidate, start) rows scored
    in a few numpy blocks. ``rows_per_candidate[i]``: :func:`metric_rows` / :func:`free_rows` of
    candidate ``i``."""
    D = float(video_duration_s)
    curve = _curve(D, video_cuts_s, cut_probs_25hz)
    c = null_level(D, curve, rate_hz, sigma_frames)
    owner, starts, forms, plans, bars, segs = [], [], [], [], [], []
    for i, rows in enumerate(rows_per_candidate):
        for start, v_db, v_seg, form, plan in rows:
            owner.append(i)
            starts.append(start)
            forms.append(form)
            plans.append(plan)
            bars.append(np.asarray(v_db, float))
            segs.append(np.asarray(v_seg, float))
    out: list[QuickFit | None] = [None] * len(rows_per_candidate)
    if not owner:
        return out

    def pad(lists) -> tuple[np.ndarray, np.ndarray]:
        """The arrays left-aligned in the rows of one zero-padded matrix, and where they are."""
        sizes = np.array([a.size for a in lists], dtype=np.int64)
        width = int(sizes.max()) if sizes.size else 0
        v = np.arange(width) < sizes[:, None]
        t = np.zeros((len(lists), width))
        if width:
            t[v] = np.concatenate(lists)  # row-major: the same places as t[r, :a.size] = a, row by row
        return t, v

    s_bar = _masked_S(*pad(bars), curve, rate_hz, sigma_frames)
    s_seg = _masked_S(*pad(segs), curve, rate_hz, sigma_frames)
    both = np.stack([s_bar, s_seg])
    cnt = np.sum(~np.isnan(both), axis=0)
    S = np.where(cnt > 0, np.nansum(both, axis=0) / np.maximum(cnt, 1), np.nan)
    sync = np.where(np.isnan(S), 0.0, S - c)
    total = sync + np.asarray(forms)
    cost = np.asarray(plans) - _W_COOC * np.where(np.isnan(S), 0.0, S)
    best_cost: list[float] = [math.inf] * len(rows_per_candidate)
    for r, i in enumerate(owner):
        if cost[r] < best_cost[i] - 1e-12:  # the start the planner would pick; its fit is the estimate
            best_cost[i] = float(cost[r])
            out[i] = QuickFit(float(total[r]), float(starts[r]), float(sync[r]), float(forms[r]))
    return out


def quick_fit_reference(video_duration_s: float, video_cuts_s, cut_probs_25hz, rows: list) -> QuickFit | None:
    """One candidate's quick fit, one start at a time with the thesis's per-event loop
    (:func:`supervisor_app.analysis.language_of_clips.cooccurrence_score`): the reference the vectorised
    :func:`quick_fits` is tested against."""
    from supervisor_app.analysis.language_of_clips import cooccurrence_score

    D = float(video_duration_s)
    curve = _curve(D, video_cuts_s, cut_probs_25hz)
    c = null_level(D, curve)
    best, best_cost = None, math.inf
    for start, v_db, v_seg, form, plan in rows:
        vals = [cooccurrence_score(a, curve)[0] for a in (v_db, v_seg) if len(a)]
        S = float(np.mean(vals)) if vals else float("nan")
        sync = 0.0 if math.isnan(S) else S - c
        cost = plan - _W_COOC * (0.0 if math.isnan(S) else S)
        if cost < best_cost - 1e-12:
            best, best_cost = QuickFit(sync + form, float(start), sync, float(form)), cost
    return best
