"""``supervisor-app similar TRACK --catalog PATH``: tracks that sound like a catalog track or any file."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from supervisor_app.infra.fileio import atomic_write_text
from supervisor_app.cli.recommend import add_filter_arguments, filters_from_args

_QUERY_ARTIST = "\x00query-artist"  # what a bare --exclude-artist appends


def _fmt_time(s) -> str:
    if s is None:
        return "-"
    s = int(round(float(s)))
    return f"{s // 60}:{s % 60:02d}" if s < 3600 else f"{s / 3600:.1f} h"


def track_keys(catalog, track_ids) -> dict:
    """{track id: key such as 'A minor'} of the listed tracks (those with a stored estimate)."""
    from supervisor_app.catalog.tracks_view import tempo_and_key

    out = {}
    for tid in track_ids:
        t = catalog.get_track(int(tid))
        if t is not None:
            out[int(tid)] = tempo_and_key(catalog, t)[1]
    return out


def print_table(res, out=None, keys: dict | None = None) -> None:
    out = out or sys.stdout
    keys = keys or {}
    q = res.query
    what = f"track {q['track_id']}" if q.get("track_id") is not None else q["path"]
    if res.mode == "excerpt":
        what += f", excerpt {q['excerpt_s'][0]:g}–{q['excerpt_s'][1]:g} s"
    print(f"query: {q.get('title') or Path(q['path']).stem} ({what})", file=out)
    print(f"similarity space: {res.space} — {res.space_note}", file=out)
    for n in res.notes:
        print(f"note: {n}", file=out)
    excerpt = res.mode == "excerpt"
    head = f"{'#':>2}  {'id':>5}  {'title':<34} {'artist':<20} {'dur':>5} {'BPM':>5} {'key':<9} {'score':>7}"
    if excerpt:
        head += f"  {'best part':>11}"
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in res.results:
        bpm = "-" if r.bpm is None else f"{r.bpm:.0f}"
        line = (f"{r.rank:>2}  {r.track_id:>5}  {r.title[:34]:<34} {(r.artist or '')[:20]:<20} {_fmt_time(r.duration_s):>5} "
                f"{bpm:>5} {(keys.get(r.track_id) or '-'):<9} {r.score:>7.3f}")
        if excerpt and r.match_start_s is not None:
            line += f"  {_fmt_time(r.match_start_s):>5}–{_fmt_time(r.match_end_s):<5}"
        print(line, file=out)
    print(f"({res.n_candidates} track(s) ranked)", file=out)


def cmd_similar(args) -> int:
    from supervisor_app.catalog.resolve import open_catalog, resolve_track
    from supervisor_app.infra.errors import UsageError
    from supervisor_app.services.similar import EXCERPT_S, set_similarity_model, similar

    names = list(args.exclude_artist)
    exclude_query_artist = _QUERY_ARTIST in names
    args.exclude_artist = [n for n in names if n != _QUERY_ARTIST]
    filters = filters_from_args(args)
    excerpt = None
    if args.from_s is not None or args.to_s is not None:
        if args.from_s is None:
            raise UsageError("--to needs --from (the start of the excerpt, in seconds).")
        excerpt = (args.from_s, args.to_s if args.to_s is not None else args.from_s + EXCERPT_S)
    with open_catalog(args.catalog) as cat:
        if args.set_default_model:
            set_similarity_model(cat, None if args.model in (None, "none") else args.model)
        found = resolve_track(cat, args.track, allow_file=True)
        query = found.track.id if found.track is not None and found.path == found.track.path else found.path
        from supervisor_app.cli.progress_line import ProgressLine

        with ProgressLine(quiet=getattr(args, "quiet", False)) as line:
            res = similar(query, cat, k=args.k, filters=filters, model=args.model, excerpt_s=excerpt,
                          exclude_query_artist=exclude_query_artist, include_self=args.include_self,
                          progress=line)
        keys = track_keys(cat, [r.track_id for r in res.results])
    print_table(res, keys=keys)
    if args.json:
        atomic_write_text(args.json, json.dumps(res.to_dict(), indent=1))
        print(f"wrote {args.json}")
    return 0


def add_cli(sub) -> None:
    from supervisor_app.catalog.resolve import catalog_help

    p = sub.add_parser("similar", conflict_handler="resolve",
                       help="tracks that sound like a catalog track or any audio file (or a 12 s excerpt of it)")
    p.add_argument("track", help="a catalog track (id, title or 'artist - title'), or the path of any audio/video file")
    p.add_argument("--catalog", metavar="PATH", help=catalog_help())
    p.add_argument("-k", type=int, default=10, help="how many results (default 10)")
    p.add_argument("--model", default=None, metavar="NAME",
                   help="a trained MuSimNet (name under models/ or folder); 'none' = the frozen YAMNet space "
                        "(default: the catalog's remembered model, else YAMNet)")
    p.add_argument("--set-default-model", action="store_true",
                   help="remember --model as this catalog's similarity model")
    p.add_argument("--from", dest="from_s", type=float, default=None, metavar="S",
                   help="query with an excerpt starting at S seconds ('like this bit')")
    p.add_argument("--to", dest="to_s", type=float, default=None, metavar="S",
                   help="end of the excerpt in seconds (default: --from + 12)")
    p.add_argument("--include-self", action="store_true", help="keep the query track itself in the results")
    p.add_argument("--json", metavar="OUT", help="write the full result as JSON")
    from supervisor_app.cli.progress_line import add_quiet_argument

    add_quiet_argument(p)
    add_filter_arguments(p)
    # a bare --exclude-artist leaves out the query's own artist; with a NAME it leaves out that artist
    p.add_argument("--exclude-artist", action="append", nargs="?", const=_QUERY_ARTIST, default=[], metavar="NAME",
                   help="leave out the query's artist (bare flag) or the named artist (repeatable)")
    p.set_defaults(func=cmd_similar)
