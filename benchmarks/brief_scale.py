"""Brief search time against catalog size: the pool's tracks' stored profiles copied N times.

    PYTHONPATH=. python benchmarks/brief_scale.py --catalog /work/scratch/catalog/pool-brief.sqlite -n 2000

Times ``rank_brief`` (this) and the old keyword matcher on the same copied catalog in one run (the
files are not decoded: both read stored analyses only). Prints the load average beside the numbers.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--catalog", required=True)
    ap.add_argument("-n", type=int, default=2000)
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    import brief_keyword_baseline as kw

    from supervisor_app.briefs.search import rank_brief
    from supervisor_app.catalog import Catalog

    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "big.sqlite"
        src = sqlite3.connect(args.catalog)
        out = sqlite3.connect(dst)
        src.backup(out)
        src.close()
        base = out.execute("SELECT max(id) FROM tracks").fetchone()[0]
        cols = [r[1] for r in out.execute("PRAGMA table_info(tracks)") if r[1] != "id"]
        copies = (args.n + base - 1) // base - 1
        for c in range(1, copies + 1):
            out.execute(f"INSERT INTO tracks (id, {', '.join(cols)}) SELECT id + {c * base}, "
                        + ", ".join(f"path || '#{c}'" if k == "path" else k for k in cols) + " FROM tracks WHERE id <= ?",
                        (base,))
            out.execute(f"INSERT INTO analyses SELECT track_id + {c * base}, analyzer, version, result, error, computed_at "
                        "FROM analyses WHERE track_id <= ?", (base,))
            out.execute(f"INSERT INTO embeddings SELECT track_id + {c * base}, model, version, dtype, shape, data, "
                        "computed_at FROM embeddings WHERE track_id <= ? AND model = 'yamnet-classes'", (base,))
        out.commit()
        out.close()
        brief = "calm, hopeful piano, builds to a lift, no vocals, 90-110 bpm"
        with Catalog.open(dst) as cat:
            n = cat.count()
            rank_brief(cat, brief, limit=10)  # warm the caches (calibration, classifier)
            t0 = time.perf_counter()
            rank_brief(cat, brief, limit=10)
            t_rank = time.perf_counter() - t0
            t0 = time.perf_counter()
            kw.search_brief(cat, brief, limit=10)
            t_kw = time.perf_counter() - t0
    print(f"{n} tracks: ranking {t_rank:.2f} s ({1000 * t_rank / n:.2f} ms/track), keywords {t_kw:.2f} s "
          f"({1000 * t_kw / n:.2f} ms/track); ratio {t_rank / t_kw:.1f}x (loadavg "
          f"{tuple(round(x, 2) for x in os.getloadavg())}, loaded machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
