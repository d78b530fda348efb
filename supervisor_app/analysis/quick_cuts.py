"""Provisional hard cuts from frame differences (issue 21): the mean absolute difference of successive
48x27 RGB frames against a fixed threshold. Milliseconds for a minute of picture; misses gradual
transitions. TransNetV2 (:mod:`.shots`) replaces its cuts once it has run."""
from __future__ import annotations

import numpy as np

QUICK_CUTS_VERSION = "quick-cuts-0"
_MAD_CUT = 30.0  # mean |difference| of 0..255 values above which two successive frames belong to two shots


def quick_cut_probs(frames: np.ndarray, fps: float) -> np.ndarray:
    """(n,) float32 in [0, 1]: 0.9 on the last frame of an outgoing shot (TransNetV2's convention), else 0."""
    n = len(frames)
    p = np.zeros(n, np.float32)
    if n < 2:
        return p
    f = np.asarray(frames).reshape(n, -1).astype(np.float32)
    d = np.abs(np.diff(f, axis=0)).mean(axis=1)
    p[:-1] = np.where(d > _MAD_CUT, 0.9, 0.0)
    return p
