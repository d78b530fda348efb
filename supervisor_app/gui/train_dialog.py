"""First-run path: train Seg-VM-Net on a folder of the user's own clips (music videos or past
commercials with their soundtracks), off the GUI thread, with progress, time left and Cancel."""
from __future__ import annotations

import re
from typing import Optional

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from .widgets import ProgressStrip
from .workers import Job, JobSlot

SEGMENTATIONS = (("olda", "Music sections (OLDA), as the thesis's best model"), ("shots", "Shots (TransNetV2)"),
                 ("foote", "Music sections (Foote)"), ("sf", "Music sections (structural features)"))


class TrainDialog(QDialog):
    """Pick a folder, a segmentation and a name; Train runs the core's training in a worker."""

    model_trained = Signal(str, str)  # model name, one-sentence summary

    def __init__(self, backend, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle("Train Seg-VM-Net on your archive")
        self.setModal(False)
        self.resize(640, 420)
        self.backend = backend
        self.slot = JobSlot(self)
        lay = QVBoxLayout(self)
        intro = QLabel("Point to a folder of videos that carry their original music (music videos, past "
                       "commercials). The model learns which music goes with which picture from them; the app then "
                       "ranks your catalog by content as well as by fit. Clips are analysed once and cached, so a "
                       "cancelled run resumes.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        row = QHBoxLayout()
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("Folder of video clips with their soundtracks")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        form.addRow("Clips", row)
        self.seg_combo = QComboBox()
        for value, label in SEGMENTATIONS:
            self.seg_combo.addItem(label, value)
        form.addRow("Segments", self.seg_combo)
        self.name_edit = QLineEdit("my-segvmnet")
        form.addRow("Model name", self.name_edit)
        lay.addLayout(form)
        self.progress = ProgressStrip()
        self.progress.cancel_clicked.connect(self.slot.cancel)
        lay.addWidget(self.progress)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        lay.addWidget(self.log, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.train_button.clicked.connect(self.start)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(self.train_button)
        buttons.addWidget(close)
        lay.addLayout(buttons)

    def _choose(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder of clips")
        if d:
            self.folder_edit.setText(d)

    def start(self) -> Optional[Job]:
        folder = self.folder_edit.text().strip()
        name = self.name_edit.text().strip()
        if not folder:
            self.log.appendPlainText("Choose the folder of clips first.")
            return None
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name or ""):
            self.log.appendPlainText("Give the model a name made of letters, digits, '.', '_' or '-'.")
            return None
        seg = self.seg_combo.currentData()
        job = Job(lambda ctx: self.backend.train_segvmnet(folder, name, seg, progress=ctx.progress,
                                                          should_cancel=ctx.should_cancel),
                  name="Seg-VM-Net training")
        job.progress.connect(self._on_progress)
        job.succeeded.connect(lambda summary: self._done(name, summary))
        job.failed.connect(self._failed)
        job.cancelled.connect(lambda: self._finish("Training cancelled: the analysed clips stay cached."))
        self.train_button.setEnabled(False)
        self.progress.start("Analysing clips")
        self.log.appendPlainText(f"Training {name!r} on {folder} ({seg} segments)…")
        return self.slot.start(job)

    def _on_progress(self, fraction: float, stage: str) -> None:
        self.progress.set_progress(fraction, stage)
        if stage.startswith("epoch"):
            self.log.appendPlainText(stage)

    def _finish(self, text: str) -> None:
        self.progress.stop()
        self.train_button.setEnabled(True)
        self.log.appendPlainText(text)

    def _failed(self, sentence: str) -> None:
        self._finish(f"Training stopped: {sentence}")

    def _done(self, name: str, summary: str) -> None:
        self._finish(summary)
        self.model_trained.emit(name, summary)
