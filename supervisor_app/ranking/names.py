"""The ranking distances by name (no numba, no numpy): the one list the CLI, the GUI, the services and
the evaluation offer, their aliases and the thesis's indel costs. The kernels are in :mod:`.distances`."""
from __future__ import annotations

from supervisor_app.infra.errors import UsageError

__all__ = ["DISTANCES", "NW_INDEL", "SW_INDEL", "distance_name", "default_indel"]

#: Every ranking distance, the default (the thesis's best) first: the one list the CLI, the GUI and the
#: evaluation offer.
DISTANCES = ("nw-dtw", "sw-dtw", "trace", "best-trace", "centroid", "single", "complete")
NW_INDEL = 0.05  # thesis, grid-searched
SW_INDEL = 0.01  # thesis, grid-searched
_ALIASES = {
    "single-linkage": "single", "complete-linkage": "complete", "nw": "nw-dtw", "sw": "sw-dtw",
    "btrace": "best-trace", "b-trace": "best-trace", "besttrace": "best-trace",
}


def distance_name(name: str) -> str:
    """Canonical distance name (``DISTANCES``); accepts '_' for '-', any case, and a few aliases."""
    key = str(name).strip().lower().replace("_", "-").replace(" ", "-")
    key = _ALIASES.get(key, key)
    if key not in DISTANCES:
        raise UsageError(f"Unknown ranking distance {name!r}: choose one of {', '.join(DISTANCES)}.")
    return key


def default_indel(distance: str) -> float:
    """The thesis's indel cost for nw-dtw (0.05) and sw-dtw (0.01); 0 for the others (unused)."""
    d = distance_name(distance)
    return NW_INDEL if d == "nw-dtw" else SW_INDEL if d == "sw-dtw" else 0.0
