"""Production runs: total events shared by rate, exact shard merge, Dask workers, and a safe run directory.

Every check reads the files a run writes, with uproot / pyhepmc, as a user would.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from generator.card import parse_card
from generator.errors import RunDirectoryBusyError, RunDirectoryError
from generator.io.rundir import LOCK_NAME, MANIFEST_NAME
from generator.run import run_card
from generator.shards import merge_runs, run_parallel

ROOT = Path(__file__).resolve().parents[2]

CARD = """
[run]
name = "prod"
seed = 7
n_events = {n}
n_adapt = 3
evals_per_iter = 3000
progress = false

[model]
preset = "BP-B"

[process]
production = "upscattering"
final_hnl = ["N5", "N6"]
targets = ["C12"]
regimes = ["coherent", "incoherent"]

[experiment]
name = "MiniBooNE"

[decay]
mode = "all"
stable = ["N4"]

[output]
formats = {formats}
plots = {plots}
"""


def card(n=1200, formats='["hepmc3", "root"]', plots="false"):
    return parse_card(CARD.format(n=n, formats=formats, plots=plots))


def root_arrays(path: Path) -> dict:
    import awkward as ak
    import uproot

    with uproot.open(path) as f:
        arr = f["events"].arrays(library="ak")
    return {k: ak.to_list(arr[k]) for k in arr.fields}


def hepmc_events(path: Path) -> list:
    import pyhepmc

    with pyhepmc.open(path) as f:
        return [(ev.event_number, [(p.pid, p.status, *p.momentum) for p in ev.particles],
                 [tuple(v.position) for v in ev.vertices], list(ev.weights)) for ev in f]


def files_of(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file() and p.name != LOCK_NAME}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return run_card(card(), out_dir=tmp_path_factory.mktemp("serial"))


def test_n_events_is_the_run_total_with_one_common_weight(serial):
    import uproot

    s = serial.summary
    assert s["allocation"] == "total" and s["n_events_written"] == 1200
    with uproot.open(serial.files["root"]) as f:
        w = f["events"]["weight"].array(library="np")
    assert len(w) == 1200
    # every event weighs total rate / n_events (decays in mode "all" keep weights); weights sum to the total rate
    np.testing.assert_allclose(w, s["expected_events_total"] / 1200, rtol=1e-12)
    assert w.sum() == pytest.approx(s["expected_events_total"], rel=1e-9)
    # channels get events in proportion to their rates (rounding: one event)
    rates = np.array([c["expected_events"] for c in s["channels"]])
    counts = np.array([c["n_events_written"] for c in s["channels"]])
    np.testing.assert_allclose(counts, 1200 * rates / rates.sum(), atol=1.0)
    assert files_of(serial.out_dir) == {MANIFEST_NAME, "events.hepmc3", "events.root", "summary.json"}


def test_per_channel_mode(tmp_path):
    c = card(n=1)
    c.run.n_events, c.run.n_events_per_channel = None, 150
    r = run_card(c, out_dir=tmp_path)
    assert r.summary["allocation"] == "per_channel"
    assert all(ch["n_events_written"] == 150 for ch in r.summary["channels"])


def test_three_shards_and_merge_reproduce_the_unsharded_run_event_for_event(serial, tmp_path):
    base = card()
    dirs = []
    for k in range(3):
        c = dataclasses.replace(base, run=dataclasses.replace(base.run, shard=k, n_shards=3))
        dirs.append(run_card(c, out_dir=tmp_path / "shards").out_dir)
    merged = merge_runs(list(reversed(dirs)), tmp_path / "merged")  # any order
    assert root_arrays(Path(merged.files["root"])) == root_arrays(Path(serial.files["root"]))
    assert hepmc_events(Path(merged.files["hepmc3"])) == hepmc_events(Path(serial.files["hepmc3"]))
    a, b = serial.summary, merged.summary
    assert b["n_events_written"] == a["n_events_written"] and (b["shard"], b["n_shards"]) == (0, 1)
    for ca, cb in zip(a["channels"], b["channels"], strict=True):
        assert cb["sampled"] == ca["sampled"]
        assert cb["expected_events_after_decays"] == pytest.approx(ca["expected_events_after_decays"], rel=1e-12)
        assert cb["expected_events_sampled"] == pytest.approx(ca["expected_events_sampled"], rel=1e-12)
    # refusals: an incomplete set, a shard of another seed, an output that is one of the inputs
    with pytest.raises(RunDirectoryError, match="every shard"):
        merge_runs(dirs[:2], tmp_path / "m2")
    other = dataclasses.replace(base, run=dataclasses.replace(base.run, seed=8, shard=2, n_shards=3))
    odd = run_card(other, out_dir=tmp_path / "odd").out_dir
    with pytest.raises(RunDirectoryError, match="'seed'"):
        merge_runs([dirs[0], dirs[1], odd], tmp_path / "m3")
    with pytest.raises(RunDirectoryError, match="is \\(or contains\\) the input shard"):
        merge_runs(dirs, dirs[0])
    assert not (tmp_path / "m2").exists() or files_of(tmp_path / "m2") == set()


@pytest.mark.slow
def test_two_workers_reproduce_the_serial_run(serial, tmp_path):
    par = run_card(card(), out_dir=tmp_path, workers=2)
    assert root_arrays(Path(par.files["root"])) == root_arrays(Path(serial.files["root"]))
    assert hepmc_events(Path(par.files["hepmc3"])) == hepmc_events(Path(serial.files["hepmc3"]))
    assert not (par.out_dir / ".spool").exists()
    assert par.summary["parallel"]["workers"] == 2


def hepmc_event_bytes(path: Path) -> bytes:
    """The event records of a HepMC3 file, byte for byte (the header differs only in the command line)."""
    data = path.read_bytes()
    return data[data.index(b"\nE "):]


def reco_arrays(path: Path) -> dict:
    import uproot

    with uproot.open(path) as f:
        return f["reco"].arrays(library="np")


@pytest.mark.slow
def test_run_process_and_worker_share_the_chunks(serial, tmp_path, monkeypatch):
    # --workers 2 is this process and one Dask worker: once the worker is up, this process makes the next chunk
    # whenever no result is due and holds it until its turn. Here this process finishes its first chunk only once the
    # worker has been given the next one (so it makes a later chunk while that one is on the worker), and its other
    # chunks are slowed down (so the worker makes more); the files are still the serial run's.
    import threading

    import generator.chunks
    import generator.shards

    connected, made_here = threading.Event(), []
    connect, process = generator.shards._Dispatch.connect, generator.chunks.process_chunk

    def connect_then_signal(self, *args):
        connect(self, *args)  # the next chunks are submitted to the worker
        connected.set()

    def slow_process(ctx, index, spool=None):
        if not made_here:
            assert connected.wait(120)
        else:
            time.sleep(0.3)
        made_here.append(index)
        return process(ctx, index, spool)

    monkeypatch.setattr(generator.shards._Dispatch, "connect", connect_then_signal)
    monkeypatch.setattr(generator.chunks, "process_chunk", slow_process)
    par = run_parallel(card(), tmp_path, workers=2)
    n = len(par.summary["chunks"])
    assert n >= 4 and par.summary["parallel"]["dask_workers"] == 1
    assert par.summary["parallel"]["chunks_in_run_process"] == len(made_here)
    assert 1 <= len(made_here) < n  # both processes made chunks
    # this process made a chunk while an earlier one was on the worker (held until its turn)
    assert made_here != list(range(len(made_here)))
    assert root_arrays(Path(par.files["root"])) == root_arrays(Path(serial.files["root"]))
    assert hepmc_events(Path(par.files["hepmc3"])) == hepmc_events(Path(serial.files["hepmc3"]))
    assert par.summary["chunks"] == serial.summary["chunks"]
    assert not (par.out_dir / ".spool").exists()


@pytest.mark.slow
def test_worker_gets_its_next_chunk_while_the_run_process_is_busy(serial, tmp_path, monkeypatch):
    # a worker has one chunk at a time and gets the next the moment it is done (from Dask's callback thread), not
    # when the run's process next looks: here the run's process stays inside its first chunk until the worker has
    # spooled three results. Were the worker fed only by the run's process, it would stop after the chunks it was
    # given at the start and this would time out. Dask's threads get the GIL promptly from the busy run's process: its
    # switch interval is CLIENT_SWITCH_INTERVAL_S while it holds the client, and back to what it was afterwards.
    import generator.chunks
    from generator.parallel import CLIENT_SWITCH_INTERVAL_S

    process, spooled, intervals = generator.chunks.process_chunk, [], []

    def blocking_process(ctx, index, spool=None):
        if not spooled:
            deadline = time.monotonic() + 60
            while len(list(Path(spool).glob("chunk_*.pkl"))) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            spooled.append(len(list(Path(spool).glob("chunk_*.pkl"))))
            intervals.append(sys.getswitchinterval())
        return process(ctx, index, spool)

    monkeypatch.setattr(generator.chunks, "process_chunk", blocking_process)
    before = sys.getswitchinterval()
    assert before > CLIENT_SWITCH_INTERVAL_S  # CPython's default, 5 ms
    par = run_parallel(card(), tmp_path, workers=2)
    assert spooled[0] >= 3
    assert intervals == [CLIENT_SWITCH_INTERVAL_S]
    assert sys.getswitchinterval() == before
    assert root_arrays(Path(par.files["root"])) == root_arrays(Path(serial.files["root"]))
    assert hepmc_event_bytes(Path(par.files["hepmc3"])) == hepmc_event_bytes(Path(serial.files["hepmc3"]))
    assert not (par.out_dir / ".spool").exists()


def test_warm_workers_unpickle_the_job_without_importing(tmp_path):
    # the warm-up imports every module the job (card, model, plan) needs, so a worker that receives it imports nothing
    # more of this package; this fails when a new module of the model or of a production is left out of the warm-up
    import pickle

    from generator.model.model import Model
    from generator.run import _plan, build_channels, run_header
    from generator.shards import ChunkJob, warm_modules

    c = card()
    model = Model(c.parameters())
    plan = _plan(c, build_channels(c, model))
    job = tmp_path / "job.pkl"
    job.write_bytes(pickle.dumps(ChunkJob(c, model, plan, run_header(c, model, plan, ["test"]), "token")))
    modules = warm_modules(c)
    assert "generator.processes.upscattering" in modules
    code = (f"import importlib, pickle, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
            f"before = set(sys.modules)\npickle.loads(open({str(job)!r}, 'rb').read())\n"
            "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in ('generator', 'detectors')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_control_pngs_are_shared_by_claims(tmp_path):
    # at the end of a parallel run the workers draw the control PNGs in order and the run's process from the end;
    # each is drawn by the process that claims it first (exclusive creation of a claim file). Going backward, the
    # first PNG already claimed ends this process's share; going forward, claimed ones are skipped.
    from generator.plots import ControlPlots
    from generator.shards import _plot_names, _render_staged

    plots = ControlPlots({"weight_unit": "events"})
    names = _plot_names(plots)
    out, claims = tmp_path / "out", tmp_path / "claims"
    out.mkdir()
    claims.mkdir()
    paths = {name: str(out / name) for name in names}
    (claims / names[2]).touch()  # another process has claimed the third PNG
    _render_staged(plots, paths, str(claims), backward=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(names[3:])
    _render_staged(plots, paths, str(claims))  # forward: the first two, then nothing is left
    assert sorted(p.name for p in out.iterdir()) == sorted(names[:2] + names[3:])
    assert sorted(p.name for p in claims.iterdir()) == sorted(names)
    # the claims folder is gone (every worker is done): the run's process draws nothing more
    for p in claims.iterdir():
        p.unlink()
    claims.rmdir()
    (out / names[-1]).unlink()
    _render_staged(plots, paths, str(claims), backward=True)
    assert not (out / names[-1]).exists()


@pytest.mark.slow
def test_pngs_are_drawn_when_the_scheduler_lists_no_worker(tmp_path, monkeypatch):
    # the workers' PNG tasks are pinned to the workers the scheduler lists; when it lists none (e.g. they left), the
    # run's process draws every PNG itself before the commit
    import distributed

    monkeypatch.setattr(distributed.Client, "scheduler_info", lambda self, **kw: {"workers": {}})
    par = run_parallel(card(plots="true"), tmp_path, workers=2)
    pngs = sorted(p.name for p in par.out_dir.glob("control_*.png"))
    assert len(pngs) == 7 and all((par.out_dir / p).read_bytes().startswith(b"\x89PNG") for p in pngs)
    assert not (par.out_dir / ".spool").exists()


@pytest.mark.slow
def test_detector_and_plots_are_the_same_serial_parallel_and_from_dsgen_detect(tmp_path):
    # the detector runs on every chunk as it is made (random numbers keyed by the chunk), wherever the chunk is made:
    # a parallel run, a serial run and `dsgen detect` on the serial run's events.root give the same reco.root and
    # cut flow; the control histograms and every summary sum are equal too, and the HepMC3 event records are equal
    # byte for byte
    from detectors import detect_main
    from generator.plots import ControlPlots

    text = CARD.format(n=3000, formats='["hepmc3", "root"]', plots="true") + '\n[detector]\nname = "miniboone"\n'
    c = parse_card(text)
    ser = run_card(c, out_dir=tmp_path / "s")
    par = run_parallel(c, tmp_path / "p", workers=2, in_process=False)  # every chunk made on a worker
    assert par.summary["timing_s"]["chunks_before_cluster"] == 0
    assert len(ser.summary["chunks"]) > 2  # several chunks, hence several detector streams
    sr, pr = reco_arrays(ser.out_dir / "reco.root"), reco_arrays(par.out_dir / "reco.root")
    assert sorted(sr) == sorted(pr) and all(np.array_equal(sr[k], pr[k], equal_nan=True) for k in sr)
    assert np.array_equal(sr["event"], np.arange(ser.summary["n_events_written"]))
    cut = (ser.out_dir / "cutflow.json").read_text()
    assert (par.out_dir / "cutflow.json").read_text() == cut
    hs, hp = (ControlPlots.load(r.out_dir / "control_histograms.npz") for r in (ser, par))
    assert all(np.array_equal(hs.hists[k].view(flow=True)["value"], hp.hists[k].view(flow=True)["value"])
               for k in hs.hists)
    assert hepmc_event_bytes(par.out_dir / "events.hepmc3") == hepmc_event_bytes(ser.out_dir / "events.hepmc3")
    assert root_arrays(par.out_dir / "events.root") == root_arrays(ser.out_dir / "events.root")
    for key in ("chunks", "n_events_written", "expected_events_after_decays_total"):
        assert par.summary[key] == ser.summary[key]
    for cs, cp in zip(ser.summary["channels"], par.summary["channels"], strict=True):
        assert cs["sampled"] == cp["sampled"]
    assert par.files["detector"] == str(par.out_dir) and ser.files["detector"] == str(ser.out_dir)
    d = par.summary["detector"]
    assert d["expected_events_after"] == ser.summary["detector"]["expected_events_after"]
    assert {Path(f).name for f in d["files"]} >= {"reco.root", "cutflow.json", "detector_summary.json"}
    assert not (par.out_dir / ".spool").exists()
    # every PNG (drawn by the worker and this process together) is there, complete, and listed
    pngs = sorted(p.name for p in par.out_dir.glob("*.png"))
    assert pngs == sorted(p.name for p in ser.out_dir.glob("*.png")) and len(pngs) >= 7
    assert all((par.out_dir / p).read_bytes().startswith(b"\x89PNG") for p in pngs)
    assert {Path(f).name for f in par.files["plots"]} >= {p for p in pngs if p.startswith("control_")}
    # the events file alone reproduces the run's detector stage (its metadata lists the generation chunks)
    detect_main("miniboone", ser.out_dir, out_dir=tmp_path / "again")
    again = reco_arrays(tmp_path / "again" / "reco.root")
    assert all(np.array_equal(sr[k], again[k], equal_nan=True) for k in sr)
    assert (tmp_path / "again" / "cutflow.json").read_text() == cut


def test_merged_shards_give_the_unsharded_detector_output(tmp_path):
    # shards have no detector stage; the merge runs it on the merged events.root, whose metadata lists the generation
    # chunks, so reco.root and the cut flow equal those the unsharded run makes chunk by chunk
    text = CARD.format(n=3000, formats='["root"]', plots="false") + '\n[detector]\nname = "miniboone"\n'
    base = parse_card(text)
    ser = run_card(base, out_dir=tmp_path / "s")
    dirs = [run_card(dataclasses.replace(base, run=dataclasses.replace(base.run, shard=k, n_shards=3)),
                     out_dir=tmp_path / "shards").out_dir for k in range(3)]
    merged = merge_runs(dirs, tmp_path / "merged")
    assert (merged.out_dir / "cutflow.json").read_text() == (ser.out_dir / "cutflow.json").read_text()
    a, b = reco_arrays(ser.out_dir / "reco.root"), reco_arrays(merged.out_dir / "reco.root")
    assert sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def test_rerun_is_refused_and_overwrite_leaves_no_stale_file(tmp_path):
    first = run_card(card(n=300, formats='["hepmc3", "root"]', plots="true"), out_dir=tmp_path)
    before = files_of(first.out_dir)
    assert "events.hepmc3" in before and any(f.endswith(".png") for f in before)
    with pytest.raises(RunDirectoryError, match=r"already holds .* --overwrite"):
        run_card(card(n=300, formats='["root"]'), out_dir=tmp_path)
    assert files_of(first.out_dir) == before
    second = run_card(card(n=300, formats='["root"]'), out_dir=tmp_path, overwrite=True)
    assert files_of(second.out_dir) == {MANIFEST_NAME, "events.root", "summary.json"}


def test_unusable_out_and_impossible_sizes_fail_before_any_work(tmp_path):
    f = tmp_path / "a_file"
    f.write_text("")
    t0 = time.perf_counter()
    with pytest.raises(RunDirectoryError, match=r"not a directory|cannot be created"):
        run_card(card(), out_dir=f)
    with pytest.raises(RunDirectoryError, match=r"needs about .* only .* are free"):
        run_card(card(n=10**13), out_dir=tmp_path / "big")
    assert time.perf_counter() - t0 < 5.0  # refused before integrating any channel
    assert files_of(tmp_path / "big" / "prod") == set()


def test_seed_out_of_range_is_refused_by_the_cli(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(CARD.format(n=100, formats='["root"]', plots="false"))
    proc = subprocess.run([sys.executable, "-m", "generator", "run", str(p), "--seed", str(2**63), "--out",
                           str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "run.seed" in proc.stderr and "2^63" in proc.stderr
    assert not (tmp_path / "o").exists()


def _start(card_path: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "generator", "run", str(card_path), "--out", str(out), *extra],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(pred, timeout=120.0) -> bool:
    t_end = time.time() + timeout
    while time.time() < t_end:
        if pred():
            return True
        time.sleep(0.01)
    return False


@pytest.mark.slow
def test_two_concurrent_runs_one_fails_cleanly_the_other_is_consistent(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(CARD.format(n=20000, formats='["hepmc3", "root"]', plots="false"))
    out = tmp_path / "o"
    lock = out / "prod" / LOCK_NAME
    a = _start(p, out, "--seed", "1")
    assert _wait_for(lambda: lock.is_file() and "pid" in lock.read_text())
    # run a is paused while b starts, so that a is still running however fast it is
    a.send_signal(signal.SIGSTOP)
    try:
        b = _start(p, out, "--seed", "2")
        assert b.wait(timeout=60) == 2
    finally:
        a.send_signal(signal.SIGCONT)
    assert "in use by another run" in b.stderr.read()
    b.stderr.close()
    assert a.wait(timeout=300) == 0
    a.stderr.close()
    run_dir = out / "prod"
    assert files_of(run_dir) == {MANIFEST_NAME, "events.hepmc3", "events.root", "summary.json"}
    assert json.loads((run_dir / "summary.json").read_text())["seed"] == 1
    import pyhepmc

    with pyhepmc.open(run_dir / "events.hepmc3") as f:
        n = sum(1 for _ in f)
    assert n == 20000


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_signals_leave_no_part_files_or_the_next_run_removes_them(tmp_path, sig):
    p = tmp_path / "c.toml"
    p.write_text(CARD.format(n=60000, formats='["hepmc3", "root"]', plots="false"))
    out = tmp_path / "o"
    run_dir = out / "prod"
    proc = _start(p, out)
    caught = _wait_for(lambda: run_dir.is_dir() and any(f.name.endswith(".part") and f.stat().st_size > 0
                                                      for f in run_dir.iterdir()), timeout=300)
    assert caught, "the run finished before writing; raise n_events"
    os.kill(proc.pid, sig)
    proc.wait(timeout=60)
    proc.stderr.close()
    left = files_of(run_dir)
    assert "summary.json" not in left and "events.root" not in left and "events.hepmc3" not in left
    if sig != signal.SIGKILL:
        assert not any(f.endswith(".part") for f in left)
    # the next run into the directory cleans up whatever is left and runs
    p.write_text(CARD.format(n=200, formats='["root"]', plots="false"))
    again = subprocess.run([sys.executable, "-m", "generator", "run", str(p), "--out", str(out)], cwd=ROOT,
                           capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    assert files_of(run_dir) == {MANIFEST_NAME, "events.root", "summary.json"}


def test_busy_directory_error_in_process(tmp_path):
    from generator.io.rundir import RunDirectory

    with RunDirectory(tmp_path / "prod", label="someone"), pytest.raises(RunDirectoryBusyError):
        run_card(card(), out_dir=tmp_path)


@pytest.mark.slow
def test_existing_dask_scheduler_reproduces_the_serial_run(serial, tmp_path):
    # --scheduler ADDRESS: a cluster started elsewhere (here a LocalCluster on this machine, as dask-jobqueue would
    # start one on HTCondor or Slurm); the shards go to its workers, the files to a shared file system
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        par = run_card(card(), out_dir=tmp_path, scheduler=cluster.scheduler_address)
    assert root_arrays(Path(par.files["root"])) == root_arrays(Path(serial.files["root"]))
    assert par.summary["parallel"]["scheduler"] == cluster.scheduler_address
    assert par.summary["parallel"]["workers"] == 2
