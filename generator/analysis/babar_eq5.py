"""The paper's Eq. (5): expected pseudo-monophoton e+e- -> N_4 N_5 candidates at BaBar (an analysis of the
generator's processes, not a production mode). Units: events for the collider-file luminosities (fb^-1).
"""

from __future__ import annotations

from generator.colliders import load_collider
from generator.errors import DataFileError
from generator.processes.ee import EEPairProcess, UpsilonProcess, parse_pair


def pseudo_monophoton_candidates(model, collider: str = "babar", pair=("N4", "N5")) -> dict:
    """Expected e+e- -> N_4 N_5 pairs at the monophoton running points of a collider (Eq. 5 before P and eps_B).

    Channels per running point (App. B f): the s-channel Z'* (EEPairProcess) and, where the collider file names a
    resonance, e+e- -> Upsilon(nS) -> N_4 N_5 (UpsilonProcess). Returns {"runs": [{label, sqrt_s, luminosity_fb,
    pair, upsilon}], "pair": sum, "upsilon": sum, "total": sum} in events. DataFileError when a monophoton point has
    no luminosity.
    """
    col = load_collider(collider)
    i, j = parse_pair(pair)
    rows, tot_pair, tot_ups = [], 0.0, 0.0
    for run in col.runs:
        if not run.monophoton:
            continue
        if run.luminosity_fb is None:
            msg = f"{col.path}: run {run.label!r} (sqrt_s = {run.sqrt_s} GeV) has no luminosity_fb"
            raise DataFileError(msg)
        beams = (run.E_electron, run.E_positron)
        n_pair = EEPairProcess(model, run.sqrt_s, run.luminosity_fb, i, j, beams=beams).rate()
        n_ups = 0.0
        if run.resonance is not None:
            n_ups = UpsilonProcess(model, run.sqrt_s, run.luminosity_fb, i, j, run.sigma_resonance_nb, run.resonance,
                                   beams=beams).rate()
        rows.append({"label": run.label, "sqrt_s": run.sqrt_s, "luminosity_fb": run.luminosity_fb,
                     "pair": n_pair, "upsilon": n_ups})
        tot_pair += n_pair
        tot_ups += n_ups
    return {"runs": rows, "pair": tot_pair, "upsilon": tot_ups, "total": tot_pair + tot_ups}


__all__ = ["pseudo_monophoton_candidates"]
