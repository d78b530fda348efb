"""How audible a splice is: harmony, timbre and loudness continuity across a jump in the music.

A splice plays the music up to ``out_s`` and continues from ``in_s``. What a listener hears at that
moment is the step from what was just playing (the window ``[out_s - W, out_s)``) to what comes next
(``[in_s, in_s + W)``). This module measures that step with three cheap features and adds them into
one dimensionless cost (0 = seamless; about 1 per "clearly different" feature):

* harmony: cosine distance between the mean chroma vectors (12 pitch classes, STFT chroma) of the two
  windows, in [0, 1];
* timbre: root-mean-square difference between the mean MFCC vectors (coefficients 1..12; c0, the
  level, is left to the loudness term) of the two windows, each coefficient in units of its own standard
  deviation over the whole track (so 1 = a change as large as the track's typical timbre spread);
* loudness: absolute difference of the two windows' mean RMS level in dB, divided by ``LOUDNESS_SCALE_DB``
  (6 dB, a clearly audible jump), capped at 3 (so one silent side does not dominate everything).

The same cost taken at a time ``t`` with ``out_s = in_s = t`` is the track's *own* continuation at
``t`` (:func:`natural_audibility`): music changes across its own bar lines too (a new chord, a drum
fill), so a splice is judged against that baseline, e.g. "no worse than the track's median bar line"
or "clearly audible: above the 90th percentile of its bar lines".

Features are computed once per track (one power STFT, hop ``HOP_S`` ~ 23 ms, FFT ~ 93 ms) and cached by
a fingerprint of the audio (its length, sample rate and a hash of a strided subsample and both ends; a
few entries), so scoring hundreds of candidate splices costs milliseconds
after the first call. ``audio`` is mono (1-D float) or multichannel (2-D, channels on the shorter axis,
averaged); ``sr`` in Hz; times in seconds (clipped to the track).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["splice_audibility", "natural_audibility", "SpliceTable", "TrackFeatures", "track_features", "cached_track_features",
           "FEATURES_SR", "WINDOW_S", "HOP_S", "LOUDNESS_SCALE_DB"]

WINDOW_S = 0.5  # seconds of music compared on each side of a splice
HOP_S = 512 / 22050  # feature frame hop (s), ~23.2 ms
LOUDNESS_SCALE_DB = 6.0  # loudness step (dB) counted as one unit of cost
_LOUDNESS_CAP = 3.0
_SILENCE_DB = -60.0  # frames below this RMS level (dBFS) carry no harmony
_CACHE_SIZE = 4


@dataclass(frozen=True)
class _Features:
    hop_s: float
    chroma: np.ndarray  # (frames, 12), each frame max-normalised
    mfcc: np.ndarray  # (frames, 12), coefficients 1..12, each divided by its standard deviation over the track
    rms_db: np.ndarray  # (frames,), dBFS
    duration_s: float

    @property
    def n(self) -> int:
        return int(self.rms_db.shape[0])


_cache: "OrderedDict[tuple, _Features]" = OrderedDict()
_lock = threading.Lock()


def _mono(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 2:
        a = a.mean(axis=0 if a.shape[0] <= a.shape[1] else 1)
    elif a.ndim != 1:
        raise ValueError("audio must be a 1-D (mono) or 2-D (multichannel) array")
    if not np.isfinite(a).all():  # (a decoded file always is: the check is 10x cheaper than the copy)
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    return np.ascontiguousarray(a)


def _fingerprint(audio: np.ndarray, sr: int) -> tuple:
    a = np.asarray(audio)
    flat = a.reshape(-1)
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(flat[::251]).tobytes())
    h.update(np.ascontiguousarray(flat[:8192]).tobytes())
    h.update(np.ascontiguousarray(flat[-8192:]).tobytes())
    return (int(sr), a.shape, str(a.dtype), h.hexdigest())


@dataclass(frozen=True)
class TrackFeatures(_Features):
    """A track's splice features and its section-energy frames, stored by content hash
    (:func:`cached_track_features`): pass it wherever the track's audio is passed (``TrackForm.build(audio=
    features, sr=FEATURES_SR)``, :func:`splice_audibility`, :func:`natural_audibility`) and the same numbers
    come out as from the decoded audio, without decoding it again. ``energy_rms`` / ``energy_onset``: RMS
    and onset strength at ``HOP_S`` (``supervisor_app.edit.form.TrackForm``'s section energy)."""

    energy_rms: np.ndarray | None = None
    energy_onset: np.ndarray | None = None
    content_hash: str = ""

    def to_arrays(self) -> dict:
        return {"hop_s": np.array([self.hop_s]), "chroma": self.chroma, "mfcc": self.mfcc, "rms_db": self.rms_db,
                "duration_s": np.array([self.duration_s]), "energy_rms": self.energy_rms,
                "energy_onset": self.energy_onset}


FEATURES_SR = 22050  # the rate track features are computed at (recommend's audio re-plan)
TRACK_FEATURES = "splice-features"
TRACK_FEATURES_VERSION = "1"


def track_features(audio: np.ndarray, sr: int, content_hash: str = "") -> TrackFeatures:
    """:class:`TrackFeatures` of decoded audio (the same numbers the audio itself gives)."""
    import librosa

    y = _mono(audio)
    if not isinstance(audio, _Features) and _valid_sr(sr):
        f, S = _spectral_features(y, int(sr))  # one STFT for all of it
    else:
        f, S = _features(audio, sr), None
    hop = max(1, int(round(512 * int(sr) / 22050)))  # as TrackForm._energy
    rms = librosa.feature.rms(y=y, hop_length=hop)[0]
    n_fft = _n_fft(hop)
    if S is not None and n_fft == 2048 and y.shape[0] >= n_fft:
        # librosa's onset strength of ``y`` is the flux of its 128-band log-power mel spectrogram at
        # n_fft 2048: the same numbers from the power spectrum already computed (tested equal)
        mel = librosa.feature.melspectrogram(S=S, sr=int(sr), n_fft=n_fft, hop_length=hop, fmax=0.5 * int(sr))
        onset = librosa.onset.onset_strength(S=librosa.power_to_db(np.abs(mel)), sr=int(sr), hop_length=hop)
    else:
        onset = librosa.onset.onset_strength(y=y, sr=int(sr), hop_length=hop)
    return TrackFeatures(f.hop_s, f.chroma, f.mfcc, f.rms_db, f.duration_s, rms, onset, content_hash)


def cached_track_features(path, content_hash: str | None, cache=True) -> TrackFeatures:
    """:func:`track_features` of the file at ``path`` (decoded at :data:`FEATURES_SR`, mono), computed once
    per content hash and then read back from the app's analysis cache (a track property, like its
    envelope: any picture's re-plan reuses it). Raises the media layer's typed errors when the file cannot
    be decoded."""
    from supervisor_app.media import load_audio

    store = None
    if cache is True:
        from supervisor_app.infra.cache import AnalysisCache

        store = AnalysisCache()
    elif cache:
        store = cache
    if store is not None and not content_hash:
        from supervisor_app.infra.hashing import content_hash as hash_of

        content_hash = hash_of(path)
    if store is not None:
        hit = store.get_arrays(str(content_hash), TRACK_FEATURES, TRACK_FEATURES_VERSION)
        if hit is not None and {"hop_s", "chroma", "mfcc", "rms_db", "duration_s", "energy_rms",
                                "energy_onset"} <= set(hit):
            return TrackFeatures(float(np.asarray(hit["hop_s"]).ravel()[0]), np.asarray(hit["chroma"]),
                                 np.asarray(hit["mfcc"]), np.asarray(hit["rms_db"]),
                                 float(np.asarray(hit["duration_s"]).ravel()[0]), np.asarray(hit["energy_rms"]),
                                 np.asarray(hit["energy_onset"]), str(content_hash))
    feats = track_features(load_audio(path, sr=FEATURES_SR, mono=True), FEATURES_SR, str(content_hash or ""))
    if store is not None:
        try:
            store.put_arrays(str(content_hash), TRACK_FEATURES, TRACK_FEATURES_VERSION, feats.to_arrays())
        except OSError:
            pass  # the cache is a bonus
    return feats


def _valid_sr(sr) -> bool:
    return (isinstance(sr, (int, np.integer)) or float(sr).is_integer()) and int(sr) > 0


def _n_fft(hop: int) -> int:
    return 1 << int(np.ceil(np.log2(4 * hop)))


def _tuning(S: np.ndarray, sr: int, n_fft: int, fmin: float = 150.0, fmax: float = 4000.0,
            threshold: float = 0.1) -> float:
    """``librosa.estimate_tuning(S=S, sr=sr, n_fft=n_fft, bins_per_octave=12)`` (what ``chroma_stft`` runs
    when no tuning is given), computed on the 150 Hz - 4 kHz rows it looks at plus one neighbour row each
    side instead of the whole spectrogram: the same peaks, the same median, the same tuning (tested equal),
    3-8x less CPU (it was most of a track's feature time)."""
    import librosa
    from librosa.core.pitch import _parabolic_interpolation, pitch_tuning

    S = np.abs(S)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    rows = np.flatnonzero((max(fmin, 0.0) <= freqs) & (freqs < min(fmax, sr / 2.0)))
    if rows.size == 0 or rows[0] < 1 or rows[-1] + 1 >= S.shape[0]:
        return float(librosa.estimate_tuning(S=S, sr=sr, n_fft=n_fft, bins_per_octave=12))
    k0, k1 = int(rows[0]), int(rows[-1])
    sub = S[k0 - 1:k1 + 2]
    ref_value = threshold * np.max(S, axis=0)[None, :]  # librosa's reference: each frame's peak over all rows
    shift = _parabolic_interpolation(sub, axis=-2)
    dskew = 0.5 * np.gradient(sub, axis=0) * shift
    peak = librosa.util.localmax(sub * (sub > ref_value), axis=0)
    peak[0] = peak[-1] = False  # the neighbour rows are context only
    i, j = np.nonzero(peak)
    pitch = (i + (k0 - 1) + shift[i, j]) * float(sr) / n_fft
    mag = sub[i, j] + dskew[i, j]
    voiced = pitch > 0
    thr = np.median(mag[voiced]) if voiced.any() else 0.0
    chosen = pitch[(mag >= thr) & voiced]
    if not np.any(chosen[chosen > 0]):  # silence or no peaks: librosa's 0.0, without its warning
        return 0.0
    return float(pitch_tuning(chosen, resolution=0.01, bins_per_octave=12))


def _spectral_features(y: np.ndarray, sr: int) -> tuple[_Features, np.ndarray]:
    """The splice features of mono ``y`` and the power spectrogram they come from."""
    import librosa  # local: keep module import cheap

    hop = max(1, int(round(HOP_S * sr)))
    n_fft = _n_fft(hop)
    if y.shape[0] < n_fft:
        y = np.pad(y, (0, n_fft - y.shape[0]))
    S = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, center=True)) ** 2  # power
    chroma = librosa.feature.chroma_stft(S=S, sr=sr, n_fft=n_fft, hop_length=hop, norm=np.inf,
                                         tuning=_tuning(S, sr, n_fft)).T
    mel = librosa.feature.melspectrogram(S=S, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=64)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel, ref=1.0, top_db=None), n_mfcc=13).T[:, 1:]
    mfcc = mfcc / np.maximum(mfcc.std(axis=0), 1e-6)
    # RMS from the power spectrum (Parseval with a Hann window): frame energy / window energy
    win = np.hanning(n_fft + 1)[:-1]
    ms = (S[0] + 2 * S[1:-1].sum(axis=0) + S[-1]) / (n_fft * np.sum(win ** 2))
    rms_db = 10.0 * np.log10(np.maximum(ms, 1e-12))
    silent = rms_db < _SILENCE_DB
    chroma = np.where(silent[:, None], 0.0, chroma)
    feats = _Features(hop / sr, chroma.astype(np.float64), mfcc.astype(np.float64), rms_db.astype(np.float64),
                      y.shape[0] / sr)
    return feats, S


def _features(audio: np.ndarray, sr: int) -> _Features:
    if isinstance(audio, _Features):  # precomputed (TrackFeatures): the same numbers without the audio
        return audio
    if not _valid_sr(sr):
        raise ValueError("sr must be a positive number of samples per second")
    sr = int(sr)
    key = _fingerprint(audio, sr)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    feats, _ = _spectral_features(_mono(audio), sr)
    with _lock:
        _cache[key] = feats
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return feats


def _window(f: _Features, start_s: float, end_s: float) -> slice:
    """Frames whose centres fall in ``[start_s, end_s)`` (at least one frame, clipped to the track)."""
    a = int(np.floor(max(0.0, start_s) / f.hop_s + 0.5))
    b = int(np.floor(max(0.0, end_s) / f.hop_s + 0.5))
    a = min(max(a, 0), f.n - 1)
    b = min(max(b, a + 1), f.n)
    return slice(a, b)


def _side(f: _Features, sl: slice) -> tuple[np.ndarray, np.ndarray, float]:
    c = f.chroma[sl].mean(axis=0)
    m = f.mfcc[sl].mean(axis=0)
    # mean level as the dB of the mean power (a silent gap inside the window does not drag it to -120)
    level = 10.0 * np.log10(max(float(np.mean(10.0 ** (f.rms_db[sl] / 10.0))), 1e-12))
    return c, m, level


def _cost(f: _Features, out_s: float, in_s: float) -> float:
    ca, ma, la = _side(f, _window(f, out_s - WINDOW_S, out_s))
    cb, mb, lb = _side(f, _window(f, in_s, in_s + WINDOW_S))
    return _step((ca, ma, la, float(np.linalg.norm(ca))), (cb, mb, lb, float(np.linalg.norm(cb))))


def _step(out_side: tuple, in_side: tuple) -> float:
    """The cost between the window before a splice and the one after it: ``(chroma, mfcc, level, |chroma|)``
    of each (:func:`_side` plus the chroma norm)."""
    ca, ma, la, na = out_side
    cb, mb, lb, nb = in_side
    if na < 1e-9 and nb < 1e-9:
        harmony = 0.0  # silence to silence
    elif na < 1e-9 or nb < 1e-9:
        harmony = 1.0  # harmony appears from (or vanishes into) silence
    else:
        v = 1.0 - float(np.dot(ca, cb)) / (na * nb)
        harmony = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)  # clipped to [0, 1]
    d = ma - mb
    timbre = float(np.sqrt(np.add.reduce(d * d) / d.size))  # the RMS difference (np.mean's sum and division)
    loudness = min(abs(la - lb) / LOUDNESS_SCALE_DB, _LOUDNESS_CAP)
    return harmony + timbre + loudness


def splice_audibility(audio: np.ndarray, sr: int, out_s: float, in_s: float) -> float:
    """Cost of jumping from music time ``out_s`` to ``in_s`` (seconds) in ``audio`` (sample rate ``sr``).

    Dimensionless, >= 0; 0 = seamless. The sum of the harmony (chroma cosine distance), timbre (MFCC
    RMS difference in track standard deviations) and loudness (dB step / ``LOUDNESS_SCALE_DB``, capped)
    changes between the
    ``WINDOW_S`` before ``out_s`` and the ``WINDOW_S`` after ``in_s``. ``splice_audibility(a, sr, t, t)``
    equals ``natural_audibility(a, sr, [t])[0]``.
    """
    f = _features(audio, sr)
    return _cost(f, float(out_s), float(in_s))


def natural_audibility(audio: np.ndarray, sr: int, times_s: Sequence[float]) -> np.ndarray:
    """The same cost for the track's own continuation at each of ``times_s`` (seconds): the baseline.

    Returns a float array of the same length (e.g. pass the track's downbeats to get the cost of its own
    ordinary bar lines; a splice whose cost is at or below their median is as smooth as the music
    itself).
    """
    f = _features(audio, sr)
    t = np.asarray(list(times_s) if not isinstance(times_s, np.ndarray) else times_s, dtype=float).ravel()
    return np.array([_cost(f, float(x), float(x)) for x in t], dtype=float)


class SpliceTable:
    """Splice costs between fixed music times (a track's bar lines ``times_s``), by index: the features of
    the window before each time (an out point) and after it (an in point) are computed once, when first
    asked for, so the cost of many splices among the same times costs a few vector operations each.
    ``cost(i, j)`` equals ``splice_audibility(audio, sr, times_s[i], times_s[j])`` exactly (the same
    operations on the same numbers)."""

    def __init__(self, audio: np.ndarray, sr: int, times_s: Sequence[float]):
        self._f = _features(audio, sr)
        self._t = [float(x) for x in np.asarray(times_s, dtype=float).ravel()]
        self._out: dict[int, tuple] = {}
        self._in: dict[int, tuple] = {}

    def _side_at(self, i: int, out: bool) -> tuple:
        memo = self._out if out else self._in
        s = memo.get(i)
        if s is None:
            t = self._t[i]
            c, m, lev = _side(self._f, _window(self._f, t - WINDOW_S, t) if out else _window(self._f, t, t + WINDOW_S))
            s = memo[i] = (c, m, lev, float(np.linalg.norm(c)))
        return s

    def cost(self, i_out: int, i_in: int) -> float:
        """Cost of jumping from ``times_s[i_out]`` to ``times_s[i_in]``."""
        return _step(self._side_at(int(i_out), True), self._side_at(int(i_in), False))
