"""Ranking distances of Seg-VM-Net (thesis ch. 7, SPEC §4) between a music and a video segment sequence.

Each sequence is a ``(K, d)`` matrix of segment embeddings; rows are L2-normalised on entry (the
model already emits unit vectors, so this only guards against drift). ``sim(i, j) = m_i · v_j`` and
``D(i, j) = ‖m_i − v_j‖₂``.

**Score convention: higher is better, for every distance.**

=============  ==============================================================  ==================
name           score                                                           thesis
=============  ==============================================================  ==================
centroid       −‖mean_i m_i − mean_j v_j‖ (means of the normalised rows)         eq. 7.1
single         −min_{i,j} D(i, j)                                              eq. 7.2
complete       −max_{i,j} D(i, j)                                              eq. 7.3
nw-dtw         X[Km, Kv] of the global recurrence, indel 0.05 (a similarity)   Algorithm 1
sw-dtw         max X of the local recurrence, indel 0.01 (a similarity)        Algorithm 2
trace          −Σ_{i < min(Km, Kv)} D(i, i)  (sum, not mean: as the thesis)    eq. 7.4
best-trace     −min_k Σ_i D over the diagonals of the shorter along the longer eq. 7.5–7.6
=============  ==============================================================  ==================

NW:  X[i,0] = −indel·i, X[0,j] = −indel·j,
     X[i,j] = max(X[i−1,j] − indel, X[i,j−1] − indel, X[i−1,j−1] + sim(i−1, j−1)).
SW:  X[i,0] = X[0,j] = 0,  X[i,j] = max(0, the same three terms).

**Paths** (:func:`align`) are lists of ``(i_music, j_video)`` 0-based segment pairs, monotone, each
step advancing i, j or both by one (a DTW warping path):

* nw-dtw / sw-dtw: every interior DP cell the backtrace visits, ``X[i+1, j+1] ↔ (i, j)``, with the move
  that entered it in ``steps``: ``"match"`` (diagonal: scored by sim), ``"music"`` (X[i−1,j] − indel:
  music segment i also plays under video segment j), ``"video"`` (X[i,j−1] − indel: video segment j also
  over music segment i). NW cells on the DP border (music or video segments skipped before the other
  starts) are not pairs, so the path may start after (0, 0). SW's path is the local alignment only;
  it is empty when no segment pair has positive similarity (score 0).
* trace: the diagonal (i, i). best-trace: the best diagonal, with ``offset`` and ``longer``.
* centroid: no temporal alignment exists; the path is the diagonal, i.e. the music played from its
  start under the video (what an editor does with an unaligned suggestion).
* single / complete: the one pair that decided the score (closest / farthest).

**Tie-breaking** (identical in the reference implementation of the tests): DP moves prefer diagonal,
then music (up), then video (left); SW stops at cells whose value is 0 and ends at the first maximal
cell in row-major order (smallest i, then smallest j); best-trace takes the smallest offset among equal
sums; linkage pairs the first extreme in row-major order.

Batched scoring (:func:`catalog_scores`) runs over a :class:`~supervisor_app.ranking.bank.SegmentBank`
in chunks of rows spread over a few threads (numba kernels release the GIL): the DTWs and linkages
compute the chunk's similarities ``rows @ queryᵀ`` then loop over its tracks; trace, best-trace and
centroid compute ``‖a − b‖`` directly (no ``2 − 2·sim`` cancellation), touching only the pairs they
need. A register-blocked numba dot-product kernel replaced BLAS here: ~1.8× faster than
single-threaded OpenBLAS for this skinny product, and it never stalls waiting for BLAS threads on a
busy machine (benchmarks/README.md). Precision: computed in the bank's dtype (float32 by default),
scores agree with the float64 reference within ~1e-4; linkages pick their pair on the similarities
and then recompute its distance exactly, so they can differ by up to ~1e-3 when two nearly identical
pairs tie. :func:`align` works in float64.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from numba import njit

from supervisor_app.infra.errors import UsageError
from supervisor_app.ranking.names import default_indel, distance_name
from supervisor_app.ranking.bank import SegmentBank, as_work_rows, l2_normalize_rows

_CHUNK_ROWS = 1 << 14  # bank rows (or centroids) per kernel call: bounds temporaries, feeds threads
# float16 banks (half the memory) are converted chunk by chunk into small, cache-resident float32
# copies (numba has no float16 arithmetic); scans cost 1.5–3× more CPU than on float32 banks.
_CHUNK_ROWS_CONVERT = 1 << 11
# Threads for the GIL-free numba kernels (chunks of a catalog scan).
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_THREADS = max(1, min(4, _CPUS))
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_MOVE_STOP, _MOVE_DIAG, _MOVE_UP, _MOVE_LEFT = 0, 1, 2, 3
_STEP_NAME = {_MOVE_DIAG: "match", _MOVE_UP: "music", _MOVE_LEFT: "video"}


@dataclass(frozen=True)
class Alignment:
    """How one music track's segments align with the video's, and the score (higher is better).

    ``path``: (i_music, j_video) 0-based segment pairs in order; ``steps``: the kind of each pair
    ("match", "music", "video"; see the module doc). ``music_start:music_end`` and
    ``video_start:video_end`` are the half-open segment ranges the path covers (0:0 when empty).
    ``offset``/``longer`` only for best-trace: the segment of the longer sequence ("music" or
    "video"; "equal" when both have the same length) aligned with the first of the shorter.
    """

    distance: str
    score: float
    path: list[tuple[int, int]]
    steps: list[str]
    n_music: int
    n_video: int
    music_start: int = 0
    music_end: int = 0
    video_start: int = 0
    video_end: int = 0
    offset: int | None = None
    longer: str | None = None

    @property
    def matches(self) -> list[tuple[int, int]]:
        """The pairs entered by a diagonal (scored) move."""
        return [p for p, s in zip(self.path, self.steps) if s == "match"]


# ----------------------------------------------------------------------------- similarity
def similarity_matrix(music_emb: np.ndarray, video_emb: np.ndarray) -> np.ndarray:
    """(Km, Kv) float64 ``sim(i, j) = m_i · v_j`` of the L2-normalised rows."""
    m = l2_normalize_rows(music_emb, what="music segment embedding")
    v = l2_normalize_rows(video_emb, what="video segment embedding")
    if m.shape[1] != v.shape[1]:
        raise UsageError(f"Music embeddings are {m.shape[1]}-d but video embeddings are {v.shape[1]}-d.")
    return _dot_matrix(m, v)


def _dot_matrix(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The one place pairwise similarities of normalised float64 rows are computed (align and the
    test reference must see bit-identical values to agree on tie-breaking)."""
    return m @ v.T


def _pairwise_dist(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(Km, Kv) ``‖m_i − v_j‖`` computed from differences (exact near 0)."""
    diff = m[:, None, :] - v[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


# ----------------------------------------------------------------------------- numba kernels
@njit(cache=True, nogil=True)
def _nw_scores(S, offs, indel):
    """NW-DTW score of each track; ``S`` (rows, Kq) sims, track t owns rows offs[t]:offs[t+1]."""
    n = offs.shape[0] - 1
    kq = S.shape[1]
    out = np.empty(n, np.float64)
    prev = np.empty(kq + 1, np.float64)
    cur = np.empty(kq + 1, np.float64)
    for t in range(n):
        a = offs[t]
        k = offs[t + 1] - a
        for j in range(kq + 1):
            prev[j] = -indel * j
        for i in range(1, k + 1):
            cur[0] = -indel * i
            for j in range(1, kq + 1):
                best = prev[j - 1] + S[a + i - 1, j - 1]
                up = prev[j] - indel
                if up > best:
                    best = up
                left = cur[j - 1] - indel
                if left > best:
                    best = left
                cur[j] = best
            prev, cur = cur, prev
        out[t] = prev[kq]
    return out


@njit(cache=True, nogil=True)
def _sw_scores(S, offs, indel):
    """SW-DTW score (max of X) of each track."""
    n = offs.shape[0] - 1
    kq = S.shape[1]
    out = np.empty(n, np.float64)
    prev = np.empty(kq + 1, np.float64)
    cur = np.empty(kq + 1, np.float64)
    for t in range(n):
        a = offs[t]
        k = offs[t + 1] - a
        for j in range(kq + 1):
            prev[j] = 0.0
        top = 0.0
        for i in range(1, k + 1):
            cur[0] = 0.0
            for j in range(1, kq + 1):
                best = prev[j - 1] + S[a + i - 1, j - 1]
                up = prev[j] - indel
                if up > best:
                    best = up
                left = cur[j - 1] - indel
                if left > best:
                    best = left
                if best < 0.0:
                    best = 0.0
                cur[j] = best
                if best > top:
                    top = best
            prev, cur = cur, prev
        out[t] = top
    return out


@njit(cache=True, nogil=True)
def _dp_matrix(S, indel, local):
    """Full DP table X (Km+1, Kv+1) and the move that produced each cell (0 stop, 1 diag, 2 up, 3 left)."""
    km, kv = S.shape
    X = np.zeros((km + 1, kv + 1), np.float64)
    M = np.zeros((km + 1, kv + 1), np.int8)
    if not local:
        for i in range(1, km + 1):
            X[i, 0] = -indel * i
            M[i, 0] = 2
        for j in range(1, kv + 1):
            X[0, j] = -indel * j
            M[0, j] = 3
    for i in range(1, km + 1):
        for j in range(1, kv + 1):
            best = X[i - 1, j - 1] + S[i - 1, j - 1]
            move = 1
            up = X[i - 1, j] - indel
            if up > best:
                best = up
                move = 2
            left = X[i, j - 1] - indel
            if left > best:
                best = left
                move = 3
            if local and best <= 0.0:
                best = 0.0
                move = 0
            X[i, j] = best
            M[i, j] = move
    return X, M


@njit(cache=True, fastmath=True, nogil=True)
def _sims(rows, q):
    """(R, Kq) dot products ``rows @ q.T`` in the rows' dtype, single-threaded.

    Register-blocked 2 rows × 4 query segments (each loaded value feeds several accumulators): on
    this project's CPUs about 1.8× faster than single-threaded BLAS for this skinny product.
    """
    R, d = rows.shape
    kq = q.shape[0]
    S = np.empty((R, kq), rows.dtype)
    R2 = R - R % 2
    K4 = kq - kq % 4
    for r in range(0, R2, 2):
        for j in range(0, K4, 4):
            z = rows[r, 0] - rows[r, 0]
            a0 = z; a1 = z; a2 = z; a3 = z  # noqa: E702
            b0 = z; b1 = z; b2 = z; b3 = z  # noqa: E702
            for k in range(d):
                x = rows[r, k]
                y = rows[r + 1, k]
                q0 = q[j, k]; q1 = q[j + 1, k]; q2 = q[j + 2, k]; q3 = q[j + 3, k]  # noqa: E702
                a0 += x * q0; a1 += x * q1; a2 += x * q2; a3 += x * q3  # noqa: E702
                b0 += y * q0; b1 += y * q1; b2 += y * q2; b3 += y * q3  # noqa: E702
            S[r, j] = a0; S[r, j + 1] = a1; S[r, j + 2] = a2; S[r, j + 3] = a3  # noqa: E702
            S[r + 1, j] = b0; S[r + 1, j + 1] = b1; S[r + 1, j + 2] = b2; S[r + 1, j + 3] = b3  # noqa: E702
    for r in range(R):  # tails: the last odd row, and the last Kq % 4 columns
        for j in range(K4 if r < R2 else 0, kq):
            acc = rows[r, 0] - rows[r, 0]
            for k in range(d):
                acc += rows[r, k] * q[j, k]
            S[r, j] = acc
    return S


@njit(cache=True, fastmath=True, nogil=True)
def _sqdist(a, b):
    acc = a[0] - a[0]
    for k in range(a.shape[0]):
        diff = a[k] - b[k]
        acc += diff * diff
    return acc


@njit(cache=True, nogil=True)
def _trace_scores(rows, offs, q):
    """−Σ_{i<min(K,Kq)} ‖m_i − v_i‖ per track."""
    n = offs.shape[0] - 1
    kq = q.shape[0]
    out = np.empty(n, np.float64)
    for t in range(n):
        a = offs[t]
        m = min(offs[t + 1] - a, kq)
        s = 0.0
        for i in range(m):
            s += np.sqrt(np.float64(_sqdist(rows[a + i], q[i])))
        out[t] = -s
    return out


@njit(cache=True, nogil=True)
def _best_trace_scores(rows, offs, q):
    """−min over diagonal offsets of the trace, and the first best offset, per track."""
    n = offs.shape[0] - 1
    kq = q.shape[0]
    out = np.empty(n, np.float64)
    best_k = np.empty(n, np.int64)
    for t in range(n):
        a = offs[t]
        km = offs[t + 1] - a
        music_longer = km >= kq
        length = kq if music_longer else km
        n_off = (km - kq + 1) if music_longer else (kq - km + 1)
        best = np.inf
        arg = 0
        for k in range(n_off):
            s = 0.0
            for i in range(length):
                if music_longer:
                    s += np.sqrt(np.float64(_sqdist(rows[a + i + k], q[i])))
                else:
                    s += np.sqrt(np.float64(_sqdist(rows[a + i], q[i + k])))
            if s < best:
                best = s
                arg = k
        out[t] = -best
        best_k[t] = arg
    return out, best_k


@njit(cache=True, nogil=True)
def _linkage_scores(S, rows, offs, q, single):
    """−min (single) or −max (complete) pairwise distance per track; the extreme pair is found on the
    similarities, then its distance is recomputed from the difference (exact near 0).

    Two unit vectors at distance d differ in similarity by d²/2, which is below the similarities'
    rounding once d ≲ sqrt(eps) (1.5e-8 in float64, 5e-4 in float32): pairs whose similarity is within
    a few ulps of the extreme are therefore a tie on S, and the tie is settled on the exact distances."""
    n = offs.shape[0] - 1
    kq = S.shape[1]
    out = np.empty(n, np.float64)
    pair = np.empty((n, 2), np.int64)
    eps = np.finfo(S.dtype).eps
    for t in range(n):
        a = offs[t]
        k = offs[t + 1] - a
        bi = 0
        bj = 0
        bs = S[a, 0]
        for i in range(k):
            for j in range(kq):
                s = S[a + i, j]
                if (single and s > bs) or ((not single) and s < bs):
                    bs = s
                    bi = i
                    bj = j
        slack = 8.0 * eps * (1.0 + abs(bs))
        bd = np.float64(_sqdist(rows[a + bi], q[bj]))
        for i in range(k):
            for j in range(kq):
                s = S[a + i, j]
                if (single and s >= bs - slack) or ((not single) and s <= bs + slack):
                    d = np.float64(_sqdist(rows[a + i], q[j]))
                    if (single and d < bd) or ((not single) and d > bd) or (
                            d == bd and (i < bi or (i == bi and j < bj))):
                        bd = d
                        bi = i
                        bj = j
        out[t] = -np.sqrt(bd)
        pair[t, 0] = bi
        pair[t, 1] = bj
    return out, pair


@njit(cache=True, nogil=True)
def _centroid_scores(C, positions, qc):
    out = np.empty(positions.shape[0], np.float64)
    for t in range(positions.shape[0]):
        out[t] = -np.sqrt(np.float64(_sqdist(C[positions[t]], qc)))
    return out


# ----------------------------------------------------------------------------- numpy alternative
def _nw_sw_bucket_numpy(S3: np.ndarray, indel: float, local: bool) -> np.ndarray:
    """NW/SW scores of a bucket of equal-length tracks, ``S3`` (B, K, Kq), vectorised over tracks.

    Row by row; the left-move chain X[i,j] = max_{j'≤j}(A[j'] − indel·(j−j')) is a cumulative max of
    ``A + indel·j``. Used by ``backend="numpy"`` (kept for the benchmark's comparison).
    """
    B, K, kq = S3.shape
    ramp = indel * np.arange(kq + 1, dtype=np.float64)
    prev = np.zeros((B, kq + 1)) if local else np.broadcast_to(-ramp, (B, kq + 1)).copy()
    top = np.zeros(B)
    A = np.empty((B, kq + 1))
    for i in range(1, K + 1):
        A[:, 0] = 0.0 if local else -indel * i
        np.maximum(prev[:, 1:] - indel, prev[:, :-1] + S3[:, i - 1, :], out=A[:, 1:])
        if local:
            np.maximum(A, 0.0, out=A)
        cur = np.maximum.accumulate(A + ramp, axis=1) - ramp
        if local:
            np.maximum(top, cur.max(axis=1), out=top)
        prev = cur
    return top if local else prev[:, kq]


# ----------------------------------------------------------------------------- batching
def _work_dtype(bank: SegmentBank):
    return np.float64 if bank.emb.dtype == np.float64 else np.float32


def _iter_chunks(bank: SegmentBank, positions: np.ndarray | None) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(out_start, out_stop, rows, local_offsets)`` covering the requested tracks in order."""
    wdt = _work_dtype(bank)
    n = bank.n_tracks if positions is None else len(positions)
    if positions is None:
        lens = bank.lengths
    else:
        lens = bank.offsets[positions + 1] - bank.offsets[positions]
    cum = np.concatenate([[0], np.cumsum(lens)])
    chunk_rows = _CHUNK_ROWS if bank.emb.dtype == wdt else _CHUNK_ROWS_CONVERT
    start = 0
    while start < n:
        stop = int(np.searchsorted(cum, cum[start] + chunk_rows, side="right")) - 1
        stop = min(max(stop, start + 1), n)
        if positions is None:
            r0, r1 = bank.offsets[start], bank.offsets[stop]
            rows = as_work_rows(bank.emb[r0:r1], wdt)
            local = bank.offsets[start:stop + 1] - r0
        else:
            rows, local = bank.gather(positions[start:stop], dtype=wdt)
        yield start, stop, np.ascontiguousarray(rows), np.ascontiguousarray(local)
        start = stop


def catalog_scores(query_emb: np.ndarray, bank: SegmentBank, distance: str = "nw-dtw",
                   indices: Sequence[int] | np.ndarray | None = None, *, indel: float | None = None,
                   backend: str = "numba", return_details: bool = False):
    """Score a video query ``(Kq, d)`` against every bank track (or the bank positions ``indices``).

    Returns ``scores`` (n,) float64, higher is better, in the order of ``indices`` (bank order when
    None). ``indel`` overrides the thesis's value for the DTWs. ``backend="numpy"`` runs the DTWs with
    the bucketed numpy recurrence instead of the numba kernels (same results, for comparison).
    With ``return_details=True`` returns ``(scores, details)`` where details holds ``offset`` (best-trace)
    or ``pair`` (linkages, (n, 2)).
    """
    dist = distance_name(distance)
    if backend not in ("numba", "numpy"):
        raise UsageError(f"Unknown backend {backend!r}: use 'numba' or 'numpy'.")
    q64 = l2_normalize_rows(query_emb, what="video query embedding")
    if q64.shape[1] != bank.dim:
        raise UsageError(f"The query embeddings are {q64.shape[1]}-d but the catalog's are {bank.dim}-d: "
                         "were they made by the same model?")
    positions = None
    if indices is not None:
        positions = np.asarray(indices, dtype=np.int64).reshape(-1)
        if positions.size and (positions.min() < 0 or positions.max() >= bank.n_tracks):
            raise UsageError("Candidate positions fall outside the segment bank.")
    n = bank.n_tracks if positions is None else len(positions)
    out = np.empty(n, dtype=np.float64)
    details: dict = {}
    wdt = _work_dtype(bank)
    q = np.ascontiguousarray(q64.astype(wdt))
    if n == 0:
        return (out, details) if return_details else out

    if dist == "centroid":
        pos = np.arange(bank.n_tracks, dtype=np.int64) if positions is None else positions
        qc = q64.mean(axis=0).astype(bank.centroids.dtype)
        step = _CHUNK_ROWS

        def run_centroid(k):
            out[k:k + step] = _centroid_scores(bank.centroids, pos[k:k + step], qc)

        _run_all(run_centroid, range(0, n, step), parallel=n > 4 * step)
        return (out, details) if return_details else out

    if dist == "best-trace":
        details["offset"] = np.empty(n, dtype=np.int64)
    if dist in ("single", "complete"):
        details["pair"] = np.empty((n, 2), dtype=np.int64)
    ind = default_indel(dist) if indel is None else float(indel)

    def run(chunk):
        a, b, rows, local = chunk
        if dist == "trace":
            out[a:b] = _trace_scores(rows, local, q)
        elif dist == "best-trace":
            out[a:b], details["offset"][a:b] = _best_trace_scores(rows, local, q)
        else:
            S = _sims(rows, q) if backend == "numba" else rows @ q.T
            if dist in ("single", "complete"):
                out[a:b], details["pair"][a:b] = _linkage_scores(S, rows, local, q, dist == "single")
            elif backend == "numba":
                out[a:b] = (_nw_scores if dist == "nw-dtw" else _sw_scores)(S, local, ind)
            else:
                out[a:b] = _dtw_numpy_chunk(S, local, ind, dist == "sw-dtw")

    total_rows = int(bank.offsets[-1]) if positions is None else None
    big = (total_rows if total_rows is not None else n * 14) > 2 * _CHUNK_ROWS
    # numba kernels release the GIL: chunks run on a small thread pool (the numpy backend's BLAS
    # product is multithreaded by itself, so it stays on this thread).
    _run_all(run, _iter_chunks(bank, positions), parallel=big and backend == "numba")
    return (out, details) if return_details else out


def _run_all(fn, items, parallel: bool) -> None:
    """Call ``fn`` on every item, on the thread pool when ``parallel`` (at most 2 items per thread in
    flight, so lazily produced chunks never all sit in memory at once)."""
    if not parallel or _THREADS == 1:
        for it in items:
            fn(it)
        return
    pending: list = []
    for it in items:
        pending.append(_pool().submit(fn, it))
        if len(pending) >= 2 * _THREADS:
            pending.pop(0).result()
    for f in pending:
        f.result()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="ranking")
        return _POOL


def _dtw_numpy_chunk(S: np.ndarray, local: np.ndarray, indel: float, is_local: bool) -> np.ndarray:
    """Bucketed numpy DTW over one chunk: tracks grouped by length (contiguous in a bank scan)."""
    lens = np.diff(local)
    out = np.empty(len(lens))
    order = np.argsort(lens, kind="stable")
    sl = lens[order]
    cuts = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1], True])
    for c0, c1 in zip(cuts[:-1], cuts[1:]):
        sel = order[c0:c1]
        K = int(sl[c0])
        if np.all(np.diff(sel) == 1):  # contiguous block: a reshape, no copy
            S3 = S[local[sel[0]]:local[sel[-1] + 1]].reshape(len(sel), K, S.shape[1])
        else:
            S3 = np.stack([S[local[t]:local[t + 1]] for t in sel])
        out[sel] = _nw_sw_bucket_numpy(S3, indel, is_local)
    return out


# ----------------------------------------------------------------------------- single pair
def _backtrace(X: np.ndarray, M: np.ndarray, end: tuple[int, int]) -> tuple[list, list]:
    i, j = end
    path, steps = [], []
    while i > 0 or j > 0:
        move = int(M[i, j])
        if move == _MOVE_STOP:
            break
        if i > 0 and j > 0:
            path.append((i - 1, j - 1))
            steps.append(_STEP_NAME[move])
        if move == _MOVE_DIAG:
            i, j = i - 1, j - 1
        elif move == _MOVE_UP:
            i -= 1
        else:
            j -= 1
    path.reverse()
    steps.reverse()
    return path, steps


def _ranges(path: list[tuple[int, int]]) -> dict:
    if not path:
        return dict(music_start=0, music_end=0, video_start=0, video_end=0)
    return dict(music_start=path[0][0], music_end=path[-1][0] + 1,
                video_start=path[0][1], video_end=path[-1][1] + 1)


def align(music_emb: np.ndarray, video_emb: np.ndarray, distance: str = "nw-dtw", *,
          indel: float | None = None) -> Alignment:
    """Score one music track against one video query and explain it (see the module doc for paths).

    ``music_emb`` (Km, d), ``video_emb`` (Kv, d); computed in float64.
    """
    dist = distance_name(distance)
    m = l2_normalize_rows(music_emb, what="music segment embedding")
    v = l2_normalize_rows(video_emb, what="video segment embedding")
    if m.shape[1] != v.shape[1]:
        raise UsageError(f"Music embeddings are {m.shape[1]}-d but video embeddings are {v.shape[1]}-d.")
    km, kv = len(m), len(v)
    base = dict(distance=dist, n_music=km, n_video=kv)
    if dist in ("nw-dtw", "sw-dtw"):
        ind = default_indel(dist) if indel is None else float(indel)
        X, M = _dp_matrix(_dot_matrix(m, v), ind, dist == "sw-dtw")
        if dist == "nw-dtw":
            end, score = (km, kv), float(X[km, kv])
        else:
            flat = int(np.argmax(X))  # first maximum in row-major order
            end, score = divmod(flat, kv + 1), float(X.flat[flat])
        path, steps = _backtrace(X, M, end)
        return Alignment(score=score, path=path, steps=steps, **base, **_ranges(path))
    if dist == "centroid":
        score = -float(np.linalg.norm(m.mean(axis=0) - v.mean(axis=0)))
        path = [(i, i) for i in range(min(km, kv))]
        return Alignment(score=score, path=path, steps=["match"] * len(path), **base, **_ranges(path))
    D = _pairwise_dist(m, v)
    if dist in ("single", "complete"):
        flat = int(np.argmin(D) if dist == "single" else np.argmax(D))
        i, j = divmod(flat, kv)
        return Alignment(score=-float(D[i, j]), path=[(i, j)], steps=["match"], **base, **_ranges([(i, j)]))
    if dist == "trace":
        L = min(km, kv)
        path = [(i, i) for i in range(L)]
        return Alignment(score=-float(sum(D[i, i] for i in range(L))), path=path, steps=["match"] * L,
                         **base, **_ranges(path))
    # best-trace
    music_longer = km >= kv
    L = kv if music_longer else km
    n_off = abs(km - kv) + 1
    sums = [sum(D[i + k, i] if music_longer else D[i, i + k] for i in range(L)) for k in range(n_off)]
    k = int(np.argmin(sums))  # first minimum: smallest offset
    path = [(i + k, i) if music_longer else (i, i + k) for i in range(L)]
    longer = "equal" if km == kv else ("music" if km > kv else "video")
    return Alignment(score=-float(sums[k]), path=path, steps=["match"] * L, offset=k, longer=longer,
                     **base, **_ranges(path))


def pair_score(music_emb: np.ndarray, video_emb: np.ndarray, distance: str = "nw-dtw", *,
               indel: float | None = None) -> float:
    """The score of :func:`align` alone (higher is better)."""
    return align(music_emb, video_emb, distance, indel=indel).score


# ----------------------------------------------------------------------------- evaluation perturbations
SCENARIOS = ("vanilla", "crop-query", "stretch-targets", "crop-stretch")


def crop_query(emb: np.ndarray, n: int = 2) -> np.ndarray:
    """'Crop Query' (thesis §7.2.2): drop the first ``n`` segments; at least the last one is kept."""
    emb = np.asarray(emb)
    return emb[min(int(n), max(len(emb) - 1, 0)):]


def stretch_target(emb: np.ndarray, times: int = 2) -> np.ndarray:
    """'Stretch Targets' (thesis §7.2.2): repeat every segment ``times`` times in place (c1 c1 c2 c2 …)."""
    if int(times) < 1:
        raise UsageError("A stretch repeats each segment at least once.")
    return np.repeat(np.asarray(emb), int(times), axis=0)


def apply_scenario(scenario: str, query_emb: np.ndarray, targets: Sequence[np.ndarray]
                   ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Apply one of ``SCENARIOS`` to a video query and the catalog's music sequences."""
    sc = str(scenario).lower().replace("_", "-")
    if sc not in SCENARIOS:
        raise UsageError(f"Unknown evaluation scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}.")
    q = crop_query(query_emb) if sc in ("crop-query", "crop-stretch") else np.asarray(query_emb)
    ts = [stretch_target(t) for t in targets] if sc in ("stretch-targets", "crop-stretch") else list(targets)
    return q, ts
