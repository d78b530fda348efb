"""Brief search over auto-tags, user tags and metadata."""
from __future__ import annotations

import numpy as np
import soundfile as sf

from supervisor_app.brief import parse_brief, search_brief
from supervisor_app.catalog import Catalog
from supervisor_app.filters import Filters
from supervisor_app.indexing import AUTOTAGS, yamnet_version


def _catalog(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    for i, name in enumerate(["a", "b", "c"]):
        t = np.arange(22050 * 2) / 22050
        sf.write(d / f"{name}.wav", (0.2 * np.sin(2 * np.pi * (220 + 110 * i) * t)).astype(np.float32), 22050)
    cat = Catalog.create(tmp_path / "c.sqlite")
    cat.add_folder(d)
    ids = {t.title: t.id for t in cat.tracks()}
    v = yamnet_version()
    cat.put_analysis(ids["a"], AUTOTAGS, v, {"tags": [["Orchestra", 0.4], ["Bowed string instrument", 0.3], ["Timpani", 0.05]]})
    cat.put_analysis(ids["b"], AUTOTAGS, v, {"tags": [["Rock music", 0.5], ["Electric guitar", 0.4], ["Strum", 0.3]]})
    cat.put_analysis(ids["c"], AUTOTAGS, v, {"tags": [["Happy music", 0.2], ["Orchestra", 0.01]]})
    cat.set_user_fields(ids["c"], tags=["Upbeat", "cleared"])
    return cat, ids


def test_parse_brief():
    assert parse_brief("Epic, orchestral,  building") == ["epic", "orchestral", "building"]
    assert parse_brief("epic orchestral") == ["epic", "orchestral"]
    assert parse_brief("  ") == []


def test_search_ranks_by_matched_weight_and_explains(tmp_path):
    cat, ids = _catalog(tmp_path)
    res = search_brief(cat, "epic, orchestral, strings")
    assert [m.track_id for m in res] == [ids["a"]]  # 'Orchestra' 0.01 is below the floor; 'Strum' is not 'strings'
    assert res[0].matched["orchestral"] == ("orchestra", 0.4)
    assert res[0].matched["strings"][0] == "bowed string instrument"
    up = search_brief(cat, "upbeat")
    assert [m.track_id for m in up][0] == ids["c"]  # the user's own tag counts fully
    filtered = search_brief(cat, "upbeat", filters=Filters(exclude_tags=["cleared"]))
    assert ids["c"] not in [m.track_id for m in filtered]
    assert search_brief(cat, "") == []
