"""Throughput and peak memory of the decay step: chains N6 -> N5 e+ e- -> N4 e+ e- e+ e- (BP-B).

Usage: ``python bench/bench_decay.py [--events 100000] [--mode forced|all] [--seed 1]``.

Input: a MiniBooNE-like block of N6 (BP-B masses) produced uniformly inside a sphere of radius 610 cm
(the MiniBooNE tank, centre 541 m downstream of the target) with |p| uniform in 0.3-2 GeV along z and
helicity -1. mode "forced" (default) decays N6 -> N5 e+ e- and N5 -> N4 e+ e- only (weights carry the
branching ratios); mode "all" draws every channel by branching ratio. The decay step is run once on a
small block first (numba compilation, cached on disk after the first run), then timed.

Reported: complete chains per second per CPU second of this process (the "one core" figure; robust on a
shared machine) and per wall-clock second; peak memory of the timed decay call (tracemalloc, numpy
buffers included) and the peak resident set size of the process (resource.getrusage). Target: >= 200,000
chains/s on one core.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT_DIR = Path(__file__).resolve().parents[1]
if str(ROOT_DIR) not in sys.path:
    sys.path.insert(0, str(ROOT_DIR))

TARGET_CHAINS_PER_S = 200_000
#: MiniBooNE-like geometry (cm): tank radius and distance of its centre from the target.
R_TANK_CM = 610.0
Z_TANK_CM = 54100.0


def make_block(model, n: int, rng: np.random.Generator):
    """n N6 (GeV, cm): |p| uniform 0.3-2 GeV along z, vertices uniform in the tank sphere, helicity -1."""
    from generator.constants import pdg_hnl
    from generator.record import EventBlock

    m6 = model.mass("N6")
    p = np.zeros((n, 1, 4))
    p[:, 0, 3] = rng.uniform(0.3, 2.0, n)
    p[:, 0, 0] = np.sqrt(p[:, 0, 3] ** 2 + m6**2)
    x = np.zeros((n, 1, 4))
    d = rng.normal(size=(n, 3))
    d *= (R_TANK_CM * rng.random(n) ** (1.0 / 3.0) / np.linalg.norm(d, axis=1))[:, None]
    x[:, 0, 1:] = d + np.array([0.0, 0.0, Z_TANK_CM])
    x[:, 0, 0] = x[:, 0, 3]  # produced at c t = z (light-speed parent neutrino)
    return EventBlock(channel="bench", pdg=[pdg_hnl(6)], status=[1], mother=[-1], p=p, x=x,
                      weight=np.full(n, 1.0 / n), pol=np.full((n, 1), -1.0))


def run(n_events: int = 100_000, mode: str = "forced", seed: int = 1) -> dict:
    """Time the decay step on n_events N6; returns the numbers printed by :func:`main`."""
    from generator.card import DecaySection
    from generator.decay import decay_blocks
    from generator.model import preset
    from generator.model.model import Model

    model = Model(preset("BP-B"))
    if mode == "forced":
        section = DecaySection(mode="forced", forced=["N6 -> N5 e+ e-", "N5 -> N4 e+ e-"], stable=["N4"])
    else:
        section = DecaySection(mode="all", stable=["N4"])
    rng = np.random.default_rng(seed)
    decay_blocks([make_block(model, 1000, rng)], model, section, rng)  # compile (numba) and warm up
    block = make_block(model, n_events, rng)
    c0, w0 = time.process_time(), time.perf_counter()
    report: dict = {}
    out = decay_blocks([block], model, section, rng, report)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    full = sum(b.n_events for b in out if b.names is not None and b.names.count("e-") == 2 and "N4" in b.names)
    tracemalloc.start()
    decay_blocks([block], model, section, rng)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "mode": mode,
        "events": n_events,
        "complete_chains": full,
        "blocks_out": len(out),
        "chains_per_cpu_s": full / cpu,
        "chains_per_wall_s": full / wall,
        "cpu_s": cpu,
        "wall_s": wall,
        "peak_tracemalloc_MB": peak / 2**20,
        "input_block_MB": (block.p.nbytes + block.x.nbytes + block.pol.nbytes + block.weight.nbytes) / 2**20,
        "max_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "accept_reject": report["channels"],
        "target_chains_per_s": TARGET_CHAINS_PER_S,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints a summary and a JSON line. Returns 0 (1 if below the target)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--mode", choices=("forced", "all"), default="forced")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    res = run(args.events, args.mode, args.seed)
    print(f"decay chains N6 -> N5 ee -> N4 ee ee (BP-B, mode {res['mode']}): "
          f"{res['complete_chains']} of {res['events']} events")
    print(f"  {res['chains_per_cpu_s']:,.0f} chains/s per CPU second, {res['chains_per_wall_s']:,.0f} per wall second "
          f"(target >= {TARGET_CHAINS_PER_S:,})")
    print(f"  peak memory of the decay call {res['peak_tracemalloc_MB']:.1f} MB "
          f"(input block {res['input_block_MB']:.1f} MB); "
          f"process max RSS {res['max_rss_MB']:.0f} MB")
    for label, st in res["accept_reject"].items():
        print(f"  {label}: efficiency {st['efficiency']:.3f}, overweight candidates {st['n_overweight']}")
    print(json.dumps({k: v for k, v in res.items() if k != "accept_reject"}))
    return 0 if res["chains_per_cpu_s"] >= TARGET_CHAINS_PER_S else 1


if __name__ == "__main__":
    sys.exit(main())
