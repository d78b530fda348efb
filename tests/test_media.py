"""Media layer on the real fixtures, on every supported container, and on bad inputs."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from supervisor_app.infra import errors
from supervisor_app.cli.main import main as cli_main
from supervisor_app.media import load_audio, probe, read_frames, thumbnail

from fixture_paths import MUSIC, VIDEO, DATA

FIXTURES = sorted(MUSIC.iterdir()) + sorted(VIDEO.iterdir()) + [DATA / "madmom_sample.wav"]
FIXTURES = [p for p in FIXTURES if p.suffix in {".ogg", ".mp3", ".wav", ".webm"}]


def ffprobe_duration(path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-y", *map(str, args)], check=True)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_probe_and_decode_match_ffprobe(path):
    info = probe(path)
    ref = ffprobe_duration(path)
    assert abs(info.duration_s - ref) <= 0.05
    assert info.has_audio
    audio = load_audio(path, sr=22050)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / 22050 - ref) <= 0.05
    assert np.isfinite(audio).all() and 0.01 < np.abs(audio).max() < 2.0  # lossy codecs overshoot 1.0 slightly


@pytest.fixture(scope="module")
def formats(tmp_path_factory):
    """The same 4-second excerpt in every container the app promises to read."""
    d = tmp_path_factory.mktemp("formats")
    src = MUSIC / "vibe_ace.ogg"
    out = {}
    for ext, codec in [("wav", []), ("flac", []), ("ogg", []), ("opus", ["-c:a", "libopus"]), ("mp3", []),
                       ("m4a", ["-c:a", "aac"]), ("aac", ["-c:a", "aac"])]:
        p = d / f"x.{ext}"
        ffmpeg("-ss", 10, "-t", 4, "-i", src, "-vn", *codec, p)  # vibe_ace carries cover art
        out[ext] = p
    vid = VIDEO / "big_buck_bunny_0_30.webm"
    for ext, codec in [("mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]),
                       ("mov", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]),
                       ("mkv", ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "libvorbis"]),
                       ("webm", ["-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus"])]:
        p = d / f"v.{ext}"
        ffmpeg("-t", 4, "-i", vid, "-vf", "scale=320:180", *codec, p)
        out[ext + "_video"] = p
    return out


@pytest.mark.parametrize("key", ["wav", "flac", "ogg", "opus", "mp3", "m4a", "aac",
                                 "mp4_video", "mov_video", "mkv_video", "webm_video"])
def test_every_container_decodes(formats, key):
    path = formats[key]
    info = probe(path)
    assert abs(info.duration_s - ffprobe_duration(path)) <= 0.05
    stereo = load_audio(path, sr=16000, mono=False)
    assert stereo.ndim == 2 and stereo.shape[0] in (1, 2)
    assert abs(stereo.shape[1] / 16000 - 4.0) < 0.1
    if key.endswith("_video"):
        assert info.has_video and info.fps and info.width == 320
        frames = list(read_frames(path, fps=1.0, size=(64, 36)))
        assert len(frames) == 4 and frames[0][1].shape == (36, 64, 3)


def test_read_frames_native_rate_and_window(bbb_video):
    info = probe(bbb_video)
    times = [t for t, _ in read_frames(bbb_video, size=(48, 27), start_s=5.0, end_s=7.0)]
    assert len(times) == pytest.approx(2 * info.fps, abs=1)
    assert times[0] >= 5.0 - 1e-6 and times[-1] < 7.0
    assert np.all(np.diff(times) > 0)


def test_read_frames_one_hz_is_sampled_not_dropped(bbb_video):
    times = [t for t, _ in read_frames(bbb_video, fps=1.0, size=(32, 18))]
    assert len(times) == 30
    assert np.allclose(np.diff(times), 1.0, atol=0.05)


def test_thumbnail_is_the_frame_at_that_time(bbb_video):
    frames = dict(read_frames(bbb_video, size=(64, 36), start_s=12.0, end_s=12.5))
    t0 = min(frames)
    th = thumbnail(bbb_video, t0, size=(64, 36))
    assert th.shape == (36, 64, 3)
    assert np.abs(th.astype(int) - frames[t0].astype(int)).mean() < 2.0


def test_audio_window_equals_slice_of_whole():
    path = MUSIC / "vibe_ace.ogg"
    whole = load_audio(path, sr=22050)
    part = load_audio(path, sr=22050, offset_s=20.0, duration_s=3.0)
    ref = whole[20 * 22050: 23 * 22050]
    assert part.shape == ref.shape
    assert np.abs(part - ref).max() < 1e-3


# --- bad inputs -------------------------------------------------------------------------------
@pytest.fixture()
def bad(tmp_path):
    files = {}
    (tmp_path / "empty.wav").write_bytes(b"")
    files["empty"] = tmp_path / "empty.wav"
    (tmp_path / "notes.mp3").write_text("This is not music, just a text file renamed .mp3\n" * 50)
    files["text"] = tmp_path / "notes.mp3"
    mp4 = tmp_path / "full.mp4"
    ffmpeg("-t", 6, "-i", VIDEO / "big_buck_bunny_0_30.webm", "-vf", "scale=320:180", "-c:v", "libx264",
           "-preset", "ultrafast", "-c:a", "aac", mp4)
    data = mp4.read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    files["truncated_mp4"] = tmp_path / "truncated.mp4"
    mp3 = (MUSIC / "mindless_cut.mp3").read_bytes()
    (tmp_path / "truncated.mp3").write_bytes(mp3[: len(mp3) // 3])
    files["truncated_mp3"] = tmp_path / "truncated.mp3"
    ffmpeg("-t", 3, "-i", VIDEO / "big_buck_bunny_0_30.webm", "-an", "-vf", "scale=160:90", "-c:v", "libx264",
           "-preset", "ultrafast", tmp_path / "silent_video.mp4")
    files["no_audio"] = tmp_path / "silent_video.mp4"
    files["audio_only"] = MUSIC / "vibe_ace.ogg"
    files["missing"] = tmp_path / "nope.ogg"
    files["folder"] = tmp_path
    return files


def test_bad_inputs_raise_typed_errors(bad):
    with pytest.raises(errors.ZeroDurationError):
        probe(bad["empty"])
    with pytest.raises(errors.NotMediaError):
        probe(bad["text"])
    with pytest.raises(errors.NotMediaError):
        load_audio(bad["text"])
    with pytest.raises(errors.FileMissingError):
        probe(bad["missing"])
    with pytest.raises(errors.NotMediaError):
        probe(bad["folder"])
    with pytest.raises(errors.NoAudioStreamError):
        load_audio(bad["no_audio"])
    with pytest.raises(errors.NoVideoStreamError):
        next(read_frames(bad["audio_only"]))
    with pytest.raises(errors.NoVideoStreamError):
        thumbnail(bad["audio_only"], 1.0)


def test_truncated_mp4_is_reported_as_damaged(bad):
    with pytest.raises(errors.CorruptMediaError) as e:
        probe(bad["truncated_mp4"])
    assert "truncated.mp4" in str(e.value)


def test_truncated_mp3_is_either_a_clear_error_or_its_real_length(bad):
    """A cut mp3 is still a valid, shorter stream: we must never hang, crash or invent samples."""
    try:
        info = probe(bad["truncated_mp3"])
    except errors.CorruptMediaError:
        return
    audio = load_audio(bad["truncated_mp3"], sr=8000)
    assert abs(len(audio) / 8000 - info.duration_s) < 0.5
    assert info.duration_s < 63.4 / 3 + 1.0


def test_error_messages_are_one_sentence(bad):
    for key in ("empty", "text", "missing", "truncated_mp4"):
        with pytest.raises(errors.MediaError) as e:
            probe(bad[key])
        msg = str(e.value)
        assert msg.endswith(".") and "\n" not in msg and "Traceback" not in msg


def test_cli_probe_ok_and_errors_exit_2(bad, capsys):
    assert cli_main(["probe", str(VIDEO / "big_buck_bunny_0_30.webm"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["has_video"] and out["fps"] == 24.0
    assert cli_main(["probe", str(bad["text"])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_cli_subprocess_no_traceback(bad):
    r = subprocess.run([sys.executable, "-m", "supervisor_app.cli.main", "probe", str(bad["truncated_mp4"])],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "damaged" in r.stderr
    r = subprocess.run([sys.executable, "-m", "supervisor_app.cli.main", "--debug", "probe", str(bad["truncated_mp4"])],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_version():
    r = subprocess.run([sys.executable, "-m", "supervisor_app.cli.main", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "supervisor-app" in r.stdout


def test_truncated_ogg_and_fake_ogg_are_typed_errors(tmp_path):
    data = (MUSIC / "vibe_ace.ogg").read_bytes()
    (tmp_path / "cut.ogg").write_bytes(data[: len(data) // 4])
    (tmp_path / "fake.ogg").write_text("not an ogg file\n" * 20)
    (tmp_path / "head.ogg").write_bytes(data[:200])
    for name in ("cut.ogg", "fake.ogg", "head.ogg"):
        try:
            info = probe(tmp_path / name)
        except errors.MediaError as e:
            assert str(e).endswith(".")
            continue
        # a cut Ogg may still be a valid, shorter stream: then it must decode to its real length
        audio = load_audio(tmp_path / name, sr=8000)
        assert abs(len(audio) / 8000 - info.duration_s) < 1.0


@pytest.mark.parametrize("name, sr, mono", [("vibe_ace.ogg", 22050, True), ("mindless_cut.mp3", 44100, False),
                                             ("mindless_cut.mp3", 16000, True)])
def test_load_audio_resamples_in_blocks_with_the_samples_of_one_call_per_frame(name, sr, mono):
    """load_audio hands the resampler ~5 s blocks (media.audio.batched_frames): the samples are those of the
    plain one-resample-call-per-decoded-frame loop, to the bit."""
    import av

    from fixture_paths import MUSIC
    from supervisor_app.media import load_audio

    path = MUSIC / name
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        res = av.AudioResampler(format="flt", layout="mono" if mono else None, rate=sr)
        parts = [o.to_ndarray() for f in c.decode(stream) for o in res.resample(f)]
        parts += [o.to_ndarray() for o in res.resample(None)]
    n_ch = 1 if mono else stream.codec_context.channels
    ref = np.concatenate([p.reshape(-1, n_ch).T for p in parts], axis=1).astype(np.float32)
    got = load_audio(path, sr=sr, mono=mono)
    assert np.array_equal(got, ref[0] if mono else ref)
