"""`dsgen xsec CARD`: upscattering cross sections sigma(E_nu) in cm^2 on the card's energy grid.

Targets: [process].targets, else the materials of [experiment], else C12, Ar40 and Fe56. Regimes and HNLs
from [process]. The grid is [xsec] (E_min_GeV, E_max_GeV, n_points, log).
"""

from __future__ import annotations

import numpy as np

DEFAULT_TARGETS = ("C12", "Ar40", "Fe56")


def energy_grid(xsec_section) -> np.ndarray:
    """Neutrino energies in GeV from an [xsec] section."""
    s = xsec_section
    if s.log:
        return np.geomspace(s.E_min_GeV, s.E_max_GeV, s.n_points)
    return np.linspace(s.E_min_GeV, s.E_max_GeV, s.n_points)


def card_targets(card) -> tuple[str, ...]:
    """Targets of a card: explicit [process].targets, else the experiment's materials, else DEFAULT_TARGETS."""
    if card.process is not None and card.process.targets:
        return tuple(card.process.targets)
    if card.experiment is not None:
        from generator.experiments import experiment

        return tuple(experiment(card.experiment.name).composition)
    return DEFAULT_TARGETS


def xsec_report(card) -> dict:
    """sigma(E_nu) in cm^2 for every open channel of the card (JSON-ready)."""
    from generator.card import ProcessSection
    from generator.physics.upscattering import xsec_table

    proc = card.process or ProcessSection()
    return xsec_table(card.parameters(), card_targets(card), proc.regimes, proc.final_hnl, energy_grid(card.xsec),
                      neutrino=proc.neutrino, pauli_blocking=proc.pauli_blocking)


def format_xsec(rep: dict) -> str:
    """Readable table: one column per channel, one row per energy."""
    chans = rep["channels"]
    heads = [f"{c['final_hnl']} {c['target']} {c['regime'][:3]}" for c in chans]
    out = [f"{rep['neutrino']} upscattering cross sections [cm^2 per nucleus], model {rep['model']}"]
    out.append(f"{'E_nu [GeV]':>12}" + "".join(f"{h:>20}" for h in heads))
    for k, e in enumerate(rep["energies_GeV"]):
        out.append(f"{e:12.4g}" + "".join(f"{c['sigma_cm2'][k]:20.4g}" for c in chans))
    return "\n".join(out)
