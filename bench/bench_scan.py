"""Benchmark of `dsgen scan`: a scan of the MiniBooNE prediction after the detector, with and without reweighting.

Usage: ``python bench/bench_scan.py [--points 100] [--events 1000] [--workers 1] [--card miniboone_bp_b]``.

The grid is ``model.alpha_D`` over ``--points`` values from 0.1 to 0.8 (couplings only, so with reweighting one
point is generated and the others are reweighted from it; with ``--no-reweight`` every point is generated). Each
configuration runs `dsgen scan CARD --set model.alpha_D=... -n N --out TMP [--workers W] [--no-reweight]` in a
child process; the script prints wall-clock seconds, seconds per point and the speed-up of reweighting, and
checks that the two scans agree on the detector-level total at the generated point. The output directories are
removed afterwards.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DSGEN = [sys.executable, "-m", "generator.cli"]


def run_scan(card: str, values: np.ndarray, n: int, workers: int, reweight: bool) -> tuple[float, list[dict]]:
    out = Path(tempfile.mkdtemp(prefix="dsgen-bench-scan-"))
    grid = ",".join(f"{v:.6g}" for v in values)
    cmd = [*DSGEN, "scan", card, "--set", f"model.alpha_D={grid}", "-n", str(n), "--out", str(out),
           "--workers", str(workers), "--no-plots"]
    if not reweight:
        cmd.append("--no-reweight")
    t0 = time.perf_counter()
    try:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - t0
        with (out / "scan.csv").open() as f:
            rows = list(csv.DictReader(f))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return elapsed, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--events", type=int, default=1000, help="events per generated point (-n)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--card", default="miniboone_bp_b")
    args = ap.parse_args(argv)
    values = np.linspace(0.1, 0.8, args.points)
    print(f"scan of {args.points} points of model.alpha_D, {args.card}, -n {args.events}, workers {args.workers}")
    results = {}
    for reweight in (True, False):
        label = "with reweighting" if reweight else "without reweighting"
        elapsed, rows = run_scan(args.card, values, args.events, args.workers, reweight)
        results[reweight] = (elapsed, rows)
        n_rw = sum(r["reweighted"] == "true" for r in rows)
        print(f"  {label:<22}: {elapsed:8.1f} s ({elapsed / len(rows):6.2f} s/point, {n_rw} reweighted)", flush=True)
    t_rw, rows_rw = results[True]
    t_gen, rows_gen = results[False]
    print(f"  speed-up of reweighting: {t_gen / t_rw:.1f}x")
    a, b = float(rows_rw[0]["total_after_detector"]), float(rows_gen[0]["total_after_detector"])
    status = 0 if abs(a - b) <= 1e-9 * max(abs(a), 1.0) else 1
    print(f"  generated point p000 after the detector: {a:.6g} / {b:.6g} events ({'same' if not status else 'DIFFER'})")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
