#!/usr/bin/env python3
"""Screenshot of the desktop app: the Big Buck Bunny clip, its recommendations and an aligned edit.

    .venv/bin/python scripts/screenshot.py [--out docs/screenshots/main_window.png] [--theme dark|light] [--zoom N]
    .venv/bin/python scripts/screenshot.py --series --video FILM.mp4 --out docs/screenshots   # the docs' set

Builds (once, a few minutes; then reused) a catalog of the music shipped in ``resources/demo/music``
in the app's data folder and indexes it, then opens the main window (under ``xvfb-run -a`` when there
is no display), waits for the recommendations and the first candidate's mockup, plays a moment of
the preview and saves the window as PNG.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"


def ensure_demo_catalog(path: Path) -> Path:
    """A catalog of the shipped demo music, indexed for recommendation (nothing redone when up to date).

    The same rule as the demo's catalog (:func:`supervisor_app.services.demo.add_demo_music`): the test
    clips (``demo.TEST_CLIPS``, the 5 s trumpet) are left out, and removed from a catalog built before."""
    from supervisor_app.catalog import Catalog
    from supervisor_app.indexing.pipeline import index_catalog
    from supervisor_app.services.demo import add_demo_music

    with Catalog.create(path) as cat:
        report = add_demo_music(cat)
        if report.added:
            print(f"catalog {path}: {report.summary()}", flush=True)
        t0 = time.monotonic()
        summary = index_catalog(cat, progress=lambda fraction, stage: print(
            f"  indexing {100 * (fraction or 0):.0f} % {stage}", flush=True)).summary()
        if time.monotonic() - t0 > 1.0:
            print(f"catalog {path}: {summary}", flush=True)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(REPO / "docs" / "screenshots" / "main_window.png"))
    p.add_argument("--video", default=str(BBB))
    p.add_argument("--catalog", default=None, help="catalog to use (default: the shipped demo music, indexed once)")
    p.add_argument("--theme", choices=("dark", "light", "system"), default="dark")
    p.add_argument("--size", default="1600x1000", help="window size WxH")
    p.add_argument("--seek", type=float, default=11.0, help="video time to show (s)")
    p.add_argument("--sync-point", type=float, action="append", default=[], metavar="SECONDS",
                   help="mark a sync point before the screenshot (repeatable)")
    p.add_argument("--brief", default="", help="keywords for the brief search")
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--zoom", type=int, default=0, help="zoom the timeline in this many steps (1.6x each)")
    p.add_argument("--player", choices=("qt", "vlc"), default="qt", help="preview backend")
    p.add_argument("--series", action="store_true",
                   help="--out is a folder: both themes, 1920x1080 and 1280x800, zoomed out and in")
    args = p.parse_args(argv)

    from supervisor_app.infra.errors import SupervisorError
    from supervisor_app.gui.screenshot import grab_main_window
    from supervisor_app.infra.paths import data_dir

    catalog = Path(args.catalog) if args.catalog else ensure_demo_catalog(data_dir() / "screenshot-demo.sqlite")
    w, h = (int(x) for x in args.size.lower().split("x"))
    if args.series and args.out.endswith(".png"):
        args.out = str(Path(args.out).parent)
    try:
        grab_main_window(args.video, catalog, args.out, theme=args.theme, size=(w, h), seek_s=args.seek,
                         sync_points_s=args.sync_point, brief=args.brief, timeout_s=args.timeout,
                         zoom_steps=args.zoom, series=args.series, player=args.player)
    except SupervisorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
