"""MuSimNet on a catalog: its tagged tracks as data (:class:`CatalogData`), training with a model card
(:func:`train_from_catalog`), and evaluation of saved models on a recorded split (:func:`evaluate_on_catalog`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from supervisor_app.infra import errors
from supervisor_app.musimnet import metrics
from supervisor_app.musimnet.nets import n_parameters
from supervisor_app.musimnet.oracle import Oracle

from supervisor_app.musimnet.data import PatchBank, artist_disjoint_split, build_bank
from supervisor_app.musimnet.evaluate import baseline_metrics, evaluate_model
from supervisor_app.musimnet.train import LogFn, MuSimTrainConfig, MuSimTrainResult, train_musimnet


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
