"""Upscattering cross sections: form factors, limits, scaling laws, thresholds and quadrature.

Every expected number below comes from an independent source: textbook formulas (Freedman's coherent
cross section, the Fermi-gas overlap volume), scipy special functions and quadrature, or exact kinematics
solved numerically.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from generator import constants as const
from generator import xsec as xs
from generator.errors import KinematicallyClosedError, PhysicsError, UnknownNameError
from generator.model.parameters import preset
from generator.model.spectrum import Spectrum
from generator.physics import form_factors as ff
from generator.physics import upscattering as up

SPEC = Spectrum(preset("BP-B"))


# ----------------------------------------------------------------------------------- form factors
def test_form_factors_at_zero_and_helm_against_scipy_bessel():
    for A in (12, 40, 56):
        assert ff.helm(np.array([0.0]), A)[0] == pytest.approx(1.0, abs=1e-14)
    # Helm = 3 j1(q r)/(q r) exp(-q^2 s^2/2) with j1 from scipy (independent implementation), tolerance 1e-10
    Q2 = np.array([1e-6, 1e-3, 0.01, 0.05, 0.2])
    r = ff.helm_radius_fm(40.0)
    q = np.sqrt(Q2) / ff.HBARC_GEV_FM
    ref = 3 * special.spherical_jn(1, q * r) / (q * r) * np.exp(-0.5 * (q * ff.HELM_S_FM) ** 2)
    np.testing.assert_allclose(ff.helm(Q2, 40), ref, rtol=1e-8, atol=1e-12)
    # nucleon charges and anomalous moments at Q2 = 0 (CODATA magnetic moments)
    f1p, f2p = ff.nucleon_em(np.array([0.0]), "p")
    f1n, f2n = ff.nucleon_em(np.array([0.0]), "n")
    assert (f1p[0], f1n[0]) == pytest.approx((1.0, 0.0), abs=1e-14)
    assert (f2p[0], f2n[0]) == pytest.approx((2.792847344 - 1.0, -1.91304273), rel=1e-12)
    assert ff.axial(0.0) == pytest.approx(1.2754)


def test_pauli_blocking_is_the_fermi_sphere_overlap():
    """1 - overlap volume of two Fermi spheres displaced by |q| (Monte Carlo estimate, 20k points, 5 sigma)."""
    rng = np.random.default_rng(3)
    kF, q = 0.25, 0.2
    pts = rng.normal(size=(20000, 3))
    pts *= (kF * rng.random(20000) ** (1 / 3) / np.linalg.norm(pts, axis=1))[:, None]
    shifted = pts + np.array([0, 0, q])
    frac = np.mean(np.linalg.norm(shifted, axis=1) > kF)
    sigma = math.sqrt(frac * (1 - frac) / 20000)
    assert abs(ff.pauli_blocking(q, kF) - frac) < 5 * sigma
    assert ff.pauli_blocking(2 * kF + 1e-9, kF) == 1.0


# ----------------------------------------------------------------------------------- kinematics
def test_q2_limits_against_lab_frame_endpoints():
    """Q2 at cos(theta) = +-1 from lab energy-momentum conservation solved with brentq (1e-9 relative)."""
    M, m = up.target("C12").mass, 0.2205
    for E in (0.5, 2.0, 20.0):
        def q2_at(cos, E=E):
            # find E' with (k + P - k')^2 = M^2, k' at angle theta: Q2 = 2M (E - E')
            def f(Ep):
                pp = math.sqrt(Ep * Ep - m * m)
                t = m * m - 2 * E * (Ep - pp * cos)
                return t + 2 * M * (E - Ep)  # t = -Q2 = -2 M nu
            grid = np.linspace(m * (1 + 1e-12), E, 20001)
            vals = np.array([f(x) for x in grid])
            roots = [optimize.brentq(f, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-14)
                     for i in np.flatnonzero(np.sign(vals[:-1]) != np.sign(vals[1:]))]
            return [2 * M * (E - r) for r in roots]
        lo, hi = up.q2_limits(E, m, M)
        forward = q2_at(1.0)
        backward = q2_at(-1.0)
        assert min(forward) == pytest.approx(float(lo), rel=1e-6)
        assert max(backward) == pytest.approx(float(hi), rel=1e-9)


def test_threshold_and_error_below_it():
    ch = up.make_channel(SPEC, "N6", "Ar40", "coherent")
    thr = ch.threshold
    assert thr == pytest.approx(ch.m_N + ch.m_N**2 / (2 * ch.M))
    # at threshold the Q2 interval closes: (m + M)^2 = s
    lo, hi = up.q2_limits(thr * (1 + 1e-10), ch.m_N, ch.M)
    assert float(hi - lo) < 1e-4 * float(hi)
    with pytest.raises(KinematicallyClosedError, match=r"E_nu = 0\.2 GeV .* threshold"):
        xs.sigma_total(np.array([0.2, 1.0]), SPEC, "N6", "Ar40", "coherent")
    s = xs.sigma_total(np.array([0.2, thr * 1.001, 1.0]), SPEC, "N6", "Ar40", "coherent", below_threshold="zero")
    assert s[0] == 0.0 and 0 < s[1] < 1e-3 * s[2]
    with pytest.raises(KinematicallyClosedError, match="below the threshold"):
        xs.xsec_table(SPEC, ["Ar40"], ["coherent"], ["N6"], [0.1, 0.2])


def test_bad_names_raise_with_allowed_values():
    with pytest.raises(UnknownNameError, match="allowed: Ar40, C12, Fe56, H1, O16"):
        up.make_channel(SPEC, "N5", "Ar", "coherent")
    with pytest.raises(UnknownNameError, match="regime"):
        up.make_channel(SPEC, "N5", "C12", "coherant")
    with pytest.raises(PhysicsError, match="single nucleon"):
        up.make_channel(SPEC, "N5", "H1", "coherent")
    with pytest.raises(PhysicsError, match="light neutrino"):
        up.make_channel(SPEC, "nu3", "C12", "coherent")


# ----------------------------------------------------------------------------------- limits
def _sm_z_channel(target_name):
    """nu_mu -> nu_mu coherent scattering through the SM Z only: lepton coupling g/2c_W (gamma^mu P_L)."""
    ch = up.make_channel(SPEC, "N5", target_name, "coherent", m_N=1e-7)
    gz = const.G_WEAK / (2 * const.CW)
    return dataclasses.replace(ch, boson_a=np.array([0j, gz + 0j]), boson_gem=np.array([0.0, 0.0]),
                               boson_gnc=np.array([0.0, gz]), scalar_a=0j)


def test_massless_limit_reproduces_freedman_cevns():
    """d sigma/dT = G_F^2 M Q_W^2 / (4 pi) (1 - T/E - M T / 2E^2) F^2 (Freedman, PRD 9 (1974) 1389),
    Q_W F = N F_w - (1 - 4 s_W^2) Z F_ch (neutron and charge form factors), T = Q^2 / 2M.
    Tolerance 1e-4: Q^2/m_Z^2 < 1e-5 and m_N^2 / Q^2 < 1e-6."""
    for tname in ("C12", "Ar40"):
        ch = _sm_z_channel(tname)
        t = ch.target
        M = ch.M
        E = 0.05
        Q2 = np.array([1e-4, 1e-3, 4e-3])
        T = Q2 / (2 * M)
        nff = ff.nuclear_ff_params(t.name, t.Z, t.A)
        # weak charge with the neutron (weak) and proton (charge) form factors
        qwF = (t.N * ff.nuclear_form_factor(Q2, nff.weak)
               - (1 - 4 * const.SW2) * t.Z * ff.nuclear_form_factor(Q2, nff.charge))
        ref = const.G_FERMI**2 * M * qwF**2 / (4 * math.pi) * (1 - T / E - M * T / (2 * E**2))
        got = ch.dsigma_dQ2(np.full(3, E), Q2) * 2 * M / const.GEV2_TO_CM2  # d sigma/dT in GeV^-3
        np.testing.assert_allclose(got, ref, rtol=2e-5)


def test_pointlike_zprime_limit_and_z_squared_scaling():
    """Q^2 << m_Z'^2, m_N -> 0: d sigma/dQ^2 = (a e eps Z)^2 / (4 pi m_Z'^4) (1 - T/E - M T/2E^2) F^2 with
    a = g_X |U_mu3 V_3j| (Eq. 3 EM piece, Appendix A). With only the Z' EM coupling kept the agreement is
    2e-5 (left: the Z' coupling to the neutrino NC current, C_3j, ~2e-6 of the amplitude); the full channel adds
    the SM Z exchange through C_3j = U_mu3^* U_mu5
    (|U_mu5| ~ 1e-3, amplitude ~2e-3 of the Z' one) and the NC part of the Z', hence 1e-2 for it.
    The EM-only ratio Ar/C (Fe/C) then scales as Z^2 once F and the recoil factor are divided out."""
    p = SPEC.params
    a = p.g_X * abs(SPEC.U_flavour("mu")[SPEC.index("nu3")] * SPEC.V[SPEC.index("nu3"), SPEC.index("N5")])
    vals = {}
    for tname in ("C12", "Ar40", "Fe56"):
        full = up.make_channel(SPEC, "N5", tname, "coherent", m_N=1e-6)
        em_only = dataclasses.replace(full, boson_a=np.array([full.boson_a[0], 0j]), boson_gnc=np.zeros(2))
        M, t = full.M, full.target
        E, Q2 = 2.0, np.array([2e-5, 1e-4])
        T = Q2 / (2 * M)
        F = ff.nuclear_form_factor(Q2, ff.nuclear_ff_params(t.name, t.Z, t.A).charge)
        kin = (1 - T / E - M * T / (2 * E**2)) * F**2
        # the propagator (Q^2 + m_Z'^2)^-2 -> m_Z'^-4 up to 2 Q^2/m_Z'^2 = 1.3e-4: kept exactly here
        ref = (a * const.E_CHARGE * p.epsilon * t.Z) ** 2 / (4 * math.pi * (Q2 + p.m_Zprime**2) ** 2) * kin
        got = em_only.dsigma_dQ2(np.full(2, E), Q2) / const.GEV2_TO_CM2
        np.testing.assert_allclose(got, ref, rtol=2e-5)
        np.testing.assert_allclose(full.dsigma_dQ2(np.full(2, E), Q2) / const.GEV2_TO_CM2, ref, rtol=1e-2)
        vals[tname] = got / kin
    assert vals["Ar40"] / vals["C12"] == pytest.approx(np.full(2, (18 / 6) ** 2), rel=1e-4)
    assert vals["Fe56"] / vals["C12"] == pytest.approx(np.full(2, (26 / 6) ** 2), rel=1e-4)


def test_incoherent_is_per_nucleon_and_pauli_factor():
    """Bound nucleons without Pauli blocking scatter exactly like free ones; per-nucleus incoherent sigma is
    Z sigma_p + N sigma_n; Pauli blocking multiplies d sigma/dQ^2 by the Fermi-gas factor of |q|."""
    E = np.array([0.6, 1.5, 5.0])
    free = xs.sigma_total(E, SPEC, "N5", "H1", "incoherent", "p")
    for tname in ("C12", "Ar40"):
        bound_p = xs.sigma_total(E, SPEC, "N5", tname, "incoherent", "p")
        np.testing.assert_allclose(bound_p, free, rtol=1e-12)
        t = up.target(tname)
        bound_n = xs.sigma_total(E, SPEC, "N5", tname, "incoherent", "n")
        per_nucleus = xs.sigma_total(E, SPEC, "N5", tname, "incoherent")
        np.testing.assert_allclose(per_nucleus, t.Z * bound_p + t.N * bound_n, rtol=1e-12)
    ch0 = up.make_channel(SPEC, "N5", "C12", "incoherent", "p")
    ch1 = up.make_channel(SPEC, "N5", "C12", "incoherent", "p", pauli_blocking=True)
    Q2 = np.array([0.01, 0.05, 0.15, 0.3])
    ratio = ch1.dsigma_dQ2(np.full(4, 1.0), Q2) / ch0.dsigma_dQ2(np.full(4, 1.0), Q2)
    qabs = np.sqrt(Q2 + (Q2 / (2 * ch0.M)) ** 2)
    x = qabs / (2 * 0.221)
    np.testing.assert_allclose(ratio, np.where(x < 1, 1.5 * x - 0.5 * x**3, 1.0), rtol=1e-12)


# ----------------------------------------------------------------------------------- integration
@pytest.mark.parametrize(("tname", "regime", "nucleon"), [("C12", "coherent", None), ("Ar40", "coherent", None),
                                                  ("Ar40", "incoherent", "n"), ("H1", "incoherent", "p")])
def test_sigma_total_against_scipy_quad(tname, regime, nucleon):
    """Gauss-Legendre (96 nodes in ln Q^2) against adaptive scipy quad over the full kinematic range: 1%
    (the brief's requirement; observed agreement is ~1e-6)."""
    ch = up.make_channel(SPEC, "N6", tname, regime, nucleon)
    for E in (0.5, 3.0, 50.0):
        lo, hi = (float(v) for v in ch.q2_limits(E))
        f = lambda q2, E=E: float(ch.dsigma_dQ2(np.array([E]), np.array([q2]))[0])  # noqa: E731
        # split at a few scales (form factor / propagator) so quad resolves every region
        pts = sorted({lo, *[v for v in (1e-3, 1e-2, 0.1, 1.0, 10.0) if lo < v < hi], hi})
        ref = sum(integrate.quad(f, a, b, epsrel=1e-8, limit=200)[0] for a, b in itertools.pairwise(pts))
        assert float(ch.sigma(np.array([E]))[0]) == pytest.approx(ref, rel=1e-2)


def test_helicity_parts_sum_and_left_handed_dominance_at_high_energy():
    ch = up.make_channel(SPEC, "N5", "C12", "coherent")
    E = np.array([0.5, 5.0, 50.0])
    sm = ch.sigma(E, helicity=-1)
    sp = ch.sigma(E, helicity=+1)
    np.testing.assert_allclose(sm + sp, ch.sigma(E), rtol=1e-12)
    # helicity flip costs (m_N / E)^2: the h=+1 share falls with energy
    share = sp / (sm + sp)
    assert share[0] > share[1] > share[2] and share[2] < 1e-3


def test_xsec_table_structure_and_values():
    E = [0.3, 1.0, 10.0]
    tab = xs.xsec_table(SPEC, ["C12", "H1"], ["coherent", "incoherent"], ["N5"], E)
    assert tab["unit"] == "cm2" and tab["energies_GeV"] == E
    names = [(r["target"], r["regime"]) for r in tab["channels"]]
    assert names == [("C12", "coherent"), ("C12", "incoherent"), ("H1", "incoherent")]
    coh = tab["channels"][0]["sigma_cm2"]
    np.testing.assert_allclose(coh, xs.sigma_total(np.array(E), SPEC, "N5", "C12", "coherent"), rtol=1e-12)
