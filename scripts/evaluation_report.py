#!/usr/bin/env python3
"""Regenerate ``docs/EVALUATION.md``: what each part of the app is worth, measured on stated data.

This script computes the sections and saves them; :mod:`evaluation_markdown` (beside it) renders them.

    .venv/bin/python scripts/evaluation_report.py                       # every section (~30 min on 2 cores)
    .venv/bin/python scripts/evaluation_report.py --sections fit,fusion # some sections; the others are
                                                                        # taken from their last saved run

Sections (each saves ``WORKDIR/results/<name>.json`` with the exact command that produced it; the
markdown is assembled from every saved section, each number beside its command):

- ``index``: the evaluation catalog — the demo music plus a subset of the music pool (``--per-package``
  tracks of 60–240 s per Debian package, evenly spread over the package's sorted file list), indexed
  with :func:`supervisor_app.indexing.pipeline.index_catalog` into ``WORKDIR/catalog.sqlite``; indexing
  throughput (tracks/hour, seconds per audio-second) from the run that did the work.
- ``retrieval``: Seg-VM-Net / VM-Net on the length-controlled protocol beside the trivial rankers and
  chance, on the synthetic audio-visual corpus and on windows of the one real pair (Big Buck Bunny).
- ``fit``: calibration of the fit (sync) score on synthetic edits of real tracks
  (:mod:`supervisor_app.evaluation.fit_calibration`).
- ``fusion``: the fused ranking's sync weight (:mod:`supervisor_app.evaluation.fusion`).
- ``tags``: YAMNet auto-tags of every pool track (``--tag-tracks`` to cap) against the source package,
  and brief search examples.
- ``timing``: time to first candidates and to a mockup for a 30 s and a 60 s video against the
  evaluation catalog.

Nothing here writes into the repository except ``--out`` (default ``docs/EVALUATION.md``); caches,
catalogs and renders live under ``--workdir`` (default ``/tmp/eval``) and the app's data/caches under
``WORKDIR/home`` (``SUPERVISOR_APP_HOME``).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from supervisor_app.infra.fileio import atomic_write_text, json_default  # noqa: E402

from evaluation_markdown import render_markdown  # noqa: E402 (rendering; this file computes)

SECTIONS = ("index", "retrieval", "fit", "fusion", "tags", "timing")
BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
DEMO_MUSIC = REPO / "resources" / "demo" / "music"
MIN_TRACK_S, MAX_TRACK_S = 60.0, 240.0


# ------------------------------------------------------------------------------------------------ utils
def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def command_for(args, section: str) -> str:
    """The exact command line that regenerates one section with the options of this run."""
    parts = [".venv/bin/python", "scripts/evaluation_report.py", "--sections", section]
    defaults = build_parser().parse_args([])
    for name in ("pool", "per_package", "workdir", "workers", "fit_queries", "fit_video_s", "fusion_clips",
                 "tag_tracks", "seed"):
        v = getattr(args, name)
        if v != getattr(defaults, name):
            parts += [f"--{name.replace('_', '-')}", str(v)]
    return " ".join(shlex.quote(p) for p in parts)


def save_section(args, name: str, data: dict) -> None:
    d = Path(args.workdir) / "results"
    d.mkdir(parents=True, exist_ok=True)
    data = {"section": name, "command": command_for(args, name), "finished": time.strftime("%Y-%m-%d %H:%M"),
            **data}
    atomic_write_text(d / f"{name}.json", json.dumps(data, indent=1, default=json_default))


def load_section(args, name: str) -> dict | None:
    p = Path(args.workdir) / "results" / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


# ------------------------------------------------------------------------------------------------ catalog
def pool_subset(pool_dir: Path, per_package: int) -> list:
    """Up to ``per_package`` tracks of 60–240 s per package, evenly spread over its sorted paths."""
    from supervisor_app.catalog.pool import read_manifest

    by_pkg: dict[str, list] = {}
    for t in read_manifest(pool_dir):
        if MIN_TRACK_S <= t.duration_s <= MAX_TRACK_S:
            by_pkg.setdefault(t.package, []).append(t)
    out = []
    for pkg in sorted(by_pkg):
        ts = sorted(by_pkg[pkg], key=lambda t: t.path)
        if per_package <= 0:
            out += ts
            continue
        idx = sorted(set(np.linspace(0, len(ts) - 1, min(per_package, len(ts))).round().astype(int)))
        out += [ts[i] for i in idx]
    return out


def package_of(path: str, pool_dir: Path) -> str:
    """The pool package a catalog path belongs to ('demo' for the shipped demo music)."""
    p = Path(path)
    return "demo" if DEMO_MUSIC in p.parents else p.parent.name


def catalog_path(args) -> Path:
    return Path(args.workdir) / "catalog.sqlite"


def build_catalog(args):
    """The evaluation catalog (demo music + pool subset through links), created once; returns it open."""
    from supervisor_app.catalog import Catalog

    pool = Path(args.pool)
    sub = Path(args.workdir) / f"pool-subset-{args.per_package}"
    subset = pool_subset(pool, args.per_package)
    if not subset:
        raise SystemExit(f"No pool tracks under {pool} (fetch it with 'supervisor-app pool fetch {pool}').")
    for t in subset:
        link = sub / t.path
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to((pool / t.path).resolve())
    cat = Catalog.create(catalog_path(args))
    cat.add_folder(DEMO_MUSIC)
    cat.add_folder(sub)
    return cat


def section_index(args) -> dict:
    from supervisor_app.indexing.pipeline import index_catalog

    cat = build_catalog(args)
    try:
        tracks = cat.tracks()
        n_pool = sum(1 for t in tracks if package_of(t.path, Path(args.pool)) != "demo")
        log(f"indexing {len(tracks)} tracks ({n_pool} from the pool) with {args.workers} worker(s)")
        last = [0.0]

        def progress(fraction, stage):
            if time.perf_counter() - last[0] > 30:
                last[0] = time.perf_counter()
                log(f"  {100 * (fraction or 0):.0f} % {stage}")

        t0 = time.perf_counter()
        rep = index_catalog(cat, workers=args.workers, progress=progress)
        wall = time.perf_counter() - t0
        audio_total = float(sum(t.duration_s or 0 for t in tracks))
    finally:
        cat.close()
    prev = load_section(args, "index")
    if rep.done == 0 and prev is not None:
        log("catalog already indexed: keeping the throughput of the run that indexed it")
        return prev
    return {"n_tracks": len(tracks), "n_pool_tracks": n_pool, "per_package": args.per_package,
            "catalog_audio_s": audio_total, "indexed_tracks": rep.done, "indexed_audio_s": rep.audio_seconds,
            "wall_s": wall, "cpu_s": rep.cpu_s, "errors": [list(e) for e in rep.errors], "workers": args.workers,
            "cpu": cpu_name(), "load_avg_1min": os.getloadavg()[0],
            "tracks_per_hour": 3600.0 * rep.done / wall if wall > 0 else None,
            "s_per_audio_s": wall / rep.audio_seconds if rep.audio_seconds else None,
            "cpu_s_per_audio_s": sum(v for k, v in rep.cpu_s.items()) / rep.audio_seconds if rep.audio_seconds else None}


# ------------------------------------------------------------------------------------------------ retrieval
def _train(clips_train, clips_val, **kw):
    from supervisor_app.segvmnet.train import TrainConfig, train_model

    cfg = TrainConfig(lr=1e-3, device="auto", **kw)
    return train_model(clips_train, clips_val, cfg)


def _bbb_windows(window_s: int = 3):
    """Non-overlapping ``window_s`` s windows of the Big Buck Bunny clip (its own score), 1 s segments."""
    from supervisor_app.features import DEFAULT_AUDIO, DEFAULT_VIDEO, extract_cached
    from supervisor_app.segvmnet.dataset import ClipData

    a = extract_cached(DEFAULT_AUDIO, BBB)
    v = extract_cached(DEFAULT_VIDEO, BBB)
    t = min(len(a.frames), len(v.frames))
    out = []
    for k in range(t // window_s):
        sl = slice(k * window_s, (k + 1) * window_s)
        out.append(ClipData(f"bbb-{k}", a.frames[sl], v.frames[sl], np.arange(window_s) + 0.5,
                            np.arange(window_s + 1, dtype=float), float(window_s), "1s-grid", f"BBB {k * window_s}-{(k + 1) * window_s} s"))
    return out, {"audio": DEFAULT_AUDIO, "video": DEFAULT_VIDEO}


def section_retrieval(args) -> dict:
    import torch

    from supervisor_app.evaluation.fusion import WorldConfig, make_av_corpus
    from supervisor_app.evaluation.protocol import SCENARIOS, evaluate_model

    torch.set_num_threads(max(1, min(2, args.workers)))
    world = WorldConfig()
    window_s = 30.0
    n_train, n_val, n_test = 200, 50, 100
    train = [c.clip for c in make_av_corpus(n_train, args.seed * 10 + 1, world)]
    val = [c.clip for c in make_av_corpus(n_val, args.seed * 10 + 2, world)]
    test = [c.clip for c in make_av_corpus(n_test, args.seed * 10 + 3, world)]
    shuffled_train = [c.clip for c in make_av_corpus(n_train, args.seed * 10 + 1, world, paired=False)]
    shuffled_val = [c.clip for c in make_av_corpus(n_val, args.seed * 10 + 2, world, paired=False)]
    out = {"world": world.to_dict(), "window_s": window_s, "n_train": n_train, "n_val": n_val, "n_test_clips": n_test,
           "models": {}}
    seg_cfg = dict(kind="segvmnet", batch_size=64, epochs=30, patience=5, seed=args.seed)
    runs = [("Seg-VM-Net", "segvmnet", train, val, seg_cfg, None),
            ("VM-Net (clip level, mean/var/max statistics)", "vmnet", train, val,
             dict(kind="vmnet", aggregation="mean-var-max", batch_size=32, epochs=30, patience=5, seed=args.seed), None),
            ("Seg-VM-Net trained on shuffled pairs (control)", "segvmnet", shuffled_train, shuffled_val, seg_cfg,
             ("nw-dtw", "trace", "centroid"))]
    for name, kind, tr, va, cfg, dists in runs:
        t0 = time.perf_counter()
        res = _train(tr, va, **cfg)
        rep = evaluate_model(res.model, kind, test, name, "synthetic sections", SCENARIOS, dists, window_s, args.seed)
        out["models"][name] = {"kind": kind, "config": res.config, "best_epoch": res.best_epoch,
                               "epochs_run": len(res.history), "train_s": res.seconds,
                               "report": rep.to_dict(), "wall_s": time.perf_counter() - t0}
        log(f"retrieval: {name} done ({time.perf_counter() - t0:.0f} s)")
    # the one real pair: windows of Big Buck Bunny with its own score
    clips, extractors = _bbb_windows(3)
    half = len(clips) // 2
    real = {"extractors": extractors, "n_windows": len(clips), "window_s": 3.0, "segments": "1 s grid"}
    cfg = dict(kind="segvmnet", batch_size=8, epochs=60, patience=60, seed=args.seed)
    res = _train(clips, clips, **cfg)
    real["in_sample"] = evaluate_model(res.model, "segvmnet", clips, "Seg-VM-Net (BBB, in-sample)", "1 s grid",
                                       ("vanilla",), ("nw-dtw", "trace", "centroid"), None, args.seed).to_dict()
    res = _train(clips[:half], clips[:half], **cfg)
    real["held_out"] = evaluate_model(res.model, "segvmnet", clips[half:], "Seg-VM-Net (BBB, first half -> second half)",
                                      "1 s grid", ("vanilla",), ("nw-dtw", "trace", "centroid"), None, args.seed).to_dict()
    out["bbb"] = real
    return out


# ------------------------------------------------------------------------------------------------ fit
def section_fit(args) -> dict:
    from supervisor_app.catalog import Catalog
    from supervisor_app.evaluation.fit_calibration import (
        EditorStyle,
        run_calibration,
        calibration_tracks_from_catalog,
    )

    with Catalog.open(catalog_path(args)) as cat:
        tracks = cat.tracks()
        events = calibration_tracks_from_catalog(cat, "olda")
        info = {str(t.id): {"title": t.title or Path(t.path).stem, "package": package_of(t.path, Path(args.pool)),
                            "duration_s": t.duration_s} for t in tracks}
    log(f"fit calibration: {len(events)} tracks with downbeats, {args.fit_queries} queries")
    last = [0.0]

    def progress(fraction, stage):
        if time.perf_counter() - last[0] > 30 or fraction == 1.0:
            last[0] = time.perf_counter()
            log(f"  {100 * (fraction or 0):.0f} % of the {stage}")

    style = EditorStyle()
    rep = run_calibration(events, n_queries=args.fit_queries, video_duration_s=args.fit_video_s, style=style,
                          seed=args.seed, workers=args.workers, progress=progress)
    d = rep.to_dict()
    d["tracks"] = {e.key: {**info.get(e.key, {}), "tempo_bpm": e.tempo_bpm, "n_downbeats": int(e.downbeats_s.size),
                           "n_sections": int(len(e.boundaries_s) - 1)} for e in events}
    return d


# ------------------------------------------------------------------------------------------------ fusion
def section_fusion(args) -> dict:
    import torch

    from supervisor_app.evaluation.fusion import run_fusion

    torch.set_num_threads(1)
    rep = run_fusion(n_val=args.fusion_clips, n_test=args.fusion_clips, seed=args.seed, workers=args.workers, log=log)
    return rep.to_dict()


# ------------------------------------------------------------------------------------------------ tags
# Relevance rules for the brief examples, fixed before looking at any result: a result is relevant when
# its Debian package is listed. Wesnoth's soundtrack is orchestral; the Frets on Fire song packs are rock
# songs with guitar parts (a guitar-playing rhythm game). Briefs without a package known to match are
# shown with the packages they return, not judged.
BRIEFS = (("orchestral, epic", ("wesnoth-1.16-music",)),
          ("rock, guitar", ("fretsonfire-songs-muldjord", "fretsonfire-songs-sectoid")),
          ("electronic, synth", None),
          ("piano, calm", None))


def _tag_job(path: str) -> dict:
    from supervisor_app.features import extract_cached
    from supervisor_app.indexing.autotags import autotags_from_scores

    t0 = time.process_time()
    fr = extract_cached("yamnet", path)
    scores = fr.extra["class_scores"]
    return {"all": autotags_from_scores(scores, n=10_000), "mean_emb": fr.frames.mean(axis=0).tolist(),
            "cpu_s": time.process_time() - t0, "n_frames": int(len(scores))}


def section_tags(args) -> dict:
    import concurrent.futures as cf
    import multiprocessing as mp

    from supervisor_app.briefs.search import search_brief
    from supervisor_app.catalog import Catalog
    from supervisor_app.indexing.autotags import N_AUTOTAGS
    from supervisor_app.indexing.keys import AUTOTAGS, yamnet_version
    from supervisor_app.catalog.pool import read_manifest

    pool = Path(args.pool)
    pts = sorted(read_manifest(pool), key=lambda t: t.path)
    if args.tag_tracks and args.tag_tracks < len(pts):
        pts = [pts[i] for i in sorted(set(np.linspace(0, len(pts) - 1, args.tag_tracks).round().astype(int)))]
    log(f"tags: YAMNet on {len(pts)} pool tracks")
    t0 = time.perf_counter()
    res: dict[str, dict] = {}
    with cf.ProcessPoolExecutor(max_workers=max(1, args.workers), mp_context=mp.get_context("spawn")) as ex:
        futs = {ex.submit(_tag_job, str(pool / t.path)): t.path for t in pts}
        for k, f in enumerate(cf.as_completed(futs), 1):
            try:
                res[futs[f]] = f.result()
            except Exception as e:  # a pool file that cannot be decoded is reported, not fatal
                log(f"  {futs[f]}: {e}")
            if k % 40 == 0:
                log(f"  {k}/{len(pts)}")
    wall = time.perf_counter() - t0
    pts = [t for t in pts if t.path in res]
    pkgs = [t.package for t in pts]
    names = [n for n, _ in res[pts[0].path]["all"]]
    vec = np.array([[dict(res[t.path]["all"])[n] for n in names] for t in pts])
    top12 = np.array([[s if n in dict(res[t.path]["all"][:N_AUTOTAGS]) else 0.0 for n, s in
                       ((n, dict(res[t.path]["all"])[n]) for n in names)] for t in pts])
    emb = np.array([res[t.path]["mean_emb"] for t in pts])

    def nn_agreement(x):
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        sim = x @ x.T
        np.fill_diagonal(sim, -np.inf)
        nn = np.argmax(sim, axis=1)
        same = np.array([pkgs[i] == pkgs[j] for i, j in enumerate(nn)])
        order = np.argsort(-sim, axis=1)[:, :5]
        p5 = np.mean([[pkgs[i] == pkgs[j] for j in row] for i, row in enumerate(order)])
        return float(same.mean()), float(p5)

    counts = {p: pkgs.count(p) for p in sorted(set(pkgs))}
    chance = float(np.mean([(counts[p] - 1) / (len(pkgs) - 1) for p in pkgs]))
    agreement = {"music-class probabilities (all AudioSet music classes)": nn_agreement(vec),
                 f"top-{N_AUTOTAGS} auto-tags (what the catalog stores)": nn_agreement(top12),
                 "YAMNet mean embedding (1024-d, the similar-tracks space)": nn_agreement(emb)}
    per_pkg = {}
    for p in counts:
        m = vec[[i for i, q in enumerate(pkgs) if q == p]].mean(axis=0)
        order = np.argsort(-m)[:5]
        per_pkg[p] = {"n": counts[p], "top": [[names[i], float(m[i])] for i in order]}
    # a catalog of the tagged tracks with exactly the records indexing stores (top-N auto-tags)
    sub = Path(args.workdir) / "tags-pool"
    for t in pts:
        link = sub / t.path
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to((pool / t.path).resolve())
    yv = yamnet_version()
    briefs = []
    with Catalog.create(Path(args.workdir) / "tags.sqlite") as cat:
        cat.add_folder(sub)
        by_path = {t.path: t for t in cat.tracks()}
        for t in pts:
            tr = by_path.get(os.path.abspath(sub / t.path))
            if tr is not None:
                cat.put_analysis(tr.id, AUTOTAGS, yv, {"tags": res[t.path]["all"][:N_AUTOTAGS]})
        tracks = {t.id: t for t in cat.tracks()}
        for brief, relevant in BRIEFS:
            t1 = time.perf_counter()
            matches = search_brief(cat, brief, limit=len(tracks))
            secs = time.perf_counter() - t1
            rows = []
            for m in matches[:10]:
                t = tracks[m.track_id]
                rows.append({"title": Path(t.path).name, "package": Path(t.path).parent.name, "score": m.score,
                             "matched": {k: [v[0], v[1]] for k, v in m.matched.items()}})
            entry = {"brief": brief, "relevant_packages": relevant, "n_matches": len(matches), "top10": rows,
                     "search_s": secs}
            if relevant:
                rel_all = sum(1 for p in pkgs if p in relevant)
                hits = [r["package"] in relevant for r in rows]
                entry.update({"precision_at_10": float(np.mean(hits)) if hits else 0.0,
                              "chance_precision": rel_all / len(pkgs), "n_relevant_in_pool": rel_all,
                              "relevant_found_in_all_matches": sum(1 for m in matches
                                                                   if Path(tracks[m.track_id].path).parent.name in relevant)})
            briefs.append(entry)
    audio_s = float(sum(r["n_frames"] for r in res.values()))
    return {"n_tracks": len(pts), "packages": counts, "nn_agreement": agreement, "nn_chance": chance,
            "per_package": per_pkg, "briefs": briefs, "wall_s": wall, "audio_s": audio_s,
            "cpu_s": float(sum(r["cpu_s"] for r in res.values())), "workers": args.workers}


# ------------------------------------------------------------------------------------------------ timing
def _make_60s(args) -> Path:
    out = Path(args.workdir) / "bbb_60s.webm"
    if not out.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "1", "-i", str(BBB), "-c", "copy", str(out)],
                       check=True)
    return out


def timing_job(video: str, mode: str, catalog: str, out_dir: str) -> dict:
    """One timed run in a fresh process (``--timing-job``): fit-only ``recommend`` + a rendered mockup
    of the first candidate, or the demo's brief path (:func:`supervisor_app.services.demo.run_headless`)."""
    from supervisor_app.catalog import Catalog
    from supervisor_app.edit.render import render_mp4
    from supervisor_app.services.recommend import recommend

    cat = Catalog.open(catalog)
    try:
        if mode == "fit-only":
            first = []
            t0 = time.perf_counter()
            res = recommend(video, cat, k=10, on_result=lambda r: first.append(time.perf_counter() - t0) if not first else None)
            t_cands = time.perf_counter() - t0
            best = res.results[0]
            render_mp4(best.edit, video, best.path, Path(out_dir) / "mockup.mp4")
            t_mock = time.perf_counter() - t0
            return {"first_scored_s": first[0] if first else None, "candidates_s": t_cands,
                    "mockup_s": t_mock, "n_candidates": res.n_candidates, "top": [r.title for r in res.results[:3]]}
        from supervisor_app.services.demo import DEMO_BRIEF, run_headless

        info = run_headless(cat, Path(video), DEMO_BRIEF, k=5, log=lambda m: None)
        res = info["result"]
        import json as _json

        payload = _json.loads((Path(info["out"]) / "recommendations.json").read_text())
        return {"candidates_s": payload["timing_s"]["to_first_candidates"],
                "mockup_s": payload["timing_s"]["to_mockup"], "n_candidates": res.n_candidates,
                "n_brief_matches": len(payload["brief"]["matches"]), "brief": DEMO_BRIEF,
                "top": [r.title for r in res.results[:3]]}
    finally:
        cat.close()


def section_timing(args) -> dict:
    from supervisor_app.catalog import Catalog
    from supervisor_app.media import probe

    with Catalog.open(catalog_path(args)) as cat:
        n_tracks = cat.count()
    videos = {"30 s (Big Buck Bunny clip)": BBB, "60 s (the clip looped twice)": _make_60s(args)}
    runs = []
    for vname, v in videos.items():
        dur = probe(v).duration_s
        for mode in ("fit-only", "brief"):
            home = Path(args.workdir) / "timing-home" / f"{Path(v).stem}-{mode}"
            if home.exists():
                import shutil

                shutil.rmtree(home)
            for state in ("cold", "warm"):
                env = dict(os.environ, SUPERVISOR_APP_HOME=str(home))
                out_dir = home / "out"
                out_dir.mkdir(parents=True, exist_ok=True)
                t0 = time.perf_counter()
                cp = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--timing-job", str(v), mode,
                                     str(catalog_path(args)), str(out_dir)], env=env, capture_output=True, text=True)
                if cp.returncode != 0:
                    raise SystemExit(f"timing job failed: {cp.stderr[-2000:]}")
                r = json.loads(cp.stdout.strip().splitlines()[-1])
                r.update({"video": vname, "video_duration_s": dur, "mode": mode, "state": state,
                          "process_wall_s": time.perf_counter() - t0})
                runs.append(r)
                log(f"timing: {vname} {mode} {state}: candidates {r['candidates_s']:.1f} s, mockup {r['mockup_s']:.1f} s")
    return {"n_tracks": n_tracks, "runs": runs, "cpu": cpu_name(), "load_avg_1min": os.getloadavg()[0]}


# ------------------------------------------------------------------------------------------------ markdown
def write_markdown(args) -> None:
    """``--out`` from every saved section (rendering: :mod:`evaluation_markdown`)."""
    secs = {s: load_section(args, s) for s in SECTIONS}
    atomic_write_text(args.out, render_markdown(secs))
    log(f"wrote {args.out}")


# ------------------------------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, from {', '.join(SECTIONS)}")
    p.add_argument("--pool", default="/tmp/pool/music-pool", help="the fetched music pool (manifest.csv)")
    p.add_argument("--per-package", type=int, default=4,
                   help="pool tracks of 60-240 s per package in the evaluation catalog (0: all of them)")
    p.add_argument("--workdir", default="/tmp/eval", help="catalogs, caches and renders (not the repository)")
    p.add_argument("--workers", type=int, default=2, help="indexing processes")
    p.add_argument("--fit-queries", type=int, default=24, help="synthetic edits (queries) for the fit calibration")
    p.add_argument("--fit-video-s", type=float, default=30.0, help="picture length of the synthetic edits (s)")
    p.add_argument("--fusion-clips", type=int, default=50, help="clips per split (validation, test) for fusion")
    p.add_argument("--tag-tracks", type=int, default=0, help="pool tracks auto-tagged for the tag section (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(REPO / "docs" / "EVALUATION.md"))
    p.add_argument("--no-markdown", action="store_true", help="only save the sections' JSON")
    return p


RUNNERS = {"index": section_index, "retrieval": section_retrieval, "fit": section_fit, "fusion": section_fusion,
           "tags": section_tags, "timing": section_timing}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--timing-job"]:
        print(json.dumps(timing_job(*argv[1:5]), default=json_default))
        return 0
    args = build_parser().parse_args(argv)
    os.environ["SUPERVISOR_APP_HOME"] = str(Path(args.workdir) / "home")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    wanted = [s.strip() for s in args.sections.split(",") if s.strip()]
    for s in wanted:
        if s not in SECTIONS:
            raise SystemExit(f"unknown section {s!r}; choose from {', '.join(SECTIONS)}")
    for s in SECTIONS:
        if s in wanted and s in RUNNERS:
            log(f"section {s}")
            t0 = time.perf_counter()
            data = RUNNERS[s](args)
            data.setdefault("section_wall_s", time.perf_counter() - t0)
            save_section(args, s, data)
    if not args.no_markdown:
        write_markdown(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
