"""Startup timing for benchmarks (``benchmarks/bench_app_startup.py``), off unless asked for.

With ``SUPERVISOR_APP_REPORT_FIRST_PAINT=1`` in the environment, :func:`install` (called by ``run_app``
once the main window exists) prints on stderr, each as ``startup-probe <event> <unix time, s> <CPU s>``
(the CPU time of the process so far, all threads):

* ``first-paint``: the main window's first ``QEvent.Paint`` has been handled (reported from a zero
  timer queued by the event filter: that first frame is drawn);
* ``catalog-populated``: the catalog view's list is that of the open catalog (its count known, rows on
  screen read as they are painted: :meth:`~.catalog_window.CatalogWindow.is_populated`); at once when
  no catalog is open;
* ``catalog-window-paint``: the catalog window, then opened as the user does (File › Catalog…), has
  painted its first frame with those rows;

then quits the app. Without the variable it does nothing (one ``os.environ`` look-up).
"""
from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

ENV = "SUPERVISOR_APP_REPORT_FIRST_PAINT"
_POLL_MS = 5


def _say(event: str) -> None:
    print(f"startup-probe {event} {time.time():.4f} {time.process_time():.4f}", file=sys.stderr, flush=True)


class _FirstPaint(QObject):
    """Says ``event`` once ``widget``'s first paint event is handled (a zero timer: the frame is done), then
    calls ``then()``."""

    def __init__(self, widget, event: str, then):
        super().__init__(widget)
        self._event, self._then, self._seen = event, then, False
        widget.installEventFilter(self)

    def eventFilter(self, obj, ev):  # noqa: N802 (Qt API)
        if not self._seen and ev.type() == QEvent.Paint:
            self._seen = True
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self._report)
        return False

    def _report(self) -> None:
        _say(self._event)
        self._then()


def _first_paint(widget, event: str, then) -> None:
    _FirstPaint(widget, event, then)


def _catalog_view_ready(win) -> bool:
    cw = win.catalog_window
    return win.catalog is None or cw.is_populated()


def install(win) -> None:
    """Report the startup events of ``win`` (a MainWindow) and quit, when ``ENV`` is set."""
    if not os.environ.get(ENV):
        return
    app = QApplication.instance()

    def open_catalog_window():
        _first_paint(win.catalog_window, "catalog-window-paint", app.quit)
        win.show_catalog_window()

    def wait_populated():
        if _catalog_view_ready(win):
            _say("catalog-populated")
            open_catalog_window()
        else:
            QTimer.singleShot(_POLL_MS, wait_populated)

    _first_paint(win, "first-paint", wait_populated)
