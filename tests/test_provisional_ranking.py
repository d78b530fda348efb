"""A cold picture's recommendations in two passes (issue 21): the picture decoded once, a provisional
ranking on its quick cuts within seconds, then TransNetV2 on the same frames and the final ranking.

Pictures: the Big Buck Bunny fixture (30 s), and a 2-minute loop of it (the length of a real spot's
long cut) made with ffmpeg; the catalog: two indexed 40 s excerpts of the demo music (shorter than
either picture).
"""
from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import copy_catalog
from fixture_paths import BBB
from supervisor_app.analysis import shots
from supervisor_app.catalog import Catalog
from supervisor_app.infra.jobs import Cancelled
from supervisor_app.services.recommend import recommend
from supervisor_app.services.video_analysis import PROVISIONAL_NOTE, analyze_video, provisional_analysis


def _fresh_copy(src: Path, out: Path, tag: str) -> Path:
    """The same frames under new bytes (a new content hash: a picture the app has never seen)."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c", "copy", "-metadata", f"comment={tag}",
                    str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def long_picture(tmp_path_factory) -> Path:
    """A 2-minute picture: the fixture looped four times, H.264 at 320x180 (what a rough cut export is)."""
    out = tmp_path_factory.mktemp("long") / "bbb_120.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "3", "-i", str(BBB), "-t", "120",
                    "-vf", "scale=320:180", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(out)],
                   check=True)
    return out


@pytest.fixture(scope="module")
def catalog_path(indexed_catalog_template, tmp_path_factory) -> Path:
    return copy_catalog(indexed_catalog_template, tmp_path_factory.mktemp("prov-cat"))


def test_decoded_picture_gives_the_streamed_shots_exactly(tmp_path):
    pic = shots.decode_picture(BBB)
    assert pic is not None and pic.frames.shape[1:] == (27, 48, 3) and len(pic.frames) == len(pic.times_s)
    decoded = shots.detect_shots_in_decoded(pic)
    streamed = shots.detect_shots(BBB)
    assert decoded.cuts_s == streamed.cuts_s and len(decoded.cuts_s) >= 4
    np.testing.assert_array_equal(decoded.cut_probs, streamed.cut_probs)
    assert decoded.duration_s == pytest.approx(streamed.duration_s)
    quick = shots.quick_shots(pic)
    assert quick.analyzer_version.startswith("quick-cuts") and quick.duration_s == decoded.duration_s
    assert quick.shots[0][0] == 0.0 and quick.shots[-1][1] == pytest.approx(decoded.duration_s)


def test_decode_picture_declines_long_pictures_and_stops_when_cancelled():
    assert shots.decode_picture(BBB, max_frames=100) is None  # 30 s at 24 fps: streamed instead
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        shots.decode_picture(BBB, should_cancel=cancel)
    assert not any(t.name == "shots-model-load" and t.is_alive() for t in threading.enumerate())


def _run(video: Path, catalog: Path, **options):
    got = []
    with Catalog.open(catalog) as cat:
        res = recommend(video, cat, k=2, on_result=got.append, **options)
    return res, got


def _ranking(res):
    return [(r.track_id, round(r.start_offset_s, 3), round(float(r.fit_score), 6)) for r in res.results]


@pytest.mark.slow
@pytest.mark.parametrize("source", ["fixture", "long"])
def test_cold_picture_streams_provisional_results_then_the_final_ranking(source, long_picture, catalog_path, tmp_path):
    src = BBB if source == "fixture" else long_picture
    picture = _fresh_copy(src, tmp_path / f"cold{src.suffix}", "provisional-test")
    res, got = _run(picture, catalog_path, provisional=True)
    flags = [r.provisional for r in got]
    n_prov = flags.index(False)
    assert 1 <= n_prov <= 2 and all(flags[:n_prov]) and not any(flags[n_prov:]), flags  # provisional ones first
    assert not any(r.provisional for r in res.results) and PROVISIONAL_NOTE not in res.notes
    # the final ranking is the one a plain run gives on the same picture (its shots now cached)
    again, got_again = _run(picture, catalog_path, provisional=True)
    assert not any(r.provisional for r in got_again)  # cached shots: nothing provisional to show
    assert _ranking(again) == _ranking(res)
    va = analyze_video(picture)
    assert res.video["cuts_s"] == [float(c) for c in va.cuts_s]
    assert res.video["duration_s"] == pytest.approx(va.duration_s)


@pytest.mark.slow
def test_the_cli_prints_the_provisional_top_then_the_final_table(tmp_path, catalog_path, capsys):
    from supervisor_app.cli.main import main

    picture = _fresh_copy(BBB, tmp_path / "cold_cli.webm", "provisional-cli")
    assert main(["recommend", str(picture), "--catalog", str(catalog_path), "-k", "2"]) == 0
    out, err = capsys.readouterr()
    assert "provisional top 2 after" in err and "  1. " in err and "first final result after" in err
    assert "provisional" not in out and " 1  " in out  # the printed table is the final one
    again = _fresh_copy(BBB, tmp_path / "cold_cli_q.webm", "provisional-cli-quiet")
    assert main(["recommend", str(again), "--catalog", str(catalog_path), "-k", "2", "-q"]) == 0
    out, err = capsys.readouterr()
    assert "provisional" not in err and " 1  " in out  # -q: nobody would see it, so no provisional pass


def test_a_provisional_analysis_says_so_and_ranks_provisionally(long_picture, catalog_path):
    pic = shots.decode_picture(long_picture, load_model=False)
    va = provisional_analysis(pic)
    assert va.provisional and va.notes == [PROVISIONAL_NOTE] and va.duration_s == pytest.approx(120.0, abs=0.1)
    assert va.boundaries_s[0] == 0.0 and va.boundaries_s[-1] == pytest.approx(va.duration_s)
    res, got = _run(long_picture, catalog_path, picture=va)
    assert got and all(r.provisional for r in got) and all(r.provisional for r in res.results)
    assert PROVISIONAL_NOTE in res.notes


def _window(qtbot, tmp_path, catalog_path):
    """The app on the real core with ``catalog_path`` open (its settings in ``tmp_path``)."""
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from supervisor_app.gui.app import create_window
    from supervisor_app.gui.backend import CoreBackend

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    win = create_window(backend=CoreBackend(tmp_path / "work"), settings=settings, catalog=str(catalog_path),
                        theme="light")
    qtbot.addWidget(win)
    return win


@pytest.mark.slow
@pytest.mark.gui
def test_the_app_shows_a_provisional_list_then_replaces_it(qtbot, tmp_path, long_picture, catalog_path):
    picture = _fresh_copy(long_picture, tmp_path / "cold_gui.mp4", "provisional-gui")
    win = _window(qtbot, tmp_path, catalog_path)
    win.show()
    panel = win.recommendations
    seen, sizes = [], []
    panel.table.source.modelReset.connect(lambda: seen.append((panel.is_provisional(), win.video is None)))
    for sig in (panel.table.source.modelReset, panel.table.source.rowsInserted, panel.table.source.rowsRemoved):
        sig.connect(lambda *_: sizes.append((panel.is_provisional(), len(panel.candidates()))))
    try:
        win.open_video(picture)
        qtbot.waitUntil(lambda: panel.is_provisional() and bool(panel.candidates()), timeout=120_000)
        assert win.video is None  # before the shot detection is done
        assert all(c.provisional for c in panel.candidates()) and not panel.provisional_label.isHidden()
        assert "Provisional" in panel.provisional_label.text()
        assert win.session.candidate is None  # nothing selected by itself: no edit cut while the shots run
        # the timeline shows the quick cuts at once, drawn provisional (the detection has reached nothing yet or a part)
        tl = win.timeline.summary()
        assert tl["provisional_from_s"] is not None and tl["provisional_from_s"] < 120.0 and tl["cuts"] > 0
        assert tl["provisional_cuts"] > 0 and tl["shots"] == tl["cuts"] + 1
        qtbot.waitUntil(lambda: win.video is not None and not panel.is_provisional() and len(panel.candidates()) == 2
                        and not win.recommend_slot.is_busy(), timeout=240_000)
        assert not any(c.provisional for c in panel.candidates()) and panel.provisional_label.isHidden()
        tl = win.timeline.summary()
        assert tl["provisional_from_s"] is None and tl["provisional_cuts"] == 0 and tl["cuts"] == len(win.video.cuts_s)
        assert [c.rank for c in panel.candidates()] == [1, 2]
        assert win.video.duration_s == pytest.approx(120.0, abs=0.1) and not win.video.provisional
        assert (True, True) in seen  # the provisional list was shown while the picture was analysed
        # the final ranking's streamed results are not shown over the provisional list: it is replaced whole
        first = next(i for i, (prov, n) in enumerate(sizes) if prov and n == 2)
        assert all(n == 2 for _prov, n in sizes[first:]), sizes
    finally:
        win.close()


@pytest.mark.slow
@pytest.mark.gui
def test_the_app_ranks_once_when_the_provisional_list_is_off(qtbot, tmp_path, catalog_path):
    picture = _fresh_copy(BBB, tmp_path / "cold_off.webm", "provisional-off")
    win = _window(qtbot, tmp_path, catalog_path)
    panel = win.recommendations
    panel.provisional_check.setChecked(False)
    assert panel.settings().provisional is False
    provisional_seen = []
    panel.table.source.modelReset.connect(lambda: provisional_seen.append(panel.is_provisional()))
    try:
        win.open_video(picture)
        qtbot.waitUntil(lambda: win.video is not None and len(panel.candidates()) == 2
                        and not win.recommend_slot.is_busy(), timeout=240_000)
        assert not any(provisional_seen) and not any(c.provisional for c in panel.candidates())
    finally:
        win.close()


def test_the_detection_so_far_is_completed_by_the_quick_cuts_beyond_it():
    from supervisor_app.services.video_analysis import with_provisional_rest

    quick = np.zeros(250, np.float32)  # 10 s of quick cuts at 2, 5 and 8 s
    quick[[50, 125, 200]] = 0.9
    part = np.zeros(150, np.float32)  # the network has reached 6 s, with cuts at 2.04 and 4 s
    part[[51, 100]] = 0.8
    curve, cuts, shots, done_s = with_provisional_rest(part, [2.04, 4.0], quick, [2.0, 5.0, 8.0], 10.0)
    assert done_s == 6.0 and curve.size == 250
    assert curve[:150].tolist() == part.tolist() and curve[150:].tolist() == quick[150:].tolist()
    assert cuts.tolist() == [2.04, 4.0, 8.0]  # the network's before 6 s, the quick ones after
    assert shots == [(0.0, 2.04), (2.04, 4.0), (4.0, 8.0), (8.0, 10.0)]
    # the whole picture detected: nothing provisional is left
    full = np.zeros(250, np.float32)
    curve, cuts, shots, done_s = with_provisional_rest(full, [3.0], quick, [2.0, 5.0, 8.0], 10.0)
    assert done_s == 10.0 and cuts.tolist() == [3.0] and shots == [(0.0, 3.0), (3.0, 10.0)]
