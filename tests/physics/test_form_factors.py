"""Nuclear form factors of coherent upscattering and the neutron (incoherent) channels.

Independent references: the charge density of the de Vries et al. (1987) Fourier-Bessel fits integrated by
scipy quadrature (charge, rms radius, numerical Fourier transform), the Angeli-Marinova (2013) rms charge
radii, scipy spherical Bessel functions for Helm, the Llewellyn Smith (Phys. Rep. 3 (1972) 261, Eq. 3.18)
nucleon cross section for the neutron channel, and the percentages of the physics review that asked for
this change (coherent C12 d sigma/dQ^2 lowered by the old Helm form factor by ~5 %, ~19 % and ~90 % at
Q^2 = 0.01, 0.03, 0.1 GeV^2).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, special

from generator.errors import DataFileError, UnknownNameError
from generator.model.parameters import preset
from generator.model.spectrum import Spectrum
from generator.physics import form_factors as ff
from generator.physics import upscattering as up

NUCLEI = {"C12": (6, 12), "O16": (8, 16), "Ar40": (18, 40), "Fe56": (26, 56)}
#: Angeli & Marinova, ADNDT 99 (2013) 69 (independent of the data file, typed here again).
ANGELI_MARINOVA_FM = {"C12": 2.4702, "O16": 2.6991, "Ar40": 3.4274, "Fe56": 3.7377}
#: FB fits whose rms differs from Angeli-Marinova by more than 0.5 %: ratio FB / AM (stated in the data file).
FB_RMS_OFFSET = {"O16": 1.0139, "Fe56": 0.99361}
HBARC = ff.HBARC_GEV_FM


def _params(name, model=None):
    Z, A = NUCLEI[name]
    return ff.nuclear_ff_params(name, Z, A, model)


def _density(p):
    nu = np.arange(1, len(p.fb_a_fm3) + 1)
    return lambda r: float(np.sum(p.fb_a_fm3 * np.sinc(nu * r / p.fb_R_fm)))  # j0(x) = sinc(x/pi)


def _rms_from_slope(params) -> float:
    """<r^2> = -6 dF/dq^2 at q = 0, by Richardson extrapolation of two finite differences (q^2 in fm^-2)."""
    h = 1e-4
    F1, F2 = ff.nuclear_form_factor(np.array([h, 2 * h]) * HBARC**2, params)
    slope = (4 * (F1 - 1) - (F2 - 1)) / (2 * h)
    return math.sqrt(-6 * slope)


@pytest.mark.parametrize("name", list(NUCLEI))
@pytest.mark.parametrize("model", ["fourier_bessel", "helm"])
def test_form_factor_is_one_at_zero(name, model):
    p = _params(name, model)
    assert ff.nuclear_form_factor(0.0, p.charge)[0] == pytest.approx(1.0, abs=1e-14)
    assert ff.nuclear_form_factor(0.0, p.weak)[0] == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("name", list(NUCLEI))
def test_transcribed_coefficients_give_charge_and_quoted_rms(name):
    """The FB density integrates to Z (1e-3) and, where transcribed, gives the rms quoted by de Vries (0.1 %)."""
    p = _params(name)
    rho = _density(p)
    Z = integrate.quad(lambda r: 4 * math.pi * r * r * rho(r), 0, p.fb_R_fm, limit=200)[0]
    r2 = integrate.quad(lambda r: 4 * math.pi * r**4 * rho(r), 0, p.fb_R_fm, limit=200)[0] / Z
    assert pytest.approx(NUCLEI[name][0], rel=1e-3) == Z
    if p.rms_fit_fm is not None:
        assert math.sqrt(r2) == pytest.approx(p.rms_fit_fm, rel=1e-3)


@pytest.mark.parametrize("name", list(NUCLEI))
def test_rms_from_slope_equals_measured(name):
    """rms from the slope at q = 0 against Angeli-Marinova: 0.5 % (FB; O16 and Fe56 at their stated offset to
    0.1 %), and the Helm option and the weak form factor reproduce the radius they were fitted to (0.5 %)."""
    am = ANGELI_MARINOVA_FM[name]
    p = _params(name)
    assert p.rms_measured_fm == am
    target = am * FB_RMS_OFFSET.get(name, 1.0)
    tol = 1e-3 if name in FB_RMS_OFFSET else 5e-3
    assert _rms_from_slope(p.charge) == pytest.approx(target, rel=tol)
    assert _rms_from_slope(_params(name, "helm").charge) == pytest.approx(am, rel=5e-3)
    assert _rms_from_slope(p.weak) == pytest.approx(p.weak_rms_fm, rel=5e-3)
    # R_w^2 = r_ch^2 - (N/Z) <r_n^2>, <r_n^2> = -0.1161 fm^2 (PDG)
    Z, A = NUCLEI[name]
    assert p.weak_rms_fm == pytest.approx(math.sqrt(am**2 + 0.1161 * (A - Z) / Z), rel=1e-12)


@pytest.mark.parametrize("name", list(NUCLEI))
def test_fb_form_factor_against_numerical_fourier_transform(name):
    """F(q) = 4 pi / (Z q) int rho(r) r sin(q r) dr by quadrature, at q = 0.3 ... 3 fm^-1 and at the nodes
    q R = pi, 2 pi (where the closed form has 0/0 terms); absolute 1e-7."""
    p = _params(name)
    rho = _density(p)
    # normalised to the fit's own integrated charge (Z to 1e-4, see above), so that F(0) = 1
    Z = integrate.quad(lambda r: 4 * math.pi * r * r * rho(r), 0, p.fb_R_fm, limit=200)[0]
    qs = np.array([0.3, 0.7, 1.0, 1.5, 2.0, 3.0, math.pi / p.fb_R_fm, 2 * math.pi / p.fb_R_fm])
    ref = [4 * math.pi / (Z * q) * integrate.quad(lambda r, q=q: rho(r) * r * math.sin(q * r), 0, p.fb_R_fm,
                                                     limit=400)[0] for q in qs]
    got = ff.nuclear_form_factor((qs * HBARC) ** 2, p.charge)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-7)


def test_helm_option_against_scipy_bessel():
    """Helm with r_n fitted to the measured rms: 3 j1(q r_n)/(q r_n) exp(-(q s)^2/2), <r^2> = 3/5 r_n^2 + 3 s^2."""
    p = _params("Ar40", "helm")
    r_n = math.sqrt(5 / 3 * (3.4274**2 - 3 * 0.9**2))
    assert p.charge[1] == pytest.approx(r_n, rel=1e-12)
    q = np.array([0.2, 0.8, 1.4])
    ref = 3 * special.spherical_jn(1, q * r_n) / (q * r_n) * np.exp(-0.5 * (q * 0.9) ** 2)
    np.testing.assert_allclose(ff.nuclear_form_factor((q * HBARC) ** 2, p.charge), ref, rtol=1e-10)


def test_bad_inputs_raise():
    with pytest.raises(UnknownNameError):
        ff.nuclear_ff_params("Xe131", 54, 131)
    with pytest.raises(DataFileError):
        ff.nuclear_ff_params("C12", 6, 12, "woods_saxon")


def test_coherent_c12_change_against_old_helm():
    """EM-only coherent C12 d sigma/dQ^2 with the measured charge form factor, against the same with the old
    Lewin-Smith Helm: the old one was lower by 5 %, 19 % and 90 % at Q^2 = 0.01, 0.03, 0.1 GeV^2 (review's
    numbers, +- 1.5 points)."""
    spec = Spectrum(preset("BP-B"))
    full = up.make_channel(spec, "N5", "C12", "coherent")
    em = dataclasses.replace(full, boson_a=np.array([full.boson_a[0], 0j]), boson_gnc=np.zeros(2))
    Q2 = np.array([0.01, 0.03, 0.1])
    new = em.dsigma_dQ2(np.full(3, 1.5), Q2)
    F_new = ff.nuclear_form_factor(Q2, _params("C12").charge)
    old = new / F_new**2 * ff.helm(Q2, 12) ** 2  # the EM-only amplitude is linear in F
    np.testing.assert_allclose(1 - old / new, [0.05, 0.19, 0.90], atol=0.015)


# ------------------------------------------------------------------------------------ neutron channels


def _llewellyn_smith(E, Q2, M, F1, F2):
    """d sigma/dQ^2 up to a constant for a massless lepton and a vector nucleon current (F_A = 0):
    A + C (s-u)^2/M^4 with A = Q^2/M^2 [-(1-tau) F1^2 + tau (1-tau) F2^2 + 4 tau F1 F2],
    C = (F1^2 + tau F2^2)/4, s - u = 4 M E - Q^2, all over E^2 (Llewellyn Smith 1972, Eq. 3.18)."""
    tau = Q2 / (4 * M * M)
    A = Q2 / M**2 * (-(1 - tau) * F1**2 + tau * (1 - tau) * F2**2 + 4 * tau * F1 * F2)
    C = 0.25 * (F1**2 + tau * F2**2)
    su = 4 * M * E - Q2
    return (A + C * su**2 / M**4) / E**2


def test_neutron_channel_is_the_magnetic_form_factor_through_the_em_coupling():
    """With only the Z' EM coupling, the neutron scatters through its Pauli (magnetic) form factor (F1^n(0) = 0):
    the ratio of the n and p cross sections equals the Llewellyn Smith ratio built from (F1, F2) and the mass of
    each nucleon, to 1e-6 (the overall constant cancels). The nucleus counts Z protons and N neutrons."""
    spec = Spectrum(preset("BP-B"))
    E = 1.5
    Q2 = np.array([0.02, 0.1, 0.3, 0.6])
    vals = {}
    for nucleon in ("p", "n"):
        ch = up.make_channel(spec, "N5", "C12", "incoherent", nucleon, m_N=1e-6)
        em = dataclasses.replace(ch, boson_a=np.array([ch.boson_a[0], 0j]), boson_gnc=np.zeros(2), k_F=0.0)
        F1, F2 = ff.nucleon_em(Q2, nucleon)
        vals[nucleon] = em.dsigma_dQ2(np.full(4, E), Q2) / (ch.M**2 * _llewellyn_smith(E, Q2, ch.M, F1, F2))
    np.testing.assert_allclose(vals["n"] / vals["p"], 1.0, rtol=1e-6)
    # per-nucleon scaling: the nuclear incoherent cross section counts N neutrons (exactly, without blocking)
    t = up.target("Ar40")
    ch_n = up.make_channel(spec, "N5", "Ar40", "incoherent", "n")
    assert ch_n.scatterers_per_nucleus == t.N == 22
    ch_p = up.make_channel(spec, "N5", "Ar40", "incoherent", "p")
    assert ch_p.scatterers_per_nucleus == t.Z == 18


@pytest.mark.parametrize("name", list(NUCLEI))
def test_form_factors_negligible_above_the_coherent_cap(name):
    """The coherent Q^2 integration stops at COHERENT_Q2_CAP: both form factors squared are < 1e-10 beyond it."""
    p = _params(name)
    Q2 = np.linspace(up.COHERENT_Q2_CAP, 4 * up.COHERENT_Q2_CAP, 600)
    assert np.max(ff.nuclear_form_factor(Q2, p.charge) ** 2) < 1e-10
    assert np.max(ff.nuclear_form_factor(Q2, p.weak) ** 2) < 1e-10
