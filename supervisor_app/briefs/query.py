"""Parse a brief ("calm, hopeful piano, builds to a lift, one-stop only, no vocals, 90-110 bpm, 30s")
into what a search can use: mood/style/instrument terms (with negations), metadata fields asked for
explicitly (``artist:Name``), tempo and duration constraints, rights, and the words not understood.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from supervisor_app.briefs.vocab import CONCEPTS, NEGATIONS, STOP_WORDS, WORDS

FIELDS = ("artist", "title", "album", "composer", "publisher", "label", "genre", "tag", "isrc", "description")
_MAX_PHRASE = 4


@dataclass
class Term:
    text: str  # as written (folded)
    concept: Optional[str]  # brief_vocab concept, or None for a free word (user tags, genre, description)
    negated: bool = False
    weight: float = 1.0


@dataclass
class FieldTerm:
    field: str  # one of FIELDS
    value: str
    negated: bool = False


@dataclass
class BriefQuery:
    text: str
    terms: list[Term] = field(default_factory=list)
    fields: list[FieldTerm] = field(default_factory=list)
    tempo_bpm: Optional[tuple] = None  # (lo, hi), either may be None
    min_duration_s: Optional[float] = None
    max_duration_s: Optional[float] = None
    one_stop: bool = False
    cleared_for: list[str] = field(default_factory=list)
    territory: Optional[str] = None
    understood: list[str] = field(default_factory=list)  # constraint phrases recognised (tempo, duration, rights)

    @property
    def is_empty(self) -> bool:
        return not (self.terms or self.fields or self.tempo_bpm or self.min_duration_s or self.max_duration_s
                    or self.one_stop or self.cleared_for or self.territory)


def _norm(s: str) -> str:
    from supervisor_app.catalog.fields import fold

    return fold(s.replace("&", " & ")).replace(" and b", " and b")


_FIELD_RE = re.compile(r"(-?)\b(" + "|".join(FIELDS) + r")\s*:\s*(\"[^\"]*\"|'[^']*'|[^,;\n]+)", re.I)
_RANGE_BPM = re.compile(r"(\d{2,3})\s*(?:-|–|to)\s*(\d{2,3})\s*(?:bpm|beats per minute)", re.I)
_CMP_BPM = re.compile(r"\b(under|below|less than|slower than|max|over|above|more than|faster than|min|at least)\s+"
                      r"(\d{2,3})\s*bpm", re.I)
_ONE_BPM = re.compile(r"(?:around|about|approx\.?|~)?\s*(\d{2,3})\s*bpm", re.I)
_DUR = re.compile(r"\b(under|below|less than|max|maximum|no longer than|over|at least|min|minimum|longer than)?\s*"
                  r"(?:(\d{1,2}):(\d{2})|(\d+(?:\.\d+)?)\s*(seconds|second|secs|sec|s|\"|minutes|minute|mins|min|m)"
                  r")(?![a-z0-9])(?:\s*(?:spot|edit|cut|version|long))?", re.I)
_ONE_STOP = re.compile(r"\b(?:one|1)[\s-]?stop(?:\s+only)?\b", re.I)
_CLEARED = re.compile(r"\bcleared\s+for\s+([a-z][a-z ]*?)(?=,|;|$|\s+and\b|\s+only\b)", re.I)
_TERRITORY = re.compile(r"\b(worldwide|world-wide|global rights)\b", re.I)


def parse_brief_query(text: str) -> BriefQuery:
    """Read a brief; every part of it ends up in the query or among the terms' free words."""
    q = BriefQuery(text=text or "")
    rest = text or ""

    def cut(m):
        nonlocal rest
        rest = rest.replace(m.group(0), " , ", 1)

    for m in list(_FIELD_RE.finditer(rest)):
        value = m.group(3).strip().strip("\"'").strip()
        if value:
            q.fields.append(FieldTerm(m.group(2).lower(), value, negated=bool(m.group(1))))
        cut(m)
    for m in list(_RANGE_BPM.finditer(rest)):
        lo, hi = sorted((float(m.group(1)), float(m.group(2))))
        q.tempo_bpm = (lo, hi)
        q.understood.append(m.group(0).strip())
        cut(m)
    for m in list(_CMP_BPM.finditer(rest)):
        v = float(m.group(2))
        below = m.group(1).lower() in ("under", "below", "less than", "slower than", "max")
        q.tempo_bpm = (None, v) if below else (v, None)
        q.understood.append(m.group(0).strip())
        cut(m)
    for m in list(_ONE_BPM.finditer(rest)):
        v = float(m.group(1))
        q.tempo_bpm = (round(v * 0.95, 1), round(v * 1.05, 1))
        q.understood.append(m.group(0).strip())
        cut(m)
    for m in list(_ONE_STOP.finditer(rest)):
        q.one_stop = True
        q.understood.append(m.group(0).strip())
        cut(m)
    for m in list(_CLEARED.finditer(rest)):
        q.cleared_for.append(m.group(1).strip())
        q.understood.append(m.group(0).strip())
        cut(m)
    for m in list(_TERRITORY.finditer(rest)):
        q.territory = "worldwide"
        q.understood.append(m.group(0).strip())
        cut(m)
    for m in list(_DUR.finditer(rest)):
        if m.group(2):
            secs = int(m.group(2)) * 60 + int(m.group(3))
        else:
            unit = m.group(5).lower()
            secs = float(m.group(4)) * (60 if unit.startswith("m") else 1)
        if secs <= 0:
            continue
        how = (m.group(1) or "").lower()
        if how in ("under", "below", "less than", "max", "maximum", "no longer than"):
            q.max_duration_s = secs
        else:
            q.min_duration_s = secs  # "a 30s spot": the track must last at least that long
        q.understood.append(m.group(0).strip())
        cut(m)
    for segment in re.split(r"[,;\n.!?()]+|\bbut\b", rest):
        _parse_words(segment, q)
    return q


def _parse_words(segment: str, q: BriefQuery) -> None:
    raw = segment.replace("/", " ").split()
    words = []
    for w in raw:
        neg = w.startswith("-") and len(w) > 1
        w = _norm(w.lstrip("-"))
        if not w:
            continue
        for i, part in enumerate(w.split()):
            words.append(("-" if neg and i == 0 else "") + part)
    negate = False
    i = 0
    while i < len(words):
        w = words[i]
        if w.startswith("-"):
            negate, w = True, w[1:]
            words[i] = w
        if w in NEGATIONS:
            negate = True
            i += 1
            continue
        hit = None
        for n in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            phrase = " ".join(x.lstrip("-") for x in words[i:i + n])
            if phrase in WORDS:
                hit = (phrase, n)
                break
        if hit is not None:
            phrase, n = hit
            q.terms.append(Term(phrase, WORDS[phrase], negated=negate))
            negate = False
            i += n
            continue
        if w == "instrumental" or w == "instrumentals":
            q.terms.append(Term(w, "vocals", negated=not negate))
            negate = False
        elif w in ("only", "vocal") and negate:  # "non-vocal" split as non + vocal
            q.terms.append(Term(w, "vocals", negated=True))
            negate = False
        elif w not in STOP_WORDS and not w.isdigit():
            q.terms.append(Term(w, None, negated=negate))
            negate = False
        i += 1


def concept(name: str):
    return CONCEPTS[name]
