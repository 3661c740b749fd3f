"""The ONE registry of decay-momentum samplers: a channel's ``kind`` (generator.model.channels.DecayChannel)
picks the factory that builds its sampler.

A factory is ``factory(chan, M, masses, rng) -> sampler`` with M the parent mass and masses the daughter masses
(GeV), rng the numpy Generator of the bound pre-scan; a sampler has ``sample(spin, n, rng) -> (n, k, 4)`` rest-frame
momenta in GeV and a ``stats`` (SamplerStats). Kinds without a sampler (e.g. "hadrons": inclusive, no exclusive final
state) are never generated (generator.decay.plan).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from generator.decay.asymmetry import boson_kind, two_body_asymmetry
from generator.decay.three_body import ThreeBodySampler
from generator.decay.two_body import TwoBodySampler
from generator.errors import PhysicsError, RegistryError, UnknownNameError
from generator.particles import hnl_index

#: the registry: channel kind -> sampler factory.
SAMPLERS: dict[str, Callable] = {}


def register_sampler(*kinds: str):
    """Decorator registering a sampler factory for one or more channel kinds."""
    def deco(factory):
        for kind in kinds:
            if kind in SAMPLERS:
                msg = (
                    f"decay-channel kind {kind!r} already has a sampler ({SAMPLERS[kind].__name__}); "
                                    f"register each kind once"
                )
                raise RegistryError(msg)
            SAMPLERS[kind] = factory
        return factory

    return deco


def has_sampler(chan) -> bool:
    """True if the channel's kind has a registered sampler (an exclusive final state that can be generated)."""
    return chan.kind in SAMPLERS


def make_sampler(chan, M: float, masses: list[float], rng: np.random.Generator):
    """The sampler of ``chan`` from the factory registered for ``chan.kind`` (M, masses in GeV)."""
    try:
        factory = SAMPLERS[chan.kind]
    except KeyError:
        what = f"decay-channel kind of {chan.name!r}"
        raise UnknownNameError(what, chan.kind, SAMPLERS) from None
    return factory(chan, M, masses, rng)


@register_sampler("three_body_vector", "three_body_cc", "three_body_invisible")
def three_body_sampler(chan, M: float, masses: list[float], rng: np.random.Generator) -> ThreeBodySampler:
    """Three-body: the channel's mediators and couplings (three_body.msq_vector, daughters = (j, f, fbar)); the
    accept-reject bound is pre-scanned with ``rng``."""
    if len(masses) != 3:
        msg = f"three-body channel {chan.name!r} has {len(masses)} daughter masses; it needs 3"
        raise PhysicsError(msg)
    if len(np.atleast_1d(chan.med_m)) == 0:
        msg = f"three-body channel {chan.name!r} has no mediator couplings to sample from"
        raise PhysicsError(msg)
    s = ThreeBodySampler(M, masses[0], masses[1], masses[2], chan.med_m, chan.med_w, chan.aL, chan.aR, chan.bL,
                         chan.bR)
    s.prescan(rng)
    return s


@register_sampler("two_body")
def two_body_sampler(chan, M: float, masses: list[float], rng: np.random.Generator) -> TwoBodySampler:
    """Two-body: asymmetry alpha from the channel couplings when it carries them (HNL parent and a Z'/phi'
    daughter, asymmetry.two_body_asymmetry); the model's Majorana vertices have |a_L| = |a_R| and give alpha = 0
    (isotropic). ``rng`` is not used (no pre-scan)."""
    if len(masses) != 2:
        msg = f"two-body channel {chan.name!r} has {len(masses)} daughter masses; it needs 2"
        raise PhysicsError(msg)
    alpha = 0.0
    kind = boson_kind(chan.daughters[1])
    if hnl_index(chan.parent) is not None and kind is not None and len(np.atleast_1d(chan.aL)) > 0:
        alpha = two_body_asymmetry(kind, M, masses[0], masses[1], complex(np.atleast_1d(chan.aL)[0]),
                                   complex(np.atleast_1d(chan.aR)[0]))
    return TwoBodySampler(M, masses[0], masses[1], alpha)
