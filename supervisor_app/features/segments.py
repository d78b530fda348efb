"""Segment features: the mean of a track's or a video's frame features inside each segment (seconds).

Used by indexing (catalog tracks), the query video (services) and the Seg-VM-Net datasets alike.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["segment_means", "segment_means_of"]


def _frame_indices(times_s: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    idx = np.flatnonzero((times_s >= start_s) & (times_s < end_s))
    if idx.size == 0:  # a segment shorter than a frame: use the frame nearest to its centre
        idx = np.array([int(np.argmin(np.abs(times_s - 0.5 * (start_s + end_s))))])
    return idx


def segment_means(frames: np.ndarray, times_s: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
    """(K, d) mean of the frames whose centre lies in each (start_s, end_s) span (nearest frame if none)."""
    frames = np.asarray(frames, dtype=np.float32)
    out = np.empty((len(spans), frames.shape[1]), dtype=np.float32)
    for k, (s, e) in enumerate(spans):
        out[k] = frames[_frame_indices(np.asarray(times_s), s, e)].mean(axis=0)
    return out


def segment_means_of(frames_f16: np.ndarray, boundaries_s) -> np.ndarray:
    """(K, 1024) float32 YAMNet means over the segments [b0, b1), … of 1 Hz frames stored as float16."""
    frames = np.asarray(frames_f16, dtype=np.float16).astype(np.float32)
    b = np.asarray(boundaries_s, dtype=np.float64)
    return segment_means(frames, np.arange(len(frames)) + 0.5, list(zip(b[:-1], b[1:])))
