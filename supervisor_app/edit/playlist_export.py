"""Playlists of recommendations: M3U8 (VLC and other players), CSV and JSON (scores, reasons, edits).

Entries are :class:`PlaylistRow` objects, or anything with the same field names (a dict, or a
recommendation-result object with those attributes: missing fields take their defaults). All writes are
atomic (temporary file, then rename).
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable

from supervisor_app.infra.fileio import atomic_write_text
from supervisor_app.edit.edl import Edit

__all__ = ["PlaylistRow", "as_entry", "export_m3u8", "export_csv", "export_json", "read_json",
           "CSV_COLUMNS"]


@dataclass
class PlaylistRow:
    """One row of an exported playlist file: a recommended track (not the catalog's stored playlist
    membership, :class:`supervisor_app.catalog.store.PlaylistEntry`). ``score``: content score; ``sync_score``: calibrated sync score
    (:mod:`supervisor_app.ranking.sync`); ``reasons``: why it was recommended; ``edit``: the mockup edit
    (an :class:`~supervisor_app.edit.edl.Edit` or its dict); ``mockup_path``: a rendered MP4, if any."""

    rank: int
    path: str
    title: str = ""
    artist: str = ""
    track_id: str | int | None = None
    duration_s: float | None = None
    score: float | None = None
    sync_score: float | None = None
    reasons: list[str] = field(default_factory=list)
    edit: Any = None
    mockup_path: str | None = None

    def display_name(self) -> str:
        """``"artist - title"`` (falls back to the file name)."""
        title = self.title or Path(self.path).stem
        return f"{self.artist} - {title}" if self.artist else title

    def edit_dict(self) -> dict | None:
        if self.edit is None:
            return None
        return self.edit.to_dict() if isinstance(self.edit, Edit) else dict(self.edit)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["edit"] = self.edit_dict()
        d["reasons"] = [str(r) for r in self.reasons]
        d["path"] = str(self.path)
        return {k: _clean(v) for k, v in d.items()}


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item") and callable(v.item):  # numpy scalar
        return v.item()
    return v


_FIELDS = [f.name for f in fields(PlaylistRow)]


def as_entry(x: Any, rank: int | None = None) -> PlaylistRow:
    """Convert a dict or a result-like object to a :class:`PlaylistRow` (``rank`` fills a missing rank)."""
    if isinstance(x, PlaylistRow):
        return x
    get = (lambda k: x.get(k)) if isinstance(x, dict) else (lambda k: getattr(x, k, None))
    vals = {k: get(k) for k in _FIELDS}
    if vals["path"] is None:
        raise ValueError("a playlist entry needs a 'path'")
    if vals["rank"] is None:
        vals["rank"] = rank if rank is not None else 0
    reasons = vals["reasons"]
    if reasons is None:
        reason = get("reason")
        reasons = [reason] if reason else []
    elif isinstance(reasons, str):
        reasons = [reasons]
    vals["reasons"] = [str(r) for r in reasons]
    vals["path"] = str(vals["path"])
    vals["title"] = vals["title"] or ""
    vals["artist"] = vals["artist"] or ""
    return PlaylistRow(**vals)


def _entries(items: Iterable[Any]) -> list[PlaylistRow]:
    return [as_entry(x, rank=k) for k, x in enumerate(items, start=1)]


def export_m3u8(items: Iterable[Any], out_path: str | Path, use_mockups: bool = False) -> Path:
    """Write an extended M3U playlist in UTF-8 (``#EXTINF:<seconds>,<artist> - <title>`` then the file's
    absolute path). ``use_mockups``: list each entry's rendered mockup instead of its track, when it has one."""
    lines = ["#EXTM3U"]
    for e in _entries(items):
        target = e.mockup_path if (use_mockups and e.mockup_path) else e.path
        dur = -1 if e.duration_s is None or not math.isfinite(e.duration_s) else int(round(e.duration_s))
        name = e.display_name().replace("\n", " ").replace("\r", " ")
        lines.append(f"#EXTINF:{dur},{name}")
        lines.append(str(Path(target).resolve()))
    out_path = Path(out_path)
    atomic_write_text(out_path, "\n".join(lines) + "\n")
    return out_path


CSV_COLUMNS = ["rank", "track_id", "title", "artist", "path", "duration_s", "score", "sync_score", "reasons",
               "mockup_path", "n_excerpts", "edit"]


def export_csv(items: Iterable[Any], out_path: str | Path) -> Path:
    """Write a CSV (one row per entry, columns :data:`CSV_COLUMNS`; ``reasons`` joined by " | ",
    ``edit`` as compact JSON)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in _entries(items):
        ed = e.edit_dict()
        w.writerow([e.rank, "" if e.track_id is None else e.track_id, e.title, e.artist, e.path,
                    _fmt(e.duration_s), _fmt(e.score), _fmt(e.sync_score), " | ".join(e.reasons),
                    e.mockup_path or "", "" if ed is None else len(ed["excerpts"]),
                    "" if ed is None else json.dumps(ed, separators=(",", ":"))])
    out_path = Path(out_path)
    atomic_write_text(out_path, buf.getvalue())
    return out_path


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return repr(float(v))


def export_json(items: Iterable[Any], out_path: str | Path, **meta) -> Path:
    """Write ``{"version": 1, ...meta, "entries": [...]}`` with every field of every entry. Returns the path."""
    doc = {"version": 1, **meta, "entries": [e.to_dict() for e in _entries(items)]}
    out_path = Path(out_path)
    atomic_write_text(out_path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return out_path


def read_json(path: str | Path) -> list[PlaylistRow]:
    """Read a playlist written by :func:`export_json` (edits come back as :class:`Edit`)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for d in doc["entries"]:
        e = as_entry(d)
        if isinstance(e.edit, dict):
            from supervisor_app.edit.free_time import edit_from_dict

            e.edit = edit_from_dict(e.edit)  # a free-time edit keeps its crossfades and mode
        out.append(e)
    return out
