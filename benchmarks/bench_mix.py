"""The mockup's sound, measured: speech ducking depth and loudness on the output, and the cost of mixing.

Picture: Big Buck Bunny 0-30 s looped to 150 s at its real size (720p VP8, stream-copied), its sound
replaced by an "explainer" production track: BBB's own score 10 dB down as the bed, with the
eSpeak NG narration (tests/data/speech_espeak.ogg, 9.6 s) at 10, 45, 80 and 115 s. Music: Vibe Ace
(61 s: shorter than the picture, the edit repeats sections) and, when the pool is there, a Wesnoth
track longer than the picture (214 s); else Let's Go Fishin' (133 s). The edits are built on a
synthetic bar grid at each track's tempo (the analysis is not what is measured).

Per track, in one run:

- ``music only`` vs ``mix``: wall time of :func:`render_mp4` (audio + H.264 transcode + mux), and of
  the sound alone (:func:`render_mockup_audio`); the ratio mix / music-only is the cost of mixing.
- ducking depth measured on the decoded MP4: the music's gain in the output by least squares of the
  output on (production, music) inside each narration (0.5 s in from its ends) vs in the 6 s before it;
  the target is ``-duck_db`` (-12 dB).
- speech regions found by YAMNet vs the narration's true placement (onset/offset error, s).
- integrated loudness (BS.1770) of the decoded MP4 vs the target (-14 LUFS web, -23 LUFS broadcast).
- the narration's correlation with the production sound in the output (1 = untouched).
- picture sync-point suggestions on the same picture (cuts: TransNetV2's on the 30 s clip, repeated per
  loop, plus the loop seams): wall time vs decoding the analysis frames alone.

Usage: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_mix.py``. Loaded 2-core machine: compare
ratios of rows from the same run; the load average is printed.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from supervisor_app.edit.edl import build_edit  # noqa: E402
from supervisor_app.edit.mix import MixSettings, integrated_loudness, render_mockup_audio  # noqa: E402
from supervisor_app.edit.render import render_mp4  # noqa: E402
from supervisor_app.media import load_audio, probe  # noqa: E402

BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
SPEECH = REPO / "tests" / "data" / "speech_espeak.ogg"
MUSIC = REPO / "resources" / "demo" / "music"
POOL_LONG = Path("/work/pool/wesnoth-1.16-music/breaking_the_chains.ogg")
SR = 48000
NARRATION_AT = (10.0, 45.0, 80.0, 115.0)
D = 150.0


def _picture(tmp: Path) -> tuple[Path, np.ndarray, np.ndarray, list]:
    loop = tmp / "bbb150_noaudio.webm"
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", "-stream_loop", "4", "-i", str(BBB), "-an",
                    "-c:v", "copy", "-t", str(D), str(loop)], check=True)
    score = load_audio(BBB, sr=SR, mono=False)
    n = int(D * SR)
    bed = np.tile(score, (1, int(np.ceil(n / score.shape[1]))))[:, :n] * 10 ** (-10 / 20)
    speech = load_audio(SPEECH, sr=SR)
    voice = np.zeros(n, np.float32)
    spans = []
    for t0 in NARRATION_AT:
        a = int(t0 * SR)
        voice[a:a + speech.size] += speech
        spans.append((t0, t0 + speech.size / SR))
    prod = (bed + voice[None, :]).astype(np.float32)
    wav = tmp / "prod.wav"
    sf.write(str(wav), prod.T, SR, subtype="FLOAT")
    out = tmp / "explainer150.webm"
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(loop), "-i", str(wav), "-map", "0:v",
                    "-map", "1:a", "-c:v", "copy", "-c:a", "libopus", "-b:a", "160k", str(out)], check=True)
    return out, prod, voice, spans


def _edit(dur: float, track_s: float, bar_s: float):
    downbeats = np.arange(0.1, track_s - 1.0, bar_s)
    sections = [downbeats[min(len(downbeats) - 1, 8 * k)] for k in range(1, 4)]
    cuts = list(np.arange(4.1, dur, 7.3))
    return build_edit(dur, cuts, track_s, downbeats, sections)


def _gain_db(out, prod, music, a, b):
    i, j = int(a * SR), int(b * SR)
    A = np.stack([prod[i:j], music[i:j]], axis=1).astype(np.float64)
    coef, *_ = np.linalg.lstsq(A, out[i:j].astype(np.float64), rcond=None)
    return 20 * np.log10(max(abs(coef[1]), 1e-9))


def _aligned(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``got`` shifted to line up with ``ref`` (AAC priming delay), same length."""
    a, b = 20 * SR, 30 * SR
    c = np.correlate(got[a:b], ref[a - 4096:b + 4096], mode="valid")
    k = int(np.argmax(c)) - 4096
    out = np.zeros_like(ref)
    if k >= 0:
        m = min(ref.size - k, got.size)
        out[k:k + m] = got[:m]
    else:
        m = min(ref.size, got.size + k)
        out[:m] = got[-k:-k + m]
    return out


def main() -> int:
    print(f"load average {os.getloadavg()} (2 shared cores: loaded)")
    tracks = [(MUSIC / "vibe_ace.ogg", 1.845)]
    tracks.append((POOL_LONG, 2.0) if POOL_LONG.exists() else (MUSIC / "lets_go_fishin.ogg", 2.0))
    with tempfile.TemporaryDirectory(prefix="bench-mix-") as td:
        tmp = Path(td)
        video, prod, voice, spans = _picture(tmp)
        dur = probe(video).duration_s
        pm = prod.mean(axis=0)
        print(f"picture: {dur:.1f} s 720p, narration at {', '.join(f'{a:.0f}-{b:.1f}' for a, b in spans)} s over "
              f"BBB's score at -10 dB")
        for track, bar_s in tracks:
            tdur = probe(track).duration_s
            edit = _edit(dur, tdur, bar_s)
            from supervisor_app.edit.render import render_audio

            raw = render_audio(edit, track, sr=SR).mean(axis=0)
            print(f"\n== {track.name} ({tdur:.0f} s, {'shorter' if tdur < dur else 'longer'} than the picture; "
                  f"{len(edit.excerpts)} excerpts)")
            t0 = time.perf_counter()
            only = render_mockup_audio(edit, track, video, music_only=True, settings=MixSettings(loudness_lufs=-14.0))
            t_only = time.perf_counter() - t0
            t0 = time.perf_counter()
            mixed = render_mockup_audio(edit, track, video, settings=MixSettings(loudness_lufs=-14.0))
            t_mix = time.perf_counter() - t0
            t0 = time.perf_counter()
            render_mp4(edit, video, track, tmp / "only.mp4", audio=only)
            t_enc = time.perf_counter() - t0
            print(f"sound alone: music only {t_only:.2f} s, mix {t_mix:.2f} s (ratio {t_mix / t_only:.2f}); "
                  f"+ H.264 transcode and mux {t_enc:.2f} s -> whole MP4 ratio "
                  f"{(t_mix + t_enc) / (t_only + t_enc):.2f}  load {os.getloadavg()[0]:.1f}")
            rep = mixed.report
            found = rep.speech_regions_s
            errs = []
            for (a, b) in spans:
                best = min(found, key=lambda r: abs(r[0] - a)) if found else None
                if best is not None:
                    errs.append((best[0] - a, best[1] - b))
            print(f"speech regions: {len(found)} found for {len(spans)} narrations; onset error "
                  f"{', '.join(f'{e[0]:+.2f}' for e in errs)} s; offset error {', '.join(f'{e[1]:+.2f}' for e in errs)} s")
            for target in (-14.0, -23.0):
                out = render_mp4(edit, video, track, tmp / f"mix{int(-target)}.mp4",
                                 mix=MixSettings(loudness_lufs=target))
                got = load_audio(out, sr=SR, mono=False)
                lufs = integrated_loudness(got, SR)
                g = _aligned(got.mean(axis=0), pm)
                under = [_gain_db(g, pm, raw, a + 0.5, b - 0.5) for a, b in spans]
                before = [_gain_db(g, pm, raw, a - 7.5, a - 1.5) for a, b in spans]
                depth = np.array(under) - np.array(before)
                corr = [float(np.corrcoef(g[int((a + .5) * SR):int((b - .5) * SR)],
                                          pm[int((a + .5) * SR):int((b - .5) * SR)])[0, 1]) for a, b in spans]
                print(f"target {target:+.0f} LUFS: output {lufs:+.2f} LUFS (error {lufs - target:+.2f} LU), "
                      f"peak {20 * np.log10(np.max(np.abs(got))):+.2f} dBFS; ducking depth measured "
                      f"{np.mean(depth):+.2f} dB (min {np.min(depth):+.2f}, max {np.max(depth):+.2f}; set -12); "
                      f"narration vs production correlation {np.mean(corr):.3f}")
            print(f"report: {rep.why} anchor {rep.anchor} at {rep.production_lufs:.1f} LUFS, music gain "
                  f"{rep.music_gain_db:+.1f} dB, production music share {rep.production_music_share:.0%}")
        # picture sync-point suggestions on the same 150 s 720p picture, against decoding its frames alone
        from supervisor_app.analysis.sync_suggestions import FRAME_SIZE, picture_climax_s, suggest_sync_points
        from supervisor_app.media import read_frames

        t0 = time.perf_counter()
        n = sum(1 for _ in read_frames(video, fps=8.0, size=FRAME_SIZE))
        t_dec = time.perf_counter() - t0
        from supervisor_app.analysis.report import cached_shots

        bbb_cuts = list(cached_shots(BBB).cuts_s)  # TransNetV2 on the 30 s clip, repeated for each loop
        cuts = sorted([c + 30.0 * k for k in range(5) for c in bbb_cuts] + [30.0 * k for k in range(1, 5)])
        t0 = time.perf_counter()
        sugg = suggest_sync_points(video, cuts_s=cuts)
        t_sugg = time.perf_counter() - t0
        print(f"\nsync suggestions: {len(sugg)} in {t_sugg:.2f} s ({t_sugg / dur:.3f} x picture duration); decoding "
              f"the {n} analysis frames alone {t_dec:.2f} s (ratio {t_sugg / t_dec:.2f}); climax at "
              f"{picture_climax_s(sugg, dur)} s; load {os.getloadavg()[0]:.1f}")
        for x in sugg:
            print(f"  {x.time_s:7.2f} s  {x.kind:<11} {x.strength:.2f}  {x.reason}")
    print(f"\nload average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
