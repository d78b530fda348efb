"""Provisional cuts in a few milliseconds, from the frames TransNetV2 reads (numpy only).

``quick_cut_probs(frames, fps)`` takes the same decoded ``(n, 27, 48, 3)`` uint8 RGB frames as
TransNetV2 (:mod:`.transnet_model`) and returns per-frame pseudo-probabilities with the network's
convention (high on the *last frame of the outgoing shot*; one frame near the middle of a gradual
transition), so that :func:`.shots._result` / :func:`.shots.cuts_from_probs` make cuts, shots and
the 25 Hz curve from it exactly as from TransNetV2. The app shows these cuts while TransNetV2 runs
and replaces them with the network's when it is done: they are a cheap guess, not a substitute
(see ``benchmarks/eval_quick_cuts.py`` for how far they agree).

Method (no learned weights; every threshold is a named constant below):

* **Frame features** (:class:`FrameFeatures`): the frame's pixel sums over 3×3 blocks (16×9 RGB:
  the *layout*) and a 4×4×4 joint RGB histogram of every other pixel (the *colours*, hardly moved
  by motion), one int16 row per frame. The distance of two frames is ``PIXEL_WEIGHT`` × their
  mean absolute block difference (0..1) + half the L1 distance of their normalised histograms
  (0..1): a weighted L1 distance of rows, so a metric.
* **Hard cuts** (:func:`hard_cut_scores`): the step ``d(i, i + 1)`` is above ``HARD_FLOOR``, is the
  largest within ±``HARD_PEAK_RADIUS`` frames, and its layout part *or* its histogram part stands
  out on its own: above ``HARD_MEDIAN_RATIO`` × the local median and the local median +
  ``HARD_MAD_K`` robust standard deviations (MAD over ±``LOCAL_WINDOW_S``; fast motion and pans
  raise the local level, so they make no cuts), above ``HARD_ISOLATION`` × all other steps but one within
  ±``HARD_PEAK_RADIUS`` (a dissolve's or a fade's steps come in clusters) and above a floor. Tested
  apart because motion moves the layout but not the colours (a cut inside a whip pan shows in the
  histogram) and a fade of a flat picture makes the histogram jump at bin edges while the layout
  changes evenly. A **flash or a glitch** of one or two frames is not a cut: across a real cut
  the frames two and three apart differ too, around a flash they match (:func:`_across_distance`).
* **Relighting is not a cut**: a hard cut or a gradual window whose two end frames differ by little
  more than a brightness gain (a light switched on, an explosion's glow) is dropped
  (:meth:`FrameFeatures.same_but_brightness`; never where an end frame is dark: fades from black).
* **Fades through black** (:func:`black_dips`): a short run of black frames with a picture within
  ``DIP_FADE_S`` on both sides, a fade on one side at least, and no hard cut into or out of it;
  marked on its middle frame.
* **Other gradual transitions** (dissolves, fades, fades from black; :func:`gradual_peaks`),
  twin-comparison style at window lengths ``GRADUAL_WINDOWS_S``: the distance across the window
  centred on frame ``c``, ``d(c - D/2, c + D/2)`` (robust to a flash on an end frame), is above
  ``GRADUAL_FLOOR``, ``GRADUAL_CONTRAST`` × the distance across the quieter of the windows just
  before and after it and more than across the busier one (a pan changes each window as much; a
  transition only the one that holds it), at least ``GRADUAL_STRAIGHTNESS`` × the path along the
  window (the sum of its steps: a blend goes straight from one picture to the other, motion
  wanders), and no step carries more than ``GRADUAL_MAX_STEP_SHARE`` of that path (else it is a
  hard cut). Candidates are taken largest change first (the window that holds the whole
  transition), one per ``GRADUAL_MIN_GAP_S``, none whose window holds another transition, and
  marked on the frame where the picture becomes nearer the window's last frame than its first
  (:func:`_half_change_frame`): the middle of a dissolve wherever the window lies around it.

The pseudo-probability of a marked frame is ``m / (1 + m)`` with ``m`` (> 1) the smallest margin
of its tests; every other frame gets the same of its hard-cut margin, capped at
``NOT_A_CUT_MAX``. Black or static pictures have no steps above the floors and give no cuts; fewer
than three frames give zeros. Cost: two passes over the frames (block sums, histograms) and about
20 passes over the ``n`` × 496 features or windows of ``n`` steps; linear in ``n``, ~15 µs per
frame (about 21 ms for 1,440 frames on the 2-core development CPU, ``benchmarks/eval_quick_cuts.py``).
Memory beyond the frames: the int16 features (992 bytes a frame, a quarter of the frames' bytes)
and a few dozen arrays of ``n`` floats; the temporaries are computed in chunks of ``CHUNK_FRAMES``
(~1.1 kB a frame at the peak in all, measured with tracemalloc on 51,876 frames).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

QUICK_CUTS_VERSION = "quick-cuts-1"

BLOCK_PX = 3  # frames are averaged over BLOCK_PX x BLOCK_PX pixel blocks for the layout part
HIST_LEVELS = 4  # levels per channel of the joint RGB histogram (4**3 = 64 bins)
PIXEL_WEIGHT = 2.0  # weight of the mean absolute block difference (0..1) against the histogram part (0..1)

LOCAL_WINDOW_S = 1.0  # half-width of the window for the local median / MAD of the steps
HARD_FLOOR = 0.25  # a hard cut's step is at least this (distance units: 0..PIXEL_WEIGHT + 1)
LAYOUT_FLOOR = 0.05  # the layout part of a step that stands out is at least this
HIST_FLOOR = 0.15  # the histogram part of a step that stands out is at least this
HARD_MAD_K = 8.0  # a part stands out above its local median + K robust standard deviations,
HARD_MEDIAN_RATIO = 3.0  # ... above this multiple of its local median,
HARD_ISOLATION = 2.0  # ... and above this multiple of all other steps but one within HARD_PEAK_RADIUS frames
# (one other large step: a cut through a black or glitch frame or two, A -> X -> B; the flash test below
# tells it from A -> X -> A)
HARD_PEAK_RADIUS = 3
FLASH_RATIO = 0.5  # frames across a real cut differ at distances 2 and 3 by >= this x the step,
FLASH_MOTION_K = 4.0  # ... or by more than motion explains (this x the local median step, and HARD_FLOOR):
# a cut through a frame or two of black has a huge step but frames around it differ only as two shots do

GRADUAL_WINDOWS_S = (0.33, 0.67, 1.0, 1.5, 2.0)  # window lengths D of the gradual-transition search
GRADUAL_FLOOR = 0.4  # distance across a transition's window (two different shots: ~0.45 to 2; motion rarely 0.3)
GRADUAL_CONTRAST = 2.0  # ... at least this x the distance across the quieter of the windows before and after
# it, and more than across the busier one
GRADUAL_STRAIGHTNESS = 0.4  # ... at least this x the path along it (sum of steps; motion wanders, a blend goes straight)
GRADUAL_MAX_STEP_SHARE = 0.4  # no single step carries more of the path than this (else: hard cut)
PATH_RATE_HZ = 24.0  # the path along a window is measured in steps of about 1 / PATH_RATE_HZ s
GRADUAL_MIN_GAP_S = 1.0  # two gradual transitions are at least this far apart (the stronger one is kept)
GRADUAL_LOCATE_S = 2.0  # the middle of a transition is sought in a window this long (or its own, if longer)
DARK_LUMA = 0.06  # a frame this dark (mean brightness 0..1) is black, for a fade through black
DIP_PICTURE_LUMA = 0.15  # ... and a picture this bright lies on both sides of the black
DIP_FADE_S = 1.5  # ... within this time (the fade-out or the fade-in)
DIP_MAX_BLACK_S = 1.0  # ... and the black lasts at most this long

GAIN_ONLY_MAX = 0.08  # frames whose brightness-normalised blocks differ less are the same picture, relit
CHUNK_FRAMES = 1024  # rows per chunk of the feature computations (bounds their temporaries)
NOT_A_CUT_MAX = 0.45  # pseudo-probability ceiling for frames that are not marked as cuts
_EPS = 1e-6

__all__ = ["QUICK_CUTS_VERSION", "quick_cut_probs"]


# --- features and distances --------------------------------------------------------------------
class FrameFeatures:
    """Per frame, as one ``(n, F)`` int16 matrix (a quarter of the frames' bytes): the uint8 pixel
    sums over ``BLOCK_PX`` × ``BLOCK_PX`` blocks (the layout; at most 2,295) then the joint RGB
    histogram counts (at most 336). Differences of two rows fit int16 too. The frame distance is
    ``PIXEL_WEIGHT`` × the mean absolute block difference (0..1) + half the L1 distance of the
    normalised histograms (0..1): a weighted L1 distance of rows, so a metric."""

    def __init__(self, frames: np.ndarray):
        n, h, w = frames.shape[:3]
        self.n_layout = (h // BLOCK_PX) * (w // BLOCK_PX) * 3
        self.values = np.empty((n, self.n_layout + HIST_LEVELS ** 3), dtype=np.int16)
        for start in range(0, n, CHUNK_FRAMES):  # in chunks: the temporaries stay small
            chunk = frames[start:start + CHUNK_FRAMES]
            self.values[start:start + len(chunk), :self.n_layout] = _block_sums(chunk).reshape(len(chunk), -1)
            self.values[start:start + len(chunk), self.n_layout:] = _rgb_histograms(chunk)
        self.layout_scale = PIXEL_WEIGHT / (255.0 * BLOCK_PX * BLOCK_PX * max(1, self.n_layout))
        self.hist_scale = 0.5 / (int(np.ceil(frames.shape[1] / 2)) * int(np.ceil(frames.shape[2] / 2)))

    def __len__(self) -> int:
        return len(self.values)

    def distances(self, lag: int, layout_only: bool = False) -> np.ndarray:
        """``d(i, i + lag)`` for ``i`` in ``0 .. n - lag - 1`` (float32; empty when ``lag >= n``),
        or its layout part; in chunks of ``CHUNK_FRAMES`` rows, so that temporaries stay small."""
        n = len(self.values)
        out = np.zeros(max(0, n - lag), dtype=np.float32)
        cols = self.n_layout if layout_only else self.values.shape[1]
        for start in range(0, len(out), CHUNK_FRAMES):
            stop = min(len(out), start + CHUNK_FRAMES)
            diff = np.abs(self.values[start + lag:stop + lag, :cols] - self.values[start:stop, :cols])
            out[start:stop] = diff[:, :self.n_layout].sum(axis=1, dtype=np.int32) * self.layout_scale
            if not layout_only:
                out[start:stop] += diff[:, self.n_layout:].sum(axis=1, dtype=np.int32) * self.hist_scale
        return out

    def layout_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start .. stop - 1`` of the layout part, scaled (float32: L1 distance of rows = the
        layout part of the frame distance)."""
        return self.values[start:stop, :self.n_layout].astype(np.float32) * np.float32(self.layout_scale)

    def same_but_brightness(self, i: int, j: int) -> bool:
        """Whether frames ``i`` and ``j`` differ by little more than a brightness gain (a light
        switched on, an explosion's glow, the sun out of a cloud): their block sums, each divided by
        its mean, differ by less than ``GAIN_ONLY_MAX`` on average. Never for a dark frame (a fade
        from or to black is a transition)."""
        rows = self.values[[i, j], :self.n_layout].astype(np.float32)
        means = rows.mean(axis=1)
        if means.min() * (self.layout_scale * self.n_layout / PIXEL_WEIGHT) <= 2 * DARK_LUMA:
            return False
        return float(np.abs(rows[0] / means[0] - rows[1] / means[1]).mean()) < GAIN_ONLY_MAX

    def luma(self) -> np.ndarray:
        """Mean brightness of each frame, 0..1."""
        total = np.zeros(len(self.values), dtype=np.float32)
        for start in range(0, len(total), CHUNK_FRAMES):
            rows = self.values[start:start + CHUNK_FRAMES, :self.n_layout]
            total[start:start + CHUNK_FRAMES] = rows.sum(axis=1, dtype=np.int32) * (self.layout_scale / PIXEL_WEIGHT)
        return total


def _block_sums(frames: np.ndarray) -> np.ndarray:
    """``(n, H // BLOCK_PX, W // BLOCK_PX, 3)`` uint16 sums over pixel blocks (by strided slices:
    several times faster than a ``sum`` over reshaped axes)."""
    h, w = frames.shape[1] // BLOCK_PX * BLOCK_PX, frames.shape[2] // BLOCK_PX * BLOCK_PX
    rows = frames[:, 0:h:BLOCK_PX].astype(np.uint16)
    for r in range(1, BLOCK_PX):
        rows += frames[:, r:h:BLOCK_PX]
    sums = rows[:, :, 0:w:BLOCK_PX].copy()
    for c in range(1, BLOCK_PX):
        sums += rows[:, :, c:w:BLOCK_PX]
    return sums


def _rgb_histograms(frames: np.ndarray) -> np.ndarray:
    """``(n, HIST_LEVELS**3)`` joint RGB histogram counts of every other pixel in each direction (a
    quarter of the pixels: the same colours, 4x cheaper)."""
    n = len(frames)
    bits = int(np.log2(HIST_LEVELS))
    q = frames[:, ::2, ::2] >> np.uint8(8 - bits)
    code = (q[..., 0] << np.uint8(2 * bits)) | (q[..., 1] << np.uint8(bits)) | q[..., 2]
    bins = HIST_LEVELS ** 3
    code = code.reshape(n, -1)
    idx = code.astype(np.intp)  # bincount's own index type: no hidden conversion
    idx += (np.arange(n, dtype=np.intp) * bins)[:, None]
    return np.bincount(idx.ravel(), minlength=n * bins).reshape(n, bins)


def _at(values: np.ndarray, idx: np.ndarray, fill: float) -> np.ndarray:
    """``values[idx]`` with ``fill`` where ``idx`` is out of range."""
    ok = (idx >= 0) & (idx < len(values))
    out = np.full(len(idx), fill, dtype=np.float32)
    out[ok] = values[idx[ok]]
    return out


def _sliding(values: np.ndarray, half_width: int, fill: Literal["edge", "constant"] = "edge") -> np.ndarray:
    """``(len(values), 2 * half_width + 1)`` view of the window centred on each value (edges padded)."""
    padded = np.pad(values, half_width, mode=fill)
    return sliding_window_view(padded, 2 * half_width + 1)


# --- hard cuts ---------------------------------------------------------------------------------
def _local_level(steps: np.ndarray, half_width: int) -> tuple[np.ndarray, np.ndarray]:
    """Local median and robust standard deviation (1.4826 × MAD) of ``steps`` over ±``half_width``
    (edges padded), in chunks of ``CHUNK_FRAMES`` (the medians copy their windows)."""
    windows = _sliding(steps, half_width)
    median = np.empty(len(steps), dtype=np.float32)
    sigma = np.empty(len(steps), dtype=np.float32)
    for start in range(0, len(steps), CHUNK_FRAMES):
        chunk = windows[start:start + CHUNK_FRAMES]
        m = np.median(chunk, axis=1)
        median[start:start + len(chunk)] = m
        sigma[start:start + len(chunk)] = 1.4826 * np.median(np.abs(chunk - m[:, None]), axis=1)
    return median, sigma


def hard_cut_scores(features: FrameFeatures, steps: np.ndarray, layout_steps: np.ndarray,
                    fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per step ``i`` (between frames ``i`` and ``i + 1``; ``steps`` = ``d(i, i + 1)``, and
    ``layout_steps`` its layout part): a margin that is > 1 where the step is a hard cut by that
    factor, and whether it is one (also not a flash, and the largest step within
    ±``HARD_PEAK_RADIUS``).

    The layout part and the histogram part are tested apart (:func:`_stand_out`) and one of them
    must stand out: motion moves the layout but hardly the colours (a cut inside a fast pan shows
    in the histogram), and in a fade of a flat picture the histogram jumps whenever the colour
    crosses a bin edge while the layout changes evenly."""
    half_width = max(2, int(round(LOCAL_WINDOW_S * fps)))
    layout_margin = _stand_out(layout_steps, half_width, LAYOUT_FLOOR)
    hist_margin = _stand_out(steps - layout_steps, half_width, HIST_FLOOR)
    margin = np.minimum(np.maximum(layout_margin, hist_margin), steps / HARD_FLOOR)
    is_peak = steps >= _neighbour_max(steps, HARD_PEAK_RADIUS)
    motion_level, _ = _local_level(steps, half_width)
    across = _across_distance(features, len(steps))
    not_flash = across >= np.minimum(FLASH_RATIO * steps, np.maximum(FLASH_MOTION_K * motion_level, HARD_FLOOR))
    is_cut = (margin > 1.0) & is_peak & not_flash
    for i in np.flatnonzero(is_cut):  # few: a cut changes more than the brightness
        is_cut[i] = not features.same_but_brightness(int(i), int(i) + 1)
    return margin, is_cut


def _stand_out(steps: np.ndarray, half_width: int, floor: float) -> np.ndarray:
    """How far each step stands out from its neighbourhood (> 1: enough): the smallest of its ratios
    to the local level (``HARD_MEDIAN_RATIO`` × the median and the median + ``HARD_MAD_K`` robust
    standard deviations over ±``half_width``), to ``HARD_ISOLATION`` × the second largest other step
    within ±``HARD_PEAK_RADIUS`` (the steps of a dissolve or of a fade come in clusters; a cut through
    a frame or two of black comes in two) and to ``floor``."""
    median, sigma = _local_level(steps, half_width)
    level = np.maximum(median + HARD_MAD_K * sigma, HARD_MEDIAN_RATIO * median)
    others = _neighbour_max(steps, HARD_PEAK_RADIUS, rank=2)
    required = np.maximum(np.maximum(level, HARD_ISOLATION * others), floor)
    return steps / np.maximum(required, _EPS)


def _neighbour_max(values: np.ndarray, radius: int, rank: int = 1) -> np.ndarray:
    """Per value: the ``rank``-th largest other value within ±``radius`` (0 beyond the edges)."""
    windows = _sliding(values, radius, fill="constant").copy()
    windows[:, radius] = 0.0
    return np.sort(windows, axis=1)[:, -rank]


def _across_distance(features: FrameFeatures, n_steps: int) -> np.ndarray:
    """Per step ``i``: the smallest distance between a frame before and one after it, at lags 2
    and 3 (``inf`` where none is in range). Small where the step is a flash or a glitch."""
    i = np.arange(n_steps)
    d2, d3 = features.distances(2), features.distances(3)
    pairs = [_at(d2, i - 1, np.inf), _at(d2, i, np.inf), _at(d3, i - 2, np.inf), _at(d3, i - 1, np.inf),
             _at(d3, i, np.inf)]
    return np.minimum.reduce(pairs)


# --- gradual transitions -----------------------------------------------------------------------
def gradual_scores(features: FrameFeatures, hops: np.ndarray, hop: int,
                   window: int) -> tuple[np.ndarray, np.ndarray]:
    """Per frame ``c``, for the window of ``window`` frames centred on ``c``: the smallest margin of
    the gradual-transition tests (> 1 where all pass; 0 where the window does not fit) and the
    distance across the window. ``hops[i] = d(i, i + hop)``: the path along the window is measured
    in hops of ``hop`` frames (averaged over the phases), about 1/24 s whatever the frame rate, so
    that noise adds as much to it at 60 fps as at 24."""
    n = len(features)
    out = np.zeros(n, dtype=np.float32)
    out_across = np.zeros(n, dtype=np.float32)
    across = _robust_across(features, window)  # ~d(k, k + window), window centred on k + window // 2
    if len(across) == 0:
        return out, out_across
    k = np.arange(len(across))
    before = _at(across, k - window, np.inf)
    after = _at(across, k + window, np.inf)
    quieter = np.minimum(before, after)
    quieter[~np.isfinite(quieter)] = 0.0  # no window fits on either side: the contrast test is moot
    busier = np.maximum(np.where(np.isfinite(before), before, 0.0), np.where(np.isfinite(after), after, 0.0))
    hop_windows = sliding_window_view(hops, window - hop + 1)  # hops k .. k + window - hop
    path = np.maximum(hop_windows.sum(axis=1) / hop, _EPS)
    step_share = hop_windows.max(axis=1) / path
    margins = np.minimum.reduce([
        across / GRADUAL_FLOOR,
        across / np.maximum(GRADUAL_CONTRAST * quieter, _EPS),
        across / np.maximum(busier, _EPS),
        (across / path) / GRADUAL_STRAIGHTNESS,
        GRADUAL_MAX_STEP_SHARE / np.maximum(step_share, _EPS),
    ])
    out[k + window // 2] = margins
    out_across[k + window // 2] = across
    return out, out_across


def _robust_across(features: FrameFeatures, window: int) -> np.ndarray:
    """``min(d(k, k + window), d(k - 1, k + window + 1))`` for each ``k``: the distance across a
    window, not fooled by a flash or a glitch on one of its end frames."""
    across = features.distances(window)
    wider = features.distances(window + 2)  # wider[k - 1] = d(k - 1, k + window + 1)
    k = np.arange(len(across))
    return np.minimum(across, _at(wider, k - 1, np.inf))


def _half_change_frame(features: FrameFeatures, centre: int, window: int) -> int:
    """The frame of the window centred on ``centre`` that is last nearer (in layout distance) to
    the window's first frame than to its last: the middle of a dissolve wherever the window lies
    around it (motion and noise add as much to both distances). The layout part changes evenly
    through a fade, where the histogram changes in jumps."""
    n = len(features)
    start = max(0, centre - window // 2)
    end = min(n - 1, start + window)
    span = features.layout_rows(start, end + 1)
    from_start = np.abs(span - span[0]).sum(axis=1)
    to_end = np.abs(span - span[-1]).sum(axis=1)
    frame = start + int(np.argmax(from_start >= to_end)) - 1
    return int(min(max(frame, start), n - 2))


def gradual_peaks(features: FrameFeatures, fps: float, hard_cut_steps: np.ndarray) -> list[tuple[int, float]]:
    """``(frame, margin)`` of the gradual transitions. Fades through black first
    (:func:`black_dips`); then, per centre, the passing window length that sees the largest change
    (the window that holds the whole transition), and, largest change first, each candidate is kept
    at its :func:`_half_change_frame` unless its window holds a hard cut or a fade through black,
    or a hard cut or a kept transition lies within ``GRADUAL_MIN_GAP_S`` of that frame (the same
    transition seen at another scale or centre, the last jump of a dissolve taken for a hard cut)."""
    n = len(features)
    hop = max(1, int(round(fps / PATH_RATE_HZ)))
    hops = features.distances(hop)
    windows = sorted({max(2 * hop, int(round(s * fps))) for s in GRADUAL_WINDOWS_S if round(s * fps) < n - 1})
    if not windows:
        return []
    margins, acrosses = zip(*(gradual_scores(features, hops, hop, w) for w in windows))
    margin_by_window, across_by_window = np.stack(margins), np.stack(acrosses)
    change = np.where(margin_by_window > 1.0, across_by_window, 0.0)  # passing windows only
    best = change.argmax(axis=0)
    margin, change = margin_by_window[best, np.arange(n)], change[best, np.arange(n)]
    gap = max(1, int(round(GRADUAL_MIN_GAP_S * fps)))
    locate = max(2, int(round(GRADUAL_LOCATE_S * fps)))
    blocked = np.zeros(n, dtype=bool)  # frames within the gap of a hard cut or a kept transition

    def block(frame: int) -> None:
        blocked[max(0, frame - gap + 1):frame + gap] = True

    occupied = np.zeros(n, dtype=bool)  # frames of hard cuts and of fades through black
    for i in np.flatnonzero(hard_cut_steps):
        block(int(i))
        occupied[i:i + 2] = True
    peaks = []
    for frame, dip_margin, start, end in black_dips(features.luma(), fps, hard_cut_steps):
        block(frame)
        occupied[start:end + 1] = True
        peaks.append((frame, dip_margin))
    for c in np.flatnonzero(change > 0)[np.argsort(-change[change > 0], kind="stable")]:
        w = windows[best[c]]
        lo, hi = max(0, c - w // 2), min(n - 1, c - w // 2 + w)
        span = max(w, locate)
        if occupied[lo:hi + 1].any() or blocked[max(0, c - span // 2):c - span // 2 + span + 1].all():
            continue  # another transition inside its window, or no frame it could mark is free
        if features.same_but_brightness(lo, hi):
            continue
        frame = _half_change_frame(features, int(c), span)
        if blocked[frame]:
            continue
        block(frame)
        peaks.append((frame, float(margin[c])))
    return sorted(peaks)


def black_dips(luma: np.ndarray, fps: float, hard_cut_steps: np.ndarray) -> list[tuple[int, float, int, int]]:
    """``(frame, margin, first, last)`` of the fades through black: runs of at most
    ``DIP_MAX_BLACK_S`` of black frames (brightness <= ``DARK_LUMA``) with a picture (brightness >=
    ``DIP_PICTURE_LUMA``) within ``DIP_FADE_S`` on both sides, a fade on one side at least (black
    cut in abruptly on both sides is a glitch, or cuts) and no hard cut into or out of the
    black (a cut to black and a fade in from it are two transitions); marked on the middle black
    frame; ``first`` .. ``last``: the frames from the fade-out's start to the fade-in's end (where
    the brightness comes within 90 % of the pictures'). Measuring the change along a window would
    split such a fade into its fade-out and its fade-in."""
    n = len(luma)
    dark = np.concatenate([[False], luma <= DARK_LUMA, [False]])
    edges = np.flatnonzero(np.diff(dark.astype(np.int8)))
    reach, longest = max(1, int(round(DIP_FADE_S * fps))), max(1, int(round(DIP_MAX_BLACK_S * fps)))
    dips = []
    for a, b in zip(edges[0::2], edges[1::2]):  # black frames a .. b - 1
        if a == 0 or b == n or b - a > longest:
            continue
        if hard_cut_steps[max(0, a - 2):min(len(hard_cut_steps), b + 1)].any():
            continue
        before, after = luma[max(0, a - reach):a], luma[b:b + reach]
        if min(before.max(), after.max()) <= DIP_PICTURE_LUMA:
            continue
        first = a - len(before) + int(np.flatnonzero(before >= 0.9 * before.max())[-1])
        last = b + int(np.flatnonzero(after >= 0.9 * after.max())[0])
        if first == a - 1 and last == b:  # no fade on either side: black frames cut in (a glitch, or cuts)
            continue
        margin = min(before.max(), after.max()) / DIP_PICTURE_LUMA
        dips.append((int(min((a + b - 1) // 2, n - 2)), float(margin), first, last))
    return dips


# --- the curve ---------------------------------------------------------------------------------
def _margin_to_prob(margin: np.ndarray) -> np.ndarray:
    """Map a test margin (1 = on the threshold) to 0..1 with 0.5 at 1: ``m / (1 + m)``."""
    m = np.maximum(margin, 0.0)
    return (m / (1.0 + m)).astype(np.float32)


def quick_cut_probs(frames: np.ndarray, fps: float) -> np.ndarray:
    """frames: (n, 27, 48, 3) uint8 RGB at `fps`; returns float32 (n,) pseudo-probabilities in [0, 1] with the
    same convention as TransNetV2's per-frame output: high (> 0.5) on the LAST frame of the outgoing shot for a
    hard cut; for a gradual transition (dissolve, fade) on one frame near its middle; < 0.5 elsewhere.
    Fewer than 3 frames: zeros. An unknown ``fps`` (0, negative, NaN) is taken as 25."""
    frames = np.asarray(frames)
    n = len(frames)
    probs = np.zeros(n, dtype=np.float32)
    if n < 3:
        return probs
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames of shape (n, H, W, 3), not {frames.shape}")
    fps = float(fps) if fps and fps > 0 else 25.0
    features = FrameFeatures(frames.astype(np.uint8, copy=False))
    steps, layout_steps = features.distances(1), features.distances(1, layout_only=True)
    hard_margin, is_hard = hard_cut_scores(features, steps, layout_steps, fps)
    probs[:-1] = np.minimum(_margin_to_prob(hard_margin), NOT_A_CUT_MAX)
    probs[:-1][is_hard] = _margin_to_prob(hard_margin[is_hard])
    for frame, margin in gradual_peaks(features, fps, is_hard):
        if not (probs[max(0, frame - 1):frame + 2] > 0.5).any():
            probs[frame] = max(probs[frame], float(_margin_to_prob(np.array([margin]))[0]))
    return probs
