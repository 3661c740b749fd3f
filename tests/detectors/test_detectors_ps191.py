"""PS-191 and E-816: vertex-shower distance and energy cuts (pass fractions against the Gaussian
probabilities of the card's resolutions) and the exponential fall-off fit (against the true decay
length of exponentially distributed samples)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

import detectors
from detectors.ps191 import fit_exponential, truncated_exp_mean
from detectors.truth import events_from_arrays
from generator.constants import M_E


def ps191_events(d_mm, E_shower, weight=1.0):
    """nu_mu Fe -> N6 Fe at (0, 0, 50) cm; N6 -> N5 e+ e- at d_mm downstream; the pair is nearly
    collinear (1 deg) so it makes one shower of energy E_shower (GeV)."""
    d_mm, E_shower = np.broadcast_arrays(np.atleast_1d(np.asarray(d_mm, float)),
                                         np.atleast_1d(np.asarray(E_shower, float)))
    n = len(d_mm)
    pdg = [14, 1000260560, 9900006, 1000260560, 9900005, 11, -11]
    status = [4, 4, 2, 1, 1, 1, 1]
    mother = [-1, -1, -1, -1, 2, 2, 2]
    p = np.zeros((n, 7, 4))
    p[:, 0] = [1.0, 0, 0, 1.0]
    p[:, 1, 0] = p[:, 3, 0] = 52.1
    half = E_shower / 2
    pe = np.sqrt(half**2 - M_E**2)
    a = math.radians(0.5)
    p[:, 5] = np.column_stack([half, pe * math.sin(a), 0 * pe, pe * math.cos(a)])
    p[:, 6] = np.column_stack([half, -pe * math.sin(a), 0 * pe, pe * math.cos(a)])
    p[:, 4] = [0.3, 0, 0, 0.2]
    p[:, 2] = p[:, 4] + p[:, 5] + p[:, 6]
    x = np.zeros((n, 7, 3))
    x[:, 2:4] = [0.0, 0.0, 50.0]
    x[:, 4:, 2] = 50.0 + d_mm[:, None] / 10.0
    return events_from_arrays(pdg, status, mother, p, x, np.broadcast_to(weight, (n,)).astype(float))


@pytest.mark.parametrize(("name", "E_cut", "d_cut"), [("ps191", 0.4, 16.0), ("e816", 0.3, 8.8)])
def test_pass_fraction_matches_resolutions(name, E_cut, d_cut):
    n = 20000
    d0, E0 = 12.0, 0.45
    res = detectors.run_detector(name, ps191_events(np.full(n, d0), E0), {}, np.random.default_rng(3))
    # card resolutions: sigma_E = 0.20 sqrt(E) GeV, sigma_d = 2 mm (Gaussian)
    p_E = stats.norm.sf(E_cut, loc=E0, scale=0.20 * math.sqrt(E0))
    p_d = stats.norm.cdf(d_cut, loc=d0, scale=2.0)
    expected = p_E * p_d
    got = res.efficiency
    # binomial standard error; 5 sigma
    assert abs(got - expected) < 5 * math.sqrt(expected * (1 - expected) / n) + 1e-12
    assert res.cutflow[-1][0].startswith("distance <")


def test_truncated_mean_against_quadrature():
    for L, dmax in ((6.0, 200.0), (10.0, 12.0), (3.0, 1.0)):
        num = integrate.quad(lambda x, L=L: x * math.exp(-x / L), 0, dmax)[0]
        den = integrate.quad(lambda x, L=L: math.exp(-x / L), 0, dmax)[0]
        assert truncated_exp_mean(L, dmax) == pytest.approx(num / den, rel=1e-9)


@pytest.mark.parametrize(("L", "dmax"), [(6.0, 200.0), (6.0, 10.0)])
def test_exponential_fit_recovers_decay_length(L, dmax):
    rng = np.random.default_rng(12)
    d = rng.exponential(L, 40000)
    d = d[d <= dmax]
    fit, err = fit_exponential(d, np.ones_like(d), dmax)
    assert abs(fit - L) < 4 * err  # stated error from the Fisher information; 4 sigma
    assert err < 0.05 * L


def test_detector_reports_falloff_of_decays():
    rng = np.random.default_rng(13)
    n = 6000
    L = 20.0  # mm, e.g. beta gamma c tau of N6
    d = rng.exponential(L, n)
    res = detectors.run_detector("ps191", ps191_events(d, 1.0), {}, np.random.default_rng(14))
    fit = res.extra["vertex_shower_distance"]
    # 2 mm Gaussian smearing barely changes the mean of an exponential of 20 mm: 5 sigma
    assert abs(fit["decay_length_mm"] - L) < 5 * fit["error_mm"]
    # the events kept by the < 16 mm cut: fraction 1 - exp(-16/L) of the decays (smearing: +-1%)
    assert res.efficiency == pytest.approx(1 - math.exp(-16.0 / L), abs=0.02)
    assert res.plots["vertex_shower_distance"].curves
