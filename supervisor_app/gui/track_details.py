"""The selected track's details: title, artist, album, length, tempo, tags, rights, file and analysis."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from .widgets import fmt_duration


def _esc(s) -> str:
    return str(s if s is not None else "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _size(n: Optional[int]) -> str:
    if not n:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024.0
    return ""


class TrackDetails(QWidget):
    """A read-only sheet about one track (``show_candidate(candidate, info)``; ``info`` from the backend)."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.label = QLabel("Select a track to see its details.")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.RichText)
        self.label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setWidget(self.label)
        area.setFrameShape(QScrollArea.NoFrame)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(area)
        self._rows: list[tuple[str, str]] = []

    def rows(self) -> list[tuple[str, str]]:
        """The (field, value) pairs shown (for tests)."""
        return list(self._rows)

    def show_candidate(self, c, info: dict) -> None:
        if c is None:
            self._rows = []
            self.label.setText("Select a track to see its details.")
            return
        info = info or {}
        rows: list[tuple[str, str]] = []
        rows.append(("Title", info.get("title") or c.title or Path(c.path).stem))
        rows.append(("Artist", info.get("artist") or c.artist or ""))
        if info.get("album"):
            rows.append(("Album", info["album"]))
        dur = info.get("duration_s") or c.duration_s
        if dur:
            rows.append(("Length", fmt_duration(dur)))
        an = info.get("analysis") or {}
        if c.bpm:
            src = {"tag": "from the file's tag", "analysis": "measured"}.get(c.bpm_source, "")
            rows.append(("Tempo", f"{c.bpm:.0f} BPM" + (f" ({src})" if src else "")))
        elif info.get("bpm_tag"):
            rows.append(("Tempo", f"{info['bpm_tag']:.0f} BPM (from the file's tag)"))
        elif an.get("tempo_bpm"):
            rows.append(("Tempo", f"{an['tempo_bpm']:.0f} BPM (measured)"))
        if an.get("meter"):
            rows.append(("Meter", f"{an['meter']} beats per bar"))
        rows.append(("Key", "not analysed (no key estimate in the catalog)"))
        tags = info.get("tags") or list(c.tags or [])
        if info.get("genre") and info["genre"] not in tags:
            tags = tags + [info["genre"]]
        rows.append(("Tags", ", ".join(tags) if tags else "none"))
        rights = info.get("rights") or {}
        rows.append(("Rights", "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in rights.items()) if rights
                     else "not recorded"))
        if info.get("notes"):
            rows.append(("Notes", info["notes"]))
        if an:
            rows.append(("Analysis", f"{an.get('downbeats', 0)} downbeats, {an.get('beats', 0)} beats found"))
        elif info.get("analysis_error"):
            rows.append(("Analysis", f"failed: {info['analysis_error']}"))
        elif c.track_id is not None:
            rows.append(("Analysis", "not analysed yet (Catalog › Analyse)"))
        rows.append(("File", c.path))
        if info.get("size_bytes"):
            rows.append(("Size", _size(info["size_bytes"])))
        if info.get("status") and info["status"] != "ok":
            rows.append(("Status", f"{info['status']}: {info.get('error', '')}".strip(": ")))
        self._rows = rows
        html = "<table cellspacing='3'>" + "".join(
            f"<tr><td valign='top' style='color:palette(mid)'><b>{_esc(k)}</b></td><td>{_esc(v)}</td></tr>"
            for k, v in rows) + "</table>"
        self.label.setText(html)
