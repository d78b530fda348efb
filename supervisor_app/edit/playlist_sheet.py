"""A playlist as the sheet a music supervisor sends: one row per track, one fact per column.

Columns: position, title, artist, composer, publisher, label, ISRC, ISWC, PRO, duration, BPM, key,
tags, the rights (one-stop, territories, restrictions, cleared for), the scores with their meaning in
the header, the mockup's picture and music in/out points as timecode, notes and the file. A column
empty on every row is left out (nothing always-blank); nothing is a JSON blob (``json`` exports keep
everything). Written as CSV (UTF-8 with BOM, so Excel opens accents right) or XLSX (openpyxl).
"""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Optional

from supervisor_app.infra.errors import MissingExtraError

#: (key, header) in sheet order; the score headers say what the numbers mean
SHEET_COLUMNS: list[tuple[str, str]] = [
    ("position", "#"),
    ("title", "Title"),
    ("artist", "Artist"),
    ("composer", "Composer"),
    ("publisher", "Publisher"),
    ("label", "Label"),
    ("isrc", "ISRC"),
    ("iswc", "ISWC"),
    ("pro", "PRO"),
    ("duration", "Duration (m:ss)"),
    ("bpm", "BPM"),
    ("key", "Key"),
    ("tags", "Tags"),
    ("one_stop", "One-stop"),
    ("territories", "Territories"),
    ("restrictions", "Restrictions"),
    ("cleared_for", "Cleared for"),
    ("fit_score", "Fit to picture (content score; higher = closer match to the video)"),
    ("sync_score", "Sync score (cuts on downbeats; 0 = chance, higher = tighter)"),
    ("similarity", "Similarity to the query track (cosine, -1..1; higher = more alike)"),
    ("brief_score", "Brief score (0..1; 0.5 = a typical track)"),
    ("video", "Picture"),
    ("picture_in", "Picture in (TC)"),
    ("picture_out", "Picture out (TC)"),
    ("music_in", "Music in (TC)"),
    ("music_out", "Music out (TC)"),
    ("edits", "Music edits"),
    ("notes", "Notes"),
    ("file", "File"),
    ("track_id", "Catalog id"),
]


def timecode(seconds: Optional[float], fps: float = 25.0) -> str:
    """HH:MM:SS:FF at ``fps`` (non-drop); '' when unknown."""
    if seconds is None or not math.isfinite(float(seconds)):
        return ""
    rate = int(round(fps))
    frames = int(round(float(seconds) * fps))
    ff = frames % rate
    s = frames // rate
    return f"{s // 3600:02d}:{(s // 60) % 60:02d}:{s % 60:02d}:{ff:02d}"


def _mmss(s) -> str:
    if s is None:
        return ""
    s = int(round(float(s)))
    return f"{s // 60}:{s % 60:02d}"


def _num(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return f"{float(v):.{digits}f}".rstrip("0").rstrip(".") if digits else str(int(round(float(v))))


def _video_fps(video: Optional[str], cache: dict) -> float:
    from supervisor_app.edit.timecode import timecode_rate

    if not video:
        return 25.0
    if video not in cache:
        try:
            from supervisor_app.media import probe

            cache[video] = timecode_rate(probe(video).fps)
        except Exception:  # a picture that moved or cannot be read: PAL timecode, the sheet still exports
            cache[video] = 25.0
    return cache[video]


def sheet_rows(cat, playlist_id: int) -> list[dict]:
    """One dict per entry, keyed by :data:`SHEET_COLUMNS` keys (text values, '' when unknown)."""
    from supervisor_app.catalog.tracks_view import tempo_and_key

    fps_cache: dict = {}
    rows = []
    for e in cat.playlist_entries(playlist_id):
        t = cat.get_track(e.track_id)
        pay = e.payload or {}
        bpm, key = tempo_and_key(cat, t) if t is not None else (None, None)
        edit = pay.get("edit") or None
        video = pay.get("video")
        has_picture = bool(video or edit)
        score = pay.get("score")
        kind = pay.get("score_kind") or ("fit" if has_picture else "similarity")
        row = {
            "position": str(e.position + 1), "track_id": str(e.track_id),
            "title": (t.title or Path(t.path).stem) if t else "", "artist": (t.artist or "") if t else "",
            "composer": getattr(t, "composer", None) or "", "publisher": getattr(t, "publisher", None) or "",
            "label": getattr(t, "label", None) or "", "isrc": getattr(t, "isrc", None) or "",
            "iswc": getattr(t, "iswc", None) or "", "pro": getattr(t, "pro", None) or "",
            "duration": _mmss(t.duration_s if t else None), "bpm": _num(bpm, 0) if bpm else "", "key": key or "",
            "tags": ", ".join(str(x) for x in (t.tags or [])) if t else "",
            "one_stop": {True: "yes", False: "no"}.get(getattr(t, "one_stop", None), ""),
            "territories": getattr(t, "territories", None) or "", "restrictions": getattr(t, "restrictions", None) or "",
            "cleared_for": getattr(t, "cleared_for", None) or "",
            "fit_score": _num(score) if kind == "fit" else "",
            "sync_score": _num(pay.get("sync_score"), 2),
            "similarity": _num(score) if kind == "similarity" else "",
            "brief_score": _num(pay.get("brief_score")),
            "video": Path(video).name if video else "",
            "notes": "; ".join(x for x in [e.note, *(pay.get("reasons") or [])] if x),
            "file": t.path if t else "",
        }
        if edit and edit.get("excerpts"):
            fps = _video_fps(video, fps_cache)
            ex = edit["excerpts"]
            row.update(picture_in=timecode(ex[0]["video_start_s"], fps), picture_out=timecode(ex[-1]["video_end_s"], fps),
                       music_in=timecode(ex[0]["music_in_s"], fps), music_out=timecode(ex[-1]["music_out_s"], fps),
                       edits=str(len(ex) - 1))
        rows.append(row)
    return rows


def sheet_columns(rows: list[dict]) -> list[tuple[str, str]]:
    """The columns with a value on at least one row (title and artist always)."""
    return [(k, h) for k, h in SHEET_COLUMNS if k in ("position", "title", "artist") or any(r.get(k) for r in rows)]


def write_sheet_csv(rows: list[dict], out_path) -> Path:
    from supervisor_app.infra.fileio import atomic_write_bytes

    cols = sheet_columns(rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([h for _, h in cols])
    for r in rows:
        w.writerow([r.get(k, "") for k, _ in cols])
    out_path = Path(out_path)
    atomic_write_bytes(out_path, buf.getvalue().encode("utf-8-sig"))
    return out_path


def write_sheet_xlsx(rows: list[dict], out_path, title: str = "Playlist") -> Path:
    try:
        import openpyxl
        from openpyxl.styles import Font
    except ModuleNotFoundError:
        raise MissingExtraError("Writing .xlsx needs openpyxl (pip install openpyxl==3.1.5); export CSV instead.") from None

    cols = sheet_columns(rows)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = (title or "Playlist")[:31].translate({ord(c): " " for c in "[]:*?/\\"}) or "Playlist"
    ws.append([h for _, h in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    numeric = {"position", "bpm", "fit_score", "sync_score", "similarity", "brief_score", "edits", "track_id"}
    for r in rows:
        ws.append([_cell(r.get(k, ""), k in numeric) for k, _ in cols])
    for i, (k, h) in enumerate(cols, start=1):
        width = max([len(h) if k not in ("fit_score", "sync_score", "similarity", "brief_score") else 14]
                    + [len(str(r.get(k, ""))) for r in rows])
        ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = min(60, width + 2)
    ws.freeze_panes = "B2"
    out_path = Path(out_path)
    from supervisor_app.infra.fileio import atomic_output

    with atomic_output(out_path, "The playlist file") as tmp:
        wb.save(tmp)
    return out_path


def _cell(v, numeric: bool):
    if numeric and v not in ("", None):
        try:
            f = float(v)
            return int(f) if f.is_integer() else f
        except ValueError:
            return v
    return v
