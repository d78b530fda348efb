"""``catalog index``: compute what recommendation and search need for every catalog track.

Per track (decoded once per analyzer family): beats/downbeats (madmom), functional segments (MSAF,
fed madmom's beats), YAMNet 1 Hz embeddings (stored float16) with auto-tags from its AudioSet music
classes, and a track-level mean embedding (the out-of-the-box "similar tracks" space). When a
Seg-VM-Net model is given, each track's segment embeddings for that model are stored too.

Results go into the catalog keyed by analyzer name + version, one transaction per track, so a
killed run loses at most the track in progress and the next run resumes. A failing analyzer
records its one-sentence error for that track and the run goes on. Work runs in a process pool
(``workers`` > 1, spawn context) or in-process (``workers=1``); the catalog written is the same.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import CancelledError, EmptyCatalogError, SupervisorError

SEGMENT_ALGORITHMS = ("olda", "foote", "sf")
DEFAULT_SEGMENTATION = "olda"
YAMNET_FRAMES = "yamnet-frames"  # embeddings table: (T, 1024) float16 at 1 Hz
YAMNET_MEAN = "yamnet-mean"  # embeddings table: (1024,) float32, mean of the frames
AUTOTAGS = "autotags-yamnet"  # analyses table: {"tags": [[name, score], ...]}
N_AUTOTAGS = 12

ProgressFn = Callable[[int, int, str], None]  # (done, total, message)


# --- what to compute ----------------------------------------------------------------------------
def beats_key() -> tuple[str, str]:
    from .analysis import versions

    return versions.BEATS, versions.beats_version()


def segment_versions(algorithm: str) -> tuple[str, tuple[str, str]]:
    """(analyzer name, (version with madmom's beats, version with MSAF's own beats)) of one algorithm."""
    from .analysis import versions
    from .analysis.report import segments_analyzer

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
    from .features import get_extractor

    return get_extractor("yamnet").version


# --- the per-track job (runs in a worker process) -------------------------------------------------
def _music_class_indices() -> np.ndarray:
    """Indices of YAMNet's AudioSet classes that describe music (genres, instruments, moods)."""
    from .features.yamnet import class_names

    names = class_names()
    music = [i for i, n in enumerate(names) if i >= MUSIC_CLASS_FIRST and i <= MUSIC_CLASS_LAST]
    return np.asarray([i for i in music if names[i] not in _GENERIC_MUSIC], dtype=np.int64)


# AudioSet's ontology lists the music classes contiguously in YAMNet's class map (132 "Music" to 276
# "Scary music"); the generic "Music"/"Musical instrument" labels carry no information for a search.
MUSIC_CLASS_FIRST, MUSIC_CLASS_LAST = 132, 276
_GENERIC_MUSIC = {"Music", "Musical instrument"}


def autotags_from_scores(class_scores: np.ndarray, n: int = N_AUTOTAGS) -> list[list]:
    """Top-``n`` AudioSet music classes of a track, by mean probability over its 1 Hz frames."""
    from .features.yamnet import class_names

    names = class_names()
    idx = _music_class_indices()
    mean = np.asarray(class_scores, dtype=np.float32)[:, idx].mean(axis=0)
    order = np.argsort(-mean)[:n]
    return [[names[int(idx[o])], round(float(mean[o]), 4)] for o in order]


def index_track_job(path: str, steps: list[str], algorithms: tuple[str, ...] = SEGMENT_ALGORITHMS) -> dict:
    """Compute the requested ``steps`` ("music", "yamnet") for one file.

    Returns {"records": {analyzer: {"version", "result", "error"}}, "arrays": {name: (version, array)}}.
    Never raises for a problem with the file, nor for a bug in one analyzer: each failure is recorded
    as that analyzer's one-sentence error and the indexing run goes on.
    """
    records: dict[str, dict] = {}
    arrays: dict[str, tuple[str, np.ndarray]] = {}
    if "music" in steps:
        from .analysis.report import analyze_track

        try:
            records.update(analyze_track(path, segment_algorithms=algorithms))
        except CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - one track must never stop a catalog run
            bname, bv = beats_key()
            records[bname] = {"version": bv, "result": None, "error": _unexpected(e)}
            for a in algorithms:
                name, vs = segment_versions(a)
                records[name] = {"version": vs[0], "result": None, "error": _unexpected(e)}
    if "yamnet" in steps:
        from .features import get_extractor

        yv = yamnet_version()
        try:
            fr = get_extractor("yamnet").extract(path)
            arrays[YAMNET_FRAMES] = (yv, fr.frames.astype(np.float16))
            arrays[YAMNET_MEAN] = (yv, fr.frames.mean(axis=0).astype(np.float32))
            records[AUTOTAGS] = {"version": yv, "result": {"tags": autotags_from_scores(fr.extra["class_scores"])},
                                 "error": None}
        except CancelledError:
            raise
        except SupervisorError as e:
            records[AUTOTAGS] = {"version": yv, "result": None, "error": str(e)}
        except Exception as e:  # noqa: BLE001
            records[AUTOTAGS] = {"version": yv, "result": None, "error": _unexpected(e)}
    return {"records": records, "arrays": arrays}


def _unexpected(e: Exception) -> str:
    return f"The analysis failed unexpectedly ({type(e).__name__}: {str(e)[:200]})."


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


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

    def summary(self) -> str:
        s = (f"indexed {self.done} track(s), {self.skipped} already up to date, {len(self.errors)} analyzer error(s)"
             f" in {self.seconds:.1f} s")
        if self.done and self.audio_seconds:
            s += f" ({self.seconds / self.audio_seconds:.3f} s per audio-second)"
        return s + (" — cancelled" if self.cancelled else "")


def _missing_steps(catalog, track_id: int, algorithms) -> list[str]:
    steps = []
    if catalog.get_analysis(track_id, *beats_key()) is None or \
            any(get_segments(catalog, track_id, a) is None for a in algorithms):
        steps.append("music")
    if catalog.get_analysis(track_id, AUTOTAGS, yamnet_version()) is None:
        steps.append("yamnet")
    return steps


def _store(catalog, track_id: int, result: dict, report: IndexReport) -> None:
    with catalog.transaction():
        for name, (version, arr) in result["arrays"].items():
            catalog.put_embedding(track_id, name, version, arr)
        for analyzer, rec in result["records"].items():
            catalog.put_analysis(track_id, analyzer, rec["version"], rec.get("result"), rec.get("error"))
            if rec.get("error"):
                report.errors.append((track_id, analyzer, rec["error"]))


def index_catalog(catalog, *, algorithms=SEGMENT_ALGORITHMS, workers: int = 1, model=None,
                  progress: ProgressFn | None = None, should_cancel: Callable[[], bool] | None = None) -> IndexReport:
    """Index every 'ok' track of ``catalog`` that lacks a result; resumable. See the module docstring."""
    tracks = catalog.tracks()
    if not tracks:
        raise EmptyCatalogError()
    report = IndexReport(total=len(tracks))
    t0 = time.perf_counter()
    todo = []
    for t in tracks:
        steps = _missing_steps(catalog, t.id, algorithms)
        if steps:
            todo.append((t, steps))
        else:
            report.skipped += 1
    if progress:
        progress(report.skipped, report.total, f"{len(todo)} track(s) to index")

    def finish(track, result):
        _store(catalog, track.id, result, report)
        report.done += 1
        report.audio_seconds += float(track.duration_s or 0.0)
        if progress:
            progress(report.skipped + report.done, report.total, track.title or Path(track.path).name)

    try:
        if workers <= 1 or len(todo) <= 1:
            for track, steps in todo:
                if should_cancel and should_cancel():
                    raise CancelledError("Indexing")
                finish(track, index_track_job(track.path, steps, tuple(algorithms)))
        else:
            ctx = mp.get_context("spawn")
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
                futures = {pool.submit(index_track_job, t.path, s, tuple(algorithms)): t for t, s in todo}
                try:
                    for fut in cf.as_completed(futures):
                        if should_cancel and should_cancel():
                            raise CancelledError("Indexing")
                        finish(futures[fut], fut.result())
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
    except CancelledError:
        report.cancelled = True
    if model is not None and not report.cancelled:
        embed_catalog(catalog, model, progress=progress, should_cancel=should_cancel)
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


def embed_catalog(catalog, loaded, progress: ProgressFn | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> int:
    """Store every track's Seg-VM-Net segment embeddings (K, 512) for ``loaded`` (a LoadedModel)."""
    from .nets.vmnet import embed_vectors
    from .training.dataset import segment_means

    seg = loaded.card.segmentation if loaded.card.segmentation in SEGMENT_ALGORITHMS else DEFAULT_SEGMENTATION
    name, version = model_embedding_key(loaded)
    yv = yamnet_version()
    n = 0
    tracks = catalog.tracks()
    for i, t in enumerate(tracks):
        if should_cancel and should_cancel():
            raise CancelledError("Embedding the catalog")
        if catalog.get_embedding(t.id, name, version) is not None:
            continue
        frames = catalog.get_embedding(t.id, YAMNET_FRAMES, yv)
        bounds = track_boundaries_s(catalog, t, seg)
        if frames is None or bounds is None or len(bounds) < 2:
            continue
        frames = frames.astype(np.float32)
        spans = list(zip(bounds[:-1], bounds[1:]))
        means = segment_means(frames, np.arange(len(frames)) + 0.5, spans)
        catalog.put_embedding(t.id, name, version, embed_vectors(loaded.model, means, "music"))
        n += 1
        if progress:
            progress(i + 1, len(tracks), f"embedding {t.title or Path(t.path).name}")
    return n
