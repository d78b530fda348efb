"""The archive's tables in the catalog: media (hash + path), projects (timelines) and pairs.

A pair is one music cue and the picture under it: ``music`` and ``picture`` are lists of pieces
(timeline span, source in point, speed; picture pieces also name their media), relative to the
timeline. Mockups are pairs too (``origin='mockup'``, ``project_id`` NULL) with the user's decision.
Nothing is copied: media are known by content hash and path, and :func:`relink` updates paths of
media that moved.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from supervisor_app.infra import errors
from supervisor_app.archive.timeline import Piece

ACTIVE_MODEL_KEY = "archive.active_segvmnet_model"


@dataclass
class ArchiveMedia:
    id: int
    content_hash: str
    path: str
    kind: str
    duration_s: Optional[float]
    size_bytes: Optional[int]
    status: str


@dataclass
class ArchivePair:
    id: int
    project_id: Optional[int]
    origin: str
    decision: Optional[str]
    pair_key: str
    music_media_id: int
    track_id: Optional[int]
    start_s: float
    duration_s: float
    music: list[Piece]
    picture: list[Piece]  # Piece.media holds the archive_media id as a string
    edit: Optional[dict] = None
    label: str = ""
    created_at: float = 0.0

    def picture_media_ids(self) -> list[int]:
        return sorted({int(p.media) for p in self.picture})

    def music_span_s(self) -> tuple[float, float]:
        return self.music[0].record_start_s, self.music[-1].record_end_s


@dataclass
class ArchiveProject:
    id: int
    name: str
    path: str
    content_hash: str
    format: str
    rate: Optional[float]
    duration_s: Optional[float]
    imported_at: float
    report: dict = field(default_factory=dict)


def _db(cat):
    return cat._db  # the catalog's connection (the archive shares its transactions)


def _pieces_json(pieces: Iterable[Piece]) -> str:
    return json.dumps([asdict(p) for p in pieces], separators=(",", ":"))


def _pieces(text: str) -> list[Piece]:
    return [Piece(**d) for d in json.loads(text)]


def pair_key(music_hash: str, music: Iterable[Piece], picture: Iterable[tuple[str, Piece]], rate: float = 1000.0) -> str:
    """Content key of a pair: media hashes and spans rounded to ``1/rate`` s (a project saved twice, or
    imported from two formats, gives the same key)."""
    def r(x: float) -> int:
        return int(round(x * rate))
    m = [(r(p.record_start_s), r(p.record_end_s), r(p.source_in_s), round(p.speed, 4)) for p in music]
    v = [(h, r(p.record_start_s), r(p.record_end_s), r(p.source_in_s), round(p.speed, 4)) for h, p in picture]
    t0 = min([x[0] for x in m] + [x[1] for x in v])  # relative to the cue's start (a re-timed copy is the same pair)
    m = [(a - t0, b - t0, c, s) for a, b, c, s in m]
    v = [(h, a - t0, b - t0, c, s) for h, a, b, c, s in v]
    return hashlib.sha256(json.dumps([music_hash, m, v]).encode()).hexdigest()[:40]


# --------------------------------------------------------------------------- media
def upsert_media(cat, content_hash: str, path: str | Path, kind: str, duration_s: float | None = None) -> int:
    """The archive_media id for this content (path updated to ``path``, status ok)."""
    c = _db(cat)
    path = str(path)
    try:
        size = os.path.getsize(path)
    except OSError:
        size = None
    row = c.execute("SELECT id, kind FROM archive_media WHERE content_hash = ?", (content_hash,)).fetchone()
    if row is not None:
        c.execute("UPDATE archive_media SET path = ?, status = 'ok', size_bytes = COALESCE(?, size_bytes), "
                  "duration_s = COALESCE(?, duration_s) WHERE id = ?", (path, size, duration_s, row["id"]))
        return int(row["id"])
    cur = c.execute("INSERT INTO archive_media (content_hash, path, kind, duration_s, size_bytes, status, added_at) "
                    "VALUES (?, ?, ?, ?, ?, 'ok', ?)", (content_hash, path, kind, duration_s, size, time.time()))
    return int(cur.lastrowid)


def get_media(cat, media_id: int) -> ArchiveMedia | None:
    row = _db(cat).execute("SELECT * FROM archive_media WHERE id = ?", (int(media_id),)).fetchone()
    return None if row is None else ArchiveMedia(row["id"], row["content_hash"], row["path"], row["kind"],
                                                 row["duration_s"], row["size_bytes"], row["status"])


def all_media(cat) -> list[ArchiveMedia]:
    return [ArchiveMedia(r["id"], r["content_hash"], r["path"], r["kind"], r["duration_s"], r["size_bytes"], r["status"])
            for r in _db(cat).execute("SELECT * FROM archive_media ORDER BY id")]


# --------------------------------------------------------------------------- projects
def _project(row) -> ArchiveProject:
    return ArchiveProject(row["id"], row["name"], row["path"], row["content_hash"], row["format"], row["rate"],
                          row["duration_s"], row["imported_at"], json.loads(row["report"] or "{}"))


def find_project(cat, content_hash: str) -> ArchiveProject | None:
    row = _db(cat).execute("SELECT * FROM archive_projects WHERE content_hash = ?", (content_hash,)).fetchone()
    return None if row is None else _project(row)


def get_project(cat, project_id: int) -> ArchiveProject | None:
    row = _db(cat).execute("SELECT * FROM archive_projects WHERE id = ?", (int(project_id),)).fetchone()
    return None if row is None else _project(row)


def projects(cat) -> list[ArchiveProject]:
    return [_project(r) for r in _db(cat).execute("SELECT * FROM archive_projects ORDER BY id")]


def add_project(cat, name: str, path: str, content_hash: str, fmt: str, rate: float | None,
                duration_s: float | None, report: dict) -> int:
    c = _db(cat)
    cur = c.execute("INSERT INTO archive_projects (name, path, content_hash, format, rate, duration_s, imported_at, report) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, str(path), content_hash, fmt, rate, duration_s, time.time(), json.dumps(report)))
    return int(cur.lastrowid)


def update_project(cat, project_id: int, path: str, report: dict) -> None:
    _db(cat).execute("UPDATE archive_projects SET path = ?, report = ? WHERE id = ?",
                     (str(path), json.dumps(report), int(project_id)))


def remove_project(cat, project_id: int) -> int:
    """Delete a project and its pairs (media rows no pair uses any more go too). Returns pairs removed."""
    if get_project(cat, project_id) is None:
        raise errors.UsageError(f"The archive has no project with id {project_id} (see 'archive list').")
    with cat.transaction() as c:
        n = c.execute("SELECT count(*) FROM archive_pairs WHERE project_id = ?", (int(project_id),)).fetchone()[0]
        c.execute("DELETE FROM archive_pairs WHERE project_id = ?", (int(project_id),))
        c.execute("DELETE FROM archive_projects WHERE id = ?", (int(project_id),))
        _prune_media(cat)
    return int(n)


def _prune_media(cat) -> None:
    c = _db(cat)
    used = {r[0] for r in c.execute("SELECT music_media_id FROM archive_pairs")}
    for r in c.execute("SELECT picture FROM archive_pairs"):
        used.update(int(p.media) for p in _pieces(r[0]))
    for (mid,) in c.execute("SELECT id FROM archive_media").fetchall():
        if mid not in used:
            c.execute("DELETE FROM archive_media WHERE id = ?", (mid,))


# --------------------------------------------------------------------------- pairs
def _pair(row) -> ArchivePair:
    return ArchivePair(row["id"], row["project_id"], row["origin"], row["decision"], row["pair_key"],
                       row["music_media_id"], row["track_id"], row["start_s"], row["duration_s"],
                       _pieces(row["music"]), _pieces(row["picture"]),
                       json.loads(row["edit"]) if row["edit"] else None, row["label"] or "", row["created_at"])


def find_pair(cat, origin: str, key: str) -> ArchivePair | None:
    row = _db(cat).execute("SELECT * FROM archive_pairs WHERE origin = ? AND pair_key = ?", (origin, key)).fetchone()
    return None if row is None else _pair(row)


def add_pair(cat, *, project_id: int | None, origin: str, key: str, music_media_id: int, music: list[Piece],
             picture: list[Piece], decision: str | None = None, track_id: int | None = None,
             edit: dict | None = None, label: str = "") -> int:
    start = min(p.record_start_s for p in music + picture)
    end = max(p.record_end_s for p in music + picture)
    cur = _db(cat).execute(
        "INSERT INTO archive_pairs (project_id, origin, decision, pair_key, music_media_id, track_id, start_s, "
        "duration_s, music, picture, edit, label, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (project_id, origin, decision, key, music_media_id, track_id, start, end - start, _pieces_json(music),
         _pieces_json(picture), json.dumps(edit) if edit is not None else None, label, time.time()))
    return int(cur.lastrowid)


def pairs(cat, project_id: int | None = None, origin: str | None = None, decision: str | None = None) -> list[ArchivePair]:
    q, args = "SELECT * FROM archive_pairs WHERE 1", []
    if project_id is not None:
        q += " AND project_id = ?"
        args.append(int(project_id))
    if origin is not None:
        q += " AND origin = ?"
        args.append(origin)
    if decision is not None:
        q += " AND decision = ?"
        args.append(decision)
    return [_pair(r) for r in _db(cat).execute(q + " ORDER BY id", args)]


def training_pairs(cat) -> list[ArchivePair]:
    """Pairs to learn from: every timeline pair and every approved mockup."""
    return [p for p in pairs(cat) if p.origin == "timeline" or p.decision == "approved"]


def remove_pair(cat, pair_id: int) -> None:
    with cat.transaction() as c:
        n = c.execute("DELETE FROM archive_pairs WHERE id = ?", (int(pair_id),)).rowcount
        if not n:
            raise errors.UsageError(f"The archive has no pair with id {pair_id}.")
        _prune_media(cat)


# --------------------------------------------------------------------------- re-link
@dataclass
class RelinkReport:
    checked: int = 0
    relinked: list[tuple[str, str]] = field(default_factory=list)  # (old path, new path)
    missing: list[str] = field(default_factory=list)


def relink(cat, search_dirs: Iterable[str | Path] = (), verify_hash: bool = True) -> RelinkReport:
    """Check every archive medium's path; find moved ones by name under ``search_dirs`` (same content
    hash required) and record the new path; mark the rest missing."""
    from supervisor_app.infra.hashing import content_hash
    from supervisor_app.archive.relink import MediaResolver

    resolver = MediaResolver(None, search_dirs)
    rep = RelinkReport()
    with cat.transaction() as c:
        for m in all_media(cat):
            rep.checked += 1
            if os.path.isfile(m.path):
                if m.status != "ok":
                    c.execute("UPDATE archive_media SET status = 'ok' WHERE id = ?", (m.id,))
                continue
            found = resolver.resolve(m.path)
            if found is not None and (not verify_hash or content_hash(found) == m.content_hash):
                c.execute("UPDATE archive_media SET path = ?, status = 'ok' WHERE id = ?", (str(found), m.id))
                rep.relinked.append((m.path, str(found)))
            else:
                c.execute("UPDATE archive_media SET status = 'missing' WHERE id = ?", (m.id,))
                rep.missing.append(m.path)
    return rep


# --------------------------------------------------------------------------- active model
def active_model(cat) -> str | None:
    """The Seg-VM-Net model folder the archive's training made active for this catalog (or None)."""
    return cat.get_meta(ACTIVE_MODEL_KEY) or None


def set_active_model(cat, model_dir: str | Path | None) -> None:
    cat.set_meta(ACTIVE_MODEL_KEY, str(model_dir) if model_dir else None)
