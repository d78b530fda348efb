"""Catalog filters applied before ranking (exclude artists, BPM/duration ranges, tags, rights).

A :class:`Filters` value is plain data (JSON-able) shared by ``recommend``, ``similar`` and the
GUI. ``Filters.parse_range("90:110")`` reads the CLI's range syntax (either side may be empty).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from supervisor_app.infra.errors import UsageError


@dataclass
class Filters:
    exclude_artists: list[str] = field(default_factory=list)
    bpm_range: tuple[float | None, float | None] | None = None
    duration_range_s: tuple[float | None, float | None] | None = None
    include_tags: list[str] = field(default_factory=list)  # all must be present
    exclude_tags: list[str] = field(default_factory=list)  # none may be present
    rights: dict[str, Any] = field(default_factory=dict)  # e.g. {"cleared": True, "budget_eur<=": 5000}
    # library rights fields (catalog.rights): unknown values never pass these
    one_stop_only: bool = False
    territory: str | None = None  # e.g. "US": the track's territories must cover it
    cleared_for: list[str] = field(default_factory=list)  # media the track must be cleared for ("TV", "online")
    not_restricted_for: list[str] = field(default_factory=list)  # uses the track's restrictions must not name

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "Filters":
        d = dict(d or {})
        for k in ("bpm_range", "duration_range_s"):
            if d.get(k) is not None:
                d[k] = tuple(d[k])
        return cls(**d)

    @staticmethod
    def parse_range(text: str | None, what: str = "range") -> tuple[float | None, float | None] | None:
        """'90:110' -> (90.0, 110.0); '90:' -> (90.0, None); None -> None."""
        if text is None or text == "":
            return None
        parts = str(text).split(":")
        if len(parts) != 2:
            raise UsageError(f"The {what} {text!r} is not of the form MIN:MAX (for example 90:110).")
        try:
            lo = float(parts[0]) if parts[0].strip() else None
            hi = float(parts[1]) if parts[1].strip() else None
        except ValueError:
            raise UsageError(f"The {what} {text!r} is not of the form MIN:MAX with numbers (for example 90:110).") from None
        if lo is not None and hi is not None and lo > hi:
            raise UsageError(f"The {what} {text!r} has its minimum above its maximum.")
        return (lo, hi)

    def is_empty(self) -> bool:
        return not (self.exclude_artists or self.bpm_range or self.duration_range_s or self.include_tags
                    or self.exclude_tags or self.rights or self.one_stop_only or self.territory
                    or self.cleared_for or self.not_restricted_for)

    def accepts(self, track, bpm: float | None = None) -> bool:
        """Whether a catalog track passes. ``bpm`` overrides the tagged BPM (e.g. the analysed tempo)."""
        artist = (getattr(track, "artist", None) or "").strip().casefold()
        if artist and artist in {a.strip().casefold() for a in self.exclude_artists}:
            return False
        if self.bpm_range is not None:
            b = bpm if bpm is not None else getattr(track, "bpm_tag", None)
            if b is None or not _in_range(float(b), self.bpm_range):
                return False
        if self.duration_range_s is not None:
            d = getattr(track, "duration_s", None)
            if d is None or not _in_range(float(d), self.duration_range_s):
                return False
        tags = {t.casefold() for t in _tags(track)}
        if any(t.casefold() not in tags for t in self.include_tags):
            return False
        if any(t.casefold() in tags for t in self.exclude_tags):
            return False
        rights = getattr(track, "rights", None) or {}
        for key, want in self.rights.items():
            if not _rights_ok(rights, key, want):
                return False
        if self.one_stop_only or self.territory or self.cleared_for or self.not_restricted_for:
            return self._library_rights_ok(track)
        return True

    def _library_rights_ok(self, track) -> bool:
        from supervisor_app.catalog.rights import cleared_for_ok, restricted_for, territory_ok

        if self.one_stop_only and getattr(track, "one_stop", None) is not True:
            return False
        if self.territory and not territory_ok(getattr(track, "territories", None), self.territory):
            return False
        if any(not cleared_for_ok(getattr(track, "cleared_for", None), m) for m in self.cleared_for):
            return False
        return not any(restricted_for(getattr(track, "restrictions", None), u) for u in self.not_restricted_for)


def _in_range(x: float, rng) -> bool:
    lo, hi = rng
    return (lo is None or x >= lo) and (hi is None or x <= hi)


def _tags(track) -> Iterable[str]:
    tags = getattr(track, "tags", None) or []
    if isinstance(tags, dict):  # {tag: weight}
        return list(tags)
    return [t if isinstance(t, str) else str(t[0]) for t in tags]


def _rights_ok(rights: dict, key: str, want) -> bool:
    for op in ("<=", ">=", "<", ">"):
        if key.endswith(op):
            field_ = key[: -len(op)]
            have = rights.get(field_)
            if have is None:
                return False
            try:
                h, w = float(have), float(want)
            except (TypeError, ValueError):
                return False
            return {"<=": h <= w, ">=": h >= w, "<": h < w, ">": h > w}[op]
    return rights.get(key) == want
