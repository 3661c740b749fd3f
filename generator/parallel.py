"""Dask clusters for runs and scans: a local cluster of worker processes, or an existing scheduler.

``dask_client(workers=N)`` starts a ``distributed.LocalCluster`` with N single-threaded worker processes (numba and
numpy release the GIL only in places, so processes, not threads, give the speed-up); ``dask_client(scheduler=ADDRESS)``
connects to a running scheduler, e.g. one started on HTCondor or Slurm with dask-jobqueue (README, "Running on a
cluster"). The workers must see the run's output directory (a shared file system), because each task writes its
files there.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Iterator

from generator.errors import ClusterError

#: Dask settings of the local clusters this package starts (see dask_client). A worker runs a task in one thread and
#: its event loop, monitors and profiler in others, which wake up many times a second (tick every 20 ms, memory
#: monitor every 100 ms, profiler every 10 ms, system monitor every 500 ms) and take the GIL or a core from the task.
#: Measured on 2 cores with two workers each running the same chunk loop: ~5,000 involuntary context switches per
#: worker in 20 s and 1.2 s of scheduler CPU with the defaults, ~1,000 and 0.2 s with these; the wall time of a
#: `dsgen run --workers 2` changed by less than the run-to-run spread of a shared machine (README, "Speed and
#: memory"). The dashboard and the memory limits keep working, at a coarser time resolution.
#:
#: Dask also starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (so that freed memory goes back to the system
#: at once). Setting any glibc malloc threshold turns off glibc's dynamic mmap threshold (mallopt(3), M_MMAP_THRESHOLD),
#: so every array above 128 kiB a chunk allocates is a fresh mmap whose pages are faulted in and zeroed one by one.
#: Measured for a 1e6-event run with two workers: 3.6 million page faults and 10 s of system time in the workers with
#: it, 0.23 million and 4 s without; the workers use glibc's defaults, as a serial run does.
WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "10s",
    "distributed.admin.system-monitor.disk": False,
    "distributed.worker.memory.monitor-interval": "2s",
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator:
    """A ``distributed.Client``: on a new local cluster of ``workers`` processes, or on ``scheduler`` (address).

    The local cluster and the client are closed when the block ends. Raises ClusterError when neither or both are
    given, or when the scheduler cannot be reached.
    """
    import dask
    from distributed import Client, LocalCluster

    if (workers is None) == (scheduler is None):
        msg = f"give exactly one of workers ({workers!r}) and scheduler ({scheduler!r})"
        raise ClusterError(msg)
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            msg = f"cannot reach the Dask scheduler at {scheduler!r}: {exc}"
            raise ClusterError(msg) from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers < 1:
        msg = f"workers = {workers}: must be >= 1"
        raise ClusterError(msg)
    # dashboard on a free port (":0"): a second cluster on the machine must not collide with the default 8787;
    # WORKER_CONFIG: fewer wake-ups of the workers' helper threads
    with dask.config.set(WORKER_CONFIG):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client
        # a worker process exits without a final garbage collection of what its tasks left behind (compiled kernels,
        # arrays, plot state), which is most of the time closing it takes: measured 0.5 s with, 0.1 s without. Only a
        # speed-up: a worker that cannot be reached (it has died) is left out rather than failing a finished run.
        client.run(gc.freeze, on_error="ignore")
    finally:
        client.close()
        cluster.close()


__all__ = ["WORKER_CONFIG", "ClusterError", "dask_client"]
