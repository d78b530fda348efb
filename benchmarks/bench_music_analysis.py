"""Speed of the music analyzers, seconds of compute per second of audio, measured in one run.

For each fixture it times, side by side in the same process:

* madmom beats + downbeats: the package's own call (``RNNDownBeatProcessor`` on the path, then
  ``DBNDownBeatTrackingProcessor`` at OUR tempo range, ``DEFAULT_MIN_BPM``–``DEFAULT_MAX_BPM`` of
  supervisor_app/analysis/beats.py, madmom decoding the file itself) vs
  :func:`supervisor_app.analysis.beats.track_beats_file` (media-layer decode + the fast network
  evaluation + the same DBN); the outputs are compared, not thrown away: beat and downbeat
  F-measure of ours against the package's (±70 ms, madmom's BeatEvaluation), 1.000 = the same beats;
* MSAF, each of foote / sf / olda *cold* (features computed for that algorithm alone): the package's
  own ``msaf.process(path, boundaries_id=algo)`` (run on a copy of the file inside a temporary
  working directory, because it writes there and next to the file; the files it wrote are listed)
  vs :func:`supervisor_app.analysis.segments.music_segments` with that single algorithm;
* MSAF with *shared features*: the three algorithms in one ``music_segments`` call (features
  computed once), with MSAF's own librosa beats and with madmom's beats (what ``analyze`` does).

    .venv/bin/python benchmarks/bench_music_analysis.py            # vibe_ace, hungarian_dance_5, mindless_cut
    .venv/bin/python benchmarks/bench_music_analysis.py --all      # every demo track (~7 min of audio)

Models are loaded before timing (one warm-up call on a short excerpt). The machine may be shared:
compare the ratios of one run more than the absolute numbers. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from supervisor_app.analysis import beats as beats_mod  # noqa: E402
from supervisor_app.analysis.madmom_compat import import_madmom  # noqa: E402
from supervisor_app.analysis.msaf_compat import import_msaf  # noqa: E402
from supervisor_app.analysis.segments import music_segments  # noqa: E402
from supervisor_app.media import load_audio, probe  # noqa: E402

MUSIC = ROOT / "resources" / "demo" / "music"
DEFAULT_FILES = ("vibe_ace.ogg", "hungarian_dance_5.ogg", "mindless_cut.mp3")
ALGOS = ("foote", "sf", "olda")


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


_PKG_RNN = None


def madmom_package(path: Path):
    """madmom's own pipeline on the file path (its networks loaded once, like ours)."""
    global _PKG_RNN
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor

    if _PKG_RNN is None:
        _PKG_RNN = RNNDownBeatProcessor()
    act = _PKG_RNN(str(path))
    with np.errstate(divide="ignore", invalid="ignore"):
        return DBNDownBeatTrackingProcessor(beats_per_bar=[3, 4], fps=100, min_bpm=beats_mod.DEFAULT_MIN_BPM,
                                            max_bpm=beats_mod.DEFAULT_MAX_BPM)(act)


def fmeasure(detected_s: np.ndarray, reference_s: np.ndarray) -> float:
    """Beat F-measure (±70 ms) of ``detected_s`` against ``reference_s`` (madmom's evaluation)."""
    import warnings

    from madmom.evaluation.beats import BeatEvaluation

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not enough annotations for histogram bins" (other metrics)
        return float(BeatEvaluation(np.asarray(detected_s, float), np.asarray(reference_s, float)).fmeasure)


def msaf_package(path: Path, algo: str) -> tuple[float, list[str]]:
    """msaf.process on a copy in a temporary working directory; returns (seconds, files it wrote)."""
    import msaf

    with tempfile.TemporaryDirectory(prefix="bench-msaf-") as tmp:
        data = Path(tmp) / "data" / "audio"
        data.mkdir(parents=True)
        copy = data / path.name
        shutil.copy(path, copy)
        cwd = Path(tmp) / "cwd"
        cwd.mkdir()
        old = os.getcwd()
        os.chdir(cwd)
        try:
            dt, _ = timed(lambda: msaf.process(str(copy), boundaries_id=algo, feature="pcp"))
        finally:
            os.chdir(old)
        written = sorted(p.relative_to(tmp).as_posix() for p in Path(tmp).rglob("*")
                         if p.is_file() and p != copy)
    return dt, written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="every demo track instead of three")
    args = ap.parse_args()
    files = sorted(MUSIC.glob("*.*")) if args.all else [MUSIC / f for f in DEFAULT_FILES]
    files = [f for f in files if probe(f).duration_s >= 10.0]  # MSAF needs ≥ 10 s

    import_madmom()
    import_msaf()
    warm = load_audio(files[0], sr=44100, duration_s=12.0)
    beats_mod.track_beats(warm, 44100)  # loads the 8 networks
    madmom_package(files[0])  # the package's own processor, loaded once too
    music_segments(warm, 44100, algorithms=ALGOS)  # imports + numba JIT of librosa's beat tracker

    rows = []
    agreement = []
    load0 = os.getloadavg()
    written_by_msaf: set[str] = set()
    for f in files:
        dur = probe(f).duration_s
        print(f"{f.name} ({dur:.0f} s) ...", file=sys.stderr, flush=True)
        t_pkg, pkg = timed(lambda: madmom_package(f))
        t_ours, beats = timed(lambda: beats_mod.track_beats_file(f))
        pkg = np.asarray(pkg, dtype=np.float64).reshape(-1, 2)
        pkg_beats_s, pkg_down_s = pkg[:, 0], pkg[pkg[:, 1] == 1, 0]
        agreement.append((f.name, len(beats.beats_s), len(pkg_beats_s), fmeasure(beats.beats_s, pkg_beats_s),
                          len(beats.downbeats_s), len(pkg_down_s), fmeasure(beats.downbeats_s, pkg_down_s)))
        rows.append(("madmom beats+downbeats", f.name, dur, t_pkg, t_ours))
        for algo in ALGOS:
            t_pkg, written = msaf_package(f, algo)
            written_by_msaf.update(written)
            t_ours, _ = timed(lambda: music_segments(f, algorithms=(algo,)))
            rows.append((f"msaf {algo}, cold", f.name, dur, t_pkg, t_ours))
        t_shared, _ = timed(lambda: music_segments(f, algorithms=ALGOS))
        rows.append(("msaf foote+sf+olda, shared features", f.name, dur, None, t_shared))
        t_mm, _ = timed(lambda: music_segments(f, algorithms=ALGOS, beats_s=beats.beats_s))
        rows.append(("msaf foote+sf+olda, shared, madmom beats", f.name, dur, None, t_mm))

    print("\n| analyzer | file | audio (s) | package (s / audio-s) | ours (s / audio-s) | ours / package |")
    print("|---|---|---:|---:|---:|---:|")
    for name, fname, dur, t_pkg, t_ours in rows:
        pkg = f"{t_pkg / dur:.3f}" if t_pkg is not None else "—"
        ratio = f"{t_ours / t_pkg:.2f}" if t_pkg else "—"
        print(f"| {name} | {fname} | {dur:.1f} | {pkg} | {t_ours / dur:.3f} | {ratio} |")

    total = {}
    for name, _, dur, t_pkg, t_ours in rows:
        agg = total.setdefault(name, [0.0, 0.0, 0.0])
        agg[0] += dur
        agg[1] += t_pkg or 0.0
        agg[2] += t_ours
    print("\n| analyzer (all files) | package (s / audio-s) | ours (s / audio-s) |")
    print("|---|---:|---:|")
    for name, (dur, t_pkg, t_ours) in total.items():
        print(f"| {name} | {t_pkg / dur:.3f} | {t_ours / dur:.3f} |" if t_pkg else
              f"| {name} | — | {t_ours / dur:.3f} |")
    print(f"\n### Beats / downbeats of ours vs the package's, both at {beats_mod.DEFAULT_MIN_BPM:g}–"
          f"{beats_mod.DEFAULT_MAX_BPM:g} BPM (F-measure ±70 ms; 1.000 = identical)\n")
    print("| file | beats ours / package | beat F | downbeats ours / package | downbeat F |")
    print("|---|---:|---:|---:|---:|")
    for name, nb, nbp, fb, nd, ndp, fd in agreement:
        print(f"| {name} | {nb} / {nbp} | {fb:.3f} | {nd} / {ndp} | {fd:.3f} |")
    print(f"\nfiles msaf.process wrote (relative to its temporary root: the working directory is "
          f"cwd/, the track lies in data/audio/): {sorted(written_by_msaf)}")
    print(f"CPU: {os.cpu_count()} cores; load average {load0[0]:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end (a loaded machine slows both sides; compare ratios)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
