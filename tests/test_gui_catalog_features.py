"""The window's catalog features (issues 16 and 19 wired into the app): the details pane edits library
metadata and rights, rights filters, the brief's explanation, BPM/key columns, XLSX playlists, the
shared default catalog, mockup decisions, honest model summaries and the metadata import dialog.

pytest-qt, offscreen, on a real catalog of demo tracks; the slow analysers are faked (test_gui_app)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

from supervisor_app.catalog import Catalog  # noqa: E402
from supervisor_app.gui.backend import Candidate  # noqa: E402

pytestmark = pytest.mark.gui

MUSIC = Path(__file__).resolve().parent.parent / "resources" / "demo" / "music"


@pytest.fixture
def catalog_path(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    for name in ("hungarian_dance_5.ogg", "vibe_ace.ogg", "solo_trumpet_90bpm.ogg"):
        shutil.copy(MUSIC / name, music / name)
    cat = tmp_path / "catalog.sqlite"
    with Catalog.create(cat) as c:
        c.add_folder(music)
    return cat


@pytest.fixture
def win(qtbot, tmp_path, catalog_path):
    from test_gui_app import FakeBackend

    from supervisor_app.gui.app import create_window

    w = create_window(backend=FakeBackend(tmp_path / "work"), catalog=str(catalog_path),
                      settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), theme="dark",
                      auto_recommend=False)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _cands(catalog_path) -> list[Candidate]:
    with Catalog.open(catalog_path) as cat:
        return [Candidate(track_id=t.id, path=t.path, title=t.title or Path(t.path).stem, artist=t.artist or "",
                          duration_s=t.duration_s, rank=i + 1, sync_score=0.5 - 0.1 * i)
                for i, t in enumerate(cat.tracks())]


def test_details_pane_edits_metadata_and_rights_and_every_view_follows(win, qtbot, catalog_path):
    from supervisor_app.catalog.tracks_view import track_facts

    rows = _cands(catalog_path)
    win.recommendations.set_results(rows)
    c = rows[1]
    win.select_candidate(c)
    d = win.details
    assert d.track_id == c.track_id and d.editable()
    shown = dict(d.rows())
    assert shown["Title"] == c.title and "Key" in shown
    assert not d.save_button.isEnabled()  # nothing changed yet
    d.set_value("composer", "Johannes Brahms")
    d.set_value("one_stop", "yes")
    d.set_value("territories", "Worldwide excl. DE")
    d.set_value("cleared_for", "TV, online")
    d.set_value("restrictions", "no alcohol brands")
    d.set_value("tags", "dance, orchestral")
    d.set_value("isrc", "us-rc1-76-07839")
    assert d.save_button.isEnabled()
    d.save_button.click()
    with Catalog.open(catalog_path) as cat:
        t = cat.get_track(c.track_id)
        facts = track_facts(cat, t)
    assert (t.composer, t.one_stop, t.territories, t.cleared_for) == ("Johannes Brahms", True, "Worldwide excl. DE",
                                                                      "TV, online")
    assert t.tags == ["dance", "orchestral"] and t.isrc == "USRC17607839"  # parsed by the core, as the CLI does
    # the pane shows the saved (normalised) values, the table's tags cell and the catalog window follow
    assert d.values()["isrc"] == "USRC17607839" and not d.save_button.isEnabled()
    m = win.recommendations.table.source
    row = next(i for i, r in enumerate(m.rows) if r.track_id == c.track_id)
    assert m.index(row, m.TAGS_COL).data().startswith("dance, orchestral")
    assert "Saved" in win.status_message()
    assert facts["composer"] == "Johannes Brahms"
    # a value the core cannot read: one sentence in the pane, nothing saved, the user's text kept
    d.set_value("isrc", "not an isrc")
    d.save_button.click()
    assert not d.error_label.isHidden() and "ISRC" in d.error_label.text() and d.tabs.currentIndex() == 1
    assert d.values()["isrc"] == "not an isrc"
    with Catalog.open(catalog_path) as cat:
        assert cat.get_track(c.track_id).isrc == "USRC17607839"
    # clearing a field ('' clears) and another track: no stale text from the first
    d.revert()
    d.set_value("composer", "")
    d.save_button.click()
    with Catalog.open(catalog_path) as cat:
        assert cat.get_track(c.track_id).composer is None
    # the same track shown again (e.g. final results replacing partial ones) keeps what the user is typing
    d.set_value("publisher", "Half typed")
    win.select_candidate(c)
    assert d.values()["publisher"] == "Half typed" and d.save_button.isEnabled()
    win.select_candidate(rows[0])
    assert d.track_id == rows[0].track_id and d.values()["territories"] == "" and d.values()["one_stop"] == ""
    assert d.values()["publisher"] == "" and not d.save_button.isEnabled()


def test_rights_filters_are_the_clis(win, catalog_path):
    """The app's rights filters give the same core Filters as the CLI's flags, and leave out what they should."""
    import argparse

    from supervisor_app.catalog.filters import Filters
    from supervisor_app.cli.args import add_filter_arguments, filters_from_args

    with Catalog.open(catalog_path) as cat:
        a, b, c = cat.tracks()
        cat.set_metadata(a.id, {"one_stop": True, "territories": "Worldwide", "cleared_for": "TV, online",
                                "restrictions": "no alcohol brands"})
        cat.set_metadata(b.id, {"one_stop": True, "territories": "Worldwide excl. DE, AT", "cleared_for": "all media"})
        cat.set_metadata(c.id, {"one_stop": False, "territories": "Germany", "cleared_for": "TV"})
        tracks = cat.tracks()
    form = win.recommendations.filters
    assert form.is_empty()
    form.one_stop.setChecked(True)
    form.territory.setText("Germany")
    assert not form.is_empty()
    p = argparse.ArgumentParser()
    add_filter_arguments(p)

    def ids(f):
        return [t.id for t in tracks if f.accepts(t)]

    app_f = Filters.from_dict(form.value())
    cli_f = filters_from_args(p.parse_args(["--one-stop", "--territory", "Germany"]))
    assert app_f == cli_f and ids(app_f) == [a.id]  # b excludes DE, c is not one-stop
    form.set_value({})
    form.cleared_for.setText("TV, online")
    form.not_restricted_for.setText("alcohol")
    app_f = Filters.from_dict(form.value())
    cli_f = filters_from_args(p.parse_args(["--cleared-for", "TV", "--cleared-for", "online",
                                            "--not-restricted-for", "alcohol"]))
    assert app_f == cli_f and ids(app_f) == [b.id]  # a is restricted for alcohol, c is TV only
    # the recommendations' settings carry them to the backend, and they survive a restart (settings)
    s = win.recommendations.settings()
    assert Filters.from_dict(s.filters) == cli_f
    win.recommendations.filters.set_value({})
    win.recommendations.set_settings({"filters": s.filters})
    assert Filters.from_dict(win.recommendations.filters.value()) == cli_f


def test_brief_recommend_uses_brief_candidates_and_the_field_says_what_was_understood(win, qtbot, catalog_path,
                                                                                       tmp_path, monkeypatch):
    import supervisor_app.services.recommend as rec_mod
    from supervisor_app.briefs.search import brief_candidates
    from supervisor_app.catalog.filters import Filters
    from supervisor_app.gui.backend import CoreBackend, RecommendSettings

    brief = "calm piano, no vocals, one-stop, zorblax"
    with Catalog.open(catalog_path) as cat:
        a = cat.tracks()[0]
        cat.set_metadata(a.id, {"one_stop": True})
        want_exclude, want_filters, want_line = brief_candidates(cat, brief, Filters())
    seen = {}

    def fake_recommend(video, cat, **kw):
        seen.update(kw)
        from types import SimpleNamespace

        return SimpleNamespace(results=[], notes=[], excluded=[])

    monkeypatch.setattr(rec_mod, "recommend", fake_recommend)
    CoreBackend(tmp_path / "w").recommend("v.mp4", str(catalog_path), RecommendSettings(brief=brief))
    # the same candidates and rights as `recommend --brief` (one-stop from the brief: only track a)
    assert seen["exclude_track_ids"] == want_exclude and seen["filters"] == want_filters
    assert want_filters.one_stop_only
    # under the brief field: what was understood and what was not, in plain words (after a pause in typing)
    r = win.recommendations
    r.brief_edit.setText(brief)
    qtbot.waitUntil(lambda: r.brief_note.isVisibleTo(r) and bool(r.brief_note.text()), timeout=20000)
    text = r.brief_note.text()
    assert text.startswith("Understood: ") and "calm" in text and "piano" in text and "no vocals" in text
    assert "one-stop" in text and "Not understood: “zorblax”" in text and "→" not in text
    r.brief_edit.setText("")
    qtbot.waitUntil(lambda: not r.brief_note.isVisibleTo(r), timeout=5000)


def test_bpm_and_key_columns_and_xlsx_playlist(win, qtbot, catalog_path, tmp_path, monkeypatch):
    from openpyxl import load_workbook

    from supervisor_app.analysis.descriptors import DESCRIPTORS, DESCRIPTORS_VERSION
    from supervisor_app.catalog.tracks_view import tempo_and_key

    with Catalog.open(catalog_path) as cat:
        a, b, c = cat.tracks()
        cat.put_analysis(a.id, DESCRIPTORS, DESCRIPTORS_VERSION, {"key": "A minor", "tempo_bpm": 97.4})
        cat.put_analysis(b.id, DESCRIPTORS, DESCRIPTORS_VERSION, {"key": "E major", "key_uncertain": True})
        cat.set_metadata(b.id, {"bpm_tag": 120.0, "composer": "Ada Lovelace", "one_stop": True})
        want = {t.id: tempo_and_key(cat, t) for t in cat.tracks()}
    assert want[a.id] == (97.4, "A minor") and want[b.id] == (120.0, "E major?")
    # recommendations and similar tracks (the core's rankings replaced by fixed lists) show the CLI's BPM and key
    import supervisor_app.services.recommend as rec_mod
    import supervisor_app.services.similar as sim_mod
    from types import SimpleNamespace

    from supervisor_app.gui.backend import CoreBackend, RecommendSettings

    def rows_of(ids):
        return [{"track_id": i, "path": f"/x/{i}.ogg", "title": f"t{i}", "rank": n + 1, "sync_score": 0.1}
                for n, i in enumerate(ids)]

    monkeypatch.setattr(rec_mod, "recommend", lambda *a_, **k: SimpleNamespace(results=rows_of([a.id, b.id, c.id]),
                                                                               notes=[], excluded=[]))
    monkeypatch.setattr(sim_mod, "similar", lambda *a_, **k: SimpleNamespace(results=rows_of([b.id, c.id]), notes=[],
                                                                             space_note="sound"))
    core = CoreBackend(tmp_path / "w")
    recs = core.recommend("v.mp4", str(catalog_path), RecommendSettings())
    sims = core.similar(recs[0], str(catalog_path))
    win.recommendations.set_results(recs)
    win.similar_panel.set_results(sims)
    for table in (win.recommendations.table, win.similar_panel.table):
        m = table.source
        got = {r.track_id: (m.index(i, m.BPM_COL).data(), m.index(i, m.KEY_COL).data()) for i, r in enumerate(m.rows)}
        assert got[b.id] == ("120", "E?") and got[c.id][1] == ""  # E major, uncertain: in full on hover
        row_b = next(i for i, r in enumerate(m.rows) if r.track_id == b.id)
        assert m.index(row_b, m.KEY_COL).data(Qt.ToolTipRole) == "E major (uncertain)"
        if a.id in got:
            assert got[a.id] == ("97", "Am")  # the descriptors' tempo when nothing better is known
        assert m.headerData(m.KEY_COL, Qt.Horizontal) == "Key"
    assert win.similar_panel.table.source.headerData(m.SCORE_COL, Qt.Horizontal) == "Similarity"
    # the playlist's Export menu offers XLSX: the core's sheet, with metadata and rights
    assert "xlsx" in win.playlist_panel.export_actions
    assert win.add_to_playlist(next(r for r in win.recommendations.table.source.rows if r.track_id == b.id))
    pid = win.playlist_panel.current_playlist_id()
    out = win.export_playlist(pid, "xlsx", tmp_path / "shortlist.xlsx")
    ws = load_workbook(out).active
    header = [c.value for c in ws[1]]
    row = dict(zip(header, [c.value for c in ws[2]]))
    assert row["Composer"] == "Ada Lovelace" and str(row["Key"]) == "E major?"


def test_the_default_catalog_is_the_clis(qtbot, tmp_path, catalog_path, monkeypatch):
    """The app opens the CLI's default catalog, and a catalog opened in the app becomes the CLI's default."""
    from test_gui_app import FakeBackend

    from supervisor_app.gui.app import create_window
    from supervisor_app.infra.paths import default_catalog_path
    from supervisor_app.infra.settings import remember_catalog

    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    remember_catalog(catalog_path)  # e.g. by `supervisor-app catalog create` or the demo
    w = create_window(backend=FakeBackend(tmp_path / "work"), settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat),
                      auto_recommend=False)
    qtbot.addWidget(w)
    try:
        assert w.catalog is not None and Path(w.catalog.path) == catalog_path
        other = tmp_path / "other.sqlite"
        Catalog.create(other).close()
        assert w.open_catalog(other)
        assert default_catalog_path() == other  # the CLI's commands now use it without --catalog
    finally:
        w.close()


@pytest.fixture(scope="module")
def long_picture(tmp_path_factory):
    """A 2.5-minute picture (Big Buck Bunny looped 5x), tiny and at 10 fps so that tests stay quick."""
    import subprocess

    from fixture_paths import BBB

    out = tmp_path_factory.mktemp("pic") / "bbb_150s.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "4", "-i", str(BBB), "-vf", "scale=160:90,fps=10",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "48k", str(out)], check=True)
    return out


@pytest.mark.slow
def test_approve_and_reject_the_mockup_on_a_long_picture(win, qtbot, long_picture, catalog_path):
    from supervisor_app.archive import store

    win.auto_recommend = True
    with qtbot.waitSignal(win.recommendations_ready, timeout=60000):
        win.open_video(long_picture)
    assert win.video.duration_s == pytest.approx(150.0, abs=1.0)
    qtbot.waitUntil(lambda: win.preview is not None, timeout=60000)
    assert win.act_approve.isEnabled() and win.act_reject.isEnabled()
    p = win.preview
    # exporting offers to mark the mockup approved
    dlg = win.show_export_dialog()
    dlg.set_formats({"edl"})
    dlg.dir_edit.setText(str(catalog_path.parent / "exports"))
    dlg.approve_check.setChecked(True)
    with qtbot.waitSignal(win.mockup_decided, timeout=60000) as sig:
        dlg.start()
    d = sig.args[0]
    assert d.decision == "approved" and d.created and d.track_id == p.candidate.track_id
    assert "Mockup approved" in win.status_message()
    with Catalog.open(catalog_path) as cat:
        (pair,) = store.pairs(cat, origin="mockup")
    assert pair.decision == "approved" and pair.track_id == p.candidate.track_id
    dlg.close()
    # Reject (Ctrl+Shift+R in the Edit menu): the same edit's decision changes, no second pair
    with qtbot.waitSignal(win.mockup_decided, timeout=60000) as sig:
        win.act_reject.trigger()
    assert sig.args[0].decision == "rejected" and not sig.args[0].created
    assert "Mockup rejected" in win.status_message() and "earlier decision" in win.status_message()
    with Catalog.open(catalog_path) as cat:
        (pair,) = store.pairs(cat, origin="mockup")
    assert pair.decision == "rejected"
    assert win.act_reject.shortcut().toString() == "Ctrl+Shift+R"


def _summary(name, path, active=False, archive=True):
    from supervisor_app.archive.training import ModelSummary

    return ModelSummary(name=name, path=str(path), segmentation="olda", trained_on="archive" if archive else "clips",
                        n_training_pairs=42, n_held_out_pairs=12, held_out_is_test=archive, held_out_mean_rank=3.5,
                        held_out_r10=75.0, chance_mean_rank=6.5, chance_r10=50.0, fit_only_mean_rank=5.9,
                        fit_only_r10=58.0, active=active)


def test_model_selector_and_train_dialog_show_measured_numbers(win, qtbot, catalog_path, tmp_path, monkeypatch):
    import supervisor_app.archive.training as training

    from supervisor_app.gui.train_dialog import TrainDialog

    sums = [_summary("archive-olda-1234", tmp_path / "models" / "archive-olda-1234", active=True)]
    seen = {}
    monkeypatch.setattr(training, "model_summaries", lambda catalog=None: seen.setdefault("cat", catalog) and sums or sums)
    assert win.backend.model_summaries(win.catalog) == sums and seen["cat"] is win.catalog  # the core's, with the catalog
    combo = win.recommendations.model_combo
    combo.addItem("archive-olda-1234 (segvmnet)", "archive-olda-1234")
    win.refresh_model_summaries()
    i = combo.findData("archive-olda-1234")
    label = combo.itemText(i)
    assert "75 %" in label and "chance 50 %" in label and "fit only 58 %" in label and "42" in label and "active" in label
    assert combo.itemData(i, Qt.ToolTipRole) == sums[0].text() and "mean rank 3.5 (chance 6.5, fit-only 5.9)" in sums[0].text()
    # "Train on your archive": without pairs, the clips folder; with pairs, the archive (train_from_archive)
    win.show_train_dialog()
    dlg = win._train_dialog
    assert isinstance(dlg, TrainDialog) and dlg.source() == "clips" and sums[0].text() in dlg.models_label.text()
    calls = []

    def fake_train(cat_path, seg="olda", progress=None, should_cancel=None, log=None):
        calls.append((cat_path, seg))
        progress(0.5, "epoch 1: validation mean rank 4.0; about 1 min left")
        return sums[0].text() + ". It is now the active model: no active model yet."

    monkeypatch.setattr(win.backend, "train_from_archive", fake_train)
    monkeypatch.setattr(win.backend, "archive_pair_count", lambda cat: 7)
    win.show_train_dialog()
    assert dlg.source() == "archive" and "7 pairs" in dlg.source_combo.currentText()
    assert not dlg.folder_edit.isEnabled()
    with qtbot.waitSignal(dlg.model_trained, timeout=20000) as sig:
        dlg.start()
    assert calls == [(str(catalog_path), "olda")] and "active model" in sig.args[1]
    assert "active model" in win.status_message()
    dlg.close()


def test_import_metadata_dialog_checks_then_imports(win, qtbot, catalog_path, tmp_path):
    rows = _cands(catalog_path)
    win.recommendations.set_results(rows)
    win.select_candidate(rows[0])
    name0 = Path(rows[0].path).name
    csv_file = tmp_path / "library export.csv"
    csv_file.write_text("File Name;Composer(s);ISRC;One Stop;Territories;Keywords\n"
                        f"{name0};Jöhannes Brahms;US-RC1-76-07839;Y;Worldwide;dance, orchestral\n"
                        "not_in_the_catalog.wav;Nobody;;N;;\n", encoding="cp1252")
    assert win.act_import_metadata.text() == "Import metadata…"
    dlg = win.show_import_dialog()
    assert dlg is not None and not dlg.import_button.isEnabled()
    dlg.file_edit.setText(str(csv_file))
    with qtbot.waitSignal(dlg.slot.busy_changed, timeout=20000, check_params_cb=lambda b: not b):
        dlg.check()
    assert dlg.report.dry_run and "1 of 2 rows match a catalog track, 1 match none" in dlg.summary.text()
    assert "not_in_the_catalog.wav" in dlg.details.toPlainText() and "Composer(s) → composer" in dlg.details.toPlainText()
    with Catalog.open(catalog_path) as cat:
        assert cat.get_track(rows[0].track_id).composer is None  # the check wrote nothing
    assert dlg.import_button.isEnabled()
    with qtbot.waitSignal(dlg.imported, timeout=20000):
        dlg.import_button.click()
    with Catalog.open(catalog_path) as cat:
        t = cat.get_track(rows[0].track_id)
    assert (t.composer, t.isrc, t.one_stop, t.territories) == ("Jöhannes Brahms", "USRC17607839", True, "Worldwide")
    assert "Imported" in dlg.summary.text() and not dlg.import_button.isEnabled()  # check again before another import
    # the details pane and the table show the imported values at once
    assert win.details.values()["composer"] == "Jöhannes Brahms" and win.details.values()["one_stop"] == "yes"
    m = win.recommendations.table.source
    assert "dance" in m.index(0, m.TAGS_COL).data()
    assert "Imported metadata for 1 track" in win.status_message()
    dlg.close()
