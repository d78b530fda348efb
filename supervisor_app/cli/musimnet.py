"""``supervisor-app train musimnet`` and ``supervisor-app evaluate musimnet`` (also ``musimnet train|evaluate``).

:func:`add_cli` registers the top-level ``musimnet`` command (``train``, ``evaluate``) and adds
``musimnet`` to the ``train`` / ``evaluate`` commands when those already exist with sub-commands
(register this module after ``supervisor_app.cli.train``). :func:`add_train_parser` and
:func:`add_evaluate_parser` add the sub-command to any ``add_subparsers()`` object.
"""
from __future__ import annotations

import argparse
import json
import sys


# lr None: the thesis's per-architecture rates (1e-6 TL, 1e-4 AT), see train.DEFAULT_LR
PRESETS = {"thesis": {"width_scale": 1.0, "lr": None, "patience": 10},
           "small-data": {"width_scale": 0.25, "lr": 1e-4, "patience": 8}}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _progress(prefix: str):
    from supervisor_app.cli.progress_line import ProgressLine

    return ProgressLine(prefix, close_when_done=True)


def _catalog(args):
    from supervisor_app.cli.args import open_catalog_arg

    return open_catalog_arg(args)


def _add_data_args(p) -> None:
    from supervisor_app.cli.args import add_catalog_argument

    add_catalog_argument(p, help="the catalog holding the tracks (default: the app's catalog)")
    p.add_argument("--tags", metavar="CSV", default=None,
                   help="tags file: lines 'track,tag[,weight]' (track = catalog id or path); default: the catalog's tags")
    p.add_argument("--relations", metavar="CSV", default=None,
                   help="tag relations file: lines 'tag,related_tag,weight' (e.g. Waltz,Classical,0.5)")
    p.add_argument("--group-by", choices=("artist", "folder"), default="artist",
                   help="what no two splits may share: the artist tag (tracks without one: their folder) or the folder")
    p.add_argument("--chunks", type=int, default=8, help="CQT excerpts per track (default 8)")
    p.add_argument("--chunk-frames", type=int, default=640, help="frames per excerpt (default 640 = 14.9 s; >= 512)")


def add_train_parser(sub, name: str = "musimnet") -> argparse.ArgumentParser:
    """Add ``musimnet`` training to a sub-command group."""
    from supervisor_app.nets.device import DEVICE_CHOICES
    from supervisor_app.musimnet.mining import N_NEG, N_POS, STRATEGIES
    from supervisor_app.musimnet import ARCHS

    p = sub.add_parser(name, help="music similarity from your tags (MuSimNet, thesis ch. 4)")
    _add_data_args(p)
    p.add_argument("--out", required=True, help="model folder to write, e.g. models/my-musimnet")
    p.add_argument("--force", action="store_true", help="overwrite an existing model folder")
    p.add_argument("--arch", choices=ARCHS, default="tl-autopool", help="network (Table 4.1; default tl-autopool)")
    p.add_argument("--mining", choices=STRATEGIES, default="distance", help="negative mining (default distance)")
    p.add_argument("--n-pos", type=int, default=N_POS, help=f"positives per anchor (default {N_POS})")
    p.add_argument("--n-neg", type=int, default=N_NEG, help=f"negatives per anchor-positive pair (default {N_NEG})")
    p.add_argument("--preset", choices=sorted(PRESETS), default="thesis",
                   help="thesis: full Table 4.1 widths, Adam lr 1e-6 (TL) / 1e-4 (AT), patience 10 (thousands of "
                        "tracks, a GPU); small-data: widths x0.25, lr 1e-4, patience 8 (a few hundred tracks)")
    p.add_argument("--width-scale", type=float, default=None,
                   help="multiply the trunk widths (overrides the preset; 1 = the thesis's 25 M / 6.4 M parameters)")
    p.add_argument("--embed-dim", type=int, default=128, help="embedding size d (default 128)")
    p.add_argument("--margin", type=float, default=0.5, help="triplet margin (default 0.5)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (overrides the preset)")
    p.add_argument("--batch-size", type=int, default=42, help="triplets (or tracks, AT) per batch (default 42)")
    p.add_argument("--batch-layout", choices=("pair", "mixed"), default="pair",
                   help="pair: one anchor-positive pair and its negatives per batch (thesis); mixed: any triplets")
    p.add_argument("--steps-per-epoch", type=int, default=200)
    p.add_argument("--epochs", type=int, default=100, help="maximum epochs (default 100)")
    p.add_argument("--patience", type=int, default=None,
                   help="early stopping: epochs without a better validation nDCG@20 (overrides the preset)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, the mining and the training")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    p.add_argument("--data-licence", default="not stated", help="licence of the training audio, for the model card")
    p.set_defaults(func=cmd_train_musimnet)
    return p


def add_evaluate_parser(sub, name: str = "musimnet") -> argparse.ArgumentParser:
    """Add ``musimnet`` evaluation (Table 4.2) to a sub-command group."""
    p = sub.add_parser(name, help="MAP/Recall/RR/nDCG@20 of MuSimNet models and baselines (Table 4.2)")
    _add_data_args(p)
    p.add_argument("--model", nargs="+", default=[], metavar="NAME", help="model name(s) under models/ or folder(s)")
    p.add_argument("--split", choices=("test", "validation", "train", "all"), default="test",
                   help="tracks to rank: a split recorded by the first model (default test) or all tagged tracks")
    p.add_argument("--json", metavar="OUT", help="also write the rows as JSON")
    p.set_defaults(func=cmd_evaluate_musimnet)
    return p


def cmd_train_musimnet(args) -> int:
    from supervisor_app.musimnet.metrics import format_table
    from supervisor_app.musimnet.on_catalog import catalog_data, train_from_catalog
    from supervisor_app.musimnet.train import MuSimTrainConfig

    preset = PRESETS[args.preset]
    pick = lambda value, key: preset[key] if value is None else value  # noqa: E731
    cfg = MuSimTrainConfig(arch=args.arch, mining=args.mining, n_pos=args.n_pos, n_neg=args.n_neg, embed_dim=args.embed_dim,
                      width_scale=pick(args.width_scale, "width_scale"), margin=args.margin, lr=pick(args.lr, "lr"),
                      batch_size=args.batch_size, batch_layout=args.batch_layout, steps_per_epoch=args.steps_per_epoch,
                      epochs=args.epochs, patience=pick(args.patience, "patience"), seed=args.seed, device=args.device)

    def on_epoch(r: dict) -> None:
        _log(f"epoch {r['epoch']:4d}  loss {r['loss']:.4f}  validation nDCG@20 {r['val_ndcg20']:.2f} %  "
             f"Recall@20 {r['val_recall20']:.2f} %  ({r['seconds']:.0f} s)")

    with _catalog(args) as cat:
        data = catalog_data(cat, args.tags, args.relations, args.group_by)
        result, rows, out = train_from_catalog(cat, data, cfg, args.out, force=args.force, n_chunks=args.chunks,
                                               chunk_frames=args.chunk_frames, data_licence=args.data_licence,
                                               log=_log, on_epoch=on_epoch, progress=_progress("CQT"))
    print(format_table(rows, title=f"Test split ({rows[cfg.label()].n_queries} queries):"))
    print(f"Wrote {out} (best epoch {result.best_epoch}, {result.stopped}).")
    return 0


def cmd_evaluate_musimnet(args) -> int:
    from supervisor_app.infra.fileio import atomic_write_text
    from supervisor_app.musimnet.metrics import format_table
    from supervisor_app.musimnet.on_catalog import catalog_data, evaluate_on_catalog

    with _catalog(args) as cat:
        data = catalog_data(cat, args.tags, args.relations, args.group_by)
        rows = evaluate_on_catalog(cat, data, args.model, split=args.split, n_chunks=args.chunks,
                                   chunk_frames=args.chunk_frames, progress=_progress("CQT"), log=_log)
    print(format_table(rows, title=f"MuSimNet evaluation on the {args.split} split (thesis Table 4.2 layout):"))
    if args.json:
        atomic_write_text(args.json, json.dumps({k: v.to_dict() for k, v in rows.items()}, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


def _subcommands(parser: argparse.ArgumentParser):
    """The sub-command group of an existing parser, or None."""
    for a in getattr(parser, "_actions", []):
        if isinstance(a, argparse._SubParsersAction):  # argparse has no public accessor for this
            return a
    return None


def add_cli(subparsers) -> None:
    """Register ``musimnet train|evaluate``, and ``train musimnet`` / ``evaluate musimnet`` when ``train`` /
    ``evaluate`` are already registered with sub-commands."""
    top = subparsers.add_parser("musimnet", help="train and evaluate MuSimNet music-similarity models (thesis ch. 4)")
    group = top.add_subparsers(dest="musimnet_command", metavar="ACTION", required=True)
    add_train_parser(group, "train")
    add_evaluate_parser(group, "evaluate")
    for verb, adder in (("train", add_train_parser), ("evaluate", add_evaluate_parser)):
        existing = subparsers.choices.get(verb)
        sub = _subcommands(existing) if existing is not None else None
        if sub is not None and "musimnet" not in sub.choices:  # never create 'train'/'evaluate' here: their
            adder(sub)  # owner (supervisor_app.cli.train) registers them, before this module
