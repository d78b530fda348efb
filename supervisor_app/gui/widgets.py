"""Small widgets shared by the panels: the filters form, a progress strip with Cancel, the candidates table."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSizePolicy, QTableView, QWidget)

from supervisor_app.gui.backend import Candidate
from supervisor_app.gui.session_model import fit_0_100, fit_of
from supervisor_app.gui.wording import FIT_SCALE_TIP, MATCH_SCALE_TIP, plain_reasons


def fmt_duration(t_s: Optional[float]) -> str:
    """m:ss for a duration in seconds ('' when unknown)."""
    if t_s is None:
        return ""
    m, s = divmod(int(round(float(t_s))), 60)
    return f"{m}:{s:02d}"


def short_key(key: Optional[str]) -> str:
    """'A minor' → 'Am', 'Eb major?' → 'Eb?' (the shorthand of DJ and library tools; '' when unknown)."""
    if not key:
        return ""
    unsure = key.endswith("?")
    parts = key.rstrip("?").split()
    if len(parts) != 2 or parts[1] not in ("major", "minor"):
        return key
    return parts[0] + ("m" if parts[1] == "minor" else "") + ("?" if unsure else "")


def full_key(key: Optional[str]) -> str:
    """'Eb major?' → 'Eb major (uncertain)'."""
    return "" if not key else (key[:-1] + " (uncertain)" if key.endswith("?") else key)


def fmt_time(t_s: float) -> str:
    """m:ss.s for a position in seconds."""
    m, s = divmod(max(0.0, float(t_s)), 60.0)
    return f"{int(m)}:{s:04.1f}"


class RangeEdit(QWidget):
    """Two optional numbers (min – max); 0 in a box means 'no bound'."""

    def __init__(self, maximum: float, suffix: str = "", decimals: int = 0, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.lo, self.hi = QDoubleSpinBox(), QDoubleSpinBox()
        for box, tip in ((self.lo, "minimum (0: none)"), (self.hi, "maximum (0: none)")):
            box.setRange(0, maximum)
            box.setDecimals(decimals)
            box.setSuffix(suffix)
            box.setSpecialValueText("any")
            box.setToolTip(tip)
            box.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        lay.addWidget(self.lo)
        lay.addWidget(QLabel("–"))
        lay.addWidget(self.hi)

    def value(self):
        lo, hi = self.lo.value() or None, self.hi.value() or None
        return None if lo is None and hi is None else (lo, hi)

    def set_value(self, rng) -> None:
        lo, hi = (rng or (None, None))
        self.lo.setValue(lo or 0)
        self.hi.setValue(hi or 0)


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]


class FiltersForm(QWidget):
    """Filters applied before ranking (names as :class:`supervisor_app.catalog.filters.Filters`, the CLI's
    ``--one-stop``, ``--territory``, ``--cleared-for`` and ``--not-restricted-for`` included: the core's
    ``Filters.accepts`` applies them; a track whose rights are not stated never passes a rights filter)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.bpm = RangeEdit(400, " BPM")
        self.duration = RangeEdit(3600, " s")
        self.exclude_artists = QLineEdit()
        self.exclude_artists.setPlaceholderText("artists to leave out, comma-separated")
        self.include_tags = QLineEdit()
        self.include_tags.setPlaceholderText("tags that must be there")
        self.exclude_tags = QLineEdit()
        self.exclude_tags.setPlaceholderText("tags to leave out")
        self.one_stop = QCheckBox("One-stop only")
        self.one_stop.setToolTip("Only tracks whose master and publishing are cleared through one source "
                                 "(as the library states it)")
        self.territory = QLineEdit()
        self.territory.setPlaceholderText("cleared in, e.g. US, Germany, worldwide")
        self.territory.setToolTip("Only tracks whose territories cover this one (\"Worldwide excl. DE\" does not "
                                  "cover Germany); tracks without stated territories are left out")
        self.cleared_for = QLineEdit()
        self.cleared_for.setPlaceholderText("media, e.g. TV, online, film")
        self.cleared_for.setToolTip("Only tracks cleared for every medium named here (comma-separated)")
        self.not_restricted_for = QLineEdit()
        self.not_restricted_for.setPlaceholderText("uses, e.g. alcohol, political")
        self.not_restricted_for.setToolTip("Leave out tracks whose restrictions name one of these uses")
        form.addRow("Tempo", self.bpm)
        form.addRow("Duration", self.duration)
        form.addRow("Exclude artists", self.exclude_artists)
        form.addRow("Tags", self.include_tags)
        form.addRow("Not tags", self.exclude_tags)
        form.addRow("Rights", self.one_stop)
        form.addRow("Territory", self.territory)
        form.addRow("Cleared for", self.cleared_for)
        form.addRow("Not restricted for", self.not_restricted_for)

    def value(self) -> dict:
        return {"exclude_artists": _split(self.exclude_artists.text()), "bpm_range": self.bpm.value(),
                "duration_range_s": self.duration.value(), "include_tags": _split(self.include_tags.text()),
                "exclude_tags": _split(self.exclude_tags.text()), "rights": {},
                "one_stop_only": self.one_stop.isChecked(), "territory": self.territory.text().strip() or None,
                "cleared_for": _split(self.cleared_for.text()),
                "not_restricted_for": _split(self.not_restricted_for.text())}

    def is_empty(self) -> bool:
        """No filter set."""
        from supervisor_app.catalog.filters import Filters

        return Filters.from_dict(self.value()).is_empty()

    def set_value(self, d: dict) -> None:
        d = d or {}
        self.bpm.set_value(d.get("bpm_range"))
        self.duration.set_value(d.get("duration_range_s"))
        self.exclude_artists.setText(", ".join(d.get("exclude_artists") or []))
        self.include_tags.setText(", ".join(d.get("include_tags") or []))
        self.exclude_tags.setText(", ".join(d.get("exclude_tags") or []))
        self.one_stop.setChecked(bool(d.get("one_stop_only")))
        self.territory.setText(d.get("territory") or "")
        self.cleared_for.setText(", ".join(d.get("cleared_for") or []))
        self.not_restricted_for.setText(", ".join(d.get("not_restricted_for") or []))


class ProgressStrip(QWidget):
    """Stage name, progress bar and Cancel button for one background job (hidden when idle)."""

    cancel_clicked = Signal()

    def __init__(self, parent=None, compact: bool = False):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.stage = QLabel()
        self.stage.setMinimumWidth(60)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(not compact)
        self.bar.setMaximumHeight(16 if compact else 20)
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop this job")
        self.cancel.clicked.connect(self.cancel_clicked)
        lay.addWidget(self.stage, 1)
        lay.addWidget(self.bar, 1)
        lay.addWidget(self.cancel)
        self.setVisible(False)

    def start(self, stage: str = "") -> None:
        self.stage.setText(stage)
        self.bar.setRange(0, 0)  # busy until the first fraction arrives
        self.setVisible(True)

    def set_progress(self, fraction: float, stage: str = "") -> None:
        if stage:
            self.stage.setText(stage)
        if fraction < 0:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(fraction * 1000))

    def stop(self) -> None:
        self.setVisible(False)


class StageEta:
    """The stage line of a long job: "stage — 45 % · about 1 min left", the time left estimated per stage
    from the progress rate so far (restarted when the stage changes)."""

    def __init__(self, clock=None):
        import time

        self._clock = clock or time.monotonic
        self._stage = None
        self._t0 = 0.0
        self._f0 = 0.0

    def text(self, fraction: Optional[float], stage: str) -> str:
        from supervisor_app.infra.eta import fmt_duration_s

        now = self._clock()
        if stage != self._stage:
            self._stage, self._t0, self._f0 = stage, now, (fraction or 0.0)
        if fraction is None or fraction < 0:
            return stage
        pct = f"{100 * fraction:.0f} %"
        done, elapsed = fraction - self._f0, now - self._t0
        if done <= 0.02 or elapsed < 1.0 or fraction >= 1.0:
            return f"{stage} — {pct}"
        left = elapsed / done * (1.0 - fraction)
        return f"{stage} — {pct} · about {fmt_duration_s(left)} left"


class CandidateTableModel(QAbstractTableModel):
    """Rows of :class:`Candidate`: rank, title, artist, length, BPM, key, tags, match (content), fit (0–100).

    Fit is the candidate's ``fit_score`` (sync + form: what the fit ranking orders by) on 0–100, so in a
    fit ranking the column falls as the rank rises; a *button* (a short track placed at the picture's
    end, ranked after the tracks that carry the whole picture) says "button" there, its number in the
    tooltip. ``set_fit_override(key, fit, updating)``: the selected row shows the fit of the edit on
    screen (after the user moved its start or added sync points), or "…" while it is rebuilt, so the
    table agrees with the header and the reasons."""

    COLUMNS = ("#", "Title", "Artist", "Length", "BPM", "Key", "Tags", "Match", "Fit")
    TIPS = ("Rank", "Title", "Artist", "Track length (m:ss)", "Tempo, beats per minute (from the catalog's beat "
            "analysis when the file has no tempo tag)", "Musical key estimated by the catalog's analysis: "
            "Am = A minor, Eb = E-flat major, “?” when uncertain (hover a cell for the full name)", "Catalog tags and genre", MATCH_SCALE_TIP, FIT_SCALE_TIP)
    BPM_COL, KEY_COL, TAGS_COL, SCORE_COL, FIT_COL = 4, 5, 6, 7, 8

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[Candidate] = []
        self._override: tuple = (None, None, False)
        self.fits_stale = False  # the sync points changed since the ranking: other rows' fits are as ranked

    def set_fits_stale(self, stale: bool) -> None:
        if stale != self.fits_stale:
            self.fits_stale = stale
            if self.rows:
                self.dataChanged.emit(self.index(0, self.FIT_COL), self.index(len(self.rows) - 1, self.FIT_COL))

    def rowCount(self, parent=QModelIndex()):  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.COLUMNS[section]
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole:
            return self.TIPS[section]
        return None

    def set_fit_override(self, key, fit, updating: bool = False) -> None:
        old = self._override[0]
        self._override = (key, fit, bool(updating))
        for k in {old, key}:
            row = next((i for i, c in enumerate(self.rows) if k is not None and c.key() == k), -1)
            if row >= 0:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))

    def fit_of(self, c: Candidate) -> tuple[Optional[float], bool]:
        """(fit shown for ``c`` (sync + form), whether it is being updated)."""
        key, score, updating = self._override
        if key is not None and c.key() == key:
            return score, updating
        return fit_of(c), False

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        c, col = self.rows[index.row()], index.column()
        sync, updating = self.fit_of(c)
        fit = fit_0_100(sync)
        button = getattr(c, "edit_mode", "") == "button"
        if role == Qt.DisplayRole:
            return (str(c.rank or index.row() + 1), c.title or Path(c.path).stem, c.artist or "",
                    fmt_duration(c.duration_s), "" if c.bpm is None else f"{c.bpm:.0f}", short_key(c.music_key),
                    ", ".join(c.tags[:4]) if c.tags else "",
                    "" if c.score is None else f"{c.score:.2f}",
                    "…" if updating else ("" if fit is None else ("button" if button else str(fit))))[col]
        if role == Qt.UserRole:  # sort key
            return (c.rank or index.row() + 1, (c.title or "").casefold(), (c.artist or "").casefold(),
                    c.duration_s or 0.0, c.bpm or 0.0, c.music_key or "", ", ".join(c.tags).casefold(),
                    c.score if c.score is not None else float("-inf"),
                    (sync - 1e6 if button else sync) if sync is not None else float("-inf"))[col]
        if role == Qt.TextAlignmentRole and col in (0, 3, 4, self.SCORE_COL, self.FIT_COL):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        stale = self.fits_stale and col == self.FIT_COL and not (self._override[0] is not None and c.key() == self._override[0])
        if role == Qt.ForegroundRole and (stale or button and col == self.FIT_COL):
            from PySide6.QtGui import QPalette
            from PySide6.QtWidgets import QApplication

            return QApplication.palette().color(QPalette.Disabled, QPalette.Text)
        if role == Qt.ToolTipRole:
            if col == self.FIT_COL:
                note = ("As ranked, before the sync points changed: select the track to see its fit now, "
                        "or press Find music to rank again.\n\n" if stale else "")
                if button:
                    note += ("A button: this short track plays once and ends the picture, so it is listed after "
                             "the tracks that carry the whole picture" + (f" (fit {fit}/100 as a button)" if fit
                                                                          is not None else "") + ".\n\n")
                return note + (f"Fit {fit}/100\n\n" if fit is not None and not button else "") + FIT_SCALE_TIP
            if col == self.SCORE_COL:
                return MATCH_SCALE_TIP
            if col == self.KEY_COL:
                return full_key(c.music_key) or "Key not estimated yet"
            lines = [c.label, c.path]
            if c.tags:
                lines.append("Tags: " + ", ".join(c.tags))
            lines += [f"• {r}" for r in plain_reasons(c.reasons)]
            return "\n".join(lines)
        return None

    def refresh(self) -> None:
        """Redraw every row (the candidates' fields changed in place, e.g. after a metadata edit)."""
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(self.COLUMNS) - 1))

    def set_rows(self, rows: Sequence[Candidate]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def merge(self, rows: Sequence[Candidate], limit: Optional[int] = None) -> None:
        """Partial results: replace rows with the same track, add new ones, keep the best ``limit`` in order."""
        by_key = {r.key(): r for r in self.rows}
        for r in rows:
            by_key[r.key()] = r
        merged = sorted(by_key.values(), key=_provisional_order)
        self.set_rows(merged[:limit] if limit else merged)

    def candidate(self, row: int) -> Optional[Candidate]:
        return self.rows[row] if 0 <= row < len(self.rows) else None


def _provisional_order(c: Candidate):
    """Ranked rows first by rank; unranked (partial) rows by their best score, highest first."""
    if c.rank:
        return (0, c.rank)
    f = fit_of(c)
    best = c.score if c.score is not None else (f if f is not None else float("-inf"))
    return (1, getattr(c, "edit_mode", "") == "button", -best)


class CandidateTable(QTableView):
    """A sortable table of candidates; ``current_changed(Candidate)`` and ``activated_candidate(Candidate)``."""

    current_changed = Signal(object)
    activated_candidate = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.source = CandidateTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.source)
        self.proxy.setSortRole(Qt.UserRole)
        self.setModel(self.proxy)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.AscendingOrder)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(24)
        h = self.horizontalHeader()
        h.setHighlightSections(False)
        h.setStretchLastSection(False)
        h.setSectionsMovable(True)
        # every column can be resized by the user; the title takes the room that is left
        h.setSectionResizeMode(QHeaderView.Interactive)
        h.setSectionResizeMode(1, QHeaderView.Stretch)
        h.setMinimumSectionSize(28)
        self.setTextElideMode(Qt.ElideRight)
        self._widths_set = False
        self.programmatic = False  # True while the selection is changed by code, not by the user
        self.user_picked = False  # the user chose a row (keep it when results are updated)
        self.selectionModel().currentRowChanged.connect(self._on_current)
        self.source.modelReset.connect(self._hide_empty_columns)
        self.doubleClicked.connect(lambda idx: self._emit_activated(idx))

    def _source_row(self, proxy_index) -> int:
        return self.proxy.mapToSource(proxy_index).row() if proxy_index.isValid() else -1

    def _hide_empty_columns(self) -> None:
        """Hide the score columns no row has (e.g. no match score without a trained model); size the
        columns once to their contents (the user resizes them afterwards)."""
        rows = self.source.rows
        m = self.source
        self.setColumnHidden(m.SCORE_COL, bool(rows) and all(c.score is None for c in rows))
        self.setColumnHidden(m.FIT_COL, bool(rows) and all(fit_of(c) is None for c in rows))
        if rows and not self._widths_set:
            self._widths_set = True
            fm = self.fontMetrics()
            for col, sample in ((0, "000"), (2, "Some Artist Name"), (3, "00:00"), (m.BPM_COL, "000"),
                                (m.KEY_COL, "C#m?"), (m.TAGS_COL, "ambient, calm"), (m.SCORE_COL, "0.00"),
                                (m.FIT_COL, "button")):
                if col < m.columnCount():
                    head = fm.horizontalAdvance(m.COLUMNS[col]) + 28
                    self.setColumnWidth(col, max(head, fm.horizontalAdvance(sample) + 16))

    def _on_current(self, current, _previous) -> None:
        if not self.programmatic:
            self.user_picked = True
        c = self.source.candidate(self._source_row(current))
        if c is not None:
            self.current_changed.emit(c)

    def _emit_activated(self, idx) -> None:
        c = self.source.candidate(self._source_row(idx))
        if c is not None:
            self.activated_candidate.emit(c)

    def current_candidate(self) -> Optional[Candidate]:
        return self.source.candidate(self._source_row(self.currentIndex()))

    def select_row(self, row: int) -> None:
        """Select the row at view position ``row`` (clamped)."""
        n = self.proxy.rowCount()
        if n == 0:
            return
        row = max(0, min(n - 1, row))
        self.programmatic = True
        try:
            self.setCurrentIndex(self.proxy.index(row, 0))
            self.selectRow(row)
        finally:
            self.programmatic = False

    def view_row_of(self, key) -> int:
        """The view row showing the candidate with ``key`` (track id or path), or -1."""
        for r in range(self.proxy.rowCount()):
            c = self.source.candidate(self._source_row(self.proxy.index(r, 0)))
            if c is not None and c.key() == key:
                return r
        return -1

    def move_selection(self, step: int) -> None:
        """Up/Down from the keyboard anywhere in the window (a user choice)."""
        cur = self.currentIndex().row()
        self.select_row(0 if cur < 0 else cur + step)
        self.user_picked = True

    def keyPressEvent(self, ev):  # noqa: N802 (Qt API)
        if ev.key() in (Qt.Key_Return, Qt.Key_Enter):
            c = self.current_candidate()
            if c is not None:
                self.activated_candidate.emit(c)
                return
        super().keyPressEvent(ev)


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "…" instead of widening the layout."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.setMinimumWidth(40)

    def paintEvent(self, ev):  # noqa: N802 (Qt API)
        from PySide6.QtGui import QPainter

        p = QPainter(self)
        p.setPen(self.palette().color(self.foregroundRole()))
        p.setFont(self.font())
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.ElideRight, rect.width())
        p.drawText(rect, int(self.alignment() | Qt.AlignVCenter), text)
        p.end()


def heading(text: str) -> QLabel:
    """A bold section label."""
    label = QLabel(text)
    f = QFont(label.font())
    f.setBold(True)
    label.setFont(f)
    return label
