"""``probe(path)``: what is in a media file (duration, streams, fps, size, codecs)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import av

from ..errors import CorruptMediaError, NotMediaError, ZeroDurationError
from ._open import decoder_name, ffmpeg_error, file_size, is_attached_picture, open_container

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
    """Describe a media file. Raises a typed MediaError (missing, unreadable, not media, corrupt, empty)."""
    path = Path(path)
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
        main = video if video is not None else audio
        if c.duration is not None and c.duration > 0:
            declared = c.duration / av.time_base
        else:
            declared = max(filter(None, [_stream_duration_s(s) for s in (audio, video) if s is not None]), default=None)
        try:
            if declared is None or declared <= 0:
                declared = _scan_duration_s(c, main)
            else:
                end = _last_packet_end_s(c, main, declared)
                if end is None:
                    raise CorruptMediaError(path, "no data where the file says it has some")
                if end < declared - _TRUNCATION_TOLERANCE_S:
                    raise CorruptMediaError(path, f"it stops at {end:.1f} s of {declared:.1f} s")
        except av.error.FFmpegError as e:
            raise ffmpeg_error(path, e) from None
        if not declared or declared <= 0:
            raise ZeroDurationError(path)
        return MediaInfo(duration_s=float(declared), **info)
