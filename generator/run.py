"""Run orchestration behind `dsgen run`: card -> model -> channels -> plan -> chunks -> decays -> streamed files.

A run is planned once (generator.pipeline.plan_run: seed-only integration of every channel, events shared among
channels by rate, chunks of fixed size), then processed chunk by chunk (generator.chunks): every chunk is produced,
decayed, filled into the control histograms and run through the detector, and its results are handed in run order to
the streaming writers of the card's formats (generator.io.formats), the histogram totals, reco.root and the summary
sums. Peak memory is bounded by the chunk size, never by the number of events.

Output safety (generator.io.rundir.RunDirectory): a run takes a lock on its directory before any work, refuses a
directory that holds files unless ``overwrite`` (which removes the previous run's files), checks free space against
the estimated size of its outputs, stages every file as ``*.part`` and publishes them all at the end.

Sharding: shard k of K (``[run] shard / n_shards`` or ``--shard/--n-shards``) makes a contiguous range of the run's
ordered chunk list; generator.shards merges shards into one run equal, event for event, to the unsharded one, and
runs a card's chunks on a Dask cluster (``workers``/``scheduler``) with the same result as the serial run.

Everything here is callable from Python: ``run_card(load_card(path))`` does what the CLI does.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generator import __version__
from generator.channel import ChannelSpec
from generator.chunks import RunSink, make_context, make_decay, process_chunk
from generator.engine import shard_range
from generator.errors import CardError
from generator.io.formats import get_output_format
from generator.io.rundir import RunDirectory
from generator.pipeline import RunPlan, iterate_chunks, plan_run
from generator.processes.registry import production

#: Approximate size of one event (bytes) in each output, measured on the shipped MiniBooNE card (`make bench`);
#: used only for the free-space check before a run (which allows a 10% margin on top).
BYTES_PER_EVENT = {"hepmc3": 1500.0, "hepmc3.gz": 450.0, "root": 420.0, "rntuple": 420.0, "detector": 160.0}
SUMMARY = "summary.json"
#: Stream tag of the one probe event per channel that declares its event-level columns before the run.
PROBE_STREAM = 2**31 - 3
PLOT_STATE = "control_histograms.npz"


@dataclass
class RunResult:
    """Outcome of a run: the summary (also in summary.json), the files written ({kind: path}), the directory and,
    for in-memory runs (``write=False``), the decayed event blocks."""

    card: object
    out_dir: Path
    summary: dict
    files: dict = field(default_factory=dict)
    blocks: list = field(default_factory=list)
    plan: RunPlan | None = None

    @property
    def channels(self) -> list:
        """The run's channels (generator.pipeline.ChannelPlan: spec, integration, allocated events) when this process
        planned the run; empty after a merge."""
        return self.plan.channels if self.plan is not None else []

    def format(self) -> str:
        s = self.summary
        lines = [f"run {s['run_name']} (seed {s['seed']}, shard {s['shard']}/{s['n_shards']}): {self.out_dir}"]
        lines.append(f"  {s['n_events_written']} events ({_allocation_text(s)})")
        lines.append(f"  {'channel':<44}{'sigma':>26}{'expected events':>24}{'events':>9}")
        for c in s["channels"]:
            if c.get("sigma_cm2") is not None:
                sig = f"{c['sigma_cm2']:.4g} cm2 {c.get('sigma_scale', '')}".rstrip()
            else:
                sig = "-"
            ev = f"{c['expected_events']:.4g} +- {c['expected_events_err']:.2g}"
            lines.append(f"  {c['name']:<44}{sig:>26}{ev:>24}{c['n_events_written']:>9}")
        total, after = s["expected_events_total"], s["expected_events_after_decays_total"]
        lines.append(f"  total expected events: {total:.4g} +- {s['expected_events_total_err']:.2g}")
        if abs(after - total) > 1e-9 * max(total, 1):
            lines.append(f"  after decays (forced-channel BRs, forced volumes): {after:.4g}")
        for k, v in self.files.items():
            lines.append(f"  {k}: {v}")
        if "detector" in s:
            d = s["detector"]
            lines.append(f"  detector {d['detector']}: {d['expected_events_after']:.4g} events after cuts "
                         f"(efficiency {d['efficiency']:.3%})")
        if "timing_s" in s:
            lines.append(f"  time: {s['timing_s']['total']:.1f} s")
        return "\n".join(lines)


def _allocation_text(s: dict) -> str:
    if s["allocation"] == "per_channel":
        return f"n_events_per_channel = {s['n_events']}"
    if s["weighted"]:
        return f"weighted, {s['n_events']} points shared by rate"
    return f"n_events = {s['n_events']} shared by rate, each event weighs {s['event_weight']:.4g} {s['weight_unit']}"


# ------------------------------------------------------------------------------------------------ building blocks
def card_productions(card) -> list:
    """The entries of the production registry (generator.processes.registry.Production) of the productions named in
    the card's [process], in card order, each once."""
    from generator.card import ProcessSection

    return [production(name) for name in dict.fromkeys((card.process or ProcessSection()).productions)]


def build_channels(card, model) -> list[ChannelSpec]:
    """All channels of a card: those of each production named in [process], in card order, each built by its
    entry in the production registry (generator.processes.registry)."""
    specs: list[ChannelSpec] = []
    for prod in card_productions(card):
        specs.extend(prod.channels(card, model))
    return specs


def output_dir(card, out_base: str | Path | None = None) -> Path:
    """Directory of a run: <base>/<run name>[/shard_<k>_of_<K>]."""
    base = Path(out_base) if out_base is not None else Path(card.output.directory)
    d = base / card.name
    if card.run.n_shards > 1:
        d = d / f"shard_{card.run.shard}_of_{card.run.n_shards}"
    return d


def _json_default(obj):
    if isinstance(obj, np.floating | np.integer):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    msg = f"not JSON serialisable: {type(obj)}"
    raise TypeError(msg)


def _dump(data: dict) -> str:
    return json.dumps(data, indent=2, default=_json_default) + "\n"


def write_json(path: str | Path, data: dict) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically (numpy scalars and arrays, paths converted)."""
    from generator.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(_dump(data))
    return path


def estimate_bytes(card, n_events: int) -> float:
    """Estimated size (bytes) of a run's outputs for ``n_events`` events (BYTES_PER_EVENT)."""
    total = 0.0
    for name in card.output.formats:
        key = "hepmc3.gz" if name == "hepmc3" and card.output.gzip else name
        total += BYTES_PER_EVENT.get(key, BYTES_PER_EVENT["root"]) * n_events
    if card.detector is not None:
        total += BYTES_PER_EVENT["detector"] * n_events
    return total


def _check_card(card, write: bool) -> None:
    card.run.validate("run")
    if write and card.detector is not None and "root" not in card.output.formats:
        msg = (f"{card.output.formats}: [detector] {card.detector.name!r} reads the ROOT TTree, "
               "add 'root' to the formats")
        raise CardError("output.formats", msg)
    for name in card.output.formats:
        get_output_format(name)


def _progress(card, total: int, desc: str):
    """A progress bar (drawn only when [run] progress is on and stderr is a terminal; generator.progress)."""
    from generator.progress import progress_bar

    return progress_bar(total, desc, card.run.progress)


# ------------------------------------------------------------------------------------------------ the header
def _channel_header(ch) -> dict:
    """Per-channel numbers known before any event (from the seed-only integration)."""
    from generator.xsec import cross_section_fields

    s, integ = ch.spec, ch.integration
    d = {
        "index": ch.index, "name": s.name, "production": s.production, "target": s.target, "regime": s.regime,
        "final_hnl": s.final_hnl, "weight_unit": integ.weight_unit,
        "expected_events": integ.rate, "expected_events_err": integ.rate_err,
        "expected_events_vegas": integ.vegas, "expected_events_vegas_err": integ.vegas_err,
        "vegas_chi2_dof": integ.vegas_chi2_dof, "expected_events_prescan": integ.prescan,
        "expected_events_prescan_err": integ.prescan_err, "w_max": integ.w_max,
        "unweighting_efficiency": integ.efficiency, "n_events": ch.n_events, "n_chunks": len(ch.chunks),
        "exposure_cm2_inv": s.exposure,
    }
    d.update(cross_section_fields(s, integ.rate, integ.rate_err))
    d.update(s.extra)
    return d


def run_header(card, model, plan: RunPlan, argv: list[str] | None = None) -> dict:
    """Everything about a run known before its first event (the writers' header; no shard-specific entries)."""
    from generator.io.root import info_columns
    from generator.provenance import build_provenance

    chans = [_channel_header(ch) for ch in plan.channels]
    spec = model.spectrum
    pots = {c["pot"] for c in chans if c.get("pot")}
    lumis = {(c.get("run") or c.get("sqrt_s_GeV")): c["luminosity_fb"] for c in chans if c.get("luminosity_fb")}
    kaons = {c["n_decays"] for c in chans if c.get("n_decays")}
    prov = build_provenance(card, model, argv)
    # the events tree is created at the first chunk: declare the event-level columns of every channel up front, from
    # one probe event per channel (its own stream; no event of the run)
    probes = [ch.spec.process.events(np.full((1, ch.spec.process.dim), 0.5), np.ones(1),
                                     np.random.default_rng([card.run.seed, ch.index, PROBE_STREAM]))
              for ch in plan.channels]
    units = {c["weight_unit"] for c in chans}
    unweighted_total = plan.allocation == "total" and not plan.weighted
    return {
        "version": __version__, "run_name": card.name, "seed": card.run.seed, "card": card.text,
        "model": prov["model_name"], "provenance": prov,
        "experiment": card.experiment.name if card.experiment else None,
        "weighted": plan.weighted, "allocation": plan.allocation, "n_events": plan.n_events,
        "event_weight": (plan.total_rate / plan.n_events) if unweighted_total else None,
        "weight_unit": units.pop() if len(units) == 1 else "mixed",
        "n_chunks_total": len(plan.tasks),
        "channels": chans,
        "expected_events_total": plan.total_rate, "expected_events_total_err": plan.total_rate_err,
        "hnl_mass_GeV": {n: spec.mass(n) for n in spec.heavy_names},
        "hnl_ctau0_cm": {n: model.ctau0_cm(n) for n in spec.heavy_names},
        "vertex_convention": model.convention,
        "info_columns": info_columns(probes),
        "pot": max(pots) if pots else None,
        "luminosity_fb": float(sum(lumis.values())) if lumis else None,
        "n_kaon_decays": max(kaons) if kaons else None,
    }


def _finish_summary(header: dict, plan: RunPlan, shard: int, n_shards: int, chunks: list[list[int]]) -> dict:
    """The header plus what this shard's chunks produced (sums that add across shards); ``chunks``: [channel, chunk,
    first event, size, events written] of each of its chunks, in run order."""
    summary = json.loads(json.dumps(header, default=_json_default))
    for c, ch in zip(summary["channels"], plan.channels, strict=True):
        c["sampled"] = ch.stats.as_dict()
        c["expected_events_after_decays"] = ch.sum_w_after_decays
        c["n_events_written"] = ch.n_written
    _derived(summary)
    summary.update(shard=shard, n_shards=n_shards, chunks=chunks)
    return summary


def _derived(summary: dict) -> None:
    """Totals and sampled-estimate diagnostics recomputed from the per-channel sums (used after a merge too)."""
    for c in summary["channels"]:
        s = c["sampled"]
        n = s["n_points"]
        mean = s["sum_w"] / n if n else 0.0
        c["expected_events_sampled"] = mean
        c["expected_events_sampled_err"] = math.sqrt(max(s["sum_w2"] / n - mean**2, 0.0) / n) if n else 0.0
        c["overweight_fraction"] = s["n_overweight"] / n if n else 0.0
    summary["expected_events_after_decays_total"] = float(sum(c["expected_events_after_decays"]
                                                              for c in summary["channels"]))
    summary["n_events_written"] = int(sum(c["n_events_written"] for c in summary["channels"]))


# ------------------------------------------------------------------------------------------------ one process
def run_card(card, out_dir: str | Path | None = None, write: bool = True, *, overwrite: bool = False,
             workers: int | None = None, scheduler: str | None = None, argv: list[str] | None = None) -> RunResult:
    """Generate, decay and write a card's events; returns the RunResult.

    out_dir : base directory (default [output].directory); the run goes to <out_dir>/<run name>[/shard_k_of_K].
    write : False keeps the (small!) run in memory and writes nothing (RunResult.blocks).
    overwrite : replace a previous run in the directory (its own files only).
    workers, scheduler : process the chunks in ``workers`` local processes (this one and ``workers - 1`` Dask workers
        of a LocalCluster), or on the Dask scheduler at ``scheduler`` (generator.shards.run_parallel); the files are
        the serial run's.
    """
    _check_card(card, write)
    if write and ((workers is not None and workers > 1) or scheduler is not None):
        from generator.shards import run_parallel

        return run_parallel(card, out_dir, workers=workers, scheduler=scheduler, overwrite=overwrite, argv=argv)
    from generator.model.model import Model

    t0 = time.perf_counter()
    model = Model(card.parameters())
    specs = build_channels(card, model)
    rc = card.run
    out = output_dir(card, out_dir)
    if not write:
        plan = _plan(card, specs)
        header = run_header(card, model, plan, argv)
        tasks = plan.shard_tasks(rc.shard, rc.n_shards)
        outs = list(iterate_chunks(plan, tasks, make_decay(card, model)))
        blocks = [b for o in outs for b in o.blocks]
        chunks = [[o.task.channel, o.task.chunk, o.task.first, o.task.size, o.n_events] for o in outs]
        summary = _finish_summary(header, plan, rc.shard, rc.n_shards, chunks)
        summary["timing_s"] = {"total": time.perf_counter() - t0}
        return RunResult(card=card, out_dir=out, summary=summary, blocks=blocks, plan=plan)
    n_est = rc.events * (len(specs) if rc.allocation == "per_channel" else 1)
    with RunDirectory(out, overwrite=overwrite, needed_bytes=estimate_bytes(card, n_est) / rc.n_shards,
                      label=f"run {card.name}, seed {rc.seed}") as rd:
        result = _run_into(card, model, specs, rd, argv, t0)
    return result


def _plan(card, specs) -> RunPlan:
    rc = card.run
    bar = _progress(card, len(specs), f"integrate {card.name}")
    plan = plan_run(specs, seed=rc.seed, n_events=rc.events, allocation=rc.allocation, weighted=rc.weighted,
                    n_adapt=rc.n_adapt, evals_per_iter=rc.evals_per_iter, on_channel=lambda name: bar.update(1))
    bar.close()
    return plan


def _run_into(card, model, specs, rd: RunDirectory, argv, t0: float) -> RunResult:
    """Plan, then process and sink every chunk of this shard in order (generator.chunks) into ``rd`` (staged): events
    files, control plots and, for an unsharded run with a [detector], the detector stage; then summary and commit.
    A shard of a run (n_shards > 1) writes the plots' histograms and no PNGs and has no detector stage: the merge of
    the shards does both."""
    rc = card.run
    plan = _plan(card, specs)
    t_plan = time.perf_counter() - t0
    header = run_header(card, model, plan, argv)
    indices = list(shard_range(len(plan.tasks), rc.shard, rc.n_shards))
    whole = rc.n_shards == 1
    ctx = make_context(card, model, plan, header, detector=whole)
    sink = RunSink(card, plan, header, rd, detector=ctx.detector)
    try:
        bar = _progress(card, sum(plan.tasks[i].size for i in indices), f"events {card.name}")
        for i in indices:
            sink.add(process_chunk(ctx, i))
            bar.update(plan.tasks[i].size)
        bar.close()
        t_events = time.perf_counter() - t0 - t_plan
        summary = _finish_summary(header, plan, rc.shard, rc.n_shards, sink.chunk_list(indices))
        files = sink.close(summary)
        sink.finish_detector(summary, files)
    except BaseException:
        sink.abort()
        raise
    if sink.plots is not None:
        files["plots"] = _save_plots(sink.plots, rd, render=whole)
    result = _conclude(card, rd, summary, files, False, t0, {"plan": t_plan, "events": t_events})
    result.plan = plan
    return result


def _conclude(card, rd: RunDirectory, summary: dict, files: dict, detector: bool, t0: float,
              timing: dict, wait=None) -> RunResult:
    """Detector (on the staged events file), then ``wait()`` (work running elsewhere meanwhile), summary.json,
    commit."""
    if detector and card.detector is not None and summary["n_shards"] == 1:
        summary["detector"] = _detect(card, rd, files)
        files["detector"] = str(rd.path)
    if wait is not None:
        wait()
    timing["total"] = time.perf_counter() - t0
    summary["timing_s"] = timing
    rd.stage(SUMMARY).write_text(_dump(summary))
    files["summary"] = str(rd.path / SUMMARY)
    rd.commit({"run_name": summary["run_name"], "seed": summary["seed"], "shard": summary["shard"],
               "n_shards": summary["n_shards"]})
    return RunResult(card=card, out_dir=rd.path, summary=summary, files=files)


def _detect(card, rd: RunDirectory, files: dict) -> dict:
    """The detector on the staged events file; its outputs are written to the run's scratch folder and staged into
    the run, so they appear with the events (all or nothing)."""
    from detectors import detect_main

    scratch = rd.scratch()
    det = detect_main(card.detector.name, rd.staged_path("events.root"), out_dir=scratch, seed=card.detector.seed,
                      data_release=card.detector.data_release_path(card.path))
    # the detector read the staged file; its summary names the file the run publishes
    det.setdefault("extra", {})["input"] = str(rd.path / "events.root")
    summary_file = scratch / "detector_summary.json"
    if summary_file.is_file():
        data = json.loads(summary_file.read_text())
        data.setdefault("extra", {})["input"] = det["extra"]["input"]
        summary_file.write_text(_dump(data))
    det["files"] = rd.stage_folder(scratch)
    return det


def _plot_names(plots) -> list[str]:
    """File names of the PNGs :meth:`generator.plots.ControlPlots.render` writes."""
    return [f"control_{name}.png" for name in plots.hists]


def _save_plots(plots, rd: RunDirectory, render: bool = True) -> list[str]:
    """The plots' histograms (PLOT_STATE, for merging shards) and, with ``render``, the PNGs, staged."""
    plots.save(rd.stage(PLOT_STATE))
    if not render:
        return [str(rd.path / PLOT_STATE)]
    names: list[str] = []

    def stage(name: str) -> Path:
        names.append(name)
        return rd.stage(name)

    plots.render(stage)
    return [str(rd.path / n) for n in names]


__all__ = ["BYTES_PER_EVENT", "PLOT_STATE", "SUMMARY", "RunResult", "build_channels", "card_productions",
           "estimate_bytes", "output_dir", "run_card", "run_header", "write_json"]
