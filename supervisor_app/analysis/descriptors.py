"""Cheap per-track audio descriptors for briefs and listings: key and mode, loudness, dynamics, build,
onset density, brightness and a tempo estimate — one decode at 11,025 Hz mono, one STFT.

Stored in the catalog as the analysis :data:`DESCRIPTORS` (``catalog index`` fills it; see
:func:`supervisor_app.catalog.tracks_view.ensure_descriptors`). About 0.2 s of CPU per minute of music.

* key: Krumhansl–Kessler probe-tone profiles (1982) correlated with the energy-weighted mean chroma;
  ``margin`` to the runner-up, ``uncertain`` under :data:`MIN_MARGIN` (atonal, percussive, modulating).
* loudness_db: median frame RMS in dBFS over the non-silent frames; dynamics_db: 95th − 10th percentile.
* build_db: median loudness of the last third minus the first third (a track that builds is > 0).
* onset_rate_hz: onsets per second (note density); brightness_hz: energy-weighted spectral centroid.
* tempo_bpm: librosa's autocorrelation tempo of the onset envelope (the catalog's madmom tempo, when
  indexed, is preferred wherever a tempo is shown).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

DESCRIPTORS = "descriptors"
DESCRIPTORS_VERSION = "2"
SAMPLE_RATE_HZ = 11025
N_FFT = 2048
HOP = 1024
ONSET_HOP = 256
MAX_ANALYSED_S = 900.0
MIN_MARGIN = 0.02
SILENCE_DB = -60.0
PITCHES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def key_from_chroma(chroma_mean: np.ndarray) -> dict:
    """{"key": 'A minor', "tonic", "mode", "key_correlation", "key_margin", "key_uncertain"} of a 12-bin chroma."""
    c = np.asarray(chroma_mean, dtype=np.float64).reshape(12)
    if not np.isfinite(c).all() or c.std() < 1e-9:
        return {"key": None, "tonic": None, "mode": None, "key_correlation": 0.0, "key_margin": 0.0,
                "key_uncertain": True}
    scores = []
    for mode, prof in (("major", _MAJOR), ("minor", _MINOR)):
        for k in range(12):
            scores.append((float(np.corrcoef(c, np.roll(prof, k))[0, 1]), PITCHES[k], mode))
    scores.sort(reverse=True)
    (r, tonic, mode), (r2, _, _) = scores[0], scores[1]
    return {"key": f"{tonic} {mode}", "tonic": tonic, "mode": mode, "key_correlation": round(r, 4),
            "key_margin": round(r - r2, 4), "key_uncertain": bool(r - r2 < MIN_MARGIN)}


def descriptors_of(x: np.ndarray, sr: int = SAMPLE_RATE_HZ) -> dict:
    """The descriptors (see the module doc) of mono float audio ``x`` at ``sr`` Hz."""
    import librosa

    x = np.asarray(x, dtype=np.float32)
    duration_s = len(x) / sr
    if len(x) < sr:  # under a second: nothing meaningful
        return {**key_from_chroma(np.zeros(12)), "duration_s": duration_s, "loudness_db": None, "dynamics_db": None,
                "build_db": None, "onset_rate_hz": None, "brightness_hz": None, "tempo_bpm": None}
    S = np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP)) ** 2
    energy = S.sum(axis=0)
    rms = np.sqrt(energy / (N_FFT * N_FFT / 2.0) + 1e-12)  # Parseval with a Hann window: ≈ the frame RMS
    db = 20.0 * np.log10(rms + 1e-9)
    loud = db[db > SILENCE_DB]
    if loud.size == 0:
        loud = db
    third = max(1, len(db) // 3)
    chroma = librosa.feature.chroma_stft(S=S, sr=sr, tuning=0.0)
    w = energy / energy.sum() if energy.sum() > 0 else None
    cm = np.average(chroma, axis=1, weights=w) if w is not None else chroma.mean(axis=1)
    centroid = librosa.feature.spectral_centroid(S=np.sqrt(S), sr=sr)[0]
    # onsets and tempo on a finer hop (23 ms): at the STFT's 93 ms the tempo grid is too coarse
    env = librosa.onset.onset_strength(y=x, sr=sr, hop_length=ONSET_HOP)
    onsets = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=ONSET_HOP)
    try:
        tempo = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=env, sr=sr, hop_length=ONSET_HOP))[0])
    except Exception:  # librosa raises for degenerate envelopes (silence)
        tempo = None
    return {
        **key_from_chroma(cm),
        "duration_s": round(duration_s, 3),
        "loudness_db": round(float(np.median(loud)), 2),
        "dynamics_db": round(float(np.percentile(loud, 95) - np.percentile(loud, 10)), 2),
        "build_db": round(float(np.median(db[-third:]) - np.median(db[:third])), 2),
        "onset_rate_hz": round(len(onsets) / duration_s, 3),
        "brightness_hz": round(float(np.average(centroid, weights=w) if w is not None else centroid.mean()), 1),
        "tempo_bpm": None if not tempo else round(tempo, 1),
    }


def describe_file(path: str | Path) -> dict:
    """Descriptors of an audio file (at most its first :data:`MAX_ANALYSED_S` seconds)."""
    from supervisor_app.media.audio import load_audio

    return descriptors_of(load_audio(path, sr=SAMPLE_RATE_HZ, mono=True, duration_s=MAX_ANALYSED_S))
