"""madmom's downbeat network ensemble evaluated fast: the same weights and arithmetic, ~16x less CPU.

madmom 0.16.1 runs each LSTM time step as a dozen small numpy calls (four gates, each a
vector-matrix product); with 8 networks × 3 bidirectional layers × 100 frames per second that
Python-level loop was ~60 % of the whole indexing cost (0.11 s of CPU per audio-second here).

This module reads the weights out of madmom's own ``RNNDownBeatProcessor`` (nothing is re-trained
or approximated) and evaluates the identical network:

- the non-recurrent part of every gate, ``x·W + b``, for all frames and all networks of a layer in
  one float32 matrix product (BLAS);
- the recurrence (``h·R``, peepholes, ``sigmoid``/``tanh``, cell state) in a compiled loop (numba),
  in float32 like madmom, in madmom's order of operations:
  ``i = σ(xWi + bi + c·pi + hRi)``, ``f = σ(xWf + bf + c·pf + hRf)``, ``c' = tanh(xWc + bc + hRc)·i + c·f``,
  ``o = σ(xWo + bo + c'·po + hRo)``, ``h = tanh(c')·o``; the backward direction runs on the
  reversed frames and is reversed back;
- the softmax output layer, then the average over the networks (madmom's ensemble function).

The network input is madmom's own pre-processing (three log-filtered spectrograms and their
differences) with its STFT batched and in float32 (:func:`batched_stft`; within 1e-6 of madmom's).
``tanh`` and ``sigmoid`` in the recurrence are a rational function (:func:`_tanh32`, error ~1e-7)
that the compiler vectorises, where libm's scalar calls took most of the time.

Activations differ from madmom's by float32 rounding only (sums in another order, the float32 FFT,
the rational tanh; at most ~5e-4 on the pool sample, which the bidirectional recurrence can amplify);
the decoded beats of the 10-track pool sample are identical to the previous revision's
(``benchmarks/bench_indexing_cli.py --tree OLD --tree .`` compares them) and within one 10-ms frame of
stock madmom's (downbeat F-measure 1.000): ``benchmarks/bench_indexing.py``. ``n_nets`` < 8 averages
only the first networks (the same benchmark shows what that costs in downbeat F-measure).
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass

import numpy as np
from numba import njit

N_NETS = 8  # networks in madmom's downbeat ensemble (models/downbeats/2016/*.pkl)
_STFT_CHUNK_FRAMES = 1024  # frames transformed per batch (bounds memory: 1024 × 4096 float64 = 32 MB)
_STFT_LOCK = threading.RLock()


@dataclass
class _Direction:
    weights: np.ndarray  # (inputs, 4H) float32: gates i, f, cell, o
    bias: np.ndarray  # (4H,) float32
    recurrent: np.ndarray  # (H, 4H) float32
    peep_i: np.ndarray  # (H,) float32
    peep_f: np.ndarray
    peep_o: np.ndarray


@dataclass
class _Net:
    layers: list  # [(forward _Direction, backward _Direction)] per BLSTM layer
    out_weights: np.ndarray  # (2H, classes) float32
    out_bias: np.ndarray  # (classes,) float32


def _direction(lstm) -> _Direction:
    gates = (lstm.input_gate, lstm.forget_gate, lstm.cell, lstm.output_gate)
    f32 = np.float32
    for g in gates[:2] + gates[3:]:
        if g.peephole_weights is None:
            raise ValueError("expected LSTM gates with peephole connections")
    return _Direction(
        weights=np.ascontiguousarray(np.concatenate([g.weights for g in gates], axis=1), dtype=f32),
        bias=np.ascontiguousarray(np.concatenate([g.bias.ravel() for g in gates]), dtype=f32),
        recurrent=np.ascontiguousarray(np.concatenate([g.recurrent_weights for g in gates], axis=1), dtype=f32),
        peep_i=np.ascontiguousarray(lstm.input_gate.peephole_weights, dtype=f32),
        peep_f=np.ascontiguousarray(lstm.forget_gate.peephole_weights, dtype=f32),
        peep_o=np.ascontiguousarray(lstm.output_gate.peephole_weights, dtype=f32),
    )


def _check_lstm(lstm) -> None:
    from supervisor_app.analysis.madmom_compat import import_madmom

    import_madmom()
    from madmom.ml.nn.activations import sigmoid, tanh

    ok = (lstm.activation_fn is tanh and lstm.cell.activation_fn is tanh and all(
        g.activation_fn is sigmoid for g in (lstm.input_gate, lstm.forget_gate, lstm.output_gate)))
    if not ok or np.any(lstm.init) or np.any(lstm.cell_init):
        raise ValueError("unexpected LSTM layout (activations or initial state)")


def nets_from_madmom(ensemble) -> list[_Net]:
    """The weights of each network of a madmom ``NeuralNetworkEnsemble`` of BLSTMs + softmax layer."""
    from supervisor_app.analysis.madmom_compat import import_madmom

    import_madmom()
    from madmom.ml.nn.activations import softmax
    from madmom.ml.nn.layers import BidirectionalLayer, FeedForwardLayer, LSTMLayer

    networks = ensemble.processors[0].processors
    out = []
    for net in networks:
        *blstms, ff = net.layers
        layers = []
        for layer in blstms:
            if not (isinstance(layer, BidirectionalLayer) and isinstance(layer.fwd_layer, LSTMLayer)
                    and isinstance(layer.bwd_layer, LSTMLayer)):
                raise ValueError("expected bidirectional LSTM layers")
            _check_lstm(layer.fwd_layer)
            _check_lstm(layer.bwd_layer)
            layers.append((_direction(layer.fwd_layer), _direction(layer.bwd_layer)))
        if not (isinstance(ff, FeedForwardLayer) and ff.activation_fn is softmax):
            raise ValueError("expected a softmax output layer")
        out.append(_Net(layers, np.ascontiguousarray(ff.weights, dtype=np.float32),
                        np.ascontiguousarray(ff.bias.ravel(), dtype=np.float32)))
    return out


# tanh as a rational function of x (Eigen's float32 ``ptanh``: odd degree-13 numerator, even degree-6
# denominator, inputs clamped to ±7.998 where tanh is 1 in float32 to within one unit in the last
# place). Pure arithmetic, so the compiler vectorises the gate loops (libm's scalar expf/tanhf calls
# were ~3/4 of the recurrence's time; with the vectorised gates the recurrence takes ~1/6 of its old
# CPU); error ~1e-7 absolute, the size of float32 rounding.
_TANH_CLAMP = np.float32(7.99881172180175781)
_A1, _A3, _A5, _A7 = (np.float32(4.89352455891786e-03), np.float32(6.37261928875436e-04),
                      np.float32(1.48572235717979e-05), np.float32(5.12229709037114e-08))
_A9, _A11, _A13 = np.float32(-8.60467152213735e-11), np.float32(2.00018790482477e-13), np.float32(-2.76076847742355e-16)
_B0, _B2, _B4, _B6 = (np.float32(4.89352518554385e-03), np.float32(2.26843463243900e-03),
                      np.float32(1.18534705686654e-04), np.float32(1.19825839466702e-06))


@njit(inline="always", error_model="numpy")
def _tanh32(x):
    x = min(max(x, -_TANH_CLAMP), _TANH_CLAMP)
    x2 = x * x
    p = x2 * _A13 + _A11
    p = p * x2 + _A9
    p = p * x2 + _A7
    p = p * x2 + _A5
    p = p * x2 + _A3
    p = p * x2 + _A1
    p = p * x
    q = x2 * _B6 + _B4
    q = q * x2 + _B2
    q = q * x2 + _B0
    return p / q


@njit(inline="always", error_model="numpy")
def _sigmoid32(x):
    return np.float32(0.5) + np.float32(0.5) * _tanh32(np.float32(0.5) * x)


@njit(cache=True, nogil=True, error_model="numpy")
def _lstm_scan(xw, rec, peep_i, peep_f, peep_o, reverse, out):
    """Run one LSTM direction over precomputed ``xw = x·W + b`` (T, 4H); write h (T, H) into ``out``.

    ``error_model="numpy"``: a float division by zero gives inf as in numpy instead of raising (none can
    happen here: the tanh denominator is > 0); without it the raise check kept the gate loops scalar."""
    n, h4 = xw.shape
    h = h4 // 4
    prev = np.zeros(h, dtype=np.float32)
    state = np.zeros(h, dtype=np.float32)
    r = np.empty(h4, dtype=np.float32)
    for step in range(n):
        t = n - 1 - step if reverse else step
        for j in range(h4):
            r[j] = xw[t, j]
        for k in range(h):
            pk = prev[k]
            for j in range(h4):
                r[j] += pk * rec[k, j]
        for j in range(h):
            ig = _sigmoid32(r[j] + state[j] * peep_i[j])
            fg = _sigmoid32(r[h + j] + state[j] * peep_f[j])
            state[j] = _tanh32(r[2 * h + j]) * ig + state[j] * fg
        for j in range(h):
            og = _sigmoid32(r[3 * h + j] + state[j] * peep_o[j])
            v = _tanh32(state[j]) * og
            out[t, j] = v
            prev[j] = v


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def network_activations(nets: list[_Net], features: np.ndarray) -> np.ndarray:
    """(n_nets, T, classes) float32 softmax outputs of each network for ``features`` (T, inputs).

    Each direction's input product ``x·W + b`` is formed just before its recurrence, into one reused
    (T, 4H) buffer: no (T, 16·4H) product of all directions at once (~200 MB for a 5-minute track)."""
    x0 = np.ascontiguousarray(features, dtype=np.float32)
    n = len(x0)
    n_layers = len(nets[0].layers)
    xs = [x0] * len(nets)  # each network's input to the current layer
    xw = hbuf = None
    for li in range(n_layers):
        new_xs = []
        for ni, net in enumerate(nets):
            out = np.empty((n, 2 * net.layers[li][0].recurrent.shape[0]), dtype=np.float32)
            for side, d in enumerate(net.layers[li]):
                h = d.recurrent.shape[0]
                if xw is None or xw.shape != (n, 4 * h):
                    xw = np.empty((n, 4 * h), dtype=np.float32)
                    hbuf = np.empty((n, h), dtype=np.float32)
                np.matmul(xs[ni], d.weights, out=xw)
                xw += d.bias
                _lstm_scan(xw, d.recurrent, d.peep_i, d.peep_f, d.peep_o, side == 1, hbuf)
                out[:, side * h:(side + 1) * h] = hbuf
            new_xs.append(out)
        xs = new_xs
    return np.stack([_softmax(x @ net.out_weights + net.out_bias) for x, net in zip(xs, nets)]).astype(np.float32)


def _framed_chunks(frames, chunk: int):
    """(first index, 2-D array of frames) of a madmom ``FramedSignal``, ``chunk`` frames at a time; each
    row equal to ``frames[i]`` (zero-padded outside the signal). None when the layout is not covered."""
    sig = np.asarray(frames.signal)
    hop = float(frames.hop_size)
    if sig.ndim != 1 or hop != int(hop) or hop <= 0:
        return None
    n, size, hop = int(frames.num_frames), int(frames.frame_size), int(hop)

    def gen():
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            starts = np.arange(a, b, dtype=np.int64) * hop - size // 2 - int(frames.origin)
            lo, hi = int(starts[0]), int(starts[-1]) + size
            seg = np.zeros(hi - lo, dtype=sig.dtype)
            s0, s1 = max(lo, 0), min(hi, len(sig))
            if s1 > s0:
                seg[s0 - lo:s1 - lo] = sig[s0:s1]
            view = np.lib.stride_tricks.sliding_window_view(seg, size)
            yield a, view[starts - lo]

    return gen()


def _make_batched_stft(original):
    def stft(frames, window, fft_size=None, circular_shift=False, include_nyquist=False, fftw=None):
        from scipy.fft import rfft

        chunks = None
        if fftw is None and not circular_shift and hasattr(frames, "signal") and hasattr(frames, "num_frames"):
            chunks = _framed_chunks(frames, _STFT_CHUNK_FRAMES)
        if chunks is None:
            return original(frames, window, fft_size=fft_size, circular_shift=circular_shift,
                            include_nyquist=include_nyquist, fftw=fftw)
        from madmom.audio.stft import STFT_DTYPE

        size = int(frames.frame_size)
        fft_size = size if fft_size is None else int(fft_size)
        bins = (fft_size >> 1) + (1 if include_nyquist else 0)
        data = np.empty((int(frames.num_frames), bins), STFT_DTYPE)
        # float32 throughout (madmom's float64 window made a float64 product and FFT, then stored the
        # spectrum as complex64): half the FFT work and no float64 temporaries
        w32 = None if window is None else np.asarray(window, dtype=np.float32)
        buf = None
        for a, block in chunks:
            if w32 is not None:
                if buf is None or buf.shape != block.shape:
                    buf = np.empty(block.shape, np.float32)
                sig = np.multiply(block, w32, out=buf)
            else:
                sig = np.asarray(block, dtype=np.float32)
            data[a:a + len(block)] = rfft(sig, fft_size, axis=1)[:, :bins]
        return data

    return stft


@contextlib.contextmanager
def batched_stft():
    """While active, madmom's STFT transforms its frames in batches (one FFT call per 1024 frames) instead
    of one call per frame, with a real-input FFT (pocketfft's r2c) in place of madmom's complex FFT of
    the real frames, in float32 (the window product and the transform; madmom's float64 window made them
    float64 before it stored the spectrum as complex64): the log spectrograms agree with madmom's to
    ~1e-6; ~3x less CPU for the pre-processing."""
    from supervisor_app.analysis.madmom_compat import import_madmom

    import_madmom()
    import madmom.audio.stft as mstft

    with _STFT_LOCK:
        original = mstft.stft
        mstft.stft = _make_batched_stft(original)
        try:
            yield
        finally:
            mstft.stft = original


def streamed_pre_processing(pre, signal, chunk_frames: int = _STFT_CHUNK_FRAMES) -> np.ndarray:
    """madmom's downbeat pre-processing ``pre(signal)`` computed ``chunk_frames`` frames at a time.

    ``pre`` is ``RNNDownBeatProcessor``'s ``SequentialProcessor((signal, ParallelProcessor([...]),
    np.hstack))`` where each branch is ``(frames, stft, filtered, log, diff)``. madmom builds each
    branch's whole complex STFT (T × 2048 complex64 for the 4096-sample frames: ~220 MB for a
    2-minute track) and its magnitude, filtered and log copies before the small (T, bands) result;
    here each block of frames goes through madmom's own STFT / filtered / log processors (the same
    objects, so the same arithmetic) and only the (T, bands) log spectrogram is kept. The positive
    temporal difference is then formed as madmom's ``SpectrogramDifferenceProcessor`` forms it
    (zeros for the first ``diff_frames``, ``max(spec[t] - spec[t - d], 0)``) and stacked beside it.
    Peak memory falls from ~1.2 GB to the size of one block (tests compare with ``pre(signal)``).
    Falls back to ``pre(signal)`` for a chain of another shape."""
    from supervisor_app.analysis.madmom_compat import import_madmom

    import_madmom()
    from madmom.audio.spectrogram import _diff_frames
    from madmom.processors import ParallelProcessor, SequentialProcessor

    procs = getattr(pre, "processors", None)
    if (not isinstance(pre, SequentialProcessor) or procs is None or len(procs) != 3
            or not isinstance(procs[1], ParallelProcessor)
            or not all(isinstance(b, SequentialProcessor) and len(b.processors) == 5 for b in procs[1].processors)):
        with batched_stft():
            return pre(signal)
    sig = procs[0](signal)
    outs = []
    with batched_stft():
        for branch in procs[1].processors:
            frames_p, stft_p, filt_p, log_p, diff_p = branch.processors
            frames = frames_p(sig)
            parts, window, bank = [], None, None
            for a in range(0, int(frames.num_frames), int(chunk_frames)):
                stft = stft_p(frames[a:a + int(chunk_frames)])
                filt = filt_p(stft) if bank is None else filt_p(stft, filterbank=bank)
                bank, window = filt.filterbank, stft.window  # built once per branch, as madmom builds it
                block = log_p(filt)
                # a copy: a view of madmom's spectrogram object would keep the block's STFT alive
                # (~16 MB per block of 4096-sample frames, ~550 MB held for a 5-minute track)
                parts.append(np.array(block, dtype=np.float32, subok=False, copy=True))
            spec = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
            d = diff_p.diff_frames
            if d is None:
                d = _diff_frames(diff_p.diff_ratio, hop_size=frames.hop_size, frame_size=frames.frame_size,
                                 window=window)
            diff = np.zeros_like(spec)
            if len(spec) > d:
                diff[d:] = spec[d:] - spec[:-d]
            if diff_p.positive_diffs:
                np.maximum(diff, 0, out=diff)
            stack = diff_p.stack_diffs
            outs.append(stack((spec, diff)) if stack is not None else diff)
    return procs[2](outs)


class FastDownbeatRNN:
    """Beat and downbeat activations (T, 2) at 100 frames/s, like madmom's ``RNNDownBeatProcessor``.

    ``processor``: a madmom ``RNNDownBeatProcessor`` (its pre-processing — three log-filtered
    spectrograms and their differences — is used as is; its networks are evaluated here).
    ``n_nets``: how many of the ensemble's networks to average (the first ones; 1–8).
    """

    def __init__(self, processor, n_nets: int = N_NETS):
        pre, ensemble, _drop_first = processor.processors
        self.pre = pre
        all_nets = nets_from_madmom(ensemble)
        if not 1 <= int(n_nets) <= len(all_nets):
            raise ValueError(f"n_nets must be between 1 and {len(all_nets)}")
        self.nets = all_nets[:int(n_nets)]

    def features(self, signal) -> np.ndarray:
        """madmom's network input (T, 314) for a 44.1 kHz mono ``madmom.audio.signal.Signal``
        (its own pre-processing, streamed by :func:`streamed_pre_processing`)."""
        return streamed_pre_processing(self.pre, signal)

    def per_network(self, features: np.ndarray) -> np.ndarray:
        """(n_nets, T, 3) softmax outputs (no-beat, beat, downbeat) of each network."""
        return network_activations(self.nets, features)

    @staticmethod
    def combine(per_net: np.ndarray) -> np.ndarray:
        """(T, 2) beat and downbeat activations: the ensemble average without the no-beat class."""
        acc = np.array(per_net[0], dtype=np.float32)
        for p in per_net[1:]:  # madmom's order: sum(predictions) / len(predictions)
            acc += p
        return np.ascontiguousarray((acc / np.float32(len(per_net)))[:, 1:], dtype=np.float32)

    def __call__(self, signal) -> np.ndarray:
        return self.combine(self.per_network(self.features(signal)))
