"""Two-body decay sampler: M -> 1 2 at rest with the angular law 1 + alpha P cos(theta) about the spin axis.

Units: masses and momenta in GeV.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from generator.decay.three_body import SamplerStats
from generator.errors import PhysicsError
from generator.kernels.lorentz import direction_about_axis
from generator.kernels.phase_space import two_body_rest


def sample_cos_linear(a: np.ndarray, u: np.ndarray) -> np.ndarray:
    """cos(theta) in [-1, 1] from the density (1 + a cos(theta)) / 2 (|a| <= 1), by the inverse CDF.

    CDF: F(c) = (c + 1)/2 + a (c^2 - 1)/4 = u, i.e. (a/2) c^2 + c + C = 0 with C = 1 - a/2 - 2u; the root
    c = -2C / (1 + sqrt(1 - 2aC)) is stable for a -> 0 (Numerical Recipes 3rd ed., Eq. 5.6.4).
    """
    a = np.asarray(a, dtype=float)
    C = 1.0 - 0.5 * a - 2.0 * np.asarray(u, dtype=float)
    return np.clip(-2.0 * C / (1.0 + np.sqrt(np.clip(1.0 - 2.0 * a * C, 0.0, None))), -1.0, 1.0)


@dataclass
class TwoBodySampler:
    """M -> 1 2 at rest: daughter 1 at cos(theta) from (1 + alpha P cos(theta)) / 2 about the spin axis.

    Masses in GeV; alpha: asymmetry parameter (0 for scalar/vector parents or unpolarised decays).
    """

    M: float
    m1: float
    m2: float
    alpha: float = 0.0
    stats: SamplerStats = field(default_factory=SamplerStats)

    def __post_init__(self) -> None:
        if self.m1 + self.m2 > self.M:
            msg = f"two-body decay closed: M = {self.M} GeV < m1 + m2 = {self.m1 + self.m2} GeV"
            raise PhysicsError(msg)

    def sample(self, spin: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
        """n decays at rest: momenta (n, 2, 4) in GeV. spin: (n, 3) rest-frame spin vectors (|spin| = P) or None."""
        u = rng.random((2, n))
        if spin is None or self.alpha == 0.0:
            axis = np.zeros((n, 3))
            axis[:, 2] = 1.0
            pol = np.zeros(n)
        else:
            pol = np.linalg.norm(spin, axis=1)
            axis = np.where(pol[:, None] > 0, spin / np.where(pol > 0, pol, 1.0)[:, None], np.array([0.0, 0.0, 1.0]))
        cos_t = sample_cos_linear(self.alpha * pol, u[0])
        direction = direction_about_axis(axis, cos_t, 2.0 * np.pi * u[1])
        self.stats.n_candidates += n
        self.stats.n_accepted += n
        return two_body_rest(self.M, self.m1, self.m2, direction)
