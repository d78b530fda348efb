"""recommend(): fit-only and content+fit modes on a small real catalog, CLI JSON, filters, mockup --model.

The content+fit test uses a Seg-VM-Net with random weights: it checks the pipeline (embeddings stored
by the indexer, prefilter + re-rank, alignment path → edit), not recommendation quality.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from supervisor_app.infra import errors
from supervisor_app.catalog import Catalog
from supervisor_app.cli.main import main
from supervisor_app.catalog.filters import Filters
from supervisor_app.indexing.pipeline import embed_catalog
from supervisor_app.services.recommend import recommend

from conftest import copy_catalog
from fixture_paths import BBB, MUSIC


@pytest.fixture(scope="module")
def catalog_path(indexed_catalog_template, tmp_path_factory):
    return copy_catalog(indexed_catalog_template, tmp_path_factory.mktemp("rec"))


@pytest.fixture(scope="module")
def random_model(tmp_path_factory):
    from supervisor_app.features import get_extractor
    from supervisor_app.nets.model_store import ModelCard
    from supervisor_app.segvmnet.model_io import save_model
    from supervisor_app.segvmnet.vmnet import VMNet, VMNetConfig

    torch.manual_seed(0)
    cfg = VMNetConfig(music_frame_dim=1024, video_frame_dim=1280)
    model = VMNet(cfg).eval()
    ex = {"audio": {"name": "yamnet", "version": get_extractor("yamnet").version, "dim": 1024},
          "video": {"name": "efficientnet-lite0", "version": get_extractor("efficientnet-lite0").version, "dim": 1280}}
    card = ModelCard(name="random-test", kind="segvmnet", network=cfg.to_dict(), segmentation="olda", extractors=ex,
                     data={"description": "random weights, for pipeline tests only"})
    return save_model(model, tmp_path_factory.mktemp("model") / "random-test", card)


@pytest.mark.slow
def test_fit_only_ranks_every_track_with_edits(catalog_path):
    with Catalog.open(catalog_path) as cat:
        res = recommend(BBB, cat, k=5)
    assert res.mode == "fit-only" and res.rank_by == "sync" and res.model is None
    assert [r.rank for r in res.results] == [1, 2]
    # ranked by fit = calibrated sync + form score (issue 13), no longer by the sync score alone
    assert res.results[0].fit_score >= res.results[1].fit_score
    for r in res.results:
        assert r.fit_score == pytest.approx(r.sync_score + r.form["score"])
        assert r.score is None and r.edit is not None
        assert abs(r.edit.excerpts[-1].video_end_s - res.video["duration_s"]) < 1e-6
        assert r.alignment and {"music_start_s", "music_end_s", "video_start_s", "video_end_s"} <= set(r.alignment[0])
        assert r.start_offset_s == pytest.approx(r.edit.excerpts[0].music_in_s)
        assert any(x.startswith("fit ") for x in r.reasons)
        assert r.edit.plan.get("planner") == "form" and r.form["stats"]["ending"]


@pytest.mark.slow
def test_filters_and_errors(catalog_path):
    with Catalog.open(catalog_path) as cat:
        ids = {Path(t.path).stem: t for t in cat.tracks()}
        cat.set_user_fields(ids["vibe_ace"].id, tags=["not cleared"])
        res = recommend(BBB, cat, filters=Filters(exclude_tags=["not cleared"]))
        assert [r.track_id for r in res.results] == [ids["sugar_plum_fairy"].id]
        with pytest.raises(errors.EmptyCatalogError):
            recommend(BBB, cat, filters=Filters(duration_range_s=(1000, None)))
        cat.set_user_fields(ids["vibe_ace"].id, tags=[])
        with pytest.raises(errors.UsageError):
            recommend(BBB, cat, rank_by="content")  # no model: content ranking is refused, not faked
        with pytest.raises(errors.UsageError):
            recommend(BBB, cat, distance="euclid")
        with pytest.raises(errors.NoVideoStreamError):
            recommend(MUSIC / "vibe_ace.ogg", cat)


@pytest.mark.slow
def test_cli_json(catalog_path, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["recommend", str(BBB), "--catalog", str(catalog_path), "-k", "2", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    r0 = data["results"][0]
    for key in ("rank", "track_id", "path", "title", "artist", "score", "sync_score", "alignment"):
        assert key in r0
    assert "fit-only" in capsys.readouterr().out
    assert main(["recommend", str(BBB), "--catalog", str(tmp_path / "none.sqlite")]) == 2


@pytest.mark.slow
def test_content_and_fit_with_a_model(catalog_path, random_model, tmp_path):
    from supervisor_app.segvmnet.model_io import load_model

    loaded = load_model(random_model)
    with Catalog.open(catalog_path) as cat:
        assert embed_catalog(cat, loaded) == 2
        res = recommend(BBB, cat, model=loaded, distance="nw-dtw", k=2)
        assert res.mode == "content+fit" and res.rank_by == "fused" and res.distance == "nw-dtw"
        fused = [r.fused for r in res.results]
        assert fused == sorted(fused, reverse=True)
        for r in res.results:
            assert r.score is not None and r.stage["prefilter_rank"] >= 1
            assert r.alignment and all(a["video_end_s"] > a["video_start_s"] for a in r.alignment)
        by_content = recommend(BBB, cat, model=loaded, distance="sw-dtw", rank_by="content", k=2)
        scores = [r.score for r in by_content.results]
        assert scores == sorted(scores, reverse=True)
        tid = res.results[0].track_id
    out = tmp_path / "m.mp4"
    assert main(["mockup", str(BBB), str(tid), "--catalog", str(catalog_path), "--model", str(random_model),
                 "--out", str(out)]) == 0
    from supervisor_app.media import probe

    info = probe(out)
    assert info.has_audio and info.has_video and abs(info.duration_s - 30.0) < 0.2


def test_catalog_bank_is_persisted_and_follows_the_catalog(catalog_path, random_model):
    from supervisor_app.indexing.keys import model_embedding_key
    from supervisor_app.segvmnet.model_io import load_model
    from supervisor_app.ranking import catalog_bank as cb

    loaded = load_model(random_model)
    key = model_embedding_key(loaded)
    with Catalog.open(catalog_path) as cat:
        embed_catalog(cat, loaded)
        b1, p1 = cb.catalog_bank(cat, *key)
        b2, _ = cb.catalog_bank(cat, *key)
        assert b1 is b2 and b1.n_tracks == 2
        cb._MEMO.clear()
        b3, _ = cb.catalog_bank(cat, *key)  # from the saved files
        assert b3 is not b1 and np.array_equal(np.asarray(b3.emb), np.asarray(b1.emb))
        tid = int(b1.track_ids[0])
        cat.put_embedding(tid, *key, np.ones((3, 512), dtype=np.float32))
        b4, p4 = cb.catalog_bank(cat, *key)
        assert len(b4.segments_of(tid)) == 3 and p4.in_sync(b4)


def test_cli_brief_option(catalog_path, capsys):
    """`recommend --brief` ranks with the same brief search as `search` and applies its rights."""
    assert main(["recommend", str(BBB), "--catalog", str(catalog_path), "-k", "2", "--brief", "jazz, no vocals"]) == 0
    out = capsys.readouterr().out
    assert "brief (jazz, not vocals)" in out and any(" key " in line for line in out.splitlines())
    rc = main(["recommend", str(BBB), "--catalog", str(catalog_path), "--brief", "jazz, one-stop only"])
    err = capsys.readouterr()
    assert rc == 2 and "one-stop" in err.out  # no track is one-stop: one sentence, no traceback
