"""``load_audio``: decode the audio of any audio or video file to float32 at a chosen rate."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import av
import numpy as np

from supervisor_app.infra.errors import CorruptMediaError, ZeroDurationError
from supervisor_app.media._open import ffmpeg_error, first_audio_stream, open_container


#: ``load_audio(mono=False)`` returns at most this many channels: files with more (5.1, 7.1, 16-channel
#: stems) are downmixed to stereo by FFmpeg's standard matrix.
MAX_CHANNELS = 2


def load_audio(path: str | Path, sr: int = 44100, mono: bool = True, offset_s: float = 0.0,
               duration_s: float | None = None) -> np.ndarray:
    """Decode the first audio stream of ``path``, resampled to ``sr`` Hz.

    Returns float32 samples in [-1, 1]: shape ``(n,)`` when ``mono`` (channels averaged),
    else ``(channels, n)`` with at most :data:`MAX_CHANNELS` channels (more are downmixed to stereo).
    ``offset_s``/``duration_s`` select a window (seconds).
    Raises NoAudioStreamError, CorruptMediaError, ZeroDurationError, ... (typed, one sentence).
    """
    path = Path(path)
    if sr <= 0:
        raise ValueError("sr must be positive")
    with open_container(path) as c:
        stream = first_audio_stream(c, path)
        n_in = int(stream.codec_context.channels or 0)
        layout = "mono" if mono else ("stereo" if n_in > MAX_CHANNELS else None)
        # Packed samples (one plane): PyAV's planar frames of 8 or more channels read past their plane
        # pointers (a segfault in to_ndarray), and packed is what we reshape to (channels, n) anyway.
        resampler = av.AudioResampler(format="flt", layout=layout, rate=sr)
        start_sample = int(round(max(0.0, offset_s) * sr))
        want = None if duration_s is None else int(round(duration_s * sr))
        chunks: list[np.ndarray] = []
        got = 0
        skip = start_sample
        if offset_s > 2.0:
            # seek a little before the offset, then count samples from the first decoded frame's time
            try:
                c.seek(int((offset_s - 1.0) / stream.time_base), stream=stream, backward=True)
            except av.error.FFmpegError:
                pass
            skip = None
        first_pts: list = []

        def decoded():
            for frame in c.decode(stream):
                if not first_pts:
                    first_pts.append(frame.pts)
                yield frame

        try:
            for block in batched_frames(decoded()):
                if skip is None:
                    t0 = float(first_pts[0] * stream.time_base) if first_pts[0] is not None else 0.0
                    skip = max(0, start_sample - int(round(t0 * sr)))
                for out in resampler.resample(block):
                    got, skip = _take(_planes(out), chunks, got, skip, want)
                if want is not None and got >= want:
                    break
            else:
                for out in resampler.resample(None):
                    got, skip = _take(_planes(out), chunks, got, skip, want)
        except av.error.FFmpegError as e:
            if got == 0:
                raise ffmpeg_error(path, e) from None
            raise CorruptMediaError(path, f"decoding failed after {got / sr:.1f} s") from None
    if not chunks:
        if offset_s > 0:
            return np.zeros((0,) if mono else (1, 0), dtype=np.float32)
        raise ZeroDurationError(path)
    data = np.concatenate(chunks, axis=1)
    if want is not None:
        data = data[:, :want]
    data = np.ascontiguousarray(data, dtype=np.float32)
    return data[0] if mono else data


BATCH_S = 5.0  # seconds of decoded audio per resampler call


def batched_frames(frames: Iterable, batch_s: float = BATCH_S) -> Iterator:
    """Decoded audio frames (~1,000 samples each) gathered into frames of about ``batch_s`` seconds, for
    one resampler call per block instead of one per frame (PyAV's per-call cost was most of the
    decoding). A resampler is a stream: the same input samples give the same output samples however
    they are cut (tests compare the two). Frames of another format, layout or rate start a new block; a
    layout PyAV cannot rebuild passes its frames through one by one."""
    pending: list = []
    n = 0

    def merged():
        first = pending[0]
        if len(pending) == 1:
            return [first]
        try:
            big = av.AudioFrame.from_ndarray(np.concatenate([f.to_ndarray() for f in pending], axis=1),
                                             format=first.format.name, layout=first.layout.name)
        except (ValueError, TypeError, av.error.FFmpegError):
            return list(pending)
        big.sample_rate = first.sample_rate
        return [big]

    for frame in frames:
        if not frame.samples:
            continue
        if pending and (frame.format.name, frame.layout.name, frame.sample_rate) != (
                pending[0].format.name, pending[0].layout.name, pending[0].sample_rate):
            yield from merged()
            pending, n = [], 0
        pending.append(frame)
        n += frame.samples
        if n >= batch_s * frame.sample_rate:
            yield from merged()
            pending, n = [], 0
    if pending:
        yield from merged()


def _planes(frame) -> np.ndarray:
    """(channels, n) float32 of a packed ``flt`` frame."""
    n_ch = len(frame.layout.channels)
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1, n_ch).T


def _take(block: np.ndarray, chunks: list, got: int, skip: int, want: int | None):
    block = np.asarray(block, dtype=np.float32)
    if block.ndim == 1:
        block = block[None, :]
    if skip:
        drop = min(skip, block.shape[1])
        block = block[:, drop:]
        skip -= drop
    if block.shape[1]:
        chunks.append(block)
        got += block.shape[1]
    return got, skip
