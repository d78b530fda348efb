"""Structure analysis of one file, end to end (the core of ``supervisor-app analyze``: :mod:`supervisor_app.cli.analyze`).

- :func:`analyze_track` — the music analyzers of an indexing run (beats, MSAF segments), each
  recorded as ``{"version", "result", "error"}`` so that one failing analyzer (silence, a 3-second
  jingle, a 40-minute mix) never stops the run.
- :func:`analyze_file` — a video or audio file: shots and the 25 Hz cut curve (video), beats and
  segments (audio or the video's soundtrack) and, for a video with sound, the "language of clips"
  report. Results are cached by content hash + analyzer version (:mod:`supervisor_app.infra.cache`), so a
  second analysis of the same file is read back instead of recomputed.
- :func:`cached_shots` — a video's TransNetV2 shots, cached by content hash (shared by every caller).

The drawing of an analysis is :func:`supervisor_app.analysis.plot.plot_analysis`.

Long-mix policy: beat tracking refuses audio longer than
:data:`supervisor_app.analysis.beats.MAX_DURATION_S` (10 min; its memory grows by ~10 MB per
audio-second) and segmentation audio longer than :data:`supervisor_app.analysis.segments.MAX_DURATION_S`
(20 min), each with a clear error recorded for that analyzer; a file longer than both is not even
decoded, and the file's other analyzers still run.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from supervisor_app.infra import errors
from supervisor_app.infra.jobs import Cancelled, ProgressFn, as_progress, check_cancelled, sub_progress
from supervisor_app.infra.jobs import ShouldCancel as CancelFn
from supervisor_app.analysis import versions
from supervisor_app.analysis.segments import DEFAULT_ALGORITHMS

_log = logging.getLogger(__name__)

__all__ = ["analyze_track", "analyze_file", "cached_shots", "segments_analyzer"]


def segments_analyzer(algorithm: str) -> str:
    """Analyzer name under which one MSAF algorithm's boundaries are stored."""
    return f"{versions.SEGMENTS}-{algorithm}"


# --- helpers -------------------------------------------------------------------------------------
def _ok(version: str, result: dict) -> dict:
    return {"version": version, "result": result, "error": None}


def _failed(version: str, message: str) -> dict:
    return {"version": version, "result": None, "error": message}


def _unexpected(what: str, e: BaseException) -> str:
    _log.exception("%s failed unexpectedly", what)
    return f"{what} failed unexpectedly ({type(e).__name__}: {e})."


def _resolve_cache(cache):
    if cache is None or cache is False:
        return None
    if cache is True:
        from supervisor_app.infra.cache import AnalysisCache

        return AnalysisCache()
    return cache


def _check_cancel(should_cancel: CancelFn | None, what: str = "The analysis") -> None:
    check_cancelled(should_cancel, what)


# --- music: one track of an indexing run ---------------------------------------------------------
def analyze_track(path: str | Path, *, content_hash: str | None = None, cache=None,
                  segment_algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
                  progress: ProgressFn | None = None,
                  should_cancel: CancelFn | None = None) -> dict[str, dict]:
    """Run every music analyzer on the (first) audio track of ``path``; never raises for one analyzer.

    Returns ``{analyzer: {"version": str, "result": dict | None, "error": str | None}}`` with the
    analyzers ``beats-madmom`` (result = :meth:`BeatResult.to_dict`) and ``segments-msaf-<algo>`` for
    each of ``segment_algorithms`` (result = :meth:`SegmentResult.to_dict`); exactly one of result and
    error is set, the error being one sentence. Segments use the madmom beats when beat tracking
    succeeded (MSAF's own beats otherwise; the version string says which). ``cache``: an
    :class:`~supervisor_app.infra.cache.AnalysisCache` (or True for the default one) to read and store
    successful results by content hash. Only a cancellation (:class:`~supervisor_app.infra.jobs.Cancelled`) raises.
    """
    from supervisor_app.analysis import beats as beats_mod
    from supervisor_app.analysis.segments import MAX_DURATION_S as SEG_MAX_S

    cache = _resolve_cache(cache)
    prog = as_progress(progress)
    path = Path(path)
    records: dict[str, dict] = {}
    bv = versions.beats_version()

    def cached(analyzer: str, version: str) -> dict | None:
        if cache is None or content_hash is None:
            return None
        return cache.get(content_hash, analyzer, version)

    def store(analyzer: str, version: str, result: dict) -> None:
        if cache is not None and content_hash is not None:
            cache.put(content_hash, analyzer, version, result)

    if cache is not None and content_hash is None:
        try:
            from supervisor_app.infra.hashing import content_hash as _hash

            content_hash = _hash(path)
        except errors.SupervisorError:
            content_hash = None  # the decode below reports the problem

    beat_hit = cached(versions.BEATS, bv)
    if beat_hit is not None:
        records[versions.BEATS] = _ok(bv, beat_hit)
    stored_beats_s = beats_mod.BeatResult.from_dict(beat_hit).beats_s if beat_hit is not None else None
    seg_hits = {a: cached(segments_analyzer(a), versions.segments_version(a, bv if beat_hit is not None else None))
                for a in segment_algorithms} if beat_hit is not None else {}
    for a, hit in seg_hits.items():
        if hit is not None:
            records[segments_analyzer(a)] = _ok(versions.segments_version(a, bv), hit)
    missing = [a for a in segment_algorithms if seg_hits.get(a) is None]
    if beat_hit is None or missing:
        _check_cancel(should_cancel)
        x, duration_s, error = None, 0.0, None
        from supervisor_app.media import load_audio, probe

        try:  # decoded once at madmom's 44.1 kHz (MSAF resamples from it); a 40-minute mix is never decoded
            info = probe(path)
            if not info.has_audio:
                raise errors.NoAudioStreamError(path)
            duration_s = float(info.duration_s or 0.0)
            if duration_s <= max(beats_mod.MAX_DURATION_S, SEG_MAX_S) + 1.0:
                x = load_audio(path, sr=beats_mod.SAMPLE_RATE_HZ, mono=True)
        except errors.SupervisorError as e:
            error = e
        prog(0.1, "beats and sections")
        fresh = music_records(x, duration_s, missing, beats=beat_hit is None, stored_beats_s=stored_beats_s,
                              error=error, should_cancel=should_cancel)
        for name, rec in fresh.items():
            records[name] = rec
            if rec["result"] is not None:
                store(name, rec["version"], rec["result"])
    prog(1.0, "music analysed")
    return records


def music_records(x_44k: np.ndarray | None, duration_s: float, algorithms: Sequence[str], *, beats: bool = True,
                  stored_beats_s=None, error: errors.SupervisorError | None = None,
                  should_cancel: CancelFn | None = None) -> dict[str, dict]:
    """Beats and segment records of decoded audio, without any cache: the one implementation behind
    :func:`analyze_track` and the catalog indexer (same versions, results and error sentences).

    ``x_44k``: mono 44.1 kHz samples, or None when the file is longer than every analyzer's limit (each
    then records its too-long error). ``beats=False``: beats are not recomputed and ``stored_beats_s``
    (or None after a failed beat tracking) feed the segmentations. ``error``: the file could not be
    decoded; every requested analyzer records that sentence.
    """
    from supervisor_app.analysis import beats as beats_mod
    from supervisor_app.analysis.fast_median import fast_hpss
    from supervisor_app.analysis.segments import MAX_DURATION_S as SEG_MAX_S
    from supervisor_app.analysis.segments import segment_each

    records: dict[str, dict] = {}
    bv = versions.beats_version()
    beats_s = None if stored_beats_s is None else np.asarray(stored_beats_s, dtype=np.float64)
    if beats:
        beats_s = None
        try:
            if error is not None:
                raise error
            if x_44k is None:
                raise beats_mod.too_long_error(duration_s, beats_mod.MAX_DURATION_S, "beat tracking")
            br = beats_mod.track_beats(x_44k, beats_mod.SAMPLE_RATE_HZ)
            records[versions.BEATS] = _ok(bv, br.to_dict())
            beats_s = br.beats_s
        except Cancelled:
            raise
        except errors.SupervisorError as e:
            records[versions.BEATS] = _failed(bv, str(e))
        except Exception as e:  # noqa: BLE001 - a bug or MemoryError must not stop an indexing run
            records[versions.BEATS] = _failed(bv, _unexpected("Beat tracking", e))
    algorithms = list(algorithms)
    if not algorithms:
        return records
    seg_v = {a: versions.segments_version(a, bv if beats_s is not None else None) for a in algorithms}
    try:
        if error is not None:
            raise error
        if x_44k is None:
            raise beats_mod.too_long_error(duration_s, SEG_MAX_S, "music segmentation")
        with fast_hpss():
            results, failures = segment_each(x_44k, beats_mod.SAMPLE_RATE_HZ, algorithms, beats_s,
                                              should_cancel=should_cancel)
        for a in algorithms:
            name = segments_analyzer(a)
            records[name] = (_ok(seg_v[a], results[a].to_dict()) if a in results
                             else _failed(seg_v[a], str(failures[a])))
    except Cancelled:
        raise
    except Exception as e:  # noqa: BLE001
        msg = str(e) if isinstance(e, errors.SupervisorError) else _unexpected("Music segmentation", e)
        for a in algorithms:
            records[segments_analyzer(a)] = _failed(seg_v[a], msg)
    return records


# --- any file: video and/or audio ----------------------------------------------------------------
def stored_shots(path: str | Path, threshold: float = 0.5, *, cache=True, content_hash: str | None = None):
    """The cached TransNetV2 analysis of ``path`` (see :func:`cached_shots`), or ``None`` when there is none
    (or no cache): nothing is computed."""
    from supervisor_app.analysis import shots as shots_mod

    cache = _resolve_cache(cache)
    if cache is None:
        return None
    if content_hash is None:
        from supervisor_app.infra.hashing import content_hash as _hash

        content_hash = _hash(Path(path))
    hit = cache.get(content_hash, versions.SHOTS, versions.shots_version(threshold))
    if hit is None:
        return None
    try:
        return shots_mod.ShotResult.from_dict(hit)
    except (KeyError, TypeError, ValueError):
        return None  # an entry from an incompatible build: recompute


def cached_shots(path: str | Path, threshold: float = 0.5, *, cache=True, content_hash: str | None = None,
                 progress: ProgressFn | None = None, should_cancel: CancelFn | None = None, partial=None,
                 decoded=None):
    """TransNetV2 shot analysis (:class:`supervisor_app.analysis.shots.ShotResult`), cached by content
    hash + version: the one place every command (analyze, recommend, mockup, the app) gets shots from.
    ``progress(fraction, stage)``; raises Cancelled when ``should_cancel`` says so; ``partial(result)``
    gets the analysis so far while it runs (not called on a cache hit). ``decoded``: the picture's
    :class:`~supervisor_app.analysis.shots.DecodedPicture` when the caller decoded it already (the same
    result, without decoding again)."""
    from supervisor_app.analysis import shots as shots_mod

    path = Path(path)
    cache = _resolve_cache(cache)
    if cache is not None and content_hash is None:
        from supervisor_app.infra.hashing import content_hash as _hash

        content_hash = _hash(path)
    hit = stored_shots(path, threshold, cache=cache if cache is not None else False, content_hash=content_hash)
    if hit is not None:
        return hit
    opts = {"partial": partial} if partial else {}
    if decoded is not None:
        r = shots_mod.detect_shots_in_decoded(decoded, threshold=threshold, progress=progress,
                                              should_cancel=should_cancel, **opts)
    else:
        r = shots_mod.detect_shots(path, threshold=threshold, progress=progress, should_cancel=should_cancel, **opts)
    version = versions.shots_version(threshold)
    if cache is not None and content_hash is not None:
        d = r.to_dict()
        cache.put(content_hash, versions.SHOTS, version, d)
        # what a later cache hit returns (the stored curve is rounded): a fresh analysis and a cached one
        # must be the same numbers, or everything keyed on them (the stored fits) misses once more
        r = shots_mod.ShotResult.from_dict(d)
    return r


def _run_shots(path: Path, threshold: float, cache, content_hash, progress, should_cancel):
    return cached_shots(path, threshold, cache=cache, content_hash=content_hash, progress=progress,
                        should_cancel=should_cancel)


def analyze_file(path: str | Path, *, segment_algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
                 shot_threshold: float = 0.5, progress: ProgressFn | None = None,
                 should_cancel: CancelFn | None = None, cache=True) -> dict:
    """Structure analysis of a video or audio file, as a JSON-able dict.

    Keys: ``path``, ``duration_s``, ``has_video``, ``has_audio``; for video ``fps``, ``cuts_s``,
    ``shots`` ([start_s, end_s] lists), ``cut_curve`` {``rate_hz``: 25, ``values``}, ``sync_suggestions``
    (picture sync-point candidates: {``time_s``, ``strength``, ``kind``, ``reason``}, see
    :mod:`supervisor_app.analysis.sync_suggestions`); for audio or a
    video's soundtrack ``beats_s``, ``beat_positions``, ``downbeats_s``, ``tempo_bpm``, ``meter``,
    ``segments`` {algo: boundaries_s}; for a video with sound ``language_of_clips`` (see
    :func:`supervisor_app.analysis.language_of_clips.language_of_clips`, on the OLDA boundaries, else
    the first algorithm that succeeded). ``errors`` {analyzer: sentence} lists analyzers that failed
    (their keys are then absent); ``versions`` {analyzer: version}.
    ``cache``: True (default cache), False/None, or an AnalysisCache. Raises a MediaError only when
    the file itself cannot be read; Cancelled when ``should_cancel`` says so.
    """
    from supervisor_app.media import probe

    if not 0.0 < float(shot_threshold) < 1.0:
        raise errors.UsageError(f"The shot threshold must be between 0 and 1 (got {shot_threshold}).")
    path = Path(path)
    info = probe(path)
    if info.has_video:
        from supervisor_app.media.picture import check_picture

        check_picture(path, info.duration_s, min_s=0.0)  # hours of picture: refused before the shot detection
    cache = _resolve_cache(cache)
    content_hash = None
    if cache is not None:
        from supervisor_app.infra.hashing import content_hash as _hash

        content_hash = _hash(path)
    prog = as_progress(progress)
    out: dict = {"path": str(path), "duration_s": float(info.duration_s), "has_video": bool(info.has_video),
                 "has_audio": bool(info.has_audio), "errors": {}, "versions": {}}

    shots = None
    music_share = 1.0
    if info.has_video:
        music_share = 0.5 if info.has_audio else 0.0
        out["fps"] = info.fps
        out["shot_threshold"] = float(shot_threshold)
        out["versions"][versions.SHOTS] = versions.shots_version(shot_threshold)
        _check_cancel(should_cancel)
        try:
            shots = _run_shots(path, shot_threshold, cache, content_hash,
                               sub_progress(prog, 0.0, 1.0 - music_share), should_cancel)
            out["fps"] = float(shots.fps)
            out["cuts_s"] = [float(c) for c in shots.cuts_s]
            out["shots"] = [[float(a), float(b)] for a, b in shots.shots]
            out["cut_curve"] = {"rate_hz": float(shots.curve_rate_hz),
                                "values": [round(float(v), 6) for v in shots.cut_probs_25hz]}
        except Cancelled:
            raise
        except errors.SupervisorError as e:
            out["errors"][versions.SHOTS] = str(e)
        except Exception as e:  # noqa: BLE001
            out["errors"][versions.SHOTS] = _unexpected("Shot detection", e)
        if shots is not None:
            from supervisor_app.analysis.sync_suggestions import cached_sync_suggestions

            try:
                sugg = cached_sync_suggestions(path, shot_threshold=shot_threshold,
                                               cache=cache if cache is not None else False,
                                               content_hash=content_hash, should_cancel=should_cancel,
                                               cuts_s=None if cache is not None else list(shots.cuts_s))
                out["sync_suggestions"] = [x.to_dict() for x in sugg]
            except Cancelled:
                raise
            except errors.SupervisorError as e:
                out["errors"]["sync_suggestions"] = str(e)
            except Exception as e:  # noqa: BLE001
                out["errors"]["sync_suggestions"] = _unexpected("Sync-point suggestion", e)

    beats = None
    seg_bounds: dict[str, list[float]] = {}
    if info.has_audio:
        records = analyze_track(path, content_hash=content_hash, cache=cache,
                                segment_algorithms=segment_algorithms,
                                progress=sub_progress(prog, 1.0 - music_share, 1.0), should_cancel=should_cancel)
        for name, rec in records.items():
            out["versions"][name] = rec["version"]
            if rec["error"] is not None:
                out["errors"][name] = rec["error"]
        brec = records.get(versions.BEATS)
        if brec and brec["result"] is not None:
            from supervisor_app.analysis.beats import BeatResult

            beats = BeatResult.from_dict(brec["result"])
            out.update(brec["result"])
        for algo in segment_algorithms:
            rec = records.get(segments_analyzer(algo))
            if rec and rec["result"] is not None:
                seg_bounds[algo] = rec["result"]["boundaries_s"]
        if seg_bounds:
            out["segments"] = seg_bounds

    if shots is not None and beats is not None:
        from supervisor_app.analysis.language_of_clips import language_of_clips

        algo = "olda" if "olda" in seg_bounds else next(iter(seg_bounds), None)
        report = language_of_clips(shots.shots, shots.cuts_s, shots.cut_probs_25hz, beats,
                                   seg_bounds.get(algo, []), rate_hz=float(shots.curve_rate_hz))
        report["segments_algorithm"] = algo
        out["language_of_clips"] = report
    prog(1.0, "done")
    return out
