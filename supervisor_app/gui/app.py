"""Start the desktop app: QApplication, a palette that follows the system's dark/light setting, settings.

``run_app(video, catalog)`` opens the main window (the ``supervisor-app gui`` command). The theme is
"system" by default (Qt's colour-scheme hint, re-applied when the system switches), or forced with
the ``view/theme`` setting ("dark" / "light"). Settings (last catalog, window layout, recommendation
settings) are kept by QSettings under the organisation "supervisor-app".
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from supervisor_app.gui._qt_compat import ensure_safe_signal_emit

ORG, APP = "supervisor-app", "Supervisor"
log = logging.getLogger(__name__)


def _prepare_platform() -> None:
    """VLC draws into X11 windows: on a Wayland session use XWayland unless the user chose a platform."""
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        if os.environ.get("XDG_SESSION_TYPE") == "wayland" and os.environ.get("DISPLAY"):
            os.environ["QT_QPA_PLATFORM"] = "xcb"


def get_app(argv: Optional[list[str]] = None) -> QApplication:
    """The QApplication (created once, with the project's names and the Fusion style)."""
    app = QApplication.instance()
    if app is None:
        _prepare_platform()
        QApplication.setOrganizationName(ORG)
        QApplication.setApplicationName(APP)
        app = QApplication(list(argv) if argv is not None else [sys.argv[0]])
        app.setStyle("Fusion")
    ensure_safe_signal_emit()
    return app


def system_prefers_dark(app: Optional[QGuiApplication] = None) -> bool:
    """The system's colour scheme (Qt 6.5+ hint); dark when unknown and the window colour is dark."""
    app = app or QGuiApplication.instance()
    try:
        scheme = app.styleHints().colorScheme()
        if scheme == Qt.ColorScheme.Dark:
            return True
        if scheme == Qt.ColorScheme.Light:
            return False
    except AttributeError:
        pass
    return app.palette().color(QPalette.Window).lightness() < 128


def dark_palette() -> QPalette:
    p = QPalette()
    base, alt, window, text = QColor("#1b1e23"), QColor("#22262d"), QColor("#262a31"), QColor("#dde1e7")
    accent = QColor("#4f8fdc")
    for group in (QPalette.Active, QPalette.Inactive):
        p.setColor(group, QPalette.Window, window)
        p.setColor(group, QPalette.WindowText, text)
        p.setColor(group, QPalette.Base, base)
        p.setColor(group, QPalette.AlternateBase, alt)
        p.setColor(group, QPalette.ToolTipBase, QColor("#30353e"))
        p.setColor(group, QPalette.ToolTipText, text)
        p.setColor(group, QPalette.PlaceholderText, QColor("#7d8593"))
        p.setColor(group, QPalette.Text, text)
        p.setColor(group, QPalette.Button, QColor("#2e333b"))
        p.setColor(group, QPalette.ButtonText, text)
        p.setColor(group, QPalette.BrightText, QColor("#ff6b6b"))
        p.setColor(group, QPalette.Highlight, accent)
        p.setColor(group, QPalette.HighlightedText, QColor("#ffffff"))
        p.setColor(group, QPalette.Link, QColor("#6fb1ff"))
        p.setColor(group, QPalette.Light, QColor("#3a404a"))
        p.setColor(group, QPalette.Midlight, QColor("#333842"))
        p.setColor(group, QPalette.Mid, QColor("#2a2e35"))
        p.setColor(group, QPalette.Dark, QColor("#15171b"))
        p.setColor(group, QPalette.Shadow, QColor("#0d0e10"))
    dis = QColor("#6b717c")
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, dis)
    p.setColor(QPalette.Disabled, QPalette.Window, window)
    p.setColor(QPalette.Disabled, QPalette.Base, base)
    p.setColor(QPalette.Disabled, QPalette.Button, QColor("#2a2e35"))
    p.setColor(QPalette.Disabled, QPalette.Highlight, QColor("#3b4350"))
    return p


def light_palette() -> QPalette:
    p = QApplication.style().standardPalette()
    accent = QColor("#2f6fc0")
    for group in (QPalette.Active, QPalette.Inactive):
        p.setColor(group, QPalette.Window, QColor("#f3f4f6"))
        p.setColor(group, QPalette.Base, QColor("#ffffff"))
        p.setColor(group, QPalette.AlternateBase, QColor("#f5f7fa"))
        p.setColor(group, QPalette.Button, QColor("#eceef1"))
        p.setColor(group, QPalette.Highlight, accent)
        p.setColor(group, QPalette.HighlightedText, QColor("#ffffff"))
    return p


STYLE_SHEET = """
QLabel#dropHint { font-size: 17px; border: 2px dashed palette(mid); border-radius: 10px; margin: 24px; }
QLabel#timeLabel { font-family: monospace; font-size: 13px; }
QLabel#nowPlaying { font-weight: 600; padding-left: 8px; }
QWidget#transport { border-top: 1px solid palette(mid); }
QDockWidget::title { padding: 5px 8px; font-weight: 600; }
QHeaderView::section { padding: 4px 6px; }
QTableView { selection-background-color: palette(highlight); }
QStatusBar QLabel { padding: 0 8px; }
"""


def apply_theme(app: QApplication, mode: str = "system") -> bool:
    """Set the palette ("system", "dark" or "light"); returns True when the result is dark."""
    dark = system_prefers_dark(app) if mode == "system" else mode == "dark"
    app.setPalette(dark_palette() if dark else light_palette())
    app.setStyleSheet(STYLE_SHEET)
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True, background=None, foreground=app.palette().color(QPalette.WindowText))
    return dark


def create_window(backend=None, video: Optional[str] = None, catalog: Optional[str] = None,
                  settings: Optional[QSettings] = None, player=None, auto_recommend: bool = True, theme: Optional[str] = None,
                  brief: Optional[str] = None):
    """Build the main window (app, theme, backend, last catalog); ``video``/``catalog`` open at once,
    ``brief`` (keywords) fills the recommendation brief before the first search."""
    from supervisor_app.gui.backend import CoreBackend
    from supervisor_app.gui.main_window import MainWindow

    app = get_app()
    settings = settings if settings is not None else QSettings(ORG, APP)
    mode = theme or str(settings.value("view/theme", "system"))
    dark = apply_theme(app, mode)
    backend = backend if backend is not None else CoreBackend()
    win = MainWindow(backend, settings=settings, player=player, auto_recommend=auto_recommend)
    win.set_timeline_theme(dark)
    if mode == "system":
        try:
            def follow(_scheme=None):
                win.set_timeline_theme(apply_theme(app, "system"))

            app.styleHints().colorSchemeChanged.connect(follow)
        except AttributeError:
            pass
    if brief is not None:
        win.recommendations.brief_edit.setText(brief)
    cat = catalog or default_catalog(settings)
    if cat:
        win.open_catalog(str(cat), create=False)
    if video:
        win.open_video(video)
    return win


def default_catalog(settings: Optional[QSettings] = None) -> Optional[str]:
    """The catalog the app opens without one named: the CLI's default (the last catalog used by either,
    ``paths.default_catalog_path``) when it exists, else the app's own last one (older settings)."""
    from supervisor_app.infra.paths import default_catalog_path

    try:
        shared = default_catalog_path()
    except OSError:
        shared = None
    if shared is not None and Path(shared).exists():
        return str(shared)
    legacy = settings.value("catalog/path") if settings is not None else None
    return str(legacy) if legacy and Path(str(legacy)).exists() else None


def run_app(video: Optional[str] = None, catalog: Optional[str] = None, brief: Optional[str] = None) -> int:
    """Open the main window and run the event loop until it closes; returns the exit code."""
    logging.basicConfig(level=logging.INFO if os.environ.get("SUPERVISOR_DEBUG") else logging.WARNING)
    app = get_app()
    win = create_window(video=str(video) if video else None, catalog=str(catalog) if catalog else None, brief=brief)
    from supervisor_app.gui import startup_probe  # benchmarks only: SUPERVISOR_APP_REPORT_FIRST_PAINT=1

    startup_probe.install(win)
    win.show()
    from supervisor_app.gui.first_run import on_app_started  # installer (issue 18): first start offers a catalog or the demo
    on_app_started(win, video=video, catalog=catalog)
    code = int(app.exec())
    from supervisor_app.gui.workers import live_jobs, shutdown_jobs

    if not shutdown_jobs(timeout_s=10.0):
        # A job stuck in a long library call: leave now rather than keep the user waiting; the catalog
        # is SQLite (an unfinished transaction is rolled back) and every file is written atomically.
        log.warning("exiting while %s still run", ", ".join(j.name for j in live_jobs()))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def wait_until(predicate, timeout_s: float, poll_ms: int = 50) -> bool:
    """Run the event loop until ``predicate()`` is true or ``timeout_s`` passes (scripts, not the GUI)."""
    import time

    from PySide6.QtCore import QEventLoop

    app = get_app()
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        loop = QEventLoop()
        QTimer.singleShot(poll_ms, loop.quit)
        loop.exec()
    app.processEvents()
    return True
