"""Ships models/ and resources/ with the wheel (everything else is in pyproject.toml).

A wheel installs them as data files under ``<prefix>/share/supervisor-app/`` (a venv's own folder, ~/.local
for --user, /usr/local for a system install), where ``supervisor_app.infra.paths`` finds them; a source
checkout and the .deb (installer/linux/build_deb.py) use the folders beside the package. The list is walked
here, not written out in pyproject.toml, so that a new model or resource folder is shipped without an edit.
"""
from __future__ import annotations

import os

from setuptools import setup

DATA_FOLDERS = ("models", "resources")
SHARE = os.path.join("share", "supervisor-app")


def data_files() -> list[tuple[str, list[str]]]:
    here = os.path.dirname(os.path.abspath(__file__))
    out = []
    for top in DATA_FOLDERS:
        for folder, dirs, files in os.walk(os.path.join(here, top)):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
            rel = os.path.relpath(folder, here)
            names = sorted(f for f in files if not f.startswith(".") and not f.endswith((".pyc", ".tmp")))
            if names:
                out.append((os.path.join(SHARE, rel), [os.path.join(rel, f) for f in names]))
    return out


setup(data_files=data_files())
