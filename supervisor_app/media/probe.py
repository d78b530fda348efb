"""``probe(path)``: what is in a media file (duration, streams, fps, size, codecs)."""
from __future__ import annotations

import struct
from dataclasses import asdict, dataclass
from pathlib import Path

import av

from supervisor_app.infra.errors import (
    CorruptMediaError,
    NotMediaError,
    TruncatedMediaError,
    ZeroDurationError,
)
from supervisor_app.media._open import (
    decoder_name,
    ffmpeg_error,
    file_size,
    is_attached_picture,
    open_container,
)

# A file whose last decodable packet ends this long before its declared duration is truncated.
_TRUNCATION_TOLERANCE_S = 1.0


@dataclass(frozen=True)
class MediaInfo:
    path: str
    duration_s: float
    container: str
    size_bytes: int
    has_audio: bool
    has_video: bool
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    video_codec: str | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    #: Things that are odd but do not stop the file from being used, one sentence each (e.g. an audio
    #: track that runs on past the picture, cover art stored as a one-frame video stream).
    warnings: tuple = ()

    def to_dict(self) -> dict:
        return asdict(self)


def _stream_duration_s(stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _last_packet_end_s(container, stream, declared_s: float) -> float | None:
    """Seek near the declared end and return the end time of the last packet that demuxes."""
    target = max(0.0, declared_s - 3.0)
    try:
        container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
    except av.error.FFmpegError:
        return None
    end = None
    try:
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            t = float(packet.pts * stream.time_base)
            if packet.duration:
                t += float(packet.duration * stream.time_base)
            end = t if end is None else max(end, t)
    except av.error.FFmpegError:
        pass
    return end


def _scan_duration_s(container, stream) -> float:
    """Duration by demuxing every packet (containers that declare none, e.g. raw streams)."""
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        t = float(packet.pts * stream.time_base)
        if packet.duration:
            t += float(packet.duration * stream.time_base)
        end = max(end, t)
    return end


def probe(path: str | Path) -> MediaInfo:
    """Describe a media file. Raises a typed MediaError (missing, unreadable, not media, corrupt, truncated,
    empty).

    A file is accepted by what decodes: when its streams end at different times (an audio track that runs
    on past the picture, common from cameras and VFR sources), or when its only "video" is a still
    picture (cover art that FFmpeg turned into a one-frame video stream), it is accepted and
    ``MediaInfo.warnings`` says so. A file whose every stream stops well before the declared duration, or
    an Ogg file whose last page is cut or lacks its end-of-stream mark, is truncated
    (:class:`TruncatedMediaError`).
    """
    path = Path(path)
    warnings: list[str] = []
    with open_container(path) as c:
        audio = next((s for s in c.streams.audio), None)
        video = next((s for s in c.streams.video if not is_attached_picture(s)), None)
        if audio is None and video is None:
            raise NotMediaError(path)
        info = dict(path=str(path), container=c.format.name, size_bytes=file_size(path),
                    has_audio=audio is not None, has_video=video is not None)
        if audio is not None:
            info.update(audio_codec=decoder_name(audio, path), sample_rate=int(audio.codec_context.sample_rate or 0) or None,
                        channels=int(audio.codec_context.channels or 0) or None)
        if video is not None:
            rate = video.average_rate or video.guessed_rate or video.base_rate
            info.update(video_codec=decoder_name(video, path), fps=float(rate) if rate else None,
                        width=int(video.codec_context.width or 0) or None, height=int(video.codec_context.height or 0) or None)
        if c.duration is not None and c.duration > 0:
            declared = c.duration / av.time_base
        else:
            declared = max(filter(None, [_stream_duration_s(s) for s in (audio, video) if s is not None]), default=None)
        try:
            if declared is None or declared <= 0:
                declared = _scan_duration_s(c, video if video is not None else audio)
            else:
                ends = {s: _last_packet_end_s(c, s, declared) for s in (audio, video) if s is not None}
                found = [e for e in ends.values() if e is not None]
                if not found:
                    raise CorruptMediaError(path, "no data where the file says it has some")
                reached = max(found)
                if reached < declared - _TRUNCATION_TOLERANCE_S:
                    raise TruncatedMediaError(path, f"it stops at {reached:.1f} s of {declared:.1f} s")
                if audio is not None and video is not None:
                    v_end, a_end = ends[video], ends[audio]
                    if (v_end is None or v_end < reached - _TRUNCATION_TOLERANCE_S) and _single_picture(c, video):
                        info.update(has_video=False, video_codec=None, fps=None, width=None, height=None)
                        warnings.append("Its only picture is a still image (cover art); it is used as an audio file.")
                    elif v_end is not None and v_end < reached - _TRUNCATION_TOLERANCE_S:
                        warnings.append(f"Its audio runs {reached - v_end:.1f} s past the end of its picture "
                                        f"({v_end:.1f} s).")
                    elif a_end is not None and a_end < reached - _TRUNCATION_TOLERANCE_S:
                        warnings.append(f"Its audio stops {reached - a_end:.1f} s before the end of its picture "
                                        f"(at {a_end:.1f} s).")
        except av.error.FFmpegError as e:
            raise ffmpeg_error(path, e) from None
        if c.format.name == "ogg":
            problem = ogg_tail_problem(path)
            if problem:
                raise TruncatedMediaError(path, problem)
        if not declared or declared <= 0:
            raise ZeroDurationError(path)
        return MediaInfo(duration_s=float(declared), warnings=tuple(warnings), **info)


def _single_picture(container, stream) -> bool:
    """True when ``stream`` holds one picture only (cover art muxed as a video stream, e.g. in Ogg)."""
    try:
        container.seek(0)
    except av.error.FFmpegError:
        return False
    n = 0
    try:
        for packet in container.demux(stream):
            if packet.size:
                n += 1
                if n > 1:
                    return False
    except av.error.FFmpegError:
        pass
    return n == 1


_OGG_MAX_PAGE = 27 + 255 + 255 * 255


def ogg_tail_problem(path: str | Path) -> str | None:
    """Why an Ogg file looks truncated ('its last page is cut off', ...), or None when its end is intact.

    Every Ogg page starts with ``OggS``, version 0, and a segment table giving its length; a complete
    stream ends with a page flagged end-of-stream. A copy or download that stopped early ends inside a
    page or on a page without that flag.
    """
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        start = max(0, size - 2 * _OGG_MAX_PAGE)
        f.seek(start)
        tail = f.read()
    i = tail.rfind(b"OggS")
    while i >= 0:
        if len(tail) - i >= 27 and tail[i + 4] == 0:
            break
        if len(tail) - i < 27:  # a header cut off by the end of the file
            return "its last page is cut off"
        i = tail.rfind(b"OggS", 0, i)
    if i < 0:
        return None  # no page in the tail: not ours to judge (FFmpeg decoded it)
    flags = tail[i + 5]
    n_seg = tail[i + 26]
    table = tail[i + 27:i + 27 + n_seg]
    if len(table) < n_seg:
        return "its last page is cut off"
    end = i + 27 + n_seg + sum(table)
    if end > len(tail):
        return "its last page is cut off"
    if end == len(tail) and not flags & 0x04:
        granule = struct.unpack_from("<q", tail, i + 6)[0]
        if granule != -1:
            return "it ends without the end-of-stream mark"
    return None
