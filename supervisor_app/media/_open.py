"""Opening a container with every user-caused failure mapped to a typed error."""
from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path

import av

from supervisor_app.infra.errors import (
    CorruptMediaError,
    FileMissingError,
    FileUnreadableError,
    NoAudioStreamError,
    NotMediaError,
    NotRegularFileError,
    UnsupportedCodecError,
    ZeroDurationError,
)


_SPECIAL_KINDS = ((stat.S_ISFIFO, "named pipe"), (stat.S_ISCHR, "device"), (stat.S_ISBLK, "device"),
                  (stat.S_ISSOCK, "socket"))


def check_file(path: str | Path) -> Path:
    """Raise a typed error unless ``path`` is an existing, readable, non-empty regular file.

    Pipes, devices and sockets are refused at once, before anything opens them (opening a named pipe
    blocks until a writer comes; a device never ends).
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise FileMissingError(p) from None
    except PermissionError:
        raise FileUnreadableError(p, "permission denied: a folder on its path cannot be entered") from None
    except OSError as e:
        raise FileUnreadableError(p, e.strerror or str(e)) from None
    if stat.S_ISDIR(st.st_mode):
        raise NotMediaError(p)
    for test, kind in _SPECIAL_KINDS:
        if test(st.st_mode):
            raise NotRegularFileError(p, kind)
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except PermissionError:
        raise FileUnreadableError(p, "permission denied") from None
    except OSError as e:
        raise FileUnreadableError(p, e.strerror or str(e)) from None
    if not head:
        raise ZeroDurationError(p)
    return p


_MAGICS = (
    (4, b"ftyp"),  # mp4 / mov / m4a
    (0, b"OggS"), (0, b"fLaC"), (0, b"RIFF"), (0, b"ID3"), (0, b"FORM"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM (EBML)
    (0, b"\x30\x26\xb2\x75"),  # ASF / WMA
)


def looks_like_media(path: Path) -> bool:
    """True when the file starts like a media container (so a decode failure means damage, not 'not media')."""
    with open(path, "rb") as f:
        head = f.read(16)
    if any(head[off:off + len(m)] == m for off, m in _MAGICS):
        return True
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0  # raw MPEG audio frame sync


def is_attached_picture(stream) -> bool:
    """Cover art in mp3/m4a shows up as a one-frame video stream: it is not a video."""
    try:
        return bool(stream.disposition & av.stream.Disposition.attached_pic)
    except Exception:  # pragma: no cover - older PyAV
        return False


@contextmanager
def open_container(path: str | Path):
    """``av.open`` with errors translated; yields the container and closes it."""
    p = check_file(path)
    try:
        container = av.open(str(p), mode="r", metadata_errors="ignore")
    except av.error.InvalidDataError:
        if looks_like_media(p):
            raise CorruptMediaError(p) from None
        raise NotMediaError(p) from None
    except av.error.PermissionError:
        raise FileUnreadableError(p, "permission denied") from None
    except av.error.FileNotFoundError:
        raise FileMissingError(p) from None
    except av.error.FFmpegError as e:  # EOF, invalid values, unknown FFmpeg failures on open
        raise CorruptMediaError(p, _short(e)) from None
    except (ValueError, OSError) as e:
        raise CorruptMediaError(p, _short(e)) from None
    try:
        yield container
    finally:
        container.close()


def decoder_name(stream, path) -> str:
    """The stream's codec name; raises UnsupportedCodecError when FFmpeg has no decoder for it."""
    ctx = stream.codec_context
    name = getattr(ctx, "name", None) if ctx is not None else None
    if not name or name == "none":
        raise UnsupportedCodecError(path, getattr(stream, "codec_tag", "") or "unknown")
    return name


def first_audio_stream(container, path):
    """The first audio stream of an open container, its decoder checked, decoded with FFmpeg's threads;
    raises NoAudioStreamError when there is none."""
    if not container.streams.audio:
        raise NoAudioStreamError(path)
    stream = container.streams.audio[0]
    decoder_name(stream, path)
    stream.thread_type = "AUTO"
    return stream


def _short(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    msg = msg.split(":")[0].strip() if len(msg) > 80 else msg
    return msg


def ffmpeg_error(path, e: Exception) -> CorruptMediaError:
    return CorruptMediaError(path, _short(e))


def file_size(path) -> int:
    return os.stat(path).st_size
