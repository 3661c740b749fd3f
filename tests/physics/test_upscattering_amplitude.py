"""The analytic |M|^2 of generator/physics/upscattering.py against explicit Dirac spinors.

The reference builds gamma matrices (Dirac representation), helicity spinors and the hadronic current
F1 gamma^mu + i F2 sigma^{mu nu} q_nu / 2M + G gamma^mu gamma5 (no Gordon identity, no traces) and sums
|M|^2 over nucleon spins numerically. It shares nothing with the trace formulas of the module except the
form-factor values, so agreement checks the tensor algebra, the helicity projection, the V x A sign, the
vector-scalar interference and the antineutrino mapping.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from generator import constants as const
from generator.model.parameters import preset
from generator.physics import form_factors as ff
from generator.physics import upscattering as up

# --- Dirac algebra (Dirac representation, metric +---) -------------------------------------------
I2 = np.eye(2)
Z2 = np.zeros((2, 2))
SIG = [np.array([[0, 1], [1, 0]], complex), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]], complex)]
G0 = np.block([[I2, Z2], [Z2, -I2]]).astype(complex)
GAMMA = [G0] + [np.block([[Z2, s], [-s, Z2]]) for s in SIG]
G5 = np.block([[Z2, I2], [I2, Z2]]).astype(complex)
PL = (np.eye(4) - G5) / 2
PR = (np.eye(4) + G5) / 2
METRIC = np.diag([1.0, -1.0, -1.0, -1.0])


def slash(p):
    return sum(METRIC[m, m] * p[m] * GAMMA[m] for m in range(4))


def chi(theta, phi, h):
    """Two-spinor of helicity h along (theta, phi)."""
    if h > 0:
        return np.array([math.cos(theta / 2), np.exp(1j * phi) * math.sin(theta / 2)])
    return np.array([-np.exp(-1j * phi) * math.sin(theta / 2), math.cos(theta / 2)])


def u_spinor(E, pvec, m, h):
    """Dirac u spinor of energy E, momentum pvec, mass m, helicity h (h along pvec)."""
    p = np.linalg.norm(pvec)
    if p == 0:
        theta, phi = 0.0, 0.0
    else:
        theta = math.acos(np.clip(pvec[2] / p, -1, 1))
        phi = math.atan2(pvec[1], pvec[0])
    x = chi(theta, phi, h)
    return np.concatenate([math.sqrt(E + m) * x, h * p / math.sqrt(E + m) * x])


def bar(u):
    return u.conj() @ G0


def sigma_munu(mu, nu):
    return 0.5j * (GAMMA[mu] @ GAMMA[nu] - GAMMA[nu] @ GAMMA[mu])


def kinematics(E, Q2, m, M):
    """Lab four-vectors k, P, k', P' (neutrino along z, N in the xz plane)."""
    nu = Q2 / (2 * M)
    Ep = E - nu
    pp = math.sqrt(Ep**2 - m**2)
    cos = (2 * E * Ep - m**2 - Q2) / (2 * E * pp)
    sin = math.sqrt(max(1 - cos**2, 0.0))
    k = np.array([E, 0, 0, E])
    P = np.array([M, 0, 0, 0.0])
    kp = np.array([Ep, pp * sin, 0, pp * cos])
    return k, P, kp, k + P - kp


def reference_msq(ch, E, Q2, h):
    """Spin-summed/averaged |M|^2 for N helicity h from explicit spinors (see module docstring)."""
    m, M = ch.m_N, ch.M
    k, P, kp, Pp = kinematics(E, Q2, m, M)
    q = k - kp
    nu_h = -ch.eta  # incoming neutrino helicity -1, antineutrino +1
    u_nu = u_spinor(E, k[1:], 0.0, nu_h)
    proj = PL if ch.eta > 0 else PR
    uN = u_spinor(kp[0], kp[1:], m, h)
    lep_v = np.array([bar(uN) @ GAMMA[mu] @ proj @ u_nu for mu in range(4)])
    lep_s = bar(uN) @ proj @ u_nu
    DV = [-1.0 / (Q2 + m2) for m2 in ch.boson_m2]
    DS = -1.0 / (Q2 + ch.scalar_m2)
    sw2 = const.SW2
    if ch.regime == "coherent":
        nff = ff.nuclear_ff_params(ch.target.name, ch.target.Z, ch.target.A)
        Fc = ff.nuclear_form_factor(np.array([Q2]), nff.charge)[0]  # charge (protons)
        Fw = ff.nuclear_form_factor(np.array([Q2]), nff.weak)[0]    # weak (neutrons)
        Zc, Nc = ch.target.Z, ch.target.N
        FV = sum(a * D * (ge * Zc * Fc + gn * (Zc * (0.5 - 2 * sw2) * Fc - 0.5 * Nc * Fw))
                 for a, D, ge, gn in zip(ch.boson_a, DV, ch.boson_gem, ch.boson_gnc, strict=True))
        FS = ch.scalar_a * DS * ch.scalar_y * (Zc * Fc + Nc * Fw) * 2 * M
        Sig = P + Pp
        amp = sum(METRIC[mu, mu] * lep_v[mu] * FV * Sig[mu] for mu in range(4)) + lep_s * FS
        return abs(amp) ** 2
    # nucleon: F1 gamma + i F2 sigma q / 2M + G gamma gamma5 (tau3 = +1 proton)
    tau3 = 1 if ch.nucleon == "p" else -1
    f1, f2 = ff.nucleon_em_scalar(Q2, M, tau3)
    # isospin partner's form factors at the same tau = Q2/4M^2 (isospin limit, as in the module)
    g1, g2 = ff.nucleon_em_scalar(Q2, M, -tau3)
    ga = ff.axial(Q2)
    F1 = F2 = G = 0j
    for a, D, ge, gn in zip(ch.boson_a, DV, ch.boson_gem, ch.boson_gnc, strict=True):
        w = a * D
        F1 += w * (ge * f1 + gn * ((0.5 - 2 * sw2) * f1 - 0.5 * g1))
        F2 += w * (ge * f2 + gn * ((0.5 - 2 * sw2) * f2 - 0.5 * g2))
        G += w * gn * (-0.5 * tau3 * ga)
    fS = ch.scalar_a * DS * ch.scalar_y
    qlow = METRIC @ q
    Gam = [F1 * GAMMA[mu] + 1j * F2 / (2 * M) * sum(sigma_munu(mu, nu) * qlow[nu] for nu in range(4))
           + G * GAMMA[mu] @ G5 for mu in range(4)]
    total = 0.0
    for s in (-1, 1):
        for sp in (-1, 1):
            uP = u_spinor(M, P[1:], M, s)
            uPp = u_spinor(Pp[0], Pp[1:], M, sp)
            had = np.array([bar(uPp) @ Gam[mu] @ uP for mu in range(4)])
            had_s = bar(uPp) @ uP
            amp = sum(METRIC[mu, mu] * lep_v[mu] * had[mu] for mu in range(4)) + lep_s * fS * had_s
            total += abs(amp) ** 2
    return 0.5 * total


def _random_couplings(ch, rng, scalar=True):
    """Give every coupling an O(1) random complex value so all interference terms matter."""
    a = rng.normal(size=2) + 1j * rng.normal(size=2)
    return dataclasses.replace(
        ch, boson_a=a.astype(np.complex128), boson_m2=np.array([0.8, 2.5]),
        boson_gem=rng.normal(size=2), boson_gnc=rng.normal(size=2),
        scalar_m2=1.3, scalar_a=complex(rng.normal(), rng.normal()) if scalar else 0j,
        scalar_y=float(rng.normal()) if scalar else 0.0,
    )


CASES = [
    ("C12", "coherent", None, "nu_mu"),
    ("Ar40", "coherent", None, "nu_mu_bar"),
    ("C12", "incoherent", "p", "nu_mu"),
    ("C12", "incoherent", "n", "nu_mu"),
    ("H1", "incoherent", "p", "nu_mu_bar"),
]


@pytest.mark.parametrize(("tname", "regime", "nucleon", "neutrino"), CASES)
def test_msq_matches_explicit_spinors(tname, regime, nucleon, neutrino):
    rng = np.random.default_rng(11)
    base = up.make_channel(preset("BP-B"), "N6", tname, regime, nucleon, neutrino=neutrino)
    for m_N in (0.22, 0.6):
        ch = _random_couplings(dataclasses.replace(base, m_N=m_N), rng)
        for E in (0.9, 3.0):
            lo, hi = ch.q2_limits(E)
            for u in (0.05, 0.5, 0.95):
                Q2 = float(lo * (hi / lo) ** u)
                got = ch.msq(np.array([E]), np.array([Q2]))[0]
                ref = np.array([reference_msq(ch, E, Q2, h) for h in (-1, 1)])
                # double-precision algebra on both sides: agreement to 1e-8 relative to the larger helicity
                scale = max(ref.max(), 1e-300)
                assert np.allclose(got, ref, rtol=1e-8, atol=1e-8 * scale), (m_N, E, Q2, got, ref)


def test_helicity_sum_is_frame_independent_massless_limit():
    """For m_N -> 0 a left-handed neutrino produces only h = -1 (chirality = helicity): the h = +1 part
    vanishes like m_N^2 (checked at m_N = 1e-4 GeV against the explicit spinors' scaling)."""
    ch = up.make_channel(preset("BP-B"), "N5", "C12", "incoherent", "p")
    small = dataclasses.replace(ch, m_N=1e-4)
    m = small.msq(np.array([1.0]), np.array([0.2]))[0]
    assert m[1] / m[0] < 1e-7  # (m_N / E)^2 ~ 1e-8
