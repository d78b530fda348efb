"""Tracks named the way people name them, and the catalog a command works on.

:func:`resolve_track` turns what a user types into a catalog track: a catalog id (``12``), a file path
(the catalog's own path, or any copy of the same audio), or a name: ``"Vibe Ace"``,
``"Kevin MacLeod - Vibe Ace"``, ``"vibe ace kevin"``, ``"Sugar Plum"`` — case-, accent- and
punctuation-insensitive, and tolerant of typos. A name that fits several tracks equally well raises
:class:`AmbiguousTrackError` listing them (the CLI prints the list, exit code 2).

:func:`open_catalog` opens ``--catalog`` or, without it, the last catalog used, and remembers it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Optional

from supervisor_app.infra import errors
from supervisor_app.catalog.fields import fold

#: a fuzzy score below this is no match at all
MIN_SCORE = 0.72
#: candidates within this of the best one make the name ambiguous
AMBIGUITY_MARGIN = 0.06
_MAX_LISTED = 10
_AUDIO_SUFFIXES = {".wav", ".mp3", ".ogg", ".flac", ".m4a", ".aac", ".aif", ".aiff", ".opus", ".wma", ".mp4",
                   ".mov", ".webm", ".mkv"}
_DASHES = (" - ", " – ", " — ", " -- ", " / ")


class AmbiguousTrackError(errors.UsageError):
    """A name fits several tracks; ``matches`` lists them (best first)."""

    def __init__(self, text: str, matches: list["NameMatch"]):
        self.matches = matches
        shown = matches[:_MAX_LISTED]
        lines = [f"{text!r} fits {len(matches)} tracks; name one by its id (or more of its name):"]
        lines += [f"  {m.track_id:>6}  {m.name}" for m in shown]
        if len(matches) > len(shown):
            lines.append(f"  ... and {len(matches) - len(shown)} more")
        super().__init__("\n".join(lines))


@dataclass
class NameMatch:
    track_id: int
    name: str  # 'artist - title' as shown to people
    score: float  # 1.0 exact (after folding); fuzzy below


@dataclass
class ResolvedTrack:
    """What a track argument named: a catalog track, or (``allow_file``) an audio file outside the catalog."""

    track: object  # catalog Track or None
    path: str


def looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or Path(text).suffix.lower() in _AUDIO_SUFFIXES


def resolve_track(catalog, text, *, allow_file: bool = False, include_missing: bool = True) -> ResolvedTrack:
    """The track ``text`` names (id, path or name). ``allow_file``: an existing file that is not in the
    catalog comes back as ``ResolvedTrack(None, path)`` instead of an error."""
    from supervisor_app.infra.hashing import content_hash

    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    text = str(text or "").strip()
    if not text:
        raise errors.UsageError("Name a track: its catalog id, its file, or its title ('artist - title').")
    p = Path(text).expanduser()
    if text.isdigit() and not p.is_file():
        t = catalog.get_track(int(text))
        if t is not None:
            return ResolvedTrack(t, t.path)
        exact = [m for m in match_names(catalog, text, include_missing) if m.score >= 1.0]
        if len(exact) == 1:  # a title that is a number ("1979")
            t = catalog.get_track(exact[0].track_id)
            return ResolvedTrack(t, t.path)
        raise errors.UsageError(f"The catalog has no track with id {text}.")
    if p.exists():
        if p.is_dir():
            raise errors.UsageError(f"{p} is a folder: name one track (its id, file or title).")
        t = catalog.find_by_path(p)
        if t is None:
            same = catalog.find_by_hash(content_hash(p))
            same.sort(key=lambda x: x.status != "ok")
            t = same[0] if same else None
        if t is not None:
            return ResolvedTrack(t, str(p.resolve()) if t.path != str(p.resolve()) and not os.path.exists(t.path)
                                 else t.path)
        if allow_file:
            return ResolvedTrack(None, str(p.resolve()))
        raise errors.UsageError(f"The file {p} is not in the catalog {catalog.path}: add its folder with "
                                f"'supervisor-app catalog add FOLDER' first.")
    matches = match_names(catalog, text, include_missing)
    if not matches:
        if looks_like_path(text):
            raise errors.FileMissingError(p)
        close = [m for m in match_names(catalog, text, include_missing, min_score=0.5)][:3]
        hint = ("; closest: " + "; ".join(f"{m.track_id} {m.name}" for m in close)) if close else ""
        raise errors.UsageError(f"No track in the catalog {catalog.path} is named {text!r}{hint}.")
    best = matches[0]
    tied = [m for m in matches if m.score >= best.score - (0.0 if best.score >= 1.0 else AMBIGUITY_MARGIN)]
    if len(tied) > 1:
        raise AmbiguousTrackError(text, tied)
    t = catalog.get_track(best.track_id)
    return ResolvedTrack(t, t.path)


def resolve_track_id(catalog, text) -> int:
    """The id of the catalog track ``text`` names (see :func:`resolve_track`)."""
    return int(resolve_track(catalog, text).track.id)


def match_names(catalog, text: str, include_missing: bool = True, min_score: float = MIN_SCORE) -> list[NameMatch]:
    """Catalog tracks whose name fits ``text``, best first (score 1.0 = exact after folding)."""
    q = fold(text)
    if not q:
        return []
    split = _split_artist_title(text)
    q_tokens = q.split()
    out = []
    for tid, path, title, artist in catalog.track_names(include_missing):
        stem = Path(path).stem
        ft, fa, fs = fold(title), fold(artist), fold(stem)
        keys = [k for k in dict.fromkeys((ft, fs, f"{fa} {ft}".strip(), f"{ft} {fa}".strip())) if k]
        score = _score(q, q_tokens, keys)
        if split is not None and fa:
            a, b = split
            for qa, qt in ((a, b), (b, a)):  # 'artist - title' or 'title - artist'
                s = 0.5 * (_ratio(qa, fa) + max(_ratio(qt, ft), _ratio(qt, fs)))
                score = max(score, 1.0 if (qa == fa and qt in (ft, fs)) else min(s, 0.99))
        if score >= min_score:
            title_shown = title or stem
            out.append(NameMatch(int(tid), f"{artist} - {title_shown}" if artist else title_shown, round(score, 4)))
    out.sort(key=lambda m: (-m.score, m.track_id))
    return out


def _split_artist_title(text: str) -> Optional[tuple[str, str]]:
    for d in _DASHES:
        if d in text:
            a, b = text.split(d, 1)
            a, b = fold(a), fold(b)
            if a and b:
                return a, b
    return None


def _ratio(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return 1.0 if a == b else SequenceMatcher(None, a, b, autojunk=False).ratio()


def _score(q: str, q_tokens: list[str], keys: list[str]) -> float:
    best = 0.0
    for k in keys:
        if q == k:
            return 1.0
        k_tokens = k.split()
        # every word typed starts a word of the name: 'sugar plum' in 'dance of the sugar plum fairy'
        if all(any(kt.startswith(qt) for kt in k_tokens) for qt in q_tokens):
            covered = sum(len(t) for t in q_tokens) / max(1, sum(len(t) for t in k_tokens))
            best = max(best, 0.80 + 0.19 * min(1.0, covered))
            continue
        sm = SequenceMatcher(None, q, k, autojunk=False)
        if sm.real_quick_ratio() < MIN_SCORE - 0.2 or sm.quick_ratio() < MIN_SCORE - 0.2:
            continue
        best = max(best, min(0.95, sm.ratio()))
    return best


# --- the catalog a command works on --------------------------------------------------------------
def catalog_help() -> str:
    """Help text for ``--catalog`` naming the current default."""
    try:
        from supervisor_app.infra.paths import default_catalog_path

        return f"catalog file (default: the last one used, now {default_catalog_path()})"
    except Exception:  # help must never fail
        return "catalog file (default: the last one used)"


def catalog_path_from(arg) -> Path:
    from supervisor_app.infra.paths import default_catalog_path

    return Path(arg).expanduser() if arg else default_catalog_path()


def open_catalog(arg=None, *, create: bool = False):
    """Open the catalog ``arg`` (``--catalog``), or the last one used; remember it as the default."""
    from supervisor_app.infra.settings import remember_catalog
    from supervisor_app.catalog.store import Catalog

    path = catalog_path_from(arg)
    cat = Catalog.create(path) if create else Catalog.open(path)
    remember_catalog(cat.path)
    return cat
