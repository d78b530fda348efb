"""Engines that run the per-track jobs: ``local`` (in this process, or a process pool) and ``ray`` (a Ray
cluster, :mod:`.ray_engine`). Each yields ``(index in todo, result)`` as jobs finish."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
from typing import Iterator

from supervisor_app.indexing.job import index_track_job, worker_init, worker_job
from supervisor_app.infra.jobs import ShouldCancel, check_cancelled

ENGINES = ("local", "ray")


def run_local(todo, workers: int, should_cancel: ShouldCancel | None = None) -> Iterator[tuple[int, dict]]:
    if workers <= 1 or len(todo) <= 1:
        # one core, as a pool worker has (worker_init): BLAS/OpenMP threads on these small products
        # mostly spin (measured: 1/3 less CPU per audio-second, same results); restored afterwards
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            for i, (t, plan) in enumerate(todo):
                check_cancelled(should_cancel, "The indexing")
                yield i, index_track_job(t.path, plan)
        return
    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=worker_init) as pool:
        futures = {pool.submit(index_track_job, t.path, plan): i for i, (t, plan) in enumerate(todo)}
        try:
            pending = set(futures)
            while pending:  # polls the cancel flag while the workers run (a track takes seconds)
                check_cancelled(should_cancel, "The indexing")
                done, pending = cf.wait(pending, timeout=0.25, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    yield futures[fut], fut.result()
        finally:
            for f in futures:
                f.cancel()


def run_ray(todo, workers: int, address: str | None,
            should_cancel: ShouldCancel | None = None) -> Iterator[tuple[int, dict | BaseException]]:
    from supervisor_app.indexing.ray_engine import map_unordered

    num_cpus = None if address else (workers if workers > 1 else None)
    yield from map_unordered(worker_job, [(t.path, plan) for t, plan in todo], address=address,
                             num_cpus=num_cpus, should_cancel=should_cancel)


def lost_message(e: BaseException) -> str:
    first = str(e).strip().splitlines()[0][:150] if str(e).strip() else ""
    return (f"The indexing task of this track failed on the cluster ({type(e).__name__}"
            f"{': ' + first if first else ''}); nothing was stored and the next run retries it.")
