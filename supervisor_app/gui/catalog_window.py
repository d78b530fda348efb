"""The catalog window: create/open a catalog, add folders, index with progress, per-file problems, stats, tracks.

Long jobs (scanning a folder, indexing) run in this window's own job slot; per-file problems are
listed, never shown as pop-ups. Signals: ``open_requested(path, create)`` (the main window owns the
catalog connection and answers with :meth:`set_catalog`), ``catalog_modified()``, and for the selected
track ``similar_requested``, ``preview_requested``, ``add_to_playlist_requested`` (each a Candidate).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QListWidget, QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from supervisor_app.infra.errors import SupervisorError
from supervisor_app.gui.backend import Candidate
from supervisor_app.gui.widgets import ProgressStrip, fmt_duration, heading
from supervisor_app.gui.workers import Job, JobSlot


class CatalogWindow(QWidget):
    open_requested = Signal(str, bool)
    catalog_modified = Signal()
    similar_requested = Signal(object)
    preview_requested = Signal(object)
    add_to_playlist_requested = Signal(object)
    message = Signal(str)

    def __init__(self, backend, parent: Optional[QWidget] = None):
        super().__init__(parent, Qt.Window)
        self.setWindowTitle("Catalog — Supervisor")
        self.resize(900, 600)
        self.backend = backend
        self.catalog = None
        self.slot = JobSlot(self)
        self._tracks = []

        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 12, 12, 12)
        lay.setSpacing(8)
        top = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText("No catalog open")
        self.open_button = QPushButton("Open…")
        self.new_button = QPushButton("New…")
        self.open_button.clicked.connect(self._open)
        self.new_button.clicked.connect(self._new)
        top.addWidget(QLabel("Catalog"))
        top.addWidget(self.path_edit, 1)
        top.addWidget(self.open_button)
        top.addWidget(self.new_button)
        self.stats_label = QLabel()
        self.stats_label.setEnabled(False)
        jobs = QHBoxLayout()
        self.add_button = QPushButton("Add folder…")
        self.add_button.setToolTip("Index the audio files of a folder (sub-folders included); run again to update")
        self.index_button = QPushButton("Analyse for recommendation")
        self.index_button.setToolTip("Compute beats, sections and embeddings for every track (resumable)")
        self.add_button.clicked.connect(self._choose_folder)
        self.index_button.clicked.connect(self.start_index)
        jobs.addWidget(self.add_button)
        jobs.addWidget(self.index_button)
        jobs.addStretch(1)
        self.progress = ProgressStrip()
        self.progress.cancel_clicked.connect(self.slot.cancel)
        self.report_label = QLabel()
        self.report_label.setWordWrap(True)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by title, artist or path")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._apply_filter)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["Title", "Artist", "Length", "BPM", "Status", "File"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.Stretch)
        for c in (2, 3, 4):
            h.setSectionResizeMode(c, QHeaderView.ResizeToContents)
        h.resizeSection(1, 150)
        h.resizeSection(5, 220)
        self.table.itemSelectionChanged.connect(self._update_enabled)
        self.errors = QListWidget()
        self.errors.setAlternatingRowColors(True)
        self.errors_title = heading("Problems")
        tracks_box = QWidget()
        tl = QVBoxLayout(tracks_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.search)
        tl.addWidget(self.table)
        errors_box = QWidget()
        el = QVBoxLayout(errors_box)
        el.setContentsMargins(0, 0, 0, 0)
        el.addWidget(self.errors_title)
        el.addWidget(self.errors)
        split = QSplitter(Qt.Vertical)
        split.addWidget(tracks_box)
        split.addWidget(errors_box)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        actions = QHBoxLayout()
        self.similar_button = QPushButton("More like this")
        self.preview_button = QPushButton("Preview against video")
        self.playlist_button = QPushButton("Add to playlist")
        for b, sig in ((self.similar_button, self.similar_requested), (self.preview_button, self.preview_requested),
                       (self.playlist_button, self.add_to_playlist_requested)):
            b.clicked.connect(lambda _=False, s=sig: self._emit_selected(s))
            actions.addWidget(b)
        actions.addStretch(1)

        lay.addLayout(top)
        lay.addWidget(self.stats_label)
        lay.addLayout(jobs)
        lay.addWidget(self.progress)
        lay.addWidget(self.report_label)
        lay.addWidget(split, 1)
        lay.addLayout(actions)
        self.slot.busy_changed.connect(self._on_busy)
        self._update_enabled()

    # -- catalog ------------------------------------------------------------------------------------
    def set_catalog(self, catalog) -> None:
        self.catalog = catalog
        self.path_edit.setText(str(catalog.path) if catalog is not None else "")
        self.refresh()

    def refresh(self) -> None:
        self.table.setSortingEnabled(False)
        self.table.setRowCount(0)
        self.errors.clear()
        if self.catalog is None:
            self.stats_label.setText("")
            self._update_enabled()
            return
        try:
            self._tracks = self.catalog.tracks(include_missing=True)
            self.stats_label.setText(self.backend.catalog_stats_text(self.catalog))
            problems = self.catalog.scan_errors()
        except SupervisorError as e:
            self.message.emit(str(e))
            return
        self.table.setRowCount(len(self._tracks))
        for r, t in enumerate(self._tracks):
            cells = (t.title or Path(t.path).stem, t.artist or "", fmt_duration(t.duration_s),
                     "" if t.bpm_tag is None else f"{t.bpm_tag:.0f}", t.status, t.path)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setData(Qt.UserRole, t.id)
                if t.error:
                    item.setToolTip(t.error)
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        for t in self._tracks:
            if t.status == "error" and t.error:
                self.errors.addItem(f"{Path(t.path).name}: {t.error}")
        for path, msg in problems:
            self.errors.addItem(f"{Path(path).name}: {msg}")
        self.errors_title.setText(f"Problems ({self.errors.count()})")
        self._apply_filter(self.search.text())
        self._update_enabled()

    def _open(self) -> None:
        start = str(Path(self.path_edit.text()).parent) if self.path_edit.text() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open catalog", start, "Catalogs (*.sqlite *.db);;All files (*)")
        if path:
            self.open_requested.emit(path, False)

    def _new(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New catalog", "catalog.sqlite", "Catalogs (*.sqlite)")
        if path:
            self.open_requested.emit(path, True)

    # -- jobs ---------------------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of music")
        if folder:
            self.start_add_folder(folder)

    def start_add_folder(self, folder: str) -> Optional[Job]:
        if self.catalog is None:
            self.message.emit("Open or create a catalog first.")
            return None
        path = str(self.catalog.path)
        job = Job(lambda ctx: self.backend.add_folder(path, folder, progress=ctx.progress, should_cancel=ctx.should_cancel),
                  name="folder scan")
        job.progress.connect(self.progress.set_progress)
        job.succeeded.connect(self._scan_done)
        job.failed.connect(self._job_failed)
        job.cancelled.connect(lambda: self.report_label.setText("Scan cancelled: run it again to resume."))
        self.report_label.setText(f"Scanning {folder}…")
        self.progress.start("Scanning")
        return self.slot.start(job)

    def start_index(self) -> Optional[Job]:
        if self.catalog is None:
            self.message.emit("Open or create a catalog first.")
            return None
        path = str(self.catalog.path)
        job = Job(lambda ctx: self.backend.index_catalog(path, progress=ctx.progress, should_cancel=ctx.should_cancel),
                  name="catalog analysis")
        job.progress.connect(self.progress.set_progress)
        job.succeeded.connect(self._index_done)
        job.failed.connect(self._job_failed)
        job.cancelled.connect(lambda: self.report_label.setText("Analysis cancelled: run it again to resume."))
        self.report_label.setText("Analysing the catalog…")
        self.progress.start("Analysing")
        return self.slot.start(job)

    def _scan_done(self, report) -> None:
        text = report.summary() if hasattr(report, "summary") else str(report)
        self.report_label.setText(f"Folder scanned: {text}.")
        self.refresh()
        self.catalog_modified.emit()

    def _index_done(self, summary) -> None:
        self.report_label.setText(f"Analysis done: {summary}.")
        self.refresh()
        self.catalog_modified.emit()

    def _job_failed(self, sentence: str) -> None:
        self.report_label.setText(sentence)
        self.message.emit(sentence)

    def _on_busy(self, busy: bool) -> None:
        if not busy:
            self.progress.stop()
        self._update_enabled()

    # -- selection ----------------------------------------------------------------------------------
    def _apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for r in range(self.table.rowCount()):
            hay = " ".join((self.table.item(r, c).text() if self.table.item(r, c) else "") for c in (0, 1, 5)).casefold()
            self.table.setRowHidden(r, bool(needle) and needle not in hay)

    def selected_candidate(self) -> Optional[Candidate]:
        rows = self.table.selectionModel().selectedRows()
        if not rows or self.catalog is None:
            return None
        tid = self.table.item(rows[0].row(), 0).data(Qt.UserRole)
        t = self.catalog.get_track(int(tid))
        if t is None:
            return None
        return Candidate(track_id=t.id, path=t.path, title=t.title or Path(t.path).stem, artist=t.artist or "",
                         duration_s=t.duration_s, bpm=t.bpm_tag, source="catalog", raw=t)

    def select_track(self, track_id: int) -> None:
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.UserRole) == track_id:
                self.table.selectRow(r)
                return

    def _emit_selected(self, signal) -> None:
        c = self.selected_candidate()
        if c is not None:
            signal.emit(c)

    def _update_enabled(self) -> None:
        has = self.catalog is not None
        busy = self.slot.is_busy()
        self.add_button.setEnabled(has and not busy)
        self.index_button.setEnabled(has and not busy)
        sel = bool(self.table.selectionModel().selectedRows())
        for b in (self.similar_button, self.preview_button, self.playlist_button):
            b.setEnabled(sel)

    def closeEvent(self, ev):  # noqa: N802 (Qt API) - hide, keep jobs running
        ev.accept()
