"""Video frames as RGB arrays: ``read_frames`` (a streaming iterator) and ``thumbnail``."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from supervisor_app.infra.errors import CorruptMediaError, NoVideoStreamError
from supervisor_app.media._open import decoder_name, ffmpeg_error, is_attached_picture, open_container


def _video_stream(container, path):
    stream = next((s for s in container.streams.video if not is_attached_picture(s)), None)
    if stream is None:
        raise NoVideoStreamError(path)
    decoder_name(stream, path)
    return stream


def _to_rgb(frame, size: tuple[int, int] | None, reformatter: VideoReformatter | None = None) -> np.ndarray:
    """RGB array of ``frame``, rescaled to ``size=(width, height)`` when given. Pass one
    ``reformatter`` for a stream of frames: ``VideoFrame.reformat`` builds a new swscale context
    (and its filter, ~0.7 ms for 720p -> 48x27) for every frame; a shared one reuses it (same
    pixels)."""
    if size is None:
        return frame.to_ndarray(format="rgb24")
    w, h = int(size[0]), int(size[1])
    r = reformatter if reformatter is not None else VideoReformatter()
    return r.reformat(frame, width=w, height=h, format="rgb24", interpolation="BILINEAR").to_ndarray()


def read_frames(path: str | Path, fps: float | None = None, size: tuple[int, int] | None = None,
                start_s: float = 0.0, end_s: float | None = None, *,
                decoder_threads: int | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(t_s, frame)`` with ``frame`` an ``(H, W, 3)`` uint8 RGB array.

    ``fps=None`` yields every decoded frame at the native rate; otherwise one frame per
    ``1/fps`` seconds (the first frame whose timestamp reaches each sampling time; ``t_s`` is
    that frame's own timestamp). ``size=(width, height)`` rescales (bilinear). Frames stream from
    the decoder: memory stays at one frame whatever the film's length.

    ``decoder_threads``: ``None`` (FFmpeg's own frame and slice threads) or a count; ``1`` decodes
    in the calling thread only (the same frames, less CPU in all, for callers that keep the other
    cores busy themselves).
    """
    path = Path(path)
    with open_container(path) as c:
        stream = _video_stream(c, path)
        if decoder_threads is None:
            stream.thread_type = "AUTO"
        else:
            stream.codec_context.thread_count = max(1, int(decoder_threads))
            stream.thread_type = "SLICE" if int(decoder_threads) == 1 else "AUTO"
        tb = stream.time_base
        if start_s > 1.0:
            try:
                c.seek(int(start_s / tb), stream=stream, backward=True)
            except av.error.FFmpegError:
                pass
        next_t = start_s
        step = None if fps is None else 1.0 / float(fps)
        reformatter = VideoReformatter()
        n = 0
        try:
            for frame in c.decode(stream):
                t = float(frame.pts * tb) if frame.pts is not None else n * (1.0 / float(stream.average_rate or 25))
                n += 1
                if t < start_s - 1e-6:
                    continue
                if end_s is not None and t >= end_s:
                    break
                if step is not None:
                    # a frame covers [t, t + 1/native_fps): take it for every sampling time it reaches
                    if t + 1e-6 < next_t:
                        continue
                    while next_t <= t + 1e-6:
                        next_t += step
                yield t, _to_rgb(frame, size, reformatter)
        except av.error.FFmpegError as e:
            if n == 0:
                raise ffmpeg_error(path, e) from None
            raise CorruptMediaError(path, f"decoding failed after frame {n}") from None


def thumbnail(path: str | Path, t_s: float, size: tuple[int, int] | None = (320, 180)) -> np.ndarray:
    """The frame shown at ``t_s`` seconds, as an ``(H, W, 3)`` uint8 RGB array."""
    path = Path(path)
    with open_container(path) as c:
        stream = _video_stream(c, path)
        tb = stream.time_base
        try:
            c.seek(int(max(0.0, t_s) / tb), stream=stream, backward=True)
        except av.error.FFmpegError:
            c.seek(0)
        last = None
        try:
            for frame in c.decode(stream):
                t = float(frame.pts * tb) if frame.pts is not None else 0.0
                if t > t_s + 1e-6 and last is not None:
                    break
                last = frame
                if abs(t - t_s) < 1e-6:
                    break
        except av.error.FFmpegError as e:
            if last is None:
                raise ffmpeg_error(path, e) from None
        if last is None:
            raise CorruptMediaError(path, f"no picture at {t_s:.2f} s")
        return _to_rgb(last, size)
