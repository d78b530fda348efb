"""Descriptive tags read from an audio file (title, artist, album, genre, tempo) with mutagen.

Tags are optional: a file without tags (or with tags mutagen cannot parse) gets its file name,
without extension, as title and ``None`` elsewhere. Reading tags never raises for a bad file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

_BPM_RE = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


@dataclass
class TrackTags:
    title: Optional[str]
    artist: Optional[str] = None
    album: Optional[str] = None
    genre: Optional[str] = None
    bpm: Optional[float] = None  # beats per minute as tagged (not measured)


def read_tags(path: str | Path) -> TrackTags:
    """Tags of the file at ``path``; the title falls back to the file stem."""
    path = Path(path)
    raw = _easy_tags(path)
    title = _first(raw, "title") or path.stem
    return TrackTags(
        title=title,
        artist=_first(raw, "artist") or _first(raw, "albumartist"),
        album=_first(raw, "album"),
        genre=_first(raw, "genre"),
        bpm=parse_bpm(_first(raw, "bpm")),
    )


def parse_bpm(text: Optional[str]) -> Optional[float]:
    """'120', '98.5', '120 BPM', '92,0' → float; nonsense or out of 20–400 → None."""
    if not text:
        return None
    m = _BPM_RE.search(str(text))
    if not m:
        return None
    value = float(m.group(0).replace(",", "."))
    return value if 20.0 <= value <= 400.0 else None


def _easy_tags(path: Path) -> dict:
    try:
        import mutagen

        f = mutagen.File(str(path), easy=True)
    except Exception:  # mutagen raises many types for damaged or foreign files; tags are optional
        return {}
    if f is None or f.tags is None:
        return {}
    try:
        return {str(k).lower(): v for k, v in f.tags.items()}
    except Exception:
        return {}


def _first(tags: dict, key: str) -> Optional[str]:
    value = tags.get(key)
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = next((v for v in value if str(v).strip()), None)
        if value is None:
            return None
    text = str(value).replace("\x00", " ").strip()
    return text or None
