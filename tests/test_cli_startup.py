"""``supervisor-app --version`` answers without importing the commands (issue 21: ≤ 0.3 s CPU)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from supervisor_app import __version__

REPO = Path(__file__).resolve().parent.parent


def test_version_imports_no_command_module():
    code = ("import sys; from supervisor_app.cli.main import main; rc = main(['--version']); "
            "heavy = [m for m in ('numpy', 'av', 'supervisor_app.media', 'supervisor_app.catalog', 'torch') "
            "if m in sys.modules]; print('HEAVY', heavy, rc)")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert f"supervisor-app {__version__}" in out
    assert "HEAVY [] 0" in out


def test_version_after_debug_and_in_help_still_work(capsys):
    from supervisor_app.cli.main import main

    assert main(["--debug", "--version"]) == 0
    assert capsys.readouterr().out.strip() == f"supervisor-app {__version__}"
