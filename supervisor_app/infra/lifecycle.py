"""Child processes that die with their parent, and termination signals that run cleanup code.

* :func:`tied_popen` starts a child (e.g. ffmpeg) that the kernel kills when this process dies, however
  it dies (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; elsewhere the ``finally`` of the context manager
  is the only guard), and that is killed and reaped when the ``with`` block is left early (an exception,
  Ctrl-C, SIGTERM).
* :func:`install_termination_handlers` turns SIGTERM and SIGHUP into ``SystemExit`` in the main thread,
  so ``finally`` blocks and context managers (temporary files and folders, SQLite transactions) run as
  they do for Ctrl-C. The CLI installs it; a ``kill`` of the command leaves nothing behind.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

_PR_SET_PDEATHSIG = 1
_libc = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:  # pragma: no cover
        _libc = None


def _die_with_parent() -> None:  # runs in the child between fork and exec: keep it minimal
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def popen_kwargs() -> dict:
    """Keyword arguments for :class:`subprocess.Popen` that tie the child's life to this process."""
    return {"preexec_fn": _die_with_parent} if _libc is not None else {}


def stop(proc: subprocess.Popen, grace_s: float = 2.0) -> None:
    """Terminate a child (then kill it after ``grace_s``) and reap it; no-op when it has exited."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except OSError:  # pragma: no cover - already gone
        pass


@contextmanager
def tied_popen(cmd, **kwargs) -> Iterator[subprocess.Popen]:
    """``subprocess.Popen(cmd, **kwargs)`` whose child dies with this process and is stopped when the block
    is left while it still runs."""
    proc = subprocess.Popen(cmd, **popen_kwargs(), **kwargs)
    try:
        yield proc
    finally:
        stop(proc)
        for f in (proc.stdout, proc.stderr, proc.stdin):
            if f is not None:
                try:
                    f.close()
                except OSError:  # pragma: no cover
                    pass


def _raise_exit(signum, frame) -> None:
    raise SystemExit(128 + signum)


def install_termination_handlers() -> None:
    """SIGTERM/SIGHUP → ``SystemExit(128 + signal)`` (main thread only; keeps handlers others installed)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None:
            continue
        try:
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _raise_exit)
        except (ValueError, OSError):  # pragma: no cover
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def sweep_stale(folder, prefix: str, suffix: str = "", quiet_s: float = 600.0) -> int:
    """Remove what a killed process (SIGKILL: no ``finally`` ran) left in ``folder``: entries named
    ``{prefix}{pid}...{suffix}`` whose process is gone and which nobody touched for ``quiet_s`` seconds (a
    live writer on another machine of a shared folder keeps its file fresh). Returns how many went."""
    import re
    import shutil
    import time

    n = 0
    pattern = re.compile(re.escape(prefix) + r"(\d+)")
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    now = time.time()
    for name in names:
        if not name.startswith(prefix) or not name.endswith(suffix):
            continue
        m = pattern.match(name)
        if not m or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
            continue
        path = os.path.join(folder, name)
        try:
            if now - os.lstat(path).st_mtime < quiet_s:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            n += 1
        except OSError:
            pass
    return n
