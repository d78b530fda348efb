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
    from supervisor_app.media.audio import batched_frames

    path = Path(path)
    rates = [int(r) for r in dict.fromkeys(rates)]
    chunks: dict[int, list[np.ndarray]] = {r: [] for r in rates}
    with open_container(path) as c:
        stream = first_audio_stream(c, path)
        resamplers = {r: av.AudioResampler(format="fltp", layout="mono", rate=r) for r in rates}

        def take(r: int, frames) -> None:
            for out in frames:
                block = np.asarray(out.to_ndarray(), dtype=np.float32)
                block = block[0] if block.ndim == 2 else block
                if block.shape[0]:
                    chunks[r].append(block)

        got = [0.0]  # seconds decoded, for the error message of a file that breaks midway

        def decoded():
            for frame in c.decode(stream):
                got[0] += frame.samples / float(frame.sample_rate or 1)
                yield frame

        try:
            # blocks of ~BATCH_S seconds: one resampler call per block and rate (media.audio.batched_frames)
            for block in batched_frames(decoded(), BATCH_S):
                for r in rates:
                    take(r, resamplers[r].resample(block))
            for r in rates:
                take(r, resamplers[r].resample(None))
        except av.error.FFmpegError as e:
            if got[0] == 0.0:
                raise ffmpeg_error(path, e) from None
            raise CorruptMediaError(path, f"decoding failed after {got[0]:.1f} s") from None
    out = {}
    for r in rates:
        if not chunks[r]:
            raise ZeroDurationError(path)
        out[r] = np.ascontiguousarray(np.concatenate(chunks[r]), dtype=np.float32)
    return out
