"""Which edit engine each track of an indexed catalog gets, and how audible free-time splices are.

For every track of ``--catalog`` (its stored beats and OLDA sections; nothing is re-indexed) it prints
the beat-grid confidence (:func:`supervisor_app.analysis.beat_confidence.beat_confidence`), its parts
and the mode the planner picks under a ``--picture-s`` picture (metric / free-time / button), sorted
by confidence, and the number of tracks per mode.

With ``--audibility N``, the N lowest-confidence free-time tracks are cut under a ``--picture-s``
picture with synthetic cuts (one every 2-8 s, fixed seed) by the free-time engine, and each splice's
audibility (:func:`supervisor_app.edit.audibility.splice_audibility`, a hard cut: the crossfade is not
credited) is compared with two anchors on the same track: the track's own continuation at every
frame within 2 s of the out point (``natural_audibility``: the "neighbouring frames" baseline) and 100
random splices of the same track (out after 10 s, in anywhere). Prints a markdown table.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_beat_confidence.py --catalog pool.sqlite --audibility 8
    PYTHONPATH=. .venv/bin/python benchmarks/bench_beat_confidence.py --synthetic 5
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--catalog", help="an indexed catalog (its stored beats and sections)")
    ap.add_argument("--synthetic", type=int, default=0, metavar="N",
                    help="also: N synthetic free-time pads (tests/synth_music.py), 90 s each under a 160 s picture")
    ap.add_argument("--picture-s", type=float, default=150.0)
    ap.add_argument("--audibility", type=int, default=0, metavar="N")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--all-modes", action="store_true",
                    help="measure the free-time engine on metric tracks too (a stress test on real music)")
    ap.add_argument("--picture-x", type=float, default=None, metavar="X",
                    help="for the audibility part, a picture X times each track's length (loops and an ending)")
    args = ap.parse_args(argv)

    if args.synthetic:
        _synthetic(args.synthetic)
    if not args.catalog:
        return 0
    from supervisor_app.catalog import Catalog
    from supervisor_app.edit.planner import edit_mode
    from supervisor_app.services.recommend import _track_music_events

    rows = []
    with Catalog.open(args.catalog) as cat:
        for t in cat.tracks(include_missing=True):
            ev, why = _track_music_events(cat, t, "olda")
            if ev is None:
                rows.append((None, t, None, why))
                continue
            rows.append((ev.confidence.score, t, ev, edit_mode(ev, args.picture_s)))
    print(f"load average {os.getloadavg()} (loaded machine)\n")
    print("| confidence | coverage | stability | bar regularity | downbeats | mode | duration | track |")
    print("|---:|---:|---:|---:|---:|---|---:|---|")
    for score, t, ev, mode in sorted(rows, key=lambda r: (-1 if r[0] is None else r[0], r[1].id)):
        name = Path(t.path).name
        if ev is None:
            print(f"| - | - | - | - | - | left out: {mode} | {t.duration_s or 0:.0f} s | {name} |")
            continue
        c = ev.confidence
        print(f"| {c.score:.2f} | {c.coverage:.2f} | {c.tempo_stability:.2f} | {c.bar_regularity:.2f} | "
              f"{c.n_downbeats} | {mode} | {ev.duration_s:.0f} s | {name} |")
    counts = {}
    for _, _, ev, mode in rows:
        key = mode if ev is not None else "left out"
        counts[key] = counts.get(key, 0) + 1
    print(f"\n{len(rows)} tracks, picture {args.picture_s:g} s: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))

    if args.audibility:
        _audibility([r for r in sorted(rows, key=lambda r: (r[0] if r[0] is not None else 9, r[1].id))
                     if r[2] is not None and r[3] != "button" and (args.all_modes or r[3] == "free-time")
                     and r[2].duration_s <= 600][: args.audibility], args)
    return 0


def _synthetic(n: int) -> None:
    """Free-time splices on synthetic pads with known phrase ends (quiet overlaps of two chords)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from synth_music import free_time_pad

    from supervisor_app.analysis.envelope import music_envelope
    from supervisor_app.edit.audibility import natural_audibility, splice_audibility
    from supervisor_app.edit.free_time import build_free_time_edit

    print("synthetic free-time pads (chord changes at irregular times drifting ±20 %, no percussion), 90 s under a "
          "160 s picture with 25 random cuts\n")
    print("| seed | splices | outs within 0.5 s of a phrase end | splice median | neighbours max (median) | "
          "splices <= neighbours max | random median | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    tot = [0, 0, 0]
    for seed in range(n):
        x, sr, changes, lows = free_time_pad(90.0, seed=seed)
        env = music_envelope(x, sr)
        cuts = np.sort(np.random.default_rng(7).uniform(1, 159, 25))
        e = build_free_time_edit(160.0, cuts, 90.0, env, np.concatenate([[0.0], changes[::4], [90.0]]))
        sp = [(a.music_out_s, b.music_in_s) for a, b in zip(e.excerpts, e.excerpts[1:])]
        near = sum(np.min(np.abs(lows - o)) <= 0.5 for o, _ in sp)
        aud = np.array([splice_audibility(x, sr, o, i) for o, i in sp])
        nb = np.array([np.max(natural_audibility(x, sr, np.arange(o - 2, o + 2.01, 0.25))) for o, _ in sp])
        r = np.random.default_rng(1)
        rand = [splice_audibility(x, sr, o, i) for o, i in zip(r.uniform(10, 88, 100), r.uniform(0, 78, 100))]
        tot[0] += len(sp)
        tot[1] += int(near)
        tot[2] += int(np.sum(aud <= nb))
        print(f"| {seed} | {len(sp)} | {near}/{len(sp)} | {np.median(aud):.2f} | {np.median(nb):.2f} | "
              f"{int(np.sum(aud <= nb))}/{len(sp)} | {np.median(rand):.2f} | {os.getloadavg()[0]:.1f} |")
    print(f"\nall: {tot[0]} splices, {tot[1]} on a phrase end, {tot[2]} no more audible than the track's own "
          "neighbouring frames\n")


def _audibility(rows, args) -> None:
    from supervisor_app.edit.audibility import natural_audibility, splice_audibility
    from supervisor_app.edit.free_time import build_free_time_edit, splice_points
    from supervisor_app.media import load_audio

    rng = np.random.default_rng(args.seed)
    all_cuts = np.cumsum(rng.uniform(2.0, 8.0, 400))
    what = f"{args.picture_x:g} x each track's length" if args.picture_x else f"{args.picture_s:g} s"
    print(f"\nfree-time splices under a picture of {what} (synthetic cuts every 2-8 s); audibility of a hard cut "
          "(the crossfade not credited), lower is less audible\n")
    print("| track | splices | outs on a phrase end/quiet moment | splice median | splice max | neighbours max (median over splices) | "
          "splices <= neighbours max | random median | bar-line engine median (n) | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    all_sp, all_nb, all_rand, all_bar = [], [], [], []
    from supervisor_app.infra.errors import SupervisorError

    for _, t, ev, mode in rows:
        try:
            env = ev.envelope()
        except SupervisorError as e:
            print(f"| {Path(t.path).name} | left out: {e} | | | | | | | |")
            continue
        x = load_audio(t.path, sr=22050, mono=True)
        D = args.picture_x * ev.duration_s if args.picture_x else args.picture_s
        cuts = all_cuts[all_cuts < D - 1]
        e = build_free_time_edit(D, cuts, ev.duration_s, env, ev.boundaries_s)
        sp = [(a.music_out_s, b.music_in_s) for a, b in zip(e.excerpts, e.excerpts[1:])]
        if not sp:
            print(f"| {Path(t.path).name} ({mode}) | 0 | - | - | - | - | - | - | {os.getloadavg()[0]:.1f} |")
            continue
        pts, kinds = splice_points(env, ev.boundaries_s, ev.duration_s)
        on_point = sum(1 for o, _ in sp if pts.size and np.min(np.abs(pts - o)) < 0.06
                       and kinds[int(np.argmin(np.abs(pts - o)))] != "onset")
        aud = np.array([splice_audibility(x, 22050, o, i) for o, i in sp])
        nb = np.array([np.max(natural_audibility(x, 22050, np.arange(max(0.6, o - 2), min(ev.duration_s - 0.6, o + 2) + 1e-9, 0.1)))
                       for o, _ in sp])
        r = np.random.default_rng(1)
        M = ev.duration_s
        rand = np.array([splice_audibility(x, 22050, o, i)
                         for o, i in zip(r.uniform(min(10, M / 2), M - 1, 100), r.uniform(0, M - 1, 100))])
        bar = "-"
        if mode == "metric":  # the bar-line engine on the same picture, same measure: an anchor
            from supervisor_app.edit.edl import build_edit

            me = build_edit(D, cuts, ev.duration_s, ev.downbeats_s, ev.boundaries_s)
            msp = [(a.music_out_s, b.music_in_s) for a, b in zip(me.excerpts, me.excerpts[1:])]
            if msp:
                ma = [splice_audibility(x, 22050, o, i) for o, i in msp]
                all_bar += ma
                bar = f"{np.median(ma):.2f} ({len(ma)})"
        all_sp += list(aud)
        all_nb += list(nb)
        all_rand += list(rand)
        print(f"| {Path(t.path).name} ({mode}, {ev.confidence.score:.2f}) | {len(sp)} | {on_point}/{len(sp)} | {np.median(aud):.2f} | {aud.max():.2f} | "
              f"{np.median(nb):.2f} | {int(np.sum(aud <= nb))}/{len(sp)} | {np.median(rand):.2f} | {bar} | {os.getloadavg()[0]:.1f} |")
    if all_sp:
        a, n = np.array(all_sp), np.array(all_nb)
        print(f"\nall: {len(a)} splices, median {np.median(a):.2f} (random splices of the same tracks: median "
              f"{np.median(all_rand):.2f}); {int(np.sum(a <= n))}/{len(a)} no more audible than the loudest of "
              "the track's own frames within 2 s of the out"
              + (f"; the bar-line engine's splices on the metric ones: median {np.median(all_bar):.2f} ({len(all_bar)})"
                 if all_bar else ""))


if __name__ == "__main__":
    raise SystemExit(main())
