"""Past projects generated at test time: pictures cut from Big Buck Bunny (looped to 2.5 minutes, tiny
resolution), the fixtures' music, and NLE timelines built with the OpenTimelineIO API and written
through each adapter (OTIO JSON, FCP 7 XML, FCP X XML, Kdenlive, CMX 3600 EDL)."""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from fixture_paths import BBB, MUSIC

RATE = 25.0


def ffmpeg(*args) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *map(str, args)], check=True)


def long_picture(out: Path, duration_s: float = 150.0, size: str = "160:90", fps: int = 5) -> Path:
    """Big Buck Bunny's 30 s looped to ``duration_s`` (picture and its own sound), small and low-rate."""
    if not out.exists():
        ffmpeg("-stream_loop", "-1", "-i", BBB, "-t", duration_s, "-vf", f"scale={size},fps={fps}",
               "-c:v", "libx264", "-preset", "ultrafast", "-crf", "35", "-c:a", "aac", "-b:a", "48k", out)
    return out


def picture_variant(src: Path, out: Path, start_s: float, duration_s: float, hue: float = 0.0) -> Path:
    """A distinct picture (another commercial): a span of ``src`` with a hue shift (new content hash)."""
    if not out.exists():
        ffmpeg("-ss", start_s, "-t", duration_s, "-i", src, "-vf", f"hue=h={hue}", "-c:v", "libx264",
               "-preset", "ultrafast", "-crf", "35", "-c:a", "aac", "-b:a", "48k", out)
    return out


def rt(seconds: float):
    from opentimelineio import opentime as ot

    return ot.RationalTime(round(seconds * RATE), RATE)


def frames(seconds: float) -> int:
    return int(round(seconds * RATE))


@dataclass
class MusicPiece:
    """Expected music: timeline start, duration, source in (all s), speed, file."""

    record_start_s: float
    duration_s: float
    source_in_s: float
    media: Path
    speed: float = 1.0


@dataclass
class ProjectSpec:
    """A project to write: picture clips (record start, duration, source in, file) and music pieces."""

    name: str
    picture: list = field(default_factory=list)  # (record_start_s, duration_s, source_in_s, path)
    music: list = field(default_factory=list)  # MusicPiece
    dialogue: list = field(default_factory=list)  # (record_start_s, duration_s, source_in_s, path) on a sync track
    media_url: dict = field(default_factory=dict)  # path -> URL to write instead of the real path (moved media)

    def cues(self, gap_s: float = 1.0) -> list[list[MusicPiece]]:
        out: list[list[MusicPiece]] = []
        for p in sorted(self.music, key=lambda p: p.record_start_s):
            if out and out[-1][-1].media == p.media and \
                    p.record_start_s - (out[-1][-1].record_start_s + out[-1][-1].duration_s) <= gap_s:
                out[-1].append(p)
            else:
                out.append([p])
        return out


def _url(spec: ProjectSpec, path: Path) -> str:
    return spec.media_url.get(Path(path), Path(path).resolve().as_uri())


def _clip(spec, name, path, src_in, dur, media_dur=600.0, speed=1.0):
    import opentimelineio as otio
    from opentimelineio import opentime as ot

    c = otio.schema.Clip(name=name, media_reference=otio.schema.ExternalReference(
        target_url=_url(spec, path), available_range=ot.TimeRange(rt(0), rt(media_dur))),
        source_range=ot.TimeRange(rt(src_in), rt(dur)))
    if speed != 1.0:
        c.effects.append(otio.schema.LinearTimeWarp(time_scalar=speed))
    return c


def _fill(track, items):
    """Append (record_start_s, clip) in order with gaps between them."""
    import opentimelineio as otio
    from opentimelineio import opentime as ot

    t = 0
    for start, clip in sorted(items, key=lambda x: x[0]):
        f = frames(start)
        if f > t:
            track.append(otio.schema.Gap(source_range=ot.TimeRange(ot.RationalTime(0, RATE), ot.RationalTime(f - t, RATE))))
        track.append(clip)
        t = f + int(clip.source_range.duration.value)


def build_timeline(spec: ProjectSpec, music_track_name: str = "Music"):
    import opentimelineio as otio

    tl = otio.schema.Timeline(name=spec.name)
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    _fill(v1, [(s, _clip(spec, Path(p).stem, p, i, d)) for s, d, i, p in spec.picture])
    tl.tracks.append(v1)
    if spec.dialogue:
        a1 = otio.schema.Track(name="Dialogue", kind=otio.schema.TrackKind.Audio)
        _fill(a1, [(s, _clip(spec, Path(p).stem, p, i, d)) for s, d, i, p in spec.dialogue])
        tl.tracks.append(a1)
    a2 = otio.schema.Track(name=music_track_name, kind=otio.schema.TrackKind.Audio)
    _fill(a2, [(m.record_start_s, _clip(spec, m.media.stem, m.media, m.source_in_s, m.duration_s, speed=m.speed))
               for m in spec.music])
    tl.tracks.append(a2)
    return tl


def write_project(spec: ProjectSpec, out: Path, adapter: str) -> Path:
    """Write the project through an OpenTimelineIO adapter (``cmx_3600``: one EDL, tracks numbered on)."""
    import contextlib
    import io

    import opentimelineio as otio

    tl = build_timeline(spec)
    if adapter == "cmx_3600":
        from otio_cmx3600_adapter.cmx_3600 import EDLWriter

        w = EDLWriter(tracks=tl.tracks, rate=RATE, style="avid")
        parts, n = [], 0
        for i in range(len(tl.tracks)):
            text = w.get_content_for_track_at_index(i, title=tl.name if i == 0 else None)
            text = re.sub(r"^(\d{3,})(?=\s)", lambda m: f"{int(m.group(1)) + n:03d}", text, flags=re.M)
            n_audio = sum(1 for t in list(tl.tracks)[:i + 1] if t.kind == otio.schema.TrackKind.Audio)
            if n_audio > 1:  # the writer names every audio channel "A": later audio tracks are A2, A3, ...
                text = re.sub(r"^(\d{3,}\s+\S+\s+)A(\s)", lambda m: f"{m.group(1)}A{n_audio}{m.group(2)[1:]}",
                              text, flags=re.M)
            n += len(re.findall(r"^\d{3,}\s", text, flags=re.M))
            parts.append(text)
        out.write_text("".join(parts))
        return out
    with contextlib.redirect_stdout(io.StringIO()):
        out.write_text(otio.adapters.write_to_string(tl, adapter))
    return out


def standard_spec(name: str, picture: Path, music_dir: Path = MUSIC, offset_s: float = 0.0,
                  speed: float = 1.5) -> ProjectSpec:
    """A 2-minute spot: two picture clips, a dialogue track of the picture's own sound, and on the music
    track two cues: vibe_ace cut in two excerpts (the second speed-changed) and sugar_plum_fairy
    trimmed, plus a 1 s sting (skipped)."""
    vibe, sugar = music_dir / "vibe_ace.ogg", music_dir / "sugar_plum_fairy.ogg"
    return ProjectSpec(
        name,
        picture=[(0.0, 70.0, 10.0 + offset_s, picture), (70.0, 50.0, 90.0, picture)],
        dialogue=[(0.0, 120.0, 0.0, picture)],
        music=[MusicPiece(2.0, 20.0, 12.4, vibe), MusicPiece(22.0, 12.0, 40.0, vibe, speed),
               MusicPiece(40.0, 60.0, 30.2, sugar), MusicPiece(110.0, 1.0, 5.0, sugar)],
    )
