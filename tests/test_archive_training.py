"""Archive → training: split by commercial (leak-free), mockup decisions, resumable training, and an
end-to-end run (slow) on generated projects with the real extractors: held-out numbers beside chance
and the fit-only ranking, the model card, and the active-model rule."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from archive_projects import MusicPiece, ProjectSpec, long_picture, picture_variant, write_project
from fixture_paths import MUSIC
from supervisor_app.infra import errors
from supervisor_app.archive import store
from supervisor_app.archive.importer import import_project
from supervisor_app.archive.mockups import record_mockup_decision
from supervisor_app.archive.split import commercial_groups, split_by_commercial
from supervisor_app.catalog import Catalog


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    d = tmp_path_factory.mktemp("pics")
    base = long_picture(d / "base.mp4", 150.0)
    return [picture_variant(base, d / f"spot{i}.mp4", 12.0 * i, 40.0, hue=40.0 * i) for i in range(7)]


MUSICS = ["vibe_ace.ogg", "sugar_plum_fairy.ogg", "lets_go_fishin.ogg", "hungarian_dance_5.ogg"]


def _archive(tmp_path, pictures, n_commercials=7) -> Path:
    """Projects: one per picture with two cues of different tracks, plus a second version (v2) of spot 0
    with other music (same commercial) and an exact duplicate of spot 1 in another format."""
    cat_path = tmp_path / "cat.sqlite"
    files = []
    for i, pic in enumerate(pictures[:n_commercials]):
        m1, m2 = MUSIC / MUSICS[i % 4], MUSIC / MUSICS[(i + 1) % 4]
        spec = ProjectSpec(f"spot {i}", picture=[(0.0, 22.0, 0.0, pic), (22.0, 16.0, 24.0, pic)],
                           music=[MusicPiece(0.0, 12.0, 3.0 + i, m1), MusicPiece(12.0, 8.0, 20.0, m1, 1.25),
                                  MusicPiece(22.0, 16.0, 10.0 + 2 * i, m2)])
        files.append(write_project(spec, tmp_path / f"spot{i}.otio", "otio_json"))
        if i == 0:
            v2 = ProjectSpec("spot 0 v2", picture=spec.picture, music=[MusicPiece(0.0, 30.0, 5.0, MUSIC / MUSICS[3])])
            files.append(write_project(v2, tmp_path / "spot0_v2.otio", "otio_json"))
        if i == 1:
            files.append(write_project(spec, tmp_path / "spot1 copy.edl", "cmx_3600"))
    with Catalog.create(cat_path) as cat:
        for f in files:
            import_project(cat, f)
    return cat_path


@pytest.mark.slow
def test_split_is_by_commercial_and_leak_free(tmp_path, pictures):
    cat_path = _archive(tmp_path, pictures)
    with Catalog.open(cat_path) as cat:
        pairs = store.training_pairs(cat)
        media = {m.id: m for m in store.all_media(cat)}
        assert len(store.projects(cat)) == 8  # the EDL copy of spot 1 added nothing
        groups = commercial_groups(pairs, media)
        assert len(set(groups.values())) == 7  # spot 0 and its v2 are one commercial
        v2 = [p for p in pairs if p.project_id == store.projects(cat)[1].id]
        v1 = [p for p in pairs if p.project_id == store.projects(cat)[0].id]
        assert {groups[p.id] for p in v1} == {groups[p.id] for p in v2}
        for seed in range(20):
            sp = split_by_commercial([p.id for p in pairs], groups, seed=seed)
            sides = sp.sides()
            assert not (sides["train"] & sides["test"]) and not (sides["train"] & sides["val"]) \
                and not (sides["val"] & sides["test"])
            assert len(sides["test"]) >= 2 and len(sides["val"]) >= 2 and len(sides["train"]) >= 2
            assert sorted(sp.train + sp.val + sp.test) == sorted(p.id for p in pairs)
        with pytest.raises(errors.UsageError, match="at least 6 different commercials"):
            split_by_commercial([p.id for p in v1], groups)


def test_split_is_stable_when_the_archive_grows():
    groups = {i: f"g{i}" for i in range(40)}
    a = split_by_commercial(list(range(30)), groups, seed=3)
    b = split_by_commercial(list(range(40)), groups, seed=3)
    held_a = {groups[i] for i in a.test}
    held_b = {groups[i] for i in b.test}
    assert held_a <= held_b  # adding commercials never moves a held-out one into training
    for sp in (a, b):
        sides = sp.sides()
        assert not (sides["train"] & sides["test"]) and not (sides["val"] & sides["test"])
        assert not (sides["train"] & sides["val"])


def test_mockup_decisions_are_pairs_and_rejections_are_kept_apart(tmp_path):
    from fixture_paths import BBB
    from supervisor_app.edit.edl import Edit, Excerpt

    pictures = [BBB]

    with Catalog.create(tmp_path / "c.sqlite") as cat:
        cat.add_folder(MUSIC)
        t = cat.find_by_path(MUSIC / "vibe_ace.ogg")
        edit = Edit([Excerpt(0.0, 18.0, 4.0, 22.0), Excerpt(18.0, 30.0, 30.0, 42.0)], 30.0, 61.0)
        d1 = record_mockup_decision(cat, pictures[0], t.id, edit, approved=True)
        assert d1.created and d1.decision == "approved"
        d2 = record_mockup_decision(cat, pictures[0], t.id, edit.to_dict(), approved=False)  # changed mind
        assert not d2.created and d2.pair_id == d1.pair_id
        t2 = cat.find_by_path(MUSIC / "sugar_plum_fairy.ogg")
        record_mockup_decision(cat, pictures[0], t2.id, edit, approved=True)
        assert [p.decision for p in store.pairs(cat, origin="mockup")] == ["rejected", "approved"]
        assert [p.track_id for p in store.training_pairs(cat)] == [t2.id]  # rejected: never trained on
        p = store.pairs(cat, origin="mockup")[1]
        assert [(m.record_start_s, m.source_in_s) for m in p.music] == [(0.0, 4.0), (18.0, 30.0)]
        with pytest.raises(errors.UsageError, match="no track with id 999"):
            record_mockup_decision(cat, pictures[0], 999, edit, approved=True)
        with pytest.raises(errors.NoVideoStreamError):
            record_mockup_decision(cat, MUSIC / "vibe_ace.ogg", t.id, edit, approved=True)


@pytest.mark.slow
def test_training_resumes_after_interruption(tmp_path):
    """A run cancelled after epoch 2 and started again ends with the same weights as one uninterrupted run."""
    from test_training_synthetic import make_corpus
    from supervisor_app.segvmnet.train import TrainConfig, train_model

    torch.set_num_threads(1)
    train, val = make_corpus(24, 1), make_corpus(8, 2)
    cfg = TrainConfig(lr=1e-3, batch_size=32, epochs=4, patience=10, device="cpu", seed=5)
    ref = train_model(train, val, cfg)
    ck = tmp_path / "ck.pt"
    n = {"epochs": 0}

    def stop_after_two(rec):
        n["epochs"] += 1

    first = train_model(train, val, cfg, on_epoch=stop_after_two, should_stop=lambda: n["epochs"] >= 2,
                        checkpoint_path=ck)
    assert first.stopped == "cancelled" and ck.exists() and len(first.history) == 2
    again = train_model(train, val, cfg, checkpoint_path=ck)
    assert len(again.history) == 4 and not ck.exists()
    for k, v in ref.model.state_dict().items():
        assert torch.allclose(v, again.model.state_dict()[k], atol=1e-6), k
    assert [h["val_v2m_mean_rank"] for h in again.history] == [h["val_v2m_mean_rank"] for h in ref.history]


@pytest.mark.slow
def test_train_from_archive_end_to_end(tmp_path, pictures, monkeypatch):
    """Real extractors (YAMNet, EfficientNet-Lite0), shots segmentation, 2 epochs: the model card records
    the held-out numbers beside chance and fit-only; a second, worse-or-equal model is kept beside the
    first with the reason; the CLI prints the honest line."""
    from supervisor_app.archive.training import model_summary, train_from_archive
    from supervisor_app.cli.main import main
    from supervisor_app.nets.model_store import read_card
    from supervisor_app.segvmnet.train import TrainConfig

    torch.set_num_threads(2)
    cat_path = _archive(tmp_path, pictures)
    cfg = TrainConfig(lr=1e-3, batch_size=64, epochs=2, patience=5, device="cpu", seed=0)
    # a rejected mockup on a held-out picture: a negative for evaluation, never trained on
    from supervisor_app.edit.edl import Edit, Excerpt

    with Catalog.open(cat_path) as cat:
        cat.add_folder(MUSIC)
        pairs = store.training_pairs(cat)
        media = {m.id: m for m in store.all_media(cat)}
        groups = commercial_groups(pairs, media)
        sp = split_by_commercial([p.id for p in pairs], groups, seed=0)
        held = next(p for p in pairs if p.id in sp.test)
        pic = media[held.picture_media_ids()[0]].path
        track = cat.find_by_path(MUSIC / "sugar_plum_fairy.ogg")
        record_mockup_decision(cat, pic, track.id, Edit([Excerpt(0.0, 40.0, 60.0, 100.0)], 40.0, 120.0), approved=False)
    o = train_from_archive(cat_path, tmp_path / "m1", cfg, segmentation="shots", fit_baseline=True)
    assert o.activated and o.reason == "no active model yet"
    assert o.n_test_pairs >= 2 and o.n_val_pairs >= 2 and o.n_train_pairs >= 2
    card = read_card(tmp_path / "m1")
    neg = card.metrics["rejected_mockups"]
    assert neg["n_rejected_held_out"] == 1 and neg["n_comparisons"] >= 1
    assert 0.0 <= neg["model_prefers_kept_pct"] <= 100.0
    assert card.data["source"] == "archive" and card.data["n_train_pairs"] == o.n_train_pairs
    assert card.metrics["evaluation_protocol"]["rankers"]  # the protocol ran on the held-out pairs
    # leak-free: no held-out pair's commercial was seen in training
    lines = [ln.split() for ln in (tmp_path / "m1" / "training_clips.txt").read_text().splitlines() if not ln.startswith("#")]
    assert {ln[1] for ln in lines} == {"train", "val", "test"}
    s = model_summary(tmp_path / "m1", cat_path)
    assert s.active and s.held_out_is_test and s.n_held_out_pairs == o.n_test_pairs
    assert s.chance_mean_rank == pytest.approx((o.n_test_pairs + 1) / 2)
    assert s.fit_only_mean_rank is not None and 1 <= s.fit_only_mean_rank <= o.n_test_pairs
    assert 1 <= s.held_out_mean_rank <= o.n_test_pairs
    # the same training again (same seed and data: the same held-out rank) does not beat the active model
    o2 = train_from_archive(cat_path, tmp_path / "m2", cfg, segmentation="shots", fit_baseline=False)
    assert not o2.activated and "kept beside the active model" in o2.reason
    with Catalog.open(cat_path) as cat:
        assert Path(store.active_model(cat)) == (tmp_path / "m1").resolve()
    # CLI: same path, one sentence for the decision
    rc = main(["train", "segvmnet", "--archive", "--catalog", str(cat_path), "--segmentation", "shots",
               "--out", str(tmp_path / "m3"), "--epochs", "1", "--preset", "small-data", "--device", "cpu",
               "--no-fit-baseline"])
    assert rc == 0


@pytest.mark.slow
def test_mockup_approve_cli_stores_the_pair(tmp_path):
    import shutil

    from fixture_paths import BBB
    from supervisor_app.cli.main import main

    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copy(MUSIC / "hungarian_dance_5.ogg", lib / "hungarian_dance_5.ogg")  # a short track keeps the analysis quick
    cat_path = tmp_path / "c.sqlite"
    with Catalog.create(cat_path) as cat:
        cat.add_folder(lib)
        tid = cat.find_by_path(lib / "hungarian_dance_5.ogg").id
    assert main(["mockup", str(BBB), str(tid), "--out", str(tmp_path / "m.mp4"), "--approve"]) == 2  # no catalog
    assert main(["mockup", str(BBB), str(tid), "--out", str(tmp_path / "m.mp4"), "--catalog", str(cat_path),
                 "--approve"]) == 0
    with Catalog.open(cat_path) as cat:
        (p,) = store.pairs(cat, origin="mockup")
        assert p.decision == "approved" and p.track_id == tid
        assert p.music[0].record_start_s == 0.0 and p.picture[0].record_end_s == pytest.approx(30.0, abs=0.1)
