"""Which torch device to compute on: CUDA if present, else Apple MPS, else CPU; or the user's choice."""
from __future__ import annotations

import torch

from ..errors import UsageError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Device kinds usable in this process, best first (always ends with ``"cpu"``)."""
    out = []
    if torch.cuda.is_available():
        out.append("cuda")
    if _mps_available():
        out.append("mps")
    out.append("cpu")
    return out


def select_device(name: str | None = "auto") -> torch.device:
    """``"auto"``/None picks CUDA, then MPS, then CPU; an explicit kind must be available here.

    Raises :class:`UsageError` for an unknown kind or one this machine lacks.
    """
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    kind = name.split(":", 1)[0]
    if kind not in DEVICE_CHOICES:
        raise UsageError(f"Unknown device {name!r}: choose one of {', '.join(DEVICE_CHOICES)}.")
    if kind not in available_devices():
        raise UsageError(
            f"The device {name!r} is not available on this machine (available: {', '.join(available_devices())})."
        )
    return torch.device(name)
