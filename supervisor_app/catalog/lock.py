"""One indexer per catalog at a time: an advisory lock (``fcntl.flock``) on a small file beside it.

``index_lock(catalog_path)`` is held for the whole of ``catalog index``. A second indexer either stops at
once with :class:`~supervisor_app.infra.errors.CatalogLockedError` naming the holder (process id, host, when it
started) or, with ``wait=True``, waits for it and then finds the work done (no duplicated work). The
kernel drops the lock when its holder dies, even on SIGKILL, so a crashed run never blocks the next.

The lock file (``.NAME.index-lock``) is removed by its holder on release. Removing a lock file races with
a process that opened it just before; the acquirer therefore checks, once it holds the lock, that the path
still names the file it locked, and starts over if not.
"""
from __future__ import annotations

import errno
import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

from supervisor_app.infra.errors import CatalogLockedError, CatalogReadOnlyError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, the catalog's own locking still holds
    fcntl = None


def lock_path(catalog_path: str | Path) -> Path:
    p = Path(os.path.abspath(os.fspath(catalog_path)))
    return p.with_name(f".{p.name}.index-lock")


def holder_of(catalog_path: str | Path) -> Optional[dict]:
    """What the current holder wrote into the lock file ({"pid", "host", "started_at"}), or None."""
    try:
        return json.loads(lock_path(catalog_path).read_text() or "null")
    except (OSError, ValueError):
        return None


def describe(holder: Optional[dict]) -> str:
    if not holder:
        return "another process"
    when = time.strftime("%H:%M:%S", time.localtime(float(holder.get("started_at", 0))))
    return f"process {holder.get('pid')} on {holder.get('host')} (since {when})"


@contextmanager
def index_lock(catalog_path: str | Path, wait: bool = False,
               on_wait: Optional[Callable[[str], None]] = None) -> Iterator[Path]:
    """Hold the catalog's indexing lock for the ``with`` block (see the module docstring)."""
    path = lock_path(catalog_path)
    if fcntl is None:  # pragma: no cover
        yield path
        return
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise CatalogReadOnlyError(catalog_path, "the index") from None
            raise
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = describe(holder_of(catalog_path))
                if not wait:
                    raise CatalogLockedError(catalog_path, holder) from None
                if on_wait is not None:
                    on_wait(holder)
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # released and removed by its holder while we waited: lock the new one
                os.close(fd)
                fd = -1
                continue
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "started_at": time.time()}).encode())
            try:
                yield path
            finally:
                try:
                    os.unlink(path)
                except OSError:
                    pass
            return
        finally:
            if fd >= 0:
                os.close(fd)
