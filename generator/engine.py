"""Generation engine shared by every process: a seed-only VEGAS integration, then independent chunks of events.

Contract for a process (the typed ``Process`` protocol of generator/processes/registry.py):

    name: str ; dim: int ; weight_unit: str ("events" for expected events, "cm2" for a cross section)
    integrand(x) -> f       x: (n, dim) points of the unit hypercube, f: (n,) >= 0; the integral of f over the
                            hypercube is the rate (in weight_unit).
    events(x, weight, rng) -> EventBlock     four-momenta etc. of the given points.

Algorithm (follows the vegas documentation: adapt first, then keep iterations with adapt=False):
1. ``integrate``: ``n_adapt`` vegas iterations with adaptation (discarded), then ``N_FINAL_ITERATIONS`` with
   adapt=False (the vegas estimate and its chi2/dof), then a prescan of the frozen map y -> x(y) (jacobian J, weight
   w = J(y) f(x(y))). Both use streams that depend on (seed, channel) only. The rate is the inverse-variance mean of
   the two unbiased estimates; w_max is the prescan's largest weight and rate / w_max the unweighting efficiency.
   All of it is known before any event is made, so every shard of a run shares it.
2. ``allocate_events`` shares a run's events among channels in proportion to their rates, so that every unweighted
   event of the run carries the same weight (total rate / total events), as MadGraph users expect.
3. ``chunk_plan`` cuts each channel into chunks with a fixed number of events (unweighted) or points (weighted).
   ``sample_chunk`` makes chunk c of channel k from the streams (seed, k, CHUNK_OFFSET + c, ...) alone, so a chunk's
   events do not depend on which process makes them or on any other chunk; shard s of K takes a contiguous range of
   the run's ordered chunk list (``shard_range``), and the shards concatenated in order are the unsharded run.
   Unweighted: points are accepted with probability w / w_max (points with w > w_max are accepted and counted as
   overweight) until the chunk holds its events; the accepted points are independent draws from the target
   density and their number is fixed in advance, so a chunk's memory is bounded by its size. Weighted: every
   sampled point with w > 0, weight w / (points of the channel), so the weights sum to the sampled estimate.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import vegas

from generator.progress import progress_bar
from generator.record import EventBlock

#: Number of vegas iterations kept (adapt=False) for the reported vegas estimate and chi2/dof.
N_FINAL_ITERATIONS = 3
#: Seed-stream tags (entries of the SeedSequence key after the seed and the channel index).
_ADAPT_STREAM = 2**31 - 1
_PRESCAN_STREAM = 2**31 - 2
_CHUNK_OFFSET = 1000


def _sample(process, amap, n: int, rng: np.random.Generator):
    """Draw n points from the frozen map: returns x (n, dim) and w = J f (n,)."""
    y = rng.random((n, process.dim))
    x = np.empty_like(y)
    jac = np.empty(n)
    amap.map(y, x, jac)
    f = np.asarray(process.integrand(x), dtype=float)
    if f.shape != (n,):
        msg = f"{process.name}.integrand returned shape {f.shape}, expected ({n},)"
        raise ValueError(msg)
    if np.any(~np.isfinite(f)) or np.any(f < 0):
        bad = np.flatnonzero(~np.isfinite(f) | (f < 0))[:3]
        msg = f"{process.name}.integrand returned negative or non-finite values at {x[bad].tolist()}"
        raise ValueError(msg)
    return x, jac * f


#: Events (unweighted) or points (weighted) per chunk of a streamed run.
STREAM_CHUNK_EVENTS = 20_000
#: Largest batch of points drawn at once inside a chunk (bounds memory for small efficiencies).
MAX_BATCH_POINTS = 262_144
_TAG_ADAPT, _TAG_PRESCAN, _TAG_KINEMATICS = 0, 1, 1


@dataclass(frozen=True)
class Integration:
    """Seed-only phase of one channel. Rates in the process's ``weight_unit``; ``efficiency`` = rate / w_max."""

    process: str
    amap: object
    rate: float
    rate_err: float
    vegas: float
    vegas_err: float
    vegas_chi2_dof: float
    prescan: float
    prescan_err: float
    n_prescan: int
    w_max: float
    efficiency: float
    weight_unit: str


@dataclass
class ChunkStats:
    """Sums over the points sampled in a chunk (they add across chunks and shards)."""

    n_points: int = 0
    n_accepted: int = 0
    sum_w: float = 0.0
    sum_w2: float = 0.0
    n_overweight: int = 0

    def add(self, other: ChunkStats) -> None:
        self.n_points += other.n_points
        self.n_accepted += other.n_accepted
        self.sum_w += other.sum_w
        self.sum_w2 += other.sum_w2
        self.n_overweight += other.n_overweight

    def as_dict(self) -> dict:
        return {"n_points": self.n_points, "n_accepted": self.n_accepted, "sum_w": self.sum_w,
                "sum_w2": self.sum_w2, "n_overweight": self.n_overweight}


def _stream(seed: int, channel: int, *tags: int) -> np.random.Generator:
    return np.random.default_rng([seed, channel, *tags])


def integrate(process, seed: int, channel: int = 0, n_adapt: int = 10, evals_per_iter: int = 20000,
              n_prescan: int | None = None, progress: bool = False) -> Integration:
    """Adapt the vegas map of ``process`` and prescan it; everything depends on (seed, channel) only.

    The rate is the inverse-variance weighted mean of the vegas estimate (``N_FINAL_ITERATIONS`` iterations with
    adapt=False) and of the prescan mean (``n_prescan`` points of the frozen map, default max(4 evals_per_iter,
    100000)); both are unbiased estimates of the same integral. Raises ValueError for a vanishing integrand.
    """
    rng = _stream(seed, channel, _ADAPT_STREAM, _TAG_ADAPT)
    integ = vegas.Integrator([[0.0, 1.0]] * process.dim, ran_array_generator=rng.random)
    fcn = vegas.lbatchintegrand(lambda x: process.integrand(np.asarray(x)))
    bar = progress_bar(n_adapt + 1, f"adapt {process.name}", progress, leave=False)
    for _ in range(n_adapt):
        integ(fcn, nitn=1, neval=evals_per_iter, adapt=True)
        bar.update(1)
    res = integ(fcn, nitn=N_FINAL_ITERATIONS, neval=evals_per_iter, adapt=False)
    bar.update(1)
    bar.close()
    v_mean, v_err = float(res.mean), float(res.sdev)
    chi2 = float(res.chi2 / res.dof) if res.dof > 0 else 0.0
    if not v_mean > 0:
        msg = f"{process.name}: the integrand vanishes everywhere (rate {v_mean}); channel closed?"
        raise ValueError(msg)
    n_pre = int(n_prescan or max(4 * evals_per_iter, 100_000))
    _, w = _sample(process, integ.map, n_pre, _stream(seed, channel, _PRESCAN_STREAM, _TAG_PRESCAN))
    p_mean = float(w.mean())
    p_err = float(w.std(ddof=1) / math.sqrt(n_pre))
    ests = [(v_mean, v_err), (p_mean, p_err)]
    good = [(m, e) for m, e in ests if e > 0]
    if good:
        wts = [1.0 / e**2 for _, e in good]
        rate = sum(wt * m for wt, (m, _) in zip(wts, good, strict=True)) / sum(wts)
        rate_err = 1.0 / math.sqrt(sum(wts))
    else:  # a constant integrand: both estimates are exact
        rate, rate_err = p_mean, 0.0
    w_max = float(w.max())
    return Integration(process=process.name, amap=integ.map, rate=rate, rate_err=rate_err, vegas=v_mean,
                       vegas_err=v_err, vegas_chi2_dof=chi2, prescan=p_mean, prescan_err=p_err, n_prescan=n_pre,
                       w_max=w_max, efficiency=min(1.0, rate / w_max), weight_unit=process.weight_unit)


def allocate_events(rates, n_total: int) -> np.ndarray:
    """Share ``n_total`` events among channels in proportion to ``rates`` (largest remainder, ties to the lower
    index). The result sums to n_total exactly; a channel of zero rate gets none."""
    r = np.asarray(rates, dtype=float)
    if n_total < 0 or np.any(r < 0) or not np.all(np.isfinite(r)):
        msg = f"cannot allocate {n_total} events to rates {r.tolist()}"
        raise ValueError(msg)
    if r.sum() <= 0:
        msg = f"cannot allocate events: all rates vanish ({r.tolist()})"
        raise ValueError(msg)
    exact = n_total * r / r.sum()
    n = np.floor(exact).astype(np.int64)
    rest = int(n_total - n.sum())
    order = np.lexsort((np.arange(len(r)), -(exact - n)))
    n[order[:rest]] += 1
    return n


def chunk_plan(n: int, chunk_size: int = STREAM_CHUNK_EVENTS) -> list[int]:
    """Sizes of the chunks of one channel: full chunks of ``chunk_size`` and one remainder (none for n = 0)."""
    if n <= 0:
        return []
    full, rest = divmod(int(n), int(chunk_size))
    return [int(chunk_size)] * full + ([rest] if rest else [])


def shard_range(n_items: int, shard: int, n_shards: int) -> range:
    """Contiguous share of shard ``shard`` of ``n_shards`` in a list of ``n_items`` (sizes differ by at most one)."""
    if not 0 <= shard < n_shards:
        msg = f"shard = {shard}: must satisfy 0 <= shard < n_shards = {n_shards}"
        raise ValueError(msg)
    base, extra = divmod(n_items, n_shards)
    start = shard * base + min(shard, extra)
    return range(start, start + base + (1 if shard < extra else 0))


def sample_chunk(process, integ: Integration, size: int, seed: int, channel: int, chunk: int, weighted: bool,
                 weight: float) -> tuple[EventBlock, ChunkStats]:
    """Events of chunk ``chunk`` of channel ``channel``.

    Unweighted: exactly ``size`` accepted events, each with weight ``weight`` (the run's common weight, in the
    process's weight unit). Weighted: ``size`` points; an event keeps its point weight times ``weight`` (pass
    1 / total points of the channel so that the weights sum to the sampled rate estimate); zero-weight points dropped.
    Only the chunk's own streams are used, so the result does not depend on any other chunk.
    """
    rng = _stream(seed, channel, _CHUNK_OFFSET + chunk)
    stats = ChunkStats()
    if weighted:
        x, w = _sample(process, integ.amap, size, rng)
        stats.n_points, stats.sum_w, stats.sum_w2 = size, float(w.sum()), float((w * w).sum())
        keep = w > 0
        local = np.flatnonzero(keep)
        x, wts = x[keep], w[keep] * weight
    else:
        xs, remaining = [], size
        while remaining > 0:
            batch = min(MAX_BATCH_POINTS, math.ceil(1.2 * remaining / max(integ.efficiency, 1e-9)) + 64)
            x, w = _sample(process, integ.amap, batch, rng)
            u = rng.random(batch)
            acc = np.flatnonzero(u * integ.w_max < w)[:remaining]
            # points after the last kept one are not part of the sample: count only those up to it
            used = batch if len(acc) < remaining else int(acc[-1]) + 1
            stats.n_points += used
            stats.sum_w += float(w[:used].sum())
            stats.sum_w2 += float((w[:used] ** 2).sum())
            stats.n_overweight += int(np.count_nonzero(w[:used] > integ.w_max))
            xs.append(x[acc])
            remaining -= len(acc)
        x = np.concatenate(xs) if xs else np.zeros((0, process.dim))
        wts = np.full(len(x), weight)
        local = np.arange(len(x))
    stats.n_accepted = len(x)
    block = process.events(x, wts, _stream(seed, channel, _CHUNK_OFFSET + chunk, _TAG_KINEMATICS))
    # index of each event within its chunk (its sampled point for weighted runs): the run adds the chunk's offset
    block.info["event_id"] = local.astype(np.int64)
    return block, stats


@dataclass
class GenerationResult:
    """In-memory events of one process (:func:`generate`). ``integral`` and ``error`` (in ``weight_unit``) are the
    estimate the weights sum to: the seed-only integration for unweighted events, the sampled estimate for weighted
    ones. ``integration`` holds the full seed-only phase; ``stats`` the sums of the sampled points."""

    process: str
    integral: float
    error: float
    block: EventBlock
    weighted: bool
    unweighting_efficiency: float
    overweight_fraction: float
    weight_unit: str
    integration: Integration
    stats: ChunkStats
    timing_s: dict = field(default_factory=dict)


def generate(process, n_events: int, seed: int, weighted: bool = False, n_adapt: int = 10,
             evals_per_iter: int = 20000, channel: int = 0, progress: bool = False) -> GenerationResult:
    """All ``n_events`` events of one process in memory (one chunk): :func:`integrate` then :func:`sample_chunk`.

    For tests, notebooks and benchmarks of a single process; runs stream through generator.pipeline instead.
    """
    if n_events <= 0:
        msg = f"n_events = {n_events}: must be > 0"
        raise ValueError(msg)
    t0 = time.perf_counter()
    integ = integrate(process, seed, channel=channel, n_adapt=n_adapt, evals_per_iter=evals_per_iter,
                      progress=progress)
    t_adapt = time.perf_counter() - t0
    weight = 1.0 / n_events if weighted else integ.rate / n_events
    block, stats = sample_chunk(process, integ, n_events, seed, channel, 0, weighted, weight)
    if weighted:
        mean = stats.sum_w / stats.n_points
        err = math.sqrt(max(stats.sum_w2 / stats.n_points - mean**2, 0.0) / stats.n_points)
    else:
        mean, err = integ.rate, integ.rate_err
    return GenerationResult(
        process=process.name, integral=mean, error=err, block=block, weighted=weighted,
        unweighting_efficiency=integ.efficiency if not weighted else 1.0,
        overweight_fraction=stats.n_overweight / max(stats.n_points, 1), weight_unit=process.weight_unit,
        integration=integ, stats=stats,
        timing_s={"adapt": t_adapt, "sample": time.perf_counter() - t0 - t_adapt},
    )
