"""Where the app keeps its data: never beside the user's media.

Defaults follow the platform (platformdirs); ``SUPERVISOR_APP_HOME`` overrides everything
(tests and CI set it to a temporary folder).

The read-only files that ship with the app (``models/``: bundled model cards and weights; ``resources/``:
calibration, the demo media) are looked up in this order, the first folder holding either wins:

1. ``$SUPERVISOR_APP_DATA`` (a folder with ``models/`` and ``resources/``), when set;
2. the folder around the package: a source checkout (editable install) or the .deb's ``app/`` folder;
3. the wheel's data files, ``<prefix>/share/supervisor-app/`` (setup.py ships them there): a venv, a
   ``--user`` or a system install.

The checkout comes before the installed copy so that a checkout always uses its own models, even in an
environment that also holds an installed copy (an editable install itself copies none).
"""
from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "supervisor-app"
DATA_ENV = "SUPERVISOR_APP_DATA"
_DATA_FOLDERS = ("models", "resources")

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def _holds_data(root: Path) -> bool:
    return any((root / name).is_dir() for name in _DATA_FOLDERS)


def installed_data_dirs() -> list[Path]:
    """Where a wheel's data files may be: ``share/supervisor-app`` under the prefix pip installed this
    distribution into (from its RECORD), then under each install scheme's data folder."""
    found: list[Path] = []
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        try:
            files = distribution(APP_NAME).files or []
        except PackageNotFoundError:
            files = []
        for f in files:
            parts = f.parts
            for i in range(len(parts) - 1):
                if parts[i] == "share" and parts[i + 1] == APP_NAME:
                    root = Path(str(f.locate())).parents[len(parts) - i - 3]
                    found.append(root.resolve())
                    break
            if found:
                break
    except Exception:  # broken metadata must not stop the app from starting
        pass
    import sysconfig

    schemes = [None, f"{os.name}_user"]
    for scheme in schemes:
        try:
            data = sysconfig.get_path("data", scheme) if scheme else sysconfig.get_path("data")
        except KeyError:
            continue
        if data:
            found.append(Path(data) / "share" / APP_NAME)
    unique: list[Path] = []
    for p in found:
        if p not in unique:
            unique.append(p)
    return unique


def find_data_root() -> Path:
    """The folder whose ``models/`` and ``resources/`` the app uses (search order in the module docstring).
    Without any, the checkout's path (missing folders then read as "no bundled models")."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    if _holds_data(REPO_ROOT):
        return REPO_ROOT
    for root in installed_data_dirs():
        if _holds_data(root):
            return root
    return REPO_ROOT


DATA_ROOT = find_data_root()
RESOURCES_DIR = DATA_ROOT / "resources"
MODELS_DIR = DATA_ROOT / "models"
DEMO_DIR = RESOURCES_DIR / "demo"


def data_dir(create: bool = True) -> Path:
    """Folder for catalogs and user data (created on demand unless ``create`` is False)."""
    home = os.environ.get("SUPERVISOR_APP_HOME")
    if home:
        p = Path(home) / "data"
    else:
        import platformdirs

        p = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if create:
        p.mkdir(parents=True, exist_ok=True)
    return p


def cache_dir() -> Path:
    """Folder for recomputable caches (analysis of query videos, features)."""
    home = os.environ.get("SUPERVISOR_APP_HOME")
    if home:
        p = Path(home) / "cache"
    else:
        import platformdirs

        p = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    p.mkdir(parents=True, exist_ok=True)
    return p


def default_catalog_path() -> Path:
    """The catalog commands use without ``--catalog``: the last one used (remembered in the data
    folder's settings.json), else ``catalog.sqlite`` in the data folder."""
    from supervisor_app.infra.settings import last_catalog

    return last_catalog() or data_dir(create=False) / "catalog.sqlite"
