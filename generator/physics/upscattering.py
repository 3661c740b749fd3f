"""Neutrino upscattering nu_alpha(k) + H(P) -> N_j(k') + H(P') (Eq. 6 of the paper), polarised in N_j.

Amplitude
---------
t-channel exchange of the Z' (Eq. 3: e eps J_EM + NC piece + g_X J_D), the SM Z (C matrix, Eq. A2, and
its dark-current coupling g_X s_W chi, Eq. B4) and the dark scalar phi' (S matrix, Eq. A2; coupling to
nucleons through the Higgs admixture sin(theta)):

    M = sum_B a_B D_B(t) [u_N(k', h) gamma^mu P_L u_nu(k)] <H'|J^B_mu|H>
      + a_S D_S(t) [u_N(k', h) P_L u_nu(k)] <H'|S|H>,          D_X(t) = 1 / (t - m_X^2),  t = -Q^2.

The incoming neutrino is the flavour state nu_alpha = sum_i U_{alpha i}^* nu_i over the light mass states
(massless, negative helicity), so the lepton-side couplings are a_B = sum_i U_{alpha i}^* g_L(N_j, nu_i)
with g_L the P_L coefficient of the Majorana vertex (vertices.majorana_vector_couplings, Eq. A2); for a
single light state this gives the paper's |U_{mu 3}|^2 |V_{3j}|^2 alpha_D (e eps)^2 scaling (Appendix A).
Incoming antineutrinos (positive helicity) use the P_R coefficients and U_{alpha i}. The q^mu q^nu part of
the vector propagators is dropped: it vanishes on the conserved vector currents and is suppressed by
m_N M / m_V^2 times the tiny NC coupling on the axial current.

Hadronic currents
-----------------
- coherent (spin-0 nucleus): <A'|J^mu|A> = Q_B(Q^2) (P + P')^mu with Q_B = g_EM Z F_ch + g_NC [Z (1/2 - 2 s_W^2)
  F_ch - N/2 F_w], F_ch the measured charge form factor and F_w the weak (neutron) one (form_factors.py);
  scalar: <A'|S|A> = y_N (Z F_ch + N F_w) 2 M_A.
- incoherent (nucleon): u'[F1 gamma^mu + i F2 sigma^{mu nu} q_nu / 2M + G gamma^mu gamma5] u with
  F_i = g_EM F_i^N + g_NC [(1/2 - 2 s_W^2) F_i^N - 1/2 F_i^{N'}] (N' the other nucleon, no strangeness) and
  G = -g_NC tau3 G_A / 2 (Llewellyn Smith, Phys. Rep. 3 (1972) 261, Sec. 3); scalar y_N u'u with
  y_N = sin(theta) f_N m_N / v_H, f_N = 0.30 (M. Hoferichter et al., PRL 119 (2017) 181803).

Squared amplitude (derived for this module; checked against explicit Dirac spinors in the tests)
-----------------------------------------------------------------------------------------------
For a final N of lab-frame helicity h with spin vector s, u u-bar = (k' + m)(1 + gamma5 s)/2, and the
vector lepton tensor with P_L is the massless one with k' replaced by 2 l_h, l_h = (k' - m s_h)/2 (a
null vector): l_- = (E'+p')/2 (1, k^'), l_+ = m^2 / (2 (E'+p')) (1, -k^'). With Sigma = P + P':

  coherent : |M|^2 = 2 |F_V|^2 [2 (l.Sigma)(k.Sigma) - Sigma^2 (l.k)] + 2 Re(F_V F_S^*) J_h + |F_S|^2 2 (k.l_{-h})
  nucleon  : |M|^2 = 8 |a|^2 [(l.P')(k.P) + (l.P)(k.P') - M^2 (l.k)] + 8 |c|^2 [(l.P')(k.P) + (l.P)(k.P') + M^2 (l.k)]
                    + [2 Sigma^2 |b|^2 + 8 M Re(a b^*)] [2 (l.Sigma)(k.Sigma) - Sigma^2 (l.k)]
                    + eta 16 Re(a c^*) [(k.P')(l.P) - (k.P)(l.P')]
                    + 2 Re((2 M a + Sigma^2 b) f^*) J_h + Sigma^2 |f|^2 2 (k.l_{-h})

with a = F1 + F2, b = -F2 / 2M, c = G (Gordon decomposition), f = scalar coupling, all multiplied by their
couplings and propagators, J_h = m [k.Sigma + ((n_h.Sigma)(n_{-h}.k) - (n_{-h}.Sigma)(n_h.k)) / 2], n_-
= (1, k^'), n_+ = (1, -k^'), and l = l_h. For antineutrinos (eta = -1) h -> -h everywhere and the sign of
the V x A term flips. The nucleon spin is averaged (factor 1/2 included). Then (massless neutrino, target
at rest)

    d sigma / d Q^2 = |M|^2 / (16 pi (s - M^2)^2) = |M|^2 / (64 pi M^2 E_nu^2)     [GeV^-4 -> cm^2/GeV^2].

Kinematics (lab frame, target at rest): nu = Q^2 / 2M, E' = E_nu - nu, cos(theta) from t = m^2 - 2 k.k';
limits Q^2_{min,max} = 2 p (E'* -+ p'*) - m^2 in the CM frame (PDG "Kinematics" Sec. 49.5);
threshold E_nu > m + m^2 / 2M.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from generator import constants as const
from generator import particles as P
from generator.errors import KinematicallyClosedError, PhysicsError, UnknownNameError
from generator.kernels import kernel
from generator.model import couplings as cpl
from generator.model.model import as_model
from generator.model.vertices import (
    majorana_scalar_couplings,
    vector_vertex,
    z_neutrino_matrix,
    zprime_neutrino_matrix,
)
from generator.physics.form_factors import (
    axial_scalar,
    nuclear_ff_params,
    nuclear_ff_scalar,
    nucleon_em_scalar,
    pauli_blocking_scalar,
)
from generator.targets import Target, target

REGIMES = ("coherent", "incoherent")
NUCLEONS = ("p", "n")
#: Incoming neutrino species: name -> (flavour, eta = +1 neutrino / -1 antineutrino, PDG code).
NEUTRINOS = {
    "nu_e": ("e", 1, 12), "nu_mu": ("mu", 1, 14), "nu_tau": ("tau", 1, 16),
    "nu_e_bar": ("e", -1, -12), "nu_mu_bar": ("mu", -1, -14), "nu_tau_bar": ("tau", -1, -16),
}
#: Higgs-nucleon form factor f_N (Hoferichter et al. 2017): <N|sum_q m_q qbar q|N> = f_N m_N.
F_N_HIGGS = 0.30
#: Upper Q^2 (GeV^2) used to integrate the coherent regime: the Helm Gaussian factor gives F^2 < 1e-12 above it.
COHERENT_Q2_CAP = 2.0
#: Gauss-Legendre nodes for the Q^2 integral (in log Q^2) of UpscatteringChannel.sigma.
N_GAUSS = 96
#: Lower Q^2 cut (relative to Q2max) used when Q2min = 0 (massless N): the integrand is finite there.
Q2_FLOOR_REL = 1e-12


# ===================================================================================== kinematics


def threshold_energy(m_N: float, M: float) -> float:
    """Lab threshold E_nu (GeV) of nu + H(M) -> N(m_N) + H: ((m_N + M)^2 - M^2) / 2M = m_N + m_N^2 / 2M."""
    return m_N + m_N * m_N / (2.0 * M)


@kernel
def _q2_limits_scalar(E, m, M):
    """(Q2min, Q2max) in GeV^2 at lab energy E (GeV); (nan, nan) below threshold (PDG Kinematics 49.5)."""
    s = M * M + 2.0 * M * E
    rs = math.sqrt(s)
    p = M * E / rs  # CM momentum of the massless neutrino
    ep = (s + m * m - M * M) / (2.0 * rs)
    lam = (s - (m + M) ** 2) * (s - (m - M) ** 2)
    if lam < 0.0 or E <= 0.0:
        return math.nan, math.nan
    pp = math.sqrt(lam) / (2.0 * rs)
    # Q2min = 2p(E' - p') - m^2 with E' - p' = m^2 / (E' + p') (no cancellation for small m)
    qmin = m * m * (2.0 * p / (ep + pp) - 1.0)
    qmax = 2.0 * p * (ep + pp) - m * m
    return max(qmin, 0.0), qmax


@kernel
def _q2_limits_array(E, m, M):
    n = E.shape[0]
    lo = np.empty(n)
    hi = np.empty(n)
    for i in range(n):
        lo[i], hi[i] = _q2_limits_scalar(E[i], m, M)
    return lo, hi


def q2_limits(E_nu, m_N: float, M: float) -> tuple[np.ndarray, np.ndarray]:
    """Kinematic limits (Q2min, Q2max) in GeV^2 for lab energies E_nu (GeV), HNL mass m_N and target mass M (GeV).

    NaN below threshold.
    """
    e = np.asarray(E_nu, dtype=float)
    lo, hi = _q2_limits_array(np.ascontiguousarray(np.atleast_1d(e).ravel()), float(m_N), float(M))
    return lo.reshape(e.shape), hi.reshape(e.shape)


# ===================================================================================== |M|^2 kernel

#: Nuclear form-factor parameters passed to _msq_kernel for incoherent channels, where they are not read.
_UNUSED_FF = np.zeros(2)


@kernel
def _msq_kernel(E, Q2, m, M, eta, coherent, Zc, Nc, ffc, ffw, tau3, k_F, sw2,
                mB2, aB, gEM, gNC, mS2, aS, yS):
    """|M|^2 (dimensionless) for helicities h = -1 (column 0) and h = +1 (column 1) of N; zero outside limits.

    E (n,) GeV, Q2 (n,) GeV^2; m, M GeV; couplings: arrays over vector bosons (mB2 GeV^2, aB complex,
    gEM, gNC) and the scalar (mS2 GeV^2, aS complex, yS); ffc, ffw: packed charge and weak nuclear form-factor
    parameters (form_factors.nuclear_ff_scalar; read only when coherent). See the module docstring.
    """
    n = E.shape[0]
    out = np.zeros((n, 2))
    nb = mB2.shape[0]
    m2 = m * m
    M2 = M * M
    for i in range(n):
        e = E[i]
        q2 = Q2[i]
        lo, hi = _q2_limits_scalar(e, m, M)
        if not (q2 >= lo and q2 <= hi):
            continue
        # --- lab kinematics (target at rest, neutrino along z)
        nu = q2 / (2.0 * M)
        ep = e - nu
        pp2 = ep * ep - m2
        if pp2 <= 0.0 or ep <= 0.0:
            continue
        pp = math.sqrt(pp2)
        ssum = ep + pp
        # 1 - cos(theta) without cancellation: [Q2 (1 - m^2/(M (E'+p'))) - m^4/(E'+p')^2] / (2 E p')
        omc = (q2 * (1.0 - m2 / (M * ssum)) - m2 * m2 / (ssum * ssum)) / (2.0 * e * pp)
        omc = min(max(omc, 0.0), 2.0)
        opc = 2.0 - omc
        cA = 0.5 * ssum          # l_- = cA n_-
        cB = m2 / (2.0 * ssum)   # l_+ = cB n_+
        # dot products with n_- = (1, k^') and n_+ = (1, -k^')
        kn_m = e * omc
        kn_p = e * opc
        nq_m = kn_m - 2.0 * cB   # n_-.q = n_-.k - n_-.k', n_-.k' = 2 cB
        nq_p = kn_p - 2.0 * cA   # n_+.k' = 2 cA
        kk = 0.5 * (m2 + q2)     # k.k'
        kq = -kk
        kP = M * e
        kPp = kP + kq
        kS = 2.0 * kP + kq
        S2 = 4.0 * M2 + q2
        # --- hadronic couplings at this Q2
        if coherent:
            fc = nuclear_ff_scalar(q2, ffc)  # charge (protons)
            fw = nuclear_ff_scalar(q2, ffw)  # weak (neutrons)
            FV = 0.0 + 0.0j
            for b in range(nb):
                D = -1.0 / (q2 + mB2[b])
                FV += aB[b] * D * (gEM[b] * Zc * fc + gNC[b] * (Zc * (0.5 - 2.0 * sw2) * fc - 0.5 * Nc * fw))
            FS = aS * (-1.0 / (q2 + mS2)) * yS * (Zc * fc + Nc * fw) * 2.0 * M
            a = 0.0 + 0.0j
            bb = 0.0 + 0.0j
            c = 0.0 + 0.0j
            f = 0.0 + 0.0j
            pauli = 1.0
        else:
            f1, f2 = nucleon_em_scalar(q2, M, tau3)
            g1, g2 = nucleon_em_scalar(q2, M, -tau3)  # the other nucleon (isospin partner)
            f1nc = (0.5 - 2.0 * sw2) * f1 - 0.5 * g1
            f2nc = (0.5 - 2.0 * sw2) * f2 - 0.5 * g2
            ga = axial_scalar(q2)
            a = 0.0 + 0.0j
            bb = 0.0 + 0.0j
            c = 0.0 + 0.0j
            for b in range(nb):
                D = -1.0 / (q2 + mB2[b])
                w = aB[b] * D
                a += w * (gEM[b] * (f1 + f2) + gNC[b] * (f1nc + f2nc))
                bb += -w * (gEM[b] * f2 + gNC[b] * f2nc) / (2.0 * M)
                c += w * gNC[b] * (-0.5 * tau3 * ga)
            f = aS * (-1.0 / (q2 + mS2)) * yS
            FV = 0.0 + 0.0j
            FS = 0.0 + 0.0j
            pauli = pauli_blocking_scalar(math.sqrt(q2 + nu * nu), k_F)
        for col in range(2):
            h = 2 * col - 1
            hh = eta * h  # antineutrinos: h -> -h
            if hh < 0:
                cl = cA
                ln_k, ln_q = kn_m, nq_m   # n_h dots
                lo_k, lo_q = kn_p, nq_p   # n_{-h} dots
                co = cB
            else:
                cl = cB
                ln_k, ln_q = kn_p, nq_p
                lo_k, lo_q = kn_m, nq_m
                co = cA
            lk = cl * ln_k
            lP = cl * M
            lPp = cl * (M + ln_q)
            lS = cl * (2.0 * M + ln_q)
            lok = co * lo_k
            # J_h = m [k.Sigma + ((n_h.Sigma)(n_-h.k) - (n_-h.Sigma)(n_h.k)) / 2]
            J = m * (kS + 0.5 * ((2.0 * M + ln_q) * lo_k - (2.0 * M + lo_q) * ln_k))
            sig_t = 2.0 * lS * kS - S2 * lk
            if coherent:
                val = 2.0 * (FV.real**2 + FV.imag**2) * sig_t
                val += 2.0 * (FV * FS.conjugate()).real * J
                val += (FS.real**2 + FS.imag**2) * 2.0 * lok
            else:
                a2 = a.real**2 + a.imag**2
                c2 = c.real**2 + c.imag**2
                b2 = bb.real**2 + bb.imag**2
                sym = lPp * kP + lP * kPp
                val = 8.0 * a2 * (sym - M2 * lk) + 8.0 * c2 * (sym + M2 * lk)
                val += (2.0 * S2 * b2 + 8.0 * M * (a * bb.conjugate()).real) * sig_t
                val += eta * 16.0 * (a * c.conjugate()).real * (kPp * lP - kP * lPp)
                K = 2.0 * M * a + S2 * bb
                val += 2.0 * (K * f.conjugate()).real * J
                val += S2 * (f.real**2 + f.imag**2) * 2.0 * lok
                val *= pauli
            out[i, col] = max(val, 0.0)
    return out


# ===================================================================================== channels


@dataclass(frozen=True)
class UpscatteringChannel:
    """One channel: (neutrino species, target, regime, struck nucleon, final HNL) with its couplings.

    Masses in GeV. ``M`` is the mass of the struck object (nucleus for coherent, nucleon for incoherent).
    Boson arrays: squared masses (GeV^2), lepton-side complex couplings a_B (already summed over light
    states with the flavour weights), hadron-side g_EM and g_NC (Eq. 3 normalisation).
    """

    neutrino: str
    final_hnl: str
    hnl_index: int
    target: Target
    regime: str
    nucleon: str | None
    m_N: float
    M: float
    eta: int
    boson_names: tuple[str, ...]
    boson_m2: np.ndarray
    boson_a: np.ndarray
    boson_gem: np.ndarray
    boson_gnc: np.ndarray
    scalar_m2: float
    scalar_a: complex
    scalar_y: float
    k_F: float = 0.0
    notes: tuple[str, ...] = field(default=())

    # ------------------------------------------------------------------ derived
    @property
    def name(self) -> str:
        """Channel label, e.g. "nu_mu C12 coherent -> N5" or "nu_mu C12(p) incoherent -> N6"."""
        tgt = self.target.name if self.nucleon is None else f"{self.target.name}({self.nucleon})"
        return f"{self.neutrino} {tgt} {self.regime} -> {self.final_hnl}"

    @property
    def threshold(self) -> float:
        """Lab threshold neutrino energy in GeV."""
        return threshold_energy(self.m_N, self.M)

    @property
    def struck_pdg(self) -> int:
        """PDG code of the struck object: nucleus code (coherent), 2212/2112 (incoherent)."""
        if self.regime == "coherent":
            return self.target.pdg
        return 2212 if self.nucleon == "p" else 2112

    @property
    def scatterers_per_nucleus(self) -> int:
        """How many struck objects one target nucleus offers: 1 (coherent), Z or N (incoherent)."""
        if self.regime == "coherent":
            return 1
        return self.target.Z if self.nucleon == "p" else self.target.N

    def check_energy(self, E_nu) -> None:
        """Raise KinematicallyClosedError naming the first E_nu (GeV) at or below the threshold."""
        e = np.asarray(E_nu, dtype=float)
        bad = ~(e > self.threshold)
        if np.any(bad):
            first = float(np.ravel(e)[np.flatnonzero(np.ravel(bad))[0]])
            msg = (f"{self.name}: E_nu = {first:.6g} GeV is at or below the threshold "
                   f"E_th = m_N + m_N^2/2M = {self.threshold:.6g} GeV "
                   f"(m_N = {self.m_N:.6g} GeV, M = {self.M:.6g} GeV); "
                   f"allowed: E_nu > E_th")
            raise KinematicallyClosedError(msg)

    def q2_limits(self, E_nu) -> tuple[np.ndarray, np.ndarray]:
        """(Q2min, Q2max) in GeV^2 at E_nu (GeV); NaN below threshold."""
        return q2_limits(E_nu, self.m_N, self.M)

    def q2_range_for_sampling(self, E_nu) -> tuple[np.ndarray, np.ndarray]:
        """Q^2 interval (GeV^2) used for integration/sampling: the kinematic one, the coherent regime capped
        at COHERENT_Q2_CAP (F^2 < 1e-12 beyond), the lower end floored at Q2_FLOOR_REL * Q2max when Q2min = 0."""
        lo, hi = self.q2_limits(E_nu)
        if self.regime == "coherent":
            hi = np.minimum(hi, np.maximum(COHERENT_Q2_CAP, lo * 1.0001))
        lo = np.maximum(lo, Q2_FLOOR_REL * hi)
        return lo, hi

    def msq(self, E_nu, Q2) -> np.ndarray:
        """|M|^2 (dimensionless) for N helicity -1 and +1: array (n, 2). E_nu GeV, Q2 GeV^2 (broadcast)."""
        e, q = np.broadcast_arrays(np.asarray(E_nu, dtype=float), np.asarray(Q2, dtype=float))
        shape = e.shape
        if self.regime == "coherent":
            nff = nuclear_ff_params(self.target.name, self.target.Z, self.target.A)
            ffc, ffw = nff.charge, nff.weak
        else:
            ffc = ffw = _UNUSED_FF  # the incoherent regime uses nucleon form factors only
        tau3 = 1 if self.nucleon == "p" else -1
        out = _msq_kernel(
            np.ascontiguousarray(e.ravel()), np.ascontiguousarray(q.ravel()), self.m_N, self.M, self.eta,
            self.regime == "coherent", float(self.target.Z), float(self.target.N), ffc, ffw, tau3, self.k_F, const.SW2,
            self.boson_m2, self.boson_a, self.boson_gem, self.boson_gnc, self.scalar_m2, self.scalar_a, self.scalar_y,
        )
        return out.reshape((*shape, 2))

    def dsigma_dQ2(self, E_nu, Q2, helicity: int | None = None) -> np.ndarray:
        """d sigma / d Q^2 in cm^2 / GeV^2 at E_nu (GeV) and Q2 (GeV^2), zero outside the kinematic limits.

        helicity: None (sum), -1 or +1 (lab-frame helicity of N). Raises KinematicallyClosedError when an
        E_nu is at or below threshold.
        """
        self.check_energy(E_nu)
        m = self.msq(E_nu, Q2)
        e = np.broadcast_to(np.asarray(E_nu, dtype=float), m.shape[:-1])
        if helicity is None:
            val = m[..., 0] + m[..., 1]
        elif helicity in (-1, 1):
            val = m[..., (helicity + 1) // 2]
        else:
            msg = f"helicity = {helicity!r}: allowed -1, +1 or None (sum)"
            raise PhysicsError(msg)
        # d sigma/dQ^2 = |M|^2 / (64 pi M^2 E^2) (massless projectile on a target at rest)
        return val / (64.0 * math.pi * self.M**2 * e**2) * const.GEV2_TO_CM2

    def sigma(self, E_nu, helicity: int | None = None, below_threshold: str = "raise",
              n_nodes: int = N_GAUSS) -> np.ndarray:
        """Total cross section in cm^2 (per struck object) at E_nu (GeV, array).

        Gauss-Legendre quadrature in ln Q^2 over q2_range_for_sampling. below_threshold: "raise"
        (KinematicallyClosedError) or "zero".
        """
        e = np.atleast_1d(np.asarray(E_nu, dtype=float))
        if below_threshold == "raise":
            self.check_energy(e)
        elif below_threshold != "zero":
            msg = f"below_threshold = {below_threshold!r}: allowed 'raise' or 'zero'"
            raise ValueError(msg)
        out = np.zeros(e.shape)
        ok = e > self.threshold
        if not np.any(ok):
            return out
        eo = e[ok]
        lo, hi = self.q2_range_for_sampling(eo)
        x, w = np.polynomial.legendre.leggauss(n_nodes)
        x = 0.5 * (x + 1.0)
        w = 0.5 * w
        L = np.log(hi / lo)
        q2 = lo[:, None] * np.exp(L[:, None] * x[None, :])
        ee = np.broadcast_to(eo[:, None], q2.shape)
        ds = self.dsigma_dQ2(ee, q2, helicity)
        out[ok] = np.sum(ds * q2 * w[None, :], axis=1) * L
        return out


def make_channel(model, final_hnl: str, target_name: str, regime: str, nucleon: str | None = None,
                 neutrino: str = "nu_mu", pauli_blocking: bool = False, m_N: float | None = None,
                 ) -> UpscatteringChannel:
    """Build the couplings of one upscattering channel.

    model: Model, ModelParameters or Spectrum (generator.model.model.as_model). final_hnl: "N4".."N8".
    target_name: see targets.toml.
    regime: "coherent" or "incoherent"; nucleon: "p" or "n" for incoherent (H1: "p" only).
    neutrino: "nu_mu", "nu_e", ..., "nu_mu_bar". pauli_blocking: Fermi-gas factor for bound nucleons.
    m_N: override of the HNL mass in GeV (for scans); default the spectrum mass.
    """
    mod = as_model(model)
    spec, p = mod.spectrum, mod.params
    if regime not in REGIMES:
        raise UnknownNameError("regime", regime, REGIMES)
    if neutrino not in NEUTRINOS:
        raise UnknownNameError("neutrino", neutrino, NEUTRINOS)
    tgt = target(target_name)
    j = spec.index(final_hnl)
    if j < spec.n_light:
        msg = f"final_hnl = {final_hnl!r} is a light neutrino; allowed: {', '.join(spec.heavy_names)}"
        raise PhysicsError(msg)
    if regime == "coherent":
        if tgt.is_free_nucleon:
            msg = f"target {target_name!r} is a single nucleon: use regime 'incoherent' (coherent needs A > 1)"
            raise PhysicsError(msg)
        if nucleon is not None:
            msg = f"nucleon = {nucleon!r} is only used for regime 'incoherent'"
            raise PhysicsError(msg)
    else:
        if nucleon not in NUCLEONS:
            raise UnknownNameError("nucleon", str(nucleon), NUCLEONS)
        if tgt.is_free_nucleon and nucleon != "p":
            msg = f"target {target_name!r} is a free proton: nucleon must be 'p'"
            raise PhysicsError(msg)
    flavour, eta, _ = NEUTRINOS[neutrino]
    u_row = spec.U_flavour(flavour)
    light = range(spec.n_light)
    weights = [np.conj(u_row[i]) if eta > 0 else u_row[i] for i in light]
    side = 0 if eta > 0 else 1  # P_L coefficient for neutrinos, P_R for antineutrinos

    convention = mod.convention

    def lepton(g: float, X: np.ndarray) -> complex:
        # vertex nbar_j gamma (a_L P_L + a_R P_R) nu_i in the model's convention
        # (generator.model.vertices.vector_vertex)
        return complex(sum(w * vector_vertex(g, X, j, i, convention)[side]
                           for w, i in zip(weights, light, strict=True)))

    g_z = const.G_WEAK / (2.0 * const.CW)
    g_nc_zp = cpl.zprime_nc_coupling(p)
    a_zp = lepton(1.0, zprime_neutrino_matrix(spec))
    a_z = lepton(1.0, z_neutrino_matrix(spec))
    a_s = complex(sum(w * majorana_scalar_couplings(spec.S, j, i)[side] for w, i in zip(weights, light, strict=True)))
    m_nucleon = const.M_PROTON if nucleon == "p" else const.M_NEUTRON
    m_avg = 0.5 * (const.M_PROTON + const.M_NEUTRON)
    y_nuc = p.sin_theta * F_N_HIGGS * (m_avg if regime == "coherent" else m_nucleon) / const.V_HIGGS
    mass = float(spec.masses[j]) if m_N is None else float(m_N)
    if not (math.isfinite(mass) and mass >= 0):
        msg = f"m_N = {mass!r} GeV: must be a finite number >= 0"
        raise PhysicsError(msg)
    M = tgt.mass if regime == "coherent" else m_nucleon
    kF = tgt.k_F if (pauli_blocking and regime == "incoherent" and not tgt.is_free_nucleon) else 0.0
    return UpscatteringChannel(
        neutrino=neutrino, final_hnl=final_hnl, hnl_index=j, target=tgt, regime=regime,
        nucleon=nucleon if regime == "incoherent" else None, m_N=mass, M=M, eta=eta,
        boson_names=(P.record_name("Z'"), "Z"),
        boson_m2=np.array([p.m_Zprime**2, const.M_Z**2]),
        boson_a=np.array([a_zp, a_z], dtype=np.complex128),
        boson_gem=np.array([cpl.zprime_em_coupling(p), 0.0]),
        boson_gnc=np.array([g_nc_zp, g_z]),
        scalar_m2=p.m_phiprime**2, scalar_a=a_s, scalar_y=float(y_nuc), k_F=kF,
    )


def nucleus_channels(model, final_hnl: str, target_name: str, regime: str, neutrino: str = "nu_mu",
                     pauli_blocking: bool = False, m_N: float | None = None) -> list[UpscatteringChannel]:
    """The channels of one (target, regime): [coherent] or the incoherent [p, n] (H1: [p])."""
    tgt = target(target_name)
    if regime == "coherent":
        nucs = [None]
    else:
        nucs = ["p"] if tgt.is_free_nucleon else ["p", "n"]
    return [make_channel(model, final_hnl, target_name, regime, nuc, neutrino, pauli_blocking, m_N) for nuc in nucs]


__all__ = [
    "REGIMES", "Target", "UpscatteringChannel", "make_channel", "nucleus_channels", "q2_limits", "target",
    "threshold_energy",
]
