"""Retrieval metrics with one correct item per query (thesis §5.3.1).

Scores are similarities (higher = better). Ties are resolved by expectation over a random order of
the tied items, so a ranker that cannot tell items apart (e.g. "closest duration" when every item has
the same length) scores exactly chance instead of profiting from the index order:
- rank = 1 + #(items scored above the target) + #(other items tied with it) / 2;
- R@k = P(target in the top k) = clip((k − #above) / (#tied + 1), 0, 1).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_KS = (1, 10, 25)


def _counts(scores: np.ndarray, target_idx: np.ndarray):
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be (n_queries, n_items), got {s.shape}")
    t = np.asarray(target_idx, dtype=np.int64).reshape(-1)
    if t.shape[0] != s.shape[0]:
        raise ValueError("one target index per query is needed")
    s = np.where(np.isnan(s), -np.inf, s)
    ts = s[np.arange(len(t)), t][:, None]
    above = (s > ts).sum(axis=1)
    tied = (s == ts).sum(axis=1) - 1
    return above, tied


def ranks_from_scores(scores: np.ndarray, target_idx: np.ndarray) -> np.ndarray:
    """Expected 1-based rank of each query's target (float; .5 steps only with ties)."""
    above, tied = _counts(scores, target_idx)
    return 1.0 + above + tied / 2.0


def recall_at_k(scores: np.ndarray, target_idx: np.ndarray, k: int) -> np.ndarray:
    """Per query, the probability that the target is in the top ``k`` (0/1 without ties)."""
    above, tied = _counts(scores, target_idx)
    return np.clip((k - above) / (tied + 1.0), 0.0, 1.0)


def mean_confidence_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of its ``confidence`` interval (Student t; 0 for fewer than 2 values)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan")
    m = float(v.mean())
    if v.size < 2:
        return m, 0.0
    from scipy import stats

    half = float(stats.t.ppf(0.5 + confidence / 2.0, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return m, half


@dataclass
class RetrievalMetrics:
    """Recall@K in percent, mean rank and its 95 % CI half-width, over ``n_queries`` among ``n_items``."""

    recall: dict[int, float]
    mean_rank: float
    mean_rank_ci95: float
    n_queries: int
    n_items: int

    def to_dict(self) -> dict:
        d = asdict(self)
        d["recall"] = {f"R@{k}": v for k, v in self.recall.items()}
        return d


def retrieval_metrics(scores: np.ndarray, target_idx: np.ndarray, ks=DEFAULT_KS) -> RetrievalMetrics:
    """All metrics of the protocol for a (n_queries, n_items) similarity matrix."""
    s = np.asarray(scores)
    ranks = ranks_from_scores(s, target_idx)
    mean, half = mean_confidence_interval(ranks)
    rec = {int(k): 100.0 * float(recall_at_k(s, target_idx, k).mean()) for k in ks}
    return RetrievalMetrics(rec, mean, half, int(s.shape[0]), int(s.shape[1]))


def chance_metrics(n_items: int, n_queries: int | None = None, ks=DEFAULT_KS) -> RetrievalMetrics:
    """What a random ranking scores: R@k = 100·min(k, n)/n %, mean rank (n + 1) / 2."""
    n = int(n_items)
    return RetrievalMetrics({int(k): 100.0 * min(k, n) / n for k in ks}, (n + 1) / 2.0, 0.0,
                            int(n_queries if n_queries is not None else n), n)
