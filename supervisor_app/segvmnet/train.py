"""Train Seg-VM-Net (segment level, thesis §7.1.3) or VM-Net (clip level, §5.1) with early stopping.

Rows of a batch are paired (music, video) items: segments of training clips for ``segvmnet`` (segment
feature = mean of its 1 Hz frames), whole clips for ``vmnet`` (statistics of all frames, or T = 100
random frames through Auto-pool / attention). After every epoch the validation clips are ranked
(V2M: each clip's video against every validation clip's music) and training stops when the V2M mean
rank has not improved for ``patience`` epochs; the best epoch's weights are kept.

Validation ranking (fast, no alignment library needed): clip level, the Euclidean distance between
embeddings (the fusion head's probability for BCE); segment level, the *normalised trace*: the mean of
‖e^v_{q,i} − e^m_{c,i}‖ over i ≤ min(K_q, K_c) (the thesis's trace divided by its length, so long and
short catalog items compete fairly).

Hyper-parameters: the thesis used Adam, lr 1e-6, batch 1,000, dropout 0.5 on 50k clips (preset
``thesis``, the default). On a few hundred clips that learns next to nothing in a reasonable time;
preset ``small-data`` (lr 1e-3, batch 128) is what the tests and benchmarks use.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from supervisor_app.infra import errors, fileio
from supervisor_app.ranking.metrics import chance_metrics, retrieval_metrics
from supervisor_app.nets.aggregation import (
    AGGREGATIONS,
    LEARNED_AGGREGATIONS,
    sample_frames,
    statistics_vector,
)
from supervisor_app.nets.device import select_device
from supervisor_app.nets.losses import SEGVMNET_DEFAULTS, VMNET_DEFAULTS, VMNetLoss, bce_loss
from supervisor_app.segvmnet.vmnet import VMNet, VMNetConfig, embed_frame_sequences, embed_vectors
from supervisor_app.segvmnet.dataset import ClipData

KINDS = ("segvmnet", "vmnet")
LOSSES = ("triplet", "bce")
from supervisor_app.segvmnet import PRESETS  # noqa: E402,F401 (defined once, in the package)
SMALL_DATA_ROWS = 10_000  # below this, the thesis preset is flagged as impractical

LogFn = Callable[[str], None]
EpochFn = Callable[[dict], None]


@dataclass
class TrainConfig:
    """Training hyper-parameters. ``margin``/``lambdas``/``top_k`` left at None / -1 take the kind's
    defaults (Seg-VM-Net: α 0.1, λ = (1, 1, 0, 0), all negatives; VM-Net: α 0.1, λ = (1, 3, 0.2, 0.2),
    the 100 hardest negatives, from the original VM-Net code the thesis kept)."""

    kind: str = "segvmnet"
    aggregation: str = "mean"
    loss: str = "triplet"
    margin: float | None = None
    lambdas: tuple[float, float, float, float] | None = None
    top_k: int | None = -1  # -1: kind default; None or 0: every negative of the batch
    lr: float = PRESETS["thesis"]["lr"]
    batch_size: int = PRESETS["thesis"]["batch_size"]
    epochs: int = 200
    patience: int = 10
    dropout: float = 0.5
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    n_frames: int = 100
    bce_negatives: int = 1
    standardize_inputs: bool = True

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise errors.UsageError(f"Unknown model kind {self.kind!r}: choose {' or '.join(KINDS)}.")
        if self.loss not in LOSSES:
            raise errors.UsageError(f"Unknown loss {self.loss!r}: choose {' or '.join(LOSSES)}.")
        if self.aggregation not in AGGREGATIONS:
            raise errors.UsageError(f"Unknown aggregation {self.aggregation!r}: choose one of {', '.join(AGGREGATIONS)}.")
        if self.kind == "segvmnet" and self.aggregation != "mean":
            raise errors.UsageError("Seg-VM-Net represents each segment by the mean of its frames: use --aggregation mean.")
        if self.kind == "segvmnet" and self.loss != "triplet":
            raise errors.UsageError("Seg-VM-Net is trained with the triplet loss (the BCE variant is a clip-level baseline).")
        if self.epochs < 1 or self.batch_size < 2 or self.lr <= 0 or self.patience < 1:
            raise errors.UsageError("Epochs and patience must be at least 1, the batch size at least 2 and the learning rate positive.")

    def resolved(self) -> dict:
        """margin, lambdas and top_k with the kind's defaults filled in."""
        base = SEGVMNET_DEFAULTS if self.kind == "segvmnet" else VMNET_DEFAULTS
        top_k = base["top_k"] if self.top_k == -1 else (self.top_k or None)
        return {"margin": base["margin"] if self.margin is None else float(self.margin),
                "lambdas": tuple(base["lambdas"] if self.lambdas is None else self.lambdas),
                "top_k": top_k}

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(self.resolved())
        d["lambdas"] = list(d["lambdas"])
        return d


@dataclass
class TrainResult:
    model: VMNet
    history: list[dict]
    best_epoch: int
    val_metrics: dict
    n_train_clips: int
    n_val_clips: int
    n_train_rows: int
    seconds: float
    steps: int
    stopped: str  # "early-stopping" | "max-epochs" | "cancelled"
    config: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- validation scores
def _segment_embeddings(model: VMNet, clips: Sequence[ClipData], feats=None):
    feats = feats if feats is not None else [c.segment_features() for c in clips]
    lens = np.array([len(m) for m, _ in feats])
    em = embed_vectors(model, np.concatenate([m for m, _ in feats]), "music")
    ev = embed_vectors(model, np.concatenate([v for _, v in feats]), "video")
    offs = np.concatenate([[0], np.cumsum(lens)])
    return [em[offs[i]:offs[i + 1]] for i in range(len(clips))], [ev[offs[i]:offs[i + 1]] for i in range(len(clips))]


def normalized_trace_scores(query_seqs: Sequence[np.ndarray], item_seqs: Sequence[np.ndarray]) -> np.ndarray:
    """(Q, C) similarities −mean_{i ≤ min(Kq, Kc)} ‖q_i − c_i‖ between sequences of (K, d) embeddings."""
    q_len = np.array([len(s) for s in query_seqs])
    c_len = np.array([len(s) for s in item_seqs])
    k_max = int(min(q_len.max(), c_len.max()))
    total = np.zeros((len(query_seqs), len(item_seqs)))
    count = np.minimum(q_len[:, None], c_len[None, :]).astype(np.float64)
    d = query_seqs[0].shape[1]
    for i in range(k_max):
        qi = np.stack([s[i] if len(s) > i else np.zeros(d, np.float32) for s in query_seqs]).astype(np.float64)
        ci = np.stack([s[i] if len(s) > i else np.zeros(d, np.float32) for s in item_seqs]).astype(np.float64)
        dist = np.sqrt(np.maximum((qi ** 2).sum(1)[:, None] + (ci ** 2).sum(1)[None, :] - 2 * qi @ ci.T, 0.0))
        valid = (q_len[:, None] > i) & (c_len[None, :] > i)
        total += np.where(valid, dist, 0.0)
    return -total / count


def euclidean_scores(q: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(Q, C) similarities −‖q_i − c_j‖."""
    q = q.astype(np.float64)
    c = c.astype(np.float64)
    return -np.sqrt(np.maximum((q ** 2).sum(1)[:, None] + (c ** 2).sum(1)[None, :] - 2 * q @ c.T, 0.0))


@torch.no_grad()
def fusion_scores(model: VMNet, e_video: np.ndarray, e_music: np.ndarray) -> np.ndarray:
    """BCE models: (Q, C) P(match) of video query q with music item c."""
    dev = next(model.parameters()).device
    model.eval()
    ev = torch.from_numpy(e_video).to(dev)
    em = torch.from_numpy(e_music).to(dev)
    out = np.empty((len(ev), len(em)), dtype=np.float64)
    for q in range(len(ev)):
        out[q] = torch.sigmoid(model.match_logit(em, ev[q].expand_as(em))).cpu().numpy()
    return out


def clip_embeddings(model: VMNet, clips: Sequence[ClipData], seed: int = 0):
    """Clip-level embeddings (N, 512) of music and video (learned aggregations: seeded frame sampling)."""
    rng = np.random.default_rng(seed)
    em = embed_frame_sequences(model, [c.music_frames for c in clips], "music", rng)
    ev = embed_frame_sequences(model, [c.video_frames for c in clips], "video", rng)
    return em, ev


def validation_scores(model: VMNet, clips: Sequence[ClipData], kind: str, seed: int = 0,
                      segment_features=None) -> np.ndarray:
    """V2M similarity matrix (video queries × music items) over ``clips``; M2V is its transpose.

    ``segment_features``: the clips' precomputed ``segment_features()`` (saves recomputing them each epoch).
    """
    if kind == "segvmnet":
        em, ev = _segment_embeddings(model, clips, segment_features)
        return normalized_trace_scores(ev, em)
    em, ev = clip_embeddings(model, clips, seed)
    if model.fusion is not None:
        return fusion_scores(model, ev, em)
    return euclidean_scores(ev, em)


def validation_metrics(model: VMNet, clips: Sequence[ClipData], kind: str, seed: int = 0) -> dict:
    """V2M and M2V metrics (R@1/10/25 %, mean rank ± 95 % CI) on ``clips``, plus chance."""
    s = validation_scores(model, clips, kind, seed)
    target = np.arange(len(clips))
    return {"V2M": retrieval_metrics(s, target).to_dict(), "M2V": retrieval_metrics(s.T, target).to_dict(),
            "chance": chance_metrics(len(clips)).to_dict(), "ranking": "normalized-trace" if kind == "segvmnet"
            else ("fusion-probability" if model.fusion is not None else "euclidean")}


# --------------------------------------------------------------------------- training
def _rows(clips: Sequence[ClipData], kind: str, aggregation: str):
    """Aggregated training rows: (x_music (N, dm'), x_video (N, dv'), clip index (N,)) or None for learned pools."""
    if kind == "segvmnet":
        mus, vids, ids = [], [], []
        for i, c in enumerate(clips):
            m, v = c.segment_features()
            mus.append(m)
            vids.append(v)
            ids.append(np.full(len(m), i))
        return np.concatenate(mus), np.concatenate(vids), np.concatenate(ids)
    if aggregation in LEARNED_AGGREGATIONS:
        return None
    xm = np.stack([statistics_vector(c.music_frames, aggregation) for c in clips])
    xv = np.stack([statistics_vector(c.video_frames, aggregation) for c in clips])
    return xm, xv, np.arange(len(clips))


def build_model(train_clips: Sequence[ClipData], config: TrainConfig) -> VMNet:
    """A fresh network sized for the clips' extractors (standardisation fitted on the training frames)."""
    c0 = train_clips[0]
    net_cfg = VMNetConfig(music_frame_dim=c0.music_frames.shape[1], video_frame_dim=c0.video_frames.shape[1],
                          aggregation=config.aggregation, dropout=config.dropout,
                          fusion_head=config.loss == "bce", n_frames=config.n_frames)
    model = VMNet(net_cfg)
    if config.standardize_inputs:
        model.set_input_normalization([c.music_frames for c in train_clips], [c.video_frames for c in train_clips])
    return model


def train_model(train_clips: Sequence[ClipData], val_clips: Sequence[ClipData], config: TrainConfig,
                on_epoch: EpochFn | None = None, log: LogFn | None = None,
                should_stop: Callable[[], bool] | None = None,
                checkpoint_path: str | Path | None = None) -> TrainResult:
    """Train on ``train_clips`` with early stopping on the V2M mean rank of ``val_clips``.

    ``on_epoch(record)`` gets each epoch's losses and validation ranks; ``should_stop()`` is polled
    before every batch (a cancelled run keeps the best weights so far); ``log`` receives advice.
    ``checkpoint_path``: after every epoch the full training state (weights, optimiser, random
    generators, best epoch, history) is written there atomically; a later call with the same clips and
    configuration resumes after the last finished epoch (and gives the same result as an uninterrupted
    run). The file is removed when training ends (not when it is cancelled).
    """
    config.validate()
    if len(train_clips) < 2 or len(val_clips) < 2:
        raise errors.UsageError("Training needs at least 2 training clips and 2 validation clips.")
    dims = {(c.music_frames.shape[1], c.video_frames.shape[1]) for c in list(train_clips) + list(val_clips)}
    if len(dims) != 1:
        raise errors.UsageError("All clips must have features of the same extractors (their dimensions differ).")
    log = log or (lambda msg: None)
    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    device = select_device(config.device)
    model = build_model(train_clips, config).to(device)
    hp = config.resolved()
    loss_fn = VMNetLoss(hp["margin"], hp["lambdas"], hp["top_k"])
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    rows = _rows(train_clips, config.kind, config.aggregation)
    n_rows = len(rows[0]) if rows is not None else len(train_clips)
    if config.lr <= 1e-5 and n_rows < SMALL_DATA_ROWS:
        log(f"note: lr {config.lr:g} (the thesis's, for 50k clips) on only {n_rows} training rows learns very "
            "slowly; consider --preset small-data (lr 1e-3, batch 128).")
    if rows is not None:
        xm_all = torch.from_numpy(rows[0]).to(device)
        xv_all = torch.from_numpy(rows[1]).to(device)
        ids_all = torch.from_numpy(rows[2]).to(device)

    val_feats = [c.segment_features() for c in val_clips] if config.kind == "segvmnet" else None
    best_rank, best_state, best_epoch, bad = float("inf"), None, 0, 0
    history: list[dict] = []
    steps = 0
    stopped = "max-epochs"
    n_batches = max(1, int(np.ceil(n_rows / config.batch_size)))
    first_epoch = 1
    fingerprint = _checkpoint_fingerprint(train_clips, val_clips, config) if checkpoint_path else ""
    if checkpoint_path is not None:
        ck = _load_checkpoint(checkpoint_path, fingerprint)
        if ck is not None:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
            rng.bit_generator.state = ck["rng"]
            gen.set_state(ck["gen"])
            torch.set_rng_state(ck["torch_rng"])
            best_rank, best_state, best_epoch, bad = ck["best_rank"], ck["best_state"], ck["best_epoch"], ck["bad"]
            history, steps = ck["history"], ck["steps"]
            first_epoch = ck["epoch"] + 1
            t0 -= history[-1]["seconds"] if history else 0.0
            log(f"resuming after epoch {ck['epoch']} from {checkpoint_path}")
            if bad >= config.patience:
                first_epoch = config.epochs + 1
                stopped = "early-stopping"
    for epoch in range(first_epoch, config.epochs + 1):
        model.train()
        perm = rng.permutation(n_rows)
        sums: dict[str, float] = {}
        cancelled = False
        for idx in np.array_split(perm, n_batches):
            if should_stop is not None and should_stop():
                cancelled = True
                break
            if len(idx) < 2:
                continue
            if rows is not None:
                it = torch.from_numpy(idx).to(device)
                xm, xv, ids = xm_all[it], xv_all[it], ids_all[it]
                mm = mv = None
                xm_in, xv_in = xm, xv
            else:
                sm = [sample_frames(train_clips[i].music_frames, config.n_frames, rng) for i in idx]
                sv = [sample_frames(train_clips[i].video_frames, config.n_frames, rng) for i in idx]
                xm = torch.from_numpy(np.stack([a for a, _ in sm])).to(device)
                mm = torch.from_numpy(np.stack([b for _, b in sm])).to(device)
                xv = torch.from_numpy(np.stack([a for a, _ in sv])).to(device)
                mv = torch.from_numpy(np.stack([b for _, b in sv])).to(device)
                ids = torch.from_numpy(idx).to(device)
                # clip-level input features for the intra-modal mining: mean of the real (unpadded) frames
                xm_in = (xm * mm.unsqueeze(-1)).sum(1) / mm.sum(1, keepdim=True).clamp_min(1)
                xv_in = (xv * mv.unsqueeze(-1)).sum(1) / mv.sum(1, keepdim=True).clamp_min(1)
            em, ev = model(xm, xv, mm, mv)
            if config.loss == "bce":
                terms = bce_loss(model, em, ev, ids, config.bce_negatives, gen)
            else:
                terms = loss_fn(em, ev, ids, xm_in, xv_in, gen)
            opt.zero_grad(set_to_none=True)
            terms.total.backward()
            opt.step()
            steps += 1
            for k in ("vm", "mv", "vv", "mm", "bce"):
                sums[k] = sums.get(k, 0.0) + getattr(terms, k)
            sums["loss"] = sums.get("loss", 0.0) + float(terms.total.detach())
        val = validation_scores(model, val_clips, config.kind, config.seed, val_feats)
        target = np.arange(len(val_clips))
        v2m = retrieval_metrics(val, target)
        m2v = retrieval_metrics(val.T, target)
        rec = {"epoch": epoch, "steps": steps, **{k: v / n_batches for k, v in sums.items()},
               "val_v2m_mean_rank": v2m.mean_rank, "val_m2v_mean_rank": m2v.mean_rank,
               "val_v2m_r1": v2m.recall[1], "seconds": time.perf_counter() - t0}
        history.append(rec)
        if v2m.mean_rank < best_rank - 1e-9:
            best_rank, best_epoch, bad = v2m.mean_rank, epoch, 0
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        else:
            bad += 1
        if checkpoint_path is not None and not cancelled:
            _save_checkpoint(checkpoint_path, fingerprint, epoch, model, opt, rng, gen, best_rank, best_state,
                             best_epoch, bad, history, steps)
        if on_epoch:
            on_epoch(rec)
        if cancelled or (should_stop is not None and should_stop()):
            stopped = "cancelled"
            break
        if bad >= config.patience:
            stopped = "early-stopping"
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    if checkpoint_path is not None and stopped != "cancelled":
        Path(checkpoint_path).unlink(missing_ok=True)
    model.eval()
    metrics = validation_metrics(model, val_clips, config.kind, config.seed)
    metrics["best_epoch"] = best_epoch
    return TrainResult(model, history, best_epoch, metrics, len(train_clips), len(val_clips), n_rows,
                       time.perf_counter() - t0, steps, stopped, {**config.to_dict(), "device_used": str(device)})


# --------------------------------------------------------------------------- checkpoints (resume)
CHECKPOINT_FORMAT = 1


def _checkpoint_fingerprint(train_clips, val_clips, config: TrainConfig) -> str:
    import hashlib
    import json

    doc = [CHECKPOINT_FORMAT, [c.clip_id for c in train_clips], [c.clip_id for c in val_clips],
           {k: v for k, v in config.to_dict().items() if k != "device"}]
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _load_checkpoint(path, fingerprint: str):
    p = Path(path)
    if not p.is_file():
        return None
    try:
        ck = torch.load(p, map_location="cpu", weights_only=False)  # our own file, written below
    except Exception:
        return None
    if not isinstance(ck, dict) or ck.get("fingerprint") != fingerprint:
        return None
    return ck


def _save_checkpoint(path, fingerprint, epoch, model, opt, rng, gen, best_rank, best_state, best_epoch, bad,
                     history, steps) -> None:
    import io


    buf = io.BytesIO()
    torch.save({"fingerprint": fingerprint, "epoch": epoch,
                "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "opt": opt.state_dict(), "rng": rng.bit_generator.state, "gen": gen.get_state(),
                "torch_rng": torch.get_rng_state(), "best_rank": best_rank, "best_state": best_state,
                "best_epoch": best_epoch, "bad": bad, "history": history, "steps": steps}, buf)
    fileio.atomic_write_bytes(path, buf.getvalue())


# --------------------------------------------------------------------------- folder → model
TRAINING_CLIPS_FILE = "training_clips.txt"


def read_training_clip_ids(model_dir: str | Path) -> set[str]:
    """Content hashes of the clips a model was trained and validated on (empty if not recorded)."""
    p = Path(model_dir) / TRAINING_CLIPS_FILE
    if not p.is_file():
        return set()
    return {ln.split()[0] for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")}


def train_from_folder(clips_dir: str | Path, out_dir: str | Path, config: TrainConfig, segmentation: str = "olda",
                      audio_extractor: str | None = None, video_extractor: str | None = None,
                      workers: int | None = None, val_fraction: float = 0.2, force: bool = False,
                      data_licence: str = "not stated", cache_dir: str | Path | None = None,
                      progress=None, on_epoch: EpochFn | None = None, log: LogFn | None = None,
                      should_stop: Callable[[], bool] | None = None) -> tuple[TrainResult, Path]:
    """Extract (cached), split by clip, train, and write weights + model card into ``out_dir``.

    Clip-level VM-Net needs no segmentation (it is computed only for Seg-VM-Net). Returns the training
    result and the model folder. ``progress(fraction, stage)`` follows the feature extraction,
    ``on_epoch(record)`` each epoch; ``should_stop()`` (a CancelToken or any ``() -> bool``) cancels.
    """
    from supervisor_app.nets.model_store import CARD_JSON, ModelCard
    from supervisor_app.segvmnet.model_io import save_model
    from supervisor_app.segvmnet.dataset import build_dataset, split_clips

    config.validate()
    log = log or (lambda m: None)
    out = Path(out_dir)
    if (out / CARD_JSON).exists() and not force:
        raise errors.UsageError(f"A model already exists in {str(out)!r}: choose another --out or pass --force.")
    seg = segmentation if config.kind == "segvmnet" else "none"
    if config.kind == "segvmnet" and seg == "none":
        raise errors.UsageError("Seg-VM-Net needs a segmentation: --segmentation olda, foote, sf or shots.")
    ds = build_dataset(clips_dir, seg, audio_extractor, video_extractor, workers=workers, cache_dir=cache_dir,
                       progress=progress, should_cancel=should_stop)
    for path, why in ds.failures:
        log(f"skipped {Path(path).name}: {why}")
    train, val = split_clips(ds.clips, val_fraction, config.seed)
    log(f"{len(ds.clips)} clips ({ds.total_duration_s / 60:.1f} min): {len(train)} for training, {len(val)} for validation")
    result = train_model(train, val, config, on_epoch=on_epoch, log=log, should_stop=should_stop)
    n_seg = int(sum(c.n_segments for c in train))
    card = ModelCard(
        name=out.name, kind=config.kind, network={}, loss=config.loss, segmentation=seg,
        extractors={"audio": ds.audio.to_dict(), "video": ds.video.to_dict()},
        training={**result.config, "epochs_run": len(result.history), "best_epoch": result.best_epoch,
                  "stopped": result.stopped, "steps": result.steps, "seconds": round(result.seconds, 2),
                  "early_stopping_on": "validation V2M mean rank (" + result.val_metrics["ranking"] + ")",
                  "train_rows_per_second": round(result.n_train_rows * len(result.history) / max(result.seconds, 1e-9), 2)},
        data={"description": f"{len(ds.clips)} audio-visual clips (video with its own soundtrack) from the folder "
                             f"{Path(clips_dir).resolve()}",
              "licence": data_licence, "n_clips": len(ds.clips), "n_train_clips": len(train),
              "n_val_clips": len(val), "total_duration_s": round(ds.total_duration_s, 1),
              "n_train_segments": n_seg,
              "mean_segment_s": round(float(sum(c.duration_s for c in train)) / max(n_seg, 1), 2),
              "n_files_skipped": len(ds.failures)},
        metrics={"validation": result.val_metrics},
    )
    save_model(result.model, out, card)
    lines = ["# content hash (BLAKE2b-256) and split of every clip this model saw"]
    lines += [f"{c.clip_id} train {c.name}" for c in train] + [f"{c.clip_id} val {c.name}" for c in val]
    fileio.atomic_write_text(out / TRAINING_CLIPS_FILE, "\n".join(lines) + "\n")
    return result, out
