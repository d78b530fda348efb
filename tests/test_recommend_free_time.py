"""recommend() on a catalog of metric, beatless and short music under a 2.5-minute picture.

Every indexed track that passes the filters is ranked or listed with its reason: the steady track is
cut on bar lines, the synthetic free-time pad (no beat found by madmom) in free time, the stings (a
synthetic 6 s one and the real 5 s solo trumpet, which has no downbeat) are buttons ranked after the
tracks that carry the picture, and a track whose file vanished after indexing is left out with why.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import soundfile as sf

from supervisor_app.infra import errors
from supervisor_app.catalog import Catalog
from supervisor_app.cli.main import main
from supervisor_app.indexing.pipeline import index_catalog
from supervisor_app.services.recommend import recommend

from fixture_paths import BBB, MUSIC
from synth_music import free_time_pad, sting

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("ft")
    music = d / "music"
    music.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "3", "-t", "40", "-i", str(MUSIC / "vibe_ace.ogg"),
                    "-vn", str(music / "vibe_ace.ogg")], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(MUSIC / "solo_trumpet_90bpm.ogg"), "-c", "copy",
                    str(music / "solo_trumpet_90bpm.ogg")], check=True)
    x, sr, _, _ = free_time_pad(70.0, seed=4)
    sf.write(str(music / "ambient_pad.wav"), x, sr)
    sf.write(str(music / "gone_pad.wav"), free_time_pad(50.0, seed=5)[0], sr)
    y, sr2 = sting(6.0)
    sf.write(str(music / "brass_sting.wav"), y, sr2)
    video = d / "picture_150s.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "5", "-i", str(BBB), "-t", "150", "-an",
                    "-vf", "scale=160:90", "-c:v", "libx264", "-preset", "ultrafast", str(video)], check=True)
    path = d / "c.sqlite"
    with Catalog.create(path) as cat:
        cat.add_folder(music)
        index_catalog(cat, workers=1)
    (music / "gone_pad.wav").unlink()  # vanished after indexing: the catalog still says 'ok'
    return path, video


def test_every_track_is_ranked_or_left_out_with_a_reason(setup, tmp_path, capsys):
    path, video = setup
    with Catalog.open(path) as cat:
        res = recommend(video, cat, k=50)
        n_tracks = len(cat.tracks(include_missing=True))
    by_title = {Path(r.path).stem: r for r in res.results}
    assert len(res.results) + len(res.excluded) == n_tracks == 5
    assert [e.title for e in res.excluded] == ["gone_pad"] and "the file is missing" in res.excluded[0].reason
    assert any(n.startswith("left out gone_pad:") for n in res.notes)
    assert by_title["vibe_ace"].edit_mode == "metric" and by_title["vibe_ace"].beat_confidence["metric"]
    pad = by_title["ambient_pad"]
    assert pad.edit_mode == "free-time" and pad.bpm is None and pad.beat_confidence["score"] == 0.0
    assert pad.reasons[0].startswith("free-time: splices on phrase ends") and "1.5 s crossfades" in pad.reasons[0]
    assert set(pad.edit.crossfades_s) == {1.5} and len(pad.edit.excerpts) >= 2  # 150 s picture, 70 s pad: loops
    assert abs(pad.edit.excerpts[-1].video_end_s - res.video["duration_s"]) < 1e-6
    for name in ("brass_sting", "solo_trumpet_90bpm"):
        b = by_title[name]
        assert b.edit_mode == "button" and b.reasons[0].startswith("button:")
        assert b.edit.excerpts[0].video_end_s == pytest.approx(res.video["duration_s"])
    modes = [r.edit_mode for r in res.results]
    assert modes.index("button") == len(modes) - 2  # buttons after the tracks that carry the picture

    out = tmp_path / "r.json"
    assert main(["recommend", str(video), "--catalog", str(path), "-k", "50", "--distance", "sw-dtw",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "left out gone_pad" in text and "free-time" in text and "button" in text
    assert "--distance sw-dtw is ignored" in text
    data = json.loads(out.read_text())
    assert data["excluded"][0]["title"] == "gone_pad" and data["distance"] is None
    assert any("--distance sw-dtw is ignored" in n for n in data["notes"])
    ft = [r for r in data["results"] if r["edit_mode"] == "free-time"][0]
    assert ft["edit"]["mode"] == "free-time" and ft["edit"]["crossfades_s"]


def test_options_that_need_a_model_say_so(setup, capsys):
    path, video = setup
    with Catalog.open(path) as cat:
        for rb in ("fused", "content"):
            with pytest.raises(errors.UsageError, match=f"--rank-by {rb} needs a trained Seg-VM-Net model"):
                recommend(video, cat, rank_by=rb)
    assert main(["recommend", str(video), "--catalog", str(path), "--rank-by", "fused"]) == 2
    assert "--rank-by fused needs" in capsys.readouterr().err
    assert main(["recommend", str(video), "--catalog", str(path), "--bpm-range", "fast"]) == 2
    assert "(--bpm-range)" in capsys.readouterr().err
    assert main(["recommend", str(video), "--catalog", str(path), "--top-n", "0"]) == 2
    assert "(--top-n)" in capsys.readouterr().err
    with Catalog.open(path) as cat:
        res = recommend(video, cat, top_n=50, k=1)
    assert "--top-n 50 is ignored: the prefilter ranks a model's embeddings (--model)." in res.notes


def test_index_stores_the_onsets_free_time_tracks_are_fitted_on(setup, monkeypatch):
    """``catalog index`` stores the strong onsets of the tracks without a bar grid (and only of those), the
    same numbers as their envelope: the quick fit of a freshly indexed catalog decodes no track."""
    import numpy as np

    from supervisor_app.analysis import envelope as envelope_mod
    from supervisor_app.indexing.free_time_points import free_time_points_key, stored_points
    from supervisor_app.services.recommend import _quick_order, _track_music_events
    from supervisor_app.services.video_analysis import analyze_video

    path, video = setup
    with Catalog.open(path) as cat:
        by_name = {Path(t.path).stem: t for t in cat.tracks()}
        pad, steady = by_name["ambient_pad"], by_name["vibe_ace"]
        pts = stored_points(cat, pad)
        assert pts is not None and len(pts["strong_onsets_s"]) >= 5
        env = envelope_mod.music_envelope(*_decoded(pad.path))
        assert np.allclose(pts["strong_onsets_s"], env.strong_onsets_s())
        assert stored_points(cat, steady) is None  # cut on bar lines: nothing to store, only that it was judged
        assert cat.get_analysis(steady.id, *free_time_points_key()).result == {"bar_grid": True}
        assert not cat.analyses_missing(*free_time_points_key())  # every track judged: the next run does nothing
        va = analyze_video(video, segmentation="shots")
        events = {}
        for t in (pad, steady):
            ev, why = _track_music_events(cat, t, "olda")
            assert why is None
            events[t.id] = (t, ev)
        assert events[pad.id][1].stored_onsets_s is not None

        def no_decoding(*a, **k):
            raise AssertionError("the quick fit decoded a track")

        monkeypatch.setattr(envelope_mod, "cached_envelope", no_decoding)
        order, buttons = _quick_order([pad.id, steady.id], events, va)
        assert sorted(order) == sorted([pad.id, steady.id]) and buttons == []


def _decoded(path):
    from supervisor_app.analysis.envelope import SR
    from supervisor_app.media import load_audio

    return load_audio(path, sr=SR, mono=True), SR
