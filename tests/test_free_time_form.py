"""Free-time edits and buttons get a form score (ranking.form_score.excerpt_form_score), so their fit is
``sync + form`` on the metric tracks' scale: a 46 s rubato track looped under a 3-minute picture no
longer ranks first.

Unit tests on hand-made excerpts with known answers; one slow test on real music (the demo catalog's
rubato ``hungarian_dance_5`` beside two long tracks) under a 3-minute picture.
"""
from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from supervisor_app.edit.edl import Edit, Excerpt
from supervisor_app.edit.free_time import FreeTimeEdit
from supervisor_app.ranking.form_score import (ENDING_PENALTY, FREE_SHORT_REPEAT_S, PENALTY, excerpt_form_score,
                                               fit_free_time)


def _edit(spans, D, M, cls=FreeTimeEdit):
    """Excerpts laid end to end (or from ``video_start``) from (video_start_s, music_in_s, music_out_s)."""
    ex = [Excerpt(v0, v0 + (m1 - m0), m0, m1) for v0, m0, m1 in spans]
    return cls(ex, D, M) if cls is Edit else cls(ex, D, M, mode="free-time")


def test_a_looped_short_track_pays_for_its_repeats():
    # a 46 s track under 180 s: played 3 times whole, then from 4 s to its end
    D, M = 180.0, 46.0
    e = _edit([(0, 0, 46), (46, 0, 46), (92, 0, 46), (138, 4, 46)], D, M)
    fs = excerpt_form_score(e, M, [0.0, 20.0, 46.0])
    st = fs.stats
    assert st["n_repeats"] == 3 and st["repeated_s"] == pytest.approx(46 + 46 + 42)
    assert st["max_run"] == 3 and st["ending"] == "track ending" and st["covered_share"] == pytest.approx(1.0)
    expected = (3 * PENALTY["repeat"] + PENALTY["repeated_share"] * 134 / 180  # repeats
                + PENALTY["run"]  # the whole track three times in a row
                + 3 * PENALTY["splice"])
    assert fs.score == pytest.approx(-expected)
    assert fs.parts["short_repeat"] == 0.0 and fs.parts["late_start"] == 0.0 and fs.parts["uncovered"] == 0.0
    assert any("needs 3 repeat(s)" in r for r in fs.reasons)


def test_a_track_that_carries_the_picture_pays_almost_nothing():
    D, M = 180.0, 200.0
    whole = _edit([(0, 0, 180)], D, M)  # stops 1 s before a section boundary at 181 s: a section end
    fs = excerpt_form_score(whole, M, [0.0, 60.0, 120.0, 181.0, 200.0])
    assert fs.stats["n_repeats"] == 0 and fs.stats["ending"] == "section end"
    assert fs.score == pytest.approx(-ENDING_PENALTY["section end"])
    fade = excerpt_form_score(whole, M, [0.0, 60.0, 120.0, 200.0])  # no boundary near 180 s: a fade
    assert fade.stats["ending"] == "fade" and fade.score == pytest.approx(-ENDING_PENALTY["fade"])
    looped = excerpt_form_score(_edit([(0, 0, 46), (46, 0, 46), (92, 0, 46), (138, 4, 46)], D, 46.0), 46.0)
    assert looped.score < fade.score - 1.0  # the loop costs more than the whole spread of the sync score


def test_short_repeats_late_starts_and_buttons():
    D, M = 60.0, 100.0
    # 30 s from 20 s, then its last 8 s again (not a whole section), then on from 50 s for 22 s
    e = _edit([(0, 20, 50), (30, 42, 50), (38, 50, 72)], D, M)
    fs = excerpt_form_score(e, M, [0.0, 50.0, 100.0])
    assert fs.stats["n_repeats"] == 1 and fs.stats["shortest_repeat_s"] == pytest.approx(8.0)
    assert 8.0 < FREE_SHORT_REPEAT_S
    assert fs.parts["short_repeat"] == PENALTY["short_repeat"] and fs.parts["late_start"] == PENALTY["late_start"]
    # a whole section replayed is no short repeat
    whole = excerpt_form_score(_edit([(0, 0, 50), (50, 40, 50)], D, M), M, [0.0, 40.0, 50.0, 100.0])
    assert whole.stats["n_repeats"] == 1 and whole.parts["short_repeat"] == 0.0
    # a 5 s button at the end of a 180 s picture: 175 s without music
    b = FreeTimeEdit([Excerpt(175.0, 180.0, 0.0, 5.0)], 180.0, 5.0, mode="button")
    bs = excerpt_form_score(b, 5.0)
    assert bs.stats["covered_share"] == pytest.approx(5 / 180)
    assert bs.parts["uncovered"] == pytest.approx(PENALTY["uncovered_share"] * 175 / 180)
    assert bs.stats["ending"] == "track ending" and bs.stats["n_repeats"] == 0
    assert bs.reasons[0].startswith("plays in the last 5 s only")


def test_fit_is_sync_plus_form():
    e = _edit([(0, 0, 46), (46, 0, 46), (92, 0, 46), (138, 4, 46)], 180.0, 46.0)
    fit = fit_free_time(e, SimpleNamespace(score=0.35), 46.0)
    assert fit.fit == pytest.approx(0.35 + fit.form.score) and fit.start_offset_s == 0.0
    nan = fit_free_time(e, SimpleNamespace(score=float("nan")), 46.0)  # no sync score: the form alone
    assert nan.fit == pytest.approx(nan.form.score)


@pytest.mark.slow
def test_a_looped_rubato_track_ranks_below_tracks_that_carry_a_3_minute_picture(tmp_path):
    """The review's case: hungarian_dance_5 (46 s, rubato: free time) ranked #1 under a 3-minute picture
    with no form score while looping in 7 splices, above lets_go_fishin (2:13, one repeat) with a similar
    sync score; now its fit pays for the loops."""
    from supervisor_app.catalog import Catalog
    from supervisor_app.indexing.pipeline import index_catalog
    from supervisor_app.services.recommend import recommend

    from fixture_paths import BBB, MUSIC

    music = tmp_path / "music"
    music.mkdir()
    for name in ("hungarian_dance_5.ogg", "lets_go_fishin.ogg"):
        (music / name).symlink_to(MUSIC / name)
    video = tmp_path / "picture_180s.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "6", "-i", str(BBB), "-t", "180", "-an",
                    "-vf", "scale=160:90,fps=10", "-c:v", "libx264", "-preset", "ultrafast", str(video)], check=True)
    with Catalog.create(tmp_path / "c.sqlite") as cat:
        cat.add_folder(music)
        index_catalog(cat, workers=1)
        res = recommend(video, cat, k=10)
    by = {r.path.split("/")[-1]: r for r in res.results}
    hd = by["hungarian_dance_5.ogg"]
    assert hd.edit_mode == "free-time"  # the scenario: no trustworthy bar grid
    assert hd.form and hd.fit_score == pytest.approx(hd.sync_score + hd.form["score"])
    assert hd.form["stats"]["n_repeats"] >= 3 and any("repeat" in r for r in hd.reasons)
    for name in ("lets_go_fishin.ogg",):  # 2:13: one repeat at most
        r = by[name]
        assert r.edit_mode == "metric" and r.form["stats"]["n_repeats"] <= 1
        assert r.rank < hd.rank, (r.title, r.fit_score, hd.fit_score)
        # not won on the sync score: the form decides (the sync scores are within the usual spread)
        assert abs(r.sync_score - hd.sync_score) < 1.0 and r.fit_score - hd.fit_score > 1.0
    assert not any("has no form score" in n for n in res.notes)
    # --no-repeats now leaves out a looping free-time track too: under 3 minutes both tracks loop
    from supervisor_app.infra.errors import EmptyCatalogError

    with Catalog.open(tmp_path / "c.sqlite") as cat, pytest.raises(EmptyCatalogError):
        recommend(video, cat, k=10, no_repeats=True)
