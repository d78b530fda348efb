"""Shot detection's fast paths give the network's own answer: the fused first TransNetV2 block, two
chunks at once on their own threads, the decoder on one thread, the default chunking against the
package's windows, and a 2.5-minute picture (cuts repeat in every loop of the fixture)."""
from __future__ import annotations

import subprocess
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from supervisor_app.analysis import transnet_model as tm
from supervisor_app.analysis.shots import cuts_from_probs, detect_shots
from supervisor_app.media import read_frames
from fixture_paths import BBB

needs_int8 = pytest.mark.skipif(not tm.int8_supported(), reason="torch without oneDNN int8 convolutions")


@pytest.fixture(scope="module")
def state_dict():
    return tm.load_state_dict()


def _reference_first_block(sd, frames: np.ndarray) -> torch.Tensor:
    """The package's first DilatedDCNNV2 block + ReLU, written out with its own 5-D convolutions."""
    x = torch.from_numpy(frames).to(torch.float32).div(255.0).permute(3, 0, 1, 2)[None]  # (1, 3, T, H, W)
    p = "SDDCNN.0.DDCNN.0."
    outs = []
    for d in tm.DILATIONS:
        y = F.conv3d(x, sd[p + f"Conv3D_{d}.layers.0.weight"], padding=(0, 1, 1))
        outs.append(F.conv3d(y, sd[p + f"Conv3D_{d}.layers.1.weight"], padding=(d, 0, 0), dilation=(d, 1, 1)))
    z = torch.cat(outs, 1)
    z = F.batch_norm(z, sd[p + "bn.running_mean"], sd[p + "bn.running_var"], sd[p + "bn.weight"],
                     sd[p + "bn.bias"], training=False, eps=tm.BN_EPS)
    return F.relu(z)[0].permute(1, 2, 3, 0)  # (T, H, W, 64)


def test_fused_first_block_equals_the_original_branches(state_dict):
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (21, tm.INPUT_HEIGHT, tm.INPUT_WIDTH, 3), dtype=np.uint8)
    frames[10:] = frames[10]  # a still stretch as well as noise
    model = tm.TransNetV2Fast(state_dict, dtype=torch.float32)
    with torch.inference_mode():
        ours = model._first_block(torch.from_numpy(frames).to(torch.float32).div_(255.0))
    ref = _reference_first_block(state_dict, frames)
    assert ours.shape == ref.shape == (21, tm.INPUT_HEIGHT, tm.INPUT_WIDTH, 64)
    assert float((ours - ref).abs().max()) < 1e-5 * max(1.0, float(ref.abs().max()))
    # the superseded per-branch weights are gone (no dead memory)
    assert not any(k.startswith("s0b0_") for k, _ in model.named_buffers())


def _net_threads():
    return [t for t in threading.enumerate() if t.name.startswith("shots-net") and t.is_alive()]


def test_two_chunks_at_once_give_the_same_probabilities_and_leave_the_thread_count_alone(state_dict):
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 256, (170, tm.INPUT_HEIGHT, tm.INPUT_WIDTH, 3), dtype=np.uint8)
    frames[60:110] = frames[60]  # a still shot between two noisy ones: two cuts
    model = tm.get_model("cpu", "auto")
    threads_before = torch.get_num_threads()
    done_serial, done_parallel, callers = [], [], set()

    def on_chunk(n):
        done_parallel.append(n)
        callers.add(threading.current_thread().name)

    serial = tm.predict_frames(iter(frames), model, chunk=40, context=10, workers=1, on_chunk=done_serial.append)
    parallel = tm.predict_frames(iter(frames), model, chunk=40, context=10, workers=2, on_chunk=on_chunk)
    assert parallel.shape == serial.shape == (170,)
    assert float(np.abs(parallel - serial).max()) < 2e-3  # bf16: other kernels may round differently
    assert done_parallel == done_serial == [40, 80, 120, 160, 170]  # in order, in the caller's thread
    assert callers == {threading.current_thread().name}
    assert not _net_threads()
    # the count is the caller's again, also for a thread started afterwards (it inherits the last set)
    assert torch.get_num_threads() == threads_before
    seen = []
    t = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert seen == [threads_before]


@pytest.mark.parametrize("context, n_frames", [(5, 400), (None, 600)], ids=["windows", "streamed"])
def test_a_callback_that_raises_stops_the_workers(state_dict, context, n_frames):
    """A raising callback (e.g. a cancel) stops the network's workers, leaves the stream mostly unread and
    the process's thread count as it was, with windows of context and streamed alike."""
    frames = np.random.default_rng(6).integers(0, 256, (n_frames, tm.INPUT_HEIGHT, tm.INPUT_WIDTH, 3), dtype=np.uint8)
    pulled = []

    def source():
        for i, f in enumerate(frames):
            pulled.append(i)
            yield f

    def stop(n):
        raise RuntimeError("stop")

    threads_before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="stop"):
        tm.predict_frames(source(), tm.get_model("cpu", "auto"), chunk=30, context=context, workers=2, on_chunk=stop)
    assert not _net_threads()
    assert len(pulled) < 200  # the rest of the stream was not read
    assert torch.get_num_threads() == threads_before


def _frames_reformatted_one_by_one(path, n: int) -> list[np.ndarray]:
    """The first ``n`` frames scaled as PyAV does by default (a new swscale context per frame)."""
    import av

    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(c.streams.video[0]):
            out.append(frame.reformat(width=tm.INPUT_WIDTH, height=tm.INPUT_HEIGHT, format="rgb24",
                                      interpolation="BILINEAR").to_ndarray())
            if len(out) == n:
                return out
    return out


def test_decoder_on_one_thread_and_the_shared_scaler_give_the_same_frames(tmp_path):
    h264 = tmp_path / "bbb.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(BBB), "-t", "4", "-an", "-vf", "scale=320:180",
                    "-c:v", "libx264", "-preset", "veryfast", str(h264)], check=True)
    for path in (BBB, h264):
        kw = dict(size=(tm.INPUT_WIDTH, tm.INPUT_HEIGHT), end_s=4.0)
        default = list(read_frames(path, **kw))
        one = list(read_frames(path, decoder_threads=1, **kw))
        assert len(one) == len(default) >= 90
        assert [t for t, _ in one] == [t for t, _ in default]
        assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(one, default))
        reference = _frames_reformatted_one_by_one(path, len(default))
        assert all(np.array_equal(a, b) for (_, a), b in zip(default, reference))


@pytest.mark.slow
def test_default_chunking_agrees_with_the_package_windows_on_the_fixture():
    """The package's 100-frame windows are chunk=50/context=25 (float32 equality with the package is
    tested in test_shots.py); the default chunks give other frames context at the edges: the
    probabilities stay within the documented 0.1 (~0.04-0.06 measured) and the cuts are the same,
    in float32, in the default precision and in int8."""
    frames = np.stack([f for _, f in read_frames(BBB, size=(tm.INPUT_WIDTH, tm.INPUT_HEIGHT), end_s=20.0)])
    ref = tm.predict_frames(iter(frames), tm.get_model("cpu", "float32"), chunk=50, context=25)
    t = np.arange(len(frames)) / 24.0
    for precision in ("float32", "auto") + (("int8",) if tm.int8_supported() else ()):
        p = tm.predict_frames(iter(frames), tm.get_model("cpu", precision))
        assert float(np.abs(p - ref).max()) < 0.1, precision
        assert cuts_from_probs(t, p) == cuts_from_probs(t, ref), precision


@pytest.mark.slow
def test_cuts_repeat_in_every_loop_of_a_two_and_a_half_minute_picture(tmp_path):
    """150 s of the fixture looped five times (small and at 12 fps to keep the test short): many
    chunks in flight, their results in order, the same three hard cuts in every loop."""
    path = tmp_path / "bbb_150.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "-1", "-i", str(BBB), "-t", "150", "-an",
                    "-vf", "scale=96:54,fps=12", "-c:v", "libx264", "-preset", "veryfast", str(path)], check=True)
    r = detect_shots(path)
    assert r.duration_s == pytest.approx(150.0, abs=0.2) and len(r.cut_probs) == pytest.approx(1800, abs=3)
    for k in range(5):
        for cut in (11.795, 15.670, 22.961):
            assert any(abs(c - (30.0 * k + cut)) <= 1.0 / 12 + 0.05 for c in r.cuts_s), (k, cut, r.cuts_s)
        for a, b in ((2.0, 11.5), (16.0, 22.7), (23.3, 29.5)):
            inside = [c for c in r.cuts_s if 30.0 * k + a < c < 30.0 * k + b]
            assert not inside, (k, inside)
    assert not _net_threads()


def _whole_sequence_probs(model, frames: np.ndarray) -> np.ndarray:
    """One forward pass over the whole sequence with SEQUENCE_PAD copies of its end frames."""
    pad = tm.SEQUENCE_PAD
    seq = np.concatenate([np.repeat(frames[:1], pad, 0), frames, np.repeat(frames[-1:], pad, 0)])
    with torch.inference_mode():
        logits = model(torch.from_numpy(seq))
    return torch.sigmoid(logits).numpy()[pad:pad + len(frames)]


@pytest.mark.parametrize("precision, tol", [("float32", 2e-5), ("auto", 3e-3), ("bfloat16", 3e-3),
                                            pytest.param("int8", 3e-3, marks=needs_int8)])
def test_streamed_equals_one_pass_over_the_whole_sequence(state_dict, precision, tol):
    """The default (streamed) probabilities are one forward pass over the whole sequence whatever
    the piece size (smaller than a block's reach included) and the number of threads; bf16:
    other shapes may pick kernels that round differently; int8: each piece's activations are
    quantized by their own maximum (~1e-3 measured)."""
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 256, (230, tm.INPUT_HEIGHT, tm.INPUT_WIDTH, 3), dtype=np.uint8)
    frames[80:150] = frames[80]  # a still shot between two noisy ones
    model = tm.get_model("cpu", precision)
    ref = _whole_sequence_probs(model, frames)
    for chunk, workers in ((5, 1), (40, 2), (97, 2), (1000, 1)):
        done = []
        p = tm.predict_frames(iter(frames), model, chunk=chunk, workers=workers, on_chunk=done.append)
        assert p.shape == (230,)
        assert float(np.abs(p - ref).max()) < tol, (chunk, workers)
        assert done == sorted(done) and done[-1] == 230
    for n in (1, 3):  # sequences shorter than the padding and the blocks' reach
        short = frames[:n]
        p = tm.predict_frames(iter(short), model, chunk=4, workers=2)
        assert float(np.abs(p - _whole_sequence_probs(model, short)).max()) < tol
    assert len(tm.predict_frames(iter(frames[:0]), model)) == 0
    assert not _net_threads()


def test_each_worker_runs_on_its_share_of_the_threads(monkeypatch):
    """torch's lazy per-thread set-up must not reset a worker to the process-wide count."""
    seen = set()
    step = tm._Stream.step

    def recording_step(self, g, packet, final):
        seen.add((threading.current_thread().name.startswith("shots-net"), torch.get_num_threads()))
        return step(self, g, packet, final)

    monkeypatch.setattr(tm._Stream, "step", recording_step)
    frames = np.random.default_rng(9).integers(0, 256, (120, tm.INPUT_HEIGHT, tm.INPUT_WIDTH, 3), dtype=np.uint8)
    threads = torch.get_num_threads()
    tm.predict_frames(iter(frames), tm.get_model("cpu", "auto"), chunk=30, workers=2)
    assert seen == {(True, max(1, threads // 2))}
    assert torch.get_num_threads() == threads


# --- int8 precision (oneDNN u8 x s8 convolutions, bfloat16 between them) -------------------------


@needs_int8
def test_int8_first_block_is_close_to_float32(state_dict):
    """The frames are exact as uint8 activations (scale 1/255); only the per-channel int8 weights and
    the bfloat16 output round: within 2 % of the block's largest output (~0.5 % measured)."""
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (21, tm.INPUT_HEIGHT, tm.INPUT_WIDTH, 3), dtype=np.uint8)
    frames[10:] = frames[10]
    ref_model = tm.TransNetV2Fast(state_dict, dtype=torch.float32)
    model = tm.TransNetV2Fast(state_dict, dtype=torch.int8)
    with torch.inference_mode():
        ref = ref_model._first_block(torch.from_numpy(frames).to(torch.float32).div_(255.0))
        ours = model._first_block(torch.from_numpy(frames))
    assert ours.dtype == torch.bfloat16 and ours.shape == ref.shape
    assert float((ours.float() - ref).abs().max()) < 0.02 * float(ref.abs().max())


@needs_int8
def test_int8_quantize_rounds_and_never_wraps():
    for top in (1.0, 0.37, 3.3e-3, 871.0):  # multipliers near bfloat16 ties and far from them
        x = torch.tensor([0.0, 0.1, 0.5, 0.999, 1.0, 0.25, 0.0, 0.7], dtype=torch.bfloat16) * top
        q, scale = tm.TransNetV2Fast._quantize(x)
        assert q.dtype == torch.uint8 and int(q.max()) in (254, 255) and int(q[0]) == 0, top
        # rounding to the nearest step (the sum 0.5 + x/scale is itself rounded to bfloat16: 1/256)
        assert float((q.float() * scale - x.float()).abs().max()) <= 0.5 * scale + float(x.max()) / 256, top
    q0, _ = tm.TransNetV2Fast._quantize(torch.zeros(3, dtype=torch.bfloat16))
    assert int(q0.max()) == 0


@needs_int8
def test_int8_logits_close_to_float32_and_same_cuts_on_the_fixture():
    """8 s of the fixture (one hard cut) streamed in int8: logits within 0.5 of float32 (~0.1-0.2
    measured; bfloat16 is ~0.1) and the same cuts."""
    frames = np.stack([f for _, f in read_frames(BBB, size=(tm.INPUT_WIDTH, tm.INPUT_HEIGHT), start_s=8.0,
                                                 end_s=16.0)])
    t = np.arange(len(frames)) / 24.0
    p32 = tm.predict_frames(iter(frames), tm.get_model("cpu", "float32"))
    p8 = tm.predict_frames(iter(frames), tm.get_model("cpu", "int8"))
    logit = lambda p: np.log(np.clip(p, 1e-7, 1 - 1e-7) / np.clip(1 - p, 1e-7, 1))  # noqa: E731
    assert float(np.abs(logit(p8) - logit(p32)).max()) < 0.5
    assert float(np.abs(p8 - p32).max()) < 0.05
    assert cuts_from_probs(t, p8) == cuts_from_probs(t, p32) != []


def test_int8_precision_is_cpu_only_and_named_in_the_results():
    with pytest.raises(ValueError):
        tm.resolve_dtype("int8", torch.device("cuda"))
    with pytest.raises(ValueError):
        tm.resolve_dtype("int4", torch.device("cpu"))
    if tm.int8_supported():
        assert tm.resolve_dtype("int8", torch.device("cpu")) == torch.int8
        model = tm.get_model("cpu", "int8")
        assert model.precision == "int8" and model.compute_dtype == torch.bfloat16
        assert tm.get_model("cpu", "float32").precision == "float32"
