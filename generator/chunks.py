"""The work of one chunk of a run, and the ordered sink that turns chunks into the run's files.

A planned run (generator.pipeline) is a list of chunks, each with its own random streams. :func:`process_chunk` does
everything one chunk needs, independently of every other chunk: it produces and decays the chunk's events, fills the
chunk's control histograms, runs the detector chain on it (random numbers keyed by the chunk,
detectors.stream.chunk_rng) and, when asked to, encodes the events for each output format (io.formats). The
:class:`RunSink` then takes the chunks' results *in run order*: it writes (or appends) the events to the run's files,
adds the histograms, folds the detector chunks into reco.root and the cut flow, and adds the sums the summary
reports.

A serial run (generator.run) processes and sinks each chunk in one process. A parallel run
(generator.shards.run_parallel) processes the chunks on Dask workers, which spool their results to disk, while the
run's process sinks them in order as they come and makes the next chunk itself whenever no result is due. Every sum
is added chunk by chunk in run order in both cases, so the same card and seed give the same events, histograms,
detector output and summary however the run is executed. Memory is bounded by the chunk (a few chunks in a parallel
run's process) in both.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from generator.engine import ChunkStats
from generator.io.formats import requested_formats
from generator.pipeline import DECAY_PRESCAN_STREAM, ChunkTask, RunPlan, produce_chunk

#: File of a spooled chunk result, inside the spool folder of a parallel run.
SPOOL_RESULT = "chunk_{index}.pkl"


@dataclass
class RunContext:
    """What processing a chunk needs: the card, model and plan of the run, its header (the writers' run_info), the
    decay step and the detector stage (None without a detector)."""

    card: object
    model: object
    plan: RunPlan
    header: dict
    decay: object = None
    detector: object = None


def make_decay(card, model):
    """The decay step of a run (None when [decay] is off): decay_blocks with the seed-only DecayPlan."""
    if not card.decay.enabled:
        return None
    from generator.decay import DecayPlan, decay_blocks

    dplan = DecayPlan(model, card.decay, prescan_seed=[card.run.seed, DECAY_PRESCAN_STREAM])

    def decay(block, rng):
        return decay_blocks([block], model, card.decay, rng, plan=dplan)

    return decay


def detector_metadata(header: dict) -> dict:
    """The run metadata the detector sees: the header as the events file stores it (generator.io.header_metadata,
    JSON types), so that the in-run detector and ``dsgen detect`` on the file see the same numbers."""
    from generator.io import header_metadata, metadata_json

    return json.loads(metadata_json(header_metadata(header)))


def make_detector(card, header: dict):
    """The detector stage of a run with a [detector] section (detectors.stream.DetectorStage), else None."""
    if card.detector is None:
        return None
    from detectors import DetectorStage, detector_options

    meta = detector_metadata(header)
    options = detector_options(card.detector.name, meta, None, card.detector.data_release_path(card.path))
    return DetectorStage(card.detector.name, meta, card.detector.seed, options)


def make_context(card, model, plan: RunPlan, header: dict, detector: bool = True) -> RunContext:
    """The context of a run's chunks (``detector=False``: no detector stage, e.g. for a shard)."""
    return RunContext(card=card, model=model, plan=plan, header=header, decay=make_decay(card, model),
                      detector=make_detector(card, header) if detector else None)


@dataclass
class ChunkResult:
    """What one chunk contributes to the run (see module docstring).

    ``blocks``: the decayed events (serial runs: written by the sink's writers) or None when ``encoded`` holds them
    ({format name: payload of fmt.encode}); ``plots``: the chunk's control histograms (generator.plots.ControlPlots)
    or None; ``detector``: its detectors.stream.DetectorChunk or None. ``sum_w``: sum of the weights after decays.
    """

    index: int
    task: ChunkTask
    stats: ChunkStats
    n_events: int
    sum_w: float
    blocks: list | None = None
    encoded: dict = field(default_factory=dict)
    plots: object = None
    detector: object = None


def detector_events(blocks, header: dict):
    """The chunk's events (at least one) as the detector reads them from the events file (the TTree "events" layout,
    generator.io.root), built in memory."""
    import awkward as ak

    from generator.io.root import encode_chunk

    parts = [ak.zip(dict(cols), depth_limit=1) for cols in encode_chunk(blocks, header).columns]
    return parts[0] if len(parts) == 1 else ak.concatenate(parts)


def process_chunk(ctx: RunContext, index: int, spool: Path | None = None) -> ChunkResult:
    """Process chunk ``index`` of the plan (module docstring). With ``spool`` (a folder), the events are encoded for
    every output format of the card (files the encoders write go there) and not kept."""
    task = ctx.plan.tasks[index]
    out = produce_chunk(ctx.plan, task, ctx.decay)
    blocks = out.blocks
    result = ChunkResult(index=index, task=task, stats=out.stats, n_events=out.n_events,
                         sum_w=float(sum(b.weight.sum() for b in blocks)))
    if ctx.card.output.plots:
        from generator.plots import ControlPlots

        result.plots = ControlPlots(ctx.header).fill(blocks)
    if ctx.detector is not None and out.n_events:
        result.detector = ctx.detector.process(detector_events(blocks, ctx.header), (task.channel, task.chunk))
    if spool is None:
        result.blocks = blocks
    else:
        for fmt in requested_formats(ctx.card.output):
            result.encoded[fmt.name] = fmt.encode(blocks, ctx.header, ctx.card.output,
                                                  Path(spool) / f"chunk_{index}.{fmt.name}")
    return result


def spool_result(result: ChunkResult, spool: Path) -> Path:
    """Write a chunk result into the spool folder (a worker of a parallel run); returns its path."""
    path = Path(spool) / SPOOL_RESULT.format(index=result.index)
    with path.open("wb") as fh:
        pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_spooled(path: Path) -> ChunkResult:
    """Read a spooled chunk result and remove its file."""
    path = Path(path)
    with path.open("rb") as fh:
        result = pickle.load(fh)
    path.unlink()
    return result


class RunSink:
    """The ordered sink of a run's chunk results: the events files (staged in ``rd``), the control histograms, the
    detector stage and the per-channel sums of the plan.

    ``encoded``: the results carry encoded payloads (a parallel run; the formats' appenders write them) instead of
    blocks (the formats' streaming writers). ``detector``: fold detector chunks (reco.root staged in ``rd``).
    """

    def __init__(self, card, plan: RunPlan, header: dict, rd, *, encoded: bool = False, detector=None) -> None:
        from generator.io.formats import open_writers

        self.card, self.plan, self.header, self.rd = card, plan, header, rd
        self.encoded = encoded
        self.file_names = {fmt.name: fmt.file_name(card.output) for fmt in requested_formats(card.output)}
        self.detector = None
        if encoded:
            self.writers = {}
            try:
                for fmt in requested_formats(card.output):
                    path = rd.stage(self.file_names[fmt.name])
                    self.writers[fmt.name] = (path, fmt.open_appender(path, header, card.output))
            except BaseException:
                self.abort()
                raise
        else:
            self.writers = open_writers(rd.stage, header, card.output)
        self.plots = None
        if card.output.plots:
            from generator.plots import ControlPlots

            self.plots = ControlPlots(header)
        self.detector = detector
        if detector is not None:
            detector.open(rd.stage("reco.root"))
        self.written: dict[int, int] = {}

    def add(self, r: ChunkResult) -> None:
        """Take the next chunk result (in run order); raises the exception of a signal the run has received
        (RunDirectory.check_signals)."""
        self.rd.check_signals()
        ch = self.plan.channels[r.task.channel]
        ch.stats.add(r.stats)
        ch.sum_w_after_decays += r.sum_w
        ch.n_written += r.n_events
        self.written[r.index] = r.n_events
        for name, (_, w) in self.writers.items():
            if self.encoded:
                w.write_encoded(r.encoded[name])
            else:
                w.write(r.blocks)
        if self.plots is not None:
            self.plots.add(r.plots)
        if self.detector is not None and r.detector is not None:
            self.detector.add(r.detector)

    def chunk_list(self, indices) -> list[list[int]]:
        """The summary's ``chunks``: [channel, chunk, first event, size, events written] of each chunk, in order."""
        out = []
        for i in indices:
            t = self.plan.tasks[i]
            out.append([t.channel, t.chunk, t.first, t.size, self.written[i]])
        return out

    def close(self, summary: dict) -> dict:
        """Finish the events files with the final ``summary``; returns {format name: published path}."""
        files = {}
        for name, (_, w) in self.writers.items():
            w.close(summary)
            files[name] = str(self.rd.path / self.file_names[name])
        self.writers = {}
        return files

    def finish_detector(self, summary: dict, files: dict) -> None:
        """Finish the detector stage: reco.root, then cut flow, plots and detector_summary.json (staged); the
        detector summary goes into the run's ``summary["detector"]`` and the run directory into ``files``. Nothing
        without a detector."""
        if self.detector is None:
            return
        from detectors import write_detector_outputs
        from detectors.output import _jsonable

        result = self.detector.finish()
        result.extra.setdefault("seed", self.detector.seed)
        result.extra["input"] = str(self.rd.path / "events.root")
        result.extra["chunk_entries"] = "generation chunks"
        result.files["reco"] = str(self.rd.path / "reco.root")
        scratch = self.rd.scratch()
        written = write_detector_outputs(result, scratch)
        published = {k: (str(self.rd.path / Path(v).relative_to(scratch)) if Path(v).is_relative_to(scratch) else v)
                     for k, v in written.items()}
        result.files = published
        summary_det = _jsonable(result.summary())
        (scratch / "detector_summary.json").write_text(json.dumps(summary_det, indent=2) + "\n")
        summary_det["files"] = [str(self.rd.path / "reco.root"), *self.rd.stage_folder(scratch)]
        summary["detector"] = summary_det
        files["detector"] = str(self.rd.path)

    def abort(self) -> None:
        """Close every open file without finishing it (after an error; the run directory discards them)."""
        for _, w in self.writers.values():
            getattr(w, "abort", w.close)()
        self.writers = {}
        if self.detector is not None:
            self.detector.abort()


__all__ = ["SPOOL_RESULT", "ChunkResult", "RunContext", "RunSink", "detector_events", "load_spooled", "make_context",
           "make_decay", "make_detector", "process_chunk", "spool_result"]
