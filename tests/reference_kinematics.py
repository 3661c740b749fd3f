"""Independent reference kinematics for tests (not the package's kernels, which they check).

Units: GeV; velocities in units of c.
"""

from __future__ import annotations

import numpy as np


def boost(p4, beta):
    """Four-momenta (..., 4) = (E, px, py, pz) seen from a frame moving with velocity ``beta`` (..., 3) (Jackson,
    Classical Electrodynamics, Eq. 11.19): E' = gamma (E - beta.p), p' = p + [(gamma - 1)(beta.p)/beta^2 - gamma E]
    beta. ``boost(p, -beta)`` takes momenta from the rest frame of a body moving with ``beta`` to the lab."""
    p4, beta = np.asarray(p4, dtype=float), np.asarray(beta, dtype=float)
    b2 = np.sum(beta * beta, axis=-1)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p4[..., 1:], axis=-1)
    coef = np.where(b2 > 0, (gamma - 1.0) * bp / np.where(b2 > 0, b2, 1.0), 0.0) - gamma * p4[..., 0]
    return np.concatenate([(gamma * (p4[..., 0] - bp))[..., None], p4[..., 1:] + coef[..., None] * beta], axis=-1)


def velocity(p4):
    """Velocity p / E (..., 3) of four-momenta (..., 4)."""
    return np.asarray(p4)[..., 1:] / np.asarray(p4)[..., :1]
