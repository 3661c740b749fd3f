"""CCFR: NC trigger, > 14 lambda_I shower separation and < 100 mrad angle on hand-made N6 -> N5
e+e-, N5 -> N4 e+e- chains; lambda_I of iron against the PDG material constants."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

import detectors
from detectors.truth import events_from_arrays

LAMBDA_I = 16.77


def ccfr_chain(dz_cm, rho_cm, E_first, weight=1.0, muon=False):
    """Interaction vertex at (0, 0, 200) cm; prompt N6 -> N5 e+e- (energy E_first, 1 cm away);
    N5 -> N4 e+e- (20 GeV) at dz_cm downstream and rho_cm off axis. Optional muon (CC-like)."""
    dz, rho, E1 = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float)) for a in (dz_cm, rho_cm, E_first)))
    n = len(dz)
    pdg = [14, 1000260560, 9900006, 1000260560, 9900005, 11, -11, 9900004, 11, -11, 13 if muon else 14]
    status = [4, 4, 2, 1, 2, 1, 1, 1, 1, 1, 1]
    mother = [-1, -1, -1, -1, 2, 2, 2, 4, 4, 4, -1]
    p = np.zeros((n, 11, 4))
    p[:, 0] = [100.0, 0, 0, 100.0]
    p[:, 1, 0] = p[:, 3, 0] = 52.1
    p[:, 5] = np.column_stack([E1 / 2, 0 * E1, 0 * E1, E1 / 2])
    p[:, 6] = p[:, 5]
    p[:, 8] = [10.0, 0, 0, 10.0]
    p[:, 9] = [10.0, 0, 0, 10.0]
    p[:, 7] = [5.0, 0, 0, 4.99]
    p[:, 4] = p[:, 7] + p[:, 8] + p[:, 9]
    p[:, 2] = p[:, 4] + p[:, 5] + p[:, 6]
    p[:, 10] = [30.0, 0, 0, 29.9]
    x = np.zeros((n, 11, 3))
    x[:, 2:4] = [0, 0, 200.0]
    x[:, 10] = [0, 0, 200.0]
    x[:, 4:7] = [0, 0, 201.0]
    x[:, 7:10, 0] = rho[:, None]
    x[:, 7:10, 2] = 201.0 + dz[:, None]
    xt = np.concatenate([np.zeros((n, 11, 1)), x], axis=-1)
    xt[:, 7:10, 0] = 201.0 + dz[:, None]  # c t of the later decay
    xt[:, 4:7, 0] = 1.0
    return events_from_arrays(pdg, status, mother, p, xt, np.broadcast_to(weight, (n,)).astype(float))


def test_iron_interaction_length_is_pdg_value():
    # PDG RPP "Atomic and nuclear properties": iron lambda_I = 132.1 g/cm^2, density 7.874 g/cm^3
    card = detectors.load_detector_card("ccfr")
    lam = next(m for m in card.modules if m.type == "CCFRShowers").params["lambda_I_cm"]
    assert lam == pytest.approx(132.1 / 7.874, abs=0.01) and lam == LAMBDA_I


def test_selection_on_known_topologies():
    # 0: passes (301 cm = 17.9 lambda_I, on axis, 40 GeV); 1: 201 cm = 12.0 lambda_I; 2: 50 cm off
    # axis (atan(50/301) = 165 mrad); 3: primary 2 GeV (the 10 GeV trigger is 6.7 sigma away with
    # 85%/sqrt(E)); 4: 28 cm off axis (93 mrad) passes
    dz = np.array([300.0, 200.0, 300.0, 300.0, 300.0])
    rho = np.array([0.0, 0.0, 50.0, 0.0, 28.0])
    E1 = np.array([40.0, 40.0, 40.0, 2.0, 40.0])
    w = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    ev = ak.concatenate([ccfr_chain(dz, rho, E1, w), ccfr_chain([300.0], [0.0], [40.0], 32.0, muon=True)])
    res = detectors.run_detector("ccfr", ev, {}, np.random.default_rng(2))
    sep = ak.to_numpy(res.reco["sep_lambda"])[:5]
    # the secondary decay is 1 cm + dz downstream of the interaction vertex
    assert np.allclose(sep, (dz + 1.0) / LAMBDA_I, rtol=1e-12)
    ang = ak.to_numpy(res.reco["angle_mrad"])[:5]
    assert np.allclose(ang, 1e3 * np.arctan2(rho, dz + 1.0), rtol=1e-9)
    flow = dict(res.cutflow)
    assert flow["NC: no muon"] == pytest.approx(31.0)
    assert flow["NC trigger E > 10 GeV"] == pytest.approx(23.0)
    assert flow["separation > 14 lambda_I"] == pytest.approx(21.0)
    assert flow["angle to beam < 100 mrad"] == pytest.approx(17.0)
    assert res.expected_events_after == pytest.approx(17.0)
    # the primary energy includes the prompt pair (merged within 1 m), not the secondary
    assert np.allclose(ak.to_numpy(res.reco["E_primary"])[:5], E1 + 0.0, atol=1e-6)
    assert "shower_separation" in res.plots


def test_fraction_of_secondary_decays_within_10m():
    rng = np.random.default_rng(4)
    dz = rng.exponential(800.0, 4000) + 101.0  # beyond the 1 m primary-shower region
    ev = ccfr_chain(np.minimum(dz, 1500.0), 0.0, 40.0)
    res = detectors.run_detector("ccfr", ev, {}, np.random.default_rng(5))
    frac = res.extra["showers: secondary within 1000 cm"]
    inside = np.minimum(dz, 1500.0) + 1.0 <= 1000.0  # distance from the interaction vertex
    assert frac == pytest.approx(np.mean(inside), abs=1e-12)
    assert 0 < frac < 1 and math.isfinite(frac)
