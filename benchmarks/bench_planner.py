"""Form planner speed (issue 21): today's ``plan_edit`` against the original planner, same work, same run.

The anchor is the planner of commit 9c80096 (``supervisor_app/edit/form.py`` and ``edit/audibility.py``
read with ``git show``, tests/_form_reference.py): the last one before it was made faster. For every
indexed track of a catalog (default: a copy of the shared pool catalog, 51 real tracks) and each
picture (default: the 60 s and 3-minute Big Buck Bunny pictures, their shots detected once and read
from the app's analysis cache), both planners cut the track to the picture's cuts, without and with the
track's splice features (``cached_track_features``, what ``recommend`` re-plans its finalists with).
Each pass runs every track once through the reference, then once through today's planner (the per-grid
tables cache emptied first, so no pass profits from an earlier one), ``--repeats`` times; it prints the
CPU milliseconds per call of each (median over the passes), their ratio, and whether every edit is
identical (``repr``: exact floats, reasons and plan numbers).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_planner.py            # the pool catalog, ~1-2 min
    PYTHONPATH=. .venv/bin/python benchmarks/bench_planner.py --catalog my.sqlite --picture film.mp4

Run it in a fresh process; the load average is printed beside each row (a shared machine slows both
planners alike: compare the ratios).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def _load(_=None) -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def tracks_of(catalog_path: Path):
    from supervisor_app.catalog.resolve import open_catalog
    from supervisor_app.services.recommend import _track_music_events

    cat = open_catalog(str(catalog_path))
    out, skipped = [], 0
    for t in cat.tracks():
        ev, why = _track_music_events(cat, t, "olda")  # recommend's music segmentation without a model
        if ev is None:
            skipped += 1
            continue
        out.append((t, np.asarray(ev.downbeats_s, float), np.asarray(ev.boundaries_s, float)))
    return out, skipped


def picture_cuts(path: str):
    from supervisor_app.services.video_analysis import analyze_video

    va = analyze_video(path)
    return float(va.duration_s), np.asarray(va.cuts_s, float)


def plan_all(form_mod, tracks, D, cuts, feats, aud_sr):
    edits, t0 = [], time.process_time()
    for (t, db, bounds), f in zip(tracks, feats):
        try:
            form = form_mod.TrackForm.build(float(t.duration_s), db, bounds, audio=f, sr=aud_sr if f is not None else None)
            edits.append(repr(form_mod.plan_edit(D, cuts, form)))
        except Exception as e:  # the same refusal is the same answer
            edits.append(f"{type(e).__name__}: {e}")
    return time.process_time() - t0, edits


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--catalog", default="/work/pool-catalog/pool.sqlite", help="an indexed catalog (copied first)")
    ap.add_argument("--picture", action="append", help="picture file(s) (default: bbb_60.mp4 and bbb_180.mp4)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    pictures = args.picture or ["/work/scratch/media/bbb_60.mp4", "/work/scratch/media/bbb_180.mp4"]

    from supervisor_app.edit import audibility as aud
    from supervisor_app.edit import form as new
    from tests._form_reference import reference

    ref_form, ref_aud = reference()
    with tempfile.TemporaryDirectory() as tmp:
        cat_path = Path(tmp) / "catalog.sqlite"
        shutil.copyfile(args.catalog, cat_path)
        tracks, skipped = tracks_of(cat_path)
    print(f"# Form planner: today vs commit 9c80096 ({len(tracks)} tracks of {args.catalog}"
          f"{f', {skipped} not analysed' if skipped else ''}; {_load(None)})\n")
    feats_new = [aud.cached_track_features(t.path, t.content_hash) for t, _, _ in tracks]
    feats_ref = [ref_aud.TrackFeatures(f.hop_s, f.chroma, f.mfcc, f.rms_db, f.duration_s, f.energy_rms, f.energy_onset,
                                       f.content_hash) for f in feats_new]
    none = [None] * len(tracks)
    print("| picture | cuts | features | plans | reference ms/call | today ms/call | ratio | identical edits | load |")
    print("|---|---:|---|---:|---:|---:|---:|---|---|")
    all_same = True
    for pic in pictures:
        D, cuts = picture_cuts(pic)
        for with_feats in (False, True):
            t_ref, t_new, same = [], [], True
            for _ in range(args.repeats):
                tr, er = plan_all(ref_form, tracks, D, cuts, feats_ref if with_feats else none, aud.FEATURES_SR)
                new._TABLES.clear()  # each pass builds the grid tables again
                tn, en = plan_all(new, tracks, D, cuts, feats_new if with_feats else none, aud.FEATURES_SR)
                t_ref.append(tr)
                t_new.append(tn)
                same = same and er == en
            all_same = all_same and same
            r, n = statistics.median(t_ref), statistics.median(t_new)
            k = len(tracks)
            print(f"| {Path(pic).name} ({D:.0f} s) | {cuts.size} | {'yes' if with_feats else 'no'} | {k} | "
                  f"{1000 * r / k:.1f} | {1000 * n / k:.1f} | {r / n:.2f}x | {'yes' if same else 'NO'} | {_load(None)} |",
                  flush=True)
    print(f"\nCPU time (process_time) per plan_edit call, median of {args.repeats} passes; every edit "
          f"{'identical' if all_same else 'NOT identical (a bug)'}.")
    return 0 if all_same else 1


if __name__ == "__main__":
    sys.exit(main())
