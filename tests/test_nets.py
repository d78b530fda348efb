"""VM-Net branches, aggregation layers, device choice and the model store (weights + model card)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from supervisor_app.infra import errors
from supervisor_app.nets import aggregation as agg
from supervisor_app.nets.device import available_devices, select_device
from supervisor_app.nets.model_store import ModelCard, read_card
from supervisor_app.segvmnet.model_io import load_model, save_model
from supervisor_app.segvmnet.vmnet import (
    Branch,
    VMNet,
    VMNetConfig,
    count_parameters,
    embed_frame_sequences,
    embed_vectors,
)


# --- branches -------------------------------------------------------------------------------
def _linears(branch: Branch):
    return [(m.in_features, m.out_features) for m in branch.net if isinstance(m, nn.Linear)]


def test_branch_sizes_follow_the_thesis():
    m = VMNet(VMNetConfig(music_frame_dim=1140, video_frame_dim=1280))
    assert _linears(m.music_branch) == [(1140, 2048), (2048, 1024), (1024, 512)]
    assert _linears(m.video_branch) == [(1280, 2048), (2048, 512)]
    for br in (m.music_branch, m.video_branch):
        layers = list(br.net)
        # last layer linear + batch norm, no ReLU after it; ReLU + dropout 0.5 after every hidden layer
        assert isinstance(layers[-2], nn.Linear) and isinstance(layers[-1], nn.BatchNorm1d)
        n_hidden = len(_linears(br)) - 1
        assert sum(isinstance(x, nn.ReLU) for x in layers) == n_hidden
        assert [x.p for x in layers if isinstance(x, nn.Dropout)] == [0.5] * n_hidden


def test_parameter_count_matches_the_thesis():
    # thesis §5.1.2: 6,037,504 trainable parameters with AudioSet (128-d) music and 1024-d video inputs
    assert count_parameters(VMNet(VMNetConfig(128, 1024))) == 6_037_504


def test_input_size_follows_aggregation():
    m = VMNet(VMNetConfig(100, 50, aggregation="mean-var-max"))
    assert _linears(m.music_branch)[0] == (300, 2048)
    assert _linears(m.video_branch)[0] == (150, 2048)


def test_embeddings_are_unit_norm_in_train_and_eval():
    torch.manual_seed(0)
    m = VMNet(VMNetConfig(16, 24))
    em, ev = m(torch.randn(8, 16) * 5, torch.randn(8, 24) * 5)
    assert em.shape == (8, 512) and ev.shape == (8, 512)
    assert torch.allclose(em.norm(dim=1), torch.ones(8), atol=1e-5)
    out = embed_vectors(m, np.random.default_rng(0).normal(size=(3, 24)), "video")
    assert out.shape == (3, 512) and np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert m.training  # embed_vectors restores the mode


def test_fusion_head_shape_and_absence():
    m = VMNet(VMNetConfig(8, 8, fusion_head=True))
    lin = [x for x in m.fusion.net if isinstance(x, nn.Linear)]
    assert [(x.in_features, x.out_features) for x in lin] == [(1024, 1024), (1024, 128), (128, 1)]
    e = torch.nn.functional.normalize(torch.randn(5, 512), dim=1)
    assert m.match_logit(e, e).shape == (5,)
    with pytest.raises(ValueError):
        VMNet(VMNetConfig(8, 8)).match_logit(e, e)


def test_learned_aggregation_needs_frames():
    m = VMNet(VMNetConfig(8, 8, aggregation="attention"))
    with pytest.raises(ValueError):
        m.embed_music(torch.randn(2, 8))
    assert m.embed_music(torch.randn(2, 5, 8)).shape == (2, 512)


def test_standardisation_is_exact_on_aggregated_statistics():
    rng = np.random.default_rng(1)
    frames = [rng.normal(3.0, 2.0, size=(t, 6)).astype(np.float32) for t in (4, 9, 7)]
    m = VMNet(VMNetConfig(6, 6, aggregation="mean-var-max"))
    m.set_input_normalization(np.concatenate(frames) * 1.5 + 2, np.concatenate(frames))
    m.eval()
    vec = torch.from_numpy(np.stack([agg.statistics_vector(f, "mean-var-max") for f in frames]))
    from_vec = m.embed_music(vec)
    from_frames = torch.from_numpy(embed_frame_sequences(m, frames, "music"))
    assert torch.allclose(from_vec, from_frames, atol=1e-5)


# --- aggregation ----------------------------------------------------------------------------
def test_statistics_pool_matches_numpy_and_ignores_padding():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    padded = np.concatenate([x, np.full((3, 3), 99.0, np.float32)])
    mask = torch.tensor([[True] * 5 + [False] * 3])
    for mode in ("mean", "mean-var-max"):
        got = agg.StatisticsPool(mode)(torch.from_numpy(padded)[None], mask)[0].numpy()
        assert np.allclose(got, agg.statistics_vector(x, mode), atol=1e-5)
    want = np.concatenate([x.mean(0), x.var(0), x.max(0)])
    assert np.allclose(agg.statistics_vector(x, "mean-var-max"), want, atol=1e-6)


def test_autopool_interpolates_between_mean_and_max():
    x = torch.tensor([[[1.0, -2.0], [3.0, 0.0], [2.0, 5.0], [50.0, 50.0]]])
    mask = torch.tensor([[True, True, True, False]])
    pool = agg.AutoPool(2)
    assert torch.allclose(pool(x, mask), torch.tensor([[2.0, 1.0]]))  # α = 0: mean of the 3 real frames
    with torch.no_grad():
        pool.alpha.fill_(60.0)
    assert torch.allclose(pool(x, mask), torch.tensor([[3.0, 5.0]]), atol=1e-3)  # α → ∞: max
    with torch.no_grad():
        pool.alpha.copy_(torch.tensor([1.0, 0.5]))
    # hand-computed: softmax over time of α·x per dimension
    w0 = np.exp([1.0, 3.0, 2.0]) / np.exp([1.0, 3.0, 2.0]).sum()
    w1 = np.exp([-1.0, 0.0, 2.5]) / np.exp([-1.0, 0.0, 2.5]).sum()
    want = [float(w0 @ [1, 3, 2]), float(w1 @ [-2, 0, 5])]
    assert np.allclose(pool(x, mask)[0].detach().numpy(), want, atol=1e-5)


def test_attention_weights_hand_computed():
    pool = agg.AttentionPool(2)
    with torch.no_grad():
        pool.score.weight.copy_(torch.tensor([[1.0, 0.0]]))
        pool.score.bias.fill_(0.5)
    x = torch.tensor([[[0.0, 1.0], [1.0, 2.0], [-1.0, 4.0]]])
    s = np.tanh(np.array([0.5, 1.5, -0.5]))
    a = np.exp(s) / np.exp(s).sum()
    assert np.allclose(pool.weights(x)[0].detach().numpy(), a, atol=1e-6)
    assert np.allclose(pool(x)[0].detach().numpy(), a @ x[0].numpy(), atol=1e-6)
    # padding gets no weight
    xp = torch.cat([x, torch.full((1, 2, 2), 7.0)], dim=1)
    m = torch.tensor([[True, True, True, False, False]])
    assert np.allclose(pool(xp, m)[0].detach().numpy(), a @ x[0].numpy(), atol=1e-6)
    assert float(pool.weights(xp, m)[0, 3:].sum().detach()) == 0.0


def test_sample_frames_picks_distinct_frames_in_order_or_pads():
    frames = np.arange(300, dtype=np.float32).reshape(150, 2)
    x, m = agg.sample_frames(frames, 100, np.random.default_rng(0))
    assert x.shape == (100, 2) and m.all()
    rows = x[:, 0] / 2
    assert len(np.unique(rows)) == 100 and np.all(np.diff(rows) > 0)
    x, m = agg.sample_frames(frames[:30], 100, np.random.default_rng(0))
    assert m.sum() == 30 and np.array_equal(x[:30], frames[:30]) and not x[30:].any()


# --- device ---------------------------------------------------------------------------------
def test_device_selection():
    assert select_device("cpu") == torch.device("cpu")
    assert select_device("auto").type == available_devices()[0]
    assert available_devices()[-1] == "cpu"
    with pytest.raises(errors.UsageError):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(errors.UsageError, match="not available"):
            select_device("cuda")
        assert select_device(None).type in ("mps", "cpu")
    else:
        assert select_device(None).type == "cuda"


# --- model store ----------------------------------------------------------------------------
def _card(name="m1"):
    return ModelCard(name=name, kind="segvmnet", network={}, segmentation="olda",
                     extractors={"audio": {"name": "yamnet", "version": "1", "dim": 16},
                                 "video": {"name": "mobilenetv2", "version": "2", "dim": 24}},
                     data={"n_clips": 10}, metrics={"validation": {"V2M": {"mean_rank": 3.0}}})


INSTALLED = {"yamnet": "1", "mobilenetv2": "2"}


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    m = VMNet(VMNetConfig(16, 24, aggregation="attention"))
    m.set_input_normalization(np.random.default_rng(0).normal(size=(50, 16)), np.ones((50, 24)))
    out = save_model(m, tmp_path / "m1", _card())
    card = json.loads((out / "model_card.json").read_text())
    assert len(card["sha256"]) == 64 and card["network"]["aggregation"] == "attention"
    assert "yamnet" in json.dumps(card["licences"]) and "Apache" in json.dumps(card["licences"])
    assert "sha256" in (out / "MODEL_CARD.md").read_text()
    loaded = load_model(out, installed=INSTALLED)
    assert not loaded.model.training
    frames = [np.random.default_rng(3).normal(size=(40, 24)).astype(np.float32)]
    a = embed_frame_sequences(m, frames, "video", np.random.default_rng(5))
    b = embed_frame_sequences(loaded.model, frames, "video", np.random.default_rng(5))
    assert np.allclose(a, b, atol=1e-6)
    assert read_card(out).kind == "segvmnet"


def test_load_refuses_modified_weights(tmp_path):
    out = save_model(VMNet(VMNetConfig(4, 4)), tmp_path / "m", _card("m"))
    w = out / "weights.pt"
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(errors.ModelError, match="sha256"):
        load_model(out, installed=INSTALLED)


def test_load_refuses_other_extractor_versions(tmp_path):
    out = save_model(VMNet(VMNetConfig(4, 4)), tmp_path / "m", _card("m"))
    with pytest.raises(errors.ModelError, match="version 1.*version 7"):
        load_model(out, installed={"yamnet": "7", "mobilenetv2": "2"})
    with pytest.raises(errors.ModelError, match="lacks"):
        load_model(out, installed={"yamnet": "1"})


def test_load_checks_the_real_registry(tmp_path):
    pytest.importorskip("supervisor_app.features")
    from supervisor_app.features import get_extractor

    card = _card("m")
    card.extractors["audio"]["version"] = get_extractor("yamnet").version + "-other"
    out = save_model(VMNet(VMNetConfig(4, 4)), tmp_path / "m", card)
    with pytest.raises(errors.ModelError, match="retrain"):
        load_model(out)


def test_missing_model_is_a_model_error(tmp_path):
    with pytest.raises(errors.ModelError, match="No model"):
        load_model(tmp_path / "nothing-here")


def test_standardisation_statistics_from_chunks():
    rng = np.random.default_rng(4)
    chunks = [rng.normal(2.0, 3.0, size=(t, 5)) for t in (10, 3, 40)]
    m = VMNet(VMNetConfig(5, 5))
    m.set_input_normalization(chunks, np.concatenate(chunks))
    allx = np.concatenate(chunks)
    assert np.allclose(m.music_mean.numpy(), allx.mean(0), atol=1e-5)
    assert np.allclose(m.music_std.numpy(), allx.std(0), atol=1e-5)
    assert np.allclose(m.video_std.numpy(), m.music_std.numpy(), atol=1e-6)
