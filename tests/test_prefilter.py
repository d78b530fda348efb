"""Centroid prefilter (exact scan and FAISS IVF), its sync with the bank, and the two-stage ranking."""
from __future__ import annotations

import numpy as np
import pytest

from supervisor_app.infra.errors import MissingExtraError, UsageError
from supervisor_app.ranking import Prefilter, SegmentBank, align, catalog_scores, two_stage
from supervisor_app.ranking import prefilter as pmod


def _catalog(n, d=16, seed=0, start_id=0):
    rng = np.random.default_rng(seed)
    seqs = [rng.standard_normal((int(rng.integers(3, 10)), d)) for _ in range(n)]
    return list(range(start_id, start_id + n)), seqs


def _clustered_catalog(n, d, n_genres=30, seed=0):
    """Tracks drawn around a few 'genre' directions, as real catalogs are (IVF's use case)."""
    rng = np.random.default_rng(seed)
    genres = rng.standard_normal((n_genres, d)) * 2
    seqs = [genres[rng.integers(n_genres)] + rng.standard_normal((int(rng.integers(3, 10)), d))
            for _ in range(n)]
    return list(range(n)), seqs, genres


def _brute_centroid_order(bank, q):
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    dist = np.linalg.norm(bank.centroids.astype(np.float64) - qn.mean(axis=0), axis=1)
    return np.lexsort((np.arange(len(dist)), dist)), -dist


def test_exact_prefilter_is_the_centroid_ranking():
    ids, seqs = _catalog(500)
    bank = SegmentBank.from_arrays(ids, seqs)
    q = np.random.default_rng(9).standard_normal((4, 16))
    res = Prefilter(bank, "exact").search(q, top_n=40)
    order, score = _brute_centroid_order(bank, q)
    assert res.method == "exact" and res.n_tracks == 500
    np.testing.assert_array_equal(res.positions, order[:40])
    np.testing.assert_allclose(res.scores, score[order[:40]], atol=1e-6)
    np.testing.assert_allclose(res.scores, catalog_scores(q, bank, "centroid", indices=res.positions), atol=1e-6)
    assert np.all(np.diff(res.scores) <= 0)
    everything = Prefilter(bank, "exact").search(q, top_n=10_000)
    assert len(everything.positions) == 500 and set(everything.positions) == set(range(500))


def test_ivf_prefilter_recall_and_exact_scores():
    ids, seqs, genres = _clustered_catalog(3000, d=32, seed=1)
    bank = SegmentBank.from_arrays(ids, seqs)
    pf = Prefilter(bank, "ivf", nprobe=8)
    assert pf.method == "ivf" and pf.nlist >= 16
    rng = np.random.default_rng(5)
    recalls = []
    for _ in range(10):
        q = genres[rng.integers(len(genres))] + rng.standard_normal((5, 32))
        exact = Prefilter(bank, "exact").search(q, 50)
        approx = pf.search(q, 50)
        recalls.append(len(set(exact.positions) & set(approx.positions)) / 50)
        # the IVF only proposes candidates: their scores are exact centroid scores
        np.testing.assert_allclose(approx.scores, catalog_scores(q, bank, "centroid", indices=approx.positions),
                                   atol=1e-6)
    assert np.mean(recalls) >= 0.9


def test_ivf_sync_add_remove_change_and_persistence(tmp_path):
    ids, seqs = _catalog(1200, d=16, seed=2)
    bank = SegmentBank.from_arrays(ids, seqs)
    pf = Prefilter(bank, "ivf", nprobe=64)
    rng = np.random.default_rng(3)
    new_seq = rng.standard_normal((6, 16))
    # remove tracks 0..9, change track 10, add track 5000
    changed = rng.standard_normal((4, 16))
    ids2 = ids[10:] + [5000]
    seqs2 = [changed] + seqs[11:] + [new_seq]
    bank2 = SegmentBank.from_arrays(ids2, seqs2)
    assert not pf.in_sync(bank2)
    report = pf.sync(bank2)
    assert report == {"added": 1, "removed": 10, "changed": 1, "rebuilt": False}
    assert pf.in_sync(bank2) and pf.index.ntotal == 1191
    top = pf.search(new_seq, 5)
    assert int(bank2.track_ids[top.positions[0]]) == 5000
    assert int(bank2.track_ids[pf.search(changed, 1).positions[0]]) == 10
    for q in (seqs[0], seqs[3]):  # removed tracks never come back
        assert all(int(t) >= 10 for t in bank2.track_ids[pf.search(q, 30).positions])
    # save with bank2, reload against bank3 (one more track): loads, resyncs incrementally
    path = pf.save(tmp_path / "prefilter.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["prefilter.npz"]
    extra = rng.standard_normal((3, 16))
    bank3 = SegmentBank.from_arrays(ids2 + [6000], seqs2 + [extra])
    back = Prefilter.load(path, bank3)
    assert back.method == "ivf" and back.in_sync(bank3) and back.index.ntotal == 1192
    assert int(bank3.track_ids[back.search(extra, 1).positions[0]]) == 6000
    # most of the catalog replaced: rebuilt from scratch
    ids4, seqs4 = _catalog(1200, d=16, seed=7, start_id=20_000)
    assert back.sync(SegmentBank.from_arrays(ids4, seqs4))["rebuilt"] is True
    assert back.index.ntotal == 1200


def test_prefilter_errors(tmp_path, monkeypatch):
    ids, seqs = _catalog(20)
    bank = SegmentBank.from_arrays(ids, seqs)
    with pytest.raises(UsageError, match="Unknown prefilter method"):
        Prefilter(bank, "kdtree")
    with pytest.raises(UsageError, match="at least one"):
        Prefilter(bank).search(seqs[0], 0)
    with pytest.raises(UsageError, match="No prefilter index"):
        Prefilter.load(tmp_path / "none.npz", bank)
    monkeypatch.setattr(pmod, "_faiss", lambda: None)
    with pytest.raises(MissingExtraError, match="faiss-cpu"):
        Prefilter(bank, "ivf")
    assert Prefilter(bank, "auto", ann_min_tracks=1).method == "exact"  # falls back without faiss


def test_auto_method_threshold():
    ids, seqs = _catalog(100)
    bank = SegmentBank.from_arrays(ids, seqs)
    assert Prefilter(bank).method == "exact"
    assert Prefilter(bank, "auto", ann_min_tracks=50).method == "ivf"


def test_exact_prefilter_save_load(tmp_path):
    ids, seqs = _catalog(30)
    bank = SegmentBank.from_arrays(ids, seqs)
    pf = Prefilter(bank, "exact")
    back = Prefilter.load(pf.save(tmp_path / "p.npz"), bank)
    q = seqs[4]
    np.testing.assert_array_equal(back.search(q, 5).positions, pf.search(q, 5).positions)


@pytest.mark.parametrize("distance", ["nw-dtw", "sw-dtw", "best-trace", "trace", "single", "complete"])
def test_two_stage_equals_full_rerank_when_nothing_is_pruned(distance):
    ids, seqs = _catalog(80, seed=4)
    bank = SegmentBank.from_arrays(ids, seqs)
    q = np.random.default_rng(8).standard_normal((6, 16))
    res = two_stage(q, bank, distance, top_n=300, k=10)
    full = catalog_scores(q, bank, distance)
    expect = np.lexsort((np.arange(80), -full))[:10]
    assert [r.track_id for r in res] == [int(bank.track_ids[p]) for p in expect]
    for rank, (tid, score, stage) in enumerate(res, start=1):
        assert stage.rank == rank and stage.decided_by == "rerank" and stage.prefilter_method == "all"
        assert score == pytest.approx(align(bank.segments_of(tid), q, distance).score, abs=1e-5)
        assert stage.n_candidates == 80 and stage.n_tracks == 80


def test_two_stage_prunes_with_the_prefilter():
    ids, seqs = _catalog(400, seed=6)
    bank = SegmentBank.from_arrays(ids, seqs)
    q = seqs[123] + 0.1 * np.random.default_rng(1).standard_normal(seqs[123].shape)
    pf = Prefilter(bank, "exact")
    cand = pf.search(q, 25)
    res = two_stage(q, bank, "nw-dtw", top_n=25, k=5, prefilter=pf)
    assert res[0].track_id == 123
    kept = {int(bank.track_ids[p]) for p in cand.positions}
    assert {r.track_id for r in res} <= kept
    sub = catalog_scores(q, bank, "nw-dtw", indices=cand.positions)
    assert [r.score for r in res] == pytest.approx(sorted(sub, reverse=True)[:5])
    for r in res:
        assert 1 <= r.stage.prefilter_rank <= 25 and r.stage.n_candidates == 25
        assert r.stage.prefilter_method == "exact"
        assert "centroid prefilter" in r.stage.describe()
        p = int(cand.positions[r.stage.prefilter_rank - 1])
        assert int(bank.track_ids[p]) == r.track_id
    cen = two_stage(q, bank, "centroid", top_n=25, k=5, prefilter=pf)
    assert all(r.stage.decided_by == "prefilter" for r in cen)
    assert [r.stage.prefilter_rank for r in cen] == [1, 2, 3, 4, 5]


def test_two_stage_resyncs_a_stale_prefilter():
    ids, seqs = _catalog(200, seed=11)
    bank = SegmentBank.from_arrays(ids, seqs)
    pf = Prefilter(bank, "ivf", nprobe=64)
    new = np.random.default_rng(0).standard_normal((5, 16))
    bank2 = SegmentBank.from_arrays(ids + [999], seqs + [new])
    res = two_stage(new, bank2, "nw-dtw", top_n=20, k=3, prefilter=pf)
    assert res[0].track_id == 999 and pf.in_sync(bank2)
