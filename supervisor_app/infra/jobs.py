"""The one contract every long job in the core follows: progress, cancel, and one ``Cancelled`` error.

* **Progress** is a callable ``progress(fraction, stage) -> None``: ``fraction`` in [0, 1] (``None`` when
  the job cannot tell how far it is), ``stage`` a short human phrase ("shot detection",
  "analysing track.ogg"). A job that does several things gives each one a sub-range of its parent's
  with :func:`sub_progress`; one that counts items reports ``done / total`` with :func:`count_progress`.
  ``None`` is accepted wherever a progress is (:func:`as_progress` turns it into :func:`no_progress`).
* **Cancel** is polled: a job takes ``should_cancel`` (any ``() -> bool``; a :class:`CancelToken` is
  one) and calls :func:`check_cancelled` between units of work, which raises :class:`Cancelled`.
* **Cancelled** is a :class:`~supervisor_app.infra.errors.SupervisorError`: the CLI prints its one
  sentence ("The indexing was cancelled.") and exits 2 like any user-caused stop; the GUI's worker
  (``gui/workers.py``) treats it as the end of a cancelled job, not as a failure. A job that catches
  ``Exception`` around a unit of work (to record a failed track and go on) re-raises ``Cancelled`` first.

The adapters live in one place each: ``cli/progress_line.py`` (a line on stderr, ``-q`` silences it) and
``gui/workers.py`` (Qt signals, a :class:`CancelToken` per job). Time left is computed from the
fractions by those adapters (``infra/eta.py``), never by the jobs.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional, Protocol

from supervisor_app.infra.errors import SupervisorError

__all__ = ["Progress", "ProgressFn", "ShouldCancel", "Cancelled", "CancelToken", "no_progress", "as_progress",
           "sub_progress", "count_progress", "staged", "check_cancelled", "never_cancel"]


class Progress(Protocol):
    """``progress(fraction, stage)``: fraction done in [0, 1] (None: unknown), stage a short phrase."""

    def __call__(self, fraction: Optional[float], stage: str) -> None: ...


ProgressFn = Callable[[Optional[float], str], None]  # the same contract, as a plain alias
ShouldCancel = Callable[[], bool]  # True: stop as soon as possible (a CancelToken is one)


class Cancelled(SupervisorError):
    """The user cancelled a long job; ``str()`` is "<what> was cancelled." (CLI exit code 2)."""

    def __init__(self, what: str = "The operation"):
        super().__init__(f"{what} was cancelled.")
        self.what = what


class CancelToken:
    """A thread-safe cancel flag: set once by the user's side, polled by the job.

    Calling the token (``token()``) returns :attr:`cancelled`, so it is accepted wherever a job takes a
    ``should_cancel`` callable.
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self, what: str = "The operation") -> None:
        if self._event.is_set():
            raise Cancelled(what)

    def wait(self, timeout_s: float) -> bool:
        """Sleep up to ``timeout_s`` (returns early, True, once cancelled): a cancellable pause."""
        return self._event.wait(timeout_s)

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"


def no_progress(fraction: Optional[float] = None, stage: str = "") -> None:
    """The default progress: reports nowhere."""


def never_cancel() -> bool:
    """The default ``should_cancel``: never."""
    return False


def as_progress(progress: Optional[ProgressFn]) -> ProgressFn:
    """``progress`` itself, or :func:`no_progress` for ``None``."""
    return no_progress if progress is None else progress


def check_cancelled(should_cancel: Optional[ShouldCancel], what: str = "The operation") -> None:
    """Raise :class:`Cancelled` if ``should_cancel`` (a CancelToken or any ``() -> bool``) says so."""
    if should_cancel is not None and should_cancel():
        raise Cancelled(what)


def _clamp(f: float) -> float:
    return 0.0 if f < 0.0 else 1.0 if f > 1.0 else f


def sub_progress(progress: Optional[ProgressFn], start: float, end: float, prefix: str = "") -> ProgressFn:
    """A progress for a sub-job that covers ``[start, end]`` of its parent's range.

    The sub-job's fraction ``f`` (clamped to [0, 1]) reaches the parent as ``start + f * (end - start)``;
    ``None`` (unknown) stays ``None``. ``prefix`` is put before the sub-job's stage ("MuSimNet: ...").
    Sub-ranges nest: ``sub_progress(sub_progress(p, 0.5, 1.0), 0.0, 0.5)`` covers [0.5, 0.75] of ``p``.
    """
    if progress is None or progress is no_progress:
        return no_progress
    if not 0.0 <= start <= end <= 1.0:
        raise ValueError(f"sub_progress needs 0 <= start <= end <= 1, got [{start}, {end}]")
    span = end - start

    def scaled(fraction: Optional[float], stage: str = "") -> None:
        f = None if fraction is None else start + span * _clamp(float(fraction))
        progress(f, f"{prefix}{stage}" if prefix and stage else (prefix.rstrip(": ") if prefix else stage))

    return scaled


def staged(progress: Optional[ProgressFn], stage: str) -> ProgressFn:
    """A progress that reports under a fixed ``stage`` whatever the sub-job calls its own."""
    if progress is None or progress is no_progress:
        return no_progress

    def fixed(fraction: Optional[float], _stage: str = "") -> None:
        progress(fraction, stage)

    return fixed


def count_progress(progress: Optional[ProgressFn], done: int, total: int, stage: str) -> None:
    """Report ``done`` of ``total`` items (fraction ``done / total``; None when the total is unknown)."""
    if progress is None:
        return
    progress(done / total if total > 0 else None, stage)



def lower_thread_priority(by: int = 10) -> bool:
    """Lower the calling thread's scheduling priority by ``by`` nice steps (Linux, where a thread's nice
    value is its own and the threads it starts inherit it); True when done. For work that runs behind
    something the user waits for sooner: it takes the cores only when they are free. Elsewhere, or when
    refused, nothing changes (False)."""
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + int(by)))
        return True
    except OSError:
        return False


class Background:
    """``fn(should_cancel, progress)`` on a thread of its own at a lower priority (10 ``nice`` steps,
    :func:`lower_thread_priority`), while the caller does something more urgent. Its progress is
    held back until :meth:`result` (the caller's own stages are shown meanwhile); :meth:`result`
    waits, and returns its value or raises its exception; :meth:`stop` cancels it and waits."""

    def __init__(self, fn, should_cancel: Optional[ShouldCancel] = None, progress: Optional[ProgressFn] = None,
                 name: str = "background"):
        self._stop = threading.Event()
        self._outer_cancel = should_cancel
        self._progress = as_progress(progress)
        self._shown = threading.Event()
        self._last: Optional[tuple] = None
        self._box: dict = {}

        def run() -> None:
            lower_thread_priority(10)
            try:
                self._box["value"] = fn(self._cancelled, self._report)
            except BaseException as e:  # handed to the caller in result()
                self._box["error"] = e

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def _cancelled(self) -> bool:
        return self._stop.is_set() or bool(self._outer_cancel is not None and self._outer_cancel())

    def _report(self, fraction: Optional[float] = None, stage: str = "") -> None:
        if self._shown.is_set():
            self._progress(fraction, stage)
        else:
            self._last = (fraction, stage)

    def result(self):
        if self._last is not None:
            self._progress(*self._last)
        self._shown.set()
        self._thread.join()
        if "error" in self._box:
            raise self._box["error"]
        return self._box["value"]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
