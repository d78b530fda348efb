"""The writer registry (``edit/writers.py``): one place that maps export formats and file suffixes to writers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from supervisor_app.edit.edl import build_edit
from supervisor_app.edit.writers import (
    PLAYLIST_FORMATS,
    TIMELINE_FORMATS,
    format_of,
    playlist_writer,
    timeline_adapter,
    timeline_writer,
    write_timeline,
)
from supervisor_app.infra.errors import UsageError

REPO = Path(__file__).resolve().parent.parent
BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
VIBE = REPO / "resources" / "demo" / "music" / "vibe_ace.ogg"


def test_format_of_reads_the_suffix_case_insensitively():
    assert format_of("a/b/cut.OTIO", TIMELINE_FORMATS) == "otio"
    assert format_of("cut.xml", TIMELINE_FORMATS) == format_of("cut.fcpxml", TIMELINE_FORMATS) == "fcpxml"
    assert format_of("cut.edl", TIMELINE_FORMATS) == "edl"
    assert format_of("cut.mp4", TIMELINE_FORMATS) is None and format_of("noext", TIMELINE_FORMATS) is None
    assert format_of("list.M3U", PLAYLIST_FORMATS) == format_of("list.m3u8", PLAYLIST_FORMATS) == "m3u8"
    assert [format_of(f"x.{s}", PLAYLIST_FORMATS) for s in ("csv", "xlsx", "json", "txt")] == ["csv", "xlsx", "json", None]


def test_every_format_has_a_writer_and_unknown_names_are_one_sentence():
    for name, f in TIMELINE_FORMATS.items():
        assert f.name == name and callable(timeline_writer(name)) and f.suffix == f.suffixes[0]
    for name in PLAYLIST_FORMATS:
        assert callable(playlist_writer(name))
    with pytest.raises(UsageError, match=r"Unknown playlist format 'mp3': choose one of m3u8, csv, xlsx, json\."):
        playlist_writer(".MP3")
    with pytest.raises(UsageError, match="Unknown timeline format 'aaf'"):
        timeline_writer("aaf")


def test_the_output_checks_accept_exactly_the_registry_suffixes():
    """``infra/outputs`` (below ``edit`` in the layers, so it cannot import the registry) checks output names
    before a command starts: its suffix lists must be the registry's."""
    from supervisor_app.infra import outputs

    for name, f in TIMELINE_FORMATS.items():
        assert set(outputs._OUTPUT_ARGS[name][0]) == set(f.suffixes), name
    assert set(outputs._OUT_BY_COMMAND["playlist"][0]) == {s for f in PLAYLIST_FORMATS.values() for s in f.suffixes}


def test_each_timeline_is_read_back_by_the_adapter_of_its_suffix(tmp_path):
    from supervisor_app.edit.export_timeline import read_timeline

    edit = build_edit(30.003, [2.5, 6.1, 9.0, 13.2, 17.8, 21.0, 25.4], 61.459, np.arange(0.05, 61.0, 1.845),
                      [15.0, 30.0, 45.0])
    for name, f in TIMELINE_FORMATS.items():
        out = write_timeline(name, edit, BBB, VIBE, tmp_path / f"cut{f.suffix}")
        assert out.exists() and timeline_adapter(out) == f.adapter
        tl = read_timeline(out, rate=24)  # the picture's rate (EDLs do not store it; BBB is 24 fps)
        clips = [c for tr in tl.tracks for c in tr.find_clips()]
        assert clips, name
        # the music's excerpts come back with the music file as their media
        assert any(str(c.media_reference.target_url).endswith("vibe_ace.ogg") for c in clips), name
