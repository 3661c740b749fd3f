"""Observables: Delta a_mu from the Z' (analytic limits) and light-neutrino masses at tree level and one loop
(finiteness, literature seesaw limit, gauge independence of the SM block; the paper's m3 = 0.05 eV is compared
with the rounding envelope in tests/model/test_paper_comparisons.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from generator import constants as const
from generator.model import ModelParameters, Spectrum, preset
from generator.model import observables as O

BPS = ("BP-A", "BP-B", "BP-C", "BP-D")


# ------------------------------------------------------------------------------ (g-2)_mu
def test_schwinger_limit():
    """A massless vector with coupling e gives alpha/(2 pi)."""
    val = O.delta_a_mu_vector_axial(const.M_MU, 1e-7, const.E_CHARGE, 0.0)
    assert val == pytest.approx(const.ALPHA_EM / (2 * math.pi), rel=1e-6)  # corrections O(M/m_mu) ~ 1e-6


def test_heavy_vector_and_axial_limits():
    """m_V >> m_mu: g_v^2 m^2/(12 pi^2 M^2) and -5 g_a^2 m^2/(12 pi^2 M^2) (Jegerlehner & Nyffeler Eqs. 258-259)."""
    M = 1000 * const.M_MU
    base = const.M_MU**2 / (12 * math.pi**2 * M**2)
    # next order is O(m^2/M^2 ln(M^2/m^2)) ~ 1.4e-5: tolerance 1e-4
    assert O.delta_a_mu_vector_axial(const.M_MU, M, 1.0, 0.0) == pytest.approx(base, rel=1e-4)
    assert O.delta_a_mu_vector_axial(const.M_MU, M, 0.0, 1.0) == pytest.approx(-5 * base, rel=1e-4)


def test_delta_a_mu_benchmark():
    """BP: m_Z' = 1.25 GeV, eps^2 = 4.6e-4. Heavy-limit estimate alpha eps^2 m^2/(3 pi m_Z'^2) = 2.55e-9; the
    finite-mass correction is -(m^2/M^2)(2 ln(M/m) + O(1)) ~ -7% at m^2/M^2 = 7e-3, so we expect 2.3-2.5e-9, the
    paper's ~2.5e-9 explanation of the anomaly."""
    p = preset("BP-B")
    val = O.delta_a_mu(p)
    heavy = const.ALPHA_EM * p.epsilon**2 * const.M_MU**2 / (3 * math.pi * p.m_Zprime**2)
    assert 0.90 * heavy < val < 0.96 * heavy


# ------------------------------------------------------------------------------ light neutrino masses
@pytest.mark.parametrize("bp", BPS)
def test_tree_mass_vs_seesaw_formula(bp):
    """Tree level m3 (Takagi) vs the extended-seesaw formula |M_D^T M_heavy^-1 M_D| (second method, no Takagi);
    agreement to O(M_D^2/M_heavy^2) ~ 1e-5."""
    p = preset(bp)
    spec = Spectrum(p)
    M = spec.mass_matrix
    na = p.n_active
    md = M[:na, na:]
    light = -md @ np.linalg.inv(M[na:, na:]) @ md.T
    ref = np.sort(np.linalg.svd(light, compute_uv=False))
    got = O.light_neutrino_masses(p).tree
    assert got[-1] == pytest.approx(ref[-1], rel=1e-4)


@pytest.mark.parametrize("bp", BPS)
def test_forbidden_entries_are_finite(bp):
    """The symmetry-forbidden flavour entries of the one-loop correction do not depend on the MSbar scale mu;
    the allowed ones (renormalised parameters) do."""
    spec = Spectrum(preset(bp))
    mask = O.forbidden_mask(spec.params)
    d1, d2 = O.one_loop_mass_correction(spec, 0.5), O.one_loop_mass_correction(spec, 50.0)
    scale = np.abs(d1 * mask).max()
    assert scale > 0
    assert np.abs((d1 - d2) * mask).max() < 1e-10 * scale  # cancellation to rounding
    assert np.abs((d1 - d2) * ~mask).max() > 1e-3 * scale


def _seesaw_point(m_n):
    """One flavour, one sterile of mass m_n (GeV), M_D = 1 GeV, dark sector decoupled (Lambda = 0)."""
    return ModelParameters(flavours=("mu",), M_D=np.array([[1.0]]), M_N=np.array([m_n]), Lambda_L=np.array([[0.0]]),
                           Lambda_R=np.array([[0.0]]), M_X=np.array([1.0]), m_Zprime=1.25, epsilon=0.01,
                           alpha_D=0.1, m_phiprime=1.0)


@pytest.mark.parametrize("m_n", [300.0, 3000.0])
def test_sm_loop_matches_seesaw_literature(m_n):
    """Type-I seesaw limit: dM_nu = alpha_W/(16 pi m_W^2) M_D^2/M_N [m_H^2 x_H ln x_H/(x_H-1)
    + 3 m_Z^2 x_Z ln x_Z/(x_Z-1)], x = M_N^2/m^2 (Pilaftsis Z.Phys. C55 (1992) 275; Dev & Pilaftsis
    arXiv:1209.4051), opposite in sign to the tree entry -M_D^2/M_N. Corrections O(M_D^2/M_N^2): tolerance 1e-4."""
    spec = Spectrum(_seesaw_point(m_n))
    got = O.one_loop_mass_correction(spec, 1.0)[0, 0]
    aw = const.G_WEAK**2 / (4 * math.pi)

    def term(m):
        x = m_n**2 / m**2
        return m**2 / m_n * x * math.log(x) / (x - 1)

    ref = aw / (16 * math.pi * const.M_W**2) * (term(const.M_HIGGS) + 3 * term(const.M_Z))
    assert got.real == pytest.approx(ref, rel=1e-4)
    assert abs(got.imag) < 1e-12 * abs(ref)


def test_sm_block_gauge_independent():
    """The active-active block (Z + G0 + h) does not depend on the R_xi gauge parameter."""
    spec = Spectrum(preset("BP-B"))
    ref = O.one_loop_mass_correction(spec, 1.0, 1.0)[0, 0]
    for xi in (0.2, 5.0):
        assert O.one_loop_mass_correction(spec, 1.0, xi)[0, 0] == pytest.approx(ref, rel=1e-8)


@pytest.mark.parametrize("bp", BPS)
def test_dark_block_gauge_dependence_is_bounded(bp):
    """Documented caveat: the dark forbidden entries keep an xi dependence (invariant M_X between charged fields);
    m3 moves by less than 10% between xi = 0.3 and 3 at the BPs."""
    p = preset(bp)
    m = [O.light_neutrino_masses(p, xi=xi).one_loop[-1] for xi in (0.3, 1.0, 3.0)]
    assert max(m) / min(m) < 1.10
    assert max(m) / min(m) > 1.0 + 1e-6  # the dependence is real, not an artefact of an unused parameter


_M3_LOOP_EV = {"BP-A": 0.656, "BP-B": 10.28, "BP-C": 2.02, "BP-D": 36.99}  # this calculation, Feynman gauge


@pytest.mark.parametrize("bp", BPS)
def test_one_loop_m3_values(bp):
    """Regression of our own numbers (quoted in the README and in generator/model/observables.py)."""
    assert O.light_neutrino_masses(preset(bp)).one_loop_eV[-1] == pytest.approx(_M3_LOOP_EV[bp], rel=1e-2)


# The paper's m3 = 0.05 eV against the rounding of Table III's inputs: tests/model/test_paper_comparisons.py.
