"""Detector framework: geometry, smearing, efficiencies, truth extraction, card validation, cut
flows and the writers. Every check compares with an independent number (analytic values, a scipy
distribution, sums computed directly from the input)."""

from __future__ import annotations

import json
import math

import awkward as ak
import numpy as np
import pytest
from scipy import stats

import detectors
from detectors import registry, response
from detectors.truth import events_from_arrays, extract_truth
from generator import geometry
from generator.errors import DataFileError, DetectorCardError, UnknownNameError
from generator.kernels.lorentz import direction3, invariant_mass

# ----------------------------------------------------------------------------- geometry


def test_shapes_contain_known_points():
    sphere = geometry.Sphere(5.0, (0.0, 0.0, 10.0))
    assert sphere.contains(np.array([[0, 0, 14.9], [0, 0, 15.1], [3, 4, 10]])).tolist() == [True, False, True]
    shell = geometry.Cylinder(radius_cm=136.0, length_cm=200.0, inner_radius_cm=92.0)
    pts = np.array([[100.0, 0, 0], [50.0, 0, 0], [140.0, 0, 0], [0, 100.0, 99.0], [0, 100.0, 101.0]])
    assert shell.contains(pts).tolist() == [True, False, False, True, False]
    cyl_x = geometry.Cylinder(radius_cm=1.0, length_cm=20.0, axis=(1.0, 0.0, 0.0))
    assert cyl_x.contains(np.array([[9.0, 0.5, 0.5], [0.0, 1.0, 1.0]])).tolist() == [True, False]
    box = geometry.Box.from_corners((0.0, -1.0, 0.0), (2.0, 1.0, 5.0))
    assert box.contains(np.array([[1, 0, 5.0], [1, 0, 5.1], [-0.1, 0, 1]])).tolist() == [True, False, False]
    union = geometry.Union((sphere, box))
    assert union.contains(np.array([[0, 0, 12.0], [1, 0, 1], [50, 50, 50]])).tolist() == [True, True, False]
    # works on (n, k, 3) arrays too
    assert box.contains(np.zeros((4, 3, 3))).shape == (4, 3)


def test_shape_from_dict_and_errors():
    s = registry.shape_from_dict({"shape": "sphere", "radius_cm": 500.0})
    assert isinstance(s, geometry.Sphere) and s.radius_cm == 500.0
    with pytest.raises(UnknownNameError, match="sphere"):
        registry.shape_from_dict({"shape": "sphre", "radius_cm": 1.0})
    with pytest.raises(DetectorCardError, match="radius_cm"):
        registry.shape_from_dict({"shape": "sphere"})
    with pytest.raises(DetectorCardError, match="must be > 0"):
        registry.shape_from_dict({"shape": "sphere", "radius_cm": -1.0})
    with pytest.raises(DetectorCardError, match="unknown key"):
        registry.shape_from_dict({"shape": "box", "min_cm": [0, 0, 0], "max_cm": [1, 1, 1], "size": 3})
    with pytest.raises(DetectorCardError, match="must exceed"):
        registry.shape_from_dict({"shape": "box", "min_cm": [0, 0, 0], "max_cm": [1, -1, 1]})


# ----------------------------------------------------------------------------- smearing


def test_energy_smearing_width_and_energy_dependence():
    rng = np.random.default_rng(11)
    res = response.Resolution(stochastic=0.12, power=0.5)
    n = 20000
    for E in (1.0, 4.0):
        out = response.smear_energy(np.full(n, E), res, rng)
        expected = 0.12 * math.sqrt(E)  # sigma_E = E * 0.12 / sqrt(E)
        # sample std has relative error 1/sqrt(2n) = 0.5%: allow 5 sigma (2.5%)
        assert np.std(out) == pytest.approx(expected, rel=0.025)
        # mean unbiased within 5 standard errors
        assert abs(np.mean(out) - E) < 5 * expected / math.sqrt(n)


def test_resolution_terms_add_in_quadrature():
    res = response.Resolution(stochastic=0.0232, power=0.25, constant=0.0185)
    E = np.array([0.5, 2.0, 8.0])
    expected = np.sqrt((0.0232 / E**0.25) ** 2 + 0.0185**2)  # BaBar EMC formula, NIM A479 (2002) 1
    assert np.allclose(res.relative(E), expected, rtol=1e-12)
    assert np.allclose(res.sigma(E), expected * E, rtol=1e-12)


def test_direction_smearing_is_rayleigh():
    rng = np.random.default_rng(5)
    n = 20000
    sigma = math.radians(3.0)
    u = direction3(rng.normal(size=(n, 3)))
    v = response.smear_direction(u, sigma, rng)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    angle = np.arccos(np.clip(np.sum(u * v, axis=1), -1, 1))
    # independent reference: scipy's Rayleigh distribution; fixed seed, KS p-value above 1e-3
    assert stats.kstest(angle, stats.rayleigh(scale=sigma).cdf).pvalue > 1e-3


def test_vertex_and_momentum_smearing():
    rng = np.random.default_rng(8)
    n = 20000
    x = np.tile([1.0, 2.0, 3.0], (n, 1))
    out = response.smear_vertex(x, np.array([0.5, 1.0, 22.0]), rng)
    # per-axis std within 2.5% (5 sigma of the sample-std error 0.5%)
    assert np.allclose(np.std(out, axis=0), [0.5, 1.0, 22.0], rtol=0.025)
    p4 = np.tile([np.hypot(10.0, 0.1057), 0.0, 0.0, 10.0], (n, 1))
    sm = response.smear_momentum(p4, response.Resolution(constant=0.003, linear=0.00005),
                                 response.AngularResolution(constant=5e-5), rng)
    # invariant mass is kept exactly (up to rounding)
    assert np.allclose(invariant_mass(sm), 0.1057, rtol=1e-6)
    expected = 10.0 * math.hypot(0.003, 0.00005 * 10.0)  # NA62 STRAW sigma_p at 10 GeV
    assert np.std(np.linalg.norm(sm[:, 1:], axis=1)) == pytest.approx(expected, rel=0.025)


def test_efficiency_table_and_constant():
    eff = response.efficiency_from_dict({"x": [0.0, 1.0, 2.0], "eff": [0.2, 0.6, 0.4]}, "t", "eff")
    assert np.allclose(eff(np.array([-1.0, 0.5, 1.5, 3.0]), 4), [0.2, 0.4, 0.5, 0.4])
    eff0 = response.efficiency_from_dict({"x": [0.0, 1.0], "eff": [0.2, 0.6], "outside": "zero"}, "t", "eff")
    assert np.allclose(eff0(np.array([-0.5, 0.5, 1.5]), 3), [0.0, 0.4, 0.0])
    assert np.allclose(response.efficiency_from_dict({"value": 0.04}, "t", "e")(None, 3), 0.04)
    with pytest.raises(DetectorCardError, match=r"\[0, 1\]"):
        response.efficiency_from_dict({"value": 1.5}, "t", "e")


# ----------------------------------------------------------------------------- truth extraction


def _two_pair_events(n=3):
    """nu_mu C12 -> nu_mu? no: beams nu_mu, C12; N6 (decays) + C12; N6 -> N5 e+ e-; N5 -> N4 e+ e-.

    Particles are deliberately listed with the later decay (N5's pair) first.
    """
    pdg = [14, 1000060120, 9900006, 1000060120, 9900005, 9900004, 11, -11, 11, -11, 2212, 13, 22]
    status = [4, 4, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1]
    mother = [-1, -1, -1, -1, 2, 4, 4, 4, 2, 2, -1, -1, -1]
    P = len(pdg)
    p = np.zeros((n, P, 4))
    x = np.zeros((n, P, 4))
    p[:, 0] = [2.0, 0, 0, 2.0]
    p[:, 1] = [11.1749, 0, 0, 0]
    p[:, 2] = [1.2, 0, 0, np.sqrt(1.2**2 - 0.25**2)]
    p[:, 3] = [11.1750, 0.01, 0, 0]
    p[:, 4] = [0.8, 0, 0, np.sqrt(0.8**2 - 0.15**2)]
    p[:, 5] = [0.3, 0, 0, np.sqrt(0.3**2 - 0.05**2)]
    p[:, 6] = [0.3, 0, 0.01, 0.3]
    p[:, 7] = [0.2, 0, -0.01, 0.2]
    p[:, 8] = [0.25, 0.01, 0, 0.25]
    p[:, 9] = [0.15, -0.01, 0, 0.15]
    p[:, 10] = [math.sqrt(0.938272**2 + 0.05), 0.1, 0, 0.2]
    p[:, 11] = [0.5, 0, 0, 0.49]
    p[:, 12] = [0.1, 0, 0.1, 0]
    # production vertices (c t, x, y, z) cm: N5 pair at z = 40 (t = 40), N6 pair at z = 2 (t = 2)
    x[:, 4:5] = [2.0, 0, 0, 2.0]
    x[:, 8:10] = [2.0, 0, 0, 2.0]
    x[:, 5:8] = [40.0, 0, 0, 40.0]
    return pdg, status, mother, p, x


def test_truth_extraction_pairs_ordered_and_ancestors():
    pdg, status, mother, p, x = _two_pair_events()
    ev = events_from_arrays(pdg, status, mother, p, x, np.ones(3), regime=2)
    c = extract_truth(ev)
    assert c["n_pair"].tolist() == [2, 2, 2]
    # time order: the N6 pair (z = 2) first although listed last
    assert np.allclose(c["pair_vtx"][:, 0], [0, 0, 2.0]) and np.allclose(c["pair_vtx"][:, 1], [0, 0, 40.0])
    assert c["pair_hnl"][0, :2].tolist() == [9900006, 9900005]
    # masses of the decaying HNL and of the HNL produced with the pair
    assert c["pair_hnl_mass"][0, 0] == pytest.approx(0.25) and c["pair_hnl_daughter_mass"][0, 0] == pytest.approx(0.15)
    assert c["pair_hnl_mass"][0, 1] == pytest.approx(0.15) and c["pair_hnl_daughter_mass"][0, 1] == pytest.approx(0.05)
    assert np.allclose(c["pair_em"][0, 0], p[0, 8]) and np.allclose(c["pair_ep"][0, 0], p[0, 9])
    assert not c["pair_valid"][0, 2]
    # HNL list: N6 decays at z = 2, N5 at z = 40, N4 undecayed
    assert c["hnl_pdg"][0, :3].tolist() == [9900006, 9900005, 9900004]
    assert np.allclose(c["hnl_decay_vtx"][0, 0], [0, 0, 2.0]) and np.allclose(c["hnl_decay_vtx"][0, 1], [0, 0, 40.0])
    assert np.isnan(c["hnl_decay_vtx"][0, 2]).all() and c["hnl_decayed"][0].tolist()[:3] == [True, True, False]
    # hadrons, muon, photon, beams
    t_p = math.sqrt(0.938272**2 + 0.05) - 0.938272  # proton kinetic energy
    assert c["proton_T"][0] == pytest.approx(t_p, abs=1e-9)
    assert c["recoil_T"][0] == pytest.approx(t_p + (11.1750 - math.sqrt(11.1750**2 - 1e-4)), abs=1e-9)
    assert c["has_muon"][0] and np.allclose(c["muon_p"][0], p[0, 11])
    assert c["n_photon"][0] == 1 and np.allclose(c["photon_p"][0], p[0, 12])
    assert np.allclose(c["beam_p"][0], p[0, 0] + p[0, 1]) and np.allclose(c["nu_p"][0], p[0, 0])
    assert c["regime"].tolist() == [2, 2, 2]


def test_truth_missing_branch_is_reported():
    pdg, status, mother, p, x = _two_pair_events(1)
    ev = events_from_arrays(pdg, status, mother, p, x, np.ones(1))
    bad = ak.zip({k: ev[k] for k in ev.fields if k != "vz"}, depth_limit=1)
    with pytest.raises(DataFileError, match="vz"):
        extract_truth(bad)


# ----------------------------------------------------------------------------- cards and chain


def test_unknown_detector_and_option():
    assert {"miniboone", "microboone", "ps191", "e816", "ccfr", "babar", "na62"} <= set(detectors.available_detectors())
    with pytest.raises(UnknownNameError, match="miniboone"):
        detectors.load_detector_card("minibone")
    pdg, status, mother, p, x = _two_pair_events(1)
    ev = events_from_arrays(pdg, status, mother, p, x, np.ones(1))
    with pytest.raises(DetectorCardError, match="use_geometry"):
        detectors.run_detector("na62", ev, {}, np.random.default_rng(1), options={"use_geomtry": True})
    with pytest.raises(DetectorCardError, match="wrong type"):
        detectors.run_detector("na62", ev, {}, np.random.default_rng(1), options={"use_geometry": "yes"})


def test_every_shipped_card_cites_references():
    for name in detectors.available_detectors():
        card = detectors.load_detector_card(name)
        assert card.references, name
        assert all(m.ref or m.type in ("Histogram", "Categories", "Cut") for m in card.modules), name


def _write_card(tmp_path, text):
    (tmp_path / "toy.toml").write_text(text)


CARD_HEAD = 'name = "toy"\ndescription = "d"\nframe = "f"\n'


def test_card_validation_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "data_dir", lambda: tmp_path)
    _write_card(tmp_path, CARD_HEAD + '[[modules]]\nname = "a"\ntype = "Fiducal"\ninputs = ["prim_vtx"]\n')
    with pytest.raises(UnknownNameError, match="Fiducial"):
        registry.load_detector_card("toy")
    _write_card(tmp_path, CARD_HEAD + '[[modules]]\nname = "a"\ntype = "Fiducial"\ninputs = ["vtx_reco"]\n')
    with pytest.raises(DetectorCardError, match="vtx_reco"):
        registry.load_detector_card("toy")
    _write_card(tmp_path, CARD_HEAD + '[[modules]]\nname = "a"\ntype = "Fiducial"\ninputs = ["prim_vtx"]\ncolour = 1\n')
    with pytest.raises(DetectorCardError, match="colour"):
        registry.load_detector_card("toy")
    _write_card(tmp_path, CARD_HEAD + 'modules = []\n')
    with pytest.raises(DetectorCardError, match="non-empty"):
        registry.load_detector_card("toy")


TOY = CARD_HEAD + """
[options]
extra_cut = false

[[modules]]
name = "vertex in box"
type = "Fiducial"
inputs = ["prim_vtx"]
ref = "test"
[modules.params.volume]
shape = "box"
min_cm = [-10.0, -10.0, 0.0]
max_cm = [10.0, 10.0, 100.0]

[[modules]]
name = "half efficiency"
type = "Efficiency"
ref = "test"
[modules.params]
value = 0.5

[[modules]]
name = "E_nu > 1 GeV"
type = "Cut"
inputs = ["E_nu"]
enabled_if = "extra_cut"
[modules.params]
min = 1.0

[[modules]]
name = "z region"
type = "Region"
inputs = ["prim_vtx"]
outputs = ["zreg"]
[modules.params]
regions = [
  { name = "upstream half", volume = { shape = "box", min_cm = [-10.0, -10.0, 0.0], max_cm = [10.0, 10.0, 50.0] } },
  { name = "downstream half", volume = { shape = "box", min_cm = [-10.0, -10.0, 50.0], max_cm = [10.0, 10.0, 100.0] } },
]

[[modules]]
name = "region yields"
type = "Categories"
inputs = ["zreg"]
[modules.params.labels]
0 = "upstream"
1 = "downstream"

[[modules]]
name = "E_nu spectrum"
type = "Histogram"
inputs = ["E_nu", "zreg"]
[modules.params]
bins = [0.0, 1.0, 3.0]
labels = { 0 = "upstream", 1 = "downstream" }
"""


def _vertex_events(z, weight, E_nu):
    n = len(z)
    pdg, status, mother = [14, 2212, 14, 2212], [4, 4, 1, 1], [-1, -1, -1, -1]
    p = np.zeros((n, 4, 4))
    p[:, :, 0] = 1.0
    x = np.zeros((n, 4, 3))
    x[:, 2:, 2] = np.asarray(z)[:, None]
    return events_from_arrays(pdg, status, mother, p, x, weight, E_nu=np.asarray(E_nu, dtype=float))


def test_cutflow_weights_and_options(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "data_dir", lambda: tmp_path)
    _write_card(tmp_path, TOY)
    z = np.array([5.0, 50.0, 150.0, -5.0, 99.0])
    w = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    E = np.array([0.5, 2.0, 2.0, 2.0, 0.5])
    ev = _vertex_events(z, w, E)
    res = detectors.run_detector("toy", ev, {}, np.random.default_rng(0))
    inside = (z >= 0) & (z <= 100)
    assert [c[0] for c in res.cutflow] == ["all events", "vertex in box", "half efficiency"]  # no cut from Region
    assert res.cutflow[0][1] == pytest.approx(w.sum())
    assert res.cutflow[1][1] == pytest.approx(w[inside].sum())
    assert res.cutflow[2][1] == pytest.approx(0.5 * w[inside].sum())
    assert res.expected_events_after == pytest.approx(0.5 * w[inside].sum())
    assert res.efficiency == pytest.approx(0.5 * w[inside].sum() / w.sum())
    assert ak.to_numpy(res.reco["selected"]).tolist() == inside.tolist()
    res2 = detectors.run_detector("toy", ev, {}, np.random.default_rng(0), options={"extra_cut": True})
    assert res2.expected_events_after == pytest.approx(0.5 * w[inside & (E > 1)].sum())
    assert res2.cutflow[-1][0] == "E_nu > 1 GeV"
    # Region codes (first matching region, 2 = outside), yields and histogram of selected events
    assert ak.to_numpy(res.reco["zreg"]).tolist() == [0, 0, 2, 2, 1]
    assert res.extra["region yields"] == {"upstream": pytest.approx(1.5), "downstream": pytest.approx(8.0)}
    comps = {lbl: c for lbl, c, _ in res.plots["E_nu spectrum"].components}
    assert np.allclose(comps["upstream"], [0.5, 1.0]) and np.allclose(comps["downstream"], [8.0, 0.0])


# ----------------------------------------------------------------------------- writers and detect_main


def _write_events_root(path, ev):
    import uproot

    particle = ["pdg", "status", "mother", "E", "px", "py", "pz", "m", "vx", "vy", "vz", "vt", "pol"]
    with uproot.recreate(path) as f:
        types = {k: ak.type(ev[k]).content for k in particle}
        types.update({"weight": np.float64, "channel": np.int32, "regime": np.int32, "target": np.int32,
                      "E_nu": np.float64, "Q2": np.float64})
        t = f.mktree("events", types)
        n = len(ev)
        t.extend({**{k: ev[k] for k in particle}, "weight": ak.to_numpy(ev["weight"]),
                  "channel": np.zeros(n, np.int32), "regime": np.ones(n, np.int32),
                  "target": np.full(n, 1000060120, np.int32), "E_nu": np.ones(n), "Q2": np.zeros(n)})


def test_detect_main_reads_root_and_writes_outputs(tmp_path):
    import uproot

    pdg, status, mother, p, x = _two_pair_events(4)
    x[..., 1:] += np.array([100.0, 0.0, 500.0])  # inside MicroBooNE
    ev = events_from_arrays(pdg, status, mother, p, x, np.array([1.0, 2.0, 3.0, 4.0]))
    run = tmp_path / "run"
    run.mkdir()
    _write_events_root(run / "events.root", ev)
    (run / "metadata.json").write_text(json.dumps({"experiment": "microboone", "pot": 1.0e21}))
    res = detectors.detect_main("microboone", run, seed=3)  # the summary dict (also the JSON file)
    out = run / "detector_microboone"
    names = sorted(q.name for q in out.iterdir())
    assert {"reco.root", "cutflow.txt", "cutflow.json", "detector_summary.json"} <= set(names)
    assert any(nm.endswith(".png") for nm in names)
    assert not any(nm.endswith(".tmp") for nm in names)  # atomic writes leave no temporaries
    summary = json.loads((out / "detector_summary.json").read_text())
    assert summary["detector"] == "microboone"
    assert summary["expected_events_before"] == pytest.approx(10.0)
    assert summary["cutflow"][0] == ["all events", pytest.approx(10.0)]
    assert summary == json.loads(json.dumps(res))
    assert summary["efficiency"] == pytest.approx(summary["expected_events_after"] / 10.0)
    assert json.loads((out / "cutflow.json").read_text())["cutflow"] == summary["cutflow"]
    assert summary["extra"]["seed"] == 3 and summary["files"]["reco"].endswith("reco.root")
    with uproot.open(out / "reco.root") as f:
        t = f["reco"]
        assert t.num_entries == 4
        assert np.allclose(t["weight_in"].array(library="np"), [1, 2, 3, 4])
        sel = t["selected"].array(library="np")
    # two vertices 38 cm apart, both in the fiducial volume: all events are double-vertex events
    assert sel.all() and summary["extra"]["topology yields"]["double vertex (>= 10 cm)"] == pytest.approx(10.0)
    with pytest.raises(DataFileError, match=r"events.root"):
        detectors.detect_main("microboone", tmp_path / "nothing")


def test_detect_main_on_the_output_module_ntuple(tmp_path):
    """Round trip through the generator's own ROOT writer (generator.io.root), metadata from the file."""
    from generator.io.root import write_root
    from generator.record import EventBlock

    pdg, status, mother, p, x = _two_pair_events(6)
    x[..., 1:] += np.array([100.0, 0.0, 500.0])
    block = EventBlock(channel="toy", pdg=np.array(pdg), status=np.array(status), mother=np.array(mother), p=p, x=x,
                       weight=np.full(6, 0.5), info={"regime": np.full(6, 2), "E_nu": np.full(6, 2.0)})
    run = tmp_path / "run"
    write_root(run / "events.root", [block], {"version": "test", "seed": 1, "card": "", "pot": 2.0e20,
                                             "channels": [{"name": "toy"}]})
    summary = detectors.detect_main("microboone", run, seed=4)
    assert summary["expected_events_before"] == pytest.approx(3.0)
    # both vertices (z = 502 and 540 cm) inside the fiducial volume: every event is a double vertex
    assert summary["extra"]["topology yields"]["double vertex (>= 10 cm)"] == pytest.approx(3.0)
    assert summary["extra"]["generator regime yields"]["incoherent"] == pytest.approx(3.0)
    assert (run / "detector_microboone" / "detector_summary.json").is_file()
