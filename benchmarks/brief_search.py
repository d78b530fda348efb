"""Brief search vs the previous keyword matcher: precision@10 per brief on the pool.

    PYTHONPATH=. python benchmarks/brief_search.py --catalog /work/scratch/catalog/pool-brief.sqlite

Relevance: benchmarks/briefs_relevance.csv (hand-written before any search was run; see its header).
Systems: ``ranking`` (supervisor_app.briefs.search.rank_brief), ``keywords`` (the matcher `search` used before,
benchmarks/brief_keyword_baseline.py: it returns only tracks with a matching tag, so its list may be
shorter than 10: missing places count as misses), and ``random`` (the expected P@10 of a random order,
= relevant / tracks).
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_relevance(path=HERE / "briefs_relevance.csv") -> list[tuple[str, set[str]]]:
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        brief, rel = line.split(";", 1)
        rows.append((brief.strip(), {r.strip() for r in rel.split("|") if r.strip()}))
    return rows


def rel_key(path: str) -> str:
    p = Path(path)
    return f"{p.parent.name}/{p.name}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--catalog", required=True)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--csv", default=None, help="also write the per-brief table here")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    import brief_keyword_baseline as kw

    from supervisor_app.briefs.search import rank_brief
    from supervisor_app.catalog import Catalog

    k = args.k
    table = []
    t0 = time.perf_counter()
    with Catalog.open(args.catalog) as cat:
        keys = {t.id: rel_key(t.path) for t in cat.tracks()}
        n = len(keys)
        for brief, rel in load_relevance():
            missing = rel - set(keys.values())
            if missing:
                raise SystemExit(f"relevance list names files not in the catalog: {sorted(missing)}")
            t1 = time.perf_counter()
            res = rank_brief(cat, brief, limit=k)
            t_rank = time.perf_counter() - t1
            ours = [keys[m.track_id] for m in res.matches]
            t1 = time.perf_counter()
            base = [keys[m.track_id] for m in kw.search_brief(cat, brief, limit=k)]
            t_kw = time.perf_counter() - t1
            table.append({"brief": brief, "relevant": len(rel), "p10_ranking": sum(x in rel for x in ours[:k]) / k,
                          "p10_keywords": sum(x in rel for x in base[:k]) / k, "keywords_returned": len(base),
                          "p10_random": len(rel) / n, "not_understood": res.not_understood,
                          "s_ranking": t_rank, "s_keywords": t_kw})
    print(f"{n} tracks; P@{k} per brief (loadavg {tuple(round(x, 2) for x in os.getloadavg())}, loaded machine)")
    print(f"{'brief':<42} {'rel':>3} {'ranking':>8} {'keywords':>8} {'(kw n)':>6} {'random':>7}")
    for r in table:
        print(f"{r['brief'][:42]:<42} {r['relevant']:>3} {r['p10_ranking']:>8.2f} {r['p10_keywords']:>8.2f} "
              f"{r['keywords_returned']:>6} {r['p10_random']:>7.2f}" + (f"  not understood: {r['not_understood']}"
                                                                       if r["not_understood"] else ""))
    mean = lambda key: sum(r[key] for r in table) / len(table)  # noqa: E731
    print(f"{'mean':<42} {'':>3} {mean('p10_ranking'):>8.2f} {mean('p10_keywords'):>8.2f} {'':>6} "
          f"{mean('p10_random'):>7.2f}")
    print(f"time per brief: ranking {mean('s_ranking'):.3f} s, keywords {mean('s_keywords'):.3f} s "
          f"(same run; total {time.perf_counter() - t0:.1f} s)")
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(table[0]))
            w.writeheader()
            w.writerows(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
