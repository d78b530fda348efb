"""The catalog view's table model: a big catalog listed without reading every track.

``set_catalog`` / ``set_filter`` / ``sort`` / ``reload`` start one listing job (a worker thread with its
own catalog connection) that asks SQLite for the ids of the matching tracks in display order
(:func:`supervisor_app.catalog.browse.browse_ids`: ~0.1 s and 0.8 MB for 100k tracks). When they arrive
the model resets to them: ``rowCount`` is their number, and the rows on screen are read a page at a
time, by id, when the view first asks for them (:func:`~supervisor_app.catalog.browse.browse_rows`
on the GUI thread's connection: about a millisecond a page); only the last few pages are kept.

Never stale: each listing carries a generation number and only the latest one is shown; while one
runs, ``is_loading()`` is true and ``loading_changed`` tells the window (which says so beside the
filter); a track deleted since the listing shows as removed, not as another track.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Optional

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal

from supervisor_app.catalog.browse import BrowseQuery, BrowseRow, browse_ids, browse_rows
from supervisor_app.gui.widgets import fmt_duration
from supervisor_app.gui.workers import Job, JobSlot

log = logging.getLogger(__name__)

COLUMNS = ("Title", "Artist", "Length", "BPM", "Status", "File")
SORT_KEYS = ("title", "artist", "duration_s", "bpm_tag", "status", "path")
TITLE, ARTIST, LENGTH, BPM, STATUS, FILE = range(6)
REMOVED = "(no longer in the catalog)"


def _list_ids(ctx, path: str, query: BrowseQuery) -> np.ndarray:
    """The listing job: its own connection (SQLite connections stay on their thread)."""
    from supervisor_app.catalog import Catalog

    with Catalog.open(path) as cat:
        ctx.check()
        return browse_ids(cat, query)


class CatalogTableModel(QAbstractTableModel):
    """Rows = the tracks of the current :class:`BrowseQuery`; ``Qt.UserRole`` of any cell = the track id."""

    loading_changed = Signal(bool)
    listed = Signal(int)  # a listing arrived: its number of rows
    failed = Signal(str)  # one sentence

    def __init__(self, parent: Optional[QObject] = None, page_size: int = 200, cached_pages: int = 16):
        super().__init__(parent)
        self.catalog = None
        self.page_size = max(1, int(page_size))
        self._cached = max(2, int(cached_pages))
        self.query = BrowseQuery()
        self._ids = np.zeros(0, np.int64)
        self._pages: OrderedDict[int, dict[int, BrowseRow]] = OrderedDict()
        self._generation = 0
        self._listed_generation = -1
        self.slot = JobSlot(self)
        self.pages_read = 0  # pages read from the catalog so far (tests: nothing is read up front)

    # -- what to list ---------------------------------------------------------------------------
    def set_catalog(self, catalog) -> None:
        """List ``catalog`` (a GUI-thread :class:`~supervisor_app.catalog.Catalog`, or None)."""
        self.catalog = catalog
        self.beginResetModel()
        self._ids = np.zeros(0, np.int64)
        self._pages.clear()
        self.endResetModel()
        self._list()

    def set_filter(self, text: str) -> None:
        if text != self.query.text:
            self.query = BrowseQuery(text=text, sort=self.query.sort, descending=self.query.descending)
            self._list()

    def sort(self, column: int, order: Qt.SortOrder = Qt.AscendingOrder) -> None:  # noqa: D401 (Qt API)
        if not 0 <= column < len(SORT_KEYS):
            return
        q = BrowseQuery(text=self.query.text, sort=SORT_KEYS[column], descending=order == Qt.DescendingOrder)
        if q != self.query:
            self.query = q
            self._list()

    def reload(self) -> None:
        """List again (the catalog changed): the rows shown are read again too."""
        self._list()

    def _list(self) -> None:
        self._generation += 1
        gen = self._generation
        if self.catalog is None:
            self.slot.cancel()
            self._listed_generation = gen
            self.loading_changed.emit(False)
            return
        job = Job(_list_ids, str(self.catalog.path), self.query, name="catalog listing")
        job.succeeded.connect(lambda ids, g=gen: self._listed(g, ids))
        job.failed.connect(lambda sentence, g=gen: self._list_failed(g, sentence))
        self.slot.start(job)
        self.loading_changed.emit(True)

    def _listed(self, gen: int, ids: np.ndarray) -> None:
        if gen != self._generation:
            return  # an older query's answer: never shown
        self.beginResetModel()
        self._ids = ids
        self._pages.clear()
        self.endResetModel()
        self._listed_generation = gen
        self.loading_changed.emit(False)
        self.listed.emit(len(ids))

    def _list_failed(self, gen: int, sentence: str) -> None:
        if gen != self._generation:
            return
        self.beginResetModel()
        self._ids = np.zeros(0, np.int64)
        self._pages.clear()
        self.endResetModel()
        self._listed_generation = gen
        self.loading_changed.emit(False)
        self.failed.emit(sentence)

    def is_loading(self) -> bool:
        return self._listed_generation != self._generation

    # -- rows ---------------------------------------------------------------------------------------
    def ids(self) -> np.ndarray:
        """The listed track ids in display order (read-only view)."""
        v = self._ids.view()
        v.flags.writeable = False
        return v

    def track_id(self, row: int) -> Optional[int]:
        return int(self._ids[row]) if 0 <= row < len(self._ids) else None

    def row_of(self, track_id: int) -> Optional[int]:
        hits = np.flatnonzero(self._ids == int(track_id))
        return int(hits[0]) if len(hits) else None

    def row_data(self, row: int) -> Optional[BrowseRow]:
        """The track on ``row`` (None when it was removed since the listing)."""
        if not 0 <= row < len(self._ids):
            return None
        p = row // self.page_size
        page = self._pages.get(p)
        if page is None:
            a = p * self.page_size
            try:
                page = browse_rows(self.catalog, self._ids[a:a + self.page_size]) if self.catalog is not None else {}
            except Exception as e:  # noqa: BLE001 (a damaged file or a closed catalog: show nothing, say why once)
                log.warning("catalog rows not read: %s", e)
                page = {}
            self.pages_read += 1
            self._pages[p] = page
            while len(self._pages) > self._cached:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(p)
        return page.get(int(self._ids[row]))

    # -- Qt model API -------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else int(len(self._ids))

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.DisplayRole):  # noqa: N802 (Qt API)
        if orientation == Qt.Horizontal and role == Qt.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.UserRole:
            return self.track_id(index.row())
        if role not in (Qt.DisplayRole, Qt.ToolTipRole):
            return None
        t = self.row_data(index.row())
        if role == Qt.ToolTipRole:
            return t.error if t is not None and t.error else None
        if t is None:
            return REMOVED if index.column() == TITLE else ""
        c = index.column()
        if c == TITLE:
            return t.title
        if c == ARTIST:
            return t.artist
        if c == LENGTH:
            return fmt_duration(t.duration_s)
        if c == BPM:
            return "" if t.bpm_tag is None else f"{t.bpm_tag:.0f}"
        if c == STATUS:
            return t.status
        return t.path
