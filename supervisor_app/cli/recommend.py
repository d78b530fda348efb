"""``supervisor-app recommend VIDEO --catalog PATH``: a table on stdout, JSON on request."""
from __future__ import annotations

import sys

from supervisor_app.catalog.filters import Filters
from supervisor_app.cli.args import (
    add_catalog_argument,
    add_filter_arguments,
    add_json_out_argument,
    add_quiet_argument,
    filters_from_args,
    open_catalog_arg,
    write_json_out,
)
from supervisor_app.services.recommend import DISTANCES, MAX_EXCLUSION_NOTES, RANK_BY, recommend_for_brief


def _catalog(args):
    """``--catalog`` or the last catalog used (remembered as the default)."""
    return open_catalog_arg(args)


def out_stream():
    return sys.stdout


def _fmt_time(s: float) -> str:
    s = int(round(s))
    return f"{s // 60}:{s % 60:02d}" if s < 3600 else f"{s / 3600:.1f} h"


def print_table(res, out=None, keys: dict | None = None) -> None:
    out = out or sys.stdout
    keys = keys or {}
    print(f"mode: {res.mode}" + (f" — model {res.model}, {res.distance}" if res.model else "")
          + f", ranked by {res.rank_by}; {res.n_candidates} candidate(s)", file=out)
    for n in res.notes:
        print(f"note: {n}", file=out)
    head = (f"{'#':>2}  {'title':<34} {'artist':<20} {'dur':>5} {'BPM':>5} {'key':<9} {'content':>8} {'sync':>6} "
            f"{'form':>6}  {'cut':<9} edit")
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in res.results:
        content = "-" if r.score is None else f"{r.score:.3f}"
        form = r.form.get("score") if r.form else None
        how = "; ".join(r.form.get("reasons", [])[:3]) if r.form else ""
        bpm = "-" if not r.bpm else f"{r.bpm:.0f}"
        print(f"{r.rank:>2}  {r.title[:34]:<34} {(r.artist or '')[:20]:<20} {_fmt_time(r.duration_s):>5} "
              f"{bpm:>5} {(keys.get(r.track_id) or '-'):<9} {content:>8} {r.sync_score:>+6.2f} "
              f"{('-' if form is None else f'{form:+.2f}'):>6}  {getattr(r, 'edit_mode', 'metric'):<9} {how}", file=out)
    if len(res.excluded) > MAX_EXCLUSION_NOTES:  # the first ones are spelled out in the notes above
        for e in res.excluded[MAX_EXCLUSION_NOTES:]:
            print(f"left out {e.title}: {e.reason.rstrip('.')}.", file=out)


def cmd_recommend(args) -> int:
    ratio = Filters.parse_range(args.fits_length, "length range relative to the picture") if args.fits_length else None
    sync_points = list(args.sync_point)
    climax_s = args.climax
    auto = None
    if getattr(args, "auto_sync", False):
        from supervisor_app.analysis.sync_suggestions import (
            cached_sync_suggestions,
            picture_climax_s,
            strongest,
        )

        suggestions = cached_sync_suggestions(args.video)
        auto = strongest(suggestions)
        if auto is not None:
            sync_points.append(float(auto.time_s))
        if climax_s is None:  # the picture's climax from the same suggestions
            from supervisor_app.infra.errors import SupervisorError
            from supervisor_app.media import probe

            try:
                duration_s = float(probe(args.video).duration_s or 0.0)
            except SupervisorError:  # recommend() reports an unreadable picture in its own words
                duration_s = 0.0
            climax_s = picture_climax_s(suggestions, duration_s) if duration_s > 0 else None
    with _catalog(args) as cat:
        from supervisor_app.cli.progress_line import ProgressLine

        filters = filters_from_args(args)
        # with --brief, the same brief search as `search` and the app: fit only what fits it
        with ProgressLine(quiet=getattr(args, "quiet", False)) as line:
            res, _ = recommend_for_brief(args.video, cat, getattr(args, "brief", None), filters=filters,
                                         on_brief=lambda text: print(text, file=out_stream()),
                                         model=args.model, distance=args.distance, k=args.k, rank_by=args.rank_by,
                                         top_n=args.top_n, sync_points_s=sync_points, picture_climax_s=climax_s,
                                         no_repeats=args.no_repeats, length_ratio=ratio,
                                         progress=line, on_result=line.result, plan_all=getattr(args, "plan_all", False),
                                         provisional=not line.quiet,  # nobody would see it
                                         on_provisional=lambda r: line.message(provisional_lines(r, line.elapsed_s())))
        from supervisor_app.catalog.tracks_view import track_keys

        keys = track_keys(cat, [r.track_id for r in res.results])
    if getattr(args, "auto_sync", False):
        print(f"auto sync point: {auto.time_s:.2f} s ({auto.kind}, strength {auto.strength:.2f}): {auto.reason}"
              if auto is not None else "auto sync point: none (nothing in the picture stands out)")
    print_table(res, keys=keys)
    if args.json:
        write_json_out(args.json, res.to_dict())
    return 0


PROVISIONAL_SHOWN = 5  # provisional results the CLI prints while the shot detection goes on


def provisional_lines(res, elapsed_s: float) -> list[str]:
    """What the CLI says of a provisional ranking (stderr): its best few, and that the final list follows."""
    rows = res.results[:PROVISIONAL_SHOWN]
    if not rows:
        return []
    out = [f"provisional top {len(rows)} after {elapsed_s:.1f} s (the picture's cuts from a quick pass; the final "
           "list follows when TransNetV2 has run):"]
    for i, r in enumerate(rows, start=1):
        who = f" — {r.artist}" if r.artist else ""
        fit = f", fit {r.fit_score:+.2f}" if r.fit_score is not None else ""
        out.append(f"  {i}. {r.title}{who} (starts {r.start_offset_s:.1f} s into the track{fit})")
    return out


def add_cli(sub) -> None:
    p = sub.add_parser("recommend", help="rank catalog tracks for a video (with alignment and sync scores)")
    p.add_argument("video")
    add_catalog_argument(p)
    p.add_argument("--model", default=None, help="Seg-VM-Net model name or folder (default: none → rank by fit)")
    p.add_argument("-k", type=int, default=10, help="how many results (default 10)")
    p.add_argument("--distance", choices=DISTANCES, default=None,
                   help="alignment distance with --model (default nw-dtw; ignored without a model)")
    p.add_argument("--rank-by", choices=RANK_BY, default=None,
                   help="content | sync | fused (default: fused with a model, sync without)")
    p.add_argument("--top-n", type=int, default=None, help="prefilter size before re-ranking with --model (default 300)")
    p.add_argument("--sync-point", type=float, action="append", default=[], metavar="SECONDS",
                   help="a video time that must land on a downbeat (repeatable)")
    p.add_argument("--brief", metavar="TEXT", help='fit only tracks that fit this brief (as `search` ranks it), '
                                                   'e.g. "calm piano, no vocals, one-stop"')
    p.add_argument("--auto-sync", action="store_true",
                   help="use the strongest picture sync-point suggestion (cut burst, motion, flash, loud hit) as a sync point")
    add_json_out_argument(p)
    p.add_argument("--climax", type=float, metavar="SECONDS",
                   help="the picture's climax: the music's energy peak should land near it")
    p.add_argument("--no-repeats", action="store_true", help="only tracks that cover the picture without a repeat")
    p.add_argument("--plan-all", action="store_true",
                   help="cut every candidate to the picture (exact ranking; slower on large catalogs, where by default "
                        "a quick fit chooses the best few dozen to cut)")
    p.add_argument("--fits-length", metavar="MIN:MAX",
                   help="track duration as a multiple of the picture's, e.g. 1:2 (either side may be empty)")
    add_quiet_argument(p)
    add_filter_arguments(p)
    p.set_defaults(func=cmd_recommend)
