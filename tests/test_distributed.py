"""Distributed indexing on a local 2-CPU Ray cluster: killed workers are retried, the catalog equals the local one.

Ray's start-up costs ~10 s, so one cluster serves the whole module; the CLI test starts its own.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from synth_music import sine
from supervisor_app.catalog import Catalog
from supervisor_app.indexing.pipeline import index_catalog

from fixture_paths import MUSIC, REPO

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def three_tracks(tmp_path_factory) -> Path:
    """Three short tracks: a 15-s jazz excerpt, 12 s of silence, a 3-s jingle (one analyzer error each)."""
    d = tmp_path_factory.mktemp("three")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "10", "-t", "15", "-i", str(MUSIC / "vibe_ace.ogg"),
                    "-vn", str(d / "vibe_15s.ogg")], check=True)
    sf.write(d / "silence.wav", np.zeros(12 * 22050, dtype=np.float32), 22050)
    sf.write(d / "jingle.wav", sine(660, 3.0, 22050, 0.3), 22050)
    return d


def _content(cat: Catalog) -> dict:
    names = {t.id: Path(t.path).name for t in cat.tracks()}
    out = {}
    for tid, analyzer, version, result, error in cat._db.execute(
            "SELECT track_id, analyzer, version, result, error FROM analyses"):
        out[(names[tid], analyzer, version)] = (result, error)
    for tid, model, version, dtype, shape, data in cat._db.execute(
            "SELECT track_id, model, version, dtype, shape, data FROM embeddings"):
        out[(names[tid], model, version)] = (dtype, shape, bytes(data))
    return out


def test_a_killed_worker_is_retried_by_ray(cluster, tmp_path):
    from supervisor_app.indexing.ray_engine import map_unordered

    marker = str(tmp_path / "killed-once")

    def crash_once(x):  # shipped by value (a local function); SIGKILLs its worker the first time
        import os as _os
        import signal as _signal

        if x == 2 and not _os.path.exists(marker):
            open(marker, "w").close()
            _os.kill(_os.getpid(), _signal.SIGKILL)
        return x * x

    got = dict(map_unordered(crash_once, [(i,) for i in range(5)], max_retries=2))
    assert got == {i: i * i for i in range(5)} and os.path.exists(marker)


def test_a_task_that_keeps_dying_is_reported_not_fatal(cluster):
    from supervisor_app.indexing.ray_engine import map_unordered

    def always_crash(x):
        import os as _os
        import signal as _signal

        if x == 1:
            _os.kill(_os.getpid(), _signal.SIGKILL)
        return -x

    got = dict(map_unordered(always_crash, [(i,) for i in range(3)], max_retries=0))
    assert got[0] == 0 and got[2] == -2
    assert isinstance(got[1], ray.exceptions.RayError)


def test_ray_engine_writes_the_same_catalog_as_local(cluster, three_tracks, tmp_path):
    local = Catalog.create(tmp_path / "local.sqlite")
    local.add_folder(three_tracks)
    rep_l = index_catalog(local, algorithms=("olda", "sf"))
    dist = Catalog.create(tmp_path / "ray.sqlite")
    dist.add_folder(three_tracks)
    rep_r = index_catalog(dist, algorithms=("olda", "sf"), engine="ray")
    assert (rep_l.done, rep_r.done, rep_r.engine) == (3, 3, "ray")
    assert sorted(rep_l.errors, key=str) == sorted(rep_r.errors, key=str) and rep_r.errors
    a, b = _content(local), _content(dist)
    assert len(a) >= 3 * 4 and a == b
    # resumable: a rerun on the cluster finds nothing to do
    assert index_catalog(dist, algorithms=("olda", "sf"), engine="ray").done == 0
    local.close()
    dist.close()


def test_cli_index_with_its_own_local_ray_cluster(three_tracks, tmp_path):
    """`catalog index --engine ray --workers 2` starts (and stops) a private 2-CPU cluster."""
    path = tmp_path / "cli.sqlite"
    with Catalog.create(path) as cat:
        cat.add_folder(three_tracks)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "supervisor_app.cli.main", "catalog", "index", "--catalog", str(path),
           "--engine", "ray", "--workers", "2", "--segments", "olda", "--no-frames", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(r.stdout)
    assert (report["done"], report["engine"]) == (3, "ray") and report["cpu_s"]["decode"] > 0
    with Catalog.open(path) as cat:
        models = {m for m in cat.stats()["embeddings"]}
        assert "yamnet-frames" not in models and "yamnet-segmeans-olda" in models


def test_cli_address_without_ray_engine_is_a_usage_error(tmp_path):
    path = tmp_path / "x.sqlite"
    Catalog.create(path).close()
    r = subprocess.run([sys.executable, "-m", "supervisor_app.cli.main", "catalog", "index", "--catalog", str(path),
                        "--address", "auto"], capture_output=True, text=True, cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert r.returncode == 2 and "--engine ray" in r.stderr and "Traceback" not in r.stderr
