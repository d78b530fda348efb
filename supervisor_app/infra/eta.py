"""Estimated time left for long jobs (feature extraction, training), shared by the CLI and the app."""
from __future__ import annotations

import time


def fmt_duration_s(seconds: float) -> str:
    """'45 s', '12 min', '2 h 05 min'."""
    s = max(0.0, float(seconds))
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    h, m = divmod(int(round(s / 60)), 60)
    return f"{h} h {m:02d} min"


class Eta:
    """Remaining time of a job: from the average cost of the items done so far (:meth:`remaining_s`), or
    from its ``progress`` fraction (:meth:`remaining_at_s`) at the rate of the last few seconds.

    A job's fraction often jumps (``catalog index`` skips the tracks already indexed: 0 → 95 % in half a
    second, then one slow track after another); the average rate since the start would then promise "1 s
    left" for minutes. The fraction is therefore sampled (:meth:`observe`, on every progress call) and the
    rate taken over the last ``max(5 s, 30 % of the time elapsed)``, from the last sample before that
    window (so a jump before it does not count)."""

    WINDOW_MIN_S = 5.0
    WINDOW_SHARE = 0.3
    _SAMPLE_EVERY_S = 0.2

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._t0 = clock()
        self._first_done = None
        self._samples: list[tuple[float, float]] = [(self._t0, 0.0)]

    def remaining_s(self, done: int, total: int) -> float | None:
        if done <= 0 or total <= 0:
            return None
        elapsed = self._clock() - self._t0
        return elapsed / done * max(0, total - done)

    def text(self, done: int, total: int) -> str:
        r = self.remaining_s(done, total)
        return "estimating time left…" if r is None else f"about {fmt_duration_s(r)} left"

    def observe(self, fraction: float | None) -> None:
        """Record how far the job is now (cheap: call it on every progress report)."""
        if fraction is None:
            return
        now, f = self._clock(), float(fraction)
        last_t, last_f = self._samples[-1]
        if f < last_f:  # a job that went back (a new pass): rates from here on
            self._samples = [(now, f)]
        elif now - last_t >= self._SAMPLE_EVERY_S:
            self._samples.append((now, f))

    def remaining_at_s(self, fraction: float | None) -> float | None:
        """The time left from a job's ``progress`` fraction (infra.jobs); None until some is done."""
        if fraction is None or fraction <= 0.0:
            return None
        self.observe(fraction)
        now, f = self._clock(), float(fraction)
        elapsed = now - self._t0
        start = now - max(self.WINDOW_MIN_S, self.WINDOW_SHARE * elapsed)
        t_then, f_then = self._samples[0]
        for t, fs in self._samples:  # the last sample at or before the window's start
            if t > start:
                break
            t_then, f_then = t, fs
        if f - f_then <= 1e-9:  # nothing done within the window (a stall): the whole run's average
            return max(0.0, elapsed / f * (1.0 - f))
        self._samples = [x for x in self._samples if x[0] >= t_then]  # older samples are never read again
        return max(0.0, (now - t_then) / (f - f_then) * (1.0 - f))

    def text_at(self, fraction: float | None) -> str:
        r = self.remaining_at_s(fraction)
        return "estimating time left…" if r is None else f"about {fmt_duration_s(r)} left"


def training_eta_text(epoch: int, max_epochs: int, mean_epoch_s: float, patience: int, epochs_since_best: int) -> str:
    """Training stops at ``max_epochs`` or after ``patience`` epochs without improvement, whichever comes
    first: the time left is at most the smaller of the two (it grows again when validation improves)."""
    left_epochs = max(0, min(max_epochs - epoch, patience - epochs_since_best))
    return f"at most {fmt_duration_s(left_epochs * mean_epoch_s)} left unless validation keeps improving"
