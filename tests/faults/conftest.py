"""Fixtures of the fault suite: the generated corpus, small catalogs, and a CLI runner that watches files."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixture_paths import MUSIC, REPO

from faults.corpus import build_corpus, ffmpeg, long_static_video

CLI_TIMEOUT_S = 240


@dataclass
class Run:
    argv: list
    rc: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def _ro_wrapper_works() -> bool:
    """Can this machine make a read-only bind mount for one command (root, or user namespaces)?"""
    if shutil.which("unshare") is None:
        return False
    try:
        r = subprocess.run(["unshare", "-rm", "sh", "-c", "mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp "
                            "&& ! touch /tmp/.ro_probe 2>/dev/null"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


RO_MOUNTS = _ro_wrapper_works()


def readonly_prefix(dirs) -> list[str]:
    """A command prefix that runs the command with ``dirs`` bind-mounted read-only (a real read-only mount,
    which even root cannot write)."""
    script = " && ".join(f"mount --bind '{d}' '{d}' && mount -o remount,bind,ro '{d}'" for d in dirs)
    return ["unshare", "-rm", "sh", "-c", script + ' && exec "$@"', "sh"]


def tree(*roots: Path) -> set:
    """Every file and folder under ``roots`` (relative paths as bytes, with sizes of files), for before/after
    comparisons: a command must leave nothing behind."""
    out = set()
    for root in roots:
        root = Path(root)
        if not root.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
            rel = os.path.relpath(dirpath, os.fsencode(root))
            out.add((os.fsencode(str(root)), rel))
            for f in filenames:
                out.add((os.fsencode(str(root)), os.path.normpath(os.path.join(rel, f))))
    return out


class Cli:
    """Runs ``python -m supervisor_app.cli.main`` in a subprocess (a segfault or a hang cannot take the tests
    down), with its own app data folder and TMPDIR."""

    def __init__(self, home: Path, tmpdir: Path):
        self.home = home
        self.tmpdir = tmpdir

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(PYTHONPATH=str(REPO), SUPERVISOR_APP_HOME=str(self.home), TMPDIR=str(self.tmpdir),
                   QT_QPA_PLATFORM="offscreen", PYTHONFAULTHANDLER="1")
        return env

    def argv(self, args, readonly=()) -> list[str]:
        cmd = [sys.executable, "-m", "supervisor_app.cli.main", *[os.fsdecode(a) if isinstance(a, bytes) else str(a)
                                                              for a in args]]
        return readonly_prefix(readonly) + cmd if readonly else cmd

    def __call__(self, *args, readonly=(), timeout=CLI_TIMEOUT_S, env_extra=None) -> Run:
        env = self.env()
        env.update(env_extra or {})
        argv = self.argv(args, readonly)
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, errors="replace",
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"{' '.join(map(str, args))}: still running after {timeout} s (a hang)") from e
        return Run(list(map(str, args)), p.returncode, p.stdout, p.stderr)

    def popen(self, *args, **kw) -> subprocess.Popen:
        """The CLI as a user's shell starts it: SIGINT at its default even when these tests run in a
        background job (which a non-interactive shell starts with SIGINT ignored, and a child inherits)."""
        import signal

        kw.setdefault("preexec_fn", lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        return subprocess.Popen(self.argv(args), env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, stdin=subprocess.DEVNULL, **kw)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("fault_corpus")
    c = build_corpus(d / "media")
    # a real music excerpt (beats, sections) for commands that need a working track
    music = d / "music"
    music.mkdir()
    c["track"] = music / "vibe_ace_12s.ogg"
    ffmpeg("-i", str(MUSIC / "vibe_ace.ogg"), "-t", "12", "-c:a", "copy", str(c["track"]))
    c["long_static_video"] = long_static_video(d / "media" / "four_hours.mp4", 4 * 3600)
    c["root"] = d
    return c


@pytest.fixture(scope="session")
def cli(tmp_path_factory):
    home = tmp_path_factory.mktemp("fault_home")
    tmp = tmp_path_factory.mktemp("fault_tmp")
    return Cli(home, tmp)


@pytest.fixture(scope="session")
def plain_catalog(corpus, cli, tmp_path_factory):
    """A catalog of the music folder, scanned but not indexed (enough for commands that stop at a bad input)."""
    path = tmp_path_factory.mktemp("fault_catalogs") / "plain.sqlite"
    r = cli("catalog", "add", corpus["track"].parent, "--catalog", path)
    assert r.rc == 0, r.text
    r = cli("playlist", "create", "picks", "--catalog", path)
    assert r.rc == 0, r.text
    return path
