"""Catalog store: schema and migrations, CRUD, playlists, and folder scans on real and broken files."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from supervisor_app.infra import errors
from supervisor_app import media
from supervisor_app.catalog import Catalog, schema
from supervisor_app.cli import catalog as catalog_cli
from supervisor_app.catalog import scan as scan_mod
from supervisor_app.catalog.metadata import parse_bpm, read_tags
from supervisor_app.infra.hashing import bytes_hash, content_hash

REPO = Path(__file__).resolve().parent.parent
MUSIC = REPO / "resources" / "demo" / "music"
VIDEO = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
WAV = REPO / "tests" / "data" / "madmom_sample.wav"

# Real files copied into the scanned folder (small ones, to keep the tests fast).
GOOD = {
    "mindless_cut.mp3": MUSIC / "mindless_cut.mp3",
    "trumpet/solo_trumpet_90bpm.ogg": MUSIC / "solo_trumpet_90bpm.ogg",
    "classical/hungarian_dance_5.ogg": MUSIC / "hungarian_dance_5.ogg",
    "classical/deeper/madmom_sample.wav": WAV,
}


def _fake_hash(i: int) -> str:
    return bytes_hash(f"track {i}".encode())


@pytest.fixture
def cat(tmp_path):
    with Catalog.create(tmp_path / "cat" / "catalog.sqlite") as c:
        yield c


def _add(cat: Catalog, i: int, path=None, **kw) -> int:
    return cat.add_track(path or f"/music/t{i}.wav", _fake_hash(i), 1000 + i, 1.5e9 + i, 10.0 + i, title=f"T{i}", **kw)


# --- hashing -------------------------------------------------------------------------------------
def test_content_hash_streams_whole_file(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, size=3 * (1 << 20) + 123, dtype=np.uint8).tobytes()
    p = tmp_path / "blob.bin"
    p.write_bytes(data)
    h = content_hash(p)
    assert h == hashlib.sha256(data).hexdigest() == bytes_hash(data)
    p.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit in the last chunk
    assert content_hash(p) != h
    with pytest.raises(errors.FileMissingError):
        content_hash(tmp_path / "nope.wav")
    with pytest.raises(errors.FileUnreadableError):
        content_hash(tmp_path)


# --- opening, schema, migrations ------------------------------------------------------------------
def test_create_then_open_has_wal_foreign_keys_and_version(tmp_path):
    path = tmp_path / "sub" / "c.sqlite"
    with Catalog.create(path) as c:
        assert c.schema_version == schema.SCHEMA_VERSION
        _add(c, 1)
    with Catalog.open(path) as c:
        assert c.count() == 1
        db = c._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
        assert c.get_meta("created_by").startswith("supervisor-app")
        assert c.integrity_check() == "ok"
    # create() on an existing catalog opens it and keeps its content
    with Catalog.create(path) as c:
        assert c.count() == 1


def test_open_refuses_missing_foreign_and_newer_files(tmp_path):
    with pytest.raises(errors.CatalogNotFoundError):
        Catalog.open(tmp_path / "none.sqlite")
    assert not (tmp_path / "none.sqlite").exists()

    text = tmp_path / "notes.txt"
    text.write_text("my precious notes\n")
    for opener in (Catalog.open, Catalog.create):
        with pytest.raises(errors.CatalogError, match="not a supervisor-app catalog"):
            opener(text)
    assert text.read_text() == "my precious notes\n"

    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE songs (x)")
    con.commit()
    con.close()
    before = other.read_bytes()
    for opener in (Catalog.open, Catalog.create):
        with pytest.raises(errors.CatalogError, match="another program"):
            opener(other)
    assert other.read_bytes() == before

    empty = tmp_path / "empty.sqlite"  # e.g. a creation killed before its first commit: nothing to lose
    empty.touch()
    with Catalog.open(empty) as c:
        assert c.schema_version == schema.SCHEMA_VERSION and c.count() == 0

    with pytest.raises(errors.CatalogError, match="folder"):
        Catalog.open(tmp_path)

    newer = tmp_path / "newer.sqlite"
    Catalog.create(newer).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE schema_version SET version = ?", (schema.SCHEMA_VERSION + 5,))
    con.commit()
    con.close()
    with pytest.raises(errors.CatalogError, match="newer supervisor-app"):
        Catalog.open(newer)


def test_appended_migration_upgrades_old_catalog_and_keeps_a_backup(tmp_path, monkeypatch):
    path = tmp_path / "c.sqlite"
    with Catalog.create(path) as c:
        tid = _add(c, 1)
        c.put_analysis(tid, "beats", "1", {"bpm": 120})
    old_version = schema.SCHEMA_VERSION

    def add_energy(conn):
        conn.execute("ALTER TABLE tracks ADD COLUMN energy REAL")
        conn.execute("UPDATE tracks SET energy = 0.5")

    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS + [add_energy])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", old_version + 1)
    with Catalog.open(path) as c:
        assert c.schema_version == old_version + 1
        assert c._db.execute("SELECT energy FROM tracks").fetchone()[0] == 0.5
        assert c.get_analysis(tid, "beats", "1").result == {"bpm": 120}
    backup = tmp_path / f"c.sqlite.schema{old_version}.bak"
    con = sqlite3.connect(backup)
    assert con.execute("SELECT version FROM schema_version").fetchone()[0] == old_version
    con.close()
    # a fresh catalog runs every migration in order
    with Catalog.create(tmp_path / "fresh.sqlite") as c:
        assert c.schema_version == old_version + 1


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "c.sqlite"
    Catalog.create(path).close()

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS + [broken])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(schema.MIGRATIONS))
    with pytest.raises(RuntimeError):
        Catalog.open(path)
    con = sqlite3.connect(path)
    assert con.execute("SELECT version FROM schema_version").fetchone()[0] == len(schema.MIGRATIONS) - 1
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    con.close()


def test_readers_are_not_blocked_by_a_scan_and_a_busy_writer_gets_a_sentence(tmp_path, monkeypatch):
    path = tmp_path / "c.sqlite"
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("a.ogg", "b.mp3"):
        shutil.copy2(MUSIC / ("solo_trumpet_90bpm.ogg" if name == "a.ogg" else "mindless_cut.mp3"), lib / name)
    counts = []
    with Catalog.create(path) as writer, Catalog.open(path) as reader:
        # a second connection (as a GUI thread would hold) reads while the scan writes
        writer.add_folder(lib, progress=lambda f, s: counts.append(reader.count()))
        assert counts == [1, 2]

    from supervisor_app.catalog import store

    monkeypatch.setattr(store, "_BUSY_TIMEOUT_MS", 50)
    with Catalog.open(path) as a, Catalog.open(path) as b:
        with a.transaction():
            a.set_meta("x", "1")
            with pytest.raises(errors.CatalogError, match="busy"):
                b.set_meta("x", "2")
            assert b.count() == 2  # reading still works
        b.set_meta("x", "2")
        assert a.get_meta("x") == "2"


# --- tracks ---------------------------------------------------------------------------------------
def test_track_crud_and_user_fields(cat):
    a, b = _add(cat, 1), _add(cat, 2, album="LP")
    t = cat.get_track(b)
    assert (t.path, t.title, t.album, t.status, t.tags, t.rights, t.notes) == ("/music/t2.wav", "T2", "LP", "ok", [], {}, None)
    assert [x.id for x in cat.find_by_hash(_fake_hash(1))] == [a]
    assert cat.find_by_path("/music/t1.wav").id == a
    assert cat.find_by_path("/music/none.wav") is None
    assert cat.get_track(999) is None
    with pytest.raises(errors.CatalogError, match="already has a track"):
        _add(cat, 3, path="/music/t1.wav")

    cat.set_user_fields(a, tags=["upbeat", "brass"], rights={"cleared": True, "budget_eur": 5000})
    cat.set_user_fields(a, notes="great for the chase")  # other fields untouched
    t = cat.get_track(a)
    assert t.tags == ["upbeat", "brass"] and t.rights == {"cleared": True, "budget_eur": 5000}
    assert t.notes == "great for the chase"
    cat.set_user_fields(a, tags=[])
    assert cat.get_track(a).tags == []
    with pytest.raises(errors.UsageError):
        cat.set_user_fields(a, tags="upbeat")
    with pytest.raises(errors.UsageError):
        cat.set_user_fields(a, rights=["cleared"])
    with pytest.raises(errors.CatalogError):
        cat.set_user_fields(999, notes="x")

    cat.set_status(b, "missing")
    assert [x.id for x in cat.tracks()] == [a] and cat.count() == 1
    assert [x.id for x in cat.tracks(include_missing=True)] == [a, b] and cat.count(include_missing=True) == 2
    assert [x.id for x in cat.tracks(status="missing")] == [b]
    with pytest.raises(ValueError):
        cat.set_status(a, "gone")
    cat.remove_track(b)
    assert cat.get_track(b) is None


def test_analyses_roundtrip_missing_and_cascade(cat):
    ids = [_add(cat, i) for i in range(4)]
    cat.put_analysis(ids[0], "beats", "1.0", {"downbeats_s": np.array([0.5, 2.5]), "bpm": np.float32(96.0)})
    cat.put_analysis(ids[1], "beats", "1.0", None, error="no beats found")
    cat.put_analysis(ids[2], "beats", "0.9", {"bpm": 90})
    rec = cat.get_analysis(ids[0], "beats", "1.0")
    assert rec.result == {"downbeats_s": [0.5, 2.5], "bpm": 96.0} and rec.error is None and rec.computed_at > 0
    fail = cat.get_analysis(ids[1], "beats", "1.0")
    assert fail.result is None and fail.error == "no beats found"
    assert cat.get_analysis(ids[3], "beats", "1.0") is None

    assert cat.analyses_missing("beats", "1.0") == [ids[2], ids[3]]
    assert cat.analyses_missing("beats", "1.0", retry_errors=True) == [ids[1], ids[2], ids[3]]
    cat.set_status(ids[3], "missing")
    assert cat.analyses_missing("beats", "1.0") == [ids[2]]

    cat.put_analysis(ids[0], "beats", "1.0", {"bpm": 97})  # replaces
    assert cat.get_analysis(ids[0], "beats", "1.0").result == {"bpm": 97}
    s = cat.stats()
    assert s["analyses"] == {"beats": {"0.9": 1, "1.0": 1}} and s["analysis_errors"] == {"beats": {"1.0": 1}}

    with pytest.raises(errors.CatalogError):
        cat.put_analysis(999, "beats", "1.0", {"bpm": 1})
    with pytest.raises(ValueError):
        cat.put_analysis(ids[0], "beats", "1.0", None)
    cat.remove_track(ids[0])
    assert cat._db.execute("SELECT count(*) FROM analyses WHERE track_id = ?", (ids[0],)).fetchone()[0] == 0
    assert cat.delete_analyses("beats") == 2


def test_embeddings_roundtrip_and_bulk_load(cat):
    ids = [_add(cat, i) for i in range(5)]
    rng = np.random.default_rng(1)
    stored = {}
    for tid in ids:
        stored[tid] = rng.standard_normal((3 + tid % 2, 8)).astype(np.float32)
        cat.put_embedding(tid, "segvm", "v1", stored[tid])
    cat.put_embedding(ids[0], "musimnet", "v1", np.arange(6, dtype=np.float64).reshape(2, 3).T)  # non-contiguous
    got = cat.get_embedding(ids[0], "musimnet", "v1")
    assert got.dtype == np.float64 and got.shape == (3, 2) and np.array_equal(got, np.arange(6.0).reshape(2, 3).T)
    got[0, 0] = 42  # returned arrays are writable copies
    assert cat.get_embedding(ids[0], "musimnet", "v1")[0, 0] == 0
    assert cat.get_embedding(ids[0], "segvm", "v2") is None

    cat.set_status(ids[2], "missing")
    got_ids, arrays = cat.load_embeddings("segvm", "v1")
    assert got_ids == [ids[0], ids[1], ids[3], ids[4]]
    for tid, arr in zip(got_ids, arrays):
        assert arr.dtype == np.float32 and np.array_equal(arr, stored[tid])
    assert len(cat.load_embeddings("segvm", "v1", include_missing=True)[0]) == 5
    assert cat.embeddings_missing("musimnet", "v1") == [ids[1], ids[3], ids[4]]
    assert cat.stats()["embeddings"] == {"musimnet": {"v1": 1}, "segvm": {"v1": 5}}
    with pytest.raises(TypeError):
        cat.put_embedding(ids[0], "x", "1", np.array(["a"]))


def test_duplicate_content_reuses_results(cat):
    a = _add(cat, 1)
    cat.put_analysis(a, "beats", "1", {"bpm": 100})
    cat.put_embedding(a, "m", "1", np.ones(4, np.float32))
    b = cat.add_track("/music/copy.wav", _fake_hash(1), 1001, 1.5e9, 11.0)
    assert cat.get_analysis(b, "beats", "1").result == {"bpm": 100}
    assert np.array_equal(cat.get_embedding(b, "m", "1"), np.ones(4, np.float32))


def test_transaction_rolls_back_everything_on_error(cat):
    a = _add(cat, 1)
    with pytest.raises(RuntimeError):
        with cat.transaction():
            _add(cat, 2)
            cat.put_analysis(a, "beats", "1", {"bpm": 1})
            raise RuntimeError("crash")
    assert cat.count() == 1 and cat.get_analysis(a, "beats", "1") is None
    with cat.transaction():
        _add(cat, 2)
        _add(cat, 3)
    assert cat.count() == 3


# --- playlists ------------------------------------------------------------------------------------
def test_playlists(cat):
    t = [_add(cat, i) for i in range(4)]
    p = cat.create_playlist("Chase scene")
    q = cat.create_playlist("  Love theme ")
    with pytest.raises(errors.CatalogError, match="already exists"):
        cat.create_playlist("Chase scene")
    with pytest.raises(errors.UsageError):
        cat.create_playlist("   ")
    cat.rename_playlist(q, "Finale")
    assert [(x.name, x.n_entries) for x in cat.playlists()] == [("Chase scene", 0), ("Finale", 0)]
    with pytest.raises(errors.CatalogError):
        cat.rename_playlist(q, "Chase scene")

    edit = {"offset_s": 12.5, "cuts_s": [0.0, 4.0]}
    assert [cat.add_to_playlist(p, tid) for tid in t] == [0, 1, 2, 3]
    cat.update_entry(p, 1, note="maybe", payload=edit)
    e = cat.playlist_entries(p)
    assert [x.track_id for x in e] == t and e[1].payload == edit and e[1].note == "maybe" and e[0].payload is None

    cat.move_entry(p, 0, 3)
    assert [x.track_id for x in cat.playlist_entries(p)] == [t[1], t[2], t[3], t[0]]
    cat.move_entry(p, 3, 1)
    assert [x.track_id for x in cat.playlist_entries(p)] == [t[1], t[0], t[2], t[3]]
    cat.remove_from_playlist(p, 0)
    entries = cat.playlist_entries(p)
    assert [x.track_id for x in entries] == [t[0], t[2], t[3]] and [x.position for x in entries] == [0, 1, 2]
    cat.add_to_playlist(p, t[0])  # a track can appear twice
    cat.remove_track(t[0])  # its entries vanish and the gaps close
    entries = cat.playlist_entries(p)
    assert [x.track_id for x in entries] == [t[2], t[3]] and [x.position for x in entries] == [0, 1]

    for bad in (lambda: cat.move_entry(p, 0, 5), lambda: cat.remove_from_playlist(p, 7),
                lambda: cat.add_to_playlist(p, 999), lambda: cat.add_to_playlist(999, t[1]),
                lambda: cat.playlist_entries(999)):
        with pytest.raises(errors.CatalogError):
            bad()
    cat.delete_playlist(p)
    assert [x.name for x in cat.playlists()] == ["Finale"]
    assert cat._db.execute("SELECT count(*) FROM playlist_entries").fetchone()[0] == 0
    with pytest.raises(errors.CatalogError):
        cat.delete_playlist(p)


# --- metadata -------------------------------------------------------------------------------------
def test_tags_from_real_files_and_fallbacks(tmp_path):
    t = read_tags(MUSIC / "vibe_ace.ogg")
    assert (t.title, t.artist, t.album, t.genre, t.bpm) == ("Vibe Ace", "Kevin MacLeod", "Jazz Sampler", "Jazz", 130.0)
    t = read_tags(MUSIC / "mindless_cut.mp3")
    assert (t.title, t.artist, t.album) == ("Mindless", "Sargon", "Mirage")
    assert read_tags(WAV).title == "madmom_sample"  # no tags: the file name
    junk = tmp_path / "Not Really.mp3"
    junk.write_bytes(b"\x00" * 100)
    assert read_tags(junk).title == "Not Really"
    assert [parse_bpm(x) for x in ("120", "98,5", "92 BPM", "abc", "0", None)] == [120.0, 98.5, 92.0, None, None, None]


# --- scanning -------------------------------------------------------------------------------------
def _listing(folder: Path) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for n in filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def library(tmp_path):
    """A folder of real audio copies plus the bad inputs a real library has."""
    root = tmp_path / "library"
    for rel, src in GOOD.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, root / rel)
    (root / "text_renamed.mp3").write_text("this is not audio\n")
    (root / "zero.wav").touch()
    data = (MUSIC / "mindless_cut.mp3").read_bytes()
    (root / "truncated.mp3").write_bytes(data[: len(data) * 2 // 5])
    os.symlink("..", root / "classical" / "loop")  # a folder link back up: must not trap the walk
    os.symlink("b.mp3", root / "a.mp3")  # a file link loop
    os.symlink("a.mp3", root / "b.mp3")
    os.symlink("mindless_cut.mp3", root / "link_to_inside.mp3")  # same file under another name: skipped
    (root / "notes.txt").write_text("liner notes")
    shutil.copy2(VIDEO, root / "clip.webm")  # video files are not catalog tracks
    (root / ".hidden.mp3").write_text("AppleDouble junk")
    return root


BAD = ("text_renamed.mp3", "zero.wav", "truncated.mp3", "a.mp3", "b.mp3", "classical/loop")


def test_scan_adds_good_files_and_reports_bad_ones(tmp_path, library):
    before = _listing(library)
    calls = []
    with Catalog.create(tmp_path / "data" / "catalog.sqlite") as cat:
        report = cat.add_folder(library, progress=lambda f, s: calls.append((f, s)))
        assert report.added == len(GOOD) and not report.cancelled
        assert report.total == len(GOOD) + 5  # + text, zero, truncated, a, b
        assert report.ignored == 4  # notes.txt, clip.webm, .hidden.mp3, link_to_inside.mp3
        assert sorted(os.path.relpath(p, library) for p, _ in report.errors) == sorted(BAD)
        msgs = {os.path.relpath(p, library): m for p, m in report.errors}
        assert "not an audio or video file" in msgs["text_renamed.mp3"]
        assert "empty" in msgs["zero.wav"]
        assert "truncated" in msgs["truncated.mp3"]
        assert "loops" in msgs["a.mp3"]
        assert "not followed" in msgs["classical/loop"]
        assert sorted(cat.scan_errors(library)) == sorted(report.errors)
        assert [c[0] for c in calls] == [k / report.total for k in range(1, report.total + 1)]
        assert all(s.startswith("scanning ") for _, s in calls)

        tracks = {os.path.relpath(t.path, library): t for t in cat.tracks()}
        assert set(tracks) == set(GOOD)
        for rel, src in GOOD.items():
            t = tracks[rel]
            assert t.content_hash == content_hash(src) and t.size_bytes == src.stat().st_size
            assert t.duration_s == pytest.approx(media.probe(src).duration_s, abs=1e-6)
        assert tracks["mindless_cut.mp3"].title == "Mindless" and tracks["mindless_cut.mp3"].artist == "Sargon"
        assert tracks["classical/deeper/madmom_sample.wav"].title == "madmom_sample"
        assert tracks["trumpet/solo_trumpet_90bpm.ogg"].duration_s == pytest.approx(5.33, abs=0.05)
        s = cat.stats()
        assert s["by_status"] == {"ok": 4, "missing": 0, "error": 0} and s["scan_errors"] == len(BAD)
        assert s["total_duration_s"] == pytest.approx(sum(t.duration_s for t in tracks.values()))
    assert _listing(library) == before  # nothing written beside the music


def test_rescan_is_incremental(tmp_path, library, monkeypatch):
    with Catalog.create(tmp_path / "c.sqlite") as cat:
        cat.add_folder(library)

        def forbidden(*a, **k):
            raise AssertionError("an unchanged file was hashed or decoded again")

        monkeypatch.setattr(scan_mod, "content_hash", forbidden)
        monkeypatch.setattr(scan_mod.media, "probe", forbidden)
        report = cat.add_folder(library)
        assert (report.added, report.unchanged, report.moved, report.missing) == (0, len(GOOD), 0, 0)
        assert len(report.errors) == len(BAD)  # known problems are reported again, without re-decoding
        assert cat.count() == len(GOOD)


def test_moved_missing_restored_and_changed_files(tmp_path, library):
    with Catalog.create(tmp_path / "c.sqlite") as cat:
        cat.add_folder(library)
        mp3 = cat.find_by_path(library / "mindless_cut.mp3")
        cat.put_analysis(mp3.id, "beats", "1", {"bpm": 124})
        cat.set_user_fields(mp3.id, tags=["night"])
        pl = cat.create_playlist("picks")
        cat.add_to_playlist(pl, mp3.id, note="first choice")

        # moved (renamed into another sub-folder): same id, analyses, user fields, playlist entry
        (library / "moved").mkdir()
        os.rename(library / "mindless_cut.mp3", library / "moved" / "mindless.mp3")
        os.unlink(library / "link_to_inside.mp3")
        report = cat.add_folder(library)
        assert (report.moved, report.added, report.missing) == (1, 0, 0)
        t = cat.get_track(mp3.id)
        assert t.path == str(library / "moved" / "mindless.mp3") and t.status == "ok" and t.tags == ["night"]
        assert cat.get_analysis(mp3.id, "beats", "1").result == {"bpm": 124}
        assert cat.playlist_entries(pl)[0].track_id == mp3.id
        assert cat.count() == len(GOOD)

        # missing, then restored when it comes back (rename keeps size and mtime)
        wav = cat.find_by_path(library / "classical" / "deeper" / "madmom_sample.wav")
        os.rename(wav.path, tmp_path / "away.wav")
        report = cat.add_folder(library)
        assert report.missing == 1 and cat.get_track(wav.id).status == "missing"
        assert wav.id not in [x.id for x in cat.tracks()] and cat.count() == len(GOOD) - 1
        assert cat.add_folder(library).missing == 0  # already marked
        os.rename(tmp_path / "away.wav", wav.path)
        report = cat.add_folder(library)
        assert report.restored == 1 and cat.get_track(wav.id).status == "ok"

        # same path, new content: id and playlist kept, analyses dropped, facts refreshed
        shutil.copyfile(MUSIC / "vibe_ace.ogg", library / "moved" / "mindless.mp3")
        report = cat.add_folder(library)
        assert report.updated == 1
        t = cat.get_track(mp3.id)
        assert t.content_hash == content_hash(MUSIC / "vibe_ace.ogg") and t.title == "Vibe Ace"
        assert cat.get_analysis(mp3.id, "beats", "1") is None and cat.playlist_entries(pl)[0].track_id == mp3.id

        # a tracked file that gets damaged: status 'error', reported, not re-decoded while unchanged
        (library / "moved" / "mindless.mp3").write_text("oops")
        report = cat.add_folder(library)
        t = cat.get_track(mp3.id)
        assert t.status == "error" and "not an audio" in t.error
        assert any(p == t.path for p, _ in report.errors)
        assert any(p == t.path for p, _ in cat.add_folder(library).errors)

        # a bad file fixed by the user becomes a track and leaves the problem list
        shutil.copyfile(MUSIC / "hungarian_dance_5.ogg", library / "zero.wav")
        report = cat.add_folder(library)
        zero = cat.find_by_path(library / "zero.wav")
        # same content as classical/hungarian_dance_5.ogg, which is still there: a new track, not a move
        assert report.added == 1 and zero is not None and zero.status == "ok"
        assert str(library / "zero.wav") not in dict(cat.scan_errors())
        assert cat.integrity_check() == "ok"


def test_scan_cancel_keeps_work_and_marks_nothing_missing(tmp_path, library):
    with Catalog.create(tmp_path / "c.sqlite") as cat:
        cat.add_folder(library)
        os.rename(library / "mindless_cut.mp3", tmp_path / "gone.mp3")
        os.unlink(library / "link_to_inside.mp3")
        shutil.copy2(MUSIC / "vibe_ace.ogg", library / "vibe.ogg")
        seen = []
        report = cat.add_folder(library, progress=lambda f, s: seen.append(f), should_cancel=lambda: len(seen) >= 2)
        assert report.cancelled and len(seen) == 2 and report.missing == 0
        assert cat.find_by_path(tmp_path / "gone.mp3") is None
        assert all(t.status == "ok" for t in cat.tracks(include_missing=True))
        report = cat.add_folder(library)
        assert not report.cancelled and report.missing == 1 and cat.find_by_path(library / "vibe.ogg") is not None


_SCAN_DRIVER = """
import json, os, sys
from supervisor_app import media
from supervisor_app.catalog import Catalog, scan
from supervisor_app.catalog.metadata import read_tags
media.probe(sys.argv[3]), read_tags(sys.argv[3])  # load lazily imported modules before dropping root
if os.geteuid() == 0:  # root reads anything: become 'nobody' so that mode bits apply
    os.setgroups([]), os.setgid(65534), os.setuid(65534)
with Catalog.create(sys.argv[1]) as cat:
    r = cat.add_folder(sys.argv[2])
    print(json.dumps({"added": r.added, "errors": r.errors, "paths": [t.path for t in cat.tracks()]}))
"""


def test_unreadable_file_and_folder_are_reported():
    """chmod 000 on a file and a folder; as root the scan drops to 'nobody' (root reads anything)."""
    import subprocess
    import sys
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="catalog-perm-"))
    try:
        os.chmod(base, 0o755)
        lib, out = base / "lib", base / "out"
        (lib / "sub").mkdir(parents=True)
        out.mkdir()
        os.chmod(out, 0o777)
        for d in (lib, lib / "sub"):
            os.chmod(d, 0o755)
        for name in ("ok.ogg", "locked.ogg", "sub/hidden_by_folder.ogg"):
            shutil.copyfile(MUSIC / "solo_trumpet_90bpm.ogg", lib / name)
            os.chmod(lib / name, 0o644)
        (lib / "ok.ogg").write_bytes((MUSIC / "hungarian_dance_5.ogg").read_bytes())
        os.chmod(lib / "locked.ogg", 0)
        os.chmod(lib / "sub", 0)
        proc = subprocess.run([sys.executable, "-c", _SCAN_DRIVER, str(out / "c.sqlite"), str(lib),
                               str(MUSIC / "solo_trumpet_90bpm.ogg")], cwd=REPO, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        res = json.loads(proc.stdout)
        assert res["added"] == 1 and res["paths"] == [str(lib / "ok.ogg")]
        msgs = dict(res["errors"])
        assert "permission denied" in msgs[str(lib / "locked.ogg")].lower()
        assert "cannot be read" in msgs[str(lib / "sub")]
    finally:
        for p in (base / "lib" / "sub", base / "lib" / "locked.ogg"):
            if p.exists():
                os.chmod(p, 0o755)
        shutil.rmtree(base, ignore_errors=True)


def test_scan_rejects_bad_folder_arguments(tmp_path):
    with Catalog.create(tmp_path / "c.sqlite") as cat:
        with pytest.raises(errors.UsageError, match="does not exist"):
            cat.add_folder(tmp_path / "nope")
        with pytest.raises(errors.UsageError, match="not a folder"):
            cat.add_folder(tmp_path / "c.sqlite")


# --- CLI --------------------------------------------------------------------------------------------
def _run_cli(argv) -> int:
    parser = argparse.ArgumentParser()
    catalog_cli.add_cli(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_create_add_list_stats(tmp_path, library, capsys):
    path = str(tmp_path / "cli.sqlite")
    with pytest.raises(errors.CatalogNotFoundError):
        _run_cli(["catalog", "list", "--catalog", path])
    assert _run_cli(["catalog", "create", "--catalog", path]) == 0
    assert "created" in capsys.readouterr().out
    assert _run_cli(["catalog", "add", str(library), "--catalog", path]) == 0
    out, err = capsys.readouterr()
    assert f"{len(GOOD)} added" in out and "problem" in err
    assert _run_cli(["catalog", "list", "--catalog", path]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["id", "title", "artist", "duration", "BPM", "key", "1-stop", "status"]
    assert len(out) == 2 + len(GOOD)
    row = next(line for line in out if "Mindless" in line)
    assert "Sargon" in row and "1:03" in row and row.rstrip().endswith("ok")
    assert _run_cli(["catalog", "list", "--json", "--catalog", path]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(GOOD) and {"id", "path", "duration_s", "status", "rights"} <= set(rows[0])
    assert _run_cli(["catalog", "stats", "--json", "--catalog", path]) == 0
    assert json.loads(capsys.readouterr().out)["by_status"]["ok"] == len(GOOD)
    assert _run_cli(["catalog", "stats", "--catalog", path]) == 0
    assert f"{len(GOOD)} ok" in capsys.readouterr().out
    with pytest.raises(errors.UsageError):
        _run_cli(["catalog", "add", str(tmp_path / "nope"), "--catalog", path])


def test_cli_default_catalog_lives_in_app_data_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    assert _run_cli(["catalog", "create"]) == 0
    assert (tmp_path / "home" / "data" / "catalog.sqlite").is_file()


def test_format_duration():
    assert [catalog_cli.format_duration(x) for x in (None, 0, 59.6, 63.4, 3725)] == ["--:--", "0:00", "1:00", "1:03", "62:05"]
    assert catalog_cli.format_duration(3725, hours=True) == "1:02:05"
