"""Shards of a run and parallel runs: merging shards' files into the run they are part of, and running a card's
chunks on a Dask cluster.

A shard (generator.run with ``[run] shard / n_shards``) holds a contiguous range of the run's ordered chunk list, and
its summary.json the sums that add across shards. :func:`merge_runs` checks that a set of shards is one complete run
(same card, seed, n_events, version; every chunk exactly once), streams their events files into one (in shard order,
which is the unsharded order), adds the control histograms, recomputes every summary field and applies the detector.
:func:`run_parallel` processes the chunks of a card as Dask tasks (generator.parallel), and in the run's own process
whenever it has no result to append, and sinks them in run order as they come (generator.chunks); the result equals
the serial run (events, detector output, histograms, summary sums), whatever the number of workers.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from generator.errors import CardError, RunDirectoryError
from generator.io.formats import OUTPUT_FORMATS
from generator.io.rundir import RunDirectory
from generator.run import (
    PLOT_STATE,
    SUMMARY,
    RunResult,
    _conclude,
    _derived,
    _plan,
    _plot_names,
    _progress,
    _save_plots,
    build_channels,
    card_productions,
    estimate_bytes,
    output_dir,
)

#: Hidden folder of a parallel run's spooled chunk results inside its run directory (removed at the end).
SPOOL_DIR = ".spool"
#: At most this many chunk results a parallel run's process made itself wait in memory for their turn to be written.
MAX_HELD = 4


def _read_summary(d: Path) -> dict:
    path = Path(d) / SUMMARY
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"cannot read shard summary {path}: {exc}"
        raise RunDirectoryError(msg) from None


def check_shards(summaries: list[dict], dirs: list[Path]) -> None:
    """Refuse shards of different cards, seeds, event counts or versions, and incomplete or overlapping sets."""
    first = summaries[0]
    for s, d in zip(summaries, dirs, strict=True):
        for key in ("card", "seed", "n_events", "allocation", "weighted", "version", "n_shards", "n_chunks_total"):
            if s.get(key) != first.get(key):
                msg = (f"shard {d} differs from {dirs[0]} in {key!r} ({s.get(key)!r} vs {first.get(key)!r}); shards "
                       "merge only when made from the same card, seed, n_events and version")
                raise RunDirectoryError(msg)
    shards = sorted(s["shard"] for s in summaries)
    if shards != list(range(first["n_shards"])):
        msg = (f"shards {shards} of {first['n_shards']} given; merge needs every shard 0..{first['n_shards'] - 1} "
               "exactly once")
        raise RunDirectoryError(msg)
    firsts = [c[2] for s in sorted(summaries, key=lambda s: s["shard"]) for c in s["chunks"]]
    if len(firsts) != first["n_chunks_total"] or firsts != sorted(firsts):
        msg = f"the shards hold {len(firsts)} chunks of the run's {first['n_chunks_total']}: incomplete or overlapping"
        raise RunDirectoryError(msg)


def merged_summary(summaries: list[dict]) -> dict:
    """Summary of the union of shards: every sum added, every derived number recomputed."""
    ordered = sorted(summaries, key=lambda s: s["shard"])
    out = json.loads(json.dumps(ordered[0]))
    for k, c in enumerate(out["channels"]):
        parts = [s["channels"][k] for s in ordered]
        c["sampled"] = {key: sum(p["sampled"][key] for p in parts) for key in c["sampled"]}
        c["expected_events_after_decays"] = float(sum(p["expected_events_after_decays"] for p in parts))
        c["n_events_written"] = int(sum(p["n_events_written"] for p in parts))
    _derived(out)
    out.update(shard=0, n_shards=1, chunks=[c for s in ordered for c in s["chunks"]])
    out.pop("detector", None)
    out.pop("timing_s", None)
    return out


def merge_runs(run_dirs: list[str | Path], out_dir: str | Path, *, overwrite: bool = False, card=None,
               argv: list[str] | None = None) -> RunResult:
    """Stream the files of shard runs of one card into one run in ``out_dir``, equal event for event to the
    unsharded run: events.root / events.hepmc3 (those the shards have), the control plots (histograms added),
    summary.json with every field recomputed, and the detector when the card has one."""
    from generator.card import parse_card

    t0 = time.perf_counter()
    dirs = [Path(d) for d in run_dirs]
    if not dirs:
        msg = "merge needs at least one shard directory"
        raise RunDirectoryError(msg)
    out = Path(out_dir)
    for d in dirs:
        if d.resolve() == out.resolve() or out.resolve() in d.resolve().parents:
            msg = f"merge output {out} is (or contains) the input shard {d}; choose another --out"
            raise RunDirectoryError(msg)
    summaries = [_read_summary(d) for d in dirs]
    check_shards(summaries, dirs)
    order = sorted(range(len(dirs)), key=lambda i: summaries[i]["shard"])
    dirs, summaries = [dirs[i] for i in order], [summaries[i] for i in order]
    if card is None:
        card = parse_card(summaries[0]["card"])
    summary = merged_summary(summaries)
    with RunDirectory(out, overwrite=overwrite, needed_bytes=sum(_dir_bytes(d) for d in dirs),
                      label=f"merge of {len(dirs)} shards of {summary['run_name']}") as rd:
        files, _ = _merge_files(card, dirs, rd, summary)
        return _conclude(card, rd, summary, files, True, t0, {"merge": time.perf_counter() - t0})


def _dir_bytes(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


def _render_staged(plots, paths: dict, claims: str | None = None, backward: bool = False) -> None:
    """Render the control plots whose PNGs are named in ``paths`` into those staged paths (a Dask task).

    ``claims``: a folder shared by the processes that draw them together. Each PNG is drawn only by the process that
    claims it first, by creating ``claims``/<PNG name> exclusively (open mode "x", O_CREAT | O_EXCL: atomic, on a
    shared file system too). Workers go through ``paths`` in order and the run's process ``backward`` from the end,
    so the PNGs are shared by how fast each process gets to them, without a plan: going backward, the first PNG
    already claimed (or a folder already removed: every worker is done) means all before it are claimed too.
    """
    prefix = "control_"
    files = list(paths)[::-1] if backward else list(paths)
    for file in files:
        if claims is not None:
            try:
                Path(claims, file).open("x").close()  # exclusive creation
            except (FileExistsError, FileNotFoundError):
                if backward:
                    return
                continue
        plots.render(lambda name, file=file: Path(paths[file]), prefix=prefix, names=[file[len(prefix):-len(".png")]])


def _merge_files(card, dirs: list[Path], rd: RunDirectory, summary: dict, client=None) -> tuple[dict, list]:
    """Merge the shards' files into ``rd`` (staged). With a Dask ``client``, every format but the ROOT file the
    detector reads, and the PNGs, are merged and drawn on the cluster while this process merges the ROOT file;
    returns the files and the futures to wait for before committing."""
    files, pending = {}, []
    for name, fmt in OUTPUT_FORMATS.items():
        fname = fmt.file_name(card.output)
        shard_files = [d / fname for d in dirs]
        present = [f.is_file() for f in shard_files]
        if not any(present):
            continue
        if not all(present):
            missing = [str(f) for f, ok in zip(shard_files, present, strict=True) if not ok]
            msg = f"format {name!r}: {', '.join(missing)} missing; every shard must have the same outputs"
            raise RunDirectoryError(msg)
        target = rd.stage(fname)
        if client is not None and fname != "events.root":
            pending.append(client.submit(fmt.merge, shard_files, target, summary, card.output, pure=False))
        else:
            fmt.merge(shard_files, target, summary, card.output)
        files[name] = str(rd.path / fname)
    states = [d / PLOT_STATE for d in dirs]
    if all(s.is_file() for s in states):
        from generator.io.merge import merge_plots

        plots = merge_plots(states)
        if client is not None:
            files["plots"] = _save_plots(plots, rd, render=False)
            paths = {n: str(rd.stage(n)) for n in _plot_names(plots)}
            pending.append(client.submit(_render_staged, plots, paths, pure=False))
            files["plots"] += [str(rd.path / n) for n in paths]
        else:
            files["plots"] = _save_plots(plots, rd)
    return files, pending


# ------------------------------------------------------------------------------------------------ parallel
@dataclass(frozen=True)
class ChunkJob:
    """What a worker needs to process any chunk of a parallel run (sent once to every worker, ~0.2 MB): the card, and
    the model, plan (channels with their seed-only integrations) and header made by the run's process, and a token
    naming the run. Workers rebuild none of them."""

    card: object
    model: object
    plan: object
    header: dict
    token: str

    def context(self):
        """The run's chunk context (generator.chunks.RunContext)."""
        from generator.chunks import make_context

        return make_context(self.card, self.model, self.plan, self.header)


#: chunk contexts built on this process (a Dask worker), by run token: built once per run, not per chunk.
_CONTEXTS: dict = {}


def _process_remote(job: ChunkJob, index: int, spool: str) -> str:
    """Process chunk ``index`` of ``job`` (a Dask task) and spool its result; returns the result's path."""
    from generator.chunks import process_chunk, spool_result

    ctx = _CONTEXTS.get(job.token)
    if ctx is None:
        _CONTEXTS.clear()
        ctx = _CONTEXTS[job.token] = job.context()
    return str(spool_result(process_chunk(ctx, index, Path(spool)), Path(spool)))


#: Modules every worker imports while the run's process integrates (warm_worker): those a chunk needs, and those the job
#: (ChunkJob: card, model, plan) needs to be unpickled, besides the modules of the card's productions (warm_modules).
#: Measured: unpickling the job in a fresh worker took 0.14 s with these imports left to it, 0.005 s after them.
WARM_MODULES = ("detectors", "generator.chunks", "generator.io.hepmc", "generator.io.root", "generator.plots",
                "generator.decay", "generator.shards", "generator.card", "generator.model.model")


def warm_modules(card) -> list[str]:
    """WARM_MODULES and the modules that build the channels of the card's productions (generator.processes.registry)."""
    return list(dict.fromkeys([*WARM_MODULES, *(prod.module for prod in card_productions(card))]))


def warm_worker(modules: list[str]) -> None:
    """Import ``modules`` and load numba's CPU target (generator.kernels.load_target): on every worker, while the run's
    process integrates, so that its first chunk costs what the others do."""
    import importlib

    from generator.kernels import load_target

    for name in modules:
        importlib.import_module(name)
    load_target()


def _start_cluster(stack, workers: int | None, scheduler: str | None, modules: list[str], started=None):
    """Start (or connect to) the cluster, closed with ``stack``, and warm its workers (import ``modules``); returns
    the client. ``started``: the local cluster's worker processes, started ahead (parallel.start_workers)."""
    from generator.parallel import dask_client

    client = stack.enter_context(dask_client(workers=None if scheduler else workers, scheduler=scheduler,
                                             started=started))
    client.run(warm_worker, modules)
    return client


class _Dispatch:
    """Hands out a parallel run's chunks in run order: to the run's process (:meth:`claim`) or to the cluster
    (:meth:`top_up`).

    The cluster has at most ``window`` chunks submitted and not done, and at most ``window + MAX_HELD`` not yet taken
    back with :meth:`pop` (the others are done and wait in the spool for their turn). When a chunk is done on the
    cluster, the next is submitted at once from Dask's callback thread, so a worker never waits for the run's process
    (which may be in the middle of a chunk of its own) to give it work; and no chunk waits queued on a worker while
    the run's process is free to make it, so the last chunks go to whoever is free first.

    Three threads use it: the run's process; the thread that starts the cluster, which connects it and submits the
    first chunks as soon as the workers are warm; and Dask's callback thread.
    """

    def __init__(self, n: int, spool: Path) -> None:
        self.n, self.spool = n, str(spool)
        self.next = 0  # chunks below are handed out
        self.before = None  # chunks handed out (to the run's process) before the cluster was connected
        self.client = self.job = None
        self.window = 0
        self.running = 0  # chunks submitted to the cluster and not done
        self.stopped = False
        self._futures: dict = {}  # chunk -> future, until popped
        self._lock = threading.Lock()

    def connect(self, client, job, window: int) -> None:
        with self._lock:
            self.client, self.job, self.window, self.before = client, job, window, self.next
        self.top_up()

    def stop(self) -> None:
        """Submit nothing more (the run has failed)."""
        with self._lock:
            self.stopped = True

    def claim(self) -> int | None:
        """The next chunk, for the run's process (None: all are handed out)."""
        with self._lock:
            if self.next >= self.n:
                return None
            self.next += 1
            return self.next - 1

    def top_up(self) -> None:
        """Submit the next chunks to the cluster (once connected) while the window has room."""
        with self._lock:
            while (self.client is not None and not self.stopped and self.next < self.n and self.running < self.window
                   and len(self._futures) < self.window + MAX_HELD):
                i = self.next
                self._futures[i] = future = self.client.submit(_process_remote, self.job, i, self.spool,
                                                               priority=-i, pure=False)
                self.next += 1
                self.running += 1
                future.add_done_callback(self._done)

    def _done(self, _future) -> None:
        """(Dask's callback thread) a chunk is done on the cluster, or failed: submit the next."""
        with self._lock:
            self.running -= 1
        self.top_up()

    def future(self, i: int):
        """The future of chunk ``i`` on the cluster, or None."""
        with self._lock:
            return self._futures.get(i)

    def pop(self, i: int):
        """Take back the future of chunk ``i`` (its turn to be sunk has come)."""
        with self._lock:
            return self._futures.pop(i)


def _release_cluster(client, futures: list, stack) -> None:
    """Wait for the run's last tasks on the cluster (``futures``; None entries are skipped), then close ``stack``: the
    client, its local cluster and the spool folder. Runs in a thread while the run's process finishes its own share
    of the work, so that the cluster's shutdown (about 0.1 s, the workers' heaps frozen) does not add to the run's
    time."""
    try:
        client.gather([f for f in futures if f is not None])
    finally:
        stack.close()


def _cluster_size(client, started: int | None) -> int:
    """Number of Dask workers of ``client``'s cluster (``started``, or 1, if the scheduler lists none yet)."""
    return max(1, len(client.scheduler_info().get("workers", {})) or (started or 1))


def _check_parallel_formats(card) -> None:
    from generator.io.formats import requested_formats

    for fmt in requested_formats(card.output):
        if not fmt.encoder:
            msg = (f"{card.output.formats}: format {fmt.name!r} registers no encoder, so a parallel run cannot write "
                   "it; run without --workers/--scheduler or leave it out")
            raise CardError("output.formats", msg)


def run_parallel(card, out_dir: str | Path | None = None, *, workers: int | None = None,
                 scheduler: str | None = None, overwrite: bool = False,
                 argv: list[str] | None = None, in_process: bool = True) -> RunResult:
    """Process the card's chunks on a Dask cluster (``workers`` local processes or the scheduler at ``scheduler``)
    and sink them in run order into <out_dir>/<run name>/ (generator.chunks); the result equals the serial run.

    The run's process integrates (while the local cluster starts), sends its model and plan to the workers once, and
    submits one task per chunk in run order; each worker spools its chunk results to a hidden folder of the run
    directory (which must be on a file system the workers share), and this process appends them to the run's files
    as they come, so that little is left to do when the last chunk is done. One progress bar counts the events.

    ``in_process``: this process makes chunks too (the files are the same either way). On a local cluster it is one
    of the ``workers`` processes: it starts ``workers - 1`` Dask workers (at least one) and makes the next chunk
    itself whenever it has no result to append, so its chunks skip the spool and no third process competes for the
    cores. With ``scheduler`` it makes chunks only until the cluster is up. False: every chunk goes to the cluster
    (``workers`` Dask workers).
    """
    import uuid
    from concurrent.futures import ThreadPoolExecutor
    from contextlib import ExitStack

    from generator.chunks import RunSink, load_spooled, make_context, make_detector, process_chunk
    from generator.plots import load_plotting
    from generator.run import _finish_summary, run_header

    if card.run.n_shards > 1:
        msg = f"= {card.run.n_shards}: a parallel run makes its own chunks; leave [run] n_shards at 1"
        raise CardError("run.n_shards", msg)
    _check_parallel_formats(card)
    local_cluster = scheduler is None
    n_dask = (max(1, (workers or 1) - 1) if in_process else (workers or 1)) if local_cluster else None
    t0 = time.perf_counter()
    out = output_dir(card, out_dir)
    with RunDirectory(out, overwrite=overwrite, needed_bytes=2 * estimate_bytes(card, card.run.events),
                      label=f"run {card.name}, seed {card.run.seed}, parallel") as rd, \
            ExitStack() as stack, ThreadPoolExecutor(1) as pool:
        spool = rd.path / SPOOL_DIR
        spool.mkdir(exist_ok=True)
        stack.callback(shutil.rmtree, spool, ignore_errors=True)
        # the cluster starts (and its workers import) while this process integrates; local worker processes start
        # first, before this process imports distributed (generator.localworker)
        token = uuid.uuid4().hex
        modules, started = warm_modules(card), None
        if local_cluster:
            from generator.parallel import start_workers

            started = start_workers(n_dask, modules, warm=f"{__name__}:{warm_worker.__name__}")
            stack.callback(started.close)
        starting = pool.submit(_start_cluster, stack, n_dask, scheduler, modules, started)
        from generator.model.model import Model

        model = Model(card.parameters())
        plan = _plan(card, build_channels(card, model))
        header = run_header(card, model, plan, argv or sys.argv)
        t_plan = time.perf_counter() - t0
        sink = RunSink(card, plan, header, rd, encoded=True, detector=make_detector(card, header))
        dispatch = None
        try:
            n = len(plan.tasks)
            bar = _progress(card, sum(t.size for t in plan.tasks), f"events {card.name}")
            t_sink, t_first, t_cluster = 0.0, None, None
            local = None

            def take(i: int, result) -> None:
                nonlocal t_sink, t_first
                t_in = time.perf_counter()
                t_first = t_first if t_first is not None else t_in - t0
                sink.add(result)
                for payload in result.encoded.values():
                    if isinstance(payload, Path) and payload.parent == spool:
                        payload.unlink(missing_ok=True)
                bar.update(plan.tasks[i].size)
                t_sink += time.perf_counter() - t_in

            def make_here(i: int):
                nonlocal local
                if local is None:
                    local = make_context(card, model, plan, header, detector=False)
                    local.detector = sink.detector  # its process() leaves the stage unchanged
                return process_chunk(local, i, spool)

            # chunks are handed out in run order (_Dispatch) and sunk strictly in run order: each is sunk, held (made
            # here, waiting for its turn), on the cluster, or not handed out yet. When this process makes chunks too,
            # it claims the next chunk whenever it is free (no result due), and each worker has one chunk at a time
            # and gets the next the moment it is done. So no process waits for work, and the last chunks go to
            # whoever is free first. At most MAX_HELD results wait here (memory: a few chunks; a worker's first chunk,
            # which loads the compiled kernels, is slow).
            dispatch = _Dispatch(n, spool)

            def connect() -> tuple:
                """(in the cluster's thread, once it is up) send the job, submit the first chunks"""
                client = starting.result()
                size = _cluster_size(client, n_dask)
                # hash=False: a random key; hashing the job (dask.base.tokenize) costs 0.04 s of CPU, and took 0.16 s in
                # a traced run, while this process made its first chunk
                job = client.scatter(ChunkJob(card, model, plan, header, token), broadcast=True, hash=False)
                dispatch.connect(client, job, size if (in_process and local_cluster) else n)
                return client, size, time.perf_counter() - t0

            connected = pool.submit(connect)
            client, held, preload = None, {}, []
            sink_i = n_here = 0
            # this process draws PNGs at the end (the detector's, and a share of the control plots): it imports the
            # plotting libraries while it waits for a result anyway
            load_here = sink.detector is not None or sink.plots is not None
            while sink_i < n:
                if client is None and connected.done():
                    client, n_dask, t_cluster = connected.result()
                if sink_i in held:
                    take(sink_i, held.pop(sink_i))
                    sink_i += 1
                    continue
                due, mine = dispatch.future(sink_i), None
                if in_process and (client is None or local_cluster) and len(held) < MAX_HELD \
                        and (due is None or not due.done()):
                    mine = dispatch.claim()
                dispatch.top_up()
                if client is not None and dispatch.next == n and sink.plots is not None and not preload:
                    # every chunk is handed out: each worker imports the plotting libraries after its last chunk,
                    # before it draws PNGs
                    preload = [client.submit(load_plotting, pure=False, priority=-n, workers=[address],
                                             allow_other_workers=True)
                               for address in client.scheduler_info().get("workers", {})] or [None]  # [None]: none up
                if mine is not None:
                    n_here += 1
                    result = make_here(mine)
                    if mine == sink_i:
                        take(mine, result)
                        sink_i += 1
                    else:
                        held[mine] = result
                    continue
                if dispatch.future(sink_i) is None:  # nothing to make here: wait for the cluster
                    connected.result()
                    continue
                future = dispatch.pop(sink_i)
                if load_here and not future.done():
                    load_plotting()
                    load_here = False
                path = Path(future.result())
                future.release()
                take(sink_i, load_spooled(path))
                sink_i += 1
            if client is None:  # every chunk was made here before the cluster came up (it draws the PNGs)
                client, n_dask, t_cluster = connected.result()
            n_before = dispatch.before
            bar.close()
            t_events = time.perf_counter() - t0 - t_plan
            summary = _finish_summary(header, plan, 0, 1, sink.chunk_list(range(n)))
            summary["parallel"] = {"workers": n_dask + int(in_process and local_cluster), "dask_workers": n_dask,
                                   "scheduler": scheduler, "chunks": n, "chunks_in_run_process": n_here}
            pending, paths, plot_files = [], {}, []
            claims = spool / "png-claims"
            if sink.plots is not None:
                # the workers draw the PNGs while this process closes the events files and finishes the detector;
                # then this process draws those still undrawn too, from the end (_render_staged)
                names = _plot_names(sink.plots)
                paths = {name: str(rd.stage(name)) for name in names}
                claims.mkdir()
                pending = [client.submit(_render_staged, sink.plots, paths, str(claims), pure=False, workers=[address],
                                         allow_other_workers=True)
                           for address in client.scheduler_info().get("workers", {})]
                plot_files = [*_save_plots(sink.plots, rd, render=False), *(str(rd.path / name) for name in names)]
            # the cluster is closed (and the spool removed) in the background once its last tasks are done
            closing = pool.submit(_release_cluster, client, [*pending, *preload], stack)
            files = sink.close(summary)
            if plot_files:
                files["plots"] = plot_files
            sink.finish_detector(summary, files)
            if paths:
                _render_staged(sink.plots, paths, str(claims), backward=True)
        except BaseException:
            if dispatch is not None:
                dispatch.stop()
            sink.abort()
            raise
        # plan: integration and header (this process); cluster: when the workers were warm and had the job;
        # first_chunk: when the first chunk result came; events: until the last was sunk; sink: time this process spent
        # sinking; chunks_before_cluster: chunks this process made while the cluster started
        timing = {"plan": t_plan, "cluster": t_cluster, "first_chunk": t_first, "events": t_events, "sink": t_sink,
                  "chunks_before_cluster": n_before}

        def finish_plots() -> None:
            """(before the commit) the workers' last tasks are done; a PNG no process drew (no worker was listed) is
            drawn here (its staged file does not exist: RunDirectory.stage creates none)"""
            closing.result()
            missing = {name: path for name, path in paths.items() if not Path(path).is_file()}
            if missing:
                _render_staged(sink.plots, missing)

        result = _conclude(card, rd, summary, files, False, t0, timing, wait=finish_plots)
        result.plan = plan
        return result


__all__ = ["SPOOL_DIR", "ChunkJob", "check_shards", "merge_runs", "merged_summary", "run_parallel"]
