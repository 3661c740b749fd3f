"""Physical constants and unit conversions, stated once for the whole project.

Internal unit system: GeV (energy, momentum, mass), cm (length), c*t in cm (time), cm^2 (cross
sections). Conversions happen only at I/O boundaries, with the named constants below.

SM masses and widths come from the PDG tables shipped with ``particle``; electroweak couplings are
PDG 2020 values (the paper's era). Each constant says its unit.
"""

from __future__ import annotations

import math

import hepunits as hu
from particle import Particle

# --- unit conversions -------------------------------------------------------------------------
#: hbar*c in GeV*cm (hepunits: MeV*mm).
HBARC_GEV_CM = hu.hbarc / (hu.GeV * hu.cm)
#: (hbar*c)^2 in GeV^2*cm^2: converts 1/GeV^2 to cm^2.
GEV2_TO_CM2 = HBARC_GEV_CM**2
#: 1 picobarn / femtobarn / nanobarn in cm^2.
PB_CM2 = hu.picobarn / hu.cm2
FB_CM2 = hu.femtobarn / hu.cm2
NB_CM2 = hu.nanobarn / hu.cm2
#: centimetre -> millimetre (HepMC3 lengths are mm).
CM_TO_MM = hu.cm / hu.mm
#: metre in cm.
M_TO_CM = hu.m / hu.cm
#: speed of light in cm/ns.
C_CM_PER_NS = hu.c_light / (hu.cm / hu.ns)
#: MeV in GeV.
MEV = hu.MeV / hu.GeV
#: Avogadro's number (1/mol).
N_AVOGADRO = hu.Avogadro * hu.mole
#: 1 inverse femtobarn in cm^-2.
INV_FB_CM2 = 1.0 / FB_CM2


def _mass_gev(pdgid: int) -> float:
    return Particle.from_pdgid(pdgid).mass * MEV


def _width_gev(pdgid: int) -> float:
    return Particle.from_pdgid(pdgid).width * MEV


# --- SM masses (GeV), from particle's PDG table -------------------------------------------------
M_E = _mass_gev(11)
M_MU = _mass_gev(13)
M_TAU = _mass_gev(15)
M_PI_CHARGED = _mass_gev(211)
M_PI0 = _mass_gev(111)
M_K_CHARGED = _mass_gev(321)
M_PROTON = _mass_gev(2212)
M_NEUTRON = _mass_gev(2112)
M_Z = _mass_gev(23)
M_W = _mass_gev(24)
M_HIGGS = _mass_gev(25)
GAMMA_Z = _width_gev(23)
#: lepton masses by flavour name (GeV).
LEPTON_MASS = {"e": M_E, "mu": M_MU, "tau": M_TAU}

# --- couplings (PDG 2020) -----------------------------------------------------------------------
#: fine-structure constant at q^2 = 0.
ALPHA_EM = 1.0 / 137.035999084
E_CHARGE = math.sqrt(4.0 * math.pi * ALPHA_EM)
#: Fermi constant, GeV^-2.
G_FERMI = 1.1663787e-5
#: on-shell weak mixing angle sin^2(theta_W) = 1 - mW^2/mZ^2.
SW2 = 1.0 - (M_W / M_Z) ** 2
SW = math.sqrt(SW2)
CW = math.sqrt(1.0 - SW2)
#: SU(2) gauge coupling from G_F: g^2 = 8 mW^2 G_F / sqrt(2).
G_WEAK = math.sqrt(8.0 * M_W**2 * G_FERMI / math.sqrt(2.0))
#: Higgs vacuum expectation value v_H = (sqrt(2) G_F)^(-1/2) = 246.22 GeV.
V_HIGGS = (math.sqrt(2.0) * G_FERMI) ** -0.5

# --- PDG codes ---------------------------------------------------------------------------------
# Home: generator.particles (the one table of names, PDG codes and masses); re-exported here for callers that
# read the codes as constants.
from generator.particles import PDG_HNL_OFFSET, PDG_PHIPRIME, PDG_ZPRIME, pdg_hnl  # noqa: E402, F401

#: Default seed of the detector stage (smearing, vertex placement) when neither ``dsgen detect --seed`` nor the
#: card key ``[detector] seed`` gives one: one value for the CLI, the card and :func:`detectors.detect_main`.
DEFAULT_DETECTOR_SEED = 20210101
