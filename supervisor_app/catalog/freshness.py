"""Before indexing: is every track's file still the one that was analysed?

``refresh_tracks`` compares each track's file with what the catalog recorded (size and mtime first, the
content hash when those changed) and brings the catalog up to date, so ``catalog index`` never keeps
results that describe other audio:

* same size and mtime → nothing to do (one ``stat`` per track);
* size or mtime changed, same content hash → new file facts, results kept (e.g. a ``touch``);
* content changed → the track's analyses and embeddings are dropped (``Catalog.refresh_track``) and
  the indexer recomputes them; duration and tags are read again;
* file gone → status 'missing' (not indexed; back to 'ok' when it returns);
* a track in 'error' whose file changed, or any track in 'error' with ``retry_failed``, is read again.

Problems are returned, never raised: one bad file does not stop the run.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Callable, Optional

from supervisor_app.infra import errors


@dataclass
class FreshnessReport:
    checked: int = 0
    changed: int = 0  # content changed: results dropped, to be recomputed
    touched: int = 0  # file facts changed, same content: results kept
    missing: int = 0  # newly missing
    restored: int = 0  # missing or in error before, usable again
    errors: list = field(default_factory=list)  # [(track id, message)]


def refresh_tracks(catalog, tracks=None, retry_failed: bool = False,
                   should_cancel: Optional[Callable[[], bool]] = None) -> FreshnessReport:
    """Bring the catalog's record of each track's file up to date (see the module docstring)."""
    from supervisor_app.catalog.scan import _read_file

    rep = FreshnessReport()
    for t in (catalog.tracks(include_missing=True) if tracks is None else tracks):
        if should_cancel is not None and should_cancel():
            break
        rep.checked += 1
        try:
            st = os.stat(t.path)
        except FileNotFoundError:
            if t.status != "missing":
                catalog.set_status(t.id, "missing")
                rep.missing += 1
            continue
        except OSError as e:
            msg = str(errors.FileUnreadableError(t.path, e.strerror or str(e)))
            if t.status != "error" or t.error != msg:
                catalog.set_status(t.id, "error", msg)
            rep.errors.append((t.id, msg))
            continue
        if not stat.S_ISREG(st.st_mode):
            msg = str(errors.NotRegularFileError(t.path, "special file"))
            catalog.set_status(t.id, "error", msg)
            rep.errors.append((t.id, msg))
            continue
        size, mtime = int(st.st_size), float(st.st_mtime)
        same_state = t.size_bytes == size and t.mtime == mtime
        if same_state and t.status == "ok":
            continue
        if same_state and t.status == "missing":
            catalog.set_status(t.id, "ok")
            rep.restored += 1
            continue
        if same_state and t.status == "error" and not retry_failed and not _transient(t.error):
            rep.errors.append((t.id, t.error or "unreadable"))
            continue
        try:
            h, duration_s, tags = _read_file(t.path, size)
        except errors.SupervisorError as e:
            catalog.mark_track_error(t.id, str(e), size, mtime)
            rep.errors.append((t.id, str(e)))
            continue
        except Exception as e:  # noqa: BLE001 - a decoder bug on one file must not stop the run
            msg = f"The file {errors.display_name(t.path)!r} could not be read ({type(e).__name__}: {e})."
            catalog.mark_track_error(t.id, msg, size, mtime)
            rep.errors.append((t.id, msg))
            continue
        was_ok = t.status == "ok"
        changed = catalog.refresh_track(t.id, h, size, mtime, duration_s, tags.title or t.title,
                                        tags.artist or t.artist, tags.album or t.album, tags.genre or t.genre,
                                        tags.bpm if tags.bpm is not None else t.bpm_tag)
        if changed:
            rep.changed += 1
        elif was_ok:
            rep.touched += 1
        if not was_ok:
            rep.restored += 1
    return rep


def _transient(message: Optional[str]) -> bool:
    """Errors that say nothing about the file's content (permissions, a folder that could not be
    entered): worth trying again on every run, the cause may be gone."""
    text = (message or "").lower()
    return "cannot be read" in text or "permission denied" in text or "disappeared" in text
