"""DecayPlan: explicit handling of closed channels, errors propagate, samplers picked from the kind registry.

References: the model's channel lists (generator.model.channels), the sampler registry (generator.decay.samplers).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from generator.card import DecaySection
from generator.decay import SAMPLERS, DecayPlan, ThreeBodySampler, TwoBodySampler, make_sampler
from generator.errors import PhysicsError, UnknownNameError
from generator.model import preset
from generator.model.model import Model


class _ZeroWidthModel(Model):
    """BP-B with an extra N6 channel whose width is zero (a channel closed by its couplings)."""

    def decay_channels(self, name):
        chans = super().decay_channels(name)
        if name == "N6":
            chans.append(dataclasses.replace(chans[0], width_GeV=0.0, label="N6 -> closed test channel"))
        return chans


class _BrokenModel(Model):
    """BP-B whose N5 channel list cannot be built."""

    def decay_channels(self, name):
        if name == "N5":
            raise PhysicsError("N5: channel list broken on purpose")
        return super().decay_channels(name)


@pytest.fixture(scope="module")
def model():
    return Model(preset("BP-B"))


def test_zero_width_channel_is_skipped():
    m = _ZeroWidthModel(preset("BP-B"))
    assert any(c.width_GeV == 0.0 for c in m.decay_channels("N6"))
    plan = DecayPlan(m, DecaySection())
    labels = [c.name for c in plan.channels["N6"]]
    assert "N6 -> closed test channel" not in labels
    assert len(labels) == len(m.decay_channels("N6")) - 1
    chans, prob, _factor = plan.options("N6")
    assert all(c.width_GeV > 0 for c in chans)
    assert prob.sum() == pytest.approx(1.0, abs=1e-12)


def test_model_errors_propagate():
    with pytest.raises(PhysicsError, match="broken on purpose"):
        DecayPlan(_BrokenModel(preset("BP-B")), DecaySection())


def test_every_unstable_state_has_channels(model):
    plan = DecayPlan(model, DecaySection())
    assert set(plan.channels) == set(model.unstable)


def test_sampler_from_kind_registry(model):
    rng = np.random.default_rng(3)
    assert {"two_body", "three_body_vector", "three_body_cc", "three_body_invisible"} <= set(SAMPLERS)
    assert "hadrons" not in SAMPLERS
    plan = DecayPlan(model, DecaySection(), prescan_seed=1)
    kinds = {}
    for chans in plan.channels.values():
        for c in chans:
            kinds.setdefault(c.kind, c)
    for kind, chan in kinds.items():
        if kind == "hadrons":
            assert plan.options(chan.parent)[2] < 1.0  # inclusive channel not generated, weight factor < 1
            continue
        s = plan.sampler(chan, rng)
        assert isinstance(s, ThreeBodySampler if len(chan.daughters) == 3 else TwoBodySampler)
        p = s.sample(None, 50, rng)
        # four-momentum conservation at rest (M, 0): sum of daughter momenta
        assert np.allclose(p.sum(axis=1), [plan.table.mass(chan.parent), 0, 0, 0], atol=1e-9)
    bogus = dataclasses.replace(next(iter(kinds.values())), kind="four_body")
    with pytest.raises(UnknownNameError, match="four_body"):
        make_sampler(bogus, 1.0, [0.1, 0.1], rng)
