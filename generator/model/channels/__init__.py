"""Decay channels of the Z', phi' and heavy neutrinos, read from the ONE channel-family registry.

Each module of this package holds channel families registered with
:func:`generator.model.channels.registry.register_channel`; every module here is imported once below, so adding a
decay channel is one module (or one function in an existing module) with one ``@register_channel`` line
(docs/extending.md, "A decay channel"). Widths in GeV.
"""

from __future__ import annotations

import importlib
import pkgutil

from generator.errors import PhysicsError
from generator.model.channels.registry import (
    FAMILIES,
    LEPTONS,
    ChannelContext,
    ChannelFamily,
    DecayChannel,
    families,
    register_channel,
)
from generator.model.spectrum import Spectrum

__all__ = [
    "FAMILIES",
    "LEPTONS",
    "ChannelContext",
    "ChannelFamily",
    "DecayChannel",
    "families",
    "hnl_channels",
    "phiprime_channels",
    "register_channel",
    "zprime_channels",
]

# import every family module of this package (each registers its families on import)
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name != "registry":
        importlib.import_module(f"{__name__}.{_info.name}")


def zprime_channels(spec: Spectrum, convention: str = "majorana") -> list[DecayChannel]:
    """Two-body Z' decays of a Spectrum (widths in GeV) from the registered "Z'" families, by order: N_j N_k pairs
    (light pairs summed into "Z' -> nu nu"), charged leptons (Eq. 3), hadrons through R(s)."""
    ctx = ChannelContext(spec, convention)
    return [c for fam in families("Z'") for c in fam.build(ctx)]


def phiprime_channels(spec: Spectrum, convention: str = "majorana") -> list[DecayChannel]:
    """Two-body phi' decays of a Spectrum (widths in GeV) from the registered "phi'" families, by order: N_j N_k,
    Z'Z', and through the Higgs mixing charged leptons and hadrons."""
    ctx = ChannelContext(spec, convention)
    return [c for fam in families("phi'") for c in fam.build(ctx)]


def hnl_channels(spec: Spectrum, name: str, zprime_width: float, convention: str = "majorana") -> list[DecayChannel]:
    """All open decay channels (width > 0) of the heavy state ``name`` ("N4", ...) with widths in GeV.

    zprime_width : total Z' width in GeV (propagator); convention : vertices.CONVENTIONS.
    Order: for each lighter state j, the "pair" families (N_j Z', N_j phi', N_j l+ l-, N_j nu nu); then the
    "parent" families (nu nu nu, charged current, nu gamma). Raises PhysicsError for a light state.
    """
    i = spec.index(name)
    if i < spec.n_light:
        msg = f"{name} is a light neutrino (mass {spec.masses[i]:.3g} GeV) and is stable in this model"
        raise PhysicsError(msg)
    ctx = ChannelContext(spec, convention, zprime_width, name, i)
    out: list[DecayChannel] = []
    pair_families = families("hnl", "pair")
    for j in range(i):
        for fam in pair_families:
            out.extend(fam.build(ctx, j))
    for fam in families("hnl", "parent"):
        out.extend(fam.build(ctx))
    return [c for c in out if c.width_GeV > 0.0]
