"""Couplings of the Z', Z and phi' to SM fermions and to the neutrino mass eigenstates.

References: Eq. (3) (Z' to EM, NC and dark currents), Eq. (A2)-(A3) (vertices in the mass basis),
Eq. (B4) (Z to the dark current). Chiral couplings are returned as (g_L, g_R) multiplying
gamma^mu P_L and gamma^mu P_R in the Lagrangian term  V_mu fbar gamma^mu (g_L P_L + g_R P_R) f.
All couplings are dimensionless. The neutrino-line vertex matrices and the Majorana Feynman rules are in
generator.model.vertices.
"""

from __future__ import annotations

from generator import constants as const
from generator.model.parameters import ModelParameters

#: SM fermion quantum numbers: (electric charge Q, weak isospin T3 of the left-handed field).
FERMION_CHARGES = {
    "e": (-1.0, -0.5), "mu": (-1.0, -0.5), "tau": (-1.0, -0.5),
    "nu": (0.0, 0.5),
    "u": (2.0 / 3.0, 0.5), "d": (-1.0 / 3.0, -0.5), "s": (-1.0 / 3.0, -0.5), "c": (2.0 / 3.0, 0.5),
    "p": (1.0, 0.5), "n": (0.0, -0.5),  # nucleon charges for the coherent/vector piece only
}


def zprime_em_coupling(p: ModelParameters) -> float:
    """Z' coupling to the EM current, e * epsilon (Eq. 3)."""
    return const.E_CHARGE * p.epsilon


def zprime_nc_coupling(p: ModelParameters) -> float:
    """Z' coupling to the SM neutral current, g/(2 c_W) * (m_Z'/m_Z)^2 * chi (Eq. 3)."""
    return const.G_WEAK / (2.0 * const.CW) * (p.m_Zprime / const.M_Z) ** 2 * p.chi


def z_dark_coupling(p: ModelParameters) -> float:
    """SM Z coupling to the dark current, g_X s_W chi (Eq. B4)."""
    return p.g_X * const.SW * p.chi


def nc_chiral(fermion: str) -> tuple[float, float]:
    """Chiral NC charges (T3 - Q s_W^2, -Q s_W^2) so that J_NC = fbar gamma (c_L P_L + c_R P_R) f * 2.

    With the normalisation (g / 2 c_W) J_NC^mu and J_NC^mu = fbar gamma^mu (g_V - g_A gamma5) f,
    g_V = T3 - 2 Q s_W^2, g_A = T3: the chiral couplings are c_L = g_V + g_A = 2 (T3 - Q s_W^2) and
    c_R = g_V - g_A = -2 Q s_W^2.
    """
    q, t3 = FERMION_CHARGES[fermion]
    return 2.0 * (t3 - q * const.SW2), -2.0 * q * const.SW2


def zprime_fermion_couplings(p: ModelParameters, fermion: str) -> tuple[float, float]:
    """(g_L, g_R) of the Z' to a charged SM fermion: e eps Q + NC piece of Eq. (3)."""
    q, _ = FERMION_CHARGES[fermion]
    em = zprime_em_coupling(p) * q
    cl, cr = nc_chiral(fermion)
    nc = zprime_nc_coupling(p)
    return em + nc * cl, em + nc * cr


def z_fermion_couplings(fermion: str) -> tuple[float, float]:
    """(g_L, g_R) of the SM Z to a fermion: g/(2 c_W) (c_L, c_R)."""
    cl, cr = nc_chiral(fermion)
    k = const.G_WEAK / (2.0 * const.CW)
    return k * cl, k * cr

