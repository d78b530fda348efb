"""Brief search: parsing (negation, tempo, duration, rights, fields), ranking with explanations, real audio."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from synth_music import sine
from supervisor_app.briefs import track_profile
from supervisor_app.briefs.search import parse_brief, rank_brief, search_brief
from supervisor_app.briefs.query import parse_brief_query
from supervisor_app.briefs.vocab import CONCEPTS, WORDS
from supervisor_app.catalog import Catalog
from supervisor_app.catalog.filters import Filters
from supervisor_app.indexing.keys import AUTOTAGS, yamnet_version

from fixture_paths import MUSIC


def _catalog(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    for i, name in enumerate(["a", "b", "c", "d"]):
        sf.write(d / f"{name}.wav", sine(220 + 110 * i, 2.0, 22050, 0.2), 22050)
    cat = Catalog.create(tmp_path / "c.sqlite")
    cat.add_folder(d)
    ids = {t.title: t.id for t in cat.tracks()}
    v = yamnet_version()
    cat.put_analysis(ids["a"], AUTOTAGS, v, {"tags": [["Orchestra", 0.4], ["Bowed string instrument", 0.3], ["Timpani", 0.05]]})
    cat.put_analysis(ids["b"], AUTOTAGS, v, {"tags": [["Rock music", 0.5], ["Electric guitar", 0.4], ["Strum", 0.3]]})
    cat.put_analysis(ids["c"], AUTOTAGS, v, {"tags": [["Happy music", 0.2], ["Orchestra", 0.01], ["Singing", 0.6]]})
    cat.put_analysis(ids["d"], AUTOTAGS, v, {"tags": [["Piano", 0.5], ["Tender music", 0.3]]})
    cat.set_user_fields(ids["c"], tags=["Upbeat", "cleared"])
    cat.set_metadata(ids["b"], {"artist": "The U.S. Army Strings", "one_stop": True})
    cat.set_metadata(ids["d"], {"one_stop": True, "description": "felt piano, rain on the window"})
    return cat, ids


@pytest.fixture
def raw_scores(monkeypatch):
    """Search with the stored probabilities as they are (no pool calibration): known answers."""
    monkeypatch.setattr(track_profile, "load_calibration", lambda *a, **k: {})


def test_parse_brief_keywords_compat():
    assert parse_brief("Epic, orchestral,  building") == ["epic", "orchestral", "building"]
    assert parse_brief("  ") == []


def test_parse_negation_tempo_duration_rights_fields():
    q = parse_brief_query("Calm, hopeful piano, builds to a lift, one-stop only, no vocals, 90-110 BPM, 30s spot")
    terms = {(t.text, t.concept, t.negated) for t in q.terms}
    assert terms == {("calm", "calm", False), ("hopeful", "hopeful", False), ("piano", "piano", False),
                     ("builds to a lift", "build", False), ("vocals", "vocals", True)}
    assert q.tempo_bpm == (90.0, 110.0) and q.min_duration_s == 30.0 and q.one_stop
    q = parse_brief_query("instrumental, not dark, -drums, under 2 min, around 120 bpm, cleared for TV, worldwide")
    assert {(t.concept, t.negated) for t in q.terms} == {("vocals", True), ("dark", True), ("drums", True)}
    assert q.max_duration_s == 120.0 and q.tempo_bpm == (114.0, 126.0)
    assert q.cleared_for == ["TV"] and q.territory == "worldwide"
    q = parse_brief_query("non-vocal, slow, melancholic strings, artist:Kevin MacLeod, -label:\"Big Label\", 1:30")
    assert [(t.concept, t.negated) for t in q.terms] == [("vocals", True), ("slow", False), ("sad", False),
                                                        ("strings", False)]
    assert [(f.field, f.value, f.negated) for f in q.fields] == [("artist", "Kevin MacLeod", False),
                                                                 ("label", "Big Label", True)]
    assert q.min_duration_s == 90.0
    q = parse_brief_query("frobnicate, under 90 bpm")
    assert [(t.text, t.concept) for t in q.terms] == [("frobnicate", None)] and q.tempo_bpm == (None, 90.0)


def test_vocabulary_names_only_real_audioset_classes():
    from supervisor_app.features.yamnet import class_names

    names = set(class_names())
    assert not [(c.name, k) for c in CONCEPTS.values() for k in c.classes if k not in names]
    assert all(c in CONCEPTS for c in WORDS.values())


def test_ranking_explains_and_never_matches_names_unless_asked(tmp_path, raw_scores):
    cat, ids = _catalog(tmp_path)
    res = rank_brief(cat, "orchestral, strings")
    assert [m.track_id for m in res.matches][0] == ids["a"]
    assert len(res.matches) == 4  # a ranking: every track has a place
    top = res.matches[0].matched
    assert top["orchestral"][0].startswith("Orchestra") and top["strings"][0].startswith("Bowed string")
    b = next(m for m in res.matches if m.track_id == ids["b"])
    assert b.matched["strings"][1] < 0.1  # "The U.S. Army Strings" is an artist, not strings
    asked = rank_brief(cat, "artist:army strings")
    assert asked.matches[0].track_id == ids["b"] and asked.matches[0].score == 1.0
    up = rank_brief(cat, "upbeat")
    assert up.matches[0].track_id == ids["c"] and "your tag upbeat" in up.matches[0].matched["upbeat"][0]


def test_negation_rights_and_words_not_understood(tmp_path, raw_scores):
    cat, ids = _catalog(tmp_path)
    with_vocals = rank_brief(cat, "vocals").matches
    without = rank_brief(cat, "no vocals").matches
    assert with_vocals[0].track_id == ids["c"] and without[-1].track_id == ids["c"]
    res = rank_brief(cat, "piano, one-stop, frobnicate")
    assert {m.track_id for m in res.matches} == {ids["b"], ids["d"]}  # one-stop is a right: a hard filter
    assert res.matches[0].track_id == ids["d"] and res.not_understood == ["frobnicate"]
    rain = rank_brief(cat, "rain")  # a free word found in a description counts
    assert rain.matches[0].track_id == ids["d"] and rain.not_understood == []
    assert search_brief(cat, "") == [] and rank_brief(cat, "the and of").query.is_empty
    filtered = search_brief(cat, "upbeat", filters=Filters(exclude_tags=["cleared"]), min_score=None)
    assert ids["c"] not in [m.track_id for m in filtered]


def test_tempo_and_duration_constraints_rank(tmp_path, raw_scores):
    cat, ids = _catalog(tmp_path)
    cat.set_metadata(ids["a"], {"bpm_tag": 100.0})
    cat.set_metadata(ids["b"], {"bpm_tag": 150.0})
    res = rank_brief(cat, "95-105 bpm")
    assert res.matches[0].track_id == ids["a"] and res.matches[0].matched["tempo"] == ("100 BPM", 1.0)
    b = next(m for m in res.matches if m.track_id == ids["b"])
    assert b.matched["tempo"][1] < 0.2
    d = rank_brief(cat, "piano, 30s").matches[0]
    assert d.matched["duration"][1] == pytest.approx((2.0 / 30) ** 2, abs=1e-3)  # 2 s tracks: far too short


def test_cli_search_and_recommend_brief_option(tmp_path, raw_scores, capsys, monkeypatch):
    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    cat, ids = _catalog(tmp_path)
    path = str(cat.path)
    cat.close()
    from supervisor_app.cli.main import build_parser, main

    assert main(["search", "orchestral, no vocals, frobnicate", "--catalog", path, "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "brief: orchestral, not vocals" in out and "not understood" in out and "frobnicate" in out
    import json
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["results"][0]["track_id"] == ids["a"] and "0..1" in doc["score"]
    args = build_parser().parse_args(["recommend", "v.mp4", "--brief", "calm piano", "--one-stop"])
    assert args.brief == "calm piano" and args.one_stop


@pytest.mark.slow
def test_real_audio_briefs(tmp_path):
    """Real tracks, real YAMNet frames and descriptors (as `catalog index` stores them), the committed
    pool calibration: the brief's words find the track a person would pick."""
    from supervisor_app.catalog.tracks_view import ensure_descriptors
    from supervisor_app.features import get_extractor
    from supervisor_app.indexing.keys import YAMNET_FRAMES, YAMNET_MEAN

    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("hungarian_dance_5.ogg", "mindless_cut.mp3", "lets_go_fishin.ogg", "vibe_ace.ogg"):
        shutil.copy2(MUSIC / name, lib / name)
    with Catalog.create(tmp_path / "c.sqlite") as cat:
        cat.add_folder(lib)
        ex, v = get_extractor("yamnet"), yamnet_version()
        for t in cat.tracks():
            r = ex.extract(t.path)
            cat.put_embedding(t.id, YAMNET_FRAMES, v, r.frames.astype(np.float16))
            cat.put_embedding(t.id, YAMNET_MEAN, v, r.frames.mean(axis=0))
        ensure_descriptors(cat)
        stem = {t.id: t.path.rsplit("/", 1)[-1] for t in cat.tracks()}
        first = lambda brief: stem[rank_brief(cat, brief).matches[0].track_id]  # noqa: E731
        last = lambda brief: stem[rank_brief(cat, brief).matches[-1].track_id]  # noqa: E731
        assert first("heavy metal, aggressive") == "mindless_cut.mp3"
        assert first("strings, classical") == "hungarian_dance_5.ogg"
        assert first("vocals, folk") == "lets_go_fishin.ogg"
        assert last("no vocals") == "lets_go_fishin.ogg"
        assert first("jazz") == "vibe_ace.ogg"


def test_brief_candidates_for_recommend(tmp_path, raw_scores):
    from supervisor_app.briefs.search import brief_candidates

    cat, ids = _catalog(tmp_path)
    exclude, f, line = brief_candidates(cat, "orchestral strings, one-stop")
    assert f.one_stop_only and "one-stop" in line
    exclude, f, line = brief_candidates(cat, "orchestral")
    assert exclude == [] and "the best 4 kept" in line  # at least the best 10 (all 4 here), in rank order
    exclude, _, line = brief_candidates(cat, "frobnicate")
    assert exclude == [] and "fitting every track" in line and "frobnicate" in line
    from supervisor_app.briefs import search as brief_mod

    cat.set_user_fields(ids["a"], tags=["Orchestral"])  # the user's own tag: a full match
    brief_mod.MIN_CANDIDATES, old = 1, brief_mod.MIN_CANDIDATES
    try:
        exclude, f, line = brief_candidates(cat, "orchestral")
    finally:
        brief_mod.MIN_CANDIDATES = old
    assert set(exclude) == {ids["b"], ids["c"], ids["d"]} and "1 fit it well" in line


def test_auto_tags_need_audible_evidence(tmp_path):
    """Pool-calibrated auto-tags: a concept above the pool's 80th percentile *and* audible."""
    from supervisor_app.briefs.track_profile import auto_tags, load_calibration

    cal = load_calibration()
    assert cal and cal["pool"]["matrix"], "resources/brief/calibration.json ships with the app"
    cat, ids = _catalog(tmp_path)
    tags = dict(auto_tags(cat, cat.get_track(ids["b"]), cal))  # Rock 0.5, Electric guitar 0.4, Strum 0.3
    assert "rock" in tags and "electric guitar" in tags and "vocals" not in tags and "piano" not in tags
    assert "vocals" in dict(auto_tags(cat, cat.get_track(ids["c"]), cal))  # Singing 0.6
