"""MuSimNet's input: log-power constant-Q transform patches (thesis §4.2.4).

CQT of the mono signal at 44.1 kHz, hop 1024 samples (23.2 ms, 43.07 frames/s), 96 bins, 12 per
octave from C1 (32.70 Hz) to B8 (7.90 kHz); power ``|C|²`` in dB (``10·log10(|C|² + 1e-10)``,
absolute reference, so loudness is kept), clipped to [:data:`DB_FLOOR`, :data:`DB_CEIL`]. A patch is
512 frames (11.89 s). Tracks shorter than a patch are padded with the floor value (silence).

Arrays are ``(96, T)`` float32 in dB, frequency first. :func:`to_uint8` / :func:`from_uint8` store
them in a byte per value (0.51 dB steps) for the training cache.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_RATE = 44100
HOP_LENGTH = 1024
N_BINS = 96
BINS_PER_OCTAVE = 12
FMIN_HZ = 32.703195662574764  # C1
PATCH_FRAMES = 512
FRAME_RATE_HZ = SAMPLE_RATE / HOP_LENGTH  # 43.066 frames per second
PATCH_S = PATCH_FRAMES / FRAME_RATE_HZ  # 11.889 s
DB_FLOOR = -100.0
DB_CEIL = 30.0
DB_AMIN = 1e-10
VERSION = "cqt96-h1024-db-1"  # changes whenever the front end's output changes


def frames_to_s(n_frames: float) -> float:
    return float(n_frames) / FRAME_RATE_HZ


def s_to_frames(seconds: float) -> int:
    return int(round(float(seconds) * FRAME_RATE_HZ))


def cqt_db(audio_44k: np.ndarray) -> np.ndarray:
    """(96, T) float32 log-power CQT (dB) of a mono 44.1 kHz signal; T = 1 + len // 1024."""
    import librosa

    y = np.asarray(audio_44k, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"cqt_db needs a mono signal, got shape {y.shape}")
    if len(y) < HOP_LENGTH:
        y = np.pad(y, (0, HOP_LENGTH - len(y)))
    c = librosa.cqt(y, sr=SAMPLE_RATE, hop_length=HOP_LENGTH, fmin=FMIN_HZ, n_bins=N_BINS,
                    bins_per_octave=BINS_PER_OCTAVE)
    power = (c.real ** 2 + c.imag ** 2).astype(np.float64)
    db = 10.0 * np.log10(power + DB_AMIN)
    return np.clip(db, DB_FLOOR, DB_CEIL).astype(np.float32)


def file_cqt_db(path: str | Path, offset_s: float = 0.0, duration_s: float | None = None) -> np.ndarray:
    """(96, T) dB CQT of a file (or of the window ``offset_s`` … ``offset_s + duration_s``)."""
    from supervisor_app import media

    audio = media.load_audio(path, sr=SAMPLE_RATE, mono=True, offset_s=offset_s, duration_s=duration_s)
    return cqt_db(audio)


def pad_to_patch(cqt: np.ndarray, n_frames: int = PATCH_FRAMES) -> np.ndarray:
    """``cqt`` padded at the end with the floor value to at least ``n_frames`` frames."""
    cqt = np.asarray(cqt)
    if cqt.shape[-1] >= n_frames:
        return cqt
    fill = DB_FLOOR if cqt.dtype != np.uint8 else 0
    pad = [(0, 0)] * (cqt.ndim - 1) + [(0, n_frames - cqt.shape[-1])]
    return np.pad(cqt, pad, constant_values=fill)


def patch_starts(n_frames: int, n_patches: int | None = None, hop_frames: int | None = None) -> np.ndarray:
    """Start frames of patches over a CQT of ``n_frames``: ``n_patches`` evenly spaced, or every ``hop_frames``.

    Always at least one start (0); the last patch ends at or before ``n_frames`` when it fits.
    """
    last = max(0, int(n_frames) - PATCH_FRAMES)
    if n_patches is not None:
        if last == 0:
            return np.zeros(1, dtype=np.int64)
        if n_patches <= 1:
            return np.array([last // 2], dtype=np.int64)
        return np.round(np.linspace(0, last, int(n_patches))).astype(np.int64)
    hop = int(hop_frames or PATCH_FRAMES // 2)
    starts = np.arange(0, last + 1, hop, dtype=np.int64)
    if starts[-1] != last:
        starts = np.append(starts, last)
    return starts


def patches(cqt: np.ndarray, starts) -> np.ndarray:
    """(P, 96, 512) patches of ``cqt`` (96, T) starting at ``starts`` (padded when T < 512)."""
    c = pad_to_patch(cqt)
    starts = np.asarray(starts, dtype=np.int64)
    idx = starts[:, None] + np.arange(PATCH_FRAMES)[None, :]
    return np.ascontiguousarray(np.transpose(c[:, idx], (1, 0, 2)))


def to_uint8(db: np.ndarray) -> np.ndarray:
    """dB values as bytes: 0 ↔ DB_FLOOR, 255 ↔ DB_CEIL (0.51 dB steps)."""
    q = np.round((np.asarray(db, dtype=np.float32) - DB_FLOOR) * (255.0 / (DB_CEIL - DB_FLOOR)))
    return np.clip(q, 0, 255).astype(np.uint8)


def from_uint8(q: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_uint8` (float32 dB)."""
    return (np.asarray(q, dtype=np.float32) * ((DB_CEIL - DB_FLOOR) / 255.0) + DB_FLOOR).astype(np.float32)


def excerpt_chunks(n_frames: int, n_chunks: int, chunk_frames: int) -> np.ndarray:
    """Start frames of ``n_chunks`` evenly spaced windows of ``chunk_frames`` within ``n_frames``.

    Overlapping or repeated starts are allowed for short tracks (they are padded by :func:`pad_to_patch`).
    """
    last = max(0, int(n_frames) - int(chunk_frames))
    if n_chunks <= 1:
        return np.array([last // 2], dtype=np.int64)
    return np.round(np.linspace(0, last, int(n_chunks))).astype(np.int64)


def track_chunks(path: str | Path, n_chunks: int = 8, chunk_frames: int = 640,
                 duration_s: float | None = None) -> np.ndarray:
    """(n_chunks, 96, chunk_frames) uint8 CQT excerpts spread evenly over a file (the training cache).

    Each chunk is decoded on its own (offset seek), so a long track costs only what is kept.
    """
    from supervisor_app import media

    if duration_s is None:
        duration_s = media.probe(path).duration_s or 0.0
    total = s_to_frames(duration_s)
    out = np.zeros((n_chunks, N_BINS, chunk_frames), dtype=np.uint8)
    margin = 12  # frames decoded on each side: the longest (C1) filter spans about ±11 frames
    for i, start in enumerate(excerpt_chunks(total, n_chunks, chunk_frames)):
        t0 = max(0, int(start) - margin)
        audio = media.load_audio(path, sr=SAMPLE_RATE, mono=True, offset_s=frames_to_s(t0),
                                 duration_s=frames_to_s(chunk_frames + 2 * margin))
        c = cqt_db(audio)[:, int(start) - t0:int(start) - t0 + chunk_frames]
        out[i] = to_uint8(pad_to_patch(c, chunk_frames))
    return out
