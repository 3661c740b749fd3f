"""Local Dask worker processes that start before the run's process has a cluster (dask_client's ``started``).

distributed's default worker class of a LocalCluster, the Nanny, spawns its worker process only once the cluster is
up: after this process has imported distributed and started the scheduler. In a parallel run
(generator.shards.run_parallel) that is also when this process integrates, and both want the interpreter lock, so
the worker process came to life 0.9-1.2 s after the run began starting its cluster, and then spent another 1.5 s
importing. :func:`spawn` starts a worker process at once instead, before this process imports distributed (it
needs only ``subprocess`` and dask's configuration): the new process imports distributed and the modules its tasks
need on the other core while this process integrates, calls its warm function if it has one (a parallel run's,
generator.shards.warm_worker, loads numba's CPU target), then waits on its stdin for the scheduler's address.
:class:`LocalWorker`, the ``worker_class`` of the LocalCluster, hands such a process (or a new one) the address, waits
until the worker has joined, and stops the process when the cluster closes it. Measured in a traced 1e6-event
`dsgen run --workers 2`: the worker ready at 2.4 s instead of 3.3 s, when the run's model and plan are; eight A/B
pairs of such runs took 0.83-1.10 times as long as with the Nanny, median 0.92.

A process talks to this one through two pipes: its stdin (one line, the worker's settings, base64 of a pickle; then
closing the pipe, or the death of this process, stops the worker) and a pipe of its own on which it writes the
worker's address once it has joined the scheduler (its stdout and stderr stay this process's, as a Nanny's worker's
do). As with the Nanny, the process's environment gets dask's ``distributed.nanny.pre-spawn-environ`` (one BLAS and
OpenMP thread; generator.parallel.WORKER_CONFIG leaves glibc's malloc alone) and its dask configuration is this
process's. Unlike a Nanny, nothing restarts a worker that dies: the run fails with the worker's error, as it would
with a Nanny, whose restarted worker no longer has the run's job (generator.shards). A local cluster without
started processes (a scan's) keeps the Nanny.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import pickle
import subprocess
import sys
from pathlib import Path

from generator.errors import ClusterError

#: Seconds a LocalWorker waits for its process to join the scheduler, and then to exit when it is closed.
JOIN_TIMEOUT_S = 60.0
EXIT_TIMEOUT_S = 10.0


class WorkerProcess:
    """A started worker process, waiting for its scheduler's address (``join``), then running a Dask worker.

    ``modules``: imported by the process before it asks for anything (the modules of its tasks); then ``warm``
    ("module:function") is called with them, if given (e.g. to load what the first task would load)."""

    def __init__(self, modules: list[str] = (), config: dict | None = None, warm: str | None = None) -> None:
        """``config``: dask settings (over dask's configuration) that decide the process's environment."""
        env = {**os.environ, **{k: str(v) for k, v in _pre_spawn_environ(config).items() if v is not None}}
        # the process imports the package this process runs (a source tree or an install alike)
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])
        ready_r, ready_w = os.pipe()
        self._ready = os.fdopen(ready_r, "rb")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "generator.localworker", str(ready_w), warm or "-", *modules],
                stdin=subprocess.PIPE, env=env, pass_fds=(ready_w,))
        except BaseException:
            self._ready.close()
            raise
        finally:
            os.close(ready_w)

    def join(self, scheduler: str, options: dict, config: dict, log_level: int | None = None) -> str:
        """Start the worker on ``scheduler`` (Worker ``options``, dask ``config``, level of distributed's logger);
        returns its address once it has joined. Raises ClusterError when the process exits first or does not join
        within JOIN_TIMEOUT_S."""
        import select

        spec = base64.b64encode(pickle.dumps({"scheduler": scheduler, "options": options, "config": config,
                                              "log_level": log_level}))
        with contextlib.suppress(BrokenPipeError):  # the process has exited: reported below
            self.process.stdin.write(spec + b"\n")
            self.process.stdin.flush()
        with self._ready as ready:
            answered = bool(select.select([ready], [], [], JOIN_TIMEOUT_S)[0])
            address = ready.readline().decode().strip() if answered else ""
        if address:
            return address
        self.stop()  # an answer without an address: the process closed the pipe, i.e. exited; stop() reaps it
        state = f"exited with code {self.process.returncode}" if answered else \
            f"did not join within {JOIN_TIMEOUT_S:g} s"
        msg = f"local Dask worker process {self.process.pid} {state} (its error, if any, is printed above)"
        raise ClusterError(msg)

    def stop(self) -> None:
        """Stop the process (close its stdin: its worker closes), kill it if it has not exited within
        EXIT_TIMEOUT_S."""
        self._ready.close()
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        try:
            self.process.wait(EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _pre_spawn_environ(config: dict | None) -> dict:
    """dask's ``distributed.nanny.pre-spawn-environ`` under ``config`` (dotted keys), without importing distributed
    (which imports numpy): distributed's own defaults (the distributed.yaml it loads when imported,
    distributed/config.py) under this process's dask configuration (files, DASK_* variables, dask.config.set)."""
    import importlib.util

    import dask.config
    import yaml

    merged = dask.config.config
    if "distributed" not in sys.modules:
        package = Path(importlib.util.find_spec("distributed").submodule_search_locations[0])
        with (package / "distributed.yaml").open() as f:
            merged = dask.config.merge(yaml.safe_load(f), merged)
    merged = dask.config.merge(merged, {})  # a copy: set() below changes it
    with dask.config.set(config or {}, config=merged):
        return dict(dask.config.get("distributed.nanny.pre-spawn-environ", config=merged))


class StartedWorkers:
    """Worker processes started ahead of their cluster (:func:`spawn`), taken one by one by LocalWorker; those not
    taken are stopped by :meth:`close`."""

    def __init__(self, processes: list[WorkerProcess]) -> None:
        self.processes = list(processes)  # not taken yet

    def take(self) -> WorkerProcess | None:
        return self.processes.pop(0) if self.processes else None

    def close(self) -> None:
        while self.processes:
            self.processes.pop().stop()


def spawn(n: int, modules: list[str] = (), config: dict | None = None, warm: str | None = None) -> StartedWorkers:
    """Start ``n`` worker processes now, each importing ``modules`` (``config``, ``warm``: see WorkerProcess); for
    LocalWorker's ``started``."""
    processes: list[WorkerProcess] = []
    try:
        processes.extend(WorkerProcess(modules, config, warm) for _ in range(n))
    except BaseException:
        StartedWorkers(processes).close()
        raise
    return StartedWorkers(processes)


@functools.cache
def worker_class():
    """The class LocalWorker (defined on first use: :func:`spawn` must not import distributed)."""
    import asyncio

    import dask.config
    from distributed.deploy.spec import ProcessInterface

    class LocalWorker(ProcessInterface):
        """A worker of a LocalCluster in a process of its own (WorkerProcess): ``started`` gives one, or one is
        started now. Takes LocalCluster's worker options; passes those a Worker takes on to it."""

        PASSED = ("name", "nthreads", "memory_limit", "host", "protocol", "dashboard", "dashboard_address",
                  "interface")

        def __init__(self, scheduler: str, *, started: StartedWorkers | None = None, silence_logs=None,
                     **options) -> None:
            super().__init__()
            self.scheduler, self.started, self.silence_logs = scheduler, started, silence_logs
            self.options = {k: v for k, v in options.items() if k in self.PASSED and v is not None}
            self.process: WorkerProcess | None = None

        async def start(self) -> None:
            process = self.started.take() if self.started is not None else None
            loop = asyncio.get_running_loop()
            self.process = process or await loop.run_in_executor(None, WorkerProcess)
            self.address = await loop.run_in_executor(None, self.process.join, self.scheduler, self.options,
                                                      dict(dask.config.config), self.silence_logs)
            await super().start()

        async def close(self) -> None:
            if self.process is not None:
                await asyncio.get_running_loop().run_in_executor(None, self.process.stop)
            await super().close()

    return LocalWorker


def _serve(ready_fd: int, warm: str, modules: list[str]) -> None:
    """(the worker process) import ``modules``, call ``warm`` ("module:function" or "-": none) with them, read the
    worker's settings from stdin, run the worker until it is closed or stdin is closed."""
    import asyncio
    import importlib
    import logging
    import signal
    import threading

    # a Ctrl-C in the terminal reaches this process too: the run's process handles it and then stops this one
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import dask.config
    from distributed import Worker

    for name in modules:
        importlib.import_module(name)
    if warm != "-":
        module, _, function = warm.partition(":")
        getattr(importlib.import_module(module), function)(modules)
    line = sys.stdin.buffer.readline()
    if not line.strip():  # closed before the cluster started: the run has ended
        return
    spec = pickle.loads(base64.b64decode(line))
    if spec["log_level"] is not None:
        logging.getLogger("distributed").setLevel(spec["log_level"])

    async def run() -> None:
        async with Worker(spec["scheduler"], **spec["options"]) as worker:
            loop = asyncio.get_running_loop()

            def watch() -> None:  # stdin closed (by LocalWorker.stop, or at the death of the run's process)
                sys.stdin.buffer.read()
                loop.call_soon_threadsafe(lambda: asyncio.ensure_future(worker.close(reason="stdin closed")))

            threading.Thread(target=watch, daemon=True, name="stdin-watch").start()
            with os.fdopen(ready_fd, "wb") as ready:
                ready.write(f"{worker.address}\n".encode())
            await worker.finished()

    with dask.config.set(spec["config"]):
        asyncio.run(run())


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2], sys.argv[3:])
