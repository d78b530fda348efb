"""Read an NLE timeline through OpenTimelineIO and find its music cues and the picture under them.

Formats (OpenTimelineIO adapters, chosen by the file's suffix):

========================  ===========  ==================================================================
format                    adapter      what is read
========================  ===========  ==================================================================
OpenTimelineIO ``.otio``  otio_json    everything, including speed changes (``LinearTimeWarp``)
CMX 3600 ``.edl``         cmx_3600     events and M2 speed changes; the frame rate must be given (EDLs
                                       do not store it: ``rate``, default 25)
FCP 7 XML ``.xml``        fcp_xml      clips and in/out points; speed changes are NOT read by the adapter
                                       (a warning is reported when the file has a time-remap filter)
FCP X ``.fcpxml``         fcpx_xml     clips and in/out points (otio-fcpx-xml-adapter); no speed changes
Kdenlive ``.kdenlive``    kdenlive     plain clips (otio-kdenlive-adapter, deprecated upstream); no speed
========================  ===========  ==================================================================

A *cue* is a maximal run of clips of one music file on one audio track, consecutive on the timeline
(gaps up to :data:`MAX_CUE_GAP_S` allowed): the music's own edits (several excerpts of the same track
cut together, each with its own source in point and speed) stay one cue. Music is told from dialogue,
sound effects and sync sound by the track name (``Music``, ``MX``, ``Score`` are music; ``Dialogue``,
``DX``, ``VO``, ``SFX``, ``FX``, ``Sync``, ``Amb`` are not) and otherwise by the media: an audio-only
file (by extension) that is not also used as picture is music.

Every span is kept in seconds from exact frame counts (OpenTimelineIO ``RationalTime``), so a pair's
music span equals the timeline's to the frame. Speed: OpenTimelineIO keeps a speed-changed clip's
timeline duration in ``source_range.duration`` and the speed in a ``LinearTimeWarp`` (media seconds
per timeline second), so a piece consumes ``duration * speed`` seconds of media from its in point.
"""
from __future__ import annotations

import re
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path

from supervisor_app.infra import errors

__all__ = ["Piece", "Cue", "TimelinePlan", "FORMATS", "adapter_for", "read_timeline_file", "plan_timeline",
           "MAX_CUE_GAP_S", "MIN_CUE_S"]

MAX_CUE_GAP_S = 1.0  # clips of the same music file this close on one track form one cue
MIN_CUE_S = 2.0  # shorter cues (stings, a single hit) are skipped and reported
MIN_PICTURE_COVERAGE = 0.8  # a cue needs picture under at least this share of its span

FORMATS = {".otio": "otio_json", ".edl": "cmx_3600", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml",
           ".kdenlive": "kdenlive"}
SPEED_READ = {"otio_json": True, "cmx_3600": True, "fcp_xml": False, "fcpx_xml": False, "kdenlive": False}

_MUSIC_NAME = re.compile(r"(music|\bmx\b|^mx|score|song|\bmus\b)", re.I)
_OTHER_NAME = re.compile(r"(dia|\bdx\b|^dx|\bvo\b|voice|sfx|\bfx\b|^fx|sync|\bamb|ambien|foley|nat\b|narrat)", re.I)


@dataclass(frozen=True)
class Piece:
    """A span of the timeline ``[record_start_s, record_end_s)`` playing ``media`` from ``source_in_s``
    at ``speed`` media seconds per timeline second."""

    record_start_s: float
    record_end_s: float
    source_in_s: float
    speed: float = 1.0
    media: str = ""  # the reference as the timeline names it (resolved to a file later)

    @property
    def duration_s(self) -> float:
        return self.record_end_s - self.record_start_s

    @property
    def source_out_s(self) -> float:
        return self.source_in_s + self.duration_s * self.speed

    def source_time(self, record_s: float) -> float:
        return self.source_in_s + (record_s - self.record_start_s) * self.speed

    def clipped(self, start_s: float, end_s: float) -> "Piece | None":
        a, b = max(start_s, self.record_start_s), min(end_s, self.record_end_s)
        if b <= a:
            return None
        return Piece(a, b, self.source_time(a), self.speed, self.media)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Cue:
    """One music cue of a timeline and the picture under it (record times on the timeline)."""

    track_name: str
    music_media: str
    music: list[Piece]
    picture: list[Piece]
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class TimelinePlan:
    """What a timeline holds: its cues, what was skipped and why, and warnings."""

    name: str
    adapter: str
    rate: float
    duration_s: float
    cues: list[Cue] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def adapter_for(path: str | Path) -> str:
    """The OpenTimelineIO adapter for a timeline file (by suffix); UsageError for other files."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise errors.UsageError(f"{Path(path).name!r} is not a timeline this app reads: use "
                                f"{', '.join(sorted(FORMATS))} (OpenTimelineIO, CMX 3600 EDL, FCP 7 XML, FCP X XML, "
                                "Kdenlive).")
    return FORMATS[suffix]


def read_timeline_file(path: str | Path, rate: float | None = None):
    """``(timeline, adapter, warnings)`` read with OpenTimelineIO; typed errors for missing/unreadable files."""
    import warnings as _warnings

    import opentimelineio as otio

    path = Path(path)
    adapter = adapter_for(path)
    if not path.is_file():
        raise errors.FileMissingError(path)
    notes = []
    kwargs = {"rate": float(rate or 25.0)} if adapter == "cmx_3600" else {}
    if adapter == "cmx_3600" and rate is None:
        notes.append("EDLs do not store their frame rate: read at 25 fps (pass --fps to change it).")
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()):  # the kdenlive adapter prints a banner
                tl = otio.adapters.read_from_file(str(path), adapter_name=adapter, **kwargs)
    except Exception as e:  # adapters raise many types (parse errors, KeyError, ValueError, ...)
        raise errors.UsageError(f"The timeline {path.name!r} cannot be read as {adapter} "
                                f"({type(e).__name__}: {str(e)[:200]}).") from None
    if not isinstance(tl, otio.schema.Timeline):
        if isinstance(tl, otio.schema.SerializableCollection) and len(tl) > 0:
            first = next((t for t in tl if isinstance(t, otio.schema.Timeline)), None)
            if first is None:
                raise errors.UsageError(f"The file {path.name!r} holds no timeline.")
            if len(tl) > 1:
                notes.append(f"The file holds {len(tl)} sequences: only the first ({first.name!r}) was read.")
            tl = first
        else:
            raise errors.UsageError(f"The file {path.name!r} holds no timeline.")
    if adapter in ("fcp_xml", "fcpx_xml", "kdenlive"):
        try:
            raw = path.read_text(encoding="utf-8", errors="replace").lower()
        except OSError:
            raw = ""
        if any(k in raw for k in ("timeremap", "time remap", "<timemap", "speed")):
            notes.append(f"This {adapter} file has speed changes, which its OpenTimelineIO adapter does not read: "
                         "speed-changed clips are taken at normal speed (export the project as .otio or an EDL to "
                         "keep them).")
    return tl, adapter, notes


def _media_key(clip) -> str | None:
    import opentimelineio as otio

    ref = clip.media_reference
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        return ref.target_url
    if isinstance(ref, otio.schema.ImageSequenceReference):
        return None
    return None


def url_to_path(url: str, base_dir: Path | None = None) -> Path:
    """A file path from a timeline's media reference (``file://`` URL, absolute or relative path)."""
    u = str(url).strip()
    if u.lower().startswith("file:"):
        parsed = urllib.parse.urlparse(u)
        p = urllib.parse.unquote(parsed.path)
        if parsed.netloc and parsed.netloc not in ("", "localhost"):
            p = f"//{parsed.netloc}{p}"
        if re.match(r"^/[A-Za-z]:/", p):  # file:///C:/...
            p = p[1:]
        return Path(p)
    p = Path(urllib.parse.unquote(u)) if "%" in u else Path(u)
    if re.match(r"^[A-Za-z]:[\\/]", u) or u.startswith("\\\\"):
        return p  # a Windows path from the editor's machine: found by name, never joined to the project folder
    if not p.is_absolute() and base_dir is not None:
        return base_dir / p
    return p


def _speed_of(clip) -> float | None:
    """Media seconds per timeline second (1.0 without a time effect); None for unsupported effects."""
    import opentimelineio as otio

    speed = 1.0
    for fx in clip.effects:
        if isinstance(fx, otio.schema.FreezeFrame):
            return None
        if isinstance(fx, otio.schema.LinearTimeWarp):
            speed *= float(fx.time_scalar)
    return speed


def _track_pieces(track, plan: TimelinePlan) -> list[Piece]:
    """Clips of a track as pieces (record times relative to the timeline start)."""
    import opentimelineio as otio

    out = []
    # a track's own trim shifts its content in the timeline (the EDL reader starts a track at its first
    # event's record time this way): parent time = track time - source_range.start_time
    shift = -track.source_range.start_time.to_seconds() if track.source_range is not None else 0.0
    for i, item in enumerate(track):
        if not isinstance(item, otio.schema.Clip):
            if isinstance(item, (otio.schema.Stack, otio.schema.Track)):
                plan.warnings.append(f"Track {track.name or '?'}: a nested sequence ({item.name or 'unnamed'}) was "
                                     "not read (flatten nested sequences before exporting).")
            continue
        if not item.enabled:
            continue
        key = _media_key(item)
        if key is None:
            continue
        rr = track.range_of_child_at_index(i)
        start = rr.start_time.to_seconds() + shift
        end = (rr.start_time + rr.duration).to_seconds() + shift
        if end <= start:
            continue
        speed = _speed_of(item)
        if speed is None or speed <= 0:
            plan.skipped.append(f"{track.name or 'track'}: {item.name or key} at {start:.2f} s is a freeze frame or "
                                "reversed clip (not used)")
            continue
        src_in = item.trimmed_range().start_time.to_seconds()
        out.append(Piece(start, end, src_in, speed, key))
    return out


def _paint(layers: list[list[Piece]]) -> list[Piece]:
    """Top-most piece at every time: ``layers`` bottom to top → non-overlapping pieces in time order."""
    bounds = sorted({t for layer in layers for p in layer for t in (p.record_start_s, p.record_end_s)})
    out: list[Piece] = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        mid = 0.5 * (a + b)
        top = None
        for layer in layers:
            for p in layer:
                if p.record_start_s <= mid < p.record_end_s:
                    top = p
        if top is None:
            continue
        seg = top.clipped(a, b)
        if out and out[-1].media == seg.media and abs(out[-1].record_end_s - a) < 1e-9 and \
                abs(out[-1].source_out_s - seg.source_in_s) < 1e-6 and out[-1].speed == seg.speed:
            prev = out[-1]
            out[-1] = Piece(prev.record_start_s, b, prev.source_in_s, prev.speed, prev.media)
        else:
            out.append(seg)
    return out


def _is_audio_file(key: str) -> bool:
    from supervisor_app.media import AUDIO_EXTENSIONS

    return Path(urllib.parse.urlparse(key).path if "://" in key else key).suffix.lower() in AUDIO_EXTENSIONS


def plan_timeline(timeline, adapter: str = "otio_json", music_tracks: tuple[str, ...] = ()) -> TimelinePlan:
    """The cues of an OpenTimelineIO timeline with the picture under each.

    ``music_tracks``: names of the audio tracks that carry music (default: decided per track, see the
    module docstring).
    """
    import opentimelineio as otio

    rate = 25.0
    try:
        rate = float(timeline.duration().rate) or 25.0
    except Exception:
        pass
    dur = 0.0
    try:
        dur = float(timeline.duration().to_seconds())
    except Exception:
        pass
    plan = TimelinePlan(timeline.name or "", adapter, rate, dur)
    video_layers, audio_tracks = [], []
    for k, tr in enumerate(timeline.tracks):
        if not isinstance(tr, otio.schema.Track):
            continue
        pieces = _track_pieces(tr, plan)
        if tr.kind == otio.schema.TrackKind.Video:
            video_layers.append(pieces)
        elif tr.kind == otio.schema.TrackKind.Audio:
            audio_tracks.append((tr.name or f"A{len(audio_tracks) + 1}", pieces))
    picture = _paint(video_layers)
    picture_media = {p.media for p in picture}
    wanted = {n.lower() for n in music_tracks}
    for name, pieces in audio_tracks:
        if wanted:
            is_music_track = name.lower() in wanted
            if not is_music_track:
                continue
            music = pieces
        elif _MUSIC_NAME.search(name):
            music = pieces
        elif _OTHER_NAME.search(name):
            continue
        else:
            music = [p for p in pieces if _is_audio_file(p.media) and p.media not in picture_media]
        for cue_pieces in _group_cues(music):
            _add_cue(plan, name, cue_pieces, picture)
    if not plan.cues and not plan.skipped:
        plan.warnings.append("No music found: no audio track is named like music (Music, MX, Score) and no audio-only "
                             "file is on an audio track (use --music-track NAME).")
    return plan


def _group_cues(pieces: list[Piece]) -> list[list[Piece]]:
    pieces = sorted(pieces, key=lambda p: p.record_start_s)
    groups: list[list[Piece]] = []
    for p in pieces:
        if groups and groups[-1][-1].media == p.media and p.record_start_s - groups[-1][-1].record_end_s <= MAX_CUE_GAP_S:
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


def _add_cue(plan: TimelinePlan, track_name: str, music: list[Piece], picture: list[Piece]) -> None:
    start, end = music[0].record_start_s, music[-1].record_end_s
    label = f"{track_name}: {Path(urllib.parse.unquote(music[0].media)).name} at {start:.2f}-{end:.2f} s"
    if end - start < MIN_CUE_S:
        plan.skipped.append(f"{label}: shorter than {MIN_CUE_S:g} s")
        return
    pic = [q for q in (p.clipped(start, end) for p in picture) if q is not None]
    covered = sum(p.duration_s for p in pic)
    if covered < MIN_PICTURE_COVERAGE * (end - start):
        plan.skipped.append(f"{label}: picture under only {100 * covered / (end - start):.0f} % of it")
        return
    plan.cues.append(Cue(track_name, music[0].media, music, pic, start, end))
