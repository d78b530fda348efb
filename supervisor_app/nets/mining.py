"""Which items of a batch may serve as positives and negatives (thesis §5.1.3 and §7.1.3).

A batch holds B paired rows: music row i and video row i come from the same clip (and, for Seg-VM-Net,
the same segment), so the positive of anchor i in the other modality is row i. Every row carries the
id of its clip; a negative must come from *another clip* (any segment), never from the anchor's own
clip — so neither the positive nor another segment of the same clip is ever drawn as a negative.
"""
from __future__ import annotations

import torch


def negative_mask(clip_ids: torch.Tensor) -> torch.Tensor:
    """(B, B) bool: True where row j is a valid negative for anchor row i (different clip)."""
    c = torch.as_tensor(clip_ids).reshape(-1)
    return c.unsqueeze(0) != c.unsqueeze(1)


def hardest_negatives(dist: torch.Tensor, mask: torch.Tensor, top_k: int | None = None):
    """Per anchor row, the ``top_k`` smallest distances among valid negatives (all of them if None).

    Returns ``(values, valid)`` of shape (B, k): ``valid`` is False where an anchor has fewer than k
    negatives (those entries must be ignored).
    """
    big = torch.finfo(dist.dtype).max
    masked = dist.masked_fill(~mask, big)
    k = mask.shape[1] if top_k is None else min(int(top_k), mask.shape[1])
    vals, idx = torch.topk(masked, k=k, dim=1, largest=False)
    valid = torch.gather(mask, 1, idx)
    return vals, valid


def mine_intra_modal_triplets(x: torch.Tensor, clip_ids: torch.Tensor, n_triplets: int,
                              generator: torch.Generator | None = None, max_tries: int = 8):
    """Intra-modal structure triplets mined in *input-feature* space (VM-Net's L_MM / L_VV).

    Draws anchor, positive and negative rows from three different clips and orders them so that
    ‖x_a − x_p‖ < ‖x_a − x_n‖ (ties are dropped). Returns three LongTensors (a, p, n) of equal length
    ≤ ``n_triplets`` (fewer only when the batch spans fewer than three clips or is made of ties).
    """
    x = x.detach()
    c = torch.as_tensor(clip_ids, device=x.device).reshape(-1)
    b = x.shape[0]
    empty = torch.zeros(0, dtype=torch.long, device=x.device)
    if b < 3 or n_triplets <= 0 or torch.unique(c).numel() < 3:
        return empty, empty, empty
    got_a, got_p, got_n = [], [], []
    have = 0
    for _ in range(max_tries):
        m = 2 * (n_triplets - have) + 8
        idx = torch.randint(0, b, (3, m), generator=generator, device="cpu").to(x.device)
        a, p, n = idx
        ok = (c[a] != c[p]) & (c[a] != c[n]) & (c[p] != c[n])
        a, p, n = a[ok], p[ok], n[ok]
        d_ap = ((x[a] - x[p]) ** 2).sum(-1)
        d_an = ((x[a] - x[n]) ** 2).sum(-1)
        keep = d_ap != d_an
        swap = d_ap > d_an
        p2 = torch.where(swap, n, p)
        n2 = torch.where(swap, p, n)
        a, p2, n2 = a[keep], p2[keep], n2[keep]
        need = n_triplets - have
        got_a.append(a[:need]); got_p.append(p2[:need]); got_n.append(n2[:need])
        have += min(need, a.numel())
        if have >= n_triplets:
            break
    return torch.cat(got_a), torch.cat(got_p), torch.cat(got_n)


def sample_bce_pairs(clip_ids: torch.Tensor, n_negatives: int = 1, generator: torch.Generator | None = None):
    """Pairs for the BCE variant: every matching (i, i) with target 1 plus ``n_negatives`` random
    (music i, video j) per row with j from another clip and target 0.

    Returns ``(music_idx, video_idx, target)``; rows whose batch holds no other clip get no negative.
    """
    c = torch.as_tensor(clip_ids).reshape(-1)
    b = c.numel()
    pos = torch.arange(b)
    mi, vi, tg = [pos], [pos], [torch.ones(b)]
    if b > 1 and n_negatives > 0:
        mask = negative_mask(c).to(torch.float32)
        has = mask.sum(1) > 0
        if has.any():
            rows = pos[has]
            draws = torch.multinomial(mask[has], n_negatives, replacement=True, generator=generator)
            mi.append(rows.repeat_interleave(n_negatives))
            vi.append(draws.reshape(-1))
            tg.append(torch.zeros(rows.numel() * n_negatives))
    return torch.cat(mi), torch.cat(vi), torch.cat(tg)
