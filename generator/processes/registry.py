"""The one registry of production modes, read by the card schema (generator.card) and the run (generator.run).

A production mode is a :class:`Production`: its name, the function that builds its channels from a card (a
``"module:function"`` path, imported only when a run needs it, so validating a card compiles no kernel) and the
[process] / [experiment] card keys it uses. A card key that none of the card's productions uses is a CardError
naming the productions that would use it. Every channel carries an engine process that satisfies :class:`Process`.

Adding a production mode = one module with ``channels(card, model) -> list[ChannelSpec]`` + one
:func:`register` call below (docs/extending.md, "A production mode").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from generator.errors import UnknownNameError

#: Keys every production reads: [process].production and [experiment].name.
COMMON_KEYS = {"process": frozenset({"production"}), "experiment": frozenset({"name"})}


@runtime_checkable
class Process(Protocol):
    """What the engine (generator/engine.py) integrates and samples: x[i, d] in [0, 1]^dim, events first.

    name : channel label; dim : number of integration variables; weight_unit : "events" (expected events for the
    exposure) or "cm2" (cross section); integrand(x) -> (n,) weights per unit hypercube volume in weight_unit;
    events(x, weight, rng) -> generator.record.EventBlock of the n points (GeV, cm).
    """

    name: str
    dim: int
    weight_unit: str

    def integrand(self, x: np.ndarray) -> np.ndarray: ...

    def events(self, x: np.ndarray, weight: np.ndarray, rng: np.random.Generator): ...


@dataclass(frozen=True)
class Production:
    """A production mode: ``entry`` = "package.module:function" with function(card, model) -> list[ChannelSpec];
    ``process_keys`` / ``experiment_keys``: the card keys of [process] / [experiment] it reads (besides
    COMMON_KEYS); ``summary``: one line for error messages and the docs."""

    name: str
    entry: str
    process_keys: frozenset[str]
    experiment_keys: frozenset[str]
    summary: str = ""

    def keys(self, section: str) -> frozenset[str]:
        """Card keys of [section] ("process" or "experiment") this production reads, COMMON_KEYS included."""
        own = self.process_keys if section == "process" else self.experiment_keys
        return own | COMMON_KEYS.get(section, frozenset())

    def channel_builder(self) -> Callable:
        """The function building this production's channels (imported on first use)."""
        module, func = self.entry.split(":")
        return getattr(importlib.import_module(module), func)

    def channels(self, card, model) -> list:
        """ChannelSpecs (generator.channel) of this production for ``card`` and a generator.model.model.Model."""
        return self.channel_builder()(card, model)


PRODUCTIONS: dict[str, Production] = {}


def register(name: str, entry: str, process_keys=(), experiment_keys=(), summary: str = "") -> Production:
    """Add a production mode to the registry (the one registration of a new production). Returns it."""
    if name in PRODUCTIONS:
        raise ValueError(f"production {name!r} is registered twice")
    prod = Production(name, entry, frozenset(process_keys), frozenset(experiment_keys), summary)
    PRODUCTIONS[name] = prod
    return prod


def production(name: str) -> Production:
    """The registered production ``name``; UnknownNameError listing the registered ones."""
    if name not in PRODUCTIONS:
        raise UnknownNameError("production", name, PRODUCTIONS)
    return PRODUCTIONS[name]


def users_of(section: str, key: str) -> list[str]:
    """Names of the registered productions that read card key [section].key."""
    return [p.name for p in PRODUCTIONS.values() if key in p.keys(section)]


# ------------------------------------------------------------------------------------------ registrations
_EE = ("sqrt_s_GeV", "luminosity_fb")
register("upscattering", "generator.processes.upscattering:channels_from_card",
         ("final_hnl", "targets", "regimes", "pauli_blocking", "neutrino"), ("pot", "flux_file", "fiducial_mass_t"),
         "nu + nucleus/nucleon -> N + X at a neutrino beam (experiment: MiniBooNE, MicroBooNE, PS191, CCFR)")
register("ee_pair", "generator.processes.ee_channels:ee_pair_channels", ("final_hnl",), _EE,
         "e+e- -> Z'*, Z* -> N_i N_j at a collider (experiment: babar, belle2)")
register("upsilon", "generator.processes.ee_channels:upsilon_channels", ("final_hnl",), _EE,
         "e+e- -> Upsilon(nS) -> N_i N_j at the resonance points of a collider")
register("higgsstrahlung", "generator.processes.ee_channels:higgsstrahlung_channels", (), _EE,
         "e+e- -> Z' phi' (dark Higgsstrahlung) at a collider")
register("isr", "generator.processes.ee_channels:isr_channels", (), _EE,
         "e+e- -> gamma Z' (initial-state radiation) at a collider")
register("kaon_decay", "generator.processes.kaon:channels_from_card", ("final_hnl", "lepton"),
         ("n_kaon_decays", "acceptance"), "K+ -> l+ N_j decays in flight (experiment: na62)")

__all__ = ["COMMON_KEYS", "PRODUCTIONS", "Process", "Production", "production", "register", "users_of"]
