"""Decay-length kernels: exponential law (KS), lab decay length, forced-interval probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from generator.kernels.decay_length import lab_decay_length, sample_decay_vertices, sample_decay_vertices_in


def _beam(n, E, m, direction=(0.0, 0.0, 1.0)):
    p = np.zeros((n, 4))
    pabs = math.sqrt(E * E - m * m)
    p[:, 0] = E
    p[:, 1:] = pabs * np.asarray(direction) / np.linalg.norm(direction)
    return p


def test_free_decay_lengths_follow_exponential_law():
    rng = np.random.default_rng(21)
    n, m, E, ctau = 50000, 0.146, 2.5, 2.2
    p = _beam(n, E, m, (1.0, 2.0, -0.5))
    x0 = rng.normal(size=(n, 4))
    x, s = sample_decay_vertices(x0, p, m, ctau, rng.random(n))
    d = np.linalg.norm(x[:, 1:] - x0[:, 1:], axis=1)
    L = lab_decay_length(p, m, ctau)
    assert np.allclose(L, math.sqrt(E * E - m * m) / m * ctau)
    # KS test of d / L against Exp(1); p-value threshold 1e-3 at this fixed seed
    assert stats.kstest(d / L, "expon").pvalue > 1e-3
    # vertex lies on the flight line and the time is d / beta
    beta = math.sqrt(E * E - m * m) / E
    assert np.allclose(x[:, 0] - x0[:, 0], d / beta, rtol=1e-12)
    assert np.allclose(np.cross(x[:, 1:] - x0[:, 1:], p[:, 1:]), 0.0, atol=1e-9)
    assert np.allclose(s, d * m / math.sqrt(E * E - m * m), rtol=1e-12)


def test_truncated_interval_probability_and_shape():
    rng = np.random.default_rng(22)
    n, m, E, ctau = 40000, 0.12, 2.5, 3.0
    p = _beam(n, E, m)
    L = lab_decay_length(p, m, ctau)[0]
    a, b = 92.0, 136.0
    x, prob = sample_decay_vertices_in(np.zeros((n, 4)), p, m, ctau, np.full(n, a), np.full(n, b), rng.random(n))
    assert np.allclose(prob, math.exp(-a / L) - math.exp(-b / L), rtol=1e-12)
    z = x[:, 3]
    assert z.min() >= a and z.max() <= b
    # KS against the truncated exponential CDF on [a, b]
    cdf = lambda t: (1 - np.exp(-(t - a) / L)) / (1 - math.exp(-(b - a) / L))  # noqa: E731
    assert stats.kstest(z, cdf).pvalue > 1e-3


def test_truncated_interval_long_lived_limit_and_misses():
    rng = np.random.default_rng(23)
    n, m, E = 1000, 0.074, 1.0
    ctau = 1.1e7  # N4 of BP-B
    p = _beam(n, E, m)
    L = lab_decay_length(p, m, ctau)[0]
    d_in = np.full(n, 54100.0)
    d_out = np.full(n, 54100.0 + 1200.0)
    d_in[:10] = np.inf  # rays that miss the volume
    d_out[:10] = np.inf
    x, prob = sample_decay_vertices_in(np.zeros((n, 4)), p, m, ctau, d_in, d_out, rng.random(n))
    assert np.all(prob[:10] == 0) and np.all(np.isnan(x[:10]))
    # L >> length: P = exp(-a/L) (1 - exp(-Delta/L)); expm1 keeps full precision (compare to 1e-12)
    ref = math.exp(-54100.0 / L) * -math.expm1(-1200.0 / L)
    assert np.allclose(prob[10:], ref, rtol=1e-12)
    assert abs(ref - 1200.0 / L) / ref < 2e-3  # and it is ~ Delta / L, the naive long-lived estimate


def test_particle_at_rest_inside_and_outside():
    rng = np.random.default_rng(24)
    n = 5000
    p = np.zeros((n, 4))
    p[:, 0] = 0.22
    x, _s = sample_decay_vertices(np.zeros((n, 4)), p, 0.22, 0.14, rng.random(n))
    assert np.all(x[:, 1:] == 0)
    assert stats.kstest(x[:, 0] / 0.14, "expon").pvalue > 1e-3  # proper time = lab time at rest
    # forced interval starting at 0 (origin inside the volume): probability 1; starting beyond: 0
    _x2, prob = sample_decay_vertices_in(np.zeros((n, 4)), p, 0.22, 0.14, np.zeros(n), np.full(n, 10.0), rng.random(n))
    assert np.all(prob == 1.0)
    _x3, prob3 = sample_decay_vertices_in(np.zeros((n, 4)), p, 0.22, 0.14, np.full(n, 5.0), np.full(n, 10.0),
                                          rng.random(n))
    assert np.all(prob3 == 0.0)


def test_rejects_non_positive_ctau():
    with pytest.raises(ValueError, match="ctau0_cm"):
        sample_decay_vertices(np.zeros((1, 4)), _beam(1, 1.0, 0.1), 0.1, 0.0, np.zeros(1))
