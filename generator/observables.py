"""Observables of decayed events: e+e- pair kinematics, vertex positions, decay-region fractions.

Per e+e- pair (an e- and an e+ produced in the same decay), as (n,) arrays over the events of a block:

- ``m_ee``: invariant mass sqrt((p+ + p-)^2) in GeV;
- ``theta_ee``: opening angle between the e+ and e- 3-momenta in rad (lab frame);
- ``asymmetry``: energy asymmetry |E+ - E-| / (E+ + E-) (lab frame, dimensionless);
- ``vertex``: (n, 4) decay vertex (c*t, x, y, z) in cm.

Every decayed particle's decay vertex is available from :func:`vertex_positions`.

The pair formulas themselves (:func:`pair_mass`, :func:`pair_opening_angle`, :func:`pair_energy`,
:func:`pair_asymmetry`) take plain four-momentum arrays (..., 4) and are the one home of m_ee / theta_ee:
the control plots (:mod:`generator.plots`) and the detectors call them.

Paper numbers (Sec. III, "Delta a_mu and BaBar" and "CCFR"): :func:`babar_n5_fractions` gives the
fractions of N5 decaying before / inside the BaBar ECAL / in the muon system, :func:`fraction_within`
the fraction of HNLs decaying within a distance (CCFR: >~ 50% of N5 within 10 m).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from generator.kernels.decay_length import sample_decay_vertices
from generator.kernels.lorentz import invariant_mass, opening_angle
from generator.record import STATUS_DECAYED, EventBlock

PDG_ELECTRON = 11


@dataclass
class EEPair:
    """Observables of one e+e- pair (arrays over the events of a block).

    parent : name of the decaying state ("N5", ...); mother : its particle index in the block;
    i_minus, i_plus : particle indices of the e- and e+; m_ee [GeV], theta_ee [rad], asymmetry [1],
    E_ee [GeV] = E+ + E-, vertex (n, 4) = (c*t, x, y, z) [cm] of the decay.
    """

    parent: str
    mother: int
    i_minus: int
    i_plus: int
    m_ee: np.ndarray
    theta_ee: np.ndarray
    asymmetry: np.ndarray
    E_ee: np.ndarray
    vertex: np.ndarray


def pair_mass(p_minus: np.ndarray, p_plus: np.ndarray) -> np.ndarray:
    """m_ee = sqrt(max((p_- + p_+)^2, 0)) in GeV of four-momenta (..., 4) (E, px, py, pz) in GeV."""
    return invariant_mass(np.asarray(p_minus, dtype=float) + np.asarray(p_plus, dtype=float))


def pair_opening_angle(p_minus: np.ndarray, p_plus: np.ndarray) -> np.ndarray:
    """theta_ee in rad, the angle between the 3-momenta of four-momenta (..., 4) in GeV (0 for a zero vector).

    Computed as atan2(|p_- x p_+|, p_- . p_+), accurate also for nearly collinear pairs.
    """
    return opening_angle(np.asarray(p_minus, dtype=float), np.asarray(p_plus, dtype=float))


def pair_energy(p_minus: np.ndarray, p_plus: np.ndarray) -> np.ndarray:
    """E_ee = E_- + E_+ in GeV of four-momenta (..., 4) in GeV."""
    return np.asarray(p_minus)[..., 0] + np.asarray(p_plus)[..., 0]


def pair_asymmetry(p_minus: np.ndarray, p_plus: np.ndarray) -> np.ndarray:
    """Energy asymmetry |E_+ - E_-| / (E_+ + E_-) (dimensionless) of four-momenta (..., 4) in GeV."""
    em, ep = np.asarray(p_minus)[..., 0], np.asarray(p_plus)[..., 0]
    return np.abs(ep - em) / (ep + em)


def _name(block: EventBlock, k: int) -> str:
    if block.names is not None:
        return block.names[k]
    return str(int(block.pdg[k]))


def ee_pair_indices(block: EventBlock) -> list[tuple[int, int, int]]:
    """(i_minus, i_plus, mother) for every decay in the block with exactly one e- and one e+ daughter."""
    out = []
    for k in np.flatnonzero(block.status == STATUS_DECAYED):
        d = block.daughters(int(k))
        em = d[block.pdg[d] == PDG_ELECTRON]
        ep = d[block.pdg[d] == -PDG_ELECTRON]
        if len(em) == 1 and len(ep) == 1:
            out.append((int(em[0]), int(ep[0]), int(k)))
    return out


def ee_pairs(block: EventBlock) -> list[EEPair]:
    """Observables of every e+e- pair of the block (order: by mother index)."""
    pairs = []
    for im, ip, k in ee_pair_indices(block):
        pm, pp = block.p[:, im], block.p[:, ip]
        pairs.append(EEPair(
            parent=_name(block, k), mother=k, i_minus=im, i_plus=ip,
            m_ee=pair_mass(pm, pp),
            theta_ee=pair_opening_angle(pm, pp),
            asymmetry=pair_asymmetry(pm, pp),
            E_ee=pair_energy(pm, pp),
            vertex=block.x[:, im].copy(),
        ))
    return pairs


def vertex_positions(block: EventBlock) -> dict[int, np.ndarray]:
    """Decay vertex (n, 4) = (c*t, x, y, z) in cm of every decayed particle, keyed by its index."""
    out = {}
    for k in np.flatnonzero(block.status == STATUS_DECAYED):
        d = block.daughters(int(k))
        out[int(k)] = block.x[:, d[0]].copy()
    return out


def observables(block: EventBlock) -> dict[str, np.ndarray]:
    """Flat dict of (n,) columns for ntuples and plots.

    Pair k (1-based, by mother index) gives ``ee{k}_m_ee`` [GeV], ``ee{k}_theta_ee`` [rad],
    ``ee{k}_asym`` [1], ``ee{k}_E_ee`` [GeV] and ``ee{k}_{ct,x,y,z}_cm`` [cm] of its vertex; every
    decayed particle j gives ``vtx{j}_{ct,x,y,z}_cm`` and ``vtx{j}_r_cm`` (distance from the origin).
    """
    cols: dict[str, np.ndarray] = {}
    for k, pr in enumerate(ee_pairs(block), start=1):
        cols[f"ee{k}_m_ee"] = pr.m_ee
        cols[f"ee{k}_theta_ee"] = pr.theta_ee
        cols[f"ee{k}_asym"] = pr.asymmetry
        cols[f"ee{k}_E_ee"] = pr.E_ee
        for a, lab in enumerate(("ct", "x", "y", "z")):
            cols[f"ee{k}_{lab}_cm"] = pr.vertex[:, a]
    for j, v in vertex_positions(block).items():
        for a, lab in enumerate(("ct", "x", "y", "z")):
            cols[f"vtx{j}_{lab}_cm"] = v[:, a]
        cols[f"vtx{j}_r_cm"] = np.linalg.norm(v[:, 1:4], axis=1)
    return cols


# ------------------------------------------------------------------------------ decay-region fractions

#: BaBar barrel layers as radial shells (transverse radius, cm). Source: The BABAR Collaboration,
#: "The BABAR detector", Nucl. Instrum. Meth. A 479 (2002) 1 [hep-ex/0105044], Secs. 4-7 and Fig. 1-2:
#: drift chamber 23.6-80.9 cm and DIRC quartz bars at ~84 cm ("tracker"); EMC barrel CsI(Tl) crystals
#: starting at ~92 cm, 29.6-32.4 cm long, outer envelope ~136 cm; solenoid cryostat ~140-173 cm;
#: IFR barrel steel + RPCs ~180-300 cm. The values are rounded layout radii (no cracks, supports or
#: endcaps); they are a geometry model, not a detector simulation.
BABAR_BARREL_RADII_CM = {
    "tracker": (0.0, 92.0),
    "ecal": (92.0, 136.0),
    "coil": (136.0, 180.0),
    "muon": (180.0, 300.0),
}
#: BaBar EMC barrel polar-angle acceptance in the lab, 26.8 deg < theta < 141.8 deg (NIM A 479, Sec. 7:
#: the EMC covers 15.8-141.8 deg, the forward endcap 15.8-26.8 deg).
BABAR_BARREL_THETA_DEG = (26.8, 141.8)


def radial_region_fractions(
    ctau0_cm: float, mass_GeV: float, energy_GeV: float, regions: dict[str, tuple[float, float]],
    rng: np.random.Generator, n: int = 200_000, theta_deg: tuple[float, float] | None = (26.8, 141.8),
) -> dict[str, float]:
    """Fractions of particles decaying in radial shells (transverse radius r_T = sqrt(x^2 + y^2)).

    Particles of ``mass_GeV`` and lab energy ``energy_GeV`` start at the origin with directions
    uniform in cos(theta) within ``theta_deg`` (lab polar angle range in degrees; None = transverse,
    theta = 90 deg) and uniform azimuth; decay positions from the exponential law with c*tau0 =
    ``ctau0_cm`` (cm). regions: name -> (r_min, r_max) in cm. The result also has "beyond" (r_T above the
    largest r_max). Monte Carlo with n points: statistical error <= 0.5 / sqrt(n).
    """
    if energy_GeV <= mass_GeV:
        msg = f"energy_GeV = {energy_GeV} must exceed mass_GeV = {mass_GeV}"
        raise ValueError(msg)
    pabs = math.sqrt(energy_GeV**2 - mass_GeV**2)
    if theta_deg is None:
        cos_t = np.zeros(n)
    else:
        c_lo, c_hi = math.cos(math.radians(theta_deg[1])), math.cos(math.radians(theta_deg[0]))
        cos_t = rng.uniform(c_lo, c_hi, n)
    phi = rng.uniform(0.0, 2.0 * math.pi, n)
    sin_t = np.sqrt(1.0 - cos_t**2)
    p = np.stack([np.full(n, energy_GeV), pabs * sin_t * np.cos(phi), pabs * sin_t * np.sin(phi), pabs * cos_t], axis=1)
    x, _ = sample_decay_vertices(np.zeros((n, 4)), p, mass_GeV, ctau0_cm, rng.random(n))
    r = np.hypot(x[:, 1], x[:, 2])
    out = {name: float(np.mean((r >= lo) & (r < hi))) for name, (lo, hi) in regions.items()}
    out["beyond"] = float(np.mean(r >= max(hi for _, hi in regions.values())))
    return out


def babar_n5_fractions(
    ctau0_cm: float, mass_GeV: float, rng: np.random.Generator, energy_GeV: float = 2.5,
    n: int = 200_000, transverse: bool = False,
) -> dict[str, float]:
    """Fractions of N5 decaying in the BaBar tracker (before the ECAL), ECAL, coil and muon system (IFR).

    Paper (Sec. III, "Delta a_mu and BaBar"): for a typical 2.5 GeV N5, (79, 92)% decay before the ECAL,
    (11, 5.7)% inside it and (8.0, 2.3)% in the muon system for BP-(A, B). Inputs: c*tau0 in cm (from the
    total width), N5 mass and lab energy in GeV. Directions: isotropic within the EMC barrel acceptance
    (:data:`BABAR_BARREL_THETA_DEG`), or all at theta = 90 deg with ``transverse=True``. Radii:
    :data:`BABAR_BARREL_RADII_CM`. Also returns "after_ecal" = coil + muon (everything between the
    ECAL and the outer IFR radius).
    """
    out = radial_region_fractions(
        ctau0_cm, mass_GeV, energy_GeV, BABAR_BARREL_RADII_CM, rng, n,
        theta_deg=None if transverse else BABAR_BARREL_THETA_DEG,
    )
    out["after_ecal"] = out["coil"] + out["muon"]
    return out


def fraction_within(ctau0_cm: float, mass_GeV: float, energy_GeV: float, distance_cm: float,
                    rng: np.random.Generator, n: int = 200_000) -> float:
    """Fraction of particles (mass, lab energy in GeV; c*tau0 in cm) decaying within ``distance_cm`` of flight.

    Monte Carlo with the generator's decay-length sampler (analytic value: 1 - exp(-d / (beta gamma c tau0))).
    CCFR (paper, Appendix C): with E_N5 ~ 50 GeV, >~ 50% of N5 decay within 10 m.
    """
    pabs = math.sqrt(energy_GeV**2 - mass_GeV**2)
    p = np.zeros((n, 4))
    p[:, 0], p[:, 3] = energy_GeV, pabs
    x, _ = sample_decay_vertices(np.zeros((n, 4)), p, mass_GeV, ctau0_cm, rng.random(n))
    return float(np.mean(x[:, 3] <= distance_cm))


__all__ = [
    "BABAR_BARREL_RADII_CM",
    "BABAR_BARREL_THETA_DEG",
    "EEPair",
    "babar_n5_fractions",
    "ee_pair_indices",
    "ee_pairs",
    "fraction_within",
    "observables",
    "pair_asymmetry",
    "pair_energy",
    "pair_mass",
    "pair_opening_angle",
    "radial_region_fractions",
    "vertex_positions",
]
