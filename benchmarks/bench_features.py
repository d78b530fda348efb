"""Speed of the frozen feature extractors, measured in one run on this machine.

    .venv/bin/python benchmarks/bench_features.py [--repeats 3] [--skip-slow]

Prints, per extractor, seconds of compute per second of media (decode included, cache bypassed,
model already loaded; best of ``--repeats``), the one-off load time, and then MobileNetV2 vs
EfficientNet-Lite0 on the same 30 decoded frames of the Big Buck Bunny clip in each backend
(eager torch, onnxruntime after the one-off export), in ms per frame, with their ratio.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SUPERVISOR_APP_HOME", tempfile.mkdtemp(prefix="bench-features-"))

from supervisor_app import media  # noqa: E402
from supervisor_app.features import get_extractor, image_nets  # noqa: E402

AUDIO = ROOT / "resources" / "demo" / "music" / "vibe_ace.ogg"
VIDEO = ROOT / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def per_media_second(name: str, path: Path, repeats: int) -> None:
    ex = get_extractor(name)
    t0 = time.perf_counter()
    first = ex.extract(path)  # loads the model (and exports ONNX for image nets on first use)
    load_s = time.perf_counter() - t0
    duration_s = media.probe(path).duration_s
    best = best_of(lambda: ex.extract(path), repeats)
    backend = ex.backend() if hasattr(ex, "backend") else "n/a"
    print(f"{name:20s} {ex.modality:5s} dim={ex.dim:5d} T={len(first.frames):4d} on {path.name} ({duration_s:.1f} s): "
          f"{best / duration_s:.4f} s per media-second  [{backend}; first call {load_s:.2f} s]")


def image_nets_same_frames(repeats: int) -> None:
    info = media.probe(VIDEO)
    size = image_nets.resize_size(info.width, info.height)
    t0 = time.perf_counter()
    frames = [f for _, f in media.read_frames(VIDEO, fps=1.0, size=size, start_s=0.5)]
    decode_s = time.perf_counter() - t0
    batch = image_nets.preprocess(frames, resized=True)
    print(f"\n{len(frames)} frames of {VIDEO.name}: decode+resize {1000 * decode_s / len(frames):.1f} ms/frame")
    results = {}
    for name in ("mobilenetv2", "efficientnet-lite0"):
        for backend in ("torch", "onnx"):
            ex = image_nets.mobilenet_v2() if name == "mobilenetv2" else image_nets.efficientnet_lite0()
            ex._backend_pref = backend
            ex.run_batch(batch[:image_nets.BATCH_FRAMES])  # warm-up / export
            run = lambda: [ex.run_batch(batch[i:i + image_nets.BATCH_FRAMES])
                           for i in range(0, len(batch), image_nets.BATCH_FRAMES)]
            ms = 1000 * best_of(run, repeats) / len(batch)
            results[(name, backend)] = ms
            print(f"  {name:20s} {ex.backend():12s} {ms:7.1f} ms/frame (batch {image_nets.BATCH_FRAMES})")
    for backend in ("torch", "onnx"):
        r = results[("efficientnet-lite0", backend)] / results[("mobilenetv2", backend)]
        print(f"  {backend}: EfficientNet-Lite0 / MobileNetV2 time ratio = {r:.2f}")
    for name in ("mobilenetv2", "efficientnet-lite0"):
        r = results[(name, "torch")] / results[(name, "onnx")]
        print(f"  {name}: torch / onnxruntime time ratio = {r:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-slow", action="store_true", help="skip the handcrafted extractor")
    args = ap.parse_args()
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cuda={torch.cuda.is_available()}, "
          f"cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    per_media_second("yamnet", AUDIO, args.repeats)
    if not args.skip_slow:
        per_media_second("handcrafted", AUDIO, args.repeats)
    per_media_second("yamnet", VIDEO, args.repeats)
    per_media_second("mobilenetv2", VIDEO, args.repeats)
    per_media_second("efficientnet-lite0", VIDEO, args.repeats)
    image_nets_same_frames(args.repeats)


if __name__ == "__main__":
    main()
