"""Pure kinematics kernels used by the detector modules (arrays in, arrays out; events first).

Four-vectors are ``(..., 4)`` arrays ``[E, px, py, pz]`` in GeV; three-vectors ``(..., 3)``.
Nothing here knows about detectors, cards or random generators.
"""

from __future__ import annotations

import numpy as np

from generator.constants import M_E, M_NEUTRON, M_PROTON


def p3(p4: np.ndarray) -> np.ndarray:
    """Three-momentum (..., 3) of four-vectors (..., 4); GeV."""
    return np.asarray(p4)[..., 1:4]


def norm3(v: np.ndarray) -> np.ndarray:
    """Euclidean norm of (..., 3) vectors (unit of the input)."""
    v = np.asarray(v)
    return np.sqrt(np.einsum("...i,...i->...", v, v))


def unit3(v: np.ndarray) -> np.ndarray:
    """Unit vectors (..., 3) along v; zero vectors map to +z (the beam axis)."""
    v = np.asarray(v, dtype=float)
    n = norm3(v)
    out = np.zeros_like(v)
    ok = n > 0
    out[ok] = v[ok] / n[ok][..., None]
    out[~ok] = (0.0, 0.0, 1.0)
    return out


def mass2(p4: np.ndarray) -> np.ndarray:
    """Minkowski square p.p = E^2 - |p|^2 (GeV^2) of (..., 4) four-vectors (metric +---)."""
    p4 = np.asarray(p4)
    return p4[..., 0] ** 2 - np.einsum("...i,...i->...", p4[..., 1:], p4[..., 1:])


def mass(p4: np.ndarray) -> np.ndarray:
    """Invariant mass sqrt(max(p.p, 0)) in GeV."""
    return np.sqrt(np.clip(mass2(p4), 0.0, None))


def cos_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of the angle between (..., 3) vectors a and b (clipped to [-1, 1])."""
    na, nb = norm3(a), norm3(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.einsum("...i,...i->...", a, b) / (na * nb)
    return np.clip(np.nan_to_num(c, nan=1.0), -1.0, 1.0)


def opening_angle(p4a: np.ndarray, p4b: np.ndarray) -> np.ndarray:
    """Opening angle (rad) between the three-momenta of two (..., 4) four-vectors."""
    return np.arccos(cos_angle(p3(p4a), p3(p4b)))


def cos_theta_z(v: np.ndarray) -> np.ndarray:
    """cos of the polar angle with respect to +z (the beam axis) of (..., 3) vectors."""
    return cos_angle(v, np.broadcast_to(np.array([0.0, 0.0, 1.0]), np.shape(v)))


def boost(p4: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Lorentz boost of four-vectors p4 (n, 4) into a frame moving with velocity beta (n, 3).

    Standard passive boost (Jackson, Classical Electrodynamics, Eq. 11.19):
    E' = gamma (E - beta.p),  p' = p + [(gamma - 1)(beta.p)/beta^2 - gamma E] beta.
    Units: GeV in and out; beta dimensionless (|beta| < 1).
    """
    p4 = np.asarray(p4, dtype=float)
    beta = np.asarray(beta, dtype=float)
    b2 = np.einsum("...i,...i->...", beta, beta)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.einsum("...i,...i->...", beta, p4[..., 1:])
    with np.errstate(invalid="ignore", divide="ignore"):
        coef = np.where(b2 > 0, (gamma - 1.0) * bp / np.where(b2 > 0, b2, 1.0), 0.0) - gamma * p4[..., 0]
    out = np.empty_like(p4)
    out[..., 0] = gamma * (p4[..., 0] - bp)
    out[..., 1:] = p4[..., 1:] + coef[..., None] * beta
    return out


def beta_of(p4: np.ndarray) -> np.ndarray:
    """Velocity beta = p/E (n, 3) of the system with four-momentum p4 (n, 4)."""
    p4 = np.asarray(p4, dtype=float)
    return p4[..., 1:] / p4[..., :1]


def enu_qe(E_l: np.ndarray, cos_theta: np.ndarray, m_l: float = M_E, E_B: float = 0.034,
           m_n: float = M_NEUTRON, m_p: float = M_PROTON) -> np.ndarray:
    """Reconstructed CCQE neutrino energy (GeV) from the lepton energy E_l (GeV) and cos(theta_l).

    MiniBooNE, Aguilar-Arevalo et al., PRD 81, 092005 (2010), Eq. (1) (also PRL 98, 231801 (2007)):
        E_nu^QE = [2 (m_n - E_B) E_l - ((m_n - E_B)^2 + m_l^2 - m_p^2)]
                  / [2 ((m_n - E_B) - E_l + p_l cos(theta_l))],
    with binding energy E_B = 34 MeV for carbon (GeV here), lepton mass m_l (GeV), nucleon masses
    m_n, m_p (GeV). For E_B = 0 it is the exact two-body result for nu n -> l p on a neutron at rest.
    """
    E_l = np.asarray(E_l, dtype=float)
    p_l = np.sqrt(np.clip(E_l**2 - m_l**2, 0.0, None))
    mn = m_n - E_B
    num = 2.0 * mn * E_l - (mn**2 + m_l**2 - m_p**2)
    den = 2.0 * (mn - E_l + p_l * np.asarray(cos_theta, dtype=float))
    return num / den
