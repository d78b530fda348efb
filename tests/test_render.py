"""Rendering a mockup: sample-exact excerpts, click-free splices, loudness, WAV and MP4 (atomic)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synth_music import stereo_sines
from supervisor_app.edit.edl import Edit, Excerpt, build_edit
from supervisor_app.edit.render import (
    PEAK_CEILING,
    render_audio,
    render_from_array,
    render_mp4,
    render_wav,
    splice_discontinuity_bound,
)
from supervisor_app.infra.jobs import Cancelled
from supervisor_app.media import load_audio, probe

REPO = Path(__file__).resolve().parent.parent
BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
VIBE = REPO / "resources" / "demo" / "music" / "vibe_ace.ogg"
SR = 48000
BAR = 1.87  # 440 Hz x 1.87 s = 822.8 cycles: bar lines fall at different phases of the tone


def _tone_track(path: Path, seconds=40.0, amp=0.5):
    """Stereo test track: 440 Hz in the left channel, 277 Hz in the right (no phase agreement)."""
    x = stereo_sines((440, 277), seconds, SR, amp)
    sf.write(str(path), x.T, SR, subtype="FLOAT")
    return x


@pytest.fixture(scope="module")
def tone(tmp_path_factory):
    p = tmp_path_factory.mktemp("tone") / "tone.wav"
    return p, _tone_track(p)


def _tone_edit():
    db = np.arange(0.0, 39.0, BAR)
    # music segments start at 7 and 13 bars; the path jumps over the middle and repeats the start
    return build_edit(12.0, [3.8, 7.5], 40.0, db, [7 * BAR, 13 * BAR], path=[(0, 0), (2, 1), (0, 2)],
                      prefer_track_ending=False), db


def _max_step(y, n, half=600):
    return float(np.max(np.abs(np.diff(y[:, max(0, n - half):n + half], axis=1))))


def test_excerpts_are_placed_sample_exactly(tone):
    path, x = tone
    edit, _ = _tone_edit()
    y = render_audio(edit, path, sr=SR)
    assert y.shape == (2, int(round(12.0 * SR)))
    for e in edit.excerpts:
        a = int(round(e.video_start_s * SR)) + 2000  # away from crossfades and fades
        b = int(round(min(e.video_end_s, 12.0 - 1.0) * SR)) - 2000  # the last second fades out
        src = int(round(e.music_in_s * SR)) + 2000
        assert b - a > SR
        np.testing.assert_allclose(y[:, a:b], x[:, src:src + (b - a)], atol=1e-5)


def test_splices_make_no_discontinuity_beyond_the_bound(tone):
    # bound (see splice_discontinuity_bound): inside an equal-power crossfade the mix's sample step is at
    # most sqrt(2) x the sources' own local step plus the gain slope; a hard cut jumps by up to 2 x peak
    path, x = tone
    edit, _ = _tone_edit()
    assert len(edit.excerpts) >= 3
    y = render_audio(edit, path, sr=SR)
    hard = render_from_array(edit, x, SR, crossfade_s=1 / SR)  # 1-sample "crossfade": a hard cut
    bounds = splice_discontinuity_bound(edit, x, SR)
    assert len(bounds) == len(edit.excerpts) - 1
    for b in bounds:
        n = int(round(b["t_s"] * SR))
        assert _max_step(y, n) <= b["bound"] + 1e-6
        assert b["bound"] < 2.0 * b["local_step"]  # the bound is tight: about sqrt(2) x the music's own step
        assert _max_step(hard, n) > b["bound"]  # the check can fail: a hard cut here breaks it


def test_real_track_splices_stay_within_the_bound():
    audio = load_audio(VIBE, sr=SR, mono=False)
    db = np.arange(0.05, 60.0, 1.845)  # a synthetic bar grid at the track's tempo (130 bpm, 4/4)
    edit = build_edit(30.0, [2.5, 6.1, 9.0, 13.2, 17.8, 21.0, 25.4], 61.45, db, [15.0, 30.0, 45.0],
                      path=[(0, 0), (0, 1), (1, 2), (1, 3), (2, 4), (3, 5), (3, 6), (3, 7)])
    y = render_from_array(edit, audio, SR)
    for b in splice_discontinuity_bound(edit, audio, SR):
        assert _max_step(y, int(round(b["t_s"] * SR))) <= b["bound"] + 1e-6


def test_head_and_tail_fade(tone):
    path, x = tone
    edit, _ = _tone_edit()
    y = render_audio(edit, path, sr=SR)
    assert abs(y[0, 0]) < 0.01 and abs(y[0, -1]) < 0.01  # no click at the start or the end
    assert edit.ending == "mid-phrase"
    # a mid-phrase ending fades out over end_fade_s (1 s): half-way through, the level is down ~3 dB
    tail = y[0, -SR:]
    assert np.max(np.abs(tail[-SR // 10:])) < 0.25 * np.max(np.abs(tail[:SR // 10]))


def test_loudness_normalisation(tone):
    import pyloudnorm

    path, _ = tone
    edit, _ = _tone_edit()
    y = render_audio(edit, path, sr=SR, loudness_lufs=-30.0)
    assert pyloudnorm.Meter(SR).integrated_loudness(y.T.astype(np.float64)) == pytest.approx(-30.0, abs=0.5)
    loud = render_audio(edit, path, sr=SR, loudness_lufs=0.0)  # unreachable without clipping
    assert np.max(np.abs(loud)) <= PEAK_CEILING + 1e-6


def test_render_wav_is_atomic_and_reads_back(tone, tmp_path):
    path, _ = tone
    edit, _ = _tone_edit()
    out = render_wav(edit, path, tmp_path / "sub" / "music.wav")
    data, sr = sf.read(str(out))
    assert sr == SR and data.shape == (int(round(12.0 * SR)), 2)
    assert sorted(p.name for p in out.parent.iterdir()) == ["music.wav"]  # no temporary file left


def _make_video(path: Path, codec: str, seconds=3.0):
    cmd = ["ffmpeg", "-nostdin", "-y", "-v", "error",
           "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=24:duration={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency=300:duration={seconds}"]
    if codec == "h264":
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    else:
        cmd += ["-c:v", "mpeg4"]
    cmd += ["-c:a", "aac", "-shortest", str(path)]
    subprocess.run(cmd, check=True)
    return path


@pytest.mark.parametrize("codec, suffix", [("h264", ".mp4"), ("mpeg4", ".mkv")])
def test_render_mp4_plays(tone, tmp_path, codec, suffix):
    path, _ = tone
    video = _make_video(tmp_path / f"in{suffix}", codec)
    dur = probe(video).duration_s
    db = np.arange(0.0, 39.0, BAR)
    edit = build_edit(dur, [1.5], 40.0, db, [7 * BAR], path=[(0, 0), (1, 1)])
    seen = []
    out = render_mp4(edit, video, path, tmp_path / "out" / "mockup.mp4", progress=lambda f, s: seen.append(f))
    info = probe(out)
    assert info.has_video and info.has_audio
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert info.duration_s == pytest.approx(dur, abs=0.1)
    audio = load_audio(out, sr=SR, mono=True)  # the audio decodes, and is the music (not the video's sine)
    assert audio.size / SR == pytest.approx(dur, abs=0.1)
    assert seen and seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)
    assert sorted(p.name for p in out.parent.iterdir()) == ["mockup.mp4"]


def test_render_mp4_cancel_leaves_nothing(tone, tmp_path):
    path, _ = tone
    video = _make_video(tmp_path / "in.mp4", "h264")
    edit = Edit([Excerpt(0.0, probe(video).duration_s, 0.0, probe(video).duration_s)], probe(video).duration_s, 40.0)
    out_dir = tmp_path / "out"
    encoding = []  # cancelled once ffmpeg runs (its first progress report)
    with pytest.raises(Cancelled):
        render_mp4(edit, video, path, out_dir / "m.mp4", progress=lambda f, s: encoding.append(f) if f > 0.05 else None,
                   should_cancel=lambda: bool(encoding))
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_render_mp4_refuses_an_audio_file_as_video(tone, tmp_path):
    from supervisor_app.infra.errors import NoVideoStreamError

    path, _ = tone
    edit = Edit([Excerpt(0.0, 2.0, 0.0, 2.0)], 2.0, 40.0)
    with pytest.raises(NoVideoStreamError):
        render_mp4(edit, path, path, tmp_path / "m.mp4")


def test_cli_refuses_a_non_mp4_output(capsys):
    from supervisor_app.cli.main import main

    assert main(["mockup", str(BBB), str(VIBE), "--out", "mockup.avi"]) == 2
    assert "give --out a name ending in .mp4" in capsys.readouterr().err


@pytest.mark.slow
def test_bbb_under_vibe_ace_end_to_end(tmp_path):
    """The real fixtures through the whole pipeline: TransNet cuts, madmom downbeats, MSAF sections,
    the default alignment, the MP4 and the three timelines."""
    from supervisor_app.services.mockup import run_mockup, track_events

    res = run_mockup(BBB, VIBE, tmp_path / "m.mp4", otio_path=tmp_path / "m.otio", edl=tmp_path / "m.edl",
                     fcpxml=tmp_path / "m.xml", wav=tmp_path / "m.wav", music_wav=tmp_path / "music.wav",
                     edit_json=tmp_path / "m.json", sync_points_s=[20.0])
    # the sound: BBB's own score (no speech) kept under the music, normalised to -14 LUFS (web)
    assert res.sound.mode == "mix" and res.sound.speech_s == 0.0 and res.sound.production_music_share >= 0.5
    assert res.sound.loudness_lufs == pytest.approx(-14.0, abs=0.3)
    mix, stem = load_audio(res.files["wav"], sr=SR, mono=False), load_audio(res.files["music_wav"], sr=SR, mono=False)
    prod = load_audio(BBB, sr=SR, mono=False)[:, :mix.shape[1]]
    rest = (mix - stem).mean(axis=0)  # the mix minus the music stem is the production sound
    assert np.corrcoef(rest[SR:-SR], prod.mean(axis=0)[SR:-SR])[0, 1] > 0.99
    assert mix.shape[1] == int(round(probe(BBB).duration_s * SR))
    edit = res.edit
    info = probe(res.files["mp4"])
    assert info.has_video and info.has_audio and info.duration_s == pytest.approx(probe(BBB).duration_s, abs=0.1)
    assert abs(edit.excerpts[-1].video_end_s - probe(BBB).duration_s) <= 1 / 24
    db = track_events(VIBE).downbeats_s  # the madmom downbeats the pipeline used (read from its cache)
    for k, e in enumerate(edit.excerpts):
        if k > 0:
            assert np.min(np.abs(db - e.music_in_s)) <= 0.010
        if k < len(edit.excerpts) - 1 and "mid-bar" not in e.reason:
            assert np.min(np.abs(db - e.music_out_s)) <= 0.010
    assert np.min(np.abs(edit.music_to_video(db) - 20.0)) <= 0.010
    assert res.sync.n_cuts_on_downbeat >= 1
    for key in ("otio", "edl", "fcpxml", "wav", "music_wav", "json"):
        assert Path(res.files[key]).stat().st_size > 0
