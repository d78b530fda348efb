"""Train Seg-VM-Net on the user's own work, off the GUI thread, with progress, time left and Cancel.

When the catalog's archive has pairs (past projects' timelines, approved mockups), "Your archive"
trains on them (``archive.training.train_from_archive``, as ``train segvmnet --archive``: split by
commercial, measured on held-out pairs, activated only when it beats the active model); otherwise
a folder of clips with their soundtracks (``train --clips``). The installed models are listed with
their measured numbers (``ModelSummary.text()``: held-out mean rank and R@10 beside chance and the
fit-only ranking, and the number of training pairs)."""
from __future__ import annotations

import re
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QVBoxLayout, QWidget)

from supervisor_app.gui.widgets import ProgressStrip
from supervisor_app.gui.workers import Job, JobSlot

SEGMENTATIONS = (("olda", "Music sections (OLDA), as the thesis's best model"), ("shots", "Shots (TransNetV2)"),
                 ("foote", "Music sections (Foote)"), ("sf", "Music sections (structural features)"))


class TrainDialog(QDialog):
    """Pick a folder, a segmentation and a name; Train runs the core's training in a worker."""

    model_trained = Signal(str, str)  # model name, one-sentence summary

    def __init__(self, backend, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWindowTitle("Train on your archive")
        self.setModal(False)
        self.resize(640, 420)
        self.backend = backend
        self.slot = JobSlot(self)
        lay = QVBoxLayout(self)
        intro = QLabel("The matching model learns which music goes with which picture from your own work: your "
                       "archive (past projects imported from their timelines, mockups you approved) or a folder of "
                       "videos that carry their original music. The app then ranks your catalog by content as well "
                       "as by fit. Media are analysed once and cached, so a cancelled run resumes.")
        intro.setWordWrap(True)
        self.intro = intro
        lay.addWidget(intro)
        self.models_label = QLabel()
        self.models_label.setWordWrap(True)
        self.models_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.models_label)
        form = QFormLayout()
        self.source_combo = QComboBox()
        self.source_combo.addItem("A folder of clips", "clips")
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        form.addRow("Learn from", self.source_combo)
        row = QHBoxLayout()
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("Folder of video clips with their soundtracks")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        row.addWidget(self.folder_edit, 1)
        row.addWidget(browse)
        self.clips_row = QWidget()
        self.clips_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        form.addRow("Clips", self.clips_row)
        self._form = form
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
        self.catalog_path: Optional[str] = None
        self.n_archive_pairs = 0
        self.set_models([])

    # -- what there is to learn from, and what was learnt ----------------------------------------------
    def set_catalog(self, catalog_path: Optional[str], n_pairs: int) -> None:
        """The catalog whose archive can be trained on, and how many training pairs it holds."""
        self.catalog_path = str(catalog_path) if catalog_path else None
        self.n_archive_pairs = int(n_pairs) if catalog_path else 0
        i = self.source_combo.findData("archive")
        if self.n_archive_pairs > 0:
            text = (f"Your archive ({self.n_archive_pairs} pair{'s' if self.n_archive_pairs != 1 else ''}: past "
                    "projects and approved mockups)")
            if i < 0:
                self.source_combo.insertItem(0, text, "archive")
            else:
                self.source_combo.setItemText(i, text)
            self.source_combo.setCurrentIndex(self.source_combo.findData("archive"))
        elif i >= 0:
            self.source_combo.removeItem(i)
        self._source_changed()

    def set_models(self, summaries) -> None:
        """List the installed Seg-VM-Net models with their measured numbers (``ModelSummary``)."""
        if not summaries:
            self.models_label.setText("No trained matching model yet: recommendations are ranked by how well the music "
                                      "fits the picture's cuts only.")
            return
        lines = [s.text() for s in summaries]
        self.models_label.setText("Installed models (mean rank: lower is better; R@10: how often the right music is "
                                  "in the top 10):\n" + "\n".join(f"• {t}" for t in lines))

    def source(self) -> str:
        return self.source_combo.currentData() or "clips"

    def _source_changed(self, *_a) -> None:
        clips = self.source() == "clips"
        for w in (self.clips_row, self.name_edit):
            w.setEnabled(clips)
            lab = self._form.labelForField(w)
            if lab is not None:
                lab.setEnabled(clips)

    def _choose(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder of clips")
        if d:
            self.folder_edit.setText(d)

    def start(self) -> Optional[Job]:
        if self.source() == "archive" and self.catalog_path:
            return self._start_archive()
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

    def _start_archive(self) -> Job:
        seg, cat = self.seg_combo.currentData(), self.catalog_path
        job = Job(lambda ctx: self.backend.train_from_archive(cat, seg, progress=ctx.progress,
                                                              should_cancel=ctx.should_cancel),
                  name="Seg-VM-Net training on the archive")
        job.progress.connect(self._on_progress)
        job.succeeded.connect(lambda summary: self._done("", summary))
        job.failed.connect(self._failed)
        job.cancelled.connect(lambda: self._finish("Training cancelled: it resumes from its last epoch when started "
                                                   "again."))
        self.train_button.setEnabled(False)
        self.progress.start("Analysing the archive's pairs")
        self.log.appendPlainText(f"Training on your archive ({self.n_archive_pairs} pairs, {seg} segments)…")
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
