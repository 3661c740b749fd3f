"""Benchmark: MiniBooNE BP-B upscattering into N5 and N6 (coherent C12, incoherent C12 p/n and H1 p).

Prints, for 1e5 unweighted events in total, the adaptation time, the unweighted events per second of the
sampling stage (integrand + accept-reject + kinematics), the unweighting efficiency per channel and the
peak memory of the process. Targets: adaptation < 5 s, >= 50,000 unweighted events/s on one core,
peak memory < 1 GB.
"""

from __future__ import annotations

import resource
import time

from generator.card import parse_card
from generator.engine import generate
from generator.model.model import Model
from generator.processes.upscattering import channels_from_card

N_EVENTS = 100_000
CARD = """
[model]
preset = "BP-B"
[process]
production = "upscattering"
final_hnl = ["N5", "N6"]
[experiment]
name = "MiniBooNE"
"""


def main() -> None:
    card = parse_card(CARD)
    model = Model(card.parameters())
    specs = channels_from_card(card, model)
    per_channel = N_EVENTS // len(specs)
    # warm up numba kernels (compilation is cached on disk, but loading costs a moment)
    generate(specs[0].process, n_events=100, seed=1, n_adapt=2, evals_per_iter=2000)
    t_adapt = t_sample = 0.0
    n_total = 0
    print(f"{'channel':<42}{'events':>8}{'unweighting eff.':>18}{'adapt [s]':>11}{'sample [s]':>12}")
    for k, spec in enumerate(specs):
        res = generate(spec.process, n_events=per_channel, seed=100 + k, n_adapt=10, evals_per_iter=20000)
        t_adapt += res.timing_s["adapt"]
        t_sample += res.timing_s["sample"]
        n_total += res.block.n_events
        print(f"{spec.name:<42}{res.block.n_events:>8}{res.unweighting_efficiency:>18.3f}"
              f"{res.timing_s['adapt']:>11.2f}{res.timing_s['sample']:>12.2f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"\nunweighted events: {n_total} in {t_sample:.2f} s of sampling -> {n_total / t_sample:,.0f} events/s "
          f"(adaptation {t_adapt:.2f} s for {len(specs)} channels, {t_adapt / len(specs):.2f} s each)")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"wall time {time.perf_counter() - t0:.1f} s")
