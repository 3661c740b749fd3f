"""Local Dask workers started ahead of their cluster (generator.localworker, generator.parallel.dask_client).

A parallel run starts its worker processes before it imports distributed; the LocalCluster takes them as its
workers. Checked here as a user of the cluster sees it: the tasks run in the processes that were started, with the
environment and dask settings a Nanny's worker gets; processes no cluster takes, or whose run dies, do not stay.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dask
import psutil
import pytest

from generator.errors import ClusterError
from generator.parallel import WORKER_CONFIG, dask_client, start_workers

ROOT = Path(__file__).resolve().parents[2]


def _probe() -> tuple:
    import dask

    return (os.getpid(), os.environ.get("OMP_NUM_THREADS"), os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            dask.config.get("distributed.worker.profile.enabled"), "generator.chunks" in sys.modules)


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_started_workers_are_the_cluster_with_a_nanny_s_environment(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    started = start_workers(2, ["generator.chunks"])
    given = list(started.processes)
    pids = {w.process.pid for w in given}
    with dask_client(workers=2, started=started) as client:
        probes = list(client.run(_probe).values())
        assert client.submit(sum, [1, 2, 3]).result() == 6
    assert started.take() is None  # the cluster took both
    # the tasks ran in the started processes, which imported the given modules before the cluster existed; dask's
    # pre-spawn environment (one OpenMP thread) and this package's worker settings apply; glibc's malloc is left alone
    assert {p[0] for p in probes} == pids
    assert all(p[1:] == ("1", None, False, True) for p in probes)
    # (dask's default is on, as in this process: the workers' False is WORKER_CONFIG's)
    assert WORKER_CONFIG["distributed.worker.profile.enabled"] is False
    assert dask.config.get("distributed.worker.profile.enabled") is True
    # closing the cluster ends the processes: each exits by itself (code 0) once its stdin is closed, not killed
    # after EXIT_TIMEOUT_S
    assert [w.process.returncode for w in given] == [0, 0]
    assert all(_gone(pid, 10) for pid in pids)


def test_started_workers_beyond_the_processes_given_are_started_by_the_cluster():
    started = start_workers(1)
    given = started.processes[0].process.pid
    with dask_client(workers=2, started=started) as client:
        pids = {p[0] for p in client.run(_probe).values()}
    assert given in pids and len(pids) == 2 and os.getpid() not in pids
    assert all(_gone(pid, 10) for pid in pids)


#: (in a worker process) the calls of record_warm, the warm function of the test below
WARMED: list = []


def record_warm(modules: list[str]) -> None:
    # the modules are imported when the warm function is called; numba's CPU target is not loaded yet
    WARMED.append((list(modules), all(m in sys.modules for m in modules), "numba.np.linalg" in sys.modules))


def _warm_state() -> tuple:
    return WARMED, "numba.np.linalg" in sys.modules


def test_started_workers_call_their_warm_function_before_they_join():
    # a started process imports its modules, then calls the warm function given as "module:function" with them, before
    # it joins; a parallel run's (generator.shards.warm_worker) also loads numba's CPU target (generator.kernels)
    cases = [(f"{__name__}:record_warm", ([(["generator.chunks"], True, False)], False)),
             ("generator.shards:warm_worker", ([], True)), (None, ([], False))]
    for warm, expected in cases:
        started = start_workers(1, ["generator.chunks"], warm=warm)
        try:
            with dask_client(workers=1, started=started) as client:
                assert list(client.run(_warm_state).values()) == [expected], warm
        finally:
            started.close()


def test_started_workers_no_cluster_takes_stop_at_close():
    started = start_workers(2)
    processes = [w.process for w in started.processes]
    t0 = time.monotonic()
    started.close()
    assert [p.returncode for p in processes] == [0, 0]
    assert time.monotonic() - t0 < 10


def test_a_worker_that_cannot_start_fails_the_cluster_with_its_exit(capfd):
    started = start_workers(1, ["generator.no_such_module"])
    with pytest.raises(ClusterError, match=r"local Dask worker process \d+ exited with code 1"), \
            dask_client(workers=1, started=started):
        pass
    started.close()
    assert "No module named 'generator.no_such_module'" in capfd.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("joined", [False, True])
def test_workers_of_a_killed_run_process_exit(tmp_path, joined):
    # the run's process dies (SIGKILL) before or after its cluster took the started worker: the worker process sees its
    # stdin close and exits; nothing is left running
    code = ("import sys, time\nfrom generator.parallel import dask_client, start_workers\n"
            "if __name__ == '__main__':\n"
            "    started = start_workers(1)\n"
            f"    if {joined}:\n"
            "        held = dask_client(workers=1, started=started)\n        held.__enter__()\n"
            "    print('ready', flush=True)\n"
            "    time.sleep(600)\n")
    script = tmp_path / "hold.py"
    script.write_text(code)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
                   if "generator.localworker" in " ".join(p.cmdline())]
        assert len(workers) == 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
    assert _gone(workers[0].pid, 30)


@pytest.mark.slow
def test_ctrl_c_stops_a_parallel_run_and_its_worker_quietly(tmp_path):
    # Ctrl-C in a terminal sends SIGINT to the whole process group, the worker process included: the run's process
    # removes its staged files and exits 130; the worker ignores the signal, exits when the run's process is gone and
    # prints no traceback
    out = tmp_path / "o"
    args = ["run", "miniboone_bp_b", "-n", "400000", "--out", str(out), "--no-progress", "--workers", "2"]
    # SIGINT handled as in a terminal, even when this test runs with SIGINT ignored (a background job)
    code = ("import runpy, signal, sys\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
            f"sys.argv = ['dsgen', *{args!r}]\nrunpy.run_module('generator', run_name='__main__')\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    run_dir = out / "miniboone_bp_b"
    deadline, writing = time.monotonic() + 300, False
    while time.monotonic() < deadline and not writing:
        time.sleep(0.05)
        writing = run_dir.is_dir() and any(f.name.endswith(".part") and f.stat().st_size > 0 for f in run_dir.iterdir())
    assert writing and proc.poll() is None, "the run ended before it wrote events; raise -n"
    workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
               if "generator.localworker" in " ".join(p.cmdline())]
    os.killpg(proc.pid, signal.SIGINT)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, err
    assert "dsgen: interrupted" in err and "Traceback" not in err, err
    assert len(workers) == 1 and _gone(workers[0].pid, 30)
    assert not any(f.name.endswith(".part") for f in run_dir.iterdir())
