"""Partial widths of the Z', phi' and the HNLs N_4 ... (pure functions of masses/couplings, and of a Spectrum).

Units: every mass, energy and width in GeV; couplings dimensionless.

Vertex conventions
------------------
A vector V couples as V_mu fbar_j gamma^mu (a_L P_L + a_R P_R) f_i. For Majorana mass eigenstates the neutral
currents of Eq. (A2) with a hermitian vertex matrix X (V, C or the flavour-projected C^alpha) give, for the
transition i -> j, the Feynman-rule couplings

    a_L = g X_ji ,   a_R = -g X_ji^*                                              (:func:`majorana_vector_vertex`)

(collect the (i, j) and (j, i) terms with Psibar_j gamma P_L Psi_i = -Psibar_i gamma P_R Psi_j; Eq. A2 read with
V^dagger -> V^T). Two Majorana states of opposite CP parity (X_ji imaginary) thus couple through a pure vector
current, as the two halves of a Dirac fermion must; same CP parity gives a pure axial current (identical pairs get
the phase-space factor 1/2). This is convention "majorana" (default).

Convention "paper": the paper's Tables I/II (B(Z' -> N_j N_k), c tau^0 of N_5, N_6) are reproduced only with a pure
axial coupling of strength |X_ji| for every pair, i.e. a_R = -a_L = -g X_ji, and no 1/2 for identical pairs. In
BP-A..C, N_5 has the opposite CP parity to N_4 and N_6 (V_45, V_56 imaginary), so the physical couplings are vector
and c tau^0(N_5), c tau^0(N_6) come out ~3 times longer than in the tables (numbers in tests/test_model_widths.py).
(``generator.model.couplings.majorana_vector_couplings`` gives the "majorana" form.)

The scalar phi' couples as phi' nbar_j (y_L P_L + y_R P_R) n_i with y_L = S_ji / sqrt 2, y_R = S_ji^* / sqrt 2
(Eq. A2, S symmetric; both orderings of the Majorana pair added).

Which mediators enter N_i -> X f fbar:
- Z': g_X V + g/(2 c_W) (m_Z'/m_Z)^2 chi C on the neutrino line (Eq. 3, NC piece), couplings.zprime_fermion_couplings
  on the charged-lepton line; total Z' width in the propagator.
- Z: g/(2 c_W) C + g_X s_W chi V (Eqs. A2, B4) on the neutrino line, couplings.z_fermion_couplings on the lepton line.
- W (charged current, Fierz-rearranged into the neutral-current form, valid for q^2 << m_W^2): flavour alpha = l
  adds g/sqrt2 C^alpha (C^alpha_ji = U_alpha j^* U_alpha i) on the neutrino line and g/sqrt2 P_L on the lepton line,
  i.e. g_L^l -> g_L^l + 1 (standard, e.g. Bondarenko et al. arXiv:1805.08567 Eq. 3.5).
The Z' is dropped from a three-body channel whose two-body N_i -> N_j Z' is open (narrow width: the on-shell
two-body channel plus the Z' branching ratios replace it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from particle import Particle

from generator import constants as const
from generator.errors import PhysicsError, UnknownNameError
from generator.model import couplings as cpl
from generator.model.spectrum import Spectrum
from generator.model.three_body import dalitz_invariants, dalitz_msq

#: W width in GeV (PDG, via ``particle``).
GAMMA_W = Particle.from_pdgid(24).width * const.MEV
#: SM lepton flavours considered in final states.
LEPTONS = ("e", "mu", "tau")
#: Gauss-Legendre nodes on the Dalitz plane (outer m_ff^2 after a sin^2 map; inner m_jf^2, polynomial).
N_OUTER = 48
N_INNER = 6

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


# ------------------------------------------------------------------------------------------ kinematics
def _sqrt_lambda(M, m1, m2):
    """sqrt(lambda(M^2, m1^2, m2^2)) in GeV^2, zero when closed (M <= m1 + m2)."""
    if M <= m1 + m2:
        return 0.0
    return math.sqrt(max((M * M - (m1 + m2) ** 2) * (M * M - (m1 - m2) ** 2), 0.0))


# ------------------------------------------------------------------------------------------ vertices
#: (a_L, a_R) of nbar_j gamma^mu (a_L P_L + a_R P_R) n_i: a_L = g X_ji, a_R = -g X_ji^* (physical Majorana vertex).
majorana_vector_vertex = cpl.majorana_vector_couplings


#: vertex conventions: "majorana" (physical, default) and "paper" (reproduces Tables I/II, see module docstring).
CONVENTIONS = ("majorana", "paper")


def vector_vertex(g: float, X: np.ndarray, j: int, i: int, convention: str = "majorana") -> tuple[complex, complex]:
    """(a_L, a_R) for nbar_j gamma (a_L P_L + a_R P_R) n_i in the chosen convention (dimensionless).

    "majorana": :func:`majorana_vector_vertex`, a_R = -g X_ji^* (physical).
    "paper": a_R = -a_L = -g X_ji, a pure axial coupling of strength |X_ji| whatever the relative CP parity of the
    pair; with no 1/2 for identical pairs this reproduces
    B(Z' -> N_j N_k) and c tau^0 of Tables I/II (tests/test_model_widths.py).
    """
    if convention == "majorana":
        return majorana_vector_vertex(g, X, j, i)
    if convention == "paper":
        x = complex(X[j, i])
        return g * x, -g * x
    raise UnknownNameError("vertex convention", convention, CONVENTIONS)


def majorana_scalar_vertex(S: np.ndarray, j: int, i: int) -> tuple[complex, complex]:
    """(y_L, y_R) of phi' nbar_j (y_L P_L + y_R P_R) n_i from phi' nbar (S P_L + S^dag P_R)/(2 sqrt 2) n (Eq. A2).

    y_L = S_ji / sqrt 2, y_R = S_ji^* / sqrt 2 (S symmetric, both orderings added). Dimensionless.
    """
    s = complex(S[j, i])
    return s / math.sqrt(2.0), s.conjugate() / math.sqrt(2.0)


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


# ------------------------------------------------------------------------------------------ channels
@dataclass(frozen=True)
class DecayChannel:
    """One decay channel with what a sampler needs.

    parent : "Z'", "phi'" or "N5" ...; daughters : names, e.g. ("N5", "e-", "e+") = (j, f, fbar) for three-body
    vector channels (the order of three_body.msq_vector: p_j, p_1, p_2); width_GeV : partial width in GeV;
    kind : "two_body", "three_body_vector" (N_j f fbar through neutral vectors), "three_body_cc" (W, heavy line
    N_i -> charged lepton), "three_body_invisible" (N -> 3 nu, couplings of the dominant Z term),
    "hadrons" (inclusive, no exclusive final state); daughter_masses : GeV;
    med_m, med_w (GeV), aL, aR, bL, bR : arrays for three_body.msq_vector (empty for two-body channels).
    name : "N6 -> N5 e+ e-" style label.
    """

    parent: str
    daughters: tuple[str, ...]
    width_GeV: float
    kind: str
    daughter_masses: tuple[float, ...] = ()
    med_m: np.ndarray = field(default_factory=lambda: np.zeros(0))
    med_w: np.ndarray = field(default_factory=lambda: np.zeros(0))
    aL: np.ndarray = field(default_factory=lambda: np.zeros(0, complex))
    aR: np.ndarray = field(default_factory=lambda: np.zeros(0, complex))
    bL: np.ndarray = field(default_factory=lambda: np.zeros(0, complex))
    bR: np.ndarray = field(default_factory=lambda: np.zeros(0, complex))
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or f"{self.parent} -> {' '.join(self.daughters)}"


_LEPTON_PARTICLE = {"e": ("e-", "e+"), "mu": ("mu-", "mu+"), "tau": ("tau-", "tau+")}


def _zprime_nu_matrix(spec: Spectrum) -> np.ndarray:
    """Hermitian Z' vertex matrix on the neutrino line: g_X V + g/(2 c_W)(m_Z'/m_Z)^2 chi C (Eq. 3, A2)."""
    p = spec.params
    return p.g_X * spec.V + cpl.zprime_nc_coupling(p) * spec.C


def _z_nu_matrix(spec: Spectrum) -> np.ndarray:
    """Hermitian Z vertex matrix on the neutrino line: g/(2 c_W) C + g_X s_W chi V (Eqs. A2, B4)."""
    return const.G_WEAK / (2.0 * const.CW) * spec.C + cpl.z_dark_coupling(spec.params) * spec.V


def zprime_channels(spec: Spectrum, convention: str = "majorana") -> list[DecayChannel]:
    """Two-body Z' decays of a Spectrum (widths in GeV): all pairs N_j N_k (j <= k, masses kept, 1/2 for j = k),
    light pairs summed into "Z' -> nu nu" (with the SM flavours outside the model through the NC piece), charged
    leptons with the full couplings of Eq. (3), hadrons through R(s)."""
    p = spec.params
    M = p.m_Zprime
    X = _zprime_nu_matrix(spec)
    m = spec.masses
    names = spec.names
    nl = spec.n_light
    out: list[DecayChannel] = []
    w_nunu = 0.0
    for j in range(spec.dim):
        for k in range(j, spec.dim):
            if m[j] + m[k] >= M:
                continue
            aL, aR = vector_vertex(1.0, X, k, j, convention)
            w = gamma_vector_to_fermions(M, m[j], m[k], aL, aR, identical=(j == k and convention == "majorana"))
            if k < nl:
                w_nunu += w
                continue
            out.append(DecayChannel("Z'", (names[j], names[k]), w, "two_body", (m[j], m[k])))
    # SM neutrino flavours not in the mass matrix: massless Weyl pair through the NC piece only.
    kappa = cpl.zprime_nc_coupling(p)
    n_missing = sum(1 for f in LEPTONS if f not in p.flavours)
    w_nunu += n_missing * gamma_vector_to_fermions(M, 0.0, 0.0, kappa, 0.0)
    out.append(DecayChannel("Z'", ("nu", "nu"), w_nunu, "two_body", (0.0, 0.0)))
    for lep in LEPTONS:
        ml = const.LEPTON_MASS[lep]
        gL, gR = cpl.zprime_fermion_couplings(p, lep)
        w = gamma_vector_to_fermions(M, ml, ml, gL, gR)
        if w > 0.0:
            out.append(DecayChannel("Z'", _LEPTON_PARTICLE[lep][::-1], w, "two_body", (ml, ml)))
    w_had = gamma_vector_to_hadrons(M, cpl.zprime_em_coupling(p))
    if w_had > 0.0:
        out.append(DecayChannel("Z'", ("hadrons",), w_had, "hadrons", ()))
    return out


def phiprime_channels(spec: Spectrum, convention: str = "majorana") -> list[DecayChannel]:
    """Two-body phi' decays (GeV): N_j N_k through S (Eq. A2; light pairs summed into "phi' -> nu nu"), Z'Z'
    (L = g_X m_Z' phi' Z'Z' from |D Phi|^2 with Phi = (v_Phi + phi')/sqrt2, m_Z' = g_X v_Phi), and through the
    Higgs mixing sin_theta: charged leptons (y = m_l s_theta / v_H) and hadrons (:func:`gamma_scalar_to_hadrons`)."""
    p = spec.params
    M = p.m_phiprime
    m = spec.masses
    names = spec.names
    nl = spec.n_light
    out: list[DecayChannel] = []
    w_nunu = 0.0
    for j in range(spec.dim):
        for k in range(j, spec.dim):
            if m[j] + m[k] >= M:
                continue
            yL, yR = majorana_scalar_vertex(spec.S, k, j)
            w = gamma_scalar_to_fermions(M, m[j], m[k], yL, yR, identical=(j == k and convention == "majorana"))
            if k < nl:
                w_nunu += w
                continue
            out.append(DecayChannel("phi'", (names[j], names[k]), w, "two_body", (m[j], m[k])))
    if w_nunu > 0.0:
        out.append(DecayChannel("phi'", ("nu", "nu"), w_nunu, "two_body", (0.0, 0.0)))
    w_zz = gamma_scalar_to_vectors(M, p.m_Zprime, p.g_X * p.m_Zprime)
    if w_zz > 0.0:
        out.append(DecayChannel("phi'", ("Z'", "Z'"), w_zz, "two_body", (p.m_Zprime, p.m_Zprime)))
    if p.sin_theta != 0.0:
        for lep in LEPTONS:
            ml = const.LEPTON_MASS[lep]
            y = ml * p.sin_theta / const.V_HIGGS
            w = gamma_scalar_to_fermions(M, ml, ml, y, y)
            if w > 0.0:
                out.append(DecayChannel("phi'", _LEPTON_PARTICLE[lep][::-1], w, "two_body", (ml, ml)))
        w_had = gamma_scalar_to_hadrons(M, p.sin_theta)
        if w_had > 0.0:
            out.append(DecayChannel("phi'", ("hadrons",), w_had, "hadrons", ()))
    return out


def _c_alpha(spec: Spectrum, lep: str) -> np.ndarray | None:
    """Flavour-projected hermitian matrix C^alpha_jk = U_alpha j^* U_alpha k, or None if alpha not in the model."""
    if lep not in spec.params.flavours:
        return None
    u = spec.U_flavour(lep)
    return np.outer(u.conj(), u)


def hnl_channels(spec: Spectrum, name: str, zprime_width: float, convention: str = "majorana") -> list[DecayChannel]:
    """All decay channels of the heavy state ``name`` ("N4", ...) with widths in GeV.

    zprime_width : total Z' width in GeV (propagator); convention : :data:`CONVENTIONS`.
    Channels (module docstring for the couplings):
    - "Ni -> Nj Z'", "Ni -> Nj phi'" (also to light states), on-shell two-body where open;
    - "Ni -> Nj l+ l-" and "Ni -> nuX l+ l-" (three_body_vector: Z' [unless on-shell open], Z, W-Fierz);
    - "Ni -> Nj nu nu" (Z', Z; direct diagram only, light pairs and the SM flavours outside the model summed);
    - "Ni -> nu nu nu" (SM Z + Z' NC piece, summed over the three SM flavours, (1 + delta) interference);
    - "Ni -> l_a- l_b+ nu" and its charge conjugate (W, a != b), each one Majorana half;
    - "Ni -> nu gamma" (SM one loop).
    Not included (negligible for the benchmark points, see tests): N -> hadrons through mixing, N_i -> N_j l_a l_b
    with a != b, scalar (phi', h) exchange in three-body decays.
    """
    p = spec.params
    i = spec.index(name)
    if i < spec.n_light:
        raise PhysicsError(f"{name} is a light neutrino (mass {spec.masses[i]:.3g} GeV) and is stable in this model")
    m = spec.masses
    mi = m[i]
    names = spec.names
    nl = spec.n_light
    Xzp = _zprime_nu_matrix(spec)
    Xz = _z_nu_matrix(spec)
    g_w = const.G_WEAK / math.sqrt(2.0)
    out: list[DecayChannel] = []
    for j in range(i):
        mj = m[j]
        zp_on_shell = mi > mj + p.m_Zprime
        # ---- two-body
        if zp_on_shell:
            aL, aR = vector_vertex(1.0, Xzp, j, i, convention)
            w = gamma_fermion_to_fermion_vector(mi, mj, p.m_Zprime, aL, aR)
            out.append(DecayChannel(name, (names[j], "Z'"), w, "two_body", (mj, p.m_Zprime)))
        if mi > mj + p.m_phiprime:
            yL, yR = majorana_scalar_vertex(spec.S, j, i)
            w = gamma_fermion_to_fermion_scalar(mi, mj, p.m_phiprime, yL, yR)
            out.append(DecayChannel(name, (names[j], "phi'"), w, "two_body", (mj, p.m_phiprime)))
        # ---- N_i -> X l+ l-
        for lep in LEPTONS:
            ml = const.LEPTON_MASS[lep]
            if mi <= mj + 2.0 * ml:
                continue
            med_m, med_w, aL, aR, bL, bR = [], [], [], [], [], []
            if not zp_on_shell:
                a = vector_vertex(1.0, Xzp, j, i, convention)
                b = cpl.zprime_fermion_couplings(p, lep)
                med_m.append(p.m_Zprime), med_w.append(zprime_width)
                aL.append(a[0]), aR.append(a[1]), bL.append(b[0]), bR.append(b[1])
            a = vector_vertex(1.0, Xz, j, i, convention)
            b = cpl.z_fermion_couplings(lep)
            med_m.append(const.M_Z), med_w.append(const.GAMMA_Z)
            aL.append(a[0]), aR.append(a[1]), bL.append(b[0]), bR.append(b[1])
            ca = _c_alpha(spec, lep)
            if ca is not None:
                a = vector_vertex(g_w, ca, j, i, convention)
                med_m.append(const.M_W), med_w.append(GAMMA_W)
                aL.append(a[0]), aR.append(a[1]), bL.append(g_w), bR.append(0.0)
            lm, lp = _LEPTON_PARTICLE[lep]
            out.append(_three_body(name, (names[j], lm, lp), "three_body_vector", (mi, mj, ml, ml),
                                   med_m, med_w, aL, aR, bL, bR, label=f"{name} -> {names[j]} {lp} {lm}"))
        # ---- N_i -> N_j nu nu (heavy j only; light j: see 3 nu below)
        if j >= nl:
            out.extend(_nunu_channel(spec, name, i, j, zprime_width, zp_on_shell, Xzp, Xz, convention))
    # ---- N_i -> nu nu nu (SM Z and the Z' NC piece), light final neutrinos summed
    out.extend(_three_nu_channel(spec, name, i, zprime_width, Xzp, Xz, convention))
    # ---- charged current N_i -> l_a^- l_b^+ nu_b (a != b) and charge conjugate
    for la in p.flavours:
        ua = spec.U_flavour(la)[i]
        ma = const.LEPTON_MASS[la]
        for lb in LEPTONS:
            mb = const.LEPTON_MASS[lb]
            if lb == la or mi <= ma + mb:
                continue
            lam_, lbp = _LEPTON_PARTICLE[la][0], _LEPTON_PARTICLE[lb][1]
            ch = _three_body(name, (lam_, "nu", lbp), "three_body_cc", (mi, ma, 0.0, mb), [const.M_W], [GAMMA_W],
                             [g_w * ua], [0.0], [g_w], [0.0], label=f"{name} -> {lam_} {lbp} nu")
            out.append(ch)
            # charge conjugate N -> l_a^+ (W^- -> l_b^- nubar): heavy line a_R, light (l_b^-, nubar) b_L.
            out.append(DecayChannel(name, (_LEPTON_PARTICLE[la][1], _LEPTON_PARTICLE[lb][0], "nu"), ch.width_GeV,
                                    "three_body_cc", (ma, mb, 0.0), ch.med_m, ch.med_w,
                                    np.zeros(1, complex), np.array([-g_w * np.conj(ua)]),
                                    np.array([g_w + 0j]), np.zeros(1, complex)))
    # ---- radiative
    u2 = sum(abs(spec.U_flavour(f)[i]) ** 2 for f in p.flavours)
    out.append(DecayChannel(name, ("nu", "gamma"), gamma_nu_gamma(mi, u2), "two_body", (0.0, 0.0)))
    return [c for c in out if c.width_GeV > 0.0]


def _three_body(parent, daughters, kind, masses, med_m, med_w, aL, aR, bL, bR, factor=1.0, label=""):
    med_m = np.asarray(med_m, float)
    med_w = np.asarray(med_w, float)
    aL, aR, bL, bR = (np.asarray(x, complex) for x in (aL, aR, bL, bR))
    mi, mj, m1, m2 = masses
    w = factor * gamma_three_body_vector(mi, mj, m1, m2, med_m, med_w, aL, aR, bL, bR)
    return DecayChannel(parent, daughters, w, kind, (mj, m1, m2), med_m, med_w, aL, aR, bL, bR, label)


def _nunu_channel(spec, name, i, j, zprime_width, zp_on_shell, Xzp, Xz, convention):
    """N_i -> N_j nu nu: direct diagram (heavy current x light pair), light Majorana pairs a <= b (1/2 for a = b)
    plus massless SM flavours outside the model (Weyl pair, NC couplings only). The exchange diagrams
    (N_i -> nu_a, N_j nu_b pairs, proportional to V_ai V_jb) are not included."""
    p = spec.params
    m = spec.masses
    nl = spec.n_light
    kappa = cpl.zprime_nc_coupling(p)
    gz = const.G_WEAK / (2.0 * const.CW)
    total = 0.0
    first = None
    light_pairs = [(a, b) for a in range(nl) for b in range(a, nl)]
    n_missing = sum(1 for f in LEPTONS if f not in p.flavours)
    for pair in [*light_pairs, None]:
        med_m, med_w, aL, aR, bL, bR = [], [], [], [], [], []
        for X, M, W, g_sm in ((Xzp, p.m_Zprime, zprime_width, kappa), (Xz, const.M_Z, const.GAMMA_Z, gz)):
            if X is Xzp and zp_on_shell:
                continue
            a = vector_vertex(1.0, X, j, i, convention)
            if pair is None:
                b = (g_sm, 0.0)
            else:
                b = vector_vertex(1.0, X, pair[1], pair[0], convention)
            med_m.append(M), med_w.append(W), aL.append(a[0]), aR.append(a[1]), bL.append(b[0]), bR.append(b[1])
        if pair is None:
            if n_missing == 0:
                continue
            masses, factor = (m[i], m[j], 0.0, 0.0), float(n_missing)
        else:
            masses, factor = (m[i], m[j], m[pair[0]], m[pair[1]]), (0.5 if pair[0] == pair[1] else 1.0)
        ch = _three_body(name, (spec.names[j], "nu", "nu"), "three_body_vector", masses,
                         med_m, med_w, aL, aR, bL, bR, factor)
        total += ch.width_GeV
        if first is None or ch.width_GeV > first.width_GeV:
            first = ch
    if first is None:
        return []
    return [DecayChannel(name, first.daughters, total, "three_body_vector", first.daughter_masses, first.med_m,
                         first.med_w, first.aL, first.aR, first.bL, first.bR)]


def _three_nu_channel(spec, name, i, zprime_width, Xzp, Xz, convention):
    """N_i -> nu nu nu summed over light mass states nu_a and SM flavours beta:
    Gamma = sum_a Gamma_1(a) (3 + sum_beta in model |U_beta a|^2), Gamma_1 = one Weyl pair nu_beta nubar_beta through
    the Z (g/2c_W) and the Z' NC piece; the extra |U_beta a|^2 is the (1 + delta_ab) identical-flavour interference
    of the contact limit (Gorbunov & Shaposhnikov arXiv:0705.1729 Eq. 3.x; Bondarenko et al. Eq. 3.4). The Majorana
    factor 2 is contained in the Majorana vertex (a_R term)."""
    p = spec.params
    m = spec.masses
    kappa = cpl.zprime_nc_coupling(p)
    gz = const.G_WEAK / (2.0 * const.CW)
    total = 0.0
    best = None
    for a in range(spec.n_light):
        med_m, med_w, aL, aR, bL, bR = [], [], [], [], [], []
        for X, M, W, g_sm in ((Xzp, p.m_Zprime, zprime_width, kappa), (Xz, const.M_Z, const.GAMMA_Z, gz)):
            if X is Xzp and m[i] > m[a] + p.m_Zprime:
                continue
            va = vector_vertex(1.0, X, a, i, convention)
            med_m.append(M), med_w.append(W), aL.append(va[0]), aR.append(va[1]), bL.append(g_sm), bR.append(0.0)
        factor = 3.0 + sum(abs(spec.U_flavour(f)[a]) ** 2 for f in p.flavours)
        ch = _three_body(name, ("nu", "nu", "nu"), "three_body_invisible", (m[i], m[a], 0.0, 0.0),
                         med_m, med_w, aL, aR, bL, bR, factor)
        total += ch.width_GeV
        if best is None or ch.width_GeV > best.width_GeV:
            best = ch
    if best is None:
        return []
    return [DecayChannel(name, best.daughters, total, best.kind, best.daughter_masses, best.med_m, best.med_w,
                         best.aL, best.aR, best.bL, best.bR)]
