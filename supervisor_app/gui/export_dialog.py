"""Export the selected mockup as MP4 / WAV / OTIO / FCP XML / EDL, with progress and Cancel.

A non-modal dialog: pick the formats, the folder and the base name; Export runs one background job
that writes each file in turn (the core writes atomically: a cancelled export leaves nothing
half-written). ``finished_files(list[str])`` when done; "Mark this mockup approved" (``approve_check``)
asks the window to record the mockup as an approved archive pair once the files are written.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QPushButton, QVBoxLayout, QWidget)

from supervisor_app.gui.widgets import ProgressStrip
from supervisor_app.gui.workers import Job, JobSlot

FORMATS = (("mp4", "MP4 video with the mockup music (H.264/AAC)", True),
           ("wav", "WAV of the edited music", True),
           ("otio", "OpenTimelineIO timeline (.otio)", True),
           ("fcpxml", "Final Cut Pro 7 XML (Premiere, Resolve)", False),
           ("edl", "CMX 3600 EDL (Avid)", False))
SUFFIX = {"mp4": ".mp4", "wav": ".wav", "otio": ".otio", "fcpxml": ".xml", "edl": ".edl"}


def _safe_name(text: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in text).strip()
    return "_".join(keep.split())[:80] or "mockup"


class ExportDialog(QDialog):
    finished_files = Signal(list)

    def __init__(self, backend, preview, video_path: str, out_dir: Optional[str] = None, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle("Export mockup")
        self.setModal(False)
        self.backend = backend
        self.preview = preview
        self.video_path = str(video_path)
        self.slot = JobSlot(self)
        self.written: list[str] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 14, 14, 14)
        lay.setSpacing(10)
        c = preview.candidate
        title = QLabel(f"<b>{_esc(c.label)}</b> under <b>{_esc(Path(self.video_path).name)}</b>"
                       f"<br>{len(preview.excerpts)} excerpt(s), {max(0, len(preview.excerpts) - 1)} splice(s)")
        title.setTextFormat(Qt.RichText)
        lay.addWidget(title)
        self.checks: dict[str, QCheckBox] = {}
        for fmt, label, default in FORMATS:
            box = QCheckBox(label)
            box.setChecked(default)
            self.checks[fmt] = box
            lay.addWidget(box)
        form = QFormLayout()
        row = QHBoxLayout()
        self.dir_edit = QLineEdit(out_dir or str(Path.home()))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.dir_edit, 1)
        row.addWidget(browse)
        self.name_edit = QLineEdit(_safe_name(f"{Path(self.video_path).stem} - {c.title or Path(c.path).stem}"))
        form.addRow("Folder", row)
        form.addRow("Name", self.name_edit)
        lay.addLayout(form)
        self.approve_check = QCheckBox("Mark this mockup approved (your archive keeps it as a training pair)")
        self.approve_check.setToolTip("Approved mockups teach “Train on your archive” which music you choose for "
                                      "which picture; you can also approve or reject from the Edit menu")
        lay.addWidget(self.approve_check)
        self.progress = ProgressStrip()
        self.progress.cancel_clicked.connect(self.slot.cancel)
        lay.addWidget(self.progress)
        self.results = QListWidget()
        self.results.setVisible(False)
        lay.addWidget(self.results)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.close_button = QPushButton("Close")
        self.export_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self.close)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)
        lay.addLayout(buttons)
        self.slot.busy_changed.connect(lambda busy: self.export_button.setEnabled(not busy))

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export to", self.dir_edit.text())
        if d:
            self.dir_edit.setText(d)

    def set_formats(self, formats) -> None:
        for fmt, box in self.checks.items():
            box.setChecked(fmt in formats)

    def targets(self) -> list[tuple[str, Path]]:
        folder = Path(self.dir_edit.text()).expanduser()
        base = _safe_name(self.name_edit.text())
        return [(fmt, folder / f"{base}{SUFFIX[fmt]}") for fmt, box in self.checks.items() if box.isChecked()]

    def start(self) -> Optional[Job]:
        targets = self.targets()
        if not targets:
            self.status.setText("Choose at least one format.")
            return None
        backend, preview, video = self.backend, self.preview, self.video_path

        def run(ctx):
            done = []
            n = len(targets)
            for i, (fmt, out) in enumerate(targets):
                ctx.check()

                def prog(f, stage="", i=i, fmt=fmt):
                    ctx.progress((i + (f if f is not None else 0.5)) / n, stage or f"Writing {fmt.upper()}")

                path = backend.export_mockup(preview, video, fmt, out, progress=prog, should_cancel=ctx.should_cancel)
                done.append(str(path))
                ctx.partial(str(path))
            return done

        job = Job(run, name="export")
        job.progress.connect(self.progress.set_progress)
        job.partial.connect(self._file_written)
        job.succeeded.connect(self._done)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        self.results.clear()
        self.written = []
        self.status.setText("")
        self.progress.start("Exporting")
        return self.slot.start(job)

    def _file_written(self, path: str) -> None:
        self.written.append(path)
        self.results.setVisible(True)
        self.results.addItem(path)

    def _done(self, paths) -> None:
        self.progress.stop()
        self.status.setText(f"Wrote {len(paths)} file(s) to {Path(paths[0]).parent}." if paths else "Nothing written.")
        self.finished_files.emit(list(paths))

    def _failed(self, sentence: str) -> None:
        self.progress.stop()
        self.status.setText(sentence)

    def _cancelled(self) -> None:
        self.progress.stop()
        self.status.setText("Export cancelled.")

    def closeEvent(self, ev):  # noqa: N802 (Qt API)
        self.slot.cancel()
        super().closeEvent(ev)


def _esc(s: str) -> str:
    return (s or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
