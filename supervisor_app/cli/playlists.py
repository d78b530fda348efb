"""``supervisor-app playlist list|create|add|show|export``: the playlists of a catalog."""
from __future__ import annotations

from supervisor_app.cli.args import add_catalog_argument, open_catalog_arg
from supervisor_app.infra.errors import UsageError
from supervisor_app.services.playlists import PLAYLIST_FORMATS, export_playlist, find_playlist, playlist_format


def _check_args(args) -> list[int]:
    """Usage errors found before the catalog is opened; returns the track ids of ``add``."""
    if args.action != "list" and not args.name:
        raise UsageError(f"'playlist {args.action}' needs a playlist name (or id).")
    if args.action == "export" and not args.out:
        raise UsageError(f"'playlist export' needs --out FILE (.m3u8, .csv, .xlsx or .json), e.g. --out "
                         f"{args.name.replace(' ', '_')}.m3u8.")
    if args.action == "export" and not args.format:
        if playlist_format(args.out) is None:
            raise UsageError(f"Cannot tell the playlist format from {args.out!r}: end it in .m3u8, .csv, .xlsx or .json, "
                             f"or add --format.")
    if args.action != "add":
        if args.track_ids:
            raise UsageError(f"'playlist {args.action}' takes no track ids (got {' '.join(args.track_ids)}).")
        return []
    if not args.track_ids:
        raise UsageError("Name the track(s) to add: catalog id, file, or title ('artist - title').")
    return list(args.track_ids)


def _cmd(args) -> int:
    _check_args(args)  # usage errors before the catalog is opened
    with open_catalog_arg(args) as cat:
        if args.action == "list":
            for p in cat.playlists():
                print(f"{p.id:>3}  {p.name}  ({len(cat.playlist_entries(p.id))} tracks)")
        elif args.action == "create":
            print(cat.create_playlist(args.name))
        elif args.action == "add":
            from supervisor_app.catalog.resolve import resolve_track

            pid, pname = find_playlist(cat, args.name)
            if not args.track_ids:
                raise UsageError("Name the track(s) to add: catalog id, file, or title ('artist - title').")
            tracks = [resolve_track(cat, x).track for x in args.track_ids]  # all resolved before any is added
            with cat.transaction():
                for t in tracks:
                    cat.add_to_playlist(pid, t.id)
            for t in tracks:
                print(f"added {t.id}  {t.display_name}  to {pname!r}")
        elif args.action == "show":
            pid, _ = find_playlist(cat, args.name)
            from supervisor_app.cli.catalog import format_table
            from supervisor_app.edit.playlist_sheet import sheet_rows

            rows = sheet_rows(cat, pid)
            print(format_table(("#", "id", "title", "artist", "dur", "BPM", "key", "1-stop"),
                               [(r["position"], r["track_id"], r["title"][:40], r["artist"][:24], r["duration"],
                                 r["bpm"] or "-", r["key"] or "-", r["one_stop"] or "-") for r in rows],
                               right_align=(0, 1, 4, 5)))
        elif args.action == "export":
            pid, _ = find_playlist(cat, args.name)
            print(export_playlist(cat, pid, playlist_format(args.out, args.format), args.out))
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("playlist", help="playlists of a catalog: list, create, add, show, export (m3u8/csv/xlsx/json)")
    p.add_argument("action", choices=("list", "create", "add", "show", "export"))
    p.add_argument("name", nargs="?", help="playlist name or id")
    p.add_argument("track_ids", nargs="*", metavar="TRACK",
                   help="for add: catalog ids, files or titles ('artist - title'; quote names with spaces)")
    add_catalog_argument(p)
    p.add_argument("--out", help="output file (for export)")
    p.add_argument("--format", choices=PLAYLIST_FORMATS, help="default: from the --out extension")
    p.set_defaults(func=_cmd)
