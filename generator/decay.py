"""Decay chains of produced HNLs (and Z', phi'): channels, kinematics, displaced vertices.

Entry point: :func:`decay_blocks` (called by the run orchestration after production).

What happens to a block of events (generator.record.EventBlock):

1. The first final-state particle (status 1) that the [decay] card lets decay is picked (HNLs
   N4..., "Z'", "phi'"; never a state listed in ``stable``).
2. Its channel is chosen. mode = "all": one channel per event, drawn with the model's branching
   ratios; the block is split into one block per channel (one topology each). mode = "forced": only
   the listed channels of that state; the event weight is multiplied by the sum of their branching
   ratios (drawn among them with relative branching ratios). States without a listed channel stay
   undecayed in forced mode. Inclusive channels with no particle final state (Z' -> hadrons) are
   never generated; in mode "all" the weight carries the summed branching ratio of the others.
3. The decay vertex: proper decay length c*tau0 from the TOTAL width (model.ctau0_cm), exponential
   law, vertex x_prod + s p / m (generator.kernels.decay_length). With a forced-decay volume the decay
   is sampled inside the volume along the flight line and the probability to decay there multiplies
   the weight; events whose flight line misses the volume (probability 0) are removed.
4. The daughters' momenta: three-body N_i -> N_j f fbar from the full |M|^2 (off-shell mediators,
   generator.model.three_body.msq_vector) including the parent's polarisation, by accept-reject on
   phase space with a piecewise-constant bound from a pre-scan (Dalitz grid, safety factor; bound
   violations are counted in the optional ``report``); two-body decays with the angular distribution 1 + alpha P cos(theta) for a
   polarised fermion parent (alpha from the Dirac trace of the vertex), isotropic otherwise. The
   rest-frame momenta are boosted to the lab with the parent's four-momentum.
5. The parent row's status becomes 2; the daughters are appended with ``mother`` = the parent's index,
   production vertex = the decay vertex, polarisation 0 (spin correlations along the chain are not
   propagated). Repeat until no decayable state is left.

Units: GeV (energies, momenta, masses, widths), cm (positions, c*t, decay lengths).

Polarisation convention: ``block.pol[:, k]`` is the lab helicity P of particle k. The rest frame is
reached by a pure boost, so the spin four-vector there is s = (0, P p_hat) with p_hat the lab flight
direction (Bjorken & Drell; the three_body.msq_vector convention u ubar = (p + m)(1 + gamma5 s)/2).
|M|^2 is linear in s, so s = P p_hat describes a partially polarised (mixed) state exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from generator import constants as const
from generator.errors import CardError, PhysicsError, UnknownNameError
from generator.geometry import ForcedVolume, volume_from_card
from generator.kernels.decay_length import sample_decay_vertices, sample_decay_vertices_in
from generator.kernels.lorentz import boost_to_lab, direction_about_axis, invariant_mass, unit3
from generator.kernels.phase_space import (
    dalitz_rectangle,
    sample_discrete,
    three_body_rest,
    two_body_momentum,
    two_body_rest,
)
from generator.model.three_body import msq_vector
from generator.record import STATUS_DECAYED, STATUS_FINAL, EventBlock

#: PDG codes of the SM particles that can appear as decay products (PDG MC numbering scheme).
SM_PDG = {
    "e-": 11, "e+": -11, "mu-": 13, "mu+": -13, "tau-": 15, "tau+": -15, "gamma": 22,
    "nu_e": 12, "nu_mu": 14, "nu_tau": 16, "nu_e~": -12, "nu_mu~": -14, "nu_tau~": -16,
    "pi0": 111, "pi+": 211, "pi-": -211,
}
BSM_PDG = {"Z'": const.PDG_ZPRIME, "phi'": const.PDG_PHIPRIME}
#: card/record spellings accepted for the model's state names ("Z'", "phi'" in generator.model).
NAME_ALIASES = {"Zprime": "Z'", "phiprime": "phi'"}
#: spelling of the model's names in EventBlock.names (as the production modules and writers use).
RECORD_NAMES = {v: k for k, v in NAME_ALIASES.items()}
_FLAVOUR_PDG = {"e": 12, "mu": 14, "tau": 16}
#: relative tolerance on |m(p_parent) - m_model| / m_model before a decay refuses to run.
MASS_TOLERANCE = 1e-6
#: default safety factor applied to the pre-scan maximum of |M|^2.
SAFETY_FACTOR = 1.2
#: pre-scan points per three-body channel (~ 200 per cell of the 16 x 16 bound grid).
N_PRESCAN = 50_000


# =============================================================================== two-body angular law

def _dirac_matrices():
    """gamma^0..3 in the Dirac (Bjorken-Drell) representation and gamma5 = i g0 g1 g2 g3 (traces are basis independent)."""
    i2 = np.eye(2)
    z2 = np.zeros((2, 2))
    sig = [np.array([[0, 1], [1, 0]], complex), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]], complex)]
    g0 = np.block([[i2, z2], [z2, -i2]]).astype(complex)
    gs = [np.block([[z2, s], [-s, z2]]) for s in sig]
    g = [g0, *gs]
    g5 = 1j * g[0] @ g[1] @ g[2] @ g[3]
    return g, g5


def _slash(g, p):
    return g[0] * p[0] - g[1] * p[1] - g[2] * p[2] - g[3] * p[3]


def two_body_asymmetry(boson: str, m_i: float, m_j: float, m_b: float, c_L: complex, c_R: complex) -> float:
    """Asymmetry alpha of a polarised fermion decay N_i -> N_j + boson: dGamma/dcos(theta) ~ 1 + alpha P cos(theta).

    theta is the angle between the daughter fermion and the parent spin in the parent rest frame.
    Vertex ubar_j Gamma u_i with Gamma = c_L P_L + c_R P_R ("scalar") or gamma^mu (c_L P_L + c_R P_R)
    ("vector", polarisation sum -g + k k / m_b^2). alpha = (T(+s) - T(-s)) / (T(+s) + T(-s)) with T the
    explicit Dirac trace Tr[(pj + m_j) Gamma (pi + m_i)(1 + gamma5 s)/2 Gamma_bar] (spin projector:
    Bjorken & Drell; Haber, "Spin formalism and applications to new physics searches", hep-ph/9405376).
    Masses in GeV; couplings dimensionless. Returns 0 for a closed channel.
    """
    if boson not in ("scalar", "vector"):
        raise ValueError(f"boson = {boson!r}: allowed 'scalar', 'vector'")
    q = two_body_momentum(m_i, m_j, m_b)
    if q <= 0.0:
        return 0.0
    g, g5 = _dirac_matrices()
    one = np.eye(4)
    PL, PR = (one - g5) / 2, (one + g5) / 2
    pi = np.array([m_i, 0.0, 0.0, 0.0])
    pj = np.array([math.sqrt(m_j**2 + q**2), 0.0, 0.0, q])
    k = pi - pj
    metric = np.diag([1.0, -1.0, -1.0, -1.0])
    chiral = c_L * PL + c_R * PR
    chiral_bar = np.conj(c_L) * PR + np.conj(c_R) * PL
    T = []
    for sign in (1.0, -1.0):
        s = np.array([0.0, 0.0, 0.0, sign])
        rho = (_slash(g, pi) + m_i * one) @ (one + g5 @ _slash(g, s)) / 2
        fin = _slash(g, pj) + m_j * one
        if boson == "scalar":
            t = np.trace(fin @ chiral @ rho @ chiral_bar)
        else:
            klow = metric @ k
            pol = -metric + np.outer(klow, klow) / m_b**2  # lower indices
            t = sum(
                pol[mu, nu] * np.trace(fin @ g[mu] @ chiral @ rho @ chiral_bar @ g[nu])
                for mu in range(4) for nu in range(4)
            )
        T.append(float(np.real(t)))
    tot = T[0] + T[1]
    return 0.0 if tot == 0 else (T[0] - T[1]) / tot


def sample_cos_linear(a: np.ndarray, u: np.ndarray) -> np.ndarray:
    """cos(theta) in [-1, 1] from the density (1 + a cos(theta)) / 2 (|a| <= 1), by the inverse CDF.

    CDF: F(c) = (c + 1)/2 + a (c^2 - 1)/4 = u, i.e. (a/2) c^2 + c + C = 0 with C = 1 - a/2 - 2u; the root
    c = -2C / (1 + sqrt(1 - 2aC)) is stable for a -> 0 (Numerical Recipes 3rd ed., Eq. 5.6.4).
    """
    a = np.asarray(a, dtype=float)
    C = 1.0 - 0.5 * a - 2.0 * np.asarray(u, dtype=float)
    return np.clip(-2.0 * C / (1.0 + np.sqrt(np.clip(1.0 - 2.0 * a * C, 0.0, None))), -1.0, 1.0)


# =============================================================================== samplers

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
        return dict(n_candidates=self.n_candidates, n_accepted=self.n_accepted, n_overweight=self.n_overweight,
                    max_weight_over_bound=self.max_ratio, bound=self.bound, efficiency=self.efficiency)


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
        if self.M <= self.m1 + self.m2 + self.m3:
            raise PhysicsError(f"three-body decay closed: M = {self.M} GeV <= m1 + m2 + m3 = {self.m1 + self.m2 + self.m3} GeV")
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
        for mm, ww in zip(self.med_m, self.med_w):
            if lo23 < mm**2 < hi23 and ww < 0.1 * mm:
                raise PhysicsError(f"mediator of mass {mm} GeV is on shell inside the phase space of the three-body "
                                   f"decay (M = {self.M} GeV); generate the on-shell two-body decay instead")
        lo12, hi12 = self._rect[0], self._rect[1]
        u = rng.random((5, n))
        m12 = lo12 + (hi12 - lo12) * u[0]
        m23 = lo23 + (hi23 - lo23) * u[1]
        p, inside = self._momenta(m12, m23, u[2:])
        p, cell = p[inside], self._cell_index(m12[inside], m23[inside])
        A = self.msq(p, None)
        if not (p.shape[0] and np.max(A) > 0):
            raise PhysicsError(f"|M|^2 of the three-body decay (M = {self.M} GeV) vanishes on the whole phase space")
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

    def weighted(self, n: int, rng: np.random.Generator, spin: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
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
        if self.M < self.m1 + self.m2:
            raise PhysicsError(f"two-body decay closed: M = {self.M} GeV < m1 + m2 = {self.m1 + self.m2} GeV")

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


# =============================================================================== model adapter

def _parse_label(text: str, key: str) -> tuple[str, tuple[str, ...]]:
    if "->" not in text:
        raise CardError(key, f"{text!r} is not a channel; write it as 'N6 -> N5 e+ e-'")
    parent, rest = text.split("->", 1)
    daughters = tuple(rest.split())
    if not parent.strip() or not daughters:
        raise CardError(key, f"{text!r} is not a channel; write it as 'N6 -> N5 e+ e-'")
    return parent.strip(), daughters


class ParticleTable:
    """Names, PDG codes and masses (GeV) of every state a decay can produce, for one model.

    Names follow generator.model.widths: mass eigenstates "nu3", "N4", ...; "Z'", "phi'"; SM "e-", "e+",
    "mu-", ..., "gamma"; "nu" is a light neutrino summed over mass states (massless, PDG code of the
    dominant flavour of the heaviest light state). Card spellings "Zprime", "phiprime" are accepted.
    """

    def __init__(self, model) -> None:
        self.model = model
        spec = model.spectrum
        params = spec.params
        self._mass = {name: float(m) for name, m in zip(spec.names, spec.masses)}
        self._mass.update({"Z'": params.m_Zprime, "phi'": params.m_phiprime, "nu": 0.0})
        self._mass.update({"e-": const.M_E, "e+": const.M_E, "mu-": const.M_MU, "mu+": const.M_MU,
                           "tau-": const.M_TAU, "tau+": const.M_TAU, "gamma": 0.0,
                           "pi0": const.M_PI0, "pi+": const.M_PI_CHARGED, "pi-": const.M_PI_CHARGED})
        self._pdg = dict(SM_PDG)
        self._pdg.update(BSM_PDG)
        flav_pdg = []
        for j, name in enumerate(spec.names):
            if name.startswith("N"):
                self._pdg[name] = const.pdg_hnl(int(name[1:]))
            else:
                # light mass eigenstate: PDG code of its dominant active flavour (Majorana: no antiparticle)
                col = np.abs(spec.U_alpha[:, j]) ** 2
                self._pdg[name] = _FLAVOUR_PDG[params.flavours[int(np.argmax(col))]]
                flav_pdg.append(self._pdg[name])
        self._pdg["nu"] = flav_pdg[-1] if flav_pdg else _FLAVOUR_PDG["mu"]
        # reverse map, first name wins: SM names (so 14 reads "nu_mu"), then Z', phi', then N_j
        self._names_by_pdg: dict[int, str] = {}
        for name, code in self._pdg.items():
            self._names_by_pdg.setdefault(code, RECORD_NAMES.get(name, name))

    @property
    def names(self) -> tuple[str, ...]:
        """Every known state name."""
        return tuple(self._mass)

    def canonical(self, name: str) -> str:
        """Model spelling of a card name ("Zprime" -> "Z'", "phiprime" -> "phi'")."""
        return NAME_ALIASES.get(name, name)

    def mass(self, name: str) -> float:
        """Mass of a named state in GeV."""
        try:
            return self._mass[self.canonical(name)]
        except KeyError:
            raise UnknownNameError("particle", name, self._mass) from None

    def pdg(self, name: str) -> int:
        """PDG code of a named state."""
        try:
            return self._pdg[self.canonical(name)]
        except KeyError:
            raise UnknownNameError("particle", name, self._pdg) from None

    def name_of(self, code: int) -> str:
        """Name of a PDG code ("N5", "e-", ...); str(code) for codes the decay step does not know."""
        return self._names_by_pdg.get(int(code), str(int(code)))


def _boson_kind(name: str) -> str | None:
    if name in ("phi'", "h"):
        return "scalar"
    if name in ("Z'", "Z", "W+", "W-"):
        return "vector"
    return None


def _exclusive(chan) -> bool:
    """True for channels with an exclusive final state of 2 or 3 known particles (not "hadrons")."""
    return chan.kind != "hadrons" and len(chan.daughters) in (2, 3)


class DecayPlan:
    """What decays into what for one run: channels per state, forced/all mode, stable list, volume.

    Built from the model and the card's [decay] section; raises CardError / UnknownNameError naming the
    bad card entry and the allowed values.

    Inclusive channels without an exclusive final state (kind "hadrons", e.g. Z' -> hadrons) cannot be
    written as particles: they are never generated, and in mode "all" the events carry the weight factor
    sum of the exclusive branching ratios (so weights still sum to the rate of what is generated).
    """

    def __init__(self, model, section, table: ParticleTable | None = None, prescan_seed=None) -> None:
        """prescan_seed: seed (int or sequence) of the accept-reject bound prescans. With it the bounds, and so
        the sampled events for a given decay stream, do not depend on which events are decayed first: a run
        can then decay its production chunks one by one (generator.run) and shards merge exactly."""
        self._prescan_rng = None if prescan_seed is None else np.random.default_rng(prescan_seed)
        self.model = model
        self.section = section
        self.table = table or ParticleTable(model)
        self.mode = section.mode
        candidates = [*model.spectrum.heavy_names, "Z'", "phi'"]
        self.channels: dict[str, list] = {}
        for name in candidates:
            try:
                chans = [c for c in model.decay_channels(name) if c.width_GeV > 0]
            except (UnknownNameError, KeyError, PhysicsError):
                continue
            if chans:
                self.channels[name] = chans
        known = set(self.table.names) | set(NAME_ALIASES)
        for i, s in enumerate(section.stable):
            if s not in known:
                raise UnknownNameError(f"state in decay.stable[{i}]", s, known)
        self.stable = {self.table.canonical(s) for s in section.stable}
        self.forced: dict[str, list] = {}
        if self.mode == "forced":
            allowed = [c.name for chans in self.channels.values() for c in chans if _exclusive(c)]
            for i, text in enumerate(section.forced):
                key = f"decay.forced[{i}]"
                parent, daughters = _parse_label(text, key)
                parent = self.table.canonical(parent)
                daughters = tuple(self.table.canonical(d) for d in daughters)
                match = [c for c in self.channels.get(parent, [])
                         if _exclusive(c) and sorted(c.daughters) == sorted(daughters)]
                if not match:
                    raise UnknownNameError(f"decay channel in {key}", text, allowed)
                if parent in self.stable:
                    raise CardError(key, f"{text!r} decays {parent}, which is listed in decay.stable; remove one of them")
                lst = self.forced.setdefault(parent, [])
                for c in match:
                    if c not in lst:
                        lst.append(c)
        self.volume: ForcedVolume | None = None
        if section.volume is not None:
            self.volume = volume_from_card(section.volume)
            for i, name in enumerate(self.volume.particles):
                if name not in known:
                    raise UnknownNameError(f"state in decay.volume.particles[{i}]", name, known)
            self.volume = ForcedVolume(self.volume.shape, tuple(self.table.canonical(n) for n in self.volume.particles))
        self._samplers: dict[str, ThreeBodySampler | TwoBodySampler] = {}
        self._ctau: dict[str, float] = {}
        self._options: dict[str, tuple[list, np.ndarray, float]] = {}

    # ------------------------------------------------------------------ queries
    def options(self, name: str) -> tuple[list, np.ndarray, float]:
        """(channels, selection probabilities, weight factor) of a state; empty list if it does not decay here.

        mode "all": every exclusive channel, probabilities = branching ratios renormalised over them, weight
        factor = their summed branching ratio (1 unless inclusive channels exist). mode "forced": the listed
        channels, probabilities = relative branching ratios, weight factor = their summed branching ratio.
        """
        if name in self._options:
            return self._options[name]
        res: tuple[list, np.ndarray, float] = ([], np.zeros(0), 1.0)
        if name not in self.stable:
            pool = self.forced.get(name, []) if self.mode == "forced" else self.channels.get(name, [])
            chans = [c for c in pool if _exclusive(c)]
            if chans:
                br = np.array([c.width_GeV for c in chans]) / self.total_width(name)
                res = (chans, br / br.sum(), float(br.sum()))
        self._options[name] = res
        return res

    def total_width(self, name: str) -> float:
        """Total width of a state in GeV (model.width, the sum over ALL channels)."""
        return float(self.model.width(name))

    def ctau0_cm(self, name: str) -> float:
        """Proper decay length c*tau0 in cm from the TOTAL width (model.ctau0_cm)."""
        if name not in self._ctau:
            self._ctau[name] = float(self.model.ctau0_cm(name))
        return self._ctau[name]

    def masses(self, chan) -> list[float]:
        """Daughter masses of a channel in GeV (the channel's own, else the particle table's)."""
        dm = tuple(getattr(chan, "daughter_masses", ()) or ())
        if len(dm) == len(chan.daughters):
            return [float(m) for m in dm]
        return [self.table.mass(d) for d in chan.daughters]

    def sampler(self, chan, rng: np.random.Generator) -> ThreeBodySampler | TwoBodySampler:
        """The (cached) momentum sampler of a channel.

        Three-body: the channel's mediators and couplings (three_body.msq_vector, daughters = (j, f, fbar)).
        Two-body: asymmetry alpha from the channel couplings when it carries them (fermion parent and a
        Z'/phi' daughter); the model's Majorana vertices have |a_L| = |a_R| and give alpha = 0 (isotropic).
        """
        label = chan.name
        if label in self._samplers:
            return self._samplers[label]
        M = self.table.mass(chan.parent)
        ms = self.masses(chan)
        if len(ms) == 3:
            if len(np.atleast_1d(chan.med_m)) == 0:
                raise PhysicsError(f"three-body channel {label!r} has no mediator couplings to sample from")
            s: ThreeBodySampler | TwoBodySampler = ThreeBodySampler(
                M, ms[0], ms[1], ms[2], chan.med_m, chan.med_w, chan.aL, chan.aR, chan.bL, chan.bR)
            s.prescan(self._prescan_rng if self._prescan_rng is not None else rng)
        else:
            alpha = 0.0
            kinds = [_boson_kind(d) for d in chan.daughters]
            if chan.parent.startswith("N") and kinds[1] is not None and len(np.atleast_1d(chan.aL)) > 0:
                alpha = two_body_asymmetry(kinds[1], M, ms[0], ms[1], complex(np.atleast_1d(chan.aL)[0]),
                                           complex(np.atleast_1d(chan.aR)[0]))
            s = TwoBodySampler(M, ms[0], ms[1], alpha)
        self._samplers[label] = s
        return s

    def stats(self) -> dict[str, dict]:
        """Accept-reject statistics per channel label."""
        return {label: s.stats.as_dict() for label, s in self._samplers.items()}


# =============================================================================== one decay step

def _names_of(block: EventBlock, table: ParticleTable) -> tuple[str, ...]:
    if block.names is not None:
        return tuple(block.names)
    return tuple(table.name_of(c) for c in block.pdg)


def _next_unstable(block: EventBlock, names: tuple[str, ...], plan: DecayPlan) -> int | None:
    for k in np.flatnonzero(block.status == STATUS_FINAL):
        if plan.options(plan.table.canonical(names[k]))[0]:
            return int(k)
    return None


def decay_particle(block: EventBlock, k: int, chan, plan: DecayPlan, rng: np.random.Generator,
                   weight_factor: float = 1.0) -> EventBlock | None:
    """Decay particle k of every event of ``block`` through channel ``chan``; returns the new block.

    The new block has the parent's status set to 2 and the daughters appended (mother = k, production
    vertex = sampled decay vertex, pol = 0); weights are multiplied by ``weight_factor`` (forced-mode
    branching ratio) and by the decay probability inside the forced volume, if any. Returns None when
    no event survives (all flight lines miss the volume).
    """
    names = _names_of(block, plan.table)
    name = plan.table.canonical(names[k])
    n = block.n_events
    P = block.p[:, k]
    M = plan.table.mass(name)
    m_rec = invariant_mass(P)
    bad = np.abs(m_rec - M) > MASS_TOLERANCE * M
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PhysicsError(f"{name} in block {block.channel!r}, event {i}: invariant mass {m_rec[i]:.9g} GeV differs "
                           f"from the model mass {M:.9g} GeV by more than {MASS_TOLERANCE:g} (relative)")
    weight = block.weight * weight_factor
    ctau = plan.ctau0_cm(name)
    x0 = block.x[:, k]
    keep = None
    if plan.volume is not None and plan.volume.applies_to(name):
        direction = unit3(P)
        t_in, t_out = plan.volume.shape.entry_exit(x0[:, 1:4], direction)
        x_dec, prob = sample_decay_vertices_in(x0, P, M, ctau, t_in, t_out, rng.random(n))
        weight = weight * prob
        keep = prob > 0
    else:
        x_dec, _ = sample_decay_vertices(x0, P, M, ctau, rng.random(n))
    sampler = plan.sampler(chan, rng)
    pol = block.pol[:, k]
    spin = pol[:, None] * unit3(P) if np.any(pol != 0) else None
    rest = sampler.sample(spin, n, rng)
    lab = boost_to_lab(rest, P, M)  # known mass: (M, 0) -> P exactly, four-momentum conserved to rounding
    n_old, nd = block.n_particles, lab.shape[1]
    # new columns filled in place (no intermediate copies of the (n, P, 4) arrays)
    p_new = np.empty((n, n_old + nd, 4))
    p_new[:, :n_old] = block.p
    p_new[:, n_old:] = lab
    x_new = np.empty((n, n_old + nd, 4))
    x_new[:, :n_old] = block.x
    x_new[:, n_old:] = x_dec[:, None, :]
    pol_new = np.zeros((n, n_old + nd))
    pol_new[:, :n_old] = block.pol
    status = block.status.copy()
    status[k] = STATUS_DECAYED
    new = EventBlock(
        channel=block.channel,
        pdg=np.concatenate([block.pdg, [plan.table.pdg(d) for d in chan.daughters]]),
        status=np.concatenate([status, np.full(nd, STATUS_FINAL)]),
        mother=np.concatenate([block.mother, np.full(nd, k)]),
        p=p_new,
        x=x_new,
        weight=weight,
        pol=pol_new,
        info=dict(block.info),
        weight_unit=block.weight_unit,
        names=names + tuple(RECORD_NAMES.get(d, d) for d in chan.daughters),
    )
    if keep is not None and not keep.all():
        if not keep.any():
            return None
        new = new.select(keep)
    return new


def _decay_recursive(block: EventBlock, plan: DecayPlan, rng: np.random.Generator) -> list[EventBlock]:
    names = _names_of(block, plan.table)
    if block.names is None:
        block = EventBlock(channel=block.channel, pdg=block.pdg, status=block.status, mother=block.mother,
                           p=block.p, x=block.x, weight=block.weight, pol=block.pol, info=block.info,
                           weight_unit=block.weight_unit, names=names)
    k = _next_unstable(block, names, plan)
    if k is None or block.n_events == 0:
        return [block]
    chans, prob, factor = plan.options(plan.table.canonical(names[k]))
    if len(chans) == 1:
        choice = np.zeros(block.n_events, dtype=int)
    else:
        cdf = np.cumsum(prob)
        cdf[-1] = 1.0
        choice = np.searchsorted(cdf, rng.random(block.n_events), side="right")
    out: list[EventBlock] = []
    for c, chan in enumerate(chans):
        sel = choice == c
        if not sel.any():
            continue
        sub = block if sel.all() else block.select(sel)
        new = decay_particle(sub, k, chan, plan, rng, factor)
        if new is not None:
            out.extend(_decay_recursive(new, plan, rng))
    return out


def decay_blocks(blocks: list[EventBlock], model, decay_section, rng: np.random.Generator,
                 report: dict | None = None, plan: DecayPlan | None = None) -> list[EventBlock]:
    """Decay every decayable state of every block, recursively; one output block per topology.

    blocks : produced events (HNLs, Z', phi' with status 1); model : generator.model.model.Model;
    decay_section : generator.card.DecaySection ([decay] of the card); rng : numpy Generator.
    report : optional dict, filled with accept-reject statistics per channel ("channels") and the
    numbers of events in and out ("n_in", "n_out", "sum_w_in", "sum_w_out").
    plan : a DecayPlan to reuse across calls (built from model and decay_section when None).
    Returns the decayed blocks (weights in the input blocks' unit). With ``decay_section.enabled``
    false the input list is returned unchanged.
    """
    if not decay_section.enabled:
        return list(blocks)
    if plan is None:
        plan = DecayPlan(model, decay_section)
    out: list[EventBlock] = []
    for b in blocks:
        out.extend(_decay_recursive(b, plan, rng))
    if report is not None:
        report["channels"] = plan.stats()
        report["n_in"] = int(sum(b.n_events for b in blocks))
        report["n_out"] = int(sum(b.n_events for b in out))
        report["sum_w_in"] = float(sum(b.weight.sum() for b in blocks))
        report["sum_w_out"] = float(sum(b.weight.sum() for b in out))
    return out


__all__ = [
    "DecayPlan",
    "ParticleTable",
    "SamplerStats",
    "ThreeBodySampler",
    "TwoBodySampler",
    "decay_blocks",
    "decay_particle",
    "sample_cos_linear",
    "two_body_asymmetry",
]
