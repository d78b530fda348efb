"""One progress line on stderr for long CLI commands: stage, percent, elapsed and time left.

Every long job in the core reports through the one contract of :mod:`supervisor_app.infra.jobs`,
``progress(fraction, stage)`` (fraction in [0, 1] or None when unknown); a :class:`ProgressLine` is such a
callable, the CLI's only adapter of it, and turns the calls into a line a user can read, and nothing else:

* on a terminal, one line redrawn in place (``\\r``) at most every ``interval_s``, cleared when done;
* otherwise (a log file, a pipe, a CI job), one timestamped line per stage change, at most one per
  ``log_interval_s`` within a stage, so logs stay short and a benchmark can read stage times from them:
  ``   3.2 s [ 30%] analysing the video: shot detection (about 7 s left)``;
* silent with ``quiet=True`` (the commands' ``-q/--quiet``).

Time left is extrapolated from the fraction done (shown once 2 % is done and a second has passed),
which is what a user can act on; it is an estimate and says "about". An unknown fraction (None) keeps
the last one shown and gives no time left.
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import Optional, TextIO

from supervisor_app.cli.args import add_quiet_argument  # noqa: F401  (declared with the shared arguments)
from supervisor_app.infra.eta import Eta, fmt_duration_s

__all__ = ["ProgressLine", "add_quiet_argument"]


class ProgressLine:
    """Callable progress sink; see the module doc. Use as a context manager or call :meth:`close`."""

    def __init__(self, label: str = "", *, quiet: bool = False, stream: Optional[TextIO] = None,
                 interval_s: float = 0.2, log_interval_s: float = 5.0, clock=time.monotonic,
                 close_when_done: bool = False):
        self.label = label
        self.close_when_done = close_when_done  # close (clear the line) once the fraction reaches 1
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s
        self.log_interval_s = log_interval_s
        self._clock = clock
        self._t0 = clock()
        self._eta = Eta(clock)  # the time left, from the fraction done (infra/eta.py)
        self._last_draw = -1e9
        self._last_stage: Optional[str] = None
        self._fraction = 0.0
        self._known = True  # False while the job cannot tell how far it is (fraction None)
        self._stage = ""
        self._width = 0
        self._closed = False
        self.results = 0
        self.first_result_s: Optional[float] = None
        self.first_final_result_s: Optional[float] = None  # after provisional ones
        self._provisional_first = False

    # -- the contract ---------------------------------------------------------------------------
    def __call__(self, fraction: Optional[float], stage: str = "") -> None:
        """``progress(fraction, stage)`` (see :mod:`supervisor_app.infra.jobs`)."""
        self._known = fraction is not None
        self.update(self._fraction if fraction is None else float(fraction), str(stage or ""))
        if self.close_when_done and fraction is not None and fraction >= 1.0:
            self.close()

    def result(self, *args) -> None:
        """Count a streamed result (e.g. recommend's ``on_result``); the first one is logged with its time.
        A provisional one (``.provisional``: ranked on a picture's quick cuts) is logged as such, and the
        first final one after it too."""
        provisional = bool(getattr(args[0], "provisional", False)) if args else False
        self.results += 1
        if self.first_result_s is None:
            self.first_result_s = self.elapsed_s()
            if not self.tty and not self.quiet:
                self._write_log(f"first result after {self.first_result_s:.1f} s"
                                + (" (provisional: the picture's cuts from a quick pass; TransNetV2 refines them)"
                                   if provisional else ""))
            self._provisional_first = provisional
        elif not provisional and self._provisional_first and self.first_final_result_s is None:
            self.results = 1  # the count starts again with the final ranking
            self.first_final_result_s = self.elapsed_s()
            if not self.tty and not self.quiet:
                self._write_log(f"first final result after {self.first_final_result_s:.1f} s")

    def message(self, lines: list[str]) -> None:
        """Print ``lines`` above the progress line (a terminal: cleared, printed, redrawn; a log: timed)."""
        if self.quiet or not lines:
            return
        try:
            if self.tty:
                self.stream.write("\r" + " " * self._width + "\r" + "\n".join(lines) + "\n")
                self.stream.flush()
                self._width = 0
                self._draw_tty()
            else:
                for ln in lines:
                    self._write_log(ln)
        except (OSError, ValueError):
            pass  # a closed stderr never breaks the command

    # -- drawing ------------------------------------------------------------------------------
    def elapsed_s(self) -> float:
        return self._clock() - self._t0

    def left_s(self) -> Optional[float]:
        e, f = self.elapsed_s(), self._fraction
        if not self._known or f < 0.02 or e < 1.0 or f >= 1.0:
            return None
        return self._eta.remaining_at_s(f)

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
        if self._known:
            self._eta.observe(fraction)
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
