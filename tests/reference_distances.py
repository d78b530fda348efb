"""Plain per-track reference of the Seg-VM-Net ranking distances, written straight from the thesis.

Thesis ch. 7: eq. 7.1–7.6 and Algorithms 1 (NW-DTW) and 2 (SW-DTW). Pure Python loops, one pair at
a time, no numba and no batching: the fast implementation in ``supervisor_app.ranking.distances`` is
checked against this file (tests/test_distances.py) and timed against it (benchmarks/).

Conventions shared with the fast code (the thesis does not fix them):
- scores are "higher is better": −distance for centroid/linkage/trace/best trace, X for the DTWs;
- rows are L2-normalised first; the DTWs take ``sim[i][j] = m[i]·v[j]`` from ``similarity_matrix``
  (the same float64 product the fast code uses, so both recurrences see bit-identical inputs and
  their paths can be compared exactly; that product is itself checked against per-pair dot products);
- tie-breaking: diagonal, then up (music), then left (video); SW stops at X == 0 and ends at the
  first maximum in row-major order; best trace takes the smallest offset; linkage the first pair.
"""
from __future__ import annotations

import math

import numpy as np

from supervisor_app.ranking.distances import similarity_matrix


def _normalise(x) -> list[list[float]]:
    a = np.asarray(x, dtype=np.float64)
    return [list(r / math.sqrt(float(r @ r))) for r in a]


def _dist(a: list[float], b: list[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def centroid(m, v) -> float:
    """−‖(1/Kc) Σ m_i − (1/Kq) Σ v_j‖ (eq. 7.1)."""
    m, v = _normalise(m), _normalise(v)
    d = len(m[0])
    cm = [sum(r[k] for r in m) / len(m) for k in range(d)]
    cv = [sum(r[k] for r in v) / len(v) for k in range(d)]
    return -_dist(cm, cv)


def linkage(m, v, single: bool) -> tuple[float, tuple[int, int]]:
    """−min (single, eq. 7.2) or −max (complete, eq. 7.3) of ‖m_i − v_j‖, and the first extreme pair."""
    m, v = _normalise(m), _normalise(v)
    best, pair = None, None
    for i in range(len(m)):
        for j in range(len(v)):
            d = _dist(m[i], v[j])
            if best is None or (d < best if single else d > best):
                best, pair = d, (i, j)
    return -best, pair


def trace(m, v) -> float:
    """−Σ_{i ≤ min(Kc, Kq)} ‖m_i − v_i‖ (eq. 7.4)."""
    m, v = _normalise(m), _normalise(v)
    return -sum(_dist(m[i], v[i]) for i in range(min(len(m), len(v))))


def best_trace(m, v) -> tuple[float, int, str]:
    """−min over offsets k of the trace of the shorter along the longer (eq. 7.5–7.6); (score, k, longer)."""
    m, v = _normalise(m), _normalise(v)
    kc, kq = len(m), len(v)
    best, arg = None, None
    if kc < kq:
        for k in range(0, kq - kc + 1):
            s = sum(_dist(m[i], v[i + k]) for i in range(kc))
            if best is None or s < best:
                best, arg = s, k
        return -best, arg, "video"
    for k in range(0, kc - kq + 1):
        s = sum(_dist(m[i + k], v[i]) for i in range(kq))
        if best is None or s < best:
            best, arg = s, k
    return -best, arg, ("music" if kc > kq else "equal")


def nw_dtw(m, v, indel: float = 0.05) -> tuple[float, list[tuple[int, int]], list[str]]:
    """Algorithm 1 and its backtrace: (score, path, steps)."""
    sim = similarity_matrix(m, v).tolist()
    km, kv = len(sim), len(sim[0])
    X = [[0.0] * (kv + 1) for _ in range(km + 1)]
    for i in range(0, km + 1):
        X[i][0] = -indel * i
    for j in range(0, kv + 1):
        X[0][j] = -indel * j
    for i in range(1, km + 1):
        for j in range(1, kv + 1):
            s = sim[i - 1][j - 1]
            X[i][j] = max(X[i - 1][j] - indel, X[i][j - 1] - indel, X[i - 1][j - 1] + s)
    path, steps = [], []
    i, j = km, kv
    while i > 0 or j > 0:
        if i > 0 and j > 0 and X[i][j] == X[i - 1][j - 1] + sim[i - 1][j - 1]:
            path.append((i - 1, j - 1)); steps.append("match"); i, j = i - 1, j - 1
        elif i > 0 and (j == 0 or X[i][j] == X[i - 1][j] - indel):
            if j > 0:
                path.append((i - 1, j - 1)); steps.append("music")
            i -= 1
        else:
            if i > 0:
                path.append((i - 1, j - 1)); steps.append("video")
            j -= 1
    return X[km][kv], path[::-1], steps[::-1]


def sw_dtw(m, v, indel: float = 0.01) -> tuple[float, list[tuple[int, int]], list[str]]:
    """Algorithm 2 and its local backtrace: (score, path, steps)."""
    sim = similarity_matrix(m, v).tolist()
    km, kv = len(sim), len(sim[0])
    X = [[0.0] * (kv + 1) for _ in range(km + 1)]
    for i in range(1, km + 1):
        for j in range(1, kv + 1):
            s = sim[i - 1][j - 1]
            X[i][j] = max(0, X[i - 1][j] - indel, X[i][j - 1] - indel, X[i - 1][j - 1] + s)
    best, end = 0.0, (0, 0)
    for i in range(km + 1):
        for j in range(kv + 1):
            if X[i][j] > best:
                best, end = X[i][j], (i, j)
    path, steps = [], []
    i, j = end
    while i > 0 and j > 0 and X[i][j] > 0:
        path.append((i - 1, j - 1))
        if X[i][j] == X[i - 1][j - 1] + sim[i - 1][j - 1]:
            steps.append("match"); i, j = i - 1, j - 1
        elif X[i][j] == X[i - 1][j] - indel:
            steps.append("music"); i -= 1
        else:
            steps.append("video"); j -= 1
    return best, path[::-1], steps[::-1]


def score(m, v, distance: str) -> float:
    """Reference score of one pair for any distance name of ``DISTANCES``."""
    if distance == "centroid":
        return centroid(m, v)
    if distance in ("single", "complete"):
        return linkage(m, v, distance == "single")[0]
    if distance == "trace":
        return trace(m, v)
    if distance == "best-trace":
        return best_trace(m, v)[0]
    if distance == "nw-dtw":
        return nw_dtw(m, v)[0]
    if distance == "sw-dtw":
        return sw_dtw(m, v)[0]
    raise ValueError(distance)
