"""Synthetic test music with known structure: free-time pads (no pulse) and short stings."""
from __future__ import annotations

import numpy as np


def free_time_pad(duration_s: float = 90.0, sr: int = 22050, seed: int = 0, drift: float = 0.2):
    """Sine-pad music without a pulse: chords change at irregular times whose local rate drifts by
    ``±drift`` (a rubato "tempo" of 40 chord changes per minute slowed and hurried by 20 %), each chord
    swells in and out slowly; no percussion. Returns ``(samples float32, sr, changes_s, lows_s)``:
    the chord change times and the quietest moment between each pair of changes (the phrase ends)."""
    rng = np.random.default_rng(seed)
    t_changes = [0.0]
    while t_changes[-1] < duration_s:
        phase = 2 * np.pi * t_changes[-1] / 37.0
        rate = 1.0 + drift * np.sin(phase)  # drifting "tempo"
        t_changes.append(t_changes[-1] + rng.uniform(2.5, 6.5) / rate)
    changes = np.array(t_changes[1:-1])
    n = int(duration_s * sr)
    t = np.arange(n) / sr
    x = np.zeros(n, np.float64)
    roots = [48, 53, 55, 57, 60, 50, 52, 45]
    edges = np.concatenate([[0.0], changes, [duration_s]])
    lows = []
    for k in range(len(edges) - 1):
        a, b = edges[k], edges[k + 1]
        root = roots[rng.integers(len(roots))]
        i0, i1 = int(a * sr), min(n, int(b * sr) + int(0.8 * sr))
        tt = t[i0:i1] - a
        L = b - a
        env = np.sin(np.pi * np.clip(tt / (L + 0.8), 0, 1)) ** 1.5  # slow swell in and out
        chord = sum(np.sin(2 * np.pi * 440 * 2 ** ((root + iv - 69) / 12) * tt + rng.uniform(0, 6.28))
                    for iv in (0, 4, 7, 11 if rng.random() < 0.5 else 12))
        x[i0:i1] += 0.12 * env * chord
        if k > 0:
            lows.append(a + 0.4)  # overlap of the ring-out and the next swell: the quietest region
    x += 0.002 * rng.standard_normal(n)
    return x.astype(np.float32), sr, changes, np.array(lows)


def sting(duration_s: float = 6.0, sr: int = 22050, seed: int = 1):
    """A brass-like sting: a pickup of three short notes then a long held chord that decays to silence."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sr)
    t = np.arange(n) / sr
    x = np.zeros(n)
    notes = [(0.0, 0.18, 67), (0.2, 0.18, 69), (0.4, 0.18, 71), (0.6, duration_s - 0.7, 72)]
    for a, L, m in notes:
        i0, i1 = int(a * sr), min(n, int((a + L) * sr))
        tt = t[i0:i1] - a
        f = 440 * 2 ** ((m - 69) / 12)
        env = np.minimum(1, tt / 0.02) * np.exp(-tt * (0.6 if L > 1 else 3.0))
        tone = sum(np.sin(2 * np.pi * f * h * tt) / h for h in range(1, 6))
        x[i0:i1] += 0.2 * env * tone
    x += 0.001 * rng.standard_normal(n)
    return x.astype(np.float32), sr


def rubato_piano(duration_s: float = 60.0, sr: int = 22050, seed: int = 0, drift: float = 0.2,
                 steady: bool = False):
    """Plucked piano-like notes (sharp attack, exponential decay, no percussion) on a pulse whose tempo
    drifts by ``±drift`` around 80 BPM (a slow sine plus a random walk: rubato), with notes of 1, 2 or 3
    beats and an occasional fermata (a held note 1.5-3x longer). ``steady=True``: the same notes on a
    strict 80 BPM grid, 4 beats a bar, accented downbeats (the metric control). Returns
    ``(samples float32, sr, onsets_s)``."""
    rng = np.random.default_rng(seed)
    t, onsets, k = 0.0, [], 0
    walk = 0.0
    while t < duration_s - 1.0:
        onsets.append(t)
        if steady:
            beats = 1
        else:
            beats = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
            walk = float(np.clip(walk + rng.normal(0, 0.04), -drift / 2, drift / 2))
        rate = 1.0 if steady else 1.0 + 0.5 * drift * np.sin(2 * np.pi * t / 23.0) + walk
        dt = beats * 60.0 / 80.0 / rate
        if not steady and rng.random() < 0.08:
            dt *= rng.uniform(1.5, 3.0)  # fermata
        t += dt
        k += 1
    n = int(duration_s * sr)
    x = np.zeros(n)
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    for j, a in enumerate(onsets):
        i0 = int(a * sr)
        L = min(n - i0, int(3.0 * sr))
        tt = np.arange(L) / sr
        m = scale[rng.integers(len(scale))] - (12 if j % 4 == 0 else 0)
        f = 440 * 2 ** ((m - 69) / 12)
        amp = 0.25 if (steady and j % 4 == 0) else 0.15
        x[i0:i0 + L] += amp * np.exp(-tt * 2.5) * sum(np.sin(2 * np.pi * f * h * tt) / h ** 1.5 for h in range(1, 5))
    x += 0.001 * rng.standard_normal(n)
    return x.astype(np.float32), sr, np.array(onsets)
