"""Three-body sampler N_i -> N_j e- e+: Dalitz shape (chi2), width (quadrature), polarisation (A_FB).

The sampler draws from three_body.msq_vector (four-vectors, parent spin); the references use the
Dalitz-plane |M|^2 (three_body.dalitz_msq) integrated by scipy, or msq_vector itself integrated with
an independent uniform sample (forward-backward asymmetry from s and -s).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from generator import constants as const
from generator.decay import ThreeBodySampler
from generator.kernels.lorentz import mdot
from generator.model import Spectrum, preset
from generator.model.couplings import zprime_fermion_couplings
from generator.model.three_body import dalitz_invariants, dalitz_msq
from generator.model.vertices import majorana_vector_couplings

ME = const.M_E
#: Z' width used only as a propagator input (GeV); irrelevant off shell (q^2 << m_Z'^2).
W_ZPRIME = 0.05


def bp_channel(bp: str, parent: str, daughter: str) -> dict:
    """Masses and Z'-exchange couplings of N_parent -> N_daughter e- e+ from the spectrum (Eqs. 3, A2-A3)."""
    params = preset(bp)
    sp = Spectrum(params)
    i, j = sp.index(parent), sp.index(daughter)
    aL, aR = majorana_vector_couplings(params.g_X, sp.V, j, i)
    bL, bR = zprime_fermion_couplings(params, "e")
    return {"M": sp.mass(parent), "m1": sp.mass(daughter), "m2": ME, "m3": ME,
            "med_m": [params.m_Zprime], "med_w": [W_ZPRIME], "aL": [aL], "aR": [aR], "bL": [bL], "bR": [bR]}


def _args(ch):
    return (ch["M"], ch["m1"], ch["m2"], ch["m3"], ch["med_m"], ch["med_w"], ch["aL"], ch["aR"], ch["bL"], ch["bR"])


def quad_width(ch) -> float:
    """Gamma = int dm_ee^2 dm_N'e^2 |M|^2 / (256 pi^3 M^3) (PDG kinematics) by nested scipy quadrature, GeV."""
    M, mj = ch["M"], ch["m1"]
    rest = (M, mj, ME, ME, ch["med_m"], ch["med_w"], ch["aL"], ch["aR"], ch["bL"], ch["bR"])

    def inner(mff2):
        lo, hi = dalitz_invariants(mff2, M, mj, ME, ME)
        val, _ = integrate.quad(lambda y: dalitz_msq([mff2], [y], *rest)[0], float(lo), float(hi), epsrel=1e-10)
        return val

    val, _ = integrate.quad(inner, 4 * ME**2, (M - mj) ** 2, epsrel=1e-8, limit=200)
    return val / (256 * math.pi**3 * M**3)


def test_weighted_sample_reproduces_quadrature_width():
    ch = bp_channel("BP-B", "N6", "N5")
    s = ThreeBodySampler(*_args(ch))
    rng = np.random.default_rng(41)
    n = 400_000
    _, w = s.weighted(n, rng)
    est = w.sum()
    err = w.std() * math.sqrt(n)
    ref = quad_width(ch)
    assert err / est < 3e-3  # the MC precision is good enough for a 1% comparison
    assert abs(est - ref) / ref < 0.01
    assert abs(est - ref) < 5 * err  # and it agrees statistically (5 sigma)


@pytest.mark.parametrize("polarised", [False, True])
def test_dalitz_distribution_chi2(polarised):
    ch = bp_channel("BP-B", "N6", "N5")
    s = ThreeBodySampler(*_args(ch))
    rng = np.random.default_rng(42 + polarised)
    n = 30_000
    spin = None
    if polarised:  # fully polarised along a random fixed axis: the Dalitz density must not change
        spin = np.tile(np.array([0.6, 0.0, 0.8]), (n, 1))
    p = s.sample(spin, n, rng)
    assert s.stats.n_overweight == 0
    mee2 = mdot(p[:, 1] + p[:, 2], p[:, 1] + p[:, 2])
    mne2 = mdot(p[:, 0] + p[:, 1], p[:, 0] + p[:, 1])
    M, mj = ch["M"], ch["m1"]
    # m_ee never above m_i - m_j (and never below 2 m_e)
    assert np.all(np.sqrt(mee2) <= M - mj + 1e-12) and np.all(np.sqrt(mee2) >= 2 * ME - 1e-12)
    ex = np.linspace(4 * ME**2, (M - mj) ** 2, 9)
    ey = np.linspace((mj + ME) ** 2, (M - ME) ** 2, 9)
    counts, _, _ = np.histogram2d(mee2, mne2, bins=(ex, ey))
    # expectation: midpoint rule on a 600 x 600 grid of the analytic Dalitz |M|^2 inside the PDG limits
    gx = np.linspace(ex[0], ex[-1], 601)
    gy = np.linspace(ey[0], ey[-1], 601)
    cx, cy = 0.5 * (gx[1:] + gx[:-1]), 0.5 * (gy[1:] + gy[:-1])
    X, Y = np.meshgrid(cx, cy, indexing="ij")
    lo, hi = dalitz_invariants(X.ravel(), M, mj, ME, ME)
    f = dalitz_msq(X.ravel(), Y.ravel(), M, mj, ME, ME, ch["med_m"], ch["med_w"],
                   ch["aL"], ch["aR"], ch["bL"], ch["bR"])
    f = np.where((Y.ravel() >= lo) & (Y.ravel() <= hi), f, 0.0).reshape(X.shape)
    expect, _, _ = np.histogram2d(X.ravel(), Y.ravel(), bins=(ex, ey), weights=f.ravel())
    expect *= n / expect.sum()
    big = expect >= 5  # small edge bins are merged into one
    obs, exp_ = counts[big], expect[big]
    if expect[~big].sum() > 0:
        obs, exp_ = np.append(obs, counts[~big].sum()), np.append(exp_, expect[~big].sum())
    assert counts[expect == 0].sum() == 0  # nothing outside the physical region
    chi2 = np.sum((obs - exp_) ** 2 / exp_)
    dof = len(obs) - 1
    # the grid expectation is accurate to << 1% per bin; p-value threshold 1e-3 at this fixed seed
    assert stats.chi2.sf(chi2, dof) > 1e-3, (chi2, dof)


def test_forward_backward_asymmetry_of_polarised_parent():
    """Generic chiral couplings (V-A like) give large asymmetries; compare with msq_vector at s and -s."""
    ch = bp_channel("BP-B", "N6", "N5")
    ch.update(aL=[1.0], aR=[0.0], bL=[1.0], bR=[0.0])
    s = ThreeBodySampler(*_args(ch))
    rng = np.random.default_rng(44)
    # expectation from an independent uniform phase-space sample: F(s) = int_{cos > 0} |M|^2(s);
    # backward(s) = F(-s) by a rotation of pi about an axis orthogonal to s, so A = (F(s) - F(-s)) / (F(s) + F(-s))
    q, inside = s.candidates(400_000, rng)
    q = q[inside]
    z = np.zeros((len(q), 3))
    z[:, 2] = 1.0
    a, b = s.msq(q, z), s.msq(q, -z)
    n = 40_000
    pol = 0.8
    p = s.sample(np.tile([0.0, 0.0, pol], (n, 1)), n, rng)
    for i in range(3):
        fwd = q[:, i, 3] > 0
        A_full = (a[fwd] - b[fwd]).sum() / (a[fwd] + b[fwd]).sum()
        A_exp = pol * A_full  # |M|^2 is linear in s
        A_mc = np.mean(np.sign(p[:, i, 3]))
        sigma = math.sqrt((1 - A_mc**2) / n) + 0.003  # sampling error + expectation's MC error
        assert abs(A_mc - A_exp) < 5 * sigma, (i, A_mc, A_exp)
    # the test has teeth: the e+ asymmetry is large for these couplings
    fwd = q[:, 2, 3] > 0
    assert abs((a[fwd] - b[fwd]).sum() / (a[fwd] + b[fwd]).sum()) > 0.3


def test_closed_channel_is_rejected():
    from generator.errors import PhysicsError

    with pytest.raises(PhysicsError, match="closed"):
        ThreeBodySampler(0.1, 0.1, ME, ME, [1.25], [0.05], [1.0], [0.0], [1.0], [0.0])
