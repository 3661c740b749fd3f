"""Engine tests on a toy process with a known integral (independent of any physics module)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from generator.engine import generate
from generator.record import EventBlock


class Toy:
    """f(x, y) = A * exp(-((x-0.3)^2 + (y-0.6)^2) / (2 s^2)) on [0,1]^2, plus a "kinematics" that stores x."""

    name = "toy"
    dim = 2
    weight_unit = "events"

    def __init__(self, A=3.0, s=0.08):
        self.A, self.s = A, s

    def exact(self):
        from scipy.special import erf

        def one(mu):
            return self.s * math.sqrt(math.pi / 2) * (erf((1 - mu) / (math.sqrt(2) * self.s))
                                                      + erf(mu / (math.sqrt(2) * self.s)))

        return self.A * one(0.3) * one(0.6)

    def integrand(self, x):
        return self.A * np.exp(-((x[:, 0] - 0.3) ** 2 + (x[:, 1] - 0.6) ** 2) / (2 * self.s**2))

    def events(self, x, weight, rng):
        n = len(x)
        p = np.zeros((n, 1, 4))
        p[:, 0, 0] = 1.0 + rng.random(n)  # uses the kinematics stream
        p[:, 0, 1] = x[:, 0]
        p[:, 0, 2] = x[:, 1]
        return EventBlock("toy", pdg=[22], status=[1], mother=[-1], p=p, x=np.zeros((n, 1, 4)), weight=weight)


def test_generate_weighted_integral_matches_exact_and_weights_sum_to_it():
    toy = Toy()
    res = generate(toy, n_events=20000, seed=3, weighted=True, n_adapt=5, evals_per_iter=5000)
    # 5 sigma of the MC error (vegas convention), for the sampled and the integration-phase estimates
    assert abs(res.integral - toy.exact()) < 5 * res.error
    assert abs(res.integration.vegas - toy.exact()) < 5 * res.integration.vegas_err
    assert res.block.weight.sum() == pytest.approx(res.integral, rel=1e-12)
    assert res.block.n_events == 20000


def test_generate_unweighted_shape_and_efficiency():
    toy = Toy()
    res = generate(toy, n_events=20000, seed=5, weighted=False, n_adapt=5, evals_per_iter=5000)
    assert res.block.n_events == 20000
    assert res.block.weight.sum() == pytest.approx(res.integral, rel=1e-12)
    assert 0 < res.unweighting_efficiency <= 1
    assert res.overweight_fraction < 1e-3
    # the unweighted x-distribution is the normal shape: mean 0.3, sd 0.08 (truncation negligible)
    xs = res.block.p[:, 0, 1]
    assert abs(xs.mean() - 0.3) < 5 * 0.08 / math.sqrt(len(xs))
    assert abs(xs.std() - 0.08) < 0.003


def test_same_seed_same_events_other_seed_other_events():
    toy = Toy()
    kw = {"n_events": 3000, "seed": 11, "n_adapt": 4, "evals_per_iter": 4000}
    a, b = generate(toy, **kw), generate(toy, **kw)
    np.testing.assert_array_equal(a.block.p, b.block.p)
    c = generate(toy, **{**kw, "seed": 12})
    assert not np.array_equal(c.block.p[:10], a.block.p[:10])


# ------------------------------------------------------------------ streaming engine (integrate / chunks)
from generator.engine import allocate_events, chunk_plan, integrate, sample_chunk, shard_range  # noqa: E402


def test_integration_phase_rate_within_five_sigma_of_exact():
    toy = Toy()
    integ = integrate(toy, seed=3, channel=0, n_adapt=5, evals_per_iter=5000)
    # vegas convention: 5 standard deviations
    assert abs(integ.rate - toy.exact()) < 5 * integ.rate_err
    assert abs(integ.prescan - toy.exact()) < 5 * integ.prescan_err
    assert 0 < integ.efficiency <= 1
    again = integrate(toy, seed=3, channel=0, n_adapt=5, evals_per_iter=5000)
    assert again.rate == integ.rate and again.w_max == integ.w_max  # seed-only


def test_allocation_is_proportional_and_exact():
    n = allocate_events([1.0, 2.0, 3.0, 0.0], 1001)
    assert n.sum() == 1001 and n[-1] == 0
    np.testing.assert_allclose(n[:3] / 1001, [1 / 6, 2 / 6, 3 / 6], atol=1 / 1001)
    assert allocate_events([1.0, 1.0, 1.0], 10).tolist() == [4, 3, 3]
    with pytest.raises(ValueError, match="all rates vanish"):
        allocate_events([0.0, 0.0], 10)


def test_chunk_plan_and_shard_ranges_cover_everything_once():
    assert chunk_plan(45000, 20000) == [20000, 20000, 5000]
    assert chunk_plan(0) == []
    for n_items in (0, 1, 7, 64):
        for k in (1, 2, 3, 5):
            got = [i for s in range(k) for i in shard_range(n_items, s, k)]
            assert got == list(range(n_items))


def test_unweighted_chunk_has_exact_size_the_right_shape_and_is_independent_of_other_chunks():
    toy = Toy()
    integ = integrate(toy, seed=5, channel=0, n_adapt=5, evals_per_iter=5000)
    block, stats = sample_chunk(toy, integ, 20000, seed=5, channel=0, chunk=3, weighted=False, weight=0.5)
    assert block.n_events == 20000 == stats.n_accepted
    np.testing.assert_array_equal(block.weight, 0.5)
    xs = block.p[:, 0, 1]
    assert abs(xs.mean() - 0.3) < 5 * 0.08 / math.sqrt(len(xs))
    assert abs(xs.std() - 0.08) < 0.003
    # the sampled points estimate the same integral (diagnostic estimate of the stream)
    mean = stats.sum_w / stats.n_points
    err = math.sqrt((stats.sum_w2 / stats.n_points - mean**2) / stats.n_points)
    assert abs(mean - toy.exact()) < 5 * err
    again, _ = sample_chunk(toy, integ, 20000, seed=5, channel=0, chunk=3, weighted=False, weight=0.5)
    np.testing.assert_array_equal(again.p, block.p)
    other, _ = sample_chunk(toy, integ, 20000, seed=5, channel=0, chunk=4, weighted=False, weight=0.5)
    assert not np.array_equal(other.p[:10], block.p[:10])


def test_weighted_chunk_weights_sum_to_the_sampled_estimate():
    toy = Toy()
    integ = integrate(toy, seed=7, channel=1, n_adapt=5, evals_per_iter=5000)
    block, stats = sample_chunk(toy, integ, 10000, seed=7, channel=1, chunk=0, weighted=True, weight=1 / 10000)
    assert block.weight.sum() == pytest.approx(stats.sum_w / stats.n_points, rel=1e-12)
