"""Training MuSimNet (thesis §4.2–4.3) on tagged tracks: the configuration, the loop, the result.

The data is in :mod:`.data`, ranking and scoring in :mod:`.evaluate`, catalog workflows (data from a
catalog, model cards, evaluation of saved models) in :mod:`.on_catalog`.

Data: a :class:`PatchBank` of CQT excerpts per track (uint8, see :mod:`.frontend`), the tracks' tag
sets and an :class:`~.oracle.Oracle`. Tracks are split 60/20/20 into train / validation / test
with no artist (group) in two splits (:func:`artist_disjoint_split`).

- TL / TL Autopool: triplets are mined offline from the training split's ranked lists
  (:func:`.mining.mine_triplets`, Np = 15, Nn = 250); each step draws a random 512-frame patch of every
  track of ``batch_size`` = 42 triplets; triplet loss max(‖a−p‖² − ‖a−n‖² + 0.5, 0) on L2 embeddings.
  Batch layout ``pair`` (the thesis's: one anchor, one positive and 42 of its negatives per batch) or
  ``mixed`` (42 triplets drawn from the whole mined set).
- AT: BCE between the sigmoid outputs and the tracks' (unexpanded) tag weights clipped to [0, 1].
- Adam; after each epoch (``steps_per_epoch`` steps) the validation split is ranked and nDCG@20 decides
  early stopping (``patience`` epochs without improvement); the best weights are kept.
- Ranking (validation, test): each track = mean output of 8 patches (fixed seed); TL ranks by the
  Euclidean distance between the mean embeddings, AT by the oracle S applied to the mean predicted tag
  probabilities (used as tag weights), as in §4.3.2.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from supervisor_app.infra import errors
from supervisor_app.infra.jobs import check_cancelled
from supervisor_app.musimnet import metrics
from supervisor_app.musimnet import mining as _mining
from supervisor_app.musimnet.nets import ARCHS, MuSimNet, MuSimNetConfig
from supervisor_app.musimnet.oracle import Oracle
from supervisor_app.musimnet.data import PatchBank, PatchSampler
from supervisor_app.musimnet.evaluate import EVAL_PATCHES, bank_outputs, predicted_scores

LogFn = Callable[[str], None]
DEFAULT_LR = {"at": 1e-4, "tl": 1e-6, "tl-autopool": 1e-6}  # the thesis's (§4.2.4)


# --- configuration and results ---------------------------------------------------------------------------
@dataclass
class MuSimTrainConfig:
    arch: str = "tl"  # at | tl | tl-autopool
    mining: str = "distance"  # neighbors | random | distance (TL only)
    n_pos: int = _mining.N_POS
    n_neg: int = _mining.N_NEG
    embed_dim: int = 128
    width_scale: float = 1.0
    margin: float = 0.5
    lr: float | None = None  # None: the thesis's (1e-6 TL, 1e-4 AT)
    batch_size: int = 42
    batch_layout: str = "pair"  # pair (thesis) | mixed
    steps_per_epoch: int = 200
    epochs: int = 100
    patience: int = 10
    eval_patches: int = EVAL_PATCHES
    seed: int = 0
    device: str = "auto"
    dropout: bool = True

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise errors.UsageError(f"Unknown MuSimNet architecture {self.arch!r}: choose one of {', '.join(ARCHS)}.")
        if self.mining not in _mining.STRATEGIES:
            raise errors.UsageError(
                f"Unknown mining strategy {self.mining!r}: choose one of {', '.join(_mining.STRATEGIES)}.")
        if self.batch_layout not in ("pair", "mixed"):
            raise errors.UsageError(f"Unknown batch layout {self.batch_layout!r}: choose pair or mixed.")

    @property
    def learning_rate(self) -> float:
        return float(self.lr if self.lr is not None else DEFAULT_LR[self.arch])

    def label(self) -> str:
        """The row name of Table 4.2 for this configuration."""
        if self.arch == "at":
            return "AT Baseline"
        name = {"neighbors": "Neighbors", "random": "Random uniform", "distance": "Distance-based"}[self.mining]
        return f"TL Autopool ({name})" if self.arch == "tl-autopool" else f"TL {name}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class MuSimTrainResult:
    model: MuSimNet
    config: MuSimTrainConfig
    best_epoch: int
    stopped: str  # "early stopping" | "max epochs" | "time budget"
    history: list  # per epoch: {epoch, loss, val nDCG@20, seconds}
    val_metrics: metrics.RankingMetrics
    n_triplets: int
    tag_vocabulary: list  # AT outputs, in order (empty for TL)
    seconds: float


# --- training --------------------------------------------------------------------------------------------
def _tag_targets(tag_sets: Sequence[Mapping[str, float]], vocab: Sequence[str]) -> np.ndarray:
    index = {t.casefold(): i for i, t in enumerate(vocab)}
    y = np.zeros((len(tag_sets), len(vocab)), dtype=np.float32)
    for i, ts in enumerate(tag_sets):
        for t, w in ts.items():
            j = index.get(t.casefold())
            if j is not None:
                y[i, j] = min(1.0, float(w))
    return y


def train_musimnet(bank: PatchBank, tag_sets: Sequence[Mapping[str, float]], oracle: Oracle,
                   train_idx: Sequence[int], val_idx: Sequence[int], config: MuSimTrainConfig,
                   log: LogFn | None = None, on_epoch: Callable[[dict], None] | None = None,
                   should_cancel: Callable[[], bool] | None = None, time_budget_s: float | None = None
                   ) -> MuSimTrainResult:
    """Train one MuSimNet on the ``train_idx`` tracks of ``bank``, early-stopped on ``val_idx``."""
    from supervisor_app.nets.device import select_device

    t_start = time.perf_counter()
    log = log or (lambda m: None)
    cfg = config
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = select_device(cfg.device)
    train_idx = np.asarray(train_idx, dtype=np.int64)
    val_idx = np.asarray(val_idx, dtype=np.int64)
    if len(train_idx) < 3 or len(val_idx) < 2:
        raise errors.UsageError(f"Training needs at least 3 training and 2 validation tracks "
                                f"(got {len(train_idx)} and {len(val_idx)}).")
    train_sets = [tag_sets[i] for i in train_idx]
    val_sets = [tag_sets[i] for i in val_idx]
    s_val = oracle.matrix(val_sets)

    vocab: list[str] = []
    triplets = np.zeros((0, 3), np.int64)
    if cfg.arch == "at":
        seen: dict[str, str] = {}
        for ts in train_sets:
            for t in ts:
                seen.setdefault(t.casefold(), t)
        vocab = [seen[k] for k in sorted(seen)]
        targets = torch.from_numpy(_tag_targets(train_sets, vocab)).to(device)
    else:
        s_train = oracle.matrix(train_sets)
        triplets = _mining.mine_triplets(s_train, cfg.mining, cfg.n_pos, cfg.n_neg, seed=cfg.seed)
        if len(triplets) == 0:
            raise errors.UsageError("No training triplets could be mined: the training tracks share no tags.")
        order = np.lexsort((triplets[:, 1], triplets[:, 0]))
        triplets = triplets[order]
        pair_keys = triplets[:, 0] * (len(train_idx) + 1) + triplets[:, 1]
        uniq_keys, first, counts = np.unique(pair_keys, return_index=True, return_counts=True)
        log(f"{cfg.label()}: {len(triplets)} triplets mined from {len(train_idx)} training tracks "
            f"({len(uniq_keys)} anchor-positive pairs)")

    net_cfg = MuSimNetConfig(arch=cfg.arch, embed_dim=cfg.embed_dim, n_tags=len(vocab),
                             width_scale=cfg.width_scale, dropout=cfg.dropout)
    model = MuSimNet(net_cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    sampler = PatchSampler(bank.chunks[train_idx], device, cfg.seed)
    val_bank = bank.chunks[val_idx]

    def validate() -> metrics.RankingMetrics:
        out = bank_outputs(model, val_bank, device, cfg.eval_patches)
        return metrics.ranking_metrics(s_val, predicted_scores(out, model.is_tagger, oracle, vocab))

    best, best_state, best_epoch, bad = -math.inf, None, 0, 0
    history: list[dict] = []
    stopped = "max epochs"
    best_val = None
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        losses = []
        for _ in range(cfg.steps_per_epoch):
            check_cancelled(should_cancel, "The MuSimNet training")
            if cfg.arch == "at":
                tr = rng.integers(0, len(train_idx), size=cfg.batch_size)
                logits = model(sampler.random(tr))
                loss = F.binary_cross_entropy_with_logits(logits, targets[torch.as_tensor(tr, device=device)])
            else:
                if cfg.batch_layout == "pair":
                    k = rng.integers(0, len(uniq_keys))
                    rows = first[k] + rng.integers(0, counts[k], size=cfg.batch_size)
                else:
                    rows = rng.integers(0, len(triplets), size=cfg.batch_size)
                t = triplets[rows]
                emb = model(sampler.random(t.reshape(-1)))  # rows a0 p0 n0 a1 p1 n1 ...
                emb = emb.view(len(rows), 3, -1)
                d_ap = ((emb[:, 0] - emb[:, 1]) ** 2).sum(-1)
                d_an = ((emb[:, 0] - emb[:, 2]) ** 2).sum(-1)
                loss = F.relu(d_ap - d_an + cfg.margin).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        vm = validate()
        score = vm.mean["nDCG@20"]
        rec = {"epoch": epoch, "loss": float(np.mean(losses)), "val_ndcg20": score,
               "val_recall20": vm.mean["Recall@20"], "seconds": time.perf_counter() - t0}
        history.append(rec)
        if on_epoch:
            on_epoch(rec)
        if best_state is None or (math.isfinite(score) and score > best):  # NaN: no valid query yet
            best, best_epoch, bad, best_val = (score if math.isfinite(score) else -math.inf), epoch, 0, vm
            best_state = copy.deepcopy({k: v.detach().clone() for k, v in model.state_dict().items()})
        else:
            bad += 1
            if bad >= cfg.patience:
                stopped = "early stopping"
                break
        if time_budget_s is not None and time.perf_counter() - t_start > time_budget_s:
            stopped = "time budget"
            break
    model.load_state_dict(best_state)
    model.eval()
    return MuSimTrainResult(model, cfg, best_epoch, stopped, history, best_val, int(len(triplets)), vocab,
                       time.perf_counter() - t_start)
