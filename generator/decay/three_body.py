"""Three-body decay sampler: N_i -> N_j f fbar from the full |M|^2 (three_body.msq_vector), exact accept-reject
with a piecewise-constant bound on the Dalitz plane.

Units: masses, widths and momenta in GeV; |M|^2 dimensionless.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from generator.errors import PhysicsError
from generator.kernels.phase_space import dalitz_rectangle, sample_discrete, three_body_rest
from generator.model.three_body import msq_vector

#: default safety factor applied to the pre-scan maximum of |M|^2.
SAFETY_FACTOR = 1.2
#: pre-scan points per three-body channel (~ 200 per cell of the 16 x 16 bound grid).
N_PRESCAN = 50_000


def _dilate(a: np.ndarray) -> np.ndarray:
    """Maximum over each cell of a 2-D grid and its 8 neighbours."""
    p = np.pad(a, 1)
    out = a.copy()
    for di in (0, 1, 2):
        for dj in (0, 1, 2):
            out = np.maximum(out, p[di:di + a.shape[0], dj:dj + a.shape[1]])
    return out


@dataclass
class SamplerStats:
    """Accept-reject bookkeeping of one channel: candidates drawn, accepted, bound violations."""

    n_candidates: int = 0
    n_accepted: int = 0
    n_overweight: int = 0
    max_ratio: float = 0.0
    bound: float = 0.0

    @property
    def efficiency(self) -> float:
        """Accepted / candidates."""
        return self.n_accepted / self.n_candidates if self.n_candidates else float("nan")

    def as_dict(self) -> dict:
        """JSON-ready numbers."""
        return {"n_candidates": self.n_candidates, "n_accepted": self.n_accepted, "n_overweight": self.n_overweight,
                "max_weight_over_bound": self.max_ratio, "bound": self.bound, "efficiency": self.efficiency}


@dataclass
class ThreeBodySampler:
    """N_i -> N_j f fbar (daughters 1, 2, 3 = N_j, f, fbar) from |M|^2 of three_body.msq_vector.

    Masses in GeV; med_m, med_w (k,) mediator masses and widths in GeV; aL, aR (k,) couplings of the
    mediators to (N_j, N_i) and bL, bR (k,) to (f, fbar).

    Exact accept-reject with a piecewise-constant bound (PDG "Kinematics" Sec. 49.4.3: phase space is
    flat in the Dalitz variables m12^2 = m(N_j f)^2, m23^2 = m(f fbar)^2 once the orientation is uniform):
    the Dalitz rectangle is cut into ``GRID x GRID`` cells; a pre-scan gives, per cell, bounds A_c >= A and
    B_c >= |B| of |M|^2(s) = A + B.s (maximum over the cell and its neighbours, times a safety factor).
    A candidate for an event of polarisation P = |s| picks cell c with probability proportional to
    A_c + P B_c (a mixture of the A and B cell distributions), is uniform inside the cell and in
    orientation (Haar-uniform Euler angles), and is accepted with probability |M|^2(s) / (A_c + P B_c).
    The accepted points follow |M|^2(s) dPhi_3 exactly wherever the bound holds; candidates above it are
    accepted and counted in ``stats.n_overweight``.
    """

    M: float
    m1: float
    m2: float
    m3: float
    med_m: np.ndarray
    med_w: np.ndarray
    aL: np.ndarray
    aR: np.ndarray
    bL: np.ndarray
    bR: np.ndarray
    bound: float = 0.0
    stats: SamplerStats = field(default_factory=SamplerStats)

    #: cells per Dalitz axis of the piecewise bound.
    GRID = 16

    def __post_init__(self) -> None:
        if self.m1 + self.m2 + self.m3 >= self.M:
            msg = f"three-body decay closed: M = {self.M} GeV <= m1 + m2 + m3 = {self.m1 + self.m2 + self.m3} GeV"
            raise PhysicsError(msg)
        self.med_m = np.atleast_1d(np.asarray(self.med_m, dtype=float))
        self.med_w = np.atleast_1d(np.asarray(self.med_w, dtype=float))
        for name in ("aL", "aR", "bL", "bR"):
            setattr(self, name, np.atleast_1d(np.asarray(getattr(self, name), dtype=complex)))
        self._rect = dalitz_rectangle(self.M, self.m1, self.m2, self.m3)
        self._cell_A = self._cell_B = None

    # ------------------------------------------------------------------ building blocks
    def _momenta(self, m12: np.ndarray, m23: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return three_body_rest(self.M, self.m1, self.m2, self.m3, m12, m23,
                               2.0 * np.pi * u[0], 2.0 * u[1] - 1.0, 2.0 * np.pi * u[2])

    def candidates(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n uniform phase-space candidates: rest-frame momenta (n, 3, 4) in GeV and inside-Dalitz mask (n,)."""
        lo12, hi12, lo23, hi23 = self._rect
        u = rng.random((5, n))
        m12 = lo12 + (hi12 - lo12) * u[0]
        m23 = lo23 + (hi23 - lo23) * u[1]
        return self._momenta(m12, m23, u[2:])

    def msq(self, p: np.ndarray, spin: np.ndarray | None) -> np.ndarray:
        """|M|^2 (dimensionless) at rest-frame momenta p (n, 3, 4) [GeV].

        spin : (n, 3) rest-frame spin 3-vectors, |spin| = P <= 1, or None (unpolarised).
        """
        n = p.shape[0]
        pi = np.zeros((n, 4))
        pi[:, 0] = self.M
        si = np.zeros((n, 4))
        if spin is not None:
            si[:, 1:] = spin
        return msq_vector(pi, p[:, 0], p[:, 1], p[:, 2], si, self.M, self.m1, self.m2, self.m3,
                          self.med_m, self.med_w, self.aL, self.aR, self.bL, self.bR)

    @property
    def phase_space_factor(self) -> float:
        """Dalitz-rectangle area (GeV^4) / (256 pi^3 M^3), in GeV.

        dGamma = |M|^2 dm12^2 dm23^2 / (256 pi^3 M^3) (PDG "Kinematics" Sec. 49.4.3).
        """
        lo12, hi12, lo23, hi23 = self._rect
        return (hi12 - lo12) * (hi23 - lo23) / (256.0 * np.pi**3 * self.M**3)

    def _cell_index(self, m12: np.ndarray, m23: np.ndarray) -> np.ndarray:
        lo12, hi12, lo23, hi23 = self._rect
        g = self.GRID
        i = np.clip(((m12 - lo12) / (hi12 - lo12) * g).astype(np.int64), 0, g - 1)
        j = np.clip(((m23 - lo23) / (hi23 - lo23) * g).astype(np.int64), 0, g - 1)
        return i * g + j

    # ------------------------------------------------------------------ bound
    def prescan(self, rng: np.random.Generator, n: int = N_PRESCAN, safety: float = SAFETY_FACTOR) -> float:
        """Build the cell bounds from n uniform phase-space points; returns the largest unpolarised cell bound.

        |M|^2 is linear in the spin, |M|^2(s) = A + B.s; B comes from three evaluations at s = x, y, z, so
        max over unit spins is A + |B|. Per cell: A_c = safety * max A, B_c = safety * max |B| over the
        points of the cell and of its 8 neighbours (covers slivers of the Dalitz boundary without points).
        B_c is computed from the same points when the first polarised event is sampled.
        A narrow mediator pole inside the phase space (width < 10% of the mass) is refused: the model
        describes it as an on-shell two-body decay.
        """
        lo23, hi23 = self._rect[2], self._rect[3]
        for mm, ww in zip(self.med_m, self.med_w, strict=True):
            if lo23 < mm**2 < hi23 and ww < 0.1 * mm:
                msg = (
                    f"mediator of mass {mm} GeV is on shell inside the phase space of the three-body "
                                   f"decay (M = {self.M} GeV); generate the on-shell two-body decay instead"
                )
                raise PhysicsError(msg)
        lo12, hi12 = self._rect[0], self._rect[1]
        u = rng.random((5, n))
        m12 = lo12 + (hi12 - lo12) * u[0]
        m23 = lo23 + (hi23 - lo23) * u[1]
        p, inside = self._momenta(m12, m23, u[2:])
        p, cell = p[inside], self._cell_index(m12[inside], m23[inside])
        A = self.msq(p, None)
        if not (p.shape[0] and np.max(A) > 0):
            msg = f"|M|^2 of the three-body decay (M = {self.M} GeV) vanishes on the whole phase space"
            raise PhysicsError(msg)
        g = self.GRID
        cell_A = np.zeros(g * g)
        np.maximum.at(cell_A, cell, A)
        self._cell_A = safety * _dilate(cell_A.reshape(g, g)).ravel()
        self._cdf_A = np.cumsum(self._cell_A) / self._cell_A.sum()
        self._cdf_A[-1] = 1.0
        self._scan = (p, cell, A, safety)  # the spin part of the bound is built on first polarised use
        self._cell_B = None
        self.bound = float(np.max(self._cell_A))
        self.stats.bound = self.bound
        return self.bound

    def _spin_bound(self) -> None:
        """Cell bounds B_c of |B| (|M|^2(s) = A + B.s) from the pre-scan points: three evaluations at s = x, y, z."""
        p, cell, A, safety = self._scan
        k = p.shape[0]
        B2 = np.zeros(k)
        for ax in range(3):
            s = np.zeros((k, 3))
            s[:, ax] = 1.0
            B2 += (self.msq(p, s) - A) ** 2
        g = self.GRID
        cell_B = np.zeros(g * g)
        np.maximum.at(cell_B, cell, np.sqrt(B2))
        self._cell_B = safety * _dilate(cell_B.reshape(g, g)).ravel()
        total_B = self._cell_B.sum()
        self._cdf_B = np.cumsum(self._cell_B) / total_B if total_B > 0 else self._cdf_A.copy()
        self._cdf_B[-1] = 1.0
        self.bound = float(np.max(self._cell_A + self._cell_B))
        self.stats.bound = self.bound
        self._scan = None

    def _proposals(self, pol: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """Candidates from the cell mixture: (momenta, inside, cell bound, Dalitz cell) for polarisations pol (n,)."""
        n = pol.shape[0]
        u = rng.random((7, n))
        if self._cell_B is None:  # unpolarised events only so far
            if np.any(pol > 0):
                self._spin_bound()
            else:
                pol = np.zeros(n)
        cell_B = self._cell_B if self._cell_B is not None else np.zeros_like(self._cell_A)
        use_B = u[0] * (self._cell_A.sum() + pol * cell_B.sum()) >= self._cell_A.sum()
        cell = sample_discrete(self._cdf_A, u[1])
        if use_B.any():
            cell[use_B] = sample_discrete(self._cdf_B, u[1][use_B])
        lo12, hi12, lo23, hi23 = self._rect
        g = self.GRID
        i, j = np.divmod(cell, g)
        m12 = lo12 + (hi12 - lo12) * (i + u[2]) / g
        m23 = lo23 + (hi23 - lo23) * (j + u[3]) / g
        p, inside = self._momenta(m12, m23, u[4:])
        return p, inside, self._cell_A[cell] + pol * cell_B[cell], cell

    # ------------------------------------------------------------------ sampling
    def sample(self, spin: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
        """n unweighted decays at rest: momenta (n, 3, 4) in GeV of (N_j, f, fbar).

        spin : (n, 3) rest-frame spin vectors (polarisation times axis, |spin| <= 1) or None.
        Each event draws candidates until one is accepted (class docstring).
        """
        if self._cell_A is None:
            self.prescan(rng)
        out = np.empty((n, 3, 4))
        pol = np.zeros(n) if spin is None else np.minimum(np.linalg.norm(spin, axis=1), 1.0)
        todo = np.arange(n)
        while todo.size:
            p, inside, bound, _ = self._proposals(pol[todo], rng)
            w = np.zeros(todo.size)
            if inside.any():
                w[inside] = self.msq(p[inside], None if spin is None else spin[todo[inside]])
            ratio = w / bound
            acc = rng.random(todo.size) < ratio
            self.stats.n_candidates += todo.size
            self.stats.n_accepted += int(acc.sum())
            over = ratio > 1.0
            if over.any():
                self.stats.n_overweight += int(over.sum())
                self.stats.max_ratio = max(self.stats.max_ratio, float(ratio.max()))
            out[todo[acc]] = p[acc]
            todo = todo[~acc]
        return out

    def weighted(self, n: int, rng: np.random.Generator,
                 spin: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """n weighted decays at rest: momenta (n, 3, 4) [GeV] and weights [GeV] with sum(weights) -> Gamma.

        weight = |M|^2 * (Dalitz rectangle area) / (256 pi^3 M^3) / n (zero outside the Dalitz region), the
        Monte Carlo estimate of the partial width (PDG Sec. 49.4.3). ``spin`` (n, 3) optional: the integral
        over orientations does not depend on it.
        """
        p, inside = self.candidates(n, rng)
        w = np.zeros(n)
        if inside.any():
            w[inside] = self.msq(p[inside], None if spin is None else spin[inside])
        return p, w * self.phase_space_factor / n
