"""Denominator D of a massive vector propagator 1/D (Z', Z, W) in every regime: the one home of the width prescription.

Two regimes, two functions (q^2 in GeV^2, masses and widths in GeV, D in GeV^2):

1. Virtual mediators below or away from their pole -- HNL three-body decays N_i -> N_j f fbar (timelike,
   q^2 <= (m_i - m_j)^2 < m_Z'^2 because the on-shell N_i -> N_j Z' channel replaces the three-body one when it is
   open) and t-channel upscattering (spacelike): :func:`denominator` / :func:`denominator_kernel` with the running
   ("s-dependent") width of a vector decaying to fermion pairs, Gamma(M) = Gamma_0 M / m:

       D(q^2) = q^2 - m^2 + i theta(q^2) sqrt(q^2) Gamma(sqrt(q^2)) = q^2 - m^2 + i theta(q^2) q^2 Gamma_0 / m.

   This is the imaginary part of the resummed one-loop fermion self-energy, Im Pi(q^2) = q^2 Gamma_0 / m (the
   prescription of the LEP Z line shape: Bardin, Leike, Riemann, Sachwitz, Phys. Lett. B 206 (1988) 539; PDG review
   "Z boson"). It vanishes for spacelike q^2 and at q^2 = 0, the threshold of the lightest Z' channel (nu nu, always
   open), and equals m Gamma_0 at the pole. Far off shell (q^2 below 0.01 GeV^2 against m_Z'^2 = 1.56 GeV^2) the rate
   differs from the contact limit by (q^2 Gamma_0 / (m (m^2 - q^2)))^2 < 1e-8 instead of (Gamma_0/m)^2 ~ 1e-2 for a
   constant width. Channels with thresholds above q^2 = 0 make the true Gamma(sqrt(q^2)) smaller than this form;
   the difference only matters where the width term does, within O(Gamma) of the pole, which three-body decays
   reach only when m_i - m_j is within O(Gamma_Z') of m_Z'.

2. s-channel production at the pole -- e+ e- -> Z'* -> X (any sqrt(s)) and vector-meson mixing
   (q^2 = M_V^2): :func:`breit_wigner`, the constant-width Breit-Wigner D = s - m^2 + i m Gamma_0 (paper Eq. B12;
   PDG review "Kinematics", resonances). At and near the pole it is the standard line shape (unchanged by the
   running width above, which would move it by O(Gamma/m) within a few widths). Far from the pole its width term
   changes |D|^2 by (Gamma_0/m)^2 / (s/m^2 - 1)^2, 1.3e-5 at Belle II (sqrt(s) = 10.58 GeV, m_Z' = 1.25 GeV) for the
   widest benchmark (Gamma_0/m = 0.25): the tree-level zero-width propagator to that precision.

The three-body kernels (generator.model.three_body) call :func:`denominator_kernel`; generator.physics.ee and
generator.physics.meson call :func:`breit_wigner`. The upscattering kernel (generator.physics.upscattering) is
spacelike only, where :func:`denominator` is the real -(Q^2 + m^2) it uses
(checked in tests/model/test_model_propagator.py).
"""

from __future__ import annotations

import numpy as np

from generator.kernels import kernel

__all__ = ["breit_wigner", "denominator", "denominator_kernel", "width_term"]


def width_term(q2, m, width):
    """Im D(q^2) = theta(q^2) q^2 Gamma / m in GeV^2 (module docstring); q2 in GeV^2, m and width in GeV.

    Scalars or broadcastable arrays; zero for spacelike or zero q^2 and for zero width.
    """
    q2 = np.asarray(q2, dtype=float)
    m = np.asarray(m, dtype=float)
    return np.where(q2 > 0.0, q2, 0.0) * np.asarray(width, dtype=float) / m


def denominator(q2, m, width):
    """Complex propagator denominator D = q^2 - m^2 + i Im D(q^2) in GeV^2 (numpy, broadcasting).

    q2 : GeV^2 (any sign); m : mediator mass in GeV (> 0); width : its on-shell total width in GeV.
    """
    q2 = np.asarray(q2, dtype=float)
    m = np.asarray(m, dtype=float)
    return (q2 - m * m) + 1j * width_term(q2, m, width)


@kernel(inline="always")
def denominator_kernel(q2, m, width):
    """Scalar numba form of :func:`denominator` (q2 in GeV^2, m and width in GeV; returns complex GeV^2)."""
    im = q2 * width / m if q2 > 0.0 else 0.0
    return complex(q2 - m * m, im)


def breit_wigner(s, m, width):
    """Constant-width Breit-Wigner denominator D = s - m^2 + i m Gamma in GeV^2 (numpy, broadcasting).

    For s-channel production (regime 2 of the module docstring). s : GeV^2; m, width : mediator mass and on-shell
    total width in GeV.
    """
    s = np.asarray(s, dtype=float)
    m = np.asarray(m, dtype=float)
    return (s - m * m) + 1j * m * np.asarray(width, dtype=float)
