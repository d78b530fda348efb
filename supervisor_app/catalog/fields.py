"""The track fields a user (or a library export) may set, and how their text values are read.

Every field named here can be set with ``catalog edit TRACK --set key=value`` and imported with
``catalog import-metadata``. File-tag fields (title, artist, album, genre, bpm) set by the user are
*locked*: a rescan that re-reads the file's tags keeps the user's value.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Optional

from supervisor_app.infra.errors import UsageError

#: fields a rescan re-reads from the file's tags (user values for them are locked against rescans)
TAG_FIELDS = ("title", "artist", "album", "genre", "bpm_tag")
#: library metadata and rights (only ever set by the user or an import)
LIBRARY_FIELDS = ("composer", "publisher", "label", "isrc", "iswc", "pro", "one_stop", "territories",
                  "restrictions", "cleared_for", "description")
#: JSON user fields of the original schema
USER_FIELDS = ("tags", "notes")
EDITABLE_FIELDS = TAG_FIELDS + LIBRARY_FIELDS + USER_FIELDS
RIGHTS_FIELDS = ("one_stop", "territories", "restrictions", "cleared_for", "pro")

# spellings people type for a field
FIELD_ALIASES = {"bpm": "bpm_tag", "tempo": "bpm_tag", "onestop": "one_stop", "one-stop": "one_stop",
                 "territory": "territories", "restriction": "restrictions", "cleared": "cleared_for",
                 "cleared-for": "cleared_for", "clearedfor": "cleared_for", "media": "cleared_for",
                 "note": "notes", "tag": "tags", "keywords": "tags", "desc": "description"}

_ISRC_RE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")
_YES = {"1", "y", "yes", "true", "x", "one-stop", "one stop", "onestop", "oui", "ja", "si", "sí"}
_NO = {"0", "n", "no", "false", "non", "nein", "not one-stop", "two-stop", "2-stop"}


def canonical_field(name: str) -> str:
    """'BPM' → 'bpm_tag', 'one-stop' → 'one_stop'; ``UsageError`` for unknown names."""
    key = str(name).strip().casefold().replace(" ", "_")
    key = FIELD_ALIASES.get(key, FIELD_ALIASES.get(key.replace("_", "-"), key))
    if key not in EDITABLE_FIELDS:
        shown = ", ".join(f if f != "bpm_tag" else "bpm" for f in EDITABLE_FIELDS)
        raise UsageError(f"Unknown track field {name!r}: choose one of {shown}.")
    return key


def normalize_isrc(text: Optional[str]) -> Optional[str]:
    """'us-rc1-76-07839' → 'USRC17607839'; ``None`` for empty text; ``UsageError`` for non-ISRCs."""
    if text is None or not str(text).strip():
        return None
    code = re.sub(r"[\s\-_.]", "", str(text)).upper()
    if code.startswith("ISRC"):
        code = code[4:].lstrip(":")
    if not _ISRC_RE.match(code):
        raise UsageError(f"{text!r} is not an ISRC (12 characters such as US-RC1-76-07839).")
    return code


def parse_bool(text: Any, what: str = "one-stop") -> Optional[bool]:
    """'yes'/'Y'/'1'/'true' → True, 'no'/'0' → False, '' → None; ``UsageError`` otherwise."""
    if text is None or isinstance(text, bool):
        return text
    if isinstance(text, (int, float)):
        return bool(text)
    t = str(text).strip().casefold()
    if not t:
        return None
    if t in _YES:
        return True
    if t in _NO:
        return False
    raise UsageError(f"{text!r} is not a yes/no value for {what}.")


def parse_value(field: str, value: Any) -> Any:
    """The stored value of ``field`` for a text (or spreadsheet cell) value; '' clears a field."""
    if field == "tags":
        if isinstance(value, (list, tuple)):
            return [str(v).strip() for v in value if str(v).strip()]
        return [t.strip() for t in re.split(r"[,;|]", str(value or "")) if t.strip()]
    if field == "bpm_tag":
        if value is None or str(value).strip() == "":
            return None
        try:
            bpm = float(str(value).replace(",", ".").lower().replace("bpm", "").strip())
        except ValueError:
            raise UsageError(f"{value!r} is not a tempo in BPM.") from None
        if not 20 <= bpm <= 400:
            raise UsageError(f"A tempo of {bpm:g} BPM is outside 20–400.")
        return bpm
    if field == "isrc":
        return normalize_isrc(value)
    if field == "one_stop":
        return parse_bool(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\x00", " ").strip()
    return text or None


def fold(text: Optional[str]) -> str:
    """Case-, accent- and punctuation-insensitive form of a name: 'Café  Déjà-Vu!' → 'cafe deja vu'."""
    if not text:
        return ""
    t = unicodedata.normalize("NFKD", str(text))
    t = "".join(c for c in t if not unicodedata.combining(c)).casefold()
    t = t.replace("&", " and ").replace("ß", "ss").replace("ø", "o").replace("æ", "ae").replace("ł", "l")
    t = re.sub(r"[^\w]+", " ", t).replace("_", " ")
    return " ".join(t.split())
