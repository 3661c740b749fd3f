"""NA62: K+ -> mu+ N6, N6 -> N5 e+e- events built with exact two-body kinematics; the peaked
missing masses, the default 4% acceptance, the optional geometric acceptance and the placement of
kaon decays in the fiducial volume."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

import detectors
from detectors.na62 import track_radius_at
from detectors.truth import events_from_arrays
from generator.constants import M_E, M_K_CHARGED, M_MU
from generator.kernels.lorentz import direction3
from tests.reference_kinematics import boost, velocity

M6, M5 = 0.30, 0.15


def _two_body(M, m1, m2, n, rng):
    """Isotropic two-body decay at rest: four-momenta of the daughters (n, 4) each."""
    p = math.sqrt((M**2 - (m1 + m2) ** 2) * (M**2 - (m1 - m2) ** 2)) / (2 * M)
    cos = rng.uniform(-1, 1, n)
    phi = rng.uniform(0, 2 * np.pi, n)
    sin = np.sqrt(1 - cos**2)
    v = np.column_stack([sin * np.cos(phi), sin * np.sin(phi), cos]) * p
    return (np.column_stack([np.full(n, math.hypot(p, m1)), v]), np.column_stack([np.full(n, math.hypot(p, m2)), -v]))


def _to_lab(p4, parent):
    return boost(p4, -velocity(parent))


def na62_events(n, rng, label_mass=None, decay_cm=2000.0):
    """K+ (75 GeV, +z) -> mu+ N6 at the origin; N6 -> N5 (ee) with m_ee uniform, decay_cm downstream.

    label_mass: record N6 with this mass instead (a wrong mass hypothesis for the peak search)."""
    K = np.tile([math.hypot(75.0, M_K_CHARGED), 0, 0, 75.0], (n, 1))
    mu, N6 = _two_body(M_K_CHARGED, M_MU, M6, n, rng)
    mu, N6 = _to_lab(mu, K), _to_lab(N6, K)
    m_ee = rng.uniform(2 * M_E + 1e-3, M6 - M5 - 1e-3, n)
    N5 = np.empty((n, 4))
    ee = np.empty((n, 4))
    em = np.empty((n, 4))
    ep = np.empty((n, 4))
    for i in range(n):  # test-data construction only (per-event masses)
        a, b = _two_body(M6, M5, m_ee[i], 1, rng)
        c, d = _two_body(m_ee[i], M_E, M_E, 1, rng)
        N5[i], ee[i] = a[0], b[0]
        em[i], ep[i] = _to_lab(c, b)[0], _to_lab(d, b)[0]
    N5, em, ep = _to_lab(N5, N6), _to_lab(em, N6), _to_lab(ep, N6)
    if label_mass is not None:
        N6 = N6.copy()
        N6[:, 0] = np.sqrt(np.sum(N6[:, 1:] ** 2, axis=1) + label_mass**2)
    pdg = [321, -13, 9900006, 9900005, 11, -11]
    status = [4, 1, 2, 1, 1, 1]
    mother = [-1, -1, -1, 2, 2, 2]
    p = np.stack([K, mu, N6, N5, em, ep], axis=1)
    x = np.zeros((n, 6, 3))
    x[:, 3:] = (direction3(N6[:, 1:]) * decay_cm)[:, None]
    return events_from_arrays(pdg, status, mother, p, x, np.ones(n))


def test_track_radius_at_plane():
    vtx = np.array([[1.0, 2.0, 100.0], [0.0, 0.0, 300.0]])
    p4 = np.array([[10.0, 0.03, 0.04, 10.0], [10.0, 0.0, 0.0, 10.0]])
    r = track_radius_at(vtx, p4, 200.0)
    assert r[0] == pytest.approx(math.hypot(1.0 + 0.3, 2.0 + 0.4)) and math.isnan(r[1])  # 2nd: plane upstream


def test_peaked_kinematics_and_default_acceptance():
    rng = np.random.default_rng(31)
    n = 3000
    ev = na62_events(n, rng)
    res = detectors.run_detector("na62", ev, {}, np.random.default_rng(32))
    flow = dict(res.cutflow)
    assert flow["overall acceptance (4%)"] == pytest.approx(0.04 * flow["e+e- vertex in the decay volume"])
    assert "geometric acceptance (straws, LKr, MUV3)" not in flow
    m2 = ak.to_numpy(res.reco["m2_miss"])
    # (p_K - p_mu)^2 peaks at m_j^2 = 0.09 GeV^2; smearing (GTK 0.2%, STRAW 0.3%) keeps the mean
    assert abs(np.mean(m2) - M6**2) < 5 * np.std(m2) / math.sqrt(n) + 2e-4
    m2ee = ak.to_numpy(res.reco["m2_miss_ee"])
    assert abs(np.median(m2ee) - M5**2) < 0.005
    # most true signal events survive the windows: efficiency close to 4%
    assert 0.035 < res.efficiency <= 0.04
    # peak hypothesis m_j = 0.25 GeV for m_N6 = 0.30 GeV kinematics: |0.09 - 0.0625| >> 0.005 GeV^2
    bad = detectors.run_detector("na62", na62_events(300, rng, label_mass=0.25), {}, np.random.default_rng(33))
    assert bad.expected_events_after == 0.0


def test_kaon_decays_placed_in_fiducial_volume():
    rng = np.random.default_rng(34)
    n = 3000
    res = detectors.run_detector("na62", na62_events(n, rng, decay_cm=1000.0), {}, np.random.default_rng(35))
    z = ak.to_numpy(res.reco["ee_vtx_z"]) - 1000.0 * 0.999  # N6 flies almost exactly along +z
    assert res.extra["kaon decay vertex in the fiducial volume_moved_fraction"] == 1.0
    # uniform in 105-165 m: mean 135 m, std 60/sqrt(12) m; 5 standard errors (+ 2 cm for the approximation)
    assert abs(np.mean(z) - 13500.0) < 5 * 6000.0 / math.sqrt(12 * n) + 2.0
    assert z.min() > 10500.0 - 2.0 and z.max() < 16500.0 + 2.0


def test_geometry_replaces_constant_acceptance():
    rng = np.random.default_rng(36)
    ev = na62_events(2000, rng)
    res = detectors.run_detector("na62", ev, {}, np.random.default_rng(37), options={"use_geometry": True})
    flow = dict(res.cutflow)
    assert "overall acceptance (4%)" not in flow and "geometric acceptance (straws, LKr, MUV3)" in flow
    # no constant factor: the selected weights are the input weights
    sel = ak.to_numpy(res.reco["selected"])
    assert res.expected_events_after == pytest.approx(float(np.sum(ak.to_numpy(res.reco["weight_in"])[sel])))
    assert 0.0 < res.efficiency < 1.0


def test_generator_level_acceptance_is_not_applied_twice():
    # a kaon run generated with [experiment] acceptance = 0.04 already carries it in its weights
    rng = np.random.default_rng(41)
    ev = na62_events(500, rng)
    meta = {"channels": [{"name": "kaon_decay:N6", "acceptance": 0.04}]}
    res = detectors.run_detector("na62", ev, meta, np.random.default_rng(42))
    flow = dict(res.cutflow)
    assert "overall acceptance (4%)" not in flow
    assert res.efficiency > 0.9  # only the vertex and kinematic windows remain
    full = detectors.run_detector("na62", ev, {"channels": [{"acceptance": 1.0}]}, np.random.default_rng(42))
    assert "overall acceptance (4%)" in dict(full.cutflow)
