"""MuSimNet networks (thesis Table 4.1 / C.1) and their model folders.

All three take (B, 1, 96, 512) CQT patches in dB (see :mod:`.frontend`), scaled as (dB + 20) / 20.

- ``at`` — the AT baseline, FCN-5 auto-tagger: conv 3×3 ×128/256/512/1024/2048 (ELU, then ReLU with
  dropout 0.1/0.2/0.25/0.3), max-pools (2,4),(2,4),(2,4),(3,3),(4,2) down to 1×1, FC m; sigmoid outputs
  (trained with BCE). Its "embedding" is the tag probability vector.
- ``tl`` — the same trunk, FC d = 128 linear, L2-normalised.
- ``tl-autopool`` — conv 3×3 ×64/128/256/512/1024, max-pools (2,2)×4 then (6,1) (F 96→1, T 512→32),
  FC d per time step, then Auto-pool over the 32 steps (McFee et al. 2018): per dimension
  y = Σ_t x_t · softmax_t(α · x_t), α learned (α = 0: mean, α → ∞: max), then L2.

``width_scale`` multiplies every trunk width (1.0 = the thesis's sizes: 25 M parameters for AT/TL,
6.4 M for TL Autopool); smaller nets suit small catalogs and CPUs and are recorded in the model card.

A model folder holds ``weights.pt`` (state dict), ``model_card.json`` (a
:class:`supervisor_app.nets.model_store.ModelCard` with ``kind = "musimnet"``; ``network`` is the
:class:`MuSimNetConfig`) and ``MODEL_CARD.md``. Loading checks the weights' sha256.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from supervisor_app.infra import errors
from supervisor_app.musimnet import frontend
from supervisor_app.nets.aggregation import AutoPool

from supervisor_app.musimnet import ARCHS  # noqa: E402,F401 (defined once, in the package)
KIND = "musimnet"
FCN5_WIDTHS = (128, 256, 512, 1024, 2048)
FCN5_POOLS = ((2, 4), (2, 4), (2, 4), (3, 3), (4, 2))
AUTOPOOL_WIDTHS = (64, 128, 256, 512, 1024)
AUTOPOOL_POOLS = ((2, 2), (2, 2), (2, 2), (2, 2), (6, 1))
DROPOUTS = (0.0, 0.1, 0.2, 0.25, 0.3)  # Table C.1 (after conv 2..5)
INPUT_OFFSET_DB = -20.0
INPUT_SCALE_DB = 20.0


@dataclass
class MuSimNetConfig:
    arch: str = "tl"
    embed_dim: int = 128  # d (TL) — the AT net outputs n_tags instead
    n_tags: int = 0  # m (AT only)
    width_scale: float = 1.0
    dropout: bool = True
    frontend: str = frontend.VERSION

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise errors.UsageError(f"Unknown MuSimNet architecture {self.arch!r}: choose one of {', '.join(ARCHS)}.")
        if self.arch == "at" and self.n_tags < 1:
            raise errors.UsageError("The AT baseline needs at least one tag to predict.")

    def widths(self) -> tuple[int, ...]:
        base = AUTOPOOL_WIDTHS if self.arch == "tl-autopool" else FCN5_WIDTHS
        return tuple(max(4, int(round(w * self.width_scale))) for w in base)

    @property
    def out_dim(self) -> int:
        return self.n_tags if self.arch == "at" else self.embed_dim

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MuSimNetConfig":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


class MuSimNet(nn.Module):
    """One of the three Table 4.1 networks (see the module docstring); forward gives (B, out_dim)."""

    def __init__(self, config: MuSimNetConfig):
        super().__init__()
        self.config = config
        widths = config.widths()
        pools = AUTOPOOL_POOLS if config.arch == "tl-autopool" else FCN5_POOLS
        layers: list[nn.Module] = []
        c_in = 1
        for i, (w, pool) in enumerate(zip(widths, pools)):
            layers.append(nn.Conv2d(c_in, w, kernel_size=3, padding=1))
            layers.append(nn.ELU() if i == 0 else nn.ReLU())
            if config.dropout and DROPOUTS[i] > 0:
                layers.append(nn.Dropout(DROPOUTS[i]))
            layers.append(nn.MaxPool2d(pool))
            c_in = w
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, config.out_dim)
        self.autopool = AutoPool(config.out_dim) if config.arch == "tl-autopool" else None

    @property
    def is_tagger(self) -> bool:
        return self.config.arch == "at"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 96, 512) dB patches → (B, d) unit embeddings (TL) or (B, m) tag logits (AT)."""
        h = self.trunk((x - INPUT_OFFSET_DB) / INPUT_SCALE_DB)  # (B, C, 1, T')
        if self.autopool is not None:
            steps = self.head(h.squeeze(2).transpose(1, 2))  # (B, T', d): FC per time step
            return F.normalize(self.autopool(steps), dim=-1)  # pooled over time
        out = self.head(h.flatten(1))
        return out if self.is_tagger else F.normalize(out, dim=-1)

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """What ranking uses: embeddings (TL) or tag probabilities (AT)."""
        y = self.forward(x)
        return torch.sigmoid(y) if self.is_tagger else y


def n_parameters(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


@torch.no_grad()
def embed_patches(model: MuSimNet, patches_db: np.ndarray, batch: int = 32,
                  device: torch.device | None = None) -> np.ndarray:
    """(P, out_dim) float32 outputs for (P, 96, 512) patches in dB (or uint8, see frontend.to_uint8)."""
    device = device or next(model.parameters()).device
    was = model.training
    model.eval()
    p = np.asarray(patches_db)
    if p.dtype == np.uint8:
        p = frontend.from_uint8(p)
    out = []
    for s in range(0, len(p), batch):
        x = torch.from_numpy(np.ascontiguousarray(p[s:s + batch], dtype=np.float32)).to(device)[:, None]
        out.append(model.outputs(x).float().cpu().numpy())
    model.train(was)
    return np.concatenate(out) if out else np.zeros((0, model.config.out_dim), np.float32)


# --- model folders ----------------------------------------------------------------------------------------
@dataclass
class LoadedMuSimNet:
    model: MuSimNet
    card: object  # supervisor_app.nets.model_store.ModelCard
    path: Path

    @property
    def name(self) -> str:
        return self.card.name

    def embedding_key(self) -> tuple[str, str]:
        """(embeddings-table name, version) under which catalog track embeddings are stored."""
        return f"musimnet:{self.card.name}", self.card.sha256[:16]

    def patches_key(self) -> tuple[str, str]:
        """Key of the per-patch embeddings (P, d) float16 used by excerpt queries."""
        return f"musimnet-patches:{self.card.name}", self.card.sha256[:16]


def render_markdown(card) -> str:
    """The MuSimNet model card as Markdown (data and oracle first: they say what 'similar' means)."""
    net = card.network
    lines = [f"# Model card: {card.name}", "",
             f"- Kind: **MuSimNet** (thesis ch. 4), architecture **{net.get('arch')}**, "
             f"{'tag probabilities (AT baseline)' if net.get('arch') == 'at' else str(net.get('embed_dim')) + '-d L2-normalised embedding'}",
             f"- Trunk width scale: {net.get('width_scale')} (1.0 = the thesis's Table 4.1); "
             f"{card.training.get('n_parameters', '?')} parameters",
             f"- Input: {net.get('frontend')} (CQT 96 bins, hop 1024 at 44.1 kHz, log power, 512-frame patches)",
             f"- Weights: `{card.weights_file}`, sha256 `{card.sha256}`",
             f"- Created (UTC): {card.created_utc}; supervisor-app {card.app_version}, torch {card.torch_version}",
             "", "## Oracle and training data"]
    for k, v in card.data.items():
        if k in ("tag_vocabulary", "split_track_hashes"):
            v = f"{len(v)} entries (in model_card.json)" if not isinstance(v, dict) else \
                ", ".join(f"{s}: {len(h)}" for s, h in v.items()) + " track hashes (in model_card.json)"
        lines.append(f"- {k}: {v}")
    lines += ["", "## Training"]
    for k, v in card.training.items():
        if k == "history":
            continue
        lines.append(f"- {k}: {v}")
    lines += ["", "## Metrics (percent, 95 % CI; Appendix C definitions)", ""]
    for split, rows in card.metrics.items():
        if not isinstance(rows, dict) or not rows:
            continue
        lines.append(f"### {split}")
        lines.append("")
        lines.append("| model | MAP@20 | Recall@20 | RR@20 | nDCG@20 | queries |")
        lines.append("|---|---|---|---|---|---|")
        for name, r in rows.items():
            m, c = r["mean"], r["ci95"]
            cells = " | ".join(f"{m[k]:.2f} ± {c[k]:.2f}" for k in ("MAP@20", "Recall@20", "RR@20", "nDCG@20"))
            lines.append(f"| {name} | {cells} | {r['n_queries']} (of {r['n_items'] + 1} tracks) |")
        lines.append("")
    lines += ["## Licences", ""]
    for k, v in card.licences.items():
        lines.append(f"- {k}: {v}")
    return "\n".join(lines) + "\n"


def save_musimnet(model: MuSimNet, out_dir: str | Path, card) -> Path:
    """Write weights.pt, model_card.json and MODEL_CARD.md (atomically, file by file); fills sha256 etc."""
    from supervisor_app.nets.model_store import write_model_folder

    card.kind = KIND
    return write_model_folder(model, out_dir, card, render=render_markdown)


def load_musimnet(name_or_path: str | Path, device: str | torch.device | None = "cpu") -> LoadedMuSimNet:
    """Load a MuSimNet model folder (name under ``models/`` or a path), checking its sha256 (eval mode)."""
    from supervisor_app.nets.model_store import (
        load_state_dict_bytes,
        read_card,
        read_verified_weights,
        resolve_model_dir,
    )

    d = resolve_model_dir(name_or_path)
    card = read_card(d)
    if card.kind != KIND:
        raise errors.ModelError(f"The model {card.name!r} is a {card.kind} model, not a MuSimNet (music similarity) model.")
    data = read_verified_weights(d, card)
    cfg = MuSimNetConfig.from_dict(card.network)
    if cfg.frontend != frontend.VERSION:
        raise errors.ModelError(f"The model {card.name!r} was trained on the front end {cfg.frontend!r}, but this "
                                f"installation computes {frontend.VERSION!r}: retrain it.")
    try:
        model = MuSimNet(cfg)
        model.load_state_dict(load_state_dict_bytes(data, card, d), strict=True)
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        raise errors.ModelError(f"The weights of {card.name!r} do not fit the network its card describes ({e}).") from None
    if device is not None:
        from supervisor_app.nets.device import select_device

        model.to(device if isinstance(device, torch.device) else select_device(str(device)))
    model.eval()
    return LoadedMuSimNet(model, card, d)


def is_musimnet(name_or_path: str | Path) -> bool:
    """Whether a model name/folder is a MuSimNet (without loading its weights)."""
    from supervisor_app.nets.model_store import read_card

    try:
        return read_card(name_or_path).kind == KIND
    except errors.SupervisorError:
        return False
