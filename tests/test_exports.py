"""Exports: OTIO / FCP 7 XML / CMX 3600 EDL re-read to the same clips and markers; M3U8 / CSV / JSON."""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest

from supervisor_app.edit.edl import Edit, build_edit
from supervisor_app.edit.export_timeline import (
    build_timeline,
    export_edl,
    export_fcpxml,
    export_otio,
    read_timeline,
    timecode_rate,
)
from supervisor_app.edit.playlist_export import (
    CSV_COLUMNS,
    PlaylistRow,
    as_entry,
    export_csv,
    export_json,
    export_m3u8,
    read_json,
)

REPO = Path(__file__).resolve().parent.parent
BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
MUSIC = REPO / "resources" / "demo" / "music"
VIBE = MUSIC / "vibe_ace.ogg"
DOWNBEATS = np.arange(0.05, 61.0, 1.845)


def _edit(sync=(20.0,)):
    return build_edit(30.003, [2.5, 6.1, 9.0, 13.2, 17.8, 21.0, 25.4], 61.459, DOWNBEATS, [15.0, 30.0, 45.0],
                      path=[(0, 0), (0, 1), (1, 2), (1, 3), (2, 4), (3, 5), (3, 6), (3, 7)], sync_points_s=sync)


def _summary(tl):
    """Per track ("<index> <kind>"): [(source start frame, duration frames, record start frame, media url)],
    and the markers [(NAME, frame)], as frame numbers at the timeline's rate."""
    out = {}
    for i, tr in enumerate(tl.tracks):
        clips = []
        for c in tr.find_clips():
            rate = c.source_range.start_time.rate
            rec = tr.range_of_child(c).start_time
            clips.append((round(c.source_range.start_time.value),
                          round(c.source_range.duration.rescaled_to(rate).value),
                          round(rec.rescaled_to(rate).value), c.media_reference.target_url))
        out[f"{i} {tr.kind}"] = clips
    markers = sorted((m.name.upper(), round(m.marked_range.start_time.value))
                     for tr in tl.tracks for c in tr.find_clips() for m in c.markers)
    return out, markers


@pytest.fixture(scope="module")
def edit():
    return _edit()


def test_timeline_structure(edit):
    tl = build_timeline(edit, BBB, VIBE, fps=24.0, video_media_duration_s=30.003)
    clips, markers = _summary(tl)
    # V1 picture, A1 the picture's own sound (BBB has an audio track), A2 the music
    assert [(t.name, str(t.kind)) for t in tl.tracks] == [("V1", "Video"), ("A1", "Audio"), ("A2", "Audio")]
    assert len(clips["0 Video"]) == 1 and clips["0 Video"][0][:3] == (0, 720, 0)
    assert clips["1 Audio"] == [(0, 720, 0, BBB.resolve().as_uri())]  # the production sound, in sync with V1
    audio = clips["2 Audio"]
    assert len(audio) == len(edit.excerpts)
    assert sum(c[1] for c in audio) == 720  # A1 ends on V1's last frame
    for (src, dur, rec, url), e in zip(audio, edit.excerpts):
        assert src == round(e.music_in_s * 24) and rec == round(e.video_start_s * 24)
        assert url == VIBE.resolve().as_uri()
    n_splices = len(edit.excerpts) - 1
    assert sum(m[0].startswith("SPLICE") for m in markers) == n_splices
    assert ("SYNC 1", 480) in markers


def test_without_production_sound_the_music_is_on_a1(edit):
    tl = build_timeline(edit, BBB, VIBE, fps=24.0, video_media_duration_s=30.003, production_audio=False)
    assert [(t.name, str(t.kind)) for t in tl.tracks] == [("V1", "Video"), ("A1", "Audio")]
    clips, _ = _summary(tl)
    assert len(clips["1 Audio"]) == len(edit.excerpts)
    assert {c[3] for c in clips["1 Audio"]} == {VIBE.resolve().as_uri()}


def test_edl_and_fcpxml_channels(edit, tmp_path):
    """EDL: the production sound on channel A (A1), the music on A2; FCP XML: files state their channel
    count (BBB and Vibe Ace are stereo), so an NLE imports each as a stereo pair."""
    import xml.etree.ElementTree as ET

    text = export_edl(edit, BBB, VIBE, tmp_path / "m.edl", fps=24.0).read_text()
    events = [ln.split() for ln in text.splitlines() if ln[:3].isdigit()]
    assert [e[2] for e in events] == ["V", "A"] + ["A2"] * len(edit.excerpts)
    assert events[1][1] == events[0][1]  # A1 plays the picture's own reel
    back = read_timeline(tmp_path / "m.edl", rate=24)
    assert [t.name for t in back.tracks] == ["V", "A1", "A2"]
    assert [c.media_reference.target_url for c in back.tracks[1].find_clips()] == [BBB.resolve().as_uri()]
    assert {c.media_reference.target_url for c in back.tracks[2].find_clips()} == {VIBE.resolve().as_uri()}
    root = ET.parse(export_fcpxml(edit, BBB, VIBE, tmp_path / "m.xml", fps=24.0)).getroot()
    counts = {f.findtext("name"): f.findtext("./media/audio/channelcount") for f in root.iter("file") if f.find("name") is not None}
    assert counts == {BBB.name: "2", VIBE.name: "2"}


@pytest.mark.parametrize("exporter, suffix", [(export_otio, ".otio"), (export_fcpxml, ".xml"), (export_edl, ".edl")])
@pytest.mark.parametrize("fps", [24.0, 25.0])
def test_each_export_reads_back_to_the_same_clips_and_markers(edit, tmp_path, exporter, suffix, fps):
    ref = build_timeline(edit, BBB, VIBE, fps=fps)
    out = exporter(edit, BBB, VIBE, tmp_path / f"mockup{suffix}", fps=fps)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"mockup{suffix}"]  # atomic: nothing else left
    back = read_timeline(out, rate=fps)
    assert _summary(back) == _summary(ref)


def test_extra_markers_and_rates(edit, tmp_path):
    out = export_otio(edit, BBB, VIBE, tmp_path / "m.otio", markers=[(27.5, "pack shot")], fps=24.0)
    _, markers = _summary(read_timeline(out))
    assert ("PACK SHOT", 660) in markers
    assert timecode_rate(23.98) == pytest.approx(24000 / 1001)
    assert timecode_rate(29.97) == pytest.approx(30000 / 1001)
    assert timecode_rate(None) == 25.0


def test_probed_rate_is_used(edit, tmp_path):
    out = export_edl(edit, BBB, VIBE, tmp_path / "m.edl")  # BBB is 24 fps: 30 s = 720 frames
    text = out.read_text()
    assert "00:00:30:00" in text and " V " in text and " A " in text
    assert " A2 " in text  # the music
    clips, _ = _summary(read_timeline(out, rate=24))
    assert clips["0 Video"][0][1] == 720


# --- playlists ---------------------------------------------------------------------------------------
def _entries(edit):
    return [
        PlaylistRow(rank=1, path=str(VIBE), title="Vibe Ace", artist="Kevin MacLeod", track_id=7, duration_s=61.46,
                      score=0.83, sync_score=2.4, reasons=["music segment 2 matched shot 4", "tempo 130 bpm"],
                      edit=edit),
        {"rank": 2, "path": str(MUSIC / "hungarian_dance_5.ogg"), "title": "Hungarian Dance No. 5", "artist": "Brahms",
         "score": 0.71, "sync_score": None, "reason": "centroid"},
        PlaylistRow(rank=3, path=str(MUSIC / "sugar_plum_fairy.ogg"), duration_s=120.0, score=float("nan")),
    ]


def test_m3u8_content(edit, tmp_path):
    out = export_m3u8(_entries(edit), tmp_path / "list.m3u8")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[1] == "#EXTINF:61,Kevin MacLeod - Vibe Ace"
    assert lines[2] == str(VIBE.resolve())
    assert lines[3] == "#EXTINF:-1,Brahms - Hungarian Dance No. 5"
    assert lines[5] == "#EXTINF:120,sugar_plum_fairy"  # no title: the file name


def test_m3u8_opens_in_vlc_headless(edit, tmp_path):
    vlc = pytest.importorskip("vlc")
    out = export_m3u8(_entries(edit), tmp_path / "list.m3u8")
    inst = vlc.Instance(["--vout=dummy", "--aout=dummy", "--no-video-title-show", "--quiet"])
    assert inst is not None, "libvlc is not installed"
    media = inst.media_new_path(str(out))
    media.parse_with_options(vlc.MediaParseFlag.local, 10000)
    t0 = time.monotonic()
    while media.get_parsed_status() not in (vlc.MediaParsedStatus.done, vlc.MediaParsedStatus.failed,
                                            vlc.MediaParsedStatus.timeout) and time.monotonic() - t0 < 15:
        time.sleep(0.05)
    assert media.get_parsed_status() == vlc.MediaParsedStatus.done
    subs = media.subitems()
    mrls = [subs.item_at_index(i).get_mrl() for i in range(subs.count())]
    assert mrls == [VIBE.resolve().as_uri(), (MUSIC / "hungarian_dance_5.ogg").resolve().as_uri(),
                    (MUSIC / "sugar_plum_fairy.ogg").resolve().as_uri()]
    assert subs.item_at_index(0).get_meta(vlc.Meta.Title) == "Vibe Ace"
    # and it plays
    mlp = inst.media_list_player_new()
    ml = inst.media_list_new()
    ml.add_media(media)
    mlp.set_media_list(ml)
    mlp.play()
    player = mlp.get_media_player()
    t0 = time.monotonic()
    while player.get_time() < 200 and time.monotonic() - t0 < 15:
        time.sleep(0.05)
    played_ms = player.get_time()
    playing_mrl = player.get_media().get_mrl() if player.get_media() else None
    mlp.stop()
    assert playing_mrl == VIBE.resolve().as_uri()  # the playlist's first entry
    assert played_ms >= 200


def test_csv_round_trip(edit, tmp_path):
    out = export_csv(_entries(edit), tmp_path / "list.csv")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == CSV_COLUMNS and len(rows) == 3
    assert rows[0]["title"] == "Vibe Ace" and float(rows[0]["sync_score"]) == 2.4
    assert rows[0]["reasons"] == "music segment 2 matched shot 4 | tempo 130 bpm"
    assert Edit.from_dict(json.loads(rows[0]["edit"])) == edit
    assert int(rows[0]["n_excerpts"]) == len(edit.excerpts)
    assert rows[1]["reasons"] == "centroid" and rows[1]["sync_score"] == "" and rows[1]["edit"] == ""
    assert rows[2]["score"] == ""  # NaN is written as empty


def test_json_round_trip(edit, tmp_path):
    out = export_json(_entries(edit), tmp_path / "list.json", query=str(BBB))
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["version"] == 1 and doc["query"] == str(BBB) and len(doc["entries"]) == 3
    back = read_json(out)
    assert back[0].edit == edit and back[0].reasons == ["music segment 2 matched shot 4", "tempo 130 bpm"]
    assert back[1].title == "Hungarian Dance No. 5" and back[1].edit is None
    assert back[2].score is None


def test_result_like_objects_are_accepted():
    class Result:  # a RecommendationResult-like object
        rank, path, title, artist, score, sync_score = 4, str(VIBE), "Vibe Ace", "K", 0.5, 1.0

    e = as_entry(Result())
    assert e.rank == 4 and e.display_name() == "K - Vibe Ace" and e.reasons == []
    with pytest.raises(ValueError):
        as_entry({"title": "no path"})
