"""Reading a big catalog's tracks page by page instead of all at once.

:meth:`Catalog.tracks` builds one :class:`~supervisor_app.catalog.store.Track` per row: fine for
thousands of tracks, ~10 s and ~1 GB for a million. These helpers keep the cost proportional to
what is shown:

- :func:`tracks_after` — one page in id order after a given id (keyset paging: the same cost for
  the first and the millionth page);
- :func:`iter_tracks` — every track, a page at a time (constant memory);
- :class:`LazyTracks` — a read-only sequence for list views: ``len()`` and the ids come from one
  query (8 bytes per track), the rows of a page are read when a row of that page is first asked for,
  and only the last few pages are kept.

Same filters as :meth:`Catalog.tracks`: without ``include_missing`` the 'missing' tracks are left out;
``status`` selects one status.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator, Optional, Sequence

import numpy as np

from supervisor_app.catalog.store import Track, _check_status, _track

DEFAULT_PAGE = 1000

__all__ = ["tracks_after", "iter_tracks", "track_ids", "LazyTracks", "DEFAULT_PAGE"]


def _where(include_missing: bool, status: Optional[str]) -> tuple[str, list]:
    if status is not None:
        _check_status(status)
        return "status = ?", [status]
    if not include_missing:
        return "status != 'missing'", []
    return "1", []


def tracks_after(catalog, after_id: int = 0, limit: int = DEFAULT_PAGE, include_missing: bool = False,
                 status: Optional[str] = None) -> list[Track]:
    """Up to ``limit`` tracks with id > ``after_id``, ordered by id."""
    cond, args = _where(include_missing, status)
    rows = catalog._db.execute(f"SELECT * FROM tracks WHERE id > ? AND {cond} ORDER BY id LIMIT ?",
                               [int(after_id), *args, int(limit)])
    return [_track(r) for r in rows]


def iter_tracks(catalog, page_size: int = DEFAULT_PAGE, include_missing: bool = False,
                status: Optional[str] = None) -> Iterator[Track]:
    """Every track in id order, read ``page_size`` rows at a time."""
    last = 0
    while True:
        page = tracks_after(catalog, last, page_size, include_missing, status)
        yield from page
        if len(page) < page_size:
            return
        last = page[-1].id


def track_ids(catalog, include_missing: bool = False, status: Optional[str] = None) -> np.ndarray:
    """(n,) int64 ids in id order, from one query (no Track objects)."""
    cond, args = _where(include_missing, status)
    cur = catalog._db.cursor()
    cur.row_factory = None
    rows = cur.execute(f"SELECT id FROM tracks WHERE {cond} ORDER BY id", args)
    return np.fromiter((r[0] for r in rows), dtype=np.int64)


class LazyTracks(Sequence):
    """The catalog's tracks as a sequence whose rows are read a page at a time, when first asked for.

    ``len()`` is known from the start; ``lt[i]`` is the i-th track in id order. Pages of ``page_size``
    rows, at most ``cached_pages`` kept (least recently used dropped). A snapshot: tracks added after it
    was made are not in it (make a new one); a deleted one reads as None once its page is read again.
    """

    def __init__(self, catalog, page_size: int = DEFAULT_PAGE, include_missing: bool = False,
                 status: Optional[str] = None, cached_pages: int = 8):
        self._catalog = catalog
        self.page_size = max(1, int(page_size))
        self._cached = max(1, int(cached_pages))
        self._cond, self._args = _where(include_missing, status)
        self.ids = track_ids(catalog, include_missing, status)
        self._pages: OrderedDict[int, dict[int, Track]] = OrderedDict()

    def __len__(self) -> int:
        return int(len(self.ids))

    def _page(self, p: int) -> dict[int, Track]:
        page = self._pages.get(p)
        if page is not None:
            self._pages.move_to_end(p)
            return page
        a = p * self.page_size
        b = min(len(self.ids), a + self.page_size)
        rows = self._catalog._db.execute(
            f"SELECT * FROM tracks WHERE id BETWEEN ? AND ? AND {self._cond} ORDER BY id",
            [int(self.ids[a]), int(self.ids[b - 1]), *self._args])
        page = {r["id"]: _track(r) for r in rows}
        self._pages[p] = page
        while len(self._pages) > self._cached:
            self._pages.popitem(last=False)
        return page

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("track index out of range")
        return self._page(i // self.page_size).get(int(self.ids[i]))
