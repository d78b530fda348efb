"""Ray as an engine for per-track work: tasks run on a cluster, results come back to the driver.

:func:`map_unordered` runs ``fn(*args)`` for each item as a Ray task (one CPU each) and yields
``(index, result)`` as tasks finish. The driver — the process calling it — stays the only writer of
the catalog; workers only read the audio files (so on several machines the paths must resolve to
the same files everywhere: shared storage, see docs/SCALE.md).

Failures: a task whose worker process dies (killed, out of memory, machine lost) is re-run by Ray up
to ``max_retries`` times; if it still fails, its item is yielded with the exception as its result
instead of stopping the run. Python exceptions raised by ``fn`` are not retried (they are bugs or
bad input; the indexing job records those itself). At most ``max_in_flight`` tasks are submitted at
once, so a million-track catalog does not become a million pending tasks.

Clusters: ``address=None`` starts a private local Ray instance (``num_cpus`` CPUs; all cores when
None) and shuts it down afterwards; an ``address`` ("HOST:6379", or "auto" for the cluster this
machine belongs to) connects to a cluster started with ``ray start --head`` and leaves it running.
When Ray is already initialised in this process (tests, notebooks) that instance is used as is.
"""
from __future__ import annotations

import contextlib
import importlib.util
from typing import Any, Callable, Iterator, Sequence

from supervisor_app.infra.errors import MissingExtraError, SupervisorError
from supervisor_app.infra.jobs import ShouldCancel, check_cancelled

REQUIRES = "ray==2.60.0"
DEFAULT_MAX_RETRIES = 3

__all__ = ["ray_available", "ray_session", "map_unordered", "REQUIRES"]


def ray_available() -> bool:
    """True when the ``ray`` package can be imported."""
    return importlib.util.find_spec("ray") is not None


def _ray():
    if not ray_available():
        raise MissingExtraError("Distributed indexing (--engine ray)", REQUIRES)
    import ray

    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None):
    """Ray initialised for the duration (see the module doc); yields the ``ray`` module."""
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "configure_logging": True, "logging_level": "warning"}
    if address:
        kwargs["address"] = address
    elif num_cpus:
        kwargs["num_cpus"] = int(num_cpus)
    try:
        ray.init(**kwargs)
    except ConnectionError as e:
        raise SupervisorError(f"Cannot connect to the Ray cluster at {address} ({e}); start it with "
                              "'ray start --head' or check the address.") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def map_unordered(fn: Callable, items: Sequence[tuple], *, address: str | None = None,
                  num_cpus: int | None = None, max_retries: int = DEFAULT_MAX_RETRIES,
                  max_in_flight: int | None = None,
                  should_cancel: ShouldCancel | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(i, fn(*items[i]))`` in completion order, each call a Ray task with one CPU.

    ``fn`` must be importable by the workers (a module-level function of an installed package) or
    defined where cloudpickle can ship it by value. A task that still fails after ``max_retries``
    re-runs yields ``(i, exception)``. Closing the generator early cancels the pending tasks; so does
    ``should_cancel()`` (polled twice a second while tasks run), which then raises ``Cancelled``.
    """
    with ray_session(address, num_cpus) as ray:
        remote = ray.remote(num_cpus=1, max_retries=int(max_retries), retry_exceptions=False)(fn)
        cap = max_in_flight or max(4, 2 * int(ray.cluster_resources().get("CPU", 1)))
        pending: dict = {}
        nxt = 0
        try:
            while nxt < len(items) or pending:
                while nxt < len(items) and len(pending) < cap:
                    pending[remote.remote(*items[nxt])] = nxt
                    nxt += 1
                check_cancelled(should_cancel, "The indexing")
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                for ref in ready:
                    i = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayError as e:  # worker crashes beyond the retries, fn's own errors
                        result = e
                    yield i, result
        finally:
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
