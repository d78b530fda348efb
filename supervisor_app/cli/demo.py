"""``supervisor-app demo``: the main job on the embedded demo media (:mod:`supervisor_app.services.demo`), then
the app opened on it when a display is available; headless, everything is written to the output folder and
the command says where."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from supervisor_app.services.demo import DEMO_BRIEF, DEMO_VIDEO, build_demo_catalog, demo_catalog_path, run_headless


def _say(msg: str) -> None:
    print(msg, flush=True)


def has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def cmd_demo(args) -> int:
    from supervisor_app.cli.progress_line import ProgressLine
    from supervisor_app.cli.recommend import print_table

    with ProgressLine("building the demo catalog") as line:
        cat = build_demo_catalog(include_pool=not args.no_pool, progress=line)
    try:
        info = run_headless(cat, Path(args.video), args.brief, k=args.k,
                            show_results=lambda res, keys: print_table(res, keys=keys))
    finally:
        cat.close()
    out = info["out"]
    gui = not args.headless and has_display()
    if not gui:
        shot = out / "screenshot.png"
        try:
            from supervisor_app.gui.screenshot import grab_main_window

            grab_main_window(Path(args.video), demo_catalog_path(), shot, brief=args.brief, log=lambda m: None)
        except ModuleNotFoundError:
            shot = None
        except Exception as e:  # a screenshot is a bonus: never fail the headless job for it
            print(f"note: no screenshot ({e})", file=sys.stderr)
            shot = None
        _say(f"\nNo display: ran headless. Results are in {out}:")
        _say("  recommendations.json  ranked candidates with scores, alignment and edit")
        _say("  mockup.mp4 / mockup.wav  the first candidate cut to the picture")
        _say("  mockup.otio / mockup.xml / mockup.edl  the same edit for editing software")
        if shot:
            _say("  screenshot.png  the app's main window on this demo")
        return 0
    _say(f"\nResults are in {out}; opening the app…")
    from supervisor_app.gui.app import run_app

    return run_app(video=str(args.video), catalog=str(demo_catalog_path()), brief=args.brief)


def add_cli(sub) -> None:
    p = sub.add_parser("demo", help="the main job on the embedded demo (catalog, candidates, mockup, app)")
    p.add_argument("--video", default=str(DEMO_VIDEO), help="video to use (default: the Big Buck Bunny clip)")
    p.add_argument("--brief", default=DEMO_BRIEF, help=f"keywords (default: {DEMO_BRIEF!r})")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--headless", action="store_true", help="never open the app")
    p.add_argument("--no-pool", action="store_true", help="leave the music pool out even when fetched")
    p.set_defaults(func=cmd_demo)
