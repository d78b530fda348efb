"""Catalog playlists: finding one by name or id, and exporting it (M3U8 / CSV / XLSX / JSON), for the
``playlist`` command (:mod:`supervisor_app.cli.playlists`) and the app."""
from __future__ import annotations

from pathlib import Path

from supervisor_app.edit.writers import PLAYLIST_FORMATS as _WRITERS
from supervisor_app.edit.writers import format_of, playlist_items, write_playlist
from supervisor_app.infra.errors import UsageError

__all__ = ["PLAYLIST_FORMATS", "playlist_items", "find_playlist", "export_playlist", "playlist_format"]

PLAYLIST_FORMATS = tuple(_WRITERS)  # ("m3u8", "csv", "xlsx", "json")


def find_playlist(cat, name_or_id) -> tuple[int, str]:
    for p in cat.playlists():
        if str(p.id) == str(name_or_id) or p.name == str(name_or_id):
            return p.id, p.name
    raise UsageError(f"The catalog has no playlist {name_or_id!r}.")


def playlist_format(out_path, fmt: str | None = None) -> str | None:
    """The format to write: ``fmt`` when given (``m3u`` is ``m3u8``), else the one ``out_path`` ends in
    (None when the suffix names none)."""
    if fmt:
        fmt = fmt.lower().lstrip(".")
        return "m3u8" if fmt == "m3u" else fmt
    return format_of(out_path, _WRITERS)


def export_playlist(cat, playlist_id: int, fmt: str, out_path) -> Path:
    """Write a catalog playlist (atomic): M3U8 (players; '#EXTINF' with artist - title), CSV / XLSX (the
    sheet a supervisor sends: :mod:`supervisor_app.edit.playlist_sheet`), JSON (everything, edits included).
    The writers are :data:`supervisor_app.edit.writers.PLAYLIST_FORMATS`."""
    name = next((p.name for p in cat.playlists() if p.id == int(playlist_id)), str(playlist_id))
    return write_playlist(fmt, cat, playlist_id, out_path, name)
