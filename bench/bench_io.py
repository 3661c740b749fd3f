"""Write throughput and peak memory of the event writers (HepMC3 ASCII, HepMC3 gzip, ROOT TTree, RNTuple).

Usage: ``python bench/bench_io.py [--events 100000] [--chunk 10000] [--formats hepmc3,root,...] [--out DIR]``.

The writers stream, as a run does: each format's writer is opened from the output-format registry
(``generator.io.formats``), receives ``--events`` events in chunks of ``--chunk`` events (each chunk built
just before it is written, then dropped) and is closed. Peak memory must therefore not grow with
``--events``: run twice with different ``--events`` to see it. Each format runs in its own child process
(same interpreter), so the peak resident memory reported (``ru_maxrss``) belongs to that writer alone; the
increase of the peak over its value after building the first chunk is the writer's own peak memory
(tracemalloc is not used: it slows pyhepmc's per-event calls several-fold). Throughput is given
per CPU second of the writing process (the "one core" figure the targets refer to; robust on a
shared machine) and per wall-clock second (includes waiting for the disk and other processes).
Events: the 10-particle coherent topology nu + C12 -> N6 + C12, N6 -> N5 e+ e-, N5 -> N4 e+ e-
with random (non-physical, incompressible) momenta and vertex positions (the particles made at one vertex share
its position, as in a run), split into two blocks of different channel. Targets (one core):
>= 20,000 events/s for HepMC3, >= 100,000 events/s for ROOT.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT_DIR = Path(__file__).resolve().parents[1]
if str(ROOT_DIR) not in sys.path:
    sys.path.insert(0, str(ROOT_DIR))

TARGETS = {"hepmc3": 20_000, "hepmc3.gz": None, "root": 100_000, "rntuple": None}


def make_blocks(n: int, seed: int = 1, first_id: int = 0):
    """Two blocks (n/2 events each) of the 10-particle coherent topology, random kinematics (GeV, cm).

    Events carry ``info["event_id"]`` = first_id, first_id + 1, ...
    """
    from generator.constants import pdg_hnl
    from generator.record import EventBlock

    rng = np.random.default_rng(seed)
    blocks = []
    for i, m in enumerate((n // 2, n - n // 2)):
        p = rng.normal(size=(m, 10, 4))
        p[..., 0] = np.abs(p[..., 0]) + np.linalg.norm(p[..., 1:], axis=-1)  # time-like
        # production positions: random, shared by the particles of one vertex (beams and the primary vertex's
        # particles at one point, each decay's daughters at another), as in a run's events
        x = rng.normal(scale=100.0, size=(m, 10, 4))[:, [0, 0, 0, 0, 4, 4, 4, 7, 7, 7]]
        blocks.append(EventBlock(
            channel=f"ch{i}", pdg=[14, 1000060120, pdg_hnl(6), 1000060120, pdg_hnl(5), 11, -11, pdg_hnl(4), 11, -11],
            status=[4, 4, 2, 1, 2, 1, 1, 1, 1, 1], mother=[-1, -1, -1, -1, 2, 2, 2, 4, 4, 4],
            p=p, x=x, weight=rng.random(m), info={"E_nu": rng.random(m), "Q2": rng.random(m),
                                                  "event_id": np.arange(first_id, first_id + m, dtype=np.int64)},
        ))
        first_id += m
    run_info = {"version": "bench", "seed": seed, "card": "# bench\n",
                "channels": [{"name": "ch0", "sigma_cm2": 1e-40}, {"name": "ch1", "sigma_cm2": 2e-40}],
                "weight_unit": "events", "hnl_mass_GeV": {"N4": 0.03, "N5": 0.12, "N6": 0.4}}
    return blocks, run_info


#: bench format -> (registry name, [output] gzip flag)
_FORMATS = {"hepmc3": ("hepmc3", False), "hepmc3.gz": ("hepmc3", True), "root": ("root", False),
            "rntuple": ("rntuple", False)}


def run_one(fmt: str, n: int, chunk: int, out_dir: Path) -> dict:
    """Stream n events in chunks through the writer of format fmt; returns rates, file size and memory figures."""
    from generator.card import OutputSection
    from generator.io.formats import open_writers

    if fmt not in _FORMATS:
        msg = f"unknown format {fmt!r}; allowed: {', '.join(TARGETS)}"
        raise SystemExit(msg)
    name, gz = _FORMATS[fmt]
    output = OutputSection(formats=[name], gzip=gz, plots=False)
    blocks, run_info = make_blocks(min(chunk, n))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    (path, writer), = open_writers(lambda file_name: out_dir / file_name, run_info, output).values()
    wall = cpu = 0.0
    done = 0
    while done < n:
        m = min(chunk, n - done)
        if done:
            blocks, _ = make_blocks(m, seed=1 + done, first_id=done)  # not timed: the generator's job
        t0, c0 = time.perf_counter(), time.process_time()
        writer.write(blocks)
        wall, cpu = wall + time.perf_counter() - t0, cpu + time.process_time() - c0
        done += m
        del blocks
    t0, c0 = time.perf_counter(), time.process_time()
    writer.close(run_info)
    wall, cpu = wall + time.perf_counter() - t0, cpu + time.process_time() - c0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    size = path.stat().st_size
    path.unlink()
    return {"format": fmt, "events": n, "seconds": wall, "cpu_seconds": cpu,
            "events_per_s": n / wall, "events_per_cpu_s": n / cpu, "file_MB": size / 1e6,
            "maxrss_MB": rss1 / 1024, "maxrss_increase_MB": (rss1 - rss0) / 1024}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each format in a child process and print a table; returns 0 if targets are met."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--chunk", type=int, default=10_000, help="events per chunk (as a run's chunk size)")
    ap.add_argument("--formats", default="hepmc3,hepmc3.gz,root,rntuple")
    ap.add_argument("--out", type=Path, default=None, help="scratch directory (default: a temporary one)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.child, args.events, args.chunk, args.out)))
        return 0
    ok = True
    with tempfile.TemporaryDirectory(dir=args.out) as scratch:
        print(f"{'format':10s} {'events':>8s} {'wall s':>7s} {'ev/s wall':>10s} {'ev/s CPU':>10s} {'target':>8s} "
              f"{'file MB':>8s} "
              f"{'peak RSS MB':>11s} {'writer MB':>10s}")
        for fmt in args.formats.split(","):
            cmd = [sys.executable, __file__, "--child", fmt, "--events", str(args.events), "--chunk", str(args.chunk),
                   "--out", scratch]
            res = subprocess.run(cmd, capture_output=True, text=True, check=False, env={**os.environ})
            if res.returncode != 0:
                print(f"{fmt}: failed\n{res.stderr}")
                ok = False
                continue
            r = json.loads(res.stdout.strip().splitlines()[-1])
            target = TARGETS.get(fmt)
            met = target is None or r["events_per_cpu_s"] >= target
            ok &= met
            print(f"{fmt:10s} {r['events']:8d} {r['seconds']:7.2f} {r['events_per_s']:10.0f} "
                  f"{r['events_per_cpu_s']:10.0f} "
                  f"{target or '-':>8} {r['file_MB']:8.1f} {r['maxrss_MB']:11.0f} {r['maxrss_increase_MB']:10.0f}"
                  f"{'' if met else '  BELOW TARGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
