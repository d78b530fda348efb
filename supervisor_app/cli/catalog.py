"""``supervisor-app catalog create|add FOLDER|list|stats [--catalog PATH]``.

Registered by ``supervisor_app.cli.main`` through :func:`add_cli`. Each command returns an exit code;
user errors are raised as :class:`~supervisor_app.infra.errors.SupervisorError` (printed by the main CLI).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from supervisor_app.cli.args import (
    add_catalog_argument,
    add_filter_arguments,
    add_quiet_argument,
    catalog_path_arg,
    filters_from_args,
    open_catalog_arg,
)
from supervisor_app.cli.progress_line import ProgressLine
from supervisor_app.infra import errors

_MAX_PROBLEMS_SHOWN = 20


def add_cli(subparsers) -> None:
    """Register the ``catalog`` command and its sub-commands on an argparse sub-parser set."""
    cat = subparsers.add_parser("catalog", help="create, fill and inspect a music catalog")
    cat_sub = cat.add_subparsers(dest="catalog_command", metavar="ACTION")
    cat.set_defaults(func=lambda args: _no_action(cat))

    common = argparse.ArgumentParser(add_help=False)
    add_catalog_argument(common)

    p = cat_sub.add_parser("create", parents=[common], help="create an empty catalog (or check an existing one)")
    p.set_defaults(func=cmd_create)

    p = cat_sub.add_parser("add", parents=[common], help="index the audio files of a folder (incremental)")
    p.add_argument("folder", help="folder holding music; sub-folders are included")
    p.add_argument("--json", action="store_true", help="print the scan report as JSON")
    p.set_defaults(func=cmd_add)

    p = cat_sub.add_parser("list", parents=[common], help="list the tracks (with BPM, key, one-stop; rights filters)")
    p.add_argument("--all", action="store_true", help="include tracks whose file is missing")
    p.add_argument("--json", action="store_true", help="print JSON (every field)")
    add_filter_arguments(p)
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

    add_quiet_argument(p)
    p.set_defaults(func=cmd_index)

    p = cat_sub.add_parser("show", parents=[common], help="every field of one track (id, file or 'artist - title')")
    p.add_argument("track", help="catalog id, file, or title ('artist - title')")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_show)

    p = cat_sub.add_parser("edit", parents=[common],
                           help="set a track's metadata or rights: catalog edit TRACK --set composer=... --set one_stop=yes")
    p.add_argument("track", help="catalog id, file, or title ('artist - title')")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=VALUE",
                   help="a field and its value ('' clears); fields: " + ", ".join(_field_names()))
    p.set_defaults(func=cmd_edit)

    p = cat_sub.add_parser("import-metadata", parents=[common],
                           help="import titles, composers, publishers, ISRCs and rights from a library export (CSV/XLSX)")
    p.add_argument("file", help="CSV, TSV or XLSX exported by DISCO, Source Audio, Harvest Media, Soundminer, ...")
    p.add_argument("--map", dest="mapping", action="append", default=[], metavar="COLUMN=FIELD",
                   help="map a column to a field, or COLUMN=ignore (repeatable; common headers are recognised)")
    p.add_argument("--encoding", default=None, help="text encoding of a CSV (default: detected)")
    p.add_argument("--dry-run", action="store_true", help="report the matches, change nothing")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_import_metadata)

    p = cat_sub.add_parser("describe", parents=[common],
                           help="estimate key, loudness, build and tempo of tracks that lack them (catalogs indexed "
                                "before these existed; 'catalog index' does it for new tracks)")
    p.set_defaults(func=cmd_describe)
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
    """``--catalog`` or the last catalog used; remembered as the default from now on."""
    return catalog_path_arg(args)


def _field_names() -> list[str]:
    from supervisor_app.catalog.fields import EDITABLE_FIELDS

    return [("bpm" if f == "bpm_tag" else f) for f in EDITABLE_FIELDS]


def cmd_describe(args) -> int:
    from supervisor_app.catalog.tracks_view import ensure_descriptors

    bar = ProgressLine("describing")
    with open_catalog_arg(args) as cat:
        try:
            n = ensure_descriptors(cat, progress=bar)
        except KeyboardInterrupt:
            bar.close()
            print("Interrupted: what was computed is saved; run the same command again to resume.", file=sys.stderr)
            return 130
        finally:
            bar.close()
    print(f"{n} track(s) described (key, loudness, build, onset density, tempo).")
    return 0


def cmd_show(args) -> int:
    from supervisor_app.catalog.resolve import resolve_track
    from supervisor_app.catalog.tracks_view import track_facts

    with open_catalog_arg(args) as cat:
        t = resolve_track(cat, args.track).track
        facts = track_facts(cat, t)
    if args.json:
        print(json.dumps(facts, indent=2, ensure_ascii=False))
        return 0
    for k, v in facts.items():
        if v not in (None, "", [], {}):
            print(f"{k:<13} {', '.join(map(str, v)) if isinstance(v, list) else v}")
    return 0


def cmd_edit(args) -> int:
    from supervisor_app.catalog.fields import canonical_field, parse_value
    from supervisor_app.catalog.resolve import resolve_track

    if not args.sets:
        raise errors.UsageError("Say what to change: --set FIELD=VALUE (for example --set composer=\"Ada Lovelace\").")
    values = {}
    for spec in args.sets:
        if "=" not in spec:
            raise errors.UsageError(f"--set {spec!r} is not FIELD=VALUE (for example --set one_stop=yes).")
        key, value = spec.split("=", 1)
        key = canonical_field(key)
        values[key] = parse_value(key, value)
    with open_catalog_arg(args) as cat:
        t = resolve_track(cat, args.track).track
        t = cat.set_metadata(t.id, values)
    shown = ", ".join(f"{'bpm' if k == 'bpm_tag' else k}={getattr(t, k)!r}" for k in values)
    print(f"track {t.id} ({t.display_name}): {shown}")
    return 0


def cmd_import_metadata(args) -> int:
    from supervisor_app.catalog.import_metadata import import_metadata

    with open_catalog_arg(args) as cat:
        report = import_metadata(cat, args.file, args.mapping, dry_run=args.dry_run, encoding=args.encoding)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"{Path(args.file).name} ({report.encoding}): columns "
          + ", ".join(f"{c}→{'bpm' if f == 'bpm_tag' else f}" for c, f in report.mapping.items()))
    if report.ignored_columns:
        print("  not imported: " + ", ".join(report.ignored_columns) + "  (map one with --map \"COLUMN=FIELD\")")
    for title, issues in (("unmatched", report.unmatched), ("ambiguous", report.ambiguous),
                          ("duplicate", report.duplicates), ("unreadable", report.problems)):
        for i in issues[:_MAX_PROBLEMS_SHOWN]:
            print(f"  row {i.row:>4} {title}: {i.message}")
        if len(issues) > _MAX_PROBLEMS_SHOWN:
            print(f"  ... and {len(issues) - _MAX_PROBLEMS_SHOWN} more {title} rows (all of them: --json)")
    print(report.summary() + (" (dry run: nothing written)" if report.dry_run else ""))
    return 0


def cmd_create(args) -> int:
    from supervisor_app.catalog.store import Catalog

    path = _catalog_path(args)
    existed = path.exists()
    with Catalog.create(path) as cat:
        n = cat.count(include_missing=True)
    print(f"Catalog {'already exists' if existed else 'created'} at {path} ({n} tracks).")
    return 0


def cmd_add(args) -> int:
    from supervisor_app.catalog.store import Catalog

    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise errors.UsageError(f"The folder {folder} does not exist." if not folder.exists()
                                else f"{folder} is a file, not a folder: give the folder that holds the music.")
    path = _catalog_path(args)
    if not path.exists():
        print(f"Creating a new catalog at {path}.", file=sys.stderr)
    bar = ProgressLine("adding the folder")
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

    from supervisor_app.indexing.pipeline import index_catalog
    from supervisor_app.services.recommend import load_active_model
    from supervisor_app.catalog.store import Catalog

    if args.address and args.engine != "ray":
        raise errors.UsageError("--address names a Ray cluster: add --engine ray.")
    algorithms = tuple(a.strip() for a in str(args.segments).split(",") if a.strip())
    model = load_active_model(args.model)
    bar = ProgressLine("indexing", quiet=getattr(args, "quiet", False))
    path = _catalog_path(args)
    with Catalog.open(path) as cat:
        try:
            report = index_catalog(cat, workers=max(1, args.workers), model=model, algorithms=algorithms,
                                   engine=args.engine, address=args.address, frames=not args.no_frames,
                                   retry_failed=args.retry_failed, wait_for_lock=args.wait,
                                   on_lock_wait=lambda who: print(f"Waiting for {who}, which is indexing this "
                                                                  f"catalog...", file=sys.stderr, flush=True),
                                   progress=bar)
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
    from supervisor_app.catalog.store import Catalog

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
    from supervisor_app.catalog.store import Catalog

    from supervisor_app.catalog.tracks_view import tempo_and_key

    with Catalog.open(_catalog_path(args)) as cat:
        filters = filters_from_args(args)
        tracks = cat.tracks(include_missing=args.all)
        if not filters.is_empty():
            tracks = [t for t in tracks if filters.accepts(t, bpm=tempo_and_key(cat, t)[0])]
        if args.json:
            print(json.dumps([{**t.to_dict(), **dict(zip(("bpm", "key"), tempo_and_key(cat, t)))} for t in tracks],
                             indent=2, ensure_ascii=False))
            return 0
        if not tracks:
            print("The catalog has no tracks yet: add a folder with 'supervisor-app catalog add FOLDER'.")
            return 0
        rows = []
        for t in tracks:
            bpm, key = tempo_and_key(cat, t)
            rows.append((str(t.id), _clip(t.title or Path(t.path).stem, 40), _clip(t.artist or "", 28),
                         format_duration(t.duration_s), "-" if bpm is None else f"{bpm:.0f}", key or "-",
                         "yes" if t.one_stop else ("no" if t.one_stop is False else "-"), t.status))
    print(format_table(("id", "title", "artist", "duration", "BPM", "key", "1-stop", "status"), rows,
                       right_align=(0, 3, 4)))
    return 0


def cmd_stats(args) -> int:
    from supervisor_app.catalog.store import Catalog

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


