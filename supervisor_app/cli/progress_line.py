"""One progress line on stderr for long CLI commands: stage, percent, elapsed and time left.

The core reports progress through callbacks (``progress(fraction, stage)`` in recommend/similar/the
video analysis, ``progress(fraction)`` in analyze/render, ``progress(done, total, name)`` in indexing);
:class:`ProgressLine` turns any of them into a line a user can read, and nothing else:

* on a terminal, one line redrawn in place (``\\r``) at most every ``interval_s``, cleared when done;
* otherwise (a log file, a pipe, a CI job), one timestamped line per stage change, at most one per
  ``log_interval_s`` within a stage, so logs stay short and a benchmark can read stage times from them:
  ``   3.2 s [ 30%] analysing the video: shot detection (about 7 s left)``;
* silent with ``quiet=True`` (the commands' ``-q/--quiet``).

Time left is extrapolated from the fraction done (shown once 2 % is done and a second has passed),
which is what a user can act on; it is an estimate and says "about".
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import Optional, TextIO

from supervisor_app.cli.args import add_quiet_argument  # noqa: F401  (declared with the shared arguments)
from supervisor_app.infra.eta import fmt_duration_s

__all__ = ["ProgressLine", "add_quiet_argument"]


class ProgressLine:
    """Callable progress sink; see the module doc. Use as a context manager or call :meth:`close`."""

    def __init__(self, label: str = "", *, quiet: bool = False, stream: Optional[TextIO] = None,
                 interval_s: float = 0.2, log_interval_s: float = 5.0, clock=time.monotonic):
        self.label = label
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s
        self.log_interval_s = log_interval_s
        self._clock = clock
        self._t0 = clock()
        self._last_draw = -1e9
        self._last_stage: Optional[str] = None
        self._fraction = 0.0
        self._stage = ""
        self._width = 0
        self._closed = False
        self.results = 0
        self.first_result_s: Optional[float] = None

    # -- the callbacks ------------------------------------------------------------------------
    def __call__(self, fraction: float | int | None = None, stage: str | int = "", name: str | None = None) -> None:
        """``(fraction, stage)``, ``(fraction)``, or ``(done, total, name)`` (indexing's counter)."""
        if isinstance(stage, int) and not isinstance(stage, bool):  # (done, total, name)
            done, total = int(fraction or 0), int(stage)
            fraction = done / total if total > 0 else 0.0
            stage = f"{done}/{total}" + (f" {name}" if name else "")
        self.update(float(fraction or 0.0), str(stage or ""))

    def fraction_only(self, stage: str):
        """A ``progress(fraction)`` callback that reports under ``stage`` (e.g. rendering)."""
        def cb(fraction: float):
            self.update(float(fraction or 0.0), stage)
        return cb

    def result(self, *_args) -> None:
        """Count a streamed result (e.g. recommend's ``on_result``); the first one is logged with its time."""
        self.results += 1
        if self.first_result_s is None:
            self.first_result_s = self.elapsed_s()
            if not self.tty and not self.quiet:
                self._write_log(f"first result after {self.first_result_s:.1f} s")

    # -- drawing ------------------------------------------------------------------------------
    def elapsed_s(self) -> float:
        return self._clock() - self._t0

    def left_s(self) -> Optional[float]:
        e, f = self.elapsed_s(), self._fraction
        if f < 0.02 or e < 1.0 or f >= 1.0:
            return None
        return e / f * (1.0 - f)

    def text(self) -> str:
        bits = [f"[{100 * min(1.0, max(0.0, self._fraction)):3.0f}%]"]
        if self.label:
            bits.append(self.label + (":" if self._stage else ""))
        if self._stage:
            bits.append(self._stage)
        if self.results:
            bits.append(f"· {self.results} scored")
        left = self.left_s()
        tail = f"({fmt_duration_s(self.elapsed_s())} elapsed" + (f", about {fmt_duration_s(left)} left)"
                                                                   if left is not None else ")")
        return " ".join(bits) + " " + tail

    def update(self, fraction: float, stage: str = "") -> None:
        self._fraction = fraction
        new_stage = stage != self._stage
        self._stage = stage
        if self.quiet:
            return
        now = self._clock()
        if self.tty:
            if fraction >= 1.0 or new_stage or now - self._last_draw >= self.interval_s:
                self._draw_tty()
                self._last_draw = now
            return
        kind = _stage_kind(stage)
        if kind != self._last_stage or now - self._last_draw >= self.log_interval_s:
            self._last_stage = kind
            self._last_draw = now
            self._write_log(self.text())

    def _write_log(self, text: str) -> None:
        try:
            self.stream.write(f"{self.elapsed_s():7.1f} s {text}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed stderr never breaks the command

    def _draw_tty(self) -> None:
        cols = shutil.get_terminal_size((100, 20)).columns - 1
        line = self.text()[:cols]
        pad = max(0, self._width - len(line))
        self._width = len(line)
        try:
            self.stream.write("\r" + line + " " * pad)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        """Clear the terminal line (the command prints its results next); log the total otherwise."""
        if self.quiet or self._closed:
            return
        self._closed = True
        try:
            if self.tty and self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
            elif not self.tty and self._last_stage is not None:
                self._write_log(f"done ({fmt_duration_s(self.elapsed_s())})")
        except (OSError, ValueError):
            pass
        self._width = 0

    def __enter__(self) -> "ProgressLine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _stage_kind(stage: str) -> str:
    """The part of a stage text that names the stage, without the item it is on: 'fitting X to the
    picture' and 'fitting Y to the picture' are one stage; '3/10 a.ogg' and '4/10 b.ogg' too."""
    words = stage.split()
    if not words:
        return ""
    if "/" in words[0] and words[0].replace("/", "").isdigit():
        return "counter"
    return words[0]
