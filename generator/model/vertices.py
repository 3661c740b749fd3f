"""Vertex matrices and Feynman-rule couplings of the neutrino mass eigenstates: the one home of both conventions.

Units: couplings and vertex matrices are dimensionless; masses (via the Spectrum) in GeV.

Vertex matrices (hermitian, mass basis; Eqs. 3, A2, A3, B4 of the paper):

- Z' on the neutrino line: g_X V + g/(2 c_W) (m_Z'/m_Z)^2 chi C  (:func:`zprime_neutrino_matrix`);
- Z on the neutrino line: g/(2 c_W) C + g_X s_W chi V            (:func:`z_neutrino_matrix`);
- W (Fierz-rearranged charged current) of flavour alpha: C^alpha_jk = U_alpha j^* U_alpha k  (:func:`c_alpha`);
- phi': the symmetric matrix S of the Spectrum.

Feynman rules
-------------
A vector V couples as V_mu fbar_j gamma^mu (a_L P_L + a_R P_R) f_i. For Majorana mass eigenstates the neutral
currents of Eq. (A2) with a hermitian vertex matrix X give, for the transition i -> j,

    a_L = g X_ji ,   a_R = -g X_ji^*                                     (:func:`majorana_vector_couplings`)

(collect the (i, j) and (j, i) terms with Psibar_j gamma P_L Psi_i = -Psibar_i gamma P_R Psi_j; Eq. A2 read with
V^dagger -> V^T). Two Majorana states of opposite CP parity (X_ji imaginary) couple through a pure vector
current, as the two halves of a Dirac fermion must; same CP parity gives a pure axial current (identical pairs get
the phase-space factor 1/2). This is convention "majorana" (default).

Convention "paper": the paper's Tables I/II (B(Z' -> N_j N_k), c tau^0 of N_5, N_6) are reproduced only with a pure
axial coupling of strength |X_ji| for every pair, i.e. a_R = -a_L = -g X_ji, and no 1/2 for identical pairs. In
BP-A..C, N_5 has the opposite CP parity to N_4 and N_6 (V_45, V_56 imaginary), so the physical couplings are vector
and c tau^0(N_5), c tau^0(N_6) come out ~3 times longer than in the tables
(numbers in tests/model/test_model_widths.py).

The scalar phi' couples as phi' nbar_j (y_L P_L + y_R P_R) n_i with y_L = S_ji / sqrt 2, y_R = S_ji^* / sqrt 2
(Eq. A2, S symmetric; both orderings of the Majorana pair added).
"""

from __future__ import annotations

import math

import numpy as np

from generator import constants as const
from generator.errors import UnknownNameError
from generator.model import couplings as cpl
from generator.model.spectrum import Spectrum

__all__ = [
    "CONVENTIONS",
    "c_alpha",
    "majorana_scalar_couplings",
    "majorana_scalar_vertex",
    "majorana_vector_couplings",
    "majorana_vector_vertex",
    "vector_vertex",
    "z_neutrino_matrix",
    "zprime_neutrino_matrix",
]

#: vertex conventions: "majorana" (physical, default) and "paper" (reproduces Tables I/II, see module docstring).
CONVENTIONS = ("majorana", "paper")


# ------------------------------------------------------------------------------------------ vertex matrices
def zprime_neutrino_matrix(spec: Spectrum) -> np.ndarray:
    """Hermitian Z' vertex matrix (dimensionless) on the neutrino line: g_X V + g/(2 c_W)(m_Z'/m_Z)^2 chi C
    (Eqs. 3, A2, A3), for the parameters ``spec.params`` of the Spectrum."""
    p = spec.params
    return p.g_X * spec.V + cpl.zprime_nc_coupling(p) * spec.C


def z_neutrino_matrix(spec: Spectrum) -> np.ndarray:
    """Hermitian SM-Z vertex matrix (dimensionless) on the neutrino line: g/(2 c_W) C + g_X s_W chi V (Eqs. A2, B4)."""
    return const.G_WEAK / (2.0 * const.CW) * spec.C + cpl.z_dark_coupling(spec.params) * spec.V


def c_alpha(spec: Spectrum, lep: str) -> np.ndarray | None:
    """Flavour-projected hermitian matrix C^alpha_jk = U_alpha j^* U_alpha k (dimensionless) of flavour ``lep``
    ("e", "mu", "tau"), or None if alpha is not in the model (W exchange, Eq. A2)."""
    if lep not in spec.params.flavours:
        return None
    u = spec.U_flavour(lep)
    return np.outer(u.conj(), u)


# ------------------------------------------------------------------------------------------ Feynman rules
def majorana_vector_couplings(g: float, X: np.ndarray, i: int, j: int) -> tuple[complex, complex]:
    """(g_L, g_R) of the vertex nubar_i gamma^mu (g_L P_L + g_R P_R) nu_j of a vector to Majorana states.

    X is a hermitian vertex matrix (V or C of Eq. A3), g the overall coupling (g_X for the Z' dark current);
    dimensionless. Derivation: with two-component spinors and n = U chi, the Dirac current is
    sum_ij X_ij chi_i^dag sigmabar chi_j, and chi_i^dag sigmabar chi_j = Psibar_i gamma P_L Psi_j =
    -Psibar_j gamma P_R Psi_i for Majorana Psi_k. Collecting the (i, j) and (j, i) terms gives
    g gamma^mu (X_ij P_L - X_ij^* P_R) (Eq. A2 with X^dagger read as X^T): axial for real X_ij, vector for imaginary
    X_ij (opposite CP parities; two degenerate Majorana states of a Dirac fermion have X_12 = i and couple as a
    vector, as they must). For i == j the 1/2 of Eq. A2 cancels against the two Wick contractions; phase space
    then carries 1/2 for the identical pair.
    """
    x = complex(X[i, j])
    return g * x, -g * x.conjugate()


#: (a_L, a_R) of nbar_j gamma^mu (a_L P_L + a_R P_R) n_i: a_L = g X_ji, a_R = -g X_ji^* (physical Majorana vertex).
majorana_vector_vertex = majorana_vector_couplings


def vector_vertex(g: float, X: np.ndarray, j: int, i: int, convention: str = "majorana") -> tuple[complex, complex]:
    """(a_L, a_R) for nbar_j gamma (a_L P_L + a_R P_R) n_i in the chosen convention (dimensionless).

    "majorana": :func:`majorana_vector_couplings`, a_R = -g X_ji^* (physical).
    "paper": a_R = -a_L = -g X_ji, a pure axial coupling of strength |X_ji| whatever the relative CP parity of the
    pair; with no 1/2 for identical pairs this reproduces B(Z' -> N_j N_k) and c tau^0 of Tables I/II
    (tests/model/test_model_widths.py).
    """
    if convention == "majorana":
        return majorana_vector_couplings(g, X, j, i)
    if convention == "paper":
        x = complex(X[j, i])
        return g * x, -g * x
    raise UnknownNameError("vertex convention", convention, CONVENTIONS)


def majorana_scalar_vertex(S: np.ndarray, j: int, i: int) -> tuple[complex, complex]:
    """(y_L, y_R) of phi' nbar_j (y_L P_L + y_R P_R) n_i from phi' nbar (S P_L + S^dag P_R)/(2 sqrt 2) n (Eq. A2).

    y_L = S_ji / sqrt 2, y_R = S_ji^* / sqrt 2 (S symmetric, both orderings added). Dimensionless.
    """
    s = complex(S[j, i])
    return s / math.sqrt(2.0), s.conjugate() / math.sqrt(2.0)


def majorana_scalar_couplings(X: np.ndarray, i: int, j: int) -> tuple[complex, complex]:
    """(y_L, y_R) of phi' (or h) to (N_i, N_j) from phi nubar (X P_L + X^dag P_R)/(2 sqrt 2) nu; dimensionless.

    Both orderings add for Majorana fields: y_L = X_ij / sqrt(2), y_R = X_ji^* / sqrt(2) (Eq. A2). For a symmetric
    X this equals :func:`majorana_scalar_vertex` (X, i, j); kept for callers that index (i, j) with numpy scalars.
    """
    return X[i, j] / math.sqrt(2.0), np.conj(X[j, i]) / math.sqrt(2.0)
