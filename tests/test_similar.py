"""similar(): the frozen-YAMNet and MuSimNet spaces, filters, outside files, excerpts, the CLI."""
import json
import shutil

import numpy as np
import pytest
import soundfile as sf

from fixture_paths import MUSIC, REPO
from supervisor_app.indexing.keys import YAMNET_FRAMES, YAMNET_MEAN
from supervisor_app import media
from supervisor_app.catalog import Catalog
from supervisor_app.infra.errors import EmptyCatalogError, FileMissingError, UsageError
from supervisor_app.catalog.filters import Filters
from supervisor_app.infra.hashing import content_hash
from supervisor_app.services.similar import set_similarity_model, similar, similarity_model, window_means

TRACKS = [  # file, artist, BPM tag
    ("vibe_ace.ogg", "Kevin MacLeod", 120.0),
    ("hungarian_dance_5.ogg", "Brahms", 100.0),
    ("mindless_cut.mp3", "Kevin MacLeod", 95.0),
    ("solo_trumpet_90bpm.ogg", "Trumpeter", 90.0),
]
DEMO_MODEL = REPO / "models" / "musimnet-demo"


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    """A catalog of 4 demo tracks with their real YAMNet frames and means (as 'catalog index' stores them)."""
    from supervisor_app.features import get_extractor

    ex = get_extractor("yamnet")
    path = tmp_path_factory.mktemp("similar") / "cat.sqlite"
    c = Catalog.create(path)
    ids = {}
    for name, artist, bpm in TRACKS:
        p = MUSIC / name
        info = media.probe(p)
        tid = c.add_track(p, content_hash(p), p.stat().st_size, p.stat().st_mtime, info.duration_s,
                          title=p.stem, artist=artist, bpm_tag=bpm)
        fr = ex.extract(p)
        c.put_embedding(tid, YAMNET_FRAMES, ex.version, fr.frames.astype(np.float16))
        c.put_embedding(tid, YAMNET_MEAN, ex.version, fr.frames.mean(axis=0).astype(np.float32))
        ids[name] = tid
    c.ids = ids
    yield c
    c.close()


def titles(res):
    return [r.title for r in res.results]


def test_yamnet_space_finds_the_track_itself_first(cat):
    vid = cat.ids["vibe_ace.ogg"]
    res = similar(vid, cat, k=4, include_self=True)
    assert res.space == "yamnet-mean" and "frozen YAMNet" in res.space_note and res.mode == "track"
    assert res.results[0].track_id == vid and res.results[0].score == pytest.approx(1.0, abs=1e-4)
    assert [r.rank for r in res.results] == [1, 2, 3, 4]
    assert all(a.score >= b.score for a, b in zip(res.results, res.results[1:]))
    default = similar(vid, cat, k=10)
    assert vid not in [r.track_id for r in default.results] and default.n_candidates == 3
    assert default.query["track_id"] == vid
    assert [r.track_id for r in default.results] == [r.track_id for r in res.results[1:]]


def test_filters_are_respected(cat):
    vid = cat.ids["vibe_ace.ogg"]
    res = similar(vid, cat, k=10, exclude_query_artist=True)
    assert all(r.artist != "Kevin MacLeod" for r in res.results) and len(res.results) == 2
    res = similar(vid, cat, k=10, filters=Filters(exclude_artists=["brahms"], bpm_range=(92.0, 130.0)))
    assert titles(res) == ["mindless_cut"]
    assert res.results[0].bpm == 95.0
    with pytest.raises(EmptyCatalogError):
        similar(vid, cat, filters=Filters(bpm_range=(200.0, None)))


def test_an_outside_file_finds_the_track_it_was_cut_from(cat, tmp_path):
    y = media.load_audio(MUSIC / "hungarian_dance_5.ogg", sr=44100, offset_s=10.0, duration_s=20.0)
    wav = tmp_path / "clip from a brief.wav"
    sf.write(wav, y, 44100)
    res = similar(str(wav), cat, k=2)
    assert res.query["track_id"] is None and res.query["path"] == str(wav.resolve())
    assert res.results[0].title == "hungarian_dance_5"
    # the same file content under another name is recognised as the catalog track (and left out)
    copy = tmp_path / "copy.ogg"
    shutil.copy(MUSIC / "vibe_ace.ogg", copy)
    res = similar(str(copy), cat, k=10)
    assert res.query["track_id"] == cat.ids["vibe_ace.ogg"] and "vibe_ace" not in titles(res)


def test_excerpt_query_matches_the_right_part(cat):
    vid = cat.ids["vibe_ace.ogg"]
    res = similar(vid, cat, k=4, excerpt_s=(20.0, 32.0), include_self=True)
    assert res.mode == "excerpt" and res.query["excerpt_s"] == [20.0, 32.0]
    top = res.results[0]
    assert top.track_id == vid and top.score == pytest.approx(1.0, abs=1e-4)
    assert (top.match_start_s, top.match_end_s) == (20.0, 32.0)
    assert all(r.match_start_s is not None and r.match_end_s - r.match_start_s <= 12.0 for r in res.results)
    # default length: 12 s from --from
    res = similar(vid, cat, k=1, excerpt_s=(30.0, None), include_self=True)
    assert res.query["excerpt_s"] == [30.0, 42.0]
    # the excerpt of an outside file
    res = similar(str(MUSIC / "solo_trumpet_90bpm.ogg"), cat, k=3, excerpt_s=(0.0, 4.0))
    assert res.mode == "excerpt" and len(res.results) == 3


def test_window_means():
    f = np.arange(12, dtype=float).reshape(6, 2)
    assert np.allclose(window_means(f, 3), [[2, 3], [4, 5], [6, 7], [8, 9]])
    assert np.allclose(window_means(f, 10), f.mean(axis=0, keepdims=True))


def test_bad_queries(cat, tmp_path):
    with pytest.raises(UsageError, match="no track with id 999"):
        similar(999, cat)
    with pytest.raises(FileMissingError):
        similar(str(tmp_path / "nope.ogg"), cat)
    with pytest.raises(UsageError, match="too short"):
        similar(cat.ids["vibe_ace.ogg"], cat, excerpt_s=(10.0, 11.0))
    with pytest.raises(UsageError, match="lasts only"):
        similar(cat.ids["solo_trumpet_90bpm.ogg"], cat, excerpt_s=(30.0, 42.0))
    with pytest.raises(UsageError):
        similar(cat.ids["vibe_ace.ogg"], cat, k=0)


@pytest.mark.slow
def test_musimnet_space_with_the_demo_model(cat):
    vid = cat.ids["vibe_ace.ogg"]
    res = similar(vid, cat, k=4, model=str(DEMO_MODEL), include_self=True)
    assert res.space == "musimnet:musimnet-demo" and "STAND-IN" in res.space_note
    assert res.results[0].track_id == vid and res.results[0].score == pytest.approx(1.0, abs=1e-5)
    assert len(res.results) == 4
    from supervisor_app.musimnet.nets import load_musimnet

    key = load_musimnet(DEMO_MODEL).embedding_key()
    emb = cat.get_embedding(vid, *key)
    assert emb is not None and emb.shape == (128,)  # stored: the next search does not recompute it
    # an excerpt starting on the catalog's patch grid (every 256 CQT frames) finds its own patch
    from supervisor_app.musimnet import frontend
    start = 4 * 256 / frontend.FRAME_RATE_HZ
    res = similar(vid, cat, k=2, model=str(DEMO_MODEL), excerpt_s=(start, start + 12.0), include_self=True)
    assert res.results[0].track_id == vid and res.results[0].match_start_s == pytest.approx(start, abs=0.01)
    # remembered per catalog
    set_similarity_model(cat, str(DEMO_MODEL))
    try:
        assert similarity_model(cat) == str(DEMO_MODEL)
        assert similar(vid, cat, k=1).space == "musimnet:musimnet-demo"
        assert similar(vid, cat, k=1, model="none").space == "yamnet-mean"
    finally:
        set_similarity_model(cat, None)
    assert similar(vid, cat, k=1).space == "yamnet-mean"


def test_an_at_model_is_refused(cat, tmp_path):
    from supervisor_app.musimnet.nets import MuSimNet, MuSimNetConfig, save_musimnet
    from supervisor_app.nets.model_store import ModelCard

    net = MuSimNet(MuSimNetConfig(arch="at", n_tags=3, width_scale=1 / 32))
    out = save_musimnet(net, tmp_path / "tagger", ModelCard(name="tagger", kind="musimnet", network={}))
    with pytest.raises(UsageError, match="AT baseline"):
        similar(cat.ids["vibe_ace.ogg"], cat, model=str(out))


def test_cli_prints_the_space_and_writes_json(cat, tmp_path, capsys):
    from supervisor_app.cli.main import main

    out = tmp_path / "similar.json"
    rc = main(["similar", str(cat.ids["vibe_ace.ogg"]), "--catalog", str(cat.path), "-k", "2", "--exclude-artist",
               "--bpm-range", "90:110", "--json", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and "similarity space: yamnet-mean" in text
    data = json.loads(out.read_text())
    assert data["space"] == "yamnet-mean"
    assert [r["title"] for r in data["results"]] == ["hungarian_dance_5", "solo_trumpet_90bpm"] or \
        [r["title"] for r in data["results"]] == ["solo_trumpet_90bpm", "hungarian_dance_5"]
    rc = main(["similar", str(cat.ids["vibe_ace.ogg"]), "--catalog", str(cat.path), "--from", "20", "--include-self",
               "-k", "1"])
    text = capsys.readouterr().out
    assert rc == 0 and "excerpt 20–32 s" in text and "vibe_ace" in text
    assert main(["similar", "12345", "--catalog", str(cat.path)]) == 2
    assert "no track with id 12345" in capsys.readouterr().err


def test_cli_names_the_query_track_by_title(cat, capsys):
    """`similar "Vibe Ace"` (issue 16: it used to say the *file* does not exist)."""
    from supervisor_app.cli.main import main

    rc = main(["similar", "Kevin MacLeod - vibe ace", "--catalog", str(cat.path), "-k", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and f"track {cat.ids['vibe_ace.ogg']}" in out and "BPM" in out and "key" in out
    assert main(["similar", "Kevin MacLeod", "--catalog", str(cat.path)]) == 2  # two of his tracks
    err = capsys.readouterr().err
    assert "fits 2 tracks" in err and "vibe_ace" in err and "mindless_cut" in err
    assert main(["similar", "no such song", "--catalog", str(cat.path)]) == 2
