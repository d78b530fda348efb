"""``supervisor-app pool fetch [DEST]``: download the optional real music pool (:mod:`supervisor_app.catalog.pool`)."""
from __future__ import annotations

from pathlib import Path

from supervisor_app.catalog.pool import fetch_pool


def _cmd_fetch(args) -> int:
    from supervisor_app.cli.progress_line import ProgressLine

    with ProgressLine("fetching the music pool", quiet=getattr(args, "quiet", False)) as line:
        fetch_pool(Path(args.dest) if args.dest else None, progress=line)
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("pool", help="the optional real music pool (Debian game music, ~230 tracks)")
    s = p.add_subparsers(dest="pool_command", metavar="ACTION", required=True)
    f = s.add_parser("fetch", help="download and unpack the pool (about 1 GB of packages, a few minutes)")
    f.add_argument("dest", nargs="?", help="destination folder (default: the app's data folder)")
    from supervisor_app.cli.args import add_quiet_argument

    add_quiet_argument(f)
    f.set_defaults(func=_cmd_fetch)
