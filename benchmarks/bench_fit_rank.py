"""Fit ranking before and after the form planner (issue 13): the true track's rank among a catalog.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_fit_rank.py --catalog CATALOG.sqlite --queries 12

Synthetic edits as in :mod:`supervisor_app.evaluation.fit_calibration` (seed 1, 30 s pictures, the
default :class:`EditorStyle`): a picture is cut to a query track played from a start downbeat, either a
random one (``random``, the calibration's set-up) or its first one (``start``: the track's own start, as a
form-aware editor plays it). Every catalog track with downbeats is then fitted to the picture by
``legacy`` (``best_start_offset`` over ``build_edit`` at git f4dace9, loaded at run time; ranked by its
calibrated sync score) and by the form planner (``ranking.form_score.fit_to_picture`` without audio;
ranked by its sync score alone and by ``fit`` = sync + form score, what ``recommend`` sorts by). Prints the
true track's mean rank (± 95 % CI), R@1 and R@5 beside chance, and the load average.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--catalog", required=True, help="an indexed catalog (beats + OLDA sections)")
    ap.add_argument("--queries", type=int, default=12)
    ap.add_argument("--picture-s", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n-random", type=int, default=50, help="random offsets of the sync score's null")
    args = ap.parse_args(argv)
    from bench_edit_quality import load_legacy

    from supervisor_app.catalog import Catalog
    from supervisor_app.edit.form import TrackForm
    from supervisor_app.evaluation.fit_calibration import (
        EditorStyle,
        choose_queries,
        covering_offsets,
        make_editor_cuts,
        calibration_tracks_from_catalog,
    )
    from supervisor_app.ranking.form_score import fit_to_picture

    with Catalog.open(args.catalog) as cat:
        events = calibration_tracks_from_catalog(cat, "olda")
    D = args.picture_s
    queries = choose_queries(events, args.queries, D)
    legacy = load_legacy()
    ranks: dict[tuple[str, str], list[float]] = {}
    t0 = time.time()
    for mode in ("random", "start"):
        for qi, q in enumerate(queries):
            rng = np.random.default_rng(args.seed * 1000 + qi)
            offs = covering_offsets(q, D)
            o = float(rng.choice(offs)) if mode == "random" else float(offs[0])
            se = make_editor_cuts(q, o, D, EditorStyle(), rng)
            scores: dict[str, dict[str, float]] = {"legacy sync": {}, "form sync": {}, "form fit": {}}
            for t in events:
                _, _, sc = legacy(D, se.cuts_s, None, t.duration_s, t.downbeats_s, t.boundaries_s,
                                  n_random=args.n_random)
                scores["legacy sync"][t.key] = float(sc.score)
                fit = fit_to_picture(D, se.cuts_s, None, TrackForm.build(t.duration_s, t.downbeats_s, t.boundaries_s),
                                     n_random=args.n_random)
                scores["form sync"][t.key] = float(fit.sync.score)
                scores["form fit"][t.key] = float(fit.fit)
            for name, s in scores.items():
                vals = np.array(list(s.values()))
                true = s[q.key]
                ranks.setdefault((mode, name), []).append(1 + np.sum(vals > true) + 0.5 * (np.sum(vals == true) - 1))
            print(f"{mode} query {qi + 1}/{len(queries)} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    n = len(events)
    print(f"{len(queries)} queries x {n} tracks, {D:g} s pictures, seed {args.seed}; chance mean rank {(n + 1) / 2:.1f}, "
          f"R@1 {100 / n:.1f} %, R@5 {500 / n:.1f} %; load average {tuple(round(x, 2) for x in os.getloadavg())}")
    print(f"{'start of the true edit':<24} {'ranking':<12} {'mean rank':>15} {'R@1':>6} {'R@5':>6}")
    for (mode, name), r in ranks.items():
        r = np.array(r)
        ci = 1.96 * r.std(ddof=1) / np.sqrt(len(r)) if len(r) > 1 else float("nan")
        print(f"{mode:<24} {name:<12} {r.mean():>8.1f} ± {ci:4.1f} {np.mean(r <= 1) * 100:>5.0f}% "
              f"{np.mean(r <= 5) * 100:>5.0f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
