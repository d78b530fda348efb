"""Mockup renders cached by what they are made of, so nothing is rendered twice.

A render (the MP4 mockup or the WAV) is a pure function of the picture's bytes, the track's bytes, the
edit (its JSON), the render options and the render code. :func:`render_mp4_cached` and
:func:`render_wav_cached` key the output on exactly that:

    sha256(json([kind, picture content hash, track content hash, edit.to_dict(), options, code hash]))

and keep one copy under ``<cache>/renders/<key[:2]>/<key>.<ext>`` in the app's cache folder
(:func:`supervisor_app.infra.paths.cache_dir`, recomputable, safe to delete). A hit copies the file to the
requested path (atomically: temp file + rename) instead of decoding, mixing and encoding again; a miss
renders with :mod:`supervisor_app.edit.render` and stores the result (atomically too: an interrupted
store leaves no entry, never half a file). The code hash covers every module of ``supervisor_app.edit``,
so a change to the mix or the encoder settings never serves an old render.

Content hashes of media files are memoised per (path, size, mtime) inside the process, so a picture
rendered against several tracks is hashed once.
"""
from __future__ import annotations

import json
import shutil
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from supervisor_app.infra import paths
from supervisor_app.infra.errors import OutputError
from supervisor_app.infra.fileio import atomic_output
from supervisor_app.infra.hashing import bytes_hash, content_hash
from supervisor_app.infra.jobs import ProgressFn, ShouldCancel

__all__ = ["render_mp4_cached", "render_wav_cached", "render_key", "renders_dir", "RENDER_CACHE_VERSION"]

#: bump to drop every cached render (e.g. when ffmpeg settings outside supervisor_app/edit change)
RENDER_CACHE_VERSION = 1
_HASHES: dict[tuple[str, int, int], str] = {}
_LOCK = threading.Lock()


def renders_dir() -> Path:
    return paths.cache_dir() / "renders"


@lru_cache(maxsize=1)
def _code_hash() -> str:
    """Hash of the sources of supervisor_app.edit (the renderer and what it imports from its package)."""
    here = Path(__file__).resolve().parent
    parts = []
    for p in sorted(here.glob("*.py")):
        try:
            parts.append(p.name.encode() + b"\0" + p.read_bytes())
        except OSError:
            parts.append(p.name.encode())
    return bytes_hash(b"\1".join(parts))


def _file_hash(path: str | Path) -> str:
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    with _LOCK:
        got = _HASHES.get(key)
    if got is None:
        got = content_hash(p)
        with _LOCK:
            _HASHES[key] = got
    return got


def render_key(kind: str, edit, track_path: str | Path, video_path: str | Path | None = None,
               options: dict[str, Any] | None = None) -> str:
    """The cache key of one render (hex SHA-256); see the module doc."""
    doc = {"v": RENDER_CACHE_VERSION, "kind": kind, "code": _code_hash(),
           "picture": _file_hash(video_path) if video_path is not None else None,
           "track": _file_hash(track_path), "edit": edit.to_dict(),
           "options": {k: options[k] for k in sorted(options or {})}}
    return bytes_hash(json.dumps(doc, sort_keys=True, default=float).encode("utf-8"))


def _copy_atomic(src: Path, dst: Path) -> None:
    with atomic_output(dst) as tmp:
        shutil.copyfile(src, tmp)


def _cached(kind: str, ext: str, render: Callable[[Path], Path], out_path: str | Path, edit, track_path,
            video_path, options: dict, progress=None) -> Path:
    out_path = Path(out_path)
    try:
        key = render_key(kind, edit, track_path, video_path, options)
    except OSError:
        return render(out_path)  # a source we cannot hash: render reports the real problem
    entry = renders_dir() / key[:2] / f"{key}.{ext}"
    if entry.is_file():
        try:
            _copy_atomic(entry, out_path)
            if progress is not None:
                progress(1.0, "served from the render cache")
            return out_path
        except (OSError, OutputError):
            pass  # unreadable entry or full disk on the copy: render afresh below
    result = render(out_path)
    try:
        _copy_atomic(Path(result), entry)
    except (OSError, OutputError):
        pass  # the cache is a bonus: a full or read-only cache folder never fails a render
    return Path(result)


def render_mp4_cached(edit, video_path: str | Path, track_path: str | Path, out_path: str | Path,
                      progress: ProgressFn | None = None, should_cancel: ShouldCancel | None = None,
                      **options) -> Path:
    """:func:`supervisor_app.edit.render.render_mp4`, served from the render cache when the same
    (picture, track, edit, options) was rendered before. Same arguments, same result, same errors."""
    from supervisor_app.edit.render import render_mp4

    return _cached("mp4", "mp4",
                   lambda out: render_mp4(edit, video_path, track_path, out, progress=progress,
                                          should_cancel=should_cancel, **options),
                   out_path, edit, track_path, video_path, options, progress)


def render_wav_cached(edit, track_path: str | Path, out_path: str | Path, **options) -> Path:
    """:func:`supervisor_app.edit.render.render_wav` through the render cache (see the module doc)."""
    from supervisor_app.edit.render import render_wav

    return _cached("wav", "wav", lambda out: render_wav(edit, track_path, out, **options),
                   out_path, edit, track_path, None, options)


def cached_render(kind: str, render: Callable[[Path], Path], out_path: str | Path, edit, track_path,
                  video_path=None, options: dict | None = None, progress=None) -> Path:
    """Any render served from the cache: ``render(out_path)`` runs only on a miss. ``options`` (JSON:
    numbers, strings, None) must name everything besides the edit and the sources that changes the
    output (e.g. the mockup's mix settings). ``kind`` is also the file extension."""
    return _cached(kind, kind, render, out_path, edit, track_path, video_path, dict(options or {}), progress)
