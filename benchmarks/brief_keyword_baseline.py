"""The keyword matcher that `search` used before issue 16 (verbatim copy of supervisor_app/briefs/search.py at
commit f4dace9), kept as the baseline of benchmarks/brief_search.py.

Brief → candidates: search the catalog by keywords before any training.

A brief is free text ("epic, orchestral, building") and/or reference tracks. Each catalog track
carries auto-tags (the AudioSet music classes YAMNet hears in it, with their mean probability;
``catalog index`` computes them) plus the user's own tags, title, artist, album and genre. A keyword
matches a tag when one contains the other (case-insensitive, after light normalisation, plus a small
synonym table for supervisors' words that AudioSet names differently). A track's brief score is the
sum over keywords of its best matching tag weight (auto-tag probability; user tags and metadata
count 1.0), so tracks that match more of the brief, more strongly, come first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from supervisor_app.catalog.filters import Filters

# supervisor's word -> AudioSet class names (or fragments) that mean it
SYNONYMS: dict[str, tuple[str, ...]] = {
    "orchestral": ("orchestra", "classical music", "string section", "bowed string instrument"),
    "epic": ("orchestra", "exciting music", "drum roll", "timpani", "brass instrument"),
    "building": ("exciting music", "drum roll", "crescendo"),
    "strings": ("string section", "bowed string instrument", "violin", "cello"),
    "upbeat": ("happy music", "exciting music", "dance music"),
    "happy": ("happy music",),
    "sad": ("sad music",),
    "tender": ("tender music",),
    "scary": ("scary music",),
    "tense": ("scary music", "angry music"),
    "dark": ("scary music", "angry music"),
    "uplifting": ("happy music", "exciting music"),
    "chill": ("ambient music", "new-age music", "tender music"),
    "cinematic": ("soundtrack music", "orchestra"),
    "trailer": ("soundtrack music", "exciting music"),
    "synth": ("synthesizer", "electronic music"),
    "acoustic": ("acoustic guitar",),
    "piano": ("piano",),
    "vocal": ("singing", "choir"),
    "instrumental": (),
    "game": ("video game music",),
    "retro": ("video game music", "chiptune"),
    "metal": ("heavy metal",),
    "edm": ("electronic dance music",),
}


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9&+ -]", "", s.casefold().replace("_", " ")).strip()


def parse_brief(text: str) -> list[str]:
    """Keywords of a brief: split on commas/semicolons/newlines; single words otherwise."""
    parts = [p for p in re.split(r"[,;\n]+", text or "") if p.strip()]
    if len(parts) <= 1:
        parts = (text or "").split()
    return [_norm(p) for p in parts if _norm(p)]


@dataclass
class BriefMatch:
    track_id: int
    score: float
    matched: dict[str, tuple[str, float]] = field(default_factory=dict)  # keyword -> (tag, weight)


def track_tag_weights(catalog, track) -> dict[str, float]:
    """Every searchable tag of a track with its weight (auto-tags: probability; the rest: 1.0)."""
    from supervisor_app.indexing.keys import AUTOTAGS
    from supervisor_app.features import get_extractor

    out: dict[str, float] = {}
    rec = catalog.get_analysis(track.id, AUTOTAGS, get_extractor("yamnet").version)
    if rec is not None and rec.result:
        for name, score in rec.result.get("tags", []):
            out[_norm(name)] = max(out.get(_norm(name), 0.0), float(score))
    for t in (track.tags or []):
        name = t if isinstance(t, str) else str(t[0])
        out[_norm(name)] = 1.0
    for meta in (track.genre, track.title, track.artist, track.album):
        if meta:
            out[_norm(meta)] = max(out.get(_norm(meta), 0.0), 1.0)
    return out


MIN_AUTOTAG_WEIGHT = 0.02  # an AudioSet class heard less than this (mean probability) does not match


def _contains(text: str, words: str) -> bool:
    """``words`` occurs in ``text`` as whole words ("strum" is not in "instrument")."""
    return re.search(r"(?<![a-z0-9])" + re.escape(words) + r"(?![a-z0-9])", text) is not None


def _best(keyword: str, tags: dict[str, float]) -> tuple[str, float] | None:
    wanted = [keyword] + [_norm(s) for s in SYNONYMS.get(keyword, ())]
    best = None
    for tag, w in tags.items():
        if w < MIN_AUTOTAG_WEIGHT:
            continue
        for k in wanted:
            if k and (_contains(tag, k) or (len(tag) > 3 and _contains(k, tag))):
                if best is None or w > best[1]:
                    best = (tag, w)
    return best


def search_brief(catalog, brief: str, *, filters: Filters | None = None, limit: int = 50) -> list[BriefMatch]:
    """Tracks matching the brief's keywords, best first (ties: catalog order). Empty brief: []."""
    keywords = parse_brief(brief)
    if not keywords:
        return []
    filters = filters or Filters()
    out = []
    for t in catalog.tracks():
        if not filters.accepts(t):
            continue
        tags = track_tag_weights(catalog, t)
        m = BriefMatch(t.id, 0.0)
        for k in keywords:
            b = _best(k, tags)
            if b is not None:
                m.matched[k] = b
                m.score += b[1]
        if m.matched:
            out.append(m)
    out.sort(key=lambda m: -m.score)
    return out[:limit]


