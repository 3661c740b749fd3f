"""Detector cards and the registry of module types: what a detector is, how it is read, how it runs.

A detector is a data file ``detectors/data/<name>.toml`` (Delphes-card style), shipped as package data
and read with :mod:`importlib.resources`: metadata with references, an ``[options]`` table, and
``[[modules]]`` in execution order. Every module has a ``name``, a ``type`` (a mechanism registered in
code with :func:`module_type`), named ``inputs`` and ``outputs`` (columns of the per-event state),
``params`` (the detector's numbers) and ``ref`` (where the numbers come from). Code holds only
mechanisms (:mod:`detectors.mechanisms`, :mod:`detectors.response` and one module per experiment);
every number lives in the TOML file.

The state carried through the chain (:class:`DetectorState`) is columnar, events first: truth
columns from :mod:`detectors.truth`, module outputs, the current event weight (efficiencies are
folded into it), the boolean ``selected`` mask (cuts), and the cut flow: an ordered list of
``(cut name, weighted count)`` where the weighted count is the sum of current weights of the
events still selected (expected events when the input weights are expected events).

Units: GeV, cm, rad internally; TOML keys carry their unit in the name (``radius_cm``, ``_deg``...).
Shapes are those of :mod:`generator.geometry`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import numpy as np

from detectors.truth import TRUTH_COLUMNS
from generator.errors import DataFileError, DetectorCardError, UnknownNameError
from generator.geometry import Box, Cylinder, Shape, Sphere, Union

SHAPES = ("sphere", "cylinder", "box", "union")
_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


def data_dir() -> Traversable:
    """The package-data directory holding the detector cards (``detectors/data``)."""
    return resources.files("detectors") / "data"


# =============================================================================== card values
def _num(where: str, key: str, table: dict, name: str, default: Any = ..., positive: bool = False,
         nonneg: bool = False) -> float:
    if name not in table:
        if default is ...:
            raise DetectorCardError(where, f"{key}.{name}", "missing (required)")
        return default
    v = table[name]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise DetectorCardError(where, f"{key}.{name}", f"{v!r} must be a finite number")
    if positive and not v > 0:
        raise DetectorCardError(where, f"{key}.{name}", f"= {v}: must be > 0")
    if nonneg and v < 0:
        raise DetectorCardError(where, f"{key}.{name}", f"= {v}: must be >= 0")
    return float(v)


def _vec3(where: str, key: str, table: dict, name: str, default: Any = ...) -> tuple[float, float, float]:
    if name not in table:
        if default is ...:
            raise DetectorCardError(where, f"{key}.{name}", "missing (required list of 3 numbers, cm)")
        return default
    v = table[name]
    if not (isinstance(v, list) and len(v) == 3 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                     for x in v)):
        raise DetectorCardError(where, f"{key}.{name}", f"{v!r} must be a list of 3 numbers (cm)")
    return (float(v[0]), float(v[1]), float(v[2]))


def _check_keys(where: str, key: str, table: dict, allowed: Sequence[str]) -> None:
    for k in table:
        if k not in allowed:
            raise DetectorCardError(where, f"{key}.{k}", f"unknown key; allowed: {', '.join(allowed)}")


def shape_from_dict(table: dict, where: str = "<shape>", key: str = "volume") -> Shape:
    """Build a :mod:`generator.geometry` shape from a detector-card table (lengths in cm):
    {shape = "sphere"|"cylinder"|"box"|"union", ...}.

    sphere: center_cm, radius_cm[, inner_radius_cm]; cylinder: axis, center_cm, radius_cm,
    half_length_cm[, inner_radius_cm]; box: min_cm, max_cm; union: parts = [tables].
    """
    if not isinstance(table, dict):
        raise DetectorCardError(where, key, f"{table!r} must be a table with a `shape` key")
    kind = table.get("shape")
    if kind not in SHAPES:
        what = f"shape in {where} `{key}`"
        raise UnknownNameError(what, str(kind), SHAPES)
    if kind == "sphere":
        _check_keys(where, key, table, ("shape", "center_cm", "radius_cm", "inner_radius_cm"))
        return Sphere(_num(where, key, table, "radius_cm", positive=True),
                      _vec3(where, key, table, "center_cm", (0.0, 0.0, 0.0)),
                      _num(where, key, table, "inner_radius_cm", 0.0, nonneg=True))
    if kind == "cylinder":
        _check_keys(where, key, table, ("shape", "axis", "center_cm", "radius_cm", "half_length_cm",
                                        "inner_radius_cm"))
        axis = table.get("axis", "z")
        if axis not in _AXES:
            what = f"cylinder axis in {where} `{key}`"
            raise UnknownNameError(what, str(axis), _AXES)
        return Cylinder(_num(where, key, table, "radius_cm", positive=True),
                        2.0 * _num(where, key, table, "half_length_cm", positive=True),
                        _vec3(where, key, table, "center_cm", (0.0, 0.0, 0.0)), _AXES[axis],
                        _num(where, key, table, "inner_radius_cm", 0.0, nonneg=True))
    if kind == "box":
        _check_keys(where, key, table, ("shape", "min_cm", "max_cm"))
        lo, hi = _vec3(where, key, table, "min_cm"), _vec3(where, key, table, "max_cm")
        if not all(a < b for a, b in zip(lo, hi, strict=True)):
            raise DetectorCardError(where, f"{key}.max_cm", f"{hi} must exceed min_cm = {lo} in every coordinate")
        return Box.from_corners(lo, hi)
    _check_keys(where, key, table, ("shape", "parts"))
    parts = table.get("parts")
    if not isinstance(parts, list) or not parts:
        raise DetectorCardError(where, f"{key}.parts", "a union needs a non-empty list of shape tables")
    return Union(tuple(shape_from_dict(p, where, f"{key}.parts[{i}]") for i, p in enumerate(parts)))



# =============================================================================== plots
@dataclass
class PlotSpec:
    """A histogram to draw (no matplotlib state here; :mod:`detectors.output` renders it).

    ``components``: stacked signal parts (label, weighted counts, style dict with optional
    "hatch"/"color"); ``background``: stacked parts drawn below the signal; ``data``: points
    (label, values, errors). Counts are expected events per bin; ``per_width`` divides by the bin
    width times ``width_scale`` (e.g. 1e3: GeV edges, events per MeV) when drawing.
    """

    title: str
    xlabel: str
    ylabel: str
    edges: np.ndarray
    components: list[tuple[str, np.ndarray, dict]] = field(default_factory=list)
    background: list[tuple[str, np.ndarray]] = field(default_factory=list)
    data: tuple[str, np.ndarray, np.ndarray] | None = None
    per_width: bool = False
    width_scale: float = 1.0
    vlines: list[tuple[float, str]] = field(default_factory=list)
    curves: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)
    logy: bool = False
    note: str = ""
    #: expected events (selected, weighted) that have no value of the plotted quantity (NaN by
    #: definition, see docs/detectors.md "Undefined values") and are therefore not drawn.
    undefined: float = 0.0

    def total_signal(self) -> np.ndarray:
        """Sum of the signal components per bin (expected events)."""
        if not self.components:
            return np.zeros(len(self.edges) - 1)
        return np.sum([c[1] for c in self.components], axis=0)


def weighted_hist(x: np.ndarray, w: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sum of weights per bin (expected events); values outside the edges and undefined values
    (NaN, see :func:`undefined_weight`) are dropped explicitly."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    defined = ~np.isnan(x)
    h, _ = np.histogram(x[defined], bins=edges, weights=w[defined])
    return h


def undefined_weight(x: np.ndarray, w: np.ndarray) -> float:
    """Sum of the weights (expected events) of the entries whose value is undefined (NaN)."""
    x = np.asarray(x, dtype=float)
    return float(np.sum(np.asarray(w, dtype=float)[np.isnan(x)]))


# =============================================================================== module chain
@dataclass(frozen=True)
class ModuleSpec:
    """One entry of a detector card's ``[[modules]]`` list."""

    name: str
    type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: dict
    ref: str = ""
    enabled_if: str | list[str] | None = None
    enabled_unless: str | list[str] | None = None
    where: str = ""

    def param(self, key: str, default: Any = ..., kind: type | tuple = (int, float)) -> Any:
        """Parameter ``key`` of this module; raises DetectorCardError naming the key if missing or
        of the wrong type."""
        k = f"modules[{self.name}].params.{key}"
        if key not in self.params:
            if default is ...:
                raise DetectorCardError(self.where, k, "missing (required)")
            return default
        v = self.params[key]
        if kind == (int, float) and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise DetectorCardError(self.where, k, f"{v!r} must be a number")
        if kind != (int, float) and not isinstance(v, kind):
            name = kind.__name__ if isinstance(kind, type) else " or ".join(t.__name__ for t in kind)
            raise DetectorCardError(self.where, k, f"{v!r} must be of type {name}")
        return v

    def number(self, key: str, default: Any = ..., lo: float | None = None, hi: float | None = None) -> float:
        """Numeric parameter with optional bounds lo <= v <= hi."""
        v = self.param(key, default)
        if v is None:
            return v
        v = float(v)
        k = f"modules[{self.name}].params.{key}"
        if lo is not None and v < lo:
            raise DetectorCardError(self.where, k, f"= {v}: must be >= {lo}")
        if hi is not None and v > hi:
            raise DetectorCardError(self.where, k, f"= {v}: must be <= {hi}")
        return v

    def table(self, key: str, default: Any = ...) -> dict:
        """Sub-table parameter."""
        return self.param(key, default, kind=dict)

    @property
    def pkey(self) -> str:
        return f"modules[{self.name}].params"


@dataclass
class DetectorCard:
    """A parsed detector data file."""

    name: str
    description: str
    frame: str
    experiments: tuple[str, ...]
    references: tuple[str, ...]
    options: dict
    modules: list[ModuleSpec]
    path: Traversable


@dataclass
class DetectorState:
    """Columnar state passed along the module chain (events first)."""

    cols: dict[str, np.ndarray]
    weight_in: np.ndarray
    weight: np.ndarray
    selected: np.ndarray
    rng: np.random.Generator
    metadata: dict
    options: dict
    card: DetectorCard
    cutflow: list[tuple[str, float]] = field(default_factory=list)
    plots: dict[str, PlotSpec] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    produced: list[str] = field(default_factory=list)
    #: additive per-chunk numbers (module name -> {key: float or array}); summed over the chunks of a
    #: streamed run and turned into ``extra`` by the module type's finaliser (:func:`module_type`).
    sums: dict[str, dict] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.weight.shape[0]

    def get(self, name: str, spec: ModuleSpec | None = None) -> np.ndarray:
        """Column ``name``; raises DataFileError naming the module and the available columns."""
        if name not in self.cols:
            who = f"module {spec.name!r} ({spec.type})" if spec else "detector"
            msg = (f"{self.card.path.name}: {who} needs column {name!r}, which no earlier module produced; "
                   f"available: {', '.join(sorted(self.cols))}")
            raise DataFileError(msg)
        return self.cols[name]

    def put(self, name: str, values: np.ndarray, record: bool = True) -> None:
        """Store an output column; ``record`` marks it for the reconstructed record / ntuple."""
        self.cols[name] = values
        if record and name not in self.produced:
            self.produced.append(name)

    def passed(self) -> float:
        """Weighted count (expected events) of the selected events with the current weights."""
        return float(np.sum(self.weight[self.selected]))

    def cut(self, name: str, mask: np.ndarray) -> None:
        """Apply a selection (boolean mask (n,)) and record the cut-flow entry."""
        self.selected &= np.asarray(mask, dtype=bool)
        self.cutflow.append((name, self.passed()))

    def apply_efficiency(self, name: str, eff: np.ndarray) -> None:
        """Fold a per-event efficiency (n,) into the weights and record the cut-flow entry."""
        self.weight = self.weight * eff
        self.cutflow.append((name, self.passed()))

    def tally(self, spec: ModuleSpec, values: dict[str, float | np.ndarray]) -> None:
        """Add additive numbers (weighted sums, counts) of this chunk for module ``spec``; a module
        whose summary is a ratio or a fit stores its sums here and computes the summary in its finaliser."""
        box = self.sums.setdefault(spec.name, {})
        for k, v in values.items():
            box[k] = box[k] + v if k in box else v


ModuleFn = Callable[[DetectorState, ModuleSpec], None]
#: finaliser: (spec, summed tallies of the module, merged plots, extra) -> None; fills extra / plots
FinalizeFn = Callable[[ModuleSpec, dict, dict, dict], None]
MODULE_TYPES: dict[str, ModuleFn] = {}
FINALIZERS: dict[str, FinalizeFn] = {}


def module_type(name: str, finalize: FinalizeFn | None = None) -> Callable[[ModuleFn], ModuleFn]:
    """Register a module mechanism under ``name`` (the ``type`` used in detector cards).

    A module runs once per chunk of events and must leave in ``state.extra`` only values that do not
    depend on the chunk (names, constants). Numbers that do (weighted sums) go to
    :meth:`DetectorState.tally`; ``finalize(spec, sums, plots, extra)`` is called once after the last
    chunk with the tallies summed over all chunks and turns them into ``extra`` entries or plot curves.
    """

    def deco(fn: ModuleFn) -> ModuleFn:
        MODULE_TYPES[name] = fn
        if finalize is not None:
            FINALIZERS[name] = finalize
        return fn

    return deco


_TOP_KEYS = ("name", "description", "frame", "experiments", "references", "options", "modules")
_MODULE_KEYS = ("name", "type", "inputs", "outputs", "params", "ref", "enabled_if", "enabled_unless")


def available_detectors() -> list[str]:
    """Names of the detector data files in the package data detectors/data (without .toml)."""
    return sorted(p.name[: -len(".toml")] for p in data_dir().iterdir() if p.name.endswith(".toml"))


def _group_names(outputs: Sequence[str]) -> set[str]:
    return set(outputs)


def _is_known(name: str, known: set[str]) -> bool:
    """A column is known if produced by name or as a member ``<group>_x`` / ``<group>2_x`` of a group."""
    return name in known or any(name.startswith((k + "_", k + "2_")) for k in known)


def load_detector_card(name: str) -> DetectorCard:
    """Read and validate the package data file detectors/data/<name>.toml (unknown name -> UnknownNameError)."""
    names = available_detectors()
    if name not in names:
        what = "detector"
        raise UnknownNameError(what, name, names)
    path = data_dir() / f"{name}.toml"
    where = f"detectors/data/{path.name}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DetectorCardError(where, "<file>", f"is not valid TOML: {exc}") from None
    _check_keys(where, "<top level>", data, _TOP_KEYS)
    for k in ("name", "description", "frame"):
        if not isinstance(data.get(k), str):
            raise DetectorCardError(where, k, "missing or not a string")
    mods = data.get("modules")
    if not isinstance(mods, list) or not mods:
        raise DetectorCardError(where, "modules", "needs a non-empty [[modules]] list")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise DetectorCardError(where, "options", "must be a table")
    known = set(TRUTH_COLUMNS)
    specs: list[ModuleSpec] = []
    seen: set[str] = set()
    for i, m in enumerate(mods):
        key = f"modules[{i}]"
        if not isinstance(m, dict):
            raise DetectorCardError(where, key, "must be a table")
        _check_keys(where, key, m, _MODULE_KEYS)
        for k in ("name", "type"):
            if not isinstance(m.get(k), str):
                raise DetectorCardError(where, f"{key}.{k}", "missing or not a string")
        if m["type"] not in MODULE_TYPES:
            what = f"module type in {where} {key}"
            raise UnknownNameError(what, m["type"], MODULE_TYPES)
        if m["name"] in seen:
            raise DetectorCardError(where, f"{key}.name", f"{m['name']!r} is used twice; module names must be unique")
        seen.add(m["name"])
        for k in ("inputs", "outputs"):
            v = m.get(k, [])
            if not (isinstance(v, list) and all(isinstance(s, str) for s in v)):
                raise DetectorCardError(where, f"{key}.{k}", f"{v!r} must be a list of column names")
        for flag in ("enabled_if", "enabled_unless"):
            names = m.get(flag, [])
            names = [names] if isinstance(names, str) else names
            for flag_name in names:
                if flag_name not in options:
                    raise DetectorCardError(where, f"{key}.{flag}", f"{flag_name!r} is not a key of [options] "
                                            f"({', '.join(options) or 'none'})")
        for inp in m.get("inputs", []):
            if not _is_known(inp, known):
                raise DetectorCardError(where, f"{key}.inputs", f"{inp!r} is produced by no earlier module "
                                        f"nor by the truth stage; known: {', '.join(sorted(known))}")
        known |= _group_names(m.get("outputs", []))
        params = m.get("params", {})
        if not isinstance(params, dict):
            raise DetectorCardError(where, f"{key}.params", "must be a table")
        specs.append(ModuleSpec(m["name"], m["type"], tuple(m.get("inputs", [])), tuple(m.get("outputs", [])),
                                params, str(m.get("ref", "")), m.get("enabled_if"), m.get("enabled_unless"), where))
    exps = data.get("experiments", [])
    refs = data.get("references", [])
    return DetectorCard(data["name"], data["description"], data["frame"], tuple(exps), tuple(refs), options,
                        specs, path)


def resolve_options(card: DetectorCard, overrides: dict | None) -> dict:
    """Card [options] with user overrides on top (unknown keys -> DetectorCardError)."""
    opts = dict(card.options)
    where = f"detector {card.name!r} options"
    for k, v in (overrides or {}).items():
        if k not in opts:
            msg = f"unknown option; allowed: {', '.join(sorted(opts)) or 'none'}"
            raise DetectorCardError(where, k, msg)
        default = opts[k]
        numeric = isinstance(v, (int, float)) and isinstance(default, (int, float))
        same = isinstance(v, bool) == isinstance(default, bool) and (isinstance(v, type(default)) or numeric)
        if not same:
            msg = f"{v!r} has the wrong type; expected {type(default).__name__} like the default {default!r}"
            raise DetectorCardError(where, k, msg)
        opts[k] = v
    return opts


def run_chain(state: DetectorState) -> None:
    """Run the card's modules on one chunk, in order (skipping those disabled by ``enabled_if/unless``
    options). Finalisers are not called here (see :func:`finalize_chain`)."""
    for spec in enabled_modules(state.card, state.options):
        MODULE_TYPES[spec.type](state, spec)


def enabled_modules(card: DetectorCard, options: dict) -> list[ModuleSpec]:
    """The card's modules that run with ``options`` (``enabled_if`` / ``enabled_unless``), in order."""
    out = []
    for spec in card.modules:
        if spec.enabled_if is not None and not all(options.get(k) for k in _names(spec.enabled_if)):
            continue
        if spec.enabled_unless is not None and any(options.get(k) for k in _names(spec.enabled_unless)):
            continue
        out.append(spec)
    return out


def finalize_chain(card: DetectorCard, options: dict, sums: dict, plots: dict, extra: dict) -> None:
    """Call the finaliser of every enabled module (in order) with its tallies summed over all chunks."""
    for spec in enabled_modules(card, options):
        fin = FINALIZERS.get(spec.type)
        if fin is not None:
            fin(spec, sums.get(spec.name, {}), plots, extra)


def _names(flag: str | list[str]) -> list[str]:
    """Option names of an enabled_if / enabled_unless entry (one name or a list)."""
    return [flag] if isinstance(flag, str) else list(flag)

