"""Losses of VM-Net (thesis §5.1.3, §5.2.1) and Seg-VM-Net (§7.1.3).

Triplet loss (thesis eq. 2.6, squared Euclidean distance):
    L(a, p, n) = max(‖a − p‖² − ‖a − n‖² + α, 0).
VM-Net's extended loss:  L = λ1·L_VM + λ2·L_MV + λ3·L_VV + λ4·L_MM, where
- L_VM: anchor video v_i, positive music m_i, negatives music rows of other clips;
- L_MV: anchor music m_i, positive video v_i, negatives video rows of other clips;
- L_VV / L_MM: intra-modal triplets of three different clips, mined so that the anchor is closer to
  the positive than to the negative in *input-feature* space, the loss applied to the embeddings.
Seg-VM-Net uses rows = segments, λ1 = λ2 = 1, λ3 = λ4 = 0 and α = 0.1 (:data:`SEGVMNET_DEFAULTS`).
The BCE variant scores (music, video) pairs through the fusion head with target 1 for matching pairs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from supervisor_app.nets.mining import (
    hardest_negatives,
    mine_intra_modal_triplets,
    negative_mask,
    sample_bce_pairs,
)

# Original VM-Net training script (csehong/VM-NET, whose hyper-parameters the thesis says it kept):
# music-anchored term weighted 3, video-anchored 1, structure terms 0.2, margin 0.1, 100 hardest negatives.
VMNET_DEFAULTS = {"margin": 0.1, "lambdas": (1.0, 3.0, 0.2, 0.2), "top_k": 100}
# Thesis §7.1.3: inter-modal terms only, λ1 = λ2 = 1, α = 0.1. All negatives of the batch are used.
SEGVMNET_DEFAULTS = {"margin": 0.1, "lambdas": (1.0, 1.0, 0.0, 0.0), "top_k": None}


def squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, M) matrix of ‖a_i − b_j‖² (‖a‖² + ‖b‖² − 2 a·b, clamped at 0)."""
    d = (a * a).sum(-1).unsqueeze(1) + (b * b).sum(-1).unsqueeze(0) - 2.0 * (a @ b.transpose(0, 1))
    return d.clamp_min(0.0)


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 0.1) -> torch.Tensor:
    """Mean over rows of max(‖a − p‖² − ‖a − n‖² + margin, 0); 0 for an empty batch."""
    if anchor.shape[0] == 0:
        return anchor.sum() * 0.0
    d_ap = ((anchor - positive) ** 2).sum(-1)
    d_an = ((anchor - negative) ** 2).sum(-1)
    return F.relu(d_ap - d_an + margin).mean()


def inter_modal_triplet_loss(anchor: torch.Tensor, other: torch.Tensor, clip_ids: torch.Tensor,
                             margin: float = 0.1, top_k: int | None = None) -> torch.Tensor:
    """Cross-modal triplet loss over a batch of paired rows.

    Anchor row i's positive is ``other[i]``; its negatives are the rows of ``other`` from other clips
    (the ``top_k`` closest ones if given, else all). Mean over every (anchor, negative) triplet kept.
    """
    d = squared_distances(anchor, other)
    d_pos = d.diagonal().unsqueeze(1)
    mask = negative_mask(clip_ids.to(anchor.device))
    d_neg, valid = hardest_negatives(d, mask, top_k)
    hinge = F.relu(d_pos - d_neg + margin) * valid
    n = valid.sum()
    if n == 0:
        return anchor.sum() * 0.0
    return hinge.sum() / n


@dataclass
class LossTerms:
    """The weighted total and each unweighted term (floats are detached copies, for logging)."""

    total: torch.Tensor
    vm: float = 0.0
    mv: float = 0.0
    vv: float = 0.0
    mm: float = 0.0
    bce: float = 0.0


class VMNetLoss:
    """L = λ1·L_VM + λ2·L_MV + λ3·L_VV + λ4·L_MM (terms with λ = 0 are not computed)."""

    def __init__(self, margin: float = 0.1, lambdas=(1.0, 1.0, 0.0, 0.0), top_k: int | None = None,
                 n_intra_triplets: int | None = None):
        if len(lambdas) != 4:
            raise ValueError("lambdas must be (λ1 VM, λ2 MV, λ3 VV, λ4 MM)")
        self.margin = float(margin)
        self.lambdas = tuple(float(x) for x in lambdas)
        self.top_k = top_k
        self.n_intra_triplets = n_intra_triplets

    def __call__(self, e_music: torch.Tensor, e_video: torch.Tensor, clip_ids: torch.Tensor,
                 x_music: torch.Tensor | None = None, x_video: torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> LossTerms:
        """``e_*``: (B, 512) embeddings of paired rows; ``x_*``: their (B, d) input features (needed by
        the intra-modal terms, mined in input space; 3-D frame inputs are averaged over time)."""
        l1, l2, l3, l4 = self.lambdas
        clip_ids = clip_ids.to(e_music.device)
        total = e_music.sum() * 0.0
        out = LossTerms(total)
        if l1:
            t = inter_modal_triplet_loss(e_video, e_music, clip_ids, self.margin, self.top_k)
            total = total + l1 * t
            out.vm = float(t.detach())
        if l2:
            t = inter_modal_triplet_loss(e_music, e_video, clip_ids, self.margin, self.top_k)
            total = total + l2 * t
            out.mv = float(t.detach())
        n_intra = self.n_intra_triplets or e_music.shape[0]
        for lam, x, e, name in ((l3, x_video, e_video, "vv"), (l4, x_music, e_music, "mm")):
            if not lam:
                continue
            if x is None:
                raise ValueError(f"the intra-modal term L_{name.upper()} needs the input features")
            xf = x.mean(dim=1) if x.dim() == 3 else x
            a, p, n = mine_intra_modal_triplets(xf, clip_ids, n_intra, generator)
            t = triplet_loss(e[a], e[p], e[n], self.margin)
            total = total + lam * t
            setattr(out, name, float(t.detach()))
        out.total = total
        return out


def bce_loss(model, e_music: torch.Tensor, e_video: torch.Tensor, clip_ids: torch.Tensor,
             n_negatives: int = 1, generator: torch.Generator | None = None) -> LossTerms:
    """BCE variant: matching (music, video) rows → 1, ``n_negatives`` other-clip pairs per row → 0."""
    mi, vi, target = sample_bce_pairs(clip_ids.cpu(), n_negatives, generator)
    dev = e_music.device
    logits = model.match_logit(e_music[mi.to(dev)], e_video[vi.to(dev)])
    t = F.binary_cross_entropy_with_logits(logits, target.to(dev))
    return LossTerms(t, bce=float(t.detach()))
