"""Editorial timelines of a mockup through OpenTimelineIO: ``.otio``, FCP 7 XML, CMX 3600 EDL.

The timeline has the video on V1 (one clip, the whole picture) and the music excerpts on A1, end to
end, each clip's source range being the excerpt's music in/out. Markers sit on the V1 clip (so every
format keeps them): one per splice (red), one per sync point (green), plus any extra ``markers``
(blue). Times are whole frames at the video's frame rate, snapped to the nearest standard timecode
rate (23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60) so that EDL/XML timecodes are valid; the splice
frames are rounded once and every A1 clip lasts the difference, so A1 and V1 end on the same frame.

Adapters: ``otio_json`` (built in), ``fcp_xml`` (otio-fcp-adapter), ``cmx_3600`` (otio-cmx3600-adapter).
The CMX adapter writes one track per call; the EDL holds the V events then the A events, numbered on.
All writes are atomic (temporary file, then rename).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from ..paths import atomic_write_text
from .edl import Edit

__all__ = ["build_timeline", "export_otio", "export_fcpxml", "export_edl", "read_timeline", "timecode_rate",
           "STANDARD_RATES"]

STANDARD_RATES = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0)


def timecode_rate(fps: float | None) -> float:
    """The standard timecode rate nearest ``fps`` (25 when unknown)."""
    if not fps or fps <= 0:
        return 25.0
    return min(STANDARD_RATES, key=lambda r: abs(r - fps))


def _url(path: str | Path) -> str:
    return Path(path).resolve().as_uri()


def build_timeline(edit: Edit, video_path: str | Path, track_path: str | Path, *,
                   markers: Sequence[tuple[float, str]] = (), fps: float | None = None,
                   name: str | None = None, video_media_duration_s: float | None = None):
    """The mockup as an ``opentimelineio.schema.Timeline`` (V1 video, A1 music excerpts, markers).

    ``markers``: extra ``(video_time_s, name)`` pairs; ``fps``: frame rate (default: probed from the
    video); ``video_media_duration_s``: the video file's duration (default: probed).
    """
    import opentimelineio as otio
    from opentimelineio import opentime as ot

    video_path, track_path = Path(video_path), Path(track_path)
    if fps is None or video_media_duration_s is None:
        from ..media import probe

        info = probe(video_path)
        fps = info.fps if fps is None else fps
        video_media_duration_s = info.duration_s if video_media_duration_s is None else video_media_duration_s
    rate = timecode_rate(fps)

    def fr(t_s: float) -> int:
        return int(round(t_s * rate))

    def rt(frames: int):
        return ot.RationalTime(frames, rate)

    end = fr(edit.video_duration_s)
    tl = otio.schema.Timeline(name=name or f"{video_path.stem} x {track_path.stem}")
    tl.global_start_time = rt(0)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)

    vmedia = max(end, fr(video_media_duration_s or edit.video_duration_s))
    vclip = otio.schema.Clip(
        name=video_path.stem,
        media_reference=otio.schema.ExternalReference(target_url=_url(video_path),
                                                      available_range=ot.TimeRange(rt(0), rt(vmedia))),
        source_range=ot.TimeRange(rt(0), rt(end)))
    all_markers = []
    k_splice = k_sync = 0
    for t, kind, label in edit.markers():
        if kind == "splice":
            k_splice += 1
            all_markers.append((t, f"splice {k_splice}", label, otio.schema.MarkerColor.RED))
        else:
            k_sync += 1
            all_markers.append((t, f"sync {k_sync}", label, otio.schema.MarkerColor.GREEN))
    for t, label in markers:
        all_markers.append((float(t), str(label), str(label), otio.schema.MarkerColor.BLUE))
    for t, mname, label, color in sorted(all_markers, key=lambda m: (m[0], m[1])):
        f = min(max(fr(t), 0), end)
        vclip.markers.append(otio.schema.Marker(name=mname, marked_range=ot.TimeRange(rt(f), rt(0)), color=color,
                                                metadata={"supervisor_app": {"label": label, "time_s": t}}))
    v1.append(vclip)

    music_frames = fr(edit.music_duration_s)
    starts = [fr(e.video_start_s) for e in edit.excerpts] + [end]
    if edit.excerpts and starts[0] > 0:  # a button: the music enters after the picture starts
        a1.append(otio.schema.Gap(source_range=ot.TimeRange(rt(0), rt(starts[0]))))
    for k, e in enumerate(edit.excerpts):
        dur = starts[k + 1] - starts[k]
        if dur <= 0:
            continue  # shorter than a frame once rounded
        src = min(max(fr(e.music_in_s), 0), max(0, music_frames - dur))
        a1.append(otio.schema.Clip(
            name=f"{track_path.stem} {k + 1}",
            media_reference=otio.schema.ExternalReference(target_url=_url(track_path),
                                                          available_range=ot.TimeRange(rt(0), rt(music_frames))),
            source_range=ot.TimeRange(rt(src), rt(dur)),
            metadata={"supervisor_app": {"music_in_s": e.music_in_s, "music_out_s": e.music_out_s,
                                         "video_start_s": e.video_start_s, "video_end_s": e.video_end_s,
                                         "snap_offset_s": e.snap_offset_s, "reason": e.reason}}))
    tl.tracks.append(v1)
    tl.tracks.append(a1)
    tl.metadata["supervisor_app"] = {"edit": edit.to_dict(), "rate": rate}
    return tl


def export_otio(edit: Edit, video_path, track_path, out_path, markers: Sequence[tuple[float, str]] = (),
                fps: float | None = None) -> Path:
    """Write the mockup timeline as OpenTimelineIO JSON (``.otio``). Returns the path."""
    import opentimelineio as otio

    tl = build_timeline(edit, video_path, track_path, markers=markers, fps=fps)
    out_path = Path(out_path)
    atomic_write_text(out_path, otio.adapters.write_to_string(tl, "otio_json"))
    return out_path


def export_fcpxml(edit: Edit, video_path, track_path, out_path, markers: Sequence[tuple[float, str]] = (),
                  fps: float | None = None) -> Path:
    """Write the mockup timeline as Final Cut Pro 7 XML (Premiere, Resolve, Avid import it). Returns the path."""
    import opentimelineio as otio

    tl = build_timeline(edit, video_path, track_path, markers=markers, fps=fps)
    out_path = Path(out_path)
    atomic_write_text(out_path, otio.adapters.write_to_string(tl, "fcp_xml"))
    return out_path


def export_edl(edit: Edit, video_path, track_path, out_path, markers: Sequence[tuple[float, str]] = (),
               fps: float | None = None) -> Path:
    """Write the mockup as a CMX 3600 EDL (V events, then A events; markers as LOC comments). Returns the path."""
    from otio_cmx3600_adapter.cmx_3600 import EDLWriter

    tl = build_timeline(edit, video_path, track_path, markers=markers, fps=fps)
    rate = tl.metadata["supervisor_app"]["rate"]
    writer = EDLWriter(tracks=tl.tracks, rate=rate, style="avid")
    video_part = writer.get_content_for_track_at_index(0, title=tl.name)
    audio_part = writer.get_content_for_track_at_index(1, title=None)
    n_video = len(re.findall(r"^\d{3,}\s", video_part, flags=re.M))
    audio_part = re.sub(r"^(\d{3,})(?=\s)", lambda m: f"{int(m.group(1)) + n_video:03d}", audio_part, flags=re.M)
    out_path = Path(out_path)
    atomic_write_text(out_path, video_part + audio_part)
    return out_path


def read_timeline(path: str | Path, rate: float | None = None):
    """Read a timeline written by the exporters (``.otio``, ``.xml``, ``.edl``) back with OpenTimelineIO.

    ``rate``: the EDL's frame rate (EDLs do not store it; default 25)."""
    import opentimelineio as otio

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".edl":
        return otio.adapters.read_from_file(str(path), adapter_name="cmx_3600", rate=rate or 25.0)
    if suffix == ".xml":
        return otio.adapters.read_from_file(str(path), adapter_name="fcp_xml")
    return otio.adapters.read_from_file(str(path), adapter_name="otio_json")
