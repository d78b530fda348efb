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


@pytest.fixture(scope="session")
def indexed_catalog_template(tmp_path_factory) -> Path:
    """A small indexed catalog (two 40 s excerpts of the demo music), built once per session: copy it
    (:func:`copy_catalog`) before changing it."""
    import subprocess

    from supervisor_app.catalog import Catalog
    from supervisor_app.indexing.pipeline import index_catalog

    d = tmp_path_factory.mktemp("indexed-catalog")
    music = d / "music"
    music.mkdir()
    for name, start in (("vibe_ace.ogg", 3), ("sugar_plum_fairy.ogg", 10)):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", "40", "-i", str(MUSIC / name),
                        "-vn", "-map_metadata", "0", str(music / name)], check=True)
    path = d / "c.sqlite"
    with Catalog.create(path) as cat:
        cat.add_folder(music)
        index_catalog(cat, workers=1)
    return path


def copy_catalog(template: Path, folder: Path) -> Path:
    """A copy of a closed catalog file (its tracks stay where they are)."""
    import shutil

    out = Path(folder) / template.name
    shutil.copy2(template, out)
    return out


@pytest.fixture(scope="session")
def form_reference():
    """The original form planner (tests/_form_reference.py), for the exact-equality tests; skipped when it
    cannot be loaded."""
    from tests._form_reference import ReferenceUnavailable, reference

    try:
        return reference()
    except ReferenceUnavailable as e:
        pytest.skip(f"the reference planner cannot be loaded: {e}")
