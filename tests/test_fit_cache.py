"""The fit of a track to a picture is computed once: same inputs → the stored fit, identical to a fresh one;
any changed input → a new fit; a damaged entry → a new fit."""
from __future__ import annotations

import numpy as np
import pytest

from supervisor_app.ranking import fit_cache
from supervisor_app.ranking import sync


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture()
def calls(monkeypatch):
    seen = []
    real = sync.best_start_offset

    def counted(*a, **k):
        seen.append(1)
        return real(*a, **k)

    monkeypatch.setattr(sync, "best_start_offset", counted)
    return seen


def _same(a: dict, b: dict) -> bool:
    """Equal dicts, NaN equal to NaN (a score's details may hold NaN for 'not applicable')."""
    import json

    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _inputs(seed=0, n_cuts=7):
    rng = np.random.default_rng(seed)
    cuts = sorted(rng.uniform(1.0, 29.0, size=n_cuts).round(2).tolist())
    curve = np.zeros(30 * 25, dtype=np.float32)
    curve[(np.asarray(cuts) * 25).astype(int)] = 0.9
    downbeats = np.arange(0.5, 70.0, 2.07)
    bounds = np.array([0.0, 16.6, 33.1, 49.7, 72.0])
    return (30.0, cuts, curve, 72.0, downbeats, bounds)


def test_second_fit_is_read_back_identical(home, calls):
    a = fit_cache.best_start_offset(*_inputs(), sync_points_s=())
    b = fit_cache.best_start_offset(*_inputs(), sync_points_s=())
    assert len(calls) == 1
    fresh = sync.best_start_offset(*_inputs(), sync_points_s=())
    for got in (a, b):
        assert got[0] == fresh[0]
        assert got[1].to_dict() == fresh[1].to_dict()
        assert _same(got[2].to_dict(), fresh[2].to_dict())
    assert len(list((home / "cache" / "fits").rglob("*.json"))) == 1


def test_any_changed_input_fits_again(home, calls):
    base = _inputs()
    fit_cache.best_start_offset(*base)
    fit_cache.best_start_offset(*_inputs(seed=1))  # other cuts
    moved = list(base)
    moved[4] = base[4] + 0.01  # the track's downbeats re-analysed
    fit_cache.best_start_offset(*moved)
    fit_cache.best_start_offset(*base, sync_points_s=(10.0,))  # an option
    fit_cache.best_start_offset(*base)  # the first again: stored
    assert len(calls) == 4


def test_damaged_entry_is_a_miss(home, calls):
    fit_cache.best_start_offset(*_inputs())
    (entry,) = (home / "cache" / "fits").rglob("*.json")
    entry.write_text("{not json")
    off, edit, sc = fit_cache.best_start_offset(*_inputs())
    assert len(calls) == 2 and edit.excerpts and np.isfinite(sc.score)
    assert fit_cache.best_start_offset(*_inputs())[1].to_dict() == edit.to_dict() and len(calls) == 2


def test_the_form_fit_is_read_back_identical_and_keyed_on_the_audio(home, monkeypatch):
    """recommend's fit (form planner + form score) is memoised too; the track's audio is part of the key."""
    from supervisor_app.edit.form import TrackForm
    from supervisor_app.ranking import form_score as fs

    seen = []
    real = fs.fit_to_picture
    monkeypatch.setattr(fs, "fit_to_picture", lambda *a, **k: (seen.append(1), real(*a, **k))[1])
    D, cuts, curve, M, downbeats, bounds = _inputs()
    form = TrackForm.build(M, downbeats, bounds)
    a = fit_cache.fit_to_picture(D, cuts, curve, form, sync_points_s=())
    b = fit_cache.fit_to_picture(D, cuts, curve, TrackForm.build(M, downbeats, bounds), sync_points_s=())
    assert len(seen) == 1
    for x in (a, b):
        assert x.edit.to_dict() == a.edit.to_dict() and _same(x.sync.to_dict(), a.sync.to_dict())
        assert _same(x.form.to_dict(), a.form.to_dict()) and x.fit == a.fit and x.reasons == a.reasons
    fresh = real(D, cuts, curve, TrackForm.build(M, downbeats, bounds), sync_points_s=())
    assert b.edit.to_dict() == fresh.edit.to_dict() and b.fit == fresh.fit
    fit_cache.fit_to_picture(D, cuts, curve, form, sync_points_s=(12.0,))  # another option: fitted again
    assert len(seen) == 2
    sr = 8000
    y = np.random.default_rng(0).normal(0, 0.1, int(M * sr)).astype(np.float32)
    with_audio = TrackForm.build(M, downbeats, bounds, audio=y, sr=sr)
    fit_cache.fit_to_picture(D, cuts, curve, with_audio, sync_points_s=())  # the audio changes the key
    assert len(seen) == 3
