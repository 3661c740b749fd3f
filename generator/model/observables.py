"""Model observables: the muon (g-2) from the Z' and the light-neutrino mass at tree level and one loop.

Units: GeV for masses; Delta a_mu is dimensionless.

One-loop neutrino mass (what is computed, exactly)
--------------------------------------------------
Mass basis, Majorana n_k (masses m_k >= 0, Takagi U^T M U = diag(m), flavour fields nu_f = U n). Interactions
    L = 1/2 V_mu nbar gamma^mu (A P_L - A^T P_R) n  -  1/2 S nbar (B P_L + B^* P_R) n ,
with, in Feynman gauge (Goldstone masses = vector masses),
    Z' : A = g_X V (Eq. A2);  G' (phase of Phi):  B = U^T dM/dG U;
                              phi' (CP-even, mass m_phi'):  B = U^T dM/dphi U = S/sqrt2
    Z  : A = g/(2 c_W) C;     G0: B = U^T dM/dG0 U;                   h (mass m_h):  B = U^T dM/dh U = H/sqrt2
where dM/d(field) follows from Eq. (1) with Phi = (v_Phi + phi' + i G')/sqrt2 in Lambda_L and Phi^* in Lambda_R, and
H^0* = (v_H + h - i G0)/sqrt2 in M_D. The chirality-flipping self-energy at p^2 = 0 (our derivation; the standard
Majorana Feynman rules of Denner et al., Nucl. Phys. B387 (1992) 467, and the structure of Pilaftsis, Z. Phys. C55
(1992) 275 and Grimus & Lavoura, hep-ph/0202222) is

    dM_ji = -1/(16 pi^2) [ sum_V sum_k A_kj A_ki m_k (4 B0(m_k, M_V) - 2) + sum_S sum_k B_jk B_ki m_k B0(m_k, M_S) ],

B0(m1, m2) = B0(0; m1^2, m2^2) in MSbar at scale mu. Rotated to the flavour basis, dM_f = U^* dM U^dagger. Its
divergent (and mu-dependent) part sits only in the entries allowed by the symmetries (M_D, M_N, Lambda, M_X), whose
corrections are absorbed into the tree parameters as the paper does ("We neglect loop corrections to other mass
parameters"). The entries forbidden by SU(2) x U(1)' (active-active, nu_DL-nu_DL, nu_DR-nu_DR, active-dark) are
finite and mu-independent (checked in tests): the dark ones come from the phi'/G' mass splitting times M_N and from
the Z' loop, the active-active ones are the Z/h seesaw corrections of Grimus & Lavoura. The one-loop light masses are
the light Takagi values of M + dM_forbidden. O(chi) gauge-kinetic mixing terms in the loop are neglected.

Checks (tests/model/test_model_observables.py): the forbidden entries are mu-independent; the SM active-active
entry agrees with the seesaw-limit formula of Pilaftsis (1992) / Dev & Pilaftsis arXiv:1209.4051,
dM_nu = alpha_W/(16 pi m_W^2) M_D^2/M_N [m_H^2 x_H ln x_H/(x_H - 1) + 3 m_Z^2 x_Z ln x_Z/(x_Z - 1)], x = M_N^2/m^2,
in sign and size, and is independent of the R_xi gauge parameter. Caveat: the dark forbidden entries are NOT
xi-independent (the charged nu_DL, nu_DR carry the invariant Dirac mass M_X, so the cancellation that protects the
active-active block does not go through); m3 changes by 5-10% between xi = 0 and 3. Feynman gauge is the default.
Results for the BPs (Feynman gauge): m3 = 0.66, 10.3, 2.0, 37 eV for BP-A..D (tree: 0.19, 2.9, 6.2, 34 eV); the
paper quotes 0.05 eV after the loop for every BP, which this calculation does not reproduce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate

from generator import constants as const
from generator.model import couplings as cpl
from generator.model.parameters import ModelParameters
from generator.model.spectrum import Spectrum, takagi

__all__ = ["LightNeutrinoMasses", "b0_zero_momentum", "delta_a_mu", "delta_a_mu_vector_axial", "forbidden_mask",
           "light_neutrino_mass", "light_neutrino_masses", "one_loop_mass_correction"]


# ------------------------------------------------------------------------------------------ (g-2)_mu
def delta_a_mu_vector_axial(m_mu, m_v, g_v, g_a) -> float:
    """One-loop Delta a of a lepton (mass m_mu, GeV) from a neutral vector of mass m_v (GeV) with couplings
    lbar gamma^mu (g_v - g_a gamma5) l (Leveille, Nucl. Phys. B137 (1978) 63; Jegerlehner & Nyffeler, Phys. Rept.
    477 (2009) 1, Eq. 257), integrated numerically:

        Delta a = g_v^2/(4 pi^2) int_0^1 dx m^2 x^2 (1-x) / D
                + g_a^2/(4 pi^2) int_0^1 dx m^2 [-x (1-x)(4-x) - 2 lambda^2 x^3] / D,
        D = m_v^2 (1-x) + m^2 x^2,  lambda = m / m_v.

    Vector limit m_v -> 0: alpha/(2 pi) (Schwinger) for g_v = e; heavy limits: g_v^2 m^2/(12 pi^2 m_v^2) and
    -5 g_a^2 m^2/(12 pi^2 m_v^2).
    """
    m2, M2 = m_mu**2, m_v**2
    lam2 = m2 / M2

    def den(x):
        return M2 * (1.0 - x) + m2 * x * x

    fv, _ = integrate.quad(lambda x: m2 * x * x * (1.0 - x) / den(x), 0.0, 1.0, epsabs=0.0, epsrel=1e-10)
    fa, _ = integrate.quad(lambda x: m2 * (-x * (1.0 - x) * (4.0 - x) - 2.0 * lam2 * x**3) / den(x), 0.0, 1.0,
                           epsabs=0.0, epsrel=1e-10)
    return (g_v**2 * fv + g_a**2 * fa) / (4.0 * math.pi**2)


def delta_a_mu(params: ModelParameters) -> float:
    """Delta a_mu (dimensionless) from the Z' with its full couplings to the muon (Eq. 3: e eps J_EM + NC piece).

    (g_L, g_R) of couplings.zprime_fermion_couplings give g_v = (g_L + g_R)/2, g_a = (g_L - g_R)/2 for
    gamma^mu (g_v - g_a gamma5). BP values (m_Z' = 1.25 GeV, eps^2 = 4.6e-4): ~2.5e-9.
    """
    gL, gR = cpl.zprime_fermion_couplings(params, "mu")
    return delta_a_mu_vector_axial(const.M_MU, params.m_Zprime, 0.5 * (gL + gR), 0.5 * (gL - gR))


# ------------------------------------------------------------------------------------------ neutrino masses
def b0_zero_momentum(m1, m2, mu) -> np.ndarray:
    """Finite part of the Passarino-Veltman B0(p^2 = 0; m1^2, m2^2) in MSbar at scale mu (all in GeV):

    B0 = 1 - [m1^2 ln(m1^2/mu^2) - m2^2 ln(m2^2/mu^2)] / (m1^2 - m2^2)   (limits taken for m1 = m2 or m1 = 0).
    m1 may be an array, m2 > 0 a scalar.
    """
    m1 = np.asarray(m1, dtype=float)
    a = m1**2
    b = float(m2) ** 2
    mu2 = float(mu) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        alog = np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0) / mu2), 0.0)
        gen = 1.0 - (alog - b * math.log(b / mu2)) / (a - b)
    equal = np.abs(a - b) <= 1e-10 * b
    return np.where(equal, -np.log(b / mu2), gen)


def _dark_scalar_couplings(spec: Spectrum) -> tuple[np.ndarray, np.ndarray]:
    """Mass-basis B for phi' and for the Goldstone G' (flavour dM/dphi, dM/dG rotated by U^T . U)."""
    p = spec.params
    na, n, d = p.n_active, p.n_sterile, p.n_dark
    dim = spec.dim
    sl_n = slice(na, na + n)
    sl_l = slice(na + n, na + n + d)
    sl_r = slice(na + n + d, dim)
    yl = p.Y_L / math.sqrt(2.0)
    yr = p.Y_R / math.sqrt(2.0)
    d_phi = np.zeros((dim, dim), complex)
    d_g = np.zeros((dim, dim), complex)
    d_phi[sl_n, sl_l], d_phi[sl_n, sl_r] = yl, yr
    d_g[sl_n, sl_l], d_g[sl_n, sl_r] = 1j * yl, -1j * yr  # Phi in Lambda_L, Phi^* in Lambda_R (Eq. 1)
    d_phi = d_phi + d_phi.T
    d_g = d_g + d_g.T
    U = spec.U
    return U.T @ d_phi @ U, U.T @ d_g @ U


def _sm_scalar_couplings(spec: Spectrum) -> tuple[np.ndarray, np.ndarray]:
    """Mass-basis B for h and for G0 from M_D (H^0* = (v + h - i G0)/sqrt2 in the Yukawa of Eq. 1)."""
    p = spec.params
    na, n = p.n_active, p.n_sterile
    dim = spec.dim
    y = p.M_D / const.V_HIGGS
    d_h = np.zeros((dim, dim), complex)
    d_h[:na, na:na + n] = y
    d_h = d_h + d_h.T
    U = spec.U
    bh = U.T @ d_h @ U
    return bh, -1j * bh


def _a0(m2, mu):
    """Finite part of A0(m^2) = m^2 (1 - ln(m^2/mu^2)) in GeV^2 (MSbar)."""
    return m2 * (1.0 - math.log(m2 / mu**2))


def one_loop_mass_correction(spec: Spectrum, mu: float = 1.0, xi: float = 1.0) -> np.ndarray:
    """Flavour-basis one-loop correction dM_f (GeV, dim x dim, complex symmetric) at external p^2 = 0, MSbar scale
    mu (GeV), R_xi gauge parameter xi (default 1: Feynman gauge). All entries are returned; only the
    symmetry-forbidden ones are finite and mu-independent (module docstring for the formula and references).

    For xi != 1 the vector propagator's (1 - xi) q q / (q^2 - xi M^2) piece adds (our derivation)
    +1/(16 pi^2) sum_k A_kj A_ki m_k [A0(M^2) - A0(xi M^2) - m_k^2 (B0(m_k, sqrt(xi) M) - B0(m_k, M))] / M^2,
    and the Goldstones get mass^2 xi M^2."""
    if not xi > 0:
        msg = f"xi = {xi}: the R_xi gauge parameter must be > 0"
        raise ValueError(msg)
    p = spec.params
    m = spec.masses
    U = spec.U
    vectors = [
        (p.g_X * spec.V, p.m_Zprime),
        (const.G_WEAK / (2.0 * const.CW) * spec.C, const.M_Z),
    ]
    b_phi, b_gd = _dark_scalar_couplings(spec)
    b_h, b_g0 = _sm_scalar_couplings(spec)
    sx = math.sqrt(xi)
    scalars = [(b_phi, p.m_phiprime), (b_gd, sx * p.m_Zprime), (b_h, const.M_HIGGS), (b_g0, sx * const.M_Z)]
    dm = np.zeros((spec.dim, spec.dim), complex)
    for A, M in vectors:
        f = m * (4.0 * b0_zero_momentum(m, M, mu) - 2.0)
        if xi != 1.0:
            x = _a0(M * M, mu) - _a0(xi * M * M, mu)
            x = x - m**2 * (b0_zero_momentum(m, sx * M, mu) - b0_zero_momentum(m, M, mu))
            f = f - m * x / (M * M)
        dm += A.T @ (f[:, None] * A)  # sum_k A_kj f_k A_ki
    for B, M in scalars:
        f = m * b0_zero_momentum(m, M, mu)
        dm += B @ (f[:, None] * B)  # sum_k B_jk f_k B_ki
    dm *= -1.0 / (16.0 * math.pi**2)
    return U.conj() @ dm @ U.conj().T


def forbidden_mask(params: ModelParameters) -> np.ndarray:
    """Boolean (dim x dim) mask of the flavour-basis entries forbidden at tree level by SU(2) x U(1)':
    active-active, active-dark, nu_DL-nu_DL, nu_DR-nu_DR."""
    na, n, d = params.n_active, params.n_sterile, params.n_dark
    dim = na + n + 2 * d
    a = np.zeros(dim, bool)
    a[:na] = True
    dl = np.zeros(dim, bool)
    dl[na + n:na + n + d] = True
    dr = np.zeros(dim, bool)
    dr[na + n + d:] = True
    dark = dl | dr
    return np.outer(a, a) | np.outer(a, dark) | np.outer(dark, a) | np.outer(dl, dl) | np.outer(dr, dr)


@dataclass(frozen=True)
class LightNeutrinoMasses:
    """Light-neutrino masses in GeV (ascending, n_active entries): tree level (Spectrum) and one loop
    (Takagi values of M + dM on the forbidden entries); delta_M: that flavour-basis correction (GeV)."""

    tree: np.ndarray
    one_loop: np.ndarray
    delta_M: np.ndarray

    @property
    def tree_eV(self) -> np.ndarray:
        return self.tree / const.MEV * 1e6

    @property
    def one_loop_eV(self) -> np.ndarray:
        return self.one_loop / const.MEV * 1e6


def light_neutrino_masses(params: ModelParameters, mu: float = 1.0, xi: float = 1.0) -> LightNeutrinoMasses:
    """Tree-level and one-loop light-neutrino masses (GeV) of a parameter point; mu (GeV) is the MSbar scale,
    on which the result does not depend (forbidden entries only); xi the R_xi gauge parameter (module docstring:
    the dark forbidden entries keep a 5-10% xi dependence)."""
    spec = Spectrum(params)
    dM = one_loop_mass_correction(spec, mu, xi) * forbidden_mask(params)
    m1, _ = takagi(spec.mass_matrix + dM)
    na = params.n_active
    return LightNeutrinoMasses(spec.masses[:na].copy(), m1[:na], dM)


def light_neutrino_mass(params: ModelParameters, mu: float = 1.0, xi: float = 1.0) -> dict[str, float]:
    """{"tree": m3, "one_loop": m3} in eV for the heaviest light state (nu3), JSON-ready floats
    (see :func:`light_neutrino_masses`; mu in GeV, xi the R_xi gauge parameter)."""
    r = light_neutrino_masses(params, mu, xi)
    return {"tree": float(r.tree_eV[-1]), "one_loop": float(r.one_loop_eV[-1])}
