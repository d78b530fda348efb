"""``supervisor-app mockup VIDEO TRACK --out mockup.mp4``: cut a track to a video and render/export it.

TRACK is an audio file, or (with ``--catalog``) a catalog track id, path or name. The work is
:func:`supervisor_app.services.mockup.run_mockup` (see there how the edit is chosen); this module reads the
arguments, shows progress and prints the edit and its sync score.
"""
from __future__ import annotations

from pathlib import Path

from supervisor_app.cli.args import add_quiet_argument
from supervisor_app.infra.errors import UsageError
from supervisor_app.ranking.names import DISTANCES
from supervisor_app.services.mockup import run_mockup

__all__ = ["add_cli", "cmd_mockup"]


def add_cli(subparsers) -> None:
    """Register ``mockup`` with the app's argparse sub-parsers."""
    p = subparsers.add_parser("mockup", help="cut a track to a video on downbeats; render an MP4 and export timelines",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("video", help="the picture (any video file)")
    p.add_argument("track", help="an audio file; with --catalog also a catalog track id or name ('artist - title')")
    p.add_argument("--out", required=True, help="the rendered mockup (.mp4)")
    p.add_argument("--catalog", help="catalog file to find TRACK and its analyses in (TRACK may then be a name)")
    p.add_argument("--wav", help="also write the mockup's sound (the mix, or the music with --music-only) as a WAV")
    p.add_argument("--music-wav", help="also write the music stem (as it sits in the mix) as a WAV")
    p.add_argument("--otio", help="also write an OpenTimelineIO timeline (.otio)")
    p.add_argument("--fcpxml", help="also write a Final Cut Pro 7 XML timeline (.xml)")
    p.add_argument("--edl", help="also write a CMX 3600 EDL (.edl)")
    p.add_argument("--json", dest="edit_json", help="also write the edit and its sync score as JSON")
    p.add_argument("--sync-point", type=float, action="append", default=[], metavar="S",
                   help="a video time (s) that must get a downbeat, e.g. the pack shot (repeatable)")
    p.add_argument("--offset-s", type=float, help="start the track on the downbeat nearest this music time (s); "
                                                  "default: the start with the best sync score")
    p.add_argument("--loudness", default="web", metavar="LUFS",
                   help="loudness of the mockup's sound: web (-14 LUFS, default), broadcast (-23), a number, or none")
    p.add_argument("--music-only", action="store_true",
                   help="the music alone (default: mixed under the video's own sound, ducked under speech)")
    p.add_argument("--duck-db", type=float, default=12.0, metavar="DB", help="how far the music drops under speech (12)")
    p.add_argument("--music-db", type=float, default=0.0, metavar="DB",
                   help="music level relative to the video's own sound outside speech (0)")
    p.add_argument("--auto-sync", action="store_true",
                   help="use the strongest picture sync-point suggestion (cut burst, motion, flash, loud hit) as a sync point")
    p.add_argument("--climax", type=float, metavar="S", help="the picture's climax (s): the music's energy peak lands near it")
    p.add_argument("--model", default=None, help="Seg-VM-Net model: cut along its alignment, as recommend does (needs --catalog)")
    p.add_argument("--distance", default="nw-dtw", choices=DISTANCES, help="alignment distance with --model")
    dec = p.add_mutually_exclusive_group()
    dec.add_argument("--approve", action="store_true",
                     help="record this mockup as approved in the catalog's archive (a training pair; needs --catalog)")
    dec.add_argument("--reject", action="store_true",
                     help="record it as rejected (kept as a negative for evaluation; needs --catalog)")
    add_quiet_argument(p)
    p.set_defaults(func=cmd_mockup)


def _record_decision(args, edit, approved: bool) -> None:
    """``--approve`` / ``--reject``: store the mockup as an archive pair (issue 19)."""
    from supervisor_app.archive.mockups import record_mockup_decision
    from supervisor_app.catalog import Catalog

    with Catalog.open(args.catalog) as cat:
        t = cat.get_track(int(args.track)) if str(args.track).isdigit() else cat.find_by_path(str(Path(args.track).resolve()))
        if t is None:
            raise UsageError(f"The track {args.track!r} is not in the catalog: only catalog tracks can be approved.")
        d = record_mockup_decision(cat, args.video, t.id, edit, approved)
    print(f"recorded as {d.decision} in the archive (pair {d.pair_id})")


def cmd_mockup(args) -> int:
    """Run ``supervisor-app mockup`` (see :func:`add_cli`); prints the edit and the sync score."""
    if not str(args.out).lower().endswith((".mp4", ".m4v", ".mov")):
        raise UsageError(f"The mockup is an MP4 file: give --out a name ending in .mp4 (got {args.out}).")

    from supervisor_app.cli.progress_line import ProgressLine

    line = ProgressLine(quiet=getattr(args, "quiet", False))
    line(0.0, "analysing the picture and the track")

    def bar(frac: float | None, stage: str) -> None:
        line(frac, stage)
        if frac is not None and frac >= 1.0:
            line.close()

    if args.catalog:  # TRACK may be a catalog id, a path, or a name ('artist - title')
        from supervisor_app.catalog.resolve import resolve_track
        from supervisor_app.cli.args import open_catalog_arg

        with open_catalog_arg(args) as cat:
            found = resolve_track(cat, args.track, allow_file=True)
        args.track = str(found.track.id) if found.track is not None else found.path
    if (getattr(args, "approve", False) or getattr(args, "reject", False)) and not args.catalog:
        raise UsageError("--approve/--reject store the mockup in a catalog's archive: give --catalog.")
    path = vbounds = None
    if getattr(args, "model", None):
        if not args.catalog:
            raise UsageError("--model needs --catalog: the track's segment embeddings are stored there.")
        from supervisor_app.catalog import Catalog
        from supervisor_app.services.recommend import pair_alignment

        with Catalog.open(args.catalog) as cat:
            t = cat.get_track(int(args.track)) if str(args.track).isdigit() else cat.find_by_path(str(Path(args.track).resolve()))
            if t is None:
                raise UsageError(f"The track {args.track!r} is not in the catalog; --model needs an indexed catalog track.")
            path, vbounds = pair_alignment(args.video, cat, t.id, args.model, args.distance)
    from supervisor_app.edit.mix import parse_loudness

    loudness = parse_loudness(args.loudness)  # a bad value stops here, before any analysis
    try:
        res = run_mockup(args.video, args.track, args.out, catalog_path=args.catalog, wav=args.wav,
                         music_wav=args.music_wav, path=path, video_boundaries_s=vbounds,
                         otio_path=args.otio, fcpxml=args.fcpxml, edl=args.edl, edit_json=args.edit_json,
                         sync_points_s=args.sync_point, offset_s=args.offset_s, loudness_lufs=loudness,
                         music_only=args.music_only, duck_db=args.duck_db, music_db=args.music_db,
                         auto_sync=args.auto_sync, picture_climax_s=getattr(args, "climax", None), progress=bar)
    finally:
        line.close()
    if getattr(args, "approve", False) or getattr(args, "reject", False):
        _record_decision(args, res.edit, approved=bool(args.approve))
    e = res.edit
    print(f"edit: {getattr(e, 'mode', 'metric')}" + "".join(f"; {n}" for n in e.notes))
    print(f"{'video':>17}  {'music':>17}  {'snap':>7}  reason")
    for x in e.excerpts:
        print(f"{x.video_start_s:7.2f}-{x.video_end_s:7.2f}s  {x.music_in_s:7.2f}-{x.music_out_s:7.2f}s  "
              f"{x.snap_offset_s * 1000:+5.0f}ms  {x.reason}")
    s = res.sync
    events = "a strong onset" if s.details.get("events") == "strong onsets" else "a downbeat"
    print(f"sync score {s.score:+.2f} (S above random offsets of the same edit; S_bar {s.S_bar:.3f}, S_seg {s.S_seg:.3f}, "
          f"{s.n_cuts_on_downbeat} cuts on {events})")
    if res.auto_sync is not None:
        a = res.auto_sync
        print(f"auto sync point: {a.time_s:.2f} s ({a.kind}, strength {a.strength:.2f}): {a.reason}")
    elif args.auto_sync:
        print("auto sync point: none (no cut burst, movement peak, flash or loud hit stands out in this picture)")
    if res.sound is not None:
        r = res.sound
        lufs = "n/a" if r.loudness_lufs is None else f"{r.loudness_lufs:.1f} LUFS"
        target = "" if r.loudness_target_lufs is None else f" (target {r.loudness_target_lufs:g})"
        print(f"sound: {r.mode}, {lufs}{target}. {r.why}")
    for kind, f in res.files.items():
        print(f"wrote {kind}: {f}")
    return 0
