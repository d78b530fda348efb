"""``supervisor-app train segvmnet|vmnet`` and ``supervisor-app evaluate`` (registered by :func:`add_cli`)."""
from __future__ import annotations

import json
import sys

from supervisor_app.infra import errors, fileio


def _progress_printer(prefix: str):
    from supervisor_app.cli.progress_line import ProgressLine

    return ProgressLine(prefix, close_when_done=True)


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _add_data_args(p, segmentation: str, clips_required: bool = True) -> None:
    """``segmentation``: "required" (Seg-VM-Net), "optional" (evaluate) or "absent" (clip-level training)."""
    from supervisor_app.features import DEFAULT_AUDIO, DEFAULT_VIDEO
    from supervisor_app.segvmnet.dataset import SEGMENTATIONS

    p.add_argument("--clips", required=clips_required,
                   help="folder of audio-visual clips (videos with their own soundtrack)")
    seg_help = "segmentation S, computed on one modality and applied to both"
    if segmentation == "required":
        p.add_argument("--segmentation", required=True, choices=SEGMENTATIONS, help=seg_help)
    elif segmentation == "optional":
        p.add_argument("--segmentation", default=None, choices=SEGMENTATIONS,
                       help=seg_help + " (default: the model's own; olda for clip-level models, which use it "
                                       "only for the scenarios and windows)")
    if segmentation != "optional":  # evaluation uses the extractors the model was trained on
        p.add_argument("--audio-extractor", default=DEFAULT_AUDIO, help=f"1 Hz audio features (default {DEFAULT_AUDIO})")
        p.add_argument("--video-extractor", default=DEFAULT_VIDEO, help=f"1 Hz video features (default {DEFAULT_VIDEO})")
    p.add_argument("--workers", type=int, default=None,
                   help="processes extracting features in parallel (default: half the CPU cores)")


def _add_train_args(p, kind: str) -> None:
    from supervisor_app.nets import AGGREGATIONS
    from supervisor_app.nets.device import DEVICE_CHOICES
    from supervisor_app.segvmnet import PRESETS

    _add_data_args(p, "required" if kind == "segvmnet" else "absent", clips_required=kind != "segvmnet")
    if kind == "segvmnet":
        p.add_argument("--archive", action="store_true",
                       help="train on the catalog's archive (past projects and approved mockups) instead of --clips; "
                            "split by commercial, evaluated on held-out commercials")
        p.add_argument("--catalog", default=None, help="with --archive: the catalog (default: the app's catalog)")
        p.add_argument("--test-fraction", type=float, default=0.2,
                       help="with --archive: share of commercials held out for the final measurement (default 0.2)")
        p.add_argument("--no-fit-baseline", action="store_true",
                       help="with --archive: skip the fit-only ranking on the held-out pairs (saves the beat analysis)")
        p.add_argument("--no-activate", action="store_true",
                       help="with --archive: never make the new model the catalog's active model")
    p.add_argument("--out", required=kind != "segvmnet",
                   help="model folder to write, e.g. models/my-segvmnet (with --archive: default in the app's "
                        "models folder, named by the archive's content so an interrupted run resumes)")
    p.add_argument("--force", action="store_true", help="overwrite an existing model folder")
    p.add_argument("--preset", choices=sorted(PRESETS), default="thesis",
                   help="learning rate and batch size: thesis = Adam lr 1e-6, batch 1000 (50k clips); "
                        "small-data = lr 1e-3, batch 128 (a few hundred clips)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (overrides the preset)")
    p.add_argument("--batch-size", type=int, default=None, help="rows per batch (overrides the preset)")
    p.add_argument("--epochs", type=int, default=200, help="maximum number of epochs (default 200)")
    p.add_argument("--patience", type=int, default=10, help="early stopping: epochs without a better validation mean rank")
    p.add_argument("--margin", type=float, default=None, help="triplet margin α (default 0.1)")
    p.add_argument("--lambdas", type=float, nargs=4, default=None, metavar=("VM", "MV", "VV", "MM"),
                   help="loss weights λ1..λ4 (Seg-VM-Net default 1 1 0 0; VM-Net 1 3 0.2 0.2)")
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of clips held out for validation (default 0.2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="auto: CUDA, else MPS, else CPU")
    p.add_argument("--data-licence", default="not stated",
                   help="licence of the training clips, recorded in the model card")
    if kind == "vmnet":
        p.add_argument("--aggregation", choices=AGGREGATIONS, default="mean",
                       help="temporal aggregation of the 1 Hz frames (default mean)")
        p.add_argument("--loss", choices=("triplet", "bce"), default="triplet")


def cmd_train(args) -> int:
    from supervisor_app.segvmnet.train import PRESETS, TrainConfig, train_from_folder

    if getattr(args, "archive", False) and args.clips:
        raise errors.UsageError("Give either --clips or --archive, not both.")
    if not getattr(args, "archive", False):
        if not args.clips:
            raise errors.UsageError("Give --clips FOLDER (videos with their soundtracks) or --archive.")
        if not args.out:
            raise errors.UsageError("Give --out, the model folder to write.")

    preset = PRESETS[args.preset]
    cfg = TrainConfig(kind=args.kind, aggregation=getattr(args, "aggregation", "mean"),
                      loss=getattr(args, "loss", "triplet"), margin=args.margin,
                      lambdas=tuple(args.lambdas) if args.lambdas else None,
                      lr=args.lr if args.lr is not None else preset["lr"],
                      batch_size=args.batch_size if args.batch_size is not None else preset["batch_size"],
                      epochs=args.epochs, patience=args.patience, seed=args.seed, device=args.device)

    from supervisor_app.infra.eta import training_eta_text

    history: list[dict] = []

    def on_epoch(rec: dict) -> None:
        history.append(rec)
        best = min(range(len(history)), key=lambda i: history[i]["val_v2m_mean_rank"])
        mean_s = rec["seconds"] / max(1, rec["epoch"])  # "seconds" counts from the start of training
        _log(f"epoch {rec['epoch']:4d}  loss {rec['loss']:.4f}  val V2M mean rank {rec['val_v2m_mean_rank']:.1f}  "
             f"R@1 {rec['val_v2m_r1']:.1f} %  ({rec['seconds']:.0f} s; "
             f"{training_eta_text(rec['epoch'], cfg.epochs, mean_s, cfg.patience, len(history) - 1 - best)})")

    if getattr(args, "archive", False):
        return _train_archive(args, cfg, on_epoch)
    result, out = train_from_folder(args.clips, args.out, cfg, segmentation=getattr(args, "segmentation", "none"),
                                    audio_extractor=args.audio_extractor, video_extractor=args.video_extractor,
                                    workers=args.workers, val_fraction=args.val_fraction, force=args.force,
                                    data_licence=args.data_licence, progress=_progress_printer("features"),
                                    on_epoch=on_epoch, log=_log)
    v = result.val_metrics["V2M"]
    print(f"Wrote {out} (best epoch {result.best_epoch}, {result.stopped}; validation V2M mean rank "
          f"{v['mean_rank']:.1f} ± {v['mean_rank_ci95']:.1f}, R@1 {v['recall']['R@1']:.1f} % on "
          f"{result.n_val_clips} clips, chance {(result.n_val_clips + 1) / 2:.1f}).")
    return 0


def _train_archive(args, cfg, on_epoch) -> int:
    from supervisor_app.archive.training import train_from_archive
    from supervisor_app.cli.args import catalog_path_arg

    o = train_from_archive(catalog_path_arg(args, remember=False), args.out, cfg, args.segmentation,
                           args.audio_extractor, args.video_extractor, test_fraction=args.test_fraction,
                           val_fraction=args.val_fraction, force=args.force,
                           fit_baseline=not args.no_fit_baseline, activate=not args.no_activate,
                           progress=_progress_printer("pairs"), on_epoch=on_epoch, log=_log)
    s = o.summary
    print(f"Wrote {o.model_dir}: {o.n_train_pairs} training pairs, {o.n_val_pairs} validation, {o.n_test_pairs} held out "
          f"({o.n_commercials} commercials, split by commercial).")
    print(f"Held out: {s.text()}")
    print(("Now the active model: " if o.activated else "Not made active: ") + o.reason + ".")
    print("Quality on your archive is what these held-out numbers say; nothing else measures it.")
    return 0


def cmd_evaluate(args) -> int:
    from supervisor_app.evaluation.protocol import SCENARIOS, format_report, scenario_name
    from supervisor_app.evaluation.protocol import evaluate_folder

    scenarios = SCENARIOS if "all" in args.scenario else tuple(dict.fromkeys(scenario_name(s) for s in args.scenario))
    distances = None if "all" in args.distance else args.distance
    window = None if args.full_clips else args.window_s
    report = evaluate_folder(args.clips, args.model, scenarios=scenarios, distances=distances, window_s=window,
                             segmentation=args.segmentation, workers=args.workers, device=args.device,
                             seed=args.seed, progress=_progress_printer("features"), log=_log)
    print(format_report(report))
    if args.json:
        fileio.atomic_write_text(args.json, json.dumps(report.to_dict(), indent=2) + "\n")
        print(f"Wrote {args.json}")
    return 0


def add_cli(subparsers) -> None:
    """Register ``train segvmnet``, ``train vmnet`` and ``evaluate``."""
    from supervisor_app.evaluation.protocol import DEFAULT_WINDOW_S, SCENARIOS
    from supervisor_app.nets.device import DEVICE_CHOICES

    tr = subparsers.add_parser("train", help="train Seg-VM-Net or VM-Net on a folder of your own audio-visual clips")
    ts = tr.add_subparsers(dest="kind", metavar="MODEL", required=True)
    for kind, text in (("segvmnet", "segment-level Seg-VM-Net (thesis ch. 7)"),
                       ("vmnet", "clip-level VM-Net baseline (thesis ch. 5)")):
        p = ts.add_parser(kind, help=text)
        _add_train_args(p, kind)
        p.set_defaults(func=cmd_train, kind=kind)

    ev = subparsers.add_parser("evaluate", help="the thesis's V2M/M2V protocol on a folder of clips, with leak controls")
    _add_data_args(ev, "optional")
    ev.add_argument("--model", required=True, help="model name (under models/) or folder")
    ev.add_argument("--json", default=None, help="also write the results as JSON to this file")
    ev.add_argument("--scenario", nargs="+", default=["all"],
                    help=f"one or more of {', '.join(SCENARIOS)} (or crop, stretch, crop+stretch), or all")
    ev.add_argument("--distance", nargs="+", default=["all"],
                    help="ranking distances for segment-level models (centroid single complete nw-dtw sw-dtw trace best-trace), or all")
    ev.add_argument("--window-s", type=float, default=DEFAULT_WINDOW_S,
                    help=f"length-controlled windows of this many seconds (default {DEFAULT_WINDOW_S:g})")
    ev.add_argument("--full-clips", action="store_true", help="the thesis's protocol on whole clips (no windows)")
    ev.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    ev.add_argument("--seed", type=int, default=0)
    ev.set_defaults(func=cmd_evaluate)
