"""Functional music segments (intro / verse / chorus boundaries) with MSAF 0.1.80 (Nieto & Bello 2016).

Algorithms: ``foote`` (checkerboard novelty, Foote 2000), ``sf`` (structural features, Serrà et al.
2014) and ``olda`` (ordinal LDA, McFee & Ellis 2014; the thesis's l_seg). They run on MSAF's
beat-synchronous features (PCP, plus MFCC for OLDA) at 22.05 kHz, hop 1024 samples.

MSAF reads audio only from a file and caches features in a JSON file; ``msaf.process`` would also
write ``./.features_msaf_tmp.json`` into the working directory and ``<audio dir>/../estimations/`` next
to the user's music. This module therefore never calls ``msaf.process`` (so MSAF's ``features_tmp_file`` and
``estimations_dir`` settings are never used): it decodes a path once through :mod:`supervisor_app.media`
at 22.05 kHz mono (samples given as an array are written at their own rate; MSAF resamples them) to a
WAV inside a private temporary directory, points MSAF's ``FileStruct`` (audio, features, estimations
and references paths) into that directory, runs the algorithms there with one shared features object
and features file (features computed once per call), and deletes the directory. Nothing is written
next to the input or into the working directory. Given ``beats_s`` (e.g. madmom's), MSAF's
``Features.estimate_beats`` is replaced by those beats for the duration of the call (under a
module lock; MSAF is used by this module only), which also skips its librosa beat tracker, and the
harmonic/percussive separation computes the harmonic half only
(:func:`supervisor_app.analysis.fast_median.harmonic_part`, bit-identical; the percussive half
fed that beat tracker only).

MSAF's raw boundaries are cleaned (:func:`clean_boundaries`): the spurious boundary MSAF adds on the
first detected beat and the duplicated end time go; boundaries are sorted, unique, at least
``min_gap_s`` apart, the first is 0 and the last is the duration.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from supervisor_app.infra.errors import AnalysisError
from supervisor_app.infra.jobs import check_cancelled

MSAF_SAMPLE_RATE_HZ = 22050  # msaf.config.sample_rate
MSAF_HOP = 1024  # msaf.config.hop_size (samples)
MIN_DURATION_S = 10.0  # a functional segment is ~20 s; below 10 s there is nothing to segment
MAX_DURATION_S = 20 * 60.0  # MSAF works on beat-synchronous features: cheap, but a mix has no song form
DEFAULT_ALGORITHMS = ("foote", "sf", "olda")
BOUNDARY_ALGORITHMS = ("foote", "sf", "olda", "cnmf", "scluster")
MIN_GAP_S = 1.0

__all__ = ["SegmentResult", "music_segments", "segment_each", "clean_boundaries", "DEFAULT_ALGORITHMS"]

_LOCK = threading.Lock()  # MSAF keeps module-level state; one segmentation at a time per process


@dataclass
class SegmentResult:
    """Segment boundaries in seconds (first 0, last = duration) and one label per segment, or None."""

    boundaries_s: np.ndarray
    labels: list[int] | None = None

    @property
    def segments_s(self) -> list[tuple[float, float]]:
        """(start_s, end_s) of each segment."""
        b = self.boundaries_s
        return [(float(b[i]), float(b[i + 1])) for i in range(len(b) - 1)]

    def to_dict(self) -> dict:
        return {"boundaries_s": [float(t) for t in self.boundaries_s],
                "labels": None if self.labels is None else [int(v) for v in self.labels]}

    @classmethod
    def from_dict(cls, d: dict) -> "SegmentResult":
        labels = d.get("labels")
        return cls(np.asarray(d["boundaries_s"], dtype=np.float64),
                   None if labels is None else [int(v) for v in labels])


def clean_boundaries(times_s: Iterable[float], duration_s: float, min_gap_s: float = MIN_GAP_S,
                     labels: Sequence | None = None,
                     first_beat_s: float | None = None) -> tuple[np.ndarray, list[int] | None]:
    """Clean raw boundary times: inside (0, duration), sorted, ≥ ``min_gap_s`` apart, then 0 and duration
    added. ``first_beat_s``: the first frame time of MSAF's beat-synchronous features; MSAF always
    reports it as a boundary (its first segment starts there), so a boundary at that time is dropped.
    ``labels`` (one per raw segment between consecutive sorted raw times) are carried over: each
    cleaned segment takes the label of the raw segment that holds its midpoint.
    Returns (boundaries_s, labels or None).
    """
    raw = np.asarray(list(times_s), dtype=np.float64)
    raw = raw[np.isfinite(raw)]
    inner = raw[(raw >= min_gap_s) & (raw <= duration_s - min_gap_s)]
    if first_beat_s is not None:
        inner = inner[np.abs(inner - first_beat_s) > 1e-6]
    inner = np.unique(inner)
    kept: list[float] = []
    for t in inner:
        if not kept or t - kept[-1] >= min_gap_s:
            kept.append(float(t))
    bounds = np.asarray([0.0] + kept + [float(duration_s)], dtype=np.float64)
    if labels is None:
        return bounds, None
    raw_sorted = np.sort(raw)
    lab = list(labels)
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        mid = 0.5 * (a + b)
        i = int(np.searchsorted(raw_sorted, mid, side="right")) - 1
        i = min(max(i, 0), len(lab) - 1)
        out.append(int(lab[i]))
    return bounds, out


@contextlib.contextmanager
def _patched(cls, **methods):
    """``cls``'s methods replaced by ``methods`` for the duration of the block (MSAF has no hooks)."""
    original = {name: getattr(cls, name) for name in methods}
    for name, fn in methods.items():
        setattr(cls, name, fn)
    try:
        yield
    finally:
        for name, fn in original.items():
            setattr(cls, name, fn)


@contextlib.contextmanager
def _beats_from(beats_s):
    """Make MSAF's beat-synchronous features use ``beats_s`` instead of its own librosa beat tracker."""
    if beats_s is None:
        yield
        return
    import librosa
    from msaf.base import Features

    times = np.asarray(beats_s, dtype=np.float64)
    times = times[times > 0]  # MSAF drops a beat at 0 too

    def estimate_beats(self):
        frames = librosa.time_to_frames(times, sr=self.sr, hop_length=self.hop_length)
        return times.copy(), frames

    def compute_hpss(self):  # only PCP's harmonic signal is used once the beats are given
        from supervisor_app.analysis.fast_median import harmonic_part

        return harmonic_part(self._audio), None

    with _patched(Features, estimate_beats=estimate_beats, compute_HPSS=compute_hpss):
        yield


@contextlib.contextmanager
def _features_in_memory():
    """MSAF's features file kept in memory for the duration of one call.

    MSAF shares computed features between its ``Features`` objects through a JSON file: the first
    object writes its arrays (``tolist``), OLDA's own PCP and MFCC objects read them back (``json.load``,
    ``np.array``) and add theirs. Encoding and decoding those lists cost as much as a fifth of the
    segmentation. Here the same contents live in a dict and a read returns ``np.array(x.tolist())``
    of what was written: exactly the arrays (values and dtypes) the JSON round trip gives."""
    from msaf.base import Features
    from msaf.exceptions import FeatureParamsError, NoFeaturesFileError

    store: dict = {}

    def params(self) -> dict:
        out = {}
        for name in self.get_param_names():
            value = getattr(self, name)
            out[name] = value.__name__ if hasattr(value, "__call__") else str(value)
        return out

    def read_features(self, tol=1e-3):
        if "globals" not in store:
            raise NoFeaturesFileError("no features yet")
        g = store["globals"]
        if self.dur is None:
            self.dur = g["dur"]
        if not (np.isclose(self.dur, g["dur"], rtol=tol) and self.sr == g["sr"]
                and self.hop_length == g["hop_length"]):
            from msaf.exceptions import FeaturesNotFound

            raise FeaturesNotFound("other global parameters")
        mine = store.get(self.get_id())
        if mine is None or mine["params"] != params(self):
            raise FeatureParamsError("no features for these parameters")
        import librosa

        self._est_beats_times = np.array(g["est_beats"])
        self._est_beatsync_times = np.array(g["est_beatsync_times"])
        self._est_beats_frames = librosa.core.time_to_frames(self._est_beats_times, sr=self.sr,
                                                             hop_length=self.hop_length)
        self._framesync_features = np.array(mine["framesync"])
        self._est_beatsync_features = np.array(mine["est_beatsync"])
        if "ann_beats" in g:
            self._ann_beats_times = np.array(g["ann_beats"])
            self._ann_beatsync_times = np.array(g["ann_beatsync_times"])
            self._ann_beats_frames = librosa.core.time_to_frames(self._ann_beats_times, sr=self.sr,
                                                                 hop_length=self.hop_length)
            self._ann_beatsync_features = np.array(mine["ann_beatsync"])

    def write_features(self):
        if "globals" not in store:
            g = {"dur": float(self.dur), "sr": self.sr, "hop_length": self.hop_length,
                 "est_beats": self._est_beats_times.tolist(),
                 "est_beatsync_times": self._est_beatsync_times.tolist()}
            if self._ann_beats_times is not None:
                g["ann_beats"] = self._ann_beats_times.tolist()
                g["ann_beatsync_times"] = self._ann_beatsync_times.tolist()
            store["globals"] = g
        mine = {"params": params(self), "framesync": self._framesync_features.tolist(),
                "est_beatsync": self._est_beatsync_features.tolist()}
        if self._ann_beatsync_features is not None:
            mine["ann_beatsync"] = self._ann_beatsync_features.tolist()
        store[self.get_id()] = mine

    with _patched(Features, read_features=read_features, write_features=write_features):
        yield


def _write_wav(audio: np.ndarray, sr: int, path: Path) -> None:
    import soundfile as sf

    sf.write(str(path), np.asarray(audio, dtype=np.float32), int(sr), subtype="FLOAT")


def _load_input(path_or_audio, sr: int | None, max_duration_s: float) -> tuple[np.ndarray, int]:
    if isinstance(path_or_audio, (str, os.PathLike)):
        from supervisor_app.media import load_audio, probe

        duration_s = probe(path_or_audio).duration_s
        if duration_s and duration_s > max_duration_s + 1.0:
            from supervisor_app.analysis.beats import too_long_error

            raise too_long_error(duration_s, max_duration_s, "music segmentation")
        return load_audio(path_or_audio, sr=MSAF_SAMPLE_RATE_HZ, mono=True), MSAF_SAMPLE_RATE_HZ
    if sr is None:
        raise ValueError("sr is required when audio samples are given")
    x = np.asarray(path_or_audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    return x, int(sr)


def music_segments(path_or_audio, sr: int | None = None,
                   algorithms: Sequence[str] = DEFAULT_ALGORITHMS, beats_s=None, *,
                   labels_algorithm: str | None = None, feature: str = "pcp",
                   min_gap_s: float = MIN_GAP_S,
                   max_duration_s: float = MAX_DURATION_S) -> dict[str, SegmentResult]:
    """Segment boundaries of a music file (path) or of samples (``path_or_audio`` array at ``sr`` Hz).

    ``algorithms``: MSAF boundary algorithms (``foote``, ``sf``, ``olda``; also ``cnmf``, ``scluster``).
    ``beats_s``: beat times (s) for MSAF's beat-synchronous features, e.g. madmom's (faster, and on
    mindless_cut.mp3 OLDA's ±3 s hit rate goes from 0.50 to 0.75); None = MSAF's own librosa beat
    tracker (as in the thesis). ``labels_algorithm``: an MSAF labelling algorithm
    (``scluster``, ``cnmf``, ``fmc2d``) or None for no labels. Raises AnalysisError for silent, too
    short (< 10 s) or too long input, for an unknown algorithm, and when an algorithm fails.
    Returns {algorithm: SegmentResult}.
    """
    results, failures = segment_each(path_or_audio, sr, algorithms, beats_s,
                                     labels_algorithm=labels_algorithm, feature=feature,
                                     min_gap_s=min_gap_s, max_duration_s=max_duration_s)
    for algo in algorithms:
        if algo in failures:
            raise failures[algo]
    return results


def segment_each(path_or_audio, sr: int | None = None,
                 algorithms: Sequence[str] = DEFAULT_ALGORITHMS, beats_s=None, *,
                 labels_algorithm: str | None = None, feature: str = "pcp",
                 min_gap_s: float = MIN_GAP_S, max_duration_s: float = MAX_DURATION_S,
                 should_cancel: Callable[[], bool] | None = None,
                 ) -> tuple[dict[str, SegmentResult], dict[str, AnalysisError]]:
    """Like :func:`music_segments`, but one algorithm's failure does not stop the others.

    Input problems (silence, too short/long, unknown algorithm) still raise AnalysisError; an algorithm
    that fails on this audio is returned in the second dict as an AnalysisError with its sentence.
    ``should_cancel`` is polled between algorithms (raises :class:`~supervisor_app.infra.jobs.Cancelled`).
    """
    from threadpoolctl import threadpool_limits

    from supervisor_app.analysis.beats import check_audio
    from supervisor_app.analysis.msaf_compat import import_msaf

    unknown = [a for a in algorithms if a not in BOUNDARY_ALGORITHMS]
    if unknown:
        raise AnalysisError(f"Unknown segmentation algorithm {unknown[0]!r}; choose from "
                            f"{', '.join(BOUNDARY_ALGORITHMS)}.")
    audio, sr = _load_input(path_or_audio, sr, max_duration_s)
    duration_s = check_audio(audio, sr, "music segmentation", min_duration_s=MIN_DURATION_S,
                             max_duration_s=max_duration_s)

    import_msaf()
    import msaf
    from msaf import input_output as msaf_io
    from msaf import run as msaf_run
    from msaf.base import Features

    results: dict[str, SegmentResult] = {}
    failures: dict[str, AnalysisError] = {}
    with _LOCK, tempfile.TemporaryDirectory(prefix="supervisor-msaf-") as tmp:
        audio_dir = Path(tmp) / "audio"
        audio_dir.mkdir()
        wav = audio_dir / "track.wav"
        if sr != MSAF_SAMPLE_RATE_HZ:  # resampled once here, as MSAF's librosa.load would (soxr_hq), not
            import librosa  # once per features object it loads the file for (PCP, then MFCC for OLDA)

            _write_wav(librosa.resample(np.asarray(audio, dtype=np.float32), orig_sr=sr,
                                        target_sr=MSAF_SAMPLE_RATE_HZ, res_type="soxr_hq"), MSAF_SAMPLE_RATE_HZ, wav)
        else:
            _write_wav(audio, sr, wav)
        file_struct = msaf_io.FileStruct(str(wav))  # ds_path = tmp: estimations/references/features inside
        file_struct.features_file = str(Path(tmp) / "features.json")
        file_struct.est_file = str(Path(tmp) / "estimations.jams")
        file_struct.ref_file = str(Path(tmp) / "no-references.jams")
        # BLAS threads: MSAF's matrices are small (hundreds of beats), where OpenBLAS threads only add
        # spin-waiting; on a busy 2-core machine OLDA's eig took 6.5 s with 2 threads vs 0.08 s with 1.
        with _beats_from(beats_s), _features_in_memory(), np.errstate(divide="ignore", invalid="ignore"), \
                threadpool_limits(1, user_api="blas"):
            features = Features.select_features(feature, file_struct, False, False)
            n_frames = features.features.shape[0]
            first_beat_s = float(features.frame_times[0]) if len(features.frame_times) else None
            if n_frames <= msaf.config.minimum_frames:
                raise AnalysisError(f"Only {n_frames} beats were found in the audio; music segmentation "
                                    f"needs more than {msaf.config.minimum_frames}.")
            for algo in algorithms:
                check_cancelled(should_cancel, "Music segmentation")
                config = msaf_io.get_configuration(feature, False, False, algo, labels_algorithm)
                config["features"] = features
                config["hier"] = False
                try:
                    times, labels = msaf_run.run_algorithms(file_struct, algo, labels_algorithm, config)
                except Exception as e:  # MSAF's own failures (degenerate features, numerical errors)
                    failures[algo] = AnalysisError(
                        f"MSAF's {algo!r} segmentation failed on this audio ({type(e).__name__}: {e}).")
                    continue
                use_labels = labels if labels_algorithm is not None else None
                bounds, labs = clean_boundaries(times, duration_s, min_gap_s, use_labels,
                                                first_beat_s=first_beat_s)
                results[algo] = SegmentResult(bounds, labs)
    return results, failures
