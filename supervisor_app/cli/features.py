"""``supervisor-app features list|extract``: inspect the frozen extractors and run one on a file."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np


def _cmd_list(args) -> int:
    from supervisor_app.features.registry import list_extractors

    infos = list_extractors()
    if args.json:
        print(json.dumps([asdict(i) for i in infos], indent=2))
        return 0
    for i in infos:
        state = "ok" if i.available else f"missing: pip install {i.missing}"
        mark = "*" if i.default else " "
        print(f"{mark} {i.name:20s} v{i.version}  {i.modality:5s} {i.dim:5d}-d @ {i.rate_hz:g} Hz  [{state}]  {i.description}")
    print("(* = default for its modality)")
    return 0


def _cmd_extract(args) -> int:
    from supervisor_app.infra.fileio import atomic_write_bytes
    from supervisor_app.features.cache import extract_cached
    from supervisor_app.features.registry import get_extractor

    from supervisor_app.cli.progress_line import ProgressLine

    with ProgressLine(quiet=args.quiet) as progress:
        if args.no_cache:
            result = get_extractor(args.name).extract(args.file, progress=progress)
        else:
            result = extract_cached(args.name, args.file, progress=progress)
    print(f"{args.name}: {result.frames.shape[0]} frames x {result.frames.shape[1]} dims at 1 Hz "
          f"({result.times_s[0]:.1f}–{result.times_s[-1]:.1f} s); extra: {sorted(result.extra) or 'none'}")
    if args.out:
        import io

        buf = io.BytesIO()
        np.savez(buf, frames=result.frames, times_s=result.times_s, **result.extra)
        atomic_write_bytes(Path(args.out), buf.getvalue())
        print(f"wrote {args.out}")
    return 0


def add_cli(subparsers) -> None:
    """Register ``features list`` and ``features extract NAME FILE [--out F.npz] [--no-cache]``."""
    from supervisor_app.cli.args import add_quiet_argument

    p = subparsers.add_parser("features", help="frozen feature extractors (YAMNet, ImageNet CNNs, ...)")
    sub = p.add_subparsers(dest="features_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list the extractors and whether they can run here")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=_cmd_list)
    ex = sub.add_parser("extract", help="compute (or read cached) 1 Hz features of one file")
    ex.add_argument("name", help="extractor name (see 'features list')")
    ex.add_argument("file")
    ex.add_argument("--out", help="write frames, times_s and extras to this .npz")
    ex.add_argument("--no-cache", action="store_true", help="recompute and do not store")
    add_quiet_argument(ex)
    ex.set_defaults(func=_cmd_extract)
