"""Triplet mining from ranked lists (thesis §4.2.2): exact triplets on toy lists, P(n) ∝ S(t, n)."""
import numpy as np
import pytest

from supervisor_app.musimnet.mining import mine_triplets, negatives_for, ranked_lists


def toy_sim():
    """Anchor 0 ranks 1 (0.9), 2 (0.7), 3 (0.4), 4 (0.0); the other rows do not matter (anchors=[0])."""
    s = np.eye(5)
    s[0, 1:] = [0.9, 0.7, 0.4, 0.0]
    s[1:, 0] = s[0, 1:]
    return s


def as_set(t):
    return {tuple(int(x) for x in row) for row in t}


def test_ranked_lists_by_decreasing_similarity_stable_ties():
    s = np.array([[1, .2, .5, .5], [.2, 1, 0, .1], [.5, 0, 1, .3], [.5, .1, .3, 1]])
    r = ranked_lists(s)
    assert r.tolist() == [[2, 3, 1], [0, 3, 2], [0, 3, 1], [0, 2, 1]]


def test_neighbors_takes_the_items_right_after_the_positive():
    t = mine_triplets(toy_sim(), "neighbors", n_pos=2, n_neg=2, anchors=[0])
    assert t.tolist() == [[0, 1, 2], [0, 1, 3], [0, 2, 3], [0, 2, 4]]


def test_random_takes_everything_after_the_positive_when_it_fits():
    t = mine_triplets(toy_sim(), "random", n_pos=2, n_neg=3, anchors=[0])
    assert as_set(t) == {(0, 1, 2), (0, 1, 3), (0, 1, 4), (0, 2, 3), (0, 2, 4)}
    # with fewer negatives allowed: a subset of those, n_neg per pair, never before the positive
    t2 = mine_triplets(toy_sim(), "random", n_pos=2, n_neg=2, anchors=[0], seed=3)
    assert len(t2) == 4 and as_set(t2) <= as_set(t)


def test_distance_based_never_draws_zero_similarity():
    t = mine_triplets(toy_sim(), "distance", n_pos=2, n_neg=5, anchors=[0])
    assert as_set(t) == {(0, 1, 2), (0, 1, 3), (0, 2, 3)}


def test_ties_and_zero_similarity_make_no_triplet():
    s = toy_sim()
    s[0, 1:] = s[1:, 0] = [0.8, 0.8, 0.0, 0.0]  # 1 and 2 tied; 3 and 4 not similar at all
    t = mine_triplets(s, "neighbors", n_pos=4, n_neg=10, anchors=[0])
    assert as_set(t) == {(0, 1, 3), (0, 1, 4), (0, 2, 3), (0, 2, 4)}  # no (0,1,2); 3/4 never positives


def test_every_negative_ranks_after_its_positive_on_a_random_oracle():
    rng = np.random.default_rng(0)
    a = rng.random((30, 30))
    s = (a + a.T) / 2
    np.fill_diagonal(s, 1.0)
    for strategy in ("neighbors", "random", "distance"):
        t = mine_triplets(s, strategy, n_pos=15, n_neg=250)
        assert len(t) > 0
        assert np.all(s[t[:, 0], t[:, 1]] > s[t[:, 0], t[:, 2]])
        ranks = np.argsort(np.argsort(-s, axis=1, kind="stable"), axis=1)
        assert np.all(ranks[t[:, 0], t[:, 1]] <= 15)  # positives among the first Np (rank 0 is the anchor)
        assert np.all(ranks[t[:, 0], t[:, 1]] < ranks[t[:, 0], t[:, 2]])
    # Np x Nn bound, and Neighbors takes min(Nn, what follows) per pair
    t = mine_triplets(s, "neighbors", n_pos=15, n_neg=5)
    assert len(t) == 30 * 15 * 5


def test_distance_based_probability_is_proportional_to_similarity():
    sim_row = np.array([1.0, 0.9, 0.6, 0.3, 0.1])  # item 0 is the anchor, 1 the positive
    ranked = np.array([1, 2, 3, 4])
    rng = np.random.default_rng(7)
    draws = np.array([negatives_for(sim_row, ranked, 0, "distance", 1, rng)[0] for _ in range(6000)])
    freq = np.array([(draws == i).mean() for i in (2, 3, 4)])
    assert freq == pytest.approx([0.6, 0.3, 0.1], abs=0.025)


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError):
        mine_triplets(toy_sim(), "hardest")
