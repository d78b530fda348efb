"""numba's compiled-function cache (infra/numba_cache.py): numba's own places when they work (shared by every
app data folder), else the app's cache folder, so the modules compiled with ``cache=True`` import even when
neither HOME nor the install folder is writable."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fixture_paths import REPO

# imports a cache=True numba module and calls it (numba writes its cache on the first compile)
PROBE = ("import json, os, numpy as np\n"
         "from supervisor_app.analysis.fast_median import median_filter_1d\n"
         "y = median_filter_1d(np.arange(50, dtype=np.float64)[::-1].copy(), 5)\n"
         "import supervisor_app.ranking.distances\n"
         "print(json.dumps({'dir': os.environ.get('NUMBA_CACHE_DIR'), 'y10': float(y[10])}))\n")


def _env(**extra) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


def _run(env: dict, prefix=()) -> dict:
    p = subprocess.run([*prefix, sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def _index_files(folder: Path) -> list[Path]:
    return list(Path(folder).rglob("*.nbi"))


def test_numbas_own_places_are_kept_when_they_work(tmp_path):
    """A writable install (this checkout): nothing is redirected, so every app data folder shares one
    compiled cache instead of compiling again."""
    home = tmp_path / "apphome"
    out = _run(_env(HOME=tmp_path, SUPERVISOR_APP_HOME=home))
    assert out["dir"] is None and out["y10"] == 39.0
    assert not (home / "cache" / "numba").exists()


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to run as a user without write access to the install")
def test_cache_under_the_app_cache_folder_when_numbas_places_are_read_only(tmp_path):
    """As 'nobody' (the checkout is read-only for it) with a read-only HOME but a writable app folder: the
    cache goes under the app's cache folder."""
    work = Path(tempfile.mkdtemp(prefix="numba-app-"))
    try:
        ro_home, app_home = work / "home", work / "apphome"
        ro_home.mkdir()
        app_home.mkdir()
        os.chmod(work, 0o755)
        os.chmod(app_home, 0o777)
        os.chmod(ro_home, 0o555)
        prefix = (shutil.which("setpriv"), "--reuid=nobody", "--regid=nogroup", "--clear-groups")
        out = _run(_env(HOME=ro_home, SUPERVISOR_APP_HOME=app_home), prefix)
        assert out["dir"] == str(app_home / "cache" / "numba") and out["y10"] == 39.0
        assert _index_files(app_home / "cache" / "numba"), "numba wrote no cache index under the app's cache folder"
    finally:
        _remove_tree(work)


def test_the_users_setting_wins(tmp_path):
    mine = tmp_path / "my-numba-cache"
    out = _run(_env(HOME=tmp_path, SUPERVISOR_APP_HOME=tmp_path / "apphome", NUMBA_CACHE_DIR=mine))
    assert out["dir"] == str(mine) and _index_files(mine)
    assert not (tmp_path / "apphome" / "cache" / "numba").exists()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_imports_with_a_read_only_home_and_install_folder():
    """HOME read-only, no SUPERVISOR_APP_HOME (so the app's cache folder is under that HOME), and, when the
    tests run as root, as the user 'nobody' for whom the source tree is read-only too: numba had no
    locator and the import failed ("cannot cache function ...: no locator available")."""
    work = Path(tempfile.mkdtemp(prefix="numba-ro-"))
    try:
        ro_home, tmpdir = work / "home", work / "tmp"
        ro_home.mkdir()
        tmpdir.mkdir()
        prefix: tuple = ()
        if os.getuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root without setpriv: cannot drop to a user without write access")
            prefix = (setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups")
            os.chmod(work, 0o755)
            os.chmod(tmpdir, 0o777)
            probe = subprocess.run([*prefix, "test", "-w", str(REPO / "supervisor_app")], capture_output=True)
            assert probe.returncode != 0, "the source tree is writable by nobody: the test would prove nothing"
        os.chmod(ro_home, 0o555)
        env = _env(HOME=ro_home, TMPDIR=tmpdir)
        out = _run(env, prefix)
        assert out["y10"] == 39.0  # the numba function ran (the median of a line is the line)
        used = Path(out["dir"])
        assert tmpdir in used.parents, used  # HOME's cache folder cannot be created: the per-user temp folder
        assert _index_files(used)
        # and the app as a whole still starts and answers there
        p = subprocess.run([*prefix, sys.executable, "-m", "supervisor_app.cli.main", "--version"], env=env,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and p.stdout.strip(), p.stderr[-1000:]
    finally:
        _remove_tree(work)


def _remove_tree(work: Path) -> None:
    """Make a test's folder writable again (the tests took write access away) and remove it."""
    os.chmod(work, 0o755)
    for d in work.rglob("*"):
        if d.is_dir():
            os.chmod(d, 0o755)
    shutil.rmtree(work, ignore_errors=True)
