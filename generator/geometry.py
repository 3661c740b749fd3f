"""Geometry shapes (sphere, finite cylinder, axis-aligned box, shells, unions) in cm, vectorised over events.

The one home of the shapes used by forced decays ([decay] volume), experiments and detectors (the detector
cards build them with :func:`detectors.registry.shape_from_dict`). Each shape answers two questions:

- ``contains(points)``: points (..., 3) in cm -> (...) bool (boundary counts as inside; NaN -> False);
- ``entry_exit(origin, direction)``: flight distances (t_in, t_out) in cm along the rays
  origin + t * direction (direction: unit vectors, t >= 0) between which the ray is inside the shape.
  A ray starting inside has t_in = 0. Rays that miss the shape (or for which the shape is entirely
  behind the origin) give t_in = t_out = inf. Shells (``inner_radius_cm > 0``) and unions can cut a ray
  into several segments and raise GeometryError here (they are used with ``contains`` only).

Ray-shape intersections are the standard ones (e.g. Pharr, Jakob, Humphreys, "Physically Based
Rendering", 3rd ed., Sec. 3.2 for the sphere/cylinder quadratics and Sec. 3.1.2 / Kay & Kajiya 1986 for
the slab method of boxes and of the cylinder caps).

The [decay] card's ``volume`` table is turned into a :class:`ForcedVolume` by :func:`volume_from_card`.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

import numpy as np

from generator.errors import CardError, GeometryError


def _vec3(v, key: str) -> np.ndarray:
    arr = np.asarray(v, dtype=float)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        msg = f"{v!r} must be a list of three finite numbers (cm)"
        raise CardError(key, msg)
    return arr


def _slab(o: np.ndarray, d: np.ndarray, lo: float | np.ndarray,
          hi: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interval of t with lo <= o + t d <= hi (slab method), elementwise; (-inf, inf) or empty when d = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo - o) / d
        t2 = (hi - o) / d
    a = np.minimum(t1, t2)
    b = np.maximum(t1, t2)
    parallel = d == 0
    inside = (o >= lo) & (o <= hi)
    a = np.where(parallel, np.where(inside, -np.inf, np.inf), a)
    b = np.where(parallel, np.where(inside, np.inf, -np.inf), b)
    return a, b


def _finish(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clip an interval [a, b] to t >= 0; empty intervals become (inf, inf)."""
    a = np.maximum(a, 0.0)
    miss = ~(b >= a) | (b < 0)
    a = np.where(miss, np.inf, a)
    b = np.where(miss, np.inf, b)
    return a, b


def _quadratic_interval(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interval where A t^2 + 2 B t + C <= 0 for A >= 0 (empty -> (inf, -inf); A = 0 -> all t if C <= 0)."""
    disc = B * B - A * C
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.sqrt(np.clip(disc, 0.0, None))
        # numerically stable roots (Numerical Recipes 3rd ed., Eq. 5.6.4): q = -(B + sign(B) sqrt(disc))
        q = -(B + np.copysign(root, B))
        r1 = q / A
        r2 = C / q
    a = np.minimum(r1, r2)
    b = np.maximum(r1, r2)
    # q = 0 happens only for B = 0 and disc = 0: a tangent ray at t = 0
    a = np.where(q == 0, 0.0, a)
    b = np.where(q == 0, 0.0, b)
    degenerate = A == 0
    a = np.where(degenerate, np.where(C <= 0, -np.inf, np.inf), a)
    b = np.where(degenerate, np.where(C <= 0, np.inf, -np.inf), b)
    miss = (disc < 0) & ~degenerate
    a = np.where(miss, np.inf, a)
    b = np.where(miss, -np.inf, b)
    return a, b


def _no_segments(shape, what: str) -> GeometryError:
    msg = (f"{shape!r}: entry_exit is defined for solid spheres, cylinders and boxes only; a {what} can cut a "
           f"ray into several segments (use it with `contains`)")
    return GeometryError(msg)


@dataclass(frozen=True)
class Sphere:
    """Sphere of radius ``radius_cm`` around ``center_cm`` (cm); a shell when ``inner_radius_cm`` > 0."""

    radius_cm: float
    center_cm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    inner_radius_cm: float = 0.0

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(...) bool: points (..., 3) in cm inside or on the sphere (shell: r >= inner_radius_cm)."""
        d = np.asarray(points, dtype=float) - np.asarray(self.center_cm)
        r2 = np.einsum("...i,...i->...", d, d)
        return (r2 <= self.radius_cm**2) & (r2 >= self.inner_radius_cm**2)

    def entry_exit(self, origin: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flight distances (t_in, t_out) in cm of rays origin (n, 3) cm + t * direction (n, 3, unit)."""
        if self.inner_radius_cm > 0:
            raise _no_segments(self, "spherical shell")
        o = np.asarray(origin, dtype=float) - np.asarray(self.center_cm)
        d = np.asarray(direction, dtype=float)
        # |o + t d|^2 <= R^2  <=>  (d.d) t^2 + 2 (o.d) t + (o.o - R^2) <= 0
        A = np.einsum("ij,ij->i", d, d)
        B = np.einsum("ij,ij->i", o, d)
        C = np.einsum("ij,ij->i", o, o) - self.radius_cm**2
        return _finish(*_quadratic_interval(A, B, C))

    @property
    def volume_cm3(self) -> float:
        """Volume in cm^3."""
        return 4.0 / 3.0 * math.pi * (self.radius_cm**3 - self.inner_radius_cm**3)


@dataclass(frozen=True)
class Cylinder:
    """Finite cylinder (cm): radius, full length along the unit ``axis``, centred on ``center_cm``; a
    cylindrical shell when ``inner_radius_cm`` > 0."""

    radius_cm: float
    length_cm: float
    center_cm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    axis: tuple[float, float, float] = (0.0, 0.0, 1.0)
    inner_radius_cm: float = 0.0

    def __post_init__(self) -> None:
        a = np.asarray(self.axis, dtype=float)
        object.__setattr__(self, "axis", tuple(a / np.linalg.norm(a)))

    def _split(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ax = np.asarray(self.axis)
        along = v @ ax
        return along, v - along[..., None] * ax

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(...) bool: points (..., 3) in cm inside or on the cylinder (shell: r >= inner_radius_cm)."""
        along, perp = self._split(np.asarray(points, dtype=float) - np.asarray(self.center_cm))
        r2 = np.einsum("...i,...i->...", perp, perp)
        return (np.abs(along) <= 0.5 * self.length_cm) & (r2 <= self.radius_cm**2) & (r2 >= self.inner_radius_cm**2)

    def entry_exit(self, origin: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flight distances (t_in, t_out) in cm of rays origin (n, 3) cm + t * direction (n, 3, unit)."""
        if self.inner_radius_cm > 0:
            raise _no_segments(self, "cylindrical shell")
        oa, op = self._split(np.asarray(origin, dtype=float) - np.asarray(self.center_cm))
        da, dp = self._split(np.asarray(direction, dtype=float))
        h = 0.5 * self.length_cm
        a1, b1 = _slab(oa, da, -h, h)  # caps
        # side: |op + t dp|^2 <= R^2
        A = np.einsum("ij,ij->i", dp, dp)
        B = np.einsum("ij,ij->i", op, dp)
        C = np.einsum("ij,ij->i", op, op) - self.radius_cm**2
        a2, b2 = _quadratic_interval(A, B, C)
        return _finish(np.maximum(a1, a2), np.minimum(b1, b2))

    @property
    def volume_cm3(self) -> float:
        """Volume in cm^3."""
        return math.pi * (self.radius_cm**2 - self.inner_radius_cm**2) * self.length_cm


@dataclass(frozen=True)
class Box:
    """Axis-aligned box (cm) with full side lengths ``size_cm`` centred on ``center_cm``."""

    size_cm: tuple[float, float, float]
    center_cm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @classmethod
    def from_corners(cls, lo_cm, hi_cm) -> Box:
        """Box between the corners ``lo_cm`` and ``hi_cm`` (3,) in cm (hi > lo in every coordinate)."""
        lo, hi = np.asarray(lo_cm, dtype=float), np.asarray(hi_cm, dtype=float)
        return cls(tuple((hi - lo).tolist()), tuple((0.5 * (lo + hi)).tolist()))

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(...) bool: points (..., 3) in cm inside or on the box."""
        d = np.abs(np.asarray(points, dtype=float) - np.asarray(self.center_cm))
        return np.all(d <= 0.5 * np.asarray(self.size_cm), axis=-1)

    def entry_exit(self, origin: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flight distances (t_in, t_out) in cm of rays origin (n, 3) cm + t * direction (n, 3, unit)."""
        o = np.asarray(origin, dtype=float) - np.asarray(self.center_cm)
        d = np.asarray(direction, dtype=float)
        h = 0.5 * np.asarray(self.size_cm)
        a = np.full(o.shape[0], -np.inf)
        b = np.full(o.shape[0], np.inf)
        for k in range(3):
            ak, bk = _slab(o[:, k], d[:, k], -h[k], h[k])
            a = np.maximum(a, ak)
            b = np.minimum(b, bk)
        return _finish(a, b)

    @property
    def volume_cm3(self) -> float:
        """Volume in cm^3."""
        return float(np.prod(self.size_cm))


@dataclass(frozen=True)
class Union:
    """Union of shapes: a point is inside when it is inside any of ``parts`` (cm)."""

    parts: tuple

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(...) bool: points (..., 3) in cm inside any part."""
        out = np.zeros(np.shape(points)[:-1], dtype=bool)
        for p in self.parts:
            out |= p.contains(points)
        return out

    def entry_exit(self, origin: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Not defined for a union (several segments): raises GeometryError."""
        raise _no_segments(self, "union")


Shape = Sphere | Cylinder | Box | Union


@dataclass(frozen=True)
class ForcedVolume:
    """A volume in which decays are forced, and the particle names it applies to (empty = all decayed)."""

    shape: Shape
    particles: tuple[str, ...] = field(default=())

    def applies_to(self, name: str) -> bool:
        """True when decays of the particle named ``name`` are forced into the volume."""
        return not self.particles or name in self.particles


_SHAPE_KEYS = {
    "sphere": {"radius_cm"},
    "cylinder": {"radius_cm", "length_cm", "axis"},
    "box": {"size_cm"},
}
_COMMON_KEYS = {"shape", "center_cm", "particles"}
_AXES = {"x": (1.0, 0.0, 0.0), "y": (0.0, 1.0, 0.0), "z": (0.0, 0.0, 1.0)}


def volume_from_card(table: dict, key: str = "decay.volume") -> ForcedVolume:
    """Build the forced-decay volume of the card table [decay.volume] (all lengths in cm).

    Keys: shape = "sphere" | "cylinder" | "box"; center_cm = [x, y, z] (default origin);
    sphere: radius_cm; cylinder: radius_cm, length_cm (full length), axis = "x"|"y"|"z" or [ax, ay, az]
    (default "z"); box: size_cm = [dx, dy, dz] (full side lengths); particles = ["N5", ...] (optional:
    the states whose decays are forced inside; default every decayed state).
    Raises CardError naming the key and what is allowed.
    """
    if not isinstance(table, dict):
        msg = f"{table!r} must be a table"
        raise CardError(key, msg)
    shape = table.get("shape")
    if shape not in _SHAPE_KEYS:
        close = difflib.get_close_matches(str(shape), list(_SHAPE_KEYS), n=2, cutoff=0.4)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        card_key = f"{key}.shape"
        msg = f"{shape!r} is not allowed; allowed: 'sphere', 'cylinder', 'box'.{hint}"
        raise CardError(card_key, msg)
    allowed = _COMMON_KEYS | _SHAPE_KEYS[shape]
    for k in table:
        if k not in allowed:
            card_key = f"{key}.{k}"
            msg = f"unknown key for shape {shape!r}; allowed keys: {', '.join(sorted(allowed))}"
            raise CardError(card_key, msg)
    center = tuple(_vec3(table.get("center_cm", [0.0, 0.0, 0.0]), f"{key}.center_cm"))

    def positive(name: str) -> float:
        if name not in table:
            card_key = f"{key}.{name}"
            msg = f"missing (required for shape {shape!r})"
            raise CardError(card_key, msg)
        v = table[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
            card_key = f"{key}.{name}"
            msg = f"= {v!r}: must be a finite number > 0 (cm)"
            raise CardError(card_key, msg)
        return float(v)

    if shape == "sphere":
        sh: Shape = Sphere(positive("radius_cm"), center)
    elif shape == "cylinder":
        ax = table.get("axis", "z")
        if isinstance(ax, str):
            if ax not in _AXES:
                card_key = f"{key}.axis"
                msg = f"{ax!r} is not allowed; allowed: 'x', 'y', 'z' or a 3-vector"
                raise CardError(card_key, msg)
            axis = _AXES[ax]
        else:
            axv = _vec3(ax, f"{key}.axis")
            if not np.linalg.norm(axv) > 0:
                card_key = f"{key}.axis"
                msg = f"{ax!r} must be a non-zero vector"
                raise CardError(card_key, msg)
            axis = tuple(axv)
        sh = Cylinder(positive("radius_cm"), positive("length_cm"), center, axis)
    else:
        if "size_cm" not in table:
            card_key = f"{key}.size_cm"
            raise CardError(card_key, "missing (required for shape 'box')")
        size = _vec3(table["size_cm"], f"{key}.size_cm")
        if not np.all(size > 0):
            card_key = f"{key}.size_cm"
            msg = f"{size.tolist()} must have three side lengths > 0 (cm)"
            raise CardError(card_key, msg)
        sh = Box(tuple(size), center)
    particles = table.get("particles", [])
    if not isinstance(particles, list) or not all(isinstance(p, str) for p in particles):
        card_key = f"{key}.particles"
        msg = f"{particles!r} must be a list of state names like ['N5']"
        raise CardError(card_key, msg)
    return ForcedVolume(sh, tuple(particles))


__all__ = ["Box", "Cylinder", "ForcedVolume", "Shape", "Sphere", "Union", "volume_from_card"]
