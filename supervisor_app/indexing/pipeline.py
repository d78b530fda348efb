"""``catalog index``: compute what recommendation and search need for every catalog track.

Per track the audio is decoded **once** (one FFmpeg pass feeding two resamplers: 44.1 kHz for madmom
and MSAF, 16 kHz for YAMNet; each equal to :func:`supervisor_app.media.load_audio` at that rate) and
shared by: beats/downbeats (madmom's networks evaluated by :mod:`.analysis.madmom_fast`), functional
segments (MSAF ``olda``, ``foote``, ``sf`` on one shared feature computation, fed madmom's beats,
with the exact fast median filter of :mod:`.analysis.fast_median`), YAMNet 1 Hz embeddings with
auto-tags from its AudioSet music classes, a track-level mean embedding (the out-of-the-box
"similar tracks" space) and the descriptors (key, loudness, ...: a third resampler at 11,025 Hz, the
samples ``describe_file`` would decode). When a Seg-VM-Net model is given, each track's segment embeddings for that
model are stored too. Only what is missing is computed: a segmentation added later (``algorithms``)
reuses the stored beats.

Storage per track (``frames``): by default the YAMNet frames are kept, float16 (T, 1024), 2 KiB per
audio-second (~420 KiB for 3.5 min: excerpt search in "similar tracks" reads them). With
``frames=False`` (large catalogs, see docs/SCALE.md) they are dropped and each segmentation's YAMNet
segment means are stored instead, float32 (K, 1024) (4 KiB per segment, exactly what
:func:`embed_catalog` would compute from the frames), next to the 4 KiB track mean.

Engines: the driver (this process) plans the work, hands each track's job to workers and is the only
writer: results go into the catalog one transaction per track, so a killed run loses at most the
tracks in flight and the next run resumes. ``engine="local"`` runs jobs in-process (``workers=1``)
or in a process pool; ``engine="ray"`` spreads them over a Ray cluster
(:mod:`supervisor_app.indexing.ray_engine`; a killed worker's tracks are retried by Ray). The catalog written
is the same either way. A failing analyzer records its one-sentence error for that track and the run
goes on.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from supervisor_app.infra.errors import CancelledError, EmptyCatalogError, SupervisorError, UsageError

SEGMENT_ALGORITHMS = ("olda", "foote", "sf")  # all three at index time: after the first, each costs ~0.001 s/audio-s
DEFAULT_SEGMENTATION = "olda"
YAMNET_FRAMES = "yamnet-frames"  # embeddings table: (T, 1024) float16 at 1 Hz
YAMNET_MEAN = "yamnet-mean"  # embeddings table: (1024,) float32, mean of the frames
SEGMEANS_PREFIX = "yamnet-segmeans-"  # embeddings table: (K, 1024) float32 per segmentation (frames=False)
AUTOTAGS = "autotags-yamnet"  # analyses table: {"tags": [[name, score], ...]}
N_AUTOTAGS = 12
ENGINES = ("local", "ray")
MUSIC_RATE_HZ = 44100
YAMNET_RATE_HZ = 16000
DESCRIPTORS_RATE_HZ = 11025  # supervisor_app.analysis.descriptors.SAMPLE_RATE_HZ (checked by a test)

ProgressFn = Callable[[int, int, str], None]  # (done, total, message)


# --- what to compute ----------------------------------------------------------------------------
def beats_key() -> tuple[str, str]:
    from supervisor_app.analysis import versions

    return versions.BEATS, versions.beats_version()


def segment_versions(algorithm: str) -> tuple[str, tuple[str, str]]:
    """(analyzer name, (version with madmom's beats, version with MSAF's own beats)) of one algorithm."""
    from supervisor_app.analysis import versions
    from supervisor_app.analysis.report import segments_analyzer

    return segments_analyzer(algorithm), (versions.segments_version(algorithm, versions.beats_version()),
                                          versions.segments_version(algorithm, None))


def get_segments(catalog, track_id: int, algorithm: str):
    """The stored AnalysisRecord of one segmentation of a track (whichever beats fed it), or None."""
    name, vs = segment_versions(algorithm)
    for v in vs:
        rec = catalog.get_analysis(track_id, name, v)
        if rec is not None:
            return rec
    return None


def yamnet_version() -> str:
    from supervisor_app.features import get_extractor

    return get_extractor("yamnet").version


def segmeans_key(algorithm: str, segments_version: str) -> tuple[str, str]:
    """(embeddings name, version) of a track's YAMNet segment means for one stored segmentation."""
    return f"{SEGMEANS_PREFIX}{algorithm}", f"{yamnet_version()}|{segments_version}"


# --- the per-track job (runs in a worker) -------------------------------------------------------
def _music_class_indices() -> np.ndarray:
    """Indices of YAMNet's AudioSet classes that describe music (genres, instruments, moods)."""
    from supervisor_app.features.yamnet import class_names

    names = class_names()
    music = [i for i, n in enumerate(names) if i >= MUSIC_CLASS_FIRST and i <= MUSIC_CLASS_LAST]
    return np.asarray([i for i in music if names[i] not in _GENERIC_MUSIC], dtype=np.int64)


# AudioSet's ontology lists the music classes contiguously in YAMNet's class map (132 "Music" to 276
# "Scary music"); the generic "Music"/"Musical instrument" labels carry no information for a search.
MUSIC_CLASS_FIRST, MUSIC_CLASS_LAST = 132, 276
_GENERIC_MUSIC = {"Music", "Musical instrument"}


def autotags_from_scores(class_scores: np.ndarray, n: int = N_AUTOTAGS) -> list[list]:
    """Top-``n`` AudioSet music classes of a track, by mean probability over its 1 Hz frames."""
    from supervisor_app.features.yamnet import class_names

    names = class_names()
    idx = _music_class_indices()
    mean = np.asarray(class_scores, dtype=np.float32)[:, idx].mean(axis=0)
    order = np.argsort(-mean)[:n]
    return [[names[int(idx[o])], round(float(mean[o]), 4)] for o in order]


def decode_shared(path: str | Path, rates: Sequence[int]) -> dict[int, np.ndarray]:
    """Decode the first audio stream of ``path`` once into mono float32 at each of ``rates`` (Hz).

    Each array equals ``supervisor_app.media.load_audio(path, sr=rate)``: the same decoded frames go
    through one FFmpeg resampler per rate. Raises the media layer's typed errors.
    """
    import av

    from supervisor_app.infra.errors import CorruptMediaError, NoAudioStreamError, ZeroDurationError
    from supervisor_app.media._open import decoder_name, ffmpeg_error, open_container

    path = Path(path)
    rates = [int(r) for r in dict.fromkeys(rates)]
    chunks: dict[int, list[np.ndarray]] = {r: [] for r in rates}
    got_s = 0.0
    with open_container(path) as c:
        if not c.streams.audio:
            raise NoAudioStreamError(path)
        stream = c.streams.audio[0]
        decoder_name(stream, path)
        stream.thread_type = "AUTO"
        resamplers = {r: av.AudioResampler(format="fltp", layout="mono", rate=r) for r in rates}

        def take(r: int, frames) -> None:
            for out in frames:
                block = np.asarray(out.to_ndarray(), dtype=np.float32)
                block = block[0] if block.ndim == 2 else block
                if block.shape[0]:
                    chunks[r].append(block)

        try:
            for frame in c.decode(stream):
                for r in rates:
                    take(r, resamplers[r].resample(frame))
                got_s += frame.samples / float(frame.sample_rate or 1)
            for r in rates:
                take(r, resamplers[r].resample(None))
        except av.error.FFmpegError as e:
            if got_s == 0.0:
                raise ffmpeg_error(path, e) from None
            raise CorruptMediaError(path, f"decoding failed after {got_s:.1f} s") from None
    out = {}
    for r in rates:
        if not chunks[r]:
            raise ZeroDurationError(path)
        out[r] = np.ascontiguousarray(np.concatenate(chunks[r]), dtype=np.float32)
    return out


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

    def empty(self) -> bool:  # descriptors alone are left to ensure_descriptors (catalog describe)
        return not (self.beats or self.segments or self.yamnet or self.segmeans)


from supervisor_app.analysis.report import _failed, _ok, _unexpected, music_records  # noqa: E402,F401 (one implementation)


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


def segment_means_of(frames_f16: np.ndarray, boundaries_s) -> np.ndarray:
    """(K, 1024) float32 YAMNet means over the segments [b0, b1), … of 1 Hz frames stored as float16."""
    from supervisor_app.segvmnet.dataset import segment_means

    frames = np.asarray(frames_f16, dtype=np.float16).astype(np.float32)
    b = np.asarray(boundaries_s, dtype=np.float64)
    return segment_means(frames, np.arange(len(frames)) + 0.5, list(zip(b[:-1], b[1:])))


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
                rec = records.get(segments_analyzer(a))
                if rec is not None:
                    seg = (rec["version"], rec["result"]["boundaries_s"]) if rec["result"] else None
                else:
                    seg = plan.stored_bounds.get(a)
                if seg is not None and len(seg[1]) >= 2:
                    name, version = segmeans_key(a, seg[0])
                    arrays[name] = (version, segment_means_of(f16, seg[1]))
        except CancelledError:
            raise
        except SupervisorError as e:
            if plan.yamnet:
                records[AUTOTAGS] = _failed(yv, str(e))
        except Exception as e:  # noqa: BLE001
            if plan.yamnet:
                records[AUTOTAGS] = _failed(yv, _unexpected("YAMNet", e))
        cpu["yamnet"] = time.process_time() - t0
    return {"records": records, "arrays": arrays, "cpu_s": cpu}


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
    except CancelledError:
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


def _worker_init() -> None:
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
    _worker_init()
    return index_track_job(path, plan)


# --- planning (driver) ---------------------------------------------------------------------------------
def plan_catalog(catalog, tracks, algorithms: Sequence[str] = SEGMENT_ALGORITHMS, frames: bool = True,
                 retry_failed: bool = False) -> list[tuple[object, TrackPlan]]:
    """(track, plan) for every 'ok' track of ``tracks`` with something left to compute (bulk queries).

    A stored failure counts as done (a file that defeats an analyzer is not re-analysed on every run)
    unless ``retry_failed``."""
    if retry_failed:
        _retry_failed(catalog, algorithms)
    bname, bv = beats_key()
    yv = yamnet_version()
    ok = {t.id for t in tracks if t.status == "ok"}
    no_beats = set(catalog.analyses_missing(bname, bv)) & ok
    seg_missing, seg_failed_or_missing = {}, {}
    for a in algorithms:
        name, vs = segment_versions(a)
        seg_missing[a] = set.intersection(*(set(catalog.analyses_missing(name, v)) for v in vs)) & ok
        seg_failed_or_missing[a] = set.intersection(
            *(set(catalog.analyses_missing(name, v, retry_errors=True)) for v in vs)) & ok
    no_tags = set(catalog.analyses_missing(AUTOTAGS, yv)) & ok
    from supervisor_app.analysis.descriptors import DESCRIPTORS, DESCRIPTORS_VERSION

    no_descriptors = set(catalog.analyses_missing(DESCRIPTORS, DESCRIPTORS_VERSION)) & ok
    tags_ok = ok - set(catalog.analyses_missing(AUTOTAGS, yv, retry_errors=True))
    tags_failed = ok - tags_ok - no_tags  # a stored YAMNet failure is not retried
    no_yamnet = no_tags | (set(catalog.embeddings_missing(YAMNET_MEAN, yv)) & tags_ok)
    if frames:
        no_yamnet |= set(catalog.embeddings_missing(YAMNET_FRAMES, yv)) & tags_ok
    no_segmeans = {}
    if not frames:
        for a in algorithms:
            _, vs = segment_versions(a)
            missing = set.intersection(*(set(catalog.embeddings_missing(*segmeans_key(a, v))) for v in vs))
            # a stored failed segmentation has no means to compute; a missing one is computed first
            no_segmeans[a] = (missing & ok) - (seg_failed_or_missing[a] - seg_missing[a]) - tags_failed
    out = []
    for t in tracks:
        if t.id not in ok:
            continue
        plan = TrackPlan(beats=t.id in no_beats, frames=frames, descriptors=t.id in no_descriptors)
        plan.segments = tuple(a for a in algorithms if t.id in seg_missing[a])
        plan.yamnet = t.id in no_yamnet
        plan.segmeans = tuple(a for a in algorithms if t.id in no_segmeans.get(a, ()))
        if plan.segments and not plan.beats:
            rec = catalog.get_analysis(t.id, bname, bv)
            plan.stored_beats_s = rec.result["beats_s"] if rec is not None and rec.result else None
        for a in plan.segmeans:
            if a not in plan.segments:
                rec = get_segments(catalog, t.id, a)
                if rec is not None and rec.result:
                    plan.stored_bounds[a] = (rec.version, rec.result["boundaries_s"])
        if not plan.empty():
            out.append((t, plan))
    return out


def _retry_failed(catalog, algorithms: Sequence[str]) -> int:
    """Forget the stored failures of the current analyzer versions, so the plan computes them again."""
    bname, bv = beats_key()
    keys = [(bname, bv), (AUTOTAGS, yamnet_version())]
    for a in algorithms:
        name, vs = segment_versions(a)
        keys += [(name, v) for v in vs]
    return catalog.delete_failed_analyses(keys)


# --- the driver (main process: the only writer) ------------------------------------------------------
@dataclass
class IndexReport:
    total: int = 0
    done: int = 0
    skipped: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (track id, step, message)
    seconds: float = 0.0
    audio_seconds: float = 0.0
    cancelled: bool = False
    engine: str = "local"
    cpu_s: dict = field(default_factory=dict)  # stage -> CPU seconds summed over the indexed tracks
    changed: int = 0  # tracks whose file changed since their results were computed (recomputed)

    def summary(self) -> str:
        s = (f"indexed {self.done} track(s), {self.skipped} already up to date, {len(self.errors)} analyzer error(s)"
             f" in {self.seconds:.1f} s")
        if self.done and self.audio_seconds:
            s += f" ({self.seconds / self.audio_seconds:.3f} s per audio-second)"
        return s + (" — cancelled" if self.cancelled else "")


def store_result(catalog, track_id: int, result: dict, report: IndexReport | None = None) -> None:
    """Write one job's records and arrays in one transaction (the driver is the only writer)."""
    with catalog.transaction():
        for name, (version, arr) in result["arrays"].items():
            catalog.put_embedding(track_id, name, version, arr)
        for analyzer, rec in result["records"].items():
            catalog.put_analysis(track_id, analyzer, rec["version"], rec.get("result"), rec.get("error"))
            if rec.get("error") and report is not None:
                report.errors.append((track_id, analyzer, rec["error"]))


def _run_local(todo, workers: int, should_cancel=None) -> Iterator[tuple[int, dict]]:
    if workers <= 1 or len(todo) <= 1:
        # one core, as a pool worker has (_worker_init): BLAS/OpenMP threads on these small products
        # mostly spin (measured: 1/3 less CPU per audio-second, same results); restored afterwards
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            for i, (t, plan) in enumerate(todo):
                if should_cancel and should_cancel():
                    raise CancelledError("Indexing")
                yield i, index_track_job(t.path, plan)
        return
    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
        futures = {pool.submit(index_track_job, t.path, plan): i for i, (t, plan) in enumerate(todo)}
        try:
            for fut in cf.as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for f in futures:
                f.cancel()


def _run_ray(todo, workers: int, address: str | None) -> Iterator[tuple[int, dict | BaseException]]:
    from supervisor_app.indexing.ray_engine import map_unordered

    num_cpus = None if address else (workers if workers > 1 else None)
    yield from map_unordered(worker_job, [(t.path, plan) for t, plan in todo], address=address,
                             num_cpus=num_cpus)


def _lost_message(e: BaseException) -> str:
    first = str(e).strip().splitlines()[0][:150] if str(e).strip() else ""
    return (f"The indexing task of this track failed on the cluster ({type(e).__name__}"
            f"{': ' + first if first else ''}); nothing was stored and the next run retries it.")


def index_catalog(catalog, *, algorithms=SEGMENT_ALGORITHMS, workers: int = 1, model=None,
                  progress: ProgressFn | None = None, should_cancel: Callable[[], bool] | None = None,
                  engine: str = "local", address: str | None = None, frames: bool = True,
                  retry_failed: bool = False, check_files: bool = True, wait_for_lock: bool = False,
                  on_lock_wait: Callable[[str], None] | None = None) -> IndexReport:
    """Index every 'ok' track of ``catalog`` that lacks a result; resumable. See the module docstring.

    ``engine``: "local" (``workers`` processes; 1 = in this process) or "ray" (``address`` of a running
    cluster, or None for a local one with ``workers`` CPUs, all cores when ``workers`` ≤ 1).
    ``frames``: keep the YAMNet frames (False: keep segment means instead). A Seg-VM-Net ``model``'s
    segmentation is added to ``algorithms`` when missing. ``check_files``: first compare every track's file
    with the catalog (size, mtime, content hash; :func:`~.catalog.freshness.refresh_tracks`) so results of
    a replaced file are recomputed. ``retry_failed``: compute again what failed before (stored analyzer
    failures, tracks in error); a file that could not be reached is never stored as a failure and is
    retried on every run. One indexer per catalog: the run holds the catalog's index lock
    (:mod:`.catalog.lock`); another holder makes it raise ``CatalogLockedError`` or, with ``wait_for_lock``,
    wait (``on_lock_wait(holder)`` is called first).
    """
    from supervisor_app.catalog.lock import index_lock

    if getattr(catalog, "read_only", False):
        from supervisor_app.infra.errors import CatalogReadOnlyError

        raise CatalogReadOnlyError(catalog.path, "the index")
    with index_lock(catalog.path, wait=wait_for_lock, on_wait=on_lock_wait):
        return _index_catalog(catalog, algorithms=algorithms, workers=workers, model=model, progress=progress,
                              should_cancel=should_cancel, engine=engine, address=address, frames=frames,
                              retry_failed=retry_failed, check_files=check_files)


def _index_catalog(catalog, *, algorithms, workers, model, progress, should_cancel, engine, address, frames,
                   retry_failed, check_files) -> IndexReport:
    if engine not in ENGINES:
        raise UsageError(f"Unknown indexing engine {engine!r}: use {' or '.join(ENGINES)}.")
    algorithms = tuple(dict.fromkeys(algorithms))
    unknown = [a for a in algorithms if a not in SEGMENT_ALGORITHMS]
    if unknown:
        raise UsageError(f"Unknown segmentation {unknown[0]!r}: choose from {', '.join(SEGMENT_ALGORITHMS)}.")
    if model is not None and getattr(model.card, "segmentation", None) in SEGMENT_ALGORITHMS:
        algorithms = tuple(dict.fromkeys(algorithms + (model.card.segmentation,)))
    t0 = time.perf_counter()
    fresh = None
    if check_files:
        from supervisor_app.catalog.freshness import refresh_tracks

        fresh = refresh_tracks(catalog, retry_failed=retry_failed, should_cancel=should_cancel)
    tracks = catalog.tracks()
    if not tracks:
        raise EmptyCatalogError()
    todo = plan_catalog(catalog, tracks, algorithms, frames, retry_failed=retry_failed)
    report = IndexReport(total=sum(1 for t in tracks if t.status == "ok"), engine=engine)
    report.skipped = report.total - len(todo)
    if fresh is not None:
        report.changed = fresh.changed
        from supervisor_app.catalog.freshness import _transient

        report.errors.extend((tid, "file" if _transient(msg) else "track", msg) for tid, msg in fresh.errors)
    if progress:
        progress(report.skipped, report.total, f"{len(todo)} track(s) to index")

    jobs = _run_ray(todo, workers, address) if engine == "ray" and todo else _run_local(todo, workers, should_cancel)
    try:
        for i, result in jobs:
            track = todo[i][0]
            if isinstance(result, BaseException):  # its worker kept dying: nothing stored, retried next run
                report.errors.append((track.id, "task", _lost_message(result)))
                continue
            if result.get("file_error"):  # unreachable file: nothing stored, retried next run
                report.errors.append((track.id, "file", result["file_error"]))
                catalog.record_scan_error(track.path, result["file_error"])
                continue
            t_store = time.process_time()
            store_result(catalog, track.id, result, report)
            catalog.clear_scan_error(track.path)  # a problem met by an earlier run is gone
            for k, v in result.get("cpu_s", {}).items():
                report.cpu_s[k] = report.cpu_s.get(k, 0.0) + v
            report.cpu_s["store"] = report.cpu_s.get("store", 0.0) + time.process_time() - t_store
            report.done += 1
            report.audio_seconds += float(track.duration_s or 0.0)
            if progress:
                progress(report.skipped + report.done, report.total, track.title or Path(track.path).name)
            if should_cancel and should_cancel():
                raise CancelledError("Indexing")
    except CancelledError:
        report.cancelled = True
    finally:
        jobs.close()
    if model is not None and not report.cancelled:
        embed_catalog(catalog, model, progress=progress, should_cancel=should_cancel)
    if not report.cancelled:  # key, loudness, build, onset density (briefs, listings); cheap, resumable
        from supervisor_app.catalog.tracks_view import ensure_descriptors

        ensure_descriptors(catalog, progress=progress, should_cancel=should_cancel)
    report.seconds = time.perf_counter() - t0
    return report


# --- Seg-VM-Net segment embeddings ---------------------------------------------------------------
def model_embedding_key(loaded) -> tuple[str, str]:
    """(embeddings-table model name, version) under which a model's segment embeddings are stored."""
    return f"segvmnet:{loaded.card.name}", loaded.card.sha256[:16]


def track_boundaries_s(catalog, track, segmentation: str = DEFAULT_SEGMENTATION) -> np.ndarray | None:
    """The stored music segment boundaries [0, …, duration] of a track, or None."""
    rec = get_segments(catalog, track.id, segmentation)
    if rec is None or rec.result is None:
        return None
    return np.asarray(rec.result["boundaries_s"], dtype=np.float64)


def track_segment_means(catalog, track, segmentation: str = DEFAULT_SEGMENTATION) -> np.ndarray | None:
    """(K, 1024) float32 YAMNet means over a track's stored segments: from its frames when kept, else
    the stored segment means (identical numbers); None when neither is there."""
    rec = get_segments(catalog, track.id, segmentation)
    if rec is None or rec.result is None or len(rec.result["boundaries_s"]) < 2:
        return None
    yv = yamnet_version()
    frames = catalog.get_embedding(track.id, YAMNET_FRAMES, yv)
    if frames is not None:
        return segment_means_of(frames, rec.result["boundaries_s"])
    return catalog.get_embedding(track.id, *segmeans_key(segmentation, rec.version))


def embed_catalog(catalog, loaded, progress: ProgressFn | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> int:
    """Store every track's Seg-VM-Net segment embeddings (K, 512) for ``loaded`` (a LoadedModel)."""
    from supervisor_app.segvmnet.vmnet import embed_vectors

    seg = loaded.card.segmentation if loaded.card.segmentation in SEGMENT_ALGORITHMS else DEFAULT_SEGMENTATION
    name, version = model_embedding_key(loaded)
    n = 0
    missing = set(catalog.embeddings_missing(name, version))
    tracks = [t for t in catalog.tracks() if t.id in missing]
    for i, t in enumerate(tracks):
        if should_cancel and should_cancel():
            raise CancelledError("Embedding the catalog")
        means = track_segment_means(catalog, t, seg)
        if means is None:
            continue
        catalog.put_embedding(t.id, name, version, embed_vectors(loaded.model, means, "music"))
        n += 1
        if progress:
            progress(i + 1, len(tracks), f"embedding {t.title or Path(t.path).name}")
    return n
