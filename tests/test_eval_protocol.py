"""The evaluation protocol: metrics with ties, windows, scenarios, trivial rankers, tables."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats

from supervisor_app.infra import errors
from supervisor_app.ranking import metrics as M
from supervisor_app.evaluation.protocol import (
    CHANCE,
    TRIVIAL_DURATION,
    TRIVIAL_SEGMENTS,
    VANILLA_NOTE,
    evaluate_model,
    format_report,
    prepare_clips,
    scenario_indices,
    scenario_name,
    window_clip,
    window_start,
)
from supervisor_app.segvmnet.vmnet import VMNet, VMNetConfig
from supervisor_app.features.segments import segment_means
from supervisor_app.segvmnet.dataset import ClipData, normalize_boundaries


# --- metrics --------------------------------------------------------------------------------
def test_ranks_and_recall_hand_computed():
    s = np.array([[0.9, 0.1, 0.5, 0.2],    # target 0 first
                  [0.9, 0.1, 0.5, 0.2],    # target 1 last
                  [0.3, 0.8, 0.5, 0.5]])   # target 2 tied with item 3, one item above
    t = np.array([0, 1, 2])
    assert M.ranks_from_scores(s, t).tolist() == [1.0, 4.0, 2.5]
    assert M.recall_at_k(s, t, 1).tolist() == [1.0, 0.0, 0.0]
    assert M.recall_at_k(s, t, 2).tolist() == [1.0, 0.0, 0.5]
    r = M.retrieval_metrics(s, t, ks=(1, 2))
    assert r.recall == {1: pytest.approx(100 / 3), 2: pytest.approx(50.0)}
    assert r.mean_rank == pytest.approx(2.5)
    ranks = np.array([1.0, 4.0, 2.5])
    assert r.mean_rank_ci95 == pytest.approx(stats.t.ppf(0.975, 2) * ranks.std(ddof=1) / np.sqrt(3))


def test_all_ties_score_exactly_chance():
    n = 7
    s = np.zeros((n, n))
    r = M.retrieval_metrics(s, np.arange(n), ks=(1, 3))
    c = M.chance_metrics(n, ks=(1, 3))
    assert r.mean_rank == c.mean_rank == 4.0
    assert r.recall[1] == pytest.approx(c.recall[1]) and r.recall[3] == pytest.approx(c.recall[3])


def test_chance_values_of_the_thesis():
    c = M.chance_metrics(1000)
    assert c.recall == {1: 0.1, 10: 1.0, 25: 2.5} and c.mean_rank == 500.5


# --- clips, windows, scenarios --------------------------------------------------------------
def _clip(cid, boundaries, dim=3, seed=0):
    d = float(boundaries[-1])
    t = np.arange(int(round(d))) + 0.5
    rng = np.random.default_rng(seed)
    return ClipData(cid, rng.normal(size=(len(t), dim)), rng.normal(size=(len(t), dim)), t,
                    np.asarray(boundaries, float), d, "test")


def test_normalize_boundaries_merges_short_segments():
    b = normalize_boundaries([0.0, 0.4, 5.0, 5.5, 9.7, 12.0, 40.0], 10.0)
    assert b.tolist() == [0.0, 5.0, 10.0]
    assert normalize_boundaries([], 3.0).tolist() == [0.0, 3.0]


def test_segment_means_use_frame_centres():
    frames = np.arange(10, dtype=np.float32)[:, None]
    times = np.arange(10) + 0.5
    m = segment_means(frames, times, [(0.0, 3.0), (3.0, 10.0), (4.2, 4.4)])
    assert m[:, 0].tolist() == [1.0, 6.0, 4.0]  # the last: shorter than a frame → nearest frame


def test_window_starts_on_a_boundary_and_rebases_times():
    c = _clip("a", [0, 12, 25, 41, 60])
    w = window_clip(c, 30.0, seed=3)
    t0 = window_start(c, 30.0, seed=3)
    assert t0 in (0.0, 12.0, 25.0)  # 41 + 30 > 60
    assert w.duration_s == 30.0 and w.boundaries_s[0] == 0.0 and w.boundaries_s[-1] == 30.0
    inner = c.boundaries_s[(c.boundaries_s > t0) & (c.boundaries_s < t0 + 30)] - t0
    assert np.allclose(w.boundaries_s[1:-1], inner)
    assert len(w.times_s) == 30 and w.times_s[0] == 0.5
    assert np.array_equal(w.music_frames[0], c.music_frames[int(t0)])
    assert window_start(c, 30.0, seed=3) == t0  # reproducible
    assert window_clip(_clip("b", [0, 10, 20]), 30.0) is None
    kept, left_out = prepare_clips([c, _clip("b", [0, 10, 20])], 30.0)
    assert len(kept) == 1 and left_out == 1
    assert prepare_clips([c], None)[0][0] is c


def test_scenarios():
    assert scenario_name("crop") == "crop-query" and scenario_name("crop+stretch") == "crop-stretch"
    with pytest.raises(errors.UsageError):
        scenario_name("shuffle")
    assert scenario_indices("crop-query", 5, "query").tolist() == [2, 3, 4]
    assert scenario_indices("crop-query", 2, "query").tolist() == [1]  # at least one segment stays
    assert scenario_indices("crop-query", 5, "target").tolist() == [0, 1, 2, 3, 4]
    assert scenario_indices("stretch-targets", 3, "target").tolist() == [0, 0, 1, 1, 2, 2]
    assert scenario_indices("crop-stretch", 3, "query").tolist() == [2]
    assert scenario_indices("vanilla", 3, "query").tolist() == [0, 1, 2]


# --- the protocol end to end on a model that maps both modalities identically ----------------------
def _mirror_model(dim: int) -> VMNet:
    """Music and video branches with the same weights: a clip's two modalities embed identically."""
    torch.manual_seed(0)
    m = VMNet(VMNetConfig(dim, dim, music_hidden=(64,), video_hidden=(64,)))
    m.music_branch.load_state_dict(m.video_branch.state_dict())
    return m.eval()


def _mirror_corpus(n=12, seed=0):
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(n):
        k = int(rng.integers(3, 7))
        lens = rng.integers(4, 15, k)
        b = np.concatenate([[0], np.cumsum(lens)]).astype(float)
        t = np.arange(int(b[-1])) + 0.5
        seg = np.searchsorted(b, t, side="right") - 1
        f = rng.normal(size=(k, 8))[seg] + 0.05 * rng.normal(size=(len(t), 8))
        clips.append(ClipData(f"clip{i}", f, f.copy(), t, b, float(b[-1]), "test"))
    return clips


def test_protocol_ranks_the_true_pair_first_for_a_mirror_model():
    clips = _mirror_corpus()
    rep = evaluate_model(_mirror_model(8), "segvmnet", clips, "mirror", window_s=None,
                         distances=("centroid", "nw-dtw", "trace"))
    n = len(clips)
    assert rep.n_clips == n and rep.rankers[:3] == ["centroid", "nw-dtw", "trace"]
    for sc in ("vanilla", "crop-query", "stretch-targets", "crop-stretch"):
        for direction in ("V2M", "M2V"):
            res = rep.results[sc][direction]
            assert res["nw-dtw"]["recall"]["R@1"] == 100.0, (sc, direction)
            assert res[CHANCE]["mean_rank"] == (n + 1) / 2
    assert rep.results["vanilla"]["V2M"]["trace"]["mean_rank"] == 1.0
    json.dumps(rep.to_dict())


def test_length_controlled_windows_neutralise_the_duration_ranker():
    clips = _mirror_corpus(14, seed=1)
    full = evaluate_model(_mirror_model(8), "segvmnet", clips, window_s=None, scenarios=("vanilla",),
                          distances=("centroid",))
    assert full.results["vanilla"]["V2M"][TRIVIAL_DURATION]["mean_rank"] < 2.0  # duration gives it away
    win = evaluate_model(_mirror_model(8), "segvmnet", clips, window_s=20.0, scenarios=("vanilla",),
                         distances=("centroid",))
    res = win.results["vanilla"]["V2M"]
    assert res[TRIVIAL_DURATION]["mean_rank"] == pytest.approx((win.n_clips + 1) / 2)
    assert res[TRIVIAL_DURATION]["recall"]["R@1"] == pytest.approx(100.0 / win.n_clips)
    assert res["centroid"]["recall"]["R@1"] == 100.0
    text = format_report(win)
    for needle in (VANILLA_NOTE[:40], "Length-controlled", TRIVIAL_SEGMENTS, "Music to Video", "Video to Music"):
        assert needle in text


def test_clip_level_model_is_evaluated_with_euclidean_distance():
    clips = _mirror_corpus(10, seed=2)
    torch.manual_seed(0)
    m = VMNet(VMNetConfig(8, 8, music_hidden=(32,), video_hidden=(32,)))
    m.music_branch.load_state_dict(m.video_branch.state_dict())
    rep = evaluate_model(m.eval(), "vmnet", clips, window_s=None)
    assert rep.rankers[0] == "euclidean"
    # stretching repeats every frame twice: the clip mean, hence the embedding, does not change
    for sc in ("vanilla", "stretch-targets"):
        assert rep.results[sc]["V2M"]["euclidean"]["mean_rank"] == pytest.approx(1.0), sc
    # cropping the query's first two segments changes its mean: worse, but far from chance (5.5)
    assert 1.0 < rep.results["crop-query"]["V2M"]["euclidean"]["mean_rank"] < 3.0


def test_too_few_clips_is_a_usage_error():
    with pytest.raises(errors.UsageError, match="at least"):
        evaluate_model(_mirror_model(8), "segvmnet", _mirror_corpus(3), window_s=500.0)
