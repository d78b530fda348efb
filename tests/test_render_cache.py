"""Mockup renders cached by (picture, track, edit, options): a second render of the same thing is a copy,
any change to one of them renders afresh, cancelled renders store nothing."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile as sf

from synth_music import sine
from supervisor_app.edit import render as render_mod
from supervisor_app.edit import render_cache
from supervisor_app.edit.edl import build_edit
from supervisor_app.infra.jobs import Cancelled
from supervisor_app.media import probe

SR = 48000
BAR = 1.87


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISOR_APP_HOME", str(tmp_path / "home"))
    render_cache._HASHES.clear()
    return tmp_path / "home"


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    sf.write(str(d / "tone.wav"), sine(440, 20.0, SR, 0.4), SR)
    video = d / "pic.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", "-f", "lavfi",
                    "-i", "testsrc2=size=160x90:rate=12:duration=3", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(video)], check=True)
    return video, d / "tone.wav"


def _edit(video, start_seg=0):
    dur = probe(video).duration_s
    db = np.arange(0.0, 19.0, BAR)
    return build_edit(dur, [1.5], 20.0, db, [7 * BAR], path=[(start_seg, 0), (1, 1)])


def _count_renders(monkeypatch):
    calls = []
    real_mp4, real_wav = render_mod.render_mp4, render_mod.render_wav

    def mp4(*a, **k):
        calls.append("mp4")
        return real_mp4(*a, **k)

    def wav(*a, **k):
        calls.append("wav")
        return real_wav(*a, **k)

    monkeypatch.setattr(render_mod, "render_mp4", mp4)
    monkeypatch.setattr(render_mod, "render_wav", wav)
    return calls


def test_second_render_is_served_from_the_cache(home, media, tmp_path, monkeypatch):
    video, track = media
    calls = _count_renders(monkeypatch)
    edit = _edit(video)
    a = render_cache.render_mp4_cached(edit, video, track, tmp_path / "a" / "m.mp4")
    seen = []
    b = render_cache.render_mp4_cached(edit, video, track, tmp_path / "b" / "m.mp4",
                                       progress=lambda f, s: seen.append(f))
    assert calls == ["mp4"]
    assert a.read_bytes() == b.read_bytes() and probe(b).has_audio
    assert seen == [1.0]
    assert sorted(p.name for p in b.parent.iterdir()) == ["m.mp4"]  # no temp file left
    w1 = render_cache.render_wav_cached(edit, track, tmp_path / "a" / "m.wav")
    w2 = render_cache.render_wav_cached(edit, track, tmp_path / "b" / "m.wav")
    assert calls == ["mp4", "wav"] and w1.read_bytes() == w2.read_bytes()
    assert len(list((home / "cache" / "renders").rglob("*.*"))) == 2


def test_any_change_renders_afresh(home, media, tmp_path, monkeypatch):
    video, track = media
    calls = _count_renders(monkeypatch)
    edit = _edit(video)
    render_cache.render_wav_cached(edit, track, tmp_path / "1.wav")
    render_cache.render_wav_cached(_edit(video, start_seg=1), track, tmp_path / "2.wav")  # another edit
    render_cache.render_wav_cached(edit, track, tmp_path / "3.wav", loudness_lufs=-20.0)  # other options
    other = tmp_path / "other.wav"  # other track content under the same kind of name
    sf.write(str(other), sine(330, 20.0, SR, 0.4), SR)
    render_cache.render_wav_cached(edit, other, tmp_path / "4.wav")
    assert calls == ["wav"] * 4
    keys = {render_cache.render_key("mp4", edit, track, video), render_cache.render_key("mp4", edit, other, video),
            render_cache.render_key("mp4", edit, track, other)}
    assert len(keys) == 3


def test_cancelled_render_stores_nothing(home, media, tmp_path):
    video, track = media
    with pytest.raises(Cancelled):
        render_cache.render_mp4_cached(_edit(video), video, track, tmp_path / "m.mp4", should_cancel=lambda: True)
    assert not (home / "cache" / "renders").exists() or not list((home / "cache" / "renders").rglob("*.mp4"))
    assert not (tmp_path / "m.mp4").exists()
