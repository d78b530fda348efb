"""The app as a user drives it: drop a picture it has never seen, with a catalog open → the first list →
the picture analysed → the final list, with the provisional list (quick cuts) on and off.

Each run is a fresh process (``--child``) with the real core (``CoreBackend``) and the window offscreen:
it opens a fresh copy of the picture (stream copy with a new comment tag: new bytes, so nothing is
cached), then polls the window every 50 ms and records, in seconds from the drop:

* ``first list``: the first rows in the recommendations list (provisional or not);
* ``picture analysed``: the window has the picture's TransNetV2 analysis (its timeline is drawn);
* ``final list``: ``k`` final rows and no recommendation job running;
* ``edit ready``: the selected candidate's edit cut to the picture.

"off" runs the same window with the backend's ``analyze_video`` stripped of its ``provisional`` hook
(the window then ranks once, after the shot detection, as before the provisional list existed).
Runs alternate on and off; the load average is printed beside each (the machine may be shared).

    .venv/bin/python benchmarks/bench_app_first_list.py --catalog /work/pool-catalog/pool.sqlite \\
        --picture /work/scratch/media/bbb_60.mp4 --repeats 2
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def child(picture: Path, catalog: Path, mode: str, k: int, work: Path) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from supervisor_app.gui.app import create_window
    from supervisor_app.gui.backend import CoreBackend

    backend = CoreBackend(work / "work")
    if mode == "off":
        analyze = backend.analyze_video
        backend.analyze_video = lambda *a, provisional=None, **kw: analyze(*a, **kw)  # type: ignore[method-assign]
    win = create_window(backend=backend, settings=QSettings(str(work / "settings.ini"), QSettings.IniFormat),
                        catalog=str(catalog), theme="light")
    win.resize(1600, 1000)
    win.show()
    panel, seen = win.recommendations, {}
    t0 = time.perf_counter()

    def tick() -> None:
        t = time.perf_counter() - t0
        final = win.video is not None and not panel.is_provisional()
        if panel.candidates():
            seen.setdefault("first list", t)
        if win.video is not None:
            seen.setdefault("picture analysed", t)
        if final and len(panel.candidates()) >= k and not win.recommend_slot.is_busy():
            seen.setdefault("final list", t)
        if "final list" in seen and win.preview is not None and not win.preview_slot.is_busy():
            seen.setdefault("edit ready", t)
        if "edit ready" in seen or t > 600:
            app.quit()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(50)
    win.open_video(str(picture))
    app.exec()
    return {key: round(v, 2) for key, v in seen.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--catalog", type=Path, required=True, help="an indexed catalog (a copy is used)")
    ap.add_argument("--picture", type=Path, action="append", default=[])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--child", nargs=3, metavar=("PICTURE", "MODE", "WORK"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        pic, mode, work = args.child
        print("RESULT " + json.dumps(child(Path(pic), args.catalog, mode, args.k, Path(work))), flush=True)
        return 0
    if not args.picture:
        ap.error("give at least one --picture")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-app-first-list-") as tmp:
        cat = Path(tmp) / args.catalog.name
        shutil.copy2(args.catalog, cat)
        for src in args.picture:
            for rep in range(args.repeats):
                for mode in ("on", "off"):
                    work = Path(tmp) / f"{mode}-{rep}-{src.stem}"
                    work.mkdir()
                    pic = work / f"picture{src.suffix}"
                    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c", "copy", "-metadata",
                                    f"comment=bench-app-{time.time()}", str(pic)], check=True)
                    load = _load()
                    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
                    out = subprocess.run([sys.executable, __file__, "--catalog", str(cat), "-k", str(args.k),
                                          "--child", str(pic), mode, str(work)], capture_output=True, text=True,
                                         env=env, cwd=tmp)
                    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
                    if line is None:
                        raise RuntimeError(f"the app run failed:\n{out.stderr[-3000:]}")
                    r = dict(json.loads(line[7:]), picture=src.name, mode=mode, rep=rep, load=load)
                    rows.append(r)
                    print(r, flush=True)
    print(f"\n### The app: drop → lists (catalog {args.catalog.name}, k = {args.k}; seconds from the drop)\n")
    print("| picture | provisional list | first list | picture analysed | final list | edit ready | load (1/5/15) |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['picture']} | {r['mode']} | {r.get('first list', '-')} | {r.get('picture analysed', '-')} | "
              f"{r.get('final list', '-')} | {r.get('edit ready', '-')} | {r['load']} |")
    print(f"\nload average at the end {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
