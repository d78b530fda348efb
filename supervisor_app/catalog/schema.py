"""The catalog's SQLite schema as an ordered list of migrations.

A catalog file carries ``PRAGMA application_id = APPLICATION_ID`` (so another program's SQLite file
is never mistaken for a catalog) and a one-row ``schema_version`` table. ``MIGRATIONS[i]`` moves a
catalog from version ``i`` to ``i + 1``; migration 1 creates everything. To change the schema,
append a new entry (never edit a released one) and ``SCHEMA_VERSION`` follows.
"""
from __future__ import annotations

import sqlite3
from typing import Callable, Union

APPLICATION_ID = 0x53555056  # "SUPV"

_MIGRATION_1 = """
CREATE TABLE schema_version (
    version INTEGER NOT NULL
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT
);

CREATE TABLE tracks (
    id           INTEGER PRIMARY KEY,
    path         TEXT    NOT NULL UNIQUE,
    content_hash TEXT    NOT NULL,
    size_bytes   INTEGER NOT NULL,
    mtime        REAL    NOT NULL,             -- file modification time, unix seconds
    duration_s   REAL,
    title        TEXT,
    artist       TEXT,
    album        TEXT,
    genre        TEXT,
    bpm_tag      REAL,                          -- tempo written in the file's tags, if any
    status       TEXT    NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'missing', 'error')),
    error        TEXT,
    added_at     REAL    NOT NULL,              -- unix seconds
    tags         TEXT    NOT NULL DEFAULT '[]', -- user field: JSON list of strings
    notes        TEXT,                          -- user field
    rights       TEXT    NOT NULL DEFAULT '{}'  -- user field: JSON object, e.g. {"cleared": true}
);
CREATE INDEX tracks_content_hash ON tracks (content_hash);
CREATE INDEX tracks_status ON tracks (status);

CREATE TABLE analyses (
    track_id    INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    analyzer    TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    result      TEXT,                           -- JSON object, NULL when the analysis failed
    error       TEXT,
    computed_at REAL    NOT NULL,               -- unix seconds
    PRIMARY KEY (track_id, analyzer, version)
);
CREATE INDEX analyses_by_analyzer ON analyses (analyzer, version, track_id);

CREATE TABLE embeddings (
    track_id INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    model    TEXT    NOT NULL,
    version  TEXT    NOT NULL,
    dtype    TEXT    NOT NULL,                  -- numpy dtype string, e.g. '<f4'
    shape    TEXT    NOT NULL,                  -- JSON list of ints
    data     BLOB    NOT NULL,                  -- C-order bytes
    computed_at REAL NOT NULL,
    PRIMARY KEY (track_id, model, version)
);
CREATE INDEX embeddings_by_model ON embeddings (model, version, track_id);  -- bulk loads in id order, no sort

CREATE TABLE playlists (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);

CREATE TABLE playlist_entries (
    id          INTEGER PRIMARY KEY,
    playlist_id INTEGER NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,               -- 0-based, contiguous within a playlist
    track_id    INTEGER NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    note        TEXT,
    payload     TEXT,                           -- JSON object (e.g. the mockup edit), or NULL
    UNIQUE (playlist_id, position)
);
CREATE INDEX playlist_entries_track ON playlist_entries (track_id);

CREATE TABLE scan_errors (
    path       TEXT PRIMARY KEY,
    error      TEXT NOT NULL,
    size_bytes INTEGER,                         -- file size and mtime when the error was seen,
    mtime      REAL,                            -- so an unchanged bad file is not re-probed
    seen_at    REAL NOT NULL                    -- unix seconds
);
"""

# Library metadata and rights as first-class columns (issue 16). ``locked``: JSON list of the
# file-tag fields (title, artist, album, genre, bpm_tag) the user has set, which rescans keep.
_MIGRATION_CATALOG_METADATA = """
ALTER TABLE tracks ADD COLUMN composer     TEXT;
ALTER TABLE tracks ADD COLUMN publisher    TEXT;
ALTER TABLE tracks ADD COLUMN label        TEXT;
ALTER TABLE tracks ADD COLUMN isrc         TEXT;            -- 12 characters, upper case, no dashes
ALTER TABLE tracks ADD COLUMN iswc         TEXT;
ALTER TABLE tracks ADD COLUMN pro          TEXT;            -- performing rights organisation(s)
ALTER TABLE tracks ADD COLUMN one_stop     INTEGER;         -- 1 one-stop, 0 not, NULL unknown
ALTER TABLE tracks ADD COLUMN territories  TEXT;            -- as the library writes it, e.g. 'Worldwide excl. DE'
ALTER TABLE tracks ADD COLUMN restrictions TEXT;            -- e.g. 'no alcohol brands; no political ads'
ALTER TABLE tracks ADD COLUMN cleared_for  TEXT;            -- media, e.g. 'TV, Online, Film'
ALTER TABLE tracks ADD COLUMN description  TEXT;
ALTER TABLE tracks ADD COLUMN locked       TEXT NOT NULL DEFAULT '[]';
CREATE INDEX tracks_isrc ON tracks (isrc);
"""

# The archive (issue 19): past projects (NLE timelines) and approved/rejected mockups as picture/music
# pairs for training Seg-VM-Net. Purely additive. Media are referenced by content hash and path (nothing
# is copied); ``status`` says whether the path was found at the last check (re-link when moved).
_MIGRATION_ARCHIVE = """
CREATE TABLE archive_media (
    id           INTEGER PRIMARY KEY,
    content_hash TEXT    NOT NULL UNIQUE,
    path         TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('picture', 'music')),
    duration_s   REAL,
    size_bytes   INTEGER,
    status       TEXT    NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'missing')),
    added_at     REAL    NOT NULL               -- unix seconds
);

CREATE TABLE archive_projects (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    path         TEXT    NOT NULL,              -- the timeline file (OTIO, FCP XML, EDL, ...)
    content_hash TEXT    NOT NULL UNIQUE,
    format       TEXT    NOT NULL,              -- OpenTimelineIO adapter name
    rate         REAL,                          -- timeline frame rate
    duration_s   REAL,
    imported_at  REAL    NOT NULL,
    report       TEXT    NOT NULL DEFAULT '{}'  -- JSON: media not found, cues skipped, warnings
);

CREATE TABLE archive_pairs (
    id             INTEGER PRIMARY KEY,
    project_id     INTEGER REFERENCES archive_projects (id) ON DELETE CASCADE,  -- NULL: a mockup
    origin         TEXT    NOT NULL CHECK (origin IN ('timeline', 'mockup')),
    decision       TEXT    CHECK (decision IN ('approved', 'rejected')),        -- mockups only
    pair_key       TEXT    NOT NULL,            -- hash of the media hashes and the spans
    music_media_id INTEGER NOT NULL REFERENCES archive_media (id),
    track_id       INTEGER REFERENCES tracks (id) ON DELETE SET NULL,
    start_s        REAL    NOT NULL,            -- the pair's span on its timeline
    duration_s     REAL    NOT NULL,
    music          TEXT    NOT NULL,            -- JSON list of music pieces (timeline span, source in, speed)
    picture        TEXT    NOT NULL,            -- JSON list of picture pieces (+ media_id)
    edit           TEXT,                        -- mockups: the edit as JSON
    label          TEXT,
    created_at     REAL    NOT NULL
);
CREATE UNIQUE INDEX archive_pairs_key ON archive_pairs (origin, pair_key);
CREATE INDEX archive_pairs_project ON archive_pairs (project_id);
CREATE INDEX archive_pairs_music ON archive_pairs (music_media_id);
"""

Migration = Union[str, Callable[[sqlite3.Connection], None]]

#: Ordered migrations: ``MIGRATIONS[0]`` takes an empty file to version 1, and so on.
MIGRATIONS: list[Migration] = [
    _MIGRATION_1,
    _MIGRATION_CATALOG_METADATA,
    _MIGRATION_ARCHIVE,
]

SCHEMA_VERSION = len(MIGRATIONS)


def apply_migration(conn: sqlite3.Connection, migration: Migration) -> None:
    """Run one migration inside the caller's open transaction."""
    if callable(migration):
        migration(conn)
        return
    # executescript() would COMMIT the caller's transaction first; run statement by statement.
    for statement in _split_sql(migration):
        conn.execute(statement)


def _split_sql(script: str) -> list[str]:
    """Split a script of plain DDL statements (no triggers) into single statements."""
    out, current = [], []
    for line in script.splitlines():
        code = line.split("--", 1)[0]
        current.append(code)
        if code.rstrip().endswith(";"):
            stmt = "\n".join(current).strip()
            if sqlite3.complete_statement(stmt):
                out.append(stmt)
                current = []
    rest = "\n".join(current).strip()
    if rest:
        out.append(rest)
    return out
