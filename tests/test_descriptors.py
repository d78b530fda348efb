"""Audio descriptors on synthetic signals with known answers: key and mode, build, onset density."""
from __future__ import annotations

import numpy as np

from synth_music import notes
from supervisor_app.analysis.descriptors import SAMPLE_RATE_HZ as SR
from supervisor_app.analysis.descriptors import descriptors_of, key_from_chroma

MIDI = {"C": 60, "D": 62, "E": 64, "F": 65, "G": 67, "A": 69, "B": 71}


def _tone(midis, dur_s, amp=0.2):
    return notes(midis, dur_s, SR, amp)


def _chords(chords, each_s=1.0, amps=None):
    amps = amps or [0.3] * len(chords)
    return np.concatenate([_tone(c, each_s, a) for c, a in zip(chords, amps)])


def test_key_and_mode_of_cadences():
    c, f, g, a, d, e = (MIDI[n] for n in "CFGADE")
    major = _chords([[c, c + 4, c + 7], [f, f + 4, f + 7], [g, g + 4, g + 7], [c, c + 4, c + 7]] * 4)
    assert descriptors_of(major)["key"] == "C major"
    minor = _chords([[a, a + 3, a + 7], [d, d + 3, d + 7], [e - 12, e - 8, e - 5], [a, a + 3, a + 7]] * 4)
    dm = descriptors_of(minor)
    assert dm["key"] == "A minor" and dm["mode"] == "minor" and not dm["key_uncertain"]


def test_build_and_onset_density():
    c = MIDI["C"]
    chord = [c, c + 4, c + 7]
    rising = _chords([chord] * 12, 0.5, amps=list(np.geomspace(0.02, 0.6, 12)))
    falling = rising[::-1].copy()
    assert descriptors_of(rising)["build_db"] > 10 > -10 > descriptors_of(falling)["build_db"]
    fast = _chords([chord] * 24, 0.25)  # 4 attacks per second
    slow = _chords([chord] * 6, 1.0)  # 1 per second
    assert descriptors_of(fast)["onset_rate_hz"] > 2 * descriptors_of(slow)["onset_rate_hz"]


def test_silence_and_short_input():
    d = descriptors_of(np.zeros(SR * 3, np.float32))
    assert d["key"] is None and d["key_uncertain"]
    short = descriptors_of(np.zeros(100, np.float32))
    assert short["loudness_db"] is None and short["tempo_bpm"] is None
    assert key_from_chroma(np.ones(12))["key"] is None
