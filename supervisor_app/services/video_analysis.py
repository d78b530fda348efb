"""Analysis of a query video, cached by content hash: shots and cut curve, and (for a trained model)
its segment features. Query videos are not catalog tracks, so results live in the app's cache."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import numpy as np

from supervisor_app.infra.cache import AnalysisCache
from supervisor_app.infra.hashing import content_hash
from supervisor_app.infra.jobs import ProgressFn, ShouldCancel, as_progress, check_cancelled, sub_progress
from supervisor_app.media import probe


@dataclass
class QueryVideoAnalysis:
    """What the core knows of a query video (shots, cut curve, matching segments; seconds). The GUI's
    timeline record is :class:`supervisor_app.gui.backend.VideoAnalysis`, built from this one."""

    path: str
    content_hash: str
    duration_s: float
    fps: float
    cuts_s: list[float]
    shots: list[tuple[float, float]]
    cut_probs_25hz: np.ndarray
    boundaries_s: np.ndarray  # the video segments used for matching: [0, ..., duration]
    segmentation: str = "shots"
    notes: list[str] = field(default_factory=list)
    provisional: bool = False  # cuts from a quick pass (provisional_analysis), to be replaced by TransNetV2's

    def to_dict(self) -> dict:
        return {"path": self.path, "duration_s": self.duration_s, "fps": self.fps, "cuts_s": list(self.cuts_s),
                "shots": [list(s) for s in self.shots], "segmentation": self.segmentation,
                "boundaries_s": [float(b) for b in self.boundaries_s],
                "cut_curve": {"rate_hz": 25.0, "values": [round(float(v), 4) for v in self.cut_probs_25hz]}}


def analyze_video(path: str | Path, *, threshold: float = 0.5, segmentation: str = "shots",
                  progress: ProgressFn | None = None, should_cancel: ShouldCancel | None = None,
                  cache: AnalysisCache | None = None, partial=None, decoded=None) -> QueryVideoAnalysis:
    """Shots (TransNetV2, cached) and the matching segments of a query video.

    ``segmentation``: ``shots`` (default, works for any cut) or an MSAF algorithm (olda|foote|sf) run on
    the video's own soundtrack, as the thesis did for music videos; without a soundtrack the shots are
    used and a note says so. ``partial(shot_result_so_far)`` (optional) follows the shot detection.
    ``decoded``: the picture as :func:`decode_for_provisional` decoded it (the shots are then computed
    from those frames: the same result, without decoding again).
    """
    from supervisor_app.analysis import versions
    from supervisor_app.analysis.video_segments import segments_from_boundaries, segments_from_shots

    path = Path(path)
    info = probe(path)
    if not info.has_video:
        from supervisor_app.infra.errors import NoVideoStreamError

        raise NoVideoStreamError(path)
    from supervisor_app.analysis.report import cached_shots
    from supervisor_app.media.picture import check_picture, no_cuts_note

    check_picture(path, info.duration_s)  # hours of picture: refused now, not after minutes of shot detection

    cache = cache or AnalysisCache()
    h = decoded.content_hash if decoded is not None and decoded.content_hash else content_hash(path)
    shots = cached_shots(path, threshold, cache=cache, content_hash=h, should_cancel=should_cancel,
                         progress=sub_progress(progress, 0.0, 1.0 if segmentation == "shots" else 0.9),
                         decoded=decoded, **({"partial": partial} if partial else {}))
    notes = list(info.warnings)
    if no_cuts_note(len(shots.cuts_s), shots.duration_s):
        notes.append(no_cuts_note(len(shots.cuts_s), shots.duration_s))
    seg = segmentation
    bounds = np.asarray(segments_from_shots(shots), dtype=float)
    if segmentation != "shots":
        if not info.has_audio:
            notes.append(f"The video has no soundtrack, so its shots were used instead of {segmentation}.")
            seg = "shots"
        else:
            from supervisor_app.analysis.segments import music_segments

            skey = (versions.SEGMENTS, versions.segments_version(segmentation))
            got = cache.get(h, *skey)
            if got is None:
                as_progress(progress)(0.9, f"{segmentation} sections of the soundtrack")
                check_cancelled(should_cancel, "The video analysis")
                res = music_segments(path, algorithms=(segmentation,))[segmentation]
                got = res.to_dict()
                cache.put(h, *skey, got)
            bounds = np.asarray(segments_from_boundaries(got["boundaries_s"], shots.duration_s), dtype=float)
            as_progress(progress)(1.0, "video analysed")
    return _analysis(path, h, shots, bounds, seg, notes)


def _analysis(path: Path, content_hash_: str, shots, bounds, segmentation: str, notes: list[str]) -> QueryVideoAnalysis:
    return QueryVideoAnalysis(path=str(path), content_hash=content_hash_, duration_s=float(shots.duration_s),
                              fps=float(shots.fps), cuts_s=[float(c) for c in shots.cuts_s],
                              shots=[(float(a), float(b)) for a, b in shots.shots],
                              cut_probs_25hz=np.asarray(shots.cut_probs_25hz, dtype=np.float32),
                              boundaries_s=np.asarray(bounds, dtype=float), segmentation=segmentation, notes=notes)


PROVISIONAL_NOTE = ("Provisional: the picture's cuts come from a quick frame-difference pass; TransNetV2's shot "
                    "detection replaces them when it has run.")


def decode_for_provisional(path: str | Path, *, threshold: float = 0.5, progress: ProgressFn | None = None,
                           should_cancel: ShouldCancel | None = None, cache: AnalysisCache | None = None):
    """The picture decoded for a provisional ranking (:class:`~supervisor_app.analysis.shots.DecodedPicture`),
    or ``None`` when there is no point: its shots are cached already (the real ranking is as quick), or it
    is too long to hold in memory (it then streams through shot detection as before). Loads the shot
    network meanwhile, so the later :func:`analyze_video` with ``decoded=`` starts at once."""
    from supervisor_app.analysis.report import stored_shots
    from supervisor_app.analysis.shots import decode_picture
    from supervisor_app.media.picture import check_picture

    path = Path(path)
    info = probe(path)
    if not info.has_video:
        from supervisor_app.infra.errors import NoVideoStreamError

        raise NoVideoStreamError(path)
    check_picture(path, info.duration_s)
    h = content_hash(path)
    if stored_shots(path, threshold, cache=cache or AnalysisCache(), content_hash=h) is not None:
        return None
    decoded = decode_picture(path, progress=progress, should_cancel=should_cancel)
    if decoded is not None:
        decoded.content_hash = h
    return decoded


def provisional_analysis(decoded, *, threshold: float = 0.5) -> QueryVideoAnalysis:
    """A provisional analysis of a decoded picture: cuts from :func:`supervisor_app.analysis.shots.quick_shots`
    (milliseconds), segmented by those shots; its notes say it is provisional. Nothing is cached."""
    from supervisor_app.analysis.shots import quick_shots
    from supervisor_app.analysis.video_segments import segments_from_shots

    shots = quick_shots(decoded, threshold)
    path = Path(decoded.path)
    h = decoded.content_hash or content_hash(path)
    va = _analysis(path, h, shots, segments_from_shots(shots), "shots", [PROVISIONAL_NOTE])
    va.provisional = True
    return va


def with_provisional_rest(partial_curve_25hz, partial_cuts_s, provisional_curve_25hz, provisional_cuts_s,
                          duration_s: float) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float]], float]:
    """The shot detection so far, completed by the provisional (quick-cut) analysis beyond it, for a timeline
    that shows the whole picture at once and its final cuts as they come: ``(curve_25hz, cuts_s, shots_s,
    done_s)``, where ``done_s`` is where the detection has reached (what follows it is provisional)."""
    part = np.asarray(partial_curve_25hz, dtype=np.float32).ravel()
    quick = np.asarray(provisional_curve_25hz, dtype=np.float32).ravel()
    done_s = min(part.size / 25.0, float(duration_s))
    curve = np.concatenate([part, quick[part.size:]])
    before = np.asarray(partial_cuts_s, dtype=float).ravel()
    after = np.asarray(provisional_cuts_s, dtype=float).ravel()
    cuts = np.concatenate([before[before < done_s], after[after >= done_s]])
    from supervisor_app.analysis.shots import shots_from_cuts

    return curve, cuts, shots_from_cuts([float(c) for c in cuts], float(duration_s)), done_s


def video_segment_features(analysis: QueryVideoAnalysis, extractor: str) -> np.ndarray:
    """(K, d) mean of the video's 1 Hz frame features inside each matching segment."""
    from supervisor_app.features import extract_cached
    from supervisor_app.features.segments import segment_means

    fr = extract_cached(extractor, analysis.path)
    b = analysis.boundaries_s
    return segment_means(fr.frames, fr.times_s, list(zip(b[:-1], b[1:])))
