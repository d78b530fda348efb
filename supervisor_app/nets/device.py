"""Which torch device to compute on: CUDA if present, else Apple MPS, else CPU; or the user's choice."""
from __future__ import annotations

from typing import TYPE_CHECKING

from supervisor_app.infra.errors import UsageError

if TYPE_CHECKING:  # torch is imported when a device is asked for, not when the CLI lists its options
    import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Device kinds usable in this process, best first (always ends with ``"cpu"``)."""
    import torch

    out = []
    if torch.cuda.is_available():
        out.append("cuda")
    if _mps_available():
        out.append("mps")
    out.append("cpu")
    return out


def select_device(name: str | None = "auto") -> "torch.device":
    """``"auto"``/None picks CUDA, then MPS, then CPU; an explicit kind must be available here.

    Raises :class:`UsageError` for an unknown kind or one this machine lacks.
    """
    import torch

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
