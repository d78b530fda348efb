"""A corpus of bad (and awkward but valid) media, made with ffmpeg at test time (nothing committed).

``build_corpus(folder)`` writes every case and returns ``{name: Path}``. Each file is small (a few
seconds, tiny pictures) so the whole corpus takes a few seconds to make on 2 cores.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

FFMPEG = shutil.which("ffmpeg")
NON_UTF8_NAME = b"caf\xe9 \xff.ogg"  # latin-1 bytes: not valid UTF-8


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def tone(out: Path, seconds: float = 6.0, rate: int = 22050, extra: tuple = ()) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"sine=f=440:d={seconds}:sample_rate={rate}", *extra, str(out))
    return out


def picture(out: Path, seconds: float, size: str = "64x36", fps: int = 10, extra: tuple = ()) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}:duration={seconds}", *extra,
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out))
    return out


def build_corpus(folder: str | Path) -> dict[str, Path]:
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    c: dict[str, Path] = {}
    # valid references
    c["good_ogg"] = tone(d / "good.ogg", 8.0, extra=("-c:a", "libvorbis"))
    c["good_mp4"] = d / "good.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x36:rate=10:duration=6", "-f", "lavfi", "-i",
           "sine=f=330:d=6:sample_rate=22050", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-shortest", str(c["good_mp4"]))
    # many channels (PyAV planar frames of >= 8 channels crash to_ndarray)
    pan8 = "pan=7.1|" + "|".join(f"c{i}=c0" for i in range(8))
    c["ch8_flac"] = tone(d / "ch8.flac", 5.0, rate=96000, extra=("-af", pan8))
    pan16 = "pan=hexadecagonal|" + "|".join(f"c{i}=c0" for i in range(16))
    c["ch16_wav"] = tone(d / "ch16.wav", 2.0, rate=22050, extra=("-af", pan16))
    # non-UTF-8 file name
    raw = os.path.join(os.fsencode(d), NON_UTF8_NAME)
    shutil.copyfile(c["good_ogg"], raw)
    c["non_utf8_name"] = Path(os.fsdecode(raw))
    # not regular files
    fifo = d / "pipe.ogg"
    os.mkfifo(fifo)
    c["fifo"] = fifo
    c["device"] = Path("/dev/zero")
    c["folder"] = d / "a_folder.ogg"
    c["folder"].mkdir()
    # not media / empty / damaged
    c["empty"] = d / "empty.mp3"
    c["empty"].write_bytes(b"")
    c["text"] = d / "notes.mp3"
    c["text"].write_text("this is not music\n" * 50)
    c["garbage_ogg"] = d / "garbage.ogg"
    c["garbage_ogg"].write_bytes(b"OggS" + os.urandom(4000))
    data = c["good_ogg"].read_bytes()
    c["truncated_ogg"] = d / "truncated.ogg"
    c["truncated_ogg"].write_bytes(data[: len(data) // 2])
    mp4 = c["good_mp4"].read_bytes()
    c["truncated_mp4"] = d / "truncated.mp4"
    c["truncated_mp4"].write_bytes(mp4[: len(mp4) // 3])
    c["missing"] = d / "does_not_exist.ogg"
    # valid but awkward
    c["audio_longer_mp4"] = d / "audio_longer.mp4"  # audio 1.9 s past the video (cameras, VFR sources)
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x36:rate=10:duration=4", "-f", "lavfi", "-i",
           "sine=f=330:d=5.9:sample_rate=22050", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", str(c["audio_longer_mp4"]))
    c["ogg_cover"] = d / "cover.ogg"  # cover art turned into a one-frame theora stream
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=6:sample_rate=22050", "-f", "lavfi", "-i",
           "color=c=red:size=64x64:rate=1:duration=1", "-map", "0:a", "-map", "1:v", "-frames:v", "1",
           "-c:a", "libvorbis", "-c:v", "libtheora", str(c["ogg_cover"]))
    c["video_no_audio"] = picture(d / "silent_picture.mp4", 5.0)
    c["one_frame_video"] = picture(d / "one_frame.mp4", 0.1)
    c["static_video"] = d / "static.mp4"  # no cuts at all
    ffmpeg("-f", "lavfi", "-i", "color=c=gray:size=64x36:rate=10:duration=20", "-c:v", "libx264", "-preset",
           "ultrafast", "-pix_fmt", "yuv420p", str(c["static_video"]))
    return c


def long_static_video(out: Path, seconds: float) -> Path:
    """A static picture ``seconds`` long at 1 frame per second (cheap to make even for hours)."""
    ffmpeg("-f", "lavfi", "-i", f"color=c=gray:size=32x18:rate=1:duration={seconds}", "-c:v", "libx264",
           "-preset", "ultrafast", "-g", "600", "-pix_fmt", "yuv420p", str(out))
    return out
