"""First start of the desktop app: offer to build a catalog from a music folder, or to open the demo.

A supervisor who installed the package and clicked the menu entry has no catalog yet. When the app
starts with neither a video nor a catalog on its command line and no usable catalog from an earlier
session, :func:`on_app_started` (called once by ``run_app``) opens :class:`FirstRunDialog`
(window-modal, non-blocking) with three choices:

- **Create a catalog from a music folder…**: the catalog is the default one in the app's data folder
  (``paths.default_catalog_path()``; the music stays where it is); the folder is scanned and then
  analysed by the catalog window's own jobs (progress bar, Cancel);
- **Open the demo**: the demo catalog (``demo.demo_catalog_path()``) from the music shipped with the
  app, analysed the same way, then the demo video opens with the demo brief and recommendations run;
- **Not now**: never asked again (File › Catalog… does the same at any time).

Resumable: until both jobs have finished, the plan is kept in the settings (``first_run/pending``). A
cancelled scan or analysis, or an app closed in the middle, is offered again at the next start
("Resume"), and the scan and the analysis skip what is already done. ``SUPERVISOR_NO_FIRST_RUN=1``
turns the offer off (screenshots, kiosks).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

DONE_KEY = "first_run/done"
PENDING_KEY = "first_run/pending"
DESKTOP_FILE = "supervisor-app"  # installer/linux/supervisor-app.desktop

# Choices of the dialog (its result codes).
NOT_NOW, CREATE, DEMO, RESUME = 0, 1, 2, 3


def _truthy(value) -> bool:
    return str(value).lower() in ("1", "true", "yes")


def pending_plan(settings: QSettings) -> Optional[dict]:
    """The unfinished first-run plan ({"folder", "catalog", "video", "brief"}) or None."""
    raw = settings.value(PENDING_KEY)
    if not raw:
        return None
    try:
        plan = json.loads(str(raw))
    except ValueError:
        return None
    return plan if isinstance(plan, dict) and plan.get("folder") and plan.get("catalog") else None


def should_offer(settings: QSettings, video: Optional[str] = None, catalog: Optional[str] = None) -> bool:
    """True on a first start: nothing asked on the command line, no usable catalog yet (or a plan to resume)."""
    if os.environ.get("SUPERVISOR_NO_FIRST_RUN") or video or catalog:
        return False
    if pending_plan(settings) is not None:
        return True
    if _truthy(settings.value(DONE_KEY, False)):
        return False
    last = settings.value("catalog/path")
    return not (last and Path(str(last)).exists())


class FirstRunDialog(QDialog):
    """Welcome: create a catalog from a music folder, open the demo, or not now (or resume a plan)."""

    def __init__(self, parent: Optional[QWidget] = None, data_folder: str = "", resume: Optional[dict] = None):
        super().__init__(parent)
        self.setWindowTitle("Welcome to Supervisor")
        self.setObjectName("firstRunDialog")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 18, 20, 18)
        lay.setSpacing(12)
        title = QLabel("<b>Find music that fits your picture</b>")
        title.setStyleSheet("font-size: 16px;")
        if resume:
            text = (f"Building the catalog from <b>{resume['folder']}</b> did not finish. Resume it? What is "
                    "already scanned and analysed is kept.")
        else:
            text = ("Supervisor recommends music from <i>your</i> catalog. Choose a folder of music to build one "
                    "(the files stay where they are; the analysis takes about three minutes of computer time per hour "
                    "of music and can be cancelled and resumed), or start with the demo: a short film and a few "
                    "tracks shipped with the app.")
        body = QLabel(text)
        body.setWordWrap(True)
        body.setTextFormat(Qt.RichText)
        where = QLabel(f"Catalogs are kept in {data_folder}" if data_folder else "")
        where.setWordWrap(True)
        where.setEnabled(False)
        buttons = QHBoxLayout()
        self.later_button = QPushButton("Later" if resume else "Not now")
        self.demo_button = QPushButton("Open the demo")
        self.create_button = QPushButton("Resume" if resume else "Create a catalog from a music folder…")
        self.create_button.setDefault(True)
        self.later_button.clicked.connect(lambda: self.done(NOT_NOW))
        self.demo_button.clicked.connect(lambda: self.done(DEMO))
        self.create_button.clicked.connect(lambda: self.done(RESUME if resume else CREATE))
        buttons.addWidget(self.later_button)
        buttons.addStretch(1)
        if not resume:
            buttons.addWidget(self.demo_button)
        else:
            self.demo_button.hide()
        buttons.addWidget(self.create_button)
        lay.addWidget(title)
        lay.addWidget(body)
        lay.addWidget(where)
        lay.addLayout(buttons)
        self.setMinimumWidth(520)


class FirstRunFlow(QObject):
    """Runs a plan on the main window: open/create the catalog, scan the folder, analyse, then open the video.

    Uses the catalog window's job slot (its progress strip and Cancel button). ``finished(bool)``: True
    when the catalog is complete, False when a step was cancelled or failed (the plan stays pending).
    """

    finished = Signal(bool)

    def __init__(self, win, settings: QSettings):
        super().__init__(win)
        self.win = win
        self.settings = settings
        self.plan: Optional[dict] = None

    def start(self, plan: dict) -> bool:
        self.plan = dict(plan)
        self.settings.setValue(PENDING_KEY, json.dumps(self.plan))
        self.settings.sync()
        if not self.win.open_catalog(self.plan["catalog"], create=True):
            self.finished.emit(False)
            return False
        self.win.show_catalog_window()
        job = self.win.catalog_window.start_add_folder(self.plan["folder"])
        if job is None:
            self.finished.emit(False)
            return False
        job.succeeded.connect(lambda _report: QTimer.singleShot(0, self._analyse))
        job.cancelled.connect(lambda: self.finished.emit(False))
        job.failed.connect(lambda _sentence: self.finished.emit(False))
        return True

    def _analyse(self) -> None:
        job = self.win.catalog_window.start_index()
        if job is None:
            self.finished.emit(False)
            return
        job.succeeded.connect(lambda _summary: QTimer.singleShot(0, self._done))
        job.cancelled.connect(lambda: self.finished.emit(False))
        job.failed.connect(lambda _sentence: self.finished.emit(False))

    def _done(self) -> None:
        plan = self.plan or {}
        self.settings.remove(PENDING_KEY)
        self.settings.setValue(DONE_KEY, True)
        self.settings.sync()
        if plan.get("video"):
            if plan.get("brief"):
                self.win.recommendations.brief_edit.setText(plan["brief"])
            self.win.open_video(plan["video"])
        self.finished.emit(True)


def demo_plan() -> dict:
    from supervisor_app.services.demo import DEMO_BRIEF, DEMO_VIDEO, demo_catalog_path
    from supervisor_app.infra.paths import DEMO_DIR

    return {"folder": str(DEMO_DIR / "music"), "catalog": str(demo_catalog_path()), "video": str(DEMO_VIDEO),
            "brief": DEMO_BRIEF}


def folder_plan(folder: str) -> dict:
    from supervisor_app.infra.paths import default_catalog_path

    return {"folder": str(folder), "catalog": str(default_catalog_path()), "video": None, "brief": None}


def offer(win, settings: QSettings, choose_folder=None) -> FirstRunDialog:
    """Open the dialog (non-blocking) and run the chosen plan when it closes; returns the dialog.

    ``choose_folder()`` returns the music folder or "" (default: a folder dialog on ``win``).
    """
    from supervisor_app.infra.paths import data_dir

    resume = pending_plan(settings)
    dlg = FirstRunDialog(win, data_folder=str(data_dir()), resume=resume)
    flow = FirstRunFlow(win, settings)
    win._first_run = (dlg, flow)  # keep both alive with the window

    def chosen(code: int) -> None:
        if code == RESUME and resume:
            flow.start(resume)
        elif code == DEMO:
            flow.start(demo_plan())
        elif code == CREATE:
            pick = choose_folder or (lambda: QFileDialog.getExistingDirectory(win, "Choose a folder of music"))
            folder = pick()
            if folder:
                flow.start(folder_plan(folder))
            # no folder: ask again at the next start
        elif code == NOT_NOW and not resume:
            settings.setValue(DONE_KEY, True)
            settings.sync()

    dlg.finished.connect(chosen)
    dlg.open()
    return dlg


def on_app_started(win, video: Optional[str] = None, catalog: Optional[str] = None) -> Optional[FirstRunDialog]:
    """Called once by ``run_app`` after the main window is shown: names the desktop entry for the windows
    and portals that come next (the main window is matched to the menu entry by its X11 class,
    ``StartupWMClass=Supervisor`` in the entry) and, on a first start, offers :class:`FirstRunDialog`.
    Returns the dialog when it was offered."""
    QGuiApplication.setDesktopFileName(DESKTOP_FILE)
    settings = getattr(win, "settings", None) or QSettings()
    if not should_offer(settings, video=video, catalog=catalog):
        return None
    return offer(win, settings)
