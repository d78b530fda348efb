"""Training and evaluating MuSimNet (thesis §4.2–4.3) on tagged tracks.

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
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from supervisor_app.infra import errors
from supervisor_app.musimnet import frontend, metrics
from supervisor_app.musimnet import mining as _mining
from supervisor_app.musimnet.nets import ARCHS, MuSimNet, MuSimNetConfig, n_parameters
from supervisor_app.musimnet.oracle import Oracle

LogFn = Callable[[str], None]
DEFAULT_LR = {"at": 1e-4, "tl": 1e-6, "tl-autopool": 1e-6}  # the thesis's (§4.2.4)
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
EVAL_PATCHES = 8


# --- data ------------------------------------------------------------------------------------------------
@dataclass
class PatchBank:
    """CQT excerpts of N tracks: ``chunks`` (N, C, 96, L) uint8 (L ≥ 512), with the tracks' keys."""

    chunks: np.ndarray
    keys: list  # per track: catalog id, content hash or any label

    def __post_init__(self):
        c = np.asarray(self.chunks)
        if c.dtype != np.uint8 or c.ndim != 4 or c.shape[2] != frontend.N_BINS or c.shape[3] < frontend.PATCH_FRAMES:
            raise ValueError(f"chunks must be (N, C, 96, L >= 512) uint8, got {c.shape} {c.dtype}")
        if len(self.keys) != len(c):
            raise ValueError("one key per track is needed")
        self.chunks = c

    def __len__(self) -> int:
        return len(self.chunks)

    def subset(self, idx: Sequence[int]) -> "PatchBank":
        idx = np.asarray(idx, dtype=np.int64)
        return PatchBank(self.chunks[idx], [self.keys[i] for i in idx])

    def save(self, path: str | Path) -> None:
        from supervisor_app.infra.fileio import atomic_write_bytes
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, chunks=self.chunks, keys=np.asarray([str(k) for k in self.keys]))
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> "PatchBank":
        with np.load(path) as z:
            return cls(z["chunks"], [str(k) for k in z["keys"]])


def build_bank(paths_: Sequence[str | Path], keys: Sequence, n_chunks: int = 8, chunk_frames: int = 640,
               durations_s: Sequence[float | None] | None = None, content_hashes: Sequence[str] | None = None,
               cache=None, progress: Callable[[int, int, str], None] | None = None,
               should_cancel: Callable[[], bool] | None = None) -> PatchBank:
    """CQT excerpts of audio files (``n_chunks`` windows of ``chunk_frames`` spread over each file).

    With ``cache`` (an :class:`supervisor_app.infra.cache.AnalysisCache`) and ``content_hashes``, each file's
    excerpts are computed once and then read back.
    """
    version = f"{frontend.VERSION}-{n_chunks}x{chunk_frames}"
    out = np.zeros((len(paths_), n_chunks, frontend.N_BINS, chunk_frames), dtype=np.uint8)
    for i, p in enumerate(paths_):
        if should_cancel and should_cancel():
            raise errors.CancelledError("Computing the CQT excerpts")
        h = content_hashes[i] if content_hashes is not None else None
        arr = cache.get_array(h, "musimnet-cqt", version) if cache is not None and h else None
        if arr is None or arr.shape != out.shape[1:]:
            d = durations_s[i] if durations_s is not None else None
            arr = frontend.track_chunks(p, n_chunks, chunk_frames, duration_s=d)
            if cache is not None and h:
                cache.put_array(h, "musimnet-cqt", version, arr)
        out[i] = arr
        if progress:
            progress(i + 1, len(paths_), Path(str(p)).name)
    return PatchBank(out, list(keys))


def artist_disjoint_split(groups: Sequence[str], fractions=SPLIT_FRACTIONS, seed: int = 0
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Track indices of (train, validation, test), no group in two splits, sizes close to ``fractions``.

    Groups are visited largest first (random order among equal sizes) and each goes to the split
    furthest below its target size. Raises :class:`UsageError` with fewer than 3 groups.
    """
    groups = [str(g) for g in groups]
    uniq = sorted(set(groups))
    if len(uniq) < 3:
        raise errors.UsageError(
            f"An artist-disjoint train/validation/test split needs tracks of at least 3 artists; found {len(uniq)}.")
    rng = np.random.default_rng(seed)
    uniq = [uniq[i] for i in rng.permutation(len(uniq))]
    size = {g: 0 for g in uniq}
    for g in groups:
        size[g] += 1
    order = sorted(uniq, key=lambda g: -size[g])  # stable: shuffled order among ties
    target = np.asarray(fractions, dtype=np.float64) / np.sum(fractions) * len(groups)
    have = np.zeros(3)
    where = {}
    for i, g in enumerate(order):
        deficit = (target - have) / np.maximum(target, 1e-9)
        empty = [k for k in range(3) if have[k] == 0]
        if empty and len(order) - i <= len(empty):  # keep a group for every split still empty
            s = max(empty, key=lambda k: deficit[k])
        else:
            s = int(np.argmax(deficit))
        where[g] = s
        have[s] += size[g]
    idx = np.arange(len(groups))
    split = np.array([where[g] for g in groups])
    return idx[split == 0], idx[split == 1], idx[split == 2]


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


# --- batches on the device -------------------------------------------------------------------------------
class _Sampler:
    """Random 512-frame patches of bank tracks, cut on the device."""

    def __init__(self, chunks: np.ndarray, device: torch.device, seed: int):
        self.bank = torch.from_numpy(np.ascontiguousarray(chunks)).to(device)  # (N, C, 96, L) uint8
        self.n, self.c, _, self.length = self.bank.shape
        self.device = device
        self.gen = torch.Generator(device="cpu").manual_seed(int(seed))
        self.frames = torch.arange(frontend.PATCH_FRAMES, device=device)
        self.bins = torch.arange(frontend.N_BINS, device=device)

    def cut(self, tracks: torch.Tensor, chunk: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """(B, 1, 96, 512) float dB patches of tracks[b], chunk[b], starting at offset[b]."""
        t = tracks.to(self.device)[:, None, None]
        c = chunk.to(self.device)[:, None, None]
        f = (offset.to(self.device)[:, None] + self.frames[None, :])[:, None, :]
        q = self.bank[t, c, self.bins[None, :, None], f]  # (B, 96, 512) uint8
        scale = (frontend.DB_CEIL - frontend.DB_FLOOR) / 255.0
        return (q.float() * scale + frontend.DB_FLOOR)[:, None]

    def random(self, tracks: np.ndarray) -> torch.Tensor:
        b = len(tracks)
        chunk = torch.randint(0, self.c, (b,), generator=self.gen)
        offset = torch.randint(0, self.length - frontend.PATCH_FRAMES + 1, (b,), generator=self.gen)
        return self.cut(torch.as_tensor(np.asarray(tracks), dtype=torch.long), chunk, offset)


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
    sampler = _Sampler(chunks, device, 0)
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
    sampler = _Sampler(bank.chunks[train_idx], device, cfg.seed)
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
            if should_cancel and should_cancel():
                raise errors.CancelledError("Training")
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


# --- catalogs: data, training with a model card, evaluation ----------------------------------------------
@dataclass
class CatalogData:
    """Tagged 'ok' catalog tracks with their (raw) tag sets, artist groups and the oracle."""

    tracks: list  # catalog Track objects, ordered by id
    tag_sets: list  # {tag: weight} per track
    groups: list  # artist (or folder) per track, for the artist-disjoint split
    oracle: Oracle
    tags_source: str
    relations_source: str


def track_group(track, group_by: str = "artist") -> str:
    """The split unit of a track: its artist (casefolded), or its folder when it has none / ``group_by='folder'``."""
    if group_by not in ("artist", "folder"):
        raise errors.UsageError(f"Unknown grouping {group_by!r}: choose artist or folder.")
    if group_by == "artist" and (track.artist or "").strip():
        return "artist:" + track.artist.strip().casefold()
    return "folder:" + str(Path(track.path).parent)


def catalog_data(catalog, tags_path: str | Path | None = None, relations_path: str | Path | None = None,
                 group_by: str = "artist") -> CatalogData:
    """Read the tags (CSV, else the catalog's own tags) and relations, keep tagged 'ok' tracks."""
    from supervisor_app.musimnet.oracle import read_relations_csv, read_tags_csv, tags_from_catalog

    if tags_path is not None:
        tags = read_tags_csv(tags_path, catalog)
        source = f"tags file {Path(tags_path).name}"
    else:
        tags = tags_from_catalog(catalog)
        source = "the catalog's own track tags (weight 1)"
        if not tags:
            raise errors.UsageError("No track of the catalog has tags: give a tags file (--tags tags.csv) or tag tracks "
                                    "in the catalog first.")
    relations = read_relations_csv(relations_path) if relations_path is not None else {}
    tracks, sets = [], []
    for tid in sorted(tags):
        t = catalog.get_track(tid)
        if t is not None and t.status == "ok":
            tracks.append(t)
            sets.append(tags[tid])
    if len(tracks) < 10:
        raise errors.UsageError(f"Only {len(tracks)} tagged track(s) are usable: MuSimNet needs at least 10 "
                                "(hundreds for a useful model).")
    return CatalogData(tracks, sets, [track_group(t, group_by) for t in tracks], Oracle(relations), source,
                       f"relations file {Path(relations_path).name}" if relations_path else "no relations")


def catalog_bank(catalog_data_: CatalogData, n_chunks: int = 8, chunk_frames: int = 640, cache=None,
                 progress=None, should_cancel=None) -> PatchBank:
    """The CQT excerpts of the data's tracks (cached by content hash in the app's cache folder)."""
    from supervisor_app.infra.cache import AnalysisCache

    ts = catalog_data_.tracks
    return build_bank([t.path for t in ts], [t.id for t in ts], n_chunks, chunk_frames,
                      durations_s=[t.duration_s for t in ts], content_hashes=[t.content_hash for t in ts],
                      cache=cache if cache is not None else AnalysisCache(), progress=progress,
                      should_cancel=should_cancel)


def yamnet_mean_outputs(catalog, tracks) -> np.ndarray | None:
    """(N, 1024) stored frozen YAMNet track means of ``tracks``, or None if any is missing."""
    from supervisor_app.features import get_extractor
    from supervisor_app.indexing.keys import YAMNET_MEAN

    try:
        yv = get_extractor("yamnet").version
    except errors.SupervisorError:
        return None
    rows = []
    for t in tracks:
        e = catalog.get_embedding(t.id, YAMNET_MEAN, yv)
        if e is None:
            return None
        rows.append(e.astype(np.float32))
    return np.stack(rows)


def baseline_metrics(oracle: Oracle, tag_sets: Sequence[Mapping[str, float]], yamnet_means: np.ndarray | None = None
                     ) -> dict[str, metrics.RankingMetrics]:
    """Random ranking and (when given) frozen YAMNet-mean cosine search, on the same tracks."""
    s = oracle.matrix(list(tag_sets))
    out = {"Random": metrics.random_metrics(s)}
    if yamnet_means is not None:
        out["Frozen YAMNet mean (cosine)"] = metrics.ranking_metrics(s, cosine_scores(yamnet_means))
    return out


def make_card(name: str, result: MuSimTrainResult, data: CatalogData, split: tuple, test_rows: dict,
              extra_data: dict | None = None, data_licence: str = "not stated"):
    """The model card (a :class:`supervisor_app.nets.model_store.ModelCard`) of a trained MuSimNet."""
    from supervisor_app.nets.model_store import ModelCard

    tr, va, te = split
    cfg = result.config
    training = {"label": cfg.label(), **cfg.to_dict(), "learning_rate": cfg.learning_rate,
                "best_epoch": result.best_epoch, "stopped": result.stopped, "n_triplets": result.n_triplets,
                "n_parameters": n_parameters(result.model), "seconds": round(result.seconds, 1),
                "history": result.history}
    groups = lambda idx: sorted({data.groups[i] for i in idx})  # noqa: E731
    d = {"oracle": f"S = {data.oracle.description}, over {data.tags_source}, {data.relations_source}",
         "relations": {k: v for k, v in data.oracle.relations.items()},
         "n_tracks": len(data.tracks), "split": "artist-disjoint 60/20/20 (seed %d)" % cfg.seed,
         "n_train": len(tr), "n_validation": len(va), "n_test": len(te),
         "groups": {"train": groups(tr), "validation": groups(va), "test": groups(te)},
         "split_track_hashes": {"train": [data.tracks[i].content_hash for i in tr],
                                "validation": [data.tracks[i].content_hash for i in va],
                                "test": [data.tracks[i].content_hash for i in te]},
         "training data licence": data_licence}
    if result.tag_vocabulary:
        d["tag_vocabulary"] = list(result.tag_vocabulary)
    d.update(extra_data or {})
    return ModelCard(name=name, kind="musimnet", network=result.model.config.to_dict(), loss=(
        "binary cross-entropy" if cfg.arch == "at" else f"triplet (margin {cfg.margin})"),
        training=training, data=d,
        metrics={"validation": {cfg.label(): result.val_metrics.to_dict()},
                 "test": {k: v.to_dict() for k, v in test_rows.items()}},
        licences={"input": "CQT computed with librosa (ISC); no pretrained weights",
                  "training audio": data_licence})


def train_from_catalog(catalog, data: CatalogData, config: MuSimTrainConfig, out_dir: str | Path, *,
                       force: bool = False, n_chunks: int = 8, chunk_frames: int = 640, data_licence: str = "not stated",
                       log: LogFn | None = None, on_epoch=None, progress=None, should_cancel=None):
    """Split, compute the CQT excerpts, train, test against the baselines, write the model folder.

    Returns (MuSimTrainResult, {row name: RankingMetrics on the test split}, model folder).
    """
    from supervisor_app.musimnet.nets import save_musimnet

    out = Path(out_dir)
    if (out / "model_card.json").exists() and not force:
        raise errors.UsageError(f"A model already exists at {out}: choose another --out or pass --force.")
    log = log or (lambda m: None)
    split = artist_disjoint_split(data.groups, seed=config.seed)
    tr, va, te = split
    log(f"split: {len(tr)} train / {len(va)} validation / {len(te)} test tracks "
        f"({len(set(data.groups))} artists, none in two splits)")
    bank = catalog_bank(data, n_chunks, chunk_frames, progress=progress, should_cancel=should_cancel)
    result = train_musimnet(bank, data.tag_sets, data.oracle, tr, va, config, log=log, on_epoch=on_epoch,
                            should_cancel=should_cancel)
    te_sets = [data.tag_sets[i] for i in te]
    rows = {config.label(): evaluate_model(result.model, bank.subset(te), te_sets, data.oracle, result.tag_vocabulary)}
    rows.update(baseline_metrics(data.oracle, te_sets, yamnet_mean_outputs(catalog, [data.tracks[i] for i in te])))
    card = make_card(out.name, result, data, split, rows, data_licence=data_licence)
    save_musimnet(result.model, out, card)
    return result, rows, out


def split_from_card(card, data: CatalogData, split: str = "test") -> np.ndarray:
    """Indices (into ``data``) of the tracks of a model's ``split`` (matched by content hash)."""
    hashes = (card.data.get("split_track_hashes") or {}).get(split)
    if hashes is None:
        raise errors.ModelError(f"The model card of {card.name!r} does not record its {split} split.")
    want = set(hashes)
    idx = np.array([i for i, t in enumerate(data.tracks) if t.content_hash in want], dtype=np.int64)
    return idx


def evaluate_on_catalog(catalog, data: CatalogData, models: Sequence[str], split: str = "test",
                        n_chunks: int = 8, chunk_frames: int = 640, progress=None, log: LogFn | None = None
                        ) -> dict[str, metrics.RankingMetrics]:
    """Table 4.2 rows for ``models`` (names or folders) and the baselines on one split of the catalog.

    ``split``: "test" / "validation" / "train" (the first model's recorded split, tracks matched by content
    hash) or "all" (every tagged track).
    """
    from supervisor_app.musimnet.nets import load_musimnet

    log = log or (lambda m: None)
    loaded = [load_musimnet(m, device="auto") for m in models]
    if split == "all":
        idx = np.arange(len(data.tracks))
    else:
        if not loaded:
            raise errors.UsageError("Name a model (--model) whose recorded split to evaluate on, or use --split all.")
        idx = split_from_card(loaded[0].card, data, split)
    if len(idx) < 7:
        raise errors.UsageError(f"Only {len(idx)} tagged track(s) of the {split} split are in this catalog: "
                                "at least 7 are needed to rank 5 relevant tracks.")
    sub = CatalogData([data.tracks[i] for i in idx], [data.tag_sets[i] for i in idx], [data.groups[i] for i in idx],
                      data.oracle, data.tags_source, data.relations_source)
    bank = catalog_bank(sub, n_chunks, chunk_frames, progress=progress)
    rows: dict[str, metrics.RankingMetrics] = {}
    for lm in loaded:
        vocab = lm.card.data.get("tag_vocabulary") if lm.model.is_tagger else None
        label = f"{lm.card.training.get('label', lm.card.network.get('arch'))} [{lm.name}]"
        rows[label] = evaluate_model(lm.model, bank, sub.tag_sets, data.oracle, vocab)
        log(f"evaluated {lm.name}")
    rows.update(baseline_metrics(data.oracle, sub.tag_sets, yamnet_mean_outputs(catalog, sub.tracks)))
    return rows
