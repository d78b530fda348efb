"""Rights tests on a track's library fields: one-stop, territory, restrictions, cleared-for media.

Libraries write these as free text ("Worldwide excl. DE, AT", "TV, Online, Cinema", "No alcohol or
gambling brands"), so the tests read words, with the usual synonyms. Unknown (empty) fields never pass
a rights filter: a supervisor cannot clear what the library has not stated.
"""
from __future__ import annotations

import re
from typing import Optional

from supervisor_app.catalog.fields import fold

# names of one territory, and the regions that contain it
_TERRITORIES = [
    ({"us", "usa", "united states", "united states of america", "america"}, {"north america", "americas"}),
    ({"ca", "canada"}, {"north america", "americas"}),
    ({"mx", "mexico"}, {"north america", "latin america", "latam", "americas"}),
    ({"br", "brazil", "brasil"}, {"latin america", "latam", "south america", "americas"}),
    ({"uk", "gb", "united kingdom", "great britain", "britain", "england"}, {"europe"}),
    ({"ie", "ireland"}, {"europe", "eu"}),
    ({"de", "germany", "deutschland"}, {"europe", "eu", "dach"}),
    ({"at", "austria"}, {"europe", "eu", "dach"}),
    ({"ch", "switzerland"}, {"europe", "dach"}),
    ({"fr", "france"}, {"europe", "eu"}),
    ({"es", "spain"}, {"europe", "eu"}),
    ({"it", "italy"}, {"europe", "eu"}),
    ({"nl", "netherlands", "holland"}, {"europe", "eu", "benelux"}),
    ({"se", "sweden"}, {"europe", "eu", "nordics", "scandinavia"}),
    ({"norway"}, {"europe", "nordics", "scandinavia"}),
    ({"dk", "denmark"}, {"europe", "eu", "nordics", "scandinavia"}),
    ({"jp", "japan"}, {"asia", "apac"}),
    ({"cn", "china"}, {"asia", "apac"}),
    ({"kr", "korea", "south korea"}, {"asia", "apac"}),
    ({"india"}, {"asia", "apac"}),
    ({"au", "australia"}, {"apac", "oceania", "anz"}),
    ({"nz", "new zealand"}, {"apac", "oceania", "anz"}),
]


def _territory_names(territory: str) -> set[str]:
    want = fold(territory)
    for names, regions in _TERRITORIES:
        if want in names:
            return names | regions
    return {want}


_WORLD = {"world", "worldwide", "ww", "global", "all territories", "the universe", "universe", "all"}
_EXCEPT = re.compile(r"\b(excl|excluding|except|ex|not|but not|without)\b")
_MEDIA = {
    "tv": {"tv", "television", "broadcast", "bcast"},
    "online": {"online", "internet", "web", "digital", "social", "social media", "streaming", "youtube"},
    "film": {"film", "cinema", "theatrical", "movie", "feature film", "festival"},
    "games": {"games", "game", "video games", "video game", "gaming", "interactive"},
    "ads": {"ads", "advertising", "advertisement", "commercial", "commercials", "brand", "branded"},
    "radio": {"radio", "podcast", "audio"},
    "trailer": {"trailer", "trailers", "promo", "promos"},
    "corporate": {"corporate", "non broadcast", "industrial", "internal"},
}
_ALL_MEDIA = {"all media", "all", "any media", "all uses", "any"}


def _phrases(text: str) -> list[str]:
    return [fold(p) for p in re.split(r"[,;/|+\n]|\band\b", str(text)) if fold(p)]


def _mentions(phrase_text: str, words: set[str]) -> bool:
    return any(re.search(rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])", phrase_text) for w in words)


def territory_ok(territories: Optional[str], territory: str) -> bool:
    """Whether a track's territories text covers ``territory`` ('US', 'Germany', 'worldwide')."""
    if not territories or not territories.strip():
        return False
    names = _territory_names(territory)
    text = fold(territories)
    m = _EXCEPT.search(text)
    included, excluded = (text[:m.start()], text[m.end():]) if m else (text, "")
    if excluded and _mentions(excluded, names):
        return False
    if _mentions(included, _WORLD):
        return True
    return _mentions(included, names)


def cleared_for_ok(cleared_for: Optional[str], medium: str) -> bool:
    """Whether a track's cleared-for text lists ``medium`` ('TV', 'online', 'film', ...) or all media."""
    if not cleared_for or not cleared_for.strip():
        return False
    text = fold(cleared_for)
    if text in _ALL_MEDIA or _mentions(text, {"all media", "any media"}):
        return True
    want = fold(medium)
    words = next((v for v in _MEDIA.values() if want in v), {want})
    return _mentions(text, words)


def restricted_for(restrictions: Optional[str], use: str) -> bool:
    """Whether a track's restrictions text mentions ``use`` ('alcohol', 'political', ...)."""
    if not restrictions:
        return False
    stem = fold(use).rstrip("s")
    return bool(stem) and re.search(rf"(?<![a-z0-9]){re.escape(stem)}", fold(restrictions)) is not None
