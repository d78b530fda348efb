"""The mockup's sound: the music mixed under the picture's own sound, ducked under speech, normalised.

Speech is real synthesised narration (tests/data/speech_espeak.ogg, eSpeak NG); music is Vibe Ace or
stereo tones; pictures are made with ffmpeg (tiny frames), up to 150 s with tracks shorter and longer.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synth_music import stereo_sines
from supervisor_app.edit.edl import Edit, Excerpt, build_edit
from supervisor_app.edit.mix import (
    LOUDNESS_TARGETS,
    MixSettings,
    SpeechActivity,
    duck_envelope,
    integrated_loudness,
    limit_peaks,
    mix_under,
    normalise_loudness,
    parse_loudness,
    render_mockup_audio,
    speech_activity,
    speech_regions,
)
from supervisor_app.infra.errors import UsageError
from supervisor_app.media import load_audio, probe

REPO = Path(__file__).resolve().parent.parent
SPEECH = REPO / "tests" / "data" / "speech_espeak.ogg"
VIBE = REPO / "resources" / "demo" / "music" / "vibe_ace.ogg"
BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
SR = 48000
SPEECH_AT_S = (3.0, 18.5)  # where the narration starts in the synthetic production sound


@pytest.fixture(scope="module")
def speech():
    return load_audio(SPEECH, sr=SR)


def _production(speech, seconds=30.0, at=SPEECH_AT_S, noise=0.003, seed=0):
    """Room tone (white noise) with the narration at ``at``; returns (samples, true speech spans)."""
    rng = np.random.default_rng(seed)
    x = (noise * rng.standard_normal(int(seconds * SR))).astype(np.float32)
    spans = []
    for t0 in at:
        a = int(t0 * SR)
        b = min(x.size, a + speech.size)
        x[a:b] += speech[:b - a]
        spans.append((t0, b / SR))
    return x, spans


def _music(seconds=30.0):
    return load_audio(VIBE, sr=SR, mono=False)[:, :int(seconds * SR)]


def _corr(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def _music_gain_db(out, prod, music, a_s, b_s):
    """The music's gain in ``out`` over [a_s, b_s]: least squares of out on (production, music)."""
    i, j = int(a_s * SR), int(b_s * SR)
    A = np.stack([prod[i:j], music[i:j]], axis=1).astype(np.float64)
    coef, *_ = np.linalg.lstsq(A, out[i:j].astype(np.float64), rcond=None)
    return 20 * np.log10(abs(coef[1]))


# --- the envelope, the limiter, the loudness ---------------------------------------------------------------
def test_duck_envelope_depth_ramps_and_continuity():
    n = 20 * SR
    g = duck_envelope(n, SR, [(5.0, 8.0)], duck_db=12.0, attack_s=0.3, hold_s=0.25, release_s=0.8)
    db = 20 * np.log10(g)
    assert np.allclose(db[:int(4.6 * SR)], 0.0, atol=1e-3)  # before the attack
    assert np.allclose(db[int(5.0 * SR):int(8.25 * SR)], -12.0, atol=0.05)  # fully down at the voice, held after
    assert np.allclose(db[int(9.1 * SR):], 0.0, atol=1e-3)  # recovered after hold + release
    assert -12.0 < db[int(4.85 * SR)] < 0.0 and -12.0 < db[int(8.6 * SR)] < 0.0  # ramps, not steps
    assert np.max(np.abs(np.diff(db))) < 12.0 / (0.3 * SR) * 4  # no jump: at most a few times the mean slope
    # words 0.5 s apart stay ducked (no pumping between them)
    g2 = duck_envelope(n, SR, [(5.0, 6.0), (6.5, 7.5)], duck_db=12.0)
    assert np.allclose(20 * np.log10(g2[int(5 * SR):int(7.5 * SR)]), -12.0, atol=0.05)
    assert np.all(duck_envelope(n, SR, [], duck_db=12.0) == 1.0)


def test_limiter_holds_the_ceiling_and_normalisation_reaches_the_target():
    rng = np.random.default_rng(1)
    x = (0.05 * rng.standard_normal((2, 10 * SR))).astype(np.float32)
    x[:, 3 * SR:3 * SR + 200] += 0.9  # a transient far above the rest
    y = limit_peaks(x * 4, SR)
    assert np.max(np.abs(y)) <= 10 ** (-1 / 20) + 1e-6
    for target in LOUDNESS_TARGETS.values():
        out, reached, env = normalise_loudness(x, SR, target)
        assert reached == pytest.approx(target, abs=0.3)
        assert integrated_loudness(out, SR) == pytest.approx(reached, abs=1e-6)
        assert np.max(np.abs(out)) <= 10 ** (-1 / 20) + 1e-6
        np.testing.assert_allclose(out, x * env[None, :], atol=1e-6)


def test_integrated_loudness_equals_pyloudnorm(speech):
    import pyloudnorm

    for x in (_music(12.0), speech[None], np.concatenate([np.zeros((2, SR)), _music(6.0)], axis=1)):
        ref = pyloudnorm.Meter(SR).integrated_loudness(np.asarray(x, np.float64).T)
        assert integrated_loudness(x, SR) == pytest.approx(ref, abs=1e-6)
    assert integrated_loudness(np.zeros((2, SR)), SR) == float("-inf")


def test_loudness_option_parsing():
    assert parse_loudness("web") == -14.0 and parse_loudness("broadcast") == -23.0
    assert parse_loudness("-16") == -16.0 and parse_loudness("none") is None and parse_loudness(None) is None
    for bad in ("loud", "+3", "-90"):
        with pytest.raises(UsageError):
            parse_loudness(bad)
    with pytest.raises(UsageError):
        MixSettings(duck_db=-3)


# --- speech detection ------------------------------------------------------------------------------------
def test_yamnet_finds_the_narration_and_nothing_in_room_tone(speech):
    from scipy.signal import resample_poly

    prod, spans = _production(speech)
    act = speech_activity(resample_poly(prod, 1, 3).astype(np.float32))
    regions = speech_regions(act, 30.0)
    assert len(regions) == 2
    for (a, b), (ta, tb) in zip(regions, spans):
        assert abs(a - ta) <= 0.75 and abs(b - tb) <= 0.75  # within the patch resolution (0.48 s hop, 0.96 s patch)
    # the same room tone without the voice: no speech
    quiet, _ = _production(speech, at=())
    assert speech_regions(speech_activity(resample_poly(quiet, 1, 3).astype(np.float32)), 30.0) == []


def test_speech_regions_hysteresis_and_median():
    t = np.arange(20) * 0.48 + 0.5
    p = np.zeros(20)
    p[5:10] = 0.9
    p[7] = 0.35  # a dip above the off threshold: still speech
    p[15] = 0.9  # a single-patch blip: removed by the median
    act = SpeechActivity(t, p.astype(np.float32), np.zeros(20, np.float32))
    assert speech_regions(act, 12.0) == [(pytest.approx(t[5] - 0.24), pytest.approx(t[9] + 0.24))]


# --- the mix ---------------------------------------------------------------------------------------------
def test_the_mix_keeps_the_production_sound_and_ducks_the_music_under_speech(speech):
    prod, spans = _production(speech)
    music = _music()
    res = mix_under(prod[None], music, SR, MixSettings(duck_db=12.0, loudness_lufs=-23.0))
    out, rep = res.mix, res.report
    assert rep.mode == "mix" and rep.anchor == "dialogue" and len(rep.speech_regions_s) == 2
    assert out.shape == music.shape
    m0 = music.mean(axis=0)
    for ta, tb in spans:  # where the music is ducked the mix is the production sound
        assert _corr(out.mean(axis=0)[int((ta + 0.5) * SR):int((tb - 0.5) * SR)],
                     prod[int((ta + 0.5) * SR):int((tb - 0.5) * SR)]) > 0.9
    # elsewhere it is the music (the room tone is 40 dB down)
    assert _corr(out.mean(axis=0)[14 * SR:17 * SR], m0[14 * SR:17 * SR]) > 0.95
    # ducking depth measured on the output: the music's gain under speech vs away from it
    under = np.mean([_music_gain_db(out.mean(axis=0), prod, m0, ta + 0.5, tb - 0.5) for ta, tb in spans])
    away = _music_gain_db(out.mean(axis=0), prod, m0, 14.0, 17.5)
    assert under - away == pytest.approx(-12.0, abs=0.5)
    assert rep.loudness_lufs == pytest.approx(-23.0, abs=0.3)
    assert integrated_loudness(out, SR) == pytest.approx(-23.0, abs=0.3)
    assert np.max(np.abs(out)) <= 10 ** (-1 / 20) + 1e-6
    # the stem is the music as it sits in the mix: production + stem = mix
    env_scale = out - res.music
    assert _corr(env_scale.mean(axis=0)[3 * SR:28 * SR], prod[3 * SR:28 * SR]) > 0.999


@pytest.mark.slow
def test_music_only_and_pictures_without_usable_sound(speech):
    prod, _ = _production(speech)
    music = _music()
    only = mix_under(prod[None], music, SR, MixSettings(loudness_lufs=-14.0), music_only=True)
    assert only.report.mode == "music only" and "--music-only" in only.report.why
    assert abs(_corr(only.mix.mean(axis=0)[3 * SR:12 * SR], prod[3 * SR:12 * SR])) < 0.1
    assert only.report.loudness_lufs == pytest.approx(-14.0, abs=0.3)
    none = mix_under(None, music, SR)
    assert none.report.mode == "music only" and "no audio track" in none.report.why
    silent = mix_under(np.zeros((2, music.shape[1]), np.float32), music, SR)
    assert silent.report.mode == "music only" and "silent" in silent.report.why


def test_a_production_that_is_music_is_kept_and_never_ducked():
    """Big Buck Bunny's sound is its orchestral score: no speech, so the new music is never ducked;
    both play level-matched and the report says so (the decision: only speech ducks the music)."""
    prod = load_audio(BBB, sr=SR, mono=False)
    music = _music(prod.shape[1] / SR)
    res = mix_under(prod, music, SR, MixSettings(loudness_lufs=-23.0))  # -23: the limiter stays out of it
    rep = res.report
    assert rep.mode == "mix" and rep.speech_s == 0.0 and rep.anchor == "whole production"
    assert rep.production_music_share >= 0.5 and "mostly music" in rep.why
    m0 = music.mean(axis=0)
    gains = [_music_gain_db(res.mix.mean(axis=0), prod.mean(axis=0), m0, a, a + 5) for a in (2, 12, 22)]
    assert max(gains) - min(gains) < 0.5  # no ducking anywhere (only the overall gain)


# --- through the renderer: pictures of 150 s, tracks shorter and longer ------------------------------------
def _picture_with_speech(tmp: Path, speech, seconds: float, at, audio=True) -> Path:
    wav = tmp / "prod.wav"
    prod, _ = _production(speech, seconds=seconds, at=at)
    sf.write(str(wav), prod, SR)
    out = tmp / f"picture_{int(seconds)}{'_a' if audio else ''}.mp4"
    cmd = ["ffmpeg", "-nostdin", "-y", "-v", "error", "-f", "lavfi",
           "-i", f"testsrc2=size=160x90:rate=10:duration={seconds}"]
    if audio:
        cmd += ["-i", str(wav), "-c:a", "aac", "-b:a", "96k"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", str(out)]
    subprocess.run(cmd, check=True)
    return out


def _tone(path: Path, seconds: float):
    sf.write(str(path), stereo_sines((330, 495), seconds, SR, 0.3).T, SR, subtype="FLOAT")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("track_s", [40.0, 200.0])  # shorter (loops) and longer than the picture
def test_mockup_mp4_of_a_150_s_picture_keeps_the_narration(tmp_path, speech, track_s):
    from supervisor_app.edit.render import render_mp4

    D = 150.0
    at = (10.0, 70.0, 130.0)
    video = _picture_with_speech(tmp_path, speech, D, at)
    dur = probe(video).duration_s
    track = _tone(tmp_path / "track.wav", track_s)
    bar = 2.0
    edit = build_edit(dur, [30.0, 60.0, 90.0, 120.0], track_s, np.arange(0.0, track_s - 1.0, bar),
                      [8 * bar, 12 * bar], prefer_track_ending=False)
    audio = render_mockup_audio(edit, track, video, settings=MixSettings(loudness_lufs=-14.0))
    assert audio.mix.shape[1] == int(round(dur * SR))  # the mockup's sound lasts exactly the picture
    assert [round(a) for a, _ in audio.report.speech_regions_s] == [pytest.approx(t, abs=1) for t in at]
    out = render_mp4(edit, video, track, tmp_path / "m.mp4", audio=audio)
    info = probe(out)
    assert info.duration_s == pytest.approx(dur, abs=0.1)
    got = load_audio(out, sr=SR, mono=True)
    src = load_audio(video, sr=SR, mono=True)
    assert abs(got.size - src.size) <= 0.05 * SR
    for t0 in at:  # the decoded MP4 (AAC) still carries the narration where the music is ducked
        i, j = int((t0 + 1.0) * SR), int((t0 + 8.5) * SR)
        c = np.correlate(got[i:j], src[i - 2048:j + 2048], mode="valid")  # AAC priming delay
        k = int(np.argmax(c)) - 2048
        assert _corr(got[i:j], src[i + k:j + k]) > 0.9
    stereo = load_audio(out, sr=SR, mono=False)
    assert integrated_loudness(stereo, SR) == pytest.approx(-14.0, abs=1.0)  # AAC changes it slightly
    # a picture without sound: the music alone, said so
    mute = _picture_with_speech(tmp_path, speech, 20.0, (), audio=False)
    e2 = Edit([Excerpt(0.0, probe(mute).duration_s, 0.0, probe(mute).duration_s)], probe(mute).duration_s, track_s)
    a2 = render_mockup_audio(e2, track, mute)
    assert a2.report.mode == "music only" and "no audio track" in a2.report.why


def test_cli_mockup_mix_options_are_checked(capsys):
    from supervisor_app.cli.main import main

    assert main(["mockup", str(BBB), str(VIBE), "--out", "m.mp4", "--loudness", "loud"]) == 2
    assert "'web' (-14 LUFS)" in capsys.readouterr().err
