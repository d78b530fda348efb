"""Work-arounds for bugs of particular Qt for Python releases (checked at run time, not by version).

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without owning a reference to it, so every
emit from Python lowers the reference count of ``True`` by one; after a few hundred emits the
interpreter aborts with "bool_dealloc: deallocating True or False". The project pins a release
without the bug (installer/requirements.txt); :func:`ensure_safe_signal_emit` protects installs that
did not follow the pin by giving back the missing reference after each emit.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

_patched = False


class _Probe(QObject):
    sig = Signal()


def emit_leaks_bool_reference() -> bool:
    """True if this PySide6 drops a reference to the emit return value (measured, 16 emits)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(16):
        probe.sig.emit()
    lost = before - sys.getrefcount(True)
    for _ in range(max(0, lost)):  # give back what the probe itself took
        _incref(True)
    return lost >= 8


def _incref(obj) -> None:
    fn = ctypes.pythonapi.Py_IncRef
    fn.argtypes = [ctypes.py_object]
    fn.restype = None
    fn(obj)


def ensure_safe_signal_emit() -> bool:
    """Patch ``SignalInstance.emit`` when it leaks (see module docstring); True if a patch was applied."""
    global _patched
    if _patched or not emit_leaks_bool_reference():
        return _patched
    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef

    def emit(self, *args):
        result = original(self, *args)
        if result is True or result is False:
            incref(result)
        return result

    SignalInstance.emit = emit
    _patched = True
    return True
