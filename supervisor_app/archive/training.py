"""Train Seg-VM-Net on the archive (``train segvmnet --archive``, the app's "Train on your archive").

1. Pairs: every timeline cue and every approved mockup (rejected mockups are never trained on).
2. Split by commercial (:mod:`.split`): train / validation (early stopping) / test (held out), so no
   commercial is on two sides and the held-out numbers were not used to choose anything.
3. Features per pair (:mod:`.features`: the clean music stem, the picture as the timeline shows it;
   cached, so an interrupted run resumes), then :func:`~supervisor_app.segvmnet.train.train_model` with
   a per-epoch checkpoint in the model folder (an interrupted training resumes after its last epoch).
4. On the held-out test pairs: V2M retrieval of the new model (normalised trace), chance, the fit-only
   ranking (the calibrated sync score the app uses without a model: the picture's cuts against each
   stem's downbeats and sections), the evaluation protocol (:func:`~supervisor_app.evaluation.protocol.evaluate_model`,
   with its trivial rankers), and the active model on the same pairs. All go into the model card.
5. The new model becomes the catalog's active model only when its held-out V2M mean rank is lower
   than the active model's on the same pairs (or there is none); otherwise it is kept beside it and
   the outcome says why.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from supervisor_app.infra import errors, fileio, paths
from supervisor_app.infra.jobs import Cancelled
from supervisor_app.archive import store

LogFn = Callable[[str], None]


@dataclass
class ModelSummary:
    """What the app's model selector shows about a Seg-VM-Net model (numbers from its card)."""

    name: str
    path: str
    segmentation: str
    trained_on: str  # "archive" | "clips"
    n_training_pairs: int
    n_held_out_pairs: int
    held_out_is_test: bool  # False: the only numbers are the validation split early stopping used
    held_out_mean_rank: float | None
    held_out_r10: float | None
    chance_mean_rank: float | None
    chance_r10: float | None
    fit_only_mean_rank: float | None
    fit_only_r10: float | None
    active: bool = False
    note: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        """One line for a menu or tooltip."""
        if self.held_out_mean_rank is None:
            return f"{self.name}: no held-out measurement"
        what = "held-out" if self.held_out_is_test else "validation (used for early stopping)"
        s = (f"{self.name}: {what} mean rank {self.held_out_mean_rank:.1f} (chance {self.chance_mean_rank:.1f}"
             + (f", fit-only {self.fit_only_mean_rank:.1f}" if self.fit_only_mean_rank is not None else "")
             + f"), R@10 {self.held_out_r10:.0f} % (chance {self.chance_r10:.0f} %"
             + (f", fit-only {self.fit_only_r10:.0f} %" if self.fit_only_r10 is not None else "")
             + f") on {self.n_held_out_pairs} pairs; trained on {self.n_training_pairs} pairs")
        return s + (" [active]" if self.active else "")


@dataclass
class ArchiveTrainOutcome:
    model_dir: Path
    activated: bool
    reason: str
    n_train_pairs: int
    n_val_pairs: int
    n_test_pairs: int
    n_commercials: int
    held_out: dict
    fit_only: dict | None
    previous: dict | None
    summary: ModelSummary
    failures: list = field(default_factory=list)
    result: object = None


# --------------------------------------------------------------------------- fit-only baseline
def _music_events(cat, pair, media) -> dict:
    """Downbeats and OLDA sections of a pair's stem (madmom + MSAF, cached by the stem's key)."""
    import shutil
    import tempfile

    from supervisor_app.analysis import versions
    from supervisor_app.analysis.report import analyze_track, segments_analyzer
    from supervisor_app.archive.features import render_music_stem, stem_key

    m = media[pair.music_media_id]
    key = stem_key(m.content_hash, pair)
    tmp = Path(tempfile.mkdtemp(prefix="archive-stem-", dir=paths.cache_dir()))
    try:
        f = tmp / "stem.wav"
        render_music_stem(m.path, pair.music, pair.start_s, pair.duration_s, f)
        rec = analyze_track(f, content_hash=key, cache=True, segment_algorithms=("olda",))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    beats = rec[versions.BEATS]["result"] or {}
    seg = (rec.get(segments_analyzer("olda")) or {}).get("result") or {}
    return {"downbeats_s": np.asarray(beats.get("downbeats_s", []), float),
            "boundaries_s": np.asarray(seg.get("boundaries_s", [0.0, pair.duration_s]), float)}


def fit_only_scores(cat, test_pairs, media, log: LogFn | None = None, should_cancel=None) -> np.ndarray:
    """(Q, C) calibrated sync scores: picture of test pair q against the music stem of pair c, at the
    best start (what the app ranks by without a model)."""
    from supervisor_app.ranking.sync import best_start_offset
    from supervisor_app.archive.features import picture_cuts

    log = log or (lambda m: None)
    ev = [_music_events(cat, p, media) for p in test_pairs]
    cuts = [picture_cuts(cat, p, media, should_cancel) for p in test_pairs]
    n = len(test_pairs)
    s = np.full((n, n), -np.inf)
    for q in range(n):
        if should_cancel is not None and should_cancel():
            raise Cancelled("The fit-only baseline")
        for c in range(n):
            db = ev[c]["downbeats_s"]
            if db.size < 2:
                continue
            try:
                _, _, sc = best_start_offset(test_pairs[q].duration_s, cuts[q], None, test_pairs[c].duration_s, db,
                                             ev[c]["boundaries_s"], n_random=50, max_candidates=16, n_finalists=3)
                s[q, c] = sc.score
            except errors.SupervisorError:
                continue
    return s


def _trained_keys(model_dir) -> set[str]:
    """Clip ids (pair keys or clip hashes) a model was trained or validated on (not its test lines)."""
    from supervisor_app.segvmnet.train import TRAINING_CLIPS_FILE

    f = Path(model_dir) / TRAINING_CLIPS_FILE
    if not f.is_file():
        return set()
    out = set()
    for ln in f.read_text(encoding="utf-8").splitlines():
        parts = ln.split()
        if len(parts) >= 2 and not ln.startswith("#") and parts[1] in ("train", "val"):
            out.add(parts[0])
    return out


# --------------------------------------------------------------------------- rejected mockups
def own_pair_scores(model, clips) -> np.ndarray:
    """The model's score of each clip's picture with its own music (normalised trace; higher = better fit)."""
    from supervisor_app.segvmnet.train import _segment_embeddings, normalized_trace_scores

    em, ev = _segment_embeddings(model, clips)
    return np.array([normalized_trace_scores([ev[i]], [em[i]])[0, 0] for i in range(len(clips))])


def rejected_mockup_check(cat, model, test_pairs, test_clips, rejected, media, segmentation, audio_extractor,
                          video_extractor, cache_dir=None, should_cancel=None) -> dict:
    """Rejected mockups as negatives: for every rejected mockup on a held-out picture and every kept pair
    (timeline cue or approved mockup) on the same picture file, does the model score the kept music
    above the rejected one? Chance is 50 %. Rejected mockups on pictures the model trained on are not
    counted (the model has seen the kept pair)."""
    from supervisor_app.archive.features import build_pair_dataset

    out = {"n_rejected_held_out": len(rejected), "n_comparisons": 0, "model_prefers_kept_pct": None,
           "chance_pct": 50.0}
    if not rejected:
        return out
    rds = build_pair_dataset(cat, rejected, segmentation, audio_extractor, video_extractor, cache_dir, None,
                             should_cancel)
    if not rds.clips:
        return out
    kept_s = own_pair_scores(model, test_clips)
    rej_s = own_pair_scores(model, rds.clips)
    rej_by_id = {rds.pair_of_clip[c.clip_id]: s for c, s in zip(rds.clips, rej_s)}
    wins = n = 0.0
    for r in rejected:
        if r.id not in rej_by_id:
            continue
        pics = {media[i].content_hash for i in r.picture_media_ids()}
        for p, s in zip(test_pairs, kept_s):
            if pics & {media[i].content_hash for i in p.picture_media_ids()}:
                n += 1
                wins += 1.0 if s > rej_by_id[r.id] else 0.5 if s == rej_by_id[r.id] else 0.0
    out["n_comparisons"] = int(n)
    out["model_prefers_kept_pct"] = 100.0 * wins / n if n else None
    return out


# --------------------------------------------------------------------------- training
def _fingerprint(keys, config, segmentation, audio, video) -> str:
    doc = [sorted(keys), {k: v for k, v in config.to_dict().items() if k != "device"}, segmentation, audio, video]
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:10]


def _held_out_metrics(model, clips) -> dict:
    from supervisor_app.segvmnet.train import validation_metrics

    return validation_metrics(model, clips, "segvmnet")


def train_from_archive(catalog, out_dir: str | Path | None = None, config=None, segmentation: str = "olda",
                       audio_extractor: str | None = None, video_extractor: str | None = None,
                       test_fraction: float = 0.2, val_fraction: float = 0.15, force: bool = False,
                       fit_baseline: bool = True, activate: bool = True, cache_dir: str | Path | None = None,
                       progress=None, on_epoch=None, log: LogFn | None = None,
                       should_stop: Callable[[], bool] | None = None) -> ArchiveTrainOutcome:
    """Train Seg-VM-Net on the archive of ``catalog`` (a Catalog or its path); see the module docstring.

    ``out_dir`` default: ``<data>/models/archive-<segmentation>-<fingerprint>`` (the fingerprint of the
    pairs and settings, so re-running an interrupted training finds its checkpoint). ``progress(fraction,
    stage)`` reports feature extraction; ``on_epoch(record)`` each epoch; ``should_stop`` (a CancelToken or
    any ``() -> bool``) stops it, keeping the checkpoint, and raises ``Cancelled``.
    """
    from supervisor_app.catalog import Catalog
    from supervisor_app.features import DEFAULT_AUDIO, DEFAULT_VIDEO
    from supervisor_app.nets.model_store import CARD_JSON, ModelCard, user_models_dir
    from supervisor_app.segvmnet.model_io import save_model
    from supervisor_app.segvmnet.train import PRESETS, TRAINING_CLIPS_FILE, TrainConfig, train_model
    from supervisor_app.archive.features import build_pair_dataset
    from supervisor_app.archive.split import commercial_groups, split_by_commercial

    if isinstance(catalog, (str, Path)):
        with Catalog.open(catalog) as cat:
            return train_from_archive(cat, out_dir, config, segmentation, audio_extractor, video_extractor,
                                      test_fraction, val_fraction, force, fit_baseline, activate, cache_dir,
                                      progress, on_epoch, log, should_stop)
    cat = catalog
    log = log or (lambda m: None)
    if segmentation == "none":
        raise errors.UsageError("Seg-VM-Net needs a segmentation: olda, foote, sf or shots.")
    config = config or TrainConfig(kind="segvmnet", lr=PRESETS["small-data"]["lr"],
                                   batch_size=PRESETS["small-data"]["batch_size"])
    if config.kind != "segvmnet":
        raise errors.UsageError("Training from the archive makes Seg-VM-Net models (train segvmnet --archive).")
    config.validate()
    audio_extractor = audio_extractor or DEFAULT_AUDIO
    video_extractor = video_extractor or DEFAULT_VIDEO
    pairs = store.training_pairs(cat)
    if not pairs:
        raise errors.UsageError("The archive has no pairs: import past projects first ('supervisor-app archive import').")
    media = {m.id: m for m in store.all_media(cat)}
    rejected = store.pairs(cat, origin="mockup", decision="rejected")
    groups = commercial_groups(pairs + rejected, media)  # a rejected mockup belongs to its picture's commercial
    split = split_by_commercial([p.id for p in pairs], groups, test_fraction, val_fraction, config.seed)
    by_id = {p.id: p for p in pairs}
    out = Path(out_dir) if out_dir else user_models_dir() / (
        f"archive-{segmentation}-{_fingerprint([p.pair_key for p in pairs], config, segmentation, audio_extractor, video_extractor)}")
    if (out / CARD_JSON).exists() and not force:
        raise errors.UsageError(f"A model already exists in {str(out)!r} (trained on exactly these pairs): pass "
                                "--force to train it again, or --out to write another.")
    ds = build_pair_dataset(cat, pairs, segmentation, audio_extractor, video_extractor, cache_dir, progress, should_stop)
    for name, why in ds.failures:
        log(f"skipped pair {name}: {why}")
    side = {}
    for c in ds.clips:
        pid = ds.pair_of_clip[c.clip_id]
        side[c.clip_id] = "test" if pid in split.test else "val" if pid in split.val else "train"
    train = [c for c in ds.clips if side[c.clip_id] == "train"]
    val = [c for c in ds.clips if side[c.clip_id] == "val"]
    test = [c for c in ds.clips if side[c.clip_id] == "test"]
    if min(len(train), len(val), len(test)) < 2:
        raise errors.UsageError(f"Too few usable pairs on each side of the split (train {len(train)}, validation "
                                f"{len(val)}, held-out {len(test)}; at least 2 each): import more projects or relink "
                                "missing media ('archive relink').")
    n_groups = len(set(groups.values()))
    log(f"{len(ds.clips)} pairs from {n_groups} commercials: {len(train)} train, {len(val)} validation, "
        f"{len(test)} held out (split by commercial)")
    out.mkdir(parents=True, exist_ok=True)
    result = train_model(train, val, config, on_epoch=on_epoch, log=log, should_stop=should_stop,
                         checkpoint_path=out / "checkpoint.pt")
    if result.stopped == "cancelled":
        raise Cancelled("Training (it resumes from its last epoch when started again)")
    model = result.model
    held = _held_out_metrics(model, test)
    test_groups = {groups[ds.pair_of_clip[c.clip_id]] for c in test}
    negatives = rejected_mockup_check(cat, model, [by_id[ds.pair_of_clip[c.clip_id]] for c in test], test,
                                      [r for r in rejected if groups[r.id] in test_groups], media, segmentation,
                                      audio_extractor, video_extractor, cache_dir, should_stop)
    from supervisor_app.evaluation.protocol import evaluate_model

    window = next((w for w in (30.0, 15.0, 8.0) if sum(c.duration_s >= w for c in test) >= 2), None)
    protocol = evaluate_model(model, "segvmnet", test, out.name, segmentation, window_s=window, seed=config.seed)
    fit = None
    if fit_baseline:
        from supervisor_app.ranking.metrics import retrieval_metrics

        test_pairs = [by_id[ds.pair_of_clip[c.clip_id]] for c in test]
        try:
            s = fit_only_scores(cat, test_pairs, media, log, should_stop)
            fit = {"V2M": retrieval_metrics(s, np.arange(len(test))).to_dict(),
                   "ranking": "calibrated sync score at the best start (no model)"}
        except Cancelled:
            raise
        except errors.SupervisorError as e:
            log(f"fit-only baseline not computed: {e}")
    # the active model on the same held-out pairs
    previous = None
    prev_dir = store.active_model(cat)
    activated, reason = True, "no active model yet"
    if prev_dir and Path(prev_dir).resolve() != out.resolve():
        try:
            from supervisor_app.nets.device import select_device
            from supervisor_app.segvmnet.model_io import load_model

            prev = load_model(prev_dir, device=select_device(config.device))
            if prev.card.kind != "segvmnet":
                raise errors.ModelError("the active model is not a Seg-VM-Net model")
            same = (prev.card.segmentation == segmentation and prev.card.extractors.get("audio", {}).get("name") == audio_extractor
                    and prev.card.extractors.get("video", {}).get("name") == video_extractor)
            if same:
                prev_test = test
            else:
                test_pairs = [by_id[ds.pair_of_clip[c.clip_id]] for c in test]
                pds = build_pair_dataset(cat, test_pairs, prev.card.segmentation, prev.card.extractors["audio"]["name"],
                                         prev.card.extractors["video"]["name"], cache_dir, None, should_stop)
                prev_test = pds.clips
            pm = _held_out_metrics(prev.model, prev_test)
            seen = _trained_keys(prev.path)
            overlap = sum(1 for c in test if c.clip_id in seen)
            previous = {"model": str(prev_dir), "V2M": pm["V2M"], "n_pairs": len(prev_test),
                        "n_held_out_pairs_it_trained_on": overlap}
            if overlap:
                log(f"note: the active model was trained or validated on {overlap} of the {len(test)} held-out pairs "
                    "(another seed or split): the comparison favours it")
            new_rank, old_rank = held["V2M"]["mean_rank"], pm["V2M"]["mean_rank"]
            if new_rank < old_rank:
                reason = f"held-out V2M mean rank {new_rank:.2f} beats the active model's {old_rank:.2f} on the same pairs"
            else:
                activated = False
                reason = (f"kept beside the active model {Path(prev_dir).name}: its held-out V2M mean rank "
                          f"{old_rank:.2f} is not beaten ({new_rank:.2f}) on the same {len(test)} pairs")
        except errors.SupervisorError as e:
            reason = f"the active model could not be evaluated ({e}); the new model replaces it"
    if not activate:
        activated, reason = False, "not activated (asked not to)"
    n_train_pairs = len(train)
    card = ModelCard(
        name=out.name, kind="segvmnet", network={}, loss=config.loss, segmentation=segmentation,
        extractors={"audio": ds.audio.to_dict(), "video": ds.video.to_dict()},
        training={**result.config, "epochs_run": len(result.history), "best_epoch": result.best_epoch,
                  "stopped": result.stopped, "steps": result.steps, "seconds": round(result.seconds, 2),
                  "early_stopping_on": "validation V2M mean rank (normalized-trace) on the validation commercials",
                  "train_rows_per_second": round(result.n_train_rows * len(result.history) / max(result.seconds, 1e-9), 2)},
        data={"description": f"the supervisor's archive in {cat.path}: past projects' music cues and approved mockups",
              "source": "archive", "licence": "the user's own projects", "n_pairs": len(ds.clips),
              "n_train_pairs": n_train_pairs, "n_val_pairs": len(val), "n_test_pairs": len(test),
              "n_commercials": n_groups, "split": "by commercial (project or shared picture file); test held out",
              "n_train_segments": int(sum(c.n_segments for c in train)),
              "total_duration_s": round(float(sum(c.duration_s for c in ds.clips)), 1),
              "n_pairs_skipped": len(ds.failures)},
        metrics={"validation": result.val_metrics, "held_out": held, "fit_only": fit, "compared_with": previous,
                 "rejected_mockups": negatives,
                 "evaluation_protocol": protocol.to_dict(), "activated": activated, "decision": reason,
                 "note": "Held-out pairs come from commercials never seen in training or validation. Quality on a "
                         "real archive depends on that archive; these numbers are the only measurement of it."},
    )
    save_model(model, out, card)
    lines = ["# pair key and split of every archive pair this model saw"]
    lines += [f"{c.clip_id} {side[c.clip_id]} {c.name}" for c in ds.clips]
    fileio.atomic_write_text(out / TRAINING_CLIPS_FILE, "\n".join(lines) + "\n")
    if activated:
        store.set_active_model(cat, out.resolve())
    summary = model_summary(out, cat)
    return ArchiveTrainOutcome(out, activated, reason, n_train_pairs, len(val), len(test), n_groups, held, fit,
                               previous, summary, ds.failures, result)


# --------------------------------------------------------------------------- summaries
def model_summary(model, catalog=None) -> ModelSummary:
    """The selector's numbers for a model (name or folder): held-out mean rank and R@10 beside chance
    and the fit-only ranking on the same pairs, and the number of training pairs. Models trained on a
    folder of clips (``train --clips``) have only their validation split (``held_out_is_test`` False)."""
    from supervisor_app.nets.model_store import read_card, resolve_model_dir

    d = resolve_model_dir(model)
    card = read_card(d)
    m = card.metrics or {}
    data = card.data or {}
    from_archive = data.get("source") == "archive"
    block = m.get("held_out") if from_archive else m.get("validation")
    v = (block or {}).get("V2M") or {}
    ch = (block or {}).get("chance") or {}
    fit = ((m.get("fit_only") or {}).get("V2M")) or {}
    active = False
    if catalog is not None:
        from supervisor_app.catalog import Catalog

        if isinstance(catalog, (str, Path)):
            with Catalog.open(catalog) as cat:
                act = store.active_model(cat)
        else:
            act = store.active_model(catalog)
        active = bool(act) and Path(act).resolve() == d.resolve()
    n_held = int(data.get("n_test_pairs") if from_archive else data.get("n_val_clips") or 0)
    return ModelSummary(
        name=card.name, path=str(d), segmentation=card.segmentation, trained_on="archive" if from_archive else "clips",
        n_training_pairs=int(data.get("n_train_pairs") if from_archive else data.get("n_train_clips") or 0),
        n_held_out_pairs=n_held, held_out_is_test=from_archive,
        held_out_mean_rank=v.get("mean_rank"), held_out_r10=(v.get("recall") or {}).get("R@10"),
        chance_mean_rank=ch.get("mean_rank"), chance_r10=(ch.get("recall") or {}).get("R@10"),
        fit_only_mean_rank=fit.get("mean_rank"), fit_only_r10=(fit.get("recall") or {}).get("R@10"),
        active=active, note=str(m.get("decision", "")))


def model_summaries(catalog=None) -> list[ModelSummary]:
    """Summaries of every Seg-VM-Net model in the project's and the user's model folders."""
    from supervisor_app.nets.model_store import read_card, user_models_dir
    from supervisor_app.infra.paths import MODELS_DIR

    out = []
    for root in (MODELS_DIR, user_models_dir()):
        if not root.is_dir():
            continue
        for d in sorted(p for p in root.iterdir() if p.is_dir()):
            try:
                if read_card(d).kind != "segvmnet":
                    continue
                out.append(model_summary(d, catalog))
            except errors.SupervisorError:
                continue
    return out
