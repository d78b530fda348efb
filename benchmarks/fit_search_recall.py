"""Does the quick fit keep the planner's best tracks? (``supervisor_app.ranking.search``)

For each picture, every metric track of a catalog is cut by the planner (the exhaustive fit, no audio,
as ``recommend`` ranks before its audio re-plan) and scored by the quick fit; the table gives, for the
planner's top k, their worst position in the quick-fit order (the selection keeps the first
``n_planned(n, k)``), and the same for a random order (the trivial baseline).

    .venv/bin/python benchmarks/fit_search_recall.py --catalog /work/pool-catalog/pool.sqlite \
        --pictures /work/scratch/media/bbb_60.mp4,/work/scratch/media/bbb_180.mp4 -k 10
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> int:
    from supervisor_app.catalog.resolve import open_catalog
    from supervisor_app.edit.form import TrackForm
    from supervisor_app.edit.planner import edit_mode
    from supervisor_app.ranking.fit_cache import fit_to_picture
    from supervisor_app.ranking.search import best_cut, metric_rows, n_planned, quick_fits
    from supervisor_app.services.recommend import _track_music_events
    from supervisor_app.services.video_analysis import analyze_video

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--pictures", required=True, help="comma-separated video files")
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--max-tracks", type=int, default=0, help="only the first N tracks (0: all)")
    args = ap.parse_args(argv)
    print(f"load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    with open_catalog(args.catalog) as cat:
        tracks = cat.tracks()
        if args.max_tracks:
            tracks = tracks[:args.max_tracks]
        print("| picture | metric tracks | planned (n_planned) | worst quick-fit position of the planner's top k "
              "| same, random order (median of 200) | top k all kept |")
        print("|---|---:|---:|---:|---:|---|")
        for pic in [p for p in args.pictures.split(",") if p]:
            va = analyze_video(pic, segmentation="shots")
            forms, rows = [], []
            for t in tracks:
                ev, _ = _track_music_events(cat, t, "olda")
                if ev is None or edit_mode(ev, va.duration_s) != "metric":
                    continue
                try:
                    f = TrackForm.build(float(t.duration_s), ev.downbeats_s, ev.boundaries_s)
                except Exception:  # noqa: BLE001 - a track that cannot be cut is not ranked either way
                    continue
                forms.append(f)
                rows.append(metric_rows(va.duration_s, f.duration_s, f.downbeats_s, f.section_idx,
                                        best_cut(va.cuts_s, va.cut_probs_25hz, va.duration_s)))
            exhaustive = np.array([fit_to_picture(va.duration_s, va.cuts_s, va.cut_probs_25hz, f).fit for f in forms])
            q = quick_fits(va.duration_s, va.cuts_s, va.cut_probs_25hz, rows)
            quick = np.array([x.score for x in q])
            n = len(forms)
            k = min(args.k, n)
            top = np.lexsort((np.arange(n), -exhaustive))[:k]
            pos = np.empty(n, int)
            pos[np.lexsort((np.arange(n), -quick))] = np.arange(n)
            worst = int(pos[top].max()) + 1
            rng = np.random.default_rng(0)
            rand = [int(np.max(np.argsort(rng.permutation(n))[top])) + 1 for _ in range(200)]
            keep = n_planned(n, args.k)
            print(f"| {Path(pic).name} ({va.duration_s:.0f} s) | {n} | {keep} | {worst} | {int(np.median(rand))} | "
                  f"{'yes' if worst <= keep else 'NO'} |", flush=True)
    print(f"load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
