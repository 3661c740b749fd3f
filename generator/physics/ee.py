"""Cross sections and widths for dark-sector production at e+e- colliders (Appendix B c, f, g of the paper).

Processes (massless electrons; every other mass kept):

- s-channel HNL pairs  e+ e- -> Z'* -> N_i N_j          (Eq. B12 in the massless limit)
- dark Higgsstrahlung  e+ e- -> Z'* -> Z' phi'           (Eq. B13 in the massless-phi' limit)
- ISR dark photon      e+ e- -> gamma Z'                 (Essig, Schuster, Toro, arXiv:0903.3941; Fayet,
                                                          hep-ph/0702176)
- SM Z decays          Z -> N_j N_k (Eq. B5), Z -> Z' phi' (Eq. B6)
- any vector -> f_i f_j width with chiral couplings (used for Z', Z and vector-meson widths)

Conventions. A vector V couples to fermions as  V_mu fbar_i gamma^mu (a_L P_L + a_R P_R) f_j. For Majorana mass
eigenstates the dark current g_X X_mu nubar gamma^mu (V P_L - V^T P_R)/2 nu (Eq. A2, V hermitian) gives, for the pair
(N_i, N_j), the Feynman-rule couplings (derivation in :func:`majorana_vector_couplings`)

    a_L = g V_ij ,   a_R = -g V_ij^*          (i != j and i == j alike),

and the phase-space integral of an identical pair (i == j) carries a symmetry factor 1/2. Propagators are 1 / D(s)
with D the constant-width Breit-Wigner s - m^2 + i m Gamma of generator.model.propagator (regime 2 there); the
q^mu q^nu / m^2 part vanishes against the conserved massless electron current.
Several s-channel mediators (the Z' and the SM Z, which couples to the dark current through Eq. B4) can be given
as sequences; their amplitudes are added.

Kinematics in the e+ e- centre-of-mass frame (CM): e- (p1) along +z, e+ (p2) along -z, theta is the polar angle of
the first final-state particle (N_i, Z', gamma) with respect to the e- direction.

Units: s in GeV^2, masses and widths in GeV, couplings dimensionless, cross sections in GeV^-2 (multiply by
constants.GEV2_TO_CM2 for cm^2), widths in GeV.
"""

from __future__ import annotations

import math

import numpy as np

from generator import constants as const
from generator.errors import PhysicsError
from generator.kernels.phase_space import kallen
from generator.model.propagator import breit_wigner
from generator.model.rates import gamma_vector_to_fermions as vector_to_ff_width

FOUR_PI = 4.0 * math.pi


# ------------------------------------------------------------------------------------------ helpers
def cm_momentum(sqrt_s, m1, m2):
    """Momentum (GeV) of either particle of a two-body final state in its rest frame,
    sqrt(lambda(s, m1^2, m2^2)) / (2 sqrt s).

    sqrt_s, m1, m2 in GeV (scalars or arrays); returns 0 below threshold.
    """
    s = np.asarray(sqrt_s, dtype=float) ** 2
    lam = kallen(s, np.asarray(m1, dtype=float) ** 2, np.asarray(m2, dtype=float) ** 2)
    return np.sqrt(np.clip(lam, 0.0, None)) / (2.0 * np.sqrt(s))


# ------------------------------------------------------------------------------------------ widths
# ------------------------------------------------------------------------------------------ e+e- -> f_i f_j
def _chiral_amplitudes(s, eL, eR, aL, aR, m_med, width_med):
    """Effective couplings C_XY = sum_k e_X^k a_Y^k / D_k(s) (GeV^-2) of the mediators k (D: model.propagator).

    Every coupling/mass argument is a scalar or a 1-d sequence over mediators; s (GeV^2) a scalar or array.
    """
    s = np.asarray(s, dtype=float)[..., None]
    eL, eR, aL, aR = (np.atleast_1d(np.asarray(v, dtype=complex)) for v in (eL, eR, aL, aR))
    m = np.atleast_1d(np.asarray(m_med, dtype=float))
    w = np.atleast_1d(np.asarray(width_med, dtype=float))
    D = breit_wigner(s, m, w)
    return (np.sum(eL * aL / D, axis=-1), np.sum(eL * aR / D, axis=-1),
            np.sum(eR * aL / D, axis=-1), np.sum(eR * aR / D, axis=-1))


def ee_to_ff_dsigma_dcos(s, cos_theta, m1, m2, eL, eR, aL, aR, m_med, width_med, identical: bool = False):
    """dsigma/dcos(theta) (GeV^-2) of e+ e- -> V* -> f_1 f_2 through one or several vectors V_k, massless electrons.

    s : GeV^2; cos_theta : angle of f_1 to the e- beam (CM); m1, m2 : final masses (GeV); (eL, eR) : V e e
    couplings; (aL, aR) : V f_1 f_2 couplings; m_med, width_med : mediator masses and widths (GeV). The coupling
    and mediator arguments are scalars (one mediator) or equal-length sequences (amplitudes added).

    Our trace calculation (checked in tests against explicit Dirac matrices): with C_XY of :func:`_chiral_amplitudes`,
        sum|M|^2 = 16 [ (|C_LL|^2 + |C_RR|^2)(p1.k2)(p2.k1) + (|C_LR|^2 + |C_RL|^2)(p1.k1)(p2.k2)
                        + m1 m2 (p1.p2) Re(C_LL C_LR^* + C_RR C_RL^*) ],
    p1 (e-), p2 (e+), k1 (f_1), k2 (f_2); dsigma/dOmega = k / (64 pi^2 s p) <|M|^2> (PDG Eq. 49.32),
    <|M|^2> = sum / 4, times 1/2 for identical final particles. Massless limit with eL = eR = e eps,
    aL = -aR^* = g_X V_ij and one mediator: Eq. (B12).
    """
    s = np.asarray(s, dtype=float)
    c = np.asarray(cos_theta, dtype=float)
    rs = np.sqrt(s)
    k = cm_momentum(rs, m1, m2)
    E1 = (s + m1 * m1 - m2 * m2) / (2.0 * rs)
    E2 = rs - E1
    CLL, CLR, CRL, CRR = _chiral_amplitudes(s, eL, eR, aL, aR, m_med, width_med)
    same = np.abs(CLL) ** 2 + np.abs(CRR) ** 2
    opp = np.abs(CLR) ** 2 + np.abs(CRL) ** 2
    mix = np.real(CLL * np.conj(CLR) + CRR * np.conj(CRL))
    # CM invariants: p1.k2 = rs/2 (E2 + k c), p2.k1 = rs/2 (E1 + k c), p1.k1 = rs/2 (E1 - k c), p2.k2 = rs/2 (E2 - k c)
    bracket = ((s / 4.0) * (same * (E1 + k * c) * (E2 + k * c) + opp * (E1 - k * c) * (E2 - k * c))
               + mix * m1 * m2 * s / 2.0)
    amp2 = 16.0 * bracket / 4.0
    sym = 0.5 if identical else 1.0
    return sym * k / (16.0 * math.pi * s * rs) * amp2


def ee_to_ff_sigma(s, m1, m2, eL, eR, aL, aR, m_med, width_med, identical: bool = False):
    """Total cross section (GeV^-2) of :func:`ee_to_ff_dsigma_dcos` integrated over cos(theta) in [-1, 1] (analytic).

    int (E1 + k c)(E2 + k c) dc = 2 E1 E2 + 2 k^2 / 3 (same with -k), int dc = 2. Arguments as there.
    """
    s = np.asarray(s, dtype=float)
    rs = np.sqrt(s)
    k = cm_momentum(rs, m1, m2)
    E1 = (s + m1 * m1 - m2 * m2) / (2.0 * rs)
    E2 = rs - E1
    CLL, CLR, CRL, CRR = _chiral_amplitudes(s, eL, eR, aL, aR, m_med, width_med)
    tot = np.abs(CLL) ** 2 + np.abs(CRR) ** 2 + np.abs(CLR) ** 2 + np.abs(CRL) ** 2
    mix = np.real(CLL * np.conj(CLR) + CRR * np.conj(CRL))
    bracket = (s / 4.0) * tot * (2.0 * E1 * E2 + 2.0 * k * k / 3.0) + mix * m1 * m2 * s
    amp2 = 16.0 * bracket / 4.0
    sym = 0.5 if identical else 1.0
    return np.where(rs > m1 + m2, sym * k / (16.0 * math.pi * s * rs) * amp2, 0.0)


def b12_dsigma_dcos(s, cos_theta, V2, alpha_D, eps2, m_zprime):
    """Eq. (B12) as printed (massless N): |V_ij|^2 alpha alpha_D eps^2 pi s / (s - m_Z'^2)^2 (1 + cos^2) / 2, GeV^-2.

    s in GeV^2, m_zprime in GeV, V2 = |V_ij|^2, eps2 = epsilon^2.
    """
    s = np.asarray(s, dtype=float)
    c = np.asarray(cos_theta, dtype=float)
    return V2 * const.ALPHA_EM * alpha_D * eps2 * math.pi * s / (s - m_zprime**2) ** 2 * (1.0 + c * c) / 2.0


# ------------------------------------------------------------------------------------------ Higgsstrahlung
def _higgsstrahlung_coupling2(s, eL, eR, g_vvs, m_med, width_med):
    """|E_L|^2 + |E_R|^2 with E_X = sum_k e_X^k g_k / (s - m_k^2 + i m_k G_k) (GeV^-2 squared times GeV^2)."""
    EL, _, ER, _ = _chiral_amplitudes(s, eL, eR, g_vvs, g_vvs, m_med, width_med)
    return np.abs(EL) ** 2 + np.abs(ER) ** 2


def higgsstrahlung_dsigma_dcos(s, cos_theta, m_zprime, m_phi, eL, eR, g_vvs, m_med=None, width_med=0.0):
    """dsigma/dcos(theta) (GeV^-2) of e+ e- -> V* -> Z' phi', theta = angle of the Z' to the e- beam (CM).

    s : GeV^2; m_zprime, m_phi : GeV; (eL, eR) : V e e couplings; g_vvs : V Z' phi' vertex (GeV), for V = Z'
    2 g_X m_Z' cos(theta_mix) from |D Phi|^2 with m_Z' = g_X v_Phi (Eq. 3); m_med, width_med : mediator masses and
    widths (GeV; default the Z' itself, zero width). Several mediators: equal-length sequences, amplitudes added.

    Our trace (Z' polarisation sum -g + k k / m_Z'^2): sum|M|^2 = (|E_L|^2 + |E_R|^2) [2 s + s k^2 sin^2 / m_Z'^2],
    E_X = sum_k e_X^k g_k / D_k, i.e.
        dsigma/dcos = k (|E_L|^2 + |E_R|^2) (2 m_Z'^2 + k^2 sin^2) / (64 pi sqrt(s) m_Z'^2),
    which for eL = eR = e eps, V = Z' and m_phi -> 0 is Eq. (B13); the SM analogue is e+e- -> Zh
    (dsigma/dcos ~ lambda sin^2 + 8 m_Z^2 / s, e.g. Djouadi, Phys. Rept. 457 (2008) 1, hep-ph/0503172, Sec. 4.1).
    """
    s = np.asarray(s, dtype=float)
    c = np.asarray(cos_theta, dtype=float)
    rs = np.sqrt(s)
    k = cm_momentum(rs, m_zprime, m_phi)
    mz2 = m_zprime**2
    g2 = _higgsstrahlung_coupling2(s, eL, eR, g_vvs, m_zprime if m_med is None else m_med, width_med)
    return k * g2 * (2.0 * mz2 + k * k * (1.0 - c * c)) / (64.0 * math.pi * rs * mz2)


def higgsstrahlung_sigma(s, m_zprime, m_phi, eL, eR, g_vvs, m_med=None, width_med=0.0):
    """Total e+ e- -> Z' phi' cross section (GeV^-2): :func:`higgsstrahlung_dsigma_dcos` over [-1, 1] (analytic).

    int (2 m^2 + k^2 sin^2) dc = 4 m^2 + 4 k^2 / 3. Arguments as there.
    """
    s = np.asarray(s, dtype=float)
    rs = np.sqrt(s)
    k = cm_momentum(rs, m_zprime, m_phi)
    mz2 = m_zprime**2
    g2 = _higgsstrahlung_coupling2(s, eL, eR, g_vvs, m_zprime if m_med is None else m_med, width_med)
    sig = k * g2 * (4.0 * mz2 + 4.0 * k * k / 3.0) / (64.0 * math.pi * rs * mz2)
    return np.where(rs > m_zprime + m_phi, sig, 0.0)


def b13_dsigma_dcos(s, cos_theta, alpha_D, eps2, m_zprime):
    """Eq. (B13) (massless phi'): pi alpha alpha_D eps^2 [sin^2 (s - m^2)^2 + 8 m^2 s] / (4 s^2 (s - m^2)), GeV^-2.

    The printed "(s - m_Z')^2" in the sin^2 term is (s - m_Z'^2)^2 (dimensions; it is what the massless limit of
    :func:`higgsstrahlung_dsigma_dcos` gives). s in GeV^2, m_zprime in GeV.
    """
    s = np.asarray(s, dtype=float)
    c = np.asarray(cos_theta, dtype=float)
    m2 = m_zprime**2
    num = (1.0 - c * c) * (s - m2) ** 2 + 8.0 * m2 * s
    return math.pi * const.ALPHA_EM * alpha_D * eps2 * num / (4.0 * s * s * (s - m2))


def b14_ratio(s, m_zprime, V2, br_zprime_jk):
    """Eq. (B14): sigma(ee -> N_j N_k) / [sigma(ee -> phi' Z') B(Z' -> N_j N_k)] for massless N and phi'.

    4 |V_jk|^2 s^3 / ((s - m^2)((s - m^2)^2 + 12 s m^2)) / B. The printed approximation "3.5 |V_jk| / B" has
    |V_jk|^2 (it is the prefactor 4 s^3/(...) = 3.5 at sqrt(s) = 10 GeV, m_Z' = 1.25 GeV times |V_jk|^2).
    s in GeV^2, m_zprime in GeV.
    """
    m2 = m_zprime**2
    return 4.0 * V2 * s**3 / ((s - m2) * ((s - m2) ** 2 + 12.0 * s * m2)) / br_zprime_jk


# ------------------------------------------------------------------------------------------ ISR dark photon
def isr_dsigma_dcos(s, cos_theta, m_zprime, eL, eR):
    """dsigma/dcos(theta_gamma) (GeV^-2) of e+ e- -> gamma Z' (on-shell Z', massless electrons), theta_gamma the
    photon angle to the e- beam in the CM. (eL, eR): Z' e e couplings; s in GeV^2, m_zprime in GeV.

    <|M|^2> = e^2 A (t^2 + u^2 + 2 s m^2) / (t u), A = |eL|^2 + |eR|^2 (the q qbar -> g V matrix element of
    vector-boson + jet production, Ellis-Stirling-Webber "QCD and collider physics" Ch. 9, with the colour factors
    removed; checked against explicit Dirac traces in tests; for eL = eR = e eps this is the dark-photon result of
    Essig-Schuster-Toro arXiv:0903.3941 / Fayet hep-ph/0702176):
        dsigma/dcos = (alpha A / (4 s)) [ (1 - m^2/s)(1 + c^2) + 4 m^2 / (s - m^2) ] / (1 - c^2)
    ( = 2 pi alpha^2 eps^2 / s (1 - m^2/s) [ (1 + c^2) + 4 s m^2 / (s - m^2)^2 ] / sin^2 for eL = eR = e eps).
    The 1/sin^2 collinear singularity (m_e -> 0) must be regulated by a photon angular cut.
    """
    s = np.asarray(s, dtype=float)
    c = np.asarray(cos_theta, dtype=float)
    m2 = m_zprime**2
    A = abs(eL) ** 2 + abs(eR) ** 2
    return const.ALPHA_EM * A / (4.0 * s) * ((1.0 - m2 / s) * (1.0 + c * c) + 4.0 * m2 / (s - m2)) / (1.0 - c * c)


def isr_sigma(s, m_zprime, eL, eR, cos_min, cos_max):
    """e+ e- -> gamma Z' cross section (GeV^-2) for cos_min < cos(theta_gamma) < cos_max (analytic integral).

    int dc / (1 - c^2) = atanh(c);  int (1 + c^2) / (1 - c^2) dc = 2 atanh(c) - c. Requires -1 < cos_min < cos_max < 1
    (the full range diverges for massless electrons): PhysicsError otherwise. s in GeV^2, m_zprime in GeV.
    """
    if not (-1.0 < cos_min < cos_max < 1.0):
        msg = (f"photon window cos_theta in ({cos_min}, {cos_max}): must satisfy -1 < cos_min < cos_max < 1; the ISR "
               "cross section diverges for collinear photons (1/sin^2 theta), so a cut is required")
        raise PhysicsError(msg)
    s = float(s)
    m2 = m_zprime**2
    if s <= m2:
        msg = f"sqrt(s) = {math.sqrt(s):.4g} GeV is below the Z' mass {m_zprime} GeV: gamma Z' closed"
        raise PhysicsError(msg)
    A = abs(eL) ** 2 + abs(eR) ** 2
    i1 = (2.0 * math.atanh(cos_max) - cos_max) - (2.0 * math.atanh(cos_min) - cos_min)
    i0 = math.atanh(cos_max) - math.atanh(cos_min)
    return const.ALPHA_EM * A / (4.0 * s) * ((1.0 - m2 / s) * i1 + 4.0 * m2 / (s - m2) * i0)


def isr_photon_energy_cm(sqrt_s, m_zprime):
    """CM photon energy (GeV) of e+ e- -> gamma Z' for an on-shell Z': (s - m^2) / (2 sqrt s); inputs in GeV."""
    return (sqrt_s**2 - m_zprime**2) / (2.0 * sqrt_s)


# ------------------------------------------------------------------------------------------ Z decays (App. B c)
def z_to_hnl_pair_width(g_x, chi, Vjk, m_j, m_k, identical: bool):
    """Gamma(Z -> N_j N_k) in GeV with masses kept, from the coupling Z_mu g_X s_W chi J_X^mu (Eq. B4).

    g_x : dark gauge coupling; chi : kinetic mixing (eps / c_W); Vjk : complex V_jk; m_j, m_k : GeV.
    Vertex (a_L, a_R) = g_X s_W chi (V_jk, -V_jk^*) (:func:`majorana_vector_couplings`).
    Massless limit: g_X^2 s_W^2 chi^2 |V_jk|^2 m_Z / (12 pi) for j != k, half of that for j == k.
    """
    g = g_x * const.SW * chi
    aL, aR = g * Vjk, -g * np.conj(Vjk)
    return float(vector_to_ff_width(const.M_Z, m_j, m_k, aL, aR, identical=identical))


def z_to_hnl_pair_width_b5(V2, alpha_D, eps2):
    """Eq. (B5) as printed: |V_jk|^2 G_F m_Z^3 / (12 sqrt2 pi) (2 g_X s_W eps / g)^2, in GeV (g_X^2 = 4 pi alpha_D).

    Equals the j == k massless limit of :func:`z_to_hnl_pair_width` (j != k pairs are twice as large).
    """
    g_x2 = FOUR_PI * alpha_D
    pref = const.G_FERMI * const.M_Z**3 / (12.0 * math.sqrt(2.0) * math.pi)
    return V2 * pref * 4.0 * g_x2 * const.SW2 * eps2 / const.G_WEAK**2


def z_to_zprime_phi_width(g_x, chi, m_zprime, m_phi, cos_mix: float = 1.0):
    """Gamma(Z -> Z' phi') in GeV, masses kept.

    Vertex g_{Z Z' phi'} = 2 g_X m_Z' s_W chi cos(theta_mix) (from g_X^2 v_Phi phi' X X with X = Z' + s_W chi Z,
    App. A). sum_pol |M|^2 = g^2 [2 + (q.k)^2 / (m_Z^2 m_Z'^2)], q.k = (m_Z^2 + m_Z'^2 - m_phi^2) / 2;
    Gamma = k / (8 pi m_Z^2) sum / 3. Massless limit: alpha_D s_W^2 chi^2 m_Z / 12 = alpha_D t_W^2 eps^2 m_Z / 12.
    g_x dimensionless, masses in GeV.
    """
    mz = const.M_Z
    k = float(cm_momentum(mz, m_zprime, m_phi))
    g = 2.0 * g_x * m_zprime * const.SW * chi * cos_mix
    qk = 0.5 * (mz**2 + m_zprime**2 - m_phi**2)
    amp2 = g * g * (2.0 + qk * qk / (mz**2 * m_zprime**2))
    return k / (8.0 * math.pi * mz**2) * amp2 / 3.0


def z_to_zprime_phi_width_b6(alpha_D, eps2):
    """Eq. (B6) as printed: pi alpha_D t_W^2 eps^2 m_Z / 12, in GeV. (The massless limit of
    :func:`z_to_zprime_phi_width` is this without the factor pi; see the report in tests/physics/test_ee_physics.py.)"""
    tw2 = const.SW2 / (1.0 - const.SW2)
    return math.pi * alpha_D * tw2 * eps2 * const.M_Z / 12.0
