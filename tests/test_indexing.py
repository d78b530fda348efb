"""catalog index: per-analyzer errors never stop the run, reruns skip done work, workers agree."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synth_music import sine
from supervisor_app.catalog import Catalog
from supervisor_app.indexing.keys import AUTOTAGS, YAMNET_FRAMES, YAMNET_MEAN, beats_key, yamnet_version
from supervisor_app.indexing.pipeline import index_catalog
from supervisor_app.indexing.reads import get_segments

from fixture_paths import MUSIC


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("music")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "5", "-t", "24", "-i", str(MUSIC / "vibe_ace.ogg"),
                    "-vn", str(d / "vibe_excerpt.ogg")], check=True)
    sf.write(d / "silence.wav", np.zeros(12 * 22050, dtype=np.float32), 22050)
    sf.write(d / "jingle.wav", sine(660, 3.0, 22050, 0.3), 22050)
    return d


def _snapshot(cat: Catalog) -> dict:
    out = {}
    for t in cat.tracks():
        b = cat.get_analysis(t.id, *beats_key())
        seg = get_segments(cat, t.id, "olda")
        out[Path(t.path).stem] = (b.result if b else None, b.error if b else None,
                        seg.result if seg else None, seg.error if seg else None)
    return out


@pytest.mark.slow
def test_index_records_errors_and_resumes(folder, tmp_path):
    cat = Catalog.create(tmp_path / "c.sqlite")
    cat.add_folder(folder)
    seen = []
    rep = index_catalog(cat, progress=lambda f, s: seen.append((f, s)))
    assert rep.done == 3 and not rep.cancelled
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and seen[-1] == (1.0, "catalog indexed")
    assert sum(1 for _, s in seen if s.startswith("analysed ")) == 3
    by_title = {Path(t.path).stem: t for t in cat.tracks()}
    vibe = by_title["vibe_excerpt"]
    beats = cat.get_analysis(vibe.id, *beats_key())
    assert beats.error is None and 100 < beats.result["tempo_bpm"] < 160
    olda = get_segments(cat, vibe.id, "olda")
    assert olda.error is None and olda.result["boundaries_s"][0] == 0.0
    frames = cat.get_embedding(vibe.id, YAMNET_FRAMES, yamnet_version())
    assert frames.shape == (24, 1024) and frames.dtype == np.float16
    assert cat.get_embedding(vibe.id, YAMNET_MEAN, yamnet_version()).shape == (1024,)
    tags = cat.get_analysis(vibe.id, AUTOTAGS, yamnet_version()).result["tags"]
    assert len(tags) > 3 and all(0 <= s <= 1 for _, s in tags)
    # the silent file and the 3-s jingle get one-sentence errors, not a crash
    for rec in (cat.get_analysis(by_title["silence"].id, *beats_key()), get_segments(cat, by_title["jingle"].id, "olda")):
        assert rec.result is None and rec.error and rec.error.endswith(".") and "\n" not in rec.error
    assert {step for tid, step, _ in rep.errors if tid == by_title["silence"].id} >= {beats_key()[0]}
    # a second run does nothing
    again = index_catalog(cat)
    assert again.done == 0 and again.skipped == 3
    cat.close()


@pytest.mark.slow  # two spawned workers import madmom, MSAF and YAMNet: ~30 s here
def test_two_workers_write_the_same_catalog(folder, tmp_path):
    a = Catalog.create(tmp_path / "a.sqlite")
    a.add_folder(folder)
    index_catalog(a, workers=1)
    b = Catalog.create(tmp_path / "b.sqlite")
    b.add_folder(folder)
    index_catalog(b, workers=2)
    assert _snapshot(a) == _snapshot(b)
    for ta, tb in zip(a.tracks(), b.tracks()):
        ea, eb = a.get_embedding(ta.id, YAMNET_FRAMES, yamnet_version()), b.get_embedding(tb.id, YAMNET_FRAMES, yamnet_version())
        assert (ea is None and eb is None) or np.array_equal(ea, eb)


def test_index_cli_on_empty_catalog_is_a_clear_error(tmp_path):
    Catalog.create(tmp_path / "e.sqlite").close()
    r = subprocess.run([sys.executable, "-m", "supervisor_app.cli.main", "catalog", "index", "--catalog", str(tmp_path / "e.sqlite")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no tracks" in r.stderr and "Traceback" not in r.stderr


# --- issue 10: one decode, exact fast paths, lazy segmentations, compact storage, resume -----------------
from supervisor_app.analysis.report import music_records
from supervisor_app.features.segments import segment_means_of
from supervisor_app.indexing.decode import decode_shared
from supervisor_app.indexing.job import TrackPlan, index_track_job, yamnet_frames
from supervisor_app.indexing.keys import segmeans_key
from supervisor_app.indexing.plan import plan_catalog
from supervisor_app.indexing.reads import track_segment_means


def _catalog_content(cat: Catalog) -> dict:
    """Every stored analysis (version, result, error) and array, keyed by file name: what two runs must share."""
    con = cat._db
    names = {t.id: Path(t.path).name for t in cat.tracks()}
    out = {}
    for tid, analyzer, version, result, error in con.execute(
            "SELECT track_id, analyzer, version, result, error FROM analyses"):
        out[(names[tid], "a", analyzer, version)] = (result, error)
    for tid, model, version, dtype, shape, data in con.execute(
            "SELECT track_id, model, version, dtype, shape, data FROM embeddings"):
        out[(names[tid], "e", model, version)] = (dtype, shape, bytes(data))
    return out


@pytest.mark.parametrize("name", ["vibe_excerpt.ogg", "jingle.wav"])
def test_decode_shared_equals_load_audio_at_each_rate(folder, name):
    from supervisor_app.media import load_audio

    got = decode_shared(folder / name, (44100, 16000))
    for sr in (44100, 16000):
        assert np.array_equal(got[sr], load_audio(folder / name, sr=sr))


def test_decode_shared_mp3_and_errors(tmp_path):
    from supervisor_app.infra.errors import MediaError
    from supervisor_app.media import load_audio

    mp3 = MUSIC / "mindless_cut.mp3"
    got = decode_shared(mp3, (16000,))
    assert np.array_equal(got[16000], load_audio(mp3, sr=16000))
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError):
        decode_shared(bad, (44100,))


@pytest.mark.slow
def test_music_records_match_analyze_track(folder):
    """The indexer's own orchestration on a shared signal writes what analyze_track writes."""
    from supervisor_app.analysis.report import analyze_track
    from supervisor_app.media import load_audio

    for name in ("vibe_excerpt.ogg", "jingle.wav"):
        ref = analyze_track(folder / name, segment_algorithms=("olda", "foote", "sf"))
        x = load_audio(folder / name, sr=44100)
        got = music_records(x, len(x) / 44100, ("olda", "foote", "sf"))
        assert got == ref


def test_yamnet_on_shared_signal_equals_extract(folder):
    from supervisor_app.features import get_extractor

    ref = get_extractor("yamnet").extract(folder / "vibe_excerpt.ogg")
    frames, scores = yamnet_frames(decode_shared(folder / "vibe_excerpt.ogg", (16000,))[16000])
    assert np.array_equal(frames, ref.frames) and np.array_equal(scores, ref.extra["class_scores"])


def test_job_on_a_file_without_audio_records_one_sentence(tmp_path):
    from supervisor_app.analysis.report import segments_analyzer

    bad = tmp_path / "bad.mp3"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    r = index_track_job(str(bad), TrackPlan(beats=True, segments=("olda",), yamnet=True))
    keys = {beats_key()[0], segments_analyzer("olda"), AUTOTAGS}
    assert set(r["records"]) == keys and not r["arrays"]
    for rec in r["records"].values():
        assert rec["result"] is None and "not an audio" in rec["error"] and "\n" not in rec["error"]


@pytest.mark.slow
def test_segmentation_added_later_reuses_stored_beats(folder, tmp_path):
    full = Catalog.create(tmp_path / "full.sqlite")
    full.add_folder(folder)
    index_catalog(full, algorithms=("olda", "foote"))
    lazy = Catalog.create(tmp_path / "lazy.sqlite")
    lazy.add_folder(folder)
    index_catalog(lazy, algorithms=("olda",))
    vibe = next(t for t in lazy.tracks() if Path(t.path).stem == "vibe_excerpt")
    beats_at = lazy.get_analysis(vibe.id, *beats_key()).computed_at
    plans = dict((Path(t.path).stem, p) for t, p in plan_catalog(lazy, lazy.tracks(), ("olda", "foote")))
    assert set(plans) == {"vibe_excerpt", "silence", "jingle"}
    assert all(p.segments == ("foote",) and not p.beats and not p.yamnet for p in plans.values())
    assert plans["vibe_excerpt"].stored_beats_s and plans["silence"].stored_beats_s is None
    rep = index_catalog(lazy, algorithms=("olda", "foote"))
    assert rep.done == 3 and set(rep.cpu_s) >= {"decode", "segments", "store"} and "beats" not in rep.cpu_s
    assert lazy.get_analysis(vibe.id, *beats_key()).computed_at == beats_at
    assert _catalog_content(lazy) == _catalog_content(full)
    assert index_catalog(lazy, algorithms=("olda", "foote")).done == 0
    full.close()
    lazy.close()


@pytest.mark.slow
def test_compact_storage_keeps_segment_means_equal_to_the_frames_path(folder, tmp_path):
    big = Catalog.create(tmp_path / "frames.sqlite")
    big.add_folder(folder)
    index_catalog(big, algorithms=("olda",))
    small = Catalog.create(tmp_path / "compact.sqlite")
    small.add_folder(folder)
    rep = index_catalog(small, algorithms=("olda",), frames=False)
    assert rep.done == 3
    yv = yamnet_version()
    by_stem = {Path(t.path).stem: t for t in small.tracks()}
    vibe = by_stem["vibe_excerpt"]
    assert small.get_embedding(vibe.id, YAMNET_FRAMES, yv) is None
    seg = get_segments(small, vibe.id, "olda")
    stored = small.get_embedding(vibe.id, *segmeans_key("olda", seg.version))
    assert stored.dtype == np.float32 and stored.shape == (len(seg.result["boundaries_s"]) - 1, 1024)
    vibe_big = next(t for t in big.tracks() if Path(t.path).stem == "vibe_excerpt")
    frames = big.get_embedding(vibe_big.id, YAMNET_FRAMES, yv)
    assert np.array_equal(track_segment_means(big, vibe_big, "olda"), stored)
    assert np.array_equal(segment_means_of(frames, seg.result["boundaries_s"]), stored)
    assert np.array_equal(track_segment_means(small, vibe, "olda"), stored)
    # a track whose segmentation failed (3-s jingle) has no means and is not retried forever
    assert track_segment_means(small, by_stem["jingle"], "olda") is None
    assert plan_catalog(small, small.tracks(), ("olda",), frames=False) == []
    assert index_catalog(small, algorithms=("olda",), frames=False).done == 0
    big.close()
    small.close()


def test_unknown_engine_or_segmentation_is_a_usage_error(folder, tmp_path):
    from supervisor_app.infra.errors import UsageError

    cat = Catalog.create(tmp_path / "u.sqlite")
    cat.add_folder(folder)
    with pytest.raises(UsageError, match="engine"):
        index_catalog(cat, engine="spark")
    with pytest.raises(UsageError, match="segmentation"):
        index_catalog(cat, algorithms=("cnmf",))
    cat.close()


_SLOW_INDEX = """
import sys, time
from supervisor_app.catalog import Catalog
from supervisor_app.indexing.pipeline import index_catalog
def progress(fraction, stage):  # prints how many tracks are done (3 tracks: 0.95 of the bar)
    print(round(fraction * 3 / 0.95) if fraction < 0.95 else stage, flush=True)
with Catalog.open(sys.argv[1]) as cat:
    index_catalog(cat, algorithms=("olda",), progress=progress)
print("finished", flush=True)
"""


@pytest.mark.slow
def test_sigkill_driver_mid_index_then_rerun_resumes(folder, tmp_path):
    """The driver writes one transaction per track: killed after the first, a rerun does the rest."""
    import os
    import signal

    ref = Catalog.create(tmp_path / "ref.sqlite")
    ref.add_folder(folder)
    index_catalog(ref, algorithms=("olda",))
    path = tmp_path / "killed.sqlite"
    with Catalog.create(path) as cat:
        cat.add_folder(folder)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_INDEX, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    first = proc.stdout.readline().strip()  # "0": planned
    second = proc.stdout.readline().strip()  # "1": one track stored
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert (first, second) == ("0", "1")
    with Catalog.open(path) as cat:
        assert cat.integrity_check() == "ok"
        n_done = 3 - len(plan_catalog(cat, cat.tracks(), ("olda",)))
        assert 1 <= n_done < 3
        rep = index_catalog(cat, algorithms=("olda",))
        assert rep.done == 3 - n_done and rep.skipped == n_done
        assert _catalog_content(cat) == _catalog_content(ref)
    ref.close()


# --- exact fast paths ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sliding_median_equals_scipy_median_filter():
    from scipy.ndimage import median_filter

    from supervisor_app.analysis.fast_median import median_filter_1d

    rng = np.random.default_rng(1)
    for shape, size, axis in [((6, 80), 31, 1), ((50, 7), 31, 0), ((4, 9), 31, 1), ((5, 60), 4, 1),
                              ((3, 40), 1, 1), ((90,), 7, 0)]:
        for x in (rng.integers(0, 4, size=shape).astype(np.float32), rng.standard_normal(shape)):
            fs = [1] * len(shape)
            fs[axis] = size
            got = median_filter_1d(x, size, axis)
            assert got.dtype == x.dtype and np.array_equal(got, median_filter(x, size=fs, mode="reflect"))


def test_fast_hpss_is_exact_and_restores_librosa():
    import librosa
    import librosa.decompose as dec

    rng = np.random.default_rng(2)
    y = rng.standard_normal(22050 * 3).astype(np.float32)
    ref = librosa.effects.hpss(y)
    original = dec.median_filter
    from supervisor_app.analysis.fast_median import fast_hpss

    with fast_hpss():
        assert dec.median_filter is not original
        got = librosa.effects.hpss(y)
        # anything outside the covered case still goes to scipy (here: a 2-D footprint)
        x = rng.standard_normal((9, 9))
        from scipy.ndimage import median_filter

        assert np.array_equal(dec.median_filter(x, size=(3, 3)), median_filter(x, size=(3, 3)))
        x[0, 0] = np.nan
        assert np.array_equal(dec.median_filter(x, size=(1, 3)), median_filter(x, size=(1, 3)), equal_nan=True)
    assert dec.median_filter is original
    assert all(np.array_equal(a, b) for a, b in zip(ref, got))


@pytest.mark.slow
def test_fast_downbeat_networks_match_madmom():
    from supervisor_app.analysis import beats as bm
    from supervisor_app.analysis.madmom_fast import FastDownbeatRNN

    x, sr = sf.read(str(Path(__file__).parent / "data" / "madmom_sample.wav"), dtype="float32")
    x = bm._to_mono_44k(x, sr)
    ref = bm.beat_activations(x, engine="madmom")
    got = bm.beat_activations(x, engine="fast")
    assert got.shape == ref.shape and got.dtype == np.float32
    assert np.abs(got - ref).max() < 1e-4  # float32 rounding (sums in another order, a float32 FFT, tanh)
    assert np.array_equal(bm.track_beats(x, 44100).beats_s, bm.track_beats(x, 44100, engine="madmom").beats_s)
    from madmom.audio.signal import Signal

    from supervisor_app.media import load_audio

    for y in (x, load_audio(MUSIC / "hungarian_dance_5.ogg", sr=44100, duration_s=20.0)):
        sig = Signal(y, sample_rate=44100)  # the batched float32 STFT: madmom's input to float32 rounding
        np.testing.assert_allclose(bm._fast_rnn().features(sig), bm._rnn_processor().processors[0](sig),
                                   rtol=0, atol=1e-5)
    one = bm.beat_activations(x, n_nets=1)
    assert np.abs(one - ref).max() > 1e-3  # one network alone is a different (cheaper) estimate
    with pytest.raises(ValueError):
        FastDownbeatRNN(bm._rnn_processor(), n_nets=9)
    with pytest.raises(ValueError):
        bm.beat_activations(x, engine="madmom", n_nets=2)


def test_paged_track_access_matches_tracks(tmp_path):
    from supervisor_app.catalog.paging import LazyTracks, iter_tracks, track_ids, tracks_after

    cat = Catalog.create(tmp_path / "p.sqlite")
    for i in range(23):
        cat.add_track(tmp_path / f"t{i:02d}.ogg", f"h{i}", 1, 0.0, 60.0 + i, title=f"T{i}")
    gone = cat.tracks()[5].id
    cat.set_status(gone, "missing")
    every = cat.tracks()
    assert [t.id for t in iter_tracks(cat, page_size=4)] == [t.id for t in every]
    assert [t.to_dict() for t in tracks_after(cat, every[3].id, 5)] == [t.to_dict() for t in every[4:9]]
    assert len(track_ids(cat, include_missing=True)) == 23 and list(track_ids(cat, status="missing")) == [gone]
    lazy = LazyTracks(cat, page_size=4, cached_pages=2)
    assert len(lazy) == len(every) == 22
    assert [t.to_dict() for t in lazy] == [t.to_dict() for t in every]
    assert lazy[-1].id == every[-1].id and [t.id for t in lazy[2:7]] == [t.id for t in every[2:7]]
    assert len(lazy._pages) <= 2
    with pytest.raises(IndexError):
        lazy[22]
    cat.remove_track(every[10].id)  # a snapshot: a deleted track reads as None
    assert LazyTracks(cat, page_size=4)[10].id == every[11].id and lazy[10] is None
    cat.close()
