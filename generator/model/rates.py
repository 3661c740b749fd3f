"""Partial-width formulas: two-body (vector/scalar to fermions, fermion to fermion + boson), N -> nu gamma and the
three-body Dalitz integral. Pure functions of masses (GeV) and dimensionless couplings; widths in GeV.

The couplings entering them are built in generator.model.vertices (neutrino line) and generator.model.couplings
(SM fermions); the channel lists that call them are in generator.model.channels.
"""

from __future__ import annotations

import math

import numpy as np

from generator import constants as const
from generator.model.three_body import dalitz_invariants, dalitz_msq

#: Gauss-Legendre nodes on the Dalitz plane (outer m_ff^2 after a sin^2 map; inner m_jf^2, polynomial).
N_OUTER = 48
N_INNER = 6


# ------------------------------------------------------------------------------------------ kinematics
def _sqrt_lambda(M, m1, m2):
    """sqrt(lambda(M^2, m1^2, m2^2)) in GeV^2, zero when closed (M <= m1 + m2)."""
    if m1 + m2 >= M:
        return 0.0
    return math.sqrt(max((M * M - (m1 + m2) ** 2) * (M * M - (m1 - m2) ** 2), 0.0))



# ------------------------------------------------------------------------------------------ two-body widths
def gamma_vector_to_fermions(M, m1, m2, gL, gR, identical: bool = False) -> float:
    """Gamma(V -> f_1 fbar_2) in GeV for a vector of mass M (GeV) with couplings gamma^mu (gL P_L + gR P_R).

    Our trace with the massive polarisation sum -g + q q/M^2, averaged over the 3 polarisations:
        sum|M|^2 = (|gL|^2 + |gR|^2) [2 M^2 - m1^2 - m2^2 - (m1^2 - m2^2)^2 / M^2] + 12 m1 m2 Re(gL gR^*),
        Gamma = sqrt(lambda(M^2, m1^2, m2^2)) / (48 pi M^3) * sum|M|^2    (x 1/2 for identical particles).
    Pure EM limit gL = gR = e eps Q: Gamma = alpha eps^2 M (1 + 2 m^2/M^2) sqrt(1 - 4 m^2/M^2) / 3.
    """
    sl = _sqrt_lambda(M, m1, m2)
    if sl == 0.0:
        return 0.0
    b = abs(gL) ** 2 + abs(gR) ** 2
    amp2 = b * (2.0 * M * M - m1 * m1 - m2 * m2 - (m1 * m1 - m2 * m2) ** 2 / (M * M))
    amp2 += 12.0 * m1 * m2 * (complex(gL) * complex(gR).conjugate()).real
    w = sl / (48.0 * math.pi * M**3) * amp2
    return 0.5 * w if identical else w


def gamma_scalar_to_fermions(M, m1, m2, yL, yR, identical: bool = False) -> float:
    """Gamma(S -> f_1 fbar_2) in GeV for a scalar of mass M (GeV) with Yukawa (yL P_L + yR P_R).

    Our trace: sum|M|^2 = (|yL|^2 + |yR|^2)(M^2 - m1^2 - m2^2) - 4 m1 m2 Re(yL yR^*);
    Gamma = sqrt(lambda) / (16 pi M^3) * sum|M|^2 (x 1/2 identical). Scalar y fbar f: y^2 M beta^3 / (8 pi).
    """
    sl = _sqrt_lambda(M, m1, m2)
    if sl == 0.0:
        return 0.0
    amp2 = (abs(yL) ** 2 + abs(yR) ** 2) * (M * M - m1 * m1 - m2 * m2)
    amp2 -= 4.0 * m1 * m2 * (complex(yL) * complex(yR).conjugate()).real
    w = sl / (16.0 * math.pi * M**3) * amp2
    return 0.5 * w if identical else w


def gamma_scalar_to_vectors(m_s, m_v, kappa) -> float:
    """Gamma(S -> V V) in GeV for L = kappa S V_mu V^mu (kappa in GeV, identical vectors).

    Gamma = kappa^2 m_s^3 sqrt(1 - 4y) (1 - 4y + 12 y^2) / (32 pi m_v^4), y = m_v^2/m_s^2
    (h -> ZZ with kappa = m_Z^2/v: G_F m_h^3/(16 sqrt2 pi) ..., e.g. Djouadi, hep-ph/0503172 Eq. 2.17).
    """
    if m_s <= 2.0 * m_v:
        return 0.0
    y = (m_v / m_s) ** 2
    return kappa**2 * m_s**3 * math.sqrt(1.0 - 4.0 * y) * (1.0 - 4.0 * y + 12.0 * y * y) / (32.0 * math.pi * m_v**4)


def gamma_fermion_to_fermion_vector(mi, mj, mv, gL, gR) -> float:
    """Gamma(N_i -> N_j V) in GeV, on-shell vector of mass mv, vertex nbar_j gamma (gL P_L + gR P_R) n_i.

    Our trace (spin average 1/2, polarisation sum -g + k k/mv^2):
        sum|M|^2 = (|gL|^2 + |gR|^2)[mi^2 + mj^2 - 2 mv^2 + (mi^2 - mj^2)^2 / mv^2] - 12 mi mj Re(gL gR^*),
        Gamma = sqrt(lambda(mi^2, mj^2, mv^2)) / (32 pi mi^3) * sum|M|^2.
    """
    sl = _sqrt_lambda(mi, mj, mv)
    if sl == 0.0:
        return 0.0
    b = abs(gL) ** 2 + abs(gR) ** 2
    amp2 = b * (mi * mi + mj * mj - 2.0 * mv * mv + (mi * mi - mj * mj) ** 2 / (mv * mv))
    amp2 -= 12.0 * mi * mj * (complex(gL) * complex(gR).conjugate()).real
    return sl / (32.0 * math.pi * mi**3) * amp2


def gamma_fermion_to_fermion_scalar(mi, mj, ms, yL, yR) -> float:
    """Gamma(N_i -> N_j S) in GeV, on-shell scalar of mass ms, vertex nbar_j (yL P_L + yR P_R) n_i.

    Our trace: sum|M|^2 = (|yL|^2 + |yR|^2)(mi^2 + mj^2 - ms^2) + 4 mi mj Re(yL yR^*);
    Gamma = sqrt(lambda(mi^2, mj^2, ms^2)) / (32 pi mi^3) * sum|M|^2.
    """
    sl = _sqrt_lambda(mi, mj, ms)
    if sl == 0.0:
        return 0.0
    amp2 = (abs(yL) ** 2 + abs(yR) ** 2) * (mi * mi + mj * mj - ms * ms)
    amp2 += 4.0 * mi * mj * (complex(yL) * complex(yR).conjugate()).real
    return sl / (32.0 * math.pi * mi**3) * amp2


def gamma_nu_gamma(m_n, u2_sum) -> float:
    """Gamma(N -> nu gamma) in GeV for a Majorana HNL of mass m_n (GeV), sum_alpha |U_alpha N|^2 = u2_sum.

    SM one-loop (W-lepton loop, GIM limit m_l << m_W): Gamma = 9 alpha G_F^2 m^5 sin^2(2 theta) / (1024 pi^4)
    with sin^2(2 theta) = 4 |U|^2 (Pal & Wolfenstein, PRD 25 (1982) 766; Barger, Phillips, Sarkar,
    hep-ph/9503295), i.e. 9 alpha G_F^2 m^5 |U|^2 / (256 pi^4).
    """
    return 9.0 * const.ALPHA_EM * const.G_FERMI**2 * m_n**5 * u2_sum / (256.0 * math.pi**4)



# ------------------------------------------------------------------------------------------ three-body
def gamma_three_body_vector(mi, mj, m1, m2, med_m, med_w, aL, aR, bL, bR,
                            n_outer: int = N_OUTER, n_inner: int = N_INNER) -> float:
    """Gamma(N_i -> N_j f fbar) in GeV through vector mediators, integrated over the full Dalitz plane.

    dGamma = <|M|^2> / (256 pi^3 mi^3) dm_ff^2 dm_jf^2 (PDG "Kinematics" Eq. 49.22), <|M|^2> spin-averaged from
    :func:`generator.model.three_body.dalitz_msq`. Outer variable m_ff^2 = lo + (hi - lo) sin^2(phi), which removes
    the square-root edges of the Dalitz boundary, with n_outer Gauss-Legendre nodes; inner m_jf^2 with n_inner
    nodes (the integrand is a quadratic polynomial in m_jf^2 at fixed m_ff^2, so 3 nodes are already exact).
    Masses in GeV, couplings as in :func:`generator.model.three_body.msq_vector`.
    """
    lo = (m1 + m2) ** 2
    hi = (mi - mj) ** 2
    if hi <= lo:
        return 0.0
    xo, wo = np.polynomial.legendre.leggauss(n_outer)
    phi = (xo + 1.0) * (math.pi / 4.0)
    s = lo + (hi - lo) * np.sin(phi) ** 2
    w_s = wo * (math.pi / 4.0) * (hi - lo) * np.sin(2.0 * phi)
    t_lo, t_hi = dalitz_invariants(s, mi, mj, m1, m2)
    xi, wi = np.polynomial.legendre.leggauss(n_inner)
    half = 0.5 * (t_hi - t_lo)
    t = (t_lo + half)[:, None] + half[:, None] * xi[None, :]
    w = (w_s * half)[:, None] * wi[None, :]
    ss = np.broadcast_to(s[:, None], t.shape)
    msq = dalitz_msq(ss.ravel(), t.ravel(), mi, mj, m1, m2, med_m, med_w, aL, aR, bL, bR)
    return float(np.sum(w.ravel() * msq) / (256.0 * math.pi**3 * mi**3))


def gamma_contact_massless(mi, cll, clr, crl, crr) -> float:
    """Analytic Gamma (GeV) of N_i -> N_j f fbar for a contact interaction C_XY [gamma P_X][gamma P_Y] (C in GeV^-2)
    with all final masses zero: Gamma = (|C_LL|^2 + |C_LR|^2 + |C_RL|^2 + |C_RR|^2) mi^5 / (1536 pi^3).

    (Muon decay: C_LL = 2 sqrt2 G_F gives G_F^2 m^5 / (192 pi^3).)"""
    return (abs(cll) ** 2 + abs(clr) ** 2 + abs(crl) ** 2 + abs(crr) ** 2) * mi**5 / (1536.0 * math.pi**3)
