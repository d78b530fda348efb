"""Multi-rate decode: one FFmpeg pass over a file feeding one resampler per rate (44.1 kHz for madmom and
MSAF, 16 kHz for YAMNet), each equal to :func:`supervisor_app.media.load_audio` at that rate."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

MUSIC_RATE_HZ = 44100
YAMNET_RATE_HZ = 16000
DESCRIPTORS_RATE_HZ = 11025  # supervisor_app.analysis.descriptors.SAMPLE_RATE_HZ (checked by a test)
BATCH_S = 5.0  # seconds of decoded audio per resampler call


def decode_shared(path: str | Path, rates: Sequence[int]) -> dict[int, np.ndarray]:
    """Decode the first audio stream of ``path`` once into mono float32 at each of ``rates`` (Hz).

    Each array equals ``supervisor_app.media.load_audio(path, sr=rate)``: the same decoded frames go
    through one FFmpeg resampler per rate, in blocks of ``BATCH_S`` seconds. Raises the media layer's typed errors.
    """
    import av

    from supervisor_app.infra.errors import CorruptMediaError, ZeroDurationError
    from supervisor_app.media._open import ffmpeg_error, first_audio_stream, open_container

    path = Path(path)
    rates = [int(r) for r in dict.fromkeys(rates)]
    chunks: dict[int, list[np.ndarray]] = {r: [] for r in rates}
    got_s = 0.0
    with open_container(path) as c:
        stream = first_audio_stream(c, path)
        resamplers = {r: av.AudioResampler(format="fltp", layout="mono", rate=r) for r in rates}

        def take(r: int, frames) -> None:
            for out in frames:
                block = np.asarray(out.to_ndarray(), dtype=np.float32)
                block = block[0] if block.ndim == 2 else block
                if block.shape[0]:
                    chunks[r].append(block)

        # Decoded frames (~1,000 samples each) are gathered into blocks of ~BATCH_S seconds before they
        # go through the resamplers: one resample call per block and rate instead of one per frame
        # (PyAV's per-call cost was ~2/3 of the decoding). The resampler is a stream: the same input
        # samples give the same output samples however they are cut (tests compare with load_audio).
        # A failure inside the 5-s block still reports the seconds decoded before it.
        pending: list = []  # decoded frames of one (format, layout, rate) not resampled yet
        pending_n = 0

        def flush() -> None:
            nonlocal pending, pending_n
            if not pending:
                return
            first = pending[0]
            try:
                data = np.concatenate([f.to_ndarray() for f in pending], axis=1)
                big = av.AudioFrame.from_ndarray(data, format=first.format.name, layout=first.layout.name)
                big.sample_rate = first.sample_rate
                blocks = [big]
            except (ValueError, TypeError, av.error.FFmpegError):  # a layout PyAV cannot rebuild
                blocks = pending
            for block in blocks:
                for r in rates:
                    take(r, resamplers[r].resample(block))
            pending, pending_n = [], 0

        try:
            for frame in c.decode(stream):
                if not frame.samples:
                    continue
                if pending and (frame.format.name, frame.layout.name, frame.sample_rate) != (
                        pending[0].format.name, pending[0].layout.name, pending[0].sample_rate):
                    flush()
                pending.append(frame)
                pending_n += frame.samples
                if pending_n >= BATCH_S * frame.sample_rate:
                    flush()
                got_s += frame.samples / float(frame.sample_rate or 1)
            flush()
            for r in rates:
                take(r, resamplers[r].resample(None))
        except av.error.FFmpegError as e:
            if got_s == 0.0:
                raise ffmpeg_error(path, e) from None
            raise CorruptMediaError(path, f"decoding failed after {got_s:.1f} s") from None
    out = {}
    for r in rates:
        if not chunks[r]:
            raise ZeroDurationError(path)
        out[r] = np.ascontiguousarray(np.concatenate(chunks[r]), dtype=np.float32)
    return out
