"""The catalog's browsing queries (``catalog/browse.py``): ids in display order, filter, rows by page, problems.

Known answers computed in Python from the same rows (no Qt here; the view is tested in
``test_gui_catalog_lazy.py``)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from supervisor_app.catalog import Catalog
from supervisor_app.catalog.browse import DISPLAY_TITLE_SQL, BrowseQuery, browse_ids, browse_rows, problems

PATHS = ["/m/a.tar.gz", "/m/.hidden", "/m/trailing.", "/m/noext", "/m.d/x.y/z.mp3", "/m/..x", "/m/ünï cödé.flac",
         "/m/UPPER.WAV", "/m/two..dots.ogg"]


def _add(cat: Catalog, rows: list[dict]) -> None:
    cols = ["path", "content_hash", "size_bytes", "mtime", "duration_s", "title", "artist", "bpm_tag", "status",
            "error", "added_at"]
    with cat.transaction() as c:
        c.executemany(f"INSERT INTO tracks ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                      [tuple(r.get(k) for k in cols) for r in rows])


def _row(i: int, path: str, **kw) -> dict:
    return {"path": path, "content_hash": f"h{i}", "size_bytes": 1, "mtime": 0.0, "added_at": time.time(),
            "status": "ok", **kw}


@pytest.fixture
def cat(tmp_path):
    with Catalog.create(tmp_path / "c.sqlite") as c:
        yield c


def test_display_title_is_the_title_else_the_file_stem(cat):
    _add(cat, [_row(i, p) for i, p in enumerate(PATHS)] + [_row(99, "/m/t.mp3", title="Given"),
                                                           _row(98, "/m/e.mp3", title="")])
    got = {r[0]: r[1] for r in cat._db.execute(f"SELECT path, {DISPLAY_TITLE_SQL} FROM tracks")}
    for t in cat.tracks(include_missing=True):
        assert got[t.path] == (t.title or Path(t.path).stem), t.path


def test_sort_filter_and_pages_match_python(cat):
    rng = np.random.default_rng(0)
    artists = ["Zed", "alpha", "Beta", "Ölund", None]
    rows = []
    for i in range(3000):
        rows.append(_row(i, f"/lib/d{i % 13}/file_{i:05d}.wav", title=None if i % 7 == 0 else f"Song {rng.integers(0, 500)}",
                         artist=artists[i % 5], duration_s=float(rng.integers(1, 600)),
                         bpm_tag=None if i % 3 == 0 else float(60 + i % 120),
                         status="missing" if i % 100 == 1 else ("error" if i % 250 == 3 else "ok"),
                         error="The file is not audio." if i % 250 == 3 and i % 100 != 1 else None))
    _add(cat, rows)
    tracks = cat.tracks(include_missing=True)
    title = {t.id: (t.title or Path(t.path).stem) for t in tracks}

    def ascii_lower(s):  # COLLATE NOCASE folds ASCII letters only
        return "".join(ch.lower() if ch.isascii() else ch for ch in s)

    want = sorted(tracks, key=lambda t: (ascii_lower(title[t.id]), t.id))
    assert browse_ids(cat, BrowseQuery()).tolist() == [t.id for t in want]
    want = sorted(tracks, key=lambda t: (t.duration_s, t.id), reverse=True)
    assert browse_ids(cat, BrowseQuery(sort="duration_s", descending=True)).tolist() == [t.id for t in want]
    want = sorted(tracks, key=lambda t: (t.bpm_tag is not None, t.bpm_tag or 0, t.id))  # NULL first
    assert browse_ids(cat, BrowseQuery(sort="bpm_tag")).tolist() == [t.id for t in want]
    assert len(browse_ids(cat, BrowseQuery(include_missing=False))) == sum(t.status != "missing" for t in tracks)

    def matches(t, needle):
        return needle.casefold() in " ".join((title[t.id], t.artist or "", t.path)).casefold()

    for needle in ("ALPHA", "file_0001", "d12/", "song 4", "ölund", "ÖLUND", "nothing like this"):
        want = [t.id for t in sorted(tracks, key=lambda t: (ascii_lower(title[t.id]), t.id)) if matches(t, needle)]
        assert browse_ids(cat, BrowseQuery(text=needle)).tolist() == want, needle
    ids = browse_ids(cat, BrowseQuery(sort="path"))
    page = browse_rows(cat, ids[100:300])
    assert len(page) == 200
    by_id = {t.id: t for t in tracks}
    for tid, r in page.items():
        t = by_id[tid]
        assert (r.title, r.artist, r.duration_s, r.status, r.path, r.error) == (
            title[tid], t.artist or "", t.duration_s, t.status, t.path, t.error)
    cat.remove_track(int(ids[100]))
    assert int(ids[100]) not in browse_rows(cat, ids[100:102])  # gone since the listing: not read as another track
    assert [p for p, _ in problems(cat)] == [t.path for t in tracks if t.status == "error"]
    with pytest.raises(ValueError):
        browse_ids(cat, BrowseQuery(sort="nope"))
