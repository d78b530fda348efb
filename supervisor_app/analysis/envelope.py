"""A track's loudness, onset and timbre envelopes at ~21.5 frames/s: what free-time editing cuts on.

Music without a steady pulse has no bar lines to splice on; it has phrase ends (MSAF boundaries),
quiet moments between swells, and note attacks. :func:`music_envelope` measures them from decoded
audio (mono 22.05 kHz, 2048-sample windows, hop 1024: ``RATE_HZ`` = 21.53 frames/s):

* ``rms_db``: loudness per frame (dBFS);
* ``onset``: spectral-flux onset strength (librosa, on the log-mel spectrogram), scaled to [0, 1] by the
  track's 99th percentile;
* ``mel_db``: 40-band log-mel spectrum per frame, and ``chroma``: 12 pitch classes per frame
  (max-normalised), for the spectral and harmonic continuity of a splice.

:func:`cached_envelope` computes it once per file content (the analysis cache, keyed by content hash
and ``ENVELOPE_VERSION``), so a catalog indexed before free-time editing existed needs no re-index:
the first recommendation that needs a track's envelope decodes that track once.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from supervisor_app.analysis import versions

__all__ = ["MusicEnvelope", "music_envelope", "cached_envelope", "ENVELOPE", "ENVELOPE_VERSION", "RATE_HZ"]

SR = 22050
HOP = 1024
N_FFT = 2048
N_MELS = 40
RATE_HZ = SR / HOP
ENVELOPE = "envelope-librosa"
MAX_DURATION_S = 20 * 60.0  # as MSAF's limit: longer files are mixes or albums (the STFT alone would take ~0.6 GB)
ENVELOPE_REVISION = 1


def envelope_version() -> str:
    return f"r{ENVELOPE_REVISION}_librosa-{versions.package_version('librosa')}_sr{SR}_hop{HOP}_mel{N_MELS}"


ENVELOPE_VERSION = envelope_version()


@dataclass
class MusicEnvelope:
    """Frame-wise envelopes of a track (frame ``k`` is centred at ``k / rate_hz`` seconds)."""

    rms_db: np.ndarray  # (T,)
    onset: np.ndarray  # (T,) in [0, 1]
    mel_db: np.ndarray  # (T, N_MELS)
    chroma: np.ndarray  # (T, 12), each frame max-normalised
    duration_s: float
    rate_hz: float = RATE_HZ

    @property
    def times_s(self) -> np.ndarray:
        return np.arange(len(self.rms_db)) / self.rate_hz

    def frame(self, t_s: float) -> int:
        return int(np.clip(round(float(t_s) * self.rate_hz), 0, len(self.rms_db) - 1))

    def smoothed_db(self, width_s: float = 0.75) -> np.ndarray:
        w = max(1, int(round(width_s * self.rate_hz)))
        p = 10 ** (self.rms_db / 10)
        k = np.ones(w) / w
        return 10 * np.log10(np.convolve(p, k, mode="same") + 1e-12)

    def low_energy_s(self, min_gap_s: float = 2.0, below_db: float = 3.0) -> np.ndarray:
        """Quiet moments: local minima of the smoothed loudness at least ``below_db`` under the track's
        median, at least ``min_gap_s`` apart (the quietest wins), seconds."""
        s = self.smoothed_db()
        if s.size < 3:
            return np.zeros(0)
        med = float(np.median(s))
        idx = np.flatnonzero((s[1:-1] <= s[:-2]) & (s[1:-1] <= s[2:]) & (s[1:-1] <= med - below_db)) + 1
        return _thin(idx, s[idx], min_gap_s * self.rate_hz, prefer_low=True) / self.rate_hz

    def strong_onsets_s(self, percentile: float = 90.0, min_gap_s: float = 1.0) -> np.ndarray:
        """Note attacks: onset-strength peaks above the track's ``percentile``, ``min_gap_s`` apart."""
        key = (float(percentile), float(min_gap_s), id(self.onset), self.onset.size)
        memo = self.__dict__.get("_strong_onsets_memo")  # a free-time walk per candidate start asks the same
        if memo is not None and memo[0] == key:
            return memo[1].copy()
        o = self.onset
        if o.size < 3:
            return np.zeros(0)
        thr = max(float(np.percentile(o, percentile)), 0.1)
        idx = np.flatnonzero((o[1:-1] >= o[:-2]) & (o[1:-1] > o[2:]) & (o[1:-1] >= thr)) + 1
        out = _thin(idx, o[idx], min_gap_s * self.rate_hz, prefer_low=False) / self.rate_hz
        self.__dict__["_strong_onsets_memo"] = (key, out.copy())
        return out

    def points(self) -> dict:
        """What the quick fit and the catalog keep of the envelope: ``strong_onsets_s`` and ``low_energy_s``
        (seconds; :mod:`supervisor_app.indexing.free_time_points`)."""
        return {"strong_onsets_s": [float(x) for x in self.strong_onsets_s()],
                "low_energy_s": [float(x) for x in self.low_energy_s()]}

    def to_arrays(self) -> dict:
        return {"rms_db": self.rms_db.astype(np.float32), "onset": self.onset.astype(np.float32),
                "mel_db": self.mel_db.astype(np.float32), "chroma": self.chroma.astype(np.float32),
                "duration_s": np.array([self.duration_s])}

    @classmethod
    def from_arrays(cls, a: dict) -> "MusicEnvelope":
        return cls(np.asarray(a["rms_db"], float), np.asarray(a["onset"], float), np.asarray(a["mel_db"], float),
                   np.asarray(a["chroma"], float), float(np.asarray(a["duration_s"]).ravel()[0]))


def _thin(idx: np.ndarray, val: np.ndarray, gap_frames: float, prefer_low: bool) -> np.ndarray:
    """Keep the best of the indices closer than ``gap_frames`` (greedy, best first); sorted."""
    import bisect

    order = np.argsort(val if prefer_low else -val, kind="stable")
    kept: list[int] = []  # sorted: only the neighbours on either side can be too close (same result as all())
    for k in order:
        i = int(idx[k])
        p = bisect.bisect_left(kept, i)
        if (p == 0 or abs(i - kept[p - 1]) >= gap_frames) and (p == len(kept) or abs(i - kept[p]) >= gap_frames):
            kept.insert(p, i)
    return np.array(kept, dtype=float)


def music_envelope(x: np.ndarray, sr: int) -> MusicEnvelope:
    """:class:`MusicEnvelope` of mono samples ``x`` at ``sr`` Hz (resampled to 22.05 kHz)."""
    import librosa

    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if sr != SR:
        from scipy.signal import resample_poly
        import math

        g = math.gcd(int(sr), SR)
        x = resample_poly(x, SR // g, int(sr) // g).astype(np.float32)
    duration_s = x.size / SR
    if x.size < N_FFT:
        x = np.pad(x, (0, N_FFT - x.size))
    P = np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP)) ** 2
    S = librosa.feature.melspectrogram(S=P, sr=SR, n_mels=N_MELS)
    with warnings.catch_warnings():  # silence (no pitch to tune on): librosa's tuning 0.0, not its warning on
        warnings.filterwarnings("ignore", message="Trying to estimate tuning", category=UserWarning)  # stderr
        chroma = librosa.feature.chroma_stft(S=P, sr=SR).T
    mel_db = librosa.power_to_db(S, ref=1.0, amin=1e-10).T
    rms = librosa.feature.rms(y=x, frame_length=N_FFT, hop_length=HOP)[0]
    rms_db = 20 * np.log10(np.maximum(rms, 1e-5))
    onset = librosa.onset.onset_strength(S=librosa.power_to_db(S, ref=np.max), sr=SR, hop_length=HOP)
    T = min(len(rms_db), len(onset), len(mel_db), len(chroma))
    onset = onset[:T]
    scale = float(np.percentile(onset, 99)) if T else 0.0
    onset = np.clip(onset / scale, 0, 1) if scale > 1e-9 else np.zeros_like(onset)
    return MusicEnvelope(rms_db[:T].astype(float), onset.astype(float), mel_db[:T].astype(float),
                         chroma[:T].astype(float), float(duration_s))


def cached_envelope(path: str | Path, content_hash: str | None = None, cache=True) -> MusicEnvelope:
    """:func:`music_envelope` of a file, from the analysis cache when there (``cache``: True for the
    app's cache, an :class:`~supervisor_app.infra.cache.AnalysisCache`, or False). Raises the media layer's
    typed errors for files that cannot be decoded, and AnalysisError for files longer than
    ``MAX_DURATION_S``."""
    from supervisor_app.media import load_audio, probe

    store = None
    if cache is True:
        from supervisor_app.infra.cache import AnalysisCache

        store = AnalysisCache()
    elif cache:
        store = cache
    if store is not None and content_hash is None:
        from supervisor_app.infra.hashing import content_hash as hash_of

        content_hash = hash_of(path)
    if store is not None:
        hit = store.get_arrays(content_hash, ENVELOPE, ENVELOPE_VERSION)
        if hit is not None and {"rms_db", "onset", "mel_db", "chroma", "duration_s"} <= set(hit):
            return MusicEnvelope.from_arrays(hit)
    duration_s = probe(path).duration_s
    if duration_s and duration_s > MAX_DURATION_S:
        from supervisor_app.analysis.beats import too_long_error

        raise too_long_error(duration_s, MAX_DURATION_S, "free-time editing")
    env = music_envelope(load_audio(path, sr=SR, mono=True), SR)
    if store is not None:
        store.put_arrays(content_hash, ENVELOPE, ENVELOPE_VERSION, env.to_arrays())
    return env
