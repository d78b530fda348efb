"""Ranking metrics of the music-similarity task, exactly as the thesis's Appendix C.1.

For a query t, the relevant tracks are the first ``n_rel`` = 5 of the oracle's list R_S(t); the
system's list is R_Ŝ(t), truncated at k = 20. With P(i) the precision of the first i items:

- MAP@k  = Σ_{i=1..k} P(i) · C(i), with C(i) = 1/5 if r̂_i is relevant, else 0   (eq. C.1);
- Recall@k = |relevant ∩ first k| / 5;
- RR@k   = 1 / (rank of the first relevant track), 0 when it is beyond k;
- nDCG@k = Σ_{i=1..k} g(r̂_i) / log2(i + 1)  /  max_nDCG, with linear gains g(r_1) = 5, g(r_2) = 4,
  …, g(r_5) = 1, 0 for the others, and max_nDCG the same sum for R_S(t) itself   (eq. C.2, C.3).

Per-query values are in [0, 1]; :func:`ranking_metrics` averages them and gives 95 % confidence
intervals (Student t), both in percent like Table 4.2.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

from supervisor_app.ranking.metrics import mean_confidence_interval

K = 20
N_RELEVANT = 5
METRIC_NAMES = ("MAP@20", "Recall@20", "RR@20", "nDCG@20")


def _rel(relevant: Sequence[int], n_rel: int) -> list:
    rel = list(relevant)[:n_rel]
    if len(rel) < n_rel:
        raise ValueError(f"{n_rel} relevant items are needed, got {len(rel)}")
    return rel


def map_at_k(relevant: Sequence[int], predicted: Sequence[int], k: int = K, n_rel: int = N_RELEVANT) -> float:
    """Eq. C.1: Σ_{i≤k} P(i)·C(i), C(i) = 1/n_rel when the i-th prediction is relevant."""
    rel = set(_rel(relevant, n_rel))
    hits, total = 0, 0.0
    for i, item in enumerate(list(predicted)[:k], start=1):
        if item in rel:
            hits += 1
            total += (hits / i) * (1.0 / n_rel)
    return total


def recall_at_k(relevant: Sequence[int], predicted: Sequence[int], k: int = K, n_rel: int = N_RELEVANT) -> float:
    """Share of the ``n_rel`` relevant items found in the first ``k`` predictions."""
    rel = set(_rel(relevant, n_rel))
    return len(rel.intersection(list(predicted)[:k])) / n_rel


def rr_at_k(relevant: Sequence[int], predicted: Sequence[int], k: int = K, n_rel: int = N_RELEVANT) -> float:
    """1 / rank of the first relevant prediction within the first ``k``, else 0."""
    rel = set(_rel(relevant, n_rel))
    for i, item in enumerate(list(predicted)[:k], start=1):
        if item in rel:
            return 1.0 / i
    return 0.0


def ndcg_at_k(relevant: Sequence[int], predicted: Sequence[int], k: int = K, n_rel: int = N_RELEVANT) -> float:
    """Eq. C.2/C.3: linear gains n_rel … 1 for r_1 … r_n_rel, discount log2(i + 1), normalised."""
    rel = _rel(relevant, n_rel)
    gain = {item: float(n_rel - j) for j, item in enumerate(rel)}
    dcg = sum(gain.get(item, 0.0) / np.log2(i + 1) for i, item in enumerate(list(predicted)[:k], start=1))
    ideal = sum(float(n_rel - j) / np.log2(j + 2) for j in range(min(n_rel, k)))
    return float(dcg / ideal)


_FUNCS = {"MAP@20": map_at_k, "Recall@20": recall_at_k, "RR@20": rr_at_k, "nDCG@20": ndcg_at_k}


@dataclass
class RankingMetrics:
    """Means and 95 % CI half-widths (percent) of the four metrics over ``n_queries`` queries."""

    mean: dict  # {"MAP@20": %, ...}
    ci95: dict
    n_queries: int
    n_items: int  # tracks ranked per query (the test set minus the query)
    skipped: int = 0  # queries with fewer than 5 tracks of positive oracle similarity

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RankingMetrics":
        return cls(**d)


def per_query_metrics(relevant: Sequence[int], predicted: Sequence[int], k: int = K,
                      n_rel: int = N_RELEVANT) -> dict:
    """The four metrics of one query (fractions in [0, 1])."""
    return {name: f(relevant, predicted, k, n_rel) for name, f in _FUNCS.items()}


def oracle_relevant(sim: np.ndarray, n_rel: int = N_RELEVANT) -> list[list[int] | None]:
    """Per query, the first ``n_rel`` items of R_S (stable ties), or None when fewer have S > 0."""
    from supervisor_app.musimnet.mining import ranked_lists

    s = np.asarray(sim, dtype=np.float64)
    ranked = ranked_lists(s)
    out = []
    for q in range(len(s)):
        top = ranked[q, :n_rel]
        out.append([int(x) for x in top] if len(top) == n_rel and np.all(s[q, top] > 0) else None)
    return out


def ranking_metrics(oracle_sim: np.ndarray, predicted_scores: np.ndarray, k: int = K,
                    n_rel: int = N_RELEVANT) -> RankingMetrics:
    """Every track a query against all others: S gives the relevant items, ``predicted_scores`` (N, N)
    (higher = more similar; the diagonal is ignored) gives R_Ŝ. Ties in the prediction keep index order."""
    s = np.asarray(predicted_scores, dtype=np.float64).copy()
    n = s.shape[0]
    np.fill_diagonal(s, -np.inf)
    rel = oracle_relevant(oracle_sim, n_rel)
    vals = {name: [] for name in METRIC_NAMES}
    skipped = 0
    for q in range(n):
        if rel[q] is None:
            skipped += 1
            continue
        pred = [int(x) for x in np.argsort(-s[q], kind="stable") if x != q]
        for name, v in per_query_metrics(rel[q], pred, k, n_rel).items():
            vals[name].append(v)
    return _summarise(vals, n - skipped, n - 1, skipped)


def random_metrics(oracle_sim: np.ndarray, k: int = K, n_rel: int = N_RELEVANT, n_draws: int = 200,
                   seed: int = 0) -> RankingMetrics:
    """What random rankings score (the mean over ``n_draws`` random orders per query)."""
    rng = np.random.default_rng(seed)
    n = len(oracle_sim)
    rel = oracle_relevant(oracle_sim, n_rel)
    vals = {name: [] for name in METRIC_NAMES}
    skipped = 0
    for q in range(n):
        if rel[q] is None:
            skipped += 1
            continue
        others = np.array([x for x in range(n) if x != q])
        acc = {name: 0.0 for name in METRIC_NAMES}
        for _ in range(n_draws):
            for name, v in per_query_metrics(rel[q], list(rng.permutation(others)), k, n_rel).items():
                acc[name] += v / n_draws
        for name in METRIC_NAMES:
            vals[name].append(acc[name])
    return _summarise(vals, n - skipped, n - 1, skipped)


def _summarise(vals: dict, n_queries: int, n_items: int, skipped: int) -> RankingMetrics:
    mean, ci = {}, {}
    for name, v in vals.items():
        m, h = mean_confidence_interval(np.asarray(v, dtype=np.float64))
        mean[name], ci[name] = 100.0 * m, 100.0 * h
    return RankingMetrics(mean, ci, int(n_queries), int(n_items), int(skipped))


def format_table(rows: Mapping[str, RankingMetrics], title: str | None = None) -> str:
    """Rows shaped like the thesis's Table 4.2: 'mean ± ci' per metric, in percent."""
    name_w = max([len("Model")] + [len(n) for n in rows])
    head = f"{'Model':<{name_w}}  " + "  ".join(f"{m:>15}" for m in METRIC_NAMES)
    lines = ([title] if title else []) + [head, "-" * len(head)]
    for name, r in rows.items():
        cells = [f"{r.mean[m]:6.2f} ± {r.ci95[m]:5.2f}" for m in METRIC_NAMES]
        lines.append(f"{name:<{name_w}}  " + "  ".join(f"{c:>15}" for c in cells))
    any_row = next(iter(rows.values()), None)
    if any_row is not None:
        lines.append(f"({any_row.n_queries} queries, each ranking {any_row.n_items} tracks; "
                     f"{any_row.skipped} skipped with fewer than {N_RELEVANT} tracks of positive oracle similarity; "
                     f"percent, 95 % CI)")
    return "\n".join(lines)
