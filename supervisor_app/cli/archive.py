"""``supervisor-app archive import|list|show|remove|export|relink`` (registered by :func:`add_cli`)."""
from __future__ import annotations

import argparse
import datetime as _dt
import json
from pathlib import Path

from supervisor_app.cli.args import add_catalog_argument, catalog_path_arg
from supervisor_app.infra import errors


def _open(args, create: bool = False):
    from supervisor_app.catalog import Catalog

    path = catalog_path_arg(args, remember=False)
    return Catalog.create(path) if create else Catalog.open(path)


def cmd_import(args) -> int:
    from supervisor_app.archive.importer import import_projects

    from supervisor_app.cli.progress_line import ProgressLine

    with _open(args, create=True) as cat, ProgressLine("importing timelines") as show:
        reps = import_projects(cat, args.projects, args.search or (), args.fps, tuple(args.music_track or ()),
                               progress=show)
    if args.json:
        print(json.dumps([r.to_dict() for r in reps], indent=2))
        return 0 if any(r.status != "failed" for r in reps) else 2
    for r in reps:
        print(r.summary())
        for w in r.warnings:
            print(f"  warning: {w}")
        for x in r.relinked:
            print(f"  relinked: {x}")
        for x in r.not_found:
            print(f"  NOT FOUND: {x}")
        for x in r.skipped:
            print(f"  skipped: {x}")
    added = sum(r.n_pairs_added for r in reps)
    failed = sum(r.status == "failed" for r in reps)
    print(f"{added} pair(s) added from {len(reps) - failed} project(s)" + (f"; {failed} file(s) could not be read" if failed else ""))
    return 0 if failed < len(reps) else 2


def _when(t: float) -> str:
    return _dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if t else "-"


def cmd_list(args) -> int:
    from supervisor_app.archive.inspect import summaries

    with _open(args) as cat:
        rows = summaries(cat)
    if args.json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return 0
    if not rows:
        print("The archive is empty: import past projects with 'supervisor-app archive import PROJECT...'.")
        return 0
    print(f"{'id':>4}  {'project':<32} {'format':<10} {'pairs':>5} {'tracks':>6} {'music min':>9} {'missing':>7}  imported")
    for r in rows:
        print(f"{r.id if r.id is not None else '-':>4}  {r.name[:32]:<32} {r.format:<10} {r.n_pairs:>5} "
              f"{r.n_distinct_tracks:>6} {r.pairs_duration_s / 60:>9.1f} {r.n_media_missing:>7}  {_when(r.imported_at)}")
    print(f"{sum(r.n_pairs for r in rows)} pairs in {len(rows)} project(s)")
    return 0


def cmd_show(args) -> int:
    from supervisor_app.archive.inspect import project_summary, write_thumbnails

    pid = None if args.project == "mockups" else _int(args.project)
    with _open(args) as cat:
        s = project_summary(cat, pid)
        if args.thumbnails:
            s.thumbnails = write_thumbnails(cat, pid, args.thumbnails)
    if args.json:
        print(json.dumps(s.to_dict(), indent=2))
        return 0
    print(f"{s.name} ({s.format}) {s.path}")
    dur = f"{s.timeline_duration_s:.1f} s" if s.timeline_duration_s else "-"
    print(f"timeline {dur}; {s.n_pairs} pair(s), {s.n_distinct_tracks} distinct track(s), "
          f"{s.pairs_duration_s:.1f} s of music; {s.n_media_missing} medium/media missing")
    for p in s.pairs:
        flag = "" if p.music_found and p.picture_found else "  [MEDIA MISSING]"
        dec = f" {p.decision}" if p.decision else ""
        print(f"  pair {p.id}{dec}: {p.start_s:8.2f}-{p.start_s + p.duration_s:8.2f} s  {Path(p.music_path).name}{flag}")
        for m in p.music_pieces:
            sp = f" at {m['speed']:g}x" if abs(m["speed"] - 1) > 1e-9 else ""
            src_out = m["source_in_s"] + (m["record_end_s"] - m["record_start_s"]) * m["speed"]
            print(f"      music {m['record_start_s']:8.2f}-{m['record_end_s']:8.2f} s  <- source "
                  f"{m['source_in_s']:.2f}-{src_out:.2f} s{sp}")
        for v in p.picture_pieces:
            print(f"      picture {v['record_start_s']:6.2f}-{v['record_end_s']:6.2f} s  <- {Path(v['media']).name} "
                  f"from {v['source_in_s']:.2f} s")
    for key in ("not_found", "skipped", "warnings"):
        for x in s.report.get(key, []) or []:
            print(f"  {key.replace('_', ' ')}: {x}")
    for t in s.thumbnails:
        print(f"  thumbnail: {t}")
    return 0


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise errors.UsageError(f"Give a project id (a number from 'archive list'), not {text!r}.") from None


def cmd_remove(args) -> int:
    from supervisor_app.archive import store

    with _open(args) as cat:
        if args.pair:
            store.remove_pair(cat, _int(args.project))
            print(f"Removed pair {args.project} (media files untouched).")
            return 0
        n = store.remove_project(cat, _int(args.project))
    print(f"Removed project {args.project} and its {n} pair(s) from the archive (media files untouched).")
    return 0


def cmd_export(args) -> int:
    from supervisor_app.archive.inspect import export_dataset

    with _open(args) as cat:
        out = export_dataset(cat, args.out, copy_media=args.copy_media, stems=args.stems,
                             include_rejected=not args.no_rejected)
    print(f"Wrote {out} (pairs.json, pairs.csv" + (", media/" if args.copy_media else "") +
          (", stems/" if args.stems else "") + ")")
    return 0


def cmd_relink(args) -> int:
    from supervisor_app.archive import store

    with _open(args) as cat:
        rep = store.relink(cat, args.search or ())
    for old, new in rep.relinked:
        print(f"relinked: {old} -> {new}")
    for m in rep.missing:
        print(f"NOT FOUND: {m}")
    print(f"{rep.checked} media checked, {len(rep.relinked)} relinked, {len(rep.missing)} missing")
    return 0


def add_cli(subparsers) -> None:
    ar = subparsers.add_parser("archive", help="past projects and approved mockups as training pairs for Seg-VM-Net")
    sub = ar.add_subparsers(dest="archive_command", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    add_catalog_argument(common, help="catalog file (default: the catalog in the app's data folder)")
    common.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("import", parents=[common], help="read NLE timelines (.otio, .edl, .xml, .fcpxml, .kdenlive)")
    p.add_argument("projects", nargs="+", help="timeline files or folders holding them")
    p.add_argument("--search", action="append", metavar="DIR",
                   help="folder to look for media that moved (by file name; repeatable)")
    p.add_argument("--fps", type=float, default=None, help="frame rate of EDLs (they do not store it; default 25)")
    p.add_argument("--music-track", action="append", metavar="NAME",
                   help="audio track(s) that carry the music (default: decided by track name and media)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("list", parents=[common], help="projects with their pair counts")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", parents=[common], help="one project's pairs (or 'mockups')")
    p.add_argument("project", help="project id from 'archive list', or 'mockups'")
    p.add_argument("--thumbnails", metavar="DIR", help="write one still per pair into DIR")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("remove", parents=[common], help="remove a project (or with --pair, one pair) from the archive")
    p.add_argument("project", help="project id (or pair id with --pair)")
    p.add_argument("--pair", action="store_true", help="remove the pair with this id instead")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("export", parents=[common], help="write the archive as a dataset folder")
    p.add_argument("out", help="a new (or empty) folder")
    p.add_argument("--copy-media", action="store_true", help="copy the media files into the folder")
    p.add_argument("--stems", action="store_true", help="render each pair's music stem as WAV")
    p.add_argument("--no-rejected", action="store_true", help="leave out rejected mockups")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("relink", parents=[common], help="find media that moved (same content) and update their paths")
    p.add_argument("--search", action="append", metavar="DIR", help="folder to search (repeatable)")
    p.set_defaults(func=cmd_relink)
