"""Two-body decay asymmetry of a polarised fermion from the explicit Dirac trace of the vertex.

Units: masses in GeV; couplings dimensionless; the asymmetry is dimensionless.
"""

from __future__ import annotations

import math

import numpy as np

from generator.errors import UnknownNameError
from generator.kernels.phase_space import two_body_momentum

#: boson kinds of :func:`two_body_asymmetry`.
BOSON_KINDS = ("scalar", "vector")


def _dirac_matrices():
    """gamma^0..3 in the Dirac (Bjorken-Drell) representation and gamma5 = i g0 g1 g2 g3
    (traces are basis independent)."""
    i2 = np.eye(2)
    z2 = np.zeros((2, 2))
    sig = [np.array([[0, 1], [1, 0]], complex), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]], complex)]
    g0 = np.block([[i2, z2], [z2, -i2]]).astype(complex)
    gs = [np.block([[z2, s], [-s, z2]]) for s in sig]
    g = [g0, *gs]
    g5 = 1j * g[0] @ g[1] @ g[2] @ g[3]
    return g, g5


def _slash(g, p):
    return g[0] * p[0] - g[1] * p[1] - g[2] * p[2] - g[3] * p[3]


def two_body_asymmetry(boson: str, m_i: float, m_j: float, m_b: float, c_L: complex, c_R: complex) -> float:
    """Asymmetry alpha of a polarised fermion decay N_i -> N_j + boson: dGamma/dcos(theta) ~ 1 + alpha P cos(theta).

    theta is the angle between the daughter fermion and the parent spin in the parent rest frame.
    Vertex ubar_j Gamma u_i with Gamma = c_L P_L + c_R P_R ("scalar") or gamma^mu (c_L P_L + c_R P_R)
    ("vector", polarisation sum -g + k k / m_b^2). alpha = (T(+s) - T(-s)) / (T(+s) + T(-s)) with T the
    explicit Dirac trace Tr[(pj + m_j) Gamma (pi + m_i)(1 + gamma5 s)/2 Gamma_bar] (spin projector:
    Bjorken & Drell; Haber, "Spin formalism and applications to new physics searches", hep-ph/9405376).
    Masses in GeV; couplings dimensionless. Returns 0 for a closed channel.
    """
    if boson not in ("scalar", "vector"):
        raise UnknownNameError("boson kind", boson, BOSON_KINDS)
    q = two_body_momentum(m_i, m_j, m_b)
    if q <= 0.0:
        return 0.0
    g, g5 = _dirac_matrices()
    one = np.eye(4)
    PL, PR = (one - g5) / 2, (one + g5) / 2
    pi = np.array([m_i, 0.0, 0.0, 0.0])
    pj = np.array([math.sqrt(m_j**2 + q**2), 0.0, 0.0, q])
    k = pi - pj
    metric = np.diag([1.0, -1.0, -1.0, -1.0])
    chiral = c_L * PL + c_R * PR
    chiral_bar = np.conj(c_L) * PR + np.conj(c_R) * PL
    T = []
    for sign in (1.0, -1.0):
        s = np.array([0.0, 0.0, 0.0, sign])
        rho = (_slash(g, pi) + m_i * one) @ (one + g5 @ _slash(g, s)) / 2
        fin = _slash(g, pj) + m_j * one
        if boson == "scalar":
            t = np.trace(fin @ chiral @ rho @ chiral_bar)
        else:
            klow = metric @ k
            pol = -metric + np.outer(klow, klow) / m_b**2  # lower indices
            t = sum(
                pol[mu, nu] * np.trace(fin @ g[mu] @ chiral @ rho @ chiral_bar @ g[nu])
                for mu in range(4) for nu in range(4)
            )
        T.append(float(np.real(t)))
    tot = T[0] + T[1]
    return 0.0 if tot == 0 else (T[0] - T[1]) / tot


def boson_kind(name: str) -> str | None:
    """"scalar" for phi' and h, "vector" for Z', Z, W+-; None for other names (no asymmetry)."""
    if name in ("phi'", "h"):
        return "scalar"
    if name in ("Z'", "Z", "W+", "W-"):
        return "vector"
    return None
