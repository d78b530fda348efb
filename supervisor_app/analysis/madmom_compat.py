"""Import madmom 0.16.1 (2018) on Python ≥ 3.10 and numpy 2 without changing the rest of the process.

madmom breaks in four places on a current stack:

1. ``import pkg_resources`` in ``madmom/__init__.py`` (gone from setuptools ≥ 81; deprecated before),
   used only to read madmom's own version;
2. ``from collections import MutableSequence`` (moved to ``collections.abc`` in Python 3.3, removed 3.10);
3. ``np.float`` / ``np.int`` (removed in numpy 1.24), some at import time (evaluation), most at run
   time (HMMs, signal), plus ``np.in1d`` (removed in numpy 2.4) in the multi-pattern HMM;
4. ``DBNDownBeatTrackingProcessor.process`` calls ``np.asarray`` on a ragged list of
   ``(path, log_probability)`` pairs, which numpy ≥ 1.24 refuses without ``dtype=object``.

What this module does, and nothing more:

- (1)–(3) at import time: a stand-in ``pkg_resources`` and the ``collections`` / ``numpy`` aliases exist
  only while ``import madmom`` runs; they are removed right after, so ``numpy.float`` and
  ``collections.MutableSequence`` stay absent for the app, its tests and other libraries.
- (3) at run time: each ``madmom.*`` module's own global ``np`` is replaced by :class:`AliasModule`, a
  view of numpy that adds the removed aliases. numpy itself is untouched.
- (4): in ``madmom.features.downbeats`` only, that view's ``asarray`` falls back to ``dtype=object``
  when (and only when) numpy rejects a ragged sequence.

Call :func:`import_madmom` instead of ``import madmom``.
"""
from __future__ import annotations

import collections
import collections.abc
import contextlib
import importlib
import importlib.metadata
import sys
import threading
import types
import warnings

import numpy

__all__ = ["AliasModule", "import_madmom"]

_LOCK = threading.Lock()
_PATCHED_ATTR = "_supervisor_compat_np"


class AliasModule(types.ModuleType):
    """A stand-in for a module ``base`` that adds ``extra`` attributes and forwards everything else.

    Installed as the module-global name (e.g. ``np``) of a third-party module, it gives that module the
    aliases it needs without adding them to ``base`` itself.
    """

    def __init__(self, base: types.ModuleType, **extra):
        super().__init__(base.__name__, getattr(base, "__doc__", None))
        object.__setattr__(self, "_base", base)
        self.__dict__.update(extra)

    def __getattr__(self, name):  # only called when ``name`` is not an alias
        return getattr(object.__getattribute__(self, "_base"), name)

    def __dir__(self):
        return sorted(set(dir(object.__getattribute__(self, "_base"))) | set(self.__dict__))

    def __repr__(self):
        added = sorted(k for k in self.__dict__ if not k.startswith("_"))
        return f"<alias view of module {self.__name__!r} adding {added}>"


def _in1d(ar1, ar2, assume_unique=False, invert=False):
    """numpy's removed ``in1d``: ``isin`` on the flattened first argument."""
    return numpy.isin(numpy.ravel(ar1), ar2, assume_unique=assume_unique, invert=invert)


_NUMPY_ALIASES = {"float": float, "int": int, "bool": bool, "complex": complex, "object": object,
                  "in1d": _in1d}


def _ragged_tolerant_asarray(a, dtype=None, *args, **kwargs):
    """``numpy.asarray``, but a ragged sequence with no dtype becomes an object array (numpy < 1.24)."""
    try:
        return numpy.asarray(a, dtype, *args, **kwargs)
    except ValueError:
        if dtype is not None or args:
            raise
        return numpy.asarray(a, dtype=object, **kwargs)


def _numpy_view() -> AliasModule:
    return AliasModule(numpy, **_NUMPY_ALIASES)


def _downbeats_numpy_view() -> AliasModule:
    return AliasModule(numpy, asarray=_ragged_tolerant_asarray, **_NUMPY_ALIASES)


@contextlib.contextmanager
def _temporary_attrs(obj, attrs: dict):
    """Set attributes on ``obj`` that it does not have; remove exactly those afterwards."""
    added = [k for k in attrs if k not in vars(obj)]
    for k in added:
        setattr(obj, k, attrs[k])
    try:
        yield
    finally:
        for k in added:
            with contextlib.suppress(AttributeError):
                delattr(obj, k)


@contextlib.contextmanager
def _temporary_module(name: str, module: types.ModuleType):
    """Make ``import name`` return ``module`` for the duration; restore ``sys.modules`` afterwards."""
    missing = object()
    previous = sys.modules.get(name, missing)
    sys.modules[name] = module
    try:
        yield
    finally:
        if previous is missing:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous


def _pkg_resources_stand_in() -> types.ModuleType:
    """The one call madmom makes: ``pkg_resources.get_distribution("madmom").version``."""
    mod = types.ModuleType("pkg_resources", "Stand-in used only while madmom is imported.")

    def get_distribution(name):
        return types.SimpleNamespace(project_name=name, version=importlib.metadata.version(name))

    mod.get_distribution = get_distribution
    return mod


def _patch_loaded_madmom_modules() -> None:
    """Give every loaded ``madmom.*`` module that uses ``np`` an alias view of numpy."""
    for name, mod in list(sys.modules.items()):
        if not (name == "madmom" or name.startswith("madmom.")) or mod is None:
            continue
        g = getattr(mod, "__dict__", None)
        if g is None or g.get(_PATCHED_ATTR) or g.get("np") is not numpy:
            continue
        view = _downbeats_numpy_view() if name == "madmom.features.downbeats" else _numpy_view()
        g["np"] = view
        g[_PATCHED_ATTR] = True


def import_madmom() -> types.ModuleType:
    """Import madmom (once) with the compatibility fixes described in the module docstring.

    Returns the ``madmom`` package. Safe to call many times and from several threads.
    """
    with _LOCK:
        mod = sys.modules.get("madmom")
        if mod is None:
            with _temporary_module("pkg_resources", _pkg_resources_stand_in()), \
                    _temporary_attrs(collections, {"MutableSequence": collections.abc.MutableSequence}), \
                    _temporary_attrs(numpy, _NUMPY_ALIASES), warnings.catch_warnings():
                # madmom's import uses distutils' LooseVersion and similar: not the user's concern.
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", PendingDeprecationWarning)
                mod = importlib.import_module("madmom")
        _patch_loaded_madmom_modules()
        return mod
