"""``supervisor-app catalog create|add FOLDER|list|stats [--catalog PATH]``.

Registered by ``supervisor_app.cli`` through :func:`add_cli`. Each command returns an exit code;
user errors are raised as :class:`~supervisor_app.errors.SupervisorError` (printed by the main CLI).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import errors

_MAX_PROBLEMS_SHOWN = 20


def add_cli(subparsers) -> None:
    """Register the ``catalog`` command and its sub-commands on an argparse sub-parser set."""
    cat = subparsers.add_parser("catalog", help="create, fill and inspect a music catalog")
    cat_sub = cat.add_subparsers(dest="catalog_command", metavar="ACTION")
    cat.set_defaults(func=lambda args: _no_action(cat))

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", metavar="PATH", default=None,
                        help="catalog file (default: the catalog in the app's data folder)")

    p = cat_sub.add_parser("create", parents=[common], help="create an empty catalog (or check an existing one)")
    p.set_defaults(func=cmd_create)

    p = cat_sub.add_parser("add", parents=[common], help="index the audio files of a folder (incremental)")
    p.add_argument("folder", help="folder holding music; sub-folders are included")
    p.add_argument("--json", action="store_true", help="print the scan report as JSON")
    p.set_defaults(func=cmd_add)

    p = cat_sub.add_parser("list", parents=[common], help="list the tracks")
    p.add_argument("--all", action="store_true", help="include tracks whose file is missing")
    p.add_argument("--json", action="store_true", help="print JSON (every field)")
    p.set_defaults(func=cmd_list)

    p = cat_sub.add_parser("index", parents=[common],
                           help="analyse every track for recommendation (beats, segments, features); resumable")
    p.add_argument("--workers", type=int, default=1,
                   help="parallel worker processes (default 1); with --engine ray and no --address: CPUs of the local cluster")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local processes (default) or a Ray cluster (see docs/SCALE.md)")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="Ray cluster to join (HOST:6379 or 'auto'); default: start a local one")
    p.add_argument("--segments", default="olda,foote,sf",
                   help="MSAF segmentations to compute, comma-separated (default: olda,foote,sf)")
    p.add_argument("--no-frames", action="store_true",
                   help="large catalogs: keep YAMNet segment means instead of the 1 Hz frames (no excerpt search)")
    p.add_argument("--model", default=None, help="also store this Seg-VM-Net model's segment embeddings")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--retry-failed", action="store_true",
                   help="compute again what failed before (analyzer failures, unreadable tracks)")
    p.add_argument("--wait", action="store_true",
                   help="if another process is indexing this catalog, wait for it instead of stopping")
    p.set_defaults(func=cmd_index)

    p = cat_sub.add_parser("problems", parents=[common],
                           help="what could not be added or indexed, and why (files, tracks, analyzers)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_problems)

    p = cat_sub.add_parser("stats", parents=[common], help="counts: tracks, duration, analyses, embeddings")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_stats)


def _no_action(parser) -> int:
    parser.print_help()
    return 2


def _catalog_path(args) -> Path:
    if args.catalog:
        return Path(args.catalog).expanduser()
    from ..paths import default_catalog_path

    return default_catalog_path()


def cmd_create(args) -> int:
    from .store import Catalog

    path = _catalog_path(args)
    existed = path.exists()
    with Catalog.create(path) as cat:
        n = cat.count(include_missing=True)
    print(f"Catalog {'already exists' if existed else 'created'} at {path} ({n} tracks).")
    return 0


def cmd_add(args) -> int:
    from .store import Catalog

    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise errors.UsageError(f"The folder {folder} does not exist." if not folder.exists()
                                else f"{folder} is a file, not a folder: give the folder that holds the music.")
    path = _catalog_path(args)
    if not path.exists():
        print(f"Creating a new catalog at {path}.", file=sys.stderr)
    bar = _ProgressBar()
    try:
        with Catalog.create(path) as cat:
            report = cat.add_folder(folder, progress=bar)
            n = cat.count()
    except KeyboardInterrupt:
        bar.close()
        print("Interrupted: what was indexed so far is saved; run the same command again to resume.", file=sys.stderr)
        return 130
    finally:
        bar.close()
    if args.json:
        print(json.dumps({**report.__dict__, "errors": [list(e) for e in report.errors], "catalog": str(path),
                          "tracks_in_catalog": n}, indent=2))
        return 0
    for p, message in report.errors[:_MAX_PROBLEMS_SHOWN]:
        print(f"  problem: {message}  [{p}]", file=sys.stderr)
    if len(report.errors) > _MAX_PROBLEMS_SHOWN:
        print(f"  ... and {len(report.errors) - _MAX_PROBLEMS_SHOWN} more problems (all of them: add --json).",
              file=sys.stderr)
    print(f"{folder}: {report.summary()}. The catalog {path} now holds {n} tracks.")
    return 0


def cmd_index(args) -> int:
    import json

    from ..indexing import index_catalog
    from ..recommend import load_active_model
    from .store import Catalog

    if args.address and args.engine != "ray":
        raise errors.UsageError("--address names a Ray cluster: add --engine ray.")
    algorithms = tuple(a.strip() for a in str(args.segments).split(",") if a.strip())
    model = load_active_model(args.model)
    bar = _ProgressBar()
    path = _catalog_path(args)
    with Catalog.open(path) as cat:
        try:
            report = index_catalog(cat, workers=max(1, args.workers), model=model, algorithms=algorithms,
                                   engine=args.engine, address=args.address, frames=not args.no_frames,
                                   retry_failed=args.retry_failed, wait_for_lock=args.wait,
                                   on_lock_wait=lambda who: print(f"Waiting for {who}, which is indexing this "
                                                                  f"catalog...", file=sys.stderr, flush=True),
                                   progress=lambda d, t, m: bar(d, t, m))
        finally:
            bar.close()
    if args.json:
        print(json.dumps({"total": report.total, "done": report.done, "skipped": report.skipped,
                          "seconds": report.seconds, "audio_seconds": report.audio_seconds,
                          "engine": report.engine, "cpu_s": report.cpu_s, "errors": report.errors}, indent=2))
    else:
        print(report.summary())
        for tid, step, msg in report.errors[:_MAX_PROBLEMS_SHOWN]:
            print(f"  track {tid} {step}: {msg}")
        if len(report.errors) > _MAX_PROBLEMS_SHOWN:
            print(f"  ... and {len(report.errors) - _MAX_PROBLEMS_SHOWN} more (all of them: 'catalog problems').")
    unreachable = sum(1 for _, step, _ in report.errors if step == "file")
    if unreachable:
        print(f"error: {unreachable} track file(s) could not be read: fix them (see 'catalog problems') and run "
              f"'catalog index' again; they are retried.", file=sys.stderr)
        return 2
    return 0


def cmd_problems(args) -> int:
    """``catalog problems``: every recorded problem — files the scan could not add, tracks whose file is in
    error, and stored analyzer failures — with its one-sentence reason."""
    from .store import Catalog

    with Catalog.open(_catalog_path(args)) as cat:
        scan = cat.scan_errors()
        bad_tracks = [(t.id, t.path, t.error or "") for t in cat.tracks(status="error")]
        failed = cat.failed_analyses()
        paths = {t.id: t.path for t in cat.tracks(include_missing=True)} if failed else {}
    if args.json:
        print(json.dumps({"files": [{"path": p, "error": m} for p, m in scan],
                          "tracks": [{"track_id": i, "path": p, "error": m} for i, p, m in bad_tracks],
                          "analyses": [{"track_id": i, "path": paths.get(i, ""), "analyzer": a, "version": v,
                                        "error": m} for i, a, v, m in failed]}, indent=2, ensure_ascii=False))
        return 0
    if not (scan or bad_tracks or failed):
        print("No problems recorded.")
        return 0
    if scan:
        print(f"Files ({len(scan)}):")
        for p, m in scan:
            print(f"  {p}\n    {m}")
    if bad_tracks:
        print(f"Tracks in error ({len(bad_tracks)}; 'catalog index --retry-failed' reads them again):")
        for i, p, m in bad_tracks:
            print(f"  {i:>5}  {p}\n         {m}")
    if failed:
        print(f"Failed analyses ({len(failed)}; 'catalog index --retry-failed' computes them again):")
        for i, a, _v, m in failed:
            print(f"  {i:>5}  {a}: {m}  [{Path(paths.get(i, '')).name}]")
    return 0


def cmd_list(args) -> int:
    from .store import Catalog

    with Catalog.open(_catalog_path(args)) as cat:
        tracks = cat.tracks(include_missing=args.all)
    if args.json:
        print(json.dumps([t.to_dict() for t in tracks], indent=2, ensure_ascii=False))
        return 0
    if not tracks:
        print("The catalog has no tracks yet: add a folder with 'supervisor-app catalog add FOLDER'.")
        return 0
    rows = [(str(t.id), _clip(t.title or Path(t.path).stem, 40), _clip(t.artist or "", 28),
             format_duration(t.duration_s), t.status) for t in tracks]
    print(format_table(("id", "title", "artist", "duration", "status"), rows, right_align=(0, 3)))
    return 0


def cmd_stats(args) -> int:
    from .store import Catalog

    path = _catalog_path(args)
    with Catalog.open(path) as cat:
        s = cat.stats()
    if args.json:
        print(json.dumps({"catalog": str(path), **s}, indent=2))
        return 0
    st = s["by_status"]
    print(f"catalog       {path}")
    print(f"tracks        {s['tracks']} ({st['ok']} ok, {st['missing']} missing, {st['error']} unreadable)")
    print(f"music         {format_duration(s['total_duration_s'], hours=True)}")
    print(f"playlists     {s['playlists']}")
    print(f"scan problems {s['scan_errors']}")
    for title, key in (("analyses", "analyses"), ("failed", "analysis_errors"), ("embeddings", "embeddings")):
        for name, versions in s[key].items():
            for version, n in versions.items():
                print(f"{title:<13} {name} {version}: {n}")
    return 0


# --- formatting ------------------------------------------------------------------------------
def format_duration(seconds, hours: bool = False) -> str:
    """'m:ss' (or 'h:mm:ss' with ``hours`` and over an hour); '--:--' when unknown."""
    if seconds is None:
        return "--:--"
    total = int(round(float(seconds)))
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    if hours and h:
        return f"{h}:{m:02d}:{s:02d}"
    return f"{h * 60 + m}:{s:02d}"


def format_table(header, rows, right_align=()) -> str:
    """Plain-text table with a header line and columns padded to their widest cell."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def line(cells):
        out = [str(c).rjust(w) if i in right_align else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "  ".join(out).rstrip()

    return "\n".join([line(header), line("-" * w for w in widths)] + [line(r) for r in rows])


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class _ProgressBar:
    """tqdm bar on stderr driven by ``progress(done, total, path)``; silent when stderr is not a terminal."""

    def __init__(self):
        self._bar = None

    def __call__(self, done: int, total: int, path: str) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", file=sys.stderr, disable=not sys.stderr.isatty(),
                             dynamic_ncols=True)
        self._bar.set_postfix_str(_clip(Path(path).name, 30), refresh=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
