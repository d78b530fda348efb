"""The sync points as an editable list: each time can be typed or nudged (move), deleted or jumped to.

The panel edits nothing itself: it asks the window, which changes the session model (undoable).
Signals: ``edit_requested(op, index, t_s)`` with op "move" / "delete" / "seek";
``undo_requested()``, ``redo_requested()``, ``add_requested()``.
"""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget)


class SyncPointsPanel(QWidget):
    edit_requested = Signal(str, int, float)
    undo_requested = Signal()
    redo_requested = Signal()
    add_requested = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._points: tuple = ()
        self._duration_s = 0.0
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(4)
        self.hint = QLabel("No sync points. Press M at a moment the music must hit (a downbeat lands there).")
        self.hint.setWordWrap(True)
        self.hint.setEnabled(False)
        lay.addWidget(self.hint)
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(2)
        lay.addLayout(self.rows_box)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Mark at playhead (M)")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo the last sync point change (Ctrl+Z)")
        self.redo_button = QPushButton("Redo")
        self.redo_button.setToolTip("Redo (Ctrl+Shift+Z)")
        self.add_button.clicked.connect(self.add_requested)
        self.undo_button.clicked.connect(self.undo_requested)
        self.redo_button.clicked.connect(self.redo_requested)
        for b in (self.add_button, self.undo_button, self.redo_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        lay.addStretch(1)
        self._rows: list[QWidget] = []
        self.set_history(False, False)

    def set_duration(self, duration_s: float) -> None:
        self._duration_s = float(duration_s or 0.0)

    def set_history(self, can_undo: bool, can_redo: bool) -> None:
        self.undo_button.setEnabled(can_undo)
        self.redo_button.setEnabled(can_redo)

    def points(self) -> tuple:
        return self._points

    def spin(self, index: int) -> QDoubleSpinBox:
        return self._rows[index].findChild(QDoubleSpinBox)

    def set_points(self, points_s: Sequence[float]) -> None:
        self._points = tuple(points_s)
        for w in self._rows:
            self.rows_box.removeWidget(w)
            w.deleteLater()
        self._rows = []
        for i, t in enumerate(self._points):
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            label = QLabel(f"{i + 1}.")
            spin = QDoubleSpinBox()
            spin.setDecimals(2)
            spin.setSingleStep(0.04)
            spin.setSuffix(" s")
            spin.setRange(0.0, max(self._duration_s, t + 1.0))
            spin.setValue(t)
            spin.setKeyboardTracking(False)  # one move per finished edit, not per typed digit
            spin.setToolTip("Time of the sync point in the video; type a time or use the arrows to move it")
            spin.valueChanged.connect(lambda v, i=i: self.edit_requested.emit("move", i, float(v)))
            go = QToolButton()
            go.setText("Go")
            go.setToolTip("Move the playhead to this sync point")
            go.clicked.connect(lambda _=False, i=i: self.edit_requested.emit("seek", i, float(self._points[i])))
            delete = QToolButton()
            delete.setText("✕")
            delete.setToolTip("Delete this sync point (Ctrl+Z brings it back)")
            delete.clicked.connect(lambda _=False, i=i: self.edit_requested.emit("delete", i, 0.0))
            for w in (label, spin, go, delete):
                h.addWidget(w)
            h.addStretch(1)
            self.rows_box.addWidget(row)
            self._rows.append(row)
        self.hint.setVisible(not self._points)
