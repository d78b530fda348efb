"""Archive: import time per project, pair preparation (music stem rendering) and training throughput.

- Import: N generated 2-minute projects (OTIO JSON, two picture clips of a 720p Big Buck Bunny looped
  to 150 s, two music cues of the fixtures, one speed-changed), each imported into a fresh archive
  (hash + probe every medium, find the cues, store the pairs). Anchor in the same run: hashing the
  same media files alone (the part of the import that reads every byte).
- Stems: rendering each pair's music stem (the pieces at their in points and speeds) against the
  anchor of decoding the same seconds of the same file in one piece (load_audio).
- Pair features: preparing a 60 s pair with the real extractors (YAMNet on the rendered stem,
  EfficientNet-Lite0 on the picture file) against the anchor of ``train --clips`` on a finished 60 s
  spot of the same picture and music.
- Training: train_model on synthetic pairs with the real extractors' sizes (YAMNet 1024-d, EfficientNet
  1280-d), 30-60 s cues with ~8 s segments: pairs per second of an epoch (fastest of epochs 2-4).

The machine is shared: the load average is printed beside every number. Quality on a real archive
cannot be measured here (no real archive is available offline); the tests check correctness only.

    .venv/bin/python benchmarks/bench_archive.py [--projects 10] [--pairs 200] [--device cpu] [--no-features]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def bench_import(n: int, work: Path) -> None:
    from archive_projects import MusicPiece, ProjectSpec, long_picture, write_project
    from fixture_paths import MUSIC
    from supervisor_app.archive.importer import import_project
    from supervisor_app.catalog import Catalog
    from supervisor_app.infra.hashing import content_hash

    pic = long_picture(work / "picture_720p.mp4", 150.0, size="1280:720", fps=24)
    files = []
    for i in range(n):
        spec = ProjectSpec(f"spot {i}", picture=[(0.0, 70.0, 5.0 + i, pic), (70.0, 50.0, 90.0, pic)],
                           music=[MusicPiece(1.0, 20.0, 3.0 + i, MUSIC / "vibe_ace.ogg"),
                                  MusicPiece(21.0, 10.0, 40.0, MUSIC / "vibe_ace.ogg", 1.25),
                                  MusicPiece(40.0, 70.0, 10.0, MUSIC / "sugar_plum_fairy.ogg")])
        files.append(write_project(spec, work / f"spot{i}.otio", "otio_json"))
    media = [pic, MUSIC / "vibe_ace.ogg", MUSIC / "sugar_plum_fairy.ogg"]
    times, anchors = [], []
    for i, f in enumerate(files):
        t = time.perf_counter()
        for m in media:
            content_hash(m)
        anchors.append(time.perf_counter() - t)
        with Catalog.create(work / f"cat{i}.sqlite") as cat:  # a fresh archive: every medium hashed again
            t = time.perf_counter()
            rep = import_project(cat, f)
            times.append(time.perf_counter() - t)
        assert rep.n_pairs_added == 2, rep
    size_mb = sum(m.stat().st_size for m in media) / 1e6
    print(f"import: {np.median(times) * 1000:.0f} ms per project (median of {n}; 2 pairs, {size_mb:.1f} MB of media); "
          f"hashing the same media alone {np.median(anchors) * 1000:.0f} ms: ratio {np.median(times) / np.median(anchors):.2f}  "
          f"({load()})")


def bench_stems(work: Path) -> None:
    from fixture_paths import MUSIC
    from supervisor_app.archive.features import render_music_stem
    from supervisor_app.archive.timeline import Piece
    from supervisor_app.media import load_audio

    f = MUSIC / "lets_go_fishin.ogg"
    pieces = [Piece(0.0, 30.0, 10.0), Piece(30.0, 45.0, 70.0, 1.25), Piece(45.0, 60.0, 100.0)]
    r, a = [], []
    for _ in range(3):
        t = time.perf_counter()
        render_music_stem(f, pieces, 0.0, 60.0)
        r.append(time.perf_counter() - t)
        t = time.perf_counter()
        load_audio(f, sr=22050, offset_s=10.0, duration_s=60.0)
        a.append(time.perf_counter() - t)
    print(f"stem: 60 s stem of 3 pieces (one at 1.25x) {min(r) * 1000:.0f} ms; decoding 60 s of the same file in one "
          f"piece {min(a) * 1000:.0f} ms: ratio {min(r) / min(a):.2f}  ({load()})")


def bench_pair_features(work: Path) -> None:
    """Preparing a 60 s pair (stem + YAMNet, EfficientNet-Lite0 on the picture file, segmentation none)
    against the anchor ``train --clips`` does for a finished 60 s spot of the same picture and music."""
    from archive_projects import MusicPiece, ProjectSpec, ffmpeg, write_project
    from fixture_paths import MUSIC
    from supervisor_app.archive import store
    from supervisor_app.archive.features import pair_clip
    from supervisor_app.archive.importer import import_project
    from supervisor_app.catalog import Catalog
    from supervisor_app.segvmnet.dataset import extract_clip

    pic = work / "picture_720p.mp4"
    sugar = MUSIC / "sugar_plum_fairy.ogg"
    flat = work / "finished_spot.mp4"
    ffmpeg("-ss", 5, "-t", 60, "-i", pic, "-ss", 10, "-t", 60, "-i", sugar, "-map", "0:v", "-map", "1:a",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", flat)
    warm = work / "warm.mp4"  # load both networks before timing anything (the first call pays for it)
    ffmpeg("-ss", 0, "-t", 3, "-i", flat, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", warm)
    extract_clip(warm, "none", "yamnet", "efficientnet-lite0")
    t = time.perf_counter()
    extract_clip(flat, "none", "yamnet", "efficientnet-lite0")
    anchor = time.perf_counter() - t
    spec = ProjectSpec("feat", picture=[(0.0, 130.0, 5.0, pic)],
                       music=[MusicPiece(0.0, 60.0, 10.0, sugar), MusicPiece(65.0, 60.0, 40.0, MUSIC / "vibe_ace.ogg")])
    f = write_project(spec, work / "feat.otio", "otio_json")
    with Catalog.create(work / "feat.sqlite") as cat:
        import_project(cat, f)
        media = {m.id: m for m in store.all_media(cat)}
        ps = sorted(store.pairs(cat), key=lambda p: p.start_s)
        took = []
        for p in ps:
            t = time.perf_counter()
            pair_clip(cat, p, media, "none", "yamnet", "efficientnet-lite0")
            took.append(time.perf_counter() - t)
    print(f"pair features: finished 60 s spot (train --clips) {anchor:.1f} s; first 60 s pair of a 150 s picture "
          f"{took[0]:.1f} s (ratio {took[0] / anchor:.2f}: the whole picture file is extracted once); second pair of "
          f"the same picture {took[1]:.1f} s (ratio {took[1] / anchor:.2f})  ({load()})")


def bench_training(n_pairs: int, device: str) -> None:
    import torch

    from supervisor_app.segvmnet.dataset import ClipData
    from supervisor_app.segvmnet.train import TrainConfig, train_model

    rng = np.random.default_rng(0)

    def pairs(n, seed):
        out = []
        for i in range(n):
            dur = int(rng.integers(30, 61))
            cuts = np.sort(rng.choice(np.arange(3, dur - 3), size=max(1, dur // 8 - 1), replace=False))
            out.append(ClipData(f"p{seed}-{i}", rng.random((dur, 1024), dtype=np.float32),
                                rng.random((dur, 1280), dtype=np.float32), np.arange(dur) + 0.5,
                                np.concatenate([[0.0], cuts, [dur]]).astype(float), float(dur), "bench"))
        return out

    train, val = pairs(n_pairs, 0), pairs(20, 1)
    cfg = TrainConfig(lr=1e-3, batch_size=128, epochs=4, patience=10, device=device)
    res = train_model(train, val, cfg)
    h = res.history
    epoch_s = min(h[i]["seconds"] - h[i - 1]["seconds"] for i in range(1, len(h)))
    print(f"training: {len(train) / epoch_s:.1f} pairs/s ({res.n_train_rows / epoch_s:.0f} segments/s; {len(train)} pairs "
          f"of 30-60 s, {res.n_train_rows} segments, epoch {epoch_s:.2f} s incl. validation of 20 pairs) on "
          f"{res.config['device_used']}, torch threads {torch.get_num_threads()}  ({load()})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--projects", type=int, default=10)
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-features", action="store_true", help="skip the pair-features part (real extractors)")
    args = ap.parse_args()
    import shutil

    home = tempfile.mkdtemp(prefix="bench-archive-home-")
    os.environ["SUPERVISOR_APP_HOME"] = home  # cold caches: every feature is computed in this run
    print(f"supervisor-app archive benchmark ({load()}; loaded shared machine)")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-archive-") as d:
            bench_import(args.projects, Path(d))
            bench_stems(Path(d))
            if not args.no_features:
                bench_pair_features(Path(d))
        bench_training(args.pairs, args.device)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print("Quality on a real archive cannot be measured here: no real archive is available offline.")


if __name__ == "__main__":
    main()
