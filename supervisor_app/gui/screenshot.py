"""A PNG of the main window with a video, its recommendations and the first candidate's aligned edit.

:func:`grab_main_window` works with or without a display: without one it re-runs itself under
``xvfb-run -a`` (so VLC can draw the picture), and only when Xvfb is missing renders offscreen (the
video area then stays black). ``python -m supervisor_app.gui.screenshot VIDEO CATALOG OUT`` is the
same from the command line.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

from supervisor_app.infra.errors import SupervisorError

_CHILD_ENV = "SUPERVISOR_SCREENSHOT_CHILD"


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# the documentation's series: (file name, theme, window size, timeline zoom steps of 1.6x around the playhead)
SERIES = (
    ("main_window.png", "dark", (1920, 1080), 0),
    ("main_window_zoomed.png", "dark", (1920, 1080), 6),
    ("main_window_light.png", "light", (1920, 1080), 0),
    ("main_window_light_zoomed.png", "light", (1920, 1080), 6),
    ("main_window_1280x800.png", "dark", (1280, 800), 0),
    ("main_window_1280x800_light_zoomed.png", "light", (1280, 800), 4),
)


def grab_main_window(video: str | Path, catalog: str | Path, out: str | Path, *, theme: str = "dark",
                     size: tuple[int, int] = (1600, 1000), seek_s: float = 11.0, sync_points_s: Sequence[float] = (),
                     brief: str = "", timeout_s: float = 900.0, zoom_steps: int = 0, series: bool = False,
                     player: str = "qt", log=print) -> Path:
    """Open the app on ``video`` and ``catalog``, wait for recommendations and the first mockup, save ``out``.

    ``seek_s``: the video time shown; ``sync_points_s``: sync points marked first; ``brief``: keywords
    for the brief search; ``zoom_steps``: zoom the timeline in that many times (1.6x each) around the
    playhead. ``series``: ``out`` is a folder and every shot of :data:`SERIES` (both themes, 1920x1080
    and 1280x800, zoomed out and in) is taken in one session. Raises :class:`SupervisorError` with
    one sentence when it cannot finish. ``player``: the preview backend ("qt" or "vlc").
    """
    out = Path(out)
    args = [str(video), str(catalog), str(out), "--theme", theme, "--size", f"{size[0]}x{size[1]}",
            "--seek", str(seek_s), "--timeout", str(timeout_s), "--zoom", str(zoom_steps), "--player", player] + [
        a for t in sync_points_s for a in ("--sync-point", str(t))]
    if brief:
        args += ["--brief", brief]
    if series:
        args += ["--series"]
    if not _has_display() and not os.environ.get(_CHILD_ENV) and shutil.which("xvfb-run"):
        env = dict(os.environ, **{_CHILD_ENV: "1"})
        env.pop("QT_QPA_PLATFORM", None)
        cmd = ["xvfb-run", "-a", "-s", "-screen 0 1920x1200x24", sys.executable, "-m", "supervisor_app.gui.screenshot", *args]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                  timeout=float(getattr(_parse(args), "timeout", 300) or 300) + 120)
        except subprocess.TimeoutExpired:
            raise SupervisorError("The screenshot could not be taken under Xvfb: the app did not finish in time.") from None
        for line in proc.stdout.splitlines():
            log(line)
        if proc.returncode != 0 or not out.exists():
            for line in proc.stderr.splitlines()[-20:]:
                log(line)
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise SupervisorError(f"The screenshot could not be taken under Xvfb ({last}).")
        return out
    return _grab_here(_parse(args), log=log)


def _parse(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m supervisor_app.gui.screenshot", description=__doc__.splitlines()[0])
    p.add_argument("video")
    p.add_argument("catalog")
    p.add_argument("out")
    p.add_argument("--theme", choices=("dark", "light", "system"), default="dark")
    p.add_argument("--size", default="1600x1000", help="window size WxH")
    p.add_argument("--seek", type=float, default=11.0, help="video time to show (s)")
    p.add_argument("--sync-point", type=float, action="append", default=[], metavar="SECONDS")
    p.add_argument("--brief", default="", help="keywords for the brief search")
    p.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    p.add_argument("--zoom", type=int, default=0, help="zoom the timeline in this many steps (1.6x each)")
    p.add_argument("--series", action="store_true", help="OUT is a folder: take the documentation's series")
    p.add_argument("--player", choices=("qt", "vlc"), default="qt", help="preview backend")
    return p.parse_args(argv)


def _grab_here(args: argparse.Namespace, log=print, close: bool = True) -> Path:
    if not _has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("SUPERVISOR_VLC_ARGS", "--aout=dummy")  # no sound card needed for a picture
    from PySide6.QtCore import QSettings

    from supervisor_app.gui.app import create_window, get_app, wait_until

    app = get_app()
    settings = QSettings(str(Path(tempfile.mkdtemp(prefix="supervisor-screenshot-")) / "settings.ini"), QSettings.IniFormat)
    settings.setValue("player/backend", args.player)
    w, h = (int(x) for x in args.size.lower().split("x"))
    win = create_window(catalog=str(args.catalog), settings=settings, theme=args.theme)
    if win.catalog is None:
        win.close()
        raise SupervisorError(f"The catalog {args.catalog} could not be opened.")
    win.resize(w, h)
    win.show()
    if args.brief:
        win.recommendations.brief_edit.setText(args.brief)
    messages = []
    win.message_shown.connect(messages.append)
    t0 = time.monotonic()
    win.open_video(str(args.video))
    ready = wait_until(lambda: bool(win.recommendations.candidates()) and not win.recommend_slot.is_busy()
                       and not win.recommendations.is_provisional()  # the final list, not the first one
                       and win.preview is not None and not win.preview_slot.is_busy(), args.timeout)
    if not ready:
        win.close()
        raise SupervisorError(f"No recommendations after {args.timeout:.0f} s ({messages[-1] if messages else 'no message'}).")
    log(f"recommendations and mockup ready in {time.monotonic() - t0:.1f} s")
    for t in args.sync_point:
        win.seek(t)
        wait_until(lambda: False, 0.3)
        win.mark_sync_point()
        wait_until(lambda: win.preview is not None and win.preview.sync_points_s == tuple(win.sync_points)
                   and not win.preview_slot.is_busy(), 120)
    win.seek(args.seek)
    win.play()
    wait_until(lambda: False, 1.2)
    win.pause()
    wait_until(lambda: False, 0.8)
    shots = ([(Path(args.out) / name, theme, size, zoom) for name, theme, size, zoom in SERIES] if args.series
             else [(Path(args.out), args.theme, (w, h), args.zoom)])
    from supervisor_app.gui.app import apply_theme

    for out, theme, (sw, sh), zoom in shots:
        dark = apply_theme(app, theme)
        win.set_timeline_theme(dark)
        win.resize(sw, sh)
        win._initial_layout()  # the first-start layout for this size (docks and splitter)
        win.timeline.reset_zoom()
        win.timeline.set_playhead(win.player.position_s())
        for _ in range(zoom):
            win.timeline.zoom(1.6)
        wait_until(lambda: False, 1.0)
        out.parent.mkdir(parents=True, exist_ok=True)
        if app.platformName() == "xcb":  # grab the screen: it includes the picture VLC draws in its own window
            geo = win.frameGeometry()
            image = win.screen().grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
        else:
            image = win.grab()
        if not image.save(str(out)):
            win.close()
            raise SupervisorError(f"The screenshot could not be written to {out}.")
        log(f"screenshot: {out} ({image.width()}x{image.height()}, theme {theme}, zoom {zoom}, "
            f"platform {app.platformName()})")
    if close:  # the one-shot child process skips it: see main()
        win.close()
    return Path(args.out)


def main(argv: Optional[list[str]] = None) -> int:
    try:
        _grab_here(_parse(sys.argv[1:] if argv is None else argv), close=False)
    except SupervisorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    # The PNG is written: end this one-shot process now, without tearing the window down (Qt
    # Multimedia's FFmpeg backend can deadlock when its player stops: GIL against Qt's connection mutex).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
