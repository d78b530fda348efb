"""How far the beat tracker's bar lines can be trusted, from the stored beats alone (no re-index).

madmom's DBN always decodes *some* bar grid when its activations cross its threshold, and none at all
on music without a pulse (pads, drones, free piano): the edit engine needs to know which case it has.
:func:`beat_confidence` measures, from a stored :class:`~supervisor_app.analysis.beats.BeatResult`
(or its failure) and the track's duration:

* ``coverage``: the share of the track the beat grid spans (a grid over 20 % of an ambient bed, where a
  swell crossed the threshold, is not a grid for the whole track);
* ``tempo_stability``: from the share of beats where the local tempo (median inter-beat interval over
  9 beats) moves by more than 3 % within 4 beats: ``1 - max(0, share - 0.15) / 0.25`` clipped to [0, 1].
  The DBN smooths tempo, so successive intervals barely differ even on rubato (and madmom's 10 ms
  frames alone make steady tracks' successive intervals differ by 1-3 %); what rubato shows is a local
  tempo that keeps moving (36-59 % of the beats on synthetic ±20 % rubato piano, 0-10 % on most of the
  steady game-music pool), while a tempo change between sections moves it only around the change;
* ``bar_regularity``: the share of downbeat-to-downbeat intervals within 10 % of the median bar;
* ``n_downbeats``: how many bar lines there are to cut on.

``score = coverage · tempo_stability · bar_regularity · min(1, n_downbeats / 8)`` in [0, 1]; the edit
engine cuts on bar lines when ``score >= METRIC_THRESHOLD`` (``metric``), else it works in free time
(phrase ends, low-energy moments, strong onsets; :mod:`supervisor_app.edit.free_time`). The threshold
was chosen on the game-music pool and synthetic free-time music (``benchmarks/bench_beat_confidence.py``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import statistics

import numpy as np

__all__ = ["BeatConfidence", "beat_confidence", "tempo_moving_share", "METRIC_THRESHOLD", "MIN_METRIC_DOWNBEATS"]

METRIC_THRESHOLD = 0.5
MIN_METRIC_DOWNBEATS = 4  # fewer bar lines than this: nothing to cut on (a sting, a free cadenza)
_FULL_DOWNBEATS = 8


@dataclass(frozen=True)
class BeatConfidence:
    """The beat grid's trustworthiness (see the module doc); ``reason`` is one sentence for people."""

    score: float
    coverage: float
    tempo_stability: float
    bar_regularity: float
    n_beats: int
    n_downbeats: int
    reason: str

    @property
    def metric(self) -> bool:
        """True: cut on bar lines; False: free time."""
        return self.score >= METRIC_THRESHOLD and self.n_downbeats >= MIN_METRIC_DOWNBEATS

    def to_dict(self) -> dict:
        d = asdict(self)
        d["metric"] = self.metric
        return d


def _unit(x: float) -> float:
    """``float(np.clip(x, 0.0, 1.0))`` of a Python float (NaN stays NaN), without numpy's call overhead."""
    return min(max(x, 0.0), 1.0)


def _median(x: np.ndarray) -> float:
    """``float(np.median(x))`` of a non-empty 1-D array, without its overhead: the middle value of a
    partition, or the mean of the middle two (``(a + b) / 2``, as ``np.median``'s mean of two)."""
    n = x.size
    if n == 0 or np.isnan(x).any():
        return float(np.median(x))
    k = n // 2
    if n % 2:
        return float(np.partition(x, k)[k])
    p = np.partition(x, (k - 1, k))
    return float((p[k - 1] + p[k]) / 2)


def tempo_moving_share(ibi_s: np.ndarray, radius: int = 4, lag: int = 4, tol: float = 0.03) -> float:
    """Share of beats where the local tempo (median log inter-beat interval over ``2 radius + 1``
    beats) changes by more than ``tol`` (3 %) within ``lag`` beats."""
    li = np.log(np.asarray(ibi_s, float))
    if li.size <= lag:
        return 0.0
    lt = np.empty(li.size)
    w = 2 * radius + 1
    if li.size >= w:  # full windows at once (the same values as the loop below; ~90x faster on a catalog)
        # the middle of each window's partition: np.median's value for an odd window without NaN (log of a
        # positive interval), ~3x faster than np.median(axis=1); NaN windows keep np.median's NaN
        # sliding_window_view(li, w) without its argument checks (li is a fresh contiguous 1-D array)
        win = np.lib.stride_tricks.as_strided(li, shape=(li.size - w + 1, w), strides=(li.strides[0],) * 2,
                                              writeable=False)
        lt[radius:li.size - radius] = (np.partition(win, radius, axis=1)[:, radius] if not np.isnan(li).any()
                                       else np.median(win, axis=1))
        edges = list(range(radius)) + list(range(li.size - radius, li.size))
    else:
        edges = list(range(li.size))
    vals = li.tolist()
    for i in edges:  # statistics.median: np.median's value (the middle one, or the mean of the middle two),
        # without its ~20 µs of overhead per call (8 calls a track, every track at every recommend)
        lt[i] = statistics.median(vals[max(0, i - radius):i + radius + 1])
    return float(np.mean(np.abs(lt[lag:] - lt[:-lag]) > tol))


def beat_confidence(beats: dict | object | None, duration_s: float, error: str | None = None) -> BeatConfidence:
    """Confidence in a track's bar grid. ``beats``: a stored beats result (dict or ``BeatResult``), or
    None when beat tracking failed (``error``: its sentence); ``duration_s``: the track's length (s)."""
    if beats is None:
        why = error or "the beat tracker found no steady beat"
        return BeatConfidence(0.0, 0.0, 0.0, 0.0, 0, 0, f"no bar grid: {why.rstrip('.')}")
    get = (lambda k: beats[k]) if isinstance(beats, dict) else (lambda k: getattr(beats, k))
    b = np.sort(np.asarray(get("beats_s"), float).ravel())
    db = np.sort(np.asarray(get("downbeats_s"), float).ravel())
    D = max(float(duration_s or 0.0), 1e-9)
    if b.size < 3:
        return BeatConfidence(0.0, 0.0, 0.0, 0.0, int(b.size), int(db.size),
                              f"no bar grid: only {b.size} beat(s) found")
    ibi = np.diff(b)
    ibi = ibi[ibi > 1e-6]
    med = _median(ibi)
    coverage = _unit(float((b[-1] - b[0] + med) / D))
    moving = tempo_moving_share(ibi)
    stability = _unit(1.0 - max(0.0, moving - 0.15) / 0.25)
    if db.size >= 3:
        bars = np.diff(db)
        bar_reg = float(np.mean(np.abs(bars / _median(bars) - 1.0) <= 0.10))
    else:
        bar_reg = 1.0 if db.size == 2 else 0.0
    amount = min(1.0, db.size / _FULL_DOWNBEATS)
    score = float(coverage * stability * bar_reg * amount)
    parts = []
    if coverage < 0.6:
        parts.append(f"the beat grid spans {coverage:.0%} of the track")
    if stability < 0.7:
        parts.append(f"the tempo keeps moving ({moving:.0%} of the beats)")
    if bar_reg < 0.7:
        parts.append(f"{bar_reg:.0%} of the bars are regular")
    if db.size < MIN_METRIC_DOWNBEATS:
        parts.append(f"{db.size} downbeat(s)")
    verdict = "steady bar grid" if score >= METRIC_THRESHOLD and db.size >= MIN_METRIC_DOWNBEATS else "unreliable bar grid"
    reason = f"{verdict} (confidence {score:.2f}" + (": " + ", ".join(parts) if parts else "") + ")"
    return BeatConfidence(score, coverage, stability, bar_reg, int(b.size), int(db.size), reason)
