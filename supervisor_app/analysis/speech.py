"""Where the production sound speaks: AudioSet YAMNet speech (and music) probabilities, speech regions.

YAMNet (the project's ONNX, :mod:`supervisor_app.features.yamnet`) scores 0.96 s log-mel patches every
``SPEECH_HOP_S`` = 0.48 s (YAMNet's own hop). The speech probability of a patch is the largest of the
classes in :data:`SPEECH_CLASSES` (speech, conversation, narration, whispering, ...: not singing, which
is music); :func:`speech_regions` median-smooths it over three patches and turns it into regions with
hysteresis, each patch speaking for the central 0.48 s it is the nearest patch of. Measured on the
eSpeak narration of ``benchmarks/bench_mix.py``: regions start 0.5-0.6 s before the first word (a patch
fires once part of it holds speech) and end within 0.15 s of the last one.
Used by the mockup mix (ducking) and the sync-point suggestions (a voice entering is not a "hit").
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

__all__ = ["SpeechActivity", "SPEECH_CLASSES", "MUSIC_CLASS", "SPEECH_HOP_S", "speech_activity", "speech_regions"]

SPEECH_CLASSES = ("Speech", "Child speech, kid speaking", "Conversation", "Narration, monologue", "Babbling",
                  "Speech synthesizer", "Whispering")
MUSIC_CLASS = "Music"
SPEECH_HOP_S = 0.48  # YAMNet's own patch hop (48 log-mel frames of 10 ms)


@dataclass(frozen=True)
class SpeechActivity:
    """YAMNet speech and music probabilities per patch (centres ``times_s``, every ``hop_s``)."""

    times_s: np.ndarray
    speech_prob: np.ndarray
    music_prob: np.ndarray
    hop_s: float = SPEECH_HOP_S


@lru_cache(maxsize=1)
def _yamnet():
    """One YAMNet ONNX session per process (loading it costs more than scoring a 3-minute film)."""
    from supervisor_app.features.yamnet import YamnetExtractor

    return YamnetExtractor()


def speech_activity(audio_16k: np.ndarray, should_cancel: Callable[[], bool] | None = None) -> SpeechActivity:
    """YAMNet speech/music probabilities of mono 16 kHz audio, one 0.96 s patch every 0.48 s."""
    from supervisor_app.features.yamnet import PATCH_FRAMES, SAMPLE_RATE, class_names, log_mel

    x = np.asarray(audio_16k, dtype=np.float32)
    hop = int(round(SPEECH_HOP_S * 100))
    names = class_names()
    speech_idx = [names.index(c) for c in SPEECH_CLASSES]
    music_idx = names.index(MUSIC_CLASS)
    ex = _yamnet()
    n_total = max(1, int(np.ceil(len(x) / SAMPLE_RATE / SPEECH_HOP_S)))
    sp, mu = [], []
    chunk = 128  # patches per chunk: bounded memory on long films
    k0 = 0
    while k0 < n_total:
        m = min(chunk, n_total - k0)
        a = k0 * hop * 160
        need = ((m - 1) * hop + PATCH_FRAMES - 1) * 160 + 512
        seg = x[a:a + need]
        if len(seg) < need:
            seg = np.pad(seg, (0, need - len(seg)))
        mel = log_mel(seg)
        patches = mel[(np.arange(m) * hop)[:, None] + np.arange(PATCH_FRAMES)[None, :]]
        _, probs = ex.run_patches(patches, should_cancel)
        sp.append(probs[:, speech_idx].max(axis=1))
        mu.append(probs[:, music_idx])
        k0 += m
    speech = np.concatenate(sp)
    music = np.concatenate(mu)
    # patch k covers [0.48k, 0.48k + 0.96] s: its centre is 0.48k + 0.48 (+ half an FFT window)
    times = np.arange(n_total) * SPEECH_HOP_S + 0.48 + 0.016
    return SpeechActivity(times_s=times, speech_prob=speech.astype(np.float32), music_prob=music.astype(np.float32))


def speech_regions(act: SpeechActivity, duration_s: float, on: float = 0.5, off: float = 0.3) -> list[tuple[float, float]]:
    """``[(start_s, end_s)]`` where speech is heard: median of 3 patches, hysteresis ``on``/``off``; each
    patch speaks for ``[centre - hop/2, centre + hop/2]`` (clipped to ``[0, duration_s]``)."""
    p = np.asarray(act.speech_prob, dtype=float)
    if p.size == 0:
        return []
    if p.size >= 3:
        pad = np.concatenate([p[:1], p, p[-1:]])
        p = np.median(np.stack([pad[:-2], pad[1:-1], pad[2:]]), axis=0)
    state = False
    on_mask = np.zeros(p.size, bool)
    for k, v in enumerate(p):
        state = v >= on if not state else v >= off
        on_mask[k] = state
    regions = []
    half = act.hop_s / 2
    k = 0
    while k < p.size:
        if on_mask[k]:
            j = k
            while j + 1 < p.size and on_mask[j + 1]:
                j += 1
            a = max(0.0, float(act.times_s[k]) - half)
            b = min(float(duration_s), float(act.times_s[j]) + half)
            if b > a:
                regions.append((a, b))
            k = j + 1
        else:
            k += 1
    return regions


