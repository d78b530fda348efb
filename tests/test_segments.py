"""Music segments with MSAF: cleaning, known answers, accuracy on mindless_cut, no stray files."""
from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
import pytest

from fixture_paths import DATA, MUSIC
from synth_music import aba_sections as structured_audio  # (samples, boundaries s, beats s)
from supervisor_app.analysis.segments import SegmentResult, clean_boundaries, music_segments, segment_each
from supervisor_app.infra.errors import AnalysisError

SR = 22050


def hit_rate(ref_path, est_bounds, window=3.0):
    """(precision, recall, F) of boundary detection at ±window s, trivial start/end boundaries trimmed."""
    import jams
    import mir_eval

    ann = jams.load(str(ref_path)).annotations[0]
    ref_iv, _ = ann.to_interval_values()
    b = np.asarray(est_bounds)
    est_iv = np.c_[b[:-1], b[1:]]
    return mir_eval.segment.detection(ref_iv, est_iv, window=window, trim=True)


# --- cleaning --------------------------------------------------------------------------------------
def test_clean_drops_first_beat_and_duplicated_end_and_merges_close_boundaries():
    raw = [0.0, 0.46, 16.2, 16.9, 33.0, 63.4, 63.4]
    b, labels = clean_boundaries(raw, 63.4, min_gap_s=1.0, first_beat_s=0.46)
    assert b.tolist() == [0.0, 16.2, 33.0, 63.4]
    assert labels is None
    # a first beat later than min_gap is still recognised as MSAF's artefact
    b, _ = clean_boundaries([0.0, 1.8, 20.0, 40.0], 40.0, first_beat_s=1.8)
    assert b.tolist() == [0.0, 20.0, 40.0]
    # unsorted, out of range, NaN
    b, _ = clean_boundaries([50.0, -3.0, 10.0, np.nan, 10.0, 70.0], 60.0)
    assert b.tolist() == [0.0, 10.0, 50.0, 60.0]
    assert np.all(np.diff(b) >= 1.0)


def test_clean_carries_labels_by_segment_midpoint():
    raw = [0.0, 0.5, 10.0, 10.4, 20.0, 30.0]
    labels = [9, 1, 2, 1, 2]  # one per raw segment; 9 = MSAF's "silence" before the first beat
    b, lab = clean_boundaries(raw, 30.0, labels=labels, first_beat_s=0.5)
    assert b.tolist() == [0.0, 10.0, 20.0, 30.0]
    assert lab == [1, 1, 2]


def test_segment_result_round_trip():
    r = SegmentResult(np.array([0.0, 12.5, 30.0]), [0, 1])
    back = SegmentResult.from_dict(r.to_dict())
    assert back.boundaries_s.tolist() == [0.0, 12.5, 30.0] and back.labels == [0, 1]
    assert back.segments_s == [(0.0, 12.5), (12.5, 30.0)]


# --- known answers -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_olda_finds_the_sections_of_a_synthetic_aba_piece():
    y, truth, beats = structured_audio()
    res = music_segments(y, SR, algorithms=("olda", "sf"), beats_s=beats)
    for algo, r in res.items():
        b = r.boundaries_s
        assert b[0] == 0.0 and b[-1] == pytest.approx(36.0, abs=0.05)
        assert np.all(np.diff(b) >= 1.0)
    olda = res["olda"].boundaries_s[1:-1]
    assert len(olda) == 2
    assert np.max(np.abs(olda - truth)) <= 1.0


@pytest.mark.slow
def test_labels_from_a_labelling_algorithm():
    y, _, beats = structured_audio()
    r = music_segments(y, SR, algorithms=("olda",), beats_s=beats, labels_algorithm="scluster")["olda"]
    assert r.labels is not None and len(r.labels) == len(r.boundaries_s) - 1


# --- input limits ------------------------------------------------------------------------------------
def test_silence_too_short_and_unknown_algorithm_are_clear_errors():
    with pytest.raises(AnalysisError, match="silent"):
        music_segments(np.zeros(30 * SR, np.float32), SR)
    y, _, _ = structured_audio()
    with pytest.raises(AnalysisError, match=r"only 5\.0 s long.*at least 10 s"):
        music_segments(y[: 5 * SR], SR)
    with pytest.raises(AnalysisError, match="Unknown segmentation algorithm 'nope'"):
        music_segments(y, SR, algorithms=("olda", "nope"))
    with pytest.raises(AnalysisError, match="20-min limit"):
        music_segments(np.zeros(21 * 60 * 100, np.float32), 100)


@pytest.mark.slow
def test_segment_each_reports_per_algorithm_failures(monkeypatch):
    from supervisor_app.analysis.msaf_compat import import_msaf

    import_msaf()
    import msaf.algorithms.sf.segmenter as sf_seg

    def boom(self):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(sf_seg.Segmenter, "processFlat", boom)
    y, _, beats = structured_audio()
    results, failures = segment_each(y, SR, ("sf", "olda"), beats)
    assert set(results) == {"olda"}
    assert "'sf' segmentation failed" in str(failures["sf"]) and "SVD did not converge" in str(failures["sf"])


# --- the shim ----------------------------------------------------------------------------------------
def test_msaf_shim_does_not_leak_scipy_aliases():
    import scipy
    import scipy.signal

    from supervisor_app.analysis.msaf_compat import import_msaf

    import_msaf()
    import msaf.algorithms.foote.segmenter as foote

    assert not hasattr(scipy, "inf")
    assert not hasattr(scipy.signal, "gaussian")
    assert foote.signal.gaussian is scipy.signal.windows.gaussian
    assert foote.signal.convolve is scipy.signal.convolve


# --- real music ---------------------------------------------------------------------------------------
def _msaf_tmp_dirs() -> set[str]:
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("supervisor-msaf-")}


@pytest.mark.slow
def test_mindless_cut_with_msaf_beats_writes_nothing_beside_the_file_or_in_cwd(tmp_path, monkeypatch):
    music = tmp_path / "music"
    music.mkdir()
    track = music / "mindless_cut.mp3"
    shutil.copy(MUSIC / "mindless_cut.mp3", track)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before_tmp = _msaf_tmp_dirs()

    res = music_segments(track)  # MSAF's own librosa beats, as in the thesis

    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "cwd", "music", "music/mindless_cut.mp3"]
    assert _msaf_tmp_dirs() - before_tmp == set()  # nothing of ours left (other processes may come and go)
    rates = {a: hit_rate(DATA / "mindless_cut.jams", r.boundaries_s) for a, r in res.items()}
    for a, (p, r, f) in rates.items():
        print(f"mindless_cut, MSAF beats, {a}: hit rate ±3 s P={p:.2f} R={r:.2f} F={f:.2f}, "
              f"boundaries {np.round(res[a].boundaries_s, 1).tolist()}")
    assert rates["olda"][2] >= 0.5
    for r in res.values():
        assert r.boundaries_s[0] == 0.0 and r.boundaries_s[-1] == pytest.approx(63.4, abs=0.1)


@pytest.mark.slow
def test_mindless_cut_with_madmom_beats_hit_rates():
    from supervisor_app.analysis.beats import track_beats_file

    path = MUSIC / "mindless_cut.mp3"
    beats = track_beats_file(path)
    res = music_segments(path, beats_s=beats.beats_s)
    rates = {a: hit_rate(DATA / "mindless_cut.jams", r.boundaries_s) for a, r in res.items()}
    for a, (p, r, f) in rates.items():
        print(f"mindless_cut, madmom beats, {a}: hit rate ±3 s P={p:.2f} R={r:.2f} F={f:.2f}, "
              f"boundaries {np.round(res[a].boundaries_s, 1).tolist()}")
    assert rates["olda"][2] >= 0.5


# --- issue 21: the cheaper paths give MSAF's own numbers -------------------------------------------------
@pytest.mark.slow
def test_features_in_memory_and_one_resampling_equal_msafs_file_round_trip(monkeypatch):
    """MSAF's features shared in memory (not through its JSON file) and the input resampled once to
    22.05 kHz give the boundaries MSAF's own file round trip and per-object resampling give."""
    import contextlib

    import librosa

    import supervisor_app.analysis.segments as seg
    from supervisor_app.analysis.beats import track_beats
    from supervisor_app.media import load_audio

    x = np.asarray(load_audio(MUSIC / "vibe_ace.ogg", sr=44100)[: 44100 * 45], dtype=np.float32)
    beats = track_beats(x, 44100).beats_s
    algos = ("olda", "foote", "sf")
    fast, _ = segment_each(x, 44100, algos, beats)
    x22 = librosa.resample(x, orig_sr=44100, target_sr=22050, res_type="soxr_hq")
    from_22k, _ = segment_each(x22, 22050, algos, beats)  # what MSAF's librosa.load made of the 44.1 kHz file
    monkeypatch.setattr(seg, "_features_in_memory", contextlib.nullcontext)
    via_file, _ = segment_each(x, 44100, algos, beats)
    for a in algos:
        assert np.array_equal(fast[a].boundaries_s, via_file[a].boundaries_s), a
        assert np.array_equal(fast[a].boundaries_s, from_22k[a].boundaries_s), a


def test_msaf_plotting_and_evaluation_imports_are_deferred_and_still_work():
    import subprocess
    import sys

    code = ("import sys\n"
            "from supervisor_app.analysis.msaf_compat import import_msaf\n"
            "import_msaf()\n"
            "print(sorted(n for n in ('pylab', 'jams', 'pandas') if n in sys.modules))\n"
            "import msaf.eval, msaf.input_output\n"
            "print(msaf.eval.pd.DataFrame.__name__, msaf.input_output.jams.JAMS.__name__)\n"
            "print(type(sys.modules['pandas']).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "MPLBACKEND": "Agg"}).stdout.split("\n")
    assert out[0] == "[]"  # nothing imported, nothing left in sys.modules
    assert out[1] == "DataFrame JAMS"  # the real modules behind MSAF's names on first use
    assert out[2] == "module"
