"""``supervisor-app search BRIEF``: rank the catalog for a written brief (:mod:`supervisor_app.briefs.search`)."""
from __future__ import annotations

from pathlib import Path

from supervisor_app.briefs.search import rank_brief
from supervisor_app.cli.args import (
    add_catalog_argument,
    add_filter_arguments,
    add_json_out_argument,
    filters_from_args,
    open_catalog_arg,
    write_json_out,
)


def _cmd_search(args) -> int:
    from supervisor_app.catalog.tracks_view import tempo_and_key
    from supervisor_app.cli.recommend import _fmt_time

    with open_catalog_arg(args) as cat:
        res = rank_brief(cat, args.brief, filters=filters_from_args(args), limit=args.k)
        rows = []
        for m in res.matches:
            t = cat.get_track(m.track_id)
            bpm, key = tempo_and_key(cat, t)
            rows.append({"track_id": t.id, "path": t.path, "title": t.title or Path(t.path).stem,
                         "artist": t.artist or "", "duration_s": t.duration_s, "bpm": bpm, "key": key,
                         "score": m.score, "matched": {k: [what, s] for k, (what, s) in m.matched.items()}})
    print(f"brief: {res.explain_query() or '(nothing understood)'}")
    if res.not_understood:
        print(f"not understood (matched only against your tags and descriptions): {', '.join(res.not_understood)}")
    for n in res.notes:
        print(f"note: {n}")
    if res.query.is_empty:
        print("The brief names nothing to search for: try moods, styles or instruments, e.g. \"calm piano, no vocals\".")
    elif not rows:
        print("No track passes the brief's rights and your filters.")
    for i, r in enumerate(rows, 1):
        why = "; ".join(f"{k}: {what} {s:.2f}" if what else f"{k}: {s:.2f}" for k, (what, s) in r["matched"].items())
        bpm = "-" if r["bpm"] is None else f"{r['bpm']:.0f}"
        print(f"{i:>2} {r['track_id']:>5}  {r['title'][:30]:<30} {r['artist'][:18]:<18} {_fmt_time(r['duration_s'] or 0):>5} "
              f"{bpm:>4} {(r['key'] or '-'):<9} {r['score']:.2f}  {why}")
    if args.json:
        write_json_out(args.json, {
            "brief": args.brief, "understood": res.explain_query(), "not_understood": res.not_understood,
            "notes": res.notes, "score": "weighted mean of the brief's terms, 0..1 (0.5 ≈ a typical track)",
            "results": rows}, announce=False, ensure_ascii=False)
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("search", help="rank catalog tracks for a brief (moods, styles, instruments, tempo, rights)")
    p.add_argument("brief", help='e.g. "calm, hopeful piano, builds to a lift, no vocals, 90-110 bpm, one-stop, '
                                 'artist:Name"')
    add_catalog_argument(p)
    p.add_argument("-k", type=int, default=20)
    add_json_out_argument(p, help=None)
    add_filter_arguments(p)
    p.set_defaults(func=_cmd_search)
