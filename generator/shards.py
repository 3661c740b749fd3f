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


def _render_staged(plots, paths: dict) -> None:
    """Render the control plots whose PNGs are named in ``paths`` into those staged paths (a Dask task)."""
    prefix = "control_"
    names = [n[len(prefix):-len(".png")] for n in paths]
    plots.render(lambda name: Path(paths[name]), prefix=prefix, names=names)


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
    """What a worker needs to process any chunk of a parallel run (sent once to every worker): the card, the seed-only
    integrations and the header made by the run's process, and a token naming the run."""

    card: object
    integrations: list
    header: dict
    token: str

    def context(self):
        """The run's chunk context (generator.chunks.RunContext), rebuilt on the worker from the card (with the model
        and channels :func:`_warm` built, when it ran here)."""
        from generator.chunks import make_context

        model, specs = _MODELS.pop(self.token, None) or _model_and_channels(self.card)
        plan = _plan(self.card, specs, self.integrations)
        return make_context(self.card, model, plan, self.header)


#: chunk contexts built on this process (a Dask worker), by run token: built once per run, not per chunk.
_CONTEXTS: dict = {}
#: model and channels built by the warm-up on this process, by run token.
_MODELS: dict = {}


def _model_and_channels(card) -> tuple:
    from generator.model.model import Model

    model = Model(card.parameters())
    return model, build_channels(card, model)


def _process_remote(job: ChunkJob, index: int, spool: str) -> str:
    """Process chunk ``index`` of ``job`` (a Dask task) and spool its result; returns the result's path."""
    from generator.chunks import process_chunk, spool_result

    ctx = _CONTEXTS.get(job.token)
    if ctx is None:
        _CONTEXTS.clear()
        ctx = _CONTEXTS[job.token] = job.context()
    return str(spool_result(process_chunk(ctx, index, Path(spool)), Path(spool)))


def _warm(token: str, card) -> None:
    """Import the modules a chunk needs and build the run's model and channels (on every worker, while the run's
    process integrates)."""
    import importlib

    for name in ("detectors", "generator.chunks", "generator.io.hepmc", "generator.io.root", "generator.plots",
                 "generator.decay"):
        importlib.import_module(name)
    _MODELS.clear()
    _MODELS[token] = _model_and_channels(card)


def _start_cluster(stack, workers: int | None, scheduler: str | None, token: str, card):
    """Start (or connect to) the cluster, closed with ``stack``, and warm its workers; returns the client."""
    from generator.parallel import dask_client

    client = stack.enter_context(dask_client(workers=None if scheduler else workers, scheduler=scheduler))
    client.run(_warm, token, card)
    return client


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

    The run's process integrates (while the local cluster starts), sends the integrations to the workers once, and
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
        # the cluster starts (and its workers import) while this process integrates
        token = uuid.uuid4().hex
        starting = pool.submit(_start_cluster, stack, n_dask, scheduler, token, card)
        from generator.model.model import Model

        model = Model(card.parameters())
        plan = _plan(card, build_channels(card, model))
        header = run_header(card, model, plan, argv or sys.argv)
        t_plan = time.perf_counter() - t0
        sink = RunSink(card, plan, header, rd, encoded=True, detector=make_detector(card, header))
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

            # chunks below next_i are sunk, held (made here, waiting for their turn) or in ``futures`` (on the
            # cluster); results are sunk strictly in run order. When this process makes chunks too, each worker has
            # one chunk running and one queued (enough to stay busy while this process makes a chunk; more would
            # leave this process idle at the end, waiting for a worker's queue), and at most MAX_HELD results wait
            # here (memory: a few chunks; a worker's first chunk, which loads the compiled kernels, is slow)
            client, futures, held, window = None, {}, {}, n
            next_i = sink_i = n_here = n_before = 0
            while sink_i < n:
                if client is None and starting.done():
                    client, t_cluster, n_before = starting.result(), time.perf_counter() - t0, n_here
                    n_dask = _cluster_size(client, n_dask)
                    job = client.scatter(ChunkJob(card, [ch.integration for ch in plan.channels], header, token),
                                         broadcast=True)
                    window = 2 * n_dask if (in_process and local_cluster) else n
                while client is not None and next_i < n and len(futures) < window:
                    futures[next_i] = client.submit(_process_remote, job, next_i, str(spool), priority=-next_i,
                                                    pure=False)
                    next_i += 1
                if sink_i in held:
                    take(sink_i, held.pop(sink_i))
                    sink_i += 1
                    continue
                here = in_process and (client is None or local_cluster)
                if (sink_i not in futures or not futures[sink_i].done()) and here and next_i < n \
                        and len(held) < MAX_HELD:
                    i, next_i, n_here = next_i, next_i + 1, n_here + 1
                    result = make_here(i)
                    if i == sink_i:
                        take(i, result)
                        sink_i += 1
                    else:
                        held[i] = result
                    continue
                if sink_i not in futures:  # nothing to make here: wait for the cluster
                    starting.result()
                    continue
                future = futures.pop(sink_i)
                path = Path(future.result())
                future.release()
                take(sink_i, load_spooled(path))
                sink_i += 1
            if client is None:  # every chunk was made here before the cluster came up (it draws the PNGs)
                client, t_cluster, n_before = starting.result(), time.perf_counter() - t0, n_here
                n_dask = _cluster_size(client, n_dask)
            bar.close()
            t_events = time.perf_counter() - t0 - t_plan
            summary = _finish_summary(header, plan, 0, 1, sink.chunk_list(range(n)))
            summary["parallel"] = {"workers": n_dask + int(in_process and local_cluster), "dask_workers": n_dask,
                                   "scheduler": scheduler, "chunks": n, "chunks_in_run_process": n_here}
            files = sink.close(summary)
            pending, mine = [], {}
            if sink.plots is not None:
                # the PNGs are drawn on the cluster while this process finishes the detector (and then draws a
                # share of them too, when it is one of the run's processes)
                files["plots"] = _save_plots(sink.plots, rd, render=False)
                names = _plot_names(sink.plots)
                paths = {name: str(rd.stage(name)) for name in names}
                n_groups = n_dask + int(in_process and local_cluster)
                groups = [{name: paths[name] for name in names[k::n_groups]} for k in range(n_groups)]
                mine = groups.pop() if n_groups > n_dask else {}
                pending = [client.submit(_render_staged, sink.plots, g, pure=False) for g in groups if g]
                files["plots"] += [str(rd.path / name) for name in names]
            sink.finish_detector(summary, files)
            if mine:
                _render_staged(sink.plots, mine)
        except BaseException:
            sink.abort()
            raise
        # plan: integration and header (this process); cluster: when the workers were up and warm; first_chunk: when
        # the first chunk result came; events: until the last was sunk; sink: time this process spent sinking;
        # chunks_before_cluster: chunks this process made while the cluster started
        timing = {"plan": t_plan, "cluster": t_cluster, "first_chunk": t_first, "events": t_events, "sink": t_sink,
                  "chunks_before_cluster": n_before}
        result = _conclude(card, rd, summary, files, False, t0, timing, wait=lambda: client.gather(pending))
        result.plan = plan
        return result


__all__ = ["SPOOL_DIR", "ChunkJob", "check_shards", "merge_runs", "merged_summary", "run_parallel"]
