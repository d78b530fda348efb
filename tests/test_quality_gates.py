"""Quality gates that run with the test suite (and so in CI): ruff's rules as pyproject.toml states them."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    if found:
        return [found]
    pytest.fail("ruff is not installed: it is pinned in installer/requirements.txt (run installer/install.sh)")


def test_ruff_finds_nothing():
    r = subprocess.run(_ruff() + ["check", "--no-cache", "supervisor_app", "tests", "benchmarks", "scripts", "installer"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_gate_is_not_vacuous(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\ndef f():\n    return undefined_name\n")
    r = subprocess.run(_ruff() + ["check", "--no-cache", "--config", str(REPO / "pyproject.toml"), str(bad)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "F821" in r.stdout and "F401" in r.stdout
