"""``supervisor-app gui [VIDEO] [--catalog PATH]``: open the desktop app (registered with ``add_cli``)."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def add_cli(subparsers) -> None:
    """Register the ``gui`` command on the main parser's sub-commands."""
    p = subparsers.add_parser("gui", help="open the desktop app (player, timeline, recommendations, playlists)")
    p.add_argument("video", nargs="?", help="video to open at start")
    from supervisor_app.cli.args import add_catalog_argument

    add_catalog_argument(p)
    p.add_argument("--brief", metavar="WORDS", default=None, help="keywords for the brief, e.g. 'upbeat jazz brass'")
    p.set_defaults(func=cmd_gui)


def cmd_gui(args) -> int:
    from supervisor_app.infra.errors import UsageError

    if args.video and not Path(args.video).exists():
        raise UsageError(f"The video {args.video} does not exist.")
    if args.catalog and not Path(args.catalog).expanduser().exists():
        raise UsageError(f"No catalog at {args.catalog}: create one with 'supervisor-app catalog create --catalog {args.catalog}'.")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                                 or os.environ.get("QT_QPA_PLATFORM")):
        raise UsageError("There is no display to open the app on: run it in a desktop session, "
                         "or under Xvfb (xvfb-run -a supervisor-app gui ...).")
    try:
        from supervisor_app.gui.app import run_app
    except ImportError as e:
        raise UsageError(f"The desktop app needs PySide6-Essentials, pyqtgraph and python-vlc ({e}).") from None
    return run_app(video=args.video, catalog=args.catalog, brief=args.brief)
