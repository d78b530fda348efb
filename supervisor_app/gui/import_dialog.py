"""File › Import metadata…: a library's CSV/XLSX export (DISCO, Source Audio, Harvest Media, Soundminer)
into the catalog, the core's ``import_metadata`` (as ``catalog import-metadata``).

"Check" runs it with ``dry_run=True`` (nothing written) and shows what would happen: the columns
recognised, how many rows match a track and how (file, ISRC, title and artist), and the rows that match
nothing, several tracks or the same track twice. "Import" then writes it (one transaction). Both run
off the GUI thread. ``imported(report)`` when the catalog changed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QDialog, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QVBoxLayout, QWidget)

from supervisor_app.gui.widgets import ProgressStrip
from supervisor_app.gui.workers import Job, JobSlot

_MAX_LISTED = 30  # rows listed per kind of problem (the counts are always complete)


def report_text(report) -> str:
    """The dry run's (or the import's) report for people."""
    lines = [report.summary().replace("would update", "would set").replace("updated", "set") + "."]
    how: dict[str, int] = {}
    for _row, _tid, h in report.matched:
        how[h] = how.get(h, 0) + 1
    if how:
        names = {"path": "by file", "isrc": "by ISRC", "name": "by title and artist"}
        lines.append("Matched " + ", ".join(f"{n} {names.get(h, h)}" for h, n in sorted(how.items())) + ".")
    if report.mapping:
        lines.append("Columns read: " + "; ".join(f"{col} → {f.replace('_', ' ')}" for col, f in report.mapping.items()))
    if report.ignored_columns:
        lines.append("Columns left out: " + ", ".join(report.ignored_columns))
    for title, issues in (("Not matched", report.unmatched), ("Ambiguous", report.ambiguous),
                          ("Duplicates", report.duplicates), ("Unreadable cells", report.problems)):
        if issues:
            lines.append(f"\n{title} ({len(issues)}):")
            lines += [f"  row {i.row}: {i.message}" for i in issues[:_MAX_LISTED]]
            if len(issues) > _MAX_LISTED:
                lines.append(f"  … and {len(issues) - _MAX_LISTED} more")
    return "\n".join(lines)


class ImportMetadataDialog(QDialog):
    imported = Signal(object)  # catalog.import_metadata.ImportReport

    def __init__(self, backend, catalog_path: str, parent: Optional[QWidget] = None, start_dir: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Import metadata")
        self.setModal(False)
        self.resize(700, 480)
        self.backend = backend
        self.catalog_path = str(catalog_path)
        self.slot = JobSlot(self)
        self.checked_file: Optional[str] = None  # the file the last dry run read
        self.report = None
        lay = QVBoxLayout(self)
        intro = QLabel("A spreadsheet your library exports (CSV or XLSX from DISCO, Source Audio, Harvest Media, "
                       "Soundminer, …): composer, publisher, ISRC, rights, tags. Rows are matched to catalog tracks by "
                       "file name, ISRC or title and artist; nothing is guessed. Check first, then import.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        row = QHBoxLayout()
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("library export (.csv, .tsv, .txt or .xlsx)")
        self.file_edit.textChanged.connect(self._file_changed)
        browse = QPushButton("Choose…")
        browse.clicked.connect(lambda: self._choose(start_dir))
        row.addWidget(self.file_edit, 1)
        row.addWidget(browse)
        lay.addLayout(row)
        self.progress = ProgressStrip()
        self.progress.cancel_clicked.connect(self.slot.cancel)
        lay.addWidget(self.progress)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        lay.addWidget(self.details, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("Read the file and show what would be imported (nothing is written)")
        self.import_button = QPushButton("Import")
        self.import_button.setToolTip("Write the checked file's metadata into the catalog")
        close = QPushButton("Close")
        self.check_button.clicked.connect(self.check)
        self.import_button.clicked.connect(self.apply)
        close.clicked.connect(self.close)
        for b in (self.check_button, self.import_button, close):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.slot.busy_changed.connect(lambda _b: self._update_buttons())
        self._update_buttons()

    def _choose(self, start_dir: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Library metadata", start_dir,
                                              "Spreadsheets (*.csv *.tsv *.txt *.xlsx);;All files (*)")
        if path:
            self.file_edit.setText(path)
            self.check()

    def _file_changed(self, _t: str) -> None:
        self.checked_file, self.report = None, None
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self.slot.is_busy()
        self.check_button.setEnabled(not busy and bool(self.file_edit.text().strip()))
        ok = self.report is not None and self.report.dry_run and bool(self.report.matched)
        self.import_button.setEnabled(not busy and ok and self.checked_file == self.file_edit.text().strip())

    def _run(self, dry_run: bool) -> Optional[Job]:
        file = self.file_edit.text().strip()
        if not file:
            self.summary.setText("Choose the library's spreadsheet first.")
            return None
        backend, cat = self.backend, self.catalog_path
        job = Job(lambda ctx: backend.import_metadata(cat, file, dry_run=dry_run), name="metadata import")
        job.succeeded.connect(lambda report: self._done(file, report))
        job.failed.connect(self._failed)
        job.cancelled.connect(lambda: self._failed("Cancelled: nothing was written."))
        self.progress.start("Checking the file" if dry_run else "Importing")
        return self.slot.start(job)

    def check(self) -> Optional[Job]:
        """A dry run: what the import would do."""
        return self._run(dry_run=True)

    def apply(self) -> Optional[Job]:
        """The import itself (only after a dry run of the same file)."""
        if self.report is None or not self.report.dry_run or self.checked_file != self.file_edit.text().strip():
            self.summary.setText("Check the file first.")
            return None
        return self._run(dry_run=False)

    def _done(self, file: str, report) -> None:
        self.progress.stop()
        self.report = report
        self.checked_file = file if report.dry_run else None
        n, m = report.rows, len(report.matched)
        if report.dry_run:
            head = (f"{Path(file).name}: {m} of {n} rows match a catalog track, {len(report.unmatched)} match none"
                    + (f", {len(report.ambiguous)} are ambiguous" if report.ambiguous else "")
                    + (". Import writes them." if m else ". Nothing to import."))
        else:
            head = f"Imported: {report.updated_fields} field(s) set on {m} track(s) from {Path(file).name}."
        self.summary.setText(head)
        self.details.setPlainText(report_text(report))
        self._update_buttons()
        if not report.dry_run:
            self.imported.emit(report)

    def _failed(self, sentence: str) -> None:
        self.progress.stop()
        self.report = None
        self.summary.setText(sentence)
        self._update_buttons()

    def closeEvent(self, ev):  # noqa: N802 (Qt API)
        self.slot.cancel()
        super().closeEvent(ev)
