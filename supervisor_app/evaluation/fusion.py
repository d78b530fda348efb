"""The fused ranking's sync weight, measured where both signals exist: a synthetic audio-visual corpus.

``recommend`` ranks by ``z(content) + w·z(sync)`` (z-scores over the candidates of one query). The
weight ``w`` is chosen here by V2M mean rank on a validation split and reported on a test split.
No real paired corpus is available (docs/DEPENDENCIES.md, last section), so the corpus is synthetic
and every conclusion holds for this world only:

* **content**: each music section has a hidden factor z ∈ R^``dim_hidden``; the clip's 1 Hz music frames
  are ``tanh(z·A_m) + noise`` and its video frames ``relu(z·A_v) + noise`` (the test corpus of
  ``tests/test_training_synthetic.py``, with sections instead of fixed 4 s segments);
* **rhythm**: each clip has a steady tempo (a whole number of BPM drawn from a normal distribution
  clipped to ``tempo_range_bpm``, so that catalog tracks share tempi as produced music does; 4/4),
  its first downbeat at 0 and its sections starting on downbeats (``section_bars`` bars long);
* **picture cuts**, two editors per clip: one who cuts on the music
  (:func:`supervisor_app.evaluation.fit_calibration.make_editor_cuts`: section changes, some downbeats,
  anticipation, jitter, a few off-grid cuts) and one who ignores it (shots drawn from a gamma
  distribution of mean ``free_mean_shot_s``); a *mix* ``p_on_beat`` picks, per query, which one cut it.

The content score of a (video query, music item) pair is the trained Seg-VM-Net's alignment score
(``distance``, NW-DTW by default as in ``recommend``); the sync score is the calibrated fit of the
music cut to the picture along that alignment path, exactly as ``recommend`` does in content + fit
mode (:func:`~supervisor_app.edit.edl.build_edit` + :func:`~supervisor_app.ranking.sync.sync_score`).
Queries and items are length-controlled windows of ``window_s`` seconds starting on a section
boundary (:func:`supervisor_app.evaluation.protocol.window_clip`). All times are seconds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from supervisor_app.infra.jobs import ProgressFn, count_progress
from supervisor_app.segvmnet.dataset import ClipData
from supervisor_app.evaluation.fit_calibration import EditorStyle, CalibrationTrack, make_editor_cuts
from supervisor_app.ranking.metrics import retrieval_metrics

__all__ = ["WorldConfig", "AVClip", "make_av_corpus", "window_av", "content_scores", "sync_scores", "row_z",
           "fused_scores", "weight_sweep", "choose_weight", "mix_rows", "DEFAULT_WEIGHTS", "FusionReport", "train_content_model",
           "run_fusion"]

DEFAULT_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)


@dataclass(frozen=True)
class WorldConfig:
    """The synthetic world's parameters (dimensions, noise, rhythm, clip and shot lengths in seconds)."""

    dim_hidden: int = 16
    dim_music: int = 24
    dim_video: int = 32
    noise: float = 3.5
    world_seed: int = 7
    tempo_mean_bpm: float = 120.0
    tempo_sd_bpm: float = 20.0
    tempo_range_bpm: tuple = (70, 170)
    section_bars: tuple = (4, 8, 8, 12, 16)
    clip_s: tuple = (45, 90)
    free_mean_shot_s: float = 4.8

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class AVClip:
    """A synthetic clip: features + section boundaries (``clip``), its music's downbeats, and the
    picture cuts of the editor who cuts on the music and of the one who does not (seconds)."""

    clip: ClipData
    downbeats_s: np.ndarray
    cuts_on_beat_s: np.ndarray
    cuts_free_s: np.ndarray
    tempo_bpm: float

    @property
    def duration_s(self) -> float:
        return self.clip.duration_s

    def cuts(self, on_beat: bool) -> np.ndarray:
        return self.cuts_on_beat_s if on_beat else self.cuts_free_s


def _free_cuts(duration_s: float, mean_shot_s: float, rng: np.random.Generator, min_shot_s: float = 0.5) -> np.ndarray:
    """Cuts of an editor who ignores the music: gamma(shape 2) shot lengths of mean ``mean_shot_s``."""
    cuts, t = [], 0.0
    while True:
        t += max(min_shot_s, float(rng.gamma(2.0, mean_shot_s / 2.0)))
        if t >= duration_s - min_shot_s:
            break
        cuts.append(t)
    return np.array(cuts)


def make_av_corpus(n_clips: int, seed: int, world: WorldConfig = WorldConfig(), paired: bool = True,
                   style: EditorStyle = EditorStyle()) -> list[AVClip]:
    """``n_clips`` synthetic clips (see the module doc). ``paired=False`` draws the video's hidden
    factors independently of the music's (a corpus with nothing to learn)."""
    wr = np.random.default_rng(world.world_seed)
    a_m = wr.normal(size=(world.dim_hidden, world.dim_music)) / np.sqrt(world.dim_hidden)
    a_v = wr.normal(size=(world.dim_hidden, world.dim_video)) / np.sqrt(world.dim_hidden)
    rng = np.random.default_rng(seed)
    unpaired = np.random.default_rng([seed, 1])  # the unpaired video factors: the music stays the same
    out = []
    for i in range(n_clips):
        L = int(rng.integers(world.clip_s[0], world.clip_s[1] + 1))
        tempo = float(np.clip(round(rng.normal(world.tempo_mean_bpm, world.tempo_sd_bpm)), *world.tempo_range_bpm))
        bar = 240.0 / tempo
        downbeats = np.arange(0.0, L - 1e-9, bar)
        bounds = [0.0]
        while True:
            nxt = bounds[-1] + int(rng.choice(world.section_bars)) * bar
            if nxt >= L - 1.0:
                break
            bounds.append(nxt)
        bounds = np.array(bounds + [float(L)])
        k = len(bounds) - 1
        z = rng.normal(size=(k, world.dim_hidden))
        zv = z if paired else unpaired.normal(size=(k, world.dim_hidden))
        times = np.arange(L) + 0.5
        seg = np.searchsorted(bounds, times, side="right") - 1
        music = np.tanh(z[seg] @ a_m) + world.noise * rng.normal(size=(L, world.dim_music))
        video = np.maximum(zv[seg] @ a_v, 0.0) + world.noise * rng.normal(size=(L, world.dim_video))
        clip = ClipData(f"av{seed}-{i}", music, video, times, bounds, float(L), "synthetic-sections")
        ev = CalibrationTrack(clip.clip_id, float(L), downbeats, bounds, tempo)
        on = make_editor_cuts(ev, 0.0, float(L), style, rng).cuts_s
        free = _free_cuts(float(L), world.free_mean_shot_s, rng)
        out.append(AVClip(clip, downbeats, on, free, tempo))
    return out


def window_av(av: AVClip, window_s: float, seed: int = 0) -> AVClip | None:
    """The protocol's ``window_s`` window of a clip (starting on a section boundary), events re-based."""
    from supervisor_app.evaluation.protocol import window_clip, window_start

    t0 = window_start(av.clip, window_s, seed)
    w = window_clip(av.clip, window_s, seed)
    if t0 is None or w is None:
        return None

    def cut(x, lo):
        x = np.asarray(x, float) - t0
        return np.clip(x[(x >= lo) & (x < window_s)], 0.0, None)

    return AVClip(w, cut(av.downbeats_s, -1e-6), cut(av.cuts_on_beat_s, 1e-6), cut(av.cuts_free_s, 1e-6), av.tempo_bpm)


def _embed(model, clips: Sequence[AVClip]):
    from supervisor_app.segvmnet.vmnet import embed_vectors

    feats = [c.clip.segment_features() for c in clips]
    lens = np.array([len(m) for m, _ in feats])
    offs = np.concatenate([[0], np.cumsum(lens)])
    em = embed_vectors(model, np.concatenate([m for m, _ in feats]), "music")
    ev = embed_vectors(model, np.concatenate([v for _, v in feats]), "video")
    return [em[offs[i]:offs[i + 1]] for i in range(len(clips))], [ev[offs[i]:offs[i + 1]] for i in range(len(clips))]


def content_scores(model, clips: Sequence[AVClip], distance: str = "nw-dtw"):
    """V2M content scores (Q × C, higher is better) of every clip's video against every clip's music,
    and the alignment path of each pair (``paths[q][c]``: (i_music, j_video) pairs)."""
    from supervisor_app.ranking import SegmentBank, align, catalog_scores

    seg_m, seg_v = _embed(model, clips)
    ids = np.arange(len(clips))
    bank = SegmentBank.from_arrays(ids, seg_m)
    pos = bank.positions_of(ids)
    scores = np.stack([catalog_scores(q, bank, distance, indices=pos) for q in seg_v])
    paths = [[align(seg_m[c], seg_v[q], distance).path for c in range(len(clips))] for q in range(len(clips))]
    return scores, paths


def _sync_row(v: AVClip, items: Sequence[AVClip], paths_row, on_beat: bool, n_random: int) -> np.ndarray:
    from supervisor_app.edit.edl import build_edit
    from supervisor_app.infra.errors import AnalysisError
    from supervisor_app.ranking.sync import sync_score

    cuts = v.cuts(on_beat)
    row = np.zeros(len(items))
    for c, m in enumerate(items):
        try:
            edit = build_edit(v.duration_s, v.clip.boundaries_s, m.duration_s, m.downbeats_s, m.clip.boundaries_s,
                              path=paths_row[c])
            row[c] = sync_score(edit, cuts, None, m.downbeats_s, m.clip.boundaries_s, n_random=n_random).score
        except AnalysisError:  # fewer than two downbeats in the item: it cannot be cut to the picture
            row[c] = np.nan
    return row


def sync_scores(clips: Sequence[AVClip], paths, on_beat: bool, n_random: int = 100, workers: int = 1,
                progress: ProgressFn | None = None) -> np.ndarray:
    """Calibrated sync scores (Q × C) of each clip's music cut along ``paths[q][c]`` to each clip's
    picture (the cuts of the on-beat or the free editor), as ``recommend`` computes them.
    ``workers`` > 1 spreads the query rows over processes (same numbers)."""
    n = len(clips)
    out = np.zeros((n, n))
    if workers <= 1:
        for q in range(n):
            out[q] = _sync_row(clips[q], clips, paths[q], on_beat, n_random)
            count_progress(progress, q + 1, n, "sync scores")
        return out
    import concurrent.futures as cf
    import multiprocessing as mp

    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futs = {pool.submit(_sync_row, clips[q], clips, paths[q], on_beat, n_random): q for q in range(n)}
        for k, f in enumerate(cf.as_completed(futs), 1):
            out[futs[f]] = f.result()
            count_progress(progress, k, n, "sync scores")
    return out


def row_z(x: np.ndarray) -> np.ndarray:
    """z-score of each row (as ``recommend`` z-scores the candidates of one query); NaN → row minimum."""
    x = np.asarray(x, float).copy()
    for r in x:
        bad = np.isnan(r)
        if bad.any():
            r[bad] = np.nanmin(r) if (~bad).any() else 0.0
    mu = x.mean(axis=1, keepdims=True)
    sd = x.std(axis=1, keepdims=True)
    return np.where(sd > 1e-12, (x - mu) / np.where(sd > 1e-12, sd, 1.0), 0.0)


def fused_scores(content: np.ndarray, sync: np.ndarray, w: float) -> np.ndarray:
    """``z(content) + w·z(sync)`` row by row; ``w = inf`` ranks by sync alone."""
    if np.isinf(w):
        return row_z(sync)
    return row_z(content) + float(w) * row_z(sync)


def mix_rows(sync_on: np.ndarray, sync_free: np.ndarray, p_on_beat: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per query (row), the on-beat editor's sync row with probability ``p_on_beat``, else the free
    editor's; returns (mixed matrix, boolean mask of on-beat queries). Fixed draw per seed."""
    u = np.random.default_rng(seed).random(sync_on.shape[0])
    on = u < float(p_on_beat)
    return np.where(on[:, None], sync_on, sync_free), on


def weight_sweep(content: np.ndarray, sync: np.ndarray, weights: Sequence[float] = DEFAULT_WEIGHTS) -> list[dict]:
    """V2M metrics of the fused ranking for each weight (plus ``inf``: sync only)."""
    target = np.arange(content.shape[0])
    rows = []
    for w in list(weights) + [float("inf")]:
        m = retrieval_metrics(fused_scores(content, sync, w), target, ks=(1, 5, 10)).to_dict()
        rows.append({"w": w, **m})
    return rows


def choose_weight(content: np.ndarray, sync: np.ndarray, weights: Sequence[float] = DEFAULT_WEIGHTS) -> float:
    """The finite weight with the lowest V2M mean rank (ties: the smaller weight)."""
    best = None
    for row in weight_sweep(content, sync, weights):
        if np.isinf(row["w"]):
            continue
        if best is None or row["mean_rank"] < best[0] - 1e-9:
            best = (row["mean_rank"], row["w"])
    return float(best[1])


@dataclass
class FusionReport:
    """Weights chosen on validation and test metrics per on-beat mix (see :func:`run_fusion`)."""

    world: dict
    style: dict
    distance: str
    window_s: float
    n_train: int
    n_val: int
    n_test: int
    default_p_on_beat: float
    chosen_weight: float
    by_mix: list[dict] = field(default_factory=list)
    val_sweep: list[dict] = field(default_factory=list)
    test_sweep: list[dict] = field(default_factory=list)
    training: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def train_content_model(train: Sequence[AVClip], val: Sequence[AVClip], seed: int = 0, device: str = "auto",
                        epochs: int = 15):
    """A Seg-VM-Net trained on the clips' shared section segments (small-data settings: Adam lr 1e-3,
    batch 64, early stopping on the validation clips' V2M mean rank, patience 4)."""
    from supervisor_app.segvmnet.train import TrainConfig, train_model

    cfg = TrainConfig(kind="segvmnet", lr=1e-3, batch_size=64, epochs=epochs, patience=4, device=device, seed=seed)
    return train_model([c.clip for c in train], [c.clip for c in val], cfg)


def run_fusion(n_train: int = 200, n_val: int = 50, n_test: int = 50, window_s: float = 30.0,
               world: WorldConfig = WorldConfig(), style: EditorStyle = EditorStyle(), distance: str = "nw-dtw",
               default_p_on_beat: float = 0.5, mixes: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
               weights: Sequence[float] = DEFAULT_WEIGHTS, seed: int = 0, n_random: int = 100, device: str = "auto",
               workers: int = 1, log: Callable[[str], None] | None = None) -> FusionReport:
    """Train Seg-VM-Net on ``n_train`` clips, score ``n_val`` / ``n_test`` windows by content and by sync
    (both editors), and choose the weight on validation for each on-beat mix; ``chosen_weight`` is the
    one for ``default_p_on_beat``. Corpora use seeds ``seed*10 + 1..3``; the per-query editor draw of a
    mix uses ``seed*10 + 4`` (validation) and ``+ 5`` (test)."""
    import time

    log = log or (lambda m: None)
    t0 = time.perf_counter()
    train = make_av_corpus(n_train, seed * 10 + 1, world, style=style)
    val_full = make_av_corpus(n_val, seed * 10 + 2, world, style=style)
    test_full = make_av_corpus(n_test, seed * 10 + 3, world, style=style)
    res = train_content_model(train, val_full, seed=seed, device=device)
    model = res.model
    secs = {"train": time.perf_counter() - t0}
    val = [w for w in (window_av(c, window_s, seed) for c in val_full) if w is not None]
    test = [w for w in (window_av(c, window_s, seed) for c in test_full) if w is not None]
    mats = {}
    for name, clips in (("val", val), ("test", test)):
        t = time.perf_counter()
        content, paths = content_scores(model, clips, distance)
        secs[f"{name}_content"] = time.perf_counter() - t
        t = time.perf_counter()
        on = sync_scores(clips, paths, True, n_random, workers)
        free = sync_scores(clips, paths, False, n_random, workers)
        secs[f"{name}_sync"] = time.perf_counter() - t
        mats[name] = (content, on, free)
        log(f"fusion: {name} scored ({len(clips)} windows, {secs[f'{name}_sync']:.0f} s of sync scoring)")
    by_mix = []
    chosen = None
    val_sweep = test_sweep = []
    for p in mixes:
        vc, von, vfree = mats["val"]
        tc, ton, tfree = mats["test"]
        vs, _ = mix_rows(von, vfree, p, seed * 10 + 4)
        ts, t_on = mix_rows(ton, tfree, p, seed * 10 + 5)
        w = choose_weight(vc, vs, weights)
        target = np.arange(tc.shape[0])
        row = {"p_on_beat": p, "w_chosen_on_val": w, "n_test_on_beat_queries": int(t_on.sum()),
               "test": {"content": retrieval_metrics(fused_scores(tc, ts, 0.0), target, ks=(1, 5, 10)).to_dict(),
                        "sync": retrieval_metrics(fused_scores(tc, ts, float("inf")), target, ks=(1, 5, 10)).to_dict(),
                        "fused": retrieval_metrics(fused_scores(tc, ts, w), target, ks=(1, 5, 10)).to_dict()}}
        by_mix.append(row)
        if abs(p - default_p_on_beat) < 1e-12:
            chosen = w
            val_sweep = weight_sweep(vc, vs, weights)
            test_sweep = weight_sweep(tc, ts, weights)
    if chosen is None:
        raise ValueError("default_p_on_beat must be one of the mixes")
    for row in by_mix:  # the default weight on every mix, for the sensitivity table
        p = row["p_on_beat"]
        tc, ton, tfree = mats["test"]
        ts, _ = mix_rows(ton, tfree, p, seed * 10 + 5)
        row["test"]["fused_default_w"] = retrieval_metrics(fused_scores(tc, ts, chosen), np.arange(tc.shape[0]),
                                                           ks=(1, 5, 10)).to_dict()
    training = {"best_epoch": res.best_epoch, "epochs_run": len(res.history), "stopped": res.stopped,
                "val_v2m_mean_rank_full_clips": res.val_metrics["V2M"]["mean_rank"], "n_train_rows": res.n_train_rows}
    secs["total"] = time.perf_counter() - t0
    return FusionReport(world.to_dict(), style.to_dict(), distance, float(window_s), n_train, len(val), len(test),
                        float(default_p_on_beat), float(chosen), by_mix, val_sweep, test_sweep, training, secs)
