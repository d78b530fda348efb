"""What a browsing view reads of a catalog: the ordered, filtered track ids, then rows a page at a time.

The app's catalog view (and any list of a big catalog) never holds every track: :func:`browse_ids`
returns the ids of the tracks that match a :class:`BrowseQuery` (a filter text, a sort column and
direction) in display order, from one SQL query (8 bytes per track: 0.8 MB for 100k tracks; filtering
and sorting are done by SQLite), and :func:`browse_rows` reads the few rows on screen by id.
:func:`problems` lists what the view's "Problems" list shows.

The title shown for a track is its title, else its file name without the suffix (as
:meth:`~supervisor_app.catalog.store.Track.display_name` and the app always showed it); it is computed
in SQL (:data:`DISPLAY_TITLE_SQL`) so that sorting by title sorts what is shown. Text sorts ignore
ASCII case (``COLLATE NOCASE``); ties are broken by id, so an order is always the same.

The filter keeps the tracks whose title shown, artist or path contains the text, ignoring case: an
ASCII text is compared with SQLite's ``lower()`` (so "strasse" does not find "Straße", which
``str.casefold`` would), any other text with Python's ``casefold`` (slower, called per row).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

__all__ = ["BrowseQuery", "BrowseRow", "SORT_KEYS", "DISPLAY_TITLE_SQL", "browse_ids", "browse_rows", "problems"]

# The file name of ``path`` (what follows the last '/'), then its stem (Path.stem: the name without its
# last suffix; a leading dot or a trailing dot is not a suffix).
_FNAME = "substr(path, length(rtrim(path, replace(path, '/', ''))) + 1)"
_STEM = (f"(CASE WHEN instr(substr({_FNAME}, 2), '.') > 0 AND substr({_FNAME}, -1) != '.' "
         f"THEN substr({_FNAME}, 1, length(rtrim({_FNAME}, replace({_FNAME}, '.', ''))) - 1) ELSE {_FNAME} END)")
#: SQL for the title a track is shown with: its title, else its file's stem.
DISPLAY_TITLE_SQL = f"coalesce(nullif(title, ''), {_STEM})"

#: Sort column name → SQL key (the view's columns: Title, Artist, Length, BPM, Status, File).
SORT_KEYS = {
    "title": f"{DISPLAY_TITLE_SQL} COLLATE NOCASE",
    "artist": "coalesce(artist, '') COLLATE NOCASE",
    "duration_s": "duration_s",
    "bpm_tag": "bpm_tag",
    "status": "status",
    "path": "path",
    "id": "id",
}


@dataclass(frozen=True)
class BrowseQuery:
    """Which tracks, in which order. ``text``: filter ('' keeps all); ``sort``: a key of :data:`SORT_KEYS`."""

    text: str = ""
    sort: str = "title"
    descending: bool = False
    include_missing: bool = True


@dataclass(frozen=True)
class BrowseRow:
    """One track as a list shows it (``title``: the title shown, see :data:`DISPLAY_TITLE_SQL`)."""

    id: int
    title: str
    artist: str
    duration_s: Optional[float]
    bpm_tag: Optional[float]
    status: str
    path: str
    error: Optional[str]


def _casefold(text):
    return None if text is None else str(text).casefold()


def _filter_sql(catalog, text: str) -> tuple[str, list]:
    needle = text.strip().casefold()
    if not needle:
        return "", []
    hay = f"{DISPLAY_TITLE_SQL} || ' ' || coalesce(artist, '') || ' ' || path"
    if needle.isascii():
        return f"instr(lower({hay}), ?) > 0", [needle]
    # SQLite's lower() folds ASCII only: other text goes through Python's casefold (slower, rarely typed)
    catalog._db.create_function("sv_casefold", 1, _casefold, deterministic=True)
    return f"instr(sv_casefold({hay}), ?) > 0", [needle]


def browse_ids(catalog, query: BrowseQuery = BrowseQuery()) -> np.ndarray:
    """(n,) int64 ids of the tracks matching ``query``, in its order (one query, no Track objects)."""
    if query.sort not in SORT_KEYS:
        raise ValueError(f"unknown sort key {query.sort!r}: one of {', '.join(SORT_KEYS)}")
    conds, args = [], []
    if not query.include_missing:
        conds.append("status != 'missing'")
    cond, fargs = _filter_sql(catalog, query.text)
    if cond:
        conds.append(cond)
        args += fargs
    direction = "DESC" if query.descending else "ASC"
    order = f"{SORT_KEYS[query.sort]} {direction}, id {direction}" if query.sort != "id" else f"id {direction}"
    sql = f"SELECT id FROM tracks{' WHERE ' + ' AND '.join(conds) if conds else ''} ORDER BY {order}"
    cur = catalog._db.cursor()
    cur.row_factory = None
    rows = cur.execute(sql, args).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


_ROW_SQL = f"SELECT id, {DISPLAY_TITLE_SQL}, artist, duration_s, bpm_tag, status, path, error FROM tracks WHERE id IN "
_MAX_VARS = 500


def browse_rows(catalog, ids: Sequence[int]) -> dict[int, BrowseRow]:
    """{id: row} of the listed tracks that still exist (by primary key: cheap for a page of ids)."""
    out: dict[int, BrowseRow] = {}
    ids = [int(i) for i in ids]
    cur = catalog._db.cursor()
    cur.row_factory = None
    for a in range(0, len(ids), _MAX_VARS):
        chunk = ids[a:a + _MAX_VARS]
        for r in cur.execute(_ROW_SQL + f"({', '.join('?' * len(chunk))})", chunk):
            out[int(r[0])] = BrowseRow(id=int(r[0]), title=r[1] or "", artist=r[2] or "", duration_s=r[3],
                                       bpm_tag=r[4], status=r[5], path=r[6], error=r[7])
    return out


def problems(catalog) -> list[tuple[str, str]]:
    """(path, message) of what went wrong: tracks in 'error' (by id), then the scans' problems (by path)."""
    cur = catalog._db.cursor()
    cur.row_factory = None
    rows = cur.execute("SELECT path, error FROM tracks WHERE status = 'error' AND error IS NOT NULL "
                       "AND error != '' ORDER BY id").fetchall()
    return [(r[0], r[1]) for r in rows] + list(catalog.scan_errors())
