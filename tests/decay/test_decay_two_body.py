"""Two-body decays: spin asymmetry vs analytic results, angular sampling (KS), kinematics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from generator.decay import TwoBodySampler, sample_cos_linear, two_body_asymmetry
from generator.kernels.lorentz import invariant_mass
from generator.kernels.phase_space import two_body_momentum


def test_vector_asymmetry_top_decay():
    # t -> b W+ with a V-A vertex, m_b = 0: alpha_b = -(1 - 2x) / (1 + 2x), x = m_W^2 / m_t^2
    # (M. Jezabek, J.H. Kuhn, Nucl. Phys. B 320 (1989) 20)
    mt, mw = 172.5, 80.4
    x = mw**2 / mt**2
    assert two_body_asymmetry("vector", mt, 0.0, mw, 1.0, 0.0) == pytest.approx(-(1 - 2 * x) / (1 + 2 * x), rel=1e-12)
    # right-handed current: the opposite sign
    assert two_body_asymmetry("vector", mt, 0.0, mw, 0.0, 1.0) == pytest.approx((1 - 2 * x) / (1 + 2 * x), rel=1e-12)


def test_scalar_asymmetry_analytic():
    """Hand trace for ubar_j (yL PL + yR PR) u_i: |M|^2 = (pi.pj)(|yL|^2 + |yR|^2) + 2 mi mj Re(yL yR*)
    + mi (|yR|^2 - |yL|^2)(pj.s); with pj.s = -q cos(theta) in the rest frame this gives alpha below."""
    mi, mj, ms = 1.0, 0.3, 0.4
    yL, yR = 0.7 + 0.2j, 0.1 - 0.5j
    q = two_body_momentum(mi, mj, ms)
    Ej = math.sqrt(mj**2 + q**2)
    denom = mi * Ej * (abs(yL) ** 2 + abs(yR) ** 2) + 2 * mi * mj * (yL * yR.conjugate()).real
    alpha = mi * q * (abs(yL) ** 2 - abs(yR) ** 2) / denom
    assert two_body_asymmetry("scalar", mi, mj, ms, yL, yR) == pytest.approx(alpha, rel=1e-12)
    # massless daughter, pure chirality: |alpha| = 1 (angular-momentum conservation)
    assert two_body_asymmetry("scalar", 1.0, 0.0, 0.4, 1.0, 0.0) == pytest.approx(1.0, rel=1e-12)


def test_majorana_couplings_give_no_asymmetry():
    # Eq. (A2): N_i -> N_j Z' has (g V_ij, -g V_ij^*) with V hermitian; N_i -> N_j phi' has (S_ij, S_ij^*)/sqrt2
    v = 0.3 + 0.4j
    assert two_body_asymmetry("vector", 1.5, 0.2, 1.25, v, -np.conj(v)) == pytest.approx(0.0, abs=1e-14)
    assert two_body_asymmetry("scalar", 1.5, 0.2, 1.0, v, np.conj(v)) == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("a", [0.0, 0.7, -0.4, 1.0])
def test_sample_cos_linear_ks(a):
    rng = np.random.default_rng(51)
    c = sample_cos_linear(np.full(50_000, a), rng.random(50_000))
    cdf = lambda x: (x + 1) / 2 + a * (x * x - 1) / 4  # noqa: E731  (integral of (1 + a x)/2)
    assert stats.kstest(c, cdf).pvalue > 1e-3  # fixed seed, p-value threshold 1e-3


def test_two_body_sampler_polarised_mean_cos():
    rng = np.random.default_rng(52)
    n, alpha, pol = 100_000, 0.6, -0.9
    s = TwoBodySampler(1.5, 0.2, 1.25, alpha)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    p = s.sample(np.tile(pol * axis, (n, 1)), n, rng)
    assert np.allclose(p.sum(axis=1), [1.5, 0, 0, 0], atol=1e-15)
    assert np.allclose(invariant_mass(p[:, 0]), 0.2, rtol=1e-12)
    cos = p[:, 0, 1:] @ axis / np.linalg.norm(p[:, 0, 1:], axis=1)
    # <cos> = alpha P / 3 for the density (1 + alpha P cos) / 2; error sqrt(<cos^2> / n) ~ 0.0018
    assert abs(cos.mean() - alpha * pol / 3) < 5 * math.sqrt(1 / 3 / n)
