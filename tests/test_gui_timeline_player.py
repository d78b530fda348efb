"""The timeline (structure lanes, candidate overlay, click/drag to seek, zoom) and the preview player."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, Qt  # noqa: E402

from supervisor_app.gui.player import (
    NullPlayer,
    QtMultimediaPlayer,
    VlcPlayer,
    _load_qtmultimedia,
    _load_vlc,
    create_player,
)
from supervisor_app.gui.timeline import LANE_MUSIC, Timeline, TimelineTheme  # noqa: E402

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parent.parent
BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
MUSIC = REPO / "resources" / "demo" / "music" / "hungarian_dance_5.ogg"


@pytest.fixture
def timeline(qtbot):
    tl = Timeline()
    qtbot.addWidget(tl)
    tl.resize(900, 240)
    tl.show()
    qtbot.waitExposed(tl)
    return tl


def _structure():
    cuts = np.array([4.0, 10.0, 17.5])
    curve = np.zeros(30 * 25)
    curve[(cuts * 25).astype(int)] = 0.95
    shots = list(zip([0.0, *cuts], [*cuts, 30.0]))
    return curve, cuts, shots


def test_timeline_draws_structure_and_candidate(timeline):
    curve, cuts, shots = _structure()
    timeline.set_analysis(30.0, curve, cuts, shots)
    s = timeline.summary()
    assert (s["duration_s"], s["curve_points"], s["cuts"], s["shots"], s["segments"]) == (30.0, 750, 3, 4, 4)
    excerpts = [dict(video_start_s=0.0, video_end_s=10.0, music_in_s=12.0, music_out_s=22.0),
                dict(video_start_s=10.0, video_end_s=30.0, music_in_s=40.0, music_out_s=60.0)]
    pairs = [dict(music_start_s=12.0, music_end_s=22.0, video_start_s=0.0, video_end_s=10.0, music_segment=1),
             dict(music_start_s=40.0, music_end_s=60.0, video_start_s=10.0, video_end_s=30.0, music_segment=3)]
    timeline.set_candidate(excerpts, downbeats_video_s=np.arange(0.5, 30, 2.0), pairs=pairs)
    s = timeline.summary()
    assert (s["excerpts"], s["splices"], s["downbeats"], s["pairs"]) == (2, 1, 15, 2)
    assert timeline.splices_s.tolist() == [10.0]
    # the excerpt rectangles sit in the music lane, under the picture span they play at
    rects = timeline.excerpt_rects.rects()
    assert [(r[0], r[1]) for r in rects] == [(0.0, 10.0), (10.0, 30.0)]
    assert all(LANE_MUSIC[1] < r[2] <= LANE_MUSIC[0] for r in rects)
    timeline.clear_candidate()
    assert timeline.summary()["excerpts"] == 0 and timeline.summary()["cuts"] == 3
    timeline.apply_theme(TimelineTheme.light())  # switching themes keeps the data
    assert timeline.summary()["cuts"] == 3


def test_click_and_drag_seek_and_the_playhead_follows_the_player(timeline, qtbot):
    curve, cuts, shots = _structure()
    timeline.set_analysis(30.0, curve, cuts, shots)
    qtbot.wait(50)
    asked = []
    timeline.seek_requested.connect(asked.append)
    timeline.set_playhead(7.5)  # from the player: no seek request
    assert asked == [] and timeline.playhead_s() == pytest.approx(7.5)
    vb = timeline.plot.getPlotItem().getViewBox()
    scene_pt = vb.mapViewToScene(QPointF(20.0, 0.5))
    view_pt = timeline.plot.mapFromScene(scene_pt)
    qtbot.mouseClick(timeline.plot.viewport(), Qt.LeftButton, pos=view_pt)
    assert len(asked) == 1 and asked[0] == pytest.approx(20.0, abs=0.2)
    timeline.playhead.setValue(12.0)  # what a drag of the playhead does
    assert asked[-1] == pytest.approx(12.0)


def test_zoom_and_pan_limits(timeline, qtbot):
    curve, cuts, shots = _structure()
    timeline.set_analysis(30.0, curve, cuts, shots)
    x0, x1 = timeline.view_range_s()
    assert (x0, x1) == pytest.approx((0.0, 30.0), abs=0.01)
    timeline.set_playhead(15.0)
    timeline.zoom(4.0)
    z0, z1 = timeline.view_range_s()
    assert z1 - z0 == pytest.approx(7.5, rel=0.05) and z0 < 15.0 < z1
    timeline.set_playhead(28.0)  # the view follows a playhead that leaves it
    f0, f1 = timeline.view_range_s()
    assert f0 <= 28.0 <= f1 and f1 - f0 == pytest.approx(7.5, rel=0.05)
    timeline.reset_zoom()
    assert timeline.view_range_s() == pytest.approx((0.0, 30.0), abs=0.01)
    timeline.set_sync_points([3.0, 12.0])
    assert timeline.summary()["sync_points"] == 2


# --- player ----------------------------------------------------------------------------------------
def _backends():
    out = []
    if _load_vlc() is not None:
        out.append("vlc")
    if _load_qtmultimedia() is not None:
        out.append("qt")
    return out or ["none-available"]


_INNER = "SUPERVISOR_APP_TEST_INNER_PLAYER"
QT_MULTIMEDIA_DEADLOCK = ("Qt Multimedia deadlocked in native code (its FFmpeg backend thread waits for the GIL "
                          "inside Qt's connection mutex while the main thread waits for that mutex in "
                          "QMediaPlayer.stop; a PySide6/Qt issue, about once in a few dozen runs under load). "
                          "VLC is the default preview player; Qt Multimedia is the View menu's alternative.")


def _run_isolated(test_id: str, timeout_s: float = 240.0) -> None:
    """Run one test in its own process: a native deadlock of Qt Multimedia is reported as the known issue it
    is (xfail) instead of hanging the whole suite; every real failure still fails, with its output."""
    env = dict(os.environ, **{_INNER: "1"})
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly", f"{__file__}::{test_id}"]
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        pytest.xfail(QT_MULTIMEDIA_DEADLOCK)
    if r.returncode != 0:
        pytest.fail(f"{test_id} failed in its own process:\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}")
    assert " passed" in r.stdout, r.stdout[-2000:]


@pytest.mark.parametrize("backend", _backends())
def test_player_plays_the_video_with_the_mockup_music_on_one_clock(qtbot, backend):
    if backend == "none-available":
        pytest.skip("neither libvlc nor Qt Multimedia is installed")
    if backend == "qt" and not os.environ.get(_INNER):
        return _run_isolated(f"test_player_plays_the_video_with_the_mockup_music_on_one_clock[{backend}]")
    player = create_player(prefer=backend)
    assert isinstance(player, VlcPlayer if backend == "vlc" else QtMultimediaPlayer) and player.available
    qtbot.addWidget(player.video_widget())
    positions, states, durations = [], [], []
    player.position_changed.connect(positions.append)
    player.state_changed.connect(states.append)
    player.duration_changed.connect(durations.append)
    try:
        player.load(BBB, MUSIC, video_has_audio=True)
        qtbot.waitUntil(lambda: "paused" in states, timeout=10000)
        qtbot.waitUntil(lambda: bool(durations) and abs(durations[-1] - 30.0) < 0.5, timeout=5000)
        player.seek(5.0)
        assert player.position_s() == pytest.approx(5.0, abs=0.05)
        player.play()
        qtbot.waitUntil(lambda: player.position_s() > 6.0, timeout=5000)
        assert states[-1] == "playing" and player.is_playing()
        if backend == "vlc":  # the music is the slave audio track (the last one), on the video's clock
            qtbot.waitUntil(lambda: player._slave_selected, timeout=3000)
            ids = [t for t, _ in player._mp.audio_get_track_description() if t != -1]
            assert len(ids) == 2 and player._mp.audio_get_track() == max(ids)
        else:  # two players: the music follows the picture, the video's own sound is muted
            assert player._video_audio.isMuted()
            drift = abs(player._music_player.position() - player._video_player.position()) / 1000.0
            assert drift < 0.1
        player.pause()
        t_paused = player.position_s()
        qtbot.wait(400)
        assert player.position_s() == pytest.approx(t_paused, abs=0.05) and states[-1] == "paused"
        player.set_music(None)  # back to the video's own sound, same position
        qtbot.wait(600)
        assert player.position_s() == pytest.approx(t_paused, abs=0.3)
        assert positions and max(positions) > 6.0
    finally:
        player.close()


def test_without_any_backend_the_null_player_says_why(qtbot, monkeypatch):
    monkeypatch.setenv("SUPERVISOR_NO_VLC", "1")
    monkeypatch.setenv("SUPERVISOR_NO_QTMULTIMEDIA", "1")
    player = create_player()
    assert isinstance(player, NullPlayer) and not player.available
    qtbot.addWidget(player.video_widget())
    errors = []
    player.error.connect(errors.append)
    player.load(BBB)
    player.play()
    assert errors and "VLC" in errors[0] and errors[0].endswith(".")
    player.seek(3.0)
    assert player.position_s() == 3.0 and not player.is_playing()


def test_qt_multimedia_close_stops_both_players_from_the_event_loop(qtbot):
    """close() stops the picture's and the music's players before it returns, the stops run from a local
    event loop (without the GIL: the FFmpeg backend's threads may need it while stop() waits for them)."""
    if not QtMultimediaPlayer.available:
        pytest.skip("Qt Multimedia is not installed")
    player = create_player(prefer="qt")
    if not isinstance(player, QtMultimediaPlayer):
        pytest.skip("Qt Multimedia is not usable here")
    qtbot.addWidget(player.video_widget())
    player.load(BBB, MUSIC)
    player.play()
    qtbot.waitUntil(lambda: player.position_s() > 0.3, timeout=10000)
    stopped = player._qm.QMediaPlayer.PlaybackState.StoppedState
    assert player._video_player.playbackState() != stopped
    player.close()
    assert player._video_player.playbackState() == stopped and player._music_player.playbackState() == stopped
    player.close()  # idempotent
