"""End-to-end benchmark of `dsgen run` on the default card: events/s and peak memory, serial and with workers.

Usage: ``python bench/bench_run.py [--events 100000,1000000] [--workers 1,2] [--repeat R] [--ceiling]
[--card miniboone_bp_b]``.

Each configuration runs `dsgen run CARD -n N --out TMP --no-progress [--workers W]` in a child process; the peak
memory is the largest sum of the resident set sizes of that process and all its descendants (the Dask scheduler
and workers included), sampled every 0.1 s with psutil. Throughput is events of the run per wall-clock second of
the whole command (integration, generation, decays, HepMC3 + ROOT + plots, detector). The output directory is
removed after each run. Targets: 1e6 events with peak memory below 1 GB, and
--workers 2 at least 1.7x faster than serial on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

DSGEN = [sys.executable, "-m", "generator.cli"]


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total


def run_once(card: str, n: int, workers: int, extra: list[str]) -> dict:
    out = Path(tempfile.mkdtemp(prefix="dsgen-bench-"))
    cmd = [*DSGEN, "run", card, "-n", str(n), "--out", str(out), "--no-progress", *extra]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_rss(ps))
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    err = child.stderr.read()
    child.stderr.close()
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    shutil.rmtree(out, ignore_errors=True)
    if child.returncode != 0:
        msg = f"{' '.join(cmd)} failed ({child.returncode}):\n{err[-2000:]}"
        raise SystemExit(msg)
    return {"events": n, "workers": workers, "wall_s": wall, "events_per_s": n / wall, "peak_MB": peak / 1e6,
            "output_MB": size / 1e6}


def ceiling(card: str) -> float:
    """2/k, the chunk phase's ceiling of a two-process speed-up at this moment (bench/bench_cores.py, one round)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_cores import run_side_by_side

    (alone,) = run_side_by_side(1, card, 6)
    return 2 / (statistics.mean(run_side_by_side(2, card, 6)) / alone)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", default="100000,1000000")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds; each round runs every worker count in turn, so a slow spell of a shared machine "
                         "hits serial and parallel alike (the speed-up is the median over rounds)")
    ap.add_argument("--card", default="miniboone_bp_b")
    ap.add_argument("--ceiling", action="store_true",
                    help="after each round, measure what two cores give at that moment (bench/bench_cores.py: the same "
                         "chunks made by one process alone and by two side by side, slow-down k) and report the "
                         "round's speed-up beside the chunk phase's ceiling 2/k")
    ap.add_argument("extra", nargs="*", help="further dsgen run options")
    args = ap.parse_args(argv)
    rows, ceilings = [], {}
    print(f"{'events':>9} {'workers':>8} {'round':>6} {'wall [s]':>9} {'events/s':>10} {'peak [MB]':>10} "
          f"{'output [MB]':>12}")
    for n in (int(float(x)) for x in args.events.split(",")):
        for rnd in range(args.repeat):
            for w in (int(x) for x in args.workers.split(",")):
                r = run_once(args.card, n, w, args.extra)
                r["round"] = rnd
                rows.append(r)
                print(f"{r['events']:>9} {r['workers']:>8} {rnd:>6} {r['wall_s']:>9.1f} {r['events_per_s']:>10.0f} "
                      f"{r['peak_MB']:>10.0f} {r['output_MB']:>12.0f}", flush=True)
            if args.ceiling:
                ceilings[(n, rnd)] = ceiling(args.card)
                print(f"{'':>9} {'':>8} {rnd:>6} two cores now: ceiling {ceilings[(n, rnd)]:.2f}x", flush=True)
    for n in sorted({r["events"] for r in rows}):
        for w in sorted({r["workers"] for r in rows if r["workers"] > 1}):
            ratios, shares = [], []
            for rnd in range(args.repeat):
                t = {r["workers"]: r["wall_s"] for r in rows if r["events"] == n and r["round"] == rnd}
                if 1 in t and w in t:
                    ratios.append(t[1] / t[w])
                    if (n, rnd) in ceilings:
                        shares.append(ratios[-1] / ceilings[(n, rnd)])
            if ratios:
                print(f"speed-up at {n} events with {w} workers: median {statistics.median(ratios):.2f}x "
                      f"(rounds: {', '.join(f'{x:.2f}' for x in sorted(ratios))})")
            if shares:
                print(f"  of the two-core ceiling measured after each round: median {statistics.median(shares):.2f} "
                      f"(rounds: {', '.join(f'{x:.2f}' for x in sorted(shares))}); ceilings: "
                      f"{', '.join(f'{ceilings[(n, rnd)]:.2f}x' for rnd in range(args.repeat))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
