"""Writing files: ONE atomic writer and ONE JSON encoder for every file the app writes.

``atomic_output`` yields a temporary path in the target's folder and renames it onto the target on success;
the temporary file is removed on any failure (an exception, KeyboardInterrupt, a full disk), so the old file
stays intact and nothing is left behind. Every OS error becomes a typed :class:`~.errors.OutputError`. A link
given as the target is written through (:func:`~.outputs.resolve_output`). ``atomic_write_bytes``,
``atomic_write_text`` and ``atomic_write_npz`` are built on it. ``json_default``/``json_dumps`` turn numpy
arrays and scalars, paths, tuples and sets into JSON values.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from supervisor_app.infra.errors import DiskFullError, OutputNotWritableError
from supervisor_app.infra.outputs import resolve_output

__all__ = ["atomic_output", "atomic_write_bytes", "atomic_write_text", "atomic_write_npz", "json_default",
           "json_dumps"]


def _os_error(path, what: str, e: OSError):
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(path, what)
    return OutputNotWritableError(path, what, e.strerror or str(e))


@contextmanager
def atomic_output(path: str | Path, what: str = "The output file") -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it is renamed onto the target.

    The temporary file is removed whatever happens (an exception, KeyboardInterrupt); OS errors become
    typed OutputErrors. Links are written through (see :func:`resolve_output`).
    """
    final = resolve_output(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}", dir=final.parent)
        os.close(fd)
    except OSError as e:
        raise _os_error(path, what, e) from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        try:
            if final.exists():
                try:  # keep the permissions of the file being replaced
                    os.chmod(tmp, stat.S_IMODE(os.stat(final).st_mode))
                except OSError:
                    pass
            else:
                os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, final)
        except OSError as e:
            raise _os_error(path, what, e) from None
    except OSError as e:
        raise _os_error(path, what, e) from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError:
            pass


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def atomic_write_bytes(path: str | Path, data: bytes, what: str = "The output file", durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename). ``durable=False``
    skips the fsync: for recomputable cache entries, where a crash may leave an unreadable entry (a miss)
    but never a half-written one under the final name, and dozens of writes per command would each wait
    for the disk."""
    with atomic_output(path, what) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
    return resolve_output(path)


def atomic_write_text(path: str | Path, text: str, what: str = "The output file", durable: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), what, durable=durable)


def atomic_write_npz(path: str | Path, **arrays) -> Path:
    """``np.savez`` streamed to a temp file in the same folder, fsynced, then renamed (for arrays too big
    to buffer in memory, e.g. a catalog's segment bank). Nothing is left behind on failure."""
    import numpy as np

    path = Path(path)
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
    return path


# --- JSON ---------------------------------------------------------------------------------------
def json_default(obj):
    """``json.dumps(default=...)``: numpy arrays and scalars, paths, tuples and sets as JSON values."""
    import numpy as np  # here, not at import: the CLI starts without numpy

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"cannot store an object of type {type(obj).__name__} as JSON")


def json_dumps(obj) -> str:
    """Compact JSON text of ``obj``; numpy arrays/scalars, tuples, sets and paths become JSON values."""
    return json.dumps(obj, default=json_default, ensure_ascii=False, separators=(",", ":"))
