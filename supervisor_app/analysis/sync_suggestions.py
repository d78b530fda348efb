"""Picture sync-point suggestions: where a music hit would land well (thesis §8.3.2, future work).

A music editor lines the music up with the picture's events: a burst of fast cutting, the moment of
most movement, a flash, a bang. :func:`suggest_sync_points` finds candidates for those from four
curves measured on the picture, each against the film's own typical level (so a calm film and a
busy one both get their salient moments):

- ``cut_density``: cuts per second, Gaussian-smoothed (sigma ``CUT_SIGMA_S`` = 1.5 s). A peak at least
  ``CUT_RATIO_MIN`` = 1.8 times the film's mean cut rate with at least 3 cuts within two sigma is a
  *burst*; the suggestion is the burst's first cut. Strength ``1 - 1/ratio``.
- ``motion``: mean absolute difference of consecutive small grey frames with their mean removed (so a
  flash or a fade is not movement; 64x36, ``ANALYSIS_FPS`` = 8 per second, decoded by
  :func:`supervisor_app.media.read_frames`; the frame pairs that straddle a cut do not count), smoothed
  over 0.5 s. A peak at least ``MOTION_RATIO_MIN`` = 2 times the film's median motion
  (and above ``MOTION_FLOOR`` grey levels, so a still film's noise is not movement) is suggested at the
  peak. Strength ``1 - median/peak``.
- ``brightness``: the change of the mean luma (0-255) between consecutive analysis frames. A change of
  at least ``BRIGHTNESS_MIN`` = 25 levels within a shot (a flash, a fade to light or to black; frame pairs
  across a cut are the cut's) is suggested at the first frame showing it. Strength ``min(1, change / 128)`` (half the luma range: 1).
- ``loudness``: the production sound's level (RMS dB in 100 ms windows, hop 50 ms). A rise of at least
  ``LOUDNESS_RISE_DB`` = 10 dB within 0.3 s to a level above the film's median (an impact, a shout, the
  score's hit) is suggested at its onset (where the level crosses half of the rise). Levels under the
  film's median - 20 dB count as that (a rise out of silence is not 60 dB); rises inside speech (YAMNet,
  :mod:`supervisor_app.analysis.speech`: a voice entering is not a hit) are left out. Strength
  ``min(1, (rise - 6) / 18)`` times ``min(1, 1 + (level - p95) / 15)``, p95 the film's 95th-percentile
  level (a hit that reaches the film's loud moments counts fully).

Candidates closer than ``min_gap_s`` (1 s) merge: the strongest keeps its time and kind, the strengths
combine as independent evidence (``1 - (1 - a)(1 - b)``) and the reasons are joined. At most
``max_suggestions`` (default: one per 10 s of picture, at least 3) are kept, the strongest; the list is
returned in time order. :func:`picture_climax_s` picks the picture's climax from them: the time where
the strength-weighted density of suggestions peaks (sigma ``max(2 s, duration / 30)``), snapped to the
strongest suggestion there. Times are seconds; strengths 0..1; reasons are plain words.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

__all__ = ["SyncSuggestion", "PictureCurves", "KINDS", "suggest_sync_points", "suggestions_from_curves",
           "picture_curves", "picture_climax_s", "strongest", "cached_sync_suggestions", "SUGGESTIONS_VERSION"]

SUGGESTIONS_VERSION = "1"
KINDS = ("cut_density", "motion", "brightness", "loudness")
ANALYSIS_FPS = 8.0
FRAME_SIZE = (64, 36)
CUT_SIGMA_S = 1.5
CUT_RATIO_MIN = 1.8
MOTION_RATIO_MIN = 2.0
MOTION_FLOOR = 2.0  # grey levels per 1/8 s
BRIGHTNESS_MIN = 25.0  # luma levels (0-255)
LOUDNESS_RISE_DB = 10.0
LOUDNESS_HOP_S = 0.05


@dataclass(frozen=True)
class SyncSuggestion:
    """A picture moment where a music hit (a downbeat, a section start) would land well."""

    time_s: float
    strength: float  # 0..1
    kind: str  # one of KINDS
    reason: str  # plain words

    def to_dict(self) -> dict:
        d = asdict(self)
        d["time_s"] = round(float(self.time_s), 3)
        d["strength"] = round(float(self.strength), 3)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SyncSuggestion":
        return cls(float(d["time_s"]), float(d["strength"]), str(d["kind"]), str(d["reason"]))


@dataclass
class PictureCurves:
    """The measured curves: frame times ``times_s`` with ``motion`` (mean absolute change of the
    mean-removed grey frame from the previous one, grey levels; NaN across cuts) and ``brightness``
    (mean luma); the sound level ``loudness_db`` every ``LOUDNESS_HOP_S`` from 0 (None without audio)."""

    duration_s: float
    times_s: np.ndarray
    motion: np.ndarray
    brightness: np.ndarray
    loudness_db: np.ndarray | None = None
    cut_steps: np.ndarray | None = None  # (len(times_s) - 1,) True where the frame step straddles a cut
    speech_regions_s: list | None = None  # where the production sound speaks (YAMNet), None if unknown


def _fmt(t: float) -> str:
    m, s = divmod(max(0.0, float(t)), 60.0)
    return f"{int(m)}:{s:04.1f}"


def picture_curves(video_path: str | Path, *, cuts_s: Sequence[float] | None = None, fps: float = ANALYSIS_FPS,
                   size: tuple[int, int] = FRAME_SIZE, audio: bool = True,
                   should_cancel: Callable[[], bool] | None = None) -> PictureCurves:
    """Decode small frames (and the sound) of ``video_path`` into :class:`PictureCurves`. Frame pairs
    that straddle one of ``cuts_s`` get NaN motion (a cut is not movement); with ``cuts_s=None`` the
    cuts are taken as the frame differences above 6 times their median (and above 20 grey levels)."""
    from supervisor_app.infra.jobs import check_cancelled
    from supervisor_app.media import load_audio, probe, read_frames

    info = probe(video_path)
    times, grey = [], []
    for k, (t, fr) in enumerate(read_frames(video_path, fps=fps, size=size)):
        if k % 64 == 0:
            check_cancelled(should_cancel, "The sync-point analysis")
        g = fr.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        times.append(t)
        grey.append(g)
    times_a = np.asarray(times, float)
    if len(grey) >= 2:
        stack = np.stack(grey)
        bright = stack.mean(axis=(1, 2))
        # structure change: frames with their mean removed, so a flash or a fade is not movement
        flat = stack - bright[:, None, None]
        diff = np.abs(np.diff(flat, axis=0)).mean(axis=(1, 2))
    else:
        diff = np.zeros(0)
        bright = np.asarray([g.mean() for g in grey], float)
    motion = np.full(len(times_a), np.nan)
    bright_step_ok = np.ones(max(0, len(times_a) - 1), bool)
    if diff.size:
        motion[1:] = diff
        if cuts_s is None:
            med = float(np.median(diff)) if diff.size else 0.0
            is_cut = diff > max(20.0, 6.0 * med)
        else:
            c = np.asarray(sorted(cuts_s), float)
            # pair (k-1, k) straddles a cut when a cut lies in (t[k-1], t[k]] (+- half a native frame)
            lo, hi = times_a[:-1], times_a[1:]
            is_cut = np.zeros(diff.size, bool)
            if c.size:
                j = np.searchsorted(c, lo + 1e-3)
                is_cut = (j < c.size) & (c[np.minimum(j, c.size - 1)] <= hi + 0.05)
        motion[1:][is_cut] = np.nan
        bright_step_ok = ~is_cut
    loud = None
    if audio and info.has_audio:
        x = load_audio(video_path, sr=16000, mono=True)
        hop, win = int(LOUDNESS_HOP_S * 16000), int(0.1 * 16000)
        n = max(0, 1 + (len(x) - win) // hop) if len(x) >= win else 0
        if n:
            idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
            rms = np.sqrt(np.mean(x[idx].astype(np.float64) ** 2, axis=1))
            loud = 20 * np.log10(np.maximum(rms, 1e-5))
            # the level at window k is for its centre (k*hop + 50 ms): shift to a grid from 0
            loud = np.concatenate([loud[:1], loud])
        speech = _speech_regions(x, float(info.duration_s), should_cancel)
    else:
        speech = None
    return PictureCurves(float(info.duration_s), times_a, motion, np.asarray(bright, float), loud,
                         cut_steps=~bright_step_ok, speech_regions_s=speech)


def _speech_regions(x_16k: np.ndarray, duration_s: float, should_cancel) -> list | None:
    """YAMNet speech regions of the production sound, or None when YAMNet is not installed."""
    from supervisor_app.infra.errors import MissingExtraError
    from supervisor_app.analysis.speech import speech_activity, speech_regions

    try:
        return speech_regions(speech_activity(x_16k, should_cancel), duration_s)
    except MissingExtraError:
        return None


# --- candidates per kind ------------------------------------------------------------------------------
def _cut_candidates(cuts_s: np.ndarray, duration_s: float) -> list[SyncSuggestion]:
    cuts = np.asarray(sorted(c for c in cuts_s if 0.0 < c < duration_s), float)
    if cuts.size < 3 or duration_s <= 0:
        return []
    mean_rate = cuts.size / duration_s
    grid = np.arange(0.0, duration_s, 0.1)
    d = np.exp(-0.5 * ((grid[:, None] - cuts[None, :]) / CUT_SIGMA_S) ** 2).sum(1) / (CUT_SIGMA_S * np.sqrt(2 * np.pi))
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(d, distance=max(1, int(2 * CUT_SIGMA_S / 0.1)))
    out = []
    for p in peaks:
        ratio = d[p] / mean_rate
        t = grid[p]
        near = cuts[np.abs(cuts - t) <= 2 * CUT_SIGMA_S]
        if ratio < CUT_RATIO_MIN or near.size < 3:
            continue
        # the burst: the cuts around the peak where the density stays above half the peak's
        above = d >= 0.5 * d[p]
        a = p
        while a > 0 and above[a - 1]:
            a -= 1
        b = p
        while b + 1 < d.size and above[b + 1]:
            b += 1
        burst = cuts[(cuts >= grid[a] - CUT_SIGMA_S / 2) & (cuts <= grid[b] + CUT_SIGMA_S / 2)]
        burst = burst if burst.size else near
        span = float(burst[-1] - burst[0]) if burst.size > 1 else 0.0
        reason = (f"a burst of {burst.size} cuts in {span:.1f} s starts here ({ratio:.1f} times the film's "
                  f"average of one cut every {1 / mean_rate:.1f} s)")
        out.append(SyncSuggestion(float(burst[0]), float(1 - 1 / ratio), "cut_density", reason))
    return out


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1 or x.size == 0:
        return x
    k = np.ones(n) / n
    return np.convolve(np.pad(x, (n // 2, n - 1 - n // 2), mode="edge"), k, mode="valid")


def _motion_candidates(c: PictureCurves, fps: float) -> list[SyncSuggestion]:
    m = np.asarray(c.motion, float)
    ok = np.isfinite(m)
    if ok.sum() < 4:
        return []
    filled = np.interp(np.arange(m.size), np.flatnonzero(ok), m[ok])
    sm = _smooth(filled, max(1, int(round(0.5 * fps))))
    med = float(np.median(sm))
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(sm, distance=max(1, int(round(2.0 * fps))))
    out = []
    for p in peaks:
        v = float(sm[p])
        if v < MOTION_FLOOR or v < MOTION_RATIO_MIN * max(med, 1e-6):
            continue
        ratio = v / max(med, 1e-6)
        strength = float(1 - max(med, MOTION_FLOOR / 4) / v)
        reason = (f"the most movement on screen around {_fmt(c.times_s[p])}: {min(ratio, 99):.1f} times the "
                  f"film's typical motion")
        out.append(SyncSuggestion(float(c.times_s[p]), max(0.0, strength), "motion", reason))
    return out


def _brightness_candidates(c: PictureCurves, fps: float) -> list[SyncSuggestion]:
    b = np.asarray(c.brightness, float)
    if b.size < 2:
        return []
    d = np.diff(b)
    if c.cut_steps is not None and len(c.cut_steps) == d.size:
        d = np.where(c.cut_steps, 0.0, d)  # a cut's change of brightness belongs to the cut, not to a flash
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(np.abs(d), height=BRIGHTNESS_MIN)  # a flash on and off: the merge keeps the onset
    out = []
    for p in peaks:
        ch = float(d[p])
        word = "brighter" if ch > 0 else "darker"
        what = "a flash or a cut to light" if ch > 0 else "a cut or fade towards black"
        reason = f"the picture turns {word} by {abs(ch) / 2.55:.0f} % of full scale ({what})"
        out.append(SyncSuggestion(float(c.times_s[p + 1]), float(min(1.0, abs(ch) / 128.0)), "brightness", reason))
    return out


def _loudness_candidates(c: PictureCurves) -> list[SyncSuggestion]:
    L = c.loudness_db
    if L is None or len(L) < 8:
        return []
    L = np.asarray(L, float)
    med = float(np.median(L))
    top = float(np.percentile(L, 95))
    L = np.maximum(L, med - 20.0)  # a rise out of silence counts from 20 dB under the film's median level
    w = max(1, int(round(0.3 / LOUDNESS_HOP_S)))
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.signal import find_peaks

    prior_min = sliding_window_view(np.pad(L, (w, 0), mode="edge"), w + 1).min(axis=1)  # min over [k-w, k]
    rise = L - prior_min
    speech = c.speech_regions_s or []
    peaks, _ = find_peaks(rise, height=LOUDNESS_RISE_DB, distance=max(1, int(round(1.0 / LOUDNESS_HOP_S))))
    out = []
    for p in peaks:
        if L[p] < med or L[p] < -60.0:
            continue
        r = float(rise[p])
        k = max(0, p - w)
        half = prior_min[p] + 0.5 * r
        while k < p and L[k] < half:  # the onset: where the level crosses half of the rise
            k += 1
        t = k * LOUDNESS_HOP_S
        if any(a - 0.25 <= t <= b for a, b in speech):
            continue  # a voice entering or a word in a line of dialogue is not a hit
        strength = min(1.0, max(0.0, (r - 6.0) / 18.0)) * min(1.0, max(0.0, 1.0 + (L[p] - top) / 15.0))
        reason = f"the sound jumps {r:.0f} dB within 0.3 s here (an impact, a shout or a musical hit)"
        out.append(SyncSuggestion(float(t), float(strength), "loudness", reason))
    return out


def suggestions_from_curves(curves: PictureCurves | None, cuts_s: Sequence[float] = (), *,
                            duration_s: float | None = None, fps: float = ANALYSIS_FPS,
                            max_suggestions: int | None = None, min_gap_s: float = 1.0) -> list[SyncSuggestion]:
    """The suggestions from already measured curves and cuts (see the module docstring), in time order."""
    D = float(duration_s if duration_s is not None else (curves.duration_s if curves is not None else 0.0))
    cands = _cut_candidates(np.asarray(list(cuts_s), float), D)
    if curves is not None:
        cands += _motion_candidates(curves, fps) + _brightness_candidates(curves, fps) + _loudness_candidates(curves)
    cands = [s for s in cands if 0.0 <= s.time_s <= D and s.strength > 0.0]
    cands.sort(key=lambda s: (-s.strength, s.time_s, s.kind))
    kept: list[SyncSuggestion] = []
    kinds: list[set] = []  # the kinds merged into each kept suggestion (each kind adds evidence once)
    for s in cands:
        j = next((i for i, k in enumerate(kept) if abs(k.time_s - s.time_s) < min_gap_s), None)
        if j is None:
            kept.append(s)
            kinds.append({s.kind})
            continue
        k = kept[j]
        if s.kind not in kinds[j]:
            kinds[j].add(s.kind)
            kept[j] = SyncSuggestion(k.time_s, float(1 - (1 - k.strength) * (1 - s.strength)), k.kind,
                                     f"{k.reason}; and {s.reason}")
    n_max = max_suggestions if max_suggestions is not None else max(3, int(D // 10))
    kept.sort(key=lambda s: (-s.strength, s.time_s))
    return sorted(kept[:n_max], key=lambda s: s.time_s)


def _cuts_from_probs(cut_probs_25hz, threshold: float = 0.5) -> list[float]:
    p = np.asarray(cut_probs_25hz, float)
    if p.size < 3:
        return []
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(np.concatenate([[0.0], p, [0.0]]), height=threshold)
    return [float((k - 1) / 25.0) for k in peaks]


def suggest_sync_points(video_path: str | Path, *, cuts_s: Sequence[float] | None = None,
                        cut_probs_25hz: Sequence[float] | None = None, fps: float = ANALYSIS_FPS,
                        audio: bool = True, max_suggestions: int | None = None, min_gap_s: float = 1.0,
                        should_cancel: Callable[[], bool] | None = None) -> list[SyncSuggestion]:
    """Sync-point suggestions for ``video_path`` (time order; see the module docstring).

    ``cuts_s``: the shot cuts (e.g. TransNetV2's); else ``cut_probs_25hz`` peaks above 0.5; else the
    cuts are taken from the frame differences. ``audio``: use the production sound's loudness too.
    Raises a typed MediaError when the video cannot be read."""
    if cuts_s is None and cut_probs_25hz is not None:
        cuts_s = _cuts_from_probs(cut_probs_25hz)
    curves = picture_curves(video_path, cuts_s=cuts_s, fps=fps, audio=audio, should_cancel=should_cancel)
    if cuts_s is None:
        m = np.asarray(curves.motion, float)
        cuts_s = [float(t) for t, v in zip(curves.times_s, m) if not np.isfinite(v)][1:]  # frame 0 has none
    return suggestions_from_curves(curves, cuts_s, fps=fps, max_suggestions=max_suggestions, min_gap_s=min_gap_s)


def strongest(suggestions: Sequence[SyncSuggestion]) -> SyncSuggestion | None:
    """The strongest suggestion (the earliest among equals), or None."""
    return max(suggestions, key=lambda s: (s.strength, -s.time_s), default=None)


def picture_climax_s(suggestions: Sequence[SyncSuggestion], duration_s: float) -> float | None:
    """The picture's climax: where the strength-weighted density of the suggestions peaks (Gaussian,
    sigma ``max(2 s, duration / 30)``), snapped to the suggestion contributing most there. None when
    there are no suggestions or no duration."""
    s = [x for x in suggestions if 0.0 <= x.time_s <= duration_s]
    if not s or duration_s <= 0:
        return None
    sigma = max(2.0, duration_s / 30.0)
    t = np.array([x.time_s for x in s])
    w = np.array([x.strength for x in s])
    grid = np.arange(0.0, duration_s + 1e-9, 0.1)
    dens = (w[None, :] * np.exp(-0.5 * ((grid[:, None] - t[None, :]) / sigma) ** 2)).sum(1)
    g = grid[int(np.argmax(dens))]
    contrib = w * np.exp(-0.5 * ((g - t) / sigma) ** 2)
    return float(t[int(np.argmax(contrib))])


def cached_sync_suggestions(video_path: str | Path, *, shot_threshold: float = 0.5, cache=True,
                            content_hash: str | None = None, cuts_s: Sequence[float] | None = None,
                            should_cancel: Callable[[], bool] | None = None) -> list[SyncSuggestion]:
    """:func:`suggest_sync_points` with the TransNetV2 cuts (:func:`supervisor_app.analysis.report.cached_shots`,
    unless ``cuts_s`` is given), cached by content hash + version like every other analysis.
    ``cache``: True (default cache), False/None, or an AnalysisCache."""
    from supervisor_app.analysis import versions
    from supervisor_app.analysis.report import _resolve_cache, cached_shots

    cache = _resolve_cache(cache)
    if cache is not None and content_hash is None:
        from supervisor_app.infra.hashing import content_hash as _hash

        content_hash = _hash(video_path)
    version = f"{SUGGESTIONS_VERSION}+{versions.shots_version(shot_threshold)}" if cuts_s is None else None
    if cache is not None and version is not None:
        hit = cache.get(content_hash, "sync_suggestions", version)
        if hit is not None:
            try:
                return [SyncSuggestion.from_dict(d) for d in hit["suggestions"]]
            except (KeyError, TypeError, ValueError):
                pass
    if cuts_s is None:
        cuts_s = list(cached_shots(video_path, shot_threshold, cache=cache if cache is not None else False,
                                   content_hash=content_hash, should_cancel=should_cancel).cuts_s)
    out = suggest_sync_points(video_path, cuts_s=cuts_s, should_cancel=should_cancel)
    if cache is not None and version is not None:
        cache.put(content_hash, "sync_suggestions", version, {"suggestions": [s.to_dict() for s in out]})
    return out
