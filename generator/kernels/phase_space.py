"""Two- and three-body phase space in the rest frame of the decaying particle (numba kernels).

Units: masses and four-momenta in GeV, invariant masses squared in GeV^2, angles in rad.

Three-body conventions (PDG Review "Kinematics", Sec. 49.4.3 "Three-body decays"): daughters 1, 2, 3
with m_ij^2 = (p_i + p_j)^2. At fixed (m12^2, m23^2) the rest-frame energies are

    E1 = (M^2 + m1^2 - m23^2) / (2M),   E3 = (M^2 + m3^2 - m12^2) / (2M),   E2 = M - E1 - E3,

and the phase space is flat in (m12^2, m23^2): d Gamma = |M|^2 dm12^2 dm23^2 / ((2 pi)^3 32 M^3)
(PDG Sec. 49.4.3) once the overall orientation (three Euler angles) is averaged over. Here the
decay plane is built with p1 along z and p3 in the xz plane, then rotated by R(alpha, beta, gamma)
with uniform alpha, gamma and cos(beta) (Haar measure), so uniform inputs give uniform phase space.
"""

from __future__ import annotations

import math

import numpy as np

from generator.kernels import kernel
from generator.kernels.lorentz import zyz_matrix


@kernel
def kallen(a, b, c):
    """Kallen function lambda(a, b, c) = a^2 + b^2 + c^2 - 2ab - 2ac - 2bc (arguments in GeV^2)."""
    return a * a + b * b + c * c - 2.0 * (a * b + a * c + b * c)


@kernel
def two_body_momentum(M, m1, m2):
    """Rest-frame momentum (GeV) of M -> m1 m2: sqrt(lambda(M^2, m1^2, m2^2)) / (2M) (PDG "Kinematics" Sec. 49.4.2)."""
    lam = kallen(M * M, m1 * m1, m2 * m2)
    if lam <= 0.0:
        return 0.0
    return math.sqrt(lam) / (2.0 * M)


@kernel
def _two_body_kernel(M, m1, m2, direction):
    n = direction.shape[0]
    out = np.empty((n, 2, 4))
    p = two_body_momentum(M, m1, m2)
    # PDG "Kinematics" Sec. 49.4.2: E1 = (M^2 + m1^2 - m2^2) / 2M; p2 = -p1, E2 = M - E1 (exact momentum balance)
    e1 = (M * M + m1 * m1 - m2 * m2) / (2.0 * M)
    e2 = M - e1
    for i in range(n):
        out[i, 0, 0] = e1
        out[i, 1, 0] = e2
        for a in range(3):
            out[i, 0, a + 1] = p * direction[i, a]
            out[i, 1, a + 1] = -p * direction[i, a]
    return out


@kernel
def _three_body_kernel(M, m1, m2, m3, m12sq, m23sq, alpha, cosb, gamma):
    n = m12sq.shape[0]
    out = np.zeros((n, 3, 4))
    inside = np.zeros(n, dtype=np.bool_)
    M2 = M * M
    for i in range(n):
        # PDG "Kinematics" Sec. 49.4.3: energies from the Dalitz variables; E2 from energy balance
        e1 = (M2 + m1 * m1 - m23sq[i]) / (2.0 * M)
        e3 = (M2 + m3 * m3 - m12sq[i]) / (2.0 * M)
        e2 = M - e1 - e3
        q1 = e1 * e1 - m1 * m1
        q2 = e2 * e2 - m2 * m2
        q3 = e3 * e3 - m3 * m3
        if q1 < 0.0 or q2 < 0.0 or q3 < 0.0 or e1 < m1 or e2 < m2 or e3 < m3:
            continue
        p1 = math.sqrt(q1)
        p3 = math.sqrt(q3)
        if p1 == 0.0 or p3 == 0.0:
            continue
        # momentum balance p2 = -(p1 + p3): |p2|^2 = p1^2 + p3^2 + 2 p1 p3 cos(theta_13)
        c13 = (q2 - q1 - q3) / (2.0 * p1 * p3)
        if c13 < -1.0 or c13 > 1.0:
            continue
        inside[i] = True
        s13 = math.sqrt(1.0 - c13 * c13)
        # decay plane: p1 along z, p3 in the xz plane
        v1 = (0.0, 0.0, p1)
        v3 = (p3 * s13, 0.0, p3 * c13)
        # rotation R = Rz(alpha) Ry(beta) Rz(gamma) (zyz Euler angles, active)
        ca, sa = math.cos(alpha[i]), math.sin(alpha[i])
        cb = cosb[i]
        sb = math.sqrt(max(0.0, 1.0 - cb * cb))
        cg, sg = math.cos(gamma[i]), math.sin(gamma[i])
        r00, r01, r02, r10, r11, r12, r20, r21, r22 = zyz_matrix(ca, sa, cb, sb, cg, sg)
        w1x = r00 * v1[0] + r01 * v1[1] + r02 * v1[2]
        w1y = r10 * v1[0] + r11 * v1[1] + r12 * v1[2]
        w1z = r20 * v1[0] + r21 * v1[1] + r22 * v1[2]
        w3x = r00 * v3[0] + r01 * v3[1] + r02 * v3[2]
        w3y = r10 * v3[0] + r11 * v3[1] + r12 * v3[2]
        w3z = r20 * v3[0] + r21 * v3[1] + r22 * v3[2]
        out[i, 0, 0] = e1
        out[i, 0, 1] = w1x
        out[i, 0, 2] = w1y
        out[i, 0, 3] = w1z
        out[i, 2, 0] = e3
        out[i, 2, 1] = w3x
        out[i, 2, 2] = w3y
        out[i, 2, 3] = w3z
        out[i, 1, 0] = e2
        out[i, 1, 1] = -(w1x + w3x)
        out[i, 1, 2] = -(w1y + w3y)
        out[i, 1, 3] = -(w1z + w3z)
    return out, inside


@kernel
def _discrete_kernel(cdf, u):
    n = u.shape[0]
    out = np.empty(n, dtype=np.int64)
    k = cdf.shape[0]
    for i in range(n):
        # binary search: first index with cdf[idx] > u (inverse-CDF sampling of a discrete distribution)
        lo, hi = 0, k - 1
        x = u[i]
        while lo < hi:
            mid = (lo + hi) // 2
            if cdf[mid] > x:
                hi = mid
            else:
                lo = mid + 1
        out[i] = lo
    return out


def sample_discrete(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn from a discrete distribution with cumulative probabilities cdf (k,) (last entry 1),
    for uniform numbers u (n,) in [0, 1): the first index with cdf > u (inverse CDF)."""
    return _discrete_kernel(np.ascontiguousarray(cdf, dtype=np.float64), np.ascontiguousarray(u, dtype=np.float64))


def two_body_rest(M: float, m1: float, m2: float, direction: np.ndarray) -> np.ndarray:
    """Four-momenta (n, 2, 4) in GeV of M -> m1 m2 at rest, daughter 1 along the unit vectors direction (n, 3).

    M, m1, m2 in GeV with M >= m1 + m2 (else ValueError).
    """
    if m1 + m2 > M:
        msg = f"two-body decay closed: M = {M} GeV < m1 + m2 = {m1 + m2} GeV"
        raise ValueError(msg)
    return _two_body_kernel(float(M), float(m1), float(m2), np.ascontiguousarray(direction, dtype=np.float64))


def dalitz_rectangle(M: float, m1: float, m2: float, m3: float) -> tuple[float, float, float, float]:
    """Bounding box (m12sq_lo, m12sq_hi, m23sq_lo, m23sq_hi) in GeV^2 of the Dalitz region of M -> 1 2 3."""
    return (m1 + m2) ** 2, (M - m3) ** 2, (m2 + m3) ** 2, (M - m1) ** 2


def m23sq_limits(M: float, m1: float, m2: float, m3: float, m12sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Limits (GeV^2) of m23^2 at fixed m12^2 (GeV^2), PDG "Kinematics" Sec. 49.4.3 (Dalitz plot limits).

    E2* = (m12^2 - m1^2 + m2^2) / (2 m12), E3* = (M^2 - m12^2 - m3^2) / (2 m12) (energies in the 12 rest frame);
    (m23^2)_max/min = (E2* + E3*)^2 - (sqrt(E2*^2 - m2^2) -/+ sqrt(E3*^2 - m3^2))^2.
    """
    m12sq = np.asarray(m12sq, dtype=float)
    m12 = np.sqrt(m12sq)
    e2 = (m12sq - m1**2 + m2**2) / (2.0 * m12)
    e3 = (M**2 - m12sq - m3**2) / (2.0 * m12)
    q2 = np.sqrt(np.clip(e2**2 - m2**2, 0.0, None))
    q3 = np.sqrt(np.clip(e3**2 - m3**2, 0.0, None))
    s = (e2 + e3) ** 2
    return s - (q2 + q3) ** 2, s - (q2 - q3) ** 2


def three_body_rest(
    M: float, m1: float, m2: float, m3: float,
    m12sq: np.ndarray, m23sq: np.ndarray, alpha: np.ndarray, cos_beta: np.ndarray, gamma: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Rest-frame four-momenta (n, 3, 4) in GeV of M -> 1 2 3 at Dalitz point (m12^2, m23^2) [GeV^2].

    The orientation is R = Rz(alpha) Ry(beta) Rz(gamma) applied to the plane with p1 along z and p3
    in the xz plane (angles in rad; give uniform alpha, gamma in [0, 2 pi) and cos_beta in [-1, 1]
    for isotropic decays). Returns (p, inside); rows outside the Dalitz region have inside = False and
    p = 0. Momentum balance is exact by construction (p2 = -(p1 + p3), E2 = M - E1 - E3).
    """
    f = np.ascontiguousarray
    return _three_body_kernel(
        float(M), float(m1), float(m2), float(m3),
        f(m12sq, dtype=np.float64), f(m23sq, dtype=np.float64),
        f(alpha, dtype=np.float64), f(cos_beta, dtype=np.float64), f(gamma, dtype=np.float64),
    )


def isotropic_directions(u1: np.ndarray, u2: np.ndarray) -> np.ndarray:
    """Unit vectors (n, 3) uniform on the sphere from uniform numbers u1, u2 in [0, 1):
    cos(theta) = 2u1 - 1, phi = 2 pi u2."""
    c = 2.0 * np.asarray(u1) - 1.0
    s = np.sqrt(np.clip(1.0 - c * c, 0.0, None))
    phi = 2.0 * np.pi * np.asarray(u2)
    return np.stack([s * np.cos(phi), s * np.sin(phi), c], axis=-1)


__all__ = [
    "dalitz_rectangle",
    "isotropic_directions",
    "kallen",
    "m23sq_limits",
    "sample_discrete",
    "three_body_rest",
    "two_body_momentum",
    "two_body_rest",
]
