"""Upscattering cross sections: d sigma/dQ^2 and sigma(E_nu) of one channel, and the table of `dsgen xsec CARD`
(sigma(E_nu) in cm^2 on the card's energy grid). The amplitude is generator/physics/upscattering.py.

Targets: [process].targets, else the materials of [experiment], else C12, Ar40 and Fe56. Regimes and HNLs
from [process]. The grid is [xsec] (E_min_GeV, E_max_GeV, n_points, log).
"""

from __future__ import annotations

import numpy as np

from generator.errors import KinematicallyClosedError, PhysicsError
from generator.model.model import as_model
from generator.physics.upscattering import make_channel, nucleus_channels
from generator.targets import target

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

    proc = card.process or ProcessSection()
    return xsec_table(card.parameters(), card_targets(card), proc.regimes, proc.final_hnl, energy_grid(card.xsec),
                      neutrino=proc.neutrino, pauli_blocking=proc.pauli_blocking)


def dsigma_dQ2(E_nu, Q2, model, final_hnl: str, target_name: str, regime: str, nucleon: str | None = None,
               helicity: int | None = None, neutrino: str = "nu_mu", pauli_blocking: bool = False,
               m_N: float | None = None) -> np.ndarray:
    """d sigma / d Q^2 (cm^2/GeV^2) of nu + target -> N + target for one struck object.

    E_nu: GeV (array); Q2: GeV^2 (array, broadcast with E_nu); model: Model, ModelParameters or Spectrum;
    final_hnl: "N5" etc.; target_name: "C12", "Ar40", "Fe56", "H1", ...; regime: "coherent" (per nucleus)
    or "incoherent" with nucleon "p"/"n" (per nucleon); helicity: None (sum), -1, +1 (lab helicity of N);
    m_N: optional HNL mass override (GeV). Zero outside the Q^2 limits; KinematicallyClosedError below threshold.
    """
    ch = make_channel(model, final_hnl, target_name, regime, nucleon, neutrino, pauli_blocking, m_N)
    return ch.dsigma_dQ2(E_nu, Q2, helicity)


def sigma_total(E_nu, model, final_hnl: str, target_name: str, regime: str, nucleon: str | None = None,
                helicity: int | None = None, neutrino: str = "nu_mu", pauli_blocking: bool = False,
                m_N: float | None = None, below_threshold: str = "raise") -> np.ndarray:
    """Total cross section (cm^2) at E_nu (GeV, array).

    coherent: per nucleus. incoherent with nucleon "p"/"n": per nucleon; with nucleon None: per nucleus,
    Z sigma_p + N sigma_n (sigma_p for H1). below_threshold: "raise" (KinematicallyClosedError naming the
    energy) or "zero".
    """
    if regime == "incoherent" and nucleon is None:
        chans = nucleus_channels(model, final_hnl, target_name, regime, neutrino, pauli_blocking, m_N)
    else:
        chans = [make_channel(model, final_hnl, target_name, regime, nucleon, neutrino, pauli_blocking, m_N)]
    mult = (lambda c: c.scatterers_per_nucleus) if (regime == "incoherent" and nucleon is None) else (lambda c: 1)
    return sum(mult(c) * c.sigma(E_nu, helicity, below_threshold) for c in chans)


def xsec_table(model, targets, regimes, final_hnls, energies, neutrino: str = "nu_mu",
               pauli_blocking: bool = False) -> dict:
    """sigma(E) in cm^2 per channel, for `dsgen xsec CARD --json`.

    model: Model, ModelParameters or Spectrum; targets: names; regimes: "coherent"/"incoherent"; final_hnls:
    names; energies: E_nu grid in GeV. Coherent cross sections are per nucleus; incoherent ones per nucleus
    (Z sigma_p + N sigma_n) with the p and n parts also listed. Energies below a channel's threshold give 0;
    if a channel is closed on the whole grid a KinematicallyClosedError names its threshold and the grid.
    Returns {"unit": "cm2", "energies_GeV": [...], "neutrino": ..., "channels": [{...}, ...]}.
    """
    model = as_model(model)
    e = np.asarray(energies, dtype=float)
    if e.ndim != 1 or e.size == 0 or not np.all(np.isfinite(e)) or np.any(e <= 0):
        raise PhysicsError(f"energies = {e.tolist()}: need a non-empty 1-d grid of finite energies > 0 GeV")
    rows = []
    for hnl in final_hnls:
        for tname in targets:
            for regime in regimes:
                if regime == "coherent" and target(tname).is_free_nucleon:
                    continue
                chans = nucleus_channels(model, hnl, tname, regime, neutrino, pauli_blocking)
                thr = min(c.threshold for c in chans)
                if not np.any(e > thr):
                    msg = (f"{neutrino} {tname} {regime} -> {hnl}: every energy of the grid "
                           f"[{e.min():.4g}, {e.max():.4g}] GeV is below the threshold {thr:.6g} GeV")
                    raise KinematicallyClosedError(msg)
                parts = {}
                total = np.zeros_like(e)
                for c in chans:
                    s = c.sigma(e, below_threshold="zero")
                    total += c.scatterers_per_nucleus * s
                    if c.nucleon is not None:
                        parts[c.nucleon] = s.tolist()
                row = {"final_hnl": hnl, "target": tname, "regime": regime, "m_N_GeV": chans[0].m_N,
                       "threshold_GeV": thr, "sigma_cm2": total.tolist(),
                       "per": "nucleus"}
                if parts:
                    row["sigma_per_nucleon_cm2"] = parts
                rows.append(row)
    return {"unit": "cm2", "energies_GeV": e.tolist(), "neutrino": neutrino, "model": model.params.name,
            "pauli_blocking": bool(pauli_blocking), "channels": rows}



def format_xsec(rep: dict) -> str:
    """Readable table: one column per channel, one row per energy."""
    chans = rep["channels"]
    heads = [f"{c['final_hnl']} {c['target']} {c['regime'][:3]}" for c in chans]
    out = [f"{rep['neutrino']} upscattering cross sections [cm^2 per nucleus], model {rep['model']}"]
    out.append(f"{'E_nu [GeV]':>12}" + "".join(f"{h:>20}" for h in heads))
    for k, e in enumerate(rep["energies_GeV"]):
        out.append(f"{e:12.4g}" + "".join(f"{c['sigma_cm2'][k]:20.4g}" for c in chans))
    return "\n".join(out)


__all__ = ["card_targets", "dsigma_dQ2", "energy_grid", "format_xsec", "sigma_total", "xsec_report", "xsec_table"]
