"""The catalog window: create/open a catalog, add folders, index with progress, per-file problems, stats, tracks.

Long jobs (scanning a folder, indexing) run in this window's own job slot; per-file problems are
listed, never shown as pop-ups. The track list is lazy (:class:`~.catalog_model.CatalogTableModel`): a
catalog of 100k tracks is listed, filtered and sorted by SQLite in a worker, and only the rows on screen
are read; the stats line and the problems come from another worker, once the window is shown. Until an answer arrives the window
says so beside the filter ("Listing tracks…", "Filtering…"; the stats line "(updating…)"), and an answer
for an older filter, sort or catalog is never shown. Signals: ``open_requested(path, create)`` (the main
window owns the catalog connection and answers with :meth:`set_catalog`), ``catalog_modified()``, and
for the selected track ``similar_requested``, ``preview_requested``, ``add_to_playlist_requested`` (each
a Candidate).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QListWidget, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)

from supervisor_app.gui.backend import Candidate
from supervisor_app.gui.catalog_model import CatalogTableModel
from supervisor_app.gui.widgets import ProgressStrip, heading
from supervisor_app.gui.workers import Job, JobSlot

FILTER_DELAY_MS = 150  # typing in the filter lists again once the keys pause this long


def _summary(ctx, backend, path: str) -> tuple[str, list[tuple[str, str]]]:
    """The stats line and the problems (a worker job with its own connection: ``stats()`` reads every analysis)."""
    from supervisor_app.catalog import Catalog
    from supervisor_app.catalog.browse import problems

    with Catalog.open(path) as cat:
        text = backend.catalog_stats_text(cat)
        ctx.check()
        return text, problems(cat)


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
        self.summary_slot = JobSlot(self)
        self._summary_current = True
        self._summary_wanted = False
        self._pending_select: Optional[int] = None

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
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(lambda: self._apply_filter(self.search.text()))
        self.search.textChanged.connect(lambda _text: self._filter_timer.start())
        self.list_label = QLabel()
        self.list_label.setEnabled(False)
        self.model = CatalogTableModel(self)
        self.model.loading_changed.connect(self._on_loading)
        self.model.listed.connect(self._on_listed)
        self.model.failed.connect(self.message)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        h = self.table.horizontalHeader()
        h.setSortIndicator(0, Qt.AscendingOrder)  # by title at first (what setSortingEnabled lists)
        self.table.setSortingEnabled(True)
        h.sortIndicatorChanged.connect(lambda *_: self._remember_selection())
        h.setSectionResizeMode(0, QHeaderView.Stretch)
        # fixed widths: ResizeToContents would measure every row (all 100k of a big catalog)
        for c, w in ((1, 150), (2, 64), (3, 48), (4, 64), (5, 220)):
            h.resizeSection(c, w)
        self.table.selectionModel().selectionChanged.connect(self._update_enabled)
        self.errors = QListWidget()
        self.errors.setAlternatingRowColors(True)
        self.errors_title = heading("Problems")
        tracks_box = QWidget()
        tl = QVBoxLayout(tracks_box)
        tl.setContentsMargins(0, 0, 0, 0)
        search_row = QHBoxLayout()
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.list_label)
        tl.addLayout(search_row)
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
        self._pending_select = None
        self.path_edit.setText(str(catalog.path) if catalog is not None else "")
        self.model.set_catalog(catalog)
        self._refresh_summary()
        self._update_enabled()

    def refresh(self) -> None:
        """The catalog changed: list its tracks, stats and problems again (in workers)."""
        self._remember_selection()
        self.model.reload()
        self._refresh_summary()
        self._update_enabled()

    def is_populated(self) -> bool:
        """The track list is that of the catalog, filter and sort as they are now."""
        return self.catalog is None or not self.model.is_loading()

    def is_summary_current(self) -> bool:
        """The stats line and the problems are those of the catalog as it is now."""
        return self._summary_current

    def _refresh_summary(self) -> None:
        if self.catalog is None:
            self.summary_slot.cancel()
            self.stats_label.setText("")
            self.errors.clear()
            self.errors_title.setText("Problems")
            self._summary_current = True
            return
        self._summary_current = False
        old = self.stats_label.text().removesuffix(" (updating…)")
        self.stats_label.setText(f"{old} (updating…)" if old else "Counting…")
        if not self.isVisible():  # made when the window shows: it reads every analysis row (~0.5 s at 100k)
            self._summary_wanted = True
            return
        self._summary_wanted = False
        job = Job(_summary, self.backend, str(self.catalog.path), name="catalog summary")
        job.succeeded.connect(self._show_summary)
        job.failed.connect(self._summary_failed)
        self.summary_slot.start(job)

    def _show_summary(self, result) -> None:
        if self.sender() is not self.summary_slot.job:
            return
        text, problems = result
        self.stats_label.setText(text)
        self.errors.clear()
        for path, msg in problems:
            self.errors.addItem(f"{Path(path).name}: {msg}")
        self.errors_title.setText(f"Problems ({self.errors.count()})")
        self._summary_current = True

    def _summary_failed(self, sentence: str) -> None:
        if self.sender() is not self.summary_slot.job:
            return
        self.stats_label.setText(sentence)
        self._summary_current = True
        self.message.emit(sentence)

    def _on_loading(self, loading: bool) -> None:
        if loading:
            self.list_label.setText("Filtering…" if self.model.query.text.strip() else "Listing tracks…")
        elif self.catalog is None:
            self.list_label.setText("")
        self.table.setEnabled(not loading or self.model.rowCount() == 0)  # greyed: the rows are about to change
        self._update_enabled()

    def _on_listed(self, n: int) -> None:
        total = self.catalog.count(include_missing=True) if self.catalog is not None else 0
        self.list_label.setText(f"{n:,} of {total:,} tracks" if self.model.query.text.strip() else f"{n:,} tracks")
        if self._pending_select is not None:
            tid, self._pending_select = self._pending_select, None
            self.select_track(tid)
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
        """List the tracks whose title, artist or path contains ``text`` (any case), in a worker."""
        self._filter_timer.stop()
        self._remember_selection()
        self.model.set_filter(text.strip())

    def _remember_selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and self._pending_select is None:
            self._pending_select = self.model.track_id(rows[0].row())

    def selected_candidate(self) -> Optional[Candidate]:
        rows = self.table.selectionModel().selectedRows()
        if not rows or self.catalog is None:
            return None
        tid = self.model.track_id(rows[0].row())
        t = self.catalog.get_track(int(tid)) if tid is not None else None
        if t is None:
            return None
        return Candidate(track_id=t.id, path=t.path, title=t.title or Path(t.path).stem, artist=t.artist or "",
                         duration_s=t.duration_s, bpm=t.bpm_tag, source="catalog", raw=t)

    def select_track(self, track_id: int) -> None:
        """Select the track (once the list being made has arrived); nothing when it is not listed."""
        if self.model.is_loading():
            self._pending_select = int(track_id)
            return
        row = self.model.row_of(track_id)
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        else:
            self.table.clearSelection()

    def _emit_selected(self, signal) -> None:
        c = self.selected_candidate()
        if c is not None:
            signal.emit(c)

    def _update_enabled(self) -> None:
        has = self.catalog is not None
        busy = self.slot.is_busy()
        self.add_button.setEnabled(has and not busy)
        self.index_button.setEnabled(has and not busy)
        sel = bool(self.table.selectionModel().selectedRows()) and not self.model.is_loading()
        for b in (self.similar_button, self.preview_button, self.playlist_button):
            b.setEnabled(sel)

    def showEvent(self, ev):  # noqa: N802 (Qt API)
        super().showEvent(ev)
        if self._summary_wanted:
            self._refresh_summary()

    def closeEvent(self, ev):  # noqa: N802 (Qt API) - hide, keep jobs running
        ev.accept()
