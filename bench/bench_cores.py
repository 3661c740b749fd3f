"""What two cores of this machine give without any parallel machinery: the same chunks made by one process alone and
by two processes side by side.

Usage: ``python bench/bench_cores.py [--rounds 4] [--chunks 6] [--card miniboone_bp_b]``.

Each process plans the card (10^5 events per 20,000-event chunk, so the chunks are full ones), makes one chunk to
load the compiled kernels, waits for a common start time and then makes the same ``--chunks`` chunks as a worker of
a parallel run does (generation, decays, histograms, detector, HepMC3 and ROOT encoding; generator.chunks). Each
round runs one process alone, then two at once, and prints seconds per chunk. If two processes side by side are each
a factor k slower than one alone, no parallel run on this machine can be more than 2/k times faster than a serial
one in its chunk phase: this is the ceiling against which `bench/bench_run.py`'s speed-up is to be read.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def make_chunks(card_name: str, n_chunks: int, start_at: float) -> float:
    """Seconds per chunk of ``n_chunks`` full chunks of the card, made in this process from ``start_at`` on."""
    import tempfile
    from pathlib import Path

    from generator.chunks import make_context, process_chunk
    from generator.model.model import Model
    from generator.run import _plan, build_channels, run_header
    from generator.shipped_cards import open_card

    card = open_card(card_name)
    card.run.progress = False
    card.run.n_events = 100_000 * n_chunks
    model = Model(card.parameters())
    plan = _plan(card, build_channels(card, model))
    ctx = make_context(card, model, plan, run_header(card, model, plan, ["bench_cores"]))
    full = [i for i, t in enumerate(plan.tasks) if t.size == max(t.size for t in plan.tasks)][: n_chunks + 1]
    with tempfile.TemporaryDirectory() as spool:
        process_chunk(ctx, full[0], Path(spool))  # load the compiled kernels
        while time.time() < start_at:
            time.sleep(0.01)
        t0 = time.perf_counter()
        for i in full[1:]:
            result = process_chunk(ctx, i, Path(spool))
            for payload in result.encoded.values():
                if isinstance(payload, Path):
                    payload.unlink(missing_ok=True)
        return (time.perf_counter() - t0) / (len(full) - 1)


def run_side_by_side(n_procs: int, card: str, n_chunks: int) -> list[float]:
    """Seconds per chunk of each of ``n_procs`` processes started together."""
    start_at = time.time() + 15.0  # every process has planned and warmed up by then
    cmd = [sys.executable, __file__, "--child", str(start_at), "--card", card, "--chunks", str(n_chunks)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(n_procs)]
    out = []
    for p in procs:
        text, _ = p.communicate()
        if p.returncode != 0:
            msg = f"{' '.join(cmd)} failed ({p.returncode})"
            raise SystemExit(msg)
        out.append(float(text.strip().splitlines()[-1]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--chunks", type=int, default=6)
    ap.add_argument("--card", default="miniboone_bp_b")
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        print(make_chunks(args.card, args.chunks, args.child))
        return 0
    print(f"{'round':>6} {'alone [s/chunk]':>16} {'side by side [s/chunk]':>24} {'slow-down k':>12}")
    ks = []
    for rnd in range(args.rounds):
        (alone,) = run_side_by_side(1, args.card, args.chunks)
        pair = run_side_by_side(2, args.card, args.chunks)
        k = statistics.mean(pair) / alone
        ks.append(k)
        print(f"{rnd:>6} {alone:>16.3f} {pair[0]:>11.3f} {pair[1]:>12.3f} {k:>12.2f}", flush=True)
    k = statistics.median(ks)
    print(f"two processes side by side: median slow-down {k:.2f} (rounds: {', '.join(f'{x:.2f}' for x in sorted(ks))});"
          f" ceiling of a 2-process speed-up in the chunk phase: {2 / k:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
