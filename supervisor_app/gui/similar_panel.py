"""Similar tracks ("More like this"): the seed track, filters, the list, preview against the video.

Signals: ``search_requested(seed: Candidate, k: int, filters: dict)``, ``cancel_requested()``,
``candidate_selected(Candidate)``, ``preview_requested(Candidate)``, ``add_to_playlist_requested(Candidate)``.
"""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QToolButton, QVBoxLayout, QWidget

from supervisor_app.gui.backend import Candidate
from supervisor_app.gui.widgets import CandidateTable, FiltersForm, ProgressStrip
from supervisor_app.gui.wording import plain_reasons


class SimilarPanel(QWidget):
    search_requested = Signal(object, int, dict)
    cancel_requested = Signal()
    candidate_selected = Signal(object)
    preview_requested = Signal(object)
    add_to_playlist_requested = Signal(object)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.seed: Optional[Candidate] = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        self.seed_label = QLabel("Pick a candidate or a catalog track and choose “More like this”.")
        self.seed_label.setWordWrap(True)
        row = QHBoxLayout()
        self.search_button = QPushButton("Search again")
        self.search_button.setEnabled(False)
        self.search_button.clicked.connect(self._search)
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 200)
        self.k_spin.setValue(10)
        self.k_spin.setPrefix("top ")
        self.filters_toggle = QToolButton()
        self.filters_toggle.setText("Filters")
        self.filters_toggle.setCheckable(True)
        self.filters_toggle.setAutoRaise(True)
        self.filters_toggle.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.filters_toggle.setArrowType(Qt.RightArrow)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("What “similar” means: the catalog's default, a general-purpose sound model, "
                                    "or a similarity model trained on your tags")
        self.model_combo.addItem("Catalog default", None)
        self.model_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(12)  # long model names do not widen the dock
        self.model_combo.currentIndexChanged.connect(lambda _i: self.seed is not None and self._search())
        row.addWidget(self.search_button)
        row.addWidget(self.k_spin)
        row.addWidget(self.filters_toggle)
        row.addStretch(1)
        model_row = QHBoxLayout()
        model_row.addWidget(QLabel("Similar by"))
        model_row.addWidget(self.model_combo, 1)
        self.filters = FiltersForm()
        self.filters.setVisible(False)
        self.filters_toggle.toggled.connect(self._toggle_filters)
        self.progress = ProgressStrip(compact=True)
        self.progress.cancel_clicked.connect(self.cancel_requested)
        self.table = CandidateTable()
        cols = list(self.table.source.COLUMNS)
        cols[self.table.source.SCORE_COL] = "Similarity"
        self.table.source.COLUMNS = tuple(cols)
        tips = list(self.table.source.TIPS)
        tips[self.table.source.SCORE_COL] = "Similarity to the seed track in the chosen similarity model (higher is closer)"
        self.table.source.TIPS = tuple(tips)
        self.table.current_changed.connect(self.candidate_selected)
        self.table.current_changed.connect(self._show_reasons)
        self.table.activated_candidate.connect(self.preview_requested)
        self.table.setMinimumHeight(110)
        self.reasons = QLabel()
        self.reasons.setWordWrap(True)
        self.reasons.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.reasons.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        actions = QHBoxLayout()
        self.preview_button = QPushButton("Preview against video")
        self.playlist_button = QPushButton("Add to playlist")
        self.preview_button.clicked.connect(lambda: self._emit_current(self.preview_requested))
        self.playlist_button.clicked.connect(lambda: self._emit_current(self.add_to_playlist_requested))
        actions.addWidget(self.preview_button)
        actions.addWidget(self.playlist_button)
        lay.addWidget(self.seed_label)
        lay.addLayout(model_row)
        lay.addLayout(row)
        lay.addWidget(self.filters)
        lay.addWidget(self.progress)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.reasons)
        lay.addLayout(actions)

    def _toggle_filters(self, on: bool) -> None:
        self.filters.setVisible(on)
        self.filters_toggle.setArrowType(Qt.DownArrow if on else Qt.RightArrow)

    def _show_reasons(self, c: Candidate) -> None:
        facts = [f"{c.bpm:.0f} BPM" if c.bpm else "", ", ".join(c.tags[:6]) if c.tags else ""]
        lines = [f"<b>{_esc(c.label)}</b>"] + ([_esc("  ·  ".join(f for f in facts if f))] if any(facts) else [])
        self.reasons.setText("<br>".join(lines + [f"• {_esc(r)}" for r in plain_reasons(c.reasons, limit=4)]))

    def set_models(self, models) -> None:
        """The similarity models to choose from: [(value, label)]."""
        current = self.model_combo.currentData()
        self.model_combo.clear()
        for value, label in models:
            self.model_combo.addItem(label, value)
        i = self.model_combo.findData(current)
        self.model_combo.setCurrentIndex(max(0, i))

    def model(self):
        return self.model_combo.currentData()

    def set_seed(self, seed: Candidate, search: bool = True) -> None:
        self.seed = seed
        self.seed_label.setText(f"Tracks like <b>{_esc(seed.label)}</b>")
        self.search_button.setEnabled(True)
        if search:
            self._search()

    def _search(self) -> None:
        if self.seed is not None:
            self.search_requested.emit(self.seed, self.k_spin.value(), self.filters.value())

    def set_busy(self, busy: bool) -> None:
        self.search_button.setEnabled(not busy and self.seed is not None)
        self.progress.start("Searching") if busy else self.progress.stop()

    def set_progress(self, fraction: float, stage: str) -> None:
        self.progress.set_progress(fraction, stage)

    def set_results(self, rows: Sequence[Candidate]) -> None:
        self.reasons.clear()
        self.table.source.set_rows(rows)
        if rows:
            self.table.select_row(0)

    def current(self) -> Optional[Candidate]:
        return self.table.current_candidate()

    def _emit_current(self, signal) -> None:
        c = self.current()
        if c is not None:
            signal.emit(c)


def _esc(s: str) -> str:
    return (s or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
