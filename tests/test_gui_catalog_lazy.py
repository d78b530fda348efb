"""The catalog view on a 100,000-track catalog (issue 21: the window paints first, the list fills lazily).

The catalog is written straight into SQLite with ``executemany`` (about a second); the view is driven
with pytest-qt, offscreen: the right count, scrolling to the end, sorting, filtering, selection kept
across a sort, an older filter's answer never shown, and the window built without reading the rows
(the SQL run on the GUI thread's connection is traced). No wall-clock asserts.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

from supervisor_app.catalog import Catalog  # noqa: E402
from supervisor_app.gui.catalog_window import CatalogWindow  # noqa: E402
from supervisor_app.gui.catalog_model import REMOVED  # noqa: E402

pytestmark = pytest.mark.gui

N = 100_000
ARTISTS = ("Mara Lindqvist", "Kenji Amano", "Ölund Brass", "Copperline", None)


def _title(i: int):
    return None if i % 7 == 0 else f"Song {(i * 7919) % 50_000:05d}"


def _duration(i: int) -> float:
    return float((i * 104729) % 3600) + 0.25


@pytest.fixture(scope="module")
def big_catalog(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "catalog-100k.sqlite"
    now = time.time()
    rows = [(f"/library/d{i % 97:02d}/file_{i:06d}.wav", f"hash{i}", 1000, now, _duration(i), _title(i),
             ARTISTS[i % len(ARTISTS)], None if i % 3 == 0 else float(60 + i % 120),
             "missing" if i % 1000 == 1 else ("error" if i % 5000 == 3 else "ok"),
             "The file is not audio." if i % 5000 == 3 else None, now) for i in range(N)]
    with Catalog.create(path) as cat, cat.transaction() as c:
        c.executemany("INSERT INTO tracks (path, content_hash, size_bytes, mtime, duration_s, title, artist, bpm_tag, "
                      "status, error, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return path


def _shown_title(i: int) -> str:
    return _title(i) or f"file_{i:06d}"


class _Backend:
    def catalog_stats_text(self, catalog) -> str:
        return f"{catalog.count(include_missing=True)} tracks"


@pytest.fixture
def view(qtbot, big_catalog):
    cat = Catalog.open(big_catalog)
    cw = CatalogWindow(_Backend())
    qtbot.addWidget(cw)
    cw.resize(900, 600)
    yield cw, cat
    cw.close()
    cat.close()


def _wait_listed(qtbot, cw) -> None:
    qtbot.waitUntil(lambda: not cw._filter_timer.isActive() and cw.is_populated(), timeout=30000)


@pytest.mark.slow  # ~5 s with the catalog's build on a quiet machine
def test_a_100k_catalog_lists_scrolls_sorts_and_filters(qtbot, view):
    cw, cat = view
    statements: list[str] = []
    cat._db.set_trace_callback(statements.append)
    cw.set_catalog(cat)
    assert cw.model.rowCount() == 0 and cw.model.pages_read == 0, "nothing read on the GUI thread up front"
    assert cw.list_label.text() == "Listing tracks…"
    cw.show()
    qtbot.waitExposed(cw)
    _wait_listed(qtbot, cw)
    qtbot.waitUntil(cw.is_summary_current, timeout=30000)
    assert cw.model.rowCount() == N and cw.list_label.text() == f"{N:,} tracks"
    assert cw.stats_label.text() == f"{N} tracks"
    assert cw.errors.count() == N // 5000 and cw.errors_title.text() == f"Problems ({N // 5000})"
    # sorted by title (what is shown: the title, else the file's stem), ties by id
    order = sorted(range(N), key=lambda i: (_shown_title(i).lower(), i))
    assert [cw.model.data(cw.model.index(r, 0)) for r in range(5)] == [_shown_title(i) for i in order[:5]]
    # scroll to the end: the last rows are read, not the ones in between
    cw.table.scrollToBottom()
    qtbot.wait(50)
    last = cw.model.index(N - 1, 0)
    assert cw.model.data(last) == _shown_title(order[-1])
    assert cw.model.data(cw.model.index(N - 1, 5)) == f"/library/d{order[-1] % 97:02d}/file_{order[-1]:06d}.wav"
    assert cw.table.rowAt(cw.table.viewport().height() - 2) >= N - 40, "the view shows the last rows"
    assert cw.model.pages_read <= 6
    gui_sql = " ".join(statements)
    assert "SELECT * FROM tracks" not in gui_sql and "FROM analyses" not in gui_sql, "no full read on the GUI thread"

    # sort by length, longest first (numbers, not text); select a track: it stays selected through a sort
    cw.table.sortByColumn(2, Qt.DescendingOrder)
    _wait_listed(qtbot, cw)
    by_len = sorted(range(N), key=lambda i: (_duration(i), i), reverse=True)
    got = [cw.model.data(cw.model.index(r, 0)) for r in range(3)]
    assert got == [_shown_title(i) for i in by_len[:3]]
    cw.table.selectRow(1)
    picked = cw.selected_candidate()
    assert picked is not None and picked.path.endswith(f"file_{by_len[1]:06d}.wav")
    cw.table.sortByColumn(0, Qt.AscendingOrder)
    _wait_listed(qtbot, cw)
    row = order.index(by_len[1])
    assert [i.row() for i in cw.table.selectionModel().selectedRows()] == [row]
    assert cw.selected_candidate().track_id == picked.track_id

    # filter: any case, non-ASCII too; the count says "n of N"
    cw.search.setText("ölund")
    _wait_listed(qtbot, cw)
    n_olund = sum(1 for i in range(N) if ARTISTS[i % len(ARTISTS)] == "Ölund Brass")
    assert cw.model.rowCount() == n_olund and cw.list_label.text() == f"{n_olund:,} of {N:,} tracks"
    cw.search.setText("FILE_00012")
    _wait_listed(qtbot, cw)
    want = [i for i in order if "file_00012" in f"/library/d{i % 97:02d}/file_{i:06d}.wav" or
            "file_00012" in _shown_title(i).lower()]
    assert [cw.model.track_id(r) - 1 for r in range(cw.model.rowCount())] == want  # ids are 1 + the row index
    cw.search.clear()
    _wait_listed(qtbot, cw)
    assert cw.model.rowCount() == N


def test_only_the_latest_listing_is_shown_and_removed_tracks_say_so(qtbot, big_catalog, tmp_path):
    import sqlite3

    path = tmp_path / "copy.sqlite"  # tracks are removed below: a copy of the shared catalog
    with sqlite3.connect(big_catalog) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    cat = Catalog.open(path)
    cw = CatalogWindow(_Backend())
    qtbot.addWidget(cw)
    cw.set_catalog(cat)
    _wait_listed(qtbot, cw)
    cw.model.set_filter("d01/")
    cw.model.set_filter("file_099999")  # typed before the first answer came: only this one is shown
    assert cw.model.is_loading() and not cw.is_populated()
    _wait_listed(qtbot, cw)
    assert cw.model.rowCount() == 1 and cw.model.data(cw.model.index(0, 0)) == _shown_title(99_999)
    # a track removed after the listing shows as removed, never as another track's row
    cw.model.set_filter("file_09999")
    _wait_listed(qtbot, cw)
    tid = cw.model.track_id(0)
    with Catalog.open(path) as other:
        other.remove_track(tid)
    cw.model._pages.clear()
    assert cw.model.data(cw.model.index(0, 0)) == REMOVED
    cw.refresh()
    _wait_listed(qtbot, cw)
    assert tid not in cw.model.ids().tolist() and cw.model.rowCount() == 9
    cw.close()
    cat.close()


@pytest.mark.slow
def test_main_window_is_built_without_reading_the_tracks(qtbot, tmp_path, big_catalog, monkeypatch):
    """``create_window`` with a 100k catalog: no Track objects, no row read before the window is shown."""
    from test_gui_app import FakeBackend

    from supervisor_app.gui.app import create_window

    def no_full_read(*a, **k):
        raise AssertionError("Catalog.tracks() read every track at window creation")

    monkeypatch.setattr(Catalog, "tracks", no_full_read)
    win = create_window(backend=FakeBackend(tmp_path / "work"), catalog=str(big_catalog),
                        settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), theme="dark",
                        auto_recommend=False)
    qtbot.addWidget(win)
    cw = win.catalog_window
    assert cw.model.pages_read == 0 and cw.model.rowCount() == 0
    assert win.catalog_label.text().endswith(f"({N - N // 1000} tracks)")  # a count query
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(cw.is_populated, timeout=30000)
    assert cw.model.rowCount() == N and cw.model.pages_read == 0, "the hidden catalog window reads no rows"
    win.show_catalog_window()
    qtbot.waitExposed(cw)
    qtbot.waitUntil(lambda: cw.model.pages_read >= 1, timeout=10000)
    assert cw.model.pages_read <= 2
    win.close()
