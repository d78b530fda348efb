"""Sanity limits for a picture (the video music is cut to), checked from ``probe`` before any analysis.

A cue is seconds to minutes long. A picture of hours (a whole recording, a static capture left running)
would cost minutes of shot detection to produce a meaningless ranking, so it is refused at once with
:class:`~supervisor_app.infra.errors.PictureTooLongError` unless the limit is raised
(``SUPERVISOR_APP_MAX_PICTURE_MIN``). A picture under a second (one frame) has nothing to cut to and is
refused too. A picture with no cuts is accepted, with a note: fit scores then measure nothing.
"""
from __future__ import annotations

import os
from pathlib import Path

from supervisor_app.infra.errors import PictureTooLongError, PictureTooShortError, UsageError

MAX_PICTURE_ENV = "SUPERVISOR_APP_MAX_PICTURE_MIN"
DEFAULT_MAX_PICTURE_S = 30 * 60.0
MIN_PICTURE_S = 1.0


def max_picture_s() -> float:
    """The longest picture accepted, s (``SUPERVISOR_APP_MAX_PICTURE_MIN`` minutes, default 30)."""
    raw = os.environ.get(MAX_PICTURE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PICTURE_S
    try:
        minutes = float(raw)
    except ValueError:
        raise UsageError(f"{MAX_PICTURE_ENV} must be a number of minutes (got {raw!r}).") from None
    if not minutes > 0:
        raise UsageError(f"{MAX_PICTURE_ENV} must be a positive number of minutes (got {raw!r}).")
    return minutes * 60.0


def check_picture(path: str | Path, duration_s: float, min_s: float = MIN_PICTURE_S) -> None:
    """Refuse pictures too long or too short (under ``min_s``) to cut music to (typed errors, one sentence)."""
    limit = max_picture_s()
    if duration_s > limit:
        raise PictureTooLongError(path, duration_s, limit, MAX_PICTURE_ENV)
    if duration_s < min_s:
        raise PictureTooShortError(path, duration_s, MIN_PICTURE_S)


def no_cuts_note(n_cuts: int, duration_s: float) -> str | None:
    """The note shown when a picture has no cuts (None when it has some)."""
    if n_cuts:
        return None
    return (f"The picture has no cuts (one shot of {duration_s:.1f} s), so fit scores have nothing to measure and "
            f"stay near +0.00: add --sync-point times where the music should hit, or rank by content with a "
            f"trained model (--model).")
