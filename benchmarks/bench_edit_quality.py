"""Edit quality: do the mockups respect the music's form on pictures of 15 s to 3 minutes? (issue 13)

Run (analyses are cached in the app's data folder; the first run analyses every track, minutes each):

    SUPERVISOR_APP_HOME=/tmp/bench-home PYTHONPATH=. .venv/bin/python benchmarks/bench_edit_quality.py --pool 8

Tracks: the demo music (``resources/demo/music``, all but the 5 s trumpet loop) and, with ``--pool N``,
N tracks of 40-330 s from ``/work/pool`` (or ``--pool-dir``; every k-th of them sorted by path, so the
choice is fixed). Beats (madmom) and sections (MSAF OLDA) as the app computes them.

Pictures: 15, 30, 60, 120 and 180 s, each with two cut lists: ``bbb`` = the real shot cuts of
``big_buck_bunny_0_30.webm`` (TransNetV2, as the app finds them) tiled end to end to the picture's length
(the picture is BBB looped; each loop join is a cut too), and ``synthetic`` = 12 cuts per minute at
uniformly random times (seed 0; no shot under 1 s).

Editors, side by side in one run on the same inputs:

* ``naive``: play the track from 0:00 and fade out at the picture's end (the whole track again from 0:00
  when the picture is longer);
* ``legacy``: the engine as it was (commit f4dace9: ``best_start_offset`` over ``build_edit``, read from
  git history into temporary modules at run time);
* ``form``: the form-aware planner with the track's audio (``edit.form.plan_edit`` through
  ``ranking.form_score.fit_to_picture``: what ``mockup`` and ``recommend``'s finalists get);
* ``form-noaudio``: the same planner without the audio (structural audibility proxy; what ``recommend``
  uses before its audio re-plan, and the GUI's default mockup).

Per edit: the shortest excerpt and the shortest *repeated* excerpt (bars), repeats, the longest run of
the same fragment, splices per minute, the share of splices with both ends on downbeats, the splice
audibility (``edit.audibility.splice_audibility``) over the median of the same measure across the
track's own bar lines (1.0 = as smooth as the track's ordinary bar lines), and the ending (track ending /
section end / fade / mid-phrase, judged by ``edit.form.classify_ending`` the same way for every editor).
Targets at 60-180 s: no fragment shorter than 8 bars repeated, >= 90 % of edits ending on a track ending
or section end, median splice audibility ratio <= 1.0.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from supervisor_app.edit.audibility import splice_audibility  # noqa: E402
from supervisor_app.edit.edl import Edit, Excerpt  # noqa: E402
from supervisor_app.edit.form import TrackForm, describe_edit  # noqa: E402

PICTURES_S = (15, 30, 60, 120, 180)
LEGACY_COMMIT = "f4dace9"
SR = 22050
SYNTH_CUTS_PER_MIN = 12.0


def load_legacy():
    """``best_start_offset`` of the engine as it was, from git history (edl.py + ranking/sync.py)."""
    mods = {}
    for name, rel in (("_legacy_edl", "supervisor_app/edit/edl.py"), ("_legacy_sync", "supervisor_app/ranking/sync.py")):
        src = subprocess.run(["git", "show", f"{LEGACY_COMMIT}:{rel}"], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout
        src = src.replace("from ..edit.edl import", "from _legacy_edl import").replace("from ..", "from supervisor_app.")
        m = types.ModuleType(name)
        m.__file__ = f"<git {LEGACY_COMMIT}:{rel}>"
        sys.modules[name] = m
        exec(compile(src, m.__file__, "exec"), m.__dict__)
        mods[name] = m
    return mods["_legacy_sync"].best_start_offset


def naive_edit(D: float, M: float) -> Edit:
    ex, v = [], 0.0
    while v < D - 1e-9:
        ln = min(M, D - v)
        ex.append(Excerpt(v, v + ln, 0.0, ln, 0.0, "naive"))
        v += ln
    return Edit(ex, D, M, ending="fade", fade_out_s=1.0)


def bbb_cuts(D: float) -> np.ndarray:
    from supervisor_app.services.mockup import video_events

    v = video_events(ROOT / "resources/demo/video/big_buck_bunny_0_30.webm")
    L, c = v["duration_s"], np.asarray(v["cuts_s"], float)
    out = [k * L + c for k in range(int(np.ceil(D / L)) + 1)] + [np.arange(1, int(np.ceil(D / L)) + 1) * L]
    cuts = np.unique(np.concatenate(out))
    return cuts[(cuts > 0.05) & (cuts < D - 0.05)]


def synthetic_cuts(D: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed + int(D))
    cuts = np.sort(rng.uniform(1.0, D - 1.0, max(1, int(round(SYNTH_CUTS_PER_MIN * D / 60)))))
    keep = [cuts[0]]
    for c in cuts[1:]:
        if c - keep[-1] >= 1.0:
            keep.append(c)
    return np.array(keep)


def tracks(n_pool: int, pool_dir: Path) -> list[str]:
    out = [str(p) for p in sorted((ROOT / "resources/demo/music").glob("*")) if "trumpet" not in p.name]
    man = pool_dir / "manifest.csv"
    if n_pool > 0 and man.exists():
        rows = [r for r in csv.DictReader(open(man)) if 40 <= float(r["duration_s"]) <= 330]
        rows.sort(key=lambda r: r["path"])
        step = max(1, len(rows) // 14)
        out += [str(pool_dir / r["path"]) for r in rows[::step]][:n_pool]
    return out


def edit_row(edit, form: TrackForm, natural_median: float) -> dict:
    st = describe_edit(edit, form, with_audibility=False)
    ratios = [splice_audibility(form.audio, SR, a.music_out_s, b.music_in_s) / natural_median
              for a, b in zip(edit.excerpts, edit.excerpts[1:])]
    d = st.to_dict()
    d["splice_ratios"] = [float(r) for r in ratios]
    return d


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pool", type=int, default=0, help="how many pool tracks to add (default 0)")
    ap.add_argument("--pool-dir", default="/work/pool")
    ap.add_argument("--pictures", default=",".join(map(str, PICTURES_S)))
    ap.add_argument("--json", help="write every edit's numbers here")
    args = ap.parse_args(argv)
    from supervisor_app.services.mockup import track_events
    from supervisor_app.media.audio import load_audio
    from supervisor_app.ranking.form_score import fit_to_picture

    legacy_best = load_legacy()
    pictures = [float(x) for x in args.pictures.split(",")]
    cutsets = {(D, kind): (bbb_cuts(D) if kind == "bbb" else synthetic_cuts(D)) for D in pictures
               for kind in ("bbb", "synthetic")}
    rows = []
    times = {"legacy": 0.0, "form": 0.0, "form-noaudio": 0.0}
    paths = tracks(args.pool, Path(args.pool_dir))
    for p in paths:
        t0 = time.time()
        try:
            ev = track_events(p)
        except Exception as e:  # noqa: BLE001 - a track the app cannot analyse is reported and skipped
            print(f"skip {Path(p).name}: {e}", file=sys.stderr)
            continue
        y = load_audio(p, sr=SR, mono=True)
        M = float(ev.duration_s)
        form = TrackForm.build(M, ev.downbeats_s, ev.boundaries_s, audio=y, sr=SR)
        bare = TrackForm.build(M, ev.downbeats_s, ev.boundaries_s)
        nat_med = form.audibility_levels()[0]
        print(f"{Path(p).name}: {M:.0f} s, {form.n} bars of {form.bar_s:.2f} s, {len(form.section_idx)} sections "
              f"(analysis {time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
        for (D, kind), cuts in cutsets.items():
            edits = {"naive": naive_edit(D, M)}
            t = time.perf_counter()
            edits["legacy"] = legacy_best(D, cuts, None, M, ev.downbeats_s, ev.boundaries_s, n_random=20)[1]
            times["legacy"] += time.perf_counter() - t
            t = time.perf_counter()
            edits["form"] = fit_to_picture(D, cuts, None, form, n_random=20).edit
            times["form"] += time.perf_counter() - t
            t = time.perf_counter()
            edits["form-noaudio"] = fit_to_picture(D, cuts, None, bare, n_random=20).edit
            times["form-noaudio"] += time.perf_counter() - t
            for name, e in edits.items():
                r = edit_row(e, form, nat_med)
                r.update(track=Path(p).name, track_s=M, picture_s=D, cuts=kind, editor=name)
                rows.append(r)
    editors = ["naive", "legacy", "form", "form-noaudio"]
    print(f"\n{len(paths)} tracks x {len(pictures)} picture lengths x 2 cut lists; load average "
          f"{tuple(round(x, 2) for x in os.getloadavg())} (loaded machine)")
    hdr = (f"{'picture':>7} {'editor':<13} {'edits':>5} {'min exc':>7} {'min rep':>7} {'<8b rep':>7} {'repeats':>7} "
           f"{'run>2':>5} {'spl/min':>7} {'on db':>6} {'aud med':>7} {'track end':>9} {'sect end':>8} {'fade':>5} "
           f"{'mid':>5}")
    print(hdr)
    print("-" * len(hdr))

    def summary(sel):
        n = len(sel)
        reps = [r["shortest_repeat_bars"] for r in sel if r["shortest_repeat_bars"] is not None]
        spl = [x for r in sel for x in r["splice_ratios"]]
        on = [r["share_splices_on_downbeats"] for r in sel if r["share_splices_on_downbeats"] is not None]
        end = {k: sum(r["ending"] == k for r in sel) / n for k in ("track ending", "section end", "fade", "mid-phrase")}
        return dict(n=n, min_exc=float(np.median([r["shortest_excerpt_bars"] for r in sel])),
                    min_rep=float(np.median(reps)) if reps else float("nan"),
                    short_rep=sum(1 for x in reps if x < 8 - 1e-6), repeats=float(np.mean([r["n_repeats"] for r in sel])),
                    run3=sum(r["max_run"] > 2 for r in sel), spm=float(np.mean([r["splices_per_min"] for r in sel])),
                    on=float(np.mean(on)) if on else float("nan"),
                    aud=float(np.median(spl)) if spl else float("nan"), end=end)

    for D in pictures:
        for name in editors:
            s = summary([r for r in rows if r["picture_s"] == D and r["editor"] == name])
            e = s["end"]
            print(f"{D:>6.0f}s {name:<13} {s['n']:>5} {s['min_exc']:>7.1f} {s['min_rep']:>7.1f} {s['short_rep']:>7} "
                  f"{s['repeats']:>7.2f} {s['run3']:>5} {s['spm']:>7.2f} {s['on'] * 100:>5.0f}% {s['aud']:>7.2f} "
                  f"{e['track ending'] * 100:>8.0f}% {e['section end'] * 100:>7.0f}% {e['fade'] * 100:>4.0f}% "
                  f"{e['mid-phrase'] * 100:>4.0f}%")
    if any(r["picture_s"] >= 60 for r in rows):
        print("\nTargets at 60-180 s (all tracks, both cut lists):")
    for name in editors:
        sel = [r for r in rows if r["picture_s"] >= 60 and r["editor"] == name]
        if not sel:
            continue
        s = summary(sel)
        ends = s["end"]["track ending"] + s["end"]["section end"]
        print(f"  {name:<13} edits repeating a fragment < 8 bars: {s['short_rep']:>3} of {s['n']}; same fragment > 2x "
              f"in a row: {s['run3']:>3}; ending on a track ending or section end: {ends * 100:5.1f} % "
              f"(target >= 90 %); median splice audibility / track's bar lines: {s['aud']:.2f} (target <= 1.00)")
    n_plans = len(rows) // len(editors)
    print(f"\nplanning time per edit (loaded, same inputs): legacy {times['legacy'] / n_plans * 1000:.0f} ms, "
          f"form {times['form'] / n_plans * 1000:.0f} ms, form-noaudio {times['form-noaudio'] / n_plans * 1000:.0f} ms "
          f"(each includes a 20-offset sync score); ratio form/legacy {times['form'] / max(times['legacy'], 1e-9):.2f}; "
          f"load average {tuple(round(x, 2) for x in os.getloadavg())}")
    if args.json:
        from supervisor_app.infra.fileio import atomic_write_text

        atomic_write_text(args.json, json.dumps(rows, indent=1, default=float))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
