"""Upscattering cross sections: d sigma/dQ^2 and sigma(E_nu) of one channel, the table of `dsgen xsec CARD`
(sigma(E_nu) in cm^2 on the card's energy grid), and the one convention for the scale of every reported cross
section. The amplitude is generator/physics/upscattering.py.

Targets: [process].targets, else the materials of [experiment], else C12, Ar40 and Fe56. Regimes and HNLs
from [process]. The grid is [xsec] (E_min_GeV, E_max_GeV, n_points, log).

Scale (NuHepMC G.R.6, arXiv:2310.13211: cross sections per target atom): every reported ``sigma_cm2`` of a
neutrino channel is per atom (nucleus) of its target, named in ``sigma_scale`` ("per C12 atom"). A coherent
channel scatters on the whole nucleus, so per nucleus = per atom. An incoherent channel on bound protons
(neutrons) gives Z sigma_p ((A - Z) sigma_n) per atom, so the p and n channels of one target add up to the
nucleus value Z sigma_p + N sigma_n; the per-nucleon values appear only in the extra, explicitly named fields
``sigma_per_nucleon_cm2`` and ``sigma_nucleon``. Collider channels are per e+ e- collision.
"""

from __future__ import annotations

import numpy as np

from generator.constants import PB_CM2
from generator.errors import KinematicallyClosedError, PhysicsError
from generator.model.model import as_model
from generator.physics.upscattering import make_channel, nucleus_channels
from generator.targets import target

DEFAULT_TARGETS = ("C12", "Ar40", "Fe56")
#: scale of the collider cross sections (integrated luminosity is per e+ e- collision)
COLLIDER_SCALE = "per e+e- collision"


def atom_scale(target_name: str) -> str:
    """Label of the per-atom scale of a target, e.g. "per C12 atom"."""
    return f"per {target_name} atom"


def nucleons_per_atom(target_name: str, nucleon: str | None) -> int:
    """Struck objects of one kind per atom: 1 for the nucleus (coherent, nucleon None), Z for "p", A - Z for "n"."""
    if nucleon is None:
        return 1
    t = target(target_name)
    if nucleon not in ("p", "n"):
        msg = f"nucleon = {nucleon!r} on {target_name}: must be 'p', 'n' or None (the nucleus)"
        raise PhysicsError(msg)
    return t.Z if nucleon == "p" else t.N


def cm2_to_pb(sigma_cm2: float) -> float:
    """A cross section in cm^2 expressed in pb (HepMC3 / NuHepMC unit)."""
    return sigma_cm2 / PB_CM2


def _target_name(spec) -> str:
    """Target of an upscattering ChannelSpec without the "(p)"/"(n)" suffix of its name."""
    nucleon = spec.extra.get("nucleon")
    suffix = f"({nucleon})" if nucleon else ""
    return spec.target[: -len(suffix)] if suffix and spec.target.endswith(suffix) else spec.target


def cross_section_fields(spec, rate: float, rate_err: float, exposure: float | None = None) -> dict:
    """Cross-section fields of one generated channel for summary.json, the `dsgen run` table and the ROOT run tree.

    spec: ChannelSpec (target, regime, extra["nucleon"]); rate, rate_err: expected events and error (events);
    exposure: cm^-2 with expected events = sigma x exposure (default spec.exposure; for an incoherent channel
    it counts bound nucleons of the struck kind, so rate / exposure is per nucleon).
    Returns {"sigma_cm2", "sigma_err_cm2" (cm^2, per target atom; None without exposure), "sigma_scale"
    ("per C12 atom", "per e+e- collision" or None), "sigma_target"} and, for incoherent channels only,
    "sigma_per_nucleon_cm2", "sigma_per_nucleon_err_cm2" (cm^2 per bound nucleon), "sigma_nucleon" ("p"/"n")
    and "nucleons_per_atom" (Z or A - Z). Always also "sigma_per_scatterer_cm2", "sigma_err_per_scatterer_cm2"
    (rate / exposure: per nucleus, bound or free nucleon, or collision), which the event writers convert per atom.
    Module docstring: the convention.
    """
    exposure = spec.exposure if exposure is None else exposure
    out = {"sigma_cm2": None, "sigma_err_cm2": None, "sigma_scale": None, "sigma_target": None,
           "sigma_per_scatterer_cm2": None, "sigma_err_per_scatterer_cm2": None}
    if not exposure:
        return out
    out.update(sigma_per_scatterer_cm2=rate / exposure, sigma_err_per_scatterer_cm2=rate_err / exposure)
    if spec.regime is None:  # e+ e- collider channels: sigma = events / integrated luminosity
        out.update(sigma_cm2=rate / exposure, sigma_err_cm2=rate_err / exposure, sigma_scale=COLLIDER_SCALE)
        return out
    name = _target_name(spec)
    nucleon = spec.extra.get("nucleon") if spec.regime == "incoherent" else None
    k = nucleons_per_atom(name, nucleon)
    out.update(sigma_cm2=k * rate / exposure, sigma_err_cm2=k * rate_err / exposure, sigma_scale=atom_scale(name),
               sigma_target=name)
    if spec.regime == "incoherent":
        out.update(sigma_per_nucleon_cm2=rate / exposure, sigma_per_nucleon_err_cm2=rate_err / exposure,
                   sigma_nucleon=nucleon, nucleons_per_atom=k)
    return out


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
    names; energies: E_nu grid in GeV. Every ``sigma_cm2`` is per target atom (row key ``sigma_scale``, e.g.
    "per C12 atom"): coherent per nucleus, incoherent Z sigma_p + N sigma_n, with the per-nucleon values in
    ``sigma_per_nucleon_cm2`` {"p": [...], "n": [...]} and ``nucleons_per_atom`` {"p": Z, "n": N}. Energies below
    a channel's threshold give 0; if a channel is closed on the whole grid a KinematicallyClosedError names its
    threshold and the grid. Returns {"unit": "cm2", "scale": ..., "energies_GeV": [...], "neutrino": ...,
    "channels": [{...}, ...]}.
    """
    model = as_model(model)
    e = np.asarray(energies, dtype=float)
    if e.ndim != 1 or e.size == 0 or not np.all(np.isfinite(e)) or np.any(e <= 0):
        msg = f"energies = {e.tolist()}: need a non-empty 1-d grid of finite energies > 0 GeV"
        raise PhysicsError(msg)
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
                       "threshold_GeV": thr, "sigma_cm2": total.tolist(), "sigma_scale": atom_scale(tname)}
                if parts:  # incoherent: the per-nucleon values as an explicitly named extra
                    row["sigma_per_nucleon_cm2"] = parts
                    row["nucleons_per_atom"] = {c.nucleon: c.scatterers_per_nucleus for c in chans}
                rows.append(row)
    return {"unit": "cm2", "scale": "per target atom (nucleus)", "energies_GeV": e.tolist(), "neutrino": neutrino,
            "model": model.params.name,
            "pauli_blocking": bool(pauli_blocking), "channels": rows}


def format_xsec(rep: dict) -> str:
    """Readable table: one column per channel ("N5 C12 coh"), one row per energy; cm^2 per atom of the column's
    target (the title says so)."""
    chans = rep["channels"]
    heads = [f"{c['final_hnl']} {c['target']} {c['regime'][:3]}" for c in chans]
    title = (f"{rep['neutrino']} upscattering cross sections [cm^2 per target atom (nucleus); incoherent = "
             f"Z sigma_p + N sigma_n], model {rep['model']}")
    out = [title]
    out.append(f"{'E_nu [GeV]':>12}" + "".join(f"{h:>20}" for h in heads))
    for k, e in enumerate(rep["energies_GeV"]):
        out.append(f"{e:12.4g}" + "".join(f"{c['sigma_cm2'][k]:20.4g}" for c in chans))
    return "\n".join(out)


__all__ = ["COLLIDER_SCALE", "atom_scale", "card_targets", "cm2_to_pb", "cross_section_fields", "dsigma_dQ2",
           "energy_grid", "format_xsec", "nucleons_per_atom", "sigma_total", "xsec_report", "xsec_table"]
