"""Recommendations panel: settings, Find music / Cancel with progress, the ranked candidates, why each one.

The panel only shows things and asks for things; the main window runs the jobs. Signals:
``run_requested(RecommendSettings)``, ``cancel_requested()``, ``candidate_selected(Candidate)``,
``preview_requested(Candidate)``, ``similar_requested(Candidate)``, ``add_to_playlist_requested(Candidate)``,
``brief_changed(text)`` (after a pause in typing; the window answers with :meth:`set_brief_explanation`).
"""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QFrame, QLineEdit, QPushButton, QScrollArea, QSpinBox,
                               QToolButton, QVBoxLayout, QWidget)

from supervisor_app.gui.backend import Candidate, RecommendSettings
from supervisor_app.gui.widgets import CandidateTable, FiltersForm, ProgressStrip



PROVISIONAL_TEXT = ("Provisional: ranked on quick cuts while the picture's shot detection runs; the list is "
                    "replaced when it has.")
PROVISIONAL_REFINING = "Provisional: refining the list with the picture's shots…"
PROVISIONAL_STOPPED = ("Provisional: ranked on quick cuts; the final ranking was cancelled. Press Find music to "
                       "rank on the picture's detected shots.")

class RecommendationsPanel(QWidget):
    run_requested = Signal(object)
    cancel_requested = Signal()
    candidate_selected = Signal(object)
    preview_requested = Signal(object)
    similar_requested = Signal(object)
    add_to_playlist_requested = Signal(object)
    brief_changed = Signal(str)  # the brief's text, after a pause in typing

    def __init__(self, options: dict, parent: Optional[QWidget] = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)

        # settings (collapsible)
        self.settings_toggle = QToolButton()
        self.settings_toggle.setText("Settings")
        self.settings_toggle.setCheckable(True)
        self.settings_toggle.setChecked(False)
        self.settings_toggle.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.settings_toggle.setArrowType(Qt.RightArrow)
        self.settings_toggle.setAutoRaise(True)
        self.settings_box = QGroupBox()
        form = QFormLayout(self.settings_box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.model_combo = self._combo(options.get("model", [(None, "Default")]))
        self._model_info = options.get("model_info", {})
        self.model_combo.currentIndexChanged.connect(
            lambda _i: self.model_combo.setToolTip(self._model_info.get(self.model_combo.currentData(), "")))
        self.model_combo.setToolTip(self._model_info.get(self.model_combo.currentData(), ""))
        self.segmentation_combo = self._combo(options.get("segmentation", [("shots", "Shots")]))
        self.distance_combo = self._combo(options.get("distance", [("nw-dtw", "nw-dtw")]))
        self.rank_combo = self._combo(options.get("rank_by", [("fused", "Content + sync")]))
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 200)
        self.k_spin.setValue(10)
        form.addRow("Model", self.model_combo)
        form.addRow("Segmentation", self.segmentation_combo)
        form.addRow("Distance", self.distance_combo)
        form.addRow("Rank by", self.rank_combo)
        form.addRow("Results", self.k_spin)
        self.provisional_check = QCheckBox("Provisional list while shots are detected")
        self.provisional_check.setChecked(True)
        self.provisional_check.setToolTip("For a picture the app has not analysed before: a first list within seconds, "
                                          "ranked on quick cuts, replaced when TransNetV2's shot detection is done "
                                          "(the final list then comes a few seconds later)")
        form.addRow("", self.provisional_check)
        self.filters = FiltersForm()
        form.addRow(self.filters)
        # in a scroll area: on a short screen the form scrolls instead of squeezing its rows together
        self.settings_scroll = QScrollArea()
        self.settings_scroll.setWidget(self.settings_box)
        self.settings_scroll.setWidgetResizable(True)
        self.settings_scroll.setFrameShape(QFrame.NoFrame)
        self.settings_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        full = self.settings_box.sizeHint().height() + 2
        self.settings_scroll.setMaximumHeight(full)
        self.settings_scroll.setMinimumHeight(min(full, 200))
        self.settings_scroll.setVisible(False)
        self.settings_toggle.toggled.connect(self._toggle_settings)

        # brief
        self.brief_edit = QLineEdit()
        self.brief_edit.setPlaceholderText("Brief: keywords such as “upbeat jazz brass” (optional)")
        self.brief_edit.setClearButtonEnabled(True)
        self.brief_edit.setToolTip("Moods, styles, instruments, tempo and rights, e.g. “calm, hopeful piano, no vocals, "
                                   "90-110 bpm, one-stop”: only the tracks that fit the brief best are fitted to the "
                                   "picture; leave empty to fit the whole catalog")
        self.brief_edit.setPlaceholderText("Brief: e.g. “calm, hopeful piano, no vocals, one-stop” (optional)")
        # what the brief search understood, in plain words (filled by the window, after a short pause in typing)
        self.brief_note = QLabel()
        self.brief_note.setWordWrap(True)
        self.brief_note.setObjectName("briefNote")
        self.brief_note.setVisible(False)
        self._brief_timer = QTimer(self)
        self._brief_timer.setSingleShot(True)
        self._brief_timer.setInterval(450)
        self._brief_timer.timeout.connect(lambda: self.brief_changed.emit(self.brief_edit.text().strip()))
        self.brief_edit.textChanged.connect(lambda _t: self._brief_timer.start())

        # run / cancel / progress
        row = QHBoxLayout()
        self.run_button = QPushButton("Find music")
        self.run_button.setDefault(True)
        self.run_button.setToolTip("Rank the catalog for this video (runs in the background)")
        self.run_button.clicked.connect(lambda: self.run_requested.emit(self.settings()))
        row.addWidget(self.run_button)
        row.addWidget(self.settings_toggle)
        row.addStretch(1)
        self.device_label = QLabel()
        self.device_label.setEnabled(False)
        row.addWidget(self.device_label)
        self.progress = ProgressStrip(compact=True)
        self.progress.cancel_clicked.connect(self.cancel_requested)

        self.table = CandidateTable()
        self.table.setMinimumHeight(110)
        self.table.current_changed.connect(self.candidate_selected)
        self.table.activated_candidate.connect(self.preview_requested)
        self.empty_label = QLabel("Open a video and a catalog, then press Find music.")
        self.empty_label.setAlignment(Qt.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setEnabled(False)

        # a provisional list (ranked on the picture's quick cuts while its shot detection runs) says so
        self.provisional_label = QLabel()
        self.provisional_label.setObjectName("provisionalNote")
        self.provisional_label.setWordWrap(True)
        self.provisional_label.setVisible(False)
        self._provisional = False

        # the tracks that pass the filters but could not be ranked, and why (greyed, under the list)
        self.excluded_label = QLabel()
        self.excluded_label.setObjectName("excludedNote")
        self.excluded_label.setWordWrap(True)
        self.excluded_label.setEnabled(False)
        self.excluded_label.setVisible(False)

        self.reasons = QLabel()
        self.reasons.setWordWrap(True)
        self.reasons.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.reasons.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.reasons.setMinimumHeight(36)

        actions = QHBoxLayout()
        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("Play the video with this track cut to the picture (Enter)")
        self.similar_button = QPushButton("More like this")
        self.similar_button.setToolTip("List catalog tracks that sound like this one")
        self.playlist_button = QPushButton("Add to playlist")
        for b, sig in ((self.preview_button, self.preview_requested), (self.similar_button, self.similar_requested),
                       (self.playlist_button, self.add_to_playlist_requested)):
            b.clicked.connect(lambda _=False, s=sig: self._emit_current(s))
            actions.addWidget(b)

        lay.addWidget(self.brief_edit)
        lay.addWidget(self.brief_note)
        lay.addLayout(row)
        lay.addWidget(self.settings_scroll)
        lay.addWidget(self.progress)
        lay.addWidget(self.empty_label)
        lay.addWidget(self.provisional_label)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.excluded_label)
        lay.addWidget(self.reasons)
        lay.addLayout(actions)
        self.table.setVisible(False)
        self.candidate_selected.connect(lambda _c: self._update_buttons())
        self._update_buttons()

    # -- settings -----------------------------------------------------------------------------------
    @staticmethod
    def _combo(items) -> QComboBox:
        box = QComboBox()
        for value, label in items:
            box.addItem(str(label), value)
        return box

    def _toggle_settings(self, on: bool) -> None:
        self.settings_scroll.setVisible(on)
        self.settings_toggle.setArrowType(Qt.DownArrow if on else Qt.RightArrow)

    def settings(self) -> RecommendSettings:
        return RecommendSettings(model=self.model_combo.currentData(), segmentation=self.segmentation_combo.currentData(),
                                 distance=self.distance_combo.currentData(), rank_by=self.rank_combo.currentData(),
                                 k=self.k_spin.value(), filters=self.filters.value(), brief=self.brief_edit.text().strip(),
                                 provisional=self.provisional_check.isChecked())

    def set_settings(self, s: dict) -> None:
        for combo, key in ((self.model_combo, "model"), (self.segmentation_combo, "segmentation"),
                           (self.distance_combo, "distance"), (self.rank_combo, "rank_by")):
            i = combo.findData(s.get(key)) if key in s else -1
            if i >= 0:
                combo.setCurrentIndex(i)
        if s.get("k"):
            self.k_spin.setValue(int(s["k"]))
        self.provisional_check.setChecked(bool(s.get("provisional", True)))
        self.brief_edit.setText(s.get("brief") or "")
        self.filters.set_value(s.get("filters") or {})

    # -- results ------------------------------------------------------------------------------------
    def set_busy(self, busy: bool, stage: str = "") -> None:
        self.run_button.setEnabled(not busy)
        if busy:
            self.progress.start(stage or "Starting")
        else:
            self.progress.stop()

    def set_progress(self, fraction: float, stage: str) -> None:
        self.progress.set_progress(fraction, stage)

    def clear(self, message: str = "") -> None:
        self._set_provisional(False)
        self.table.source.set_rows([])
        self.table.source.set_fit_override(None, None)
        self.table.user_picked = False
        self.reasons.clear()
        self.set_excluded([])
        self.table.setVisible(False)
        self.empty_label.setVisible(True)
        if message:
            self.empty_label.setText(message)
        self._update_buttons()

    def is_provisional(self) -> bool:
        """True while the list shows provisional results (ranked on the picture's quick cuts)."""
        return self._provisional

    def set_refining(self) -> None:
        """The final ranking has started: the provisional list stays until it is done."""
        if self._provisional:
            self.provisional_label.setText(PROVISIONAL_REFINING)

    def set_refining_stopped(self) -> None:
        """The final ranking was cancelled: the provisional list stays, and says so."""
        if self._provisional:
            self.provisional_label.setText(PROVISIONAL_STOPPED)

    def _set_provisional(self, on: bool) -> None:
        self._provisional = on
        self.provisional_label.setText(PROVISIONAL_TEXT if on else "")
        self.provisional_label.setVisible(on)

    def set_results(self, rows: Sequence[Candidate], partial: bool = False, provisional: bool = False) -> None:
        """Show results (``partial``: merge them into what is there; the final ranking's replace a provisional
        list whole when it is done: its streamed results are not shown over it, which would shrink a list
        of k rows to one and grow it again within a second or two); the selected track stays selected."""
        if partial and self._provisional and not provisional:
            return
        current = self.table.current_candidate()
        self._set_provisional(provisional)
        self.table.programmatic = True
        try:
            if partial:  # the best k so far (a large catalog sends thousands of partial results)
                self.table.source.merge(rows, limit=self.k_spin.value())
            else:
                self.table.source.set_rows(rows)
        finally:
            self.table.programmatic = False
        has = self.table.source.rowCount() > 0
        self.table.setVisible(has)
        self.empty_label.setVisible(not has)
        if not has and not partial:
            self.empty_label.setText("No track passed the filters: widen them and try again.")
        if has:  # keep the user's choice; otherwise select the top of the finished ranking
            row = self.table.view_row_of(current.key()) if current is not None and self.table.user_picked else -1
            # Nothing is selected by itself while results stream in or in a provisional list: the top changes
            # as candidates are scored, and each selection cuts an edit, which on a laptop's cores would
            # compete with the ranking (and the shot detection) for edits nobody asked for.
            if row >= 0 or not (provisional or partial):
                self.table.select_row(row if row >= 0 else 0)
        self._update_buttons()

    def set_excluded(self, excluded) -> None:
        """The tracks the ranking left out, ``[(title, reason)]`` (none: the line is hidden)."""
        from supervisor_app.gui.wording import excluded_text

        line, tip = excluded_text(excluded)
        self.excluded_label.setText(line)
        self.excluded_label.setToolTip(tip)
        self.excluded_label.setVisible(bool(line))

    def candidates(self) -> list[Candidate]:
        return list(self.table.source.rows)

    def current(self) -> Optional[Candidate]:
        return self.table.current_candidate()

    def move_selection(self, step: int) -> None:
        self.table.move_selection(step)

    def _emit_current(self, signal) -> None:
        c = self.current()
        if c is not None:
            signal.emit(c)

    def show_candidate(self, c: Optional[Candidate], lines: Sequence[str] = (), fit_override=None) -> None:
        """The selected candidate's reasons (plain language, from the window's session) and the fit its
        row shows: ``fit_override = (key, sync_score, updating)`` for the edit on screen."""
        if c is None:
            self.reasons.clear()
            self.table.source.set_fit_override(None, None)
        else:
            self.reasons.setText("<br>".join([f"<b>{_esc(c.label)}</b>"] + [f"• {_esc(r)}" for r in lines]))
            if fit_override is not None:
                self.table.source.set_fit_override(*fit_override)
        self._update_buttons()

    def set_model_summaries(self, labels: dict, info: dict) -> None:
        """Update the model menu's labels and tooltips ({model value: text}) with measured numbers."""
        self._model_info.update(info)
        # measured labels are long: the menu shows them in full, the closed box elides instead of widening the dock
        self.model_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(24)
        for i in range(self.model_combo.count()):
            v = self.model_combo.itemData(i)
            if v in labels:
                self.model_combo.setItemText(i, labels[v])
            if v in info:
                self.model_combo.setItemData(i, info[v], Qt.ToolTipRole)
        self.model_combo.setToolTip(self._model_info.get(self.model_combo.currentData(), ""))

    def set_brief_explanation(self, text: str) -> None:
        """Show what the brief search understood ('' hides the line)."""
        self.brief_note.setText(text)
        self.brief_note.setToolTip(text)
        self.brief_note.setVisible(bool(text))

    def reasons_text(self) -> str:
        """The reasons panel as plain text (for tests)."""
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self.reasons.text())
        return doc.toPlainText()

    def _update_buttons(self) -> None:
        on = self.current() is not None
        for b in (self.preview_button, self.similar_button, self.playlist_button):
            b.setEnabled(on)

    def set_device(self, text: str) -> None:
        self.device_label.setText(f"Device: {text}")
        self.device_label.setToolTip("Where the models run")


def _esc(s: str) -> str:
    return (s or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
