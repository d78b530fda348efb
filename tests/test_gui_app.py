"""The main window driven like a user would (pytest-qt, offscreen), against a fast fake backend.

The fake uses the real core for media, the catalog, edits, rendering and exports, and replaces only
the slow analysers (shot detection, ranking, similarity) by synthetic, controllable ones, so that
the window's behaviour can be checked in seconds: results arrive, previews play, jobs cancel, errors
read as one sentence, settings persist. ``test_gui_integration.py`` runs the same flow on the real core.
"""
from __future__ import annotations

import argparse
import csv
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QTimer, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

from supervisor_app.catalog import Catalog  # noqa: E402
from supervisor_app.infra.errors import EmptyCatalogError, UsageError  # noqa: E402
from supervisor_app.infra.jobs import Cancelled  # noqa: E402
from supervisor_app.cli import app as gui_cli  # noqa: E402
from supervisor_app.gui.app import create_window  # noqa: E402
from supervisor_app.gui.backend import Candidate, CoreBackend, VideoAnalysis  # noqa: E402

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parent.parent
BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
MUSIC = REPO / "resources" / "demo" / "music"
SMALL_TRACKS = ("hungarian_dance_5.ogg", "solo_trumpet_90bpm.ogg", "vibe_ace.ogg")


class FakeBackend(CoreBackend):
    """Real core for media, catalog, edits, rendering, exports; synthetic shots, ranking and similarity."""

    def __init__(self, work_dir, slow_recommend: bool = False, fail_recommend: Exception | None = None):
        super().__init__(work_dir)
        self.slow_recommend = slow_recommend
        self.fail_recommend = fail_recommend
        self.calls: list[tuple[str, dict]] = []

    def analyze_video(self, path, progress=lambda f, s="": None, should_cancel=lambda: False, segmentation="shots",
                      partial=None, provisional=None):
        info = self.probe(path)  # the real media layer: bad files fail with its sentences
        d = float(info.duration_s)
        cuts = np.arange(6.0, d - 1.0, 6.0)
        curve = np.full(int(np.ceil(d * 25)), 0.02, np.float32)
        curve[np.round(cuts * 25).astype(int)] = 0.97
        for i in range(4):
            if should_cancel():
                raise Cancelled("The video analysis")
            progress((i + 1) / 4, "detecting shots")
            if partial is not None and i < 3:  # the part analysed so far, as the real backend sends it
                upto = d * (i + 1) / 4
                done = cuts[cuts < upto]
                b = [0.0, *done.tolist(), upto]
                partial(VideoAnalysis(path=str(path), duration_s=d, fps=float(info.fps or 25), width=0, height=0,
                                      has_audio=bool(info.has_audio), cut_probs_25hz=curve[:int(upto * 25)],
                                      cuts_s=done, shots_s=list(zip(b[:-1], b[1:])), segments_s=[],
                                      segmentation="partial"))
            time.sleep(0.02)
        b = [0.0, *cuts.tolist(), d]
        shots = list(zip(b[:-1], b[1:]))
        segments = list(shots) if segmentation == "shots" else [(0.0, d / 2), (d / 2, d)]  # "sections" of the soundtrack
        self.calls.append(("analyze_video", {"segmentation": segmentation}))
        return VideoAnalysis(path=str(path), duration_s=d, fps=float(info.fps or 25), width=int(info.width or 0),
                             height=int(info.height or 0), has_audio=bool(info.has_audio), cut_probs_25hz=curve,
                             cuts_s=cuts, shots_s=shots, segments_s=segments, segmentation=segmentation)

    def recommend(self, video_path, catalog_path, settings, progress=lambda f, s="": None, should_cancel=lambda: False,
                  partial=None, sync_points_s=()):
        self.calls.append(("recommend", {"settings": settings}))
        if self.fail_recommend is not None:
            raise self.fail_recommend
        if self.slow_recommend:  # a long ranking that checks for Cancel every 10 ms
            for _ in range(6000):
                if should_cancel():
                    raise Cancelled("The recommendation")
                progress(None, "ranking a very large catalog")
                time.sleep(0.01)
        with Catalog.open(catalog_path) as cat:
            tracks = cat.tracks()
        rows = []
        for i, t in enumerate(tracks):
            c = Candidate(track_id=t.id, path=t.path, title=t.title or Path(t.path).stem, artist=t.artist or "",
                          duration_s=t.duration_s, bpm=100.0 + i, score=None, sync_score=float(len(tracks) - i),
                          reasons=[f"synthetic fit {len(tracks) - i}"], raw=t)
            rows.append(c)
            if partial is not None:
                partial([c])
            progress((i + 1) / len(tracks), f"fitting {c.title}")
        for rank, c in enumerate(rows, start=1):
            c.rank = rank
        return rows[: settings.k]

    def similar(self, seed, catalog_path, k=10, filters=None, progress=lambda f, s="": None, should_cancel=lambda: False,
                model=None):
        self.calls.append(("similar", {"seed": seed.key(), "k": k}))
        with Catalog.open(catalog_path) as cat:
            others = [t for t in cat.tracks() if t.id != seed.track_id]
        return [Candidate(track_id=t.id, path=t.path, title=t.title or Path(t.path).stem, artist=t.artist or "",
                          duration_s=t.duration_s, score=1.0 / (1 + i), rank=i + 1, source="similar", raw=t)
                for i, t in enumerate(others[:k])]

    def index_catalog(self, catalog_path, progress=lambda f, s="": None, should_cancel=lambda: False, model=None):
        with Catalog.open(catalog_path) as cat:
            n = cat.count()
        progress(1.0, "done")
        return f"indexed {n} track(s)"

    def prepare_preview(self, candidate, video, catalog_path, sync_points_s=(), start_offset_s=None, render=True,
                        progress=lambda f, s="": None, should_cancel=lambda: False):
        """A real edit (bars of 2 s) and a real rendered WAV, from synthetic downbeats."""
        from supervisor_app.edit.edl import build_edit
        from supervisor_app.edit.render import render_wav
        from supervisor_app.gui.backend import Preview, _edit_pairs, _excerpt_dict

        self.calls.append(("preview", {"key": candidate.key(), "sync": tuple(sync_points_s), "offset": start_offset_s}))
        dur = float(candidate.duration_s or self.probe(candidate.path).duration_s)
        downbeats = np.arange(0.25, dur - 0.5, 2.0)
        bounds = [0.0, dur / 2, dur]
        edit = build_edit(video.duration_s, list(video.cuts_s), dur, downbeats, bounds,
                          start_offset_s=start_offset_s if start_offset_s is not None else 0.25,
                          sync_points_s=tuple(sync_points_s))
        wav = None
        if render:
            self._n_renders += 1
            wav = str(render_wav(edit, candidate.path, Path(self.work_dir) / f"fake-preview-{self._n_renders}.wav"))
        from supervisor_app.gui.backend import wav_envelope

        return Preview(candidate=candidate, edit=edit, excerpts=[_excerpt_dict(e) for e in edit.excerpts],
                       downbeats_video_s=edit.music_to_video(downbeats), pairs=_edit_pairs(edit), music_wav=wav,
                       bar_s=2.0, start_offset_s=start_offset_s if start_offset_s is not None else 0.25,
                       sync_points_s=tuple(sync_points_s), sync_score=1.0,
                       envelope=wav_envelope(wav) if wav else None)


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture
def music_folder(tmp_path) -> Path:
    d = tmp_path / "music"
    d.mkdir()
    for name in SMALL_TRACKS:
        shutil.copy(MUSIC / name, d / name)
    return d


@pytest.fixture
def catalog_path(tmp_path, music_folder) -> Path:
    path = tmp_path / "catalog.sqlite"
    with Catalog.create(path) as cat:
        report = cat.add_folder(music_folder)
    assert report.added == len(SMALL_TRACKS)
    return path


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


def _make_window(qtbot, backend, settings, catalog=None, video=None):
    win = create_window(backend=backend, settings=settings, catalog=str(catalog) if catalog else None,
                        video=str(video) if video else None, theme="dark")
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    return win


@pytest.fixture
def window(qtbot, tmp_path, settings, catalog_path):
    backend = FakeBackend(tmp_path / "work")
    win = _make_window(qtbot, backend, settings, catalog=catalog_path)
    yield win
    win.close()


def _open_and_wait_for_preview(qtbot, win):
    with qtbot.waitSignal(win.recommendations_ready, timeout=20000):
        win.open_video(BBB)
    qtbot.waitUntil(lambda: win.preview is not None, timeout=20000)


# --- the user's flow ------------------------------------------------------------------------------
def test_open_video_recommend_preview_play_playlist_export(window, qtbot, tmp_path):
    win = window
    with qtbot.waitSignal(win.video_ready, timeout=20000):
        win.open_video(BBB)
    s = win.timeline.summary()
    assert s["duration_s"] == pytest.approx(30.0, abs=0.1) and s["cuts"] == 4 and s["curve_points"] > 700
    qtbot.waitUntil(lambda: len(win.recommendations.candidates()) == 3, timeout=20000)
    assert [c.rank for c in win.recommendations.candidates()] == [1, 2, 3]
    # the first candidate is selected and its mockup prepared: the timeline shows its edit
    qtbot.waitUntil(lambda: win.preview is not None, timeout=20000)
    first = win.recommendations.candidates()[0]
    assert win.preview.candidate.key() == first.key()
    assert win.timeline.summary()["excerpts"] >= 1 and win.timeline.summary()["downbeats"] > 5
    assert win.player.music_path() == win.preview.music_wav and Path(win.preview.music_wav).exists()
    # Enter previews it: the video plays with the mockup music and the playhead moves
    start = win.timeline.playhead_s()
    win.preview_current()
    qtbot.waitUntil(lambda: win.player.is_playing(), timeout=10000)
    qtbot.waitUntil(lambda: win.timeline.playhead_s() > start + 0.5, timeout=10000)
    assert "♪" in win.now_playing.text()
    win.pause()
    # add to the playlist: saved in the catalog with its scores and edit
    win.recommendations.playlist_button.click()
    assert win.playlist_panel.entry_count() == 1
    pid = win.playlist_panel.current_playlist_id()
    with Catalog.open(win.catalog.path) as cat:
        (entry,) = cat.playlist_entries(pid)
    assert entry.track_id == first.track_id
    assert entry.payload["edit"]["excerpts"] and entry.payload["sync_score"] == 1.0
    # playlist exports exist and re-open
    out = tmp_path / "exports"
    m3u = win.export_playlist(pid, "m3u8", out / "shortlist.m3u8")
    lines = m3u.read_text().splitlines()
    assert lines[0] == "#EXTM3U" and Path(lines[2]).resolve() == Path(first.path).resolve()
    rows = list(csv.DictReader(win.export_playlist(pid, "csv", out / "shortlist.csv").open(encoding="utf-8-sig")))
    assert len(rows) == 1 and rows[0]["Catalog id"] == str(first.track_id) and int(rows[0]["Music edits"]) >= 0
    assert rows[0]["Picture in (TC)"] == "00:00:00:00" and rows[0]["Music out (TC)"]  # the mockup's in/out points
    from supervisor_app.edit.playlist_export import read_json

    (back,) = read_json(win.export_playlist(pid, "json", out / "shortlist.json"))
    assert back.track_id == first.track_id and back.edit.excerpts == win.preview.edit.excerpts
    # Ctrl+E: the mockup export dialog writes every chosen format, each re-opens
    dlg = win.show_export_dialog()
    assert dlg is not None
    dlg.dir_edit.setText(str(out))
    dlg.set_formats({"wav", "otio", "fcpxml", "edl"})
    with qtbot.waitSignal(dlg.finished_files, timeout=60000) as sig:
        dlg.start()
    files = [Path(p) for p in sig.args[0]]
    assert sorted(p.suffix for p in files) == [".edl", ".otio", ".wav", ".xml"]
    import soundfile as sf

    wav = next(p for p in files if p.suffix == ".wav")
    assert sf.info(str(wav)).duration == pytest.approx(30.0, abs=0.05)
    for p in files:
        if p.suffix in (".otio", ".xml", ".edl"):
            tl = win.backend.read_timeline(p, fps=win.video.fps)
            # V1, A1 the picture's own sound (BBB has one), A2 the music
            assert len(tl.tracks) == 3 and len(tl.tracks[2]) == len(win.preview.excerpts)
    dlg.close()


@pytest.mark.slow
def test_keyboard_space_jkl_candidates_sync_points_nudge_and_export(window, qtbot):
    win = window
    _open_and_wait_for_preview(qtbot, win)
    qtbot.keyClick(win, Qt.Key_Space)
    qtbot.waitUntil(lambda: win.player.is_playing(), timeout=10000)
    qtbot.keyClick(win, Qt.Key_K)
    qtbot.waitUntil(lambda: not win.player.is_playing(), timeout=5000)
    qtbot.keyClick(win, Qt.Key_L)
    qtbot.keyClick(win, Qt.Key_L)  # twice: double speed
    qtbot.waitUntil(lambda: win.player.is_playing(), timeout=5000)
    assert win.player.rate() == 2.0
    qtbot.keyClick(win, Qt.Key_K)
    win.seek(10.0)
    qtbot.keyClick(win, Qt.Key_J)  # backwards
    qtbot.waitUntil(lambda: win.player.position_s() < 9.7, timeout=5000)
    qtbot.keyClick(win, Qt.Key_K)
    # Down / Up move between candidates (each selection prepares its own mockup)
    first = win.recommendations.current()
    qtbot.keyClick(win, Qt.Key_Down)
    second = win.recommendations.current()
    assert second is not None and second.key() != first.key()
    qtbot.waitUntil(lambda: win.preview is not None and win.preview.candidate.key() == second.key(), timeout=20000)
    qtbot.keyClick(win, Qt.Key_Up)
    assert win.recommendations.current().key() == first.key()
    qtbot.waitUntil(lambda: win.preview is not None and win.preview.candidate.key() == first.key(), timeout=20000)
    # M marks a sync point at the playhead; the mockup is rebuilt to honour it
    win.seek(12.0)
    qtbot.keyClick(win, Qt.Key_M)
    assert win.sync_points == [12.0] and win.timeline.summary()["sync_points"] == 1
    qtbot.waitUntil(lambda: win.preview is not None and win.preview.sync_points_s == (12.0,), timeout=20000)
    assert 12.0 in win.preview.edit.sync_points_s
    # ] moves the music's start one bar later, heard at once (new music file in the player)
    old_wav, old_offset = win.preview.music_wav, win.preview.start_offset_s
    qtbot.keyClick(win, Qt.Key_BracketRight)
    qtbot.waitUntil(lambda: win.preview is not None and win.preview.music_wav != old_wav, timeout=20000)
    assert win.preview.start_offset_s == pytest.approx(old_offset + 2.0)
    assert win.player.music_path() == win.preview.music_wav
    # in the brief field, letters type and Enter runs the search with the brief (not a preview)
    brief = win.recommendations.brief_edit
    brief.setFocus()
    n_calls = sum(1 for name, _ in win.backend.calls if name == "recommend")
    qtbot.keyClicks(brief, "jazz m")
    assert brief.text() == "jazz m" and win.sync_points == [12.0]  # "m" typed, no sync point added
    qtbot.keyClick(brief, Qt.Key_Return)
    qtbot.waitUntil(lambda: sum(1 for name, _ in win.backend.calls if name == "recommend") == n_calls + 1, timeout=5000)
    last_recommend = [kw for name, kw in win.backend.calls if name == "recommend"][-1]
    assert last_recommend["settings"].brief == "jazz m"
    # Up/Down in a spin box change its value, not the candidate
    k = win.recommendations.k_spin
    win.recommendations.settings_toggle.setChecked(True)
    k.setFocus()
    before = k.value()
    qtbot.keyClick(k, Qt.Key_Up)
    assert k.value() == before + 1
    win.recommendations.table.setFocus()
    qtbot.waitUntil(lambda: not win.recommend_slot.is_busy(), timeout=10000)
    # Ctrl+E opens the export dialog
    qtbot.keyClick(win, Qt.Key_E, Qt.ControlModifier)
    assert win._export_dialog is not None and win._export_dialog.isVisible()
    win._export_dialog.close()


def test_cancel_stops_a_long_recommendation_within_a_second_and_the_window_stays_live(qtbot, tmp_path, settings,
                                                                                      catalog_path):
    backend = FakeBackend(tmp_path / "work", slow_recommend=True)
    win = _make_window(qtbot, backend, settings, catalog=catalog_path)
    try:
        with qtbot.waitSignal(win.video_ready, timeout=20000):
            win.open_video(BBB)
        qtbot.waitUntil(lambda: win.recommend_slot.is_busy(), timeout=5000)
        job = win.recommend_slot.job
        ticks = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start(20)
        qtbot.wait(1000)  # the ranking runs; the GUI keeps painting and ticking
        assert len(ticks) >= 20 and max(b - a for a, b in zip(ticks, ticks[1:])) < 0.5
        assert win.recommendations.progress.isVisible()
        t0 = time.monotonic()
        win.recommendations.progress.cancel.click()
        assert job.wait(1.0) and time.monotonic() - t0 < 1.0
        timer.stop()
        assert not win.recommend_slot.is_busy() and not win.recommendations.progress.isVisible()
        assert win.status_message() == "Recommendation cancelled."
        assert win.recommendations.run_button.isEnabled()
    finally:
        win.close()


def test_errors_are_one_sentence_in_the_status_bar(qtbot, tmp_path, settings, catalog_path):
    backend = FakeBackend(tmp_path / "work", fail_recommend=EmptyCatalogError("indexed track that passes the filters", "loosen the filters"))
    win = _make_window(qtbot, backend, settings, catalog=catalog_path)
    try:
        with qtbot.waitSignal(win.video_ready, timeout=20000):
            win.open_video(BBB)
        qtbot.waitUntil(lambda: "no indexed track" in win.status_message(), timeout=10000)
        assert win.status_message() == "The catalog has no indexed track that passes the filters: loosen the filters."
        # a bad file dropped on the window: one sentence, and the loaded video stays
        bad = tmp_path / "holiday.mp4"
        bad.write_text("this is not a video\n" * 50)
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(bad))])
        drop = QDropEvent(QPointF(200, 200), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
        with qtbot.waitSignal(win.message_shown, timeout=10000) as sig:
            win.dropEvent(drop)
        msg = sig.args[0]
        assert "holiday.mp4" in msg and msg.endswith(".") and "\n" not in msg and "Traceback" not in msg
        assert win.status_message() == msg
        assert win.video_path == str(BBB) and win.video is not None
        # a missing catalog, a missing file
        assert not win.open_catalog(tmp_path / "nope.sqlite")
        assert win.status_message().startswith("No catalog at ")
        with qtbot.waitSignal(win.message_shown, timeout=10000) as sig:
            win.open_video(tmp_path / "missing.webm")
        assert sig.args[0] == f"The file 'missing.webm' does not exist ({tmp_path / 'missing.webm'})."
        # the window still works after the errors
        ticks = []
        QTimer.singleShot(10, lambda: ticks.append(1))
        qtbot.waitUntil(lambda: ticks == [1], timeout=2000)
    finally:
        win.close()


def test_segmentation_setting_redraws_the_segments_lane(window, qtbot):
    win = window
    _open_and_wait_for_preview(qtbot, win)
    assert win.timeline.summary()["segments"] == win.timeline.summary()["shots"] == 5
    combo = win.recommendations.segmentation_combo
    combo.setCurrentIndex(combo.findData("olda"))
    with qtbot.waitSignal(win.recommendations_ready, timeout=20000):
        win.recommendations.run_button.click()
    assert ("analyze_video", {"segmentation": "olda"}) in win.backend.calls
    assert win.video.segmentation == "olda" and win.timeline.summary()["segments"] == 2
    assert win.timeline.summary()["shots"] == 5
    last_recommend = [kw for name, kw in win.backend.calls if name == "recommend"][-1]
    assert last_recommend["settings"].segmentation == "olda"


def test_similar_tracks_and_catalog_window(window, qtbot, tmp_path):
    win = window
    _open_and_wait_for_preview(qtbot, win)
    seed = win.recommendations.current()
    win.recommendations.similar_button.click()
    qtbot.waitUntil(lambda: win.similar_panel.table.source.rowCount() == 2, timeout=10000)
    assert win.backend.calls[-1][0] in ("similar", "preview")
    assert all(c.key() != seed.key() for c in win.similar_panel.table.source.rows)
    other = win.similar_panel.current()
    win.similar_panel.preview_button.click()  # previewed against the video like any candidate
    qtbot.waitUntil(lambda: win.preview is not None and win.preview.candidate.key() == other.key(), timeout=20000)
    qtbot.waitUntil(lambda: win.player.is_playing(), timeout=10000)
    win.pause()
    # catalog window: a folder with a broken file: listed as a problem, never a pop-up
    cw = win.catalog_window
    win.show_catalog_window()
    more = tmp_path / "more"
    more.mkdir()
    shutil.copy(MUSIC / "mindless_cut.mp3", more / "mindless_cut.mp3")
    (more / "broken.ogg").write_bytes(b"OggS" + b"\x00" * 300)
    with qtbot.waitSignal(cw.catalog_modified, timeout=30000):
        cw.start_add_folder(str(more))
    qtbot.waitUntil(lambda: cw.is_populated() and cw.is_summary_current(), timeout=10000)  # listed in workers
    assert cw.model.rowCount() == len(SMALL_TRACKS) + 1
    assert cw.errors.count() == 1 and cw.errors.item(0).text().startswith("broken.ogg: ")
    assert "1 added" in cw.report_label.text() and "1 problem" in cw.report_label.text()
    assert win.catalog_label.text().endswith(f"({len(SMALL_TRACKS) + 1} tracks)")
    cw.search.setText("mindless")
    qtbot.waitUntil(lambda: cw.model.query.text == "mindless" and cw.is_populated(), timeout=10000)
    assert cw.model.rowCount() == 1
    cw.table.selectRow(0)
    c = cw.selected_candidate()
    assert c is not None and c.path.endswith("mindless_cut.mp3") and c.source == "catalog"
    cw.similar_button.click()
    qtbot.waitUntil(lambda: win.similar_panel.seed is not None and win.similar_panel.seed.key() == c.key(), timeout=5000)
    with qtbot.waitSignal(cw.catalog_modified, timeout=30000):
        cw.start_index()
    assert cw.report_label.text().startswith("Analysis done")
    cw.close()


def test_playlist_panel_create_rename_reorder_remove(window, qtbot):
    win = window
    panel = win.playlist_panel
    pid = panel.create("Spot A")
    assert pid is not None and panel.create("Spot A") is None
    assert win.status_message() == "A playlist named 'Spot A' already exists."
    with Catalog.open(win.catalog.path) as cat:
        ids = [t.id for t in cat.tracks()]
    for tid in ids:
        assert panel.add_track(tid)
    assert panel.entry_count() == 3
    panel.move(0, +1)
    with Catalog.open(win.catalog.path) as cat:
        assert [e.track_id for e in cat.playlist_entries(pid)] == [ids[1], ids[0], ids[2]]
    panel.table.selectRow(2)
    panel.remove_button.click()
    panel.rename("Spot A — final")
    with Catalog.open(win.catalog.path) as cat:
        (pl,) = cat.playlists()
        assert pl.name == "Spot A — final" and [e.track_id for e in cat.playlist_entries(pid)] == [ids[1], ids[0]]
    # a file that is not in the catalog cannot go in a playlist: said in one sentence
    assert not win.add_to_playlist(Candidate(track_id=None, path="/x/y.wav", title="y", artist="", duration_s=3.0))
    assert win.status_message().startswith("Only catalog tracks can go in a playlist")


def test_settings_persist_catalog_layout_and_recommendation_settings(qtbot, tmp_path, settings, catalog_path):
    backend = FakeBackend(tmp_path / "work")
    win = _make_window(qtbot, backend, settings, catalog=catalog_path)
    win.recommendations.k_spin.setValue(7)
    win.recommendations.filters.bpm.set_value((90.0, 120.0))
    win.similar_dock.hide()
    win.close()
    win2 = _make_window(qtbot, FakeBackend(tmp_path / "work2"), settings)  # no catalog given: the last one
    try:
        assert win2.catalog is not None and Path(win2.catalog.path) == catalog_path
        s = win2.recommendations.settings()
        assert s.k == 7 and s.filters["bpm_range"] == (90.0, 120.0)
        assert not win2.similar_dock.isVisible()
    finally:
        win2.close()


def test_gui_command_line(tmp_path, monkeypatch):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    gui_cli.add_cli(sub)
    args = parser.parse_args(["gui", str(BBB), "--catalog", str(tmp_path / "c.sqlite")])
    assert args.func is gui_cli.cmd_gui and args.video == str(BBB)
    with pytest.raises(UsageError, match="No catalog at"):
        args.func(args)
    args = parser.parse_args(["gui", str(tmp_path / "none.mp4")])
    with pytest.raises(UsageError, match="does not exist"):
        args.func(args)
    args = parser.parse_args(["gui"])
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(UsageError, match="no display"):
        args.func(args)


class _StreamingBackend(FakeBackend):
    """Results stream worst first (the top changes as they arrive); the ranking ends when ``finish`` is set."""

    def __init__(self, work):
        super().__init__(work)
        import threading

        self.finish = threading.Event()

    def recommend(self, video_path, catalog_path, settings, progress=lambda f, s="": None,
                  should_cancel=lambda: False, partial=None, sync_points_s=()):
        rows = super().recommend(video_path, catalog_path, settings, progress, should_cancel, None, sync_points_s)
        for c in reversed(rows):
            partial([c])
            time.sleep(0.05)
        while not self.finish.wait(0.01):
            if should_cancel():
                raise Cancelled("The recommendation")
        return rows


def test_streamed_results_select_nothing_until_the_ranking_is_done(qtbot, tmp_path, settings, catalog_path):
    """While results stream, the top changes with each scored candidate: nothing is selected by itself and no
    edit is cut (it would compete with the ranking for the CPU); the finished ranking's top is then selected."""
    backend = _StreamingBackend(tmp_path / "work")
    win = _make_window(qtbot, backend, settings, catalog=catalog_path)
    try:
        win.open_video(BBB)
        qtbot.waitUntil(lambda: len(win.recommendations.candidates()) == 3, timeout=20000)
        qtbot.wait(300)
        assert win.recommendations.current() is None and win.preview is None
        assert not [c for c in backend.calls if c[0] == "preview"]
        with qtbot.waitSignal(win.recommendations_ready, timeout=20000):
            backend.finish.set()
        qtbot.waitUntil(lambda: win.preview is not None, timeout=20000)
        top = win.recommendations.candidates()[0]
        assert win.recommendations.current().key() == top.key() == win.preview.candidate.key()
        assert [c[1]["key"] for c in backend.calls if c[0] == "preview"] == [top.key()]
    finally:
        win.close()


def test_a_cancelled_final_ranking_leaves_the_provisional_list_saying_so(window, qtbot):
    from supervisor_app.gui.recommendations_panel import PROVISIONAL_STOPPED

    panel = window.recommendations
    rows = window.backend.recommend(BBB, window.catalog.path, panel.settings())
    for c in rows:
        c.provisional = True
    panel.set_results(rows, provisional=True)
    panel.set_refining()
    assert panel.is_provisional() and "refining" in panel.provisional_label.text()
    panel.set_results(rows[:1], partial=True)  # the final ranking's first result: not shown over the list
    assert len(panel.candidates()) == len(rows) and panel.is_provisional()
    panel.set_refining_stopped()
    assert panel.provisional_label.text() == PROVISIONAL_STOPPED and panel.current() is None
    final = window.backend.recommend(BBB, window.catalog.path, panel.settings())
    panel.set_results(final)
    assert not panel.is_provisional() and panel.provisional_label.isHidden()
    assert panel.current().key() == final[0].key()
