"""Decode speed of the media layer, as ratios of media duration (one run, this machine).

    .venv/bin/python benchmarks/bench_media.py
"""
from __future__ import annotations

import time
from pathlib import Path

from supervisor_app.media import load_audio, probe, read_frames

ROOT = Path(__file__).resolve().parent.parent
MUSIC = sorted((ROOT / "resources/demo/music").iterdir())
VIDEO = ROOT / "resources/demo/video/big_buck_bunny_0_30.webm"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    rows = []
    total_audio = sum(probe(p).duration_s for p in MUSIC)
    _, t = timed(lambda: [probe(p) for p in MUSIC])
    rows.append(("probe, 6 music files", f"{t / len(MUSIC) * 1000:.1f} ms per file", ""))
    for sr in (44100, 16000):
        _, t = timed(lambda: [load_audio(p, sr=sr) for p in MUSIC])
        rows.append((f"load_audio mono {sr} Hz, {total_audio:.0f} s of music", f"{t:.2f} s", f"{total_audio / t:.0f}x real time"))
    d = probe(VIDEO).duration_s
    _, t = timed(lambda: load_audio(VIDEO, sr=44100))
    rows.append((f"load_audio from the 720p webm ({d:.0f} s)", f"{t:.2f} s", f"{d / t:.0f}x real time"))
    n, t = timed(lambda: sum(1 for _ in read_frames(VIDEO, size=(48, 27))))
    rows.append((f"read_frames every frame at 48x27 ({n} frames)", f"{t:.2f} s", f"{d / t:.0f}x real time"))
    n, t = timed(lambda: sum(1 for _ in read_frames(VIDEO, fps=1.0, size=(224, 224))))
    rows.append((f"read_frames 1 Hz at 224x224 ({n} frames)", f"{t:.2f} s", f"{d / t:.0f}x real time"))
    print("| step | time | speed |\n|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
