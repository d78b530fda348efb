"""Background jobs for the GUI: one function run on a QThread, with progress, partial results and Cancel.

This is the GUI's one adapter of the jobs contract (:mod:`supervisor_app.infra.jobs`). A job function
receives a :class:`JobContext` first. ``ctx.progress`` is a ``progress(fraction, stage)`` (fraction in
[0, 1], or ``None`` when unknown) that becomes the ``progress`` Qt signal; ``ctx.should_cancel`` is the
job's :class:`~supervisor_app.infra.jobs.CancelToken`: pass both to a core function
(``progress=ctx.progress, should_cancel=ctx.should_cancel``). Partial results go through
``ctx.partial(obj)``; a job may also be a generator that yields :class:`ProgressUpdate` objects or partial
results (its ``return`` value is the result). Cancel sets the token: the core's polls raise
:class:`~supervisor_app.infra.jobs.Cancelled`, and so does the next ``ctx.progress``/``ctx.partial``/``yield``
(a job that catches ``Exception`` re-raises ``Cancelled`` first). Python threads cannot be killed, so a job
must report or poll often.

The window sees ``cancelled`` at once (results that arrive later are dropped), and ``finished`` only
when the thread has really stopped. Errors: a :class:`~supervisor_app.infra.errors.SupervisorError` arrives as
its one-sentence message; anything else as a one-sentence summary (the traceback goes to the log).

Rules (from napari/superqt and Orange): one job per panel (:class:`JobSlot` cancels the previous
one), and never start a job from inside a done-callback — defer with ``QTimer.singleShot(0, ...)``.
"""
from __future__ import annotations

import atexit
import inspect
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from supervisor_app.infra.errors import SupervisorError
from supervisor_app.infra.jobs import CancelToken

log = logging.getLogger(__name__)

# At most one progress signal per this many seconds reaches the GUI (stage changes always do).
_PROGRESS_INTERVAL_S = 0.05


@dataclass(frozen=True)
class ProgressUpdate:
    """What a generator job yields to report progress: fraction in [0, 1] (None: unknown) and a stage name."""

    fraction: Optional[float]
    stage: str = ""


class JobContext:
    """Handed to the job function: progress, partial results and the cancel token (thread-safe)."""

    def __init__(self, job: "Job"):
        self._job = job
        # the job's CancelToken; calling it says whether the user pressed Cancel, so it is the
        # ``should_cancel`` the core functions take
        self.should_cancel: CancelToken = job._cancel_token

    def check(self) -> None:
        """Raise :class:`~supervisor_app.infra.jobs.Cancelled` if the job was cancelled."""
        self.should_cancel.raise_if_cancelled(f"The {self._job.name}")

    def progress(self, fraction: Optional[float], stage: str = "") -> None:
        """The jobs contract's ``progress(fraction, stage)``; raises Cancelled when cancelled."""
        self.check()
        self._job._report_progress(fraction, stage)

    def partial(self, obj: Any) -> None:
        """Hand a partial result to the GUI (e.g. the first recommendations); raises when cancelled."""
        self.check()
        self._job._sig_partial.emit(obj)


class _JobThread(QThread):
    def __init__(self, job: "Job"):
        super().__init__()
        self._job = job

    def run(self) -> None:  # runs on the worker thread
        self._job._run_in_thread()


# Jobs whose thread still runs: keeps the Python objects alive until the thread really ends.
_LIVE: set["Job"] = set()


class Job(QObject):
    """One function run off the GUI thread. Create, connect the signals, then :meth:`start`."""

    progress = Signal(float, str)  # fraction in [0, 1] (-1.0: unknown), stage name
    partial = Signal(object)  # a partial result
    succeeded = Signal(object)  # the result
    failed = Signal(str)  # one sentence for the user
    cancelled = Signal()  # emitted at once when cancel() is called on a running job
    finished = Signal()  # the thread has stopped (after succeeded/failed, or after a cancel)

    # internal, emitted from the worker thread and relayed on the GUI thread
    _sig_progress = Signal(float, str)
    _sig_partial = Signal(object)
    _sig_done = Signal(object)
    _sig_error = Signal(str)

    def __init__(self, fn: Callable, *args, name: str = "", **kwargs):
        super().__init__()
        self.name = name or getattr(fn, "__name__", "job")
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._cancel_token = CancelToken()
        self._thread: Optional[_JobThread] = None
        self._state = "new"  # new | running | done | failed | cancelled
        self._last_progress_t = 0.0
        self._last_stage = None
        self.result: Any = None
        self.error: Optional[str] = None
        self._sig_progress.connect(self._relay_progress)
        self._sig_partial.connect(self._relay_partial)
        self._sig_done.connect(self._relay_done)
        self._sig_error.connect(self._relay_error)

    # -- control (GUI thread) -------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def is_running(self) -> bool:
        return self._state == "running"

    def is_alive(self) -> bool:
        """True while the worker thread still runs (also shortly after a cancel)."""
        return self._thread is not None and self._thread.isRunning()

    def start(self) -> "Job":
        if self._state != "new":
            raise RuntimeError("a Job can be started only once")
        self._state = "running"
        self._thread = _JobThread(self)
        self._thread.finished.connect(self._on_thread_finished)
        _LIVE.add(self)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the job to stop; the GUI gets ``cancelled`` now and never a late result."""
        self._cancel_token.cancel()
        if self._state in ("new", "running"):
            self._state = "cancelled"
            self.cancelled.emit()

    def wait(self, timeout_s: float) -> bool:
        """Block until the thread stops (tests and shutdown only); True if it did."""
        if self._thread is None:
            return True
        return self._thread.wait(int(timeout_s * 1000))

    # -- worker thread --------------------------------------------------------------------
    def _report_progress(self, fraction, stage: str) -> None:
        now = time.monotonic()
        final = fraction is not None and fraction >= 1.0
        if stage == self._last_stage and not final and now - self._last_progress_t < _PROGRESS_INTERVAL_S:
            return
        self._last_progress_t, self._last_stage = now, stage
        self._sig_progress.emit(-1.0 if fraction is None else float(min(max(fraction, 0.0), 1.0)), str(stage or ""))

    def _run_in_thread(self) -> None:
        ctx = JobContext(self)
        try:
            out = self._fn(ctx, *self._args, **self._kwargs)
            if inspect.isgenerator(out):
                out = self._drain(ctx, out)
            ctx.check()
            self._sig_done.emit(out)
        except SupervisorError as e:
            if not self._cancel_token.cancelled:
                self._sig_error.emit(str(e))
        except Exception as e:  # a bug, or an error the core does not type: one sentence, log the rest
            if not self._cancel_token.cancelled:
                log.exception("job %s failed", self.name)
                self._sig_error.emit(describe_unexpected(e, self.name))

    def _drain(self, ctx: JobContext, gen):
        try:
            while True:
                ctx.check()
                item = next(gen)
                if isinstance(item, ProgressUpdate):
                    ctx.progress(item.fraction, item.stage)
                else:
                    ctx.partial(item)
        except StopIteration as stop:
            return stop.value
        finally:
            gen.close()

    # -- relays (GUI thread) ----------------------------------------------------------------
    @Slot(float, str)
    def _relay_progress(self, fraction: float, stage: str) -> None:
        if self._state == "running":
            self.progress.emit(fraction, stage)

    @Slot(object)
    def _relay_partial(self, obj) -> None:
        if self._state == "running":
            self.partial.emit(obj)

    @Slot(object)
    def _relay_done(self, result) -> None:
        if self._state == "running":
            self._state = "done"
            self.result = result
            self.succeeded.emit(result)

    @Slot(str)
    def _relay_error(self, message: str) -> None:
        if self._state == "running":
            self._state = "failed"
            self.error = message
            self.failed.emit(message)

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._state == "running":  # the thread ended without a result (should not happen)
            self._state = "failed"
            self.error = f"The task {self.name!r} stopped without a result."
            self.failed.emit(self.error)
        self.finished.emit()
        # QThread.finished comes from the thread just before it ends: drop our reference (and with it the
        # QThread object) only once the thread has really returned.
        QTimer.singleShot(0, self._release)

    def _release(self) -> None:
        if self._thread is not None:
            self._thread.wait(5000)
        _LIVE.discard(self)


def describe_unexpected(e: BaseException, name: str = "task") -> str:
    """One sentence for an error the core did not type (the details go to the log)."""
    detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if len(detail) > 160:
        detail = detail[:157] + "..."
    return f"The {name} failed unexpectedly ({type(e).__name__}: {detail})."


def live_jobs() -> list[Job]:
    """Jobs whose thread has not stopped yet."""
    return [j for j in _LIVE if j.is_alive()]


def _wait_at_exit() -> None:
    """At interpreter exit, let running job threads end (a QThread destroyed while running aborts)."""
    for j in list(_LIVE):
        j._cancel_token.cancel()
    for j in list(_LIVE):
        if j._thread is not None and j._thread.isRunning():
            log.warning("waiting for the %s to stop before exiting", j.name)
            j._thread.wait()


atexit.register(_wait_at_exit)


def shutdown_jobs(timeout_s: float = 3.0) -> bool:
    """Cancel every job and wait for the threads (at application exit); True if all stopped."""
    jobs = list(_LIVE)
    for j in jobs:
        j.cancel()
    deadline = time.monotonic() + timeout_s
    ok = True
    for j in jobs:
        ok &= j.wait(max(0.0, deadline - time.monotonic()))
    return ok


class JobSlot(QObject):
    """One background task at a time for one panel: starting a new job cancels the current one.

    ``busy_changed(bool)`` tells the panel when to show its progress bar and Cancel button.
    """

    busy_changed = Signal(bool)

    def __init__(self, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.job: Optional[Job] = None

    def is_busy(self) -> bool:
        return self.job is not None and self.job.is_running()

    def start(self, job: Job) -> Job:
        self.cancel()
        self.job = job
        job.succeeded.connect(self._on_end)
        job.failed.connect(self._on_end)
        job.cancelled.connect(self._on_end)
        job.start()
        self.busy_changed.emit(True)
        return job

    def cancel(self) -> None:
        if self.job is not None and self.job.is_running():
            self.job.cancel()

    def _on_end(self, *_):
        if self.sender() is self.job:
            self.busy_changed.emit(False)
