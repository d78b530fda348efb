"""GUI background jobs: progress, partial results, errors as one sentence, Cancel, a responsive event loop."""
from __future__ import annotations

import sys
import threading
import time

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, QTimer, Signal  # noqa: E402

from supervisor_app.infra.errors import NoAudioStreamError  # noqa: E402
from supervisor_app.gui._qt_compat import emit_leaks_bool_reference, ensure_safe_signal_emit  # noqa: E402
from supervisor_app.gui.workers import Job, JobSlot, ProgressUpdate, live_jobs, shutdown_jobs  # noqa: E402

pytestmark = pytest.mark.gui


def _collect(job: Job) -> dict:
    got = {"progress": [], "partial": [], "succeeded": [], "failed": [], "cancelled": 0, "finished": 0, "order": []}
    job.progress.connect(lambda f, s: (got["progress"].append((round(f, 3), s)), got["order"].append("progress")))
    job.partial.connect(lambda x: (got["partial"].append(x), got["order"].append("partial")))
    job.succeeded.connect(lambda r: (got["succeeded"].append(r), got["order"].append("succeeded")))
    job.failed.connect(lambda m: (got["failed"].append(m), got["order"].append("failed")))
    job.cancelled.connect(lambda: got.__setitem__("cancelled", got["cancelled"] + 1))
    job.finished.connect(lambda: (got.__setitem__("finished", got["finished"] + 1), got["order"].append("finished")))
    return got


def test_job_runs_off_the_gui_thread_with_progress_partial_and_result(qtbot):
    main = threading.get_ident()
    seen_threads = []

    def work(ctx, n):
        seen_threads.append(threading.get_ident())
        for i in range(n):
            ctx.progress((i + 1) / n, f"step {i + 1}")
            ctx.partial(i)
            time.sleep(0.06)  # longer than the progress throttle
        return sum(range(n))

    job = Job(work, 4, name="sum")
    got = _collect(job)
    with qtbot.waitSignal(job.finished, timeout=5000):
        job.start()
    assert seen_threads and seen_threads[0] != main
    assert got["succeeded"] == [6] and job.result == 6 and job.state == "done"
    assert got["partial"] == [0, 1, 2, 3]
    assert got["progress"][-1] == (1.0, "step 4")
    assert got["order"][-1] == "finished" and got["order"][-2] == "succeeded"


def test_generator_job_reports_by_yield(qtbot):
    def gen(ctx):
        yield ProgressUpdate(0.5, "half")
        yield "partial-a"
        yield ProgressUpdate(None, "unknown")
        return "done"

    job = Job(gen, name="gen")
    got = _collect(job)
    with qtbot.waitSignal(job.finished, timeout=5000):
        job.start()
    assert got["succeeded"] == ["done"]
    assert got["partial"] == ["partial-a"]
    assert (0.5, "half") in got["progress"] and (-1.0, "unknown") in got["progress"]


def test_errors_arrive_as_one_sentence(qtbot):
    job = Job(lambda ctx: (_ for _ in ()).throw(NoAudioStreamError("/x/clip.mp4")), name="decode")
    got = _collect(job)
    with qtbot.waitSignal(job.finished, timeout=5000):
        job.start()
    assert got["failed"] == ["The file 'clip.mp4' has no audio track."] and not got["succeeded"]

    def boom(ctx):
        raise KeyError("cut_probs_25hz")

    job = Job(boom, name="video analysis")
    got = _collect(job)
    with qtbot.waitSignal(job.finished, timeout=5000):
        job.start()
    (msg,) = got["failed"]
    assert msg.startswith("The video analysis failed unexpectedly (KeyError") and msg.endswith(").")
    assert "\n" not in msg and "Traceback" not in msg


def test_cancel_stops_a_long_job_within_a_second(qtbot):
    steps = []

    def long_job(ctx):
        for i in range(10_000):  # 100 s if never cancelled
            if ctx.should_cancel():
                return "stopped politely"
            steps.append(i)
            time.sleep(0.01)
        return "ran to the end"

    job = Job(long_job, name="long")
    got = _collect(job)
    job.start()
    qtbot.waitUntil(lambda: len(steps) > 5, timeout=5000)
    t0 = time.monotonic()
    job.cancel()
    assert got["cancelled"] == 1 and job.state == "cancelled"  # the GUI knows at once
    assert job.wait(1.0), "the worker thread did not stop within a second"
    assert time.monotonic() - t0 < 1.0
    qtbot.waitUntil(lambda: got["finished"] == 1, timeout=2000)
    assert got["succeeded"] == [] and got["failed"] == []  # a late result never reaches the GUI


def test_progress_after_cancel_raises_inside_the_job(qtbot):
    reached = []

    def job_fn(ctx):
        while True:
            ctx.progress(None, "spinning")  # raises Cancelled once cancelled
            reached.append(1)
            time.sleep(0.005)

    job = Job(job_fn, name="spin")
    job.start()
    qtbot.waitUntil(lambda: len(reached) > 3, timeout=5000)
    job.cancel()
    assert job.wait(1.0)


def test_event_loop_stays_responsive_while_a_job_computes(qtbot):
    ticks = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))

    def busy(ctx):  # pure-Python work holding the GIL between switches
        x = 0
        t_end = time.monotonic() + 1.5
        while time.monotonic() < t_end:
            for i in range(2000):
                x += i * i
            ctx.progress(None, "busy")
        return x

    job = Job(busy, name="busy")
    timer.start()
    with qtbot.waitSignal(job.finished, timeout=10000):
        job.start()
    timer.stop()
    span = ticks[-1] - ticks[0]
    assert span > 1.0
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) >= 0.5 * span / 0.020, f"only {len(ticks)} timer ticks in {span:.2f} s"
    assert max(gaps) < 0.5, f"the event loop froze for {max(gaps):.2f} s"


def test_job_slot_keeps_one_job_and_cancels_the_previous(qtbot):
    slot = JobSlot()
    busy = []
    slot.busy_changed.connect(busy.append)
    gate = threading.Event()

    def waits(ctx):
        while not ctx.should_cancel() and not gate.is_set():
            time.sleep(0.01)
        return "first"

    first = Job(waits, name="first")
    slot.start(first)
    second = Job(lambda ctx: "second", name="second")
    got2 = _collect(second)
    with qtbot.waitSignal(second.finished, timeout=5000):
        slot.start(second)
    assert first.state == "cancelled" and got2["succeeded"] == ["second"]
    assert first.wait(1.0)
    assert busy[-1] is False and not slot.is_busy()


def test_shutdown_cancels_every_live_job(qtbot):
    def forever(ctx):
        while not ctx.should_cancel():
            time.sleep(0.01)

    jobs = [Job(forever, name=f"j{i}").start() for i in range(3)]
    qtbot.waitUntil(lambda: all(j.is_alive() for j in jobs), timeout=3000)
    assert shutdown_jobs(timeout_s=2.0)
    assert all(j.state == "cancelled" for j in jobs)
    assert not any(j in live_jobs() for j in jobs)


def test_signal_emits_do_not_drain_the_reference_count_of_true(qapp):
    """PySide6 6.12.0 lost a reference to True on every emit (the app aborted after a few hundred)."""
    ensure_safe_signal_emit()

    class Sender(QObject):
        sig = Signal(float)

    s = Sender()
    got = []
    s.sig.connect(got.append)
    before = sys.getrefcount(True)
    for _ in range(3000):
        s.sig.emit(1.0)
    assert len(got) == 3000
    assert sys.getrefcount(True) >= before - 5
    assert not emit_leaks_bool_reference()
