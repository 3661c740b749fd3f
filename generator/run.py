"""Run orchestration behind `dsgen run`: card -> model -> channels -> engine -> decays -> files.

Each registered production (generator.processes.registry) builds ``list[ChannelSpec]`` from the card; the engine
generates every channel; the decay step decays the HNLs (and Z'/phi'); writers put HepMC3, ROOT, plots and
summary.json into ``<output.directory>/<run name>/`` (``.../<run name>/shard_<k>_of_<K>/`` for a shard).
Everything here is callable from Python: ``run_card(load_card(path))`` does what the CLI does.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generator import __version__
from generator.channel import ChannelSpec
from generator.engine import GenerationResult, generate, merge
from generator.errors import DataFileError
from generator.io.atomic import atomic_path
from generator.io.formats import write_formats
from generator.processes.registry import production
from generator.record import EventBlock

@dataclass
class ChannelRun:
    spec: ChannelSpec
    result: GenerationResult

    def summary(self) -> dict:
        r, s = self.result, self.spec
        d = {
            "name": s.name, "production": s.production, "target": s.target, "regime": s.regime,
            "final_hnl": s.final_hnl,
            "sigma_cm2": (r.integral / s.exposure) if s.exposure else None,
            "sigma_err_cm2": (r.error / s.exposure) if s.exposure else None,
            "expected_events": r.integral, "expected_events_err": r.error,
            "expected_events_vegas": r.integral_vegas, "expected_events_vegas_err": r.error_vegas,
            "vegas_chi2_dof": r.chi2_dof, "n_generated": r.n_generated, "n_events": int(r.block.n_events),
            "weighted": r.weighted, "unweighting_efficiency": r.unweighting_efficiency,
            "overweight_fraction": r.overweight_fraction,
            # sums kept so that shards merge exactly (generator.run.merge_runs)
            "sum_w": r.sum_w, "sum_w2": r.sum_w2, "n_overweight": r.n_overweight, "chunks": list(r.chunks),
            "w_max": r.w_max, "timing_s": r.timing_s,
        }
        d.update(s.extra)
        return d


@dataclass
class RunResult:
    card: object
    out_dir: Path
    channels: list[ChannelRun]
    blocks: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)

    def format(self) -> str:
        s = self.summary
        lines = [f"run {s['run_name']} (seed {s['seed']}, shard {s['shard']}/{s['n_shards']}): {self.out_dir}"]
        lines.append(f"  {'channel':<44}{'sigma [cm^2]':>14}{'expected events':>24}{'generated':>11}{'kept':>9}")
        for c in s["channels"]:
            sig = f"{c['sigma_cm2']:14.4g}" if c["sigma_cm2"] is not None else f"{'-':>14}"
            ev = f"{c['expected_events']:.4g} +- {c['expected_events_err']:.2g}"
            lines.append(f"  {c['name']:<44}{sig}{ev:>24}{c['n_generated']:>11}{c['n_events']:>9}")
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
        lines.append(f"  time: {s['timing_s']['total']:.1f} s")
        return "\n".join(lines)


def build_channels(card, model) -> list[ChannelSpec]:
    """All channels of a card: those of each production named in [process], in card order, each built by its
    entry in the production registry (generator.processes.registry)."""
    from generator.card import ProcessSection

    process = card.process or ProcessSection()
    specs: list[ChannelSpec] = []
    for name in dict.fromkeys(process.productions):
        specs.extend(production(name).channels(card, model))
    return specs


def output_dir(card, out_base: str | Path | None = None) -> Path:
    """Directory of a run: <base>/<run name>[/shard_<k>_of_<K>]."""
    base = Path(out_base) if out_base is not None else Path(card.output.directory)
    d = base / card.name
    if card.run.n_shards > 1:
        d = d / f"shard_{card.run.shard}_of_{card.run.n_shards}"
    return d


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(obj):
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    msg = f"not JSON serialisable: {type(obj)}"
    raise TypeError(msg)


def _stage_bar(card, total: int):
    """Progress bar over the stages of a run (generation per channel, decays, each output)."""
    if not card.run.progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"run {card.name}", unit="stage")


def _advance(bar, label: str) -> None:
    if bar is not None:
        bar.set_postfix_str(label)
        bar.update(1)


def decay_by_chunk(blocks: list, model, decay_section, seed: int) -> list:
    """Decay produced events chunk by chunk, each production chunk with its own stream [seed, 99, block, chunk].

    The accept-reject bounds come from seed-only prescans (one DecayPlan per run), so the decayed events of a
    chunk are the same whichever shard produced it: shards merge into exactly the events of the unsharded run.
    Output blocks are grouped by (channel, topology), events ordered by chunk.
    """
    from generator.decay import DecayPlan, decay_blocks

    plan = DecayPlan(model, decay_section, prescan_seed=[seed, 98])
    groups: dict[tuple, list] = {}
    for k, block in enumerate(blocks):
        chunk = np.asarray(block.info.get("chunk", np.zeros(block.n_events, dtype=np.int64)))
        for c in np.unique(chunk):
            rng = np.random.default_rng([seed, 99, k, int(c)])
            for out in decay_blocks([block.select(chunk == c)], model, decay_section, rng, plan=plan):
                key = (out.channel, out.pdg.tobytes(), out.status.tobytes(), out.mother.tobytes())
                groups.setdefault(key, []).append(out)
    return [EventBlock.concatenate(parts) for parts in groups.values()]


def run_card(card, out_dir: str | Path | None = None, write: bool = True) -> RunResult:
    """Generate, decay and write a card's events. Returns the RunResult (summary, blocks, file paths)."""
    from generator.model.model import Model

    t0 = time.perf_counter()
    rc = card.run
    if write and card.detector is not None and "root" not in card.output.formats:
        from generator.errors import CardError

        key = "output.formats"
        msg = (f"{card.output.formats}: [detector] {card.detector.name!r} reads the ROOT TTree, "
               "add 'root' to the formats")
        raise CardError(key, msg)
    model = Model(card.parameters())
    specs = build_channels(card, model)
    n_out = (len(card.output.formats) + int(card.output.plots) + int(card.detector is not None)) if write else 0
    bar = _stage_bar(card, len(specs) + int(card.decay.enabled) + n_out)
    runs = []
    for i, spec in enumerate(specs):
        res = generate(
            spec.process, n_events=rc.n_events, seed=rc.seed + 7919 * i, shard=rc.shard, n_shards=rc.n_shards,
            n_adapt=rc.n_adapt, evals_per_iter=rc.evals_per_iter, weighted=rc.weighted, progress=rc.progress,
        )
        res.block.channel = spec.name
        runs.append(ChannelRun(spec, res))
        _advance(bar, f"generated {spec.name}")
    t_gen = time.perf_counter() - t0
    blocks = [r.result.block for r in runs]
    if card.decay.enabled:
        blocks = decay_by_chunk(blocks, model, card.decay, rc.seed)
        _advance(bar, "decays")
    t_dec = time.perf_counter() - t0 - t_gen
    summary = _summary(card, model, runs, blocks)
    result = RunResult(card=card, out_dir=output_dir(card, out_dir), channels=runs, blocks=blocks, summary=summary)
    if write:
        _write_outputs(result, model, lambda label: _advance(bar, label))
    if bar is not None:
        bar.close()
    summary["timing_s"] = {"generation": t_gen, "decay": t_dec, "total": time.perf_counter() - t0}
    if write:
        write_json(result.out_dir / "summary.json", summary)
        result.files["summary"] = str(result.out_dir / "summary.json")
    return result


def _summary(card, model, runs: list[ChannelRun], blocks: list) -> dict:
    chans = [r.summary() for r in runs]
    # after the decay step: forced channels carry their branching ratio in the weights, and events whose decay
    # was forced into a volume carry that probability; these sums are the rates of the decayed samples.
    after = {}
    for b in blocks:
        after[b.channel] = after.get(b.channel, 0.0) + float(b.weight.sum())
    for c in chans:
        c["expected_events_after_decays"] = after.get(c["name"], 0.0)
    tot = sum(c["expected_events"] for c in chans)
    err = float(np.sqrt(sum(c["expected_events_err"] ** 2 for c in chans)))
    exp = card.experiment
    spec = model.spectrum
    # exposure of the run: POT (neutrino beams), integrated luminosity per running point (colliders), kaon decays
    pots = {c["pot"] for c in chans if c.get("pot")}
    lumis = {(c.get("run") or c.get("sqrt_s_GeV")): c["luminosity_fb"] for c in chans if c.get("luminosity_fb")}
    kaons = {c["n_decays"] for c in chans if c.get("n_decays")}
    return {
        "version": __version__, "run_name": card.name, "seed": card.run.seed, "shard": card.run.shard,
        "n_shards": card.run.n_shards, "card": card.text, "model": card.parameters().name,
        "experiment": exp.name if exp else None,
        "channels": chans, "expected_events_total": tot, "expected_events_total_err": err,
        "expected_events_after_decays_total": float(sum(c["expected_events_after_decays"] for c in chans)),
        "hnl_mass_GeV": {n: spec.mass(n) for n in spec.heavy_names},
        "hnl_ctau0_cm": {n: model.ctau0_cm(n) for n in spec.heavy_names},
        "weighted": card.run.weighted,
        "pot": max(pots) if pots else None,
        "luminosity_fb": float(sum(lumis.values())) if lumis else None,
        "n_kaon_decays": max(kaons) if kaons else None,
        "vertex_convention": model.convention,
    }


def _write_outputs(result: RunResult, model, done=lambda label: None) -> None:
    """Write the event files of every [output] format (generator.io.formats registry), plots, detector."""
    card, out = result.card, result.out_dir
    out.mkdir(parents=True, exist_ok=True)
    run_info = dict(result.summary)
    result.files.update(write_formats(out, result.blocks, run_info, card.output, done))
    if card.output.plots:
        from generator.plots import control_plots

        result.files["plots"] = [str(p) for p in control_plots(result.blocks, out)]
        done("plots")
    if card.detector is not None:
        from detectors import detect_main

        det = detect_main(card.detector.name, result.files["root"], out_dir=out,
                          seed=card.detector.seed, data_release=card.detector.data_release_path(card.path))
        result.summary["detector"] = det
        done(f"detector {card.detector.name}")


def merge_runs(run_dirs: list[str | Path], out_dir: str | Path) -> Path:
    """Merge the summary.json of shard runs of one card into the estimates of the unsharded run.

    Per channel, sums of weights, of squared weights and of generated points add (generator.engine.merge
    does the same for in-memory results), so the merged rate and error equal the single-process run's.
    """
    summaries = []
    for d in run_dirs:
        path = Path(d) / "summary.json"
        try:
            summaries.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            msg = f"cannot read shard summary {path}: {exc}"
            raise DataFileError(msg) from None
    first = summaries[0]
    for s in summaries[1:]:
        if s["card"] != first["card"] or s["seed"] != first["seed"]:
            msg = (f"shard {s['run_name']} (seed {s['seed']}) is not from the same card and seed as "
                   f"{first['run_name']}; shards merge only with the same card text and seed")
            raise DataFileError(msg)
    shards = sorted(s["shard"] for s in summaries)
    if shards != list(range(first["n_shards"])):
        msg = f"shards {shards} do not cover 0..{first['n_shards'] - 1}; merge every shard of the run"
        raise DataFileError(msg)
    merged = dict(first)
    chans = []
    for k, c0 in enumerate(first["channels"]):
        parts = [s["channels"][k] for s in summaries]
        sum_w = sum(p["sum_w"] for p in parts)
        sum_w2 = sum(p["sum_w2"] for p in parts)
        n = sum(p["n_generated"] for p in parts)
        mean = sum_w / n
        err = float(np.sqrt(max(sum_w2 / n - mean**2, 0.0) / n))
        c = dict(c0)
        scale = (c0["sigma_cm2"] / c0["expected_events"]) if c0.get("sigma_cm2") else None
        c.update(expected_events=mean, expected_events_err=err, n_generated=n, sum_w=sum_w, sum_w2=sum_w2,
                 n_events=sum(p["n_events"] for p in parts), chunks=sorted(x for p in parts for x in p["chunks"]),
                 n_overweight=sum(p["n_overweight"] for p in parts))
        c["overweight_fraction"] = c["n_overweight"] / n
        if scale is not None:
            c["sigma_cm2"], c["sigma_err_cm2"] = mean * scale, err * scale
        chans.append(c)
    merged.update(channels=chans, shard=0, n_shards=1,
                  expected_events_total=sum(c["expected_events"] for c in chans),
                  expected_events_total_err=float(np.sqrt(sum(c["expected_events_err"] ** 2 for c in chans))),
                  merged_from=[str(d) for d in run_dirs])
    out = Path(out_dir)
    write_json(out / "summary.json", merged)
    return out


__all__ = ["ChannelRun", "RunResult", "build_channels", "merge", "merge_runs", "run_card"]
