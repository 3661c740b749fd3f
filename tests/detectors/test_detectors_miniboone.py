"""MiniBooNE detector: single-shower mimicry of e+e- pairs, smearing, fiducial volume, CCQE energy
(checked against exact two-body kinematics) and the 2020 data release (Fig. 2 analogue)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

import detectors
from detectors import kinematics as kin
from detectors.miniboone import read_miniboone_release, release_excess
from detectors.truth import events_from_arrays
from generator import datasets
from generator.card import parse_card
from generator.cli import main as dsgen
from generator.constants import DEFAULT_DETECTOR_SEED, M_E, M_NEUTRON, M_PROTON
from generator.errors import DataFileError, DetectorCardError, MissingDataWarning
from generator.kernels.lorentz import cos_angle3, direction3

RELEASE = Path(__file__).resolve().parents[3] / "shared" / "data" / "miniboone_2020_release" / "fhcmode"
needs_release = pytest.mark.skipif(not RELEASE.is_dir(), reason=f"MiniBooNE 2020 release not found at {RELEASE} "
                                   "(../shared is not beside the repository)")
# Tests that do not look at the Fig. 2 analogue run with or without the release; the release tests below
# check the warning explicitly (pytest.warns records it whatever this filter says).
pytestmark = pytest.mark.filterwarnings("ignore::generator.errors.MissingDataWarning")


def _rot(u, axis, angle):
    """Rodrigues rotation of unit vectors u (n, 3) about unit axes (n, 3) by angle (n,)."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    return u * c + np.cross(axis, u) * s + axis * np.sum(axis * u, axis=1, keepdims=True) * (1 - c)


def pair_events(E_minus, E_plus, theta_ee, vtx, weight=None, hnl=9900005, regime=1, direction=(0, 0, 1)):
    """nu_mu C12 -> nu?  (beams nu_mu, C12) -> HNL + C12; HNL -> N4 e- e+ at vtx (cm).

    The e- and e+ make an opening angle theta_ee (rad), symmetric about ``direction``.
    """
    E_minus, E_plus, theta_ee = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (E_minus, E_plus, theta_ee))
    n = max(len(E_minus), len(E_plus), len(theta_ee), len(np.atleast_2d(vtx)))
    E_minus, E_plus, theta_ee = (np.broadcast_to(a, (n,)) for a in (E_minus, E_plus, theta_ee))
    vtx = np.broadcast_to(np.atleast_2d(np.asarray(vtx, dtype=float)), (n, 3))
    d = np.broadcast_to(np.asarray(direction, dtype=float) / np.linalg.norm(direction), (n, 3))
    perp = direction3(np.cross(d, np.where(np.abs(d[:, 2:3]) < 0.9, [0, 0, 1.0], [1.0, 0, 0])))
    um, up = _rot(d, perp, theta_ee / 2), _rot(d, perp, -theta_ee / 2)
    pm = np.sqrt(E_minus**2 - M_E**2)[:, None] * um
    pp = np.sqrt(E_plus**2 - M_E**2)[:, None] * up
    pdg = [14, 1000060120, hnl, 1000060120, 9900004, 11, -11]
    status = [4, 4, 2, 1, 1, 1, 1]
    mother = [-1, -1, -1, -1, 2, 2, 2]
    p = np.zeros((n, 7, 4))
    p[:, 0] = [1.0, 0, 0, 1.0]
    p[:, 1] = [11.1749, 0, 0, 0]
    p[:, 3] = [11.1749, 0, 0, 0]
    p[:, 5, 0], p[:, 5, 1:] = E_minus, pm
    p[:, 6, 0], p[:, 6, 1:] = E_plus, pp
    p[:, 4] = [0.3, 0, 0, 0.2]
    p[:, 2] = p[:, 4] + p[:, 5] + p[:, 6]
    x = np.zeros((n, 7, 3))
    x[:, 2:4] = vtx[:, None]
    x[:, 4:] = vtx[:, None]
    w = np.ones(n) if weight is None else np.broadcast_to(np.asarray(weight, dtype=float), (n,))
    return events_from_arrays(pdg, status, mother, p, x, w, regime=np.broadcast_to(regime, (n,)))


def _reco(res, field):
    return ak.to_numpy(res.reco[field])


def test_pair_merging_rules():
    deg = math.pi / 180
    # (E-, E+, theta): overlapping 5 deg; just below / above 13 deg; resolved 20 deg; asymmetric; both soft
    cases = [(0.3, 0.3, 5 * deg), (0.3, 0.3, 12.9 * deg), (0.3, 0.3, 13.1 * deg), (0.3, 0.3, 20 * deg),
             (0.4, 0.02, 20 * deg), (0.02, 0.01, 40 * deg)]
    Em, Ep, th = (np.array(c) for c in zip(*cases, strict=True))
    ev = pair_events(Em, Ep, th, [0.0, 0.0, 0.0])
    res = detectors.run_detector("miniboone", ev, {}, np.random.default_rng(1))
    assert _reco(res, "shower_kind").tolist() == [1, 1, 0, 0, 2, -1]
    # overlapping: E = E+ + E-; asymmetric: the harder lepton only (before smearing)
    assert np.allclose(_reco(res, "shower_E"), [0.6, 0.6, 0.0, 0.0, 0.4, 0.0])
    assert np.allclose(_reco(res, "theta_ee"), th, atol=1e-9)
    # cut flow: 6 pairs in the tank, 3 single showers
    flow = dict(res.cutflow)
    assert flow["one e+e- pair decaying in the tank"] == pytest.approx(6.0)
    assert flow["single e-like shower"] == pytest.approx(3.0)


def test_overlapping_pair_direction_and_energy_smearing():
    n = 20000
    ev = pair_events(np.full(n, 0.25), 0.25, math.radians(4.0), [0.0, 0, 0], direction=(0.0, 0.6, 0.8))
    res = detectors.run_detector("miniboone", ev, {}, np.random.default_rng(2))
    # merged direction = direction of p+ + p- (symmetric pair): cos theta to the beam = 0.8
    dirs = np.column_stack([_reco(res, f"shower_dir_{c}") for c in "xyz"])
    assert np.allclose(dirs, [0.0, 0.6, 0.8], atol=1e-12)
    # energy resolution 12%/sqrt(E): sigma = 0.12 sqrt(0.5) GeV; sample std within 2.5% (5 sigma)
    E_vis = _reco(res, "E_vis")
    assert np.std(E_vis) == pytest.approx(0.12 * math.sqrt(0.5), rel=0.025)
    # reconstructed angle: Rayleigh with scale 2.8 deg, mean 2.8 deg sqrt(pi/2); 5 standard errors
    ang = np.arccos(np.clip(cos_angle3(np.column_stack([_reco(res, f"dir_reco_{c}") for c in "xyz"]), dirs), -1, 1))
    mean_expected = math.radians(2.8) * math.sqrt(math.pi / 2)
    sd = math.radians(2.8) * math.sqrt((4 - math.pi) / 2) / math.sqrt(n)
    assert abs(ang.mean() - mean_expected) < 5 * sd


def test_fiducial_volume_and_double_vertices():
    deg = math.pi / 180
    vtx = np.array([[0.0, 0.0, 300.0], [0.0, 590.0, 0.0], [700.0, 0.0, 0.0]])
    ev = pair_events(0.3, 0.3, 5 * deg, vtx, weight=[1.0, 10.0, 100.0])
    res = detectors.run_detector("miniboone", ev, {}, np.random.default_rng(3))
    flow = dict(res.cutflow)
    assert flow["one e+e- pair decaying in the tank"] == pytest.approx(11.0)  # 700 cm is outside the tank
    assert flow["fiducial volume R < 500 cm"] == pytest.approx(1.0)  # 590 cm is 4 sigma(22 cm) outside
    # e-like efficiency 0.30 of the card multiplies the weights after the E_QE cut
    assert res.cutflow[-1][1] == pytest.approx(0.30 * res.cutflow[-2][1])


def test_two_visible_pairs_are_rejected():
    from tests.detectors.test_detectors_framework import _two_pair_events

    pdg, status, mother, p, x = _two_pair_events(2)
    ev = events_from_arrays(pdg, status, mother, p, x, np.ones(2))
    res = detectors.run_detector("miniboone", ev, {}, np.random.default_rng(4))
    assert dict(res.cutflow)["one e+e- pair decaying in the tank"] == 0.0
    assert res.expected_events_after == 0.0


def _two_body_lepton(E_nu, cos_cm, m_target):
    """nu + target (mass m_target, at rest) -> e- + p: lab electron energy and cos(theta), exact."""
    s = m_target**2 + 2 * m_target * E_nu
    rs = np.sqrt(s)
    E_cm = (s + M_E**2 - M_PROTON**2) / (2 * rs)
    p_cm = np.sqrt(E_cm**2 - M_E**2)
    beta = E_nu / (E_nu + m_target)
    gamma = 1 / np.sqrt(1 - beta**2)
    pz = gamma * (p_cm * cos_cm + beta * E_cm)
    pt = p_cm * np.sqrt(1 - cos_cm**2)
    E = gamma * (E_cm + beta * p_cm * cos_cm)
    return E, pz / np.hypot(pz, pt)


@pytest.mark.parametrize("E_B", [0.0, 0.034])
def test_enu_qe_reproduces_two_body_kinematics(E_B):
    rng = np.random.default_rng(6)
    E_nu = rng.uniform(0.2, 3.0, 1000)
    cos_cm = rng.uniform(-1, 1, 1000)
    # the MiniBooNE formula is exact for a neutron of mass m_n - E_B at rest (PRD 81 092005 Eq. 1)
    E_e, cos_lab = _two_body_lepton(E_nu, cos_cm, M_NEUTRON - E_B)
    assert np.allclose(kin.enu_qe(E_e, cos_lab, m_l=M_E, E_B=E_B), E_nu, rtol=1e-9)


@needs_release
def test_release_files_and_excess():
    rel = read_miniboone_release(RELEASE)
    assert len(rel["edges"]) == 12 and rel["edges"][0] == pytest.approx(0.2) and rel["edges"][-1] == pytest.approx(3.0)
    # ../shared/README.md: "Excess 200-1250 MeV in these files: 547 events"
    assert release_excess(rel) == pytest.approx(547.0, abs=0.5)


@needs_release
def test_fig2_analogue_uses_release_and_pot_scaling(tmp_path):
    deg = math.pi / 180
    n = 400
    rng = np.random.default_rng(7)
    ev = pair_events(rng.uniform(0.15, 0.5, n), 0.1, 3 * deg, [0.0, 0.0, 0.0], weight=0.5,
                     regime=rng.integers(1, 3, n))
    pot = 1.0e21
    res = detectors.run_detector("miniboone", ev, {"pot": pot}, np.random.default_rng(8),
                                 options={"data_release_dir": str(RELEASE)})
    assert res.extra["release_source"] == "explicit"
    assert "signal on top of the 2020 release" in res.plots["enu_qe"].title
    rel = read_miniboone_release(RELEASE)
    spec = res.plots["enu_qe"]
    assert np.allclose(spec.background[0][1], rel["background"]) and np.allclose(spec.data[1], rel["data"])
    scale = 1.875e21 / pot
    assert res.extra["signal_scale_to_release_pot"] == pytest.approx(scale)
    # total signal in the plot = scaled selected yield (all selected E_QE lie in 0.2-3 GeV)
    assert spec.total_signal().sum() == pytest.approx(scale * res.expected_events_after, rel=1e-12)
    labels = {c[0] for c in spec.components}
    assert labels <= {"N5 coherent", "N5 incoherent"} and labels
    files = detectors.write_detector_outputs(res, tmp_path / "mb")
    assert Path(files["plot_enu_qe"]).stat().st_size > 0 and Path(files["plot_cos_theta"]).is_file()


def test_explicit_missing_release_is_an_error(tmp_path):
    ev = pair_events(0.3, 0.3, 0.05, [0.0, 0.0, 0.0])
    with pytest.raises(DataFileError, match="does not exist"):
        detectors.run_detector("miniboone", ev, {}, np.random.default_rng(1),
                               options={"data_release_dir": str(tmp_path / "nowhere")})


def _no_release_anywhere(monkeypatch, tmp_path):
    """DSGEN_MINIBOONE_RELEASE unset and the developers' ../shared fallback unavailable."""
    monkeypatch.delenv(datasets.MINIBOONE_RELEASE_ENV, raising=False)
    monkeypatch.setattr(datasets, "_checkout_fallback", lambda: tmp_path / "no_shared_here")


def test_missing_release_warns_and_plot_says_signal_only(monkeypatch, tmp_path):
    _no_release_anywhere(monkeypatch, tmp_path)
    ev = pair_events(0.3, 0.3, 0.05, [0.0, 0.0, 0.0])
    with pytest.warns(MissingDataWarning, match="--data-release"):
        res = detectors.run_detector("miniboone", ev, {"pot": 1e21}, np.random.default_rng(1))
    spec = res.plots["enu_qe"]
    assert "signal only" in spec.title and "on top of" not in spec.title
    assert spec.background == [] and spec.data is None
    assert res.extra["release_dir"] is None and res.extra["release_source"] == "not found"
    assert "release_excess_200_1250MeV" not in res.extra
    # the signal itself is still there, on the release binning
    assert spec.total_signal().sum() == pytest.approx(1.875 * res.expected_events_after, rel=1e-12)


@needs_release
def test_release_from_environment_variable(monkeypatch, tmp_path):
    _no_release_anywhere(monkeypatch, tmp_path)
    monkeypatch.setenv(datasets.MINIBOONE_RELEASE_ENV, str(RELEASE))
    ev = pair_events(0.3, 0.3, 0.05, [0.0, 0.0, 0.0])
    res = detectors.run_detector("miniboone", ev, {"pot": 1e21}, np.random.default_rng(1))
    assert res.extra["release_source"] == "environment" and res.extra["release_dir"] == str(RELEASE.resolve())
    assert np.allclose(res.plots["enu_qe"].background[0][1], read_miniboone_release(RELEASE)["background"])


def _write_pair_run(run, n=5):
    """A run directory with events.root (TTree "events") of n e+e- pairs in the MiniBooNE tank."""
    import uproot

    ev = pair_events(np.linspace(0.3, 0.6, n), 0.1, 0.05, [0.0, 0.0, 0.0])
    particle = ["pdg", "status", "mother", "E", "px", "py", "pz", "m", "vx", "vy", "vz", "vt", "pol"]
    run.mkdir()
    with uproot.recreate(run / "events.root") as f:
        types = {k: ak.type(ev[k]).content for k in particle}
        types.update({"weight": np.float64, "regime": np.int32})
        t = f.mktree("events", types)
        t.extend({**{k: ev[k] for k in particle}, "weight": ak.to_numpy(ev["weight"]),
                  "regime": ak.to_numpy(ev["regime"]).astype(np.int32)})


@needs_release
def test_cli_data_release_option_and_default_seed(monkeypatch, tmp_path, capsys):
    _no_release_anywhere(monkeypatch, tmp_path)
    run = tmp_path / "run"
    _write_pair_run(run)
    assert dsgen(["detect", "--detector", "miniboone", str(run), "--data-release", str(RELEASE), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["extra"]["release_source"] == "explicit"
    assert summary["extra"]["seed"] == DEFAULT_DETECTOR_SEED
    # a directory that does not exist is an error naming it, not a silent "signal only"
    assert dsgen(["detect", "--detector", "miniboone", str(run), "--data-release", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err
    # a detector without published data refuses the option
    with pytest.raises(DetectorCardError, match="data_release_dir"):
        detectors.detect_main("microboone", run, data_release=RELEASE)


def test_card_key_data_release_is_relative_to_the_card(tmp_path):
    text = '[model]\npreset = "BP-B"\n[detector]\nname = "miniboone"\ndata_release = "rel/fhcmode"\n'
    card = parse_card(text, path=tmp_path / "cards" / "mb.toml")
    assert card.detector.data_release_path(card.path) == (tmp_path / "cards" / "rel" / "fhcmode").resolve()
    assert card.detector.seed == DEFAULT_DETECTOR_SEED
    absolute = parse_card(text.replace("rel/fhcmode", str(RELEASE)), path=tmp_path / "mb.toml")
    assert absolute.detector.data_release_path(absolute.path) == RELEASE
    bare = parse_card('[model]\npreset = "BP-B"\n[detector]\nname = "miniboone"\n')
    assert bare.detector.data_release_path(None) is None
