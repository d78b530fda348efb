"""Archive pairs → training clips (:class:`~supervisor_app.segvmnet.dataset.ClipData`).

Music: the pair's clean music stem is rendered from the music file exactly as the timeline plays it
(each piece from its source in point, at its speed, in its place; silence in gaps), and the audio
extractor runs on that stem. Speed: a piece at speed ``s`` is decoded at ``sr / s`` Hz and played at
``sr`` (varispeed: tempo and pitch change together, as an NLE's plain speed change does).

Picture: the video extractor runs once per picture file (cached by content hash), and each 1 Hz frame
of the pair takes the feature of the picture file's frame shown at that moment of the timeline (the
top-most video clip, through its in point and speed); a hole in the picture holds the nearest frame.

Segmentation S (the same options as ``train --clips``): ``olda``/``foote``/``sf`` on the music stem;
``shots``: the timeline's own picture edits plus the TransNetV2 cuts inside each picture clip.
Every pair's clip is cached (key: pair content + segmentation + extractor versions), so an interrupted
run resumes where it stopped and a second training reads features from disk.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from supervisor_app.infra import errors, paths
from supervisor_app.infra.jobs import Cancelled, ProgressFn, count_progress
from supervisor_app.archive import store
from supervisor_app.archive.timeline import Piece

STEM_SR = 22050
STEM_FORMAT = 1


def render_music_stem(music_path: str | Path, pieces: Sequence[Piece], start_s: float, duration_s: float,
                      out_path: str | Path | None = None, sr: int = STEM_SR) -> np.ndarray:
    """The music of ``pieces`` over ``[start_s, start_s + duration_s]`` of the timeline, mono float32 at
    ``sr``; written as a 16-bit WAV to ``out_path`` (atomic) when given."""
    from supervisor_app.media import load_audio

    n_total = int(round(duration_s * sr))
    out = np.zeros(n_total, dtype=np.float32)
    for p in pieces:
        a = int(round((p.record_start_s - start_s) * sr))
        b = int(round((p.record_end_s - start_s) * sr))
        a, b = max(a, 0), min(b, n_total)
        if b <= a:
            continue
        n = b - a
        rate = int(round(sr / p.speed)) if p.speed != 1.0 else sr
        x = load_audio(music_path, sr=max(rate, 1000), offset_s=max(0.0, p.source_in_s),
                       duration_s=n / sr * p.speed + 0.05)
        x = x[:n]
        out[a:a + len(x)] = x
    if out_path is not None:
        import soundfile as sf

        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_path.with_name("." + out_path.name + ".tmp.wav")
        try:
            sf.write(str(tmp), out, sr, subtype="PCM_16", format="WAV")
            tmp.replace(out_path)
        finally:
            if tmp.exists():
                tmp.unlink()
    return out


def stem_key(music_hash: str, pair: store.ArchivePair, sr: int = STEM_SR) -> str:
    """Content key of a pair's rendered stem (its music file, pieces and span)."""
    m = [(round(p.record_start_s - pair.start_s, 4), round(p.record_end_s - pair.start_s, 4), round(p.source_in_s, 4),
          round(p.speed, 5)) for p in pair.music]
    return hashlib.sha256(repr((STEM_FORMAT, music_hash, m, round(pair.duration_s, 4), sr)).encode()).hexdigest()


def _piece_at(pieces: Sequence[Piece], t: float) -> Piece:
    for p in pieces:
        if p.record_start_s <= t < p.record_end_s:
            return p
    return min(pieces, key=lambda p: min(abs(t - p.record_start_s), abs(t - p.record_end_s)))


def picture_frames(pair: store.ArchivePair, frames_by_media: dict[int, tuple[np.ndarray, np.ndarray]],
                   times_s: np.ndarray) -> np.ndarray:
    """(T, d) video features of the picture at ``times_s`` (relative to the pair start)."""
    out = []
    for t in times_s:
        rec = pair.start_s + float(t)
        p = _piece_at(pair.picture, rec)
        src = p.source_time(min(max(rec, p.record_start_s), p.record_end_s))
        frames, ft = frames_by_media[int(p.media)]
        out.append(frames[int(np.argmin(np.abs(ft - src)))])
    return np.stack(out).astype(np.float32)


def picture_edit_points(pair: store.ArchivePair) -> list[float]:
    """Times (s from the pair start) where the timeline's picture changes clip or jumps in its source."""
    out = []
    ps = sorted(pair.picture, key=lambda p: p.record_start_s)
    for a, b in zip(ps[:-1], ps[1:]):
        continuous = a.media == b.media and abs(a.source_out_s - b.source_in_s) < 0.02 and a.speed == b.speed
        if not continuous:
            out.append(b.record_start_s - pair.start_s)
    return out


def picture_cuts(cat, pair: store.ArchivePair, media: dict, should_cancel=None) -> list[float]:
    """The picture's cuts (s from the pair start): timeline edit points plus TransNetV2 shots in each clip."""
    from supervisor_app.analysis.report import cached_shots

    cuts = list(picture_edit_points(pair))
    for p in pair.picture:
        m = media[int(p.media)]
        r = cached_shots(m.path, content_hash=m.content_hash, should_cancel=should_cancel)
        for c in r.cuts_s:
            if p.source_in_s < c < p.source_out_s:
                cuts.append(p.record_start_s + (c - p.source_in_s) / p.speed - pair.start_s)
    return sorted(set(round(c, 3) for c in cuts if 0 < c < pair.duration_s))


@dataclass
class PairDataset:
    """Clips of the usable pairs (clip_id = pair key), pairs that could not be used, extractor specs."""

    clips: list
    pair_of_clip: dict  # clip_id -> pair id
    failures: list = field(default_factory=list)  # (pair label, reason)
    audio: object = None
    video: object = None
    segmentation: str = "olda"
    n_from_cache: int = 0


def _check_media(m: store.ArchiveMedia) -> None:
    if not Path(m.path).is_file():
        raise errors.FileMissingError(m.path)


def pair_clip(cat, pair: store.ArchivePair, media: dict, segmentation: str, audio_extractor: str,
              video_extractor: str, should_cancel=None):
    """One pair's :class:`ClipData` (features of both modalities at 1 Hz and boundaries of S)."""
    from supervisor_app.features import extract_cached
    from supervisor_app.segvmnet.dataset import ClipData, normalize_boundaries

    m = media[pair.music_media_id]
    _check_media(m)
    for i in pair.picture_media_ids():
        _check_media(media[i])
    n = int(np.floor(pair.duration_s))
    if n < 1:
        raise errors.AnalysisError(f"The pair {pair.label!r} is shorter than one second.")
    times = np.arange(n) + 0.5
    tmp = Path(tempfile.mkdtemp(prefix="archive-stem-", dir=paths.cache_dir()))
    try:
        skey = stem_key(m.content_hash, pair)
        stem = tmp / "stem.wav"
        render_music_stem(m.path, pair.music, pair.start_s, pair.duration_s, stem)
        a = extract_cached(audio_extractor, stem, content_hash=skey, should_cancel=should_cancel)
        fa = np.asarray(a.frames, np.float32)
        if len(fa) == 0:
            raise errors.AnalysisError(f"No audio features for {pair.label!r}.")
        idx = np.minimum(np.searchsorted(np.asarray(a.times_s), times - 0.5), len(fa) - 1)
        music = fa[idx]
        fbm = {}
        for i in pair.picture_media_ids():
            v = extract_cached(video_extractor, media[i].path, content_hash=media[i].content_hash,
                               should_cancel=should_cancel)
            if len(v.frames) == 0:
                raise errors.AnalysisError(f"No video features for {Path(media[i].path).name!r}.")
            fbm[i] = (np.asarray(v.frames, np.float32), np.asarray(v.times_s, float))
        video = picture_frames(pair, fbm, times)
        if segmentation == "none":
            cuts: list[float] = []
        elif segmentation == "shots":
            cuts = picture_cuts(cat, pair, media, should_cancel)
        else:
            from supervisor_app.analysis.segments import music_segments

            res = music_segments(str(stem), algorithms=(segmentation,))
            cuts = list(res[segmentation].boundaries_s)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ClipData(pair.pair_key, music, video, times, normalize_boundaries(cuts, float(n)), float(n),
                    segmentation, pair.label)


def build_pair_dataset(cat, pairs: Sequence[store.ArchivePair], segmentation: str, audio_extractor: str | None = None,
                       video_extractor: str | None = None, cache_dir: str | Path | None = None,
                       progress: ProgressFn | None = None, should_cancel=None) -> PairDataset:
    """Clips of ``pairs`` (cached per pair; resumable). A pair whose media are missing or cannot be
    analysed is reported in ``failures`` and skipped."""
    from supervisor_app.features import DEFAULT_AUDIO, DEFAULT_VIDEO
    from supervisor_app.segvmnet.dataset import (
        SEGMENTATIONS,
        _cache_path,
        default_cache_dir,
        extractor_spec,
        load_clip,
        save_clip,
    )

    audio_extractor = audio_extractor or DEFAULT_AUDIO
    video_extractor = video_extractor or DEFAULT_VIDEO
    if segmentation not in SEGMENTATIONS + ("none",):
        raise errors.UsageError(f"Unknown segmentation {segmentation!r}: choose one of {', '.join(SEGMENTATIONS)}.")
    a_spec, v_spec = extractor_spec(audio_extractor), extractor_spec(video_extractor)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir().parent / "archive-pairs"
    cache.mkdir(parents=True, exist_ok=True)
    media = {m.id: m for m in store.all_media(cat)}
    ds = PairDataset([], {}, [], a_spec, v_spec, segmentation)
    for k, p in enumerate(pairs):
        if should_cancel is not None and should_cancel():
            raise Cancelled("Preparing the archive")
        cfile = _cache_path(cache, p.pair_key, segmentation, a_spec, v_spec)
        clip = load_clip(cfile)
        status = "cached"
        if clip is None:
            try:
                clip = pair_clip(cat, p, media, segmentation, audio_extractor, video_extractor, should_cancel)
                save_clip(cfile, clip)
                status = "done"
            except Cancelled:
                raise
            except Exception as e:  # one bad pair must not stop a long run; it is reported
                msg = str(e) if isinstance(e, errors.SupervisorError) else f"{type(e).__name__}: {e}"
                ds.failures.append((p.label or str(p.id), msg))
                status = "failed"
        else:
            ds.n_from_cache += 1
        if clip is not None and clip.clip_id not in ds.pair_of_clip:
            clip.name = p.label or clip.name
            ds.clips.append(clip)
            ds.pair_of_clip[clip.clip_id] = p.id
        count_progress(progress, k + 1, len(pairs), f"{p.label or p.id} ({status})")
    return ds
