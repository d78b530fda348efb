"""Mockup render speed: wall time as a ratio of the media duration (lower is faster), one run each.

Inputs: Big Buck Bunny 0-30 s (720p VP8 + Vorbis) and a 60 s version of it (the clip looped once,
stream-copied), under Vibe Ace (61 s). The edit is built on a synthetic bar grid at the track's tempo
(the analysis is not what is measured here). Rows:

- ``audio``: :func:`render_audio` (decode the track, cut, crossfade) alone;
- ``mp4 transcode <preset>``: :func:`render_mp4` from the VP8 source (music-only audio + one H.264 encode + mux;
  the cost of mixing under the production sound is measured by ``bench_mix.py``);
- ``mp4 copy``: :func:`render_mp4` from an H.264 source (the video stream is copied, not re-encoded);
- ``build_edit + sync_score``: the edit engine and the calibrated sync score (100 random offsets).

Usage: ``.venv/bin/python benchmarks/bench_render.py [--presets ultrafast veryfast]``. The machine's
load matters (2 shared cores): compare the ratios of rows measured in the same run.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from supervisor_app.edit.edl import build_edit  # noqa: E402
from supervisor_app.edit.render import render_audio, render_mp4  # noqa: E402
from supervisor_app.media import probe  # noqa: E402
from supervisor_app.ranking.sync import sync_score  # noqa: E402

BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
VIBE = REPO / "resources" / "demo" / "music" / "vibe_ace.ogg"
BAR_S = 1.845  # Vibe Ace: 130 bpm, 4/4
DOWNBEATS = np.arange(0.05, 61.0, BAR_S)
SECTIONS = [15.0, 30.0, 45.0]


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _video_60s(tmp: Path) -> Path:
    out = tmp / "bbb_60s.webm"
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", "-stream_loop", "1", "-i", str(BBB), "-c", "copy",
                    "-t", "60", str(out)], check=True)
    return out


def _h264(src: Path, tmp: Path) -> Path:
    out = tmp / f"{src.stem}_h264.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(src), "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an", str(out)], check=True)
    return out


def _edit(duration_s: float):
    cuts = np.arange(2.3, duration_s, 3.7)  # a cut every 3.7 s
    n_seg = len(cuts) + 1
    path = [(min(3, j * 4 // n_seg), j) for j in range(n_seg)]
    return build_edit(duration_s, cuts, 61.459, DOWNBEATS, SECTIONS, path=path), cuts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", nargs="+", default=["ultrafast", "veryfast"])
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-render-") as td:
        tmp = Path(td)
        videos = {30: BBB, 60: _video_60s(tmp)}
        for secs, video in videos.items():
            dur = probe(video).duration_s
            t, (edit, cuts) = _timed(lambda: _edit(dur))
            t2, _ = _timed(lambda: sync_score(edit, cuts, None, DOWNBEATS, SECTIONS))
            rows.append((secs, "build_edit + sync_score", t + t2, dur))
            t, _ = _timed(lambda: render_audio(edit, VIBE))
            rows.append((secs, "audio", t, dur))
            for preset in args.presets:
                t, out = _timed(lambda: render_mp4(edit, video, VIBE, tmp / f"m{secs}_{preset}.mp4", preset=preset, music_only=True))
                size_mb = out.stat().st_size / 1e6
                rows.append((secs, f"mp4 transcode {preset} ({size_mb:.1f} MB)", t, dur))
            h264 = _h264(video, tmp)
            t, _ = _timed(lambda: render_mp4(edit, h264, VIBE, tmp / f"c{secs}.mp4", music_only=True))
            rows.append((secs, "mp4 copy (H.264 source)", t, dur))
    print(f"{'media':>6}  {'step':<36} {'wall s':>8} {'ratio':>7}")
    for secs, name, t, dur in rows:
        print(f"{secs:>5}s  {name:<36} {t:8.2f} {t / dur:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
