"""Detector-specific kinematics: the CCQE neutrino-energy reconstruction.

General Lorentz kinematics (boosts, masses, angles, directions) live in :mod:`generator.kernels.lorentz`
and the pair observables (m_ee, theta_ee) in :mod:`generator.observables`.
"""

from __future__ import annotations

import numpy as np

from generator.constants import M_E, M_NEUTRON, M_PROTON


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
