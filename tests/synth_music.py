"""The tests' one module of synthetic signals with known answers (import it: ``from synth_music import ...``;
``pythonpath = ["tests"]`` in pyproject.toml): sines and notes, click tracks with known beats, a piece with
known sections, noise, and pulse-free music (free-time pads, stings, rubato piano). Every generator returns
float32 samples (and its known answers); none writes files or reads the network."""
from __future__ import annotations

import numpy as np


def sine(freq_hz: float, duration_s: float, sr: int = 22050, amp: float = 0.3, phase: float = 0.0) -> np.ndarray:
    """``amp * sin(2 pi f t + phase)`` for ``duration_s`` seconds."""
    t = np.arange(int(duration_s * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq_hz * t + phase)).astype(np.float32)


def stereo_sines(freqs_hz: tuple[float, float], duration_s: float, sr: int = 22050, amp: float = 0.3,
                 right_phase: float = 1.0) -> np.ndarray:
    """Two channels (shape (2, n)), one sine each, the right one shifted by ``right_phase`` (no phase
    agreement between the channels)."""
    return np.stack([sine(freqs_hz[0], duration_s, sr, amp), sine(freqs_hz[1], duration_s, sr, amp, right_phase)])


def midi_hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def notes(midis, duration_s: float, sr: int = 22050, amp: float = 0.2, attack_s: float = 0.02,
          release_s: float = 0.05) -> np.ndarray:
    """A chord of pure tones (MIDI note numbers) with a linear attack and release, peak ``amp``."""
    t = np.arange(int(duration_s * sr)) / sr
    x = sum(np.sin(2 * np.pi * midi_hz(m) * t) for m in midis)
    env = np.minimum(1, np.minimum(t / attack_s, (duration_s - t) / release_s))
    return (amp * x * env / len(midis)).astype(np.float32)


def noise(duration_s: float, sr: int = 22050, amp: float = 0.003, seed: int = 0) -> np.ndarray:
    """White Gaussian noise of standard deviation ``amp``."""
    return (amp * np.random.default_rng(seed).standard_normal(int(duration_s * sr))).astype(np.float32)


def click(sr: int = 22050, freq_hz: float = 1000.0, amp: float = 0.5, length_s: float = 0.02,
          decay_s: float = 0.004) -> np.ndarray:
    """One percussive click: a ``freq_hz`` sine under an exponential decay of ``decay_s``."""
    tt = np.arange(int(length_s * sr)) / sr
    return (amp * np.exp(-tt / decay_s) * np.sin(2 * np.pi * freq_hz * tt)).astype(np.float32)


def add_clicks(y: np.ndarray, times_s, sr: int = 22050, **click_kw) -> np.ndarray:
    """Add :func:`click` at each of ``times_s`` to ``y`` (in place; clicks past the end are cut)."""
    c = click(sr, **click_kw)
    for b in times_s:
        i = int(round(b * sr))
        if 0 <= i < len(y):
            m = min(len(c), len(y) - i)
            y[i:i + m] += c[:m]
    return y


def click_track(bpm: float, meter: int, duration_s: float, sr: int = 44100, first_s: float = 0.5):
    """Accented click track: the first beat of each bar is a loud 1.5 kHz click, the others soft 1 kHz.

    Returns (samples float32, beat times s, bar positions 1..meter).
    """
    y = np.zeros(int(duration_s * sr), np.float32)
    period = 60.0 / bpm
    times = first_s + period * np.arange(int((duration_s - first_s - 0.1) / period) + 1)
    positions = np.arange(len(times)) % meter + 1
    for t, p in zip(times, positions):
        f, a = (1500.0, 0.9) if p == 1 else (1000.0, 0.35)
        add_clicks(y, [t], sr, freq_hz=f, amp=a, length_s=0.03, decay_s=0.005)
    return y, times, positions


def aba_sections(sr: int = 22050, bpm: float = 120.0, section_s: float = 12.0):
    """Three sections A B A of ``section_s`` (different chords, B noisier) over a steady click.

    Returns (samples float32, section boundaries s, beat times s).
    """
    chords = {"A": [261.63, 329.63, 392.0], "B": [293.66, 369.99, 660.0]}
    rng = np.random.default_rng(0)
    parts = []
    for name in "ABA":
        t = np.arange(int(section_s * sr)) / sr
        y = 0.1 * sum(np.sin(2 * np.pi * f * t) for f in chords[name])
        if name == "B":
            y = y + 0.05 * rng.normal(size=len(t))
        parts.append(y)
    y = np.concatenate(parts).astype(np.float32)
    beats = np.arange(0.0, len(y) / sr - 0.05, 60.0 / bpm)
    add_clicks(y, beats, sr)
    return y, [section_s, 2 * section_s], beats


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
