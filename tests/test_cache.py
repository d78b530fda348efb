"""AnalysisCache: results of query-video analyses keyed by content hash + analyzer version."""
from __future__ import annotations

import numpy as np
import pytest

from supervisor_app.infra import paths
from supervisor_app.infra.cache import AnalysisCache
from supervisor_app.infra.hashing import bytes_hash

H1 = bytes_hash(b"video one")
H2 = bytes_hash(b"video two")


@pytest.fixture
def cache(tmp_path):
    return AnalysisCache(tmp_path / "cache")


def test_json_roundtrip_is_keyed_by_hash_analyzer_and_version(cache):
    assert cache.get(H1, "shots", "1") is None
    cache.put(H1, "shots", "1", {"cuts_s": np.array([1.5, 4.0]), "n": np.int64(2), "fps": 25.0})
    assert cache.get(H1, "shots", "1") == {"cuts_s": [1.5, 4.0], "n": 2, "fps": 25.0}
    assert cache.get(H1, "shots", "2") is None  # a new algorithm version never reads an old result
    assert cache.get(H2, "shots", "1") is None
    assert cache.get(H1, "beats", "1") is None
    cache.put(H1, "shots", "1", {"cuts_s": []})  # replace
    assert cache.get(H1, "shots", "1") == {"cuts_s": []}
    with pytest.raises(TypeError):
        cache.put(H1, "shots", "1", [1, 2])


def test_arrays_roundtrip(cache):
    emb = np.random.default_rng(0).standard_normal((30, 128)).astype(np.float32)
    cache.put_array(H1, "frame-emb", "effnet-1", emb)
    got = cache.get_array(H1, "frame-emb", "effnet-1")
    assert got.dtype == np.float32 and np.array_equal(got, emb)
    assert cache.get_array(H2, "frame-emb", "effnet-1") is None
    probs = np.linspace(0, 1, 250)
    cache.put_arrays(H1, "shots", "1", {"cut_probs_25hz": probs, "frame_idx": np.arange(250, dtype=np.int32)})
    got = cache.get_arrays(H1, "shots", "1")
    assert set(got) == {"cut_probs_25hz", "frame_idx"} and np.array_equal(got["cut_probs_25hz"], probs)
    assert got["frame_idx"].dtype == np.int32
    # JSON and arrays of one key live side by side
    cache.put(H1, "shots", "1", {"n_cuts": 3})
    assert cache.get(H1, "shots", "1") == {"n_cuts": 3} and cache.get_arrays(H1, "shots", "1") is not None


def test_damaged_entries_are_misses_and_writes_leave_no_temp_files(cache):
    cache.put(H1, "shots", "1", {"a": 1})
    cache.put_array(H1, "emb", "1", np.zeros(3))
    json_file = next((cache.root / "analysis").rglob("*.json"))
    npz_file = next((cache.root / "analysis").rglob("*.npz"))
    files = sorted(p.name for p in (cache.root / "analysis").rglob("*") if p.is_file())
    assert files == sorted([json_file.name, npz_file.name])  # nothing else (no temp files)
    json_file.write_text('{"a": ')
    npz_file.write_bytes(b"PK\x03\x04 broken")
    assert cache.get(H1, "shots", "1") is None and cache.get_array(H1, "emb", "1") is None
    json_file.write_text("[1, 2]")  # valid JSON but not a result dict
    assert cache.get(H1, "shots", "1") is None


def test_names_are_sanitised_without_collisions(cache):
    cache.put(H1, "a/b", "1", {"x": 1})
    cache.put(H1, "a_b", "1", {"x": 2})
    cache.put(H1, "..", "../..", {"x": 3})
    assert [cache.get(H1, n, v)["x"] for n, v in (("a/b", "1"), ("a_b", "1"), ("..", "../.."))] == [1, 2, 3]
    for p in cache.root.rglob("*"):
        assert cache.root in p.resolve().parents  # nothing escapes the cache folder
    for bad in ("../etc/passwd", "xyz", "", H1 + "/x"):
        with pytest.raises(ValueError):
            cache.get(bad, "shots", "1")


def test_clear_and_size(cache):
    cache.put(H1, "shots", "1", {"a": 1})
    cache.put(H1, "shots", "2", {"a": 2})
    cache.put(H2, "beats", "1", {"b": 1})
    assert cache.size_bytes() > 0
    cache.clear("shots", "1")
    assert cache.get(H1, "shots", "1") is None and cache.get(H1, "shots", "2") == {"a": 2}
    cache.clear("shots")
    assert cache.get(H1, "shots", "2") is None and cache.get(H2, "beats", "1") == {"b": 1}
    cache.clear()
    assert cache.get(H2, "beats", "1") is None and cache.size_bytes() == 0
    with pytest.raises(ValueError):
        cache.clear(version="1")


def test_default_root_is_the_app_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    c = AnalysisCache()
    assert c.root == paths.cache_dir() == tmp_path / "home" / "cache"
    c.put(H1, "shots", "1", {"a": 1})
    assert AnalysisCache().get(H1, "shots", "1") == {"a": 1}


def test_fresh_shots_equal_cached_shots(tmp_path, monkeypatch):
    """A fresh shot analysis returns the numbers a later cache hit reads back (the stored curve is rounded):
    otherwise everything keyed on them (the stored fits of ``recommend``) misses once more on the second run."""
    from supervisor_app.analysis import shots as shots_mod
    from supervisor_app.analysis.report import cached_shots

    rng = np.random.default_rng(3)
    probs = rng.random(250).astype(np.float32)  # not representable with 6 decimals

    def fake_detect(path, threshold=0.5, **kw):
        return shots_mod.ShotResult(duration_s=10.0, fps=25.0, cut_probs=probs, cut_probs_25hz=probs,
                                    cuts_s=[4.0, 7.0], shots=[(0.0, 4.0), (4.0, 7.0), (7.0, 10.0)], threshold=threshold)

    monkeypatch.setattr(shots_mod, "detect_shots", fake_detect)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not really a video")
    store = AnalysisCache(tmp_path / "cache")
    fresh = cached_shots(video, cache=store)
    monkeypatch.setattr(shots_mod, "detect_shots", lambda *a, **k: pytest.fail("should be a cache hit"))
    hit = cached_shots(video, cache=store)
    assert np.array_equal(fresh.cut_probs_25hz, hit.cut_probs_25hz)
    assert np.array_equal(fresh.cut_probs, hit.cut_probs) and fresh.cuts_s == hit.cuts_s
    assert not np.array_equal(fresh.cut_probs_25hz, probs)  # the test would pass vacuously otherwise
