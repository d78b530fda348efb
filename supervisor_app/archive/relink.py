"""Find the media a timeline names when they have moved: by path, relative to the project, then by name.

Order: (1) the path as written; (2) relative to the project file's folder; (3) a file with the same
name under the project's folder or any search folder (recursive), several candidates ranked by how many
trailing folder names they share with the original path (``Music/Licensed/x.wav`` beats ``Temp/x.wav``);
(4) the catalog's tracks with that file name. What cannot be found is reported, never guessed.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Sequence

from supervisor_app.media import AUDIO_EXTENSIONS, VIDEO_EXTENSIONS
from supervisor_app.archive.timeline import url_to_path

MEDIA_EXTENSIONS = AUDIO_EXTENSIONS | VIDEO_EXTENSIONS
MAX_INDEXED_FILES = 200_000


def _parts(p: str | Path) -> list[str]:
    return [x.lower() for x in re.split(r"[\\/]+", str(p)) if x]


def _shared_tail(a: Sequence[str], b: Sequence[str]) -> int:
    n = 0
    for x, y in zip(reversed(a), reversed(b)):
        if x != y:
            break
        n += 1
    return n


class MediaResolver:
    """Resolve timeline media references to existing files (see the module docstring)."""

    def __init__(self, project_path: str | Path | None = None, search_dirs: Iterable[str | Path] = (),
                 catalog_paths: Iterable[str] = ()):
        self.base = Path(project_path).resolve().parent if project_path else None
        self.search_dirs = [Path(d) for d in search_dirs]
        self._catalog_paths = list(catalog_paths)
        self._index: dict[str, list[str]] | None = None
        self.how: dict[str, str] = {}

    def _build_index(self) -> dict[str, list[str]]:
        idx: dict[str, list[str]] = {}
        roots = ([self.base] if self.base else []) + self.search_dirs
        n = 0
        for root in roots:
            if not root.is_dir():
                continue
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for f in filenames:
                    if Path(f).suffix.lower() in MEDIA_EXTENSIONS:
                        idx.setdefault(f.lower(), []).append(os.path.join(dirpath, f))
                        n += 1
                if n > MAX_INDEXED_FILES:
                    break
        for p in self._catalog_paths:
            idx.setdefault(Path(p).name.lower(), []).append(p)
        return idx

    def resolve(self, ref: str) -> Path | None:
        """An existing file for the reference, or None."""
        p = url_to_path(ref, self.base)
        if p.is_file():
            self.how[ref] = "as written"
            return p
        if self.base is not None and not p.is_absolute():
            q = self.base / p
            if q.is_file():
                self.how[ref] = "relative to the project"
                return q
        name = _parts(p)[-1] if _parts(p) else ""
        if not name:
            return None
        if self._index is None:
            self._index = self._build_index()
        cands = [c for c in dict.fromkeys(self._index.get(name, [])) if os.path.isfile(c)]
        if not cands:
            return None
        orig = _parts(p)
        best = max(cands, key=lambda c: (_shared_tail(_parts(c), orig), -len(c)))
        self.how[ref] = f"relinked by name ({best})"
        return Path(best)
