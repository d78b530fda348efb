"""Playlist exports a supervisor sends: CSV/XLSX columns, scores with their meaning, timecodes, no JSON
blobs, no always-empty columns; M3U8 with titles; JSON keeps everything."""
from __future__ import annotations

import csv
import json
import shutil

import pytest

from supervisor_app.analysis.descriptors import DESCRIPTORS, DESCRIPTORS_VERSION
from supervisor_app.catalog import Catalog
from supervisor_app.cli.main import main
from supervisor_app.edit.playlist_sheet import timecode
from supervisor_app.services.playlists import export_playlist

from fixture_paths import BBB, MUSIC

EDIT = {"excerpts": [
    {"video_start_s": 0.0, "video_end_s": 12.5, "music_in_s": 8.0, "music_out_s": 20.5, "snap_offset_s": 0.0,
     "reason": "head", "cut_s": None, "music_segment": 1},
    {"video_start_s": 12.5, "video_end_s": 30.0, "music_in_s": 40.0, "music_out_s": 57.52, "snap_offset_s": 0.01,
     "reason": "cut", "cut_s": 12.49, "music_segment": 3}],
    "video_duration_s": 30.0, "music_duration_s": 61.4, "sync_points_s": [], "tolerance_s": 0.25, "notes": [],
    "ending": "track ending", "head_pickup_s": 0.0}


@pytest.fixture
def playlist(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("vibe_ace.ogg", "hungarian_dance_5.ogg", "mindless_cut.mp3"):
        shutil.copy2(MUSIC / name, lib / name)
    cat = Catalog.create(tmp_path / "c.sqlite")
    cat.add_folder(lib)
    ids = {t.path.rsplit("/", 1)[-1]: t.id for t in cat.tracks()}
    vibe, hd, mind = ids["vibe_ace.ogg"], ids["hungarian_dance_5.ogg"], ids["mindless_cut.mp3"]
    cat.set_metadata(vibe, {"composer": "Kevin MacLeod", "publisher": "Incompetech", "isrc": "USRC17607839",
                            "one_stop": True, "territories": "Worldwide", "cleared_for": "TV, Online",
                            "tags": ["jazz", "upbeat"]})
    cat.set_metadata(hd, {"composer": "Johannes Brahms", "one_stop": False, "restrictions": "no political ads"})
    cat.put_analysis(vibe, DESCRIPTORS, DESCRIPTORS_VERSION, {"key": "E major", "key_uncertain": False})
    pid = cat.create_playlist("Spot 30s")
    cat.add_to_playlist(pid, vibe, note="opener", payload={"video": str(BBB), "score": 0.8123, "sync_score": 2.41,
                                                           "reasons": ["music segment 2 matched shot 4"], "edit": EDIT})
    cat.add_to_playlist(pid, hd, payload={"score": 0.91})  # from `similar`: no picture, a similarity
    cat.add_to_playlist(pid, mind)  # added by hand: no scores
    yield cat, pid, ids
    cat.close()


def test_timecode():
    assert timecode(0) == "00:00:00:00" and timecode(57.52, 25) == "00:00:57:13"
    assert timecode(3725.5, 24) == "01:02:05:12" and timecode(None) == ""


def test_csv_sheet_columns(playlist, tmp_path):
    cat, pid, ids = playlist
    out = export_playlist(cat, pid, "csv", tmp_path / "p.csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the accents right
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    header = list(rows[0])
    for col in ("Title", "Artist", "Composer", "Publisher", "ISRC", "Duration (m:ss)", "BPM", "Key", "Tags",
                "One-stop", "Territories", "Restrictions", "Cleared for", "Picture in (TC)", "Music out (TC)"):
        assert col in header, col
    fit = next(h for h in header if h.startswith("Fit to picture"))
    sim = next(h for h in header if h.startswith("Similarity"))
    assert "higher" in fit and "-1..1" in sim
    for h in header:  # no always-empty column, no JSON blob
        assert any(r[h] for r in rows), h
        assert not any(r[h].startswith(("{", "[")) for r in rows), h
    assert "Label" not in header and "ISWC" not in header
    v, hd, m = rows
    assert (v["Title"], v["Composer"], v["ISRC"], v["One-stop"]) == ("Vibe Ace", "Kevin MacLeod", "USRC17607839", "yes")
    assert v["Duration (m:ss)"] == "1:01" and v["BPM"] == "130" and v["Key"] == "E major"
    assert v[fit] == "0.812" and v[sim] == "" and hd[sim] == "0.91" and hd[fit] == ""
    assert v["Picture in (TC)"] == "00:00:00:00" and v["Picture out (TC)"] == "00:00:30:00"
    assert v["Music in (TC)"] == "00:00:08:00" and v["Music out (TC)"] == "00:00:57:12"  # BBB: 24 fps
    assert v["Music edits"] == "1" and v["Notes"] == "opener; music segment 2 matched shot 4"
    assert hd["One-stop"] == "no" and hd["Restrictions"] == "no political ads" and m["Composer"] == ""
    assert hd["BPM"] == ""  # no tag, not indexed: unknown, not '0'


def test_xlsx_m3u8_json(playlist, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    cat, pid, ids = playlist
    out = export_playlist(cat, pid, "xlsx", tmp_path / "p.xlsx")
    ws = openpyxl.load_workbook(out).active
    values = list(ws.values)
    assert values[0][:3] == ("#", "Title", "Artist") and ws.title == "Spot 30s"
    assert values[1][1] == "Vibe Ace" and values[1][values[0].index("BPM")] == 130
    assert len(values) == 4
    m3u = export_playlist(cat, pid, "m3u8", tmp_path / "p.m3u8").read_text(encoding="utf-8").splitlines()
    assert m3u[0] == "#EXTM3U" and m3u[1] == "#EXTINF:61,Kevin MacLeod - Vibe Ace"
    doc = json.loads(export_playlist(cat, pid, "json", tmp_path / "p.json").read_text(encoding="utf-8"))
    e0 = doc["entries"][0]
    assert e0["edit"]["excerpts"][1]["music_out_s"] == 57.52 and e0["track"]["composer"] == "Kevin MacLeod"
    assert e0["track"]["key"] == "E major" and e0["track"]["isrc"] == "USRC17607839"
    from supervisor_app.edit.playlist_export import read_json
    assert read_json(tmp_path / "p.json")[0].title == "Vibe Ace"


def test_cli_export_and_show(playlist, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    cat, pid, ids = playlist
    path = str(cat.path)
    assert main(["playlist", "show", "Spot 30s", "--catalog", path]) == 0
    out = capsys.readouterr().out
    assert "BPM" in out and "E major" in out and "130" in out
    assert main(["playlist", "export", "Spot 30s", "--catalog", path, "--out", str(tmp_path / "x.xlsx")]) == 0
    assert (tmp_path / "x.xlsx").is_file()
    assert main(["playlist", "export", "Spot 30s", "--catalog", path, "--out", str(tmp_path / "x.doc")]) == 2
    assert "cannot be written" in capsys.readouterr().err
