"""The one jobs contract (infra/jobs.py): progress(fraction, stage), sub-ranges, CancelToken, Cancelled;
and real jobs following it (shot detection, indexing, rendering, the CLI's progress line)."""
from __future__ import annotations

import shutil
import subprocess
import threading

import pytest

from fixture_paths import BBB, MUSIC
from supervisor_app.infra.errors import SupervisorError
from supervisor_app.infra.jobs import (
    Cancelled,
    CancelToken,
    as_progress,
    check_cancelled,
    count_progress,
    no_progress,
    staged,
    sub_progress,
)


class Recorder:
    """A progress that keeps every call."""

    def __init__(self):
        self.calls: list[tuple[float | None, str]] = []

    def __call__(self, fraction, stage=""):
        self.calls.append((fraction, stage))

    @property
    def fractions(self) -> list[float]:
        return [f for f, _ in self.calls if f is not None]


# --- the contract ---------------------------------------------------------------------------------
def test_sub_progress_maps_a_sub_job_onto_its_range_and_nests():
    rec = Recorder()
    half = sub_progress(rec, 0.5, 1.0)
    half(0.0, "a")
    half(0.5, "b")
    half(1.0, "c")
    assert rec.calls == [(0.5, "a"), (0.75, "b"), (1.0, "c")]
    rec.calls.clear()
    inner = sub_progress(sub_progress(rec, 0.5, 1.0), 0.0, 0.5)  # [0.5, 0.75] of the parent
    inner(0.0, "x")
    inner(1.0, "y")
    inner(None, "unknown")  # an unknown fraction stays unknown
    inner(1.7, "past the end")  # clamped: a sub-job never reports beyond its range
    inner(-0.2, "before the start")
    assert rec.calls == [(0.5, "x"), (0.75, "y"), (None, "unknown"), (0.75, "past the end"),
                         (0.5, "before the start")]


def test_sub_progress_prefix_staged_and_counts():
    rec = Recorder()
    sub_progress(rec, 0.0, 0.5, prefix="MuSimNet: ")(0.5, "a.ogg")
    staged(rec, "rendering")(0.2, "whatever the sub-job says")
    count_progress(rec, 3, 4, "analysed b.ogg")
    count_progress(rec, 0, 0, "nothing to do")  # no total: unknown, not a division by zero
    assert rec.calls == [(0.25, "MuSimNet: a.ogg"), (0.2, "rendering"), (0.75, "analysed b.ogg"),
                         (None, "nothing to do")]


def test_defaults_and_bad_ranges():
    assert as_progress(None) is no_progress and sub_progress(None, 0.2, 0.4) is no_progress
    no_progress(0.5, "ignored")  # the default reports nowhere and never fails
    count_progress(None, 1, 2, "ignored")
    rec = Recorder()
    assert as_progress(rec) is rec
    for lo, hi in ((0.5, 0.4), (-0.1, 0.5), (0.5, 1.1)):
        with pytest.raises(ValueError):
            sub_progress(rec, lo, hi)


def test_cancel_token_is_a_thread_safe_flag_and_a_should_cancel():
    token = CancelToken()
    assert not token.cancelled and token() is False
    token.raise_if_cancelled()  # not cancelled: nothing happens
    check_cancelled(token)
    check_cancelled(None)
    t = threading.Thread(target=token.cancel)
    t.start()
    t.join()
    assert token.cancelled and token() is True and token.wait(0.0)
    with pytest.raises(Cancelled) as e:
        token.raise_if_cancelled("The indexing")
    assert str(e.value) == "The indexing was cancelled."
    with pytest.raises(Cancelled):
        check_cancelled(lambda: True, "Shot detection")


def test_cancelled_is_the_apps_error_with_its_sentence_and_exit_code():
    e = Cancelled("The recommendation")
    assert isinstance(e, SupervisorError) and e.exit_code == 2
    assert str(e) == "The recommendation was cancelled." and e.what == "The recommendation"
    assert str(Cancelled()) == "The operation was cancelled."


def test_the_old_cancel_exceptions_are_gone():
    """One Cancelled: the four classes of before (errors, render, shots, the GUI worker) are removed."""
    from supervisor_app.analysis import shots
    from supervisor_app.edit import render
    from supervisor_app.infra import errors

    assert not hasattr(errors, "CancelledError") and not hasattr(render, "RenderCancelled")
    assert not hasattr(shots, "Cancelled")
    pytest.importorskip("PySide6")
    from supervisor_app.gui import workers

    assert not hasattr(workers, "JobCancelled")


# --- real jobs ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_film(tmp_path_factory):
    """BBB (30 s, real cuts) at 160x90 and 12 fps: the real film, cheap to decode."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    out = tmp_path_factory.mktemp("film") / "bbb_small.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(BBB), "-vf", "scale=160:90,fps=12", "-c:v", "libx264",
                    "-preset", "ultrafast", "-c:a", "aac", str(out)], check=True)
    return out


@pytest.mark.slow  # shot detection and a YAMNet-free analysis of a 30 s film: ~15 s on 2 busy cores
def test_video_analysis_reports_monotonic_fractions_from_zero_to_one(small_film, tmp_path):
    from supervisor_app.infra.cache import AnalysisCache
    from supervisor_app.services.video_analysis import analyze_video

    rec = Recorder()
    va = analyze_video(small_film, progress=rec, cache=AnalysisCache(tmp_path / "cache"))
    assert len(va.cuts_s) >= 3  # the real film's cuts were found
    fr = rec.fractions
    assert fr == sorted(fr) and fr[0] == 0.0 and fr[-1] == 1.0 and all(0.0 <= f <= 1.0 for f in fr)
    assert all(isinstance(s, str) and s for _, s in rec.calls)
    assert any(s == "detecting shots" for _, s in rec.calls)


def test_shot_detection_stops_promptly_when_cancelled_from_another_thread(small_film):
    """The token is set by another thread (as the GUI's Cancel does) at the first batch's report: the
    detection raises Cancelled at its next poll, long before the end of the film."""
    from supervisor_app.analysis.shots import detect_shots

    token = CancelToken()
    rec = Recorder()

    def progress(fraction, stage):
        rec(fraction, stage)
        if stage == "detecting shots" and fraction and fraction > 0:
            t = threading.Thread(target=token.cancel)
            t.start()
            t.join()

    with pytest.raises(Cancelled) as e:
        detect_shots(small_film, progress=progress, should_cancel=token)
    assert str(e.value) == "Shot detection was cancelled."
    assert max(rec.fractions) < 0.9 and 1.0 not in rec.fractions  # stopped after one batch of ~360 frames


def test_indexing_raises_cancelled_and_keeps_the_catalog_sound(tmp_path):
    from supervisor_app.catalog import Catalog
    from supervisor_app.indexing.pipeline import index_catalog, plan_catalog

    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("solo_trumpet_90bpm.ogg", "mindless_cut.mp3"):
        shutil.copy2(MUSIC / name, lib / name)
    token = CancelToken()
    rec = Recorder()

    def progress(fraction, stage):  # cancelled as soon as the plan is made: no track is analysed
        rec(fraction, stage)
        token.cancel()

    with Catalog.create(tmp_path / "c.sqlite") as cat:
        cat.add_folder(lib)
        with pytest.raises(Cancelled) as e:
            index_catalog(cat, progress=progress, should_cancel=token, check_files=False)
        assert str(e.value) == "The indexing was cancelled."
        assert rec.calls == [(0.0, "2 track(s) to analyse")]
        assert cat.integrity_check() == "ok" and len(plan_catalog(cat, cat.tracks(), ("olda",))) == 2


@pytest.mark.slow  # a 30 s mix + H.264 encode until the first ffmpeg report: ~8 s on 2 busy cores
def test_render_stops_ffmpeg_when_cancelled_and_leaves_nothing(small_film, tmp_path):
    from supervisor_app.edit.edl import Edit, Excerpt
    from supervisor_app.edit.render import render_mp4
    from supervisor_app.media import probe

    dur = float(probe(small_film).duration_s)
    edit = Edit([Excerpt(0.0, dur, 0.0, dur)], dur, 120.0)
    token = CancelToken()
    rec = Recorder()

    def progress(fraction, stage):
        rec(fraction, stage)
        if stage == "encoding the MP4" and fraction > 0.05:
            token.cancel()

    out_dir = tmp_path / "out"
    with pytest.raises(Cancelled):
        render_mp4(edit, small_film, MUSIC / "vibe_ace.ogg", out_dir / "m.mp4", progress=progress,
                   should_cancel=token, music_only=True)
    assert rec.calls[0] == (0.0, "mixing the music under the picture's sound")
    assert not any(s == "MP4 written" for _, s in rec.calls)
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


# --- the CLI's adapter ----------------------------------------------------------------------------
@pytest.mark.slow  # imports the feature stack twice over: ~10 s on 2 busy cores
def test_cli_prints_stages_on_stderr_and_nothing_with_quiet(capsys, tmp_path, monkeypatch):
    from supervisor_app.cli.main import main

    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    track = str(MUSIC / "solo_trumpet_90bpm.ogg")
    assert main(["features", "extract", "handcrafted", track, "--no-cache"]) == 0
    out, err = capsys.readouterr()
    assert "handcrafted: 5 frames" in out
    assert "handcrafted features" in err and "done (" in err  # a log (not a terminal): stage lines
    assert main(["features", "extract", "handcrafted", track, "--no-cache", "-q"]) == 0
    out, err = capsys.readouterr()
    assert "handcrafted: 5 frames" in out and err == ""


def test_background_runs_behind_the_caller_holds_its_progress_and_hands_back_its_result_or_error():
    import os
    import sys
    import threading

    from supervisor_app.infra.jobs import Background, Cancelled, check_cancelled

    seen, go = [], threading.Event()

    def work(cancel, report):
        report(0.5, "half")
        nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) if sys.platform.startswith("linux") else None
        go.wait(5)
        report(0.9, "nearly")
        return nice

    bg = Background(work, progress=lambda f, s: seen.append((f, s)))
    assert seen == []  # held back while the caller works
    go.set()
    nice = bg.result()
    assert seen[0] == (0.5, "half") and (0.9, "nearly") in seen
    if nice is not None:
        assert nice == min(19, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + 10)  # a lower priority

    def fails(cancel, report):
        raise ValueError("bad frame")

    with pytest.raises(ValueError, match="bad frame"):
        Background(fails).result()

    def waits(cancel, report):
        while True:
            check_cancelled(cancel, "The work")

    stopped = Background(waits)
    stopped.stop()
    with pytest.raises(Cancelled):
        stopped.result()
