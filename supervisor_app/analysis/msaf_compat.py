"""Import MSAF 0.1.80 on SciPy ≥ 1.14 without changing SciPy for the rest of the process.

Two SciPy names MSAF uses are gone:

- ``from scipy import inf`` in ``msaf.pymf.sivm_search`` (import time): ``scipy.inf`` exists only while
  ``import msaf`` runs, then it is removed again;
- ``scipy.signal.gaussian`` (run time, Foote and SF novelty kernels): the ``signal`` name of those two
  modules becomes an :class:`~supervisor_app.analysis.madmom_compat.AliasModule` of ``scipy.signal``
  that adds ``gaussian = scipy.signal.windows.gaussian``. ``scipy.signal`` itself is untouched.

MSAF's file side effects (features JSON in the working directory, estimations next to the audio) are
avoided by :mod:`supervisor_app.analysis.segments`, which never calls ``msaf.process``.

MSAF imports plotting and evaluation helpers at import time (``pylab``/matplotlib, ``jams`` and
``pandas``: ~1 s of CPU, a third of an indexing process's start-up) that segmentation never calls. While
``msaf`` is imported these names are :class:`_LazyModule` placeholders, left in MSAF's modules only:
the real module is imported on first use of an attribute (an evaluation or plot still works), and
``sys.modules`` is restored afterwards, so nothing else in the process sees a placeholder.
Call :func:`import_msaf` instead of ``import msaf``.
"""
from __future__ import annotations

import importlib
import sys
import threading
import types
import warnings

import numpy

from supervisor_app.analysis.madmom_compat import AliasModule, _temporary_attrs

__all__ = ["import_msaf"]

_LOCK = threading.Lock()
_SIGNAL_USERS = ("msaf.algorithms.foote.segmenter", "msaf.algorithms.sf.segmenter")
_LAZY = ("pylab", "jams", "pandas")  # imported by MSAF's plotting/evaluation modules only


class _LazyModule(types.ModuleType):
    """Stands for module ``name``; the first attribute access imports the real module and delegates."""

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        name = self.__name__
        real = sys.modules.get(name)
        if real is None or real is self:
            if real is self:
                del sys.modules[name]
            real = importlib.import_module(name)
        return getattr(real, attr)


def import_msaf() -> types.ModuleType:
    """Import msaf (once) with the two SciPy aliases described above; return the package."""
    with _LOCK:
        mod = sys.modules.get("msaf")
        if mod is None:
            import scipy
            import scipy.signal
            import scipy.signal.windows

            lazy = [n for n in _LAZY if n not in sys.modules]
            for n in lazy:
                sys.modules[n] = _LazyModule(n)
            try:
                with _temporary_attrs(scipy, {"inf": numpy.inf}), warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    warnings.simplefilter("ignore", PendingDeprecationWarning)
                    mod = importlib.import_module("msaf")
            finally:
                for n in lazy:
                    if isinstance(sys.modules.get(n), _LazyModule):
                        del sys.modules[n]
            _import_librosa_parts()
            for name in _SIGNAL_USERS:
                m = sys.modules.get(name)
                if m is not None and m.__dict__.get("signal") is scipy.signal:
                    m.signal = AliasModule(scipy.signal, gaussian=scipy.signal.windows.gaussian)
        return mod


def _import_librosa_parts() -> None:
    """Import the librosa modules MSAF's features use, with a cheap ``inspect.stack`` meanwhile.

    ``librosa.core.audio`` creates ``lazy_loader.load`` proxies for its optional resamplers
    (``samplerate``, ``resampy``); for a module that is not installed ``load`` calls ``inspect.stack()``,
    which reads the source lines of every frame on the stack (0.4 s of CPU deep inside an indexing job)
    for an error message that is only ever shown when that resampler is asked for. Without context lines
    (``context=0``) the message keeps its file, line and function."""
    import inspect

    original = inspect.stack
    inspect.stack = lambda context=1: original(0)  # type: ignore[assignment]
    try:
        import librosa.core.audio  # noqa: F401
        import librosa.feature  # noqa: F401
        import librosa.onset  # noqa: F401
    finally:
        inspect.stack = original
