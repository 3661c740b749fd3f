"""Neutrino mass matrix (Eq. 2 / A1), its Takagi factorisation and the vertex matrices (Eq. A3).

Conventions
-----------
Flavour basis (Eq. A1): nu_f = (nu_alpha^c, nu_N^c, nu_DL^c, nu_DR). The symmetric mass matrix M is
factorised as U^T M U = diag(m_1 <= m_2 <= ...), m_i >= 0, U unitary (Takagi), so that the flavour
fields are nu_f = U nu_m. Rows of U are flavours, columns mass eigenstates; the sub-blocks U_alpha,
U_N, U_DL, U_DR are row blocks, as in the paper's U = (U_alpha U_N U_DL U_DR)^T.
Mass eigenstates: the n_active lightest are named nu_(4-n_active) .. nu_3 (nu_3 for one flavour;
nu_2, nu_3 for two), the rest N_4, N_5, ... All masses in GeV.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from generator.errors import UnknownNameError
from generator.model.parameters import ModelParameters
from generator.particles import hnl_name


def build_mass_matrix(p: ModelParameters) -> np.ndarray:
    """Full (n_active + n + 2d) square symmetric mass matrix of Eq. (2)/(A1), GeV."""
    na, n, d = p.n_active, p.n_sterile, p.n_dark
    dim = na + n + 2 * d
    M = np.zeros((dim, dim), dtype=complex)
    a, s, dl, dr = slice(0, na), slice(na, na + n), slice(na + n, na + n + d), slice(na + n + d, dim)
    M[a, s] = p.M_D
    M[s, a] = p.M_D.T
    M[s, s] = np.diag(p.M_N)
    M[s, dl] = p.Lambda_L
    M[dl, s] = p.Lambda_L.T
    M[s, dr] = p.Lambda_R
    M[dr, s] = p.Lambda_R.T
    M[dl, dr] = np.diag(p.M_X)
    M[dr, dl] = np.diag(p.M_X)
    return M


#: masses below this fraction of the largest one are re-factorised at their own scale (seesaw hierarchies).
LIGHT_BLOCK_RATIO = 1e-6


def takagi(M: np.ndarray, zero_tol: float = 1e-13, refine: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Takagi factorisation of a complex symmetric matrix: U^T M U = diag(m), m >= 0 ascending.

    Method: for M = B + iC (B, C real symmetric), u = x + i y with M u* = m u is equivalent to the
    real symmetric eigenproblem [[B, C], [C, -B]] (x, y) = m (x, y), whose spectrum is {+m_i, -m_i}.
    The n largest eigenpairs give W = (u_1 ...), M = W diag(m) W^T, and U = W*; eigenvectors of distinct
    eigenvalues of a real symmetric matrix are orthogonal, which makes the complex columns orthonormal,
    degenerate masses included. For
    (numerically) zero masses the +0/-0 pairs mix, so that cluster is re-orthonormalised in C^n by
    an SVD of all its vectors. A final phase rotation makes every diagonal entry real and >= 0.

    Parameters
    ----------
    M : (n, n) complex symmetric matrix (GeV).
    zero_tol : masses below zero_tol * max(m) are treated as an exactly degenerate zero cluster.
    refine : re-factorise the block of masses below LIGHT_BLOCK_RATIO * max(m) (the light neutrinos of a seesaw)
        on its own scale, so that their mixing is accurate relative to their own masses, not to the largest one.

    Returns
    -------
    m : (n,) non-negative masses, ascending (GeV).
    U : (n, n) unitary, with U.T @ M @ U = diag(m).
    """
    M = np.asarray(M, dtype=complex)
    n = M.shape[0]
    if M.shape != (n, n):
        msg = f"takagi needs a square matrix, got shape {M.shape}"
        raise ValueError(msg)
    if not np.allclose(M, M.T, rtol=0, atol=1e-14 * max(1.0, np.abs(M).max())):
        raise ValueError("takagi needs a symmetric matrix (M == M.T)")
    B, C = M.real, M.imag
    big = np.block([[B, C], [C, -B]])
    w, vecs = np.linalg.eigh(big)
    scale = max(np.abs(w).max(), np.finfo(float).tiny)
    order = np.argsort(w)[::-1]  # descending
    w, vecs = w[order], vecs[:, order]
    # (x, y) solves M u* = m u for u = x + i y, i.e. M = W diag(m) W^T with W = (u ...); the Takagi
    # matrix with U^T M U = diag(m) is U = W*.
    cvecs = vecs[:n] - 1j * vecs[n:]
    is_zero = np.abs(w) <= zero_tol * scale
    n_pos = int(np.sum(w > zero_tol * scale))
    cols = [cvecs[:, i] for i in range(n_pos)]
    n_zero = n - n_pos
    if n_zero > 0:
        zero_block = cvecs[:, is_zero]
        # project out the positive-mass directions, then keep an orthonormal basis of the span
        pos = np.array(cols).T if cols else np.zeros((n, 0))
        zero_block = zero_block - pos @ (pos.conj().T @ zero_block)
        uz, _sz, _ = np.linalg.svd(zero_block, full_matrices=False)
        cols.extend(uz[:, k] for k in range(n_zero))
    U = np.array(cols).T
    # Eigenvectors of tiny masses (m << max m) are only accurate to ~eps max(m)/gap; replace U by the closest
    # unitary matrix (polar decomposition, U = W S V^dagger -> W V^dagger) so that unitarity holds to rounding.
    w_, _, vh_ = np.linalg.svd(U)
    U = w_ @ vh_
    # phase fix: make diag(U^T M U) real and non-negative
    diag = np.einsum("ji,jk,ki->i", U, M, U)
    U = U * np.exp(-0.5j * np.angle(diag))[None, :]
    m = np.real(np.einsum("ji,jk,ki->i", U, M, U))
    m = np.where(m < 0, 0.0, m)
    light = np.flatnonzero(m < LIGHT_BLOCK_RATIO * max(m.max(), np.finfo(float).tiny))
    if refine and len(light) >= 2 and len(light) < n:
        # the rotated matrix U^T M U is diagonal up to ~eps max(m): factorise its light block exactly
        D = U.T @ M @ U
        sub = D[np.ix_(light, light)]
        _, T = takagi(0.5 * (sub + sub.T), zero_tol, refine=False)
        U[:, light] = U[:, light] @ T
        m = np.real(np.einsum("ji,jk,ki->i", U, M, U))
        m = np.where(m < 0, 0.0, m)
    asc = np.argsort(m, kind="stable")
    return m[asc], U[:, asc]


@dataclass(frozen=True)
class Spectrum:
    """Mass eigenstates, mixing matrix and vertex matrices of a parameter point.

    Index convention: mass-basis index i = 0 .. dim-1, ascending masses. ``names[i]`` gives
    "nu3" / "N4" style labels; ``index("N5")`` maps back.
    """

    params: ModelParameters

    # ------------------------------------------------------------------ diagonalisation
    @cached_property
    def mass_matrix(self) -> np.ndarray:
        """Flavour-basis mass matrix (GeV)."""
        return build_mass_matrix(self.params)

    @cached_property
    def _takagi(self) -> tuple[np.ndarray, np.ndarray]:
        return takagi(self.mass_matrix)

    @property
    def masses(self) -> np.ndarray:
        """Mass eigenvalues in GeV, ascending (light neutrinos first)."""
        return self._takagi[0]

    @property
    def U(self) -> np.ndarray:
        """Unitary mixing matrix (flavour rows x mass columns), U^T M U = diag(masses)."""
        return self._takagi[1]

    @property
    def dim(self) -> int:
        return self.mass_matrix.shape[0]

    @cached_property
    def names(self) -> tuple[str, ...]:
        na = self.params.n_active
        light = [f"nu{4 - na + i}" for i in range(na)]
        heavy = [hnl_name(4 + i) for i in range(self.dim - na)]
        return tuple(light + heavy)

    def index(self, name: str) -> int:
        """Mass-basis index of a state named like 'nu3' or 'N5'."""
        try:
            return self.names.index(name)
        except ValueError:
            raise UnknownNameError("mass eigenstate", name, self.names) from None

    def mass(self, name: str) -> float:
        """Mass of a named eigenstate in GeV."""
        return float(self.masses[self.index(name)])

    @property
    def n_light(self) -> int:
        return self.params.n_active

    @property
    def heavy_names(self) -> tuple[str, ...]:
        return self.names[self.n_light :]

    # ------------------------------------------------------------------ sub-blocks
    @property
    def _slices(self):
        na, n, d = self.params.n_active, self.params.n_sterile, self.params.n_dark
        return (slice(0, na), slice(na, na + n), slice(na + n, na + n + d), slice(na + n + d, na + n + 2 * d))

    @property
    def U_alpha(self) -> np.ndarray:
        """Active-flavour rows (n_active x dim), in the order of params.flavours."""
        return self.U[self._slices[0]]

    @property
    def U_N(self) -> np.ndarray:
        """Sterile rows (n x dim)."""
        return self.U[self._slices[1]]

    @property
    def U_DL(self) -> np.ndarray:
        """Dark left-handed rows (d x dim)."""
        return self.U[self._slices[2]]

    @property
    def U_DR(self) -> np.ndarray:
        """Dark right-handed rows (d x dim)."""
        return self.U[self._slices[3]]

    def U_flavour(self, flavour: str) -> np.ndarray:
        """Row U_{alpha j} for an active flavour ("e", "mu", "tau"), shape (dim,)."""
        fl = self.params.flavours
        if flavour not in fl:
            return np.zeros(self.dim, dtype=complex)
        return self.U_alpha[fl.index(flavour)]

    # ------------------------------------------------------------------ vertex matrices (Eq. A3)
    @cached_property
    def C(self) -> np.ndarray:
        """Z^0 vertex, C = U_alpha^dagger U_alpha (dim x dim)."""
        return self.U_alpha.conj().T @ self.U_alpha

    @cached_property
    def V(self) -> np.ndarray:
        """Dark-current vertex, V = U_DL^dagger U_DL - U_DR^dagger U_DR (hermitian, dim x dim)."""
        return self.U_DL.conj().T @ self.U_DL - self.U_DR.conj().T @ self.U_DR

    @cached_property
    def H(self) -> np.ndarray:
        """Higgs vertex, H = U_N^T Y^T U_alpha + (.)^T (Eq. A3; Y here is n_active x n)."""
        a = self.U_N.T @ self.params.Y.T @ self.U_alpha
        return a + a.T

    @cached_property
    def S(self) -> np.ndarray:
        """Dark-scalar vertex, S = U_N^T (Y_L U_DL + Y_R U_DR) + (.)^T (Eq. A3)."""
        p = self.params
        a = self.U_N.T @ (p.Y_L @ self.U_DL + p.Y_R @ self.U_DR)
        return a + a.T

    # ------------------------------------------------------------------ convenience
    def V2(self, i: str, j: str) -> float:
        """|V_ij|^2 for named states."""
        return float(abs(self.V[self.index(i), self.index(j)]) ** 2)

    def S2(self, i: str, j: str) -> float:
        """|S_ij|^2 for named states."""
        return float(abs(self.S[self.index(i), self.index(j)]) ** 2)

    def U2(self, flavour: str, j: str) -> float:
        """|U_{alpha j}|^2 for an active flavour and a named state."""
        return float(abs(self.U_flavour(flavour)[self.index(j)]) ** 2)

    @property
    def nu_light(self) -> str:
        """Name of the heaviest light neutrino (nu3), the one the paper's V_j3 refer to."""
        return self.names[self.n_light - 1]
