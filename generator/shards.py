"""Shards of a run: merging their files into the run they are part of, and running them on a Dask cluster.

A shard (generator.run with ``[run] shard / n_shards``) holds a contiguous range of the run's ordered chunk list, and
its summary.json the sums that add across shards. :func:`merge_runs` checks that a set of shards is one complete run
(same card, seed, n_events, version; every chunk exactly once), streams their events files into one (in shard order,
which is the unsharded order), adds the control histograms, recomputes every summary field and applies the detector.
:func:`run_parallel` runs the shards of a card as Dask tasks (generator.parallel) and merges them; the result equals
the serial run event for event, whatever the number of workers.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
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
    _run_into,
    _save_plots,
    build_channels,
    estimate_bytes,
    output_dir,
)

#: Shards per worker when a run is spread over a Dask cluster (several per worker balance the load).
SHARDS_PER_WORKER = 2
#: Hidden folder of a parallel run's shards inside its run directory (removed after the merge).
SHARDS_DIR = ".shards"


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
    """Render the control plots into the given staged paths (a Dask task: the PNGs of a parallel run)."""
    plots.render(lambda name: Path(paths[name]))


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
def _run_shard(card, shard: int, n_shards: int, base: str, argv, integrations) -> str:
    """One shard of a parallel run (a Dask task): the shard's events files, plot state and summary; no detector.
    ``integrations``: the run's seed-only integrations, done once by the parent."""
    from generator.model.model import Model

    c = dataclasses.replace(card, run=dataclasses.replace(card.run, shard=shard, n_shards=n_shards, progress=False))
    model = Model(c.parameters())
    specs = build_channels(c, model)
    d = Path(base) / f"shard_{shard}_of_{n_shards}"
    with RunDirectory(d, overwrite=True, label=f"shard {shard} of {n_shards}") as rd:
        _run_into(c, model, specs, rd, argv, time.perf_counter(), detector=False, integrations=integrations)
    return str(d)


def run_parallel(card, out_dir: str | Path | None = None, *, workers: int | None = None,
                 scheduler: str | None = None, n_shards: int | None = None, overwrite: bool = False,
                 argv: list[str] | None = None) -> RunResult:
    """Run the card's shards on a Dask cluster (``workers`` local processes or the scheduler at ``scheduler``) and
    merge them into <out_dir>/<run name>/; the result equals the serial run event for event.

    The shards go to a hidden folder of the run directory (which must be on a file system the workers share) and are
    removed after the merge. One progress bar counts the finished shards.
    """
    from distributed import as_completed

    from generator.parallel import dask_client

    if card.run.n_shards > 1:
        msg = f"= {card.run.n_shards}: a parallel run makes its own shards; leave [run] n_shards at 1"
        raise CardError("run.n_shards", msg)
    t0 = time.perf_counter()
    out = output_dir(card, out_dir)
    n_est = card.run.events
    with RunDirectory(out, overwrite=overwrite, needed_bytes=2 * estimate_bytes(card, n_est),
                      label=f"run {card.name}, seed {card.run.seed}, parallel") as rd:
        base = rd.path / SHARDS_DIR
        from generator.model.model import Model

        model = Model(card.parameters())
        integrations = [ch.integration for ch in _plan(card, build_channels(card, model)).channels]
        try:
            with dask_client(workers=None if scheduler else workers, scheduler=scheduler) as client:
                n_workers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 1))
                k_shards = n_shards or SHARDS_PER_WORKER * n_workers
                bar = _progress(card, k_shards, f"shards {card.name}")
                shared = client.scatter(integrations, broadcast=True)
                futures = [client.submit(_run_shard, card, k, k_shards, str(base), argv or sys.argv, shared,
                                         pure=False) for k in range(k_shards)]
                dirs = []
                for fut in as_completed(futures):
                    dirs.append(Path(fut.result()))
                    bar.update(1)
                bar.close()
                t_shards = time.perf_counter() - t0
                dirs = sorted(dirs, key=lambda d: int(d.name.split("_")[1]))
                summaries = [_read_summary(d) for d in dirs]
                check_shards(summaries, dirs)
                summary = merged_summary(summaries)
                summary["parallel"] = {"shards": k_shards, "workers": n_workers, "scheduler": scheduler}
                # the cluster merges the other formats and draws the plots while this process merges events.root
                # and runs the detector on it
                files, pending = _merge_files(card, dirs, rd, summary, client)
                return _conclude(card, rd, summary, files, True, t0, {"shards": t_shards},
                                 wait=lambda: client.gather(pending))
        finally:
            shutil.rmtree(base, ignore_errors=True)


__all__ = ["SHARDS_DIR", "SHARDS_PER_WORKER", "check_shards", "merge_runs", "merged_summary", "run_parallel"]
