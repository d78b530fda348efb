"""The "language of music-video clips" (thesis ch. 6): how a video's cuts follow its music's structure.

Definitions (SPEC §3, thesis §6.2):

- Δbeat = 60 / tempo_bpm, Δbar = meter · Δbeat (s); l_bar = downbeat times, l_seg = functional segment
  boundaries (OLDA), f_shot(t) = the shot-boundary probability at 25 Hz (TransNet), shots = f_shot > 0.5.
- Δmax_shot = the most common shot duration: the centre of the highest bin of the shot-duration
  histogram (:data:`SHOT_HIST_BIN_S` = 0.25 s bins centred on multiples of 0.25 s; ties go to the
  bin whose two neighbours hold more shots, then to the shorter duration).
- Duration agreement at level Δ ∈ {Δbeat, Δbar, Δpattern = 4·Δbar}: 0.5·Δ < Δmax_shot < 1.5·Δ.
- Position agreement: for each music event t_i, S_i = Σ_k w(t_k − t_i) · f_shot(t_k) over the curve's
  frames t_k = k / rate_hz, with the Gaussian window w(t) = exp(−t² / 2σ²), σ = 2 frames at 25 Hz
  (80 ms) and w(0) = 1 (the integral of the thesis as a sum over frames, not scaled by the frame
  duration: one frame with f_shot = 1 exactly on t_i gives S_i = 1). S = mean of the S_i;
  S_seg uses l_seg without its trivial first (0 s) and last (end) boundaries, S_bar uses l_bar.
  ``cut_curve[k]`` is read at t_k = k / rate_hz: the start of the shot module's 40 ms bin
  [k/25, (k+1)/25), which is exactly the cut instant for 25 fps video (the thesis's setting).
- Anticipation: the signed offset of each cut from its nearest downbeat (negative = the cut comes
  *before* the downbeat), summarised as counts before / on (within half a 25 Hz frame) / after, the
  median offset and a histogram in 40 ms bins; and S_bar recomputed with the downbeats shifted by a lag
  of −0.5…+0.5 s (the lag that maximises it says how early or late editors cut).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from supervisor_app.analysis.beats import BeatResult

F_SHOT_RATE_HZ = 25.0
SIGMA_FRAMES = 2.0
SHOT_HIST_BIN_S = 0.25
OFFSET_BIN_S = 0.04  # one frame at 25 Hz
LAG_RANGE_S = 0.5
EDGE_S = 1.0  # segment boundaries closer than this to the start or the end are the trivial 0 / end

__all__ = ["cooccurrence_score", "language_of_clips", "shot_duration_histogram", "cut_downbeat_offsets"]


def cooccurrence_score(event_times_s, cut_curve: np.ndarray, rate_hz: float = F_SHOT_RATE_HZ,
                       sigma_frames: float = SIGMA_FRAMES) -> tuple[float, np.ndarray]:
    """Position co-occurrence of music events with a cut-probability curve (thesis ch. 6).

    ``cut_curve[k]`` is f_shot at time k / ``rate_hz`` s. Returns (S, S_i): S_i = Σ_k w(k/rate − t_i)·f[k]
    with w a Gaussian of σ = ``sigma_frames`` frames and w(0) = 1, and S = mean(S_i) (NaN when there
    are no events). Frames farther than 8σ from t_i are skipped (w < 1.3e-14 there).
    """
    f = np.asarray(cut_curve, dtype=np.float64).ravel()
    t = np.asarray(event_times_s, dtype=np.float64).ravel()
    s_i = np.zeros(len(t), dtype=np.float64)
    if len(t) == 0:
        return float("nan"), s_i
    if len(f) == 0:
        return 0.0, s_i
    sigma_s = sigma_frames / rate_hz
    reach = int(math.ceil(8 * sigma_frames))
    for i, ti in enumerate(t):
        centre = int(round(ti * rate_hz))
        lo, hi = max(0, centre - reach), min(len(f), centre + reach + 1)
        if lo >= hi:
            continue
        tk = np.arange(lo, hi, dtype=np.float64) / rate_hz
        w = np.exp(-0.5 * ((tk - ti) / sigma_s) ** 2)
        s_i[i] = float(np.dot(w, f[lo:hi]))
    return float(s_i.mean()), s_i


def shot_duration_histogram(shots: Sequence[Sequence[float]], bin_s: float = SHOT_HIST_BIN_S) -> dict:
    """Histogram of shot durations (s) in ``bin_s`` bins centred on 0, bin_s, 2·bin_s, … and its mode
    Δmax_shot, the centre of the highest bin (see module doc).

    Returns {bin_edges_s, counts, bin_width_s, delta_max_shot_s (None without shots), mean_shot_s}.
    """
    d = np.asarray([float(e) - float(s) for s, e in shots], dtype=np.float64)
    d = d[d > 0]
    if len(d) == 0:
        return {"bin_edges_s": [0.0, bin_s], "counts": [0], "bin_width_s": bin_s,
                "delta_max_shot_s": None, "mean_shot_s": None}
    idx = np.floor(d / bin_s + 0.5).astype(np.int64)  # bin b is centred on b·bin_s
    n_bins = int(idx.max()) + 1
    edges = (np.arange(n_bins + 1, dtype=np.float64) - 0.5) * bin_s
    counts = np.bincount(idx, minlength=n_bins)
    padded = np.concatenate(([0], counts, [0]))
    neighbourhood = padded[:-2] + padded[1:-1] + padded[2:]
    best = max(range(n_bins), key=lambda b: (counts[b], neighbourhood[b], -b))
    return {"bin_edges_s": [float(x) for x in edges], "counts": [int(c) for c in counts],
            "bin_width_s": bin_s, "delta_max_shot_s": float(best * bin_s),
            "mean_shot_s": float(d.mean())}


def cut_downbeat_offsets(cuts_s, downbeats_s, rate_hz: float = F_SHOT_RATE_HZ,
                         bin_s: float = OFFSET_BIN_S, max_offset_s: float | None = None) -> dict:
    """Signed offset of each cut from its nearest downbeat (s; negative = cut before the downbeat).

    Cuts farther than ``max_offset_s`` (default: half the median bar) from every downbeat — before
    the music's first bar or after its last — are left out (``n_outside``). Counts cuts before / on
    (|offset| ≤ half a frame at ``rate_hz``) / after, the median offset and a histogram in ``bin_s``
    bins centred on multiples of ``bin_s`` up to ``max_offset_s``. Returns a JSON-able dict.
    """
    cuts = np.sort(np.asarray(cuts_s, dtype=np.float64).ravel())
    db = np.sort(np.asarray(downbeats_s, dtype=np.float64).ravel())
    tol = 0.5 / rate_hz
    empty = {"offsets_s": [], "n_outside": 0, "n_before": 0, "n_on": 0, "n_after": 0,
             "median_offset_s": None, "mean_offset_s": None, "tolerance_s": tol, "bin_edges_s": [],
             "counts": []}
    if len(cuts) == 0 or len(db) == 0:
        return empty
    j = np.searchsorted(db, cuts)
    left = db[np.clip(j - 1, 0, len(db) - 1)]
    right = db[np.clip(j, 0, len(db) - 1)]
    off_left, off_right = cuts - left, cuts - right
    offsets = np.where(np.abs(off_left) <= np.abs(off_right), off_left, off_right)
    if max_offset_s is None:
        max_offset_s = 0.5 * float(np.median(np.diff(db))) if len(db) > 1 else 1.0
    inside = np.abs(offsets) <= max_offset_s + 1e-9
    n_outside = int(np.sum(~inside))
    offsets = offsets[inside]
    if len(offsets) == 0:
        return {**empty, "n_outside": n_outside}
    k = int(math.ceil(max_offset_s / bin_s - 0.5))
    edges = (np.arange(-k, k + 2, dtype=np.float64) - 0.5) * bin_s
    counts, _ = np.histogram(np.clip(offsets, edges[0], edges[-1] - 1e-9), bins=edges)
    return {"offsets_s": [float(x) for x in offsets], "n_outside": n_outside,
            "n_before": int(np.sum(offsets < -tol)), "n_on": int(np.sum(np.abs(offsets) <= tol)),
            "n_after": int(np.sum(offsets > tol)),
            "median_offset_s": float(np.median(offsets)), "mean_offset_s": float(np.mean(offsets)),
            "tolerance_s": tol, "bin_edges_s": [float(x) for x in edges],
            "counts": [int(c) for c in counts]}


def _nan_to_none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _agree(delta_max: float | None, level_s: float) -> bool | None:
    if delta_max is None:
        return None
    return bool(0.5 * level_s < delta_max < 1.5 * level_s)


def language_of_clips(shots: Sequence[Sequence[float]], cuts_s, cut_probs_25hz: np.ndarray,
                      beats: BeatResult, segments_s, *, rate_hz: float = F_SHOT_RATE_HZ,
                      sigma_frames: float = SIGMA_FRAMES) -> dict:
    """The thesis ch. 6 report for one video and its soundtrack (see the module doc for definitions).

    ``shots``: (start_s, end_s) pairs; ``cuts_s``: cut times; ``cut_probs_25hz``: f_shot at ``rate_hz``;
    ``beats``: the soundtrack's :class:`BeatResult`; ``segments_s``: its segment boundaries (OLDA), 0
    and the end included or not (boundaries within ``EDGE_S`` = 1 s of 0 or of the end of the curve
    are dropped). Music events after the end of the curve are ignored.
    Returns a JSON-able dict (NaN scores become None).
    """
    f = np.asarray(cut_probs_25hz, dtype=np.float64).ravel()
    video_end_s = len(f) / rate_hz
    delta_beat = beats.delta_beat_s
    delta_bar = beats.delta_bar_s
    hist = shot_duration_histogram(shots)
    dmax = hist["delta_max_shot_s"]

    seg = np.asarray(segments_s, dtype=np.float64).ravel()
    seg = seg[(seg >= EDGE_S) & (seg <= video_end_s - EDGE_S)]  # drop 0 and the end (not events)
    downbeats = np.asarray(beats.downbeats_s, dtype=np.float64)
    downbeats = downbeats[downbeats <= video_end_s]
    beat_times = np.asarray(beats.beats_s, dtype=np.float64)
    beat_times = beat_times[beat_times <= video_end_s]

    s_seg, s_seg_i = cooccurrence_score(seg, f, rate_hz, sigma_frames)
    s_bar, _ = cooccurrence_score(downbeats, f, rate_hz, sigma_frames)
    s_beat, _ = cooccurrence_score(beat_times, f, rate_hz, sigma_frames)

    n_lag = int(round(LAG_RANGE_S * rate_hz))
    lags_s = np.arange(-n_lag, n_lag + 1) / rate_hz
    lag_scores = [cooccurrence_score(downbeats + lag, f, rate_hz, sigma_frames)[0] for lag in lags_s]
    finite = [(s, lag) for s, lag in zip(lag_scores, lags_s) if math.isfinite(s)]
    best_lag = max(finite)[1] if finite else None

    return {
        "tempo_bpm": float(beats.tempo_bpm),
        "meter": int(beats.meter),
        "delta_beat_s": float(delta_beat),
        "delta_bar_s": float(delta_bar),
        "delta_pattern_s": float(4 * delta_bar),
        "n_shots": len(shots),
        "mean_shot_s": hist["mean_shot_s"],
        "shot_duration_histogram": {k: hist[k] for k in ("bin_edges_s", "counts", "bin_width_s")},
        "delta_max_shot_s": dmax,
        "agreement": {
            "beat": _agree(dmax, delta_beat),
            "bar": _agree(dmax, delta_bar),
            "pattern": _agree(dmax, 4 * delta_bar),
        },
        "S_seg": _nan_to_none(s_seg),
        "S_seg_i": [float(x) for x in s_seg_i],
        "S_bar": _nan_to_none(s_bar),
        "S_beat": _nan_to_none(s_beat),
        "n_segment_boundaries": int(len(seg)),
        "n_downbeats": int(len(downbeats)),
        "sigma_s": sigma_frames / rate_hz,
        "cut_downbeat_offsets": cut_downbeat_offsets(cuts_s, downbeats, rate_hz),
        "S_bar_by_lag": {"lags_s": [float(x) for x in lags_s],
                         "S": [_nan_to_none(x) for x in lag_scores],
                         "best_lag_s": None if best_lag is None else float(best_lag)},
    }
