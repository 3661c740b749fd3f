"""The one registry of production modes, read by the card schema (generator.card) and the run (generator.run).

A production mode is a :class:`Production`: its name, the function that builds its channels from a card (a
``"module:function"`` path, imported only when a run needs it, so validating a card compiles no kernel) and the
[process] / [experiment] card keys it reads, each a typed :class:`CardKey` with its default and rule. The card
schema (generator.card.ProcessSection / ExperimentSection) is built from these declarations, and a key that none
of the card's productions reads is a CardError naming the productions that would read it. Every channel carries
an engine process that satisfies :class:`Process`.

Adding a production mode = one module with ``channels(card, model) -> list[ChannelSpec]`` + one
:func:`register` call below (docs/extending.md, "A production mode").
"""

from __future__ import annotations

import difflib
import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from generator.errors import UnknownNameError
from generator.flux import AREA_UNITS as FLUX_AREA_UNITS
from generator.flux import ENERGY_UNITS as FLUX_ENERGY_UNITS
from generator.flux import FORMATS as FLUX_FORMATS
from generator.flux import NORMALISATIONS as FLUX_NORMALISATIONS


@dataclass(frozen=True)
class CardKey:
    """One key of [process] or [experiment]: ``type`` (a dataclass annotation such as ``list[str] | None``),
    ``default`` (ignored when ``required``) and ``rule(value) -> None | str``, the broken rule's wording (the
    card raises CardError naming the key). Units are in the key names (``_GeV``, ``_fb``, ``_t``)."""

    type: object
    default: object = None
    rule: Callable[[object], str | None] | None = None
    doc: str = ""
    required: bool = False


def positive(value) -> str | None:
    """Rule: a number > 0 (None allowed: not given)."""
    return None if value is None or (math.isfinite(value) and value > 0) else f"= {value}: must be > 0"


def each_positive(values) -> str | None:
    """Rule: every entry of a list > 0 (None allowed)."""
    bad = [v for v in values or [] if not (math.isfinite(v) and v > 0)]
    return f"= {values}: every entry must be > 0 (got {bad[0]})" if bad else None


def fraction(value) -> str | None:
    """Rule: a number in (0, 1] (None allowed)."""
    return None if value is None or 0 < value <= 1 else f"= {value}: must be in (0, 1]"


def choices(allowed) -> Callable[[object], str | None]:
    """Rule: a string, or every string of a list, among ``allowed`` (a collection, read when the rule runs)."""

    def rule(value) -> str | None:
        for v in [value] if isinstance(value, str) else list(value or []):
            if v not in allowed:
                close = difflib.get_close_matches(str(v), list(allowed), n=3, cutoff=0.4)
                hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                return f"{v!r} is not allowed; allowed: {', '.join(map(repr, allowed))}.{hint}"
        return None

    return rule


PRODUCTIONS: dict[str, Production] = {}

#: Keys every production reads: [process].production and [experiment].name.
COMMON_KEYS: dict[str, dict[str, CardKey]] = {
    "process": {"production": CardKey(str | list[str], "upscattering", choices(PRODUCTIONS),
                                      "production mode(s) of the run, names of this registry")},
    "experiment": {"name": CardKey(str, doc="experiment or collider (its definition file)", required=True)},
}


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
    COMMON_KEYS), name -> CardKey; ``summary``: one line for the docs."""

    name: str
    entry: str
    process_keys: Mapping[str, CardKey]
    experiment_keys: Mapping[str, CardKey]
    summary: str = ""

    def keys(self, section: str) -> frozenset[str]:
        """Card keys of [section] ("process" or "experiment") this production reads, COMMON_KEYS included."""
        own = self.process_keys if section == "process" else self.experiment_keys
        return frozenset(own) | frozenset(COMMON_KEYS.get(section, {}))

    @property
    def module(self) -> str:
        """The module of ``entry`` (a parallel run's workers import it while the run integrates)."""
        return self.entry.partition(":")[0]

    def channel_builder(self) -> Callable:
        """The function building this production's channels (imported on first use)."""
        return getattr(importlib.import_module(self.module), self.entry.partition(":")[2])

    def channels(self, card, model) -> list:
        """ChannelSpecs (generator.channel) of this production for ``card`` and a generator.model.model.Model."""
        return self.channel_builder()(card, model)


def register(name: str, entry: str, process_keys: Mapping[str, CardKey] | None = None,
             experiment_keys: Mapping[str, CardKey] | None = None, summary: str = "") -> Production:
    """Add a production mode to the registry (the one registration of a new production). Returns it.

    A key several productions read must be declared by the same CardKey (one meaning, one default)."""
    if name in PRODUCTIONS:
        msg = f"production {name!r} is registered twice"
        raise ValueError(msg)
    prod = Production(name, entry, dict(process_keys or {}), dict(experiment_keys or {}), summary)
    for section in ("process", "experiment"):
        known = section_keys(section)
        for key, ck in (prod.process_keys if section == "process" else prod.experiment_keys).items():
            if key in known and known[key] is not ck:
                msg = (
                    f"[{section}].{key} of production {name!r} differs from its declaration by "
                                 f"{', '.join(users_of(section, key))}; share one CardKey"
                )
                raise ValueError(msg)
    PRODUCTIONS[name] = prod
    return prod


def section_keys(section: str) -> dict[str, CardKey]:
    """Every key of [section] ("process" or "experiment"): COMMON_KEYS first, then the productions' keys."""
    out = dict(COMMON_KEYS[section])
    for prod in PRODUCTIONS.values():
        out.update(prod.process_keys if section == "process" else prod.experiment_keys)
    return out


def production(name: str) -> Production:
    """The registered production ``name``; UnknownNameError listing the registered ones."""
    if name not in PRODUCTIONS:
        raise UnknownNameError("production", name, PRODUCTIONS)
    return PRODUCTIONS[name]


def users_of(section: str, key: str) -> list[str]:
    """Names of the registered productions that read card key [section].key."""
    return [p.name for p in PRODUCTIONS.values() if key in p.keys(section)]


# ------------------------------------------------------------------------------------------ registrations
FINAL_HNL = CardKey(list[str], ["N5", "N6"], doc="HNLs produced: names (\"N5\") or, at colliders, pairs (\"N4N5\")")
LEPTON = CardKey(str, "mu", choices(("mu", "e")), "charged lepton of the meson decay P+ -> l+ N")
_UPSCATTERING_PROCESS = {
    "final_hnl": FINAL_HNL,
    "targets": CardKey(list[str] | None, None, doc="targets (default: the experiment's materials)"),
    "regimes": CardKey(list[str], ["coherent", "incoherent"], choices(("coherent", "incoherent"))),
    "pauli_blocking": CardKey(bool, False, doc="Fermi-gas Pauli blocking of the incoherent regime"),
    "neutrino": CardKey(str, "nu_mu", doc="incoming species: nu_e, nu_mu, nu_tau or their _bar"),
}
_UPSCATTERING_EXPERIMENT = {
    "flux_file": CardKey(str | None, None, doc="flux table replacing the shipped parameterisation (relative paths: "
                                               "next to the card)"),
    "flux_energy_unit": CardKey(str, "GeV", choices(FLUX_ENERGY_UNITS), "energy unit of the flux table"),
    "flux_normalisation": CardKey(str, "auto", choices(FLUX_NORMALISATIONS),
                                  "flux per unit energy ('per_energy') or per bin ('per_bin')"),
    "flux_area_unit": CardKey(str, "cm2", choices(FLUX_AREA_UNITS), "area unit of the flux table (per cm2 or m2)"),
    "flux_pot": CardKey(float, 1.0, positive, "POT the flux table's values are for"),
    "flux_format": CardKey(str, "auto", choices(FLUX_FORMATS), "column layout of the flux table"),
    "pot": CardKey(float | None, None, positive, "protons on target"),
    "fiducial_mass_t": CardKey(float | None, None, positive, "fiducial mass in tonnes"),
}
_COLLIDER = {
    "sqrt_s_GeV": CardKey(list[float] | None, None, each_positive, "running points (default: the collider file's)"),
    "luminosity_fb": CardKey(list[float] | None, None, each_positive, "fb^-1 per running point"),
}
register("upscattering", "generator.processes.upscattering:channels_from_card", _UPSCATTERING_PROCESS,
         _UPSCATTERING_EXPERIMENT,
         "nu + nucleus/nucleon -> N + X at a neutrino beam (experiment: MiniBooNE, MicroBooNE, PS191, CCFR)")
register("ee_pair", "generator.processes.ee_channels:ee_pair_channels", {"final_hnl": FINAL_HNL}, _COLLIDER,
         "e+e- -> Z'*, Z* -> N_i N_j at a collider (experiment: babar, belle2)")
register("upsilon", "generator.processes.ee_channels:upsilon_channels", {"final_hnl": FINAL_HNL}, _COLLIDER,
         "e+e- -> Upsilon(nS) -> N_i N_j at the resonance points of a collider")
register("higgsstrahlung", "generator.processes.ee_channels:higgsstrahlung_channels", {}, _COLLIDER,
         "e+e- -> Z' phi' (dark Higgsstrahlung) at a collider")
register("isr", "generator.processes.ee_channels:isr_channels", {}, _COLLIDER,
         "e+e- -> gamma Z' (initial-state radiation) at a collider")
register("kaon_decay", "generator.processes.kaon:channels_from_card", {"final_hnl": FINAL_HNL, "lepton": LEPTON},
         {"n_kaon_decays": CardKey(float | None, None, positive, "fiducial kaon decays"),
          "acceptance": CardKey(float | None, None, fraction, "overall acceptance")},
         "K+ -> l+ N_j decays in flight (experiment: na62)")

__all__ = ["COMMON_KEYS", "PRODUCTIONS", "CardKey", "Process", "Production", "choices", "each_positive", "fraction",
           "positive", "production", "register", "section_keys", "users_of"]
