"""Decay widths: three-body |M|^2 vs explicit Dirac algebra, width integrals vs analytic limits and scipy,
two-body widths vs textbook formulas, and the paper's Tables I/II (B(Z' -> N_j N_k), c tau^0)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from generator import constants as const
from generator.model import hadrons, preset, rates, vertices
from generator.model.model import Model
from generator.model.three_body import dalitz_invariants, dalitz_msq, msq_vector
from tests.reference_kinematics import boost, velocity

# ------------------------------------------------------------------------------ explicit Dirac algebra
# Chiral representation (Peskin & Schroeder Eq. 3.25, 3.50, 3.62): gamma5 = i g0 g1 g2 g3 = diag(-1, 1).
_SIG = [np.array([[0, 1], [1, 0]], complex), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]], complex)]
_Z2, _I2 = np.zeros((2, 2)), np.eye(2)
_G = [np.block([[_Z2, _I2], [_I2, _Z2]]).astype(complex)] + [np.block([[_Z2, s], [-s, _Z2]]) for s in _SIG]
_G5 = 1j * _G[0] @ _G[1] @ _G[2] @ _G[3]
_PL, _PR = (np.eye(4) - _G5) / 2, (np.eye(4) + _G5) / 2
_METRIC = np.diag([1.0, -1.0, -1.0, -1.0])


def _sqrtm(a):
    w, v = np.linalg.eigh(a)
    return v @ np.diag(np.sqrt(np.clip(w, 0, None))) @ v.conj().T


def _u(p, xi):
    ps = p[0] * _I2 - sum(p[k + 1] * _SIG[k] for k in range(3))
    psb = p[0] * _I2 + sum(p[k + 1] * _SIG[k] for k in range(3))
    return np.concatenate([_sqrtm(ps) @ xi, _sqrtm(psb) @ xi])


def _v(p, eta):
    ps = p[0] * _I2 - sum(p[k + 1] * _SIG[k] for k in range(3))
    psb = p[0] * _I2 + sum(p[k + 1] * _SIG[k] for k in range(3))
    return np.concatenate([_sqrtm(ps) @ eta, -_sqrtm(psb) @ eta])


def _spin_up(n):
    w, vecs = np.linalg.eigh(sum(n[k] * _SIG[k] for k in range(3)))
    return vecs[:, np.argmax(w)]


def _brute_msq(pi, pj, p1, p2, n_spin, med_m, med_w, aL, aR, bL, bR):
    """sum |M|^2 from explicit spinors; parent spin up along n_spin (rest frame) or averaged when None."""
    basis = [np.array([1, 0], complex), np.array([0, 1], complex)]
    parents = [_spin_up(n_spin)] if n_spin is not None else basis
    q = p1 + p2
    q2 = q @ _METRIC @ q
    total = 0.0
    for xi in parents:
        ui = _u(pi, xi)
        for xj in basis:
            ubj = _u(pj, xj).conj() @ _G[0]
            for x1 in basis:
                ub1 = _u(p1, x1).conj() @ _G[0]
                for x2 in basis:
                    v2 = _v(p2, x2)
                    amp = 0j
                    for k in range(len(med_m)):
                        # running width (generator.model.propagator): Im D = q^2 Gamma / m for q^2 > 0
                        d = 1.0 / (q2 - med_m[k] ** 2 + 1j * max(q2, 0.0) * med_w[k] / med_m[k])
                        for mu in range(4):
                            j1 = ubj @ _G[mu] @ (aL[k] * _PL + aR[k] * _PR) @ ui
                            j2 = ub1 @ _G[mu] @ (bL[k] * _PL + bR[k] * _PR) @ v2
                            amp += _METRIC[mu, mu] * j1 * j2 * d
                    total += abs(amp) ** 2
    return total / len(parents)


def _two_body(M, a, b, rng):
    pm = math.sqrt((M**2 - (a + b) ** 2) * (M**2 - (a - b) ** 2)) / (2 * M)
    c, ph = rng.uniform(-1, 1), rng.uniform(0, 2 * math.pi)
    d = np.array([math.sqrt(1 - c * c) * math.cos(ph), math.sqrt(1 - c * c) * math.sin(ph), c])
    return np.concatenate([[math.hypot(pm, a)], pm * d]), np.concatenate([[math.hypot(pm, b)], -pm * d])


def _random_decay(mi, mj, m1, m2, rng):
    """Random N_i -> N_j f fbar kinematics (sequential two-body), boosted to a random frame."""
    mff = rng.uniform(m1 + m2, mi - mj)
    pj, q = _two_body(mi, mj, mff, rng)
    p1, p2 = _two_body(mff, m1, m2, rng)
    p1, p2 = boost(p1, -velocity(q)), boost(p2, -velocity(q))
    b = rng.uniform(-0.5, 0.5, 3)
    return [boost(x, -b) for x in (np.array([mi, 0, 0, 0.0]), pj, p1, p2)]


def _spin_vector(p, m, n):
    """Four-vector of spin n (rest frame) for momentum p: pure boost of (0, n)."""
    pn = p[1:] @ n
    return np.concatenate([[pn / m], n + pn * p[1:] / (m * (p[0] + m))])


def test_msq_vector_matches_explicit_dirac_algebra():
    rng = np.random.default_rng(20210101)
    mi, mj, m1, m2 = 0.22, 0.146, 0.0105, 0.03  # unequal f masses exercise every mass term
    med_m, med_w = np.array([1.25, 91.19]), np.array([0.3, 2.5])
    aL, aR, bL, bR = (rng.normal(size=2) + 1j * rng.normal(size=2) for _ in range(4))
    for _ in range(5):
        pi, pj, p1, p2 = _random_decay(mi, mj, m1, m2, rng)
        n = rng.normal(size=3)
        n /= np.linalg.norm(n)
        s = _spin_vector(pi, mi, n)
        pol = msq_vector(pi[None], pj[None], p1[None], p2[None], s[None], mi, mj, m1, m2, med_m, med_w, aL, aR, bL, bR)
        unp = msq_vector(pi[None], pj[None], p1[None], p2[None], np.zeros((1, 4)), mi, mj, m1, m2, med_m, med_w,
                         aL, aR, bL, bR)
        s12, sj1 = (p1 + p2) @ _METRIC @ (p1 + p2), (pj + p1) @ _METRIC @ (pj + p1)
        dal = dalitz_msq([s12], [sj1], mi, mj, m1, m2, med_m, med_w, aL, aR, bL, bR)
        ref_pol = _brute_msq(pi, pj, p1, p2, n, med_m, med_w, aL, aR, bL, bR)
        ref_unp = _brute_msq(pi, pj, p1, p2, None, med_m, med_w, aL, aR, bL, bR)
        # Two exact evaluations of the same quantity: agreement to double-precision rounding (1e-9 relative).
        assert pol[0] == pytest.approx(ref_pol, rel=1e-9)
        assert unp[0] == pytest.approx(ref_unp, rel=1e-9)
        assert dal[0] == pytest.approx(ref_unp, rel=1e-9)


# ------------------------------------------------------------------------------ three-body width integral
def test_three_body_contact_limit():
    """Heavy mediator, massless final states: Gamma = sum|C_XY|^2 m^5 / (1536 pi^3) (muon-decay normalisation)."""
    rng = np.random.default_rng(7)
    M = 2000.0
    aL, aR, bL, bR = (rng.normal() + 1j * rng.normal() for _ in range(4))
    mi = 0.3
    w = rates.gamma_three_body_vector(mi, 0.0, 0.0, 0.0, [M], [0.0], [aL], [aR], [bL], [bR])
    d = -1.0 / M**2
    ref = rates.gamma_contact_massless(mi, aL * bL * d, aL * bR * d, aR * bL * d, aR * bR * d)
    # propagator corrections are O(mi^2/M^2) = 2e-8; quadrature error far below: 1e-6.
    assert w == pytest.approx(ref, rel=1e-6)


def test_muon_decay_width_with_electron_mass():
    """G_F^2 m^5/(192 pi^3) f(x), f = 1 - 8x + 8x^3 - x^4 - 12 x^2 ln x, x = m_e^2/m_mu^2 (e.g. PDG muon review)."""
    g = const.G_WEAK / math.sqrt(2.0)
    w = rates.gamma_three_body_vector(const.M_MU, 0.0, const.M_E, 0.0, [const.M_W], [0.0], [g], [0.0], [g], [0.0])
    x = (const.M_E / const.M_MU) ** 2
    f = 1 - 8 * x + 8 * x**3 - x**4 - 12 * x * x * math.log(x)
    ref = const.G_FERMI**2 * const.M_MU**5 / (192 * math.pi**3) * f
    # W propagator correction (3/5)(m_mu/m_W)^2 ~ 1e-6; tolerance 1e-5.
    assert w == pytest.approx(ref, rel=1e-5)


def test_three_body_width_vs_scipy_dblquad():
    """Gauss-Legendre Dalitz integral vs scipy's adaptive dblquad for a massive BP-B channel (N6 -> N5 e+ e-)."""
    model = Model(preset("BP-B"))
    ch = next(c for c in model.decay_channels("N6") if c.name == "N6 -> N5 e+ e-")
    mi = model.mass("N6")
    mj, m1, m2 = ch.daughter_masses
    args = (mi, mj, m1, m2, ch.med_m, ch.med_w, ch.aL, ch.aR, ch.bL, ch.bR)

    def inner(t, s):
        return dalitz_msq([s], [t], *args)[0]

    def lo(s):
        return dalitz_invariants(np.array([s]), mi, mj, m1, m2)[0][0]

    def hi(s):
        return dalitz_invariants(np.array([s]), mi, mj, m1, m2)[1][0]

    val, _ = integrate.dblquad(inner, (m1 + m2) ** 2, (mi - mj) ** 2, lo, hi, epsabs=0, epsrel=1e-9)
    ref = val / (256 * math.pi**3 * mi**3)
    assert ch.width_GeV == pytest.approx(ref, rel=1e-6)  # both methods converge far below 1e-6


def test_pseudo_dirac_transition_is_vector_inelastic_dm_limit():
    """Opposite-CP Majorana pair (X_ji imaginary) = halves of a Dirac fermion: vector coupling, and for
    Delta << m << m_Z' the width is the inelastic-DM result 4 eps^2 alpha alpha_D Delta^5 / (15 pi m_Z'^4)
    (Izaguirre, Krnjaic, Schuster, Toro, arXiv:1703.06881, Eq. 4, massless electrons)."""
    eps, alpha_d, mz = 1e-3, 0.1, 20.0
    mi, delta = 1.0, 0.002
    X = np.array([[0, 1j], [-1j, 0]])  # hermitian, imaginary off-diagonal: opposite CP parity
    aL, aR = vertices.majorana_vector_vertex(math.sqrt(4 * math.pi * alpha_d), X, 0, 1)
    assert aL == pytest.approx(aR)  # pure vector
    ge = const.E_CHARGE * eps
    w = rates.gamma_three_body_vector(mi, mi - delta, 0.0, 0.0, [mz], [0.0], [aL], [aR], [ge], [ge])
    ref = 4 * eps**2 * const.ALPHA_EM * alpha_d * delta**5 / (15 * math.pi * mz**4)
    # corrections O(Delta/m) = 0.2% and O(m^2/m_Z'^2) = 0.25%: tolerance 1%.
    assert w == pytest.approx(ref, rel=1e-2)


# ------------------------------------------------------------------------------ two-body widths
def test_zprime_to_ee_textbook():
    """Gamma(Z' -> e+e-) = alpha eps^2 m (1 + 2 m_e^2/m^2) sqrt(1 - 4 m_e^2/m^2) / 3 in the pure-EM limit."""
    eps = math.sqrt(4.6e-4)
    for m in (0.0011, 0.02, 1.25):
        ge = -const.E_CHARGE * eps
        r = (const.M_E / m) ** 2
        ref = const.ALPHA_EM * eps**2 * m * (1 + 2 * r) * math.sqrt(1 - 4 * r) / 3
        assert rates.gamma_vector_to_fermions(m, const.M_E, const.M_E, ge, ge) == pytest.approx(ref, rel=1e-12)
    # The model's channel adds the NC piece of Eq. (3), O((m_Z'/m_Z)^2 chi / (e eps)) ~ 1e-4 of the amplitude.
    model = Model(preset("BP-B"))
    r = (const.M_E / 1.25) ** 2
    ref = const.ALPHA_EM * 4.6e-4 * 1.25 * (1 + 2 * r) * math.sqrt(1 - 4 * r) / 3
    assert model.partial_widths("Z'")["Z' -> e+ e-"] == pytest.approx(ref, rel=2e-3)


def test_r_ratio_at_phi_peak():
    """At the phi(1020) peak the Breit-Wigner R equals 9 B_ee B_had / alpha^2 (sigma_peak = 12 pi B_ee B_had / m^2);
    the rho tail adds ~1.8% there (R_rho(m_phi) ~ 9 B_ee^rho/alpha^2 x 0.1): tolerance 3%."""
    m_phi = 1.019461
    ref = 9 * 2.973e-4 * 0.997 / const.ALPHA_EM**2
    assert hadrons.r_ratio(m_phi) == pytest.approx(ref, rel=3e-2)


def test_sm_hnl_widths_match_bondarenko():
    """BP-A N4 has V_43 = 0 (left-right symmetry): it decays through SM mixing only. Majorana HNL with muon mixing
    (Bondarenko et al. arXiv:1805.08567 Eqs. 3.4-3.5, x2 for Majorana): Gamma(N -> 3 nu) = G_F^2 m^5 |U|^2/(96 pi^3),
    Gamma(N -> nu_mu e e) = G_F^2 m^5 |U|^2/(96 pi^3) (1/4 - s_W^2 + 2 s_W^4)."""
    model = Model(preset("BP-A"))
    spec = model.spectrum
    m4 = model.mass("N4")
    u2 = spec.U2("mu", "N4")
    base = const.G_FERMI**2 * m4**5 * u2 / (96 * math.pi**3)
    pw = model.partial_widths("N4")
    # contact limit exact up to (m_N/m_Z)^2 ~ 1e-7 and the Z' NC piece (~1e-4 relative): 1e-3.
    assert pw["N4 -> nu nu nu"] == pytest.approx(base, rel=1e-3)
    c1 = 0.25 - const.SW2 + 2 * const.SW2**2
    # electron mass: phase-space and C2 corrections O(8 m_e^2/m_N^2) ~ 2% at m_N = 35 MeV: tolerance 3%.
    assert pw["N4 -> nu3 e+ e-"] == pytest.approx(base * c1, rel=3e-2)


def test_branching_ratios_sum_to_one_and_widths_consistent():
    model = Model(preset("BP-B"))
    for name in model.unstable:
        br = model.branching_ratios(name)
        assert sum(br.values()) == pytest.approx(1.0, rel=1e-12)
        assert all(0.0 <= v <= 1.0 for v in br.values())
        assert len(br) == len(model.decay_channels(name))  # no two channels share a name
        assert model.ctau0_cm(name) == pytest.approx(const.HBARC_GEV_CM / model.width(name), rel=1e-12)


# ------------------------------------------------------------------------------ paper Tables I/II
PAIRS = ("N4 N4", "N4 N5", "N4 N6", "N5 N5", "N5 N6", "N6 N6")
TABLE_BR = {  # B(Z' -> N_j N_k) in %, Tables I/II
    "BP-A": (0, 5.4, 0, 0, 95, 0),
    "BP-B": (0.15, 11, 0.48, 1.6, 86, 0.59),
    "BP-C": (0.00014, 30, 0.019, 0.23, 70, 0.15),
    "BP-D": (0.021, 13, 0.060, 0.13, 87, 0.023),
}
TABLE_CTAU = {"BP-A": (1.6e13, 3.0, 0.26), "BP-B": (1.1e7, 2.2, 0.14), "BP-C": (1.1e7, 2.2, 0.12),
              "BP-D": (4.0e5, 3.9, 0.13)}
_BR_CASES = [(bp, pair, val) for bp, vals in TABLE_BR.items() for pair, val in zip(PAIRS, vals, strict=True)
             if val >= 1.0]
_CT_CASES = [(bp, n, val) for bp, vals in TABLE_CTAU.items() for n, val in zip(("N4", "N5", "N6"), vals, strict=False)]

_WHY = ("the paper's numbers follow from a pure axial Z' N_j N_k coupling |V_jk| for every pair and no 1/2 for "
        "identical pairs (convention='paper' reproduces them); the physical Majorana vertex a_R = -a_L^* makes the "
        "opposite-CP pairs couple vectorially")
_BR_MAJORANA_MISMATCH = {("BP-B", "N5 N5"): 0.715, ("BP-D", "N4 N5"): 7.04}
_CT_MAJORANA_MISMATCH = {("BP-A", "N5"): 6.39, ("BP-A", "N6"): 0.759, ("BP-B", "N5"): 6.05, ("BP-B", "N6"): 0.370,
                         ("BP-C", "N5"): 6.15, ("BP-C", "N6"): 0.352, ("BP-D", "N6"): 0.404}


@pytest.fixture(scope="module")
def models():
    return {(bp, conv): Model(preset(bp), conv) for bp in TABLE_BR for conv in ("majorana", "paper")}


@pytest.mark.parametrize(("bp", "pair", "val"), _BR_CASES)
def test_table_zprime_br_paper_convention(models, bp, pair, val):
    br = models[(bp, "paper")].branching_ratios("Z'")[f"Z' -> {pair}"] * 100
    assert br == pytest.approx(val, rel=0.10)  # brief: 10% for entries >= 1%


@pytest.mark.parametrize(("bp", "pair", "val"), _BR_CASES)
def test_table_zprime_br_majorana_convention(models, request, bp, pair, val):
    if (bp, pair) in _BR_MAJORANA_MISMATCH:
        got = _BR_MAJORANA_MISMATCH[(bp, pair)]
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"B = {got}% vs {val}% in the table: {_WHY}"))
    br = models[(bp, "majorana")].branching_ratios("Z'")[f"Z' -> {pair}"] * 100
    assert br == pytest.approx(val, rel=0.10)


@pytest.mark.parametrize(("bp", "name", "val"), _CT_CASES)
def test_table_ctau_paper_convention(models, bp, name, val):
    assert models[(bp, "paper")].ctau0_cm(name) == pytest.approx(val, rel=0.20)  # brief: 20%


@pytest.mark.parametrize(("bp", "name", "val"), _CT_CASES)
def test_table_ctau_majorana_convention(models, request, bp, name, val):
    if (bp, name) in _CT_MAJORANA_MISMATCH:
        got = _CT_MAJORANA_MISMATCH[(bp, name)]
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"c tau0 = {got} cm vs {val} cm: {_WHY}"))
    assert models[(bp, "majorana")].ctau0_cm(name) == pytest.approx(val, rel=0.20)


def test_majorana_mismatch_values_are_current(models):
    """The xfail reasons quote computed values; keep them true to 1%."""
    for (bp, pair), got in _BR_MAJORANA_MISMATCH.items():
        assert models[(bp, "majorana")].branching_ratios("Z'")[f"Z' -> {pair}"] * 100 == pytest.approx(got, rel=1e-2)
    for (bp, name), got in _CT_MAJORANA_MISMATCH.items():
        assert models[(bp, "majorana")].ctau0_cm(name) == pytest.approx(got, rel=1e-2)


@pytest.mark.parametrize("bp", list(TABLE_BR))
def test_phiprime_mass_caption_vs_text(bp):
    """Table I caption says m_phi' = 1.6 GeV, the text 1 GeV. N4..N6 and the Z' have no phi' channel either way,
    so their widths must not change; the heavy N7/N8 (phi' channels open at 1 GeV) show the check is sensitive."""
    a, b = Model(preset(bp, m_phiprime=1.0)), Model(preset(bp, m_phiprime=1.6))
    for name in ("Z'", "N4", "N5", "N6"):
        assert b.width(name) == pytest.approx(a.width(name), rel=1e-12)
        assert b.branching_ratios(name) == pytest.approx(a.branching_ratios(name), rel=1e-9, abs=1e-15)
    assert any("phi'" in k for n in ("N7", "N8") for k in a.partial_widths(n))
    assert a.width("phi'") != pytest.approx(b.width("phi'"), rel=1e-3)


# ------------------------------------------------------------------------------ kernel compilation
def test_three_body_dot_is_inlined():
    """_dot, the four-vector product of model/three_body.py, is inlined into its kernels (the options every kernel
    shares are tested in tests/kinematics/test_kernel_options.py)."""
    from generator.model import three_body as tb

    assert tb._dot.targetoptions["inline"] == "always"
