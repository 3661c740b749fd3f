"""decay_blocks on the BP-B model: conservation at every vertex, displaced vertices, channel choice, weights.

References: four-momentum conservation (exact), the exponential decay law with c*tau0 from the TOTAL width
(KS test), the model's branching ratios (binomial), the model's partial width (a weighted sample of the
sampler vs model.decay_channels), kinematic limits (m_ee <= m_i - m_j) and geometry (forced volumes).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from generator.card import DecaySection
from generator.decay import DecayPlan, ThreeBodySampler, decay_blocks, decay_particle
from generator.errors import CardError, UnknownNameError
from generator.kernels.lorentz import boost_to_rest, invariant_mass, unit3
from generator.model import preset
from generator.model.model import Model
from generator.record import STATUS_DECAYED, STATUS_FINAL, EventBlock

FORCED = DecaySection(mode="forced", forced=["N6 -> N5 e+ e-", "N5 -> N4 e+ e-"], stable=["N4"])


@pytest.fixture(scope="module")
def model():
    return Model(preset("BP-B"))


def n6_block(model, n, rng, pol=0.0, direction=(0.0, 0.0, 1.0)):
    """N6 along ``direction`` with |p| uniform in 0.3-2 GeV, produced at random points (cm), helicity pol."""
    m6 = model.mass("N6")
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    pabs = rng.uniform(0.3, 2.0, n)
    p = np.zeros((n, 1, 4))
    p[:, 0, 0] = np.sqrt(pabs**2 + m6**2)
    p[:, 0, 1:] = pabs[:, None] * d
    x = np.zeros((n, 1, 4))
    x[:, 0, 1:] = rng.normal(scale=10.0, size=(n, 3))
    return EventBlock("test", pdg=[9900006], status=[STATUS_FINAL], mother=[-1], p=p, x=x,
                      weight=np.full(n, 2.0), pol=np.full((n, 1), pol))


def check_vertices(b: EventBlock, rel=1e-9):
    """Every decay vertex: sum of daughter four-momenta = parent (relative 1e-9 of the parent energy),
    daughters start at one point that lies on the parent's flight line, reached at c t = c t0 + d / beta."""
    for k in np.flatnonzero(b.status == STATUS_DECAYED):
        d = b.daughters(int(k))
        assert len(d) >= 2
        P = b.p[:, k]
        tot = b.p[:, d].sum(axis=1)
        assert np.all(np.abs(tot - P) <= rel * P[:, :1]), f"four-momentum not conserved at the decay of {k}"
        xv = b.x[:, d[0]]
        assert np.all(b.x[:, d] == xv[:, None, :])
        step = xv - b.x[:, k]
        dist = np.linalg.norm(step[:, 1:], axis=1)
        pabs = np.linalg.norm(P[:, 1:], axis=1)
        assert np.allclose(np.cross(step[:, 1:], P[:, 1:]), 0.0, atol=1e-9 * (1 + dist.max()) * pabs.max())
        assert np.allclose(step[:, 0], dist * P[:, 0] / pabs, rtol=1e-10)
        assert np.all(np.einsum("ij,ij->i", step[:, 1:], P[:, 1:]) >= 0)  # forward along the flight


def test_forced_chain_topology_conservation_and_weights(model):
    rng = np.random.default_rng(61)
    b = n6_block(model, 3000, rng)
    report = {}
    out = decay_blocks([b], model, FORCED, rng, report)
    assert len(out) == 1
    o = out[0]
    assert o.names == ("N6", "N5", "e-", "e+", "N4", "e-", "e+")
    assert o.pdg.tolist() == [9900006, 9900005, 11, -11, 9900004, 11, -11]
    assert o.status.tolist() == [2, 2, 1, 1, 1, 1, 1]
    assert o.mother.tolist() == [-1, 0, 0, 0, 1, 1, 1]
    check_vertices(o)
    # final masses are the physical ones (GeV)
    for k, name in ((4, "N4"), (2, "e-"), (3, "e+")):
        assert np.allclose(invariant_mass(o.p[:, k]), model.mass(name) if name == "N4" else 0.51099895e-3, rtol=1e-6)
    # weight factor = B(N6 -> N5 e e) * B(N5 -> N4 e e) from the model
    br6 = model.branching_ratios("N6")["N6 -> N5 e+ e-"]
    br5 = model.branching_ratios("N5")["N5 -> N4 e+ e-"]
    assert np.allclose(o.weight, 2.0 * br6 * br5, rtol=1e-12)
    for stats_ in report["channels"].values():
        assert stats_["n_overweight"] == 0
    # m_ee never above m_i - m_j
    for i, j, ie, ip in ((0, 1, 2, 3), (1, 4, 5, 6)):
        mee = invariant_mass(o.p[:, ie] + o.p[:, ip])
        assert np.all(mee <= model.mass(o.names[i]) - model.mass(o.names[j]) + 1e-12)


def test_decay_lengths_follow_total_width(model):
    """Forced mode picks one channel but the decay length uses c tau0 = hbar c / Gamma_TOTAL (KS test)."""
    rng = np.random.default_rng(62)
    b = n6_block(model, 20000, rng, direction=(1.0, -2.0, 0.5))
    o = decay_blocks([b], model, DecaySection(mode="forced", forced=["N6 -> N4 e+ e-"], stable=["N4", "N5"]), rng)[0]
    P = o.p[:, 0]
    d = np.linalg.norm(o.x[:, 1, 1:] - o.x[:, 0, 1:], axis=1)
    L = np.linalg.norm(P[:, 1:], axis=1) / model.mass("N6") * model.ctau0_cm("N6")
    assert stats.kstest(d / L, "expon").pvalue > 1e-3  # fixed seed; p-value threshold 1e-3
    # and not with the partial width of the forced channel (that would be ~6x longer here)
    br = model.branching_ratios("N6")["N6 -> N4 e+ e-"]
    assert br < 0.5 and abs(np.mean(d / L) - 1) < 0.03


def test_all_mode_channel_fractions_and_weights(model):
    rng = np.random.default_rng(63)
    n = 20000
    b = n6_block(model, n, rng)
    out = decay_blocks([b], model, DecaySection(mode="all", stable=["N4"]), rng)
    assert sum(o.n_events for o in out) == n
    assert math.isclose(sum(o.weight.sum() for o in out), b.weight.sum(), rel_tol=1e-12)  # no inclusive N6 channel
    for o in out:
        check_vertices(o)
    first = {}
    for o in out:
        key = " ".join(o.names[k] for k in o.daughters(0))
        first[key] = first.get(key, 0) + o.n_events
    br = model.branching_ratios("N6")
    for key, count in first.items():
        label = "N6 -> " + key
        match = [v for name, v in br.items() if sorted(name.split("->")[1].split()) == sorted(key.split())]
        assert match, label
        p = sum(match)
        assert abs(count - n * p) < 5 * math.sqrt(n * p * (1 - p)) + 1, (label, count, n * p)  # 5 sigma binomial
    # the dominant channel is there
    assert first.get("N5 e- e+", 0) > 0.5 * n


def test_sampled_partial_width_matches_model(model):
    rng = np.random.default_rng(64)
    for parent, label in (("N6", "N6 -> N5 e+ e-"), ("N5", "N5 -> N4 e+ e-")):
        chan = next(c for c in model.decay_channels(parent) if c.name == label)
        s = ThreeBodySampler(model.mass(parent), *chan.daughter_masses, chan.med_m, chan.med_w,
                             chan.aL, chan.aR, chan.bL, chan.bR)
        n = 300_000
        _, w = s.weighted(n, rng)
        err = w.std() * math.sqrt(n)
        assert err / w.sum() < 3e-3  # MC precision well below the 1% target
        assert abs(w.sum() / chan.width_GeV - 1) < 0.01, label  # model: Gauss-Legendre of the Dalitz |M|^2


def test_forced_volume_weights_and_positions(model):
    """N5 at 2 GeV along z from the origin, forced to decay in a sphere of radius 20 cm centred at z = 100 cm:
    weight = exp(-80/L) - exp(-120/L) exactly, vertices inside."""
    rng = np.random.default_rng(65)
    n = 5000
    m5 = model.mass("N5")
    p = np.zeros((n, 1, 4))
    p[:, 0, 0] = 2.0
    p[:, 0, 3] = math.sqrt(4.0 - m5**2)
    p[: n // 10, 0, 1:] = [math.sqrt(4.0 - m5**2), 0.0, 0.0]  # 10% fly along x and miss the volume
    b = EventBlock("v", pdg=[9900005], status=[1], mother=[-1], p=p, x=np.zeros((n, 1, 4)), weight=np.ones(n))
    sec = DecaySection(mode="forced", forced=["N5 -> N4 e+ e-"], stable=["N4"],
                       volume={"shape": "sphere", "radius_cm": 20.0, "center_cm": [0.0, 0.0, 100.0]})
    report = {}
    o = decay_blocks([b], model, sec, rng, report)[0]
    assert o.n_events == n - n // 10  # zero-probability events are dropped
    check_vertices(o)
    v = o.x[:, 1, 1:]
    assert np.all(np.linalg.norm(v - [0, 0, 100.0], axis=1) <= 20.0 * (1 + 1e-12))
    L = math.sqrt(4.0 - m5**2) / m5 * model.ctau0_cm("N5")
    br = model.branching_ratios("N5")["N5 -> N4 e+ e-"]
    assert np.allclose(o.weight, br * (math.exp(-80.0 / L) - math.exp(-120.0 / L)), rtol=1e-10)
    assert report["sum_w_out"] == pytest.approx(o.weight.sum())


def test_polarised_parent_in_flight(model):
    """Lab helicity h of an N6 flying in an arbitrary direction: in its rest frame the e+ forward-backward
    asymmetry about the flight direction is h * A, with A from msq_vector at s and -s (V-A test couplings;
    the model's Majorana couplings give A ~ 0)."""
    rng = np.random.default_rng(66)
    plan = DecayPlan(model, FORCED)
    base = next(c for c in model.decay_channels("N6") if c.name == "N6 -> N5 e+ e-")
    va = dataclasses.replace(base, med_m=base.med_m[:1], med_w=base.med_w[:1], aL=np.array([1.0 + 0j]),
                             aR=np.zeros(1, complex), bL=np.array([1.0 + 0j]), bR=np.zeros(1, complex),
                             label="N6 -> N5 e+ e- (V-A test)")
    s = plan.sampler(va, rng)
    q, inside = s.candidates(300_000, rng)
    q = q[inside]
    z = np.zeros((len(q), 3))
    z[:, 2] = 1.0
    a, bm = s.msq(q, z), s.msq(q, -z)
    fwd = q[:, 2, 3] > 0
    A = (a[fwd] - bm[fwd]).sum() / (a[fwd] + bm[fwd]).sum()
    assert abs(A) > 0.3
    n = 20000
    for h in (1.0, -1.0):
        blk = n6_block(model, n, rng, pol=h, direction=(0.3, -0.4, 0.2))
        o = decay_particle(blk, 0, va, plan, rng)
        check_vertices(o)
        rest = boost_to_rest(o.p[:, 3], o.p[:, 0], model.mass("N6"))
        cos = np.sum(unit3(rest) * unit3(o.p[:, 0]), axis=1)
        A_mc = np.mean(np.sign(cos))
        assert abs(A_mc - h * A) < 5 * math.sqrt(1 / n) + 0.005, (h, A_mc, A)


def test_card_errors(model):
    with pytest.raises(UnknownNameError, match="N6 -> N5 e"):
        DecayPlan(model, DecaySection(mode="forced", forced=["N6 -> N5 mu+ e-"]))
    with pytest.raises(UnknownNameError, match="N44"):
        DecayPlan(model, DecaySection(stable=["N44"]))
    with pytest.raises(CardError, match="stable"):
        DecayPlan(model, DecaySection(mode="forced", forced=["N5 -> N4 e+ e-"], stable=["N5"]))
    with pytest.raises(CardError, match="not a channel"):
        DecayPlan(model, DecaySection(mode="forced", forced=["N5 to N4 e+ e-"]))


def test_disabled_and_stable(model):
    rng = np.random.default_rng(67)
    b = n6_block(model, 10, rng)
    assert decay_blocks([b], model, DecaySection(enabled=False), rng) == [b]
    out = decay_blocks([b], model, DecaySection(stable=["N6"]), rng)
    assert len(out) == 1 and out[0].status.tolist() == [1]


def test_zprime_decays_all_mode(model):
    """Z' at rest-ish (collider): every topology conserves four-momentum; the inclusive Z' -> hadrons channel is
    not generated and its branching ratio is removed from the weights (weight factor 1 - B(hadrons))."""
    rng = np.random.default_rng(68)
    n = 4000
    mz = model.mass("Z'")
    p = np.zeros((n, 1, 4))
    p[:, 0, 0] = 5.0
    p[:, 0, 1:] = rng.normal(size=(n, 3))
    p[:, 0, 1:] *= (math.sqrt(25.0 - mz**2) / np.linalg.norm(p[:, 0, 1:], axis=1))[:, None]
    b = EventBlock("zp", pdg=[32], status=[1], mother=[-1], p=p, x=np.zeros((n, 1, 4)), weight=np.ones(n),
                   names=("Zprime",))
    out = decay_blocks([b], model, DecaySection(mode="all", stable=["N4"]), rng)
    br_had = model.branching_ratios("Z'")["Z' -> hadrons"]
    assert 0 < br_had < 1e-3
    assert sum(o.weight.sum() for o in out) == pytest.approx(n * (1 - br_had), rel=1e-12)
    for o in out:
        check_vertices(o)
        assert o.names[0] == "Zprime" and o.status[0] == STATUS_DECAYED
        assert all(nm not in ("N5", "N6") or o.status[i] == STATUS_DECAYED for i, nm in enumerate(o.names))
    # Z' -> N5 N6 dominates (Table I: 86% for BP-B in the paper's convention)
    top = max(out, key=lambda o: o.n_events)
    assert sorted(top.names[k] for k in top.daughters(0)) == ["N5", "N6"]
