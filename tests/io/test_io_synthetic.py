"""Synthetic EventBlocks for the output tests, and checks of the builder itself.

Topologies (exact four-momentum conservation by construction; Lorentz boosts are linear):
- coherent: nu_mu + C12 -> N6 + C12, N6 -> N5 e- e+, N5 -> N4 e- e+ (10 particles);
- incoherent: nu_mu + p -> N5 + p, N5 -> N4 e- e+ (7 particles);
- ``permute_block`` reorders particles (beams non-contiguous) to exercise the writers' reordering.
Kinematics: 2 -> 2 in the CM frame with uniform cos(theta*); 1 -> 3 decays as 1 -> 2 (N', ee) with
m_ee uniform in [2 m_e, m - m'] followed by ee -> e- e+ isotropic (not the matrix element: these
are I/O fixtures). Decay lengths are exponential with c*tau; vertices move along the momentum at
speed beta: x_dec = x_prod + L p/|p|, c*t_dec = c*t_prod + L E/|p|.

Other io test modules import the builders from here (``from tests.io.test_io_synthetic import ...``).
"""

from __future__ import annotations

import numpy as np
import pytest

from generator.constants import M_E, M_PROTON, pdg_hnl
from generator.record import EventBlock

M_C12 = 11.174863  # GeV, 12C nuclear mass (AME2020 atomic mass 12 u minus 6 m_e, binding of electrons neglected)
PDG_C12 = 1000060120
MASSES = {4: 0.03, 5: 0.12, 6: 0.40}  # GeV, HNL masses used by the fixtures
CTAU = {5: 20.0, 6: 5.0}  # cm


def _kallen(a, b, c):
    """Kallen function lambda(a, b, c) = a^2 + b^2 + c^2 - 2ab - 2ac - 2bc."""
    return a * a + b * b + c * c - 2 * a * b - 2 * a * c - 2 * b * c


def _isotropic(rng, n):
    cos = rng.uniform(-1, 1, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    sin = np.sqrt(1 - cos**2)
    return np.stack([sin * np.cos(phi), sin * np.sin(phi), cos], axis=1)


def to_lab(p_rest, parent, M):
    """Boost rest-frame four-vectors p_rest (n, 4) of a parent with lab four-momentum parent (n, 4) and
    mass M (n,) to the lab (Jackson 11.19 with gamma = E/M, gamma*beta = P/M; no 1 - beta^2 cancellation):
    E = (E_P E* + P.p*)/M, p = p* + P (P.p*/(M (E_P + M)) + E*/M). Linear in p_rest, so daughters
    summing to (M, 0) in the rest frame sum to the parent exactly up to rounding."""
    Pp = np.sum(parent[:, 1:] * p_rest[:, 1:], axis=1)
    E = (parent[:, 0] * p_rest[:, 0] + Pp) / M
    coef = Pp / (M * (parent[:, 0] + M)) + p_rest[:, 0] / M
    return np.column_stack([E, p_rest[:, 1:] + coef[:, None] * parent[:, 1:]])


def two_body(rng, parent, M, m1, m2):
    """Isotropic (rest-frame) decay of a parent of mass M (GeV, array) -> 1 + 2; lab four-momenta (n, 4)."""
    n = parent.shape[0]
    q = np.sqrt(_kallen(M**2, m1**2, m2**2)) / (2 * M)  # rest-frame momentum (PDG kinematics, Eq. 49.17)
    d = _isotropic(rng, n) * q[:, None]
    p1 = np.column_stack([np.sqrt(q**2 + m1**2), d])
    p2 = np.column_stack([np.sqrt(q**2 + m2**2), -d])
    return to_lab(p1, parent, M), to_lab(p2, parent, M)


def three_body(rng, parent, M, m_daughter):
    """parent (mass M) -> N' e- e+ via (N', ee) with m_ee uniform in [2 m_e, M - m']; returns p_N', p_e-, p_e+."""
    n = parent.shape[0]
    M = np.broadcast_to(M, (n,))
    mee = rng.uniform(2 * M_E * 1.0001, (M - m_daughter) * 0.9999)
    pN, pee = two_body(rng, parent, M, m_daughter, mee)
    pem, pep = two_body(rng, pee, mee, M_E, M_E)
    return pN, pem, pep


def _decay_vertex(rng, x_prod, p, ctau):
    """Decay point (n, 4) (c*t, x, y, z) in cm of particles with four-momenta p produced at x_prod."""
    pabs = np.linalg.norm(p[:, 1:], axis=1)
    m = np.sqrt(p[:, 0] ** 2 - pabs**2)
    L = pabs / m * ctau * rng.exponential(size=p.shape[0])  # lab decay length: beta*gamma*c*tau*Exp(1)
    out = x_prod.copy()
    out[:, 1:] += (L / pabs)[:, None] * p[:, 1:]
    out[:, 0] += L * p[:, 0] / pabs  # c*t advances by L / beta
    return out


def _upscatter(rng, n, m_target, m_hnl, E_range):
    """nu (along +z) + target at rest -> N + target (CM angle uniform); returns p_nu, p_T, p_N, p_T'."""
    E = rng.uniform(*E_range, n)
    p_nu = np.column_stack([E, np.zeros(n), np.zeros(n), E])
    p_t = np.column_stack([np.full(n, m_target), np.zeros((n, 3))])
    tot = p_nu + p_t
    sqrt_s = np.sqrt(m_target**2 + 2 * m_target * E)  # s = M^2 + 2 M E_nu for a target at rest
    pN, pT = two_body(rng, tot, sqrt_s, m_hnl, m_target)
    return p_nu, p_t, pN, pT


def _primary_vertex(rng, n):
    x = np.empty((n, 4))
    x[:, 0] = rng.uniform(0, 500, n)  # c*t cm
    x[:, 1:3] = rng.uniform(-300, 300, (n, 2))
    x[:, 3] = rng.uniform(-500, 500, n)
    return x


def coherent_block(rng, n, weight_total=3.0, channel="coherent_C12"):
    """nu_mu C12 -> N6 C12, N6 -> N5 e- e+, N5 -> N4 e- e+; weights sum to weight_total (events)."""
    p_nu, p_t, p6, pT = _upscatter(rng, n, M_C12, MASSES[6], (0.8, 3.0))
    p5, e1m, e1p = three_body(rng, p6, MASSES[6], MASSES[5])
    p4, e2m, e2p = three_body(rng, p5, MASSES[5], MASSES[4])
    x0 = _primary_vertex(rng, n)
    x6 = _decay_vertex(rng, x0, p6, CTAU[6])
    x5 = _decay_vertex(rng, x6, p5, CTAU[5])
    p = np.stack([p_nu, p_t, p6, pT, p5, e1m, e1p, p4, e2m, e2p], axis=1)
    x = np.stack([x0, x0, x0, x0, x6, x6, x6, x5, x5, x5], axis=1)
    pol = np.zeros((n, 10))
    pol[:, [2, 4, 7]] = rng.uniform(-1, 1, (n, 3))
    raw = rng.uniform(0.5, 1.5, n)
    q = p_nu - p6
    info = {"E_nu": p_nu[:, 0], "Q2": -(q[:, 0] ** 2 - np.sum(q[:, 1:] ** 2, axis=1)),
            "regime": np.full(n, 1), "target": np.full(n, PDG_C12), "y_inel": rng.uniform(0, 1, n)}
    return EventBlock(
        channel=channel,
        pdg=[14, PDG_C12, pdg_hnl(6), PDG_C12, pdg_hnl(5), 11, -11, pdg_hnl(4), 11, -11],
        status=[4, 4, 2, 1, 2, 1, 1, 1, 1, 1], mother=[-1, -1, -1, -1, 2, 2, 2, 4, 4, 4],
        p=p, x=x, weight=raw * weight_total / raw.sum(), pol=pol, info=info,
        names=("nu_mu", "C12", "N6", "C12", "N5", "e-", "e+", "N4", "e-", "e+"),
    )


def incoherent_block(rng, n, weight_total=1.0, channel="incoherent_p"):
    """nu_mu p -> N5 p, N5 -> N4 e- e+ (7 particles); info has regime 'incoherent' as a string."""
    p_nu, p_t, p5, pT = _upscatter(rng, n, M_PROTON, MASSES[5], (0.5, 2.0))
    p4, em, ep = three_body(rng, p5, MASSES[5], MASSES[4])
    x0 = _primary_vertex(rng, n)
    x5 = _decay_vertex(rng, x0, p5, CTAU[5])
    p = np.stack([p_nu, p_t, p5, pT, p4, em, ep], axis=1)
    x = np.stack([x0, x0, x0, x0, x5, x5, x5], axis=1)
    raw = rng.uniform(0.5, 1.5, n)
    info = {"E_nu": p_nu[:, 0], "regime": np.array(["incoherent"] * n), "target": np.full(n, 2212)}
    return EventBlock(
        channel=channel, pdg=[14, 2212, pdg_hnl(5), 2212, pdg_hnl(4), 11, -11],
        status=[4, 4, 2, 1, 1, 1, 1], mother=[-1, -1, -1, -1, 2, 2, 2],
        p=p, x=x, weight=raw * weight_total / raw.sum(), info=info,
    )


def decay_block(rng, n):
    """Decay-only record N5 -> N4 e- e+ (no beams) cut from a coherent block; returns it and the source block."""
    src = coherent_block(rng, n)
    keep = [4, 7, 8, 9]  # N5 and its daughters
    b = EventBlock(channel="decay", pdg=src.pdg[keep], status=[2, 1, 1, 1], mother=[-1, 0, 0, 0],
                   p=src.p[:, keep], x=src.x[:, keep], weight=np.ones(n))
    return b, src


def permute_block(block, order):
    """Same events with particles reordered: new particle i = old particle order[i] (mothers remapped)."""
    order = np.asarray(order)
    inv = np.empty_like(order)
    inv[order] = np.arange(order.size)
    mo = block.mother[order]
    mo = np.where(mo >= 0, inv[np.maximum(mo, 0)], -1)
    return EventBlock(channel=block.channel, pdg=block.pdg[order], status=block.status[order], mother=mo,
                      p=block.p[:, order], x=block.x[:, order], weight=block.weight, pol=block.pol[:, order],
                      info=dict(block.info), weight_unit=block.weight_unit)


def make_run(seed=7, n_coh=60, n_inc=40, n_perm=15):
    """Three blocks (coherent, incoherent, coherent with beams not contiguous) and their run_info."""
    rng = np.random.default_rng(seed)
    coh = coherent_block(rng, n_coh, weight_total=3.0)
    inc = incoherent_block(rng, n_inc, weight_total=1.0)
    # beams at positions 1 and 4: HEPEVT needs them reordered
    perm = permute_block(coherent_block(rng, n_perm, weight_total=0.5), [2, 0, 3, 4, 1, 5, 6, 7, 8, 9])
    blocks = [coh, inc, perm]
    run_info = {
        "version": "0.1.0-test",
        "seed": seed,
        "card": "[run]\nname = \"io test\"\nn_events = 100\n# back\\slash and \"quotes\"\n",
        "channels": [
            {"name": "incoherent_p", "sigma_per_scatterer_cm2": 2.0e-41, "sigma_err_per_scatterer_cm2": 1.0e-43,
             "expected_events": 1.0},
            {"name": "coherent_C12", "sigma_per_scatterer_cm2": 5.0e-40, "sigma_err_per_scatterer_cm2": 2.0e-42,
             "expected_events": 3.5},
        ],
        "pot": 18.75e20,
        "luminosity_fb": 0.0,
        "hnl_ctau0_cm": {"N5": CTAU[5], "N6": CTAU[6]},
    }
    return blocks, run_info


# ------------------------------------------------------------------ checks of the fixtures
def test_fixture_on_shell_and_conserving():
    """Fixtures conserve four-momentum at every vertex and put particles on shell (double rounding)."""
    blocks, _ = make_run(seed=1)
    for b in blocks:
        m = b.masses()
        for k in range(b.n_particles):
            if b.pdg[k] in (11, -11):
                # m from E^2 - p^2 at E ~ GeV: absolute rounding ~ 1e-16 * E^2 / m, so m within 1e-6 GeV
                assert np.allclose(m[:, k], M_E, atol=1e-6)
        beams = np.flatnonzero(b.status == 4)
        prim = b.primary_out()
        bal = b.p[:, beams].sum(axis=1) - b.p[:, prim].sum(axis=1)
        # a few double roundings of the largest component (~12 GeV target energy)
        assert np.max(np.abs(bal)) < 1e-14 * np.max(np.abs(b.p))
        for k in np.flatnonzero(b.status == 2):
            bal = b.p[:, k] - b.p[:, b.daughters(k)].sum(axis=1)
            assert np.max(np.abs(bal)) < 1e-14 * np.max(np.abs(b.p[:, k]))
            # daughters are created at the decay vertex, which lies downstream along the parent momentum
            d = b.x[:, b.daughters(k)[0]] - b.x[:, k]
            cross = np.cross(d[:, 1:], b.p[:, k, 1:])
            assert np.allclose(cross, 0, atol=1e-9 * np.max(np.abs(d)) * np.max(np.abs(b.p)))


@pytest.mark.parametrize("j", [4, 5, 6])
def test_fixture_hnl_masses(j):
    """Every HNL in the fixtures carries its assigned mass (relative 1e-9: rounding of E^2 - p^2)."""
    blocks, _ = make_run(seed=2)
    for b in blocks:
        for k in np.flatnonzero(b.pdg == pdg_hnl(j)):
            assert np.allclose(b.masses()[:, k], MASSES[j], rtol=1e-9)
