"""Phase-space kernels: known two-body momenta, Dalitz boundaries, conservation and uniformity."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import stats

from generator import constants as const
from generator.kernels.lorentz import invariant_mass, mdot
from generator.kernels.phase_space import (
    dalitz_rectangle,
    isotropic_directions,
    m23sq_limits,
    three_body_rest,
    two_body_momentum,
    two_body_rest,
)


def test_two_body_momentum_pion_decay():
    # pi+ -> mu+ nu: p* = 29.79 MeV (PDG pi+ listing, "p" column of the mu nu mode)
    p = two_body_momentum(const.M_PI_CHARGED, const.M_MU, 0.0)
    assert abs(p * 1e3 - 29.79) < 0.01  # PDG quotes 4 digits


def test_two_body_rest_conservation_and_masses():
    rng = np.random.default_rng(11)
    d = isotropic_directions(rng.random(1000), rng.random(1000))
    p = two_body_rest(1.25, 0.146, 0.22, d)
    assert np.allclose(p.sum(axis=1), [1.25, 0, 0, 0], atol=1e-15)
    assert np.allclose(invariant_mass(p[:, 0]), 0.146, rtol=1e-12)
    assert np.allclose(invariant_mass(p[:, 1]), 0.22, rtol=1e-12)


def _uniform_points(rng, n, M, m1, m2, m3):
    lo12, hi12, lo23, hi23 = dalitz_rectangle(M, m1, m2, m3)
    m12 = rng.uniform(lo12, hi12, n)
    m23 = rng.uniform(lo23, hi23, n)
    p, inside = three_body_rest(M, m1, m2, m3, m12, m23, rng.uniform(0, 2 * np.pi, n), rng.uniform(-1, 1, n),
                                rng.uniform(0, 2 * np.pi, n))
    return m12, m23, p, inside


def test_three_body_invariants_and_boundary():
    rng = np.random.default_rng(12)
    M, m1, m2, m3 = 0.220, 0.146, const.M_E, const.M_E
    m12, m23, p, inside = _uniform_points(rng, 50000, M, m1, m2, m3)
    # inside flag vs the PDG boundary m23^2 in [lo(m12^2), hi(m12^2)] (independent formula)
    lo, hi = m23sq_limits(M, m1, m2, m3, m12)
    ref = (m23 >= lo) & (m23 <= hi)
    disagree = inside != ref
    # points disagreeing must sit on the boundary within rounding (relative 1e-9 of the m23 range)
    assert np.all(np.minimum(np.abs(m23 - lo), np.abs(m23 - hi))[disagree] < 1e-9 * (hi - lo).max())
    q = p[inside]
    # exact momentum balance in the rest frame
    assert np.allclose(q.sum(axis=1), [M, 0, 0, 0], rtol=0, atol=1e-15)
    # daughter masses and the Dalitz variables are reproduced
    for i, m in enumerate((m1, m2, m3)):
        assert np.allclose(mdot(q[:, i], q[:, i]), m * m, rtol=0, atol=1e-14)
    assert np.allclose(mdot(q[:, 0] + q[:, 1], q[:, 0] + q[:, 1]), m12[inside], rtol=1e-10)
    assert np.allclose(mdot(q[:, 1] + q[:, 2], q[:, 1] + q[:, 2]), m23[inside], rtol=1e-7, atol=1e-14)


def test_massless_dalitz_area_is_half_the_rectangle():
    # massless daughters: Dalitz region is the triangle m12^2 + m23^2 <= M^2, half of the M^2 x M^2 box
    rng = np.random.default_rng(13)
    n = 100000
    _, _, _, inside = _uniform_points(rng, n, 1.0, 0.0, 0.0, 0.0)
    frac = inside.mean()
    sigma = np.sqrt(0.25 / n)
    assert abs(frac - 0.5) < 5 * sigma  # 5 sigma binomial


def test_three_body_orientation_is_isotropic():
    rng = np.random.default_rng(14)
    _, _, p, inside = _uniform_points(rng, 40000, 0.22, 0.146, const.M_E, const.M_E)
    q = p[inside]
    for i in range(3):
        cz = q[:, i, 3] / np.linalg.norm(q[:, i, 1:], axis=1)
        # KS against uniform cos(theta) on [-1, 1]; p > 1e-3 at this fixed seed
        assert stats.kstest(cz, stats.uniform(loc=-1, scale=2).cdf).pvalue > 1e-3


def test_uniform_phase_space_projection_matches_boundary_width():
    """Flat phase space: the m12^2 density is proportional to the m23^2 range (PDG Dalitz limits)."""
    rng = np.random.default_rng(15)
    M, m1, m2, m3 = 0.22, 0.146, const.M_E, const.M_E
    m12, _, _, inside = _uniform_points(rng, 200000, M, m1, m2, m3)
    edges = np.linspace(*dalitz_rectangle(M, m1, m2, m3)[:2], 21)
    counts, _ = np.histogram(m12[inside], bins=edges)
    fine = np.linspace(edges[0], edges[-1], 20001)
    lo, hi = m23sq_limits(M, m1, m2, m3, fine)
    width = np.clip(hi - lo, 0, None)
    expect = np.array([np.trapezoid(width[(fine >= a) & (fine <= b)], fine[(fine >= a) & (fine <= b)])
                       for a, b in itertools.pairwise(edges)])
    expect *= counts.sum() / expect.sum()
    chi2 = np.sum((counts - expect) ** 2 / expect)
    # chi2 with 19 dof; p-value threshold 1e-3
    assert stats.chi2.sf(chi2, len(counts) - 1) > 1e-3


def test_sample_discrete_frequencies():
    from generator.kernels.phase_space import sample_discrete

    rng = np.random.default_rng(16)
    prob = np.array([0.0, 0.1, 0.25, 0.0, 0.4, 0.25])
    cdf = np.cumsum(prob)
    n = 100_000
    idx = sample_discrete(cdf, rng.random(n))
    counts = np.bincount(idx, minlength=len(prob))
    assert counts[prob == 0].sum() == 0  # zero-probability entries never drawn
    keep = prob > 0
    chi2 = np.sum((counts[keep] - n * prob[keep]) ** 2 / (n * prob[keep]))
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3  # p-value threshold 1e-3, fixed seed
