"""VM-Net's handcrafted librosa audio features, aggregated per 1 s window: 1,140-d.

Same layout as VM-Net's ``librosa_feature.py`` (Hong et al. 2018; the thesis's "1,140-d" music
input), computed per 1 s window instead of once per 29 s clip:

audio at 12 kHz mono, STFT n_fft 512 / hop 256 (21.3 ms frames, centred), harmonic/percussive
separation (median-filter HPSS on that STFT). For each source — harmonic first, then percussive —
190 rows per STFT frame, in this order:

===========================  ====  =========================================
chroma_stft                    12  dB
chroma_cens (CQT)              12  dB
mel spectrogram (96 bands)     96  dB (power)
MFCC 0–19 (from the mel)       20  raw
delta MFCC                     20  raw
delta² MFCC                    20  raw
RMS                             1  dB
spectral centroid               1  dB (of Hz)
spectral bandwidth              1  dB (of Hz)
spectral rolloff (85 %)         1  dB (of Hz)
poly_features order 1           2  raw
poly_features order 2           3  raw
zero-crossing rate              1  dB
===========================  ====  =========================================

giving 380 rows; frame ``k`` = [mean(380) | variance(380) | max(380)] over the STFT frames whose
centre lies in [k, k+1) s (46–47 frames) = 1,140 values. Names: :data:`FEATURE_NAMES`.

Differences from VM-Net's script, on purpose: dB is ``10·log10(max(x, 1e-8))`` relative to a
fixed reference (VM-Net used the clip maximum, which would make a 1 s frame depend on the rest of
the file; likewise chroma tuning is fixed at 0 instead of estimated per file and the MFCCs' dB has
no top_db clip); signed rows (MFCCs, deltas, polynomial coefficients) stay raw (VM-Net took the
log of their absolute value); the mel spans 0–6 kHz, the Nyquist band of 12 kHz audio (VM-Net's mel
call assumed librosa's default 22,050 Hz rate by mistake); MFCCs come from the 96-band mel. Features are not standardised: a
model should z-score them with statistics of its training set.
"""
from __future__ import annotations

import numpy as np

from supervisor_app.infra import errors
from supervisor_app.features.registry import Extractor, FeatureResult, check_cancel, frame_count

SAMPLE_RATE = 12000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
N_MFCC = 20
DB_FLOOR = 1e-8
# Long audio runs in blocks of BLOCK_S windows plus CONTEXT_S s of audio each side; both are multiples
# of 8 s (= 96000 samples = 375 hops) so every block shares the whole file's STFT frame grid.
BLOCK_S = 120
CONTEXT_S = 8

_ROWS = (("chroma_stft", 12), ("chroma_cens", 12), ("mel", N_MELS), ("mfcc", N_MFCC), ("mfcc_delta", N_MFCC),
         ("mfcc_delta2", N_MFCC), ("rms", 1), ("centroid", 1), ("bandwidth", 1), ("rolloff", 1),
         ("poly1", 2), ("poly2", 3), ("zcr", 1))
ROWS_PER_SOURCE = sum(n for _, n in _ROWS)  # 190
SOURCES = ("harmonic", "percussive")
STATS = ("mean", "var", "max")
FEATURE_NAMES: tuple[str, ...] = tuple(
    f"{stat}/{src}/{row}" + (f"[{i}]" if n > 1 else "")
    for stat in STATS for src in SOURCES for row, n in _ROWS for i in range(n))
DIM = len(FEATURE_NAMES)  # 1140


def _db(x: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(x, DB_FLOOR))


def source_rows(y: np.ndarray, stft: np.ndarray) -> np.ndarray:
    """(190, n_frames) frame-level rows for one source (waveform ``y`` at 12 kHz, its STFT)."""
    import librosa

    S = np.abs(stft)
    P = S ** 2
    n = S.shape[1]
    mel = librosa.feature.melspectrogram(S=P, sr=SAMPLE_RATE, n_mels=N_MELS)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=None), n_mfcc=N_MFCC)
    width = min(9, n if n % 2 else n - 1)
    if width >= 3:
        d1 = librosa.feature.delta(mfcc, width=width)
        d2 = librosa.feature.delta(mfcc, order=2, width=width)
    else:
        d1 = d2 = np.zeros_like(mfcc)
    cens = librosa.feature.chroma_cens(y=y, sr=SAMPLE_RATE, hop_length=HOP_LENGTH, tuning=0.0)[:, :n]
    if cens.shape[1] < n:
        cens = np.pad(cens, ((0, 0), (0, n - cens.shape[1])), mode="edge")
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP_LENGTH)[:, :n]
    rows = [
        _db(librosa.feature.chroma_stft(S=P, sr=SAMPLE_RATE, tuning=0.0)),
        _db(cens),
        _db(mel),
        mfcc, d1, d2,
        _db(librosa.feature.rms(S=S, frame_length=N_FFT, hop_length=HOP_LENGTH)),
        _db(librosa.feature.spectral_centroid(S=S, sr=SAMPLE_RATE)),
        _db(librosa.feature.spectral_bandwidth(S=S, sr=SAMPLE_RATE)),
        _db(librosa.feature.spectral_rolloff(S=S, sr=SAMPLE_RATE)),
        librosa.feature.poly_features(S=S, sr=SAMPLE_RATE, order=1),
        librosa.feature.poly_features(S=S, sr=SAMPLE_RATE, order=2),
        _db(zcr),
    ]
    out = np.concatenate(rows, axis=0)
    assert out.shape[0] == ROWS_PER_SOURCE, out.shape
    return out


def window_stats(rows: np.ndarray, n_windows: int, first_window: int = 0, t0_s: float = 0.0) -> np.ndarray:
    """(n_windows, 3·R) [mean | var | max] of the (R, n_stft_frames) rows per 1 s window.

    STFT frame ``i`` (centre ``t0_s + i·hop/sr`` s) belongs to window ``floor(centre)``; output row
    ``j`` is window ``first_window + j``. Frames outside those windows are dropped; a window with
    no frame (only past the end of the audio) repeats the last frame.
    """
    n = rows.shape[1]
    win = np.floor(t0_s + np.arange(n) * HOP_LENGTH / SAMPLE_RATE + 1e-9).astype(int) - first_window
    out = np.empty((n_windows, 3 * rows.shape[0]), np.float32)
    bounds = np.searchsorted(win, np.arange(n_windows + 1))
    for k in range(n_windows):
        a, b = bounds[k], bounds[k + 1]
        block = rows[:, a:b] if b > a else rows[:, n - 1:n]
        out[k] = np.concatenate([block.mean(1), block.var(1), block.max(1)])
    return out


class HandcraftedExtractor(Extractor):
    """VM-Net's handcrafted librosa features (HPSS × spectral/MFCC/chroma, mean/var/max), 1,140-d at 1 Hz."""

    name = "handcrafted"
    version = "1"
    modality = "audio"
    dim = DIM
    rate_hz = 1.0
    requires = "librosa==0.11.0"

    def missing(self) -> str | None:
        import importlib.util

        return None if importlib.util.find_spec("librosa") else self.requires

    def features_of(self, y: np.ndarray, should_cancel=None, progress=None) -> np.ndarray:
        """(T, 1140) float32 for a 12 kHz mono waveform, T = frame_count(len(y) / 12000).

        Long audio is processed in blocks of ``BLOCK_S`` windows with ``CONTEXT_S`` of audio on
        each side (more than the HPSS, CQT, CENS and delta filters reach) on the file's own STFT
        grid; every feature is local (fixed tuning, fixed dB reference), so the result does not
        depend on the block size beyond float rounding, and memory stays bounded.
        """
        y = np.asarray(y, dtype=np.float32)
        n_windows = frame_count(len(y) / SAMPLE_RATE, self.rate_hz)
        out = np.empty((n_windows, DIM), np.float32)
        for k0 in range(0, n_windows, BLOCK_S):
            m = min(BLOCK_S, n_windows - k0)
            a = max(0, k0 - CONTEXT_S)
            seg = y[a * SAMPLE_RATE:(k0 + m + CONTEXT_S) * SAMPLE_RATE]
            out[k0:k0 + m] = window_stats(self._frame_rows(seg, should_cancel), m, k0 - a)
            if progress:
                progress((k0 + m) / n_windows, f"{self.name} features")
        return out

    def _frame_rows(self, y: np.ndarray, should_cancel=None) -> np.ndarray:
        """(380, n_stft_frames) rows: harmonic then percussive, frame i centred on i·hop/sr s."""
        import librosa

        if len(y) < N_FFT:
            y = np.pad(y, (0, N_FFT - len(y)))
        D = librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH)
        H, P = librosa.decompose.hpss(D)
        rows = []
        for spec in (H, P):
            check_cancel(should_cancel)
            src = librosa.istft(spec, hop_length=HOP_LENGTH, n_fft=N_FFT, length=len(y))
            rows.append(source_rows(src, spec))
        return np.concatenate(rows, axis=0)

    def extract(self, path, progress=None, should_cancel=None) -> FeatureResult:
        from supervisor_app import media

        self.require()
        y = media.load_audio(path, sr=SAMPLE_RATE, mono=True)
        if len(y) == 0:
            raise errors.ZeroDurationError(path)
        frames = self.features_of(y, should_cancel, progress)
        if progress:
            progress(1.0, f"{self.name} features")
        return FeatureResult(frames=frames, times_s=np.arange(len(frames)) + 0.5)
