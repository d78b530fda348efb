"""``supervisor-app recommend VIDEO --catalog PATH``: a table on stdout, JSON on request."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .filters import Filters
from .paths import atomic_write_text
from .recommend import DISTANCES, MAX_EXCLUSION_NOTES, RANK_BY, recommend


def add_filter_arguments(p) -> None:
    p.add_argument("--exclude-artist", action="append", default=[], metavar="NAME", help="leave out this artist (repeatable)")
    p.add_argument("--bpm-range", metavar="MIN:MAX", help="tempo range, e.g. 90:110")
    p.add_argument("--duration-range", metavar="MIN:MAX", help="track duration range in seconds, e.g. 60:240")
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="only tracks with this user tag (repeatable)")
    p.add_argument("--exclude-tag", action="append", default=[], metavar="TAG", help="leave out tracks with this tag")


def filters_from_args(args) -> Filters:
    return Filters(exclude_artists=list(args.exclude_artist),
                   bpm_range=Filters.parse_range(args.bpm_range, "BPM range (--bpm-range)"),
                   duration_range_s=Filters.parse_range(args.duration_range, "duration range (--duration-range)"),
                   include_tags=list(args.tag), exclude_tags=list(args.exclude_tag))


def _catalog(args):
    from .catalog import Catalog
    from .paths import default_catalog_path

    return Catalog.open(Path(args.catalog).expanduser() if args.catalog else default_catalog_path())


def _fmt_time(s: float) -> str:
    s = int(round(s))
    return f"{s // 60}:{s % 60:02d}" if s < 3600 else f"{s / 3600:.1f} h"


def print_table(res, out=None) -> None:
    out = out or sys.stdout
    print(f"mode: {res.mode}" + (f" — model {res.model}, {res.distance}" if res.model else "")
          + f", ranked by {res.rank_by}; {res.n_candidates} candidate(s)", file=out)
    for n in res.notes:
        print(f"note: {n}", file=out)
    head = f"{'#':>2}  {'title':<34} {'artist':<20} {'dur':>5} {'BPM':>5} {'content':>8} {'sync':>6}  edit"
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in res.results:
        content = "-" if r.score is None else f"{r.score:.3f}"
        bpm = "-" if not r.bpm else f"{r.bpm:.0f}"
        print(f"{r.rank:>2}  {r.title[:34]:<34} {(r.artist or '')[:20]:<20} {_fmt_time(r.duration_s):>5} "
              f"{bpm:>5} {content:>8} {r.sync_score:>+6.2f}  {getattr(r, 'edit_mode', 'metric')}", file=out)
    if len(res.excluded) > MAX_EXCLUSION_NOTES:  # the first ones are spelled out in the notes above
        for e in res.excluded[MAX_EXCLUSION_NOTES:]:
            print(f"left out {e.title}: {e.reason.rstrip('.')}.", file=out)


def cmd_recommend(args) -> int:
    with _catalog(args) as cat:
        res = recommend(args.video, cat, model=args.model, distance=args.distance, k=args.k, rank_by=args.rank_by,
                        filters=filters_from_args(args), top_n=args.top_n, sync_points_s=args.sync_point)
    print_table(res)
    if args.json:
        atomic_write_text(args.json, json.dumps(res.to_dict(), indent=1))
        print(f"wrote {args.json}")
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("recommend", help="rank catalog tracks for a video (with alignment and sync scores)")
    p.add_argument("video")
    p.add_argument("--catalog", metavar="PATH")
    p.add_argument("--model", default=None, help="Seg-VM-Net model name or folder (default: none → rank by fit)")
    p.add_argument("-k", type=int, default=10, help="how many results (default 10)")
    p.add_argument("--distance", choices=DISTANCES, default=None,
                   help="alignment distance with --model (default nw-dtw; ignored without a model)")
    p.add_argument("--rank-by", choices=RANK_BY, default=None,
                   help="content | sync | fused (default: fused with a model, sync without)")
    p.add_argument("--top-n", type=int, default=None, help="prefilter size before re-ranking with --model (default 300)")
    p.add_argument("--sync-point", type=float, action="append", default=[], metavar="SECONDS",
                   help="a video time that must land on a downbeat (repeatable)")
    p.add_argument("--json", metavar="OUT", help="write the full result as JSON")
    add_filter_arguments(p)
    p.set_defaults(func=cmd_recommend)
