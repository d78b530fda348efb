"""``recommend``: rank catalog tracks for a video query, with why and how they align.

Two modes, and the result says which one ran:

* **content + fit** (a Seg-VM-Net model is given): the video's segments are embedded with the
  model's video branch; the catalog's stored segment embeddings (``catalog index --model``) are
  prefiltered by centroid distance and re-ranked by the chosen alignment distance (thesis ch. 7);
  each candidate is then cut to the picture along the alignment path (on downbeats) and gets a
  calibrated sync score.
* **fit only** (no model): no content score is claimed (no paired training data ships with the
  app, and the untrained ways we measured are at chance, see docs). Every filtered track is cut to
  the picture by the form-aware planner and ranked by its fit.

Every candidate is cut to the picture by the form-aware planner (:func:`supervisor_app.edit.form.plan_edit`:
starts at the track's start or a section, ends on its ending or a section end, drops phrases or
repeats whole sections as the picture needs) and gets a calibrated sync score and a form score
(:mod:`supervisor_app.ranking.form_score`); its *fit* is their sum, so tracks that need repeats or end
mid-phrase rank below tracks that fit. The best ``2k`` are re-planned with their audio (splice
audibility against the track's own bar lines, the energy peak against ``picture_climax_s``).

Every track is cut by the engine its music calls for (:mod:`supervisor_app.edit.planner`): on bar
lines (the form-aware planner above) when the beat tracker's grid is trustworthy, in free time (phrase ends, quiet moments, onsets,
1.5 s crossfades) when it is not, and as a *button* ending the picture when it is a short track
(a sting, a logo) shorter than the picture; each result's ``edit_mode`` and first reason say which.
Free-time edits and buttons get the same form penalties judged on their excerpts (repeats, ending,
the share of the picture without music: :func:`supervisor_app.ranking.form_score.excerpt_form_score`),
so every track's fit is ``sync + form`` on one scale. Buttons are ranked after the tracks that can carry
the whole picture. Nothing is dropped silently:
an indexed track that passes the filters is ranked, or listed in ``excluded`` with the reason (and in
``notes``).

``rank_by``: ``content`` (model score), ``sync`` (fit: sync + form), or ``fused``: ``z(content) + w·z(fit)`` with
z-scores over the candidates and ``w = FUSED_SYNC_WEIGHT`` (see its comment for how it was chosen).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from supervisor_app.infra.errors import AnalysisError, EmptyCatalogError, UsageError
from supervisor_app.infra.jobs import Cancelled, ProgressFn, ShouldCancel, as_progress, check_cancelled, sub_progress
from supervisor_app.catalog.filters import Filters
from supervisor_app.ranking.names import DISTANCES
from supervisor_app.services.track_events_cache import track_events as cached_track_events

RANK_BY = ("content", "sync", "fused")
DEFAULT_TOP_N = 300
# Weight of the sync z-score in the fused ranking, chosen by V2M mean rank on a validation split of a
# SYNTHETIC corpus (no real paired corpus exists here) where half the pictures are cut on the music:
# `.venv/bin/python scripts/evaluation_report.py --sections fusion` (docs/EVALUATION.md §3; test mean
# rank of 50: content 8.3, sync 11.1, fused 6.1). Re-measure on a real archive before trusting it.
FUSED_SYNC_WEIGHT = 0.25


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
    sync_score: float  # calibrated cut/downbeat sync: S above random offsets of the same edit
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
    fit_score: float | None = None  # sync_score + form score (what the sync ranking sorts by)
    form: dict = field(default_factory=dict)  # ranking.form_score.FormScore.to_dict()
    edit_mode: str = "metric"  # 'metric' (bar lines) | 'free-time' | 'button' (supervisor_app.edit.planner)
    beat_confidence: dict = field(default_factory=dict)  # BeatConfidence.to_dict()
    provisional: bool = False  # scored against a picture's provisional cuts (recommend's first list), replaced

    def to_dict(self) -> dict:
        edit, self.edit = self.edit, None
        try:
            d = asdict(self)
        finally:
            self.edit = edit
        d["edit"] = self.edit.to_dict() if self.edit is not None else None
        return d


@dataclass
class Excluded:
    """An indexed track that passed the filters but is not in the ranking, and why (one sentence)."""

    track_id: int
    title: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


MAX_EXCLUSION_NOTES = 20  # exclusions spelled out in ``notes`` (all of them are in ``excluded``)


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
    excluded: list[Excluded] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"video": self.video, "mode": self.mode, "model": self.model, "distance": self.distance,
                "rank_by": self.rank_by, "notes": self.notes, "n_candidates": self.n_candidates,
                "excluded": [e.to_dict() for e in self.excluded],
                "results": [r.to_dict() for r in self.results]}


def _check_cancel(should_cancel):
    check_cancelled(should_cancel, "The recommendation")


def _track_music_events(catalog, track, segmentation: str):
    """``(TrackEvents, None)`` of an indexed track, or ``(None, reason)`` when it cannot be edited.

    A failed beat tracking (no steady beat) is not a reason: such a track is cut in free time."""
    from supervisor_app.edit.planner import TrackEvents
    from supervisor_app.indexing.keys import beats_key
    from supervisor_app.indexing.reads import track_boundaries_s

    if not track.duration_s or track.duration_s <= 0:
        return None, "its duration is unknown (the file could not be read when it was indexed)"
    rec = catalog.get_analysis(track.id, *beats_key())
    if rec is None:
        return None, "it has not been analysed yet: index the catalog ('catalog index')"
    bounds = track_boundaries_s(catalog, track, segmentation)
    ev = TrackEvents.from_analyses(track.path, float(track.duration_s), rec.result, bounds, beats_error=rec.error,
                                   content_hash=track.content_hash, title=track.title or "", artist=track.artist or "")
    if not ev.confidence.metric:  # fitted on its onsets: the ones stored at index time, when there
        from supervisor_app.indexing.free_time_points import stored_points

        pts = stored_points(catalog, track)
        if pts is not None:
            ev.stored_onsets_s = np.asarray(pts["strong_onsets_s"], float)
    return ev, None


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


def _ranking_key(results, with_model: bool, rank_by: str) -> np.ndarray:
    """The ranking key per result (higher is better); sets ``fused`` with a model."""
    fit_arr = np.array([r.fit_score if r.fit_score is not None else r.sync_score for r in results])
    if not with_model:
        return fit_arr
    content_arr = np.array([r.score for r in results])
    fused = _z(content_arr) + FUSED_SYNC_WEIGHT * _z(fit_arr)
    for r, f in zip(results, fused):
        r.fused = float(f)
    return {"content": content_arr, "sync": fit_arr, "fused": fused}[rank_by]


def _quick_order(candidates, events, va, should_cancel=None) -> tuple[list, list]:
    """``(plan order, buttons)`` for a large fit-only catalog: candidates whose quick fit cannot be
    computed first (the planner then says why they cannot be cut), then the rest by quick fit, best first
    (:func:`supervisor_app.ranking.search.quick_fits`); buttons apart, in catalog order."""
    from supervisor_app.edit.form import TrackForm
    from supervisor_app.edit.planner import edit_mode
    from supervisor_app.infra.errors import SupervisorError
    from supervisor_app.ranking.search import best_cut, free_rows, metric_rows, quick_fits

    D = va.duration_s
    cut = best_cut(va.cuts_s, va.cut_probs_25hz, D)
    scored, rows, failed, buttons = [], [], [], []
    for tid in candidates:
        _check_cancel(should_cancel)
        t, ev = events[tid]
        mode = edit_mode(ev, D)
        if mode == "button":
            buttons.append(tid)
            continue
        try:
            if mode == "metric":
                f = TrackForm.build(float(t.duration_s), ev.downbeats_s, ev.boundaries_s)
                r = metric_rows(D, f.duration_s, f.downbeats_s, f.section_idx, cut)
            else:
                r = free_rows(D, ev.strong_onsets_s(), ev.boundaries_s, ev.duration_s)
        except (Cancelled, UsageError):
            raise
        except (ValueError, AssertionError, SupervisorError):
            r = []
        if r:
            scored.append(tid)
            rows.append(r)
        else:
            failed.append(tid)
    q = quick_fits(D, va.cuts_s, va.cut_probs_25hz, rows)
    order = sorted(range(len(scored)), key=lambda i: (-q[i].score if q[i] is not None else math.inf, i))
    return failed + [scored[i] for i in order], buttons


PROVISIONAL_SPAN = (0.12, 0.3, 0.55)  # recommend's progress at: the provisional ranking, shot detection, the final ranking


def _provisional_then_final(video, rank, on_result, progress, should_cancel, on_provisional=None):
    """A cold picture, ranked twice: first on provisional cuts (its frames decoded, cut by frame differences,
    :func:`supervisor_app.services.video_analysis.provisional_analysis`; its candidates streamed to
    ``on_result`` as ``provisional`` within seconds), then on TransNetV2's shots of the same frames, which
    run meanwhile on a thread of lower priority (the cores the provisional ranking leaves free). Returns the
    final analysis, or ``None`` when there was nothing to gain (shots cached, a picture too long to hold)."""
    from supervisor_app.infra.jobs import Background
    from supervisor_app.services.video_analysis import analyze_video, decode_for_provisional, provisional_analysis

    progress(0.0, "decoding the picture")
    decoded = decode_for_provisional(video, progress=sub_progress(progress, 0.0, PROVISIONAL_SPAN[0]),
                                     should_cancel=should_cancel)
    if decoded is None:
        return None
    _check_cancel(should_cancel)
    shots = Background(lambda cancel, report: analyze_video(video, segmentation="shots", should_cancel=cancel,
                                                            decoded=decoded, progress=report),
                       should_cancel, sub_progress(progress, PROVISIONAL_SPAN[1], PROVISIONAL_SPAN[2]),
                       name="shots-behind-provisional")
    try:
        ranked = rank(provisional_analysis(decoded), on_result, True, PROVISIONAL_SPAN[0], PROVISIONAL_SPAN[1])
        if on_provisional is not None:
            on_provisional(ranked)
    except EmptyCatalogError:
        pass  # nothing could be cut to the provisional cuts: the final ranking says why, in its words
    except BaseException:
        shots.stop()
        raise
    progress(PROVISIONAL_SPAN[1], "detecting shots")
    return shots.result()


def load_active_model(model):
    """A LoadedModel from a name/path (or pass one through); None stays None."""
    if model is None or model == "" or model == "none":
        return None
    if hasattr(model, "card") and hasattr(model, "model"):
        return model
    from supervisor_app.nets.device import select_device
    from supervisor_app.segvmnet.model_io import load_model

    return load_model(model, device=select_device("auto"))


def recommend(video, catalog, *, model=None, distance: str | None = None, k: int = 10, rank_by: str | None = None,
              filters: Filters | None = None, top_n: int | None = None, sync_points_s=(), segmentation: str | None = None,
              exclude_track_ids=(), progress: ProgressFn | None = None, should_cancel: ShouldCancel | None = None,
              on_result: Callable[[Recommendation], None] | None = None, picture_climax_s: float | None = None,
              no_repeats: bool = False, length_ratio: tuple[float | None, float | None] | None = None,
              audio_finalists: int | None = None, plan_all: bool = False,
              provisional: bool = False, picture=None,
              on_provisional: Callable[[RecommendationResult], None] | None = None) -> RecommendationResult:
    """Rank ``catalog`` for the video at ``video``. See the module docstring for the two modes.

    ``on_result`` is called with each finished candidate as soon as it is scored (the GUI fills its
    list with them); the returned list is the final ranking. ``picture_climax_s``: the picture's climax
    (video time) for the music's energy peak; ``no_repeats``: leave out tracks whose edit needs a repeat;
    ``length_ratio``: ``(min, max)`` track duration as a multiple of the picture's (either may be None);
    ``audio_finalists``: every planned bar-grid track with a stored bar-splice table (``catalog index``) is
    cut with its audio in mind; of the others, how many of the best are re-planned from their decoded audio
    (default ``max(2k, k + 5)``; 0: no audio at all, neither tables nor decoding); ``plan_all``: cut every candidate with the planner (fit only: otherwise a large catalog's
    candidates are chosen by a quick fit, :mod:`supervisor_app.ranking.search`); ``provisional``: for a picture
    whose shots are not cached yet (fit only, shots segmentation), first stream to ``on_result`` the candidates
    ranked on provisional cuts (``Recommendation.provisional``; seconds after the drop), then rank on
    TransNetV2's shots (:func:`_provisional_then_final`), ``on_provisional`` hearing the provisional ranking
    (best first) as soon as it is done; ``picture``: the picture's analysis when the caller has
    it (:class:`~supervisor_app.services.video_analysis.QueryVideoAnalysis`, fit only; a provisional one gives a
    provisional ranking, as above). ``distance`` (default nw-dtw) applies with a model only: given without one, it is ignored and a note
    says so; ``rank_by`` content or fused without a model is refused (UsageError naming the option).
    """
    from supervisor_app.edit.form import TrackForm
    from supervisor_app.edit.planner import edit_mode, fit_edit, mode_reason, plan_edit, score_edit
    from supervisor_app.infra.errors import SupervisorError
    from supervisor_app.ranking.fit_cache import fit_to_picture  # ranking.form_score's fit, memoised on disk (issue 21)
    from supervisor_app.ranking.form_score import fit_free_time
    from supervisor_app.ranking.search import n_planned
    from supervisor_app.services.video_analysis import analyze_video

    if distance is not None and distance not in DISTANCES:
        raise UsageError(f"Unknown --distance {distance!r}; choose from {', '.join(DISTANCES)}.")
    if rank_by is not None and rank_by not in RANK_BY:
        raise UsageError(f"Unknown --rank-by {rank_by!r}; choose from {', '.join(RANK_BY)}.")
    if k < 1:
        raise UsageError("Ask for at least one recommendation (-k must be 1 or more).")
    if top_n is not None and top_n < 1:
        raise UsageError("The prefilter size (--top-n) must be 1 or more.")
    filters = filters or Filters()
    progress = as_progress(progress)
    loaded = load_active_model(model)
    mode = "content+fit" if loaded is not None else "fit-only"
    if loaded is None and rank_by in ("content", "fused"):
        raise UsageError(f"--rank-by {rank_by} needs a trained Seg-VM-Net model (--model); without one, tracks are "
                         "ranked by how they fit the picture (--rank-by sync).")
    option_notes = []
    if loaded is None and distance is not None:
        option_notes.append(f"--distance {distance} is ignored: an alignment distance needs a Seg-VM-Net model (--model).")
    if loaded is None and top_n is not None:
        option_notes.append(f"--top-n {top_n} is ignored: the prefilter ranks a model's embeddings (--model).")
    top_n = DEFAULT_TOP_N if top_n is None else int(top_n)
    distance = distance or "nw-dtw"
    rank_by = rank_by or ("fused" if loaded is not None else "sync")
    model_seg = loaded.card.segmentation if loaded is not None else "olda"
    music_seg = model_seg if model_seg in ("olda", "foote", "sf") else "olda"
    video_seg = segmentation or (model_seg if loaded is not None else "shots")

    tracks = catalog.tracks(include_missing=True)
    if not tracks:
        raise EmptyCatalogError()
    asked_out = set(int(t) for t in exclude_track_ids)
    ev_memo: dict = {}
    stamps = catalog.analysis_stamps()

    def events_of(t):  # read once, whether the picture is ranked once or twice (provisional, then final),
        if t.id not in ev_memo:  # and kept for the process's next ranking while the track's analyses stand
            ev_memo[t.id] = cached_track_events(catalog, t, music_seg, stamps,
                                                lambda: _track_music_events(catalog, t, music_seg))
        return ev_memo[t.id]

    def rank(va, on_result, is_provisional: bool, p0: float, p1: float = 1.0) -> RecommendationResult:
        """Everything after the picture's analysis, for the analysis ``va`` (provisional: no audio is decoded,
        and every result is marked ``provisional``); progress from ``p0`` to ``p1``."""

        def rprogress(f: float, stage: str) -> None:
            progress(p0 + (p1 - p0) * (f - 0.3) / 0.7, f"provisional: {stage}" if is_provisional else stage)

        notes = list(option_notes) + list(va.notes)
        rprogress(0.3, f"reading the analyses of {len(tracks)} tracks")
        if picture_climax_s is not None and not (0.0 <= float(picture_climax_s) <= va.duration_s):
            raise UsageError(f"The picture's climax {float(picture_climax_s):.1f} s lies outside the video "
                             f"(0 to {va.duration_s:.1f} s).")
        lo_r, hi_r = length_ratio if length_ratio is not None else (None, None)
        if lo_r is not None and hi_r is not None and lo_r > hi_r:
            raise UsageError("The length range relative to the picture is empty (its minimum exceeds its maximum).")
        excluded: list[Excluded] = []

        def leave_out(t, reason: str) -> None:
            excluded.append(Excluded(int(t.id), t.title or Path(t.path).stem, reason))

        events = {}
        n_filtered = n_filtered_no_tempo = n_asked = n_length = 0
        for t in tracks:
            if t.id in asked_out:
                n_asked += 1
                continue
            ev, why = events_of(t)
            bpm = t.bpm_tag if t.bpm_tag else (ev.tempo_bpm if ev is not None and ev.confidence.metric else None)
            if not filters.accepts(t, bpm=bpm):
                n_filtered += 1
                n_filtered_no_tempo += int(filters.bpm_range is not None and bpm is None)
                continue
            if t.status == "missing":
                leave_out(t, f"the file is missing ({t.path})")
                continue
            if ev is None:
                leave_out(t, why)
                continue
            ratio = float(t.duration_s) / va.duration_s
            if (lo_r is not None and ratio < lo_r) or (hi_r is not None and ratio > hi_r):
                n_length += 1
                continue
            events[t.id] = (t, ev)
        if n_length:
            notes.append(f"{n_length} track(s) were left out by the length range relative to the picture (--fits-length).")
        if n_asked:
            notes.append(f"{n_asked} track(s) were left out by the request (e.g. the brief).")
        if n_filtered:
            notes.append(f"{n_filtered} track(s) were left out by the filters"
                         + (f" ({n_filtered_no_tempo} of them have no steady tempo for the BPM range)" if n_filtered_no_tempo else "")
                         + ".")
        if not events:
            hint = "; ".join(f"{e.title}: {e.reason}" for e in excluded[:3]) if excluded else "loosen the filters, or index the catalog"
            raise EmptyCatalogError("indexed track that passes the filters", hint)

        content: dict[int, tuple[float, object, dict]] = {}
        if loaded is not None:
            from supervisor_app.indexing.keys import model_embedding_key
            from supervisor_app.segvmnet.vmnet import embed_vectors
            from supervisor_app.ranking import align, two_stage
            from supervisor_app.ranking.bank import SegmentBank
            from supervisor_app.ranking.catalog_bank import catalog_bank
            from supervisor_app.services.video_analysis import video_segment_features

            rprogress(0.3, "embedding the video")
            vname = loaded.card.extractors.get("video", {}).get("name", "efficientnet-lite0")
            q = embed_vectors(loaded.model, video_segment_features(va, vname), "video")
            full, prefilter = catalog_bank(catalog, *model_embedding_key(loaded))
            if full is None or not any(int(t) in events for t in full.track_ids):
                raise EmptyCatalogError(f"segment embeddings for the model {loaded.card.name!r}",
                                        f"run 'catalog index --model {loaded.card.name}'")
            embedded = {int(x) for x in full.track_ids}
            for tid in [tid for tid in events if tid not in embedded]:
                leave_out(events.pop(tid)[0], f"it has no segment embeddings for the model {loaded.card.name!r}: "
                                              f"run 'catalog index --model {loaded.card.name}'")
            if all(int(t) in events for t in full.track_ids):
                bank = full  # no filter removed anything: use the persisted bank and its (ANN) prefilter
            else:
                pos = full.positions_of([t for t in full.track_ids if int(t) in events])
                bank = SegmentBank.from_arrays([int(full.track_ids[p]) for p in pos], [full.segments(p) for p in pos])
                prefilter = None
            rprogress(0.45, f"ranking {bank.n_tracks} tracks ({distance})")
            ranked = two_stage(q, bank, distance, top_n=top_n, k=min(bank.n_tracks, max(k * 4, k + 20)),
                               prefilter=prefilter)
            for r in ranked:
                al = align(bank.segments_of(r.track_id), q, distance)
                content[r.track_id] = (r.score, al, asdict(r.stage) if hasattr(r.stage, "__dataclass_fields__") else dict(r.stage))
            candidates = list(content)
        else:
            candidates = list(events)
            notes.append("No Seg-VM-Net model is active: tracks are ranked by how well they fit the picture (form of "
                          "the edit + calibrated cut/downbeat sync), not by content.")

        results: list[Recommendation] = []
        n = len(candidates)
        n_no_repeats = 0

        def fit_one(tid, audio=None, sr=None):
            t, ev = events[tid]
            form = TrackForm.build(float(t.duration_s), ev.downbeats_s, ev.boundaries_s, audio=audio, sr=sr)
            prefer = None
            if tid in content:
                al = content[tid][1]
                if len(al.path):
                    i0 = int(al.path[0][0])
                    prefer = float(ev.boundaries_s[i0]) if i0 < len(ev.boundaries_s) else None
            return fit_to_picture(va.duration_s, va.cuts_s, va.cut_probs_25hz, form, sync_points_s=sync_points_s,
                                  picture_climax_s=picture_climax_s, prefer_start_s=prefer)

        def content_fields(tid, edit, mbounds, apath_used: bool):
            if tid in content:
                score, al, stage = content[tid]
                alignment = _alignment_times(al.path, mbounds, va.boundaries_s) if apath_used else _edit_alignment(edit)
                matched = sorted(_alignment_times(al.matches, mbounds, va.boundaries_s), key=lambda d: d["music_start_s"])
                reason = f"content: {distance} score {score:.3f} (prefilter rank {stage.get('prefilter_rank')})"
                return score, stage, matched, alignment, [reason]
            return None, {}, [], _edit_alignment(edit), []

        def make_rec(tid, edit, sc, reasons, score, stage, matched, alignment, emode, fit=None) -> Recommendation:
            t, ev = events[tid]
            tempo = ev.tempo_bpm
            return Recommendation(rank=0, track_id=tid, path=t.path, title=t.title or Path(t.path).stem,
                                  artist=t.artist or "", duration_s=float(t.duration_s),
                                  bpm=round(tempo, 1) if tempo and ev.confidence.metric else None,
                                  score=None if score is None else float(score), sync_score=float(sc.score), fused=None,
                                  alignment=alignment, matched_pairs=matched[:5], edit=edit,
                                  start_offset_s=float(edit.excerpts[0].music_in_s), sync=sc.to_dict(),
                                  stage=stage, reasons=reasons, downbeats_s=[float(x) for x in ev.downbeats_s],
                                  music_boundaries_s=[float(x) for x in ev.boundaries_s],
                                  fit_score=float(fit.fit) if fit is not None else float(sc.score),
                                  form=fit.form.to_dict() if fit is not None else {}, edit_mode=emode,
                                  beat_confidence=ev.confidence.to_dict())

        def metric_rec(tid, fit) -> Recommendation:
            t, ev = events[tid]
            sc, edit = fit.sync, fit.edit
            score, stage, matched, alignment, reasons = content_fields(tid, edit, ev.boundaries_s, False)
            reasons.insert(0, mode_reason(edit, ev))
            reasons.append("; ".join(fit.reasons))
            reasons.append(f"fit {fit.fit:+.2f}: form {fit.form.score:+.2f}, sync {sc.score:+.2f} (S_bar {sc.S_bar:.2f}, "
                           f"above random offsets of the same edit)")
            if ev.tempo_bpm:
                reasons.append(f"tempo {ev.tempo_bpm:.0f} BPM (bar {4 * 60 / ev.tempo_bpm:.2f} s) vs {len(va.cuts_s)} "
                               f"cut(s) in {va.duration_s:.0f} s")
            return make_rec(tid, edit, sc, reasons, score, stage, matched, alignment, "metric", fit)

        def free_rec(tid, emode) -> Recommendation:
            """Free time or a button (supervisor_app.edit.planner): onsets and phrase ends instead of bar lines."""
            t, ev = events[tid]
            if tid in content:
                apath = None if emode == "button" else content[tid][1].path  # a button plays once at the end
                edit = plan_edit(va.duration_s, va.boundaries_s, ev, path=apath, sync_points_s=sync_points_s, mode=emode)
                sc = score_edit(edit, va.cuts_s, va.cut_probs_25hz, ev, emode)
            else:
                apath = None
                off, edit, sc = fit_edit(va.duration_s, va.cuts_s, va.cut_probs_25hz, ev, sync_points_s=sync_points_s,
                                         mode=emode)
            # the same form penalties as the metric tracks, judged on the excerpts (repeats, ending, silence)
            fit = fit_free_time(edit, sc, ev.duration_s, ev.boundaries_s)
            score, stage, matched, alignment, reasons = content_fields(tid, edit, ev.boundaries_s, apath is not None)
            reasons.insert(0, mode_reason(edit, ev))
            if emode != "button" and tid not in content:
                reasons.append(f"fit: best start at {edit.excerpts[0].music_in_s:.1f} s of the track")
            reasons.append("; ".join(fit.reasons))
            reasons.append(f"fit: {sc.n_cuts_on_downbeat} cut(s) on a strong onset, S {sc.details.get('S', float('nan')):.2f}, "
                           f"{sc.score:+.2f} above random offsets of the same edit")
            reasons.append(f"fit {fit.fit:+.2f}: form {fit.form.score:+.2f}, sync {sc.score:+.2f}")
            return make_rec(tid, edit, sc, reasons, score, stage, matched, alignment, emode, fit)

        # fit only, a large catalog: a quick vectorised fit for every candidate, the planner for the best
        # (supervisor_app.ranking.search; every candidate is planned when there are few)
        plan_order, n_plan, buttons_later = candidates, n, []
        if loaded is None and not plan_all and n > n_planned(n, k):
            rprogress(0.45, f"scoring {n} candidates (quick fit)")
            plan_order, buttons_later = _quick_order(candidates, events, va, should_cancel)
            n_plan = n_planned(n, k)
            notes.append(f"{n} candidates were scored by a quick fit (played straight from their start or a phrase bar line "
                         f"against the picture's cuts, with the form's repeat, splice and late-start terms); the "
                         f"best {n_plan} were cut to the picture and are ranked by their fit, the others are not shown "
                         "(--plan-all cuts every one).")
        # the splice audibility and energy peak need the track's audio: what 'catalog index' stored of it at the
        # bar lines (edit.bar_splices) costs nothing to read, so every planned track with a table is planned
        # with it; the best of the others are re-planned below from their decoded audio
        n_audio = max(2 * k, k + 5) if audio_finalists is None else int(audio_finalists)
        from supervisor_app.edit.audibility import FEATURES_SR
        from supervisor_app.edit.bar_splices import OffGridSplice
        from supervisor_app.indexing.reads import stored_bar_splices

        heard: set[int] = set()  # planned with their stored tables

        def fit_metric(tid):
            table = stored_bar_splices(catalog, tid) if n_audio > 0 else None
            if table is not None:
                try:
                    fit = fit_one(tid, table, FEATURES_SR)
                    heard.add(tid)
                    return fit
                except OffGridSplice:
                    pass  # computed on other bar lines: planned without, re-planned from the audio if among the best
            return fit_one(tid)

        n_done = n_carrying = 0
        is_button_later = set(buttons_later)
        for idx, tid in enumerate(plan_order + buttons_later):
            if tid in is_button_later and n_carrying >= k:
                break  # buttons rank after tracks that carry the picture: only needed when fewer than k do
            if tid not in is_button_later and n_carrying >= n_plan:
                continue
            _check_cancel(should_cancel)
            t, ev = events[tid]
            if not Path(t.path).exists():  # vanished since the last scan: it could be ranked, never played
                leave_out(t, f"the file is missing ({t.path})")
                continue
            rprogress(0.5 + 0.4 * min(n_done, n_plan) / max(n_plan, 1), f"fitting {t.title or Path(t.path).name} to the picture")
            n_done += 1
            emode = edit_mode(ev, va.duration_s)
            try:
                if emode == "metric":
                    fit = fit_metric(tid)
                    if no_repeats and fit.form.stats["n_repeats"] > 0:
                        n_no_repeats += 1
                        continue
                    rec = metric_rec(tid, fit)
                else:
                    rec = free_rec(tid, emode)
                    if no_repeats and rec.form["stats"]["n_repeats"] > 0:
                        n_no_repeats += 1
                        continue
            except (UsageError, Cancelled):
                raise
            except (ValueError, AssertionError, AnalysisError) as e:  # a track whose events cannot be cut to this picture
                leave_out(t, f"it could not be cut to the picture ({e})")
                continue
            except SupervisorError as e:  # e.g. its audio cannot be decoded for free-time editing
                leave_out(t, f"it could not be cut to the picture: {e}")
                continue
            results.append(rec)
            n_carrying += int(rec.edit_mode != "button")
            rec.provisional = is_provisional
            if on_result:
                on_result(rec)
        if n_no_repeats:
            notes.append(f"{n_no_repeats} track(s) left out: they need a repeat to cover the picture (--no-repeats).")
        listened = ("how audible each splice is against the track's own bar lines"
                    + (", and where its energy peak falls against the picture's climax" if picture_climax_s is not None else ""))
        n_heard = sum(1 for r in results if r.track_id in heard)
        if n_heard:
            notes.append(f"{n_heard} track(s) were cut with their audio in mind ({listened}), from the features "
                         "'catalog index' stored at their bar lines.")
        # the best metric ones without a stored table are re-planned with their decoded audio
        if results and n_audio > 0 and not is_provisional:  # decoding waits for the final ranking
            from supervisor_app.edit.audibility import cached_track_features

            prelim = _ranking_key(results, loaded is not None, rank_by)
            order = [i for i in np.lexsort((np.arange(len(results)), -prelim)) if results[i].edit_mode == "metric"][:n_audio]
            order = [i for i in order if results[i].track_id not in heard]
            done = 0
            for pos, i in enumerate(order):
                _check_cancel(should_cancel)
                r = results[i]
                rprogress(0.9 + 0.1 * pos / max(len(order), 1), f"listening to the splices of {r.title}")
                try:  # the track's splice features, decoded once per track and stored by content hash
                    feats = cached_track_features(r.path, events[r.track_id][1].content_hash or None)
                    fit = fit_one(r.track_id, feats, FEATURES_SR)
                except (UsageError, Cancelled):
                    raise
                except Exception as e:  # noqa: BLE001 - an undecodable file keeps its structural fit
                    notes.append(f"{r.title}: its audio could not be read for the splice check ({e}).")
                    continue
                if no_repeats and fit.form.stats["n_repeats"] > 0:
                    continue
                results[i] = metric_rec(r.track_id, fit)
                done += 1
            if done:
                notes.append(f"The best {done} without stored bar-line features were re-planned with their decoded audio "
                             f"({listened}); run 'catalog index' to store those features, and no recommendation decodes "
                             "them again.")
        if excluded:
            notes.append(f"{len(excluded)} track(s) that pass the filters are not ranked:")
            notes.extend(f"left out {e.title}: {e.reason.rstrip('.')}." for e in excluded[:MAX_EXCLUSION_NOTES])
            if len(excluded) > MAX_EXCLUSION_NOTES:
                notes.append(f"... and {len(excluded) - MAX_EXCLUSION_NOTES} more (the result's 'excluded' lists them all).")
        if not results:
            raise EmptyCatalogError("track that can be cut to this picture",
                                    "; ".join(f"{e.title}: {e.reason}" for e in excluded[:3]) or "see the notes")
        n_buttons = sum(r.edit_mode == "button" for r in results)
        n_free = sum(r.edit_mode == "free-time" for r in results)
        if n_free:
            notes.append(f"{n_free} track(s) without a reliable bar grid are cut in free time (phrase ends, quiet "
                         "moments and onsets, 1.5 s crossfades); their form is judged on the excerpts (repeats, ending), "
                         "without bar lines or splice audibility.")
        if n_buttons:
            notes.append(f"{n_buttons} short track(s) are placed as a button ending the picture and ranked after the "
                         "tracks that carry the whole picture.")
        key = _ranking_key(results, loaded is not None, rank_by)
        is_button = np.array([r.edit_mode == "button" for r in results], dtype=int)
        order = np.lexsort((np.arange(len(results)), -key, is_button))[:k]
        final = [results[i] for i in order]
        for rank, r in enumerate(final, start=1):
            r.rank = rank
        rprogress(1.0, "done")
        return RecommendationResult(video=va.to_dict(), mode=mode, model=loaded.card.name if loaded else None,
                                    distance=distance if loaded is not None else None, rank_by=rank_by,
                                    results=final, notes=notes, n_candidates=len(candidates), excluded=excluded)

    if picture is not None:
        if loaded is not None:
            raise UsageError("A ranking on a given picture analysis is fit-only (no --model).")
        return rank(picture, on_result, bool(getattr(picture, "provisional", False)), 0.3)
    va, p0 = None, 0.3
    if provisional and loaded is None and video_seg == "shots" and (on_result is not None or on_provisional is not None):
        va, p0 = _provisional_then_final(video, rank, on_result, progress, should_cancel,
                                         on_provisional), PROVISIONAL_SPAN[2]
    if va is None:
        progress(0.0, "analysing the video")
        va, p0 = analyze_video(video, segmentation=video_seg, should_cancel=should_cancel,
                               progress=sub_progress(progress, 0.0, 0.3)), 0.3
    _check_cancel(should_cancel)
    return rank(va, on_result, False, p0)



def pair_alignment(video, catalog, track_id: int, model, distance: str = "nw-dtw"):
    """The alignment ``recommend`` computes for one (video, catalog track) pair with a Seg-VM-Net model:
    ``(path [(i_music, j_video)], video_boundaries_s)``; the mockup uses it to cut exactly as recommended."""
    from supervisor_app.indexing.keys import model_embedding_key
    from supervisor_app.segvmnet.vmnet import embed_vectors
    from supervisor_app.ranking import align
    from supervisor_app.services.video_analysis import analyze_video, video_segment_features

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


def recommend_for_brief(video, catalog, brief: str | None = None, *, filters: Filters | None = None,
                        on_brief: Callable[[str], None] | None = None, **options):
    """:func:`recommend`, fitting only the tracks that fit ``brief`` when one is given (the same candidates and
    rights as ``search`` ranks them: :func:`supervisor_app.briefs.search.brief_candidates`); the entry point of
    ``recommend [--brief]`` and the app's recommendations. ``on_brief(line)`` hears what the brief was
    understood as before the ranking starts. ``options`` are :func:`recommend`'s. Returns
    ``(RecommendationResult, brief line or None)``."""
    exclude, line = list(options.pop("exclude_track_ids", ()) or ()), None
    if brief:
        from supervisor_app.briefs.search import brief_candidates

        ex, filters, line = brief_candidates(catalog, brief, filters)
        exclude += ex
        if on_brief is not None:
            on_brief(line)
    return recommend(video, catalog, filters=filters, exclude_track_ids=exclude, **options), line
