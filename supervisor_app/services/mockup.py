"""A mockup: a track cut to a video, scored, rendered and exported; the single entry point the CLI
(``supervisor-app mockup``, :mod:`supervisor_app.cli.mockup`) and the app (:mod:`supervisor_app.gui.backend`) call.

The track is an audio file, or (with a catalog) a catalog track id or the path of a catalog track: a
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

The choice of engine and start is :func:`choose_edit`, shared by :func:`run_mockup` and the app's previews
(:func:`preview_edit`, fed with the video structure the window already holds); exports go through the
writer registry :mod:`supervisor_app.edit.writers` (:func:`export_mockup`).
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from supervisor_app.edit.writers import TIMELINE_FORMATS
from supervisor_app.infra.jobs import ProgressFn
from supervisor_app.infra.errors import AnalysisError, UsageError

if TYPE_CHECKING:
    from supervisor_app.edit.planner import TrackEvents

__all__ = ["run_mockup", "MockupResult", "track_events", "video_events", "choose_edit", "preview_edit",
           "export_mockup", "MOCKUP_FORMATS"]


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


def track_events(track: str | Path, catalog_path: str | Path | None = None) -> "TrackEvents":
    """The :class:`~supervisor_app.edit.planner.TrackEvents` of a track (catalog analyses when available, else
    madmom + MSAF OLDA on the fly, cached by content hash). A track without a steady beat is no error: its
    grid is then empty, its confidence says why, and :mod:`supervisor_app.edit.planner` cuts it in free
    time."""
    from supervisor_app.edit.planner import TrackEvents

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
    return TrackEvents.from_analyses(str(path), float(info.duration_s), beats, np.asarray(bounds, float),
                                     beats_error=beats_error, title=title or Path(path).stem, artist=artist)


def run_mockup(video_path: str | Path, track: str | Path, out_mp4: str | Path | None = None, *,
               catalog_path: str | Path | None = None, wav: str | Path | None = None,
               otio_path: str | Path | None = None, fcpxml: str | Path | None = None,
               edl: str | Path | None = None, edit_json: str | Path | None = None,
               sync_points_s: Sequence[float] = (), offset_s: float | None = None,
               path: Sequence[tuple[int, int]] | None = None, video_boundaries_s: Sequence[float] | None = None,
               loudness_lufs: float | str | None = "web", music_only: bool = False, music_wav: str | Path | None = None,
               duck_db: float = 12.0, music_db: float = 0.0, auto_sync: bool = False,
               picture_climax_s: float | None = None,
               progress: ProgressFn | None = None) -> MockupResult:
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
    from supervisor_app.edit.mix import MixSettings, parse_loudness, render_mockup_audio
    from supervisor_app.edit.writers import write_timeline
    from supervisor_app.edit.render import render_mp4, write_wav
    from supervisor_app.edit.render_cache import cached_render

    settings = MixSettings(duck_db=float(duck_db), music_db=float(music_db),
                           loudness_lufs=parse_loudness(loudness_lufs))
    v = video_events(video_path)
    ev = track_events(track, catalog_path)
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

    def form_of():  # the form-aware planner listens to its splices: the track's audio is read only for it
        from supervisor_app.edit.form import TrackForm
        from supervisor_app.media import load_audio

        sr = 22050
        return TrackForm.build(ev.duration_s, ev.downbeats_s, ev.boundaries_s,
                               audio=load_audio(ev.path, sr=sr, mono=True), sr=sr)

    start, edit, sc = choose_edit(v["duration_s"], vb, v["cuts_s"], v["cut_probs_25hz"], ev, path=path,
                                  start_offset_s=offset_s, sync_points_s=sync_points_s, form_of=form_of,
                                  picture_climax_s=picture_climax_s)
    files = {}
    track_path = ev.path
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
    for fmt, out in (("otio", otio_path), ("fcpxml", fcpxml), ("edl", edl)):
        if out is not None:
            files[fmt] = str(write_timeline(fmt, edit, video_path, track_path, out))
    if edit_json is not None:
        from supervisor_app.infra.fileio import atomic_write_text

        doc = {"video": str(video_path), "track": track_path, "title": ev.title, "artist": ev.artist,
               "start_offset_s": start, "sync": sc.to_dict(), "edit": edit.to_dict(),
               "sound": sound.report.to_dict() if sound is not None else None,
               "auto_sync": suggestion.to_dict() if suggestion is not None else None}
        atomic_write_text(edit_json, json.dumps(doc, indent=2, default=float) + "\n")
        files["json"] = str(edit_json)
    return MockupResult(edit, sc, start, files, sound.report if sound is not None else None, suggestion)


def choose_edit(video_duration_s: float, video_boundaries_s: Sequence[float], cuts_s: Sequence[float], cut_probs_25hz,
                ev, *, path: Sequence[tuple[int, int]] | None = None, start_offset_s: float | None = None,
                sync_points_s: Sequence[float] = (), mode: str | None = None,
                form_of: Callable[[], object] | None = None, picture_climax_s: float | None = None):
    """The edit of track events ``ev`` (:class:`supervisor_app.edit.planner.TrackEvents`) under the picture, and
    how it was chosen: ``(start_offset_s, edit, SyncScore)``.

    Along the alignment ``path`` (``(i_music, j_video)`` pairs over ``video_boundaries_s``) or from
    ``start_offset_s`` when either is given; else the best start by sync score, by the engine ``mode``
    (default: the one :func:`~supervisor_app.edit.planner.edit_mode` picks). A metric track with ``form_of``
    (a callable making its :class:`~supervisor_app.edit.form.TrackForm`) is cut by the form-aware planner
    (``picture_climax_s``: the music's energy peak lands near it); without, by the best downbeat start.
    The edit is scored against ``cuts_s`` and their 25 Hz curve."""
    from supervisor_app.edit.planner import edit_mode, fit_edit, plan_edit, score_edit

    common = dict(sync_points_s=tuple(sync_points_s))
    if path is not None or start_offset_s is not None:
        start = None if start_offset_s is None else float(start_offset_s)
        edit = plan_edit(video_duration_s, video_boundaries_s, ev, path=path, start_offset_s=start, mode=mode, **common)
        return start, edit, score_edit(edit, cuts_s, cut_probs_25hz, ev)
    mode = mode or edit_mode(ev, video_duration_s)
    if mode == "metric" and form_of is not None:  # the form-aware planner, listening to its splices
        from supervisor_app.ranking.form_score import fit_to_picture

        fit = fit_to_picture(video_duration_s, video_boundaries_s, cut_probs_25hz, form_of(),
                             picture_climax_s=picture_climax_s, **common)
        return fit.start_offset_s, fit.edit, fit.sync
    # free time, a button (edit.planner), or metric from the best downbeat start
    return fit_edit(video_duration_s, video_boundaries_s, cut_probs_25hz, ev, mode=mode, **common)


def preview_edit(video, ev: "TrackEvents", path, start_offset_s, sync_points_s, mode: str | None = None):
    """The edit ``supervisor-app mockup`` makes (:func:`choose_edit`), from the video structure the app already
    holds (``video``: ``duration_s``, ``cuts_s``, ``cut_probs_25hz``, ``segments_s`` [(start_s, end_s)]) and a
    track's events, cut by the engine ``mode`` recommend chose (metric, free-time or button; None: the
    planner's choice): along ``path``
    when there is one (over the video segments), else from ``start_offset_s``, else from the best start by
    sync score. Returns (edit, start_offset_s, SyncScore)."""
    if path is not None:
        bounds = [a for a, _ in video.segments_s] + [video.segments_s[-1][1]] if video.segments_s else list(video.cuts_s)
    else:
        bounds = list(video.cuts_s)
    start, edit, sc = choose_edit(video.duration_s, bounds, list(video.cuts_s), video.cut_probs_25hz, ev, path=path,
                                  start_offset_s=start_offset_s, sync_points_s=sync_points_s, mode=mode)
    return edit, start, sc


#: what a mockup can be exported as: the render (MP4, WAV) and every timeline format of the registry
MOCKUP_FORMATS = ("mp4", "wav") + tuple(TIMELINE_FORMATS)


def export_mockup(edit, video_path, track_path, fmt: str, out_path, progress: ProgressFn | None = None,
                  should_cancel: Callable[[], bool] | None = None) -> Path:
    """Write the mockup ``edit`` of ``track_path`` under ``video_path`` as ``fmt`` (:data:`MOCKUP_FORMATS`) at
    ``out_path`` (atomic; renders are served from the render cache). ``progress(fraction, stage)`` follows an
    MP4 render; ``should_cancel()`` true stops it (:class:`supervisor_app.infra.jobs.Cancelled`)."""
    fmt = fmt.lower()
    out_path = Path(out_path)
    if fmt == "mp4":
        from supervisor_app.edit.render_cache import render_mp4_cached as render_mp4

        return render_mp4(edit, video_path, track_path, out_path, progress=progress, should_cancel=should_cancel)
    if fmt == "wav":
        from supervisor_app.edit.render_cache import render_wav_cached as render_wav

        return render_wav(edit, track_path, out_path)
    if fmt not in MOCKUP_FORMATS:
        raise UsageError(f"Unknown mockup format {fmt!r}: choose one of {', '.join(MOCKUP_FORMATS)}.")
    from supervisor_app.edit.writers import write_timeline

    return write_timeline(fmt, edit, video_path, track_path, out_path)
