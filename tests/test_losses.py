"""Triplet / VM-Net / Seg-VM-Net / BCE losses on hand-computed examples, and the mining rules."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from supervisor_app.nets.losses import (
    SEGVMNET_DEFAULTS,
    VMNET_DEFAULTS,
    VMNetLoss,
    bce_loss,
    inter_modal_triplet_loss,
    squared_distances,
    triplet_loss,
)
from supervisor_app.nets.mining import (
    hardest_negatives,
    mine_intra_modal_triplets,
    negative_mask,
    sample_bce_pairs,
)
from supervisor_app.segvmnet.vmnet import VMNet, VMNetConfig

T = torch.tensor


def test_squared_distances():
    a = T([[0.0, 0.0], [1.0, 1.0]])
    b = T([[3.0, 4.0], [1.0, 1.0]])
    assert torch.allclose(squared_distances(a, b), T([[25.0, 2.0], [13.0, 0.0]]))


def test_triplet_loss_hand_computed():
    a = T([[0.0, 0.0], [0.0, 0.0]])
    p = T([[1.0, 0.0], [1.0, 0.0]])
    n = T([[0.0, 2.0], [0.5, 0.0]])
    # row 1: max(1 − 4 + 0.1, 0) = 0; row 2: max(1 − 0.25 + 0.1, 0) = 0.85
    assert triplet_loss(a, p, n, 0.1).item() == pytest.approx(0.425)
    assert triplet_loss(a, p, n, 3.5).item() == pytest.approx(((1 - 4 + 3.5) + (1 - 0.25 + 3.5)) / 2)
    assert triplet_loss(a[:0], p[:0], n[:0]).item() == 0.0


def test_inter_modal_loss_hand_computed():
    # rows 0 and 1: two segments of clip 7; row 2: clip 9
    anchor = T([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    other = T([[0.0, 0.5], [1.0, 1.0], [0.0, 0.0]])
    ids = T([7, 7, 9])
    m = 0.1
    # row 0: d_pos = 0.25; negatives: row 2 only (d = 0)          -> 0.25 − 0 + 0.1 = 0.35
    # row 1: d_pos = 1;    negatives: row 2 only (d = 1)          -> 1 − 1 + 0.1 = 0.1
    # row 2: d_pos = 1;    negatives: rows 0 (d = 0.25), 1 (d = 1) -> 0.85 and 0.1
    want = (0.35 + 0.1 + 0.85 + 0.1) / 4
    assert inter_modal_triplet_loss(anchor, other, ids, m).item() == pytest.approx(want)
    # hardest negative only: row 2 keeps the 0.25 one
    assert inter_modal_triplet_loss(anchor, other, ids, m, top_k=1).item() == pytest.approx((0.35 + 0.1 + 0.85) / 3)


def test_vmnet_loss_weights_and_directions():
    e_m = torch.nn.functional.normalize(torch.randn(6, 4, generator=torch.Generator().manual_seed(0)), dim=1)
    e_v = torch.nn.functional.normalize(torch.randn(6, 4, generator=torch.Generator().manual_seed(1)), dim=1)
    ids = torch.arange(6)
    vm = inter_modal_triplet_loss(e_v, e_m, ids, 0.1).item()  # anchor video, music positives/negatives
    mv = inter_modal_triplet_loss(e_m, e_v, ids, 0.1).item()
    out = VMNetLoss(0.1, (2.0, 0.5, 0.0, 0.0))(e_m, e_v, ids)
    assert out.vm == pytest.approx(vm) and out.mv == pytest.approx(mv)
    assert out.total.item() == pytest.approx(2.0 * vm + 0.5 * mv, rel=1e-6)
    assert out.vv == 0.0 and out.mm == 0.0


def test_intra_modal_terms_use_input_space_ordering():
    # three clips, 1-D inputs x = 0, 1, 5: the only valid (a, p, n) orderings in input space are
    # (0,1,2), (1,0,2), (2,1,0)
    x = T([[0.0], [1.0], [5.0]])
    ids = T([0, 1, 2])
    a, p, n = mine_intra_modal_triplets(x, ids, 50, torch.Generator().manual_seed(0))
    got = set(zip(a.tolist(), p.tolist(), n.tolist()))
    assert len(a) == 50 and got <= {(0, 1, 2), (1, 0, 2), (2, 1, 0)} and len(got) == 3
    # embeddings that reverse the input order for anchor 0: e0 near e2
    e = T([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    e = torch.nn.functional.normalize(e, dim=1)
    want = triplet_loss(e[a], e[p], e[n], 0.1).item()
    loss = VMNetLoss(0.1, (0, 0, 0, 1.0), n_intra_triplets=50)
    out = loss(e, e, ids, x_music=x, x_video=x, generator=torch.Generator().manual_seed(0))
    assert out.mm == pytest.approx(want) and out.total.item() == pytest.approx(want)
    # a bad ordering costs: (0, 1, 2) with e0 ≈ e2 violates the margin
    d = squared_distances(e, e)
    assert float(d[0, 1] - d[0, 2] + 0.1) > 0


def test_intra_modal_needs_inputs():
    e = torch.nn.functional.normalize(torch.randn(4, 3), dim=1)
    with pytest.raises(ValueError):
        VMNetLoss(0.1, (0, 0, 1, 0))(e, e, torch.arange(4))


def test_defaults_follow_thesis_and_original_code():
    assert SEGVMNET_DEFAULTS["margin"] == 0.1 and SEGVMNET_DEFAULTS["lambdas"] == (1.0, 1.0, 0.0, 0.0)
    assert VMNET_DEFAULTS["lambdas"][2:] == (0.2, 0.2)


# --- mining never draws a positive as a negative ------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_negative_mask_excludes_the_anchor_clip(seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 6, (40,), generator=g)
    mask = negative_mask(ids)
    same = ids[:, None] == ids[None, :]
    assert not mask.diagonal().any()
    assert torch.equal(mask, ~same)
    d = torch.rand(40, 40, generator=g)
    vals, valid = hardest_negatives(d, mask, top_k=5)
    for i in range(40):
        neg_d = d[i][mask[i]].sort().values
        k = min(5, len(neg_d))
        assert int(valid[i].sum()) == k
        assert torch.allclose(vals[i][valid[i]], neg_d[:k])


def test_intra_modal_triplets_come_from_three_clips():
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 5, (30,), generator=g)
    x = torch.randn(30, 4, generator=g)
    a, p, n = mine_intra_modal_triplets(x, ids, 200, g)
    assert len(a) == 200
    assert torch.all(ids[a] != ids[p]) and torch.all(ids[a] != ids[n]) and torch.all(ids[p] != ids[n])
    assert torch.all(((x[a] - x[p]) ** 2).sum(1) < ((x[a] - x[n]) ** 2).sum(1))
    empty = mine_intra_modal_triplets(x[:4], T([0, 0, 1, 1]), 10)
    assert all(len(t) == 0 for t in empty)


def test_bce_pairs_negatives_are_other_clips():
    ids = T([0, 0, 1, 2, 2, 2])
    mi, vi, tg = sample_bce_pairs(ids, 3, torch.Generator().manual_seed(0))
    pos = tg == 1
    assert torch.equal(mi[pos], vi[pos]) and int(pos.sum()) == 6
    assert torch.all(ids[mi[~pos]] != ids[vi[~pos]]) and int((~pos).sum()) == 18


def test_bce_loss_hand_computed():
    torch.manual_seed(0)
    model = VMNet(VMNetConfig(4, 4, fusion_head=True))
    e_m = torch.nn.functional.normalize(torch.randn(3, 512), dim=1)
    e_v = torch.nn.functional.normalize(torch.randn(3, 512), dim=1)
    ids = T([0, 1, 2])
    out = bce_loss(model, e_m, e_v, ids, 1, torch.Generator().manual_seed(0))
    mi, vi, tg = sample_bce_pairs(ids, 1, torch.Generator().manual_seed(0))
    p = torch.sigmoid(model.match_logit(e_m[mi], e_v[vi])).detach().numpy()
    want = -np.mean(tg.numpy() * np.log(p) + (1 - tg.numpy()) * np.log(1 - p))
    assert out.bce == pytest.approx(float(want), rel=1e-5)
