"""The app's remembered settings: a small JSON file in the data folder (``settings.json``).

Today it remembers the last catalog used, which is the default catalog of every command (and of the
demo, which records its catalog here too). Reading never fails: a missing or damaged file reads as
no settings. Writes are atomic.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

from supervisor_app.infra.paths import data_dir
from supervisor_app.infra.fileio import atomic_write_text

_FILE = "settings.json"


def settings_path() -> Path:
    return data_dir(create=False) / _FILE


def load_settings() -> dict:
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_setting(key: str, value: Any) -> None:
    data = load_settings()
    if data.get(key) == value:
        return
    data[key] = value
    try:
        atomic_write_text(settings_path(), json.dumps(data, indent=1, ensure_ascii=False))
    except OSError:  # a read-only data folder must not stop the command that used the catalog
        pass


def last_catalog() -> Optional[Path]:
    """The catalog used last (by any command, the demo or the app), if its file still exists."""
    p = load_settings().get("last_catalog")
    if isinstance(p, str) and p and Path(p).is_file():
        return Path(p)
    return None


def remember_catalog(path: str | Path) -> None:
    save_setting("last_catalog", os.path.abspath(os.fspath(path)))
