"""Tracks' editing events kept between rankings in one process (services.track_events_cache): a second
ranking reads no track's analyses again and ranks the same; a track analysed again or edited is read
afresh, and nothing else is."""
from __future__ import annotations

import pytest

from conftest import copy_catalog
from fixture_paths import BBB
from supervisor_app.catalog import Catalog
from supervisor_app.indexing.keys import beats_key
from supervisor_app.services import recommend as rec_mod
from supervisor_app.services import track_events_cache


def _ranking(res):
    return [(r.track_id, round(r.start_offset_s, 3), round(float(r.fit_score), 6)) for r in res.results]


@pytest.fixture
def spy(monkeypatch):
    read: list[int] = []
    real = rec_mod._track_music_events

    def counting(catalog, track, segmentation):
        read.append(int(track.id))
        return real(catalog, track, segmentation)

    monkeypatch.setattr(rec_mod, "_track_music_events", counting)
    track_events_cache.clear()
    yield read
    track_events_cache.clear()


def test_a_second_ranking_reads_no_track_again_and_a_changed_track_is_read_afresh(indexed_catalog_template,
                                                                                  tmp_path, spy):
    path = copy_catalog(indexed_catalog_template, tmp_path)
    with Catalog.open(path) as cat:
        ids = sorted(t.id for t in cat.tracks())
        first = rec_mod.recommend(BBB, cat, k=2)
        assert sorted(spy) == ids
        spy.clear()
        again = rec_mod.recommend(BBB, cat, k=2)
        assert spy == [] and _ranking(again) == _ranking(first)
        # the first track's beats analysed again (its bars a little later): only it is read again, and its
        # edit follows the new bars
        a, b = ids
        rec = cat.get_analysis(a, *beats_key())
        moved = dict(rec.result, downbeats_s=[x + 0.25 for x in rec.result["downbeats_s"]],
                     beats_s=[x + 0.25 for x in rec.result.get("beats_s", [])])
        cat.put_analysis(a, *beats_key(), moved)
        changed = rec_mod.recommend(BBB, cat, k=2)
        assert spy == [a]
        assert _ranking(changed) != _ranking(first)
        spy.clear()
        cat.set_metadata(b, {"title": "A new title"})  # an edited row: read afresh too
        retitled = rec_mod.recommend(BBB, cat, k=2)
        assert spy == [b]
        assert {r.track_id: r.title for r in retitled.results}[b] == "A new title"
    # another catalog file with the same track ids shares nothing
    (tmp_path / "other").mkdir()
    other = copy_catalog(indexed_catalog_template, tmp_path / "other")
    spy.clear()
    with Catalog.open(other) as cat:
        rec_mod.recommend(BBB, cat, k=2)
    assert sorted(spy) == ids


def test_each_ranking_gets_its_own_copy():
    from supervisor_app.edit.planner import TrackEvents

    class _T:
        id, path, content_hash, duration_s, title, artist = 7, "/x.ogg", "h", 30.0, "", ""

    class _C:
        path = "/catalog.sqlite"

    ev = TrackEvents.from_downbeats("/x.ogg", 30.0, [0.5, 2.5, 4.5, 6.5], [0.0, 30.0])
    track_events_cache.clear()
    got1, _ = track_events_cache.track_events(_C, _T, "olda", {}, lambda: (ev, None))
    object.__setattr__(got1, "_envelope", "decoded in ranking 1")
    got2, _ = track_events_cache.track_events(_C, _T, "olda", {}, lambda: pytest.fail("read again"))
    assert got2 is not got1 and got2._envelope is None
    assert got2.downbeats_s.tolist() == ev.downbeats_s.tolist()
    track_events_cache.clear()
