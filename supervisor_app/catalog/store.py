"""The catalog: one SQLite file holding tracks, their analyses and embeddings, and playlists.

Open it with :meth:`Catalog.create` or :meth:`Catalog.open` (both are context managers). Every write
runs in its own transaction (``BEGIN IMMEDIATE`` … ``COMMIT``); group many writes with
``with catalog.transaction(): ...``. The file is in WAL mode, so readers in other threads or
processes are never blocked by a scan that is writing.

Threads: a :class:`Catalog` object belongs to the thread that opened it (SQLite's own check raises
``ProgrammingError`` otherwise); a worker thread opens its own ``Catalog`` on the same path.

Times are unix seconds (float). JSON columns (tags, rights, analysis results, playlist payloads)
come back as Python lists/dicts; numpy arrays and scalars in them are stored as lists/numbers.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields as _dc_fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Sequence

import numpy as np

from supervisor_app import __version__
from supervisor_app.infra import errors
from supervisor_app.infra.fileio import json_dumps

if TYPE_CHECKING:  # annotation only: the store imports the scanner when add_folder runs, not at import
    from supervisor_app.catalog.scan import ScanReport
from supervisor_app.catalog import schema

_SQLITE_MAGIC = b"SQLite format 3\x00"
_BUSY_TIMEOUT_MS = 30_000
_UNSET: Any = object()
TRACK_STATUSES = ("ok", "missing", "error")


# --- records --------------------------------------------------------------------------------
@dataclass
class Track:
    """One audio file of the catalog (every column of the ``tracks`` table)."""

    id: int
    path: str
    content_hash: str
    size_bytes: int
    mtime: float  # file modification time, unix seconds
    duration_s: Optional[float]
    title: Optional[str]
    artist: Optional[str]
    album: Optional[str]
    genre: Optional[str]
    bpm_tag: Optional[float]  # tempo from the file's tags, beats per minute
    status: str  # 'ok' | 'missing' | 'error'
    error: Optional[str]
    added_at: float  # unix seconds
    tags: list = field(default_factory=list)  # user tags (strings)
    notes: Optional[str] = None
    rights: dict = field(default_factory=dict)  # e.g. {"cleared": True, "budget_eur": 5000}
    # library metadata and rights (user/import fields, see catalog.fields); None = unknown
    composer: Optional[str] = None
    publisher: Optional[str] = None
    label: Optional[str] = None
    isrc: Optional[str] = None
    iswc: Optional[str] = None
    pro: Optional[str] = None
    one_stop: Optional[bool] = None
    territories: Optional[str] = None
    restrictions: Optional[str] = None
    cleared_for: Optional[str] = None
    description: Optional[str] = None
    locked: list = field(default_factory=list)  # file-tag fields the user set (kept on rescans)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @property
    def display_name(self) -> str:
        """'artist - title' (the title falls back to the file name)."""
        title = self.title or Path(self.path).stem
        return f"{self.artist} - {title}" if self.artist else title


@dataclass
class AnalysisRecord:
    track_id: int
    analyzer: str
    version: str
    result: Optional[dict]  # None when the analysis failed
    error: Optional[str]
    computed_at: float  # unix seconds


@dataclass
class Playlist:
    id: int
    name: str
    created_at: float  # unix seconds
    n_entries: int


@dataclass
class PlaylistEntry:
    entry_id: int
    playlist_id: int
    position: int  # 0-based
    track_id: int
    note: Optional[str]
    payload: Optional[dict]  # e.g. the mockup edit


# --- JSON helpers ---------------------------------------------------------------------------
def _loads(text):
    return None if text is None else json.loads(text)


# --- the catalog ----------------------------------------------------------------------------
class Catalog:
    """A catalog file. Create with :meth:`create`, open with :meth:`open`; close with :meth:`close`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, read_only: bool = False):
        self._conn = conn
        self.path = path
        self._tx_depth = 0
        #: True when the file or its folder cannot be written (e.g. a read-only mount): reads work, writes
        #: raise :class:`~supervisor_app.infra.errors.CatalogReadOnlyError`.
        self.read_only = read_only

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path) -> "Catalog":
        """Create a catalog at ``path`` (or open it if it already is one).

        Refuses (``CatalogError``) to touch a file that is not a catalog.
        """
        path = Path(os.path.abspath(os.fspath(path)))
        if path.is_dir():
            raise errors.CatalogError(f"{path} is a folder, not a catalog file: give a file name such as {path / 'catalog.sqlite'}.")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise errors.CatalogError(f"Cannot create the folder {path.parent} for the catalog ({e.strerror or e}).") from None
        return cls._connect(path, create=True)

    @classmethod
    def open(cls, path: str | Path) -> "Catalog":
        """Open an existing catalog (``CatalogNotFoundError`` if there is none at ``path``)."""
        path = Path(os.path.abspath(os.fspath(path)))
        if not path.exists():
            raise errors.CatalogNotFoundError(path)
        if path.is_dir():
            raise errors.CatalogError(f"{path} is a folder, not a catalog file.")
        return cls._connect(path, create=False)

    @classmethod
    def _connect(cls, path: Path, create: bool) -> "Catalog":
        _check_header(path)
        read_only = path.exists() and not _writable(path)
        if read_only and create and not path.stat().st_size:
            raise errors.CatalogReadOnlyError(path, "a new catalog")
        # A read-only catalog is opened immutable: SQLite then needs no -wal/-shm files beside it (which a
        # read-only folder cannot hold), and reads work as usual.
        mode = "ro&immutable=1" if read_only else ("rwc" if create else "rw")
        try:
            conn = sqlite3.connect(
                f"{path.as_uri()}?mode={mode}", uri=True, isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000
            )
        except sqlite3.Error as e:
            if not path.exists() and not _writable(path):
                raise errors.CatalogError(f"Cannot create the catalog {path}: the folder {path.parent} is read-only; "
                                          f"give a path in a writable folder.") from None
            if not _writable(path):
                raise errors.CatalogReadOnlyError(path) from None
            raise errors.CatalogError(f"Cannot open the catalog {path} ({e}).") from None
        conn.row_factory = sqlite3.Row
        cat = cls(conn, path, read_only=read_only)
        try:
            cat._prepare()
        except BaseException:
            conn.close()
            raise
        return cat

    def _prepare(self) -> None:
        conn, path = self._conn, self.path
        try:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            version = self._read_version()
            if version > schema.SCHEMA_VERSION:
                raise errors.CatalogError(
                    f"The catalog {path} was written by a newer supervisor-app (schema {version}; this "
                    f"version reads up to {schema.SCHEMA_VERSION}): update supervisor-app to open it."
                )
            if self.read_only:
                if version < schema.SCHEMA_VERSION:
                    raise errors.CatalogReadOnlyError(path, "its update to this version's format")
                return
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise errors.CatalogError(f"The catalog {path} cannot be switched to WAL mode (got {mode!r}).")
            conn.execute("PRAGMA synchronous = NORMAL")
            if version < schema.SCHEMA_VERSION:
                self._migrate(version)
        except sqlite3.DatabaseError as e:
            user_error = _user_db_error(path, e)
            if user_error is not None:
                raise user_error from None
            raise errors.CatalogError(f"The catalog {path} cannot be read: it is damaged or not a catalog ({e}).") from None

    def _read_version(self) -> int:
        """Schema version of the open file: 0 for a fresh file; errors for foreign files."""
        conn, path = self._conn, self.path
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        n_objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != schema.APPLICATION_ID:
            if n_objects == 0 and app_id == 0:
                return 0  # an empty database (e.g. a creation killed before its first commit): set it up
            raise errors.CatalogError(f"{path} is not a supervisor-app catalog (it is another program's database).")
        try:
            row = conn.execute("SELECT version FROM schema_version").fetchone()
        except sqlite3.OperationalError:
            row = None
        if row is None:
            raise errors.CatalogError(f"The catalog {path} is damaged: it has no schema version.")
        return int(row[0])

    def _migrate(self, from_version: int) -> None:
        conn = self._conn
        if from_version >= 1:
            self._backup(self.path.with_name(f"{self.path.name}.schema{from_version}.bak"))
        with self.transaction():
            # Another process may have migrated (or created) the file while we waited for the lock.
            current = self._read_version()
            for target in range(current + 1, schema.SCHEMA_VERSION + 1):
                schema.apply_migration(conn, schema.MIGRATIONS[target - 1])
                if target == 1:
                    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
                    conn.execute("INSERT INTO schema_version (version) VALUES (1)")
                    conn.executemany(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                        [("created_at", repr(time.time())), ("created_by", f"supervisor-app {__version__}")],
                    )
                else:
                    conn.execute("UPDATE schema_version SET version = ?", (target,))

    def _backup(self, dest: Path) -> None:
        """Copy the catalog (consistently) before a migration touches it."""
        target = sqlite3.connect(dest)
        try:
            self._conn.backup(target)
        finally:
            target.close()

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Catalog({str(self.path)!r})"

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("SELECT version FROM schema_version").fetchone()[0])

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise errors.CatalogError(f"The catalog {self.path} is closed.")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Group writes in one transaction (nested calls join the outer one)."""
        conn = self._db
        if self.read_only:
            raise errors.CatalogReadOnlyError(self.path, "changes")
        if self._tx_depth:
            self._tx_depth += 1
            try:
                yield conn
            finally:
                self._tx_depth -= 1
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise (_user_db_error(self.path, e) or e) from None
        self._tx_depth = 1
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            user_error = _user_db_error(self.path, exc) if isinstance(exc, sqlite3.OperationalError) else None
            if user_error is not None:
                raise user_error from None
            raise
        finally:
            self._tx_depth = 0

    def get_meta(self, key: str) -> Optional[str]:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: Optional[str]) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` verdict ('ok' when the file is sound)."""
        rows = self._db.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(str(r[0]) for r in rows)

    # -- scanning ---------------------------------------------------------------------------
    def add_folder(
        self,
        folder: str | Path,
        progress: Optional[Callable[[Optional[float], str], None]] = None,  # infra.jobs.ProgressFn
        should_cancel: Optional[Callable[[], bool]] = None,
        skip: Optional[Callable[[str], bool]] = None,
    ) -> "ScanReport":
        """Index the audio files under ``folder`` (see :func:`supervisor_app.catalog.scan.scan_folder`)."""
        from supervisor_app.catalog.scan import scan_folder

        return scan_folder(self, folder, progress=progress, should_cancel=should_cancel, skip=skip)

    # -- tracks: reading --------------------------------------------------------------------
    def tracks(self, include_missing: bool = False, status: Optional[str] = None) -> list[Track]:
        """All tracks ordered by id; without ``include_missing`` the 'missing' ones are left out."""
        sql, args = "SELECT * FROM tracks", []
        if status is not None:
            _check_status(status)
            sql += " WHERE status = ?"
            args.append(status)
        elif not include_missing:
            sql += " WHERE status != 'missing'"
        return [_track(r) for r in self._db.execute(sql + " ORDER BY id", args)]

    def get_track(self, track_id: int) -> Optional[Track]:
        row = self._db.execute("SELECT * FROM tracks WHERE id = ?", (int(track_id),)).fetchone()
        return None if row is None else _track(row)

    def find_by_hash(self, content_hash: str) -> list[Track]:
        """Tracks whose file content has this hash (several when a file is duplicated)."""
        rows = self._db.execute("SELECT * FROM tracks WHERE content_hash = ? ORDER BY id", (content_hash,))
        return [_track(r) for r in rows]

    def find_by_path(self, path: str | Path) -> Optional[Track]:
        for p in dict.fromkeys([os.path.abspath(os.fspath(path)), os.path.realpath(os.fspath(path))]):
            row = self._db.execute("SELECT * FROM tracks WHERE path = ?", (p,)).fetchone()
            if row is not None:
                return _track(row)
        return None

    def track_names(self, include_missing: bool = True) -> list[tuple[int, str, Optional[str], Optional[str]]]:
        """(id, path, title, artist) of every track, by id: what name look-ups need, cheaply."""
        sql = "SELECT id, path, title, artist FROM tracks" + ("" if include_missing else " WHERE status != 'missing'")
        cur = self._db.cursor()
        cur.row_factory = None
        return [(int(r[0]), r[1], r[2], r[3]) for r in cur.execute(sql + " ORDER BY id")]

    def tracks_under(self, folder: str | Path) -> list[Track]:
        """Tracks (any status) whose path lies inside ``folder`` (links in ``folder`` resolved)."""
        prefix = os.path.join(os.path.realpath(os.fspath(folder)), "")
        rows = self._db.execute(
            "SELECT * FROM tracks WHERE substr(path, 1, ?) = ? ORDER BY id", (len(prefix), prefix)
        )
        return [_track(r) for r in rows]

    def count(self, include_missing: bool = False) -> int:
        sql = "SELECT count(*) FROM tracks" + ("" if include_missing else " WHERE status != 'missing'")
        return int(self._db.execute(sql).fetchone()[0])

    def stats(self) -> dict:
        """Counts for people and dashboards.

        Keys: ``tracks`` (all rows), ``by_status`` {status: n}, ``total_duration_s`` (tracks 'ok'),
        ``analyses`` {analyzer: {version: n with a result}}, ``analysis_errors`` (same shape, failed),
        ``embeddings`` {model: {version: n}}, ``playlists``, ``scan_errors``.
        """
        db = self._db
        by_status = {s: 0 for s in TRACK_STATUSES}
        for status, n in db.execute("SELECT status, count(*) FROM tracks GROUP BY status"):
            by_status[status] = int(n)
        total_s = db.execute("SELECT coalesce(sum(duration_s), 0) FROM tracks WHERE status = 'ok'").fetchone()[0]
        analyses: dict = {}
        analysis_errors: dict = {}
        for analyzer, version, n_ok, n_err in db.execute(
            "SELECT analyzer, version, sum(result IS NOT NULL), sum(result IS NULL) FROM analyses "
            "GROUP BY analyzer, version ORDER BY analyzer, version"
        ):
            if n_ok:
                analyses.setdefault(analyzer, {})[version] = int(n_ok)
            if n_err:
                analysis_errors.setdefault(analyzer, {})[version] = int(n_err)
        embeddings: dict = {}
        for model, version, n in db.execute(
            "SELECT model, version, count(*) FROM embeddings GROUP BY model, version ORDER BY model, version"
        ):
            embeddings.setdefault(model, {})[version] = int(n)
        return {
            "tracks": sum(by_status.values()),
            "by_status": by_status,
            "total_duration_s": float(total_s),
            "analyses": analyses,
            "analysis_errors": analysis_errors,
            "embeddings": embeddings,
            "playlists": int(db.execute("SELECT count(*) FROM playlists").fetchone()[0]),
            "scan_errors": int(db.execute("SELECT count(*) FROM scan_errors").fetchone()[0]),
        }

    # -- tracks: writing (used by the scanner; public for tools and tests) --------------------
    def add_track(
        self,
        path: str | Path,
        content_hash: str,
        size_bytes: int,
        mtime: float,
        duration_s: Optional[float],
        title: Optional[str] = None,
        artist: Optional[str] = None,
        album: Optional[str] = None,
        genre: Optional[str] = None,
        bpm_tag: Optional[float] = None,
        copy_results: bool = True,
    ) -> int:
        """Insert a track (status 'ok') and return its id.

        With ``copy_results``, analyses and embeddings of another track with the same content hash
        are copied to the new one (a duplicate file is never analysed twice).
        """
        p = os.path.abspath(os.fspath(path))
        with self.transaction() as c:
            try:
                cur = c.execute(
                    "INSERT INTO tracks (path, content_hash, size_bytes, mtime, duration_s, title, artist, album,"
                    " genre, bpm_tag, status, added_at) VALUES (?,?,?,?,?,?,?,?,?,?, 'ok', ?)",
                    (p, content_hash, int(size_bytes), float(mtime), _opt_float(duration_s), title, artist, album,
                     genre, _opt_float(bpm_tag), time.time()),
                )
            except sqlite3.IntegrityError:
                raise errors.CatalogError(f"The catalog already has a track at {p}.") from None
            new_id = int(cur.lastrowid)
            if copy_results:
                src = c.execute(
                    "SELECT id FROM tracks WHERE content_hash = ? AND id != ? ORDER BY (status = 'ok') DESC, id LIMIT 1",
                    (content_hash, new_id),
                ).fetchone()
                if src is not None:
                    c.execute(
                        "INSERT INTO analyses (track_id, analyzer, version, result, error, computed_at) "
                        "SELECT ?, analyzer, version, result, error, computed_at FROM analyses WHERE track_id = ?",
                        (new_id, src[0]),
                    )
                    c.execute(
                        "INSERT INTO embeddings (track_id, model, version, dtype, shape, data, computed_at) "
                        "SELECT ?, model, version, dtype, shape, data, computed_at FROM embeddings WHERE track_id = ?",
                        (new_id, src[0]),
                    )
        return new_id

    def relocate_track(self, track_id: int, new_path: str | Path, size_bytes: int, mtime: float) -> None:
        """The same content now lives at ``new_path``: keep the id, analyses and playlist entries."""
        p = os.path.abspath(os.fspath(new_path))
        with self.transaction() as c:
            try:
                cur = c.execute(
                    "UPDATE tracks SET path = ?, size_bytes = ?, mtime = ?, status = 'ok', error = NULL WHERE id = ?",
                    (p, int(size_bytes), float(mtime), int(track_id)),
                )
            except sqlite3.IntegrityError:
                raise errors.CatalogError(f"The catalog already has a track at {p}.") from None
            _require_one(cur, "track", track_id)

    def refresh_track(
        self,
        track_id: int,
        content_hash: str,
        size_bytes: int,
        mtime: float,
        duration_s: Optional[float],
        title: Optional[str] = None,
        artist: Optional[str] = None,
        album: Optional[str] = None,
        genre: Optional[str] = None,
        bpm_tag: Optional[float] = None,
    ) -> bool:
        """Update the file facts of a track whose file changed; returns True if the content changed.

        A changed content hash deletes the track's analyses and embeddings (they described other
        audio); user fields and playlist entries stay.
        """
        with self.transaction() as c:
            row = c.execute("SELECT content_hash, locked FROM tracks WHERE id = ?", (int(track_id),)).fetchone()
            if row is None:
                raise errors.CatalogError(f"The catalog has no track with id {track_id}.")
            changed = row[0] != content_hash
            locked = set(_loads(row[1]) or [])  # fields the user set: the file's tags do not replace them
            tag_values = {"title": title, "artist": artist, "album": album, "genre": genre,
                          "bpm_tag": _opt_float(bpm_tag)}
            tag_sets = [(k, v) for k, v in tag_values.items() if k not in locked]
            c.execute(
                "UPDATE tracks SET content_hash = ?, size_bytes = ?, mtime = ?, duration_s = ?, "
                + "".join(f"{k} = ?, " for k, _ in tag_sets) + "status = 'ok', error = NULL WHERE id = ?",
                (content_hash, int(size_bytes), float(mtime), _opt_float(duration_s), *[v for _, v in tag_sets],
                 int(track_id)),
            )
            if changed:
                c.execute("DELETE FROM analyses WHERE track_id = ?", (int(track_id),))
                c.execute("DELETE FROM embeddings WHERE track_id = ?", (int(track_id),))
        return changed

    def set_metadata(self, track_id: int, values: dict) -> Track:
        """Set named track fields (see :mod:`supervisor_app.catalog.fields`; values already parsed with
        :func:`~supervisor_app.catalog.fields.parse_value`, ``None`` clears). File-tag fields set here are
        locked: rescans keep them. Returns the updated track."""
        from supervisor_app.catalog.fields import EDITABLE_FIELDS, TAG_FIELDS

        values = dict(values)
        unknown = [k for k in values if k not in EDITABLE_FIELDS]
        if unknown:
            raise errors.UsageError(f"Unknown track field(s): {', '.join(unknown)}.")
        with self.transaction() as c:
            row = c.execute("SELECT locked FROM tracks WHERE id = ?", (int(track_id),)).fetchone()
            if row is None:
                raise errors.CatalogError(f"The catalog has no track with id {track_id}.")
            locked = list(_loads(row[0]) or [])
            sets, args = [], []
            for key, value in values.items():
                if key == "tags":
                    value = json_dumps(list(value or []))
                elif key == "notes":
                    value = value or None
                elif key == "one_stop":
                    value = None if value is None else int(bool(value))
                sets.append(f"{key} = ?")
                args.append(value)
                if key in TAG_FIELDS and key not in locked:
                    locked.append(key)
            sets.append("locked = ?")
            args.append(json_dumps(locked))
            c.execute(f"UPDATE tracks SET {', '.join(sets)} WHERE id = ?", (*args, int(track_id)))
        return self.get_track(track_id)

    def find_by_isrc(self, isrc: str) -> list[Track]:
        rows = self._db.execute("SELECT * FROM tracks WHERE isrc = ? ORDER BY id", (str(isrc),))
        return [_track(r) for r in rows]

    def set_status(self, track_id: int, status: str, error: Optional[str] = None) -> None:
        """Set a track's status ('ok' | 'missing' | 'error') and error message."""
        _check_status(status)
        with self.transaction() as c:
            cur = c.execute("UPDATE tracks SET status = ?, error = ? WHERE id = ?", (status, error, int(track_id)))
            _require_one(cur, "track", track_id)

    def mark_track_error(self, track_id: int, message: str, size_bytes: Optional[int] = None,
                         mtime: Optional[float] = None) -> None:
        """Flag a track whose file cannot be used; with size and mtime, that file state is not retried."""
        with self.transaction() as c:
            if size_bytes is None or mtime is None:
                cur = c.execute("UPDATE tracks SET status = 'error', error = ? WHERE id = ?", (message, int(track_id)))
            else:
                cur = c.execute(
                    "UPDATE tracks SET status = 'error', error = ?, size_bytes = ?, mtime = ? WHERE id = ?",
                    (message, int(size_bytes), float(mtime), int(track_id)),
                )
            _require_one(cur, "track", track_id)

    def remove_track(self, track_id: int) -> None:
        """Delete a track with its analyses, embeddings and playlist entries (playlists close the gap)."""
        with self.transaction() as c:
            pls = [r[0] for r in c.execute(
                "SELECT DISTINCT playlist_id FROM playlist_entries WHERE track_id = ?", (int(track_id),))]
            cur = c.execute("DELETE FROM tracks WHERE id = ?", (int(track_id),))
            _require_one(cur, "track", track_id)
            for pid in pls:
                self._compact(pid)

    def set_user_fields(
        self,
        track_id: int,
        tags: Optional[Sequence[str]] = None,
        notes: Optional[str] = None,
        rights: Optional[dict] = None,
    ) -> None:
        """Set the user's fields; ``None`` leaves a field as it is (pass ``[]``/``""``/``{}`` to clear)."""
        sets, args = [], []
        if tags is not None:
            if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
                raise errors.UsageError("Track tags must be a list of words (strings).")
            sets.append("tags = ?")
            args.append(json_dumps(list(tags)))
        if notes is not None:
            if not isinstance(notes, str):
                raise errors.UsageError("Track notes must be text.")
            sets.append("notes = ?")
            args.append(notes)
        if rights is not None:
            if not isinstance(rights, dict):
                raise errors.UsageError("Track rights must be a set of named fields (a dict).")
            sets.append("rights = ?")
            args.append(json_dumps(rights))
        with self.transaction() as c:
            if not sets:
                _require_one(c.execute("SELECT 1 FROM tracks WHERE id = ?", (int(track_id),)), "track", track_id, rows=True)
                return
            cur = c.execute(f"UPDATE tracks SET {', '.join(sets)} WHERE id = ?", (*args, int(track_id)))
            _require_one(cur, "track", track_id)

    # -- scan errors ------------------------------------------------------------------------
    def record_scan_error(self, path: str | Path, message: str, size_bytes: Optional[int] = None,
                          mtime: Optional[float] = None, seen_at: Optional[float] = None) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO scan_errors (path, error, size_bytes, mtime, seen_at) VALUES (?,?,?,?,?)",
                (os.fspath(path), message, size_bytes, mtime, time.time() if seen_at is None else seen_at),
            )

    def clear_scan_error(self, path: str | Path) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM scan_errors WHERE path = ?", (os.fspath(path),))

    def scan_error(self, path: str | Path) -> Optional[dict]:
        row = self._db.execute("SELECT * FROM scan_errors WHERE path = ?", (os.fspath(path),)).fetchone()
        return None if row is None else dict(row)

    def scan_errors(self, folder: Optional[str | Path] = None) -> list[tuple[str, str]]:
        """Problems met by the last scans, as (path, message), optionally only under ``folder``."""
        if folder is None:
            rows = self._db.execute("SELECT path, error FROM scan_errors ORDER BY path")
        else:
            prefix = os.path.join(os.path.realpath(os.fspath(folder)), "")
            rows = self._db.execute(
                "SELECT path, error FROM scan_errors WHERE substr(path, 1, ?) = ? ORDER BY path", (len(prefix), prefix)
            )
        return [(r[0], r[1]) for r in rows]

    def prune_scan_errors(self, folder: str | Path, seen_before: float) -> None:
        """Forget problems under ``folder`` (or the folder itself) not seen since ``seen_before``."""
        root = os.path.realpath(os.fspath(folder))
        prefix = os.path.join(root, "")
        with self.transaction() as c:
            c.execute(
                "DELETE FROM scan_errors WHERE (path = ? OR substr(path, 1, ?) = ?) AND seen_at < ?",
                (root, len(prefix), prefix, seen_before),
            )

    # -- analyses ---------------------------------------------------------------------------
    def put_analysis(self, track_id: int, analyzer: str, version: str, result: Optional[dict],
                     error: Optional[str] = None) -> None:
        """Store (replace) one analyzer's result for a track; a failure has ``result=None`` and an error."""
        if result is None and error is None:
            raise ValueError("put_analysis needs a result or an error")
        if result is not None and not isinstance(result, dict):
            raise TypeError(f"an analysis result must be a dict, not {type(result).__name__}")
        payload = None if result is None else json_dumps(result)
        with self.transaction() as c:
            try:
                c.execute(
                    "INSERT OR REPLACE INTO analyses (track_id, analyzer, version, result, error, computed_at) "
                    "VALUES (?,?,?,?,?,?)",
                    (int(track_id), str(analyzer), str(version), payload, error, time.time()),
                )
            except sqlite3.IntegrityError:
                raise errors.CatalogError(f"The catalog has no track with id {track_id}.") from None

    def get_analysis(self, track_id: int, analyzer: str, version: str) -> Optional[AnalysisRecord]:
        row = self._db.execute(
            "SELECT * FROM analyses WHERE track_id = ? AND analyzer = ? AND version = ?",
            (int(track_id), str(analyzer), str(version)),
        ).fetchone()
        if row is None:
            return None
        return AnalysisRecord(row["track_id"], row["analyzer"], row["version"], _loads(row["result"]),
                              row["error"], row["computed_at"])

    def analysis_stamps(self) -> dict[int, tuple]:
        """{track id: ((analyzer, version, computed_at), …) sorted} of every stored analysis, without reading
        the results: what changes when a track is analysed again (a reader's cache key)."""
        out: dict[int, list] = {}
        for tid, name, version, at in self._db.execute(
                "SELECT track_id, analyzer, version, computed_at FROM analyses"):
            out.setdefault(int(tid), []).append((str(name), str(version), float(at)))
        return {tid: tuple(sorted(v)) for tid, v in out.items()}

    def load_analyses(self, analyzer: str, version: str, json_path: Optional[str] = None) -> dict:
        """{track id: result} of one analyzer version, in one query (failed analyses left out).

        ``json_path`` (e.g. ``'$.tempo_bpm'``) returns just that value of each result (SQLite's
        json_extract: no need to parse large results)."""
        cur = self._db.cursor()
        cur.row_factory = None
        if json_path is None:
            rows = cur.execute("SELECT track_id, result FROM analyses WHERE analyzer = ? AND version = ? "
                               "AND result IS NOT NULL", (str(analyzer), str(version)))
            return {int(tid): json.loads(r) for tid, r in rows}
        rows = cur.execute("SELECT track_id, json_extract(result, ?) FROM analyses WHERE analyzer = ? AND version = ? "
                           "AND result IS NOT NULL", (json_path, str(analyzer), str(version)))
        return {int(tid): v for tid, v in rows if v is not None}

    def analyses_missing(self, analyzer: str, version: str, retry_errors: bool = False) -> list[int]:
        """Ids of 'ok' tracks with no stored result of this analyzer version.

        A stored failure counts as done unless ``retry_errors`` (so a bad file is not retried forever).
        """
        cond = "a.track_id IS NULL" + (" OR a.result IS NULL" if retry_errors else "")
        rows = self._db.execute(
            "SELECT t.id FROM tracks t LEFT JOIN analyses a ON a.track_id = t.id AND a.analyzer = ? AND a.version = ? "
            f"WHERE t.status = 'ok' AND ({cond}) ORDER BY t.id",
            (str(analyzer), str(version)),
        )
        return [int(r[0]) for r in rows]

    def delete_failed_analyses(self, keys: Sequence[tuple[str, str]]) -> int:
        """Delete the stored failures (``result IS NULL``) of these (analyzer, version) pairs; returns how many."""
        n = 0
        with self.transaction() as c:
            for analyzer, version in keys:
                n += c.execute("DELETE FROM analyses WHERE analyzer = ? AND version = ? AND result IS NULL",
                               (str(analyzer), str(version))).rowcount
        return n

    def failed_analyses(self) -> list[tuple[int, str, str, str]]:
        """Every stored analyzer failure as (track id, analyzer, version, message), by track."""
        rows = self._db.execute("SELECT track_id, analyzer, version, error FROM analyses WHERE result IS NULL "
                                "ORDER BY track_id, analyzer")
        return [(int(r[0]), r[1], r[2], r[3] or "") for r in rows]

    def delete_analyses(self, analyzer: str, version: Optional[str] = None) -> int:
        """Forget an analyzer's results (one version, or all); returns the number of rows deleted."""
        with self.transaction() as c:
            if version is None:
                cur = c.execute("DELETE FROM analyses WHERE analyzer = ?", (analyzer,))
            else:
                cur = c.execute("DELETE FROM analyses WHERE analyzer = ? AND version = ?", (analyzer, str(version)))
            return cur.rowcount

    # -- embeddings -------------------------------------------------------------------------
    def put_embedding(self, track_id: int, model: str, version: str, array: np.ndarray) -> None:
        """Store (replace) a numeric array for a track (any shape; dtype and shape are kept)."""
        arr = np.ascontiguousarray(array)
        if arr.dtype.hasobject or arr.dtype.kind not in "biufc":
            raise TypeError(f"an embedding must be a numeric array, not dtype {arr.dtype}")
        with self.transaction() as c:
            try:
                c.execute(
                    "INSERT OR REPLACE INTO embeddings (track_id, model, version, dtype, shape, data, computed_at) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (int(track_id), str(model), str(version), arr.dtype.str, json.dumps(list(arr.shape)),
                     arr.tobytes(), time.time()),
                )
            except sqlite3.IntegrityError:
                raise errors.CatalogError(f"The catalog has no track with id {track_id}.") from None

    def get_embedding(self, track_id: int, model: str, version: str) -> Optional[np.ndarray]:
        row = self._db.execute(
            "SELECT dtype, shape, data FROM embeddings WHERE track_id = ? AND model = ? AND version = ?",
            (int(track_id), str(model), str(version)),
        ).fetchone()
        return None if row is None else _array(row[0], row[1], row[2])

    def load_embeddings(self, model: str, version: str, include_missing: bool = False
                        ) -> tuple[list[int], list[np.ndarray]]:
        """All arrays of one model version, ordered by track id, in one query.

        Tracks not 'ok' (missing or unreadable files) are left out unless ``include_missing``.
        """
        db = self._db
        skip = set() if include_missing else {
            r[0] for r in db.execute("SELECT id FROM tracks WHERE status != 'ok'")}
        cur = db.cursor()
        cur.row_factory = None  # plain tuples: faster for thousands of rows
        rows = cur.execute(
            "SELECT track_id, dtype, shape, data FROM embeddings WHERE model = ? AND version = ? ORDER BY track_id",
            (str(model), str(version)),
        )
        ids, arrays = [], []
        shapes: dict = {}
        for tid, dtype, shape, data in rows:
            if tid in skip:
                continue
            shp = shapes.get(shape)
            if shp is None:
                shp = shapes[shape] = tuple(json.loads(shape))
            ids.append(int(tid))
            arrays.append(np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shp).copy())
        return ids, arrays

    def embeddings_missing(self, model: str, version: str) -> list[int]:
        """Ids of 'ok' tracks with no stored embedding of this model version."""
        rows = self._db.execute(
            "SELECT t.id FROM tracks t LEFT JOIN embeddings e ON e.track_id = t.id AND e.model = ? AND e.version = ? "
            "WHERE t.status = 'ok' AND e.track_id IS NULL ORDER BY t.id",
            (str(model), str(version)),
        )
        return [int(r[0]) for r in rows]

    # -- playlists --------------------------------------------------------------------------
    def create_playlist(self, name: str) -> int:
        name = _playlist_name(name)
        with self.transaction() as c:
            try:
                cur = c.execute("INSERT INTO playlists (name, created_at) VALUES (?, ?)", (name, time.time()))
            except sqlite3.IntegrityError:
                raise errors.CatalogError(f"A playlist named {name!r} already exists.") from None
            return int(cur.lastrowid)

    def rename_playlist(self, playlist_id: int, name: str) -> None:
        name = _playlist_name(name)
        with self.transaction() as c:
            try:
                cur = c.execute("UPDATE playlists SET name = ? WHERE id = ?", (name, int(playlist_id)))
            except sqlite3.IntegrityError:
                raise errors.CatalogError(f"A playlist named {name!r} already exists.") from None
            _require_one(cur, "playlist", playlist_id)

    def delete_playlist(self, playlist_id: int) -> None:
        with self.transaction() as c:
            cur = c.execute("DELETE FROM playlists WHERE id = ?", (int(playlist_id),))
            _require_one(cur, "playlist", playlist_id)

    def playlists(self) -> list[Playlist]:
        rows = self._db.execute(
            "SELECT p.id, p.name, p.created_at, count(e.id) FROM playlists p "
            "LEFT JOIN playlist_entries e ON e.playlist_id = p.id GROUP BY p.id ORDER BY p.name COLLATE NOCASE, p.id"
        )
        return [Playlist(int(r[0]), r[1], r[2], int(r[3])) for r in rows]

    def playlist_entries(self, playlist_id: int) -> list[PlaylistEntry]:
        self._require_playlist(playlist_id)
        rows = self._db.execute(
            "SELECT id, playlist_id, position, track_id, note, payload FROM playlist_entries "
            "WHERE playlist_id = ? ORDER BY position",
            (int(playlist_id),),
        )
        return [PlaylistEntry(int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4], _loads(r[5])) for r in rows]

    def add_to_playlist(self, playlist_id: int, track_id: int, note: Optional[str] = None,
                        payload: Optional[dict] = None) -> int:
        """Append a track to a playlist; returns its position (0-based)."""
        with self.transaction() as c:
            self._require_playlist(playlist_id)
            if c.execute("SELECT 1 FROM tracks WHERE id = ?", (int(track_id),)).fetchone() is None:
                raise errors.CatalogError(f"The catalog has no track with id {track_id}.")
            pos = int(c.execute("SELECT count(*) FROM playlist_entries WHERE playlist_id = ?",
                                (int(playlist_id),)).fetchone()[0])
            c.execute(
                "INSERT INTO playlist_entries (playlist_id, position, track_id, note, payload) VALUES (?,?,?,?,?)",
                (int(playlist_id), pos, int(track_id), note, None if payload is None else json_dumps(payload)),
            )
            return pos

    def update_entry(self, playlist_id: int, position: int, note: Any = _UNSET, payload: Any = _UNSET) -> None:
        """Change the note and/or payload of one entry (``None`` clears; omitted leaves as is)."""
        sets, args = [], []
        if note is not _UNSET:
            sets.append("note = ?")
            args.append(note)
        if payload is not _UNSET:
            sets.append("payload = ?")
            args.append(None if payload is None else json_dumps(payload))
        with self.transaction() as c:
            self._entry_id(playlist_id, position)
            if sets:
                c.execute(f"UPDATE playlist_entries SET {', '.join(sets)} WHERE playlist_id = ? AND position = ?",
                          (*args, int(playlist_id), int(position)))

    def remove_from_playlist(self, playlist_id: int, position: int) -> None:
        """Remove the entry at ``position``; later entries move up by one."""
        with self.transaction() as c:
            entry = self._entry_id(playlist_id, position)
            c.execute("DELETE FROM playlist_entries WHERE id = ?", (entry,))
            self._compact(playlist_id)

    def move_entry(self, playlist_id: int, from_pos: int, to_pos: int) -> None:
        """Move the entry at ``from_pos`` so that it ends at ``to_pos`` (others shift)."""
        with self.transaction() as c:
            ids = self._entry_ids(playlist_id)
            for p in (from_pos, to_pos):
                if not 0 <= int(p) < len(ids):
                    raise errors.CatalogError(f"Playlist {playlist_id} has no position {p} (it has {len(ids)} entries).")
            ids.insert(int(to_pos), ids.pop(int(from_pos)))
            self._write_positions(c, ids)

    def _require_playlist(self, playlist_id: int) -> None:
        if self._db.execute("SELECT 1 FROM playlists WHERE id = ?", (int(playlist_id),)).fetchone() is None:
            raise errors.CatalogError(f"The catalog has no playlist with id {playlist_id}.")

    def _entry_ids(self, playlist_id: int) -> list[int]:
        self._require_playlist(playlist_id)
        return [int(r[0]) for r in self._db.execute(
            "SELECT id FROM playlist_entries WHERE playlist_id = ? ORDER BY position", (int(playlist_id),))]

    def _entry_id(self, playlist_id: int, position: int) -> int:
        self._require_playlist(playlist_id)
        row = self._db.execute("SELECT id FROM playlist_entries WHERE playlist_id = ? AND position = ?",
                               (int(playlist_id), int(position))).fetchone()
        if row is None:
            raise errors.CatalogError(f"Playlist {playlist_id} has no entry at position {position}.")
        return int(row[0])

    def _compact(self, playlist_id: int) -> None:
        self._write_positions(self._db, self._entry_ids(playlist_id))

    @staticmethod
    def _write_positions(c: sqlite3.Connection, ids: list[int]) -> None:
        # Two passes through negative positions so UNIQUE(playlist_id, position) never collides.
        c.executemany("UPDATE playlist_entries SET position = ? WHERE id = ?", [(-1 - i, e) for i, e in enumerate(ids)])
        c.executemany("UPDATE playlist_entries SET position = ? WHERE id = ?", [(i, e) for i, e in enumerate(ids)])


# --- helpers --------------------------------------------------------------------------------
def _check_header(path: Path) -> None:
    """Refuse files that are not SQLite databases before SQLite gets to touch them."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except PermissionError:
        raise errors.CatalogError(f"The catalog {path} cannot be read (permission denied).") from None
    except OSError as e:
        raise errors.CatalogError(f"The catalog {path} cannot be read ({e.strerror or e}).") from None
    if head and head != _SQLITE_MAGIC:
        raise errors.CatalogError(f"{path} is not a supervisor-app catalog (it is not a SQLite database).")


def _user_db_error(path: Path, e: BaseException) -> Optional[errors.CatalogError]:
    """A one-sentence CatalogError for SQLite failures the user can fix (busy, full, read-only)."""
    text = str(e).lower()
    if "locked" in text or "busy" in text:
        return errors.CatalogError(f"The catalog {path} is busy: another program is writing to it; try again when it is done.")
    if "disk is full" in text or "disk i/o" in text:
        return errors.CatalogError(f"The catalog {path} cannot be written: the disk is full or failing ({e}).")
    if "readonly" in text or "read-only" in text:
        return errors.CatalogReadOnlyError(path, "changes")
    if "unable to open database file" in text and not _writable(path):
        return errors.CatalogReadOnlyError(path)
    return None


def _writable(path: Path) -> bool:
    """Can this process write the catalog file and create the -wal/-shm files beside it? (False on a
    read-only mount even for root: access(2) reports EROFS.)"""
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def _track(row: sqlite3.Row) -> Track:
    d = dict(row)
    d["tags"] = _loads(d["tags"]) or []
    d["rights"] = _loads(d["rights"]) or {}
    if "locked" in d:
        d["locked"] = _loads(d["locked"]) or []
    if d.get("one_stop") is not None:
        d["one_stop"] = bool(d["one_stop"])
    return Track(**{k: v for k, v in d.items() if k in _TRACK_FIELDS})


_TRACK_FIELDS = frozenset(f.name for f in _dc_fields(Track))


def _array(dtype: str, shape: str, data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.dtype(dtype)).reshape(tuple(json.loads(shape))).copy()


def _opt_float(x) -> Optional[float]:
    return None if x is None else float(x)


def _check_status(status: str) -> None:
    if status not in TRACK_STATUSES:
        raise ValueError(f"track status must be one of {TRACK_STATUSES}, not {status!r}")


def _playlist_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise errors.UsageError("A playlist needs a name.")
    return name.strip()


def _require_one(cur: sqlite3.Cursor, what: str, ident, rows: bool = False) -> None:
    found = cur.fetchone() is not None if rows else cur.rowcount > 0
    if not found:
        raise errors.CatalogError(f"The catalog has no {what} with id {ident}.")
