"""Appendix C metrics on hand-computed rankings."""
import math

import numpy as np
import pytest
from scipy import stats

from supervisor_app.musimnet import metrics as M

REL = [10, 11, 12, 13, 14]  # r1..r5 of the oracle ranking


def test_hand_computed_ranking():
    pred = [11, 99, 10, 98, 14] + list(range(100, 120))
    # hits at i = 1 (11), 3 (10), 5 (14)
    assert M.map_at_k(REL, pred) == pytest.approx(1 / 1 * 0.2 + 2 / 3 * 0.2 + 3 / 5 * 0.2)
    assert M.recall_at_k(REL, pred) == pytest.approx(0.6)
    assert M.rr_at_k(REL, pred) == pytest.approx(1.0)
    dcg = 4 / math.log2(2) + 5 / math.log2(4) + 1 / math.log2(6)
    ideal = 5 / math.log2(2) + 4 / math.log2(3) + 3 / math.log2(4) + 2 / math.log2(5) + 1 / math.log2(6)
    assert M.ndcg_at_k(REL, pred) == pytest.approx(dcg / ideal)
    assert M.ndcg_at_k(REL, pred) == pytest.approx(0.670454, abs=1e-6)


def test_perfect_and_hopeless_rankings():
    perfect = REL + list(range(100, 115))
    for f in (M.map_at_k, M.recall_at_k, M.rr_at_k, M.ndcg_at_k):
        assert f(REL, perfect) == pytest.approx(1.0)
    late = list(range(100, 120)) + REL  # relevant items only after rank 20
    for f in (M.map_at_k, M.recall_at_k, M.rr_at_k, M.ndcg_at_k):
        assert f(REL, late) == 0.0


def test_first_relevant_at_rank_four_and_reversed_order():
    pred = [97, 98, 99, 14, 13, 12, 11, 10]
    assert M.rr_at_k(REL, pred) == pytest.approx(0.25)
    assert M.map_at_k(REL, pred) == pytest.approx(0.2 * (1 / 4 + 2 / 5 + 3 / 6 + 4 / 7 + 5 / 8))
    dcg = sum(g / math.log2(i + 1) for g, i in zip([1, 2, 3, 4, 5], [4, 5, 6, 7, 8]))
    ideal = sum(g / math.log2(i + 1) for g, i in zip([5, 4, 3, 2, 1], [1, 2, 3, 4, 5]))
    assert M.ndcg_at_k(REL, pred) == pytest.approx(dcg / ideal)
    # k truncates: at k = 5 only two relevant items are seen
    assert M.recall_at_k(REL, pred, k=5) == pytest.approx(0.4)


def test_ranking_metrics_from_matrices_with_ci():
    rng = np.random.default_rng(0)
    n = 30
    feats = rng.random((n, 4))
    oracle = feats @ feats.T
    perfect = M.ranking_metrics(oracle, oracle)
    assert all(perfect.mean[m] == pytest.approx(100.0) for m in M.METRIC_NAMES)
    assert perfect.n_queries == n and perfect.n_items == n - 1 and perfect.skipped == 0
    worst = M.ranking_metrics(oracle, -oracle)
    assert worst.mean["Recall@20"] < perfect.mean["Recall@20"]
    # the CI half-widths are Student-t 95 % intervals of the per-query values, in percent: a perfect ranking
    # scores 100 and the reversed one 0 on every query (k = 20 never reaches the 5 relevant of 29), so both
    # intervals are empty; a noisy ranking's queries differ and its interval follows their spread
    for r in (perfect, worst):
        assert all(r.ci95[m] == pytest.approx(0.0, abs=1e-9) for m in M.METRIC_NAMES)
    assert all(worst.mean[m] == pytest.approx(0.0, abs=1e-9) for m in M.METRIC_NAMES)
    noisy_scores = oracle + rng.normal(0.0, 2.0 * oracle.std(), oracle.shape)
    noisy = M.ranking_metrics(oracle, noisy_scores)
    rel = M.oracle_relevant(oracle)
    s = noisy_scores.copy()
    np.fill_diagonal(s, -np.inf)
    per = [M.per_query_metrics(rel[q], [int(x) for x in np.argsort(-s[q], kind="stable") if x != q])
           for q in range(n)]
    for m in M.METRIC_NAMES:
        v = 100.0 * np.array([p[m] for p in per])
        assert v.std() > 1.0, m  # the queries differ, so the interval is not empty
        assert noisy.ci95[m] == pytest.approx(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / np.sqrt(n))
        assert noisy.mean[m] == pytest.approx(v.mean())
        assert 0 < noisy.ci95[m] < 100
    table = M.format_table({"perfect": perfect, "reversed": worst})
    for m in M.METRIC_NAMES:
        assert m in table
    assert "100.00 ±" in table


def test_random_baseline_matches_the_analytic_recall():
    n = 41  # each query ranks 40 others: a random top 20 holds half of the 5 relevant ones
    a = np.random.default_rng(1).random((n, 6))
    r = M.random_metrics(a @ a.T, n_draws=300)
    assert r.mean["Recall@20"] == pytest.approx(50.0, abs=1.5)


def test_queries_without_five_similar_tracks_are_skipped():
    s = np.eye(8)
    s[0, 1:6] = s[1:6, 0] = 0.5  # only track 0 has 5 tracks of positive similarity
    r = M.ranking_metrics(s, s)
    assert r.n_queries == 1 and r.skipped == 7
