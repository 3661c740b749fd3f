"""Undefined values in reco.root: per detector, NaN appears only in the columns documented in
docs/detectors.md ("Undefined values", the modules' NAN_COLUMNS) and exactly when documented; the
histograms and cuts treat NaN explicitly."""

from __future__ import annotations

import math
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

import detectors
from detectors import babar, ccfr, microboone
from detectors.registry import PlotSpec, undefined_weight, weighted_hist
from tests.detectors.test_detectors_babar import n5_events
from tests.detectors.test_detectors_ccfr import ccfr_chain
from tests.detectors.test_detectors_microboone import chain_events
from tests.detectors.test_detectors_miniboone import pair_events
from tests.detectors.test_detectors_na62 import na62_events
from tests.detectors.test_detectors_ps191 import ps191_events

DOCS = Path(__file__).resolve().parents[2] / "docs" / "detectors.md"


def nan_columns(reco: ak.Array) -> set[str]:
    return {f for f in reco.fields if np.issubdtype(ak.to_numpy(reco[f]).dtype, np.floating)
            and np.isnan(ak.to_numpy(reco[f])).any()}


def col(reco, f):
    return ak.to_numpy(reco[f])


def test_babar_theta_ee_gamma_is_nan_exactly_without_a_pseudo_photon():
    # decays at 20 cm (tracking volume: veto), 110 cm (EMC: pseudo-photon), 500 cm (beyond), and a
    # resolved pair (30 deg) in the EMC
    pos = [[20.0, 0, 0], [110.0, 0, 0], [0, 110.0, 0], [500.0, 0, 0], [110.0, 0, 0]]
    theta = np.radians([4.0, 4.0, 4.0, 4.0, 30.0])
    res = detectors.run_detector("babar", n5_events(pos, theta_ee=theta), {}, np.random.default_rng(1))
    assert nan_columns(res.reco) == set(babar.NAN_COLUMNS) == {"theta_ee_gamma"}
    t, src = col(res.reco, "theta_ee_gamma"), col(res.reco, "gamma_source")
    assert np.array_equal(np.isnan(t), src != 1) and (src == 1).sum() == 2
    assert np.allclose(t[src == 1], math.radians(4.0))


def test_ccfr_separation_is_nan_exactly_without_a_secondary_shower():
    # secondary at 300 cm (inside) and 5000 cm (beyond the calorimeter: no secondary shower)
    res = detectors.run_detector("ccfr", ccfr_chain([300.0, 5000.0, 250.0], [0.0, 0.0, 10.0], 40.0), {},
                                 np.random.default_rng(2))
    has2 = col(res.reco, "has_secondary") == 1
    assert has2.tolist() == [True, False, True]
    assert nan_columns(res.reco) == set(ccfr.NAN_COLUMNS)
    for f in ccfr.NAN_COLUMNS:
        assert np.array_equal(np.isnan(col(res.reco, f)), ~has2), f
    assert col(res.reco, "sep_cm")[0] == pytest.approx(301.0)  # vertex at 200 cm, decay at 201 + 300 cm


def test_microboone_separation_is_nan_exactly_with_fewer_than_two_visible_pairs():
    # 30 cm: two vertices; second decay outside the TPC: one visible pair
    ev = ak.concatenate([chain_events([30.0, 3.0], [0.0, 0.0], [1.0, 1.0]),
                         chain_events([30.0], [0.0], [1.0], second_inside=False)])
    res = detectors.run_detector("microboone", ev, {}, np.random.default_rng(3))
    assert nan_columns(res.reco) <= set(microboone.NAN_COLUMNS)
    sep = col(res.reco, "vertex_separation_cm")
    assert np.isnan(sep).tolist() == [False, False, True]
    assert sep[0] == pytest.approx(30.0) and sep[1] == pytest.approx(3.0)  # 3 cm: visible, merged
    assert col(res.reco, "topology").tolist() == [2, 1, 1]
    assert not np.isnan(col(res.reco, "ee1_vtx_z")).any()  # every event has a visible pair


@pytest.mark.parametrize(("name", "events"), [
    ("miniboone", lambda: pair_events(np.linspace(0.2, 0.8, 6), 0.1, 0.05, [0.0, 0.0, 0.0])),
    ("ps191", lambda: ps191_events(np.linspace(0.5, 30.0, 6), 1.0)),
    ("e816", lambda: ps191_events(np.linspace(0.5, 30.0, 6), 1.0)),
    ("na62", lambda: na62_events(50, np.random.default_rng(4))),
])
def test_other_detectors_write_no_nan(name, events):
    res = detectors.run_detector(name, events(), {}, np.random.default_rng(5))
    assert nan_columns(res.reco) == set()


def test_every_nan_column_is_documented():
    text = DOCS.read_text()
    section = text[text.index("## Undefined values"):]
    for table in (babar.NAN_COLUMNS, ccfr.NAN_COLUMNS, microboone.NAN_COLUMNS):
        for name in table:
            stem = name[:-2] if name[-2:] in ("_x", "_y", "_z") else name
            assert f"`{stem}" in section, name


def test_histograms_and_cuts_handle_nan_explicitly():
    x = np.array([0.5, np.nan, 1.5, np.nan])
    w = np.array([1.0, 2.0, 3.0, 4.0])
    assert weighted_hist(x, w, np.array([0.0, 1.0, 2.0])).tolist() == [1.0, 3.0]
    assert undefined_weight(x, w) == 6.0
    # MicroBooNE separation plot: a selected event with one visible pair has no separation; it is
    # counted as undefined, not drawn in a bin
    ev = ak.concatenate([chain_events([30.0], [0.0], [1.0]), chain_events([30.0], [0.0], [4.0], second_inside=False)])
    res = detectors.run_detector("microboone", ev, {}, np.random.default_rng(3))
    sep, w, sel = col(res.reco, "vertex_separation_cm"), col(res.reco, "weight"), col(res.reco, "selected")
    assert sel.all() and np.isnan(sep).tolist() == [False, True]
    plot: PlotSpec = res.plots["vertex_separation"]
    assert plot.undefined == pytest.approx(w[1]) and plot.total_signal().sum() == pytest.approx(w[0])
    # a Cut on an undefined value fails it (CCFR: no secondary shower -> fails the separation cut)
    res = detectors.run_detector("ccfr", ccfr_chain([300.0, 5000.0], [0.0, 0.0], 40.0), {}, np.random.default_rng(2))
    flow = dict(res.cutflow)
    assert flow["separation > 14 lambda_I"] == pytest.approx(flow["secondary shower downstream"])
    assert col(res.reco, "selected").tolist() == [True, False]
