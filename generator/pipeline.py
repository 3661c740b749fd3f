"""The streamed event pipeline of a run: plan (seed-only) -> chunks -> production -> decays, one chunk at a time.

A run is planned once from its channels (generator.channel.ChannelSpec): every channel is integrated on streams that
depend on the seed and the channel's index only (generator.engine.integrate), the run's events are shared among
channels in proportion to their rates (``n_events``, the default: every unweighted event of the run then carries the
same weight, total rate / n_events) or given to each channel (``n_events_per_channel``), and each channel is cut into
chunks of fixed size. The run's ordered chunk list (channel-major, then chunk index) is the unit of work: shard s of K
takes a contiguous range of it (generator.engine.shard_range), so the concatenation of the shards, in shard order, is
exactly the unsharded run. Each chunk is produced and decayed with its own streams ([seed, channel, ...] for the
production, [seed, DECAY_STREAM, channel, chunk] for the decays), so its events do not depend on any other chunk.

Peak memory is set by the chunk size (generator.engine.STREAM_CHUNK_EVENTS), never by the number of events: callers
consume :func:`iterate_chunks` one chunk at a time and hand each to the writers.

Units: rates and weights in the processes' weight unit ("events": expected events for the run's exposure).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from generator.engine import (
    STREAM_CHUNK_EVENTS,
    ChunkStats,
    Integration,
    allocate_events,
    chunk_plan,
    integrate,
    sample_chunk,
    shard_range,
)
from generator.record import EventBlock

#: Seed-stream tags of the decay step: [seed, DECAY_STREAM, channel, chunk] per chunk, [seed, DECAY_PRESCAN_STREAM]
#: for the seed-only accept-reject bounds of the decay samplers.
DECAY_STREAM = 99
DECAY_PRESCAN_STREAM = 98
#: Allocation modes: "total" shares n_events among channels by rate; "per_channel" gives n_events to each.
ALLOCATIONS = ("total", "per_channel")


@dataclass
class ChannelPlan:
    """One channel of a planned run: its spec, seed-only integration, allocated events and chunk sizes.

    ``event_weight`` multiplies the sampled events: the common weight of an unweighted event (weight unit of the
    process), or 1 / (points of the channel) for weighted sampling.
    """

    index: int
    spec: object
    integration: Integration
    n_events: int
    chunks: list[int]
    event_weight: float
    stats: ChunkStats = field(default_factory=ChunkStats)
    sum_w_after_decays: float = 0.0
    n_written: int = 0

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class ChunkTask:
    """Chunk ``chunk`` of channel ``channel``: ``size`` events (unweighted) or points (weighted); ``first`` is the
    index of its first event (point) in the whole run, so that ``first + index in chunk`` is an event's run-wide
    ``event_id`` whichever shard makes it."""

    channel: int
    chunk: int
    size: int
    first: int = 0


@dataclass
class ChunkOutput:
    """What one chunk produced: the decayed event blocks (one per topology, events in production order) and the
    sums of the sampled points."""

    task: ChunkTask
    blocks: list[EventBlock]
    stats: ChunkStats

    @property
    def n_events(self) -> int:
        return int(sum(b.n_events for b in self.blocks))


@dataclass
class RunPlan:
    """The seed-only plan of a run: channels with their integrations and allocations, and the ordered chunk list."""

    seed: int
    weighted: bool
    allocation: str
    n_events: int
    channels: list[ChannelPlan]
    tasks: list[ChunkTask]

    @property
    def total_rate(self) -> float:
        return float(sum(c.integration.rate for c in self.channels))

    @property
    def total_rate_err(self) -> float:
        return float(math.sqrt(sum(c.integration.rate_err**2 for c in self.channels)))

    def shard_tasks(self, shard: int, n_shards: int) -> list[ChunkTask]:
        """The contiguous range of the ordered chunk list that shard ``shard`` of ``n_shards`` makes."""
        return [self.tasks[i] for i in shard_range(len(self.tasks), shard, n_shards)]


def plan_run(specs: Sequence, *, seed: int, n_events: int, allocation: str = "total", weighted: bool = False,
             n_adapt: int = 10, evals_per_iter: int = 20000, chunk_size: int = STREAM_CHUNK_EVENTS,
             progress: bool = False, on_channel=None) -> RunPlan:
    """Integrate every channel (seed-only) and lay out the run's chunks.

    specs : ChannelSpec list (order fixes the channel indices, hence the random streams).
    n_events : total events of the run (allocation "total") or events per channel ("per_channel"); for weighted runs
        the same numbers count sampled points.
    on_channel : optional callback(name) after each channel is integrated (progress reporting).
    """
    if allocation not in ALLOCATIONS:
        msg = f"allocation = {allocation!r}: allowed {ALLOCATIONS}"
        raise ValueError(msg)
    if n_events <= 0:
        msg = f"n_events = {n_events}: must be > 0"
        raise ValueError(msg)
    integs = []
    for k, spec in enumerate(specs):
        integs.append(integrate(spec.process, seed, channel=k, n_adapt=n_adapt, evals_per_iter=evals_per_iter,
                                progress=progress))
        if on_channel is not None:
            on_channel(spec.name)
    rates = np.array([i.rate for i in integs])
    if allocation == "total":
        counts = allocate_events(rates, n_events)
    else:
        counts = np.full(len(integs), n_events, dtype=np.int64)
    channels, tasks, first = [], [], 0
    for k, (spec, integ, count) in enumerate(zip(specs, integs, counts, strict=True)):
        n = int(count)
        if weighted:
            w = 1.0 / n if n else 0.0
        elif allocation == "total":
            w = float(rates.sum() / n_events)
        else:
            w = integ.rate / n
        sizes = chunk_plan(n, chunk_size)
        channels.append(ChannelPlan(index=k, spec=spec, integration=integ, n_events=n, chunks=sizes,
                                    event_weight=w))
        for c, size in enumerate(sizes):
            tasks.append(ChunkTask(k, c, size, first))
            first += size
    return RunPlan(seed=seed, weighted=weighted, allocation=allocation, n_events=n_events, channels=channels,
                   tasks=tasks)


def produce_chunk(plan: RunPlan, task: ChunkTask, decay=None) -> ChunkOutput:
    """Produce (and, with ``decay(block, rng) -> list[EventBlock]``, decay) one chunk of the plan."""
    ch = plan.channels[task.channel]
    block, stats = sample_chunk(ch.spec.process, ch.integration, task.size, plan.seed, task.channel, task.chunk,
                                plan.weighted, ch.event_weight)
    block.channel = ch.name
    block.info["event_id"] = block.info["event_id"] + task.first
    if decay is not None:
        rng = np.random.default_rng([plan.seed, DECAY_STREAM, task.channel, task.chunk])
        blocks = [b for b in decay(block, rng) if b.n_events]
    else:
        blocks = [block] if block.n_events else []
    return ChunkOutput(task=task, blocks=blocks, stats=stats)


def iterate_chunks(plan: RunPlan, tasks: Sequence[ChunkTask], decay=None) -> Iterator[ChunkOutput]:
    """Produce the given chunks one at a time, in order, updating the channels' running sums."""
    for task in tasks:
        out = produce_chunk(plan, task, decay)
        ch = plan.channels[task.channel]
        ch.stats.add(out.stats)
        ch.sum_w_after_decays += float(sum(b.weight.sum() for b in out.blocks))
        ch.n_written += out.n_events
        yield out


__all__ = ["ALLOCATIONS", "DECAY_PRESCAN_STREAM", "DECAY_STREAM", "ChannelPlan", "ChunkOutput", "ChunkTask",
           "RunPlan", "iterate_chunks", "plan_run", "produce_chunk"]
