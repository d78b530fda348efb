from dataclasses import dataclass, field

import pytest

from supervisor_app.infra.errors import UsageError
from supervisor_app.catalog.filters import Filters


@dataclass
class T:
    artist: str = "A"
    bpm_tag: float | None = 120.0
    duration_s: float = 180.0
    tags: list = field(default_factory=list)
    rights: dict = field(default_factory=dict)


def test_parse_range():
    assert Filters.parse_range("90:110") == (90.0, 110.0)
    assert Filters.parse_range("90:") == (90.0, None)
    assert Filters.parse_range(":60") == (None, 60.0)
    assert Filters.parse_range(None) is None
    for bad in ("90", "a:b", "110:90"):
        with pytest.raises(UsageError):
            Filters.parse_range(bad, "BPM range")


def test_each_filter():
    t = T(artist="Kevin MacLeod", tags=["jazz", "Upbeat"], rights={"cleared": True, "budget_eur": 4000})
    assert Filters().accepts(t)
    assert not Filters(exclude_artists=["kevin macleod "]).accepts(t)
    assert Filters(bpm_range=(100, 130)).accepts(t)
    assert not Filters(bpm_range=(130, None)).accepts(t)
    assert Filters(bpm_range=(130, None)).accepts(t, bpm=140.0)  # analysed tempo overrides the tag
    assert not Filters(bpm_range=(100, 130)).accepts(T(bpm_tag=None))  # unknown BPM cannot pass a BPM filter
    assert not Filters(duration_range_s=(None, 60)).accepts(t)
    assert Filters(include_tags=["upbeat"]).accepts(t)
    assert not Filters(include_tags=["upbeat", "rock"]).accepts(t)
    assert not Filters(exclude_tags=["JAZZ"]).accepts(t)
    assert Filters(rights={"cleared": True, "budget_eur<=": 5000}).accepts(t)
    assert not Filters(rights={"budget_eur<=": 3000}).accepts(t)
    assert not Filters(rights={"budget_eur<=": 3000}).accepts(T())  # unknown budget fails a budget cap


def test_roundtrip():
    f = Filters(exclude_artists=["x"], bpm_range=(90, 110), include_tags=["a"])
    assert Filters.from_dict(f.to_dict()) == f
