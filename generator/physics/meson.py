"""Meson decays into HNLs: vector mesons V -> Z'* -> N_j N_k (App. B e) and P+ -> l+ N_j (K+, pi+).

Vector mesons. The decay constant f_V is defined by <0| J_em^mu |V> = Q f_V M_V eps^mu (Q the quark charge), so
that Gamma(V -> e+ e-) = 4 pi alpha^2 Q^2 f_V^2 / (3 M_V) (Van Royen-Weisskopf form, massless electrons); f_V is
extracted from the measured Gamma_ee as in the paper (its Ref. [147]). Through the kinetic mixing the meson
couples to the Z' with strength e eps Q f_V M_V, and

    Gamma(V -> N_j N_k) = Gamma_{Z'-like vector of mass M_V}(N_j N_k) * (e eps Q f_V M_V)^2 / |D_Z'(M_V^2)|^2,

which for massless N is the paper's formula
B = alpha |V_jk|^2 (g_X eps Q)^2 tau_V M_V^3 f_V^2 / (3 (M_V^2 - m_Z'^2)^2).
(The Z' coupling to the quark NC, suppressed by (m_Z'/m_Z)^2, is neglected as in the paper.)

Charged pseudoscalars. Gamma(P+ -> l+ N) = G_F^2 f_P^2 |V_qq'|^2 m_P^3 |U_lN|^2 rho(x_l, x_N) / (8 pi) with
x = m^2 / m_P^2 and rho(x_l, x_N) = [x_l + x_N - (x_l - x_N)^2] lambda^{1/2}(1, x_l, x_N) (Shrock, Phys. Rev. D 24
(1981) 1232; Gorbunov, Shaposhnikov, arXiv:0705.1729, Sec. 3). For m_N -> 0 this is the SM x_l (1 - x_l)^2, so
B(P -> l N_j) = B(P -> l nu)_measured |U_lj|^2 rho(x_l, x_N) / rho(x_l, 0).

Numbers not in ``particle``'s tables (PDG 2020, Zyla et al., PTEP 2020, 083C01) are listed below with their source.
Units: GeV for masses, widths and decay constants (keV only in the names of the table columns that say so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from particle import Particle

from generator import constants as const
from generator.errors import KinematicallyClosedError, UnknownNameError
from generator.kernels.phase_space import kallen
from generator.model.propagator import breit_wigner
from generator.physics.ee import vector_to_ff_width


# ------------------------------------------------------------------------------------------ vector mesons
@dataclass(frozen=True)
class VectorMeson:
    """A neutral vector meson: mass and total width (GeV) from ``particle``, Gamma_ee (GeV) from PDG 2020."""

    name: str
    pdgid: int
    quark_charge: float
    gamma_ee: float

    @property
    def mass(self) -> float:
        """Mass in GeV (PDG table of ``particle``)."""
        return Particle.from_pdgid(self.pdgid).mass * const.MEV

    @property
    def width(self) -> float:
        """Total width in GeV (PDG table of ``particle``)."""
        return Particle.from_pdgid(self.pdgid).width * const.MEV

    @property
    def decay_constant(self) -> float:
        """f_V in GeV from Gamma_ee = 4 pi alpha^2 Q^2 f_V^2 / (3 M_V)."""
        return math.sqrt(3.0 * self.mass * self.gamma_ee / (4.0 * math.pi * const.ALPHA_EM**2 * self.quark_charge**2))


_KEV = 1e-6  # GeV
#: Gamma(V -> e+ e-) from PDG 2020 (Zyla et al., PTEP 2020, 083C01), meson summary tables, in GeV.
VECTOR_MESONS: dict[str, VectorMeson] = {
    "J/psi": VectorMeson("J/psi", 443, 2.0 / 3.0, 5.53 * _KEV),
    "Upsilon(1S)": VectorMeson("Upsilon(1S)", 553, -1.0 / 3.0, 1.340 * _KEV),
    "Upsilon(2S)": VectorMeson("Upsilon(2S)", 100553, -1.0 / 3.0, 0.612 * _KEV),
    "Upsilon(3S)": VectorMeson("Upsilon(3S)", 200553, -1.0 / 3.0, 0.443 * _KEV),
    "Upsilon(4S)": VectorMeson("Upsilon(4S)", 300553, -1.0 / 3.0, 0.272 * _KEV),
}

#: Appendix B e of the paper: B(V -> N_j N_k) / (|V_jk|^2 alpha_D) at m_Z' = 1.25 GeV, eps^2 = 4.6e-4, massless N.
PAPER_VECTOR_BR_COEFFICIENTS = {
    "J/psi": 5.5e-3, "Upsilon(1S)": 1.7e-3, "Upsilon(2S)": 1.3e-3, "Upsilon(3S)": 1.5e-3, "Upsilon(4S)": 0.86e-6,
}


def vector_meson(name: str) -> VectorMeson:
    """The VectorMeson called ``name`` ("J/psi", "Upsilon(1S)" .. "Upsilon(4S)"); UnknownNameError otherwise."""
    if name not in VECTOR_MESONS:
        kind = "vector meson"
        raise UnknownNameError(kind, name, VECTOR_MESONS)
    return VECTOR_MESONS[name]


def vector_to_hnl_pair_width(meson: VectorMeson, e_eps: float, m_zprime: float, width_zprime: float,
                             aL: complex, aR: complex, m1: float, m2: float, identical: bool) -> float:
    """Gamma(V -> Z'* -> N_1 N_2) in GeV (formula in the module docstring), masses kept.

    e_eps : Z' coupling to the EM current (e * epsilon); m_zprime, width_zprime, m1, m2 : GeV; (aL, aR) : Z' N_1 N_2
    Feynman-rule couplings (generator.physics.ee.majorana_vector_couplings); identical : N_1 == N_2.
    """
    M = meson.mass
    # Z' propagator at q^2 = M_V^2: the constant-width Breit-Wigner (generator.model.propagator, regime 2)
    coupling = e_eps * meson.quark_charge * meson.decay_constant * M
    mix2 = coupling**2 / abs(breit_wigner(M * M, m_zprime, width_zprime)) ** 2
    return float(vector_to_ff_width(M, m1, m2, aL, aR, identical=identical)) * mix2


def vector_br_coefficient(name: str, m_zprime: float = 1.25, eps2: float = 4.6e-4) -> float:
    """B(V -> N_j N_k) / (|V_jk|^2 alpha_D) for massless N_j != N_k (dimensionless); m_zprime in GeV.

    Paper formula (App. B e): alpha (g_X eps Q)^2 tau_V M_V^3 f_V^2 / (3 (M_V^2 - m_Z'^2)^2) per |V_jk|^2, with
    g_X^2 = 4 pi alpha_D; evaluated through :func:`vector_to_hnl_pair_width` (Z' width neglected, as there).
    """
    mes = vector_meson(name)
    g_x = math.sqrt(4.0 * math.pi)  # alpha_D = 1
    e_eps = const.E_CHARGE * math.sqrt(eps2)
    width = vector_to_hnl_pair_width(mes, e_eps, m_zprime, 0.0, g_x, -g_x, 0.0, 0.0, identical=False)
    return width / mes.width


def vector_br_table(m_zprime: float = 1.25, eps2: float = 4.6e-4) -> list[dict]:
    """Rows {meson, f_V_GeV, coefficient, paper, ratio} of B(V -> N_j N_k) / (|V_jk|^2 alpha_D) (App. B e).

    m_zprime in GeV; eps2 = epsilon^2. ``paper`` is the coefficient the paper lists, ``ratio`` ours / paper.
    """
    rows = []
    for name in VECTOR_MESONS:
        coef = vector_br_coefficient(name, m_zprime, eps2)
        paper = PAPER_VECTOR_BR_COEFFICIENTS[name]
        rows.append({"meson": name, "f_V_GeV": VECTOR_MESONS[name].decay_constant, "coefficient": coef,
                     "paper": paper, "ratio": coef / paper})
    return rows


def format_vector_br_table(m_zprime: float = 1.25, eps2: float = 4.6e-4) -> str:
    """The table of :func:`vector_br_table` as text (for printing)."""
    lines = [f"B(V -> N_j N_k) / (|V_jk|^2 alpha_D), m_Z' = {m_zprime} GeV, eps^2 = {eps2:g}",
             f"{'meson':<12} {'f_V/MeV':>8} {'ours':>10} {'paper':>10} {'ours/paper':>10}"]
    lines.extend(f"{r['meson']:<12} {r['f_V_GeV'] * 1e3:8.1f} {r['coefficient']:10.3g} {r['paper']:10.3g} "
                 f"{r['ratio']:10.3f}" for r in vector_br_table(m_zprime, eps2))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ P+ -> l+ N
#: PDG 2020 branching ratios of P+ -> l+ nu (Zyla et al., PTEP 2020, 083C01).
LEPTONIC_BR = {
    ("K+", "mu"): 0.6356,
    ("K+", "e"): 1.582e-5,
    ("pi+", "mu"): 0.9998770,
    ("pi+", "e"): 1.230e-4,
}
PSEUDOSCALAR_PDG = {"K+": 321, "pi+": 211}


def pseudoscalar_mass(meson: str) -> float:
    """Mass (GeV) of "K+" or "pi+" from ``particle``."""
    if meson not in PSEUDOSCALAR_PDG:
        kind = "charged pseudoscalar"
        raise UnknownNameError(kind, meson, PSEUDOSCALAR_PDG)
    return Particle.from_pdgid(PSEUDOSCALAR_PDG[meson]).mass * const.MEV


def pseudoscalar_ctau(meson: str) -> float:
    """Proper decay length c tau (cm) of "K+" or "pi+" from ``particle`` (which gives mm)."""
    if meson not in PSEUDOSCALAR_PDG:
        kind = "charged pseudoscalar"
        raise UnknownNameError(kind, meson, PSEUDOSCALAR_PDG)
    return Particle.from_pdgid(PSEUDOSCALAR_PDG[meson]).ctau / const.CM_TO_MM


def rho_two_body(x_l, x_N):
    """Kinematic factor rho(x_l, x_N) = [x_l + x_N - (x_l - x_N)^2] lambda^{1/2}(1, x_l, x_N) (Shrock 1981).

    x = m^2 / m_P^2 (dimensionless); 0 where the channel is closed (sqrt x_l + sqrt x_N >= 1).
    """
    x_l = np.asarray(x_l, dtype=float)
    x_N = np.asarray(x_N, dtype=float)
    lam = kallen(1.0, x_l, x_N)
    open_ = (np.sqrt(x_l) + np.sqrt(x_N) < 1.0) & (lam > 0)
    return np.where(open_, (x_l + x_N - (x_l - x_N) ** 2) * np.sqrt(np.clip(lam, 0.0, None)), 0.0)


def helicity_factor(x_l, x_N):
    """rho(x_l, x_N) / rho(x_l, 0): the factor multiplying |U_lj|^2 B(P -> l nu) (dimensionless)."""
    x_l = np.asarray(x_l, dtype=float)
    return rho_two_body(x_l, x_N) / (x_l * (1.0 - x_l) ** 2)


def _check_lepton(meson: str, lepton: str) -> None:
    if (meson, lepton) not in LEPTONIC_BR:
        kind = f"lepton for {meson} decays"
        raise UnknownNameError(kind, lepton, [lep for (mes, lep) in LEPTONIC_BR if mes == meson] or ["e", "mu"])


def br_to_lepton_hnl(meson: str, lepton: str, m_N: float, U2: float) -> float:
    """B(P+ -> l+ N) for P = "K+" or "pi+", l = "e" or "mu", HNL mass m_N (GeV), mixing |U_lN|^2 (dimensionless).

    B(P -> l nu)_PDG * |U|^2 * rho(x_l, x_N) / rho(x_l, 0). KinematicallyClosedError when m_N >= m_P - m_l.
    """
    mP = pseudoscalar_mass(meson)
    _check_lepton(meson, lepton)
    m_l = const.LEPTON_MASS[lepton]
    if m_N + m_l >= mP:
        msg = f"{meson} -> {lepton}+ N: m_N = {m_N:.4g} GeV >= m_{meson} - m_{lepton} = {mP - m_l:.4g} GeV (closed)"
        raise KinematicallyClosedError(msg)
    return LEPTONIC_BR[(meson, lepton)] * U2 * float(helicity_factor((m_l / mP) ** 2, (m_N / mP) ** 2))


def hnl_helicity_rest(x_l, x_N):
    """Helicity of N in the rest frame of P+ in P+ -> l+ N (between -1 and 1; dimensionless x = m^2 / m_P^2).

    From the helicity amplitudes of f_P p_P^mu [ubar_N gamma_mu (1 - gamma5) v_l] (both particles share the
    helicity, spin 0 parent): A_+ ~ m_N a + m_l b, A_- ~ m_N b + m_l a with a b = m_N m_l, giving
        P_N = (x_N - x_l) lambda^{1/2}(1, x_l, x_N) / [x_l + x_N - (x_l - x_N)^2]
    (-1 for m_N -> 0, the SM left-handed neutrino; +1 for m_l -> 0). Our derivation (Weyl-basis helicity spinors),
    checked in tests/processes/test_kaon_decays.py with the spin projector (1 + gamma5 S-slash)/2.
    """
    x_l = np.asarray(x_l, dtype=float)
    x_N = np.asarray(x_N, dtype=float)
    lam = np.sqrt(np.clip(kallen(1.0, x_l, x_N), 0.0, None))
    return (x_N - x_l) * lam / (x_l + x_N - (x_l - x_N) ** 2)
