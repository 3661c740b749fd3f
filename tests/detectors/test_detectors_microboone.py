"""MicroBooNE detector: single vs double e+e- vertices (10 cm), proton-track threshold, fiducial
volume; expected yields computed directly from the hand-made inputs."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

import detectors
from detectors.microboone import merge_vertices
from detectors.truth import events_from_arrays
from generator.constants import M_PROTON
from generator.errors import DetectorCardError

CENTRE = np.array([128.0, 0.0, 518.0])  # centre of the MicroBooNE TPC (card frame), cm


def chain_events(sep_cm, proton_T, weight, second_inside=True):
    """N6 (from the primary vertex at the TPC centre) -> N5 e+e- promptly; N5 -> N4 e+e- at
    ``sep_cm`` downstream (or far outside the TPC); a proton of kinetic energy proton_T (GeV)."""
    sep_cm, proton_T, weight = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (sep_cm, proton_T, weight))
    n = len(sep_cm)
    pdg = [14, 1000180400, 9900006, 2212, 9900005, 11, -11, 9900004, 11, -11]
    status = [4, 4, 2, 1, 2, 1, 1, 1, 1, 1]
    mother = [-1, -1, -1, -1, 2, 2, 2, 4, 4, 4]
    p = np.zeros((n, 10, 4))
    p[:, 0] = [1.0, 0, 0, 1.0]
    p[:, 1, 0] = 37.2
    Ep = M_PROTON + proton_T
    p[:, 3, 0], p[:, 3, 3] = Ep, np.sqrt(Ep**2 - M_PROTON**2)
    p[:, 5] = [0.1, 0.02, 0, 0.098]
    p[:, 6] = [0.1, -0.02, 0, 0.098]
    p[:, 8] = [0.08, 0, 0.02, 0.077]
    p[:, 9] = [0.07, 0, -0.02, 0.067]
    p[:, 7] = [0.2, 0, 0, 0.15]
    p[:, 4] = p[:, 7] + p[:, 8] + p[:, 9]
    p[:, 2] = p[:, 4] + p[:, 5] + p[:, 6]
    x = np.zeros((n, 10, 4))
    x[:, 2:4, 1:] = CENTRE
    x[:, 4:7, 1:] = CENTRE + np.array([0.0, 0.0, 0.5])  # N6 decays 5 mm from the vertex
    second = CENTRE + np.column_stack([np.zeros(n), np.zeros(n), 0.5 + sep_cm])
    if not second_inside:
        second = second + np.array([0.0, 0.0, 5000.0])
    x[:, 7:10, 1:] = second[:, None]
    x[:, 7:10, 0] = 100.0  # later in time
    x[:, 4:7, 0] = 0.5
    return events_from_arrays(pdg, status, mother, p, x, weight, regime=np.where(proton_T > 0, 2, 1))


def test_vertex_merging_kernel():
    vtx = np.zeros((3, 4, 3))
    vtx[:, 1, 2] = [5.0, 10.0, 30.0]
    ok = np.zeros((3, 4), dtype=bool)
    ok[:, :2] = True
    nv, sep = merge_vertices(vtx, ok, 10.0)
    assert nv.tolist() == [1, 2, 2]  # 5 cm merges, 10 cm (boundary) and 30 cm do not
    assert np.allclose(sep, [5.0, 10.0, 30.0])
    ok[2, 1] = False
    nv, sep = merge_vertices(vtx, ok, 10.0)
    assert nv[2] == 1 and math.isnan(sep[2])


def test_topologies_and_proton_tracks():
    sep = np.array([5.0, 30.0, 30.0, 30.0])
    T_p = np.array([0.0, 0.02, 0.10, 0.10])
    w = np.array([1.0, 2.0, 4.0, 8.0])
    ev = ak.concatenate([chain_events(sep, T_p, w), chain_events([30.0], [0.1], [16.0], second_inside=False)])
    res = detectors.run_detector("microboone", ev, {}, np.random.default_rng(1))
    topo = ak.to_numpy(res.reco["topology"]).tolist()
    assert topo == [1, 2, 2, 2, 1]  # 5 cm merged; last event: second decay outside the TPC
    assert ak.to_numpy(res.reco["has_proton"]).tolist() == [False, False, True, True, True]  # 40 MeV threshold
    assert np.allclose(ak.to_numpy(res.reco["vertex_separation_cm"])[:4], sep)
    y = res.extra["topology yields"]
    assert y["single e+e- vertex"] == pytest.approx(1.0 + 16.0)
    assert y["double vertex (>= 10 cm)"] == pytest.approx(2.0 + 4.0 + 8.0)
    h = res.extra["proton-track yields"]
    assert h["no proton track (coherent-like)"] == pytest.approx(3.0)
    assert h["proton track (incoherent-like)"] == pytest.approx(28.0)
    assert res.expected_events_after == pytest.approx(31.0)
    assert "vertex_separation" in res.plots and "m_ee" in res.plots
    # the separation histogram holds every event with two visible pairs (also the merged one at
    # 5 cm, below the 10 cm line); the event whose second decay is outside has NaN and is absent
    spec = res.plots["vertex_separation"]
    assert spec.total_signal().sum() == pytest.approx(1.0 + 2.0 + 4.0 + 8.0)
    assert spec.total_signal()[0] == pytest.approx(1.0)  # 0-10 cm bin


def test_fiducial_volume_cut():
    ev = chain_events([30.0, 30.0], [0.1, 0.1], [1.0, 2.0])
    ev2 = ak.with_field(ev, ev["vx"] + ak.Array([[0.0] * 10, [-123.0] * 10]), "vx")  # second event: x = 5 cm
    res = detectors.run_detector("microboone", ev2, {}, np.random.default_rng(2))
    flow = dict(res.cutflow)
    assert flow["e+e- vertex in the active volume"] == pytest.approx(3.0)
    assert flow["fiducial volume (10 cm inset)"] == pytest.approx(1.0)


def test_experiment_mismatch_is_an_error_unless_forced():
    ev = chain_events([30.0], [0.1], [1.0])
    ok = detectors.run_detector("microboone", ev, {"experiment": "MicroBooNE"}, np.random.default_rng(3))
    assert "note" not in ok.extra
    with pytest.raises(DetectorCardError) as exc:
        detectors.run_detector("microboone", ev, {"experiment": "BaBar"}, np.random.default_rng(3))
    msg = str(exc.value)
    assert "BaBar" in msg and "microboone" in msg and "detectors for 'BaBar': babar" in msg and "force" in msg
    other = detectors.run_detector("microboone", ev, {"experiment": "BaBar"}, np.random.default_rng(3), force=True)
    assert "BaBar" in other.extra["note"] and other.expected_events_after == ok.expected_events_after
