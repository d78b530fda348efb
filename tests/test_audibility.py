"""Splice audibility: synthetic signals with known answers, and a real track's own bar lines as baseline."""
from pathlib import Path

import numpy as np
import pytest

from synth_music import sine
from supervisor_app.edit.audibility import natural_audibility, splice_audibility

SR = 22050
ROOT = Path(__file__).resolve().parents[1]


def _tone(freq, seconds, amp=0.3):
    return sine(freq, seconds, SR, amp)


@pytest.fixture(scope="module")
def three_parts():
    # 0-4 s: A4; 4-8 s: D#5 (a tritone away); 8-12 s: A4 20 dB quieter
    return np.concatenate([_tone(440, 4), _tone(622.25, 4), _tone(440, 4, amp=0.03)])


def test_seamless_splice_costs_nothing(three_parts):
    assert splice_audibility(three_parts, SR, 2.0, 1.0) < 0.05


def test_harmony_and_loudness_jumps_are_audible(three_parts):
    same = splice_audibility(three_parts, SR, 2.0, 1.0)
    other_pitch = splice_audibility(three_parts, SR, 2.0, 5.0)
    quieter = splice_audibility(three_parts, SR, 2.0, 9.0)
    assert other_pitch > same + 1.0
    assert quieter > same + 2.0  # 20 dB / 6 dB per unit, capped at 3


def test_natural_is_the_splice_onto_itself(three_parts):
    times = [1.0, 3.5, 4.0, 8.0]
    nat = natural_audibility(three_parts, SR, times)
    assert nat.shape == (4,)
    for t, n in zip(times, nat):
        assert splice_audibility(three_parts, SR, t, t) == pytest.approx(n)
    assert nat[0] < 0.05 and nat[2] > 1.0  # the track's own change at 4 s is audible


def test_stereo_and_edges(three_parts):
    stereo = np.stack([three_parts, three_parts])
    assert splice_audibility(stereo, SR, 2.0, 1.0) < 0.05
    assert np.isfinite(splice_audibility(three_parts, SR, 0.0, 12.0))  # windows clipped to the track
    silence = np.zeros(SR * 2, np.float32)
    assert splice_audibility(silence, SR, 1.0, 0.5) == pytest.approx(0.0, abs=1e-6)


def test_real_track_random_splices_louder_than_its_bar_lines():
    from supervisor_app.media.audio import load_audio

    y = load_audio(ROOT / "resources/demo/music/lets_go_fishin.ogg", sr=SR)
    bar = 60 / 100 * 4  # any regular grid: the test compares like with like
    grid = np.arange(bar, len(y) / SR - bar, bar)
    nat = natural_audibility(y, SR, grid)
    rng = np.random.default_rng(0)
    far = [splice_audibility(y, SR, float(o), float(i)) for o, i in rng.choice(grid, size=(60, 2))
           if abs(o - i) > 10]
    assert np.median(far) > np.median(nat)


def _power_stft(y, sr):
    import librosa

    return np.abs(librosa.stft(y.astype(np.float32), n_fft=2048, hop_length=512, center=True)) ** 2


@pytest.mark.parametrize("cents", [-30.0, 0.0, 17.0])
def test_band_tuning_equals_librosa_on_detuned_tones(cents):
    """The band-limited tuning estimate is librosa's estimate_tuning, not an approximation of it."""
    import librosa

    from supervisor_app.edit.audibility import _tuning

    sr = 22050
    f = 440.0 * 2 ** (cents / 1200.0)
    y = sine(f, 6.0, sr) + 0.5 * sine(2 * f, 6.0, sr) + 0.01 * np.random.default_rng(0).standard_normal(6 * sr)
    S = _power_stft(y, sr)
    want = librosa.estimate_tuning(S=S, sr=sr, n_fft=2048, bins_per_octave=12)
    assert _tuning(S, sr, 2048) == pytest.approx(want, abs=1e-12)
    assert want == pytest.approx(cents / 100.0, abs=0.08)  # librosa sees the detuning we put in (to its resolution)


def test_track_features_equal_librosa_on_real_music():
    """One STFT for all features: the tuning and the onset strength are librosa's own numbers on a real track."""
    import librosa

    from fixture_paths import MUSIC
    from supervisor_app.edit.audibility import _tuning, track_features
    from supervisor_app.media import load_audio

    sr = 22050
    y = load_audio(MUSIC / "vibe_ace.ogg", sr=sr, mono=True)[: 40 * sr]
    S = _power_stft(y, sr)
    assert _tuning(S, sr, 2048) == librosa.estimate_tuning(S=S, sr=sr, n_fft=2048, bins_per_octave=12)
    tf = track_features(y, sr)
    onset = librosa.onset.onset_strength(y=y, sr=sr, hop_length=512)
    assert np.array_equal(tf.energy_onset, onset)
    chroma = librosa.feature.chroma_stft(S=S, sr=sr, n_fft=2048, hop_length=512, norm=np.inf).T
    loud = tf.rms_db >= -60.0
    assert np.allclose(tf.chroma[loud], chroma[loud], atol=1e-6)
