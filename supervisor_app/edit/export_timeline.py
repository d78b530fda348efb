"""Editorial timelines of a mockup through OpenTimelineIO: ``.otio``, FCP 7 XML, CMX 3600 EDL.

The timeline has the video on V1 (one clip, the whole picture), the picture's own sound (production
audio: dialogue, effects) on A1 when the video has an audio track (one clip, the same range of the
same file as V1), and the music excerpts on A2, end to end, each clip's source range being the
excerpt's music in/out (on A1 when the video has no audio track). Both audio tracks are stereo
clips of their files; in the CMX 3600 EDL the production sound is channel A (A1) and the music
channel A2, so an editor opening the edit gets both and mixes them as the rendered mockup does. Markers sit on the V1 clip (so every
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

from supervisor_app.infra.fileio import atomic_write_text
from supervisor_app.edit.edl import Edit
from supervisor_app.edit.timecode import STANDARD_RATES, timecode_rate

__all__ = ["build_timeline", "export_otio", "export_fcpxml", "export_edl", "read_timeline", "timecode_rate",
           "STANDARD_RATES"]


def _url(path: str | Path) -> str:
    return Path(path).resolve().as_uri()


def build_timeline(edit: Edit, video_path: str | Path, track_path: str | Path, *,
                   markers: Sequence[tuple[float, str]] = (), fps: float | None = None,
                   name: str | None = None, video_media_duration_s: float | None = None,
                   production_audio: bool | None = None):
    """The mockup as an ``opentimelineio.schema.Timeline``: V1 video, A1 production sound (when the
    video has audio), A2 music excerpts (A1 without production sound), markers on V1.

    ``markers``: extra ``(video_time_s, name)`` pairs; ``fps``: frame rate (default: probed from the
    video); ``video_media_duration_s``: the video file's duration (default: probed);
    ``production_audio``: put the video's own sound on A1 (default: when the video has an audio track).
    """
    import opentimelineio as otio
    from opentimelineio import opentime as ot

    video_path, track_path = Path(video_path), Path(track_path)
    if fps is None or video_media_duration_s is None or production_audio is None:
        from supervisor_app.media import probe

        info = probe(video_path)
        fps = info.fps if fps is None else fps
        video_media_duration_s = info.duration_s if video_media_duration_s is None else video_media_duration_s
        production_audio = info.has_audio if production_audio is None else production_audio
    rate = timecode_rate(fps)

    def fr(t_s: float) -> int:
        return int(round(t_s * rate))

    def rt(frames: int):
        return ot.RationalTime(frames, rate)

    end = fr(edit.video_duration_s)
    tl = otio.schema.Timeline(name=name or f"{video_path.stem} x {track_path.stem}")
    tl.global_start_time = rt(0)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    prod = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio) if production_audio else None
    a1 = otio.schema.Track(name="A2" if production_audio else "A1", kind=otio.schema.TrackKind.Audio)
    a1.metadata["supervisor_app"] = {"role": "music"}

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
    if prod is not None:
        prod.metadata["supervisor_app"] = {"role": "production sound"}
        prod.append(otio.schema.Clip(
            name=f"{video_path.stem} (production sound)",
            media_reference=otio.schema.ExternalReference(target_url=_url(video_path),
                                                          available_range=ot.TimeRange(rt(0), rt(vmedia))),
            source_range=ot.TimeRange(rt(0), rt(end)),
            metadata={"supervisor_app": {"role": "production sound"}}))

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
    if prod is not None:
        tl.tracks.append(prod)
    tl.tracks.append(a1)
    tl.metadata["supervisor_app"] = {"edit": edit.to_dict(), "rate": rate, "production_audio": bool(prod is not None)}
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
    text = _with_channel_counts(otio.adapters.write_to_string(tl, "fcp_xml"), (video_path, track_path))
    atomic_write_text(out_path, text)
    return out_path


def _with_channel_counts(xml_text: str, paths) -> str:
    """Write each file's audio channel count into its ``<media><audio>`` (the adapter leaves it empty), so
    that NLEs import a stereo file as a stereo pair. Files that cannot be probed are left as they are."""
    import xml.etree.ElementTree as ET

    from supervisor_app.infra.errors import SupervisorError
    from supervisor_app.media import probe

    counts = {}
    for p in paths:
        try:
            info = probe(p)
        except SupervisorError:
            continue
        if info.has_audio and info.channels:
            counts[_url(p)] = (int(info.channels), int(info.sample_rate or 48000))
    if not counts:
        return xml_text
    root = ET.fromstring(xml_text)
    for f in root.iter("file"):
        url = f.findtext("pathurl")
        audio = f.find("./media/audio")
        if url not in counts or audio is None or len(audio):
            continue
        ch, sr = counts[url]
        sc = ET.SubElement(audio, "samplecharacteristics")
        ET.SubElement(sc, "depth").text = "16"
        ET.SubElement(sc, "samplerate").text = str(sr)
        ET.SubElement(audio, "channelcount").text = str(ch)
    head = xml_text[:xml_text.index("<xmeml")] if "<xmeml" in xml_text else '<?xml version="1.0" ?>\n'
    return head + ET.tostring(root, encoding="unicode") + "\n"


def export_edl(edit: Edit, video_path, track_path, out_path, markers: Sequence[tuple[float, str]] = (),
               fps: float | None = None) -> Path:
    """Write the mockup as a CMX 3600 EDL (V events, then the production sound's A events, then the music's
    A2 events; markers as LOC comments). Returns the path."""
    from otio_cmx3600_adapter.cmx_3600 import EDLWriter

    tl = build_timeline(edit, video_path, track_path, markers=markers, fps=fps)
    rate = tl.metadata["supervisor_app"]["rate"]
    writer = EDLWriter(tracks=tl.tracks, rate=rate, style="avid")
    text = writer.get_content_for_track_at_index(0, title=tl.name)
    for k in range(1, len(tl.tracks)):
        part = writer.get_content_for_track_at_index(k, title=None)
        if tl.tracks[k].name == "A2":  # the writer calls every audio channel "A" (A1)
            part = re.sub(r"^(\d{3,}\s+\S+\s+)A     ", r"\1A2    ", part, flags=re.M)
        n_before = len(re.findall(r"^\d{3,}\s", text, flags=re.M))
        part = re.sub(r"^(\d{3,})(?=\s)", lambda m: f"{int(m.group(1)) + n_before:03d}", part, flags=re.M)
        text += part
    out_path = Path(out_path)
    atomic_write_text(out_path, text)
    return out_path


def read_timeline(path: str | Path, rate: float | None = None):
    """Read a timeline written by the exporters (``.otio``, ``.xml``, ``.edl``) back with OpenTimelineIO.

    ``rate``: the EDL's frame rate (EDLs do not store it; default 25)."""
    import opentimelineio as otio

    from supervisor_app.edit.writers import timeline_adapter

    path = Path(path)
    adapter = timeline_adapter(path)
    if adapter == "cmx_3600":
        return otio.adapters.read_from_file(str(path), adapter_name=adapter, rate=rate or 25.0)
    return otio.adapters.read_from_file(str(path), adapter_name=adapter)
