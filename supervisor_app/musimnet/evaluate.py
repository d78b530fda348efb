"""Ranking with a MuSimNet and scoring the ranking (thesis §4.3.2, Appendix C): each track is the mean
output of 8 fixed patches; TL ranks by the Euclidean distance between mean embeddings, AT by the oracle S
applied to the mean predicted tag probabilities; baselines (random, frozen YAMNet means)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from supervisor_app.musimnet import frontend, metrics
from supervisor_app.musimnet.nets import MuSimNet
from supervisor_app.musimnet.oracle import Oracle

from supervisor_app.musimnet.data import PatchBank, PatchSampler


EVAL_PATCHES = 8


def eval_patch_plan(n_chunks: int, length: int, n_patches: int = EVAL_PATCHES, seed: int = 12345
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(chunk, offset) of the ``n_patches`` fixed "random" test patches used for every track."""
    rng = np.random.default_rng(seed)
    chunk = np.arange(n_patches) % n_chunks
    offset = rng.integers(0, length - frontend.PATCH_FRAMES + 1, size=n_patches)
    return chunk, offset


@torch.no_grad()
def bank_outputs(model: MuSimNet, bank: PatchBank | np.ndarray, device: torch.device | None = None,
                 n_patches: int = EVAL_PATCHES, batch: int = 64) -> np.ndarray:
    """(N, out_dim) mean network output over each track's ``n_patches`` evaluation patches."""
    chunks = bank.chunks if isinstance(bank, PatchBank) else np.asarray(bank)
    device = device or next(model.parameters()).device
    sampler = PatchSampler(chunks, device, 0)
    ch, off = eval_patch_plan(sampler.c, sampler.length, n_patches)
    was = model.training
    model.eval()
    out = np.zeros((sampler.n, model.config.out_dim), dtype=np.float32)
    tr = np.repeat(np.arange(sampler.n), n_patches)
    cc = np.tile(ch, sampler.n)
    oo = np.tile(off, sampler.n)
    rows = []
    for s in range(0, len(tr), batch):
        x = sampler.cut(torch.as_tensor(tr[s:s + batch]), torch.as_tensor(cc[s:s + batch]),
                        torch.as_tensor(oo[s:s + batch]))
        rows.append(model.outputs(x).float().cpu().numpy())
    model.train(was)
    allp = np.concatenate(rows).reshape(sampler.n, n_patches, -1)
    out[:] = allp.mean(axis=1)
    return out


def predicted_scores(model_outputs: np.ndarray, is_tagger: bool, oracle: Oracle | None = None,
                     tag_vocabulary: Sequence[str] | None = None) -> np.ndarray:
    """(N, N) similarity used to rank: −Euclidean distance (TL) or S on predicted tags (AT)."""
    y = np.asarray(model_outputs, dtype=np.float64)
    if is_tagger:
        if oracle is None or tag_vocabulary is None:
            raise ValueError("the AT baseline ranks with the oracle: pass oracle and tag_vocabulary")
        sets = [{t: float(p) for t, p in zip(tag_vocabulary, row) if p > 0} for row in y]
        return oracle.matrix(sets)
    sq = (y * y).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * y @ y.T, 0.0)
    return -np.sqrt(d2)


def cosine_scores(vectors: np.ndarray) -> np.ndarray:
    """(N, N) cosine similarities between rows (e.g. frozen YAMNet track means)."""
    v = np.asarray(vectors, dtype=np.float64)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return v @ v.T


def evaluate_outputs(outputs: np.ndarray, is_tagger: bool, oracle: Oracle, tag_sets: Sequence[Mapping[str, float]],
                     tag_vocabulary: Sequence[str] | None = None) -> metrics.RankingMetrics:
    """Appendix C metrics of per-track outputs against the oracle over the same tracks."""
    s = oracle.matrix(list(tag_sets))
    return metrics.ranking_metrics(s, predicted_scores(outputs, is_tagger, oracle, tag_vocabulary))


def evaluate_model(model: MuSimNet, bank: PatchBank, tag_sets: Sequence[Mapping[str, float]], oracle: Oracle,
                   tag_vocabulary: Sequence[str] | None = None, n_patches: int = EVAL_PATCHES,
                   device: torch.device | None = None) -> metrics.RankingMetrics:
    """Rank every track of ``bank`` against the others (queries = all tracks) and score it (Appendix C)."""
    out = bank_outputs(model, bank, device, n_patches)
    return evaluate_outputs(out, model.is_tagger, oracle, tag_sets, tag_vocabulary)


def baseline_metrics(oracle: Oracle, tag_sets: Sequence[Mapping[str, float]], yamnet_means: np.ndarray | None = None
                     ) -> dict[str, metrics.RankingMetrics]:
    """Random ranking and (when given) frozen YAMNet-mean cosine search, on the same tracks."""
    s = oracle.matrix(list(tag_sets))
    out = {"Random": metrics.random_metrics(s)}
    if yamnet_means is not None:
        out["Frozen YAMNet mean (cosine)"] = metrics.ranking_metrics(s, cosine_scores(yamnet_means))
    return out
