"""The selected track's details: what is known about it (length, tempo, key, what the audio sounds like,
file, analysis) and its library metadata and rights, which the user edits here.

The editable fields are the catalog's (:mod:`supervisor_app.catalog.fields`); the pane only collects
text. ``metadata_edited(track_id, {field: text})`` carries the changed fields to the window, which
saves them through the backend (the core's ``parse_value`` + ``Catalog.set_metadata``, as
``catalog edit --set``) and shows the saved track again, or shows the core's sentence with
:meth:`show_error` when a value cannot be read (the user's text stays in the form).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QScrollArea, QTabWidget, QVBoxLayout, QWidget)

from supervisor_app.gui.widgets import fmt_duration

#: (field, label, placeholder) of the library metadata and rights the pane edits
EDIT_FIELDS = (
    ("composer", "Composer", "e.g. Ada Lovelace"),
    ("publisher", "Publisher", "e.g. Analytical Music Ltd"),
    ("label", "Label", "record label or library"),
    ("isrc", "ISRC", "12 characters, e.g. US-RC1-76-07839"),
    ("iswc", "ISWC", "e.g. T-345246800-1"),
    ("pro", "PRO", "performing rights organisation, e.g. ASCAP"),
    ("one_stop", "One-stop", ""),
    ("territories", "Territories", "e.g. Worldwide excl. DE, AT"),
    ("restrictions", "Restrictions", "e.g. no alcohol or gambling brands"),
    ("cleared_for", "Cleared for", "media, e.g. TV, online, film"),
    ("description", "Description", "how the track sounds or where it fits"),
    ("tags", "Tags", "comma-separated, e.g. calm, piano"),
)
_ONE_STOP = (("", "not stated"), ("yes", "yes (master and publishing from one source)"), ("no", "no"))


def _esc(s) -> str:
    return str(s if s is not None else "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _size(n: Optional[int]) -> str:
    if not n:
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024.0
    return ""


def field_text(field: str, value) -> str:
    """A stored field value as the form shows it ('' when unknown)."""
    if value is None:
        return ""
    if field == "one_stop":
        return "yes" if value else "no"
    if field == "tags":
        return ", ".join(t if isinstance(t, str) else str(t[0]) for t in value)
    return str(value)


class TrackDetails(QWidget):
    """One track's sheet (``show_candidate(candidate, info)``; ``info`` from ``backend.track_details``) with
    its library metadata and rights editable (Save / Revert)."""

    metadata_edited = Signal(int, dict)  # track id, {field: text} of the changed fields

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.label = QLabel("Select a track to see its details.")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.RichText)
        self.label.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)

        self.edit_box = QGroupBox()
        form = QFormLayout(self.edit_box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.editors: dict[str, QWidget] = {}
        for name, text, hint in EDIT_FIELDS:
            if name == "one_stop":
                w = QComboBox()
                for value, shown in _ONE_STOP:
                    w.addItem(shown, value)
                w.currentIndexChanged.connect(self._update_buttons)
                w.setToolTip("One-stop: master and publishing rights cleared through one source")
            else:
                w = QLineEdit()
                w.setPlaceholderText(hint)
                w.textChanged.connect(self._update_buttons)
                w.returnPressed.connect(self.save)
            form.addRow(text, w)
            self.editors[name] = w
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d9534f")
        self.error_label.setVisible(False)
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("Save the changed fields in the catalog (Enter in a field)")
        self.revert_button = QPushButton("Revert")
        self.revert_button.setToolTip("Show the saved values again")
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self.revert)
        buttons = QHBoxLayout()
        buttons.addWidget(self.error_label, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        form.addRow(buttons)

        # two tabs: what is known about the track, and the library metadata and rights the user edits
        facts_area = QScrollArea()
        facts_area.setWidgetResizable(True)
        facts_area.setWidget(self.label)
        facts_area.setFrameShape(QScrollArea.NoFrame)
        form_page = QWidget()
        v = QVBoxLayout(form_page)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.edit_box)
        v.addStretch(1)
        form_area = QScrollArea()
        form_area.setWidgetResizable(True)
        form_area.setWidget(form_page)
        form_area.setFrameShape(QScrollArea.NoFrame)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(facts_area, "Track")
        self.tabs.addTab(form_area, "Metadata and rights")
        self.tabs.setTabToolTip(1, "Composer, publisher, ISRC, one-stop, territories, restrictions, cleared-for "
                                   "media, description and tags: edit and Save")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tabs)
        self._rows: list[tuple[str, str]] = []
        self._saved: dict[str, str] = {}
        self.track_id: Optional[int] = None
        self._set_editable(False)
        self._update_buttons()

    def editable(self) -> bool:
        """Whether the shown track's metadata can be edited (a catalog track)."""
        return self.tabs.isTabEnabled(1)

    def _set_editable(self, on: bool) -> None:
        self.tabs.setTabEnabled(1, on)
        if not on:
            self.tabs.setCurrentIndex(0)

    # -- what is shown --------------------------------------------------------------------------------
    def rows(self) -> list[tuple[str, str]]:
        """The (field, value) pairs shown above the form (for tests)."""
        return list(self._rows)

    def values(self) -> dict[str, str]:
        """The form's texts by field."""
        out = {}
        for name, w in self.editors.items():
            out[name] = str(w.currentData() or "") if isinstance(w, QComboBox) else w.text().strip()
        return out

    def set_value(self, field: str, text: str) -> None:
        w = self.editors[field]
        if isinstance(w, QComboBox):
            w.setCurrentIndex(max(0, w.findData(text)))
        else:
            w.setText(text)

    def changed(self) -> dict[str, str]:
        """The fields whose text differs from the saved values."""
        return {k: v for k, v in self.values().items() if v != self._saved.get(k, "")}

    def show_candidate(self, c, info: dict, keep_edits: bool = True) -> None:
        """Show ``c`` (``info`` from the backend; empty for a file outside the catalog). The same track shown
        again (results refreshed) keeps what the user is typing unless ``keep_edits`` is False (after a save)."""
        pending = self.changed() if keep_edits and c is not None and self.track_id is not None \
            and c.track_id is not None and int(c.track_id) == self.track_id else {}
        self.error_label.setVisible(False)
        if c is None:
            self._rows, self.track_id = [], None
            self.label.setText("Select a track to see its details.")
            self._set_editable(False)
            return
        info = info or {}
        facts = info.get("facts") or {}
        rows: list[tuple[str, str]] = []
        rows.append(("Title", info.get("title") or c.title or Path(c.path).stem))
        rows.append(("Artist", info.get("artist") or c.artist or ""))
        if info.get("album"):
            rows.append(("Album", info["album"]))
        dur = info.get("duration_s") or c.duration_s
        if dur:
            rows.append(("Length", fmt_duration(dur)))
        an = info.get("analysis") or {}
        if info.get("bpm_tag"):
            rows.append(("Tempo", f"{info['bpm_tag']:.0f} BPM (from the file's tag or yours)"))
        elif an.get("tempo_bpm"):
            rows.append(("Tempo", f"{an['tempo_bpm']:.0f} BPM (measured)"))
        elif facts.get("bpm"):
            rows.append(("Tempo", f"{facts['bpm']:.0f} BPM (estimated)"))
        elif c.bpm:
            src = {"tag": "from the file's tag", "analysis": "measured"}.get(c.bpm_source, "")
            rows.append(("Tempo", f"{c.bpm:.0f} BPM" + (f" ({src})" if src else "")))
        if an.get("meter"):
            rows.append(("Meter", f"{an['meter']} beats per bar"))
        key = facts.get("key")
        if key:
            rows.append(("Key", key.replace("?", " (uncertain)")))
        else:
            rows.append(("Key", "not estimated yet (the catalog's analysis estimates it)"))
        if facts.get("auto_tags"):
            rows.append(("Sounds", ", ".join(facts["auto_tags"])))
        tags = list(info.get("tags") or c.tags or [])
        if info.get("genre") and info["genre"] not in tags:
            tags = tags + [info["genre"]]
        rows.append(("Tags", ", ".join(tags) if tags else "none"))
        rights = info.get("rights") or {}
        if rights:
            rows.append(("Rights", "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in rights.items())))
        if info.get("notes"):
            rows.append(("Notes", info["notes"]))
        if an:
            rows.append(("Analysis", f"{an.get('downbeats', 0)} downbeats, {an.get('beats', 0)} beats found"))
        elif info.get("analysis_error"):
            rows.append(("Analysis", f"failed: {info['analysis_error']}"))
        elif c.track_id is not None:
            rows.append(("Analysis", "not analysed yet (Catalog › Analyse)"))
        rows.append(("File", c.path))
        if info.get("size_bytes"):
            rows.append(("Size", _size(info["size_bytes"])))
        if info.get("status") and info["status"] != "ok":
            rows.append(("Status", f"{info['status']}: {info.get('error', '')}".strip(": ")))
        self._rows = rows
        pal = self.palette()
        key_colour = pal.color(QPalette.PlaceholderText).name()  # dimmer than the text, readable in both themes
        html = "<table cellspacing='3'>" + "".join(
            f"<tr><td valign='top' style='color:{key_colour}'><b>{_esc(k)}</b></td><td>{_esc(v)}</td></tr>"
            for k, v in rows) + "</table>"
        self.label.setText(html)
        # the editable fields: only catalog tracks have them
        self.track_id = int(c.track_id) if c.track_id is not None and info.get("path") else None
        self._set_editable(self.track_id is not None)
        source = facts if facts else info
        self._saved = {name: field_text(name, (info.get("tags") if name == "tags" else source.get(name)))
                       for name, _, _ in EDIT_FIELDS}
        self.revert()
        for name, text in pending.items():
            self.set_value(name, text)
        self._update_buttons()

    # -- editing --------------------------------------------------------------------------------------
    def revert(self) -> None:
        for name, text in self._saved.items():
            w = self.editors[name]
            w.blockSignals(True)
            self.set_value(name, text)
            w.blockSignals(False)
        self.error_label.setVisible(False)
        self._update_buttons()

    def save(self) -> None:
        """Send the changed fields (``metadata_edited``); nothing when nothing changed."""
        changed = self.changed()
        if self.track_id is None or not changed:
            return
        self.metadata_edited.emit(self.track_id, changed)

    def show_error(self, sentence: str) -> None:
        """A value could not be saved: say why, keep the user's text."""
        self.error_label.setText(sentence)
        self.error_label.setVisible(True)
        self.tabs.setCurrentIndex(1)

    def _update_buttons(self, *_a) -> None:
        dirty = self.track_id is not None and bool(self.changed())
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)
