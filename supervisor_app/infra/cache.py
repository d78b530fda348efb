"""Analysis results for files that are not in a catalog (e.g. query videos), keyed by content.

Entries live under ``<root>/analysis/<analyzer>/<version>/<hash[:2]>/<hash>.json|.npz``, so a new
analyzer version never reads an old result and ``clear(analyzer)`` drops one analyzer's cache.
Writes are atomic (temp file + rename): a crash leaves the old entry or none, never half a file;
an unreadable entry counts as a miss.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Mapping, Optional

import numpy as np

from supervisor_app.infra import fileio, paths
from supervisor_app.infra.fileio import json_dumps
from supervisor_app.infra.hashing import bytes_hash

_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]")
_HASH_RE = re.compile(r"^[0-9a-fA-F]{8,128}$")
_SINGLE_KEY = "array"


def _safe_name(text: str) -> str:
    """A folder name for ``text``: kept as is when harmless, else sanitised + short hash (no clashes)."""
    text = str(text)
    safe = _SAFE_RE.sub("_", text)
    if safe != text or safe in ("", ".", ".."):
        safe = f"{safe.strip('.')}-{bytes_hash(text.encode('utf-8'))[:10]}"
    return safe


class AnalysisCache:
    """Results of analyzers by (content hash, analyzer, version): JSON dicts and numpy arrays."""

    def __init__(self, root: Optional[str | Path] = None):
        self.root = Path(root) if root is not None else paths.cache_dir()

    def _path(self, content_hash: str, analyzer: str, version: str, suffix: str) -> Path:
        if not isinstance(content_hash, str) or not _HASH_RE.match(content_hash):
            raise ValueError(f"not a content hash: {content_hash!r}")
        h = content_hash.lower()
        return self.root / "analysis" / _safe_name(analyzer) / _safe_name(version) / h[:2] / f"{h}{suffix}"

    # -- JSON results ---------------------------------------------------------------------
    def get(self, content_hash: str, analyzer: str, version: str) -> Optional[dict]:
        """The stored result dict, or None (never stored, or unreadable)."""
        p = self._path(content_hash, analyzer, version, ".json")
        try:
            value = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, content_hash: str, analyzer: str, version: str, result: dict) -> None:
        """Store ``result`` (a dict; numpy values become lists/numbers) atomically."""
        if not isinstance(result, dict):
            raise TypeError(f"a cached result must be a dict, not {type(result).__name__}")
        fileio.atomic_write_text(self._path(content_hash, analyzer, version, ".json"), json_dumps(result))

    # -- numpy arrays ---------------------------------------------------------------------
    def get_array(self, content_hash: str, analyzer: str, version: str) -> Optional[np.ndarray]:
        """The array stored by :meth:`put_array`, or None."""
        arrays = self.get_arrays(content_hash, analyzer, version)
        return None if arrays is None else arrays.get(_SINGLE_KEY)

    def put_array(self, content_hash: str, analyzer: str, version: str, array: np.ndarray) -> None:
        self.put_arrays(content_hash, analyzer, version, {_SINGLE_KEY: array})

    def get_arrays(self, content_hash: str, analyzer: str, version: str) -> Optional[dict[str, np.ndarray]]:
        """The named arrays stored by :meth:`put_arrays` (an .npz), or None."""
        p = self._path(content_hash, analyzer, version, ".npz")
        try:
            with np.load(p, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            return None

    def put_arrays(self, content_hash: str, analyzer: str, version: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Store named numeric arrays atomically as one .npz (names must be identifiers)."""
        buf = io.BytesIO()
        np.savez(buf, **{str(k): np.asarray(v) for k, v in arrays.items()})
        fileio.atomic_write_bytes(self._path(content_hash, analyzer, version, ".npz"), buf.getvalue())

    # -- housekeeping ---------------------------------------------------------------------
    def clear(self, analyzer: Optional[str] = None, version: Optional[str] = None) -> None:
        """Delete cached entries: all, one analyzer's, or one analyzer version's."""
        base = self.root / "analysis"
        if analyzer is not None:
            base = base / _safe_name(analyzer)
            if version is not None:
                base = base / _safe_name(version)
        elif version is not None:
            raise ValueError("clear(version=...) needs the analyzer too")
        shutil.rmtree(base, ignore_errors=True)

    def size_bytes(self) -> int:
        """Disk space used by the cached entries, in bytes."""
        base = self.root / "analysis"
        return sum(p.stat().st_size for p in base.rglob("*") if p.is_file()) if base.exists() else 0
