"""Lorentz boosts, rotations and four-vector helpers, vectorised over events (events first).

Four-vectors are (E, px, py, pz) in GeV (or (c*t, x, y, z) in cm: the maths is the same). Metric
(+, -, -, -).

Reference for the boost: the general pure boost from the rest frame of a four-momentum P (mass M) to
the frame where it has momentum P (J.D. Jackson, Classical Electrodynamics, 3rd ed., Eq. 11.19, with
beta = P/E, gamma = E/M):

    E'  = (E k0 + P.k) / M
    k'  = k + P [ (P.k) / (M (E + M)) + k0 / M ]

The inverse boost (lab -> rest frame of P) is the same map with P -> -P (3-vector part).
"""

from __future__ import annotations

import math

import numpy as np

from generator.kernels import kernel

# ------------------------------------------------------------------------------------------ kernels


@kernel
def _boost_kernel(k, P, mass, sign):
    """k: (n, m, 4) vectors in the rest frame of P (sign=+1) or in the lab (sign=-1); P: (n, 4).

    mass: (n,) rest mass of P, or an empty array to compute it as sqrt(P.P).
    """
    n, m = k.shape[0], k.shape[1]
    out = np.empty_like(k)
    given = mass.shape[0] == n
    for i in range(n):
        E = P[i, 0]
        px = sign * P[i, 1]
        py = sign * P[i, 2]
        pz = sign * P[i, 3]
        if given:
            M = mass[i]
        else:
            M = math.sqrt(E * E - (px * px + py * py + pz * pz))
        for j in range(m):
            k0 = k[i, j, 0]
            kx = k[i, j, 1]
            ky = k[i, j, 2]
            kz = k[i, j, 3]
            pk = px * kx + py * ky + pz * kz
            # Jackson Eq. (11.19): E' = gamma (k0 + beta.k), k' = k + [(gamma-1)/beta^2 (beta.k) + gamma k0] beta
            f = (pk / (E + M) + k0) / M
            out[i, j, 0] = (E * k0 + pk) / M
            out[i, j, 1] = kx + f * px
            out[i, j, 2] = ky + f * py
            out[i, j, 3] = kz + f * pz
    return out


@kernel
def zyz_matrix(ca, sa, cb, sb, cg, sg):
    """Rows of R = Rz(alpha) Ry(beta) Rz(gamma) from the cosines/sines of the three angles (active rotation,
    zyz Euler convention; Goldstein, Classical Mechanics). Returns (r00, r01, r02, r10, ..., r22)."""
    return (ca * cb * cg - sa * sg, -ca * cb * sg - sa * cg, ca * sb,
            sa * cb * cg + ca * sg, -sa * cb * sg + ca * cg, sa * sb,
            -sb * cg, sb * sg, cb)


@kernel
def _rotate_zyz_kernel(v, alpha, beta, gamma):
    """Rotate the spatial part of v (n, m, 4) by R = Rz(alpha) Ry(beta) Rz(gamma) (active, per event)."""
    n, m = v.shape[0], v.shape[1]
    out = np.empty_like(v)
    for i in range(n):
        ca, sa = math.cos(alpha[i]), math.sin(alpha[i])
        cb, sb = math.cos(beta[i]), math.sin(beta[i])
        cg, sg = math.cos(gamma[i]), math.sin(gamma[i])
        r00, r01, r02, r10, r11, r12, r20, r21, r22 = zyz_matrix(ca, sa, cb, sb, cg, sg)
        for j in range(m):
            x = v[i, j, 1]
            y = v[i, j, 2]
            z = v[i, j, 3]
            out[i, j, 0] = v[i, j, 0]
            out[i, j, 1] = r00 * x + r01 * y + r02 * z
            out[i, j, 2] = r10 * x + r11 * y + r12 * z
            out[i, j, 3] = r20 * x + r21 * y + r22 * z
    return out


@kernel
def _direction_about_axis_kernel(axis, cos_theta, phi):
    """Unit vectors at polar angle theta, azimuth phi around the unit vectors axis (n, 3)."""
    n = axis.shape[0]
    out = np.empty((n, 3))
    for i in range(n):
        ax, ay, az = axis[i, 0], axis[i, 1], axis[i, 2]
        # helper vector not parallel to the axis, then Gram-Schmidt: e1 _|_ axis, e2 = axis x e1
        if abs(ax) < 0.9:
            hx, hy, hz = 1.0, 0.0, 0.0
        else:
            hx, hy, hz = 0.0, 1.0, 0.0
        d = hx * ax + hy * ay + hz * az
        e1x, e1y, e1z = hx - d * ax, hy - d * ay, hz - d * az
        nrm = math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z)
        e1x, e1y, e1z = e1x / nrm, e1y / nrm, e1z / nrm
        e2x = ay * e1z - az * e1y
        e2y = az * e1x - ax * e1z
        e2z = ax * e1y - ay * e1x
        c = cos_theta[i]
        s = math.sqrt(max(0.0, 1.0 - c * c))
        cp, sp = math.cos(phi[i]), math.sin(phi[i])
        out[i, 0] = c * ax + s * (cp * e1x + sp * e2x)
        out[i, 1] = c * ay + s * (cp * e1y + sp * e2y)
        out[i, 2] = c * az + s * (cp * e1z + sp * e2z)
    return out


# ------------------------------------------------------------------------------------------ wrappers


def _as_many(k: np.ndarray) -> tuple[np.ndarray, bool]:
    k = np.ascontiguousarray(k, dtype=np.float64)
    if k.ndim == 2:
        return k[:, None, :], True
    if k.ndim != 3 or k.shape[-1] != 4:
        msg = f"four-vectors must have shape (n, 4) or (n, m, 4), got {k.shape}"
        raise ValueError(msg)
    return k, False


def _mass_arg(mass, n: int) -> np.ndarray:
    if mass is None:
        return np.empty(0)
    return np.ascontiguousarray(np.broadcast_to(np.asarray(mass, dtype=np.float64), (n,)))


def boost_to_lab(k: np.ndarray, P: np.ndarray, mass=None) -> np.ndarray:
    """Boost four-vectors from the rest frame of P to the frame in which P is given.

    k : (n, 4) or (n, m, 4) four-vectors in the rest frame of P (GeV, or cm for positions).
    P : (n, 4) four-momentum of the frame (GeV), time-like.
    mass : rest mass of P in GeV (scalar or (n,)); default sqrt(P.P). Giving the known mass avoids the
        E^2 - |p|^2 cancellation (relative error ~ gamma^2 eps) and maps (mass, 0, 0, 0) to P exactly,
        so daughters built at rest conserve four-momentum to rounding for any boost.
    Returns an array shaped like k (same unit). The rest frame is reached from the lab by a pure
    boost (no rotation), so its axes are parallel to the lab axes.
    """
    kk, single = _as_many(k)
    out = _boost_kernel(kk, np.ascontiguousarray(P, dtype=np.float64), _mass_arg(mass, kk.shape[0]), 1.0)
    return out[:, 0, :] if single else out


def boost_to_rest(k: np.ndarray, P: np.ndarray, mass=None) -> np.ndarray:
    """Inverse of :func:`boost_to_lab`: four-vectors k (GeV) given in the lab, returned in the rest frame of P.

    mass : rest mass of P in GeV (scalar or (n,)); default sqrt(P.P).
    """
    kk, single = _as_many(k)
    out = _boost_kernel(kk, np.ascontiguousarray(P, dtype=np.float64), _mass_arg(mass, kk.shape[0]), -1.0)
    return out[:, 0, :] if single else out


def rotate_zyz(v: np.ndarray, alpha: np.ndarray, beta: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """Rotate the 3-vector part of four-vectors v ((n, 4) or (n, m, 4), any unit) by Euler angles (rad).

    R = Rz(alpha) Ry(beta) Rz(gamma) per event; uniform alpha, gamma in [0, 2 pi) and cos(beta) in
    [-1, 1] give Haar-uniform random rotations.
    """
    vv, single = _as_many(v)
    out = _rotate_zyz_kernel(
        vv,
        np.ascontiguousarray(alpha, dtype=np.float64),
        np.ascontiguousarray(beta, dtype=np.float64),
        np.ascontiguousarray(gamma, dtype=np.float64),
    )
    return out[:, 0, :] if single else out


def direction_about_axis(axis: np.ndarray, cos_theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Unit 3-vectors (n, 3) at polar angle acos(cos_theta) and azimuth phi (rad) about unit vectors axis (n, 3)."""
    return _direction_about_axis_kernel(
        np.ascontiguousarray(axis, dtype=np.float64),
        np.ascontiguousarray(cos_theta, dtype=np.float64),
        np.ascontiguousarray(phi, dtype=np.float64),
    )


def mdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minkowski product a.b = a0 b0 - a.b over the last axis (GeV^2 for momenta)."""
    return a[..., 0] * b[..., 0] - a[..., 1] * b[..., 1] - a[..., 2] * b[..., 2] - a[..., 3] * b[..., 3]


def invariant_mass(p: np.ndarray) -> np.ndarray:
    """sqrt(max(p.p, 0)) over the last axis, GeV."""
    return np.sqrt(np.clip(mdot(p, p), 0.0, None))


def unit3(p: np.ndarray) -> np.ndarray:
    """Unit 3-vectors (..., 3) along the spatial part of four-vectors p (..., 4); zero vectors stay zero."""
    v = p[..., 1:4]
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v), where=n > 0)


def mass2(p: np.ndarray) -> np.ndarray:
    """Minkowski square p.p = E^2 - |p|^2 over the last axis of four-vectors (..., 4) (GeV^2; may be < 0)."""
    p = np.asarray(p, dtype=float)
    return mdot(p, p)


def norm3(v: np.ndarray) -> np.ndarray:
    """Euclidean norm of 3-vectors (..., 3) (unit of the input, e.g. cm or GeV)."""
    v = np.asarray(v, dtype=float)
    return np.sqrt(np.einsum("...i,...i->...", v, v))


def direction3(v: np.ndarray) -> np.ndarray:
    """Unit vectors (..., 3) along 3-vectors v (..., 3); zero vectors map to +z (the beam axis).

    (:func:`unit3` takes four-vectors and leaves zero vectors at zero.)
    """
    v = np.asarray(v, dtype=float)
    n = norm3(v)
    out = np.zeros_like(v)
    ok = n > 0
    out[ok] = v[ok] / n[ok][..., None]
    out[~ok] = (0.0, 0.0, 1.0)
    return out


def cos_angle3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of the angle between 3-vectors a and b (..., 3), clipped to [-1, 1]; 1 when either is zero."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.einsum("...i,...i->...", a, b) / (norm3(a) * norm3(b))
    return np.clip(np.nan_to_num(c, nan=1.0), -1.0, 1.0)


def cos_theta_z(v: np.ndarray) -> np.ndarray:
    """Cosine of the polar angle to +z (the beam axis) of 3-vectors v (..., 3); 1 for zero vectors."""
    v = np.asarray(v, dtype=float)
    return cos_angle3(v, np.broadcast_to(np.array([0.0, 0.0, 1.0]), v.shape))


def opening_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (rad) between the 3-momenta of four-vectors a and b (..., 4), computed with atan2 (stable at 0)."""
    va, vb = a[..., 1:4], b[..., 1:4]
    cross = np.linalg.norm(np.cross(va, vb), axis=-1)
    dot = np.sum(va * vb, axis=-1)
    return np.arctan2(cross, dot)


__all__ = [
    "boost_to_lab",
    "boost_to_rest",
    "cos_angle3",
    "cos_theta_z",
    "direction3",
    "direction_about_axis",
    "invariant_mass",
    "mass2",
    "mdot",
    "norm3",
    "opening_angle",
    "rotate_zyz",
    "unit3",
]
