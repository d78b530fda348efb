"""`catalog import-metadata`: library exports in odd encodings, with missing columns, duplicate ISRCs,
fuzzy names; rights filters on the imported fields."""
from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from supervisor_app.infra import errors
from supervisor_app.catalog import Catalog
from supervisor_app.catalog.import_metadata import column_mapping, import_metadata, read_table
from supervisor_app.catalog.rights import cleared_for_ok, restricted_for, territory_ok
from supervisor_app.cli.main import main
from supervisor_app.catalog.filters import Filters

from fixture_paths import MUSIC

# A Source Audio / DISCO style export: their header spellings, a preamble line, a row the catalog does
# not have, two rows for one track, an ISRC repeated on two rows, a bad ISRC and a bad BPM.
HEADER = ["Track Title", "Artist(s)", "Composer(s)", "Publisher(s)", "Label", "ISRC", "ISWC", "Composer PRO",
          "Publisher PRO", "One Stop", "Territory", "Restrictions", "Cleared For", "Keywords", "Mood",
          "Description", "BPM", "Filename", "Lyrics Language"]
ROWS = [
    ["Vibe Ace", "Kevin MacLeod", "Kevin MacLeod", "Incompetech", "Incompetech Records", "US-RC1-76-07839",
     "T-034.524.680-1", "ASCAP", "BMI", "Yes", "Worldwide", "", "TV, Online, Film", "jazz, swing",
     "Playful; Upbeat", "Café jazz with a walking bass — déjà vu", "130", "", ""],
    ["Hungarian Dance No 5", "U.S. Army Strings", "Johannes Brahms", "Public Domain", "", "USAAA2600001", "",
     "", "", "N", "US, Canada", "No political ads", "All media", "strings", "Dramatic", "", "fast", "", ""],
    ["Mindless", "Sargon", "Sargon", "", "", "GBXYZ2600002", "", "PRS", "", "", "Worldwide excl. DE", "",
     "Online", "metal", "Aggressive", "", "", "mindless_cut.mp3", ""],
    ["Song We Do Not Have", "Nobody", "", "", "", "USAAA2600001", "", "", "", "Yes", "", "", "", "", "", "",
     "", "", ""],
    ["Vibe Ace", "Kevin Macleod", "Someone Else", "", "", "", "", "", "", "No", "", "", "", "", "", "", "", "", ""],
    ["Lets Go Fishin", "Karissa Hobbs", "Karissa Hobbs", "Hobbs Music", "", "12345", "", "", "", "yes", "UK",
     "No alcohol or gambling brands", "TV", "folk, vocals", "Happy", "", "", "", "English"],
]


def _csv_text(delimiter=",", preamble=True) -> str:
    buf = io.StringIO()
    if preamble:
        buf.write("Exported from Source Audio on 2026-12-01\n")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(HEADER)
    w.writerows(ROWS)
    return buf.getvalue()


@pytest.fixture
def lib_cat(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("vibe_ace.ogg", "hungarian_dance_5.ogg", "mindless_cut.mp3", "lets_go_fishin.ogg"):
        shutil.copy2(MUSIC / name, lib / name)
    with Catalog.create(tmp_path / "c.sqlite") as cat:
        cat.add_folder(lib)
        yield cat


def _by_title(cat):
    """Tracks by their file's original title (imports may retitle them)."""
    names = {"vibe_ace": "Vibe Ace", "hungarian_dance_5": "Hungarian Dance No. 5", "mindless_cut": "Mindless",
             "lets_go_fishin": "Let's Go Fishin'"}
    from pathlib import Path
    return {names[Path(t.path).stem]: t for t in cat.tracks()}


@pytest.mark.parametrize("encoding,delimiter", [("utf-8-sig", ","), ("cp1252", ";"), ("utf-16", "\t"),
                                                ("utf-8", ",")])
def test_import_realistic_export(lib_cat, tmp_path, encoding, delimiter):
    text = _csv_text(delimiter)
    if encoding == "cp1252":
        text = text.replace("—", "-")  # cp1252 has the accents; keep the file honest cp1252
    f = tmp_path / f"export_{encoding}.csv"
    f.write_bytes(text.encode(encoding))
    rep = import_metadata(lib_cat, f)
    assert rep.encoding.startswith(encoding.split("-sig")[0][:5]) or rep.encoding == encoding
    assert rep.rows == 6
    assert {(r, how) for r, _, how in rep.matched} == {(3, "name"), (4, "name"), (5, "path"), (8, "name")}
    assert [i.row for i in rep.unmatched] == [6]
    dup_rows = sorted(i.row for i in rep.duplicates)
    assert 7 in dup_rows  # the second Vibe Ace row: left out, reported
    assert any("USAAA2600001" in i.message for i in rep.duplicates) is False  # row 6 matched nothing: not applied
    problems = {(i.row, i.message.split(":")[0]) for i in rep.problems}
    assert problems == {(4, "bpm_tag"), (8, "isrc")}
    assert rep.ignored_columns == ["Lyrics Language"]
    t = _by_title(lib_cat)
    vibe = t["Vibe Ace"]
    assert vibe.composer == "Kevin MacLeod" and vibe.isrc == "USRC17607839" and vibe.one_stop is True
    assert vibe.pro == "ASCAP; BMI" and vibe.cleared_for == "TV, Online, Film"
    assert vibe.description.startswith("Café jazz") and set(vibe.tags) >= {"jazz", "swing", "Playful", "Upbeat"}
    hd = t["Hungarian Dance No. 5"]
    assert hd.one_stop is False and hd.restrictions == "No political ads" and hd.bpm_tag is None  # 'fast' refused
    fish = t["Let's Go Fishin'"]
    assert fish.isrc is None and fish.publisher == "Hobbs Music"  # bad ISRC skipped, the rest imported
    assert t["Mindless"].territories == "Worldwide excl. DE"


def test_duplicate_isrcs_in_the_file_are_reported(lib_cat, tmp_path):
    f = tmp_path / "dup.csv"
    f.write_text("Title,Artist,ISRC\nVibe Ace,Kevin MacLeod,USRC17607839\nMindless,Sargon,USRC17607839\n",
                 encoding="utf-8")
    rep = import_metadata(lib_cat, f)
    assert len(rep.matched) == 2
    assert [i.row for i in rep.duplicates] == [3] and "also on row 2" in rep.duplicates[0].message
    # a later file matches rows by the ISRC the catalog now holds (no title needed)
    g = tmp_path / "by_isrc.csv"
    g.write_text("ISRC;Publisher\nGBXYZ2600009;Nobody\nUSRC17607839;Pub A\n", encoding="utf-8")
    rep2 = import_metadata(lib_cat, g)
    assert [i.row for i in rep2.unmatched] == [2]
    assert rep2.matched == [] and [i.row for i in rep2.ambiguous] == [3]  # two tracks hold that ISRC: no guess


def test_missing_columns_mapping_override_and_dry_run(lib_cat, tmp_path):
    f = tmp_path / "soundminer.csv"
    f.write_text("FilePath\tCDTitle\tShow\tNotes\n/x/y/vibe_ace.ogg\tSampler\tEpisode 4\tgood for the opener\n",
                 encoding="utf-8")
    header, rows, _ = read_table(f)
    assert column_mapping(header) == {0: "path", 1: "album", 3: "notes"}  # Soundminer's CDTitle is the album
    m = column_mapping(header, ["Show=description", "Notes=ignore"])
    assert m == {0: "path", 1: "album", 2: "description"}
    rep = import_metadata(lib_cat, f, ["Show=description"], dry_run=True)
    assert rep.matched and rep.updated_fields == 3 and rep.ignored_columns == []
    assert _by_title(lib_cat)["Vibe Ace"].album == "Jazz Sampler"  # dry run: unchanged
    import_metadata(lib_cat, f, ["Show=description"])
    vibe = _by_title(lib_cat)["Vibe Ace"]
    assert (vibe.album, vibe.description, vibe.notes) == ("Sampler", "Episode 4", "good for the opener")
    with pytest.raises(errors.UsageError, match="no column names the tracks"):
        g = tmp_path / "nothing.csv"
        g.write_text("Mood,Tempo\ncalm,80\n", encoding="utf-8")
        import_metadata(lib_cat, g)
    with pytest.raises(errors.UsageError, match="has no column 'Nope'"):
        import_metadata(lib_cat, f, ["Nope=title"])
    with pytest.raises(errors.UsageError, match="Unknown track field"):
        import_metadata(lib_cat, f, ["Show=colour"])


def test_xlsx_export(lib_cat, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Harvest Media export"])
    ws.append(HEADER)
    for r in ROWS:
        ws.append([int(c) if c.isdigit() else c for c in r])  # BPM as a number cell
    f = tmp_path / "harvest.xlsx"
    wb.save(f)
    rep = import_metadata(lib_cat, f)
    assert rep.encoding == "xlsx" and len(rep.matched) == 4
    assert _by_title(lib_cat)["Vibe Ace"].bpm_tag == 130.0
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(errors.UsageError, match="not a readable .xlsx"):
        import_metadata(lib_cat, bad)


def test_rights_words():
    assert territory_ok("Worldwide", "US") and territory_ok("Worldwide excl. DE", "US")
    assert not territory_ok("Worldwide excl. DE, AT", "Germany") and not territory_ok("Worldwide excl. DE", "de")
    assert territory_ok("US, Canada", "USA") and not territory_ok("US, Canada", "UK") and not territory_ok("", "US")
    assert cleared_for_ok("TV, Online", "television") and cleared_for_ok("All media", "games")
    assert not cleared_for_ok("Online", "TV") and not cleared_for_ok(None, "TV")
    assert restricted_for("No alcohol or gambling brands", "alcohol") and not restricted_for("No political ads", "alcohol")
    assert restricted_for("No political ads", "politics") and restricted_for("No political ads", "political")


def test_rights_filters_and_cli(lib_cat, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    f = tmp_path / "export.csv"
    f.write_text(_csv_text(), encoding="utf-8-sig")
    path = str(lib_cat.path)
    assert main(["catalog", "import-metadata", str(f), "--catalog", path]) == 0
    out = capsys.readouterr().out
    assert "row    6 unmatched" in out and "row    7 duplicate" in out and "4 matched" in out
    assert main(["catalog", "list", "--catalog", path, "--one-stop", "--json"]) == 0
    titles = {r["title"] for r in json.loads(capsys.readouterr().out)}
    assert titles == {"Vibe Ace", "Lets Go Fishin"}  # titles as the library writes them
    assert main(["catalog", "list", "--catalog", path, "--territory", "Germany", "--json"]) == 0
    assert {r["title"] for r in json.loads(capsys.readouterr().out)} == {"Vibe Ace"}
    assert main(["catalog", "list", "--catalog", path, "--cleared-for", "TV", "--not-restricted-for", "alcohol",
                 "--json"]) == 0
    assert {r["title"] for r in json.loads(capsys.readouterr().out)} == {"Vibe Ace", "Hungarian Dance No 5"}
    flt = Filters(one_stop_only=True, cleared_for=["online"])
    assert [t.title for t in lib_cat.tracks() if flt.accepts(t)] == ["Vibe Ace"]
    assert Filters.from_dict(flt.to_dict()) == flt
    assert main(["catalog", "import-metadata", str(tmp_path / "nope.csv"), "--catalog", path]) == 2
