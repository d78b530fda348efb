"""Where numba keeps its compiled-function cache: under the app's cache folder, not beside the code.

Several modules compile numba functions with ``cache=True`` (``analysis.fast_median``,
``analysis.fast_viterbi``, ``analysis.madmom_fast``, ``ranking.distances``, ``ranking.bank``; librosa
too). By default numba writes that cache next to the source file, else under ``~/.cache``; when
neither is writable (an installed package under ``/opt`` and a read-only or missing HOME: a service
account, a sandbox) the *import* of those modules fails with "cannot cache function ...: no locator
available". Only then does :func:`configure_numba_cache` point ``NUMBA_CACHE_DIR`` at ``numba/`` in the
app's cache folder (:func:`supervisor_app.infra.paths.cache_dir`'s location), or, when that cannot be
written either, at a per-user folder in the system's temporary folder. Where numba's own places work
(a writable install, or a writable ``~/.cache``) nothing is changed: the compiled code is then shared by
every app data folder (tests and benchmarks use many; a redirect made each of them compile librosa's and
our kernels again, ~15 s). A ``NUMBA_CACHE_DIR`` the user set always wins. It runs when the package is
imported (``supervisor_app/__init__.py``), before any module imports numba; it creates nothing (numba
creates the folder when it first writes).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ENV = "NUMBA_CACHE_DIR"


def _app_cache_path() -> Path | None:
    """The app's cache folder, as :func:`supervisor_app.infra.paths.cache_dir` places it (not created)."""
    home = os.environ.get("SUPERVISOR_APP_HOME")
    if home:
        return Path(home) / "cache"
    try:
        import platformdirs

        from supervisor_app.infra.paths import APP_NAME

        return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    except Exception:  # noqa: BLE001 - no platformdirs, or no home to derive it from: use the fallback
        return None


def _can_create(path: Path) -> bool:
    """Whether ``path`` exists as a writable folder of ours, or could be created (its nearest existing
    ancestor is a writable folder). Nothing is created."""
    p = Path(path)
    if p.exists():
        if not p.is_dir() or not os.access(p, os.W_OK | os.X_OK):
            return False
        return not hasattr(os, "getuid") or p.stat().st_uid == os.getuid()  # not a folder planted by another user
    for parent in p.parents:
        if parent.exists():
            return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)
    return False


def _temp_path() -> Path:
    import tempfile

    user = str(os.getuid()) if hasattr(os, "getuid") else (os.environ.get("USERNAME") or "user")
    return Path(tempfile.gettempdir()) / f"supervisor-app-{user}" / "numba"


def _numba_defaults_work() -> bool:
    """Whether numba can cache without help: beside the sources (our package and librosa's, both compiled
    with ``cache=True``) or in its user-wide folder (``$XDG_CACHE_HOME`` or ``~/.cache``, ``numba/``)."""
    import importlib.util

    in_tree = True
    for pkg in ("supervisor_app", "librosa"):
        try:
            spec = importlib.util.find_spec(pkg)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        if locations and not os.access(locations[0], os.W_OK | os.X_OK):
            in_tree = False
    if in_tree:
        return True
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return _can_create(Path(base) / "numba")


def configure_numba_cache() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` when numba's own places cannot be written (see the module docstring);
    returns the folder set (or the user's own), None when numba's defaults are used or nothing writable was
    found."""
    given = os.environ.get(ENV)
    if given:
        return given
    if _numba_defaults_work():
        return None
    app = _app_cache_path()
    for cand in ([app / "numba"] if app is not None else []) + [_temp_path()]:
        if _can_create(cand):
            os.environ[ENV] = str(cand)
            numba_config = sys.modules.get("numba.core.config")
            if numba_config is not None:  # numba was imported first (e.g. by the caller): tell it too
                setattr(numba_config, "CACHE_DIR", str(cand))
            return str(cand)
    return None
