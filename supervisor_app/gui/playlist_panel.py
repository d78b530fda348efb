"""Playlists: pick / create / rename / delete, the entries (remove, reorder), export M3U8 / CSV / XLSX / JSON.

Works on the GUI thread's catalog connection (each edit is one short SQLite transaction). Errors from
the catalog (a duplicate name, ...) go out as ``message(sentence)``; ``export_requested(playlist_id,
fmt)`` asks the window to export (it chooses the file). ``entry_activated(track_id, payload)`` on
double-click.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QInputDialog, QLabel,
                               QMenu, QPushButton, QTableWidget, QTableWidgetItem, QToolButton, QVBoxLayout, QWidget)

from supervisor_app.infra.errors import SupervisorError
from supervisor_app.gui.widgets import fmt_duration


class PlaylistPanel(QWidget):
    message = Signal(str)
    export_requested = Signal(int, str)
    entry_activated = Signal(int, object)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.catalog = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        top = QHBoxLayout()
        self.combo = QComboBox()
        self.combo.setMinimumWidth(140)
        self.combo.currentIndexChanged.connect(lambda _i: self.refresh_entries())
        self.new_button = QToolButton()
        self.new_button.setText("New")
        self.rename_button = QToolButton()
        self.rename_button.setText("Rename")
        self.delete_button = QToolButton()
        self.delete_button.setText("Delete")
        self.new_button.clicked.connect(self._new)
        self.rename_button.clicked.connect(self._rename)
        self.delete_button.clicked.connect(self._delete)
        top.addWidget(QLabel("Playlist"))
        top.addWidget(self.combo, 1)
        for b in (self.new_button, self.rename_button, self.delete_button):
            top.addWidget(b)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["#", "Title", "Artist", "Length"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        h.setSectionResizeMode(1, QHeaderView.Stretch)
        h.setSectionResizeMode(2, QHeaderView.Interactive)
        h.setSectionResizeMode(3, QHeaderView.ResizeToContents)
        self.table.cellDoubleClicked.connect(self._activated)
        bottom = QHBoxLayout()
        self.up_button = QToolButton()
        self.up_button.setArrowType(Qt.UpArrow)
        self.up_button.setToolTip("Move up")
        self.down_button = QToolButton()
        self.down_button.setArrowType(Qt.DownArrow)
        self.down_button.setToolTip("Move down")
        self.remove_button = QPushButton("Remove")
        self.export_button = QPushButton("Export")
        menu = QMenu(self.export_button)
        self.export_actions = {}
        for fmt, label in (("m3u8", "M3U8 playlist (VLC, players)…"), ("csv", "CSV with scores…"),
                           ("xlsx", "XLSX spreadsheet (metadata, rights, scores)…"),
                           ("json", "JSON with scores and edits…")):
            self.export_actions[fmt] = menu.addAction(label, lambda f=fmt: self._export(f))
        self.export_button.setMenu(menu)
        self.up_button.clicked.connect(lambda: self._move(-1))
        self.down_button.clicked.connect(lambda: self._move(+1))
        self.remove_button.clicked.connect(self._remove)
        bottom.addWidget(self.up_button)
        bottom.addWidget(self.down_button)
        bottom.addWidget(self.remove_button)
        bottom.addStretch(1)
        bottom.addWidget(self.export_button)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addLayout(bottom)
        self._update_enabled()

    # -- catalog ------------------------------------------------------------------------------------
    def set_catalog(self, catalog) -> None:
        self.catalog = catalog
        self.refresh()

    def _guard(self, fn, *args):
        try:
            return fn(*args)
        except SupervisorError as e:
            self.message.emit(str(e))
            return None

    def refresh(self, select_id: Optional[int] = None) -> None:
        current = select_id if select_id is not None else self.current_playlist_id()
        self.combo.blockSignals(True)
        self.combo.clear()
        if self.catalog is not None:
            for p in self._guard(self.catalog.playlists) or []:
                self.combo.addItem(f"{p.name}  ({p.n_entries})", p.id)
        i = self.combo.findData(current) if current is not None else -1
        self.combo.setCurrentIndex(i if i >= 0 else (0 if self.combo.count() else -1))
        self.combo.blockSignals(False)
        self.refresh_entries()

    def refresh_entries(self) -> None:
        self.table.setRowCount(0)
        pid = self.current_playlist_id()
        if self.catalog is not None and pid is not None:
            entries = self._guard(self.catalog.playlist_entries, pid) or []
            self.table.setRowCount(len(entries))
            for r, e in enumerate(entries):
                t = self.catalog.get_track(e.track_id)
                title = (t.title if t and t.title else (t.path.rsplit("/", 1)[-1] if t else f"track {e.track_id}"))
                cells = (str(e.position + 1), title, (t.artist or "") if t else "", fmt_duration(t.duration_s if t else None))
                for c, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    if c == 0:
                        item.setData(Qt.UserRole, (e.track_id, e.payload))
                    if e.note:
                        item.setToolTip(e.note)
                    self.table.setItem(r, c, item)
        self._update_enabled()

    def current_playlist_id(self) -> Optional[int]:
        v = self.combo.currentData()
        return int(v) if v is not None else None

    def entry_count(self) -> int:
        return self.table.rowCount()

    # -- actions ------------------------------------------------------------------------------------
    def ensure_playlist(self, default_name: str = "Shortlist") -> Optional[int]:
        """The current playlist, creating one named ``default_name`` when there is none."""
        if self.catalog is None:
            self.message.emit("Open a catalog first: playlists are saved in it.")
            return None
        pid = self.current_playlist_id()
        if pid is None:
            pid = self._guard(self.catalog.create_playlist, default_name)
            if pid is not None:
                self.refresh(select_id=pid)
        return pid

    def add_track(self, track_id: int, note: Optional[str] = None, payload: Optional[dict] = None) -> bool:
        pid = self.ensure_playlist()
        if pid is None:
            return False
        pos = self._guard(self.catalog.add_to_playlist, pid, int(track_id), note, payload)
        if pos is None:
            return False
        self.refresh(select_id=pid)
        self.table.selectRow(pos)
        return True

    def create(self, name: str) -> Optional[int]:
        if self.catalog is None:
            self.message.emit("Open a catalog first: playlists are saved in it.")
            return None
        pid = self._guard(self.catalog.create_playlist, name)
        if pid is not None:
            self.refresh(select_id=pid)
        return pid

    def _new(self) -> None:
        name, ok = QInputDialog.getText(self, "New playlist", "Name:")
        if ok and name.strip():
            self.create(name.strip())

    def rename(self, name: str) -> None:
        pid = self.current_playlist_id()
        if pid is not None and self._guard(self.catalog.rename_playlist, pid, name) is None:
            self.refresh(select_id=pid)

    def _rename(self) -> None:
        pid = self.current_playlist_id()
        if pid is None:
            return
        old = self.combo.currentText().rsplit("  (", 1)[0]
        name, ok = QInputDialog.getText(self, "Rename playlist", "Name:", text=old)
        if ok and name.strip():
            self.rename(name.strip())

    def _delete(self) -> None:
        pid = self.current_playlist_id()
        if pid is not None:
            self._guard(self.catalog.delete_playlist, pid)
            self.refresh()

    def _selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def _remove(self) -> None:
        pid, row = self.current_playlist_id(), self._selected_row()
        if pid is not None and row >= 0:
            self._guard(self.catalog.remove_from_playlist, pid, row)
            self.refresh(select_id=pid)
            if self.table.rowCount():
                self.table.selectRow(min(row, self.table.rowCount() - 1))

    def move(self, row: int, step: int) -> None:
        pid = self.current_playlist_id()
        to = row + step
        if pid is None or not (0 <= row < self.table.rowCount()) or not (0 <= to < self.table.rowCount()):
            return
        self._guard(self.catalog.move_entry, pid, row, to)
        self.refresh(select_id=pid)
        self.table.selectRow(to)

    def _move(self, step: int) -> None:
        self.move(self._selected_row(), step)

    def _export(self, fmt: str) -> None:
        pid = self.current_playlist_id()
        if pid is None:
            self.message.emit("There is no playlist to export yet: add a candidate first.")
            return
        self.export_requested.emit(pid, fmt)

    def _activated(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            track_id, payload = item.data(Qt.UserRole)
            self.entry_activated.emit(int(track_id), payload)

    def _update_enabled(self) -> None:
        has_pl = self.current_playlist_id() is not None
        for b in (self.rename_button, self.delete_button, self.export_button):
            b.setEnabled(has_pl)
        has_rows = self.table.rowCount() > 0
        for b in (self.up_button, self.down_button, self.remove_button):
            b.setEnabled(has_rows)
        self.new_button.setEnabled(self.catalog is not None)
