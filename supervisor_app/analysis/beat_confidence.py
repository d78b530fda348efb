"""How far the beat tracker's bar lines can be trusted, from the stored beats alone (no re-index).

madmom's DBN always decodes *some* bar grid when its activations cross its threshold, and none at all
on music without a pulse (pads, drones, free piano): the edit engine needs to know which case it has.
:func:`beat_confidence` measures, from a stored :class:`~supervisor_app.analysis.beats.BeatResult`
(or its failure) and the track's duration:

* ``coverage``: the share of the track the beat grid spans (a grid over 20 % of an ambient bed, where a
  swell crossed the threshold, is not a grid for the whole track);
* ``tempo_stability``: ``1 - median |log(IBI[i+1] / IBI[i])| / 0.1`` clipped to [0, 1] (successive
  inter-beat intervals of a steady track differ by ~1-3 %; rubato and drifting grids by 10 % and more);
* ``bar_regularity``: the share of downbeat-to-downbeat intervals within 10 % of the median bar;
* ``n_downbeats``: how many bar lines there are to cut on.

``score = coverage · tempo_stability · bar_regularity · min(1, n_downbeats / 8)`` in [0, 1]; the edit
engine cuts on bar lines when ``score >= METRIC_THRESHOLD`` (``metric``), else it works in free time
(phrase ends, low-energy moments, strong onsets; :mod:`supervisor_app.edit.free_time`). The threshold
was chosen on the game-music pool and synthetic free-time music (``benchmarks/bench_beat_confidence.py``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["BeatConfidence", "beat_confidence", "METRIC_THRESHOLD", "MIN_METRIC_DOWNBEATS"]

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
    med = float(np.median(ibi))
    coverage = float(np.clip((b[-1] - b[0] + med) / D, 0.0, 1.0))
    jitter = float(np.median(np.abs(np.diff(np.log(ibi))))) if ibi.size >= 2 else 1.0
    stability = float(np.clip(1.0 - jitter / 0.1, 0.0, 1.0))
    if db.size >= 3:
        bars = np.diff(db)
        bar_reg = float(np.mean(np.abs(bars / np.median(bars) - 1.0) <= 0.10))
    else:
        bar_reg = 1.0 if db.size == 2 else 0.0
    amount = min(1.0, db.size / _FULL_DOWNBEATS)
    score = float(coverage * stability * bar_reg * amount)
    parts = []
    if coverage < 0.6:
        parts.append(f"the beat grid spans {coverage:.0%} of the track")
    if stability < 0.7:
        parts.append(f"successive beats vary by {jitter:.0%}")
    if bar_reg < 0.7:
        parts.append(f"{bar_reg:.0%} of the bars are regular")
    if db.size < MIN_METRIC_DOWNBEATS:
        parts.append(f"{db.size} downbeat(s)")
    verdict = "steady bar grid" if score >= METRIC_THRESHOLD and db.size >= MIN_METRIC_DOWNBEATS else "unreliable bar grid"
    reason = f"{verdict} (confidence {score:.2f}" + (": " + ", ".join(parts) if parts else "") + ")"
    return BeatConfidence(score, coverage, stability, bar_reg, int(b.size), int(db.size), reason)
