"""Import library metadata (CSV / XLSX exports of DISCO, Source Audio, Harvest Media, Soundminer, ...).

>>> report = import_metadata(catalog, "library.csv")                 # doctest: +SKIP
>>> print(report.summary())                                            # doctest: +SKIP

Columns are mapped to track fields by their header (:data:`HEADER_ALIASES`, spelled the way the
common exports spell them: "Track Title", "Composer(s)", "Publishers", "One Stop", "Keywords",
"Mood", ...); ``mapping`` overrides or adds ("Track Title=title", "Notes=ignore"). Several columns may
feed one field: tags gather Keywords, Mood, Genre-like columns; PRO gathers composer and publisher PROs.

Each row is matched to a catalog track by, in order: its file (a path, or a file name unique in the
catalog), its ISRC (a track that already has it), or its title and artist (fuzzy, accent- and
case-insensitive; only an unambiguous, close match counts). Rows that match nothing, match several
tracks, or repeat a track an earlier row already set are reported, never guessed. Empty cells leave a
field as it is; a cell that cannot be read (a malformed ISRC, a BPM of "fast") is reported and the
row's other fields are still imported. Everything is written in one transaction (``dry_run`` writes
nothing).

Files: CSV/TSV in UTF-8 (with or without BOM), UTF-16 (with BOM, as Excel's "Unicode text" writes
it) or Windows-1252; the delimiter is detected; XLSX through openpyxl (the first sheet with a header).
"""
from __future__ import annotations

import codecs
import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from supervisor_app.infra import errors
from supervisor_app.catalog.fields import EDITABLE_FIELDS, canonical_field, fold, parse_value

#: compact folded header (letters and digits only) -> track field
HEADER_ALIASES: dict[str, str] = {}
_ALIASES = {
    "path": ("path", "file", "filename", "file name", "filepath", "file path", "full path", "location",
             "audio file", "audio filename", "track filename", "original filename", "source file", "pathname"),
    "title": ("title", "track title", "tracktitle", "track name", "song title", "song name", "song", "name",
              "track", "work title", "cue title", "display title"),
    "artist": ("artist", "artists", "artist name", "artist s", "main artist", "track artist", "performer",
               "performers", "performed by", "band", "display artist", "primary artist"),
    "album": ("album", "album title", "album name", "release", "release title", "cd title", "collection"),
    "composer": ("composer", "composers", "composer s", "composer name", "composer names", "writer", "writers",
                 "writer s", "songwriter", "songwriters", "written by", "composer full name", "composers names"),
    "publisher": ("publisher", "publishers", "publisher s", "publisher name", "publishing", "music publisher",
                  "publisher names", "publishing company"),
    "label": ("label", "record label", "library", "library name", "label name", "catalogue", "catalog",
              "master owner", "master rights owner", "master owner s"),
    "isrc": ("isrc", "isrc code", "track isrc", "isrc number"),
    "iswc": ("iswc", "iswc code", "work iswc"),
    "pro": ("pro", "pros", "society", "composer pro", "publisher pro", "writer pro", "performing rights organization",
            "performing rights organisation", "composer society", "publisher society", "pro affiliation"),
    "one_stop": ("one stop", "onestop", "one stop clearance", "one stop shop", "1 stop", "one stop cleared",
                 "is one stop", "one stop track"),
    "territories": ("territory", "territories", "licensable territories", "available territories",
                    "cleared territories", "territory restrictions", "region", "regions"),
    "restrictions": ("restrictions", "restriction", "usage restrictions", "exclusions", "excluded uses",
                     "restricted uses", "brand restrictions", "not cleared for", "restricted"),
    "cleared_for": ("cleared for", "cleared media", "cleared for media", "media", "clearances", "approved media",
                    "media cleared", "licensable media", "clearance", "usage"),
    "tags": ("tags", "tag", "keywords", "keyword", "mood", "moods", "style", "styles", "instruments",
             "instrumentation", "instrument", "category", "categories", "sub genre", "subgenre", "theme", "themes",
             "vocals", "vocal", "music for"),
    "genre": ("genre", "genres", "main genre", "primary genre"),
    "description": ("description", "track description", "desc", "synopsis", "summary", "lyrics summary"),
    "notes": ("notes", "note", "comment", "comments", "internal notes"),
    "bpm_tag": ("bpm", "tempo", "tempo bpm", "beats per minute"),
}
for _field, _names in _ALIASES.items():
    for _n in _names:
        HEADER_ALIASES[fold(_n).replace(" ", "")] = _field

#: fields where several columns are gathered (joined) rather than the first one kept
_MULTI = {"tags", "pro"}
IMPORT_FIELDS = ("path",) + EDITABLE_FIELDS
#: stricter than interactive naming: an import never guesses
IMPORT_MIN_SCORE = 0.88


@dataclass
class RowIssue:
    row: int  # 1-based row (record) number in the file, as a spreadsheet shows it
    message: str


@dataclass
class ImportReport:
    file: str
    encoding: str
    mapping: dict[str, str]  # column header -> field
    ignored_columns: list[str]
    rows: int = 0
    matched: list[tuple[int, int, str]] = field(default_factory=list)  # (row, track id, how: path|isrc|name)
    unmatched: list[RowIssue] = field(default_factory=list)
    ambiguous: list[RowIssue] = field(default_factory=list)
    duplicates: list[RowIssue] = field(default_factory=list)  # a track set by an earlier row; repeated ISRCs
    problems: list[RowIssue] = field(default_factory=list)  # unreadable cells (the row's other fields imported)
    updated_fields: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would update" if self.dry_run else "updated"
        return (f"{self.rows} rows: {len(self.matched)} matched ({verb} {self.updated_fields} fields), "
                f"{len(self.unmatched)} unmatched, {len(self.ambiguous)} ambiguous, "
                f"{len(self.duplicates)} duplicate, {len(self.problems)} unreadable cell(s)")

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        for k in ("unmatched", "ambiguous", "duplicates", "problems"):
            d[k] = [{"row": i.row, "message": i.message} for i in d[k]]
        d["matched"] = [{"row": r, "track_id": t, "how": h} for r, t, h in self.matched]
        return d


# --- reading the file ----------------------------------------------------------------------------------
def read_table(path: str | Path, encoding: Optional[str] = None) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """(header, [(row number in the file, cells)], encoding) of a CSV/TSV/XLSX file; cells are text ('' when
    empty); blank rows are skipped, and lines above the header (an export's title) too."""
    path = Path(path).expanduser()
    if not path.exists():
        raise errors.FileMissingError(path)
    if path.is_dir():
        raise errors.UsageError(f"{path} is a folder: give the CSV or XLSX file exported by your library.")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        table, enc = _read_xlsx(path), "xlsx"
    elif suffix == ".xls":
        raise errors.UsageError(f"{path.name} is an old Excel 97 (.xls) file: save it as .xlsx or CSV and import that.")
    else:
        text, enc = _decode(path.read_bytes(), encoding, path)
        table = _read_csv(text)
    numbered = [(n, [_cell(c) for c in r]) for n, r in enumerate(table, start=1)]
    numbered = [(n, r) for n, r in numbered if any(c for c in r)]
    if not numbered:
        raise errors.UsageError(f"{path.name} holds no rows.")
    h = _header_index([r for _, r in numbered])
    header = numbered[h][1]
    width = len(header)
    rows = [(n, (r + [""] * width)[:width]) for n, r in numbered[h + 1:]]
    return header, rows, enc


def _decode(raw: bytes, encoding: Optional[str], path: Path) -> tuple[str, str]:
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except (LookupError, UnicodeDecodeError) as e:
            raise errors.UsageError(f"{path.name} cannot be read as {encoding} ({e}).") from None
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    if len(raw) >= 4 and raw[1:4:2] == b"\x00\x00" and raw[0] and raw[2]:  # UTF-16-LE without a BOM
        return raw.decode("utf-16-le", errors="replace"), "utf-16-le"
    if len(raw) >= 4 and raw[0:4:2] == b"\x00\x00" and raw[1] and raw[3]:
        return raw.decode("utf-16-be", errors="replace"), "utf-16-be"
    if b"\x00" in raw[:4096]:
        raise errors.UsageError(f"{path.name} is not a text table (CSV): export the metadata as CSV or XLSX.")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _read_csv(text: str) -> list[list[str]]:
    """Rows of a delimited text; the delimiter is the one whose header row names the most known columns."""
    best, best_key = None, None
    for delim in (",", ";", "\t", "|"):
        try:
            rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim)]
        except csv.Error as e:
            raise errors.UsageError(f"The table cannot be read as CSV ({e}).") from None
        head = rows[_header_index(rows)] if rows else []
        key = (_recognised(head), len(head))
        if best_key is None or key > best_key:
            best, best_key = rows, key
    return best or []


def _read_xlsx(path: Path) -> list[list]:
    try:
        import openpyxl
    except ModuleNotFoundError:
        raise errors.MissingExtraError("Reading .xlsx needs openpyxl (pip install openpyxl==3.1.5), or export CSV.") from None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises zipfile/KeyError/InvalidFileException for damaged files
        raise errors.UsageError(f"{path.name} is not a readable .xlsx workbook ({type(e).__name__}).") from None
    try:
        best = None
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            rows = [r for r in rows if any(c not in (None, "") for c in r)]
            if rows and (best is None or _recognised(rows[_header_index(rows)]) > _recognised(best[_header_index(best)])):
                best = rows
        return best or []
    finally:
        wb.close()


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).replace("\ufeff", "").strip()


def _recognised(header) -> int:
    return sum(1 for h in header if _alias(_cell(h)) is not None)


def _header_index(table) -> int:
    """The header row: the first of the first 10 rows naming two known columns (exports may start with a title)."""
    for i, r in enumerate(table[:10]):
        if _recognised(r) >= 2:
            return i
    return 0


def _alias(header: str) -> Optional[str]:
    return HEADER_ALIASES.get(fold(header).replace(" ", ""))


def column_mapping(header: list[str], overrides: Optional[list[str]] = None) -> dict[int, str]:
    """Column index -> field, from the header and ``overrides`` ("Column=field"; field 'ignore' drops it)."""
    out: dict[int, str] = {}
    for i, h in enumerate(header):
        f = _alias(h)
        if f is not None:
            out[i] = f
    by_name = {fold(h): i for i, h in enumerate(header)}
    for spec in overrides or []:
        if "=" not in spec:
            raise errors.UsageError(f"--map {spec!r} is not COLUMN=FIELD (for example \"Track Title=title\").")
        col, fld = (s.strip() for s in spec.rsplit("=", 1))
        i = by_name.get(fold(col))
        if i is None:
            raise errors.UsageError(f"--map {spec!r}: the file has no column {col!r} (its columns: {', '.join(header)}).")
        if fld.casefold() in ("", "ignore", "skip", "none", "-"):
            out.pop(i, None)
        else:
            out[i] = "path" if fld.casefold() in ("path", "file", "filename") else canonical_field(fld)
    return out


# --- matching and applying -------------------------------------------------------------------------------
def import_metadata(catalog, file: str | Path, mapping: Optional[list[str]] = None, *, dry_run: bool = False,
                    encoding: Optional[str] = None) -> ImportReport:
    """Read ``file`` and set the metadata of the catalog tracks its rows name (see the module doc)."""
    header, rows, enc = read_table(file, encoding)
    cols = column_mapping(header, mapping)
    fields_present = set(cols.values())
    if not fields_present & {"path", "isrc", "title"}:
        raise errors.UsageError(
            f"{Path(file).name}: no column names the tracks (a file name, an ISRC or a title); its columns are "
            f"{', '.join(repr(h) for h in header)}: map one with --map \"COLUMN=title\" (or =path, =isrc).")
    report = ImportReport(file=str(file), encoding=enc, mapping={header[i]: f for i, f in sorted(cols.items())},
                          ignored_columns=[h for i, h in enumerate(header) if i not in cols and h], dry_run=dry_run)
    index = _CatalogIndex(catalog)
    seen_tracks: dict[int, int] = {}  # track id -> first row that set it
    seen_isrc: dict[str, int] = {}
    updates: list[tuple[int, dict]] = []
    for n, row in rows:
        report.rows += 1
        values, raw = _row_values(row, cols, n, report)
        found = _match(index, catalog, raw, values, n, report)
        if found is None:
            continue
        tid, how = found
        if tid in seen_tracks:
            report.duplicates.append(RowIssue(n, f"names the same track ({index.name(tid)}) as row {seen_tracks[tid]}; "
                                                 "row left out"))
            continue
        seen_tracks[tid] = n
        isrc = values.get("isrc")
        if isrc:
            if isrc in seen_isrc:
                report.duplicates.append(RowIssue(n, f"ISRC {isrc} is also on row {seen_isrc[isrc]} (another track); "
                                                     "imported anyway: check it in your library"))
            else:
                seen_isrc[isrc] = n
            other = [t for t in index.by_isrc.get(isrc, []) if t != tid]
            if other:
                report.duplicates.append(RowIssue(n, f"ISRC {isrc} is already on catalog track {other[0]} "
                                                     f"({index.name(other[0])}); imported anyway"))
        report.matched.append((n, tid, how))
        if values:
            updates.append((tid, values))
    report.updated_fields = sum(len(v) for _, v in updates)
    if not dry_run and updates:
        with catalog.transaction():
            for tid, values in updates:
                if "tags" in values:  # imported tags join the track's own
                    have = catalog.get_track(tid).tags or []
                    values["tags"] = list(dict.fromkeys([*have, *values["tags"]]))
                catalog.set_metadata(tid, values)
    return report


def _row_values(row, cols, n, report) -> tuple[dict, dict]:
    """(parsed field values, raw text by field) of one row; unreadable cells go to report.problems."""
    raw: dict[str, str] = {}
    for i, f in cols.items():
        cell = row[i].strip()
        if not cell:
            continue
        if f in _MULTI and f in raw:
            raw[f] = raw[f] + ("; " if f == "pro" else ", ") + cell
        elif f not in raw:
            raw[f] = cell
    values = {}
    for f, text in raw.items():
        if f == "path":
            continue
        if f == "pro":
            text = "; ".join(dict.fromkeys(p.strip() for p in text.replace(",", ";").split(";") if p.strip()))
        try:
            v = parse_value(f, text)
        except errors.UsageError as e:
            report.problems.append(RowIssue(n, f"{f}: {e}"))
            continue
        if v not in (None, "", []):
            values[f] = v
    return values, raw


class _CatalogIndex:
    def __init__(self, catalog):
        self.names = {}
        self.by_file: dict[str, list[int]] = {}
        self.by_stem: dict[str, list[int]] = {}
        self.by_path: dict[str, int] = {}
        self.by_isrc: dict[str, list[int]] = {}
        for t in catalog.tracks(include_missing=True):
            self.names[t.id] = t.display_name
            self.by_path[os.path.normcase(t.path)] = t.id
            name = os.path.basename(t.path)
            self.by_file.setdefault(name.casefold(), []).append(t.id)
            self.by_stem.setdefault(fold(Path(name).stem), []).append(t.id)
            if t.isrc:
                self.by_isrc.setdefault(t.isrc, []).append(t.id)
        self.paths = {v: k for k, v in self.by_path.items()}

    def name(self, tid: int) -> str:
        return f"{tid} {self.names.get(tid, '?')}"


def _match(index: _CatalogIndex, catalog, raw: dict, values: dict, n: int, report: ImportReport):
    from supervisor_app.catalog.resolve import match_names

    file = raw.get("path")
    if file:
        tid = index.by_path.get(os.path.normcase(os.path.abspath(os.path.expanduser(file))))
        if tid is not None:
            return tid, "path"
        name = file.replace("\\", "/").rsplit("/", 1)[-1]
        ids = index.by_file.get(name.casefold()) or index.by_stem.get(fold(Path(name).stem)) or []
        if len(ids) > 1:  # same file name in several folders: the longest common tail of the path decides
            parts = [p.casefold() for p in file.replace("\\", "/").split("/") if p]
            scored = sorted(((_tail(parts, index.paths[i]), i) for i in ids), reverse=True)
            if scored[0][0] > scored[1][0]:
                return scored[0][1], "path"
            report.ambiguous.append(RowIssue(n, f"file {name!r} fits {len(ids)} tracks: "
                                                + "; ".join(index.name(i) for i in ids[:5])))
            return None
        if ids:
            return ids[0], "path"
    isrc = values.get("isrc")
    if isrc and len(index.by_isrc.get(isrc, [])) == 1:
        return index.by_isrc[isrc][0], "isrc"
    title = raw.get("title")
    if title:
        artist = raw.get("artist")
        query = f"{artist} - {title}" if artist else title
        matches = [m for m in match_names(catalog, query, min_score=IMPORT_MIN_SCORE)]
        if artist and not matches:  # the catalog may not know the artist (untagged files): the title alone
            matches = [m for m in match_names(catalog, title, min_score=IMPORT_MIN_SCORE)
                       if m.score >= 1.0 and not _has_other_artist(catalog, m.track_id, artist)]
        if matches:
            top = [m for m in matches if m.score >= matches[0].score - 0.03]
            if len(top) == 1:
                return top[0].track_id, "name"
            report.ambiguous.append(RowIssue(n, f"{query!r} fits {len(top)} tracks: "
                                                + "; ".join(f"{m.track_id} {m.name}" for m in top[:5])))
            return None
    if isrc and len(index.by_isrc.get(isrc, [])) > 1:
        report.ambiguous.append(RowIssue(n, f"ISRC {isrc} is on {len(index.by_isrc[isrc])} catalog tracks: "
                                            + "; ".join(index.name(i) for i in index.by_isrc[isrc][:5])))
        return None
    what = ", ".join(f"{k} {v!r}" for k, v in raw.items() if k in ("path", "isrc", "title", "artist")) or "no name"
    report.unmatched.append(RowIssue(n, f"no catalog track for {what}"))
    return None


def _has_other_artist(catalog, tid: int, artist: str) -> bool:
    t = catalog.get_track(tid)
    return bool(t and t.artist and fold(t.artist) != fold(artist))


def _tail(parts: list[str], path: str) -> int:
    theirs = [p.casefold() for p in path.replace("\\", "/").split("/") if p]
    k = 0
    while k < min(len(parts), len(theirs)) and parts[-1 - k] == theirs[-1 - k]:
        k += 1
    return k
