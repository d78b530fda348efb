"""The thesis's evaluation protocol (§5.3.1, §7.2) with leak controls.

Every clip of the evaluation set is in turn the query; its own other modality is the one correct item
and every other clip's is a distractor. V2M: the clip's video ranks every clip's music; M2V: the
reverse. Reported: Recall@1/10/25 (%) and the mean rank with its 95 % confidence interval, for each
ranking distance (segment-level models: the seven distances of :mod:`supervisor_app.ranking`;
clip-level models: the Euclidean distance, or the fusion head's probability for the BCE variant) and
each scenario of §7.2.2:

- ``vanilla``: query and target unchanged (they share the clip's segment boundaries exactly, which
  the thesis itself calls unrealistic);
- ``crop-query``: the query loses its first two segments (at least one is kept);
- ``stretch-targets``: every segment of every catalog item is repeated twice;
- ``crop-stretch``: both.

Leak controls printed beside every table, on the same queries and items:
- chance (R@k = k/C, mean rank (C+1)/2);
- two trivial rankers that look at no content: *closest duration* and *closest number of segments*
  (a system that does not beat them is measuring length or boundaries, not music/video fit);
- the **length-controlled** setting (the default, ``window_s = 30``): every query and every catalog item
  is a fixed-length window of its clip starting on a segment boundary of the segmentation S (a cut for
  ``shots``, a music section boundary otherwise); clips shorter than the window are left out. Duration
  then carries no information, so the closest-duration ranker scores exactly chance (ties are counted
  by expectation, see :mod:`.metrics`). ``window_s=None`` gives the thesis's full-clip protocol.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from supervisor_app.infra import errors
from supervisor_app.segvmnet.dataset import ClipData, normalize_boundaries
from supervisor_app.ranking.metrics import chance_metrics, retrieval_metrics

SCENARIOS = ("vanilla", "crop-query", "stretch-targets", "crop-stretch")
_SCENARIO_ALIASES = {"crop": "crop-query", "stretch": "stretch-targets", "crop+stretch": "crop-stretch",
                     "crop-and-stretch": "crop-stretch", "cropstretch": "crop-stretch"}
DIRECTIONS = ("V2M", "M2V")
DEFAULT_WINDOW_S = 30.0
TRIVIAL_DURATION = "trivial: closest duration"
TRIVIAL_SEGMENTS = "trivial: closest #segments"
CHANCE = "chance"
VANILLA_NOTE = ("In the vanilla scenario the query and its target come from the same clip and share its segment "
                "boundaries exactly, which the thesis (§7.2.1) itself calls unrealistic: read it beside "
                "crop-query / stretch-targets and the trivial rankers.")


def scenario_name(name: str) -> str:
    """Canonical scenario name (accepts crop, stretch, crop+stretch)."""
    key = str(name).strip().lower().replace("_", "-")
    key = _SCENARIO_ALIASES.get(key, key)
    if key not in SCENARIOS:
        raise errors.UsageError(f"Unknown evaluation scenario {name!r}: choose one of {', '.join(SCENARIOS)}.")
    return key


def scenario_indices(scenario: str, n_segments: int, role: str) -> np.ndarray:
    """Segment indices of a ``role`` ('query' or 'target') sequence of ``n_segments`` under ``scenario``."""
    from supervisor_app.ranking import crop_query, stretch_target

    idx = np.arange(n_segments)
    sc = scenario_name(scenario)
    if role == "query" and sc in ("crop-query", "crop-stretch"):
        return crop_query(idx, 2)
    if role == "target" and sc in ("stretch-targets", "crop-stretch"):
        return stretch_target(idx, 2)
    return idx


# --------------------------------------------------------------------------- windows
def window_start(clip: ClipData, window_s: float, seed: int = 0) -> float | None:
    """Start (s) of the clip's evaluation window: a segment boundary b with b + window_s ≤ duration,
    drawn reproducibly from (seed, clip id); None if the clip is shorter than the window."""
    b = clip.boundaries_s[:-1]
    cand = b[b + window_s <= clip.duration_s + 1e-6]
    if len(cand) == 0:
        return None
    h = int(hashlib.sha1(f"{seed}|{clip.clip_id}".encode()).hexdigest()[:8], 16)
    return float(cand[h % len(cand)])


def window_clip(clip: ClipData, window_s: float, seed: int = 0) -> ClipData | None:
    """The ``window_s``-second window of ``clip`` (times re-based to 0), or None if it is too short."""
    t0 = window_start(clip, window_s, seed)
    if t0 is None:
        return None
    t1 = t0 + window_s
    keep = (clip.times_s >= t0) & (clip.times_s < t1)
    if not keep.any():
        return None
    inner = clip.boundaries_s[(clip.boundaries_s > t0) & (clip.boundaries_s < t1)] - t0
    return ClipData(clip.clip_id, clip.music_frames[keep], clip.video_frames[keep], clip.times_s[keep] - t0,
                    normalize_boundaries(inner, window_s), float(window_s), clip.segmentation, clip.name)


def prepare_clips(clips: Sequence[ClipData], window_s: float | None, seed: int = 0):
    """(clips to evaluate, number left out because shorter than the window)."""
    if window_s is None:
        return list(clips), 0
    if window_s <= 0:
        raise errors.UsageError("The evaluation window must be a positive number of seconds.")
    out = [w for w in (window_clip(c, window_s, seed) for c in clips) if w is not None]
    return out, len(clips) - len(out)


# --------------------------------------------------------------------------- report
@dataclass
class EvaluationReport:
    """Metrics per scenario → direction → ranker (a distance, a trivial ranker or chance)."""

    model: str
    kind: str
    segmentation: str
    window_s: float | None
    n_clips: int
    n_left_out: int
    rankers: list[str]
    results: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def _trivial_scores(q_values: np.ndarray, c_values: np.ndarray) -> np.ndarray:
    return -np.abs(q_values[:, None].astype(np.float64) - c_values[None, :].astype(np.float64))


def _view_duration(clip: ClipData, idx: np.ndarray) -> float:
    d = np.diff(clip.boundaries_s)
    return float(d[idx].sum())


def _segment_level_scores(q_seqs, t_seqs, distances, clip_seconds) -> dict:
    from supervisor_app.ranking import SegmentBank, catalog_scores

    ids = np.arange(len(t_seqs))
    bank = SegmentBank.from_arrays(ids, t_seqs)
    pos = bank.positions_of(ids)
    out = {}
    for dist in distances:
        t = time.perf_counter()
        s = np.stack([catalog_scores(q, bank, dist, indices=pos) for q in q_seqs])
        clip_seconds[dist] = clip_seconds.get(dist, 0.0) + time.perf_counter() - t
        out[dist] = s
    return out


def evaluate_embeddings_protocol(model, kind: str, clips: Sequence[ClipData], scenarios=SCENARIOS,
                                 distances: Sequence[str] | None = None, seed: int = 0,
                                 log: Callable[[str], None] | None = None) -> tuple[dict, dict, list[str]]:
    """Scores and metrics for prepared clips. Returns (results, seconds, rankers)."""
    from supervisor_app.segvmnet.vmnet import embed_frame_sequences, embed_vectors
    from supervisor_app.ranking import DISTANCES, distance_name

    log = log or (lambda m: None)
    n = len(clips)
    if n < 2:
        raise errors.UsageError(f"Evaluation needs at least 2 clips; {n} remain.")
    target = np.arange(n)
    if kind == "segvmnet":
        dists = [distance_name(d) for d in (distances or DISTANCES)]
        feats = [c.segment_features() for c in clips]
        lens = np.array([len(m) for m, _ in feats])
        offs = np.concatenate([[0], np.cumsum(lens)])
        em = embed_vectors(model, np.concatenate([m for m, _ in feats]), "music")
        ev = embed_vectors(model, np.concatenate([v for _, v in feats]), "video")
        seg_m = [em[offs[i]:offs[i + 1]] for i in range(n)]
        seg_v = [ev[offs[i]:offs[i + 1]] for i in range(n)]
    else:
        dists = ["fusion" if model.fusion is not None else "euclidean"]
    rankers = list(dists) + [TRIVIAL_DURATION, TRIVIAL_SEGMENTS, CHANCE]
    results: dict = {}
    seconds: dict = {}
    for sc in scenarios:
        sc = scenario_name(sc)
        q_idx = [scenario_indices(sc, c.n_segments, "query") for c in clips]
        t_idx = [scenario_indices(sc, c.n_segments, "target") for c in clips]
        q_dur = np.array([_view_duration(c, i) for c, i in zip(clips, q_idx)])
        t_dur = np.array([_view_duration(c, i) for c, i in zip(clips, t_idx)])
        q_k = np.array([len(i) for i in q_idx])
        t_k = np.array([len(i) for i in t_idx])
        results[sc] = {}
        seconds[sc] = {}
        for direction in DIRECTIONS:
            log(f"{sc} {direction}")
            if kind == "segvmnet":
                q_seqs = [(seg_v if direction == "V2M" else seg_m)[i][q_idx[i]] for i in range(n)]
                t_seqs = [(seg_m if direction == "V2M" else seg_v)[i][t_idx[i]] for i in range(n)]
                scores = _segment_level_scores(q_seqs, t_seqs, dists, seconds[sc])
            else:
                rng = np.random.default_rng(seed)
                q_mod, t_mod = ("video", "music") if direction == "V2M" else ("music", "video")
                q_frames = [c.frames_in([c.spans()[k] for k in i])[0 if q_mod == "music" else 1] for c, i in zip(clips, q_idx)]
                t_frames = [c.frames_in([c.spans()[k] for k in i])[0 if t_mod == "music" else 1] for c, i in zip(clips, t_idx)]
                t = time.perf_counter()
                eq = embed_frame_sequences(model, q_frames, q_mod, rng)
                et = embed_frame_sequences(model, t_frames, t_mod, rng)
                if model.fusion is not None:
                    from supervisor_app.segvmnet.train import fusion_scores

                    s = fusion_scores(model, eq, et) if direction == "V2M" else fusion_scores(model, et, eq).T
                else:
                    from supervisor_app.segvmnet.train import euclidean_scores

                    s = euclidean_scores(eq, et)
                seconds[sc][dists[0]] = seconds[sc].get(dists[0], 0.0) + time.perf_counter() - t
                scores = {dists[0]: s}
            scores[TRIVIAL_DURATION] = _trivial_scores(q_dur, t_dur)
            scores[TRIVIAL_SEGMENTS] = _trivial_scores(q_k, t_k)
            res = {name: retrieval_metrics(s, target).to_dict() for name, s in scores.items()}
            res[CHANCE] = chance_metrics(n).to_dict()
            results[sc][direction] = res
    return results, seconds, rankers


def evaluate_model(model, kind: str, clips: Sequence[ClipData], model_name: str = "", segmentation: str = "",
                   scenarios=SCENARIOS, distances: Sequence[str] | None = None,
                   window_s: float | None = DEFAULT_WINDOW_S, seed: int = 0,
                   log: Callable[[str], None] | None = None) -> EvaluationReport:
    """Run the protocol on ``clips`` (length-controlled windows by default) and return the report."""
    prepared, left_out = prepare_clips(clips, window_s, seed)
    if len(prepared) < 2:
        raise errors.UsageError(
            f"Only {len(prepared)} of {len(clips)} clips are at least {window_s:g} s long: use a shorter "
            "--window-s or --full-clips.")
    results, seconds, rankers = evaluate_embeddings_protocol(model, kind, prepared, scenarios, distances, seed, log)
    notes = []
    if "vanilla" in results:
        notes.append(VANILLA_NOTE)
    seg = segmentation or (prepared[0].segmentation if prepared else "")
    if window_s is not None:
        notes.append(f"Length-controlled: every query and catalog item is a {window_s:g} s window starting on a "
                     f"segment boundary ({seg}); {left_out} clip(s) shorter than that were left out. "
                     "Duration carries no information here, so 'closest duration' must score chance.")
    else:
        notes.append("Full clips (the thesis's protocol): a query and its target have the same duration, so "
                     "'closest duration' shows how much length alone gives away.")
    notes.append("Ties between items are counted by expectation over a random order (a ranker that cannot tell "
                 "items apart scores chance).")
    return EvaluationReport(model_name, kind, seg, window_s, len(prepared), left_out, rankers, results, seconds,
                            notes, seed)


# --------------------------------------------------------------------------- tables
def _fmt_row(label: str, m2v: dict, v2m: dict, width: int) -> str:
    def cells(d: dict) -> str:
        r = d["recall"]
        ci = d["mean_rank_ci95"]
        rank = f"{d['mean_rank']:.1f} ± {ci:.1f}" if ci else f"{d['mean_rank']:.1f}"
        return f"{r['R@1']:6.2f} {r['R@10']:6.2f} {r['R@25']:6.2f} {rank:>14}"
    return f"{label:<{width}} {cells(m2v)}   {cells(v2m)}"


def format_report(report: EvaluationReport) -> str:
    """Tables shaped like the thesis's Tables 5.1–5.3 (both directions) and 7.3 (scenarios × distance)."""
    width = max(28, max(len(r) for r in report.rankers) + 2)
    setting = (f"length-controlled {report.window_s:g} s windows" if report.window_s is not None else "full clips")
    lines = [f"Model {report.model or '?'} ({report.kind}, segmentation {report.segmentation}); "
             f"{report.n_clips} clips, {setting}."]
    head = f"{'':<{width}} {'Music to Video':^36}   {'Video to Music':^36}"
    sub = f"{'':<{width}} {'R@1':>6} {'R@10':>6} {'R@25':>6} {'Rank':>14}   {'R@1':>6} {'R@10':>6} {'R@25':>6} {'Rank':>14}"
    order = [CHANCE, TRIVIAL_DURATION, TRIVIAL_SEGMENTS] + [r for r in report.rankers
                                                            if r not in (CHANCE, TRIVIAL_DURATION, TRIVIAL_SEGMENTS)]
    for sc, by_dir in report.results.items():
        lines += ["", f"Scenario: {sc}", head, sub]
        for r in order:
            if r in by_dir["V2M"]:
                lines.append(_fmt_row(r, by_dir["M2V"][r], by_dir["V2M"][r], width))
    if len(report.results) > 1:
        scs = list(report.results)
        lines += ["", "Video to Music, mean rank ± 95 % CI (rows: ranker; columns: scenario)",
                  f"{'':<{width}} " + " ".join(f"{s:>18}" for s in scs)]
        for r in order:
            cells = []
            for s in scs:
                d = report.results[s]["V2M"].get(r)
                if d is None:
                    cells.append("")
                else:
                    ci = d["mean_rank_ci95"]
                    cells.append(f"{d['mean_rank']:.1f} ± {ci:.1f}" if r != CHANCE else f"{d['mean_rank']:.1f}")
            lines.append(f"{r:<{width}} " + " ".join(f"{c:>18}" for c in cells))
    lines += [""] + [f"Note: {n}" for n in report.notes]
    return "\n".join(lines)


# --------------------------------------------------------------------------- folder
def evaluate_folder(clips_dir, model: str, scenarios=SCENARIOS, distances: Sequence[str] | None = None,
                    window_s: float | None = DEFAULT_WINDOW_S, segmentation: str | None = None,
                    workers: int | None = None, device: str = "auto", seed: int = 0, cache_dir=None,
                    progress=None, log: Callable[[str], None] | None = None) -> EvaluationReport:
    """Extract (cached) the clips of ``clips_dir`` with the model's extractors and segmentation, then
    run :func:`evaluate_model`. Clips the model was trained or validated on are reported in the notes."""
    from supervisor_app.nets.device import select_device
    from supervisor_app.segvmnet.model_io import load_model
    from supervisor_app.segvmnet.dataset import build_dataset
    from supervisor_app.segvmnet.train import read_training_clip_ids

    log = log or (lambda m: None)
    loaded = load_model(model, device=select_device(device))
    card = loaded.card
    if card.kind == "segvmnet":
        if segmentation and segmentation != card.segmentation:
            raise errors.UsageError(f"The model {card.name!r} was trained on {card.segmentation} segments: "
                                    f"evaluate it with the same segmentation, not {segmentation}.")
        seg = card.segmentation
    else:
        seg = segmentation or "olda"
    ds = build_dataset(clips_dir, seg, card.extractors["audio"]["name"], card.extractors["video"]["name"],
                       workers=workers, cache_dir=cache_dir, progress=progress)
    for path, why in ds.failures:
        log(f"skipped {path}: {why}")
    report = evaluate_model(loaded.model, card.kind, ds.clips, card.name, seg, scenarios, distances, window_s, seed, log)
    seen = read_training_clip_ids(loaded.path)
    overlap = sum(1 for c in ds.clips if c.clip_id in seen)
    if overlap:
        report.notes.insert(0, f"WARNING: {overlap} of the {len(ds.clips)} clips were used to train or validate this "
                               "model; evaluate on clips it never saw.")
    if ds.failures:
        report.notes.append(f"{len(ds.failures)} file(s) could not be used and were skipped.")
    return report
