"""Dask clusters for runs and scans: a local cluster of worker processes, or an existing scheduler.

``dask_client(workers=N)`` starts a ``distributed.LocalCluster`` with N single-threaded worker processes (numba and
numpy release the GIL only in places, so processes, not threads, give the speed-up); worker processes started ahead
of the cluster (:func:`start_workers`, generator.localworker), which import while this process still has other work
to do, become its workers; ``dask_client(scheduler=ADDRESS)`` connects to a running scheduler, e.g. one started on
HTCondor or Slurm with dask-jobqueue (README, "Running on a cluster"). The workers must see the run's output
directory (a shared file system), because each task writes its files there.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
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

#: Thread switch interval (s) of a process while it holds a Dask client; CPython's default is 5 ms. Every message of
#: the client (and of a local cluster's scheduler, which runs in the same process) needs the GIL in Dask's threads,
#: and a main thread busy with Python code (e.g. the chunks a parallel run makes in its own process, between their
#: compiled kernels, which release the GIL: generator.kernels) hands the GIL over only when the switch interval has
#: passed. Measured on 2 cores with a main thread busy in Python code (pyhepmc): scattering 0.2 MB to one worker took
#: 29-453 ms and a one-task round trip 107-587 ms at 5 ms, 11-13 ms and 16-22 ms at 0.5 ms (5-7 ms and 8-15 ms with an
#: idle main thread). In a 1e6-event `dsgen run --workers 2` with the pyhepmc writer, the worker waited 1.1-1.3 s in
#: all between its chunks at 5 ms, 0.3-0.6 s at 0.5 ms. A shorter interval costs nothing while no other thread wants
#: the GIL.
CLIENT_SWITCH_INTERVAL_S = 0.0005


@contextlib.contextmanager
def _responsive_threads() -> Iterator[None]:
    """Lower the process's thread switch interval to CLIENT_SWITCH_INTERVAL_S (never raise it) for the block."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(min(old, CLIENT_SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def start_workers(n: int, modules: list[str] = (), warm: str | None = None):
    """Start ``n`` local worker processes now, each importing ``modules`` and then calling ``warm`` ("module:function",
    given ``modules``) if given, for a later ``dask_client(workers=n, started=...)`` (generator.localworker.spawn).
    The caller closes what it gets (``.close()``: stops the processes no cluster took)."""
    from generator.localworker import spawn

    return spawn(n, modules, WORKER_CONFIG, warm=warm)


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None, started=None) -> Iterator:
    """A ``distributed.Client``: on a new local cluster of ``workers`` processes, or on ``scheduler`` (address).

    ``started``: worker processes from :func:`start_workers`, which become the local cluster's workers (its worker
    class is then generator.localworker's, which takes them before it starts new ones; without, distributed's Nanny,
    which restarts a worker that dies, e.g. during a scan). The local cluster and the client are closed when the block
    ends; meanwhile this process's threads switch every CLIENT_SWITCH_INTERVAL_S. Raises ClusterError when neither or
    both are given, or when the scheduler cannot be reached.
    """
    if (workers is None) == (scheduler is None):
        msg = f"give exactly one of workers ({workers!r}) and scheduler ({scheduler!r})"
        raise ClusterError(msg)
    if workers is not None and workers < 1:
        msg = f"workers = {workers}: must be >= 1"
        raise ClusterError(msg)
    with _responsive_threads():
        yield from _client(workers, scheduler, started)


def _client(workers: int | None, scheduler: str | None, started) -> Iterator:
    """(dask_client, checked arguments) yield the client, close it and its local cluster afterwards."""
    import dask
    from distributed import Client, LocalCluster

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
    # dashboard on a free port (":0"): a second cluster on the machine must not collide with the default 8787;
    # WORKER_CONFIG: fewer wake-ups of the workers' helper threads
    # started: those processes are the workers (generator.localworker)
    kwargs = {}
    if started is not None:
        from generator.localworker import worker_class

        kwargs = {"worker_class": worker_class(), "started": started}
    with dask.config.set(WORKER_CONFIG):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR, **kwargs)
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


__all__ = ["CLIENT_SWITCH_INTERVAL_S", "WORKER_CONFIG", "ClusterError", "dask_client", "start_workers"]
