"""VM-Net's two branches (Hong et al. 2018; thesis §5.1.2), reused as is by Seg-VM-Net (§7.1.3).

music f_m: FC 2048 → FC 1024 → FC 512; video f_v: FC 2048 → FC 512. ReLU (and dropout 0.5) after every
layer but the last, which is linear followed by batch normalisation; then L2 normalisation, so every
embedding lies on the unit sphere of R^512. With 128-d music and 1024-d video inputs this is the
thesis's 6,037,504 trainable parameters.

An aggregation front-end (:mod:`.aggregation`) turns (B, T, d) frames into the branch input; a 2-D
input (B, d_in) is taken as already aggregated (segment means for Seg-VM-Net, or precomputed statistics).
The BCE variant (§5.2.1) adds a fusion head FC 1024 → FC 128 → FC 1 (sigmoid) on both embeddings.

Not in the thesis: each modality's 1 Hz frames are standardised per dimension with the training set's
mean and standard deviation (fixed buffers, no trainable parameter), so one learning rate suits every
extractor's scale. Aggregated 2-D inputs are raw statistics; the model applies the same standardisation
to them exactly (mean and max shift and scale, variance scales by 1/σ²).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from supervisor_app.nets.aggregation import (
    LEARNED_AGGREGATIONS,
    DEFAULT_N_FRAMES,
    make_pool,
    pooled_dim,
    sample_frames,
)

MODALITIES = ("music", "video")


@dataclass
class VMNetConfig:
    """Everything needed to rebuild the network (stored in the model card)."""

    music_frame_dim: int
    video_frame_dim: int
    aggregation: str = "mean"
    music_hidden: tuple[int, ...] = (2048, 1024)
    video_hidden: tuple[int, ...] = (2048,)
    embed_dim: int = 512
    dropout: float = 0.5
    fusion_head: bool = False
    n_frames: int = DEFAULT_N_FRAMES  # frames sampled per clip by learned aggregations

    def to_dict(self) -> dict:
        d = asdict(self)
        d["music_hidden"] = list(self.music_hidden)
        d["video_hidden"] = list(self.video_hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "VMNetConfig":
        d = dict(d)
        d["music_hidden"] = tuple(d.get("music_hidden", (2048, 1024)))
        d["video_hidden"] = tuple(d.get("video_hidden", (2048,)))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


class Branch(nn.Module):
    """FC stack: [Linear → ReLU → Dropout] per hidden size, then Linear → BatchNorm1d → L2 normalisation."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], out_dim: int = 512, dropout: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            d = h
        layers += [nn.Linear(d, out_dim), nn.BatchNorm1d(out_dim)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x), p=2, dim=-1)


class FusionHead(nn.Module):
    """BCE variant's head: concat(e_m, e_v) (2·512) → FC 1024 → ReLU → FC 128 → ReLU → FC 1 (a logit)."""

    def __init__(self, embed_dim: int = 512):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2 * embed_dim, 1024), nn.ReLU(inplace=True),
            nn.Linear(1024, 128), nn.ReLU(inplace=True),
            nn.Linear(128, 1),
        )

    def forward(self, e_music: torch.Tensor, e_video: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([e_music, e_video], dim=-1)).squeeze(-1)


class VMNet(nn.Module):
    """Two-branch music/video embedding network with its aggregation front-ends."""

    def __init__(self, config: VMNetConfig):
        super().__init__()
        self.config = config
        c = config
        self.music_pool = make_pool(c.aggregation, c.music_frame_dim)
        self.video_pool = make_pool(c.aggregation, c.video_frame_dim)
        self.music_branch = Branch(pooled_dim(c.aggregation, c.music_frame_dim), c.music_hidden, c.embed_dim, c.dropout)
        self.video_branch = Branch(pooled_dim(c.aggregation, c.video_frame_dim), c.video_hidden, c.embed_dim, c.dropout)
        self.fusion = FusionHead(c.embed_dim) if c.fusion_head else None
        self.register_buffer("music_mean", torch.zeros(c.music_frame_dim))
        self.register_buffer("music_std", torch.ones(c.music_frame_dim))
        self.register_buffer("video_mean", torch.zeros(c.video_frame_dim))
        self.register_buffer("video_std", torch.ones(c.video_frame_dim))

    def set_input_normalization(self, music_frames, video_frames, min_std: float = 1e-3) -> None:
        """Fix the per-dimension standardisation from training frames of each modality: one (N, d) array
        or a list of (T_i, d) arrays (accumulated in float64, never concatenated)."""
        for name, x in (("music", music_frames), ("video", video_frames)):
            chunks = [x] if isinstance(x, np.ndarray) else list(x)
            n, s1, s2 = 0, 0.0, 0.0
            for c in chunks:
                c = np.asarray(c, dtype=np.float64)
                n += c.shape[0]
                s1 = s1 + c.sum(axis=0)
                s2 = s2 + (c * c).sum(axis=0)
            mean = s1 / max(n, 1)
            std = np.sqrt(np.maximum(s2 / max(n, 1) - mean * mean, 0.0))
            getattr(self, f"{name}_mean").copy_(torch.as_tensor(mean, dtype=torch.float32))
            getattr(self, f"{name}_std").copy_(torch.as_tensor(np.maximum(std, min_std), dtype=torch.float32))

    def _standardize(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        mu = getattr(self, f"{modality}_mean")
        sd = getattr(self, f"{modality}_std")
        if x.dim() == 3 or self.config.aggregation != "mean-var-max":
            return (x - mu) / sd
        d = mu.shape[0]
        mean, var, mx = x[..., :d], x[..., d:2 * d], x[..., 2 * d:]
        return torch.cat([(mean - mu) / sd, var / sd ** 2, (mx - mu) / sd], dim=-1)

    @property
    def learned_aggregation(self) -> bool:
        return self.config.aggregation in LEARNED_AGGREGATIONS

    def _embed(self, modality: str, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        pool = self.music_pool if modality == "music" else self.video_pool
        branch = self.music_branch if modality == "music" else self.video_branch
        x = self._standardize(modality, x)
        if x.dim() == 3:
            x = pool(x, mask)
        elif self.learned_aggregation:
            raise ValueError(f"a {self.config.aggregation} model needs (B, T, d) frames, got shape {tuple(x.shape)}")
        return branch(x)

    def embed_music(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Music embeddings (B, 512), unit norm, from (B, T, d) frames or (B, d_in) aggregated vectors."""
        return self._embed("music", x, mask)

    def embed_video(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Video embeddings (B, 512), unit norm, from (B, T, d) frames or (B, d_in) aggregated vectors."""
        return self._embed("video", x, mask)

    def forward(self, x_music, x_video, mask_music=None, mask_video=None):
        return self.embed_music(x_music, mask_music), self.embed_video(x_video, mask_video)

    def match_logit(self, e_music: torch.Tensor, e_video: torch.Tensor) -> torch.Tensor:
        """BCE variant: logit of P(music and video match); needs ``fusion_head=True``."""
        if self.fusion is None:
            raise ValueError("this model has no fusion head (it was trained with the triplet loss)")
        return self.fusion(e_music, e_video)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def embed_vectors(model: VMNet, x: np.ndarray, modality: str, batch_size: int = 4096) -> np.ndarray:
    """Embed aggregated inputs (N, d_in) (e.g. segment means) in eval mode → (N, 512) float32."""
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}")
    x = np.asarray(x, dtype=np.float32)
    if x.shape[0] == 0:
        return np.zeros((0, model.config.embed_dim), dtype=np.float32)
    was_training = model.training
    model.eval()
    dev = _device_of(model)
    out = []
    fn = model.embed_music if modality == "music" else model.embed_video
    for i in range(0, len(x), batch_size):
        out.append(fn(torch.from_numpy(x[i:i + batch_size]).to(dev)).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out).astype(np.float32)


@torch.no_grad()
def embed_frame_sequences(model: VMNet, sequences: list[np.ndarray], modality: str,
                          rng: np.random.Generator | None = None, batch_size: int = 256) -> np.ndarray:
    """Embed whole clips given as 1 Hz frame arrays (T_i, d) → (N, 512), aggregating with the model's layer.

    Learned aggregations see ``config.n_frames`` random frames per clip (as at training time); statistics
    use every frame.
    """
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}")
    if not sequences:
        return np.zeros((0, model.config.embed_dim), dtype=np.float32)
    if not model.learned_aggregation:  # statistics are exact on the aggregated vectors: no padding needed
        from supervisor_app.nets.aggregation import statistics_vector

        vecs = np.stack([statistics_vector(s, model.config.aggregation) for s in sequences])
        return embed_vectors(model, vecs, modality, batch_size)
    rng = rng if rng is not None else np.random.default_rng(0)
    was_training = model.training
    model.eval()
    dev = _device_of(model)
    fn = model.embed_music if modality == "music" else model.embed_video
    out = []
    for i in range(0, len(sequences), batch_size):
        chunk = sequences[i:i + batch_size]
        xs, ms = zip(*(sample_frames(s, model.config.n_frames, rng) for s in chunk))
        x_t = torch.from_numpy(np.stack(xs)).to(dev)
        m_t = torch.from_numpy(np.stack(ms)).to(dev)
        out.append(fn(x_t, m_t).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out).astype(np.float32)
