#!/usr/bin/env python3
"""MuSimNet costs, as ratios measured in one run on this machine.

    .venv/bin/python benchmarks/bench_musimnet.py [--track resources/demo/music/vibe_ace.ogg] [--model musimnet-demo]

Prints, per audio-second of a real track, decoding at 44.1 kHz, the CQT front end and the MuSimNet
embedding of a catalog track's patches (every 256 frames), each also as a ratio to YAMNet's 1 Hz
extraction measured in the same run (what ``catalog index`` already pays); then the offline
Distance-based mining cost per triplet for two catalog sizes.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402


def timed(fn, repeat=3):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--track", default=str(REPO / "resources" / "demo" / "music" / "vibe_ace.ogg"))
    p.add_argument("--model", default="musimnet-demo")
    a = p.parse_args(argv)

    from supervisor_app import media
    from supervisor_app.features import get_extractor
    from supervisor_app.musimnet import frontend
    from supervisor_app.musimnet.mining import mine_triplets
    from supervisor_app.musimnet.nets import load_musimnet
    from supervisor_app.services.similar import musimnet_patch_embeddings

    ya = get_extractor("yamnet")
    ya.extract(a.track)  # warm up (model load)
    frontend.cqt_db(np.zeros(44100, np.float32))  # warm up (filters)
    loaded = load_musimnet(a.model, device="auto")
    t_dec, audio = timed(lambda: media.load_audio(a.track, sr=frontend.SAMPLE_RATE))
    dur = len(audio) / frontend.SAMPLE_RATE
    t_cqt, cqt = timed(lambda: frontend.cqt_db(audio))
    t_emb, (starts, emb) = timed(lambda: musimnet_patch_embeddings(loaded, cqt), repeat=2)
    t_yam, _ = timed(lambda: ya.extract(a.track), repeat=2)
    print(f"track {Path(a.track).name}: {dur:.1f} s; model {loaded.name} "
          f"({loaded.card.network.get('arch')}, width x{loaded.card.network.get('width_scale')}) on "
          f"{next(loaded.model.parameters()).device}")
    rows = [("decode 44.1 kHz", t_dec), ("CQT front end", t_cqt), (f"MuSimNet, {len(starts)} patches", t_emb),
            ("YAMNet 1 Hz (reference)", t_yam)]
    for name, t in rows:
        print(f"  {name:<28} {t / dur * 1000:8.2f} ms per audio-second   {t / t_yam:6.2f} x YAMNet")
    total = t_dec + t_cqt + t_emb
    print(f"  MuSimNet catalog embedding total: {total / t_yam:.2f} x YAMNet extraction")

    rng = np.random.default_rng(0)
    for n in (200, 800):
        x = rng.random((n, 12))
        s = x @ x.T / 12
        t, trip = timed(lambda: mine_triplets(s, "distance"), repeat=1)
        print(f"  mining (distance-based) on {n} tracks: {len(trip)} triplets, {t / len(trip) * 1e6:.2f} µs per triplet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
