"""The app's second ranking of a picture: in one process (as the app keeps it), rank a picture whose shots
are cached, then rank it again (other k, as when the user changes a setting) — wall and CPU seconds of each.

Each tree (``--tree``, repeatable: e.g. an old checkout beside this one) runs in its own fresh process on a
copy of the catalog; runs alternate between trees and the load average is printed beside each.

    .venv/bin/python benchmarks/bench_rerank.py --catalog CATALOG.sqlite --picture bbb_60.mp4 \\
        [--tree OLD_CHECKOUT --tree .] [--repeats 2]
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


def child(catalog: Path, picture: Path, work: Path) -> dict:
    from supervisor_app.gui.backend import CoreBackend, RecommendSettings

    backend = CoreBackend(work)
    backend.analyze_video(str(picture))  # the picture's shots, cached (not timed)
    out = {}
    for name, k in (("first ranking", 10), ("second ranking", 12)):
        t, c = time.perf_counter(), time.process_time()
        rows = backend.recommend(str(picture), str(catalog), RecommendSettings(k=k, rank_by="sync"))
        out[name] = (round(time.perf_counter() - t, 3), round(time.process_time() - c, 3), len(rows))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--catalog", type=Path, required=True)
    ap.add_argument("--picture", type=Path, required=True)
    ap.add_argument("--tree", action="append", default=[])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(child(*(Path(x) for x in args.child))), flush=True)
        return 0
    trees = [Path(t).resolve() for t in args.tree] or [ROOT]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-rerank-") as tmp:
        for rep in range(args.repeats):
            for i, tree in enumerate(trees):
                work = Path(tmp) / f"{rep}-{i}"
                work.mkdir()
                cat = work / args.catalog.name
                shutil.copy2(args.catalog, cat)
                load = "/".join(f"{x:.1f}" for x in os.getloadavg())
                env = dict(os.environ, PYTHONPATH=str(tree))
                proc = subprocess.run([sys.executable, str(tree / "benchmarks" / "bench_rerank.py"), "--catalog",
                                       str(cat), "--picture", str(args.picture), "--child", str(cat),
                                       str(args.picture.resolve()), str(work / "app")],
                                      capture_output=True, text=True, env=env, cwd=tmp)
                line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
                if line is None:
                    raise RuntimeError(proc.stderr[-3000:])
                r = json.loads(line[7:])
                rows.append((tree.name or str(tree), r, load))
                print(rows[-1], flush=True)
    print(f"\n### One process, picture {args.picture.name} (shots cached), catalog {args.catalog.name}\n")
    print("| tree | first ranking: wall / CPU s | second ranking: wall / CPU s | load (1/5/15) |")
    print("|---|---:|---:|---|")
    for name, r, load in rows:
        a, b = r["first ranking"], r["second ranking"]
        print(f"| {name} | {a[0]} / {a[1]} | {b[0]} / {b[1]} | {load} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
