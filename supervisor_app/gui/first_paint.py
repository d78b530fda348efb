"""Run something once a widget has painted its first frame (work that may wait for the window to show).

``after_first_paint(win, fn)``: ``fn()`` runs on the GUI thread right after ``win``'s first paint event
(deferred by a zero timer, so the frame is finished first). The app uses it to start what would
otherwise hold back the first frame, e.g. the device check, which imports torch (~1.6 s).
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, QTimer


class _AfterFirstPaint(QObject):
    def __init__(self, widget, fn: Callable[[], None]):
        super().__init__(widget)
        self._fn = fn
        self.done = False
        widget.installEventFilter(self)

    def eventFilter(self, obj, ev):  # noqa: N802 (Qt API)
        if not self.done and ev.type() == QEvent.Paint:
            self.done = True
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self._fn)
        return False


def after_first_paint(widget, fn: Callable[[], None]) -> QObject:
    """Call ``fn()`` after ``widget``'s first paint; returns the (child) filter object."""
    return _AfterFirstPaint(widget, fn)
