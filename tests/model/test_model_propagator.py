"""Z' propagator in every regime (generator.model.propagator): no width for spacelike q^2, the running width off
the pole (three-body decays tend to the contact limit), the constant-width Breit-Wigner at the pole (e+e-)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from generator.model import rates
from generator.model.channels.registry import three_body_channel
from generator.model.model import Model
from generator.model.parameters import preset
from generator.model.propagator import breit_wigner, denominator, denominator_kernel, width_term
from generator.physics import ee as eephys
from generator.physics import meson as mes
from generator.processes.ee import pair_mediators

BPS = ("BP-A", "BP-B", "BP-C", "BP-D")


@pytest.fixture(scope="module")
def models():
    return {bp: Model(preset(bp)) for bp in BPS}


def test_spacelike_propagator_has_no_width():
    rng = np.random.default_rng(3)
    q2 = -rng.exponential(2.0, 50)
    q2[0] = 0.0
    m, w = 1.25, 0.3
    d = denominator(q2, m, w)
    assert np.all(d.imag == 0.0)
    assert np.all(width_term(q2, m, w) == 0.0)
    np.testing.assert_array_equal(d.real, q2 - m * m)
    assert all(denominator_kernel(x, m, w).imag == 0.0 for x in q2)


def test_kernel_matches_numpy_form_and_running_width():
    """Timelike: Im D = q^2 Gamma / m (Gamma(M) = Gamma M / m at M = sqrt(q^2)); numba and numpy forms agree."""
    rng = np.random.default_rng(4)
    q2 = rng.uniform(-3.0, 5.0, 200)
    m, w = 1.25, 0.31
    d = denominator(q2, m, w)
    dk = np.array([denominator_kernel(x, m, w) for x in q2])
    np.testing.assert_allclose(dk, d, rtol=1e-15, atol=0.0)
    pos = q2 > 0
    sqrt_q2 = np.sqrt(q2[pos])
    np.testing.assert_allclose(d.imag[pos], sqrt_q2 * (w * sqrt_q2 / m), rtol=1e-14)


def test_pole_value_is_the_breit_wigner():
    m, w = 1.25, 0.31
    assert denominator(m * m, m, w) == pytest.approx(complex(0.0, m * w), rel=1e-15)
    assert breit_wigner(m * m, m, w) == pytest.approx(complex(0.0, m * w), rel=1e-15)


@pytest.mark.parametrize("gamma_over_m", [0.0, 0.1, 0.25])
def test_three_body_width_contact_limit_with_wide_zprime(gamma_over_m):
    """m_Z' >> m_N: the width of a wide Z' must not lower the rate (a constant width would, by (Gamma/m)^2 = 6%).

    Reference: contact limit Gamma = sum |C_XY|^2 m^5 / (1536 pi^3) with C = a b / (-m_Z'^2)
    (rates.gamma_contact_massless).
    Propagator corrections O(2 <q^2>/m_Z'^2) < 2e-5 for m_N = 0.01 GeV; tolerance 1e-4.
    """
    rng = np.random.default_rng(11)
    M = 1.25
    aL, aR, bL, bR = (rng.normal() + 1j * rng.normal() for _ in range(4))
    mi = 0.01
    w = rates.gamma_three_body_vector(mi, 0.0, 0.0, 0.0, [M], [gamma_over_m * M], [aL], [aR], [bL], [bR])
    d = -1.0 / M**2
    ref = rates.gamma_contact_massless(mi, aL * bL * d, aL * bR * d, aR * bL * d, aR * bR * d)
    assert w == pytest.approx(ref, rel=1e-4)


def test_benchmark_three_body_widths_against_zero_width(models):
    """Every three-body vector channel of the benchmarks: the running width changes the rate relative to the
    zero-width propagator by at most x^2 (Gamma/m)^2 / (1 - x)^2, x = (m_i - m_j)^2 / m_Z'^2 (largest width term over
    the phase space); far off shell (x < 0.01) by less than 1e-4 (the contact limit of the brief)."""
    n_far = 0
    for bp, model in models.items():
        p = model.params
        g_over_m = model.width("Z'") / p.m_Zprime
        for name in model.spectrum.heavy_names:
            mi = model.mass(name)
            for c in model.decay_channels(name):
                if c.kind not in ("three_body_vector", "three_body_invisible"):
                    continue
                mj, m1, m2 = c.daughter_masses
                ref = three_body_channel(name, c.daughters, c.kind, (mi, mj, m1, m2), c.med_m,
                                         np.zeros_like(c.med_w), c.aL, c.aR, c.bL, c.bR)
                got = three_body_channel(name, c.daughters, c.kind, (mi, mj, m1, m2), c.med_m, c.med_w,
                                         c.aL, c.aR, c.bL, c.bR)
                x = (mi - mj) ** 2 / p.m_Zprime**2
                bound = 2.0 * x**2 * g_over_m**2 / (1.0 - x) ** 2 + 1e-6  # factor 2: interference with the Z, W
                rel = abs(got.width_GeV / ref.width_GeV - 1.0)
                assert rel <= bound, f"{bp} {c.name}: {rel:.3g} > {bound:.3g}"
                if x < 0.01:
                    n_far += 1
                    assert rel < 1e-4, f"{bp} {c.name}"
    assert n_far > 10


# e+e- -> N4 N5 cross sections (GeV^-2) at and near the Z' pole and at Belle II, computed with the code before the
# running width was introduced (constant-width Breit-Wigner in every propagator): the pole regime is unchanged.
_EE_BEFORE = {
    "BP-A": [1.1044802904494473e-05, 1.8717374994399902e-06, 2.535152278420613e-06, 4.038443717620602e-07,
             2.4458688074325106e-09],
}


def test_ee_pair_cross_section_at_and_near_pole_unchanged(models):
    model = models["BP-A"]
    M, G = model.params.m_Zprime, model.width("Z'")
    i, j = model.spectrum.index("N4"), model.spectrum.index("N5")
    mi, mj = model.spectrum.masses[i], model.spectrum.masses[j]
    med = pair_mediators(model, i, j)
    for rs, before in zip((M, M - G, M + G, M + 3 * G, 10.58), _EE_BEFORE["BP-A"], strict=False):
        assert rs > mi + mj
        assert float(eephys.ee_to_ff_sigma(rs * rs, mi, mj, *med)) == pytest.approx(before, rel=1e-9)


def test_meson_mixing_uses_the_breit_wigner():
    """V -> Z'* -> N N: |D|^2 = (M_V^2 - m^2)^2 + (m Gamma)^2 (paper App. B e with the Z' width)."""
    v = mes.vector_meson("J/psi")
    m, g = 3.0, 0.4
    w0 = mes.vector_to_hnl_pair_width(v, 0.01, m, 0.0, 1.0, -1.0, 0.0, 0.0, False)
    w1 = mes.vector_to_hnl_pair_width(v, 0.01, m, g, 1.0, -1.0, 0.0, 0.0, False)
    d0 = (v.mass**2 - m**2) ** 2
    assert w1 / w0 == pytest.approx(d0 / (d0 + (m * g) ** 2), rel=1e-12)
    assert math.isfinite(w1)
