"""MuSimNet front end, networks (Table 4.1), model folders, artist-disjoint split and training.

The training tests use generated "tracks" whose tags control timbre (sine / square / noise), tempo
(notes every 0.5 s or 0.2 s) and register (110–220 Hz or 880–1760 Hz); the oracle is the weighted
Jaccard of those tags, so a net that hears them ranks same-tag tracks first.
"""
import json

import numpy as np
import pytest
import torch

from synth_music import sine
from supervisor_app.infra.errors import ModelError, UsageError
from supervisor_app.musimnet import frontend as fe
from supervisor_app.musimnet import metrics
from supervisor_app.nets.aggregation import AutoPool
from supervisor_app.musimnet.nets import (
    MuSimNet,
    MuSimNetConfig,
    embed_patches,
    load_musimnet,
    n_parameters,
    save_musimnet,
)
from supervisor_app.musimnet.oracle import Oracle
from supervisor_app.musimnet.data import PatchBank, artist_disjoint_split
from supervisor_app.musimnet.evaluate import evaluate_model
from supervisor_app.musimnet.train import MuSimTrainConfig, train_musimnet

SR = fe.SAMPLE_RATE
COMBOS = [(a, b, c) for a in ("sine", "square", "noise") for b in ("slow", "fast") for c in ("low", "high")]
TRACK_FRAMES = 520  # each generated track lasts exactly 520 CQT hops (12.07 s)


def synth(timbre, tempo, register, rng, n=TRACK_FRAMES * fe.HOP_LENGTH):
    y = np.zeros(n, np.float32)
    step = {"slow": 0.5, "fast": 0.2}[tempo]
    lo, hi = {"low": (110.0, 220.0), "high": (880.0, 1760.0)}[register]
    L = int(step * 0.9 * SR)
    tt = np.arange(L) / SR
    env = np.exp(-6 * tt)
    for s in range(0, n - L, int(step * SR)):
        f = rng.uniform(lo, hi)
        if timbre == "sine":
            x = np.sin(2 * np.pi * f * tt)
        elif timbre == "square":
            x = 0.5 * np.sign(np.sin(2 * np.pi * f * tt))
        else:
            x = 0.3 * rng.standard_normal(L)
        y[s:s + L] += (0.3 * env * x).astype(np.float32)
    return y


@pytest.fixture(scope="module")
def synthetic_bank():
    """96 generated tracks (8 per tag combination), one 512-frame CQT chunk each, and their tags."""
    rng = np.random.default_rng(0)
    n = 96
    audio = np.concatenate([synth(*COMBOS[i % len(COMBOS)], rng) for i in range(n)])
    cqt = fe.cqt_db(audio)  # one CQT for all (cheaper); chunks cut away from the track edges
    chunks = np.stack([cqt[:, i * TRACK_FRAMES + 4:i * TRACK_FRAMES + 4 + 512] for i in range(n)])[:, None]
    tags = [{t: 1.0 for t in COMBOS[i % len(COMBOS)]} for i in range(n)]
    return PatchBank(fe.to_uint8(chunks), list(range(n))), tags


# --- front end ----------------------------------------------------------------------------------------
def test_cqt_puts_a_sine_in_its_bin_and_patches_have_the_thesis_shape():
    x = sine(440.0, 3.0, SR, 0.5)
    c = fe.cqt_db(x)
    assert c.shape == (96, 1 + len(x) // 1024)
    # A4 = 440 Hz is 45 semitones above C1
    assert int(np.argmax(c[:, 20:-20].mean(axis=1))) == 45
    assert c.max() <= fe.DB_CEIL and c.min() >= fe.DB_FLOOR
    p = fe.patches(c, [0])
    assert p.shape == (1, 96, 512) and p[0, 0, -1] == fe.DB_FLOOR  # 3 s < 11.9 s: padded with silence
    assert fe.PATCH_S == pytest.approx(11.89, abs=0.01)
    q = fe.from_uint8(fe.to_uint8(c))
    assert np.abs(q - c).max() <= (fe.DB_CEIL - fe.DB_FLOOR) / 255 / 2 + 1e-4


def test_patch_starts():
    assert fe.patch_starts(2000, n_patches=3).tolist() == [0, 744, 1488]
    assert fe.patch_starts(300, n_patches=8).tolist() == [0]
    assert fe.patch_starts(1100, hop_frames=256).tolist() == [0, 256, 512, 588]


# --- networks -----------------------------------------------------------------------------------------
def test_table_4_1_shapes_and_the_thesis_parameter_count():
    x = torch.randn(2, 1, 96, 512) * 10 - 20
    tl = MuSimNet(MuSimNetConfig(arch="tl"))
    assert n_parameters(tl) == 25_334_912  # Table C.1's VGG-like count
    for arch, n_tags in (("at", 7), ("tl", 0), ("tl-autopool", 0)):
        net = MuSimNet(MuSimNetConfig(arch=arch, n_tags=n_tags, width_scale=1 / 16)).eval()
        y = net(x)
        assert y.shape == (2, 7 if arch == "at" else 128)
        if arch != "at":
            assert torch.allclose(y.norm(dim=1), torch.ones(2), atol=1e-5)
    ap = MuSimNet(MuSimNetConfig(arch="tl-autopool", width_scale=1 / 16))
    assert ap.trunk(torch.zeros(1, 1, 96, 512)).shape[2:] == (1, 32)  # 32 time steps left for Auto-pool
    with pytest.raises(UsageError):
        MuSimNetConfig(arch="at", n_tags=0)


def test_autopool_interpolates_mean_and_max():
    x = torch.tensor([[[0.1], [0.5], [0.2], [0.9]]])  # (B, T, C)
    pool = AutoPool(1)
    assert pool(x).item() == pytest.approx(x.mean().item())
    with torch.no_grad():
        pool.alpha.fill_(200.0)
    assert pool(x).item() == pytest.approx(0.9, abs=1e-3)


def test_model_folder_round_trip_and_tamper_check(tmp_path):
    from supervisor_app.nets.model_store import ModelCard

    net = MuSimNet(MuSimNetConfig(arch="tl", width_scale=1 / 32)).eval()
    out = save_musimnet(net, tmp_path / "m", ModelCard(name="m", kind="musimnet", network={},
                                                       data={"oracle": "test"}))
    card = json.loads((out / "model_card.json").read_text())
    assert card["kind"] == "musimnet" and len(card["sha256"]) == 64
    assert "Model card: m" in (out / "MODEL_CARD.md").read_text()
    loaded = load_musimnet(out)
    x = fe.DB_FLOOR + 60 * np.random.default_rng(0).random((3, 96, 512)).astype(np.float32)
    assert np.allclose(embed_patches(loaded.model, x), embed_patches(net, x), atol=1e-6)
    w = out / "weights.pt"
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="damaged or was modified"):
        load_musimnet(out)


# --- split ---------------------------------------------------------------------------------------------
def test_artist_disjoint_split():
    rng = np.random.default_rng(3)
    groups = [f"artist{int(g)}" for g in rng.integers(0, 25, size=300)]
    tr, va, te = artist_disjoint_split(groups, seed=1)
    assert len(tr) + len(va) + len(te) == 300
    sets = [{groups[i] for i in s} for s in (tr, va, te)]
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert abs(len(tr) / 300 - 0.6) < 0.07 and abs(len(va) / 300 - 0.2) < 0.07 and abs(len(te) / 300 - 0.2) < 0.07
    again = artist_disjoint_split(groups, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))
    few = artist_disjoint_split(["a"] * 10 + ["b"] + ["c"], seed=0)
    assert all(len(s) for s in few)  # every split gets an artist even when one dominates
    with pytest.raises(UsageError, match="at least 3 artists"):
        artist_disjoint_split(["a", "a", "b"])


# --- training ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_tiny_training_beats_random_on_recall(synthetic_bank):
    bank, tags = synthetic_bank
    tr, va, te = artist_disjoint_split([str(i) for i in range(len(bank))], (0.45, 0.1, 0.45), seed=0)
    cfg = MuSimTrainConfig(arch="tl", mining="distance", width_scale=1 / 32, lr=2e-3, batch_size=10,
                      batch_layout="mixed", steps_per_epoch=12, epochs=1, patience=2, n_neg=40, eval_patches=2,
                      device="cpu", seed=0)
    res = train_musimnet(bank, tags, Oracle(), tr, va, cfg)
    assert res.n_triplets > 0 and res.best_epoch >= 1 and len(res.history) >= 1
    te_tags = [tags[i] for i in te]
    learned = evaluate_model(res.model, bank.subset(te), te_tags, Oracle(), n_patches=2)
    chance = metrics.random_metrics(Oracle().matrix(te_tags))
    assert learned.n_queries == len(te) and chance.mean["Recall@20"] < 55
    assert learned.mean["Recall@20"] > chance.mean["Recall@20"] + 15
    assert learned.mean["nDCG@20"] > chance.mean["nDCG@20"] + 15


@pytest.mark.slow
def test_at_baseline_trains_and_ranks_by_predicted_tags(synthetic_bank):
    bank, tags = synthetic_bank
    tr, va, te = artist_disjoint_split([str(i) for i in range(len(bank))], (0.45, 0.1, 0.45), seed=0)
    cfg = MuSimTrainConfig(arch="at", width_scale=1 / 32, lr=3e-3, batch_size=16, steps_per_epoch=10, epochs=1,
                      eval_patches=2, device="cpu")
    res = train_musimnet(bank, tags, Oracle(), tr, va, cfg)
    assert sorted(res.tag_vocabulary) == sorted({t for c in COMBOS for t in c})
    m = evaluate_model(res.model, bank.subset(te), [tags[i] for i in te], Oracle(), res.tag_vocabulary, n_patches=2)
    assert 0 <= m.mean["Recall@20"] <= 100


@pytest.mark.slow
def test_cli_train_and_evaluate_on_a_catalog(tmp_path, capsys):
    """``musimnet train`` / ``musimnet evaluate`` end to end on a catalog of generated tracks (pipeline only)."""
    import argparse

    import soundfile as sf

    from supervisor_app.catalog import Catalog
    from supervisor_app.cli import musimnet as cli
    from supervisor_app.musimnet.oracle import write_tags_csv

    rng = np.random.default_rng(1)
    music = tmp_path / "music"
    tags = {}
    for i in range(36):
        combo = COMBOS[i % len(COMBOS)]
        f = music / f"artist{i % 12}" / f"track{i}.wav"
        f.parent.mkdir(parents=True, exist_ok=True)
        sf.write(f, synth(*combo, rng), SR)
        tags[f"artist{i % 12}/track{i}.wav"] = {t: 1.0 for t in combo}
    write_tags_csv(tmp_path / "tags.csv", tags)
    (tmp_path / "rel.csv").write_text("square,bright,0.5\nnoise,bright,0.5\n")
    with Catalog.create(tmp_path / "cat.sqlite") as cat:
        cat.add_folder(music)

    def run(*argv):
        p = argparse.ArgumentParser()
        cli.add_cli(p.add_subparsers(dest="command"))
        a = p.parse_args(list(argv))
        return a.func(a)

    common = ["--catalog", str(tmp_path / "cat.sqlite"), "--tags", str(tmp_path / "tags.csv"),
              "--relations", str(tmp_path / "rel.csv"), "--chunks", "1", "--chunk-frames", "512"]
    out = tmp_path / "models" / "tiny"
    assert run("musimnet", "train", *common, "--out", str(out), "--arch", "tl", "--mining", "neighbors",
               "--width-scale", "0.03", "--steps-per-epoch", "2", "--epochs", "1", "--batch-size", "4",
               "--lr", "1e-3", "--device", "cpu") == 0
    text = capsys.readouterr().out
    assert "TL Neighbors" in text and "Random" in text and f"Wrote {out}" in text
    card = json.loads((out / "model_card.json").read_text())
    assert card["kind"] == "musimnet" and card["network"]["arch"] == "tl"
    assert set(card["metrics"]["test"]) == {"TL Neighbors", "Random"}
    assert card["data"]["n_train"] + card["data"]["n_validation"] + card["data"]["n_test"] == 36
    assert "relations file rel.csv" in card["data"]["oracle"]
    splits = card["data"]["groups"]
    assert not set(splits["train"]) & set(splits["test"])
    with pytest.raises(UsageError, match="already exists"):
        run("musimnet", "train", *common, "--out", str(out))
    assert run("musimnet", "evaluate", *common, "--model", str(out)) == 0
    text = capsys.readouterr().out
    assert "Table 4.2" in text and "TL Neighbors [tiny]" in text and "nDCG@20" in text
