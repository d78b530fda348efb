"""models/ and resources/ are found from an installed (non-editable) wheel, not only from the checkout.

Builds the wheel from a copy of the sources, installs it into a fresh venv in a temporary folder and, from a
folder outside the repository, checks that ``paths`` points at the wheel's data files and that the bundled
MuSimNet model (card + weights, sha256-checked by its loader) and the demo media are found. The search order
itself (``$SUPERVISOR_APP_DATA``, the checkout, the installed data) is tested without a build.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCES = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "supervisor_app", "models", "resources"]


def _clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "SUPERVISOR_APP_DATA", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(extra)
    return env


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.mark.slow
def test_wheel_install_finds_models_and_resources(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        s = REPO / name
        if s.is_dir():
            shutil.copytree(s, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(s, src / name)
    wheels = tmp_path / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "--disable-pip-version-check", "-q", "-w", str(wheels), str(src)],
                       cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (wheel,) = wheels.glob("supervisor_app-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True, timeout=300)
    py = _venv_python(venv)
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                        "--disable-pip-version-check", "-q", str(wheel)],
                       env=_clean_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # the runtime dependencies (torch, numpy, ...) from this test's environment, AFTER the venv's own
    # site-packages, so the installed wheel (not the checkout's editable install) provides supervisor_app
    purelib = sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"]
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "zz_test_deps.pth").write_text("\n".join(sorted(here)) + "\n")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    probe = textwrap.dedent("""
        import hashlib, json
        from pathlib import Path
        import supervisor_app
        from supervisor_app.infra import paths
        from supervisor_app.briefs.track_profile import CALIBRATION_PATH
        from supervisor_app.musimnet.nets import load_musimnet
        model = paths.MODELS_DIR / "musimnet-demo"
        loaded = load_musimnet("musimnet-demo")
        print(json.dumps({
            "package": supervisor_app.__file__,
            "data_root": str(paths.DATA_ROOT),
            "models_dir": paths.MODELS_DIR.is_dir(),
            "resources_dir": paths.RESOURCES_DIR.is_dir(),
            "card": json.loads((model / "model_card.json").read_text())["name"],
            "weights_sha256": hashlib.sha256((model / "weights.pt").read_bytes()).hexdigest(),
            "loaded_from": str(Path(loaded.path).resolve()), "loaded_name": loaded.name,
            "calibration": CALIBRATION_PATH.is_file(),
            "demo_video": (paths.DEMO_DIR / "video" / "big_buck_bunny_0_30.webm").stat().st_size,
            "demo_music": sorted(p.name for p in (paths.DEMO_DIR / "music").iterdir()),
        }))
    """)
    r = subprocess.run([str(py), "-c", probe], cwd=outside, capture_output=True, text=True, timeout=600,
                       env=_clean_env(SUPERVISOR_APP_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen"))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])

    venv_root = venv.resolve()
    assert Path(got["package"]).resolve().is_relative_to(venv_root), got["package"]
    assert Path(got["data_root"]) == venv_root / "share" / "supervisor-app", got["data_root"]
    assert got["models_dir"] and got["resources_dir"] and got["calibration"]
    repo_card = json.loads((REPO / "models" / "musimnet-demo" / "model_card.json").read_text())
    assert got["card"] == repo_card["name"]
    want_sha = (REPO / "models" / "musimnet-demo" / "weights.pt.sha256").read_text().split()[0]
    assert got["weights_sha256"] == want_sha
    assert Path(got["loaded_from"]) == venv_root / "share" / "supervisor-app" / "models" / "musimnet-demo"
    assert got["loaded_name"] == repo_card["name"]
    assert got["demo_video"] == (REPO / "resources" / "demo" / "video" / "big_buck_bunny_0_30.webm").stat().st_size
    assert got["demo_music"] == sorted(p.name for p in (REPO / "resources" / "demo" / "music").iterdir())


def _fresh_paths(monkeypatch, **env):
    """Re-run infra/paths.py's module code under a given environment (without touching the imported
    module other tests use)."""
    import importlib.util

    for k in ("SUPERVISOR_APP_DATA",):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    spec = importlib.util.spec_from_file_location("_paths_probe", REPO / "supervisor_app" / "infra" / "paths.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_data_env_var_wins(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    mod = _fresh_paths(monkeypatch, SUPERVISOR_APP_DATA=str(tmp_path))
    assert mod.DATA_ROOT == tmp_path.resolve()
    assert mod.MODELS_DIR == tmp_path.resolve() / "models"
    assert mod.DEMO_DIR == tmp_path.resolve() / "resources" / "demo"


def test_checkout_is_used_before_installed_data(monkeypatch):
    mod = _fresh_paths(monkeypatch)
    # paths.py is loaded from the checkout here, whose models/ exists
    assert mod.DATA_ROOT == REPO
    assert (mod.MODELS_DIR / "musimnet-demo" / "model_card.json").is_file()
    assert (mod.RESOURCES_DIR / "brief" / "calibration.json").is_file()


def test_installed_data_is_used_without_a_checkout(tmp_path, monkeypatch):
    mod = _fresh_paths(monkeypatch)
    share = tmp_path / "prefix" / "share" / "supervisor-app"
    (share / "resources" / "demo").mkdir(parents=True)
    monkeypatch.setattr(mod, "REPO_ROOT", tmp_path / "site-packages-parent")  # no models/ beside the package
    monkeypatch.setattr(mod, "installed_data_dirs", lambda: [tmp_path / "missing", share])
    assert mod.find_data_root() == share
    monkeypatch.setattr(mod, "installed_data_dirs", lambda: [tmp_path / "missing"])
    assert mod.find_data_root() == tmp_path / "site-packages-parent"
