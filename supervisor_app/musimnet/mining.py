"""Triplets mined offline from the oracle's ranked lists (thesis §4.2.2, Fig. 4.1).

For a track t, ``R_S(t)`` lists the other tracks by decreasing S(t, ·) (ties keep index order).
Anchor = t; positives = the first ``n_pos`` tracks of R_S(t) with S > 0; for each (t, p), up to
``n_neg`` negatives are taken among the tracks *ranked after p*, by one of three strategies:

- ``neighbors``: the ``n_neg`` tracks that come right after p;
- ``random``: ``n_neg`` tracks drawn uniformly, without replacement, from everything after p;
- ``distance``: ``n_neg`` tracks drawn without replacement from everything after p with
  P(n) ∝ S(t, n) (tracks with S(t, n) = 0 are never drawn).

"Ranked after p" is strict: a negative always has S(t, n) < S(t, p), so two tracks the oracle
cannot tell apart never form a triplet. When fewer candidates than ``n_neg`` exist, all of them are
taken. The result is an (M, 3) int array of (anchor, positive, negative) row indices, M ≤ N·Np·Nn.
"""
from __future__ import annotations

import numpy as np

STRATEGIES = ("neighbors", "random", "distance")
N_POS = 15
N_NEG = 250


def ranked_lists(sim: np.ndarray) -> np.ndarray:
    """(N, N−1) indices of the other items by decreasing similarity (stable: ties keep index order)."""
    s = np.asarray(sim, dtype=np.float64)
    n = s.shape[0]
    if s.shape != (n, n):
        raise ValueError(f"similarity must be square, got {s.shape}")
    order = np.argsort(-s, axis=1, kind="stable")
    out = np.empty((n, max(0, n - 1)), dtype=np.int64)
    for i in range(n):
        row = order[i]
        out[i] = row[row != i]
    return out


def negatives_for(sim_row: np.ndarray, ranked_row: np.ndarray, pos_rank: int, strategy: str, n_neg: int,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """Negatives (item indices) for the positive at 0-based rank ``pos_rank`` of ``ranked_row``."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown mining strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    s_pos = sim_row[ranked_row[pos_rank]]
    after = ranked_row[pos_rank + 1:]
    cand = after[sim_row[after] < s_pos]  # strictly less similar than the positive
    if strategy == "neighbors" or len(cand) == 0:
        return cand[:n_neg].copy()
    rng = rng if rng is not None else np.random.default_rng(0)
    if strategy == "random":
        if len(cand) <= n_neg:
            return cand.copy()
        return cand[np.sort(rng.choice(len(cand), size=n_neg, replace=False))]
    p = np.clip(sim_row[cand].astype(np.float64), 0.0, None)
    nz = np.flatnonzero(p > 0)
    if len(nz) <= n_neg:
        return cand[nz].copy()
    pick = rng.choice(len(cand), size=n_neg, replace=False, p=p / p.sum())
    return cand[np.sort(pick)]


def mine_triplets(sim: np.ndarray, strategy: str = "distance", n_pos: int = N_POS, n_neg: int = N_NEG,
                  seed: int = 0, anchors: np.ndarray | None = None) -> np.ndarray:
    """(M, 3) int64 triplets (anchor, positive, negative) over the items of ``sim`` (N, N).

    ``anchors`` restricts which items serve as anchors (default all); positives and negatives come
    from all items of ``sim`` (pass the training split's S to stay inside it).
    """
    s = np.asarray(sim, dtype=np.float64)
    ranked = ranked_lists(s)
    rng = np.random.default_rng(seed)
    rows = []
    for a in (range(len(s)) if anchors is None else np.asarray(anchors, dtype=np.int64)):
        r = ranked[a]
        for i in range(min(n_pos, len(r))):
            if s[a, r[i]] <= 0:
                break
            neg = negatives_for(s[a], r, i, strategy, n_neg, rng)
            if len(neg):
                t = np.empty((len(neg), 3), dtype=np.int64)
                t[:, 0], t[:, 1], t[:, 2] = a, r[i], neg
                rows.append(t)
    return np.concatenate(rows) if rows else np.zeros((0, 3), dtype=np.int64)
