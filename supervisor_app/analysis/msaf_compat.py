"""Import MSAF 0.1.80 on SciPy ≥ 1.14 without changing SciPy for the rest of the process.

Two SciPy names MSAF uses are gone:

- ``from scipy import inf`` in ``msaf.pymf.sivm_search`` (import time): ``scipy.inf`` exists only while
  ``import msaf`` runs, then it is removed again;
- ``scipy.signal.gaussian`` (run time, Foote and SF novelty kernels): the ``signal`` name of those two
  modules becomes an :class:`~supervisor_app.analysis.madmom_compat.AliasModule` of ``scipy.signal``
  that adds ``gaussian = scipy.signal.windows.gaussian``. ``scipy.signal`` itself is untouched.

MSAF's file side effects (features JSON in the working directory, estimations next to the audio) are
avoided by :mod:`supervisor_app.analysis.segments`, which never calls ``msaf.process``.
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


def import_msaf() -> types.ModuleType:
    """Import msaf (once) with the two SciPy aliases described above; return the package."""
    with _LOCK:
        mod = sys.modules.get("msaf")
        if mod is None:
            import scipy
            import scipy.signal
            import scipy.signal.windows

            with _temporary_attrs(scipy, {"inf": numpy.inf}), warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.simplefilter("ignore", PendingDeprecationWarning)
                mod = importlib.import_module("msaf")
            for name in _SIGNAL_USERS:
                m = sys.modules.get(name)
                if m is not None and m.__dict__.get("signal") is scipy.signal:
                    m.signal = AliasModule(scipy.signal, gaussian=scipy.signal.windows.gaussian)
        return mod
