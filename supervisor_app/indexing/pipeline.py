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

This module is the driver's orchestration; the pieces are :mod:`.keys` (what is stored under which
name), :mod:`.plan` (what is left to compute), :mod:`.job` (one track's work, in a worker; decoding in
:mod:`.decode`, auto-tags in :mod:`.autotags`), :mod:`.engines` (local pool or Ray) and :mod:`.reads`
(what a stored track has).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from supervisor_app.indexing.engines import ENGINES, lost_message, run_local, run_ray
from supervisor_app.indexing.keys import DEFAULT_SEGMENTATION, SEGMENT_ALGORITHMS, model_embedding_key
from supervisor_app.indexing.plan import plan_catalog
from supervisor_app.indexing.reads import track_segment_means
from supervisor_app.infra.errors import EmptyCatalogError, UsageError
from supervisor_app.infra.jobs import Cancelled, ProgressFn, ShouldCancel, check_cancelled, count_progress, sub_progress



# --- planning (driver) ---------------------------------------------------------------------------------


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


def index_catalog(catalog, *, algorithms=SEGMENT_ALGORITHMS, workers: int = 1, model=None,
                  progress: ProgressFn | None = None, should_cancel: ShouldCancel | None = None,
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
    wait (``on_lock_wait(holder)`` is called first). ``progress(fraction, stage)`` and ``should_cancel`` follow
    :mod:`supervisor_app.infra.jobs`: a cancel raises ``Cancelled`` once the track(s) in flight are
    analysed (polled between tracks; every 0.25 s with workers or Ray), keeping every track stored so far.
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
    index_end = 0.9 if model is not None else 0.95  # then the Seg-VM-Net embeddings, then the descriptors
    count_progress(sub_progress(progress, 0.0, index_end), report.skipped, report.total,
                   f"{len(todo)} track(s) to analyse")

    jobs = (run_ray(todo, workers, address, should_cancel) if engine == "ray" and todo
            else run_local(todo, workers, should_cancel))
    try:
        for i, result in jobs:
            track = todo[i][0]
            if isinstance(result, BaseException):  # its worker kept dying: nothing stored, retried next run
                report.errors.append((track.id, "task", lost_message(result)))
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
            count_progress(sub_progress(progress, 0.0, index_end), report.skipped + report.done, report.total,
                           f"analysed {track.title or Path(track.path).name}")
            check_cancelled(should_cancel, "The indexing")
    except Cancelled:
        report.cancelled = True
        raise  # what was stored stays: the next run resumes after the last stored track
    finally:
        jobs.close()
    if model is not None and not report.cancelled:
        embed_catalog(catalog, model, progress=sub_progress(progress, index_end, 0.95), should_cancel=should_cancel)
    if not report.cancelled:  # key, loudness, build, onset density (briefs, listings); cheap, resumable
        from supervisor_app.catalog.tracks_view import ensure_descriptors

        ensure_descriptors(catalog, progress=sub_progress(progress, 0.95, 0.98), should_cancel=should_cancel)
        # the onsets free-time tracks are fitted on (recommend's quick fit), so no recommendation decodes them
        from supervisor_app.indexing.free_time_points import ensure_free_time_points

        ensure_free_time_points(catalog, progress=sub_progress(progress, 0.98, 1.0), should_cancel=should_cancel)
    if progress and not report.cancelled:
        progress(1.0, "catalog indexed")
    report.seconds = time.perf_counter() - t0
    return report


# --- Seg-VM-Net segment embeddings ---------------------------------------------------------------


def embed_catalog(catalog, loaded, progress: ProgressFn | None = None,
                  should_cancel: ShouldCancel | None = None) -> int:
    """Store every track's Seg-VM-Net segment embeddings (K, 512) for ``loaded`` (a LoadedModel)."""
    from supervisor_app.segvmnet.vmnet import embed_vectors

    seg = loaded.card.segmentation if loaded.card.segmentation in SEGMENT_ALGORITHMS else DEFAULT_SEGMENTATION
    name, version = model_embedding_key(loaded)
    n = 0
    missing = set(catalog.embeddings_missing(name, version))
    tracks = [t for t in catalog.tracks() if t.id in missing]
    for i, t in enumerate(tracks):
        check_cancelled(should_cancel, "Embedding the catalog")
        means = track_segment_means(catalog, t, seg)
        if means is None:
            continue
        catalog.put_embedding(t.id, name, version, embed_vectors(loaded.model, means, "music"))
        n += 1
        count_progress(progress, i + 1, len(tracks), f"embedding {t.title or Path(t.path).name}")
    return n
