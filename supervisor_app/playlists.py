"""Catalog playlists: the ``playlist`` command and exports (M3U8 / CSV / JSON), shared with the app."""
from __future__ import annotations

from pathlib import Path

from .errors import UsageError

PLAYLIST_FORMATS = ("m3u8", "csv", "json")


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
    """Write a catalog playlist as M3U8 / CSV / JSON (atomic)."""
    from .edit import playlist_export as px

    fmt = fmt.lower()
    if fmt not in PLAYLIST_FORMATS:
        raise UsageError(f"Unknown playlist format {fmt!r}: choose one of {', '.join(PLAYLIST_FORMATS)}.")
    name = next((p.name for p in cat.playlists() if p.id == int(playlist_id)), str(playlist_id))
    items = playlist_items(cat, playlist_id)
    if fmt == "m3u8":
        return px.export_m3u8(items, out_path)
    if fmt == "csv":
        return px.export_csv(items, out_path)
    return px.export_json(items, out_path, playlist=name, catalog=str(cat.path))


def _check_args(args) -> list[int]:
    """Usage errors found before the catalog is opened; returns the track ids of ``add``."""
    if args.action != "list" and not args.name:
        raise UsageError(f"'playlist {args.action}' needs a playlist name (or id).")
    if args.action == "export" and not args.out:
        raise UsageError(f"'playlist export' needs --out FILE (.m3u8, .csv or .json), e.g. --out "
                         f"{args.name.replace(' ', '_')}.m3u8.")
    if args.action == "export" and not args.format:
        fmt = Path(args.out).suffix.lstrip(".").lower()
        if fmt not in PLAYLIST_FORMATS + ("m3u",):
            raise UsageError(f"Cannot tell the playlist format from {args.out!r}: end it in .m3u8, .csv or .json, "
                             f"or add --format.")
    if args.action != "add":
        if args.track_ids:
            raise UsageError(f"'playlist {args.action}' takes no track ids (got {' '.join(args.track_ids)}).")
        return []
    if not args.track_ids:
        raise UsageError("'playlist add' needs one or more track ids (see 'catalog list').")
    bad = [t for t in args.track_ids if not str(t).isdigit()]
    if bad:
        raise UsageError(f"Track ids are numbers (see 'catalog list'); {bad[0]!r} is not one.")
    return [int(t) for t in args.track_ids]


def _cmd(args) -> int:
    from .recommend_cli import _catalog

    track_ids = _check_args(args)
    with _catalog(args) as cat:
        if args.action == "list":
            for p in cat.playlists():
                print(f"{p.id:>3}  {p.name}  ({len(cat.playlist_entries(p.id))} tracks)")
        elif args.action == "create":
            print(cat.create_playlist(args.name))
        elif args.action == "add":
            pid, _ = find_playlist(cat, args.name)
            for tid in track_ids:  # check them all first: nothing is added when one is wrong
                if cat.get_track(tid) is None:
                    raise UsageError(f"The catalog has no track with id {tid}.")
            with cat.transaction():
                for tid in track_ids:
                    cat.add_to_playlist(pid, tid)
        elif args.action == "show":
            pid, _ = find_playlist(cat, args.name)
            for it in playlist_items(cat, pid):
                print(f"{it['rank']:>3}  {it['title']}  {it['artist']}")
        elif args.action == "export":
            pid, _ = find_playlist(cat, args.name)
            fmt = args.format or Path(args.out).suffix.lstrip(".").lower()
            fmt = "m3u8" if fmt == "m3u" else fmt
            print(export_playlist(cat, pid, fmt, args.out))
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("playlist", help="playlists of a catalog: list, create, add, show, export (m3u8/csv/json)")
    p.add_argument("action", choices=("list", "create", "add", "show", "export"))
    p.add_argument("name", nargs="?", help="playlist name or id")
    p.add_argument("track_ids", nargs="*", help="track ids (for add)")
    p.add_argument("--catalog", metavar="PATH")
    p.add_argument("--out", help="output file (for export)")
    p.add_argument("--format", choices=PLAYLIST_FORMATS, help="default: from the --out extension")
    p.set_defaults(func=_cmd)
