"""``recommend``: rank catalog tracks for a video query, with why and how they align.

Two modes, and the result says which one ran:

* **content + fit** (a Seg-VM-Net model is given): the video's segments are embedded with the
  model's video branch; the catalog's stored segment embeddings (``catalog index --model``) are
  prefiltered by centroid distance and re-ranked by the chosen alignment distance (thesis ch. 7);
  each candidate is then cut to the picture along the alignment path (on downbeats) and gets a
  calibrated sync score.
* **fit only** (no model): no content score is claimed (no paired training data ships with the
  app, and the untrained ways we measured are at chance, see docs). Every filtered track is cut to
  the picture from its best start offset and ranked by the calibrated sync score.

``rank_by``: ``content`` (model score), ``sync`` (fit), or ``fused``: ``z(content) + w·z(sync)`` with
z-scores over the candidates and ``w = FUSED_SYNC_WEIGHT`` (see its comment for how it was chosen).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import CancelledError, EmptyCatalogError, UsageError
from .filters import Filters

DISTANCES = ("nw-dtw", "sw-dtw", "trace", "best-trace", "centroid", "single", "complete")
RANK_BY = ("content", "sync", "fused")
DEFAULT_TOP_N = 300
# Weight of the sync z-score in the fused ranking, chosen by V2M mean rank on a validation split of a
# SYNTHETIC corpus (no real paired corpus exists here) where half the pictures are cut on the music:
# `.venv/bin/python scripts/evaluation_report.py --sections fusion` (docs/EVALUATION.md §3; test mean
# rank of 50: content 8.3, sync 11.1, fused 6.1). Re-measure on a real archive before trusting it.
FUSED_SYNC_WEIGHT = 0.25
ProgressFn = Callable[[float, str], None]


@dataclass
class Recommendation:
    rank: int
    track_id: int
    path: str
    title: str
    artist: str
    duration_s: float
    bpm: float | None
    score: float | None  # content score (higher is better); None in fit-only mode
    sync_score: float  # calibrated fit: z-score vs random offsets of the same track
    fused: float | None
    alignment: list[dict]  # [{music_start_s, music_end_s, video_start_s, video_end_s}]
    matched_pairs: list[dict] = field(default_factory=list)  # best-matching segment pairs
    edit: object | None = None  # supervisor_app.edit.edl.Edit
    start_offset_s: float = 0.0  # where the music starts in the track (first excerpt's in point)
    sync: dict = field(default_factory=dict)
    stage: dict = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    downbeats_s: list[float] = field(default_factory=list)
    music_boundaries_s: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["edit"] = self.edit.to_dict() if self.edit is not None else None
        return d


@dataclass
class RecommendationResult:
    video: dict
    mode: str  # "content+fit" | "fit-only"
    model: str | None
    distance: str | None
    rank_by: str
    results: list[Recommendation]
    notes: list[str] = field(default_factory=list)
    n_candidates: int = 0

    def to_dict(self) -> dict:
        return {"video": self.video, "mode": self.mode, "model": self.model, "distance": self.distance,
                "rank_by": self.rank_by, "notes": self.notes, "n_candidates": self.n_candidates,
                "results": [r.to_dict() for r in self.results]}


def _check_cancel(should_cancel):
    if should_cancel and should_cancel():
        raise CancelledError("The recommendation")


def _track_music_events(catalog, track, segmentation: str):
    """(downbeats_s, boundaries_s [0..D], tempo_bpm) of an indexed track, or None when beats are missing."""
    from .analysis.beats import BeatResult
    from .indexing import beats_key, track_boundaries_s

    rec = catalog.get_analysis(track.id, *beats_key())
    if rec is None or rec.result is None:
        return None
    br = BeatResult.from_dict(rec.result)
    if len(br.downbeats_s) < 2:
        return None
    bounds = track_boundaries_s(catalog, track, segmentation)
    if bounds is None or len(bounds) < 2:
        bounds = np.array([0.0, float(track.duration_s)])
    return np.asarray(br.downbeats_s, float), bounds, float(br.tempo_bpm)


def _alignment_times(path, music_bounds, video_bounds) -> list[dict]:
    out = []
    for i, j in path:
        if i < len(music_bounds) - 1 and j < len(video_bounds) - 1:
            out.append({"music_segment": int(i), "video_segment": int(j),
                        "music_start_s": float(music_bounds[i]), "music_end_s": float(music_bounds[i + 1]),
                        "video_start_s": float(video_bounds[j]), "video_end_s": float(video_bounds[j + 1])})
    return out


def _edit_alignment(edit) -> list[dict]:
    return [{"music_start_s": e.music_in_s, "music_end_s": e.music_out_s,
             "video_start_s": e.video_start_s, "video_end_s": e.video_end_s} for e in edit.excerpts]


def _z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, float)
    s = x.std()
    return (x - x.mean()) / s if s > 1e-12 else np.zeros_like(x)


def load_active_model(model):
    """A LoadedModel from a name/path (or pass one through); None stays None."""
    if model is None or model == "" or model == "none":
        return None
    if hasattr(model, "card") and hasattr(model, "model"):
        return model
    from .nets.device import select_device
    from .nets.model_store import load_model

    return load_model(model, device=select_device("auto"))


def recommend(video, catalog, *, model=None, distance: str = "nw-dtw", k: int = 10, rank_by: str | None = None,
              filters: Filters | None = None, top_n: int = DEFAULT_TOP_N, sync_points_s=(), segmentation: str | None = None,
              exclude_track_ids=(), progress: ProgressFn | None = None, should_cancel=None,
              on_result: Callable[[Recommendation], None] | None = None) -> RecommendationResult:
    """Rank ``catalog`` for the video at ``video``. See the module docstring for the two modes.

    ``on_result`` is called with each finished candidate as soon as it is scored (the GUI fills its
    list with them); the returned list is the final ranking.
    """
    from .edit.edl import build_edit
    from .fit_cache import best_start_offset  # the ranking.sync fit, memoised on disk (issue 21)
    from .ranking.sync import sync_score
    from .video_analysis import analyze_video

    if distance not in DISTANCES:
        raise UsageError(f"Unknown distance {distance!r}; choose from {', '.join(DISTANCES)}.")
    if k < 1:
        raise UsageError("Ask for at least one recommendation (k ≥ 1).")
    filters = filters or Filters()
    progress = progress or (lambda f, s: None)
    loaded = load_active_model(model)
    mode = "content+fit" if loaded is not None else "fit-only"
    rank_by = rank_by or ("fused" if loaded is not None else "sync")
    if rank_by not in RANK_BY:
        raise UsageError(f"Unknown ranking {rank_by!r}; choose from {', '.join(RANK_BY)}.")
    if loaded is None and rank_by != "sync":
        raise UsageError("Ranking by content needs a trained Seg-VM-Net model (--model); without one, rank by sync.")
    model_seg = loaded.card.segmentation if loaded is not None else "olda"
    music_seg = model_seg if model_seg in ("olda", "foote", "sf") else "olda"
    video_seg = segmentation or (model_seg if loaded is not None else "shots")

    tracks = catalog.tracks()
    if not tracks:
        raise EmptyCatalogError()
    excluded = set(int(t) for t in exclude_track_ids)
    progress(0.0, "analysing the video")
    va = analyze_video(video, segmentation=video_seg, should_cancel=should_cancel,
                       progress=lambda f, s: progress(0.3 * f, s))
    _check_cancel(should_cancel)
    notes = list(va.notes)
    progress(0.3, f"reading the analyses of {len(tracks)} tracks")

    events = {}
    for t in tracks:
        if t.id in excluded:
            continue
        ev = _track_music_events(catalog, t, music_seg)
        if ev is None:
            continue
        if not filters.accepts(t, bpm=(t.bpm_tag if t.bpm_tag else ev[2])):
            continue
        events[t.id] = (t, ev)
    if not events:
        raise EmptyCatalogError("indexed track that passes the filters", "loosen the filters, or index the catalog")

    content: dict[int, tuple[float, object, dict]] = {}
    if loaded is not None:
        from .indexing import model_embedding_key
        from .nets.vmnet import embed_vectors
        from .ranking import align, two_stage
        from .ranking.bank import SegmentBank
        from .ranking.catalog_bank import catalog_bank
        from .video_analysis import video_segment_features

        progress(0.3, "embedding the video")
        vname = loaded.card.extractors.get("video", {}).get("name", "efficientnet-lite0")
        q = embed_vectors(loaded.model, video_segment_features(va, vname), "video")
        full, prefilter = catalog_bank(catalog, *model_embedding_key(loaded))
        if full is None or not any(int(t) in events for t in full.track_ids):
            raise EmptyCatalogError(f"segment embeddings for the model {loaded.card.name!r}",
                                    f"run 'catalog index --model {loaded.card.name}'")
        if all(int(t) in events for t in full.track_ids):
            bank = full  # no filter removed anything: use the persisted bank and its (ANN) prefilter
        else:
            pos = full.positions_of([t for t in full.track_ids if int(t) in events])
            bank = SegmentBank.from_arrays([int(full.track_ids[p]) for p in pos], [full.segments(p) for p in pos])
            prefilter = None
        progress(0.45, f"ranking {bank.n_tracks} tracks ({distance})")
        ranked = two_stage(q, bank, distance, top_n=top_n, k=min(bank.n_tracks, max(k * 4, k + 20)),
                           prefilter=prefilter)
        for r in ranked:
            al = align(bank.segments_of(r.track_id), q, distance)
            content[r.track_id] = (r.score, al, asdict(r.stage) if hasattr(r.stage, "__dataclass_fields__") else dict(r.stage))
        candidates = list(content)
    else:
        candidates = list(events)
        notes.append("No Seg-VM-Net model is active: tracks are ranked by how well they fit the picture's cuts "
                      "(calibrated sync score), not by content.")

    results: list[Recommendation] = []
    n = len(candidates)
    for idx, tid in enumerate(candidates):
        _check_cancel(should_cancel)
        t, (downbeats, mbounds, tempo) = events[tid]
        progress(0.5 + 0.5 * idx / max(n, 1), f"fitting {t.title or Path(t.path).name} to the picture")
        reasons = []
        try:
            if tid in content:
                score, al, stage = content[tid]
                edit = build_edit(va.duration_s, va.boundaries_s, float(t.duration_s), downbeats, mbounds,
                                  path=al.path, sync_points_s=sync_points_s)
                sc = sync_score(edit, va.cuts_s, va.cut_probs_25hz, downbeats, mbounds)
                alignment = _alignment_times(al.path, mbounds, va.boundaries_s)
                matched = sorted(_alignment_times(al.matches, mbounds, va.boundaries_s), key=lambda d: d["music_start_s"])
                reasons.append(f"content: {distance} score {score:.3f} (prefilter rank {stage.get('prefilter_rank')})")
            else:
                score, stage, matched = None, {}, []
                off, edit, sc = best_start_offset(va.duration_s, va.cuts_s, va.cut_probs_25hz, float(t.duration_s),
                                                  downbeats, mbounds, sync_points_s=sync_points_s)
                alignment = _edit_alignment(edit)
                reasons.append(f"fit: best start at {off:.1f} s of the track")
        except UsageError:
            raise
        except (ValueError, AssertionError) as e:  # a track whose events cannot be cut to this picture
            notes.append(f"{t.title or Path(t.path).name}: could not be cut to the picture ({e}).")
            continue
        reasons.append(f"fit: {sc.n_cuts_on_downbeat} cut(s) on a downbeat, S_bar {sc.S_bar:.2f}, "
                       f"{sc.score:+.2f} above random offsets of the same edit")
        reasons.append(f"tempo {tempo:.0f} BPM (bar {4 * 60 / tempo:.2f} s) vs {len(va.cuts_s)} cut(s) in "
                       f"{va.duration_s:.0f} s")
        rec = Recommendation(rank=0, track_id=tid, path=t.path, title=t.title or Path(t.path).stem,
                             artist=t.artist or "", duration_s=float(t.duration_s), bpm=round(tempo, 1),
                             score=None if score is None else float(score), sync_score=float(sc.score), fused=None,
                             alignment=alignment, matched_pairs=matched[:5], edit=edit,
                             start_offset_s=float(edit.excerpts[0].music_in_s), sync=sc.to_dict(),
                             stage=stage, reasons=reasons, downbeats_s=[float(x) for x in downbeats],
                             music_boundaries_s=[float(x) for x in mbounds])
        results.append(rec)
        if on_result:
            on_result(rec)
    if not results:
        raise EmptyCatalogError("track that can be cut to this picture", "see the notes above")
    sync_arr = np.array([r.sync_score for r in results])
    if loaded is not None:
        content_arr = np.array([r.score for r in results])
        fused = _z(content_arr) + FUSED_SYNC_WEIGHT * _z(sync_arr)
        for r, f in zip(results, fused):
            r.fused = float(f)
        key = {"content": content_arr, "sync": sync_arr, "fused": fused}[rank_by]
    else:
        key = sync_arr
    order = np.lexsort((np.arange(len(results)), -key))[:k]
    final = [results[i] for i in order]
    for rank, r in enumerate(final, start=1):
        r.rank = rank
    progress(1.0, "done")
    return RecommendationResult(video=va.to_dict(), mode=mode, model=loaded.card.name if loaded else None,
                                distance=distance if loaded is not None else None, rank_by=rank_by,
                                results=final, notes=notes, n_candidates=len(candidates))


def pair_alignment(video, catalog, track_id: int, model, distance: str = "nw-dtw"):
    """The alignment ``recommend`` computes for one (video, catalog track) pair with a Seg-VM-Net model:
    ``(path [(i_music, j_video)], video_boundaries_s)``; the mockup uses it to cut exactly as recommended."""
    from .indexing import model_embedding_key
    from .nets.vmnet import embed_vectors
    from .ranking import align
    from .video_analysis import analyze_video, video_segment_features

    loaded = load_active_model(model)
    if loaded is None:
        raise UsageError("An alignment needs a Seg-VM-Net model (--model).")
    seg = loaded.card.segmentation
    va = analyze_video(video, segmentation=seg)
    vname = loaded.card.extractors.get("video", {}).get("name", "efficientnet-lite0")
    q = embed_vectors(loaded.model, video_segment_features(va, vname), "video")
    m = catalog.get_embedding(int(track_id), *model_embedding_key(loaded))
    if m is None:
        raise EmptyCatalogError(f"segment embeddings of track {track_id} for the model {loaded.card.name!r}",
                                f"run 'catalog index --model {loaded.card.name}'")
    al = align(m, q, distance)
    return al.path, list(va.boundaries_s)
