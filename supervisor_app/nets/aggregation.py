"""Temporal aggregation of 1 Hz frame features (T, d) into one vector: statistics, Auto-pool, attention.

- statistics (VM-Net, ch. 5.1.1): ``mean`` (d) or ``mean-var-max`` (3·d, population variance);
- Auto-pool (McFee et al. 2018, thesis eq. 4.1): y_d = Σ_t x_td · softmax_t(α_d · x_td), one learned α
  per dimension (α = 0 is the mean, α → ∞ the max);
- attention (Raffel & Ellis 2015, thesis §5.2.3): α_t = softmax_t(tanh(wᵀx_t + b)), y = Σ_t α_t x_t.

Learned layers take a batch ``x`` of shape (B, T, d) and an optional boolean ``mask`` (B, T) that is True
for real frames (clips shorter than T are padded). The thesis feeds T = 100 random frames per clip at
train *and* test time: :func:`sample_frames` does that.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from supervisor_app.nets import AGGREGATIONS  # noqa: E402,F401 (defined once, in the package)
LEARNED_AGGREGATIONS = ("autopool", "attention")
DEFAULT_N_FRAMES = 100


def pooled_dim(aggregation: str, frame_dim: int) -> int:
    """Size of the aggregated vector for ``frame_dim``-d frames."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {aggregation!r} (choose from {AGGREGATIONS})")
    return 3 * frame_dim if aggregation == "mean-var-max" else frame_dim


def statistics_vector(frames: np.ndarray, aggregation: str = "mean") -> np.ndarray:
    """Numpy statistics pooling of (T, d) frames: ``mean`` → (d,), ``mean-var-max`` → (3d,) float32."""
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"expected a non-empty (T, d) array, got shape {x.shape}")
    if aggregation == "mean":
        return x.mean(axis=0)
    if aggregation == "mean-var-max":
        return np.concatenate([x.mean(axis=0), x.var(axis=0), x.max(axis=0)]).astype(np.float32)
    raise ValueError(f"statistics_vector handles 'mean' and 'mean-var-max', not {aggregation!r}")


def sample_frames(frames: np.ndarray, n_frames: int = DEFAULT_N_FRAMES, rng: np.random.Generator | None = None):
    """Pick ``n_frames`` random frames (kept in time order) of a (T, d) clip.

    Returns ``(x, mask)``: x (n_frames, d) float32 and mask (n_frames,) bool. Clips with fewer frames are
    kept whole and zero-padded (mask False on the padding), so no frame is counted twice.
    """
    x = np.asarray(frames, dtype=np.float32)
    t, d = x.shape
    rng = rng if rng is not None else np.random.default_rng()
    out = np.zeros((n_frames, d), dtype=np.float32)
    mask = np.zeros(n_frames, dtype=bool)
    if t >= n_frames:
        idx = np.sort(rng.choice(t, size=n_frames, replace=False))
        out[:] = x[idx]
        mask[:] = True
    else:
        out[:t] = x
        mask[:t] = True
    return out, mask


def _full_mask(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
    return mask.to(device=x.device, dtype=torch.bool)


class StatisticsPool(nn.Module):
    """Masked mean or mean/var/max over time: (B, T, d) → (B, d) or (B, 3d). No parameters."""

    def __init__(self, aggregation: str = "mean"):
        super().__init__()
        if aggregation not in ("mean", "mean-var-max"):
            raise ValueError(f"StatisticsPool handles 'mean' and 'mean-var-max', not {aggregation!r}")
        self.aggregation = aggregation

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        m = _full_mask(x, mask).unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        n = m.sum(dim=1).clamp_min(1.0)
        mean = (x * m).sum(dim=1) / n
        if self.aggregation == "mean":
            return mean
        var = (((x - mean.unsqueeze(1)) ** 2) * m).sum(dim=1) / n
        neg_inf = torch.finfo(x.dtype).min
        mx = torch.where(m.bool(), x, torch.full_like(x, neg_inf)).amax(dim=1)
        return torch.cat([mean, var, mx], dim=-1)


class AutoPool(nn.Module):
    """Auto-pool: y_d = Σ_t x_td softmax_t(α_d x_td), α (one per dimension) learned, initialised to 0 (mean)."""

    def __init__(self, dim: int, alpha_init: float = 0.0):
        super().__init__()
        self.alpha = nn.Parameter(torch.full((dim,), float(alpha_init)))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        m = _full_mask(x, mask).unsqueeze(-1)
        logits = (self.alpha * x).masked_fill(~m, float("-inf"))
        w = torch.softmax(logits, dim=1)
        return (w * x.masked_fill(~m, 0.0)).sum(dim=1)


class AttentionPool(nn.Module):
    """Attention pooling: α_t = softmax_t(tanh(wᵀx_t + b)), y = Σ_t α_t x_t."""

    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def weights(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Attention weights α (B, T), zero on padding, summing to 1 over time."""
        m = _full_mask(x, mask)
        s = torch.tanh(self.score(x).squeeze(-1)).masked_fill(~m, float("-inf"))
        return torch.softmax(s, dim=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        a = self.weights(x, mask)
        return (a.unsqueeze(-1) * x.masked_fill(~_full_mask(x, mask).unsqueeze(-1), 0.0)).sum(dim=1)


def make_pool(aggregation: str, frame_dim: int) -> nn.Module:
    """The aggregation layer called ``aggregation`` for ``frame_dim``-d frames."""
    if aggregation in ("mean", "mean-var-max"):
        return StatisticsPool(aggregation)
    if aggregation == "autopool":
        return AutoPool(frame_dim)
    if aggregation == "attention":
        return AttentionPool(frame_dim)
    raise ValueError(f"unknown aggregation {aggregation!r} (choose from {AGGREGATIONS})")
