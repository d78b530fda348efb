"""Quick provisional cuts (:mod:`supervisor_app.analysis.quick_cuts`) against TransNetV2's cuts.

Usage::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/eval_quick_cuts.py [--build] [--out DIR] [PATH ...]

With no paths it evaluates the Big Buck Bunny fixture (30 s) and, when present, the 60 s and 180 s
loops ``/work/scratch/media/bbb_60.mp4`` and ``bbb_180.mp4``. ``--build`` also builds pictures with
gradual transitions from pieces of the fixture with ffmpeg (into ``--out`` or a temp folder):
``xfade_mix`` (8 pieces joined by ``xfade`` dissolve / fade / fadeblack of 0.5-1.5 s),
``fades`` (6 pieces, fade and fadeblack of 0.5-1.5 s), ``long_shots`` (3 long pieces, 2 hard cuts),
``fast_motion`` (5 pieces played 4x fast: camera and characters move 4x as far per frame; 4 hard
cuts) and ``flashes`` (2 pieces, 1 hard cut, with 3 white flashes and 3 brightened ones of 1-2 frames).

Each picture is decoded once with ``read_frames(path, size=(48, 27))`` (the frames TransNetV2 sees);
the reference is ``detect_shots(path)`` (TransNetV2). Cuts are matched one-to-one (greedy in time
order) within ±2 frames, and within ±0.5 s for pictures with gradual transitions (``xfade_mix``,
``fades``, and any path given with ``--gradual``). Beside the quick cuts, two trivial baselines:
``every N s`` (a cut every mean-shot-length of the reference, which knows the number of cuts) and
``fixed diff`` (mean absolute RGB difference of consecutive frames above 30/255, the textbook
cheap detector). For built pictures the cuts are also scored against the transitions as built
(centre of each xfade, ±0.5 s). ``time`` is the detector's median wall time over 5 runs on the
frames in memory (decoding excluded: both detectors share it).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
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
            build_concat(src, out_dir / "flashes.mp4", _FLASH_PIECES, post=_flash_filters())]
