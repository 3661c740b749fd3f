"""Detector framework: geometry shapes, smearing, efficiencies, cut flows and the module chain.

A detector is a data file ``detectors/data/<name>.toml`` (Delphes-card style): metadata with
references, an ``[options]`` table, and ``[[modules]]`` in execution order. Every module has a
``name``, a ``type`` (a mechanism registered in code with :func:`module_type`), named ``inputs``
and ``outputs`` (columns of the per-event state), ``params`` (the detector's numbers) and ``ref``
(where the numbers come from). Code holds only mechanisms; every number lives in the TOML file.

The state carried through the chain (:class:`DetectorState`) is columnar, events first: truth
columns from :mod:`detectors.truth`, module outputs, the current event weight (efficiencies are
folded into it), the boolean ``selected`` mask (cuts), and the cut flow: an ordered list of
``(cut name, weighted count)`` where the weighted count is the sum of current weights of the
events still selected (expected events when the input weights are expected events).

Units: GeV, cm, rad internally; TOML keys carry their unit in the name (``radius_cm``, ``_deg``...).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detectors import kinematics as kin
from detectors.truth import TRUTH_COLUMNS
from generator.errors import DataFileError, UnknownNameError

DATA_DIR = Path(__file__).resolve().parent / "data"
REPO_ROOT = Path(__file__).resolve().parent.parent


class DetectorCardError(DataFileError):
    """A detector data file (detectors/data/<name>.toml) is malformed: unknown key, missing key,
    wrong type or unphysical value. The message names the file, the dotted key and the rule."""

    def __init__(self, where: str, key: str, message: str):
        self.where, self.key = where, key
        super().__init__(f"{where}: `{key}`: {message}")


# =============================================================================== geometry
@dataclass(frozen=True)
class Sphere:
    """Solid sphere (or shell when inner_radius > 0); centre (3,) and radii in cm."""

    center: tuple[float, float, float]
    radius: float
    inner_radius: float = 0.0

    def contains(self, xyz: np.ndarray) -> np.ndarray:
        """Boolean mask (...) of points xyz (..., 3) in cm inside the shape (surface included)."""
        r = kin.norm3(np.asarray(xyz) - np.asarray(self.center))
        return (r <= self.radius) & (r >= self.inner_radius)


_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class Cylinder:
    """Cylinder (or shell with inner_radius > 0) along axis "x", "y" or "z"; cm.

    ``center`` (3,) is the centre of the cylinder; it spans center[axis] +- half_length.
    """

    axis: str
    center: tuple[float, float, float]
    radius: float
    half_length: float
    inner_radius: float = 0.0

    def contains(self, xyz: np.ndarray) -> np.ndarray:
        """Boolean mask (...) of points xyz (..., 3) in cm inside the shape (surface included)."""
        d = np.asarray(xyz) - np.asarray(self.center)
        k = _AXES[self.axis]
        t = [i for i in range(3) if i != k]
        r = np.sqrt(d[..., t[0]] ** 2 + d[..., t[1]] ** 2)
        return (np.abs(d[..., k]) <= self.half_length) & (r <= self.radius) & (r >= self.inner_radius)


@dataclass(frozen=True)
class Box:
    """Axis-aligned box between corners ``lo`` and ``hi`` (3,) in cm."""

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]

    def contains(self, xyz: np.ndarray) -> np.ndarray:
        """Boolean mask (...) of points xyz (..., 3) in cm inside the shape (surface included)."""
        x = np.asarray(xyz)
        return np.all((x >= np.asarray(self.lo)) & (x <= np.asarray(self.hi)), axis=-1)


@dataclass(frozen=True)
class Union:
    """Union of shapes (a point is inside if it is inside any part)."""

    parts: tuple

    def contains(self, xyz: np.ndarray) -> np.ndarray:
        """Boolean mask (...) of points xyz (..., 3) in cm inside any part."""
        out = np.zeros(np.shape(xyz)[:-1], dtype=bool)
        for p in self.parts:
            out |= p.contains(xyz)
        return out


Shape = Sphere | Cylinder | Box | Union
SHAPES = ("sphere", "cylinder", "box", "union")


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
    """Build a shape from a TOML table: {shape = "sphere"|"cylinder"|"box"|"union", ...} (cm).

    sphere: center_cm, radius_cm[, inner_radius_cm]; cylinder: axis, center_cm, radius_cm,
    half_length_cm[, inner_radius_cm]; box: min_cm, max_cm; union: parts = [tables].
    """
    if not isinstance(table, dict):
        raise DetectorCardError(where, key, f"{table!r} must be a table with a `shape` key")
    kind = table.get("shape")
    if kind not in SHAPES:
        raise UnknownNameError(f"shape in {where} `{key}`", str(kind), SHAPES)
    if kind == "sphere":
        _check_keys(where, key, table, ("shape", "center_cm", "radius_cm", "inner_radius_cm"))
        return Sphere(_vec3(where, key, table, "center_cm", (0.0, 0.0, 0.0)),
                      _num(where, key, table, "radius_cm", positive=True),
                      _num(where, key, table, "inner_radius_cm", 0.0, nonneg=True))
    if kind == "cylinder":
        _check_keys(where, key, table, ("shape", "axis", "center_cm", "radius_cm", "half_length_cm",
                                        "inner_radius_cm"))
        axis = table.get("axis", "z")
        if axis not in _AXES:
            raise UnknownNameError(f"cylinder axis in {where} `{key}`", str(axis), _AXES)
        return Cylinder(axis, _vec3(where, key, table, "center_cm", (0.0, 0.0, 0.0)),
                        _num(where, key, table, "radius_cm", positive=True),
                        _num(where, key, table, "half_length_cm", positive=True),
                        _num(where, key, table, "inner_radius_cm", 0.0, nonneg=True))
    if kind == "box":
        _check_keys(where, key, table, ("shape", "min_cm", "max_cm"))
        lo, hi = _vec3(where, key, table, "min_cm"), _vec3(where, key, table, "max_cm")
        if not all(a < b for a, b in zip(lo, hi, strict=True)):
            raise DetectorCardError(where, f"{key}.max_cm", f"{hi} must exceed min_cm = {lo} in every coordinate")
        return Box(lo, hi)
    _check_keys(where, key, table, ("shape", "parts"))
    parts = table.get("parts")
    if not isinstance(parts, list) or not parts:
        raise DetectorCardError(where, f"{key}.parts", "a union needs a non-empty list of shape tables")
    return Union(tuple(shape_from_dict(p, where, f"{key}.parts[{i}]") for i, p in enumerate(parts)))


# =============================================================================== smearing
@dataclass(frozen=True)
class Resolution:
    """Relative resolution sigma/X = a/X^power (+) b (+) c/X (+) d*X, terms added in quadrature.

    X is the energy or momentum in GeV (a: stochastic, b: constant, c: noise in GeV, d: linear in
    1/GeV). Calorimeters: sigma/E = a/sqrt(E) (+) b (+) c/E (PDG RPP, review "Calorimetry");
    trackers: sigma_p/p = b (+) d p (multiple scattering (+) curvature resolution, PDG RPP review
    "Passage of particles through matter" / "Particle detectors at accelerators").
    """

    stochastic: float = 0.0
    power: float = 0.5
    constant: float = 0.0
    noise: float = 0.0
    linear: float = 0.0

    def relative(self, x: np.ndarray) -> np.ndarray:
        """sigma/X at X (GeV); dimensionless."""
        x = np.maximum(np.asarray(x, dtype=float), 1e-12)
        return np.sqrt((self.stochastic / x**self.power) ** 2 + self.constant**2 + (self.noise / x) ** 2
                       + (self.linear * x) ** 2)

    def sigma(self, x: np.ndarray) -> np.ndarray:
        """Absolute resolution sigma (GeV) at X (GeV)."""
        return self.relative(x) * np.asarray(x, dtype=float)


@dataclass(frozen=True)
class AngularResolution:
    """Angular resolution sigma_theta = a/E^power (+) b (rad), in quadrature (E in GeV)."""

    stochastic: float = 0.0
    power: float = 0.5
    constant: float = 0.0

    def sigma(self, E: np.ndarray) -> np.ndarray:
        """sigma_theta (rad) at energy E (GeV)."""
        E = np.maximum(np.asarray(E, dtype=float), 1e-12)
        return np.sqrt((self.stochastic / E**self.power) ** 2 + self.constant**2)


_ANGLE_UNITS = {"rad": 1.0, "mrad": 1e-3, "deg": math.pi / 180.0}


def resolution_from_dict(table: dict, where: str, key: str) -> Resolution:
    """Resolution from {stochastic, power, constant, noise_GeV, linear_per_GeV} (missing terms 0)."""
    _check_keys(where, key, table, ("stochastic", "power", "constant", "noise_GeV", "linear_per_GeV"))
    return Resolution(_num(where, key, table, "stochastic", 0.0, nonneg=True),
                      _num(where, key, table, "power", 0.5, nonneg=True),
                      _num(where, key, table, "constant", 0.0, nonneg=True),
                      _num(where, key, table, "noise_GeV", 0.0, nonneg=True),
                      _num(where, key, table, "linear_per_GeV", 0.0, nonneg=True))


def angular_from_dict(table: dict, where: str, key: str) -> AngularResolution:
    """AngularResolution from {unit = "rad"|"mrad"|"deg", stochastic, power, constant}."""
    _check_keys(where, key, table, ("unit", "stochastic", "power", "constant"))
    unit = table.get("unit", "rad")
    if unit not in _ANGLE_UNITS:
        raise UnknownNameError(f"angle unit in {where} `{key}`", str(unit), _ANGLE_UNITS)
    f = _ANGLE_UNITS[unit]
    return AngularResolution(f * _num(where, key, table, "stochastic", 0.0, nonneg=True),
                             _num(where, key, table, "power", 0.5, nonneg=True),
                             f * _num(where, key, table, "constant", 0.0, nonneg=True))


def smear_energy(E: np.ndarray, res: Resolution, rng: np.random.Generator, floor: float = 0.0) -> np.ndarray:
    """Gaussian smearing E' = E + sigma(E) N(0, 1) (GeV), clipped below at ``floor`` (GeV)."""
    E = np.asarray(E, dtype=float)
    return np.maximum(E + res.sigma(E) * rng.standard_normal(E.shape), floor)


def _orthonormal_basis(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors (n, 3) orthogonal to the unit vectors u (n, 3) and to each other."""
    helper = np.where(np.abs(u[..., 2:3]) < 0.9, np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]))
    e1 = kin.unit3(np.cross(u, helper))
    e2 = np.cross(u, e1)
    return e1, e2


def smear_direction(u: np.ndarray, sigma: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """Rotate unit vectors u (n, 3) by a random small angle: the deflection components along two
    axes orthogonal to u are independent N(0, sigma) (rad), so the polar deflection is Rayleigh
    distributed with scale sigma and the azimuth of the deflection is uniform. Returns (n, 3)."""
    u = kin.unit3(u)
    n = u.shape[0]
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (n,))
    dx = sigma * rng.standard_normal(n)
    dy = sigma * rng.standard_normal(n)
    delta = np.hypot(dx, dy)
    phi = np.arctan2(dy, dx)
    e1, e2 = _orthonormal_basis(u)
    return (np.cos(delta)[:, None] * u
            + np.sin(delta)[:, None] * (np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2))


def smear_vertex(x: np.ndarray, sigma_cm: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian vertex smearing x' = x + sigma N(0, 1) per coordinate; x (n, 3) cm, sigma scalar,
    (3,) per axis, or (n, 1)/(n,) per event (cm)."""
    x = np.asarray(x, dtype=float)
    s = np.asarray(sigma_cm, dtype=float)
    if s.ndim == 1 and s.shape[0] == x.shape[0] and x.shape[0] != 3:
        s = s[:, None]
    return x + s * rng.standard_normal(x.shape)


def smear_momentum(p4: np.ndarray, res: Resolution, ang: AngularResolution | None,
                   rng: np.random.Generator) -> np.ndarray:
    """Smear |p| (relative resolution ``res`` evaluated at |p| in GeV) and the direction (``ang`` at
    |p|), keeping the invariant mass of each four-vector; p4 (n, 4) GeV -> (n, 4) GeV."""
    p4 = np.asarray(p4, dtype=float)
    m = kin.mass(p4)
    pv = p4[:, 1:]
    pmag = kin.norm3(pv)
    p_new = np.maximum(pmag + res.sigma(pmag) * rng.standard_normal(pmag.shape), 0.0)
    u = kin.unit3(pv)
    if ang is not None:
        u = smear_direction(u, ang.sigma(pmag), rng)
    out = np.empty_like(p4)
    out[:, 1:] = u * p_new[:, None]
    out[:, 0] = np.sqrt(p_new**2 + m**2)
    return out


# =============================================================================== efficiencies
@dataclass(frozen=True)
class Efficiency:
    """Efficiency: a constant ``value`` or a table eff(x) linearly interpolated in x.

    ``outside``: "clamp" (use the end values) or "zero" outside the table range.
    """

    value: float | None = None
    x: tuple[float, ...] = ()
    eff: tuple[float, ...] = ()
    outside: str = "clamp"

    def __call__(self, x: np.ndarray | None, n: int) -> np.ndarray:
        """Efficiency per event (n,) (dimensionless) at x (n,) in the table's unit."""
        if self.value is not None:
            return np.full(n, self.value)
        xv = np.asarray(x, dtype=float)
        e = np.interp(xv, self.x, self.eff)
        if self.outside == "zero":
            e = np.where((xv < self.x[0]) | (xv > self.x[-1]), 0.0, e)
        return e


def efficiency_from_dict(table: dict, where: str, key: str) -> Efficiency:
    """Efficiency from {value} or {x = [...], eff = [...], outside = "clamp"|"zero"}."""
    if "value" in table:
        v = _num(where, key, table, "value")
        if not 0.0 <= v <= 1.0:
            raise DetectorCardError(where, f"{key}.value", f"= {v}: an efficiency must be in [0, 1]")
        return Efficiency(value=v)
    x, e = table.get("x"), table.get("eff")
    if not (isinstance(x, list) and isinstance(e, list) and len(x) == len(e) >= 2):
        raise DetectorCardError(where, key, "give `value` or two lists `x` and `eff` of equal length >= 2")
    if any(b <= a for a, b in zip(x, x[1:], strict=False)):
        raise DetectorCardError(where, f"{key}.x", f"{x} must be strictly increasing")
    if any(not 0.0 <= v <= 1.0 for v in e):
        raise DetectorCardError(where, f"{key}.eff", f"{e}: efficiencies must be in [0, 1]")
    outside = table.get("outside", "clamp")
    if outside not in ("clamp", "zero"):
        raise UnknownNameError(f"`outside` in {where} `{key}`", str(outside), ("clamp", "zero"))
    return Efficiency(None, tuple(float(v) for v in x), tuple(float(v) for v in e), outside)


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

    def total_signal(self) -> np.ndarray:
        """Sum of the signal components per bin (expected events)."""
        if not self.components:
            return np.zeros(len(self.edges) - 1)
        return np.sum([c[1] for c in self.components], axis=0)


def weighted_hist(x: np.ndarray, w: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sum of weights per bin (expected events); values outside the edges are dropped."""
    h, _ = np.histogram(np.asarray(x, dtype=float), bins=edges, weights=w)
    return h


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
    path: Path


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


ModuleFn = Callable[[DetectorState, ModuleSpec], None]
MODULE_TYPES: dict[str, ModuleFn] = {}


def module_type(name: str) -> Callable[[ModuleFn], ModuleFn]:
    """Register a module mechanism under ``name`` (the ``type`` used in detector cards)."""

    def deco(fn: ModuleFn) -> ModuleFn:
        MODULE_TYPES[name] = fn
        return fn

    return deco


_TOP_KEYS = ("name", "description", "frame", "experiments", "references", "options", "modules")
_MODULE_KEYS = ("name", "type", "inputs", "outputs", "params", "ref", "enabled_if", "enabled_unless")


def available_detectors() -> list[str]:
    """Names of the detector data files in detectors/data (without .toml)."""
    return sorted(p.stem for p in DATA_DIR.glob("*.toml"))


def _group_names(outputs: Sequence[str]) -> set[str]:
    return set(outputs)


def _is_known(name: str, known: set[str]) -> bool:
    """A column is known if produced by name or as a member ``<group>_x`` / ``<group>2_x`` of a group."""
    return name in known or any(name.startswith(k + "_") or name.startswith(k + "2_") for k in known)


def load_detector_card(name: str) -> DetectorCard:
    """Read and validate detectors/data/<name>.toml (unknown name -> UnknownNameError)."""
    names = available_detectors()
    if name not in names:
        raise UnknownNameError("detector", name, names)
    path = DATA_DIR / f"{name}.toml"
    where = f"detectors/data/{path.name}"
    try:
        data = tomllib.loads(path.read_text())
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
            raise UnknownNameError(f"module type in {where} {key}", m["type"], MODULE_TYPES)
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
    for k, v in (overrides or {}).items():
        if k not in opts:
            raise DetectorCardError(f"detector {card.name!r} options", k,
                                    f"unknown option; allowed: {', '.join(sorted(opts)) or 'none'}")
        default = opts[k]
        numeric = isinstance(v, (int, float)) and isinstance(default, (int, float))
        same = isinstance(v, bool) == isinstance(default, bool) and (isinstance(v, type(default)) or numeric)
        if not same:
            raise DetectorCardError(f"detector {card.name!r} options", k, f"{v!r} has the wrong type; expected "
                                    f"{type(default).__name__} like the default {default!r}")
        opts[k] = v
    return opts


def run_chain(state: DetectorState) -> None:
    """Run the card's modules in order (skipping those disabled by ``enabled_if/unless`` options)."""
    for spec in state.card.modules:
        if spec.enabled_if is not None and not all(state.options.get(k) for k in _names(spec.enabled_if)):
            continue
        if spec.enabled_unless is not None and any(state.options.get(k) for k in _names(spec.enabled_unless)):
            continue
        MODULE_TYPES[spec.type](state, spec)


def _names(flag: str | list[str]) -> list[str]:
    """Option names of an enabled_if / enabled_unless entry (one name or a list)."""
    return [flag] if isinstance(flag, str) else list(flag)


# =============================================================================== generic modules
def _one(spec: ModuleSpec, what: str, n: int = 1) -> tuple[str, ...]:
    names = spec.inputs if what == "inputs" else spec.outputs
    if len(names) < n:
        raise DetectorCardError(spec.where, f"modules[{spec.name}].{what}",
                                f"{list(names)} must name at least {n} column(s) for type {spec.type}")
    return names


PAIR_FIELDS = ("vtx", "t", "em", "ep", "parent", "hnl", "hnl_mass", "hnl_daughter_mass", "valid")


def _gather_pair(state: DetectorState, prefix: str, idx: np.ndarray, ok: np.ndarray) -> dict[str, np.ndarray]:
    rows = np.arange(state.n)
    out = {}
    for f in PAIR_FIELDS:
        arr = state.cols[f"{prefix}_{f}"]
        v = arr[rows, idx].copy()
        if v.dtype == bool:
            v &= ok
        elif v.ndim == 1:
            v = np.where(ok, v, 0)
        else:
            v[~ok] = 0
        out[f] = v
    return out


@module_type("SelectPairs")
def select_pairs(state: DetectorState, spec: ModuleSpec) -> None:
    """Keep the e+e- pairs (input group, e.g. "pair") decaying inside ``volume`` (optional) whose HNL
    ancestor is in ``hnl_pdg`` (optional list); output the first one (by decay time) as group
    ``<out>_*`` (vtx, t, em, ep, parent, hnl, hnl_mass, hnl_daughter_mass, valid), optionally the
    second as ``<out>2_*`` (``second = true``), and ``n_<out>``; cut n_min <= n_<out> <= n_max."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    vtx = state.get(f"{src}_vtx", spec)
    ok = state.get(f"{src}_valid", spec).copy()
    if "volume" in spec.params:
        ok &= shape_from_dict(spec.table("volume"), spec.where, f"{spec.pkey}.volume").contains(vtx)
    allowed = spec.param("hnl_pdg", None, kind=list)
    if allowed is not None:
        ok &= np.isin(np.abs(state.get(f"{src}_hnl", spec)), np.abs(np.asarray(allowed)))
    n_vis = ok.sum(axis=1)
    first = np.argmax(ok, axis=1)
    has1 = n_vis >= 1
    for f, v in _gather_pair(state, src, first, has1).items():
        state.put(f"{dst}_{f}", v, record=f in ("vtx", "hnl", "hnl_mass"))
    if spec.param("second", False, kind=bool):
        ok2 = ok.copy()
        ok2[np.arange(state.n), first] = False
        second = np.argmax(ok2, axis=1)
        for f, v in _gather_pair(state, src, second, n_vis >= 2).items():
            state.put(f"{dst}2_{f}", v, record=f in ("vtx",))
    state.put(f"n_{dst}", n_vis.astype(np.int32))
    n_min = int(spec.number("n_min", 1, lo=0))
    n_max = spec.param("n_max", None)
    mask = n_vis >= n_min
    if n_max is not None:
        mask &= n_vis <= int(n_max)
    state.cut(spec.name, mask)


@module_type("EMShowerMerge")
def em_shower_merge(state: DetectorState, spec: ModuleSpec) -> None:
    """An e+e- pair (input group) looks like ONE electromagnetic shower when its opening angle is
    below ``overlap_angle_deg`` (the two rings/showers overlap: E = E+ + E-, direction of p+ + p-) or
    when the softer lepton is below ``visibility_threshold_GeV`` (energy-asymmetric: only the harder
    lepton is seen). Outputs <out>_E (GeV), <out>_dir (n, 3), <out>_kind (1 overlapping,
    2 asymmetric, 0 two separate showers, -1 nothing visible), theta_ee (rad), m_ee, E_ee (GeV).
    Cut: kind > 0 (unless ``cut = false``)."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    em, ep = state.get(f"{src}_em", spec), state.get(f"{src}_ep", spec)
    theta_max = math.radians(spec.number("overlap_angle_deg", lo=0.0, hi=180.0))
    thr = spec.number("visibility_threshold_GeV", lo=0.0)
    theta = kin.opening_angle(em, ep)
    Em, Ep = em[:, 0], ep[:, 0]
    soft, hard = np.minimum(Em, Ep), np.maximum(Em, Ep)
    hard_p4 = np.where((Em >= Ep)[:, None], em, ep)
    overlap = theta < theta_max
    asym = (~overlap) & (soft < thr) & (hard >= thr)
    invisible = (~overlap) & (hard < thr)
    kind = np.where(overlap, 1, np.where(asym, 2, np.where(invisible, -1, 0))).astype(np.int32)
    tot = em + ep
    E = np.where(overlap, tot[:, 0], np.where(asym, hard, 0.0))
    direction = np.where(overlap[:, None], kin.unit3(tot[:, 1:]), kin.unit3(hard_p4[:, 1:]))
    state.put(f"{dst}_E", E)
    state.put(f"{dst}_dir", direction)
    state.put(f"{dst}_kind", kind)
    state.put("theta_ee", theta)
    state.put("m_ee", kin.mass(tot))
    state.put("E_ee", tot[:, 0])
    if spec.param("cut", True, kind=bool):
        state.cut(spec.name, kind > 0)


@module_type("SmearEnergy")
def smear_energy_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Gaussian energy smearing of input column (GeV) with ``resolution`` {stochastic, power,
    constant, noise_GeV, linear_per_GeV}; output clipped at ``floor_GeV`` (default 0)."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    res = resolution_from_dict(spec.table("resolution"), spec.where, f"{spec.pkey}.resolution")
    state.put(dst, smear_energy(state.get(src, spec), res, state.rng, spec.number("floor_GeV", 0.0)))


@module_type("SmearDirection")
def smear_direction_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Smear a direction column (n, 3) with ``resolution`` {unit, stochastic, power, constant},
    evaluated at the energy column given as second input (GeV; if absent the stochastic term is
    evaluated at 1 GeV). Output: unit vectors (n, 3)."""
    names = _one(spec, "inputs")
    (dst,) = _one(spec, "outputs")[:1]
    u = state.get(names[0], spec)
    E = state.get(names[1], spec) if len(names) > 1 else np.ones(state.n)
    ang = angular_from_dict(spec.table("resolution"), spec.where, f"{spec.pkey}.resolution")
    state.put(dst, smear_direction(u, ang.sigma(E), state.rng))


@module_type("SmearVertex")
def smear_vertex_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Gaussian smearing of a vertex column (n, 3) cm with ``sigma_cm`` (number or [sx, sy, sz])."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    s = spec.param("sigma_cm", kind=(int, float, list))
    if isinstance(s, list) and (len(s) != 3 or any(isinstance(v, bool) or v < 0 for v in s)):
        raise DetectorCardError(spec.where, f"{spec.pkey}.sigma_cm", f"{s!r} must be a number or 3 numbers >= 0")
    state.put(dst, smear_vertex(state.get(src, spec), np.asarray(s, dtype=float), state.rng))


@module_type("SmearMomentum")
def smear_momentum_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Smear four-momenta (n, 4) GeV: |p| with relative ``resolution`` (evaluated at |p|) and the
    direction with ``angular`` (optional); the invariant mass is kept."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    res = resolution_from_dict(spec.table("resolution"), spec.where, f"{spec.pkey}.resolution")
    ang = spec.table("angular", None)
    ang = angular_from_dict(ang, spec.where, f"{spec.pkey}.angular") if ang is not None else None
    state.put(dst, smear_momentum(state.get(src, spec), res, ang, state.rng))


@module_type("Fiducial")
def fiducial(state: DetectorState, spec: ModuleSpec) -> None:
    """Cut: the vertex column (n, 3) cm lies inside ``volume``."""
    (src,) = _one(spec, "inputs")[:1]
    shape = shape_from_dict(spec.table("volume"), spec.where, f"{spec.pkey}.volume")
    state.cut(spec.name, shape.contains(state.get(src, spec)))


@module_type("Cut")
def cut_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Cut on a column: min <= x <= max (either bound optional; ``abs = true`` uses |x|)."""
    (src,) = _one(spec, "inputs")[:1]
    x = np.asarray(state.get(src, spec), dtype=float)
    if spec.param("abs", False, kind=bool):
        x = np.abs(x)
    lo, hi = spec.param("min", None), spec.param("max", None)
    if lo is None and hi is None:
        raise DetectorCardError(spec.where, spec.pkey, "a Cut needs `min` and/or `max`")
    mask = np.ones(state.n, dtype=bool)
    if lo is not None:
        mask &= x >= lo
    if hi is not None:
        mask &= x <= hi
    state.cut(spec.name, mask)


@module_type("Efficiency")
def efficiency_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Multiply the weights by an efficiency: constant ``value`` or table eff(x) of the input column."""
    eff = efficiency_from_dict(spec.params, spec.where, spec.pkey)
    x = state.get(spec.inputs[0], spec) if spec.inputs else None
    if eff.value is None and x is None:
        raise DetectorCardError(spec.where, f"modules[{spec.name}].inputs",
                                "a tabulated efficiency needs an input column")
    state.apply_efficiency(spec.name, eff(x, state.n))


@module_type("PlaceVertices")
def place_vertices(state: DetectorState, spec: ModuleSpec) -> None:
    """Translate the listed vertex columns/groups by a per-event offset that puts the primary vertex
    uniformly in z_min_cm..z_max_cm on the beam line (x_cm, y_cm). With ``only_if_at_origin`` (default
    true) events whose primary vertex is not at the origin are left untouched. Inputs: the columns
    to move (first one must be prim_vtx); outputs: none (columns are updated in place)."""
    names = _one(spec, "inputs")
    z0, z1 = spec.number("z_min_cm"), spec.number("z_max_cm")
    if not z1 > z0:
        raise DetectorCardError(spec.where, f"{spec.pkey}.z_max_cm", f"= {z1}: must be > z_min_cm = {z0}")
    prim = state.get(names[0], spec)
    move = np.ones(state.n, dtype=bool)
    if spec.param("only_if_at_origin", True, kind=bool):
        move = np.all(prim == 0.0, axis=1)
    target = np.column_stack([np.full(state.n, spec.number("x_cm", 0.0)), np.full(state.n, spec.number("y_cm", 0.0)),
                              state.rng.uniform(z0, z1, state.n)])
    offset = np.where(move[:, None], target - prim, 0.0)
    for name in names:
        arr = state.get(name, spec)
        if arr.ndim == 2:
            state.cols[name] = arr + offset
        else:
            state.cols[name] = arr + offset[:, None, :]
    state.extra[f"{spec.name}_moved_fraction"] = float(np.mean(move)) if state.n else 0.0


@module_type("Region")
def region_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Classify a vertex column (n, 3) or (n, k, 3) by the first of ``regions`` (list of
    {name, volume}) containing it; output codes 0..R-1, R = outside all, -1 for NaN vertices."""
    (src,) = _one(spec, "inputs")[:1]
    (dst,) = _one(spec, "outputs")[:1]
    regions = spec.param("regions", kind=list)
    x = state.get(src, spec)
    code = np.full(x.shape[:-1], len(regions), dtype=np.int32)
    done = np.zeros(x.shape[:-1], dtype=bool)
    names = []
    for i, r in enumerate(regions):
        if not isinstance(r, dict) or "name" not in r or "volume" not in r:
            raise DetectorCardError(spec.where, f"{spec.pkey}.regions[{i}]", "needs `name` and `volume`")
        names.append(r["name"])
        inside = shape_from_dict(r["volume"], spec.where, f"{spec.pkey}.regions[{i}].volume").contains(x) & ~done
        code[inside] = i
        done |= inside
    code[np.isnan(x).any(axis=-1)] = -1
    state.put(dst, code, record=x.ndim == 2)
    state.extra[f"{dst}_names"] = names + ["outside"]


def _edges(spec: ModuleSpec, key: str = "bins") -> np.ndarray:
    b = spec.param(key, kind=(list, dict))
    if isinstance(b, dict):
        lo, hi, n = b.get("min"), b.get("max"), b.get("n")
        numbers = isinstance(lo, (int, float)) and isinstance(hi, (int, float))
        if not (isinstance(n, int) and n > 0 and numbers and hi > lo):
            raise DetectorCardError(spec.where, f"{spec.pkey}.{key}", f"{b!r}: need min < max and integer n > 0")
        return np.linspace(lo, hi, n + 1)
    e = np.asarray(b, dtype=float)
    if e.ndim != 1 or len(e) < 2 or np.any(np.diff(e) <= 0):
        raise DetectorCardError(spec.where, f"{spec.pkey}.{key}", f"{b!r} must be increasing bin edges")
    return e


@module_type("Histogram")
def histogram_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Weighted histogram of an input column (selected events unless ``all_events = true``) scaled
    by ``scale`` (e.g. unit conversion); optional second input = integer column to split the stack
    by, with ``labels`` {code = label}. Produces a PlotSpec named after the module."""
    names = _one(spec, "inputs")
    x = np.asarray(state.get(names[0], spec), dtype=float) * spec.number("scale", 1.0)
    sel = np.ones(state.n, dtype=bool) if spec.param("all_events", False, kind=bool) else state.selected
    edges = _edges(spec)
    comps = []
    if len(names) > 1:
        cat = np.asarray(state.get(names[1], spec))
        labels = spec.param("labels", {}, kind=dict)
        for code in np.unique(cat[sel]):
            m = sel & (cat == code)
            label = str(labels.get(str(code), f"{names[1]} = {code}"))
            comps.append((label, weighted_hist(x[m], state.weight[m], edges), {}))
    else:
        comps.append(("signal", weighted_hist(x[sel], state.weight[sel], edges), {}))
    vl = [(float(v), str(lbl)) for v, lbl in spec.param("vlines", [], kind=list)]
    state.plots[spec.name] = PlotSpec(title=spec.param("title", spec.name, kind=str),
                                      xlabel=spec.param("xlabel", names[0], kind=str),
                                      ylabel=spec.param("ylabel", "expected events / bin", kind=str),
                                      edges=edges, components=comps, vlines=vl,
                                      logy=spec.param("logy", False, kind=bool))


@module_type("Categories")
def categories_module(state: DetectorState, spec: ModuleSpec) -> None:
    """Weighted yields (expected events) of the selected events per value of an integer input
    column, stored in extra[<module name>] as {label: yield}; ``labels`` {code = label}. No cut."""
    (src,) = _one(spec, "inputs")[:1]
    cat = np.asarray(state.get(src, spec))
    labels = spec.param("labels", {}, kind=dict)
    out = {}
    for code, label in labels.items():
        m = state.selected & (cat == int(code))
        out[str(label)] = float(np.sum(state.weight[m]))
    other = state.selected & ~np.isin(cat, [int(c) for c in labels])
    if np.any(other):
        out["other"] = float(np.sum(state.weight[other]))
    state.extra[spec.name] = out
