"""``supervisor-app analyze FILE [--json OUT] [--plot OUT.png]``: the structure analysis of one video or audio
file (:mod:`supervisor_app.analysis.report`), printed, written as JSON and drawn (:mod:`supervisor_app.analysis.plot`)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from supervisor_app.analysis.plot import plot_analysis
from supervisor_app.analysis.report import analyze_file
from supervisor_app.analysis.segments import DEFAULT_ALGORITHMS
from supervisor_app.cli.args import add_quiet_argument
from supervisor_app.infra import errors

__all__ = ["add_cli", "cmd_analyze"]


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

    with ProgressLine(f"analysing {path.name}", quiet=getattr(args, "quiet", False)) as line:
        a = analyze_file(path, segment_algorithms=algos, shot_threshold=args.threshold,
                         progress=line, cache=not args.no_cache)
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
