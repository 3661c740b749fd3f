"""Detector response functions: resolutions, smearing and efficiencies (maths only, no module chain).

- :class:`Resolution` (energy / momentum, relative, terms in quadrature) and :class:`AngularResolution`;
- smearing of energies, directions, vertices and four-momenta with an explicit ``numpy.random.Generator``;
- :class:`Efficiency`: a constant or a linearly interpolated table;
- ``*_from_dict``: the same objects built from detector-card tables (errors name the key).

Units: GeV, cm, rad.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from detectors.registry import _check_keys, _num
from generator.errors import DetectorCardError, UnknownNameError
from generator.kernels.lorentz import direction3, invariant_mass, norm3


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
        what = f"angle unit in {where} `{key}`"
        raise UnknownNameError(what, str(unit), _ANGLE_UNITS)
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
    e1 = direction3(np.cross(u, helper))
    e2 = np.cross(u, e1)
    return e1, e2


def smear_direction(u: np.ndarray, sigma: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """Rotate unit vectors u (n, 3) by a random small angle: the deflection components along two
    axes orthogonal to u are independent N(0, sigma) (rad), so the polar deflection is Rayleigh
    distributed with scale sigma and the azimuth of the deflection is uniform. Returns (n, 3)."""
    u = direction3(u)
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
    m = invariant_mass(p4)
    pv = p4[:, 1:]
    pmag = norm3(pv)
    p_new = np.maximum(pmag + res.sigma(pmag) * rng.standard_normal(pmag.shape), 0.0)
    u = direction3(pv)
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
            msg = f"= {v}: an efficiency must be in [0, 1]"
            raise DetectorCardError(where, f"{key}.value", msg)
        return Efficiency(value=v)
    x, e = table.get("x"), table.get("eff")
    if not (isinstance(x, list) and isinstance(e, list) and len(x) == len(e) >= 2):
        raise DetectorCardError(where, key, "give `value` or two lists `x` and `eff` of equal length >= 2")
    if any(b <= a for a, b in itertools.pairwise(x)):
        msg = f"{x} must be strictly increasing"
        raise DetectorCardError(where, f"{key}.x", msg)
    if any(not 0.0 <= v <= 1.0 for v in e):
        msg = f"{e}: efficiencies must be in [0, 1]"
        raise DetectorCardError(where, f"{key}.eff", msg)
    outside = table.get("outside", "clamp")
    if outside not in ("clamp", "zero"):
        what = f"`outside` in {where} `{key}`"
        raise UnknownNameError(what, str(outside), ("clamp", "zero"))
    return Efficiency(None, tuple(float(v) for v in x), tuple(float(v) for v in e), outside)
