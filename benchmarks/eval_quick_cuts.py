"""Quick provisional cuts (:mod:`supervisor_app.analysis.quick_cuts`) against TransNetV2's cuts.

Usage::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/eval_quick_cuts.py [--build] [--out DIR] [PATH ...]

With no paths it evaluates the Big Buck Bunny fixture (30 s) and, when present, the 60 s and 180 s
loops ``/work/scratch/media/bbb_60.mp4`` and ``bbb_180.mp4``. ``--build`` also builds pictures with
gradual transitions from pieces of the fixture with ffmpeg (into ``--out`` or a temp folder):
``xfade_mix`` (8 pieces joined by ``xfade`` dissolve / fade / fadeblack of 0.5-1.5 s),
``fades`` (6 pieces, fade and fadeblack of 0.5-1.5 s), ``long_shots`` (3 long pieces, 2 hard cuts),
``fast_motion`` (5 pieces played 4x fast: camera and characters move 4x as far per frame; 4 hard
cuts), ``flashes`` (2 pieces, 1 hard cut, with 3 white flashes and 3 brightened ones of 1-2 frames) and
``generated`` (6 shots of ffmpeg's generated pictures: zooms, Life, a moving test pattern whose hue
turns, cellular automata; 5 hard cuts; never used to tune the detector).

Each picture is decoded once with ``read_frames(path, size=(48, 27))`` (the frames TransNetV2 sees);
the reference is ``detect_shots(path)`` (TransNetV2). Cuts are matched one-to-one (greedy in time
order) within ±2 frames, and within ±0.5 s for pictures with gradual transitions (``xfade_mix``,
``fades``, and any path given with ``--gradual``). Beside the quick cuts, two trivial baselines:
``every N s`` (a cut every mean-shot-length of the reference, which knows the number of cuts) and
``fixed diff`` (mean absolute RGB difference of consecutive frames above 30/255, the textbook
cheap detector). For built pictures the cuts are also scored against the transitions as built
(centre of each xfade, ±0.5 s). ``time`` is the detector's median wall time over 5 runs on the
frames in memory (decoding excluded: both detectors share it); the last table times it on the first
720 / 1,440 / all frames of the longest picture and measures its peak memory (tracemalloc) beyond
the frames. The TransNetV2 runs in the same process load the machine: the load average is printed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from supervisor_app.analysis.quick_cuts import quick_cut_probs  # noqa: E402
from supervisor_app.analysis.shots import cuts_from_probs, detect_shots  # noqa: E402
from supervisor_app.media import read_frames  # noqa: E402

BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
LOOPS = [Path("/work/scratch/media/bbb_60.mp4"), Path("/work/scratch/media/bbb_180.mp4")]
FIXED_DIFF_THRESHOLD = 30.0 / 255.0

# --- building pictures with gradual transitions ---------------------------------------------------
# (start_s, end_s) pieces of the fixture, inside its shots (TransNetV2: cuts at 1.50, 11.80, 15.67, 22.96 s)
_MIX_PIECES = [(2.0, 5.0), (12.0, 15.0), (16.0, 19.0), (24.0, 27.0), (5.5, 8.5), (12.5, 15.5), (19.5, 22.5),
               (26.5, 29.5)]
_MIX_TRANSITIONS = [("dissolve", 0.5), ("fade", 1.0), ("fadeblack", 1.5), ("fade", 0.5), ("dissolve", 1.0),
                    ("fadeblack", 1.0), ("fade", 1.5)]
_FADE_PIECES = [(2.0, 5.5), (16.0, 19.5), (24.0, 27.5), (6.0, 9.5), (12.0, 15.5), (26.0, 29.5)]
_FADE_TRANSITIONS = [("fadeblack", 0.5), ("fade", 1.5), ("fadeblack", 1.0), ("fade", 0.75), ("fadeblack", 1.5)]
_LONG_PIECES = [(1.6, 11.7), (23.0, 30.0), (15.8, 22.9)]
_FAST_PIECES = [(2.0, 11.6), (12.0, 15.6), (16.0, 22.8), (23.2, 30.0), (2.0, 11.6)]  # played 4x fast
_FLASH_PIECES = [(2.0, 11.6), (16.0, 22.8)]
# flash frames (indices in the 24 fps output): full white frames and brightened frames, 1-2 frames long
_WHITE_FLASH_FRAMES = [(30, 30), (100, 101), (260, 260)]
_BRIGHT_FLASH_FRAMES = [(60, 60), (180, 181), (300, 300)]
FPS_BUILT = 24
# ffmpeg's generated pictures (no Big Buck Bunny, never used to tune the detector): (source, seconds)
_LAVFI_SHOTS = [("mandelbrot=size=640x360:rate=24", 5.0),  # a continuous zoom
                ("life=size=640x360:rate=24:mold=10:ratio=0.5:death_color=#202060:life_color=#e0c040", 4.0),
                ("testsrc2=size=640x360:rate=24,hue=h=t*90", 5.0),  # moving pattern, hue turning 90°/s
                ("cellauto=size=640x360:rate=24:rule=110", 3.0),
                ("rgbtestsrc=size=640x360:rate=24", 2.0),
                ("mandelbrot=size=640x360:rate=24:start_scale=0.5", 4.0)]


@dataclass
class Built:
    path: Path
    gradual: bool
    truth_s: list[float] = field(default_factory=list)  # transition centres as built


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y"] + args, check=True)


def _trims(pieces: list[tuple[float, float]], speed: float = 1.0) -> list[str]:
    return [f"[0:v]trim=start={a}:end={b},setpts=(PTS-STARTPTS)/{speed},fps={FPS_BUILT},scale=640:360,"
            f"format=yuv420p[p{i}]" for i, (a, b) in enumerate(pieces)]


def build_xfade(src: Path, out: Path, pieces: list[tuple[float, float]],
                transitions: list[tuple[str, float]]) -> Built:
    """Join ``pieces`` of ``src`` with ffmpeg's ``xfade``; returns the transitions' centres (s)."""
    chains = _trims(pieces)
    prev, length_s, centres = "p0", pieces[0][1] - pieces[0][0], []
    for i, (kind, dur_s) in enumerate(transitions, start=1):
        offset_s = length_s - dur_s
        label = f"x{i}"
        chains.append(f"[{prev}][p{i}]xfade=transition={kind}:duration={dur_s}:offset={offset_s:.3f}[{label}]")
        centres.append(offset_s + dur_s / 2)
        length_s = offset_s + (pieces[i][1] - pieces[i][0])
        prev = label
    _ffmpeg(["-i", str(src), "-filter_complex", ";".join(chains), "-map", f"[{prev}]", "-an",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(out)])
    return Built(out, True, centres)


def build_concat(src: Path, out: Path, pieces: list[tuple[float, float]], speed: float = 1.0,
                 post: str = "") -> Built:
    """Join ``pieces`` of ``src`` (played ``speed`` times fast) with hard cuts, then apply the
    filter chain ``post``; returns the cut times (s)."""
    chains = _trims(pieces, speed)
    tail = f",{post}" if post else ""
    chains.append("".join(f"[p{i}]" for i in range(len(pieces))) + f"concat=n={len(pieces)}:v=1:a=0{tail}[v]")
    _ffmpeg(["-i", str(src), "-filter_complex", ";".join(chains), "-map", "[v]", "-an",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(out)])
    cuts = list(np.cumsum([(b - a) / speed for a, b in pieces])[:-1])
    return Built(out, False, [float(c) for c in cuts])


def build_lavfi(out: Path, shots: list[tuple[str, float]]) -> Built:
    """ffmpeg's generated pictures joined with hard cuts; returns the cut times (s)."""
    inputs: list[str] = []
    for source, dur_s in shots:
        inputs += ["-f", "lavfi", "-t", str(dur_s), "-i", source]
    joined = "".join(f"[{i}:v]" for i in range(len(shots))) + f"concat=n={len(shots)}:v=1:a=0,format=yuv420p[v]"
    _ffmpeg(inputs + ["-filter_complex", joined, "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast",
                      "-crf", "20", str(out)])
    return Built(out, False, [float(c) for c in np.cumsum([d for _, d in shots])[:-1]])


def _flash_filters() -> str:
    """ffmpeg filters that turn some frames white (``drawbox``) and brighten others (``eq``)."""
    def enable(spans: list[tuple[int, int]]) -> str:
        return "+".join(f"between(n\\,{a}\\,{b})" for a, b in spans)
    return (f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='{enable(_WHITE_FLASH_FRAMES)}',"
            f"eq=brightness=0.45:contrast=0.7:enable='{enable(_BRIGHT_FLASH_FRAMES)}'")


def build_all(out_dir: Path, src: Path = BBB) -> list[Built]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [build_xfade(src, out_dir / "xfade_mix.mp4", _MIX_PIECES, _MIX_TRANSITIONS),
            build_xfade(src, out_dir / "fades.mp4", _FADE_PIECES, _FADE_TRANSITIONS),
            build_concat(src, out_dir / "long_shots.mp4", _LONG_PIECES),
            build_concat(src, out_dir / "fast_motion.mp4", _FAST_PIECES, speed=4.0),
            build_concat(src, out_dir / "flashes.mp4", _FLASH_PIECES, post=_flash_filters()),
            build_lavfi(out_dir / "generated.mp4", _LAVFI_SHOTS)]


# --- scoring ---------------------------------------------------------------------------------------
@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    hits: int


def match(ref: list[float], est: list[float], tol_s: float) -> Score:
    """One-to-one matching within ``tol_s`` (:func:`supervisor_app.analysis.shots.matched_cuts`)."""
    from supervisor_app.analysis.shots import matched_cuts

    hits = matched_cuts(ref, est, tol_s)
    p = hits / len(est) if est else float(not ref)
    r = hits / len(ref) if ref else float(not est)
    return Score(p, r, 2 * p * r / (p + r) if p + r else 0.0, hits)


# --- the detectors -------------------------------------------------------------------------------
@dataclass
class Picture:
    name: str
    path: Path
    times_s: np.ndarray
    frames: np.ndarray
    fps: float
    duration_s: float
    ref_cuts_s: list[float]
    ref_wall_s: float
    gradual: bool = False
    truth_s: list[float] | None = None


def load(path: Path, gradual: bool, truth_s: list[float] | None) -> Picture:
    """Decode ``path`` as TransNetV2 does and run TransNetV2 on it (the reference)."""
    decoded = list(read_frames(path, size=(48, 27)))
    times = np.array([t for t, _ in decoded], dtype=np.float64)
    frames = np.stack([f for _, f in decoded]) if decoded else np.zeros((0, 27, 48, 3), np.uint8)
    t0 = time.perf_counter()
    ref = detect_shots(path)
    ref_wall = time.perf_counter() - t0
    return Picture(path.stem, path, times, frames, ref.fps, ref.duration_s, list(ref.cuts_s), ref_wall,
                   gradual, truth_s)


def quick_cuts(pic: Picture) -> list[float]:
    probs = quick_cut_probs(pic.frames, pic.fps)
    return [c for c in cuts_from_probs(pic.times_s, probs) if c < pic.duration_s]


def time_quick(frames: np.ndarray, fps: float, rounds: int = 5) -> tuple[float, float]:
    """Median wall and CPU seconds of ``quick_cut_probs`` on frames in memory."""
    walls, cpus = [], []
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        quick_cut_probs(frames, fps)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def every_n_seconds(pic: Picture) -> list[float]:
    """A cut every mean shot length of the reference (it is told how many cuts there are)."""
    k = len(pic.ref_cuts_s)
    step_s = pic.duration_s / (k + 1)
    return [step_s * (i + 1) for i in range(k)]


def fixed_diff(pic: Picture, threshold: float = FIXED_DIFF_THRESHOLD) -> list[float]:
    """Mean absolute RGB difference of consecutive frames (0..1) above a fixed threshold; one cut
    per run of frames above it (the shots.py rule, on ``diff / (2 * threshold)``)."""
    f = pic.frames.astype(np.int16)
    diff = np.zeros(len(f), dtype=np.float64)
    if len(f) > 1:
        diff[:-1] = np.abs(f[1:] - f[:-1]).mean(axis=(1, 2, 3)) / 255.0
    return [c for c in cuts_from_probs(pic.times_s, diff / (2 * threshold)) if c < pic.duration_s]


# --- report --------------------------------------------------------------------------------------
def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _fmt(s: Score) -> str:
    return f"{s.precision:.2f} / {s.recall:.2f} / **{s.f1:.2f}**"


def report(pictures: list[Picture], rounds: int) -> None:
    print(f"\nload average at start of scoring: {_load_average()}\n")
    print("### Quick cuts against TransNetV2 (reference)\n")
    print("| picture | frames | TransNetV2 cuts | quick cuts | P / R / F1 ±2 frames | P / R / F1 ±0.5 s | "
          "quick wall ms (CPU ms) | TransNetV2 wall s |")
    print("|---|---:|---:|---:|---|---|---:|---:|")
    totals: dict[str, list[Score]] = {}
    for pic in pictures:
        est = quick_cuts(pic)
        tol2 = 2.0 / pic.fps + 1e-6
        s2, s05 = match(pic.ref_cuts_s, est, tol2), match(pic.ref_cuts_s, est, 0.5)
        wall, cpu = time_quick(pic.frames, pic.fps, rounds)
        mark = " (gradual)" if pic.gradual else ""
        print(f"| {pic.name}{mark} | {len(pic.frames)} | {len(pic.ref_cuts_s)} | {len(est)} | {_fmt(s2)} | "
              f"{_fmt(s05)} | {wall * 1000:.1f} ({cpu * 1000:.1f}) | {pic.ref_wall_s:.2f} |")
        totals.setdefault("quick", []).append(s2 if not pic.gradual else s05)
    print("\n### Beside trivial baselines (F1 against TransNetV2; ±2 frames / ±0.5 s)\n")
    print("| picture | quick cuts | every N s (N = mean shot length) | fixed diff > 30/255 |")
    print("|---|---|---|---|")
    for pic in pictures:
        tol2 = 2.0 / pic.fps + 1e-6
        cells = []
        for cuts in (quick_cuts(pic), every_n_seconds(pic), fixed_diff(pic)):
            cells.append(f"{match(pic.ref_cuts_s, cuts, tol2).f1:.2f} / {match(pic.ref_cuts_s, cuts, 0.5).f1:.2f}"
                         f" ({len(cuts)} cuts)")
        print(f"| {pic.name} | " + " | ".join(cells) + " |")
    built = [p for p in pictures if p.truth_s is not None]
    if built:
        print("\n### Built pictures against the transitions as built (centres of the xfades, the joins; ±0.5 s)\n")
        print("| picture | built transitions | quick P / R / F1 | TransNetV2 P / R / F1 |")
        print("|---|---:|---|---|")
        for pic in built:
            truth = pic.truth_s or []
            print(f"| {pic.name} | {len(truth)} | {_fmt(match(truth, quick_cuts(pic), 0.5))} | "
                  f"{_fmt(match(truth, pic.ref_cuts_s, 0.5))} |")


def report_scaling(pictures: list[Picture], rounds: int) -> None:
    """Time per frame on the longest picture's first 720 / 1,440 / all frames (linear in n?)."""
    longest = max(pictures, key=lambda p: len(p.frames))
    print(f"\n### Detector time vs length ({longest.name}, frames in memory, median of {rounds})\n")
    print("| frames | wall ms | CPU ms | wall µs per frame | peak memory beyond the frames, bytes per frame |")
    print("|---:|---:|---:|---:|---:|")
    for n in sorted({min(720, len(longest.frames)), min(1440, len(longest.frames)), len(longest.frames)}):
        frames = np.ascontiguousarray(longest.frames[:n])
        wall, cpu = time_quick(frames, longest.fps, rounds)
        tracemalloc.start()
        quick_cut_probs(frames, longest.fps)
        peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"| {n} | {wall * 1000:.1f} | {cpu * 1000:.1f} | {wall / max(n, 1) * 1e6:.1f} | "
              f"{peak_bytes / max(n, 1):.0f} |")
    print(f"\nload average at end: {_load_average()}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", type=Path, help="pictures to evaluate (default: the fixture and the loops)")
    ap.add_argument("--gradual", nargs="*", type=Path, default=[], help="pictures with gradual transitions")
    ap.add_argument("--build", action="store_true", help="also build pictures with gradual transitions")
    ap.add_argument("--out", type=Path, default=None, help="folder for --build (default: a temp folder)")
    ap.add_argument("--rounds", type=int, default=5, help="timing rounds per picture")
    args = ap.parse_args(argv)
    print(f"load average at start: {_load_average()}")
    todo: list[tuple[Path, bool, list[float] | None]] = [(p, False, None) for p in args.paths]
    todo += [(p, True, None) for p in args.gradual]
    if not todo:
        todo = [(BBB, False, None)] + [(p, False, None) for p in LOOPS if p.exists()]
    tmp = None
    if args.build:
        out = args.out
        if out is None:
            tmp = tempfile.TemporaryDirectory(prefix="quick-cuts-")
            out = Path(tmp.name)
        todo += [(b.path, b.gradual, b.truth_s) for b in build_all(out)]
    pictures = [load(path, gradual, truth) for path, gradual, truth in todo]
    report(pictures, args.rounds)
    report_scaling(pictures, args.rounds)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
