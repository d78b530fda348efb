"""Fault scenarios that need more than one command: killed renders, changed and unreadable catalog files,
two indexers, links, full disks."""
from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixture_paths import BBB, MUSIC, REPO

from faults.conftest import tree
from faults.corpus import ffmpeg


# --- outputs ------------------------------------------------------------------------------------------
def test_atomic_write_on_a_full_disk_leaves_nothing(tmp_path):
    from supervisor_app.infra import fileio
    from supervisor_app.infra.errors import DiskFullError

    target = tmp_path / "out.json"
    with pytest.raises(DiskFullError) as e:
        with fileio.atomic_output(target) as tmp:
            tmp.write_bytes(b"half of it")
            raise OSError(errno.ENOSPC, "No space left on device")  # what write() raises on a full disk
    assert "disk is full" in str(e.value)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(KeyboardInterrupt):
        with fileio.atomic_output(target) as tmp:
            tmp.write_bytes(b"half of it")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_check_output_refuses_before_work(tmp_path):
    from supervisor_app.infra.errors import DiskFullError, OutputExtensionError, OutputNotWritableError
    from supervisor_app.infra.outputs import check_output

    with pytest.raises(OutputExtensionError):
        check_output(tmp_path / "a.xyz", (".png",), "The plot")
    with pytest.raises(OutputNotWritableError):
        check_output(tmp_path, None, "The JSON file")
    with pytest.raises(DiskFullError):
        check_output(tmp_path / "a.json", (".json",), "The JSON file", min_free_bytes=1 << 62)
    assert check_output(tmp_path / "new" / "a.JSON", (".json",)) == tmp_path / "new" / "a.JSON"
    assert list(tmp_path.iterdir()) == []


def test_writing_to_a_link_writes_through(tmp_path, cli, plain_catalog):
    real = tmp_path / "project" / "picks.m3u8"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "latest.m3u8"
    link.symlink_to(real)
    r = cli("playlist", "export", "picks", "--catalog", plain_catalog, "--out", link)
    assert r.rc == 0, r.text
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith("#EXTM3U")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["latest.m3u8", "picks.m3u8", "project"]


# --- catalog: names, changes, failures, locks ----------------------------------------------------------
def test_non_utf8_names_do_not_stop_the_scan(tmp_path, cli, corpus):
    music = tmp_path / "music"
    music.mkdir()
    bad = os.path.join(os.fsencode(music), b"a \xff.ogg")
    shutil.copyfile(corpus["good_ogg"], bad)
    shutil.copyfile(corpus["good_ogg"], music / "z.ogg")
    cat = tmp_path / "c.sqlite"
    for _ in range(2):  # the rerun goes just as far
        r = cli("catalog", "add", music, "--catalog", cat)
        assert r.rc == 0, r.text
        assert "not valid UTF-8" in r.err and "Traceback" not in r.text
        assert "holds 1 tracks" in r.out
    r = cli("catalog", "problems", "--catalog", cat)
    assert r.rc == 0 and "a \\xff.ogg" in r.out, r.text


def _hold_lock(catalog: Path) -> subprocess.Popen:
    """A process that holds the catalog's index lock until a line arrives on its stdin."""
    code = ("import sys; from supervisor_app.catalog.lock import index_lock\n"
            "with index_lock(sys.argv[1]):\n    print('held', flush=True); sys.stdin.readline()\n")
    p = subprocess.Popen([sys.executable, "-c", code, str(catalog)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert p.stdout.readline().strip() == "held"
    return p


def test_one_indexer_per_catalog(tmp_path, cli):
    from supervisor_app.catalog import Catalog

    cat = tmp_path / "c.sqlite"
    with Catalog.create(cat):
        pass
    holder = _hold_lock(cat)
    try:
        r = cli("catalog", "index", "--catalog", cat)
        assert r.rc == 2 and f"being indexed by process {holder.pid}" in r.err, r.text
        waiter = cli.popen("catalog", "index", "--catalog", cat, "--wait")
        first = waiter.stderr.readline()  # blocks until it says it waits
        assert f"Waiting for process {holder.pid}" in first, first
        assert waiter.poll() is None  # still waiting while the lock is held
    finally:
        holder.communicate("go\n", timeout=30)
    _, err = waiter.communicate(timeout=120)
    # it waited for the holder, then did the work itself (here: finds the catalog empty)
    assert waiter.returncode == 2 and "no tracks" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.sqlite"]  # the lock file went with its holder


def test_lock_dies_with_its_holder(tmp_path):
    from supervisor_app.catalog.lock import index_lock

    cat = tmp_path / "c.sqlite"
    cat.touch()
    holder = _hold_lock(cat)
    holder.kill()
    holder.wait()
    with index_lock(cat):  # the kernel released it: no stale lock
        pass


@pytest.fixture()
def one_track_catalog(tmp_path):
    from supervisor_app.catalog import Catalog

    music = tmp_path / "music"
    music.mkdir()
    ffmpeg("-i", str(MUSIC / "vibe_ace.ogg"), "-t", "12", "-c:a", "copy", str(music / "t.ogg"))
    cat = Catalog.create(tmp_path / "c.sqlite")
    cat.add_folder(music)
    yield cat, music / "t.ogg"
    cat.close()


@pytest.mark.slow
def test_index_recomputes_a_replaced_file_and_retries_an_unreadable_one(one_track_catalog, monkeypatch):
    from supervisor_app.indexing import engines, job as indexing_job
    from supervisor_app.infra.errors import FileUnreadableError
    from supervisor_app.indexing.keys import beats_key
    from supervisor_app.indexing.pipeline import index_catalog

    cat, path = one_track_catalog
    (tid,) = [t.id for t in cat.tracks()]
    bname, bv = beats_key()

    # 1. unreadable while indexing: nothing stored, reported, retried on the next run
    real_probe = __import__("supervisor_app.media", fromlist=["probe"]).probe

    def unreadable(p, *a, **k):
        raise FileUnreadableError(p, "permission denied")

    monkeypatch.setattr("supervisor_app.media.probe", unreadable)
    rep = index_catalog(cat, algorithms=("olda",))
    assert [(e[0], e[1]) for e in rep.errors] == [(tid, "file")]
    assert cat.get_analysis(tid, bname, bv) is None
    assert cat.scan_errors() and "cannot be read" in cat.scan_errors()[0][1]
    monkeypatch.setattr("supervisor_app.media.probe", real_probe)
    rep = index_catalog(cat, algorithms=("olda",))
    assert rep.done == 1 and not [e for e in rep.errors if e[1] == "file"]
    first = cat.get_analysis(tid, bname, bv)
    assert first is not None and first.result is not None
    assert cat.scan_errors() == []

    # 2. replaced by other audio (same name): the old results go, new ones are computed
    ffmpeg("-i", str(MUSIC / "sugar_plum_fairy.ogg"), "-t", "11", "-c:a", "copy", str(path.with_suffix(".tmp.ogg")))
    os.replace(path.with_suffix(".tmp.ogg"), path)
    rep = index_catalog(cat, algorithms=("olda",))
    assert rep.changed == 1 and rep.done == 1
    second = cat.get_analysis(tid, bname, bv)
    assert second.result["beats_s"] != first.result["beats_s"]
    assert abs(cat.get_track(tid).duration_s - 11.0) < 0.1

    # 3. touched only (same content): results kept, nothing recomputed
    os.utime(path, (time.time() + 5, time.time() + 5))
    rep = index_catalog(cat, algorithms=("olda",))
    assert rep.changed == 0 and rep.done == 0
    assert cat.get_analysis(tid, bname, bv).computed_at == second.computed_at

    # 4. a stored analyzer failure stays failed until --retry-failed
    calls = []
    real_job = indexing_job.index_track_job

    def job(p, plan, *a, **k):
        calls.append(plan)
        return real_job(p, plan, *a, **k)

    cat.put_analysis(tid, bname, bv, None, "The beats could not be found.")
    monkeypatch.setattr(engines, "index_track_job", job)  # where the local engine calls it
    index_catalog(cat, algorithms=("olda",))
    assert calls == [] and cat.get_analysis(tid, bname, bv).result is None
    assert cat.failed_analyses() == [(tid, bname, bv, "The beats could not be found.")]
    index_catalog(cat, algorithms=("olda",), retry_failed=True)
    assert len(calls) == 1 and calls[0].beats
    assert cat.get_analysis(tid, bname, bv).result is not None


def test_catalog_problems_lists_every_kind(tmp_path, cli, corpus):
    from supervisor_app.catalog import Catalog

    cat = tmp_path / "c.sqlite"
    r = cli("catalog", "add", corpus["good_ogg"].parent, "--catalog", cat)
    assert r.rc == 0
    with Catalog.open(cat) as c:
        tid = c.tracks()[0].id
        c.put_analysis(tid, "beats-madmom", "v", None, "The beats could not be found.")
    r = cli("catalog", "problems", "--catalog", cat)
    assert r.rc == 0, r.text
    assert "truncated" in r.out and "not a regular file" in r.out and "The beats could not be found." in r.out
    r = cli("catalog", "problems", "--catalog", cat, "--json")
    import json

    doc = json.loads(r.out)
    assert doc["files"] and doc["analyses"][0]["track_id"] == tid


# --- a killed mockup ----------------------------------------------------------------------------------------
def _children(pid: int) -> list[tuple[int, str]]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                parts = f.read().rsplit(")", 1)
            comm = parts[0].split("(", 1)[1]
            ppid = int(parts[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append((int(d), comm))
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def warm_mockup(corpus, cli, tmp_path_factory):
    """The picture and track of a mockup whose analyses are cached (so a run goes straight to rendering)."""
    work = tmp_path_factory.mktemp("mockup_warm")
    r = cli("mockup", BBB, corpus["track"], "--out", work / "warm.mp4")
    assert r.rc == 0, r.text
    return BBB, corpus["track"]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and PDEATHSIG are Linux")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_killed_mockup_leaves_nothing_running(sig, warm_mockup, cli, tmp_path):
    video, track = warm_mockup
    work = tmp_path / "w"
    work.mkdir()
    before = tree(work, cli.tmpdir)
    # a mix setting of its own per case: the render cache (issue 21) must not serve this render
    p = cli.popen("mockup", video, track, "--out", work / "m.mp4", "--music-db", f"-{int(sig) / 100:.2f}")
    ff = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.poll() is None:
        ff = next((pid for pid, comm in _children(p.pid) if comm == "ffmpeg"), None)
        if ff:
            break
        time.sleep(0.05)
    assert ff, f"ffmpeg never started: {p.communicate()}"
    os.kill(p.pid, sig)
    out, err = p.communicate(timeout=60)
    for _ in range(100):  # the kernel delivers PDEATHSIG asynchronously
        if not _alive(ff):
            break
        time.sleep(0.05)
    assert not _alive(ff), "ffmpeg kept rendering after its parent died"
    assert "Traceback" not in err
    if sig == signal.SIGKILL:
        # nothing runs in a SIGKILLed process: the next render sweeps what it left (once quiet for 10 min)
        from supervisor_app.infra.lifecycle import sweep_stale

        left = [p for p in list(work.iterdir()) + list(cli.tmpdir.iterdir())]
        for f in left:
            os.utime(f, (time.time() - 3600, time.time() - 3600))
        sweep_stale(work, ".m.tmp", ".mp4")
        sweep_stale(cli.tmpdir, "supervisor-render-")
        assert tree(work, cli.tmpdir) == before, f"not swept: {left}"
        return
    assert p.returncode == {signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGINT: 130}[sig], err
    assert tree(work, cli.tmpdir) == before, "temporary files were left behind"


# --- valid media that used to fail ------------------------------------------------------------------------
@pytest.mark.slow
def test_mockup_with_an_8_channel_track(corpus, cli, tmp_path):
    """Was a segfault (PyAV planar frames of >= 8 channels): now downmixed to stereo and rendered."""
    ch8 = tmp_path / "ch8.flac"
    pan = "pan=7.1|" + "|".join(f"c{i}=c{i % 2}" for i in range(8))
    ffmpeg("-i", str(corpus["track"]), "-af", pan, "-ar", "96000", str(ch8))
    before = tree(tmp_path, cli.tmpdir)
    r = cli("mockup", corpus["good_mp4"], ch8, "--out", tmp_path / "m.mp4", "--wav", tmp_path / "m.wav")
    assert r.rc == 0, r.text
    import soundfile as sf

    info = sf.info(str(tmp_path / "m.wav"))
    assert info.channels == 2 and info.duration > 5.0
    assert tree(tmp_path, cli.tmpdir) - before == {(os.fsencode(str(tmp_path)), b"m.mp4"),
                                                    (os.fsencode(str(tmp_path)), b"m.wav")}


def test_load_audio_many_channels(corpus):
    import numpy as np

    from supervisor_app.media import load_audio

    for name, n in (("ch8_flac", 5.0), ("ch16_wav", 2.0)):
        x = load_audio(corpus[name], sr=22050, mono=False)
        assert x.shape[0] == 2 and abs(x.shape[1] / 22050 - n) < 0.05
        assert np.isfinite(x).all() and np.abs(x).max() > 0.05
        m = load_audio(corpus[name], sr=22050)
        assert m.ndim == 1 and m.shape[0] == x.shape[1]


def test_probe_truncated_ogg_is_named_truncated_and_a_whole_one_is_not(corpus):
    from supervisor_app.infra.errors import TruncatedMediaError
    from supervisor_app.media import probe

    with pytest.raises(TruncatedMediaError):
        probe(corpus["truncated_ogg"])
    for f in sorted(MUSIC.glob("*.ogg")):
        assert probe(f).warnings == ()


@pytest.mark.slow
def test_recommend_on_a_picture_without_cuts_says_so(corpus, cli, tmp_path):
    cat = tmp_path / "c.sqlite"
    assert cli("catalog", "add", corpus["track"].parent, "--catalog", cat).rc == 0
    r = cli("catalog", "index", "--catalog", cat, "--segments", "olda")
    assert r.rc == 0, r.text
    r = cli("recommend", corpus["static_video"], "--catalog", cat)
    assert r.rc == 0, r.text
    assert "has no cuts" in r.out and "vibe_ace_12s" in r.out


# --- permissions (root bypasses them: run the command as 'nobody' then) -----------------------------------
def _unprivileged_prefix() -> list[str] | None:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        return None
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_index_with_a_track_in_an_unreadable_folder(corpus):
    """Was a PermissionError traceback with exit 0: now one sentence, exit 2, and the track is indexed once
    the folder can be read again (no stored failure)."""
    import tempfile

    prefix = _unprivileged_prefix()
    if prefix is None:
        pytest.skip("running as root without setpriv")
    tmp_path = Path(tempfile.mkdtemp(prefix="faults-perm-", dir="/tmp"))  # a path 'nobody' can reach
    try:
        _unreadable_folder_scenario(tmp_path, corpus, prefix)
    finally:
        for d, _, _ in os.walk(tmp_path):
            os.chmod(d, 0o755)
        shutil.rmtree(tmp_path)


def _unreadable_folder_scenario(tmp_path: Path, corpus, prefix: list) -> None:
    os.chmod(tmp_path, 0o777)
    music = tmp_path / "music"
    sub = music / "locked"
    sub.mkdir(parents=True)
    shutil.copyfile(corpus["track"], sub / "t.ogg")
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    for d in (music, home, tmp):
        d.mkdir(exist_ok=True)
        os.chmod(d, 0o777)
    cat = tmp_path / "c.sqlite"
    env = dict(os.environ, PYTHONPATH=str(REPO), SUPERVISOR_APP_HOME=str(home), TMPDIR=str(tmp), HOME=str(home))

    def run(*args):
        p = subprocess.run(prefix + [sys.executable, "-m", "supervisor_app.cli.main", *map(str, args), "--catalog",
                                     str(cat)], capture_output=True, text=True, env=env, timeout=300)
        assert "Traceback" not in p.stdout + p.stderr, p.stderr
        return p

    assert run("catalog", "add", music).returncode == 0
    os.chmod(sub, 0)
    try:
        p = run("catalog", "index", "--segments", "olda")
        assert p.returncode == 2 and "could not be read" in p.stderr, p.stdout + p.stderr
        p = run("catalog", "problems")
        assert "cannot be read" in p.stdout, p.stdout
    finally:
        os.chmod(sub, 0o755)
    # readable again: the next run's file check takes the track back (no stored failure to clear); what
    # the indexer then computes is test_index_recomputes_a_replaced_file_and_retries_an_unreadable_one's
    from supervisor_app.catalog import Catalog
    from supervisor_app.catalog.freshness import refresh_tracks

    with Catalog.open(cat) as c:
        assert [t.status for t in c.tracks()] == ["error"]
        rep = refresh_tracks(c)
        assert rep.restored == 1 and [t.status for t in c.tracks()] == ["ok"]
        assert c.failed_analyses() == []
