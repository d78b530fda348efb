"""Shared test set-up: every test run keeps its app data in a temporary folder."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from fixture_paths import BBB, DATA, DEMO, MUSIC, REPO, VIDEO  # noqa: F401

_home = tempfile.mkdtemp(prefix="supervisor-test-home-")
os.environ.setdefault("SUPERVISOR_APP_HOME", _home)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def music_dir() -> Path:
    return MUSIC


@pytest.fixture(scope="session")
def bbb_video() -> Path:
    return BBB
