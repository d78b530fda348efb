"""Timecode rates: the standard rate an editing timeline uses for a picture's frame rate."""
from __future__ import annotations

__all__ = ["STANDARD_RATES", "timecode_rate"]

STANDARD_RATES = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0)


def timecode_rate(fps: float | None) -> float:
    """The standard timecode rate nearest ``fps`` (25 when unknown)."""
    if not fps or fps <= 0:
        return 25.0
    return min(STANDARD_RATES, key=lambda r: abs(r - fps))
