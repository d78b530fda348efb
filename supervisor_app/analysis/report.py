"""Structure analysis of one file, end to end: ``supervisor-app analyze FILE --json OUT [--plot OUT.png]``.

- :func:`analyze_track` — the music analyzers of an indexing run (beats, MSAF segments), each
  recorded as ``{"version", "result", "error"}`` so that one failing analyzer (silence, a 3-second
  jingle, a 40-minute mix) never stops the run.
- :func:`analyze_file` — a video or audio file: shots and the 25 Hz cut curve (video), beats and
  segments (audio or the video's soundtrack) and, for a video with sound, the "language of clips"
  report. Results are cached by content hash + analyzer version (:mod:`supervisor_app.infra.cache`), so a
  second analysis of the same file is read back instead of recomputed.
- :func:`plot_analysis` — one PNG: the cut curve, cuts, downbeats and music segments on one time
  axis, and the shot-duration histogram with Δbeat / Δbar marked.
- :func:`add_cli` — registers the ``analyze`` command.

Long-mix policy: beat tracking refuses audio longer than
:data:`supervisor_app.analysis.beats.MAX_DURATION_S` (10 min; its memory grows by ~10 MB per
audio-second) and segmentation audio longer than :data:`supervisor_app.analysis.segments.MAX_DURATION_S`
(20 min), each with a clear error recorded for that analyzer; a file longer than both is not even
decoded, and the file's other analyzers still run.
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from supervisor_app.infra import errors
from supervisor_app.analysis import versions
from supervisor_app.analysis.segments import DEFAULT_ALGORITHMS

ProgressFn = Callable[[float], None]  # fraction done in [0, 1]
CancelFn = Callable[[], bool]  # True: stop as soon as possible

_log = logging.getLogger(__name__)

__all__ = ["analyze_track", "analyze_file", "plot_analysis", "add_cli", "cmd_analyze",
           "segments_analyzer"]


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
    if should_cancel is not None and should_cancel():
        raise errors.CancelledError(what)


class _Progress:
    """Maps each stage's own 0..1 progress onto a slice of the overall 0..1."""

    def __init__(self, fn: ProgressFn | None):
        self.fn = fn

    def at(self, x: float) -> None:
        if self.fn is not None:
            self.fn(float(min(1.0, max(0.0, x))))

    def slice(self, lo: float, hi: float) -> ProgressFn | None:
        if self.fn is None:
            return None
        return lambda f: self.at(lo + (hi - lo) * float(f))


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
    successful results by content hash. Only a cancellation (:class:`errors.CancelledError`) raises.
    """
    from supervisor_app.analysis import beats as beats_mod
    from supervisor_app.analysis.segments import MAX_DURATION_S as SEG_MAX_S

    cache = _resolve_cache(cache)
    prog = _Progress(progress)
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
        prog.at(0.1)
        fresh = music_records(x, duration_s, missing, beats=beat_hit is None, stored_beats_s=stored_beats_s,
                              error=error, should_cancel=should_cancel)
        for name, rec in fresh.items():
            records[name] = rec
            if rec["result"] is not None:
                store(name, rec["version"], rec["result"])
    prog.at(1.0)
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
        except errors.CancelledError:
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
    except errors.CancelledError:
        raise
    except Exception as e:  # noqa: BLE001
        msg = str(e) if isinstance(e, errors.SupervisorError) else _unexpected("Music segmentation", e)
        for a in algorithms:
            records[segments_analyzer(a)] = _failed(seg_v[a], msg)
    return records


# --- any file: video and/or audio ----------------------------------------------------------------
def cached_shots(path: str | Path, threshold: float = 0.5, *, cache=True, content_hash: str | None = None,
                 progress: ProgressFn | None = None, should_cancel: CancelFn | None = None, partial=None):
    """TransNetV2 shot analysis (:class:`supervisor_app.analysis.shots.ShotResult`), cached by content
    hash + version: the one place every command (analyze, recommend, mockup, the app) gets shots from.
    ``progress(fraction)``; raises CancelledError when ``should_cancel`` says so; ``partial(result)``
    gets the analysis so far while it runs (not called on a cache hit)."""
    from supervisor_app.analysis import shots as shots_mod

    path = Path(path)
    cache = _resolve_cache(cache)
    if cache is not None and content_hash is None:
        from supervisor_app.infra.hashing import content_hash as _hash

        content_hash = _hash(path)

    version = versions.shots_version(threshold)
    if cache is not None and content_hash is not None:
        hit = cache.get(content_hash, versions.SHOTS, version)
        if hit is not None:
            try:
                return shots_mod.ShotResult.from_dict(hit)
            except (KeyError, TypeError, ValueError):
                pass  # an entry from an incompatible build: recompute
    try:
        r = shots_mod.detect_shots(path, threshold=threshold,
                                   progress=(lambda f, stage="": progress(f)) if progress else None,
                                   should_cancel=should_cancel, **({"partial": partial} if partial else {}))
    except shots_mod.Cancelled:
        raise errors.CancelledError("Shot detection") from None
    if cache is not None and content_hash is not None:
        cache.put(content_hash, versions.SHOTS, version, r.to_dict())
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
    the file itself cannot be read; CancelledError when ``should_cancel`` says so.
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
    prog = _Progress(progress)
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
                               prog.slice(0.0, 1.0 - music_share), should_cancel)
            out["fps"] = float(shots.fps)
            out["cuts_s"] = [float(c) for c in shots.cuts_s]
            out["shots"] = [[float(a), float(b)] for a, b in shots.shots]
            out["cut_curve"] = {"rate_hz": float(shots.curve_rate_hz),
                                "values": [round(float(v), 6) for v in shots.cut_probs_25hz]}
        except errors.CancelledError:
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
            except errors.CancelledError:
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
                                progress=prog.slice(1.0 - music_share, 1.0), should_cancel=should_cancel)
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
    prog.at(1.0)
    return out


# --- plot ------------------------------------------------------------------------------------------
_SEG_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#8172B3", "#937860")


def plot_analysis(analysis: dict, out_png: str | Path, *, width_px: int = 1600) -> Path:
    """Draw :func:`analyze_file`'s result to ``out_png`` (matplotlib, Agg; pyplot is not used).

    Top: cut curve f_shot with the threshold, cuts (red), downbeats (grey) and one row of segments per
    MSAF algorithm, on one time axis. Bottom (video): the shot-duration histogram with Δbeat, Δbar,
    4·Δbar and Δmax_shot marked.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    out_png = Path(out_png)
    duration = float(analysis.get("duration_s") or 0.0)
    curve = analysis.get("cut_curve")
    segments = analysis.get("segments") or {}
    downbeats = analysis.get("downbeats_s") or []
    beats = analysis.get("beats_s") or []
    cuts = analysis.get("cuts_s") or []
    loc = analysis.get("language_of_clips")
    has_hist = bool(analysis.get("shots"))

    dpi = 100
    fig = Figure(figsize=(width_px / dpi, (7.5 if has_hist else 4.8)), dpi=dpi)
    FigureCanvasAgg(fig)
    n_rows = len(segments)
    if has_hist:
        gs = fig.add_gridspec(3, 1, height_ratios=[2.2, 0.35 * max(n_rows, 1) + 0.3, 2.0], hspace=0.35)
    else:
        gs = fig.add_gridspec(2, 1, height_ratios=[2.2, 0.35 * max(n_rows, 1) + 0.3], hspace=0.12)
    ax = fig.add_subplot(gs[0])
    ax_seg = fig.add_subplot(gs[1], sharex=ax)

    # top: f_shot, cuts, beats, downbeats
    if curve and curve.get("values"):
        v = np.asarray(curve["values"], dtype=float)
        t = np.arange(len(v)) / float(curve["rate_hz"])
        ax.fill_between(t, v, color="#1f77b4", alpha=0.25, linewidth=0)
        ax.plot(t, v, color="#1f77b4", linewidth=1.0, label="cut probability $f_{shot}$ (25 Hz)")
        thr = analysis.get("shot_threshold", 0.5)
        ax.axhline(thr, color="#1f77b4", linestyle=":", linewidth=0.8)
    has_curve = bool(curve and curve.get("values"))
    beat_h, down_h = (0.06, 0.25) if has_curve else (0.3, 0.75)  # audio only: the beats are the content
    for i, c in enumerate(cuts):
        ax.axvline(c, color="#d62728", linewidth=1.4, alpha=0.9, label="cut" if i == 0 else None)
    for i, b in enumerate(beats):
        ax.plot([b, b], [0.0, beat_h], color="#7f7f7f", linewidth=0.6, label="beat" if i == 0 else None)
    for i, d in enumerate(downbeats):
        ax.axvline(d, ymin=0.0, ymax=down_h, color="#333333", linewidth=1.2,
                   label="downbeat" if i == 0 else None)
    ax.set_ylim(0, 1.05)
    if has_curve:
        ax.set_ylabel("$f_{shot}$")
    else:
        ax.set_yticks([])
        ax.set_ylabel("beats")
    ax.set_xlim(0, duration if duration > 0 else None)
    ax.tick_params(labelbottom=False)
    title = Path(analysis.get("path", "")).name
    bits = []
    if analysis.get("tempo_bpm"):
        bits.append(f"{analysis['tempo_bpm']:.1f} BPM, {analysis.get('meter')}/4" if analysis.get("meter") == 4
                    else f"{analysis['tempo_bpm']:.1f} BPM, {analysis.get('meter')} beats/bar")
    if cuts or analysis.get("shots"):
        n_shots, n_cuts = len(analysis.get("shots") or []), len(cuts)
        bits.append(f"{n_shots} shot{'s' * (n_shots != 1)}, {n_cuts} cut{'s' * (n_cuts != 1)}")
    if loc:
        for key in ("S_seg", "S_bar"):
            if loc.get(key) is not None:
                bits.append(f"{key} = {loc[key]:.2f}")
    ax.set_title(title + ("  —  " + ", ".join(bits) if bits else ""), fontsize=11)

    # middle: one row of segments per algorithm
    names = list(segments)
    for row, name in enumerate(names):
        b = list(segments[name])
        y = n_rows - 1 - row
        for k in range(len(b) - 1):
            ax_seg.add_patch(Rectangle((b[k], y + 0.12), b[k + 1] - b[k], 0.76,
                                       facecolor=_SEG_COLORS[row % len(_SEG_COLORS)],
                                       alpha=0.35 if k % 2 else 0.65, edgecolor="white", linewidth=1.0))
        for j, x in enumerate(b[1:-1]):
            ax.axvline(x, color=_SEG_COLORS[row % len(_SEG_COLORS)], linestyle="--", linewidth=0.9,
                       alpha=0.8, ymin=down_h, ymax=1.0, label=f"{name} boundary" if j == 0 else None)
    for d in downbeats:
        ax_seg.axvline(d, color="#333333", linewidth=0.5, alpha=0.35)
    ax.legend(loc="upper right", fontsize=8, ncol=4, framealpha=0.9)
    ax_seg.set_ylim(0, max(n_rows, 1))
    ax_seg.set_yticks([n_rows - 1 - r + 0.5 for r in range(n_rows)])
    ax_seg.set_yticklabels([f"{n} segments" for n in names], fontsize=8)
    ax_seg.set_xlabel("time (s)")
    if not names:
        if analysis.get("has_audio") is False:
            why = "no audio track: no beats or music segments"
        else:
            reasons = "; ".join(analysis.get("errors", {}).values())
            why = "no music segments" + (f" ({reasons[:150]})" if reasons else "")
        ax_seg.text(0.5, 0.5, why, ha="center", va="center", transform=ax_seg.transAxes, fontsize=8)
        ax_seg.set_yticks([])

    # bottom: shot-duration histogram
    if has_hist:
        axh = fig.add_subplot(gs[2])
        if loc:
            h = loc["shot_duration_histogram"]
            edges = np.asarray(h["bin_edges_s"])
            counts = np.asarray(h["counts"])
        else:
            from supervisor_app.analysis.language_of_clips import shot_duration_histogram

            h = shot_duration_histogram(analysis["shots"])
            edges, counts = np.asarray(h["bin_edges_s"]), np.asarray(h["counts"])
        axh.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#8c8c8c",
                edgecolor="white", label="shots")
        xmax = float(edges[-1])
        marks = []
        if loc:
            marks = [(loc["delta_beat_s"], "Δbeat", "#2ca02c"), (loc["delta_bar_s"], "Δbar", "#9467bd"),
                     (4 * loc["delta_bar_s"], "4·Δbar (pattern)", "#8c564b")]
            if loc.get("delta_max_shot_s") is not None:
                marks.append((loc["delta_max_shot_s"], "Δmax_shot", "#d62728"))
        for xv, label, color in marks:
            axh.axvline(xv, color=color, linewidth=1.6, linestyle="--" if label != "Δmax_shot" else "-",
                        label=f"{label} = {xv:.2f} s")
            xmax = max(xmax, xv)
        axh.set_xlim(0, xmax * 1.05 + 0.25)
        axh.set_xlabel("shot duration (s)")
        axh.set_ylabel("shots")
        axh.yaxis.get_major_locator().set_params(integer=True)
        axh.legend(loc="best", fontsize=8)
        if loc:
            ag = loc["agreement"]
            txt = "duration agreement: " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in ag.items())
            off = loc.get("cut_downbeat_offsets") or {}
            if off.get("median_offset_s") is not None:
                txt += (f"\ncuts vs nearest downbeat: {off['n_before']} before, {off['n_on']} on, "
                        f"{off['n_after']} after (median {1000 * off['median_offset_s']:+.0f} ms)")
            axh.set_title(txt, loc="left", fontsize=9)

    fig.subplots_adjust(left=0.07, right=0.98, top=0.94, bottom=0.08 if has_hist else 0.11)
    from supervisor_app.infra.fileio import atomic_output

    fmt = out_png.suffix.lower().lstrip(".") or "png"
    with atomic_output(out_png, "The plot") as tmp:
        fig.savefig(tmp, dpi=dpi, format=fmt)
    return out_png


# --- CLI -------------------------------------------------------------------------------------------
def add_cli(subparsers) -> None:
    """Register ``analyze FILE [--json OUT] [--plot OUT.png] [--threshold 0.5]``."""
    p = subparsers.add_parser(
        "analyze", help="structure analysis of a video or audio file (shots, beats, segments, language of clips)")
    p.add_argument("file", help="a video or audio file")
    p.add_argument("--json", metavar="OUT", default=None,
                   help="write the full analysis as JSON to OUT ('-' for standard output)")
    p.add_argument("--plot", metavar="OUT.png", default=None, help="draw the analysis to a PNG")
    p.add_argument("--threshold", type=float, default=0.5, help="shot threshold on the cut probability (0.5)")
    p.add_argument("--segments", default=",".join(DEFAULT_ALGORITHMS),
                   help="MSAF algorithms, comma-separated (default: foote,sf,olda)")
    p.add_argument("--no-cache", action="store_true", help="recompute everything (ignore and skip the cache)")
    from supervisor_app.cli.progress_line import add_quiet_argument

    add_quiet_argument(p)
    p.set_defaults(func=cmd_analyze)


def _summary(a: dict) -> str:
    lines = [f"{Path(a['path']).name}: {a['duration_s']:.1f} s"]
    if "shots" in a:
        lines.append(f"  shots: {len(a['shots'])} ({len(a['cuts_s'])} cuts)")
    if "tempo_bpm" in a:
        lines.append(f"  tempo: {a['tempo_bpm']:.1f} BPM, {a['meter']} beats per bar, "
                     f"{len(a['downbeats_s'])} downbeats")
    for name, b in (a.get("segments") or {}).items():
        lines.append(f"  segments ({name}): " + ", ".join(f"{t:.1f}" for t in b))
    if a.get("sync_suggestions"):
        lines.append("  sync suggestions: " + ", ".join(f"{s['time_s']:.1f} s ({s['kind']}, {s['strength']:.2f})"
                                                         for s in a["sync_suggestions"]))
    loc = a.get("language_of_clips")
    if loc:
        def f(x):
            return "n/a" if x is None else f"{x:.2f}"

        lines.append(f"  language of clips: Δbeat {loc['delta_beat_s']:.2f} s, Δbar {loc['delta_bar_s']:.2f} s, "
                     f"Δmax_shot {f(loc['delta_max_shot_s'])} s, S_seg {f(loc['S_seg'])}, S_bar {f(loc['S_bar'])}")
    for name, msg in a.get("errors", {}).items():
        lines.append(f"  {name} failed: {msg}")
    return "\n".join(lines)


def cmd_analyze(args) -> int:
    """The ``analyze`` command; returns the exit code (0, or 2 when no analyzer produced anything)."""
    algos = tuple(a.strip() for a in str(args.segments).split(",") if a.strip())
    path = Path(args.file)
    if not path.exists():
        raise errors.FileMissingError(path)
    from supervisor_app.infra.outputs import IMAGES, JSON, check_output

    if args.json and args.json != "-":
        check_output(args.json, JSON, "The JSON file")
    if args.plot:
        check_output(args.plot, IMAGES, "The plot")

    from supervisor_app.cli.progress_line import ProgressLine

    with ProgressLine(quiet=getattr(args, "quiet", False)) as line:
        a = analyze_file(path, segment_algorithms=algos, shot_threshold=args.threshold,
                         progress=line.fraction_only(f"analysing {path.name}"), cache=not args.no_cache)
    if args.json == "-":
        print(json.dumps(a, indent=1))
    else:
        if args.json:
            from supervisor_app.infra.fileio import atomic_write_text

            atomic_write_text(Path(args.json), json.dumps(a, indent=1))
        print(_summary(a))
    if args.plot:
        plot_analysis(a, args.plot)
    produced = any(k in a for k in ("shots", "beats_s", "segments"))
    if not produced:
        msgs = "; ".join(a["errors"].values()) or "nothing to analyse"
        print(f"error: no analysis succeeded for {path.name!r}: {msgs}", file=sys.stderr)
        return 2
    return 0
