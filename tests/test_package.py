"""The desktop package (issue 18): build the .deb with the one command, install it with dpkg into a fresh
root, run what a user runs, upgrade it over a catalog, remove it.

The package is built from the environment these tests run in (CI: the .venv that ``installer/install.sh``
made), with the fast compression (``--compress zstd:1``); the release default is zstd -19. dpkg installs
it for real (``dpkg --root``: its own database, maintainer scripts run with ``DPKG_ROOT``), and every
program runs from the installed tree with a bare environment (no PYTHONPATH, no venv, a fresh HOME),
so nothing of the repository or the build machine's Python can leak in. A few minutes: marked slow.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "resources" / "demo"
PKG = "supervisor-app"
V1, V2 = "0.1.0+pkgtest1", "0.1.0+pkgtest2"

if not sys.platform.startswith("linux") or not shutil.which("dpkg-deb") or sys.prefix == sys.base_prefix:
    pytest.skip("the .deb is built on Debian/Ubuntu from a virtual environment", allow_module_level=True)
if os.geteuid() != 0:  # dpkg installs (even into a private root) as root; CI runs as root
    pytest.skip("installing with dpkg needs root", allow_module_level=True)


def _run(cmd, env=None, timeout=900, check=True, **kw):
    r = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd[0]} exited {r.returncode}\nstdout: {r.stdout[-3000:]}\nstderr: {r.stderr[-3000:]}")
    return r


def _build(out: Path, version: str) -> Path:
    r = _run(["bash", REPO / "installer" / "build-package.sh", "--venv", sys.prefix, "--out", out,
              "--version", version, "--compress", "zstd:1"], timeout=1200)
    deb = Path(r.stdout.strip().splitlines()[-1])
    assert deb.is_file() and deb.name == f"{PKG}_{version}_{_arch()}.deb", r.stdout
    return deb


def _arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()


def _dpkg(root: Path, *args) -> subprocess.CompletedProcess:
    # --force-depends: the fresh root's database knows no other package; the declared dependencies are
    # checked against this machine instead (test_declared_dependencies_are_satisfied_here).
    # --force-unsafe-io: no fsync per file (the test checks what dpkg does, not crash safety): minutes less.
    return _run(["dpkg", f"--root={root}", "--force-depends", "--force-script-chrootless", "--force-unsafe-io",
                 "--log=/dev/null", *args])


def _fresh_root(root: Path) -> Path:
    for d in ("info", "updates", "triggers"):
        (root / "var" / "lib" / "dpkg" / d).mkdir(parents=True, exist_ok=True)
    for f in ("status", "available"):
        (root / "var" / "lib" / "dpkg" / f).touch()
    return root


def _user_env(home: Path) -> dict:
    """What a desktop session gives the app: no PYTHONPATH, no venv, no SUPERVISOR_APP_HOME."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
           "XDG_RUNTIME_DIR": str(home / "run")}
    (home / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    return env


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("package")
    yield d
    shutil.rmtree(d, ignore_errors=True)  # gigabytes: never left behind


@pytest.fixture(scope="module")
def deb1(work):
    return _build(work / "dist1", V1)


@pytest.fixture(scope="module")
def root(work, deb1):
    r = _fresh_root(work / "root")
    _dpkg(r, "-i", deb1)
    return r


def _status(root: Path) -> str:
    return _run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f=${Version} ${Status}", PKG], check=False).stdout


def test_package_metadata_and_declared_dependencies(deb1):
    info = _run(["dpkg-deb", "-f", deb1]).stdout
    depends = re.search(r"^Depends: (.*)$", info, re.M).group(1)
    for must in ("ffmpeg", "libvlc5", "vlc-plugin-base", "libxcb-cursor0", "libxcb-icccm4", "libxkbcommon-x11-0"):
        assert re.search(rf"(^|, ){re.escape(must)}\b", depends), f"{must} not declared"
    assert "libssl3 | libssl3t64" in depends, "Ubuntu 24.04's t64 names are alternatives"
    assert "python3" not in depends, "the package ships its own interpreter"
    size_mb = deb1.stat().st_size / 1e6
    print(f"\n{deb1.name}: {size_mb:.0f} MB (zstd -1)")
    contents = _run(["dpkg-deb", "-c", deb1]).stdout
    assert "./usr/share/applications/supervisor-app.desktop" in contents
    assert re.search(r"\./usr/bin/supervisor-app -> \.\./\.\./opt/supervisor-app/bin/supervisor-app", contents)
    assert "libQt6WebEngineCore" not in contents and "QtWebEngineProcess" not in contents, "Chromium left out"
    assert "site-packages/supervisor_app/" not in contents
    assert "__editable__" not in contents
    assert not re.search(r"^\S+ \S+\s+\d+ \S+ \S+ \./home/", contents, re.M), "nothing in anybody's home"


def test_declared_dependencies_are_satisfied_here(deb1):
    """The installed-app tests below stand for a real install only if this machine has what the package declares."""
    depends = re.search(r"^Depends: (.*)$", _run(["dpkg-deb", "-f", deb1]).stdout, re.M).group(1)
    missing = []
    for group in depends.split(", "):
        names = [alt.split()[0] for alt in group.split(" | ")]
        if not any("install ok installed" in _run(["dpkg-query", "-W", "-f=${Status}", n], check=False).stdout for n in names):
            missing.append(group)
    assert not missing, f"declared but not installed on this machine: {', '.join(missing)}"


def test_installed_cli_runs_from_the_package_alone(root, tmp_path):
    env = _user_env(tmp_path / "home")
    exe = root / "usr" / "bin" / PKG
    r = _run([exe, "--version"], env=env)
    assert r.stdout.strip() == "supervisor-app 0.1.0"
    r = _run([exe, "probe", DEMO / "video" / "big_buck_bunny_0_30.webm", "--json"], env=env)
    info = json.loads(r.stdout)
    assert abs(info["duration_s"] - 30.0) < 0.5 and info["has_video"] and info["has_audio"]
    r = _run([exe, "probe", tmp_path / "missing.mp4"], env=env, check=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "does not exist" in r.stderr
    # Everything imported comes from the installed tree, byte-compiled there (no recompilation at start).
    py = root / "opt" / PKG / "bin" / "python3"
    code = ("import sys, supervisor_app, torch, PySide6, numba, onnxruntime; "
            "from supervisor_app.analysis.madmom_compat import import_madmom; import_madmom(); "
            "libpython = next((l.split()[-1] for l in open('/proc/self/maps') if 'libpython' in l), sys.prefix); "
            "print('\\n'.join([sys.prefix, supervisor_app.__file__, torch.__file__, PySide6.__file__, libpython]))")
    pycs = sorted((root / "opt" / PKG).rglob("supervisor_app/cli/__pycache__/main.*.pyc"))
    assert pycs, "the app ships byte-compiled"
    before = pycs[0].stat().st_mtime_ns
    out = _run([py, "-I", "-c", code], env=env).stdout.splitlines()
    for line in out[:5]:  # the interpreter's prefix, the app, the heavy packages, libpython itself
        assert line.startswith(str(root / "opt" / PKG)), out
    _run([root / "usr" / "bin" / PKG, "--version"], env=env)
    assert pycs[0].stat().st_mtime_ns == before, "shipped .pyc files were stale and got rewritten"


def test_installed_app_opens_offscreen(root, tmp_path):
    home = tmp_path / "home"
    env = _user_env(home)
    exe = root / "usr" / "bin" / PKG
    # the menu entry's command, for a few seconds: it must still be running (no crash at start)
    proc = subprocess.Popen([exe, "gui"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
        alive = proc.poll() is None
    finally:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    assert alive, f"the app exited with {proc.returncode}: {err[-2000:]}"
    assert "Traceback" not in err, err[-2000:]
    # the same window, driven: the first-run offer appears over it and the window renders
    py = root / "opt" / PKG / "bin" / "python3"
    shot = tmp_path / "window.png"
    code = f"""
import sys
from supervisor_app.gui.app import create_window, get_app, wait_until
from supervisor_app.gui import first_run
app = get_app()
win = create_window()
win.resize(1200, 800)
win.show()
dlg = first_run.on_app_started(win)
wait_until(lambda: False, 1.5)
assert dlg is not None and dlg.isVisible(), "no first-run offer"
assert win.grab().save({str(shot)!r})
print(win.windowTitle(), '|', dlg.windowTitle(), '|', win.backend.__class__.__name__)
"""
    r = _run([py, "-I", "-c", code], env=env, timeout=300)
    assert "Welcome to Supervisor" in r.stdout, r.stdout + r.stderr
    assert shot.stat().st_size > 10_000


def test_cuda_overlay_switch(root, tmp_path):
    """The CUDA switch's mechanism (the CUDA download itself needs a GPU machine: untested): a torch in the
    overlay folder wins over the packaged one only while ENABLED exists, and SUPERVISOR_CUDA=0 ignores it."""
    overlay = tmp_path / "cuda"
    (overlay / "torch").mkdir(parents=True)
    (overlay / "torch" / "__init__.py").write_text("__version__ = 'overlay'\n")
    env = dict(_user_env(tmp_path / "home"), SUPERVISOR_CUDA_DIR=str(overlay))
    py = [root / "opt" / PKG / "bin" / "python3", "-I", "-c", "import torch; print(torch.__version__)"]
    packaged = _run(py, env=env).stdout.strip()
    assert packaged.startswith("2."), "not enabled: the packaged build"
    (overlay / "ENABLED").touch()
    assert _run(py, env=env).stdout.strip() == "overlay"
    assert _run(py, env=dict(env, SUPERVISOR_CUDA="0")).stdout.strip() == packaged
    _run([root / "usr" / "bin" / f"{PKG}-cuda", "disable"], env=env)
    assert not (overlay / "ENABLED").exists()
    out = _run([root / "usr" / "bin" / f"{PKG}-cuda", "status"], env=env).stdout
    assert f"torch {packaged}" in out and "CUDA not available" in out


def test_desktop_entry_icon_and_mime(root):
    share = root / "usr" / "share"
    desktop = share / "applications" / f"{PKG}.desktop"
    if shutil.which("desktop-file-validate"):
        r = _run(["desktop-file-validate", desktop], check=False)
        assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr
    else:  # installer/install.sh installs desktop-file-utils; without it, check the keys that matter
        pytest.fail("desktop-file-validate is missing (apt-get install desktop-file-utils)")
    text = desktop.read_text()
    assert re.search(r"^Exec=supervisor-app gui %f$", text, re.M)
    mimes = re.search(r"^MimeType=(.*)$", text, re.M).group(1).split(";")
    assert {"video/mp4", "video/quicktime", "video/webm", "video/x-matroska"} <= set(mimes)
    assert re.search(r"^Icon=supervisor-app$", text, re.M)
    icons = share / "icons" / "hicolor"
    assert (icons / "scalable" / "apps" / f"{PKG}.svg").read_text().lstrip().startswith("<?xml")
    for s in (16, 32, 48, 128, 256, 512):
        png = (icons / f"{s}x{s}" / "apps" / f"{PKG}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (w, h) == (s, s)
    assert (share / "metainfo" / f"{PKG}.metainfo.xml").exists()
    assert (share / "doc" / PKG / "copyright").exists()


def test_upgrade_keeps_catalogs_and_removal_leaves_them(root, work, tmp_path):
    home = tmp_path / "home"
    env = _user_env(home)
    exe = root / "usr" / "bin" / PKG
    music = tmp_path / "music"
    music.mkdir()
    for name in ("solo_trumpet_90bpm.ogg", "hungarian_dance_5.ogg"):
        shutil.copy(DEMO / "music" / name, music)
    catalog = home / ".local" / "share" / PKG / "catalog.sqlite"  # the platform data folder of a fresh HOME
    _run([exe, "catalog", "create", "--catalog", catalog], env=env)
    _run([exe, "catalog", "add", music, "--catalog", catalog], env=env)
    listed = _run([exe, "catalog", "list", "--json", "--catalog", catalog], env=env).stdout
    assert sorted(Path(t["path"]).name for t in json.loads(listed)) == ["hungarian_dance_5.ogg", "solo_trumpet_90bpm.ogg"]
    assert _status(root).startswith(f"{V1} install ok installed")

    deb2 = _build(work / "dist2", V2)
    _dpkg(root, "-i", deb2)  # version N+1 over N
    deb2.unlink()
    assert _status(root).startswith(f"{V2} install ok installed")
    assert (root / "opt" / PKG / "VERSION").read_text().strip() == V2
    after = _run([exe, "catalog", "list", "--json", "--catalog", catalog], env=env).stdout
    assert after == listed, "the upgrade changed the catalog"

    _dpkg(root, "--purge", PKG)
    assert not (root / "opt" / PKG).exists() and not (root / "usr" / "bin" / PKG).exists()
    assert catalog.is_file(), "uninstalling removed the user's catalog"
    assert "install ok installed" not in _status(root)
