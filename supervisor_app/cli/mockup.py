"""``supervisor-app mockup VIDEO TRACK --out mockup.mp4``: cut a track to a video and render/export it.

TRACK is an audio file, or (with ``--catalog``) a catalog track id or the path of a catalog track: a
track found in the catalog (by id, path, or content hash) uses its stored beat/segment analyses when
they are there for the current analyzer versions; anything else is analysed on the fly (madmom beats,
MSAF OLDA sections, cached by content hash). The video's cuts come from the TransNetV2 shot analysis
(cached by content hash too).

Alignment: without ``--offset-s`` the edit follows the track's form
(:func:`supervisor_app.edit.form.plan_edit` with the track's audio: it starts at the track's start or a
section, ends on its ending or a section end, drops phrases or repeats whole sections, avoids audible
splices; ``--climax`` puts the music's energy peak near a picture time). ``--offset-s`` plays the track
from the downbeat nearest that music time instead (the older engine,
:func:`supervisor_app.edit.edl.build_edit`, looping when the track runs out). A path from the
recommendation engine can be given to :func:`run_mockup` (``path=``, with the video segment boundaries
it refers to).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from supervisor_app.infra.errors import AnalysisError, UsageError

__all__ = ["add_cli", "cmd_mockup", "run_mockup", "MockupResult", "track_events", "video_events"]


@dataclass
class MockupResult:
    """What :func:`run_mockup` made: the edit, its sync score and the files written."""

    edit: object
    sync: object
    start_offset_s: float | None
    files: dict = field(default_factory=dict)
    sound: object = None  # MixReport of the rendered sound (None when nothing was rendered)
    auto_sync: object = None  # the SyncSuggestion used as a sync point with auto_sync


def video_events(video_path: str | Path) -> dict:
    """``{"duration_s", "cuts_s", "cut_probs_25hz"}`` of a video: TransNetV2 shots, cached by content
    hash under the same key and format as ``supervisor-app analyze`` (so each reuses the other's)."""
    from supervisor_app.analysis.report import cached_shots
    from supervisor_app.infra.errors import NoVideoStreamError
    from supervisor_app.media import probe

    from supervisor_app.media.picture import check_picture, no_cuts_note

    info = probe(video_path)
    if not info.has_video:
        raise NoVideoStreamError(video_path)
    check_picture(video_path, info.duration_s)
    r = cached_shots(video_path)
    for note in (*info.warnings, no_cuts_note(len(r.cuts_s), info.duration_s)):
        if note:
            print(f"note: {note}", file=sys.stderr)
    return {"duration_s": float(info.duration_s), "cuts_s": [float(t) for t in r.cuts_s],
            "cut_probs_25hz": np.asarray(r.cut_probs_25hz, dtype=np.float32)}


def _from_catalog(track: str, catalog_path: str | Path):
    """(path, beats record | None, boundaries list | None, title, artist) of a catalog track, or None."""
    from supervisor_app.analysis import versions
    from supervisor_app.analysis.report import segments_analyzer
    from supervisor_app.catalog.store import Catalog
    from supervisor_app.infra.hashing import content_hash

    cat = Catalog.open(catalog_path)
    try:
        t = None
        if track.isdigit():
            t = cat.get_track(int(track))
            if t is None:
                raise UsageError(f"The catalog has no track with id {track}.")
        elif Path(track).exists():
            t = cat.find_by_path(track)
            if t is None:
                same = cat.find_by_hash(content_hash(track))
                t = same[0] if same else None
        if t is None:
            return None
        bv = versions.beats_version()
        beats = cat.get_analysis(t.id, versions.BEATS, bv)
        seg = cat.get_analysis(t.id, segments_analyzer("olda"), versions.segments_version("olda", bv))
        path = t.path if Path(t.path).exists() else track
        return (path, beats, seg.result["boundaries_s"] if seg and seg.result else None, t.title or "", t.artist or "")
    finally:
        cat.close()


def track_events(track: str | Path, catalog_path: str | Path | None = None) -> dict:
    """``{"path", "duration_s", "downbeats_s", "boundaries_s", "title", "artist", "beats", "beats_error"}``
    of a track (catalog analyses when available, else madmom + MSAF OLDA on the fly, cached by content
    hash). A track without a steady beat is no error: ``beats`` is then None, ``beats_error`` says why,
    ``downbeats_s`` is empty, and :mod:`supervisor_app.edit.planner` cuts it in free time."""
    from supervisor_app.analysis import versions
    from supervisor_app.analysis.report import analyze_track, segments_analyzer
    from supervisor_app.media import probe

    track = str(track)
    beats = bounds = beats_error = None
    have_beats = False
    title = artist = ""
    path = track
    if catalog_path is not None:
        found = _from_catalog(track, catalog_path)
        if found is not None:
            path, brec, bounds, title, artist = found
            if brec is not None:
                have_beats, beats, beats_error = True, brec.result, brec.error
    if not Path(path).exists():
        from supervisor_app.infra.errors import FileMissingError

        raise FileMissingError(path)
    info = probe(path)
    if not have_beats or bounds is None:
        records = analyze_track(path, cache=True, segment_algorithms=("olda",))
        brec = records[versions.BEATS]
        beats, beats_error = brec["result"], brec["error"]
        srec = records.get(segments_analyzer("olda"), {})
        bounds = (srec.get("result") or {}).get("boundaries_s", [])
        if beats is None and brec["error"] and "silent" in brec["error"]:
            raise AnalysisError(brec["error"])
    return {"path": str(path), "duration_s": float(info.duration_s),
            "downbeats_s": np.asarray(beats["downbeats_s"] if beats else [], float),
            "boundaries_s": np.asarray(bounds, float), "title": title or Path(path).stem, "artist": artist,
            "beats": beats, "beats_error": beats_error}


def run_mockup(video_path: str | Path, track: str | Path, out_mp4: str | Path | None = None, *,
               catalog_path: str | Path | None = None, wav: str | Path | None = None,
               otio_path: str | Path | None = None, fcpxml: str | Path | None = None,
               edl: str | Path | None = None, edit_json: str | Path | None = None,
               sync_points_s: Sequence[float] = (), offset_s: float | None = None,
               path: Sequence[tuple[int, int]] | None = None, video_boundaries_s: Sequence[float] | None = None,
               loudness_lufs: float | str | None = "web", music_only: bool = False, music_wav: str | Path | None = None,
               duck_db: float = 12.0, music_db: float = 0.0, auto_sync: bool = False,
               picture_climax_s: float | None = None,
               progress: Callable[[float], bool | None] | None = None) -> MockupResult:
    """Analyse, cut, score, render and export a mockup of ``track`` under ``video_path``.

    ``path``: ``(i_music, j_video)`` segment pairs of an alignment, ``video_boundaries_s`` the video
    segment boundaries it refers to (default: the shot cuts) and the track's OLDA sections;
    ``offset_s``: start the track near this music time; neither: the best start by sync score.
    ``auto_sync``: add the strongest picture sync-point suggestion to ``sync_points_s``.
    Sound (:mod:`supervisor_app.edit.mix`): the music mixed under the video's own audio track, ducked
    ``duck_db`` under speech, ``music_db`` relative to the production's level, normalised to
    ``loudness_lufs`` ("web" -14, "broadcast" -23, a number, or None); ``music_only`` for the music
    alone. ``wav`` gets the mockup's sound (the mix), ``music_wav`` the music stem as it sits in it.
    Every output argument that is not None is written (atomically). Returns a :class:`MockupResult`.
    """
    from supervisor_app.edit.export_timeline import export_edl, export_fcpxml, export_otio
    from supervisor_app.edit.mix import MixSettings, parse_loudness, render_mockup_audio
    from supervisor_app.edit.planner import TrackEvents, edit_mode, fit_edit, plan_edit, score_edit
    from supervisor_app.edit.render import render_mp4, write_wav
    from supervisor_app.edit.render_cache import cached_render

    settings = MixSettings(duck_db=float(duck_db), music_db=float(music_db),
                           loudness_lufs=parse_loudness(loudness_lufs))
    v = video_events(video_path)
    t = track_events(track, catalog_path)
    ev = TrackEvents.from_analyses(t["path"], t["duration_s"], t["beats"], t["boundaries_s"],
                                   beats_error=t["beats_error"], title=t["title"], artist=t["artist"])
    vb = v["cuts_s"] if video_boundaries_s is None else list(video_boundaries_s)
    suggestion = None
    if auto_sync:
        from supervisor_app.analysis.sync_suggestions import cached_sync_suggestions, strongest

        suggestions = cached_sync_suggestions(video_path)
        suggestion = strongest(suggestions)
        if suggestion is not None:
            sync_points_s = tuple(sync_points_s) + (float(suggestion.time_s),)
        if picture_climax_s is None:  # the picture's climax from the same suggestions
            from supervisor_app.analysis.sync_suggestions import picture_climax_s as climax_of

            picture_climax_s = climax_of(suggestions, float(v["duration_s"]))
    common = dict(sync_points_s=tuple(sync_points_s))
    start = None
    if path is not None or offset_s is not None:
        start = None if offset_s is None else float(offset_s)
        edit = plan_edit(v["duration_s"], vb, ev, path=path, start_offset_s=start, **common)
        sc = score_edit(edit, v["cuts_s"], v["cut_probs_25hz"], ev)
    else:
        emode = edit_mode(ev, v["duration_s"])
        if emode == "metric":  # the form-aware planner, listening to its splices
            from supervisor_app.media import load_audio
            from supervisor_app.ranking.form_score import fit_to_picture
            from supervisor_app.edit.form import TrackForm

            sr = 22050
            form = TrackForm.build(t["duration_s"], t["downbeats_s"], t["boundaries_s"],
                                   audio=load_audio(t["path"], sr=sr, mono=True), sr=sr)
            fit = fit_to_picture(v["duration_s"], vb, v["cut_probs_25hz"], form, picture_climax_s=picture_climax_s,
                                 **common)
            start, edit, sc = fit.start_offset_s, fit.edit, fit.sync
        else:  # free time or a button (edit.planner)
            start, edit, sc = fit_edit(v["duration_s"], vb, v["cut_probs_25hz"], ev, mode=emode, **common)
    files = {}
    track_path = t["path"]
    sound = None
    if out_mp4 is not None or wav is not None or music_wav is not None:
        sound = render_mockup_audio(edit, track_path, video_path, music_only=music_only, settings=settings)
    if out_mp4 is not None:
        mix_options = {"music_only": bool(music_only), "duck_db": float(duck_db), "music_db": float(music_db),
                       "loudness_lufs": settings.loudness_lufs}  # the transcode is served from the render cache
        files["mp4"] = str(cached_render(
            "mp4", lambda out: render_mp4(edit, video_path, track_path, out, progress=progress, audio=sound),
            out_mp4, edit, track_path, video_path, mix_options, progress))
    if wav is not None:
        files["wav"] = str(write_wav(sound.mix, sound.sr, wav))
    if music_wav is not None:
        files["music_wav"] = str(write_wav(sound.music, sound.sr, music_wav))
    if otio_path is not None:
        files["otio"] = str(export_otio(edit, video_path, track_path, otio_path))
    if fcpxml is not None:
        files["fcpxml"] = str(export_fcpxml(edit, video_path, track_path, fcpxml))
    if edl is not None:
        files["edl"] = str(export_edl(edit, video_path, track_path, edl))
    if edit_json is not None:
        from supervisor_app.infra.fileio import atomic_write_text

        doc = {"video": str(video_path), "track": track_path, "title": t["title"], "artist": t["artist"],
               "start_offset_s": start, "sync": sc.to_dict(), "edit": edit.to_dict(),
               "sound": sound.report.to_dict() if sound is not None else None,
               "auto_sync": suggestion.to_dict() if suggestion is not None else None}
        atomic_write_text(edit_json, json.dumps(doc, indent=2, default=float) + "\n")
        files["json"] = str(edit_json)
    return MockupResult(edit, sc, start, files, sound.report if sound is not None else None, suggestion)


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
    p.add_argument("--distance", default="nw-dtw", choices=("nw-dtw", "sw-dtw", "trace", "best-trace", "centroid", "single", "complete"), help="alignment distance with --model")
    dec = p.add_mutually_exclusive_group()
    dec.add_argument("--approve", action="store_true",
                     help="record this mockup as approved in the catalog's archive (a training pair; needs --catalog)")
    dec.add_argument("--reject", action="store_true",
                     help="record it as rejected (kept as a negative for evaluation; needs --catalog)")
    from supervisor_app.cli.progress_line import add_quiet_argument

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
    render_progress = line.fraction_only("rendering")

    def bar(frac: float) -> None:
        render_progress(frac)
        if frac >= 1.0:
            line.close()

    if args.catalog:  # TRACK may be a catalog id, a path, or a name ('artist - title')
        from supervisor_app.catalog.resolve import open_catalog, resolve_track

        with open_catalog(args.catalog) as cat:
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
