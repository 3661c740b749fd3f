"""Generation engine shared by every process: VEGAS adaptation, then weighted or unweighted sampling.

Contract for a process (see generator/processes/*):

    name: str ; dim: int ; weight_unit: str ("events" for expected events, "cm2" for a cross section)
    integrand(x) -> f       x: (n, dim) points of the unit hypercube, f: (n,) >= 0; the integral of f over the
                            hypercube is the rate (in weight_unit).
    events(x, weight, rng) -> EventBlock     four-momenta etc. of the given points.

Algorithm (follows the vegas documentation: adapt first, then keep iterations with adapt=False):
1. ``n_adapt`` vegas iterations with adaptation (discarded), then 3 iterations with ``adapt=False`` whose
   weighted average and chi2/dof are reported as the vegas estimate. All of this uses a random stream that
   depends on the seed only, so every shard ends up with the *same* adapted map.
2. The adapted map y -> x(y) (jacobian J) is frozen. Sampling draws y uniformly, weight w = J(y) f(x(y)).
   The points are produced in *chunks*; chunk c uses the stream numpy.random.default_rng([seed, c]), so a
   run is a deterministic list of chunks. Shard s of K processes the chunks c = s, s+K, ...; merging the shard
   results (``merge``) reproduces the single-process run exactly (same events, same estimates).
3. Weighted events: every sampled point with w > 0, with weight w / N_points (weights sum to the rate
   estimate). Unweighted events: accept with probability w / w_max, where w_max is the maximum weight of a
   prescan (its own seed-only stream); accepted events carry weight rate / N_accepted. Points with
   w > w_max are accepted with probability 1 and counted in ``overweight_fraction``.

The rate estimate and its error are the mean and standard error of the sampled weights, so the weights
sum to exactly the quoted rate.
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
#: Largest sampling chunk (points per chunk). Runs are cut into at least MIN_CHUNKS chunks (of at least
#: MIN_CHUNK_SIZE points) so that they can be sharded; the plan depends on the run, never on the shard count.
CHUNK_SIZE = 65536
MIN_CHUNK_SIZE = 1024
MIN_CHUNKS = 64
#: Seed-stream tags (second entry of the SeedSequence key).
_ADAPT_STREAM = 2**31 - 1
_PRESCAN_STREAM = 2**31 - 2
_CHUNK_OFFSET = 1000


@dataclass
class GenerationResult:
    """Outcome of one process run (or of merged shards). Units of rates: the process's weight_unit."""

    process: str
    integral: float
    error: float
    integral_vegas: float
    error_vegas: float
    chi2_dof: float
    block: EventBlock
    n_generated: int
    n_accepted: int
    weighted: bool
    unweighting_efficiency: float
    overweight_fraction: float
    w_max: float
    weight_unit: str
    chunks: tuple[int, ...] = ()
    sum_w: float = 0.0
    sum_w2: float = 0.0
    n_overweight: int = 0
    timing_s: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-friendly numbers of this result."""
        return {
            "process": self.process,
            "integral": self.integral,
            "error": self.error,
            "integral_vegas": self.integral_vegas,
            "error_vegas": self.error_vegas,
            "chi2_dof": self.chi2_dof,
            "n_generated": self.n_generated,
            "n_events": int(self.block.n_events),
            "weighted": self.weighted,
            "unweighting_efficiency": self.unweighting_efficiency,
            "overweight_fraction": self.overweight_fraction,
            "weight_unit": self.weight_unit,
        }


def adapt(process, seed: int, n_adapt: int = 10, evals_per_iter: int = 20000, progress: bool = False):
    """Adapt a vegas map to the process integrand. Returns (map, vegas estimate, error, chi2/dof).

    Depends on the seed only (not on the shard), so all shards share the same map.
    """
    rng = np.random.default_rng([seed, _ADAPT_STREAM])
    integ = vegas.Integrator([[0.0, 1.0]] * process.dim, ran_array_generator=rng.random)
    fcn = vegas.lbatchintegrand(lambda x: process.integrand(np.asarray(x)))
    bar = progress_bar(n_adapt + 1, f"adapt {process.name}", progress, leave=False)
    for _ in range(n_adapt):
        integ(fcn, nitn=1, neval=evals_per_iter, adapt=True)
        bar.update(1)
    res = integ(fcn, nitn=N_FINAL_ITERATIONS, neval=evals_per_iter, adapt=False)
    bar.update(1)
    bar.close()
    mean, sdev = float(res.mean), float(res.sdev)
    chi2_dof = float(res.chi2 / res.dof) if res.dof > 0 else 0.0
    return integ.map, mean, sdev, chi2_dof


def _sample(process, amap, n: int, rng: np.random.Generator):
    """Draw n points from the frozen map: returns x (n, dim) and w = J f (n,)."""
    y = rng.random((n, process.dim))
    x = np.empty_like(y)
    jac = np.empty(n)
    amap.map(y, x, jac)
    f = np.asarray(process.integrand(x), dtype=float)
    if f.shape != (n,):
        raise ValueError(f"{process.name}.integrand returned shape {f.shape}, expected ({n},)")
    if np.any(~np.isfinite(f)) or np.any(f < 0):
        bad = np.flatnonzero(~np.isfinite(f) | (f < 0))[:3]
        raise ValueError(f"{process.name}.integrand returned negative or non-finite values at {x[bad].tolist()}")
    return x, jac * f


def _plan(n_events: int, weighted: bool, efficiency: float, chunk_size: int) -> list[int]:
    """Sizes of all chunks of a run (deterministic from the inputs, independent of the shard count)."""
    if weighted:
        n_points = n_events
    else:
        n_points = int(math.ceil(1.05 * n_events / max(efficiency, 1e-6))) + 1000
    chunk_size = min(chunk_size, max(MIN_CHUNK_SIZE, -(-n_points // MIN_CHUNKS)))
    n_chunks = max(1, int(math.ceil(n_points / chunk_size)))
    sizes = [chunk_size] * (n_chunks - 1) + [n_points - chunk_size * (n_chunks - 1)]
    return sizes


def generate(
    process,
    n_events: int,
    seed: int,
    shard: int = 0,
    n_shards: int = 1,
    n_adapt: int = 10,
    evals_per_iter: int = 20000,
    weighted: bool = False,
    progress: bool = False,
    chunk_size: int = CHUNK_SIZE,
    n_prescan: int | None = None,
) -> GenerationResult:
    """Adapt, then generate ``n_events`` weighted or unweighted events of ``process``.

    Parameters
    ----------
    n_events : events wanted for the whole run (all shards together).
    seed : master seed; shard : index of this shard, 0 <= shard < n_shards.
    Returns a GenerationResult whose block holds this shard's events (weights in process.weight_unit; for a
    shard, weights are normalised to the shard's own points, and ``merge`` renormalises them).
    """
    if n_events <= 0:
        raise ValueError(f"n_events = {n_events}: must be > 0")
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard = {shard}: must satisfy 0 <= shard < n_shards = {n_shards}")
    t0 = time.perf_counter()
    amap, i_vegas, e_vegas, chi2 = adapt(process, seed, n_adapt, evals_per_iter, progress)
    t_adapt = time.perf_counter() - t0
    if not i_vegas > 0:
        raise ValueError(f"{process.name}: the integrand vanishes everywhere (rate {i_vegas}); channel closed?")

    w_max, eff = 0.0, 1.0
    if not weighted:
        n_pre = n_prescan or max(4 * evals_per_iter, 100_000)
        _, w_pre = _sample(process, amap, n_pre, np.random.default_rng([seed, _PRESCAN_STREAM]))
        w_max = float(w_pre.max())
        eff = float(w_pre.mean() / w_max)

    sizes = _plan(n_events, weighted, eff, chunk_size)
    mine = [c for c in range(len(sizes)) if c % n_shards == shard]
    bar = progress_bar(len(mine), f"sample {process.name}", progress, leave=False)
    sum_w, sum_w2, n_pts, n_over = 0.0, 0.0, 0, 0
    kept_x, kept_w, kept_c = [], [], []
    for c in mine:
        rng = np.random.default_rng([seed, _CHUNK_OFFSET + c])
        x, w = _sample(process, amap, sizes[c], rng)
        sum_w += float(w.sum())
        sum_w2 += float((w * w).sum())
        n_pts += sizes[c]
        if weighted:
            keep = w > 0
        else:
            u = rng.random(sizes[c])
            keep = u * w_max < w
            n_over += int(np.count_nonzero(w > w_max))
        kept_x.append(x[keep])
        kept_w.append(w[keep])
        kept_c.append(np.full(int(keep.sum()), c, dtype=np.int64))
        bar.update(1)
    bar.close()
    t_sample = time.perf_counter() - t0 - t_adapt
    x_all = np.concatenate(kept_x) if kept_x else np.zeros((0, process.dim))
    w_all = np.concatenate(kept_w) if kept_w else np.zeros(0)
    c_all = np.concatenate(kept_c) if kept_c else np.zeros(0, dtype=np.int64)
    result = _finish(process, x_all, w_all, c_all, sum_w, sum_w2, n_pts, n_over, weighted, w_max,
                     i_vegas, e_vegas, chi2, tuple(mine), seed, n_events if n_shards == 1 else None)
    result.timing_s = {"adapt": t_adapt, "sample": t_sample, "total": time.perf_counter() - t0}
    return result


def _finish(process, x, w, chunk, sum_w, sum_w2, n_pts, n_over, weighted, w_max, i_vegas, e_vegas, chi2,
            chunks, seed, trim_to):
    """Normalise weights, build the event block (kinematics evaluated per chunk stream)."""
    integral = sum_w / n_pts if n_pts else 0.0
    error = math.sqrt(max(sum_w2 / n_pts - integral**2, 0.0) / n_pts) if n_pts else 0.0
    if weighted:
        weights = w / max(n_pts, 1)
    else:
        weights = np.full(len(w), integral / max(len(w), 1))
    # kinematics: one extra stream per chunk so that shards reproduce the same events
    pieces = []
    for c in np.unique(chunk):
        sel = chunk == c
        rng = np.random.default_rng([seed, _CHUNK_OFFSET + int(c), 1])
        blk = process.events(x[sel], weights[sel], rng)
        blk.info["chunk"] = np.full(blk.n_events, c, dtype=np.int64)
        pieces.append(blk)
    if pieces:
        block = EventBlock.concatenate(pieces)
    else:  # a shard without chunks: an empty block of the right topology
        block = process.events(x[:0], weights[:0], np.random.default_rng(seed))
        block.info["chunk"] = np.zeros(0, dtype=np.int64)
    # trim after the kinematics so that a chunk's events do not depend on where the run stops
    if not weighted and trim_to is not None and block.n_events > trim_to:
        block = block.select(slice(0, trim_to))
        block.weight = np.full(trim_to, integral / trim_to)
    eff = (integral / w_max) if (not weighted and w_max > 0) else 1.0
    return GenerationResult(
        process=process.name, integral=integral, error=error, integral_vegas=i_vegas, error_vegas=e_vegas,
        chi2_dof=chi2, block=block, n_generated=n_pts, n_accepted=block.n_events, weighted=weighted,
        unweighting_efficiency=eff, overweight_fraction=(n_over / n_pts if n_pts else 0.0), w_max=w_max,
        weight_unit=process.weight_unit, chunks=chunks, sum_w=sum_w, sum_w2=sum_w2, n_overweight=n_over,
    )


def merge(results: list[GenerationResult], n_events: int | None = None) -> GenerationResult:
    """Merge shard results of one process into the result of the unsharded run.

    Sums of weights, of squared weights and point counts add; events are ordered by chunk index and, for
    unweighted samples, trimmed to ``n_events`` exactly as the single-process run does; weights are
    renormalised to the merged rate.
    """
    first = results[0]
    sum_w = sum(r.sum_w for r in results)
    sum_w2 = sum(r.sum_w2 for r in results)
    n_pts = sum(r.n_generated for r in results)
    n_over = sum(r.n_overweight for r in results)
    block = EventBlock.concatenate([r.block for r in results if r.block.n_events] or [results[0].block])
    order = np.argsort(block.info["chunk"], kind="stable")
    block = block.select(order)
    integral = sum_w / n_pts
    error = math.sqrt(max(sum_w2 / n_pts - integral**2, 0.0) / n_pts)
    if first.weighted:
        block.weight = block.weight * np.concatenate(
            [np.full(r.block.n_events, r.n_generated / n_pts) for r in results if r.block.n_events]
            or [np.zeros(0)])[order]
    else:
        if n_events is not None and block.n_events > n_events:
            block = block.select(slice(0, n_events))
        block.weight = np.full(block.n_events, integral / max(block.n_events, 1))
    return GenerationResult(
        process=first.process, integral=integral, error=error, integral_vegas=first.integral_vegas,
        error_vegas=first.error_vegas, chi2_dof=first.chi2_dof, block=block, n_generated=n_pts,
        n_accepted=block.n_events, weighted=first.weighted,
        unweighting_efficiency=(integral / first.w_max if (not first.weighted and first.w_max > 0) else 1.0),
        overweight_fraction=n_over / n_pts, w_max=first.w_max, weight_unit=first.weight_unit,
        chunks=tuple(sorted(c for r in results for c in r.chunks)), sum_w=sum_w, sum_w2=sum_w2, n_overweight=n_over,
    )


# =====================================================================================================================
# Streaming generation: a seed-only integration phase, then independent chunks with a fixed number of events each.
#
# 1. ``integrate`` adapts the vegas map and runs a prescan, both on streams that depend on (seed, channel) only. It
#    fixes the rate estimate (inverse-variance mean of the vegas adapt=False iterations and of the prescan), its
#    error, w_max and the unweighting efficiency *before any event is made*, so that every shard of a run knows them.
# 2. ``allocate_events`` shares the run's events among channels in proportion to their rates, so that every
#    unweighted event of the run carries the same weight (total rate / total events), as MadGraph users expect.
# 3. ``chunk_plan`` cuts each channel into chunks with a fixed number of events (unweighted) or points (weighted);
#    chunk c of channel k draws from the stream (seed, k, CHUNK_OFFSET + c) alone, so the chunk's events do not depend
#    on which process makes them or on any other chunk. Shard s of K takes a contiguous range of the run's ordered
#    chunk list, so concatenating the shards in order reproduces the unsharded run exactly.
# Unweighted sampling inside a chunk draws batches (sizes fixed by the remaining count and the efficiency) and keeps
# the first n accepted points: the accepted points are independent draws from the target density, and their number
# is fixed in advance, so a chunk's memory is bounded by its size.
# =====================================================================================================================

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
        raise ValueError(f"{process.name}: the integrand vanishes everywhere (rate {v_mean}); channel closed?")
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
        raise ValueError(f"cannot allocate {n_total} events to rates {r.tolist()}")
    if r.sum() <= 0:
        raise ValueError(f"cannot allocate events: all rates vanish ({r.tolist()})")
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
        raise ValueError(f"shard = {shard}: must satisfy 0 <= shard < n_shards = {n_shards}")
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
        x, wts = x[keep], w[keep] * weight
    else:
        xs, remaining = [], size
        while remaining > 0:
            batch = min(MAX_BATCH_POINTS, int(math.ceil(1.2 * remaining / max(integ.efficiency, 1e-9))) + 64)
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
    stats.n_accepted = len(x)
    block = process.events(x, wts, _stream(seed, channel, _CHUNK_OFFSET + chunk, _TAG_KINEMATICS))
    return block, stats
