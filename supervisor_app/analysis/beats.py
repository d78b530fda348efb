"""Beats, downbeats, tempo and meter of music with madmom (RNN + DBN, Böck, Krebs & Widmer 2016).

``RNNDownBeatProcessor`` (an ensemble of 8 bidirectional LSTMs) gives beat and downbeat activations at
100 frames/s; ``DBNDownBeatTrackingProcessor`` decodes them with one bar-pointer HMM per meter (3/4 and
4/4 by default) and keeps the likeliest. Every beat carries its position in the bar (1 = downbeat).

Licence notice: madmom's *code* is BSD-licensed, but the trained models it ships and that this module
loads (``madmom/models/downbeats/2016/*.pkl``) are licensed **CC BY-NC-SA 4.0: non-commercial use
only**. Commercial use of the beat/downbeat analysis needs a licence from the model authors (CPJKU,
Johannes Kepler University Linz) or another beat tracker.

Input limits (each raises :class:`supervisor_app.infra.errors.AnalysisError` with one sentence):

- silence (peak below ``SILENCE_PEAK``, about -80 dBFS);
- shorter than ``MIN_DURATION_S`` (2 s: madmom's own annotated example is 2.8 s and 4 beats long);
- longer than ``max_duration_s`` (default ``MAX_DURATION_S`` = 10 min). The long-mix policy: madmom
  is offline (bidirectional RNN, whole-track Viterbi) and its peak memory grows with the length:
  about 10 MB per audio-second with madmom's own code (~3 GB for a 5-minute song), 0.5 MB per
  audio-second with the default engine (streamed spectrograms, back-pointers of the DBN's states with
  a choice only: +161 MB for a 5.3-minute track, measured). A mix longer than the limit has no song
  form to track either; it gets a clear error, and callers that know better can pass a larger
  ``max_duration_s``;
- fewer than two beats found (no steady pulse).

Speed: the 8 BLSTMs are evaluated by :mod:`supervisor_app.analysis.madmom_fast` (madmom's weights, the
same arithmetic in a compiled loop: ~13x less CPU than madmom's per-frame numpy calls; activations
equal to ~1e-5, decoded beats identical on the music pool — see ``benchmarks/bench_indexing.py``).
``engine="madmom"`` runs madmom's own network code instead.

Tempo range: ``min_bpm=55`` and ``max_bpm=170`` (madmom's default maximum is 215). With 215 madmom
doubles the tempo of its own hand-annotated example (176 instead of 88 BPM) and of other 85–90 BPM
tracks; capping at 170 keeps them at the annotated level, while music faster than 170 BPM is then
tracked at half tempo (the felt pulse of e.g. drum'n'bass). Pass ``max_bpm=215`` for the stock setting.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from supervisor_app.infra.errors import AnalysisError

SAMPLE_RATE_HZ = 44100  # what madmom's models were trained on
FPS = 100  # madmom activation frame rate (frames per second)
MIN_DURATION_S = 2.0
MAX_DURATION_S = 10 * 60.0
SILENCE_PEAK = 1e-4  # linear peak amplitude, about -80 dBFS
DEFAULT_MIN_BPM = 55.0
DEFAULT_MAX_BPM = 170.0
DOWNBEAT_NETS = 8  # networks of madmom's ensemble averaged (chosen by measurement: benchmarks/bench_indexing.py)
ENGINES = ("fast", "madmom")

__all__ = ["BeatResult", "track_beats", "track_beats_file", "SAMPLE_RATE_HZ", "MAX_DURATION_S",
           "MIN_DURATION_S"]


@dataclass
class BeatResult:
    """Beat-tracking result; all times in seconds from the start of the audio.

    ``beat_positions[i]`` is the position of beat ``i`` in its bar (1..meter, 1 = downbeat).
    ``tempo_bpm`` is 60 / median inter-beat interval; ``meter`` the number of beats per bar.
    """

    beats_s: np.ndarray
    beat_positions: np.ndarray
    downbeats_s: np.ndarray
    tempo_bpm: float
    meter: int

    @property
    def delta_beat_s(self) -> float:
        """Beat duration Δbeat = 60 / tempo (s)."""
        return 60.0 / self.tempo_bpm

    @property
    def delta_bar_s(self) -> float:
        """Bar duration Δbar = meter · Δbeat (s)."""
        return self.meter * self.delta_beat_s

    def to_dict(self) -> dict:
        """JSON-able dict (lists of floats/ints)."""
        return {
            "beats_s": [float(t) for t in self.beats_s],
            "beat_positions": [int(p) for p in self.beat_positions],
            "downbeats_s": [float(t) for t in self.downbeats_s],
            "tempo_bpm": float(self.tempo_bpm),
            "meter": int(self.meter),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "BeatResult":
        return cls(
            beats_s=np.asarray(d["beats_s"], dtype=np.float64),
            beat_positions=np.asarray(d["beat_positions"], dtype=np.int64),
            downbeats_s=np.asarray(d["downbeats_s"], dtype=np.float64),
            tempo_bpm=float(d["tempo_bpm"]),
            meter=int(d["meter"]),
        )


_RNN = None  # the RNN ensemble loads 8 pickled networks (~0.3 s): keep one per process
_FAST: dict = {}  # n_nets -> FastDownbeatRNN


def _rnn_processor():
    global _RNN
    if _RNN is None:
        from supervisor_app.analysis.madmom_compat import import_madmom

        import_madmom()
        from madmom.features.downbeats import RNNDownBeatProcessor

        _RNN = RNNDownBeatProcessor()
    return _RNN


def _fast_rnn(n_nets: int = DOWNBEAT_NETS):
    """The compiled evaluation of madmom's networks (:class:`~.madmom_fast.FastDownbeatRNN`), one per process."""
    fast = _FAST.get(n_nets)
    if fast is None:
        from supervisor_app.analysis.madmom_fast import FastDownbeatRNN

        fast = _FAST[n_nets] = FastDownbeatRNN(_rnn_processor(), n_nets=n_nets)
    return fast


def beat_activations(x_44k: np.ndarray, engine: str = "fast", n_nets: int = DOWNBEAT_NETS) -> np.ndarray:
    """(T, 2) float32 beat and downbeat activations at 100 frames/s of mono 44.1 kHz samples."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    if engine == "madmom" and n_nets != 8:
        raise ValueError("engine='madmom' always averages the 8 networks")
    rnn = _rnn_processor() if engine == "madmom" else _fast_rnn(n_nets)  # imports madmom through the shim
    from madmom.audio.signal import Signal

    return rnn(Signal(x_44k, sample_rate=SAMPLE_RATE_HZ))


def _to_mono_44k(audio: np.ndarray, sr: int) -> np.ndarray:
    """float32 mono at 44.1 kHz; ``audio`` is (n,) or (channels, n) as the media layer returns."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    elif x.ndim != 1:
        raise ValueError(f"audio must be 1-D or (channels, n), got shape {x.shape}")
    if sr != SAMPLE_RATE_HZ:
        from scipy.signal import resample_poly

        g = math.gcd(int(sr), SAMPLE_RATE_HZ)
        x = resample_poly(x, SAMPLE_RATE_HZ // g, int(sr) // g).astype(np.float32)
    return np.ascontiguousarray(x)


def too_long_error(duration_s: float, max_duration_s: float, what: str) -> AnalysisError:
    """The error for audio longer than an analyzer's limit (the long-mix policy)."""
    return AnalysisError(
        f"The audio lasts {duration_s / 60:.1f} min, longer than the {max_duration_s / 60:g}-min limit "
        f"for {what} (is it a mix or a whole album?): split it into tracks or raise the limit.")


def check_audio(audio: np.ndarray, sr: int, what: str, *, min_duration_s: float,
                max_duration_s: float) -> float:
    """Raise AnalysisError for silent / too short / too long audio; return its duration (s)."""
    n = audio.shape[-1] if audio.ndim else 0
    duration_s = n / float(sr)
    if duration_s < min_duration_s:
        raise AnalysisError(f"The audio is only {duration_s:.1f} s long; {what} needs at least "
                            f"{min_duration_s:g} s.")
    if duration_s > max_duration_s:
        raise too_long_error(duration_s, max_duration_s, what)
    if not np.isfinite(audio).all():
        raise AnalysisError(f"The audio contains invalid samples (NaN or infinite); {what} is impossible.")
    if float(np.max(np.abs(audio))) < SILENCE_PEAK:
        raise AnalysisError(f"The audio is silent (peak below -80 dBFS); {what} found nothing to analyse.")
    return duration_s


def track_beats(audio: np.ndarray, sr: int, beats_per_bar: Sequence[int] = (3, 4), *,
                min_bpm: float = DEFAULT_MIN_BPM, max_bpm: float = DEFAULT_MAX_BPM,
                max_duration_s: float = MAX_DURATION_S, engine: str = "fast") -> BeatResult:
    """Beats, bar positions, downbeats, tempo and meter of ``audio`` (float samples at ``sr`` Hz).

    ``audio`` is mono ``(n,)`` or ``(channels, n)``; it is mixed down and resampled to 44.1 kHz.
    ``beats_per_bar`` lists the meters the DBN may choose from. ``engine``: "fast" (default) or
    "madmom" evaluates the networks (see module doc). Raises AnalysisError (see module doc).
    """
    x = np.asarray(audio)
    check_audio(x, sr, "beat tracking", min_duration_s=MIN_DURATION_S, max_duration_s=max_duration_s)
    x = _to_mono_44k(x, sr)

    _rnn_processor()  # imports madmom through the compatibility shim
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor

    activations = beat_activations(x, engine)
    dbn = DBNDownBeatTrackingProcessor(beats_per_bar=list(beats_per_bar), fps=FPS,
                                       min_bpm=min_bpm, max_bpm=max_bpm)
    if engine == "fast":  # the same decoding, back-pointers of the states with a choice only (analysis.fast_viterbi)
        from supervisor_app.analysis.fast_viterbi import compact_dbn_map

        dbn.map = compact_dbn_map
    # madmom's observation model takes log(1 - beat - downbeat), which is -inf/NaN-warned when the two
    # activations sum to 1; the Viterbi handles -inf correctly, so the warning is noise.
    with np.errstate(divide="ignore", invalid="ignore"):
        beats = np.asarray(dbn(activations), dtype=np.float64).reshape(-1, 2)
    if len(beats) < 2:
        raise AnalysisError("No steady beat was found in the audio (fewer than two beats detected).")
    beats_s = beats[:, 0]
    positions = beats[:, 1].astype(np.int64)
    tempo_bpm = 60.0 / float(np.median(np.diff(beats_s)))
    return BeatResult(
        beats_s=beats_s,
        beat_positions=positions,
        downbeats_s=beats_s[positions == 1].copy(),
        tempo_bpm=tempo_bpm,
        meter=int(positions.max()),
    )


def track_beats_file(path: str | Path, **kwargs) -> BeatResult:
    """:func:`track_beats` on the (first) audio track of a file, decoded at 44.1 kHz mono."""
    from supervisor_app.media import load_audio, probe

    max_duration_s = kwargs.get("max_duration_s", MAX_DURATION_S)
    duration_s = probe(path).duration_s
    if duration_s and duration_s > max_duration_s + 1.0:  # don't decode 40 minutes to refuse them
        raise too_long_error(duration_s, max_duration_s, "beat tracking")
    audio = load_audio(path, sr=SAMPLE_RATE_HZ, mono=True)
    return track_beats(audio, SAMPLE_RATE_HZ, **kwargs)
