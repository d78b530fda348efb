"""Fused-ranking weight measurement (supervisor_app.evaluation.fusion) on tiny synthetic corpora."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from supervisor_app.evaluation.fusion import (
    WorldConfig,
    choose_weight,
    content_scores,
    fused_scores,
    make_av_corpus,
    mix_rows,
    row_z,
    run_fusion,
    sync_scores,
    weight_sweep,
    window_av,
)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_corpus_sections_start_on_downbeats_and_is_deterministic():
    clips = make_av_corpus(6, seed=3)
    again = make_av_corpus(6, seed=3)
    for c, d in zip(clips, again):
        assert np.array_equal(c.clip.music_frames, d.clip.music_frames) and np.array_equal(c.cuts_free_s, d.cuts_free_s)
        bar = 240.0 / c.tempo_bpm
        assert c.tempo_bpm == round(c.tempo_bpm) and 70 <= c.tempo_bpm <= 170
        assert np.allclose(np.diff(c.downbeats_s), bar) and c.downbeats_s[0] == 0.0
        inner = c.clip.boundaries_s[1:-1]
        assert np.allclose(np.round(inner / bar) * bar, inner)  # every section change is a bar line
        assert c.clip.music_frames.shape == (int(c.duration_s), 24) and c.clip.video_frames.shape[1] == 32
        assert np.all(np.diff(c.cuts_on_beat_s) >= 0.5) and np.all(np.diff(c.cuts_free_s) >= 0.5)
    other = make_av_corpus(6, seed=3, paired=False)
    assert np.array_equal(other[0].clip.music_frames, clips[0].clip.music_frames)
    assert not np.array_equal(other[0].clip.video_frames, clips[0].clip.video_frames)


def test_window_rebases_events():
    c = make_av_corpus(1, seed=5, world=WorldConfig(clip_s=(70, 70)))[0]
    w = window_av(c, 30.0, seed=0)
    assert w.duration_s == 30.0 and w.clip.boundaries_s[0] == 0.0 and w.clip.boundaries_s[-1] == 30.0
    assert w.downbeats_s[0] == pytest.approx(0.0, abs=1e-6)  # the window starts on a section change
    assert np.all((w.cuts_on_beat_s > 0) & (w.cuts_on_beat_s < 30.0))
    assert window_av(c, 500.0) is None


def test_row_z_and_fused_scores():
    x = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0], [0.0, np.nan, 2.0]])
    z = row_z(x)
    assert np.allclose(z[0], [-1.224745, 0.0, 1.224745], atol=1e-6) and np.all(z[1] == 0.0)
    assert z[2, 1] == z[2, 0] < z[2, 2]  # NaN (not cuttable) counts as the row's worst
    s = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    assert np.allclose(fused_scores(x, s, 0.0), z)
    assert np.allclose(fused_scores(x, s, float("inf")), row_z(s))
    assert np.allclose(fused_scores(x, s, 0.5), z + 0.5 * row_z(s))


def test_choose_weight_finds_the_fusion_that_fixes_both_signals():
    # 4 queries; content puts the right item 2nd for queries 0-1, sync puts it 2nd for queries 2-3
    content = np.array([[0.9, 1.0, 0.0, 0.0], [0.0, 0.9, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    sync = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.9, 0.0], [0.0, 0.0, 1.0, 0.9]])
    sweep = {r["w"]: r["mean_rank"] for r in weight_sweep(content, sync, (0.0, 1.0, 10.0))}
    assert sweep[0.0] == 1.5 and sweep[float("inf")] == 1.5 and sweep[1.0] == 1.0
    assert choose_weight(content, sync, (0.0, 1.0, 10.0)) == 1.0
    assert choose_weight(content, sync, (0.0, 0.5, 1.0)) == 0.5  # ties: the smaller weight


def test_mix_rows():
    on, free = np.ones((8, 3)), np.zeros((8, 3))
    assert np.all(mix_rows(on, free, 1.0)[0] == 1) and np.all(mix_rows(on, free, 0.0)[0] == 0)
    m, mask = mix_rows(on, free, 0.5, seed=2)
    assert np.array_equal(m[:, 0] == 1, mask) and np.array_equal(mix_rows(on, free, 0.5, seed=2)[1], mask)


def test_content_and_sync_scores_of_a_tiny_corpus():
    from supervisor_app.segvmnet.train import TrainConfig, build_model

    clips = [w for w in (window_av(c, 30.0) for c in make_av_corpus(5, seed=11)) if w is not None]
    model = build_model([c.clip for c in clips], TrainConfig(kind="segvmnet"))
    content, paths = content_scores(model, clips)
    n = len(clips)
    assert content.shape == (n, n) and len(paths) == n and all(len(r) == n for r in paths)
    for q in range(n):
        for c in range(n):
            i, j = np.array(paths[q][c]).T
            assert i.max() < clips[c].clip.n_segments and j.max() < clips[q].clip.n_segments
    on = sync_scores(clips, paths, True, n_random=20)
    free = sync_scores(clips, paths, False, n_random=20)
    # the editor who cut on the true music's bars puts its own track first; the free editor does not care
    assert np.mean(np.argmax(on, axis=1) == np.arange(n)) >= 0.6
    assert np.diag(on).mean() > np.diag(free).mean() + 0.2  # excess S over random offsets (S units)


@pytest.mark.slow
def test_run_fusion_end_to_end_small():
    rep = run_fusion(n_train=16, n_val=8, n_test=8, mixes=(0.0, 1.0), default_p_on_beat=1.0, weights=(0.0, 1.0),
                     n_random=10, device="cpu")
    assert rep.chosen_weight in (0.0, 1.0) and rep.n_val == 8 and rep.n_test == 8
    assert [r["p_on_beat"] for r in rep.by_mix] == [0.0, 1.0]
    assert {"content", "sync", "fused", "fused_default_w"} <= set(rep.by_mix[1]["test"])
    # all-on-beat queries: the sync signal alone finds most true tracks among 8 (chance 4.5)
    assert rep.by_mix[1]["test"]["sync"]["mean_rank"] < 3.0
    assert len(rep.val_sweep) == 3 and np.isinf(rep.val_sweep[-1]["w"])
    with pytest.raises(ValueError):
        run_fusion(n_train=6, n_val=4, n_test=4, mixes=(0.0,), default_p_on_beat=0.5, n_random=5, device="cpu")
