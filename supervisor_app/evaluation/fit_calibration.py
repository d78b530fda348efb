"""Calibration of the fit (sync) score on synthetic edits with known answers.

A *synthetic edit* is a picture cut list made from a real track's analysis (madmom downbeats, MSAF
section boundaries) the way editors cut (thesis ch. 6): the track plays from a known start offset (a
downbeat) under a picture of ``video_duration_s``; the editor cuts on section changes and on some
downbeats, slightly *before* the downbeat (anticipation), with a little timing jitter, and adds a few
cuts that ignore the music (:class:`EditorStyle`). The answer is known: that track, from that offset.

Measured (:func:`run_calibration`):

1. **True offset vs random offsets of the same track** (:func:`offset_test`): the edit from the true
   offset against edits from other start downbeats of the same track that also cover the picture —
   the AUC (probability that the true offset scores higher, ties ½) and the percentile of the true
   offset, for the calibrated score and the raw S; plus how often the true edit beats the sync
   score's own null (z > 1.645: above 95 % of circular shifts).
2. **The true track's rank among a catalog** (:func:`rank_true_track`): every catalog track is fitted
   to the picture as ``recommend`` does in fit-only mode (:func:`supervisor_app.ranking.sync.best_start_offset`)
   and ranked by the calibrated score; mean rank, R@1, R@5 beside chance.
3. **The same with the raw S** (the best raw S over the same candidate offsets, uncalibrated), with
   how strongly each score follows the tracks' duration and tempo (Spearman's ρ over the catalog).

All times are seconds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from supervisor_app.infra.jobs import ProgressFn, count_progress

__all__ = ["CalibrationTrack", "EditorStyle", "SyntheticEdit", "calibration_tracks_from_catalog", "covering_offsets",
           "make_editor_cuts", "score_at_offset", "auc", "offset_test", "OffsetTest", "fit_track", "TrackFit",
           "rank_true_track", "RankResult", "spearman", "run_calibration", "CalibrationReport"]


@dataclass(frozen=True)
class CalibrationTrack:
    """One catalog track as the synthetic-editor calibration sees it (``key``: its id): bar lines and
    section boundaries ``[0, …, duration_s]`` (s). The editing engines use
    :class:`supervisor_app.edit.planner.TrackEvents` (with the grid's confidence and the audio path)."""

    key: str
    duration_s: float
    downbeats_s: np.ndarray
    boundaries_s: np.ndarray
    tempo_bpm: float


@dataclass(frozen=True)
class EditorStyle:
    """How the synthetic editor cuts (probabilities per event; times in seconds).

    Defaults: a cut on 90 % of section changes and on 35 % of the other downbeats (with bars of ~2 s
    that gives shots of ~5 s, the thesis's mean shot 4.76 s for bars of 2.3 s), 40 ms (one frame at
    25 fps) of anticipation, 30 ms of jitter, 2 cuts per minute that ignore the music, no shot under
    0.5 s.
    """

    p_section_cut: float = 0.9
    p_downbeat_cut: float = 0.35
    anticipation_s: float = 0.04
    jitter_s: float = 0.03
    off_grid_per_min: float = 2.0
    min_shot_s: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SyntheticEdit:
    """A picture cut list made from ``track_key`` played from ``start_offset_s`` (s)."""

    track_key: str
    start_offset_s: float
    video_duration_s: float
    cuts_s: np.ndarray
    n_on_grid: int
    n_off_grid: int


def calibration_tracks_from_catalog(catalog, segmentation: str = "olda", tracks=None) -> list[CalibrationTrack]:
    """Events of every indexed track (madmom downbeats, stored ``segmentation`` boundaries); tracks
    with fewer than 4 downbeats are left out. ``key`` is the track id as a string."""
    from supervisor_app.analysis.beats import BeatResult
    from supervisor_app.indexing.keys import beats_key
    from supervisor_app.indexing.reads import track_boundaries_s

    out = []
    for t in (tracks if tracks is not None else catalog.tracks()):
        rec = catalog.get_analysis(t.id, *beats_key())
        if rec is None or rec.result is None:
            continue
        br = BeatResult.from_dict(rec.result)
        db = np.unique(np.asarray(br.downbeats_s, float))
        if db.size < 4 or not t.duration_s:
            continue
        b = track_boundaries_s(catalog, t, segmentation)
        if b is None or len(b) < 2:
            b = np.array([0.0, float(t.duration_s)])
        out.append(CalibrationTrack(str(t.id), float(t.duration_s), db, np.asarray(b, float), float(br.tempo_bpm)))
    return out


def covering_offsets(track: CalibrationTrack, video_duration_s: float) -> np.ndarray:
    """Downbeats from which the track plays under the whole picture without looping (s)."""
    db = track.downbeats_s
    return db[(db + float(video_duration_s) <= track.duration_s) & (db < db[-1])]


def _snap(x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    if grid.size == 0:
        return x
    return grid[np.argmin(np.abs(grid[None, :] - np.asarray(x, float)[:, None]), axis=1)]


def make_editor_cuts(track: CalibrationTrack, start_offset_s: float, video_duration_s: float,
                     style: EditorStyle = EditorStyle(), rng: np.random.Generator | None = None) -> SyntheticEdit:
    """Cut a picture of ``video_duration_s`` to ``track`` played from ``start_offset_s`` (see the module doc).

    Section boundaries are snapped to their nearest downbeat (that is where a section change is heard
    on the bar grid); each downbeat inside the picture gets a cut with ``p_section_cut`` (section change)
    or ``p_downbeat_cut`` (other bar lines), placed ``anticipation_s`` early with Gaussian jitter
    ``jitter_s``; off-grid cuts are a Poisson process of ``off_grid_per_min``. Cuts closer than
    ``min_shot_s`` to each other or to the picture's ends are dropped (earlier kept). At least one cut.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    D = float(video_duration_s)
    o = float(start_offset_s)
    db = track.downbeats_s
    inside = db[(db > o + style.min_shot_s) & (db < o + D - style.min_shot_s)]
    sec = _snap(track.boundaries_s[(track.boundaries_s > 0) & (track.boundaries_s < track.duration_s)], db)
    is_section = np.isin(inside, sec)
    p = np.where(is_section, style.p_section_cut, style.p_downbeat_cut)
    chosen = inside[rng.random(inside.size) < p]
    if chosen.size == 0 and inside.size:
        chosen = inside[[int(rng.integers(inside.size))]]
    on = chosen - o - style.anticipation_s + rng.normal(0.0, style.jitter_s, chosen.size) if style.jitter_s > 0 \
        else chosen - o - style.anticipation_s
    n_off = int(rng.poisson(style.off_grid_per_min * D / 60.0))
    off = rng.uniform(0.0, D, n_off)
    cuts = np.concatenate([on, off])
    kind = np.concatenate([np.ones(on.size, bool), np.zeros(off.size, bool)])
    order = np.argsort(cuts, kind="stable")
    kept, kept_kind = [], []
    for c, k in zip(cuts[order], kind[order]):
        if c < style.min_shot_s or c > D - style.min_shot_s:
            continue
        if kept and c - kept[-1] < style.min_shot_s:
            continue
        kept.append(float(c))
        kept_kind.append(bool(k))
    if not kept:
        kept, kept_kind = [D / 2.0], [False]
    kk = np.array(kept_kind)
    return SyntheticEdit(track.key, o, D, np.array(kept), int(kk.sum()), int((~kk).sum()))


def score_at_offset(track: CalibrationTrack, cuts_s: Sequence[float], video_duration_s: float, start_offset_s: float,
                    n_random: int = 100) -> tuple[float, float]:
    """(calibrated score z, raw S) of the edit playing ``track`` from the downbeat nearest
    ``start_offset_s`` under the picture (no splice except the app's usual ending)."""
    from supervisor_app.edit.edl import build_edit
    from supervisor_app.ranking.sync import sync_score

    edit = build_edit(video_duration_s, cuts_s, track.duration_s, track.downbeats_s, track.boundaries_s,
                      start_offset_s=float(start_offset_s))
    sc = sync_score(edit, cuts_s, None, track.downbeats_s, track.boundaries_s, n_random=n_random)
    return float(sc.score), float(sc.details["S"])


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """P(a positive scores above a negative), ties counting ½ (Mann–Whitney); NaN if a side is empty."""
    p = np.asarray(positive, float).ravel()
    n = np.asarray(negative, float).ravel()
    if p.size == 0 or n.size == 0:
        return float("nan")
    gt = (p[:, None] > n[None, :]).sum()
    eq = (p[:, None] == n[None, :]).sum()
    return float((gt + 0.5 * eq) / (p.size * n.size))


@dataclass
class OffsetTest:
    """The true start offset against ``n`` other covering start downbeats of the same track."""

    true_z: float
    true_S: float
    random_z: list[float]
    random_S: list[float]

    @property
    def auc_z(self) -> float:
        return auc([self.true_z], self.random_z)

    @property
    def auc_S(self) -> float:
        return auc([self.true_S], self.random_S)


def offset_test(track: CalibrationTrack, edit: SyntheticEdit, n_offsets: int = 30, n_random: int = 100,
                rng: np.random.Generator | None = None) -> OffsetTest:
    """Score the true offset and up to ``n_offsets`` other covering downbeats at least one bar away."""
    rng = rng if rng is not None else np.random.default_rng(0)
    cand = covering_offsets(track, edit.video_duration_s)
    bar = float(np.median(np.diff(track.downbeats_s)))
    cand = cand[np.abs(cand - edit.start_offset_s) > 0.5 * bar]
    if cand.size > n_offsets:
        cand = rng.choice(cand, n_offsets, replace=False)
    tz, ts = score_at_offset(track, edit.cuts_s, edit.video_duration_s, edit.start_offset_s, n_random)
    rz, rs = [], []
    for o in np.sort(cand):
        z, s = score_at_offset(track, edit.cuts_s, edit.video_duration_s, float(o), n_random)
        rz.append(z)
        rs.append(s)
    return OffsetTest(tz, ts, rz, rs)


@dataclass
class TrackFit:
    """How one catalog track fits a picture: calibrated (as ``recommend`` fit-only) and raw."""

    key: str
    z: float  # calibrated score of the best edit (best_start_offset)
    offset_s: float  # its start offset
    raw_S: float  # the best raw S over the same candidate edits (no calibration)
    raw_offset_s: float
    raw_z: float = float("nan")  # calibrated score (z) of that raw-best edit
    raw_excess: float = float("nan")  # its S minus the mean S of its random circular shifts
    S_bar: float = float("nan")  # the calibrated choice's S over downbeats / section boundaries
    S_seg: float = float("nan")


def fit_track(track: CalibrationTrack, cuts_s: Sequence[float], video_duration_s: float, n_random: int = 100) -> TrackFit:
    """Fit ``track`` to a picture with cuts ``cuts_s`` the way fit-only recommendation does, and also
    pick its best edit by raw S (``n_finalists=1, n_random=0``: the uncalibrated choice)."""
    from supervisor_app.ranking.sync import best_start_offset, sync_score

    off, _, sc = best_start_offset(video_duration_s, cuts_s, None, track.duration_s, track.downbeats_s,
                                   track.boundaries_s, n_random=n_random)
    roff, redit, rsc = best_start_offset(video_duration_s, cuts_s, None, track.duration_s, track.downbeats_s,
                                         track.boundaries_s, n_random=0, n_finalists=1)
    raw = rsc.details["S"]
    rz = sync_score(redit, cuts_s, None, track.downbeats_s, track.boundaries_s, n_random=n_random)
    mu = rz.details["null_mean"]
    excess = float(raw - mu) if raw == raw and mu == mu else 0.0
    return TrackFit(track.key, float(sc.score), float(off), float(raw) if raw == raw else 0.0, float(roff),
                    float(rz.score), excess, float(sc.S_bar), float(sc.S_seg))


def _rank_and_recalls(scores: np.ndarray, i: int, ks=(1, 5)) -> tuple[float, dict]:
    """Expected 1-based rank of item ``i`` and P(i in the top k) for each k (ties by expectation)."""
    from supervisor_app.ranking.metrics import ranks_from_scores, recall_at_k

    s = np.asarray(scores, float)[None, :]
    t = np.array([i])
    return float(ranks_from_scores(s, t)[0]), {k: float(recall_at_k(s, t, k)[0]) for k in ks}


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN for fewer than 3 points or a constant."""
    from scipy.stats import rankdata

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(rankdata(x), rankdata(y))[0, 1])


@dataclass
class RankResult:
    """The true track's rank among the catalog by calibrated fit and by raw S, with every track's scores."""

    true_key: str
    rank_z: float
    rank_raw: float
    fits: list[TrackFit]
    recall_z: dict = field(default_factory=dict)  # k -> P(true track in the top k)
    recall_raw: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)  # other scores of the raw-best edit: name -> (rank, recalls)


def rank_true_track(edit: SyntheticEdit, tracks: Sequence[CalibrationTrack], n_random: int = 100) -> RankResult:
    """Fit every track of ``tracks`` (the true one included) to ``edit``'s picture and rank them."""
    fits = [fit_track(t, edit.cuts_s, edit.video_duration_s, n_random) for t in tracks]
    keys = [f.key for f in fits]
    if edit.track_key not in keys:
        raise ValueError(f"the true track {edit.track_key!r} is not among the tracks")
    i = keys.index(edit.track_key)
    z = np.array([f.z for f in fits])
    raw = np.array([f.raw_S for f in fits])
    rank_z, rec_z = _rank_and_recalls(z, i)
    rank_raw, rec_raw = _rank_and_recalls(raw, i)
    variants = {"raw-best edit, z": _rank_and_recalls(np.array([f.raw_z for f in fits]), i),
                "raw-best edit, S - null mean": _rank_and_recalls(np.array([f.raw_excess for f in fits]), i)}
    return RankResult(edit.track_key, rank_z, rank_raw, fits, rec_z, rec_raw, variants)


# ---------------------------------------------------------------------------------------------- driver
@dataclass
class CalibrationReport:
    """Everything :func:`run_calibration` measured (per query and summarised)."""

    n_tracks: int
    n_queries: int
    video_duration_s: float
    style: dict
    queries: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _query_job(track: CalibrationTrack, tracks: Sequence[CalibrationTrack], video_duration_s: float, style: EditorStyle,
               seed: int, n_offsets: int, n_random: int) -> dict:
    rng = np.random.default_rng(seed)
    offs = covering_offsets(track, video_duration_s)
    o = float(offs[int(rng.integers(offs.size))])
    edit = make_editor_cuts(track, o, video_duration_s, style, rng)
    ot = offset_test(track, edit, n_offsets=n_offsets, n_random=n_random, rng=rng)
    rr = rank_true_track(edit, tracks, n_random=n_random)
    others = [f for f in rr.fits if f.key != track.key]
    by_key = {t.key: t for t in tracks}
    dur = [by_key[f.key].duration_s for f in others]
    tempo = [by_key[f.key].tempo_bpm for f in others]
    top_z = max(rr.fits, key=lambda f: f.z)
    top_raw = max(rr.fits, key=lambda f: f.raw_S)
    return {"track": track.key, "start_offset_s": o, "n_cuts": int(edit.cuts_s.size), "n_on_grid": edit.n_on_grid,
            "n_off_grid": edit.n_off_grid, "true_z": ot.true_z, "true_S": ot.true_S,
            "n_random_offsets": len(ot.random_z), "auc_z": ot.auc_z, "auc_S": ot.auc_S,
            "percentile_z": float(np.mean(np.asarray(ot.random_z) < ot.true_z)) if ot.random_z else float("nan"),
            "percentile_S": float(np.mean(np.asarray(ot.random_S) < ot.true_S)) if ot.random_S else float("nan"),
            "rank_z": rr.rank_z, "rank_raw": rr.rank_raw, "r1_z": rr.recall_z[1], "r5_z": rr.recall_z[5],
            "r1_raw": rr.recall_raw[1], "r5_raw": rr.recall_raw[5],
            "variants": {k: {"rank": r, "r1": rec[1], "r5": rec[5]} for k, (r, rec) in rr.variants.items()},
            "true_fit": asdict(rr.fits[[f.key for f in rr.fits].index(track.key)]),
            "top1_fit": asdict(top_z),
            "rho_z_duration": spearman([f.z for f in others], dur), "rho_raw_duration": spearman([f.raw_S for f in others], dur),
            "rho_z_tempo": spearman([f.z for f in others], tempo), "rho_raw_tempo": spearman([f.raw_S for f in others], tempo),
            "top1_z": {"key": top_z.key, "duration_s": by_key[top_z.key].duration_s, "tempo_bpm": by_key[top_z.key].tempo_bpm},
            "top1_raw": {"key": top_raw.key, "duration_s": by_key[top_raw.key].duration_s,
                         "tempo_bpm": by_key[top_raw.key].tempo_bpm}}


def _mean(xs) -> float:
    a = np.asarray([x for x in xs if x == x], float)
    return float(a.mean()) if a.size else float("nan")


def _ci95(xs) -> float:
    from supervisor_app.ranking.metrics import mean_confidence_interval

    a = np.asarray([x for x in xs if x == x], float)
    return mean_confidence_interval(a)[1] if a.size else float("nan")


def summarize(queries: Sequence[dict], tracks: Sequence[CalibrationTrack]) -> dict:
    """Mean rank / R@1 / R@5 (calibrated and raw), offset AUCs, duration/tempo biases, chance."""
    n = len(tracks)
    rz = np.array([q["rank_z"] for q in queries])
    rr = np.array([q["rank_raw"] for q in queries])

    def pct(key):
        return 100.0 * _mean(q[key] for q in queries)

    dur = np.array([t.duration_s for t in tracks])
    tempo = np.array([t.tempo_bpm for t in tracks])
    return {
        "n_tracks": n, "n_queries": len(queries),
        "chance": {"mean_rank": (n + 1) / 2.0, "R@1": 100.0 / n, "R@5": 100.0 * min(5, n) / n},
        "calibrated": {"mean_rank": float(rz.mean()), "mean_rank_ci95": _ci95(rz), "R@1": pct("r1_z"),
                       "R@5": pct("r5_z")},
        "raw": {"mean_rank": float(rr.mean()), "mean_rank_ci95": _ci95(rr), "R@1": pct("r1_raw"), "R@5": pct("r5_raw")},
        "variants": {k: {"mean_rank": _mean(q["variants"][k]["rank"] for q in queries),
                         "mean_rank_ci95": _ci95([q["variants"][k]["rank"] for q in queries]),
                         "R@1": 100.0 * _mean(q["variants"][k]["r1"] for q in queries),
                         "R@5": 100.0 * _mean(q["variants"][k]["r5"] for q in queries)}
                     for k in (queries[0]["variants"] if queries else {})},
        "diagnosis": {"true_S_bar": _mean(q["true_fit"]["S_bar"] for q in queries),
                      "true_S_seg": _mean(q["true_fit"]["S_seg"] for q in queries),
                      "top1_S_bar": _mean(q["top1_fit"]["S_bar"] for q in queries),
                      "top1_S_seg": _mean(q["top1_fit"]["S_seg"] for q in queries),
                      "true_z": _mean(q["true_fit"]["z"] for q in queries),
                      "top1_z": _mean(q["top1_fit"]["z"] for q in queries)},
        "offset": {"auc_z": _mean(q["auc_z"] for q in queries), "auc_S": _mean(q["auc_S"] for q in queries),
                   "percentile_z": _mean(q["percentile_z"] for q in queries),
                   "percentile_S": _mean(q["percentile_S"] for q in queries),
                   "true_z_mean": _mean(q["true_z"] for q in queries),
                   "share_true_z_above_1.645": float(np.mean([q["true_z"] > 1.645 for q in queries])),
                   "mean_random_offsets": _mean(q["n_random_offsets"] for q in queries)},
        "bias": {"rho_z_duration": _mean(q["rho_z_duration"] for q in queries),
                 "rho_raw_duration": _mean(q["rho_raw_duration"] for q in queries),
                 "rho_z_tempo": _mean(q["rho_z_tempo"] for q in queries),
                 "rho_raw_tempo": _mean(q["rho_raw_tempo"] for q in queries),
                 "catalog_mean_duration_s": float(dur.mean()), "catalog_mean_tempo_bpm": float(tempo.mean()),
                 "top1_z_mean_duration_s": _mean(q["top1_z"]["duration_s"] for q in queries),
                 "top1_raw_mean_duration_s": _mean(q["top1_raw"]["duration_s"] for q in queries),
                 "top1_z_mean_tempo_bpm": _mean(q["top1_z"]["tempo_bpm"] for q in queries),
                 "top1_raw_mean_tempo_bpm": _mean(q["top1_raw"]["tempo_bpm"] for q in queries)},
        "cuts_per_query": _mean(q["n_cuts"] for q in queries),
        "off_grid_share": _mean(q["n_off_grid"] / max(1, q["n_cuts"]) for q in queries),
    }


def choose_queries(tracks: Sequence[CalibrationTrack], n_queries: int, video_duration_s: float) -> list[CalibrationTrack]:
    """Up to ``n_queries`` tracks that can play under the whole picture, evenly spread over ``tracks``."""
    ok = [t for t in tracks if covering_offsets(t, video_duration_s).size >= 2]
    if len(ok) <= n_queries:
        return ok
    idx = np.linspace(0, len(ok) - 1, n_queries).round().astype(int)
    return [ok[i] for i in sorted(set(idx))]


def run_calibration(tracks: Sequence[CalibrationTrack], n_queries: int = 24, video_duration_s: float = 30.0,
                    style: EditorStyle = EditorStyle(), seed: int = 0, n_offsets: int = 30, n_random: int = 100,
                    workers: int = 1, progress: ProgressFn | None = None) -> CalibrationReport:
    """Make one synthetic edit per query track and measure 1–3 of the module doc on ``tracks``.

    Query ``i`` uses the seed ``seed * 1000 + i`` (reproducible, independent of ``workers``).
    """
    tracks = list(tracks)
    if len(tracks) < 2:
        raise ValueError("the calibration needs at least 2 tracks")
    queries = choose_queries(tracks, n_queries, video_duration_s)
    if not queries:
        raise ValueError(f"no track can play under a {video_duration_s:g} s picture from two different downbeats")
    jobs = [(q, tracks, video_duration_s, style, seed * 1000 + i, n_offsets, n_random) for i, q in enumerate(queries)]
    out: list[dict | None] = [None] * len(jobs)
    if workers <= 1:
        for i, j in enumerate(jobs):
            out[i] = _query_job(*j)
            count_progress(progress, i + 1, len(jobs), "calibration queries")
    else:
        import concurrent.futures as cf
        import multiprocessing as mp

        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
            futs = {pool.submit(_query_job, *j): i for i, j in enumerate(jobs)}
            for k, f in enumerate(cf.as_completed(futs), 1):
                out[futs[f]] = f.result()
                count_progress(progress, k, len(jobs), "calibration queries")
    qs = [q for q in out if q is not None]
    return CalibrationReport(len(tracks), len(qs), float(video_duration_s), style.to_dict(), qs, summarize(qs, tracks))
