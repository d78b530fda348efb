"""The splice sides and energy sums ``catalog index`` stores at a track's bar lines (edit.bar_splices):
the same splice costs, section energy and fit as the track's decoded features, stored by the index job
(new and already-indexed tracks), and used by ``recommend`` instead of decoding its finalists."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from supervisor_app.edit import audibility
from supervisor_app.edit.bar_splices import BarSplices, OffGridSplice, bar_times
from supervisor_app.edit.form import TrackForm, describe_edit
from supervisor_app.media import load_audio
from supervisor_app.ranking.form_score import fit_to_picture

from fixture_paths import BBB, MUSIC

SR = audibility.FEATURES_SR


@pytest.fixture(scope="module")
def vibe():
    path = MUSIC / "vibe_ace.ogg"
    y = load_audio(path, sr=SR, mono=True)
    M = y.shape[0] / SR
    db = np.arange(0.4, M - 1.0, 2.1)
    return path, y, M, db, audibility.track_features(y, SR)


def test_bar_times_are_the_forms_bar_lines(vibe):
    _, _, M, db, _ = vibe
    noisy = np.concatenate([db, [db[3], -1.0, np.nan, M + 2.0]])  # duplicates, out of range, NaN
    form = TrackForm.build(M, noisy, [0.0, M])
    assert np.array_equal(bar_times(M, noisy), form.T)
    assert bar_times(M, [1.0]) is None and bar_times(M, None) is None


def test_stored_table_gives_the_features_costs_energy_and_fit(vibe):
    _, y, M, db, feats = vibe
    bounds = [0.0, float(db[6]), float(db[14]), float(db[22]), M]
    table = BarSplices.from_array(BarSplices.from_features(feats, bar_times(M, db)).to_array())  # stored and read
    a = TrackForm.build(M, db, bounds, audio=feats, sr=SR)
    b = TrackForm.build(M, db, bounds, audio=table, sr=SR)
    assert np.array_equal(a.natural_costs(), b.natural_costs())
    for i, j in [(0, 0), (3, 9), (9, 3), (a.n, 2), (5, a.n), (a.n - 1, 1)]:
        assert a.splice_cost(i, j) == b.splice_cost(i, j)
        assert table.cost_at(a.T[i], a.T[j]) == audibility.splice_audibility(y, SR, a.T[i], a.T[j])
    # float64 running sums instead of float32 means: equal to ~1e-7, the same peak section
    np.testing.assert_allclose(b.section_energy, a.section_energy, rtol=1e-5, atol=1e-5)
    assert a.peak_section() == b.peak_section()
    D, cuts = 40.0, [3.1, 9.0, 17.5, 25.2, 33.0]
    for climax in (None, 20.0):
        fa = fit_to_picture(D, cuts, None, a, picture_climax_s=climax)
        fb = fit_to_picture(D, cuts, None, b, picture_climax_s=climax)
        assert fa.edit.to_dict() == fb.edit.to_dict()
        assert fa.fit == fb.fit and fa.form.to_dict() == fb.form.to_dict()
        assert repr(describe_edit(fa.edit, a)) == repr(describe_edit(fb.edit, b))  # (NaN-safe)


def test_a_table_is_used_only_on_its_own_bar_lines(vibe):
    _, _, M, db, feats = vibe
    table = BarSplices.from_features(feats, bar_times(M, db))
    with pytest.raises(OffGridSplice):
        TrackForm.build(M, db + 0.01, [0.0, M], audio=table, sr=SR)  # other downbeats
    with pytest.raises(OffGridSplice):
        TrackForm.build(M + 0.001, db, [0.0, M], audio=table, sr=SR)  # another end of file
    with pytest.raises(OffGridSplice):
        table.cost_at(float(db[2]) + 0.3, float(db[5]))  # a splice between bar lines
    with pytest.raises(ValueError):
        BarSplices.from_array(np.zeros((0, 58)))


def test_the_table_is_small(vibe):
    _, _, M, db, feats = vibe
    arr = BarSplices.from_features(feats, bar_times(M, db)).to_array()
    assert arr.nbytes <= 60 * 8 * (db.size + 2)  # ~0.5 KiB per bar line; the frame features are ~50x more
    assert sum(np.asarray(v).nbytes for v in feats.to_arrays().values()) > 20 * arr.nbytes


def test_index_stores_the_table_and_recommend_uses_it_instead_of_decoding(tmp_path, monkeypatch):
    """A new catalog gets the tables from the index job (no second decode); an already-indexed catalog
    without them gets them on its next index run (decoded at the features' rate only); recommend re-plans
    its finalists from them, with the fits the decoded features give."""
    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    import sqlite3

    from supervisor_app.catalog import Catalog
    from supervisor_app.indexing.keys import bar_splices_key
    from supervisor_app.indexing.pipeline import index_catalog
    from supervisor_app.indexing.reads import stored_bar_splices
    from supervisor_app.services.recommend import recommend

    music = tmp_path / "music"
    music.mkdir()
    for name, length in (("vibe_ace.ogg", 61), ("sugar_plum_fairy.ogg", 70)):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-t", str(length), "-i", str(MUSIC / name), "-vn",
                        str(music / name)], check=True)
    pic = tmp_path / "pic.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(BBB), "-t", "25", "-an", "-vf", "scale=160:90",
                    "-c:v", "libx264", "-preset", "ultrafast", str(pic)], check=True)
    path = tmp_path / "c.sqlite"
    with Catalog.create(path) as cat:
        cat.add_folder(music)
        index_catalog(cat, workers=1)
        tracks = cat.tracks()
        stored = {t.id: stored_bar_splices(cat, t.id) for t in tracks}
    assert all(s is not None for s in stored.values())
    for t in tracks:  # what the job stored = the table of the decoded audio at the stored downbeats (up to
        # float rounding: the job's BLAS runs on one thread, this process's on two)
        ev_db = _downbeats(path, t.id)
        fresh = BarSplices.of_audio(load_audio(t.path, sr=SR, mono=True), SR, float(t.duration_s), ev_db)
        np.testing.assert_allclose(fresh.to_array(), stored[t.id].to_array(), rtol=1e-6, atol=1e-6)
        assert np.array_equal(fresh.times_s, stored[t.id].times_s)

    calls = []
    real = audibility.cached_track_features
    monkeypatch.setattr(audibility, "cached_track_features", lambda *a, **k: calls.append(a) or real(*a, **k))
    with Catalog.open(path) as cat:
        with_table = recommend(pic, cat, k=2)
    assert calls == [] and any("cut with their audio in mind" in n for n in with_table.notes)
    assert not any("decoded audio" in n for n in with_table.notes)

    # an already-indexed catalog without the tables: recommend decodes; the next index run adds them
    con = sqlite3.connect(path)
    with con:
        con.execute("DELETE FROM embeddings WHERE model = ?", (bar_splices_key()[0],))
    con.close()
    from supervisor_app.ranking.fit_cache import fits_dir
    import shutil

    shutil.rmtree(fits_dir(), ignore_errors=True)
    with Catalog.open(path) as cat:
        decoded = recommend(pic, cat, k=2)
    assert len(calls) == len(decoded.results)
    assert any("re-planned with their decoded audio" in n for n in decoded.notes)
    for r, s in zip(with_table.results, decoded.results):
        assert r.track_id == s.track_id
        assert _diff(r.edit.to_dict(), s.edit.to_dict()) == []  # the same edit, its numbers up to rounding
        assert r.fit_score == pytest.approx(s.fit_score, abs=1e-6)
    monkeypatch.setattr("supervisor_app.indexing.job.decode_shared",
                        _only_rate(__import__("supervisor_app.indexing.job", fromlist=["x"]).decode_shared, SR))
    with Catalog.open(path) as cat:
        report = index_catalog(cat, workers=1)
        assert report.done == 2 and not report.errors
        for t in tracks:
            np.testing.assert_allclose(stored_bar_splices(cat, t.id).to_array(), stored[t.id].to_array(), rtol=1e-6,
                                       atol=1e-6)


def _downbeats(path, track_id):
    from supervisor_app.catalog import Catalog
    from supervisor_app.indexing.keys import beats_key

    with Catalog.open(path) as cat:
        return cat.get_analysis(track_id, *beats_key()).result["downbeats_s"]


def _only_rate(decode, rate):
    def wrapped(path, rates):
        assert list(rates) == [rate], f"decoded at {rates}"
        return decode(path, rates)
    return wrapped


def _diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _diff(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float):  # float rounding (one BLAS thread vs two)
        return [] if a == pytest.approx(b, rel=1e-6, abs=1e-9, nan_ok=True) else [(path, a, b)]
    return [] if a == b else [(path, a, b)]


def test_silence_has_features_and_no_warning():
    """A silent stretch (a test tone's tail, a gap between movements) gives librosa's tuning 0.0 without
    its warning, which would otherwise reach the user's terminal during catalog index."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = audibility.track_features(np.zeros(SR * 5, np.float32), SR)
    assert f.chroma.shape[1] == 12 and not f.chroma.any()
