"""Seg-VM-Net / VM-Net model folders: save a trained network with its card, load one back (weights
verified by sha256, extractor versions checked). The folder format (cards, weights, checks) is
:mod:`supervisor_app.nets.model_store`'s, shared with MuSimNet."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from supervisor_app.infra import errors
from supervisor_app.nets.model_store import (
    ModelCard,
    check_extractors,
    input_licences,
    load_state_dict_bytes,
    read_card,
    read_verified_weights,
    resolve_model_dir,
    write_model_folder,
)
from supervisor_app.segvmnet.vmnet import VMNet, VMNetConfig


@dataclass
class LoadedModel:
    model: VMNet
    card: ModelCard
    path: Path


def save_model(model: VMNet, out_dir: str | Path, card: ModelCard) -> Path:
    """Write weights, model_card.json and MODEL_CARD.md into ``out_dir`` (atomically, file by file).

    Fills ``card.sha256``, ``card.network``, ``card.created_utc`` and missing licences. Returns the folder.
    """
    if not card.licences:
        card.licences = input_licences(card)
    return write_model_folder(model, out_dir, card)


def load_model(name_or_path: str | Path, device: str | torch.device | None = "cpu",
               check_extractor_versions: bool = True, installed: dict[str, str] | None = None) -> LoadedModel:
    """Load a model folder, verifying the weights' sha256 and the extractor versions (eval mode)."""
    d = resolve_model_dir(name_or_path)
    card = read_card(d)
    data = read_verified_weights(d, card)
    if check_extractor_versions:
        check_extractors(card, installed)
    try:
        model = VMNet(VMNetConfig.from_dict(card.network))
        state = load_state_dict_bytes(data, card, d)
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        raise errors.ModelError(f"The weights of {card.name!r} do not fit the network its card describes ({e}).") from None
    if device is not None:
        from supervisor_app.nets.device import select_device

        model.to(select_device(str(device)) if not isinstance(device, torch.device) else device)
    model.eval()
    return LoadedModel(model, card, d)
