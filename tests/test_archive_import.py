"""Archive import: timelines written through each OpenTimelineIO adapter → pairs whose music spans match
the timeline to one frame; speed changes, cut music, missing and moved media, duplicated projects."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from archive_projects import RATE, MusicPiece, ProjectSpec, long_picture, standard_spec, write_project
from fixture_paths import MUSIC
from supervisor_app.archive import store
from supervisor_app.archive.importer import import_project, import_projects
from supervisor_app.catalog import Catalog
from supervisor_app.cli.main import main

FRAME = 1.0 / RATE
SUFFIX = {"otio_json": ".otio", "fcp_xml": ".xml", "fcpx_xml": ".fcpxml", "kdenlive": ".kdenlive", "cmx_3600": ".edl"}
SPEED_KEPT = {"otio_json", "cmx_3600"}


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    pic = long_picture(d / "spot_picture.mp4", 150.0)
    mus = d / "music"
    mus.mkdir()
    for n in ("vibe_ace.ogg", "sugar_plum_fairy.ogg", "lets_go_fishin.ogg"):
        shutil.copy(MUSIC / n, mus / n)
    return {"dir": d, "picture": pic, "music": mus}


def _catalog(tmp_path) -> Catalog:
    return Catalog.create(tmp_path / "cat.sqlite")


@pytest.mark.parametrize("adapter", ["otio_json", "fcp_xml", "fcpx_xml", "kdenlive", "cmx_3600"])
def test_pairs_match_the_timeline_to_one_frame(tmp_path, media, adapter):
    speed = 1.5 if adapter in SPEED_KEPT else 1.0  # the XML/Kdenlive adapters do not carry speed changes
    spec = standard_spec("spot A", media["picture"], media["music"], speed=speed)
    f = write_project(spec, tmp_path / f"spotA{SUFFIX[adapter]}", adapter)
    with _catalog(tmp_path) as cat:
        rep = import_project(cat, f)
        assert rep.status == "imported" and rep.adapter == adapter, rep
        assert rep.n_pairs_added == 2 and not rep.not_found
        assert any("shorter than" in s for s in rep.skipped)  # the 1 s sting
        ps = store.pairs(cat, project_id=rep.project_id)
        media_rows = {m.id: m for m in store.all_media(cat)}
        expected = [c for c in spec.cues() if c[-1].record_start_s + c[-1].duration_s - c[0].record_start_s >= 2.0]
        assert len(ps) == len(expected) == 2
        for pair, cue in zip(sorted(ps, key=lambda p: p.start_s), expected):
            assert Path(media_rows[pair.music_media_id].path).name == cue[0].media.name
            assert len(pair.music) == len(cue)
            for got, want in zip(pair.music, cue):
                assert abs(got.record_start_s - want.record_start_s) <= FRAME / 2
                assert abs(got.record_end_s - (want.record_start_s + want.duration_s)) <= FRAME / 2
                assert abs(got.source_in_s - want.source_in_s) <= FRAME / 2
                assert got.speed == pytest.approx(want.speed, abs=1e-3)
                assert abs(got.source_out_s - (want.source_in_s + want.duration_s * want.speed)) <= FRAME
            # the picture under the cue: the V1 clips clipped to the cue's span, dialogue ignored
            assert pair.picture[0].record_start_s == pytest.approx(cue[0].record_start_s, abs=FRAME / 2)
            assert pair.picture[-1].record_end_s == pytest.approx(cue[-1].record_start_s + cue[-1].duration_s, abs=FRAME / 2)
            for pc in pair.picture:
                assert Path(media_rows[int(pc.media)].path).name == "spot_picture.mp4"
                # V1: [0, 70) from source 10, [70, 120) from source 90
                want_src = 10.0 + pc.record_start_s if pc.record_start_s < 70 else 90.0 + pc.record_start_s - 70.0
                assert abs(pc.source_in_s - want_src) <= FRAME / 2


def test_speed_change_and_music_edits_in_one_cue(tmp_path, media):
    spec = standard_spec("speed", media["picture"], media["music"], speed=2.0)
    f = write_project(spec, tmp_path / "speed.otio", "otio_json")
    with _catalog(tmp_path) as cat:
        rep = import_project(cat, f)
        first = min(store.pairs(cat, project_id=rep.project_id), key=lambda p: p.start_s)
        assert [p.speed for p in first.music] == [1.0, 2.0]
        assert first.music[1].source_out_s == pytest.approx(40.0 + 12.0 * 2.0, abs=FRAME)
        assert first.duration_s == pytest.approx(32.0, abs=FRAME)


def test_stem_renders_the_music_as_the_timeline_plays_it(tmp_path, media):
    """The rendered stem equals the source samples at the pieces' in points (and at double speed,
    every other sample), so training hears the clean music with the true alignment."""
    from supervisor_app.archive.features import render_music_stem
    from supervisor_app.archive.timeline import Piece
    from supervisor_app.media import load_audio

    sr = 8000
    src = load_audio(media["music"] / "vibe_ace.ogg", sr=sr)
    pieces = [Piece(10.0, 14.0, 20.0, 1.0), Piece(15.0, 18.0, 40.0, 2.0)]
    stem = render_music_stem(media["music"] / "vibe_ace.ogg", pieces, 10.0, 8.0, sr=sr)
    assert len(stem) == 8 * sr
    a = stem[:4 * sr]
    b = src[20 * sr:24 * sr]
    assert np.corrcoef(a[100:-100], b[100:-100])[0, 1] > 0.99
    assert np.abs(stem[4 * sr + 50:5 * sr - 50]).max() == 0.0  # the gap is silence
    fast = stem[5 * sr:8 * sr]
    ref = load_audio(media["music"] / "vibe_ace.ogg", sr=sr // 2, offset_s=40.0, duration_s=6.0)[:3 * sr]
    assert np.corrcoef(fast[200:-200], ref[200:-200])[0, 1] > 0.95
    # one frame (40 ms) of misalignment would already decorrelate music this busy
    off = src[20 * sr + sr // 25:24 * sr + sr // 25]
    assert np.corrcoef(a[100:-100], off[100:-100])[0, 1] < 0.9


def test_moved_media_are_relinked_and_missing_media_reported(tmp_path, media):
    spec = standard_spec("moved", media["picture"], media["music"])
    # the editor's machine had other paths: music moved under a search folder, one file gone for good
    spec.media_url[media["music"] / "vibe_ace.ogg"] = "file:///Volumes/Editor/Music/vibe_ace.ogg"
    spec.music.append(MusicPiece(100.0, 15.0, 3.0, tmp_path / "lost" / "lets_go_fishin_v2.ogg"))
    f = write_project(spec, tmp_path / "moved.otio", "otio_json")
    with _catalog(tmp_path) as cat:
        rep = import_project(cat, f, search_dirs=[media["music"]])
        assert rep.n_pairs_added == 2
        assert any("vibe_ace.ogg" in r for r in rep.relinked)
        assert any("lets_go_fishin_v2.ogg" in n for n in rep.not_found)
        assert any("media not found" in s for s in rep.skipped)
        # without the search folder the vibe cue is not found either
    with Catalog.create(tmp_path / "other.sqlite") as other:
        rep2 = import_project(other, f)
        assert rep2.n_pairs_added == 1 and any("vibe_ace" in n for n in rep2.not_found)


def test_duplicated_projects_are_not_counted_twice(tmp_path, media):
    spec = standard_spec("dup", media["picture"], media["music"], speed=1.0)
    a = write_project(spec, tmp_path / "dup.otio", "otio_json")
    b = write_project(spec, tmp_path / "dup copy.xml", "fcp_xml")  # the same cut exported to another format
    with _catalog(tmp_path) as cat:
        r1 = import_project(cat, a)
        r2 = import_project(cat, a)
        r3 = import_project(cat, b)
        assert (r1.status, r2.status, r3.status) == ("imported", "unchanged", "duplicate")
        assert r3.n_pairs_duplicate == 2
        assert len(store.pairs(cat)) == 2 and len(store.projects(cat)) == 1


def test_unreadable_and_foreign_files_are_reported(tmp_path, media):
    bad = tmp_path / "broken.otio"
    bad.write_text("{not json")
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with _catalog(tmp_path) as cat:
        reps = import_projects(cat, [bad, other])
        assert [r.status for r in reps] == ["failed", "failed"]
        assert "cannot be read" in reps[0].error and "not a timeline" in reps[1].error


def test_cli_import_list_show_export_remove(tmp_path, media, capsys):
    spec = standard_spec("cli", media["picture"], media["music"])
    f = write_project(spec, tmp_path / "cli.otio", "otio_json")
    cat = str(tmp_path / "cat.sqlite")
    assert main(["archive", "import", str(f), "--catalog", cat]) == 0
    out = capsys.readouterr().out
    assert "2 pair(s) added" in out
    assert main(["archive", "list", "--catalog", cat]) == 0
    out = capsys.readouterr().out
    assert "cli" in out and " 2 " in out
    thumbs = tmp_path / "thumbs"
    assert main(["archive", "show", "1", "--catalog", cat, "--thumbnails", str(thumbs)]) == 0
    out = capsys.readouterr().out
    assert "vibe_ace.ogg" in out and len(list(thumbs.glob("*.png"))) == 2
    exp = tmp_path / "export"
    assert main(["archive", "export", str(exp), "--catalog", cat]) == 0
    doc = json.loads((exp / "pairs.json").read_text())
    assert doc["n_pairs"] == 2 and not (exp / "media").exists()  # nothing copied unless asked
    assert main(["archive", "export", str(exp), "--catalog", cat]) == 2  # not into a non-empty folder
    assert "not empty" in capsys.readouterr().err
    assert main(["archive", "remove", "1", "--catalog", cat]) == 0
    with Catalog.open(cat) as c:
        assert store.pairs(c) == [] and store.all_media(c) == []
    assert main(["archive", "remove", "7", "--catalog", cat]) == 2


def test_relink_after_media_moved(tmp_path, media):
    d = tmp_path / "m"
    d.mkdir()
    shutil.copy(media["music"] / "sugar_plum_fairy.ogg", d / "sugar_plum_fairy.ogg")
    spec = ProjectSpec("r", picture=[(0.0, 60.0, 0.0, media["picture"])],
                       music=[MusicPiece(0.0, 50.0, 0.0, d / "sugar_plum_fairy.ogg")])
    f = write_project(spec, tmp_path / "r.otio", "otio_json")
    with _catalog(tmp_path) as cat:
        import_project(cat, f)
        new = tmp_path / "elsewhere" / "deep"
        new.mkdir(parents=True)
        shutil.move(str(d / "sugar_plum_fairy.ogg"), new / "sugar_plum_fairy.ogg")
        rep = store.relink(cat, [tmp_path / "elsewhere"])
        assert len(rep.relinked) == 1 and not rep.missing
        assert any(m.path == str(new / "sugar_plum_fairy.ogg") for m in store.all_media(cat))


def test_windows_and_moved_references_resolve_by_name(tmp_path):
    from supervisor_app.archive.relink import MediaResolver

    (tmp_path / "proj" / "Audio" / "Licensed").mkdir(parents=True)
    (tmp_path / "proj" / "Temp").mkdir()
    good = tmp_path / "proj" / "Audio" / "Licensed" / "Cue 01.wav"
    good.write_bytes(b"x")
    (tmp_path / "proj" / "Temp" / "Cue 01.wav").write_bytes(b"y")
    r = MediaResolver(tmp_path / "proj" / "spot.xml")
    assert r.resolve(r"D:\Jobs\Spot\Audio\Licensed\Cue 01.wav") == good  # shares two folder names
    assert r.resolve("file:///D:/Jobs/Spot/Audio/Licensed/Cue%2001.wav") == good
    assert r.resolve("file:///Volumes/X/nothing_like_it.wav") is None


def test_export_stems_and_too_small_archive_for_training(tmp_path, media, capsys):
    import soundfile as sf

    spec = standard_spec("stems", media["picture"], media["music"])
    f = write_project(spec, tmp_path / "stems.otio", "otio_json")
    cat = str(tmp_path / "cat.sqlite")
    assert main(["archive", "import", str(f), "--catalog", cat]) == 0
    exp = tmp_path / "export"
    assert main(["archive", "export", str(exp), "--catalog", cat, "--stems"]) == 0
    doc = json.loads((exp / "pairs.json").read_text())
    for rec in doc["pairs"]:
        info = sf.info(str(exp / rec["music"]["stem"]))
        assert info.duration == pytest.approx(rec["duration_s"], abs=1.0 / RATE)
        assert len({r["group"] for r in doc["pairs"]}) == 1  # one commercial
    capsys.readouterr()
    rc = main(["train", "segvmnet", "--archive", "--catalog", cat, "--segmentation", "olda", "--out",
               str(tmp_path / "m")])
    assert rc == 2 and "at least 6 different commercials" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()  # nothing half-written


def test_avid_style_edl_with_hour_one_start_and_m2_speed(tmp_path, media):
    """A hand-written EDL as an editing system exports it (record from 01:00:00:00, M2 speed with the
    source out at in + record duration x speed), not the adapter's own writer output."""
    pic, vibe = media["picture"].resolve().as_uri(), (media["music"] / "vibe_ace.ogg").resolve().as_uri()
    edl = tmp_path / "avid.edl"
    edl.write_text(f"""TITLE: SPOT 30
FCM: NON-DROP FRAME

001  BBB      V     C        00:00:10:00 00:00:40:00 01:00:00:00 01:00:30:00
* FROM CLIP NAME:  spot_picture.mp4
* FROM CLIP: {pic}
002  VIBE     A2    C        00:00:12:10 00:00:22:10 01:00:02:00 01:00:12:00
* FROM CLIP NAME:  vibe_ace.ogg
* FROM CLIP: {vibe}
003  VIBE     A2    C        00:00:40:00 00:00:55:00 01:00:12:00 01:00:22:00
M2   VIBE       037.5                00:00:40:00
* FROM CLIP NAME:  vibe_ace.ogg
* FROM CLIP: {vibe}
""")
    with _catalog(tmp_path) as cat:
        rep = import_project(cat, edl, rate=25.0)
        assert rep.n_pairs_added == 1, rep
        (pair,) = store.pairs(cat)
        a, b = pair.music
        assert a.record_start_s - 3600 == pytest.approx(2.0, abs=FRAME / 2) and a.source_in_s == pytest.approx(12.4, abs=FRAME / 2)
        assert b.record_start_s - 3600 == pytest.approx(12.0, abs=FRAME / 2) and b.speed == pytest.approx(1.5)
        assert b.source_out_s == pytest.approx(55.0, abs=FRAME)
        assert pair.picture[0].source_in_s == pytest.approx(12.0, abs=FRAME / 2)  # 10 s + 2 s into the event


def test_music_is_told_from_sfx_and_can_be_named(tmp_path, media):
    import opentimelineio as otio

    from archive_projects import build_timeline

    spec = ProjectSpec("named", picture=[(0.0, 60.0, 0.0, media["picture"])],
                       music=[MusicPiece(0.0, 30.0, 5.0, media["music"] / "vibe_ace.ogg")])
    tl = build_timeline(spec, music_track_name="A3")
    sfx = build_timeline(ProjectSpec("x", music=[MusicPiece(5.0, 10.0, 0.0, media["music"] / "lets_go_fishin.ogg")]),
                         music_track_name="SFX").tracks[-1]
    tl.tracks.append(sfx.deepcopy())
    f = tmp_path / "named.otio"
    otio.adapters.write_to_file(tl, str(f))
    with _catalog(tmp_path) as cat:
        rep = import_project(cat, f)
        assert rep.n_pairs_added == 1  # the audio-only file on "A3" is music; the SFX track is not
    with Catalog.create(tmp_path / "b.sqlite") as cat:
        rep2 = import_project(cat, f, music_tracks=("SFX",))
        assert rep2.n_pairs_added == 1 and "SFX" in store.pairs(cat)[0].label
