"""Engine tests on a toy process with a known integral (independent of any physics module)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from generator.engine import generate, merge
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
            return self.s * math.sqrt(math.pi / 2) * (erf((1 - mu) / (math.sqrt(2) * self.s)) + erf(mu / (math.sqrt(2) * self.s)))

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


def test_integral_matches_exact_and_weights_sum_to_rate():
    toy = Toy()
    res = generate(toy, n_events=20000, seed=3, weighted=True, n_adapt=5, evals_per_iter=5000)
    # 5 sigma of the MC error (vegas convention), plus the vegas estimate too.
    assert abs(res.integral - toy.exact()) < 5 * res.error
    assert abs(res.integral_vegas - toy.exact()) < 5 * res.error_vegas
    assert res.block.weight.sum() == pytest.approx(res.integral, rel=1e-12)
    assert res.block.n_events == 20000


def test_unweighted_shape_and_efficiency():
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


@pytest.mark.parametrize("weighted", [True, False])
def test_same_seed_same_events_and_shards_merge_exactly(weighted):
    toy = Toy()
    kw = dict(n_events=5000, seed=11, weighted=weighted, n_adapt=4, evals_per_iter=4000, chunk_size=1000)
    full = generate(toy, **kw)
    again = generate(toy, **kw)
    np.testing.assert_array_equal(full.block.p, again.block.p)
    shards = [generate(toy, shard=s, n_shards=3, **kw) for s in range(3)]
    merged = merge(shards, n_events=kw["n_events"])
    np.testing.assert_array_equal(merged.block.p, full.block.p)
    np.testing.assert_allclose(merged.block.weight, full.block.weight, rtol=1e-12)
    assert merged.integral == pytest.approx(full.integral, rel=1e-12)
    assert merged.error == pytest.approx(full.error, rel=1e-9)
    other = generate(toy, **{**kw, "seed": 12})
    assert not np.array_equal(other.block.p[:10], full.block.p[:10])


def test_more_shards_than_chunks_merge_exactly():
    # a shard may get no chunk at all; merging still reproduces the unsharded run
    toy = Toy()
    kw = dict(n_events=500, seed=2, weighted=False, n_adapt=3, evals_per_iter=2000)
    full = generate(toy, **kw)
    shards = [generate(toy, shard=s, n_shards=16, **kw) for s in range(16)]
    assert any(s.block.n_events == 0 for s in shards)
    merged = merge(shards, n_events=500)
    np.testing.assert_array_equal(merged.block.p, full.block.p)
    assert merged.integral == pytest.approx(full.integral, rel=1e-12)
