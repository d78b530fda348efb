"""analyze_track (per-analyzer errors, never a crash), analyze_file + cache, and the ``analyze`` command."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from fixture_paths import BBB
from synth_music import aba_sections
from supervisor_app.analysis import versions
from supervisor_app.analysis.plot import plot_analysis
from supervisor_app.analysis.report import analyze_file, analyze_track, segments_analyzer
from supervisor_app.infra.cache import AnalysisCache
from supervisor_app.cli.main import main

SR = 22050
MUSIC_ANALYZERS = {versions.BEATS} | {segments_analyzer(a) for a in ("foote", "sf", "olda")}


def assert_records_well_formed(records: dict) -> None:
    assert set(records) == MUSIC_ANALYZERS
    for name, rec in records.items():
        assert set(rec) == {"version", "result", "error"}
        assert (rec["result"] is None) != (rec["error"] is None), name
        if rec["error"] is not None:
            assert rec["error"][0].isupper() and rec["error"].endswith("."), rec["error"]


@pytest.fixture(scope="module")
def aba_wav(tmp_path_factory):
    p = tmp_path_factory.mktemp("music") / "aba.wav"
    sf.write(str(p), aba_sections(SR)[0], SR)
    return p


# --- one failing analyzer never stops the run -----------------------------------------------------
def test_silence_gives_a_sentence_per_analyzer(tmp_path):
    p = tmp_path / "silence.wav"
    sf.write(str(p), np.zeros(15 * SR, np.float32), SR)
    records = analyze_track(p)
    assert_records_well_formed(records)
    assert all("silent" in rec["error"] for rec in records.values())


def test_three_second_jingle_fails_segmentation_with_a_reason(tmp_path):
    p = tmp_path / "jingle.wav"
    sf.write(str(p), aba_sections(SR)[0][: 3 * SR], SR)
    records = analyze_track(p)
    assert_records_well_formed(records)
    for algo in ("foote", "sf", "olda"):
        err = records[segments_analyzer(algo)]["error"]
        assert "only 3.0 s long; music segmentation needs at least 10 s" in err
    beats = records[versions.BEATS]
    assert beats["result"] is not None and beats["result"]["tempo_bpm"] == pytest.approx(120, abs=2)


def test_a_forty_minute_mix_is_refused_without_decoding_it(tmp_path, monkeypatch):
    p = tmp_path / "mix.wav"
    sr = 2000
    rng = np.random.default_rng(1)
    with sf.SoundFile(str(p), "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        for _ in range(40):
            f.write((0.1 * rng.normal(size=60 * sr)).astype(np.float32))

    def no_decode(*a, **k):
        raise AssertionError("a 40-minute file must not be decoded")

    monkeypatch.setattr("supervisor_app.media.load_audio", no_decode)
    records = analyze_track(p)
    assert_records_well_formed(records)
    assert "40.0 min, longer than the 10-min limit for beat tracking" in records[versions.BEATS]["error"]
    olda = records[segments_analyzer("olda")]["error"]
    assert "40.0 min, longer than the 20-min limit for music segmentation" in olda


def test_a_file_that_is_not_media_is_recorded_not_raised(tmp_path):
    p = tmp_path / "notes.mp3"
    p.write_text("this is not audio\n" * 100)
    records = analyze_track(p)
    assert_records_well_formed(records)
    assert all("not an audio or video file" in rec["error"] for rec in records.values())


@pytest.mark.slow
def test_an_unexpected_crash_in_one_analyzer_is_recorded_and_the_others_run(aba_wav, monkeypatch):
    def crash(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr("supervisor_app.analysis.beats.track_beats", crash)
    records = analyze_track(aba_wav, segment_algorithms=("olda",))
    assert set(records) == {versions.BEATS, segments_analyzer("olda")}
    assert records[versions.BEATS]["error"] == "Beat tracking failed unexpectedly (RuntimeError: boom)."
    olda = records[segments_analyzer("olda")]
    assert olda["result"] is not None
    assert "beats-librosa" in olda["version"]  # segmented on MSAF's own beats, and the version says so


def test_cancellation_is_the_one_thing_that_raises(aba_wav):
    from supervisor_app.infra.jobs import Cancelled

    with pytest.raises(Cancelled):
        analyze_track(aba_wav, should_cancel=lambda: True)


# --- cache -------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_results_are_cached_by_content_and_version(aba_wav, tmp_path, monkeypatch):
    cache = AnalysisCache(tmp_path / "cache")
    seen = []
    first = analyze_track(aba_wav, cache=cache, progress=lambda f, s: seen.append(f))
    assert_records_well_formed(first)
    assert all(rec["result"] is not None for rec in first.values())
    assert seen[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in seen)
    olda = first[segments_analyzer("olda")]["result"]["boundaries_s"]
    assert len(olda) == 4 and abs(olda[1] - 12) <= 1.0 and abs(olda[2] - 24) <= 1.0

    def must_not_run(*a, **k):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr("supervisor_app.analysis.beats.track_beats", must_not_run)
    monkeypatch.setattr("supervisor_app.analysis.segments.segment_each", must_not_run)
    assert analyze_track(aba_wav, cache=cache) == first
    # a new analyzer version is a miss
    monkeypatch.setattr(versions, "BEATS_REVISION", versions.BEATS_REVISION + 1)
    again = analyze_track(aba_wav, cache=cache)
    assert "failed unexpectedly" in again[versions.BEATS]["error"]


# --- the command -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_on_audio_writes_json_and_plot(aba_wav, tmp_path, capsys):
    out, png = tmp_path / "a.json", tmp_path / "a.png"
    assert main(["analyze", str(aba_wav), "--json", str(out), "--plot", str(png)]) == 0
    a = json.loads(out.read_text())
    for key in ("duration_s", "beats_s", "downbeats_s", "tempo_bpm", "meter", "segments"):
        assert key in a, key
    assert a["duration_s"] == pytest.approx(36.0, abs=0.05)
    assert a["has_video"] is False and "cuts_s" not in a and "language_of_clips" not in a
    assert set(a["segments"]) == {"foote", "sf", "olda"}
    assert a["meter"] in (3, 4) and a["tempo_bpm"] == pytest.approx(120, abs=2)
    assert a["errors"] == {}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    assert matplotlib.image.imread(str(png)).shape[1] == 1600
    assert "tempo: 120" in capsys.readouterr().out


def test_cli_errors_exit_2(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "missing.wav"), "--json", str(tmp_path / "x.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    p = tmp_path / "silence.wav"
    sf.write(str(p), np.zeros(12 * SR, np.float32), SR)
    assert main(["analyze", str(p), "--json", str(tmp_path / "s.json")]) == 2
    assert "no analysis succeeded" in capsys.readouterr().err
    assert json.loads((tmp_path / "s.json").read_text())["errors"]  # the reasons are still written
    assert main(["analyze", str(p), "--threshold", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


@pytest.mark.slow
def test_analyze_big_buck_bunny_video_with_its_soundtrack(tmp_path):
    a = analyze_file(BBB, cache=AnalysisCache(tmp_path / "cache"))
    json.dumps(a, allow_nan=False)
    assert a["has_video"] and a["has_audio"] and a["errors"] == {}
    assert a["cut_curve"]["rate_hz"] == 25.0
    assert len(a["cut_curve"]["values"]) == pytest.approx(a["duration_s"] * 25, abs=2)
    assert len(a["cuts_s"]) >= 3 and len(a["shots"]) == len(a["cuts_s"]) + 1
    assert a["shots"][0][0] == 0.0 and a["shots"][-1][1] == pytest.approx(a["duration_s"], abs=0.1)
    assert len(a["downbeats_s"]) >= 5 and set(a["segments"]) == {"foote", "sf", "olda"}
    loc = a["language_of_clips"]
    for key in ("delta_beat_s", "delta_bar_s", "delta_max_shot_s", "S_seg", "S_bar", "agreement",
                "shot_duration_histogram", "cut_downbeat_offsets", "S_bar_by_lag"):
        assert key in loc, key
    assert loc["delta_bar_s"] == pytest.approx(a["meter"] * 60.0 / a["tempo_bpm"])
    sugg = a["sync_suggestions"]  # picture sync-point candidates (cut bursts, motion, flashes, loud hits)
    assert sugg and all(set(s) == {"time_s", "strength", "kind", "reason"} for s in sugg)
    assert all(0.0 <= s["time_s"] <= a["duration_s"] and 0.0 < s["strength"] <= 1.0 for s in sugg)
    assert 0.0 <= loc["S_bar"] <= 1.5
    png = plot_analysis(a, tmp_path / "bbb.png")
    assert png.stat().st_size > 10_000
