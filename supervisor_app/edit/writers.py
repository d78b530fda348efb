"""The export formats, one registry per kind: each format's name, file suffixes and the function that writes it.

Every caller that picks a writer (by a format name or by an output file's suffix) goes through here:
``mockup --otio/--fcpxml/--edl`` and the app's exports (:data:`TIMELINE_FORMATS`, :func:`write_timeline`),
the timeline reader (:func:`timeline_adapter`), ``playlist export`` and the app's playlist export
(:data:`PLAYLIST_FORMATS`, :func:`write_playlist`). Adding a format is one entry here and its writer.

Timeline writers take ``(edit, video_path, track_path, out_path, **options)``; playlist writers take
``(catalog, playlist_id, out_path, name)``. Both write atomically and return the path written.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from supervisor_app.infra.errors import UsageError

__all__ = ["Format", "TIMELINE_FORMATS", "PLAYLIST_FORMATS", "format_of", "timeline_writer", "write_timeline",
           "timeline_adapter", "playlist_writer", "write_playlist", "playlist_items"]


@dataclass(frozen=True)
class Format:
    """One export format: ``name`` (as the CLI and the app spell it), its ``suffixes`` (the first is the one
    new files get), what the file is called in messages, and where its writer lives (``module:function``)."""

    name: str
    suffixes: tuple[str, ...]
    what: str
    writer_ref: str
    adapter: str | None = None  # OpenTimelineIO adapter that reads it back (timelines)

    @property
    def suffix(self) -> str:
        return self.suffixes[0]

    def writer(self) -> Callable:
        module, func = self.writer_ref.split(":")
        return getattr(importlib.import_module(module), func)


_TL = "supervisor_app.edit.export_timeline"
TIMELINE_FORMATS: dict[str, Format] = {
    "otio": Format("otio", (".otio",), "The OTIO timeline", f"{_TL}:export_otio", "otio_json"),
    "fcpxml": Format("fcpxml", (".xml", ".fcpxml"), "The Final Cut Pro XML timeline", f"{_TL}:export_fcpxml", "fcp_xml"),
    "edl": Format("edl", (".edl",), "The EDL", f"{_TL}:export_edl", "cmx_3600"),
}

_PL = "supervisor_app.edit.writers"
PLAYLIST_FORMATS: dict[str, Format] = {
    "m3u8": Format("m3u8", (".m3u8", ".m3u"), "The M3U8 playlist", f"{_PL}:_write_m3u8"),
    "csv": Format("csv", (".csv",), "The playlist sheet (CSV)", f"{_PL}:_write_csv"),
    "xlsx": Format("xlsx", (".xlsx",), "The playlist sheet (XLSX)", f"{_PL}:_write_xlsx"),
    "json": Format("json", (".json",), "The playlist (JSON)", f"{_PL}:_write_json"),
}


def format_of(path, formats: Mapping[str, Format]) -> str | None:
    """The name of the format in ``formats`` whose suffix ``path`` ends in (case-insensitive), or None."""
    suffix = Path(str(path)).suffix.lower()
    return next((f.name for f in formats.values() if suffix in f.suffixes), None)


def _get(fmt: str, formats: Mapping[str, Format], kind: str) -> Format:
    key = (fmt or "").lower().lstrip(".")
    if key not in formats:
        raise UsageError(f"Unknown {kind} format {key!r}: choose one of {', '.join(formats)}.")
    return formats[key]


# --- timelines -------------------------------------------------------------------------------------
def timeline_writer(fmt: str) -> Callable:
    """The writer of timeline format ``fmt`` (``otio``, ``fcpxml``, ``edl``); UsageError for another name."""
    return _get(fmt, TIMELINE_FORMATS, "timeline").writer()


def write_timeline(fmt: str, edit, video_path, track_path, out_path, **options) -> Path:
    """Write ``edit`` as timeline format ``fmt`` at ``out_path`` (atomic); returns the path."""
    return timeline_writer(fmt)(edit, video_path, track_path, out_path, **options)


def timeline_adapter(path) -> str:
    """The OpenTimelineIO adapter that reads a timeline file back, from its suffix (OTIO JSON by default)."""
    fmt = format_of(path, TIMELINE_FORMATS)
    return TIMELINE_FORMATS[fmt].adapter if fmt else "otio_json"


# --- catalog playlists -----------------------------------------------------------------------------
def playlist_writer(fmt: str) -> Callable:
    """The writer of playlist format ``fmt`` (``m3u8``, ``csv``, ``xlsx``, ``json``); UsageError for another."""
    return _get(fmt, PLAYLIST_FORMATS, "playlist").writer()


def write_playlist(fmt: str, cat, playlist_id: int, out_path, name: str) -> Path:
    """Write catalog playlist ``playlist_id`` (called ``name``) as ``fmt`` at ``out_path`` (atomic)."""
    return playlist_writer(fmt)(cat, playlist_id, out_path, name)


def playlist_items(cat, playlist_id: int) -> list[dict]:
    """The entries of a playlist as export rows (track fields plus the scores and edit stored with them)."""
    items = []
    for e in cat.playlist_entries(playlist_id):
        t = cat.get_track(e.track_id)
        pay = e.payload or {}
        items.append({"rank": e.position + 1, "track_id": e.track_id, "path": t.path if t else "",
                      "title": (t.title if t else "") or "", "artist": (t.artist if t else "") or "",
                      "duration_s": t.duration_s if t else None, "score": pay.get("score"),
                      "sync_score": pay.get("sync_score"), "reasons": pay.get("reasons") or ([e.note] if e.note else []),
                      "edit": pay.get("edit"), "mockup_path": pay.get("mockup_path")})
    return items


def _write_m3u8(cat, playlist_id: int, out_path, name: str) -> Path:
    """Players' playlist ('#EXTINF' with artist - title)."""
    from supervisor_app.edit import playlist_export as px

    return px.export_m3u8(playlist_items(cat, playlist_id), out_path)


def _write_csv(cat, playlist_id: int, out_path, name: str) -> Path:
    """The sheet a supervisor sends (:mod:`supervisor_app.edit.playlist_sheet`) as CSV."""
    from supervisor_app.edit.playlist_sheet import sheet_rows, write_sheet_csv

    return write_sheet_csv(sheet_rows(cat, playlist_id), out_path)


def _write_xlsx(cat, playlist_id: int, out_path, name: str) -> Path:
    """The same sheet as an Excel workbook."""
    from supervisor_app.edit.playlist_sheet import sheet_rows, write_sheet_xlsx

    return write_sheet_xlsx(sheet_rows(cat, playlist_id), out_path, title=name)


def _write_json(cat, playlist_id: int, out_path, name: str) -> Path:
    return _export_json(cat, playlist_id, playlist_items(cat, playlist_id), out_path, name)


def _export_json(cat, playlist_id: int, items: list[dict], out_path, name: str) -> Path:
    """``export_json``'s document, each entry also carrying every field of its track (metadata, rights,
    BPM, key) under ``"track"`` (``read_json`` ignores it)."""
    import json

    from supervisor_app.catalog.tracks_view import track_facts
    from supervisor_app.edit.playlist_export import as_entry
    from supervisor_app.infra.fileio import atomic_write_text

    entries = []
    for k, it in enumerate(items, start=1):
        d = as_entry(it, rank=k).to_dict()
        t = cat.get_track(it["track_id"])
        if t is not None:
            d["track"] = track_facts(cat, t)
        entries.append(d)
    doc = {"version": 1, "playlist": name, "catalog": str(cat.path), "entries": entries}
    out_path = Path(out_path)
    atomic_write_text(out_path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return out_path
