"""The per-track indexing job (runs in a worker process or in the driver): decode once, then beats,
segmentations, YAMNet frames, auto-tags and segment means, as a :class:`TrackPlan` asks. Returns results;
never writes the catalog (the driver, :mod:`.pipeline`, is the only writer)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from supervisor_app.analysis.report import _failed, _ok, _unexpected, music_records
from supervisor_app.edit.audibility import FEATURES_SR
from supervisor_app.features.segments import segment_means_of
from supervisor_app.indexing.autotags import autotags_from_scores
from supervisor_app.indexing.decode import DESCRIPTORS_RATE_HZ, MUSIC_RATE_HZ, YAMNET_RATE_HZ, decode_shared
from supervisor_app.indexing.keys import (
    AUTOTAGS,
    SEGMENT_ALGORITHMS,
    YAMNET_FRAMES,
    YAMNET_MEAN,
    bar_splices_key,
    beats_key,
    segmeans_key,
    yamnet_version,
)
from supervisor_app.infra.errors import SupervisorError
from supervisor_app.infra.jobs import Cancelled


@dataclass
class TrackPlan:
    """What one track's job computes. ``stored_beats_s``: the stored madmom beats that feed a segmentation
    when beats are not recomputed (None: beat tracking failed, MSAF uses its own beats);
    ``stored_bounds``: {algorithm: (segments version, boundaries_s)} of stored segmentations whose YAMNet
    segment means are wanted."""

    beats: bool = False
    segments: tuple = ()
    stored_beats_s: list | None = None
    yamnet: bool = False
    frames: bool = True
    segmeans: tuple = ()
    stored_bounds: dict = field(default_factory=dict)
    descriptors: bool = False  # also the descriptors (key, loudness, ...) from the same decode
    bar_splices: bool = False  # the splice sides and energy sums at the bar lines (edit.bar_splices)
    stored_downbeats_s: list | None = None  # the stored downbeats they are computed on (beats not recomputed)
    duration_s: float | None = None  # the catalog's duration of the track (the end of its last bar)

    def empty(self) -> bool:  # descriptors alone are left to ensure_descriptors (catalog describe)
        return not (self.beats or self.segments or self.yamnet or self.segmeans or self.bar_splices)


def yamnet_frames(x_16k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings (T, 1024) float32, class probabilities (T, 521)) at 1 Hz of mono 16 kHz samples, as
    :meth:`supervisor_app.features.yamnet.YamnetExtractor.extract` computes them from a file."""
    from supervisor_app.features import get_extractor
    from supervisor_app.features.registry import frame_count
    from supervisor_app.features.yamnet import CHUNK_FRAMES, SAMPLE_RATE, patches_1hz

    ex = get_extractor("yamnet")
    ex.require()
    n = frame_count(len(x_16k) / SAMPLE_RATE, ex.rate_hz)
    embs, probs = [], []
    for k0 in range(0, n, CHUNK_FRAMES):
        m = min(CHUNK_FRAMES, n - k0)
        e, p = ex.run_patches(patches_1hz(x_16k[SAMPLE_RATE * k0:SAMPLE_RATE * (k0 + m + 1)], m))
        embs.append(e)
        probs.append(p)
    return np.concatenate(embs), np.concatenate(probs)


def index_track_job(path: str, plan: TrackPlan, algorithms: Sequence[str] = SEGMENT_ALGORITHMS) -> dict:
    """Compute what ``plan`` asks for one file (see :class:`TrackPlan`).

    Returns {"records": {analyzer: {"version", "result", "error"}}, "arrays": {name: (version, array)},
    "cpu_s": {stage: CPU seconds}}. Never raises for a problem with the file, nor for a bug in one
    analyzer: each failure is recorded as that analyzer's one-sentence error and the run goes on.
    ``algorithms`` is ignored (kept for callers of the old signature); the plan lists the segmentations.
    """
    from supervisor_app.analysis import beats as beats_mod
    from supervisor_app.analysis.report import segments_analyzer
    from supervisor_app.analysis.segments import MAX_DURATION_S as SEG_MAX_S

    cpu: dict[str, float] = {}
    records: dict[str, dict] = {}
    arrays: dict[str, tuple[str, np.ndarray]] = {}
    music = plan.beats or bool(plan.segments)
    want_yamnet = plan.yamnet or bool(plan.segmeans)
    t0 = time.process_time()
    audio: dict[int, np.ndarray] = {}
    error: SupervisorError | None = None
    duration_s = 0.0
    try:
        from supervisor_app.infra.errors import NoAudioStreamError
        from supervisor_app.media import probe

        info = probe(path)
        if not info.has_audio:
            raise NoAudioStreamError(path)
        duration_s = float(info.duration_s or 0.0)
        limit = max(beats_mod.MAX_DURATION_S, SEG_MAX_S)
        too_long = bool(info.duration_s) and info.duration_s > limit + 1.0  # don't decode a 40-min mix for madmom
        rates = ([MUSIC_RATE_HZ] if music and not too_long else []) + ([YAMNET_RATE_HZ] if want_yamnet else [])
        if plan.descriptors and not too_long and rates:  # else left to ensure_descriptors (its own decode)
            rates.append(DESCRIPTORS_RATE_HZ)
        if plan.bar_splices and not too_long:
            rates.append(FEATURES_SR)
        if rates:
            audio = decode_shared(path, rates)
    except SupervisorError as e:
        error = e
    except OSError as e:  # the file went away or became unreadable mid-run
        from supervisor_app.infra.errors import FileUnreadableError

        error = FileUnreadableError(path, e.strerror or str(e))
    except Exception as e:  # noqa: BLE001
        error = SupervisorError(_unexpected("Decoding the audio", e))
    cpu["decode"] = time.process_time() - t0
    if error is not None and is_file_problem(error):
        # Not a fact about the audio: store nothing (the next run retries), report it as the file's problem.
        return {"records": {}, "arrays": {}, "cpu_s": cpu, "file_error": str(error)}

    if music:
        t0 = time.process_time()
        x = audio.get(MUSIC_RATE_HZ)
        if plan.beats:
            recs = music_records(x, duration_s, (), beats=True, error=error)
            records.update(recs)
            t1 = time.process_time()
            cpu["beats"] = t1 - t0
            t0 = t1
            brec = recs.get(beats_key()[0])
            beats_s = brec["result"]["beats_s"] if brec and brec["result"] else None
        else:
            beats_s = plan.stored_beats_s
        if plan.segments:
            records.update(music_records(x, duration_s, plan.segments, beats=False, stored_beats_s=beats_s,
                                         error=error))
            cpu["segments"] = time.process_time() - t0

    if plan.bar_splices:
        t0 = time.process_time()
        if plan.beats:  # the downbeats just computed (none when beat tracking failed)
            brec = records.get(beats_key()[0])
            downbeats_s = (brec.get("result") or {}).get("downbeats_s") if brec else None
        else:
            downbeats_s = plan.stored_downbeats_s
        table = bar_splices_array(audio.pop(FEATURES_SR, None), plan.duration_s or duration_s, downbeats_s, error)
        if table is not None:
            name, version = bar_splices_key()
            arrays[name] = (version, table)
        cpu["bar splices"] = time.process_time() - t0

    if plan.descriptors and DESCRIPTORS_RATE_HZ in audio:
        t0 = time.process_time()
        rec = descriptors_record(audio.pop(DESCRIPTORS_RATE_HZ))
        if rec is not None:
            records[rec[0]] = rec[1]
        cpu["descriptors"] = time.process_time() - t0

    if want_yamnet:
        t0 = time.process_time()
        yv = yamnet_version()
        try:
            if error is not None:
                raise error
            x16 = audio[YAMNET_RATE_HZ]
            frames, scores = yamnet_frames(x16)
            f16 = frames.astype(np.float16)
            if plan.yamnet:
                if plan.frames:
                    arrays[YAMNET_FRAMES] = (yv, f16)
                arrays[YAMNET_MEAN] = (yv, frames.mean(axis=0).astype(np.float32))
                records[AUTOTAGS] = _ok(yv, {"tags": autotags_from_scores(scores)})
            for a in plan.segmeans:
                srec = records.get(segments_analyzer(a))
                if srec is not None:
                    seg = (srec["version"], srec["result"]["boundaries_s"]) if srec["result"] else None
                else:
                    seg = plan.stored_bounds.get(a)
                if seg is not None and len(seg[1]) >= 2:
                    name, version = segmeans_key(a, seg[0])
                    arrays[name] = (version, segment_means_of(f16, seg[1]))
        except Cancelled:
            raise
        except SupervisorError as e:
            if plan.yamnet:
                records[AUTOTAGS] = _failed(yv, str(e))
        except Exception as e:  # noqa: BLE001
            if plan.yamnet:
                records[AUTOTAGS] = _failed(yv, _unexpected("YAMNet", e))
        cpu["yamnet"] = time.process_time() - t0
    return {"records": records, "arrays": arrays, "cpu_s": cpu}


def bar_splices_array(x_22k: np.ndarray | None, duration_s: float, downbeats_s, error=None) -> np.ndarray | None:
    """The stored form of a track's :class:`~supervisor_app.edit.bar_splices.BarSplices` from mono samples at
    ``FEATURES_SR``: its table, an empty array when it has no bar grid to cut on (fewer than two downbeats:
    nothing to store, and nothing to look at again), or None when its audio could not be read or the
    computation fails (nothing stored: ``recommend`` decodes the track instead, the next run retries)."""
    from supervisor_app.edit.bar_splices import COLUMNS, BarSplices, bar_times

    if bar_times(float(duration_s or 0.0), downbeats_s) is None:
        return None if error is not None else np.zeros((0, COLUMNS))
    if x_22k is None or error is not None:
        return None
    try:
        table = BarSplices.of_audio(x_22k, FEATURES_SR, float(duration_s), downbeats_s)
    except Cancelled:
        raise
    except Exception:  # noqa: BLE001 - a bonus: the re-plan decodes the track instead
        return None
    return None if table is None else table.to_array()


def descriptors_record(x_11k: np.ndarray) -> tuple[str, dict] | None:
    """(analyzer, record) of the descriptors of mono samples at their rate, decoded with the rest of the
    job: equal to what :func:`~supervisor_app.catalog.tracks_view.ensure_descriptors` stores from its own
    decode (``describe_file``: the same samples, at most the first ``MAX_ANALYSED_S``). None when the
    computation fails unexpectedly: that track is then left to ``ensure_descriptors``."""
    from supervisor_app.analysis.descriptors import (DESCRIPTORS, DESCRIPTORS_VERSION, MAX_ANALYSED_S,
                                                     descriptors_of)

    try:
        x = x_11k[: int(round(MAX_ANALYSED_S * DESCRIPTORS_RATE_HZ))]
        return DESCRIPTORS, _ok(DESCRIPTORS_VERSION, descriptors_of(x, DESCRIPTORS_RATE_HZ))
    except Cancelled:
        raise
    except SupervisorError as e:
        return DESCRIPTORS, _failed(DESCRIPTORS_VERSION, str(e))
    except Exception:  # noqa: BLE001
        return None


def is_file_problem(error: BaseException) -> bool:
    """True for errors about reaching the file (missing, unreadable, not a regular file), which may be
    gone on the next run, as opposed to facts about its audio (damaged, no audio track, ...)."""
    from supervisor_app.infra.errors import FileMissingError, FileUnreadableError, NotRegularFileError

    return isinstance(error, (FileMissingError, FileUnreadableError, NotRegularFileError))


_WORKER_READY = False


def worker_init() -> None:
    """One core per worker: BLAS/OpenMP pools of 1 thread (a worker never needs more; spare threads
    only spin on a busy machine). torch is not imported for this (indexing does not use it)."""
    global _WORKER_READY
    if _WORKER_READY:
        return
    import sys

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    _WORKER_READY = True


def worker_job(path: str, plan: TrackPlan) -> dict:
    """:func:`index_track_job` in a worker process (pool or cluster), one core per worker."""
    worker_init()
    return index_track_job(path, plan)
