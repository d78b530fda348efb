"""Picture sync-point suggestions: known cut bursts, a flash, a loud hit, a long looped picture."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synth_music import noise, sine
from supervisor_app.analysis.sync_suggestions import (
    KINDS,
    PictureCurves,
    SyncSuggestion,
    picture_climax_s,
    strongest,
    suggest_sync_points,
    suggestions_from_curves,
)

REPO = Path(__file__).resolve().parent.parent
BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"


def test_a_cut_burst_is_suggested_at_its_first_cut():
    D = 120.0
    calm = list(np.arange(6.0, D, 8.0))  # one cut every 8 s
    burst = [70.0, 70.6, 71.1, 71.5, 72.0, 72.4, 72.9]
    cuts = sorted(calm + burst)
    s = suggestions_from_curves(None, cuts, duration_s=D)
    assert len(s) == 1
    x = s[0]
    assert x.kind == "cut_density" and x.time_s == pytest.approx(70.0)
    assert 0.5 < x.strength <= 1.0 and "burst of" in x.reason
    # the same number of cuts spread evenly: nothing stands out
    assert suggestions_from_curves(None, list(np.linspace(3, D - 3, len(cuts))), duration_s=D) == []
    assert picture_climax_s(s, D) == pytest.approx(70.0)


def test_merging_ranking_and_climax(monkeypatch):
    t = np.arange(0, 60.0, 0.125)
    motion = np.full(t.size, 1.0)
    motion[(t > 40.0) & (t < 41.0)] = 9.0  # a burst of movement around 40.5 s
    bright = np.full(t.size, 80.0)
    bright[t >= 40.5] = 160.0  # and the picture brightens at 40.5 s
    loud = np.full(int(60 / 0.05), -40.0)
    loud[int(10.0 / 0.05):] = -20.0  # a loud entrance at 10 s
    c = PictureCurves(60.0, t, motion, bright, loud)
    s = suggestions_from_curves(c, [], duration_s=60.0)
    kinds = {x.kind for x in s}
    assert kinds <= set(KINDS)
    near40 = [x for x in s if abs(x.time_s - 40.5) < 1.0]
    assert len(near40) == 1 and " and " in near40[0].reason  # motion and brightness merged, reasons joined
    # two loud hits 0.5 s apart near a movement peak: one suggestion, each kind's evidence counted once
    from supervisor_app.analysis import sync_suggestions as ss

    monkeypatch.setattr(ss, "_cut_candidates", lambda cuts, D: [SyncSuggestion(20.0, 0.5, "motion", "m"),
                                                               SyncSuggestion(20.3, 0.4, "loudness", "l1"),
                                                               SyncSuggestion(20.6, 0.4, "loudness", "l2")])
    (one,) = ss.suggestions_from_curves(None, [], duration_s=60.0)
    assert one.time_s == 20.0 and one.strength == pytest.approx(1 - 0.5 * 0.6) and one.reason == "m; and l1"
    assert any(x.kind == "loudness" and x.time_s == pytest.approx(10.0, abs=0.06) for x in s)
    assert [x.time_s for x in s] == sorted(x.time_s for x in s)
    assert strongest(s) is near40[0]
    assert picture_climax_s(s, 60.0) == near40[0].time_s
    assert picture_climax_s([], 60.0) is None
    # at most max_suggestions, the strongest kept
    many = [SyncSuggestion(float(k), k / 100, "motion", "x") for k in range(1, 50, 2)]
    assert picture_climax_s(many, 60.0) is not None
    d = SyncSuggestion(1.23456, 0.5, "loudness", "r").to_dict()
    assert SyncSuggestion.from_dict(d) == SyncSuggestion(1.235, 0.5, "loudness", "r")


def _synthetic_video(path: Path, seconds=40.0, flash_s=12.0, hit_s=30.0, burst=(20.0, 20.5, 21.0, 21.4, 21.9)):
    """Grey 160x90 picture at 25 fps: a white flash at ``flash_s`` (0.3 s), a different block per "shot"
    (cuts) at ``burst``; quiet noise with narration from 2 s and a loud 0.5 s tone at ``hit_s``."""
    sr = 16000
    a = noise(seconds, sr, 0.003, seed=0)
    i = int(hit_s * sr)
    a[i:i + sr // 2] += sine(220, 0.5, sr, 0.5)
    from supervisor_app.media import load_audio

    voice = load_audio(REPO / "tests" / "data" / "speech_espeak.ogg", sr=sr)  # narration from 2 s: not a "hit"
    a[2 * sr:2 * sr + voice.size] += 0.5 * voice
    wav = path.with_suffix(".wav")
    sf.write(str(wav), a.astype(np.float32), sr)
    colours = ["0x202020", "0xC0C0C0", "0x303090", "0xE0E040", "0x106010"]
    draws = [f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='between(t,{flash_s},{flash_s + 0.3})'"]
    edges = list(burst) + [burst[-1] + 0.5]
    for k in range(len(burst)):  # each "shot" a different block on the grey ground
        draws.append(f"drawbox=x={5 + 12 * k}:y={5 + 5 * (k % 3)}:w=100:h=75:color={colours[k % len(colours)]}:t=fill:"
                     f"enable='between(t,{edges[k]},{edges[k + 1] - 0.001})'")
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", "-f", "lavfi",
                    "-i", f"color=c=0x505050:s=160x90:r=25:d={seconds}", "-i", str(wav),
                    "-vf", ",".join(draws), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


def test_flash_burst_and_hit_on_a_synthetic_video(tmp_path):
    video = _synthetic_video(tmp_path / "synth.mp4")
    cuts = [20.0, 20.5, 21.0, 21.4, 21.9, 22.4]
    s = suggest_sync_points(video, cuts_s=cuts)
    by_kind = {}
    for x in s:
        by_kind.setdefault(x.kind, []).append(x)
    assert any(abs(x.time_s - 12.0) <= 0.13 for x in by_kind.get("brightness", [])), s  # the flash, within a frame step
    assert any(abs(x.time_s - 20.0) <= 0.05 for x in by_kind.get("cut_density", [])), s  # the burst's first cut
    assert any(abs(x.time_s - 30.0) <= 0.1 for x in by_kind.get("loudness", [])), s  # the hit
    assert not any(1.5 <= x.time_s <= 11.8 for x in by_kind.get("loudness", [])), s  # the narration's words are not
    assert all(0.0 <= x.time_s <= 40.1 and 0.0 < x.strength <= 1.0 and x.reason for x in s)
    # without cuts given, they come from the frame differences: the same burst
    s2 = suggest_sync_points(video, audio=False)
    assert any(x.kind == "cut_density" and abs(x.time_s - 20.0) <= 0.13 for x in s2), s2
    assert not any(x.kind == "loudness" for x in s2)


@pytest.mark.slow
def test_a_150_s_looped_picture(tmp_path):
    """Big Buck Bunny looped five times (150 s, 160x90, 12 fps): suggestions everywhere in it, each loop's
    loud moment found again, the climax one of them."""
    long = tmp_path / "bbb_150.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-v", "error", "-stream_loop", "4", "-i", str(BBB),
                    "-vf", "scale=160:90,fps=12", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    "-t", "150", str(long)], check=True)
    s = suggest_sync_points(long)
    assert 3 <= len(s) <= 15
    assert all(0.0 <= x.time_s <= 150.5 for x in s)
    loud = sorted(x.time_s % 30.0 for x in s if x.kind == "loudness")
    assert len(loud) >= 3 and np.ptp(loud[:3]) < 1.0  # the same moment in several loops
    c = picture_climax_s(s, 150.0)
    assert c in [x.time_s for x in s]


def test_cli_recommend_and_mockup_accept_auto_sync():
    from supervisor_app.cli.main import build_parser

    p = build_parser()
    assert p.parse_args(["recommend", "v.mp4", "--auto-sync"]).auto_sync is True
    a = p.parse_args(["mockup", "v.mp4", "t.wav", "--out", "m.mp4", "--auto-sync", "--music-only"])
    assert a.auto_sync and a.music_only and a.loudness == "web"


def test_recommend_auto_sync_adds_the_strongest_suggestion(monkeypatch, capsys, tmp_path):
    import supervisor_app.analysis.sync_suggestions as ss
    import supervisor_app.cli.recommend as rc
    import supervisor_app.services.recommend as rec_mod
    from supervisor_app.cli.main import build_parser

    sugg = [SyncSuggestion(4.0, 0.4, "motion", "a"), SyncSuggestion(21.3, 0.9, "loudness", "a loud hit")]
    monkeypatch.setattr(ss, "cached_sync_suggestions", lambda video, **kw: sugg)
    seen = {}

    class _Res:
        mode, model, rank_by, n_candidates, notes, results, excluded = "fit", None, "sync", 0, [], [], []

    def fake_recommend(video, cat, **kw):
        seen.update(kw)
        return _Res()

    class _Cat:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(rec_mod, "recommend", fake_recommend)  # what recommend_for_brief calls
    monkeypatch.setattr(rc, "_catalog", lambda args: _Cat())
    args = build_parser().parse_args(["recommend", "v.mp4", "--auto-sync", "--sync-point", "2.5"])
    assert rc.cmd_recommend(args) == 0
    assert seen["sync_points_s"] == [2.5, 21.3]
    assert "auto sync point: 21.30 s (loudness" in capsys.readouterr().out
