"""SIGKILL during `catalog add` leaves a valid catalog, and the next run completes it."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from synth_music import sine
from supervisor_app.catalog import Catalog
from supervisor_app.infra.hashing import content_hash

REPO = Path(__file__).resolve().parent.parent
N_FILES = 30

# Indexes a folder and prints each finished file; the pause makes "mid-way" a matter of lines read.
_SLOW_DRIVER = """
import sys, time
from supervisor_app.catalog import Catalog
done = [0]
def progress(fraction, stage):
    done[0] += 1
    print(done[0], flush=True)
    time.sleep(0.05)
with Catalog.create(sys.argv[1]) as cat:
    cat.add_folder(sys.argv[2], progress=progress)
print("finished", flush=True)
"""


@pytest.fixture
def tones(tmp_path) -> Path:
    """30 distinct short WAVs (one tone each, so every file has its own content hash)."""
    folder = tmp_path / "tones"
    for i in range(N_FILES):
        sub = folder / f"set{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        sf.write(sub / f"tone_{i:02d}.wav", sine(220.0 + 17.0 * i, 1.0, 22050, 0.3), 22050, subtype="PCM_16")
    return folder


def _env(tmp_path) -> dict:
    env = dict(os.environ)
    env["SUPERVISOR_APP_HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _check_consistent(path: Path, folder: Path) -> int:
    """Integrity, foreign keys, no half-written rows; returns the number of tracks."""
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()
    files = {str(p) for p in folder.rglob("*.wav")}
    with Catalog.open(path) as cat:
        tracks = cat.tracks(include_missing=True)
        for t in tracks:
            assert t.path in files and t.status == "ok"
            assert t.content_hash == content_hash(t.path) and t.size_bytes == os.path.getsize(t.path)
            assert t.duration_s == pytest.approx(1.0, abs=1e-3) and t.title == Path(t.path).stem
        assert len({t.path for t in tracks}) == len(tracks)
        return len(tracks)


def _finish_with_cli(path: Path, folder: Path, env: dict, n_before: int) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "supervisor_app.cli.main", "catalog", "add", str(folder), "--catalog", str(path), "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["added"], report["unchanged"], report["errors"]) == (N_FILES - n_before, n_before, [])
    assert _check_consistent(path, folder) == N_FILES
    with Catalog.open(path) as cat:
        assert sorted(t.path for t in cat.tracks()) == sorted(str(p) for p in folder.rglob("*.wav"))
        assert len({t.content_hash for t in cat.tracks()}) == N_FILES


def test_sigkill_mid_scan_then_resume(tmp_path, tones):
    path = tmp_path / "data" / "catalog.sqlite"
    env = _env(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", _SLOW_DRIVER, str(path), str(tones)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in child.stdout:
            if line.strip() == "10":  # ten files committed, twenty to go (at least 1 s of work left)
                os.kill(child.pid, signal.SIGKILL)
                break
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    n = _check_consistent(path, tones)
    assert 10 <= n < N_FILES
    _finish_with_cli(path, tones, env, n)


@pytest.mark.slow
def test_sigkill_cli_at_several_moments_then_resume(tmp_path, tones):
    """Kill the real CLI as soon as it has written 0, 5 and 12 tracks: every time the file is sound."""
    path = tmp_path / "catalog.sqlite"
    env = _env(tmp_path)
    for wait_for in (0, 5, 12):
        child = subprocess.Popen(
            [sys.executable, "-m", "supervisor_app.cli.main", "catalog", "add", str(tones), "--catalog", str(path)],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while child.poll() is None and time.monotonic() < deadline:
                if wait_for == 0 and path.exists():
                    break
                if path.exists() and _count_readonly(path) >= wait_for > 0:
                    break
                time.sleep(0.002)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        if path.exists():
            _check_consistent(path, tones)
    n = _check_consistent(path, tones) if path.exists() else 0
    _finish_with_cli(path, tones, env, n)


def _count_readonly(path: Path) -> int:
    try:
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0.1)
        try:
            return int(con.execute("SELECT count(*) FROM tracks").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:  # not created yet, or still being created
        return -1
