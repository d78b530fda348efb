"""Where the app keeps its data: never beside the user's media.

Defaults follow the platform (platformdirs); ``SUPERVISOR_APP_HOME`` overrides everything
(tests and CI set it to a temporary folder).
"""
from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "supervisor-app"

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
RESOURCES_DIR = REPO_ROOT / "resources"
MODELS_DIR = REPO_ROOT / "models"
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
