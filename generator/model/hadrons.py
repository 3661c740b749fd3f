"""Hadronic widths of the Z' (R ratio) and phi' (Higgs mixing), with the running strong coupling they use.

Units: masses, energies and widths in GeV; couplings dimensionless.
"""

from __future__ import annotations

import math

from particle import Particle

from generator import constants as const
from generator.model.rates import gamma_scalar_to_fermions

# PDG 2020 (RPP "Meson summary tables") leptonic and hadronic branching ratios of the light vector mesons,
# used by the R-ratio below 1.1 GeV.
_VECTOR_MESONS = {  # pdgid: (B(V -> e+ e-), B(V -> hadrons))
    113: (4.72e-5, 1.0),
    223: (7.38e-5, 0.985),  # 3 pi + pi0 gamma + 2 pi
    333: (2.973e-4, 0.997),
}
#: quark pole masses (GeV, PDG 2020) for the open-flavour thresholds of R(s).
_M_CHARM_POLE = 1.67
_M_BOTTOM_POLE = 4.78
#: strong coupling at m_Z (PDG 2020).
ALPHA_S_MZ = 0.1179

# ------------------------------------------------------------------------------------------ hadrons
def alpha_s(mu) -> float:
    """One-loop MSbar-like running strong coupling at scale mu (GeV), alpha_s(m_Z) = 0.1179, n_f = 5/4/3
    below m_Z / 4.78 / 1.67 GeV (continuous at the thresholds; Peskin & Schroeder Eq. 17.17).
    Only used for the (1 + alpha_s/pi) factors; frozen below 1 GeV at alpha_s(1 GeV)."""
    mu = max(float(mu), 1.0)
    a = ALPHA_S_MZ
    scale = const.M_Z
    for nf, lower in ((5, _M_BOTTOM_POLE), (4, _M_CHARM_POLE), (3, 0.0)):
        b0 = 11.0 - 2.0 * nf / 3.0
        target = max(mu, lower)
        a = a / (1.0 + a * b0 / (2.0 * math.pi) * math.log(target / scale))
        scale = target
        if mu >= lower:
            break
    return a


def _breit_wigner_r(s):
    """R from the rho, omega, phi resonances (incoherent Breit-Wigners, PDG masses and widths, s in GeV^2):
    sigma_V(s) = 12 pi B_ee B_had Gamma_V^2 / ((s - m_V^2)^2 + m_V^2 Gamma_V^2) (peak 12 pi B_ee B_had / m_V^2),
    R = sum_V sigma_V / sigma_mumu, sigma_mumu = 4 pi alpha^2 / (3 s)."""
    r = 0.0
    for pid, (bee, bhad) in _VECTOR_MESONS.items():
        part = Particle.from_pdgid(pid)
        m, g = part.mass * const.MEV, part.width * const.MEV
        sigma = 12.0 * math.pi * bee * bhad * g * g / ((s - m * m) ** 2 + m * m * g * g)
        r += sigma / (4.0 * math.pi * const.ALPHA_EM**2 / (3.0 * s))
    return r


def r_ratio(sqrt_s) -> float:
    """R(s) = sigma(e+e- -> hadrons) / sigma(e+e- -> mu+mu-) (massless muons) at sqrt_s (GeV).

    Parameterisation (documented choice):
    - sqrt_s < 2 m_pi: 0;
    - 2 m_pi <= sqrt_s < 1.1 GeV: rho(770), omega(782), phi(1020) Breit-Wigners (:func:`_breit_wigner_r`,
      no interference, PDG 2020 B_ee; accurate to ~20% on the peaks, misses the 2 pi continuum tails);
    - sqrt_s >= 1.1 GeV: quark-parton model N_c sum_q Q_q^2 (1 + alpha_s/pi) with u, d, s massless and c, b
      with the open-threshold factor beta (3 - beta^2)/2 at pole masses 1.67, 4.78 GeV; narrow c cbar and
      b bbar resonances are not included. Compare PDG "Plots of cross sections" R(s): ~2.2 at 1.25 GeV.
    """
    e = float(sqrt_s)
    if e < 2.0 * const.M_PI_CHARGED:
        return 0.0
    if e < 1.1:
        return _breit_wigner_r(e * e)
    r = 3.0 * (4.0 / 9.0 + 1.0 / 9.0 + 1.0 / 9.0)
    for mq, q in ((_M_CHARM_POLE, 2.0 / 3.0), (_M_BOTTOM_POLE, -1.0 / 3.0)):
        if e > 2.0 * mq:
            beta = math.sqrt(1.0 - 4.0 * mq * mq / (e * e))
            r += 3.0 * q * q * beta * (3.0 - beta * beta) / 2.0
    return r * (1.0 + alpha_s(e) / math.pi)


def gamma_vector_to_hadrons(M, g_em) -> float:
    """Gamma(V -> hadrons) in GeV of a vector of mass M (GeV) coupled to the EM current with strength g_em
    (e eps for the Z'): Gamma = g_em^2 M / (12 pi) * R(M^2)  (= Gamma(V -> mu mu)|_massless * R; e.g.
    Buschmann et al., arXiv:1505.07459). The NC piece of the Z' coupling (Eq. 3, suppressed by m_Z'^2/m_Z^2) is
    neglected for hadrons."""
    return g_em**2 * M / (12.0 * math.pi) * r_ratio(M)


def gamma_scalar_to_hadrons(m_s, sin_theta) -> float:
    """Gamma(phi' -> hadrons) in GeV through Higgs mixing sin_theta, mass m_s in GeV.

    Documented choice (uncertain by a factor of a few around 1-2 GeV, cf. Winkler arXiv:1809.01876):
    - m_s < 2 GeV: pi pi from leading-order chiral perturbation theory (Voloshin 1986; Bezrukov & Gorbunov
      arXiv:0912.0390 Eq. 3.4): Gamma = 3 s^2 m^3 / (32 pi v^2) beta_pi (2/9 + 11 m_pi^2 / (9 m^2))^2;
    - m_s >= 2 GeV: spectator quarks s, c, b (N_c y_q^2 m beta^3 / (8 pi), y_q = m_q s / v, pole masses) plus
      gluons through the heavy-top loop, Gamma_gg = alpha_s^2 m^3 s^2 / (72 pi^3 v^2) (Djouadi Eq. 2.28).
    """
    if sin_theta == 0.0 or m_s < 2.0 * const.M_PI_CHARGED:
        return 0.0
    v2 = const.V_HIGGS**2
    s2 = sin_theta**2
    if m_s < 2.0:
        beta = math.sqrt(1.0 - 4.0 * const.M_PI_CHARGED**2 / m_s**2)
        chpt = (2.0 / 9.0 + 11.0 * const.M_PI_CHARGED**2 / (9.0 * m_s**2)) ** 2
        return 3.0 * s2 * m_s**3 / (32.0 * math.pi * v2) * beta * chpt
    w = 0.0
    for mq in (0.095, _M_CHARM_POLE, _M_BOTTOM_POLE):
        y = mq * sin_theta / const.V_HIGGS
        w += 3.0 * gamma_scalar_to_fermions(m_s, mq, mq, y, y)
    w += alpha_s(m_s) ** 2 * m_s**3 * s2 / (72.0 * math.pi**3 * v2)
    return w
