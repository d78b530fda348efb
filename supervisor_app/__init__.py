"""supervisor_app: video-to-music recommendation for music supervisors."""
__version__ = "0.1.0"

# before any module imports numba (its compiled-function cache must land somewhere writable)
from supervisor_app.infra.numba_cache import configure_numba_cache as _configure_numba_cache  # noqa: E402

_configure_numba_cache()
