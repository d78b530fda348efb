"""Hypothesis-driven corruption of real media files: probe and load_audio never crash, never hang, and
always end in a typed error (one sentence) or a valid decode (finite float32 samples).

Decoding runs in a long-lived child process (``decode_worker.py``): a segfault kills the child, not the
test run, and a hang is caught by a timeout. Each corrupted file is written to a temporary folder and
removed afterwards.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixture_paths import DATA, MUSIC, REPO

TIMEOUT_S = 30.0
HERE = Path(__file__).resolve().parent


def _sources(tmp: Path) -> dict[str, bytes]:
    """Small real files of several containers (the Ogg and MP3 fixtures, a WAV, and a FLAC and an MP4 made
    from them)."""
    from faults.corpus import ffmpeg

    flac = tmp / "src.flac"
    ffmpeg("-i", str(MUSIC / "solo_trumpet_90bpm.ogg"), "-t", "3", str(flac))
    mp4 = tmp / "src.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x36:rate=10:duration=3", "-i", str(MUSIC / "solo_trumpet_90bpm.ogg"),
           "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(mp4))
    mp3 = tmp / "src.mp3"
    ffmpeg("-i", str(MUSIC / "mindless_cut.mp3"), "-t", "4", "-c:a", "copy", str(mp3))
    files = {"ogg": MUSIC / "solo_trumpet_90bpm.ogg", "wav": DATA / "madmom_sample.wav", "flac": flac,
             "mp4": mp4, "mp3": mp3}
    return {k: Path(v).read_bytes() for k, v in files.items()}


class Worker:
    """The decode worker child; restarted after a crash or a hang."""

    def __init__(self):
        self.proc = None

    def start(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
        self.proc = subprocess.Popen([sys.executable, str(HERE / "decode_worker.py")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)

    def check(self, path: Path) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        self.proc.stdin.write(f"{path}\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT_S)
        if not ready:
            self.stop()
            return {"hang": True}
        line = self.proc.stdout.readline()
        if not line:
            rc = self.proc.wait()
            self.proc = None
            return {"crash": rc}
        return json.loads(line)

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.stop()


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return _sources(tmp_path_factory.mktemp("sources"))


def corrupt(data: bytes, flips: list[tuple[float, int]], cut: float | None) -> bytes:
    buf = bytearray(data)
    for where, value in flips:
        i = min(len(buf) - 1, int(where * len(buf)))
        buf[i] ^= value or 1
    if cut is not None:
        buf = buf[: int(cut * len(buf))]
    return bytes(buf)


def _assert_clean(result: dict, label: str) -> None:
    assert "crash" not in result, f"{label}: the decoder crashed (exit {result.get('crash')})"
    assert "hang" not in result, f"{label}: the decoder hung for more than {TIMEOUT_S:.0f} s"
    for step in ("probe", "audio"):
        out = result[step]
        assert "untyped" not in out, f"{label}: {step} raised {out['untyped']}\n{out.get('trace', '')}"
        if "typed" in out:
            msg = out["message"]
            assert msg and "\n" not in msg and msg.rstrip().endswith("."), f"{label}: {step} message {msg!r}"


mutations = st.tuples(
    st.sampled_from(["ogg", "wav", "flac", "mp4", "mp3"]),
    st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), min_size=0, max_size=40),
    st.one_of(st.none(), st.floats(0.0, 1.0)),
)


def _run(sources, worker, tmp_path_factory, case):
    kind, flips, cut = case
    d = tmp_path_factory.mktemp("corrupt", numbered=True)
    f = d / f"corrupt.{kind}"
    f.write_bytes(corrupt(sources[kind], flips, cut))
    try:
        _assert_clean(worker.check(f), f"{kind} flips={len(flips)} cut={cut}")
    finally:
        f.unlink()
        d.rmdir()


@pytest.mark.slow
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(case=mutations)
def test_corrupted_media_never_crash_or_hang(sources, worker, tmp_path_factory, case):
    _run(sources, worker, tmp_path_factory, case)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=mutations)
def test_corrupted_media_many(sources, worker, tmp_path_factory, case):
    _run(sources, worker, tmp_path_factory, case)


def test_header_and_truncation_points(sources, worker, tmp_path_factory):
    """Deterministic: every file cut inside its first 4 KiB and at tenths of its length; its header zeroed."""
    for kind, data in sources.items():
        cuts = [0, 1, 4, 16, 64, 256, 1024, 4096] + [len(data) * k // 10 for k in range(1, 10)]
        for n in cuts:
            _run(sources, worker, tmp_path_factory, (kind, [], n / len(data)))
        _run(sources, worker, tmp_path_factory, (kind, [(i / len(data), 0xFF) for i in range(64)], None))


def test_the_harness_sees_a_crash_and_a_hang(tmp_path, monkeypatch):
    """The worker protocol reports a segfaulting or silent child (so the tests above can fail)."""
    w = Worker()
    w.proc = subprocess.Popen([sys.executable, "-c", "import ctypes, sys; sys.stdin.readline(); ctypes.string_at(0)"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert w.check(tmp_path / "x")["crash"] != 0
    monkeypatch.setattr(sys.modules[__name__], "TIMEOUT_S", 1.0)
    w.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert w.check(tmp_path / "x") == {"hang": True}
    w.stop()
