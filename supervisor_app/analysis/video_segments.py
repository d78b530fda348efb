"""Video segments for Seg-VM-Net (thesis ch. 7): boundaries from the video's own shots, or imposed
from elsewhere (e.g. the music's OLDA/Foote/SF segments applied to the video).

Every function returns ``boundaries_s``: a float64 array ``[0, b1, ..., duration_s]``, strictly
increasing; segment ``i`` is ``[boundaries_s[i], boundaries_s[i+1])``.

Segment features are means of 1 Hz features inside a segment, so segments shorter than
``min_len_s`` (default 1 s) are merged into a neighbour: otherwise a segment could hold no feature
frame at all.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from supervisor_app.infra.errors import UsageError

DEFAULT_MIN_LEN_S = 1.0

__all__ = ["segments_from_shots", "segments_from_boundaries", "merge_short_segments",
           "DEFAULT_MIN_LEN_S"]


def merge_short_segments(boundaries_s: np.ndarray, min_len_s: float) -> np.ndarray:
    """Remove inner boundaries until no segment is shorter than ``min_len_s`` (or one segment is
    left): the shortest segment is repeatedly merged with its shorter neighbour. The first (0) and
    last (duration) boundaries never move."""
    b = [float(x) for x in boundaries_s]
    if min_len_s <= 0:
        return np.asarray(b, dtype=np.float64)
    while len(b) > 2:
        lengths = np.diff(b)
        i = int(np.argmin(lengths))
        if lengths[i] >= min_len_s:
            break
        if i == 0:
            del b[1]  # merge with the next segment
        elif i == len(lengths) - 1:
            del b[-2]  # merge with the previous segment
        elif lengths[i - 1] <= lengths[i + 1]:
            del b[i]  # merge with the previous (shorter) neighbour
        else:
            del b[i + 1]
    return np.asarray(b, dtype=np.float64)


def segments_from_boundaries(boundaries_s: Sequence[float], duration_s: float,
                             min_len_s: float = 0.0) -> np.ndarray:
    """Clean imposed boundaries: sorted, clipped to ``(0, duration_s)``, duplicates removed,
    0 and ``duration_s`` added, then segments shorter than ``min_len_s`` merged."""
    duration_s = float(duration_s)
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise UsageError(f"The segment duration must be a positive number of seconds, not {duration_s!r}.")
    b = np.asarray(list(boundaries_s), dtype=np.float64).ravel()
    b = b[np.isfinite(b)]
    eps = 1e-6
    inner = np.unique(b[(b > eps) & (b < duration_s - eps)])
    if len(inner) > 1:  # drop near-duplicates (< 1 µs apart)
        inner = inner[np.concatenate([[True], np.diff(inner) > eps])]
    out = np.concatenate([[0.0], inner, [duration_s]])
    return merge_short_segments(out, min_len_s)


def segments_from_shots(shot_result, min_len_s: float = DEFAULT_MIN_LEN_S) -> np.ndarray:
    """Segment boundaries from a :class:`~supervisor_app.analysis.shots.ShotResult`: its cuts,
    with shots shorter than ``min_len_s`` merged into a neighbour."""
    return segments_from_boundaries(shot_result.cuts_s, shot_result.duration_s, min_len_s=min_len_s)
