"""First start of the app (issue 18): the offer, a catalog from a music folder (progress, cancel, resume), the demo.

Fast tests drive the real catalog (scan of real files) with an analysis step that is synthetic but
cancellable; the slow one runs the real analysis on a real track through the dialog.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from supervisor_app.catalog import Catalog  # noqa: E402
from supervisor_app.infra.jobs import Cancelled  # noqa: E402
from supervisor_app.gui import first_run  # noqa: E402
from supervisor_app.gui.app import create_window  # noqa: E402
from supervisor_app.gui.backend import CoreBackend  # noqa: E402

pytestmark = pytest.mark.gui

MUSIC = Path(__file__).resolve().parent.parent / "resources" / "demo" / "music"


class SlowIndexBackend(CoreBackend):
    """Real scan into a real catalog; the analysis only records which tracks it saw, slowly and cancellably."""

    def __init__(self, work_dir, steps: int = 3, step_s: float = 0.05):
        super().__init__(work_dir)
        self.steps, self.step_s = steps, step_s
        self.index_calls = 0
        self.opened_videos: list[str] = []

    def index_catalog(self, catalog_path, progress=lambda f, s="": None, should_cancel=lambda: False, model=None):
        self.index_calls += 1
        for i in range(self.steps):
            if should_cancel():
                raise Cancelled("The catalog analysis")
            progress((i + 1) / self.steps, "analysing")
            time.sleep(self.step_s)
        with Catalog.open(catalog_path) as cat:
            return f"analysed {cat.count()} track(s)"

    def analyze_video(self, path, *a, **k):  # the demo's video: record it, analysis is not under test here
        self.opened_videos.append(str(path))
        raise Cancelled("The video analysis")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SUPERVISOR_NO_FIRST_RUN", raising=False)
    return tmp_path / "home"


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def music(tmp_path):
    d = tmp_path / "My Music"
    d.mkdir()
    for name in ("solo_trumpet_90bpm.ogg", "hungarian_dance_5.ogg"):
        shutil.copy(MUSIC / name, d / name)
    return d


def _window(qtbot, backend, settings):
    win = create_window(backend=backend, settings=settings, theme="dark")
    qtbot.addWidget(win)
    win.show()
    return win


def test_offered_only_on_a_first_start(tmp_path, settings, home, monkeypatch):
    assert first_run.should_offer(settings)
    assert not first_run.should_offer(settings, video="film.mp4")
    assert not first_run.should_offer(settings, catalog="c.sqlite")
    cat = tmp_path / "old.sqlite"
    settings.setValue("catalog/path", str(cat))
    assert first_run.should_offer(settings), "a remembered catalog that is gone is no catalog"
    Catalog.create(cat).close()
    assert not first_run.should_offer(settings)
    settings.remove("catalog/path")
    settings.setValue(first_run.DONE_KEY, True)
    assert not first_run.should_offer(settings)
    settings.setValue(first_run.PENDING_KEY, '{"folder": "/m", "catalog": "/c.sqlite"}')
    assert first_run.should_offer(settings), "an unfinished plan is offered again"
    monkeypatch.setenv("SUPERVISOR_NO_FIRST_RUN", "1")
    assert not first_run.should_offer(settings)


def test_not_now_is_remembered(qtbot, tmp_path, settings, home):
    win = _window(qtbot, SlowIndexBackend(tmp_path / "work"), settings)
    dlg = first_run.offer(win, settings)
    assert dlg.isVisible() and win.isVisible(), "the dialog does not block the window"
    dlg.later_button.click()
    assert not first_run.should_offer(settings)
    assert win.catalog is None


def test_catalog_from_a_music_folder_with_cancel_and_resume(qtbot, tmp_path, settings, home, music):
    backend = SlowIndexBackend(tmp_path / "work", steps=400, step_s=0.01)
    win = _window(qtbot, backend, settings)
    dlg = first_run.offer(win, settings, choose_folder=lambda: str(music))
    dlg.create_button.click()
    cw = win.catalog_window
    catalog_path = home / "data" / "catalog.sqlite"
    # the scan fills the catalog in the data folder, then the analysis starts with its progress strip
    qtbot.waitUntil(lambda: backend.index_calls == 1 and cw.slot.is_busy(), timeout=20000)
    assert cw.isVisible() and cw.progress.isVisible()
    assert Path(str(win.catalog.path)) == catalog_path
    assert win.catalog.count() == 2
    cw.slot.cancel()
    qtbot.waitUntil(lambda: not cw.slot.is_busy(), timeout=10000)
    assert "resume" in cw.report_label.text().lower()
    plan = first_run.pending_plan(settings)
    assert plan and plan["folder"] == str(music) and plan["catalog"] == str(catalog_path)
    win.close()

    # next start: the app remembers the catalog, and offers to resume the unfinished plan
    backend2 = SlowIndexBackend(tmp_path / "work2", steps=3)
    win2 = _window(qtbot, backend2, settings)
    assert Path(str(win2.catalog.path)) == catalog_path
    dlg2 = first_run.on_app_started(win2)
    assert dlg2 is not None and dlg2.create_button.text() == "Resume"
    dlg2.create_button.click()
    qtbot.waitUntil(lambda: first_run.pending_plan(settings) is None, timeout=20000)
    assert backend2.index_calls == 1
    assert win2.catalog.count() == 2, "the second scan adds nothing twice"
    assert first_run.on_app_started(win2) is None, "done: never offered again"


def test_demo_opens_the_demo_catalog_and_video(qtbot, tmp_path, settings, home):
    backend = SlowIndexBackend(tmp_path / "work")
    win = _window(qtbot, backend, settings)
    dlg = first_run.offer(win, settings)
    dlg.demo_button.click()
    qtbot.waitUntil(lambda: first_run.pending_plan(settings) is None and bool(backend.opened_videos), timeout=30000)
    assert Path(str(win.catalog.path)) == home / "data" / "demo" / "catalog.sqlite"
    assert win.catalog.count() == len(list(MUSIC.iterdir()))
    assert backend.opened_videos[0].endswith("big_buck_bunny_0_30.webm")
    assert "jazz" in win.recommendations.brief_edit.text()


@pytest.mark.slow
def test_first_run_real_analysis_of_a_real_track(qtbot, tmp_path, settings, home):
    folder = tmp_path / "music"
    folder.mkdir()
    shutil.copy(MUSIC / "solo_trumpet_90bpm.ogg", folder)
    win = _window(qtbot, CoreBackend(tmp_path / "work"), settings)
    done = []
    dlg = first_run.offer(win, settings, choose_folder=lambda: str(folder))
    win._first_run[1].finished.connect(done.append)
    dlg.create_button.click()
    qtbot.waitUntil(lambda: bool(done), timeout=240000)
    assert done == [True]
    with Catalog.open(home / "data" / "catalog.sqlite") as cat:
        (track,) = cat.tracks()
    assert track.status not in ("error", "missing"), track.error
    assert "Analysis done" in win.catalog_window.report_label.text()
