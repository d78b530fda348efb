"""Catalog playlists: the ``playlist`` command and exports (M3U8 / CSV / JSON), shared with the app."""
from __future__ import annotations

from pathlib import Path

from supervisor_app.infra.errors import UsageError

PLAYLIST_FORMATS = ("m3u8", "csv", "xlsx", "json")


def playlist_items(cat, playlist_id: int) -> list[dict]:
    """The entries of a playlist as export rows (track fields plus the scores and edit stored with them)."""
    items = []
    for e in cat.playlist_entries(playlist_id):
        t = cat.get_track(e.track_id)
        pay = e.payload or {}
        items.append({"rank": e.position + 1, "track_id": e.track_id, "path": t.path if t else "",
                      "title": (t.title if t else "") or "", "artist": (t.artist if t else "") or "",
                      "duration_s": t.duration_s if t else None, "score": pay.get("score"),
                      "sync_score": pay.get("sync_score"), "reasons": pay.get("reasons") or ([e.note] if e.note else []),
                      "edit": pay.get("edit"), "mockup_path": pay.get("mockup_path")})
    return items


def find_playlist(cat, name_or_id) -> tuple[int, str]:
    for p in cat.playlists():
        if str(p.id) == str(name_or_id) or p.name == str(name_or_id):
            return p.id, p.name
    raise UsageError(f"The catalog has no playlist {name_or_id!r}.")


def export_playlist(cat, playlist_id: int, fmt: str, out_path) -> Path:
    """Write a catalog playlist (atomic): M3U8 (players; '#EXTINF' with artist - title), CSV / XLSX (the
    sheet a supervisor sends: :mod:`supervisor_app.edit.playlist_sheet`), JSON (everything, edits included)."""
    from supervisor_app.edit import playlist_export as px
    from supervisor_app.edit.playlist_sheet import check_format, sheet_rows, write_sheet_csv, write_sheet_xlsx

    fmt = check_format(fmt, PLAYLIST_FORMATS)
    name = next((p.name for p in cat.playlists() if p.id == int(playlist_id)), str(playlist_id))
    if fmt == "csv":
        return write_sheet_csv(sheet_rows(cat, playlist_id), out_path)
    if fmt == "xlsx":
        return write_sheet_xlsx(sheet_rows(cat, playlist_id), out_path, title=name)
    items = playlist_items(cat, playlist_id)
    if fmt == "m3u8":
        return px.export_m3u8(items, out_path)
    return _export_json(cat, playlist_id, items, out_path, name)


def _export_json(cat, playlist_id: int, items: list[dict], out_path, name: str) -> Path:
    """``export_json``'s document, each entry also carrying every field of its track (metadata, rights,
    BPM, key) under ``"track"`` (``read_json`` ignores it)."""
    import json

    from supervisor_app.catalog.tracks_view import track_facts
    from supervisor_app.edit.playlist_export import as_entry
    from supervisor_app.infra.fileio import atomic_write_text

    entries = []
    for k, it in enumerate(items, start=1):
        d = as_entry(it, rank=k).to_dict()
        t = cat.get_track(it["track_id"])
        if t is not None:
            d["track"] = track_facts(cat, t)
        entries.append(d)
    doc = {"version": 1, "playlist": name, "catalog": str(cat.path), "entries": entries}
    out_path = Path(out_path)
    atomic_write_text(out_path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return out_path


def _check_args(args) -> list[int]:
    """Usage errors found before the catalog is opened; returns the track ids of ``add``."""
    if args.action != "list" and not args.name:
        raise UsageError(f"'playlist {args.action}' needs a playlist name (or id).")
    if args.action == "export" and not args.out:
        raise UsageError(f"'playlist export' needs --out FILE (.m3u8, .csv, .xlsx or .json), e.g. --out "
                         f"{args.name.replace(' ', '_')}.m3u8.")
    if args.action == "export" and not args.format:
        fmt = Path(args.out).suffix.lstrip(".").lower()
        if fmt not in PLAYLIST_FORMATS + ("m3u",):
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
    from supervisor_app.cli.recommend import _catalog

    _check_args(args)  # usage errors before the catalog is opened
    with _catalog(args) as cat:
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
            fmt = args.format or Path(args.out).suffix.lstrip(".").lower()
            fmt = "m3u8" if fmt == "m3u" else fmt
            print(export_playlist(cat, pid, fmt, args.out))
    return 0


def add_cli(sub) -> None:
    from supervisor_app.catalog.resolve import catalog_help

    p = sub.add_parser("playlist", help="playlists of a catalog: list, create, add, show, export (m3u8/csv/xlsx/json)")
    p.add_argument("action", choices=("list", "create", "add", "show", "export"))
    p.add_argument("name", nargs="?", help="playlist name or id")
    p.add_argument("track_ids", nargs="*", metavar="TRACK",
                   help="for add: catalog ids, files or titles ('artist - title'; quote names with spaces)")
    p.add_argument("--catalog", metavar="PATH", help=catalog_help())
    p.add_argument("--out", help="output file (for export)")
    p.add_argument("--format", choices=PLAYLIST_FORMATS, help="default: from the --out extension")
    p.set_defaults(func=_cmd)
