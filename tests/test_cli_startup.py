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


def test_the_command_exits_without_module_teardown_but_keeps_what_a_normal_exit_does(tmp_path):
    """`supervisor-app` ends with os._exit after main (issue 21: ~0.35-0.7 s of module teardown with torch
    loaded), yet its exit status, its buffered output, the atexit handlers and the other non-daemon
    threads behave as with sys.exit."""
    import subprocess
    import sys

    marker = tmp_path / "atexit.txt"
    thread_out = tmp_path / "thread.txt"
    code = (
        "import atexit, sys, threading, time\n"
        "from supervisor_app.cli import main as m\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        f"threading.Thread(target=lambda: (time.sleep(0.3), open({str(thread_out)!r}, 'w').write('done'))).start()\n"
        "sys.stdout.write('buffered line\\n')\n"
        "m._exit_now(3)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 3
    assert out.stdout == "buffered line\n"
    assert marker.read_text() == "ran" and thread_out.read_text() == "done"
