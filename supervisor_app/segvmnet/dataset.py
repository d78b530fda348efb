"""A folder of audio-visual clips → per-clip 1 Hz features of both modalities + segment boundaries.

Each clip (a video file with its own soundtrack) becomes a :class:`ClipData`: music frames from the
soundtrack and video frames, both at 1 Hz from the frozen extractors (frame k covers [k, k+1) s), and
the boundaries of one segmentation S computed on one modality and applied to both (thesis §7.1.2):
music structure (``olda``, ``foote``, ``sf``: MSAF on the soundtrack) or shots (``shots``: TransNetV2
cuts on the picture). ``none`` keeps the whole clip as one segment (clip-level VM-Net).
A segment's feature is the mean of the 1 Hz frames whose window centre lies inside it.

:func:`build_dataset` does this for every clip of a folder with progress, a per-clip cache keyed by
content hash + segmentation + extractor versions (so an interrupted run resumes where it stopped), and a
process pool over files when ``workers > 1``.
"""
from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from supervisor_app.infra import errors, fileio, paths
from supervisor_app.infra.jobs import Cancelled, ProgressFn, count_progress
from supervisor_app.features.segments import _frame_indices, segment_means

MUSIC_SEGMENTATIONS = ("olda", "foote", "sf")
SEGMENTATIONS = MUSIC_SEGMENTATIONS + ("shots",)
MIN_SEGMENT_S = 1.0  # features are 1 Hz: a shorter segment has no frame of its own
CACHE_FORMAT = 1



@dataclass
class ClipData:
    """One audio-visual clip: 1 Hz features of both modalities and its segment boundaries (seconds)."""

    clip_id: str
    music_frames: np.ndarray  # (T, d_music) float32
    video_frames: np.ndarray  # (T, d_video) float32
    times_s: np.ndarray  # (T,) centre of each 1 s frame window
    boundaries_s: np.ndarray  # (K + 1,) from 0 to duration_s, increasing
    duration_s: float
    segmentation: str = "none"
    name: str = ""

    def __post_init__(self):
        self.music_frames = np.ascontiguousarray(self.music_frames, dtype=np.float32)
        self.video_frames = np.ascontiguousarray(self.video_frames, dtype=np.float32)
        self.times_s = np.asarray(self.times_s, dtype=np.float64)
        self.boundaries_s = np.asarray(self.boundaries_s, dtype=np.float64)
        if not (len(self.music_frames) == len(self.video_frames) == len(self.times_s)) or len(self.times_s) == 0:
            raise ValueError("music_frames, video_frames and times_s must have the same non-zero length")
        if self.boundaries_s.ndim != 1 or len(self.boundaries_s) < 2 or np.any(np.diff(self.boundaries_s) <= 0):
            raise ValueError("boundaries_s must hold at least two increasing times")

    @property
    def n_segments(self) -> int:
        return len(self.boundaries_s) - 1

    def spans(self) -> list[tuple[float, float]]:
        """(start_s, end_s) of every segment, in order."""
        b = self.boundaries_s
        return [(float(b[i]), float(b[i + 1])) for i in range(len(b) - 1)]

    def segment_features(self) -> tuple[np.ndarray, np.ndarray]:
        """Segment means (K, d_music) and (K, d_video)."""
        spans = self.spans()
        return (segment_means(self.music_frames, self.times_s, spans),
                segment_means(self.video_frames, self.times_s, spans))

    def frames_in(self, spans: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Music and video frames whose centres lie in ``spans``, concatenated in span order (repeats kept)."""
        idx = np.concatenate([_frame_indices(self.times_s, s, e) for s, e in spans]) if spans else np.zeros(0, int)
        return self.music_frames[idx], self.video_frames[idx]


def normalize_boundaries(cuts_s, duration_s: float, min_segment_s: float = MIN_SEGMENT_S) -> np.ndarray:
    """Boundaries [0, …, duration_s] from raw cut/boundary times: sorted, de-duplicated, inside (0, d),
    and no segment shorter than ``min_segment_s`` (a too-short segment is merged into its neighbour)."""
    d = float(duration_s)
    if d <= 0:
        raise ValueError("duration_s must be positive")
    c = np.unique(np.asarray(cuts_s, dtype=np.float64).reshape(-1))
    c = c[(c > 0) & (c < d)]
    out = [0.0]
    for t in c:
        if t - out[-1] >= min_segment_s:
            out.append(float(t))
    if len(out) > 1 and d - out[-1] < min_segment_s:
        out.pop()
    out.append(d)
    return np.asarray(out, dtype=np.float64)


# --------------------------------------------------------------------------- extraction
@dataclass(frozen=True)
class ExtractorSpec:
    """Name, version and dimension of the extractor used for one modality."""

    name: str
    version: str
    dim: int

    def to_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "dim": self.dim}


def extractor_spec(name: str) -> ExtractorSpec:
    """Look the extractor up in the registry (raises the registry's clear errors when unusable)."""
    from supervisor_app.features import get_extractor

    ex = get_extractor(name)
    return ExtractorSpec(ex.name, str(ex.version), int(ex.dim))


def compute_boundaries(path: str | Path, segmentation: str, duration_s: float) -> np.ndarray:
    """Segment boundaries of one clip with the segmentation S (computed on one modality)."""
    if segmentation == "none":
        return normalize_boundaries([], duration_s)
    if segmentation == "shots":
        from supervisor_app.analysis.report import cached_shots  # by content hash, like every other path

        return normalize_boundaries(cached_shots(path).cuts_s, duration_s)
    if segmentation in MUSIC_SEGMENTATIONS:
        from supervisor_app.analysis.segments import music_segments

        res = music_segments(path, algorithms=(segmentation,))
        return normalize_boundaries(res[segmentation].boundaries_s, duration_s)
    raise errors.UsageError(
        f"Unknown segmentation {segmentation!r}: choose one of {', '.join(SEGMENTATIONS)} (or none).")


def extract_clip(path: str | Path, segmentation: str, audio_extractor: str, video_extractor: str,
                 clip_id: str | None = None) -> ClipData:
    """Features (both modalities, 1 Hz) and segments of one audio-visual clip file."""
    from supervisor_app.features import extract_cached
    from supervisor_app.infra.hashing import content_hash
    from supervisor_app.media import probe

    path = Path(path)
    info = probe(path)
    if not info.has_video:
        raise errors.NoVideoStreamError(path)
    if not info.has_audio:
        raise errors.NoAudioStreamError(path)
    a = extract_cached(audio_extractor, path, content_hash=clip_id)
    v = extract_cached(video_extractor, path, content_hash=clip_id)
    t = min(len(a.frames), len(v.frames))
    if t == 0:
        raise errors.AnalysisError(f"No features could be extracted from {path.name!r}.")
    duration = float(min(info.duration_s, max(a.times_s[t - 1], v.times_s[t - 1]) + 0.5))
    boundaries = compute_boundaries(path, segmentation, duration)
    return ClipData(clip_id or content_hash(path), a.frames[:t], v.frames[:t], a.times_s[:t], boundaries,
                    duration, segmentation, path.name)


# --------------------------------------------------------------------------- cache
def default_cache_dir() -> Path:
    return paths.cache_dir() / "training-clips"


def _cache_path(cache_dir: Path, clip_id: str, segmentation: str, audio: ExtractorSpec, video: ExtractorSpec) -> Path:
    key = f"{CACHE_FORMAT}|{segmentation}|{audio.name}@{audio.version}|{video.name}@{video.version}"
    tag = hashlib.sha1(key.encode()).hexdigest()[:12]
    return Path(cache_dir) / f"{clip_id[:40]}-{segmentation}-{tag}.npz"


def save_clip(path: Path, clip: ClipData) -> None:
    """Write a clip atomically as .npz."""
    buf = io.BytesIO()
    np.savez(buf, clip_id=np.array(clip.clip_id), name=np.array(clip.name), segmentation=np.array(clip.segmentation),
             music_frames=clip.music_frames, video_frames=clip.video_frames, times_s=clip.times_s,
             boundaries_s=clip.boundaries_s, duration_s=np.array(clip.duration_s))
    fileio.atomic_write_bytes(path, buf.getvalue())


def load_clip(path: Path) -> ClipData | None:
    """A clip saved by :func:`save_clip`, or None if missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return ClipData(str(z["clip_id"]), z["music_frames"], z["video_frames"], z["times_s"], z["boundaries_s"],
                            float(z["duration_s"]), str(z["segmentation"]), str(z["name"]))
    except (OSError, ValueError, KeyError, EOFError):
        return None


# --------------------------------------------------------------------------- folder
def list_clip_files(clips_dir: str | Path) -> list[Path]:
    """Video files under ``clips_dir`` (recursive, sorted). Raises if the folder is missing or has none."""
    from supervisor_app.media import VIDEO_EXTENSIONS

    d = Path(clips_dir)
    if not d.is_dir():
        raise errors.UsageError(f"The clips folder {str(d)!r} does not exist or is not a folder.")
    files = sorted(p for p in d.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
                   and not p.name.startswith("."))
    if not files:
        raise errors.UsageError(
            f"The folder {str(d)!r} holds no video files ({', '.join(sorted(VIDEO_EXTENSIONS))}).")
    return files


@dataclass
class DatasetResult:
    """Clips that could be used, files that could not (with the reason), and the extractors used."""

    clips: list[ClipData]
    failures: list[tuple[str, str]] = field(default_factory=list)
    audio: ExtractorSpec | None = None
    video: ExtractorSpec | None = None
    segmentation: str = "none"
    n_from_cache: int = 0

    @property
    def total_duration_s(self) -> float:
        return float(sum(c.duration_s for c in self.clips))


def _worker_init(n_threads: int) -> None:
    try:
        import torch

        torch.set_num_threads(max(1, n_threads))
    except Exception:  # torch missing in the worker is not fatal for extraction
        pass


def _extract_job(path: str, segmentation: str, audio: str, video: str, clip_id: str, cache_file: str):
    clip = extract_clip(path, segmentation, audio, video, clip_id=clip_id)
    save_clip(Path(cache_file), clip)
    return clip


def build_dataset(clips_dir: str | Path, segmentation: str = "olda", audio_extractor: str | None = None,
                  video_extractor: str | None = None, workers: int | None = None,
                  cache_dir: str | Path | None = None, progress: ProgressFn | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> DatasetResult:
    """Features + segments of every clip in ``clips_dir`` (cached per clip; resumable; parallel over files).

    Extractors default to the registry's defaults. ``workers``: processes for the files not cached yet (default: half the CPU cores, at least 1;
    1 runs in this process). A file that cannot be used (no soundtrack, damaged, …) is reported in
    ``failures`` and skipped; if no clip at all is usable an :class:`errors.AnalysisError` is raised.
    ``should_cancel()`` is polled between files and raises :class:`~supervisor_app.infra.jobs.Cancelled` (finished clips
    stay cached, so the next run resumes).
    """
    from supervisor_app.features import DEFAULT_AUDIO, DEFAULT_VIDEO
    from supervisor_app.infra.hashing import content_hash

    audio_extractor = audio_extractor or DEFAULT_AUDIO
    video_extractor = video_extractor or DEFAULT_VIDEO
    if segmentation not in SEGMENTATIONS + ("none",):
        raise errors.UsageError(
            f"Unknown segmentation {segmentation!r}: choose one of {', '.join(SEGMENTATIONS)}.")
    files = list_clip_files(clips_dir)
    a_spec, v_spec = extractor_spec(audio_extractor), extractor_spec(video_extractor)
    if _modality_of(audio_extractor) != "audio":
        raise errors.UsageError(f"{audio_extractor!r} is not an audio feature extractor.")
    if _modality_of(video_extractor) != "video":
        raise errors.UsageError(f"{video_extractor!r} is not a video feature extractor.")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    total = len(files)
    result = DatasetResult([], [], a_spec, v_spec, segmentation)
    by_path: dict[str, ClipData] = {}
    todo = []
    done = 0
    for f in files:
        try:
            cid = content_hash(f)
        except errors.SupervisorError as e:
            result.failures.append((str(f), str(e)))
            done += 1
            count_progress(progress, done, total, f"{f.name} could not be used")
            continue
        cfile = _cache_path(cache, cid, segmentation, a_spec, v_spec)
        clip = load_clip(cfile)
        if clip is not None:
            by_path[str(f)] = clip
            result.n_from_cache += 1
            done += 1
            count_progress(progress, done, total, f"{f.name} (cached)")
        else:
            todo.append((f, cid, cfile))
    if workers is None:
        workers = max(1, (os.cpu_count() or 1) // 2)
    workers = max(1, min(int(workers), len(todo))) if todo else 1

    def record_failure(f: Path, e: BaseException):
        msg = str(e) if isinstance(e, errors.SupervisorError) else f"{type(e).__name__}: {e}"
        result.failures.append((str(f), msg))

    if workers == 1:
        for f, cid, cfile in todo:
            if should_cancel is not None and should_cancel():
                raise Cancelled("Preparing the training clips")
            try:
                by_path[str(f)] = _extract_job(str(f), segmentation, audio_extractor, video_extractor, cid, str(cfile))
                status = "done"
            except Cancelled:
                raise
            except Exception as e:  # one bad file must not stop a long run; it is reported
                record_failure(f, e)
                status = "failed"
            done += 1
            count_progress(progress, done, total, f"{f.name} ({status})")
    else:
        import multiprocessing as mp

        threads = max(1, (os.cpu_count() or 1) // workers)
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                 initializer=_worker_init, initargs=(threads,)) as pool:
            futs = {pool.submit(_extract_job, str(f), segmentation, audio_extractor, video_extractor, cid, str(cfile)): f
                    for f, cid, cfile in todo}
            for fut in as_completed(futs):
                if should_cancel is not None and should_cancel():
                    for other in futs:
                        other.cancel()
                    raise Cancelled("Preparing the training clips")
                f = futs[fut]
                try:
                    by_path[str(f)] = fut.result()
                    status = "done"
                except Exception as e:
                    record_failure(f, e)
                    status = "failed"
                done += 1
                count_progress(progress, done, total, f"{f.name} ({status})")
    # keep the folder's order; identical files (same content) count once
    seen = set()
    for f in files:
        clip = by_path.get(str(f))
        if clip is not None and clip.clip_id not in seen:
            seen.add(clip.clip_id)
            clip.name = clip.name or f.name
            result.clips.append(clip)
    if not result.clips:
        first = result.failures[0][1] if result.failures else "no file could be read"
        raise errors.AnalysisError(f"None of the {total} clips in {str(clips_dir)!r} could be used (first problem: {first}).")
    return result


def _modality_of(name: str) -> str:
    from supervisor_app.features import get_extractor

    return str(get_extractor(name).modality)


# --------------------------------------------------------------------------- split
def split_clips(clips: Sequence[ClipData], val_fraction: float = 0.2, seed: int = 0):
    """Deterministic train/validation split *by clip* (no clip on both sides): (train, val).

    At least 2 validation clips and 2 training clips; raises :class:`errors.UsageError` for fewer than
    4 clips.
    """
    n = len(clips)
    if n < 4:
        raise errors.UsageError(f"Training needs at least 4 usable clips (with picture and soundtrack); found {n}.")
    if not 0.0 < val_fraction < 1.0:
        raise errors.UsageError("The validation fraction must be between 0 and 1.")
    order = sorted(range(n), key=lambda i: hashlib.sha1(f"{seed}|{clips[i].clip_id}".encode()).hexdigest())
    n_val = min(n - 2, max(2, int(round(val_fraction * n))))
    val_idx = set(order[:n_val])
    train = [c for i, c in enumerate(clips) if i not in val_idx]
    val = [c for i, c in enumerate(clips) if i in val_idx]
    return train, val
