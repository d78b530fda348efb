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
    """Remaining time from the average cost of the items done so far (None until one is done)."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._t0 = clock()
        self._first_done = None

    def remaining_s(self, done: int, total: int) -> float | None:
        if done <= 0 or total <= 0:
            return None
        elapsed = self._clock() - self._t0
        return elapsed / done * max(0, total - done)

    def text(self, done: int, total: int) -> str:
        r = self.remaining_s(done, total)
        return "estimating time left…" if r is None else f"about {fmt_duration_s(r)} left"

    def remaining_at_s(self, fraction: float | None) -> float | None:
        """The same estimate from a job's ``progress`` fraction (infra.jobs); None until some is done."""
        if fraction is None or fraction <= 0.0:
            return None
        elapsed = self._clock() - self._t0
        return elapsed / fraction * max(0.0, 1.0 - fraction)

    def text_at(self, fraction: float | None) -> str:
        r = self.remaining_at_s(fraction)
        return "estimating time left…" if r is None else f"about {fmt_duration_s(r)} left"


def training_eta_text(epoch: int, max_epochs: int, mean_epoch_s: float, patience: int, epochs_since_best: int) -> str:
    """Training stops at ``max_epochs`` or after ``patience`` epochs without improvement, whichever comes
    first: the time left is at most the smaller of the two (it grows again when validation improves)."""
    left_epochs = max(0, min(max_epochs - epoch, patience - epochs_since_best))
    return f"at most {fmt_duration_s(left_epochs * mean_epoch_s)} left unless validation keeps improving"
