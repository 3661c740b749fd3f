"""BaBar fit (generator.analysis.babar_fit): the one-bin profile-likelihood significance of the paper's
totals computed analytically, recovery of an injected signal, the data-file formats, and a run
directory through the library and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from generator.analysis import babar_fit as bf
from generator.cli import main
from generator.errors import DataFileError


def _analytic_one_bin_z(n: float, b: float, sigma: float) -> float:
    """Profile-likelihood significance of n observed on b expected with a Gaussian constraint of
    fractional width sigma on the background normalisation, solved by hand: at mu = 0 the profiled
    theta solves (b + theta / sigma^2)(1 + theta) = n, a quadratic; at the best fit lambda = n, theta = 0."""
    a2 = 1.0 / sigma**2
    a1 = b + 1.0 / sigma**2
    a0 = b - n
    theta = (-a1 + math.sqrt(a1 * a1 - 4.0 * a2 * a0)) / (2.0 * a2)
    lam = b * (1.0 + theta)
    q0 = 2.0 * (lam - n + n * math.log(n / lam)) + (theta / sigma) ** 2
    return math.sqrt(q0)


def test_default_data_are_the_papers_totals():
    d = bf.read_babar_data()
    assert d.edges.tolist() == [24.0, 50.0]
    assert d.observed.tolist() == [189.0]
    assert d.background.tolist() == [157.0]
    assert "paper" in d.label


@pytest.mark.parametrize("sigma", [0.01, 0.05])
def test_one_bin_significance_matches_analytic(sigma):
    d = bf.read_babar_data()
    fit = bf.fit_counts(np.array([100.0]), d, bkg_uncertainty=sigma)
    z = _analytic_one_bin_z(189.0, 157.0, sigma)
    assert fit.significance == pytest.approx(z, rel=1e-4)
    assert fit.p_value == pytest.approx(stats.norm.sf(z), rel=1e-3)
    assert fit.signal_events == pytest.approx(189.0 - 157.0, rel=1e-3)  # a free signal fills the excess
    assert fit.mu == pytest.approx(0.32, rel=1e-3)
    # paper: 2.5 (2.2) sigma with 1 (5)% from its binned 24-50 GeV^2 fit; the one-bin totals give
    # 2.45 (2.09): agreement within the paper's rounding plus the binning difference (0.15)
    assert fit.significance == pytest.approx({0.01: 2.5, 0.05: 2.2}[sigma], abs=0.15)


def test_one_bin_without_nuisance_is_the_poisson_formula():
    fit = bf.fit_counts(np.array([10.0]), bf.read_babar_data(), bkg_uncertainty=0.0)
    n, b = 189.0, 157.0
    assert fit.significance == pytest.approx(math.sqrt(2 * (n * math.log(n / b) - (n - b))), rel=1e-6)


def _multi_bin(mu_true: float):
    b = np.array([50.0, 60.0, 40.0, 30.0])
    s = np.array([10.0, 30.0, 20.0, 5.0])
    return b, s, bf.BaBarData(np.array([24.0, 30.0, 38.0, 44.0, 50.0]), b + mu_true * s, b, "test", "test")


def test_asimov_signal_recovered_with_cowan_significance():
    b, s, d = _multi_bin(2.0)  # n = b + 2 s = (70, 120, 80, 40), integers
    fit = bf.fit_counts(s, d, bkg_uncertainty=0.0)
    assert fit.mu == pytest.approx(2.0, abs=1e-4)
    # Asimov significance, Cowan, Cranmer, Gross, Vitells EPJC 71 (2011) 1554, Eq. (97), summed over bins
    sig = 2.0 * s
    z_a = math.sqrt(2.0 * np.sum((sig + b) * np.log1p(sig / b) - sig))
    assert fit.significance == pytest.approx(z_a, rel=1e-5)
    with_nuisance = bf.fit_counts(s, d, bkg_uncertainty=0.05)
    assert with_nuisance.mu == pytest.approx(2.0, abs=1e-3)
    assert with_nuisance.theta == pytest.approx(0.0, abs=1e-4)
    assert with_nuisance.significance < fit.significance  # a background uncertainty dilutes the evidence


def test_sampled_signal_recovered_within_uncertainty():
    """300 Poisson pseudo-experiments at mu_true, fitted with the model that generated them (background
    known): pulls (mu_hat - mu_true) / sigma_mu have mean 0 +- 0.2 (about 3.5 sigma of the mean) and
    width 1 +- 0.2."""
    rng = np.random.default_rng(2021)
    mu_true = 2.0
    b, s, _ = _multi_bin(mu_true)
    edges = np.array([24.0, 30.0, 38.0, 44.0, 50.0])
    pulls = []
    for _ in range(300):
        n = rng.poisson(mu_true * s + b)
        fit = bf.fit_counts(s, bf.BaBarData(edges, n.astype(float), b), bkg_uncertainty=0.0)
        pulls.append((fit.mu - mu_true) / fit.mu_err)
    pulls = np.array(pulls)
    assert abs(pulls.mean()) < 0.2
    assert 0.8 < pulls.std() < 1.2


def test_toml_and_text_formats_agree(tmp_path):
    (tmp_path / "d.toml").write_text('label = "x"\nedges_GeV2 = [24, 30, 50]\nobserved = [5, 7]\n'
                                     'background = [4.5, 6.0]\n')
    (tmp_path / "d.txt").write_text("# lo hi n b\n24 30 5 4.5\n30 50 7 6.0  # second bin\n")
    a, b = bf.read_babar_data(tmp_path / "d.toml"), bf.read_babar_data(tmp_path / "d.txt")
    for key in ("edges", "observed", "background"):
        assert np.array_equal(getattr(a, key), getattr(b, key))


@pytest.mark.parametrize(("text", "match"), [
    ("24 30 5 4.5\n31 50 7 6\n", "not contiguous"),
    ("24 30 5 -1\n", "must be > 0"),
    ("24 30 5.5 4\n", "integers"),
    ("24 30 5\n", "need 4"),
])
def test_bad_data_files_are_rejected(tmp_path, text, match):
    (tmp_path / "bad.txt").write_text(text)
    with pytest.raises(DataFileError, match=match):
        bf.read_babar_data(tmp_path / "bad.txt")


def _write_run(tmp_path: Path, m2: np.ndarray, w: np.ndarray, cutflow: list) -> Path:
    import uproot

    run = tmp_path / "babar_test"
    run.mkdir()
    cols = {"M_miss2": np.append(m2, 30.0), "weight": np.append(w, 1e3),
            "selected": np.append(np.ones(len(m2), bool), False)}
    with uproot.recreate(run / "reco.root") as f:
        f.mktree("reco", {k: v.dtype for k, v in cols.items()})
        f["reco"].extend(cols)
    (run / "detector_summary.json").write_text(json.dumps({"detector": "babar", "cutflow": cutflow}))
    (run / "summary.json").write_text(json.dumps({"run_name": "babar_test", "luminosity_fb": 38.2}))
    return run


def test_run_directory_library_and_cli(tmp_path, capsys):
    # 40 events in 24-50 GeV^2 (the fit window) and 60 in 50-64 (outside it)
    m2 = np.array([30.0, 45.0, 55.0])
    w = np.array([25.0, 15.0, 60.0])
    cutflow = [["all events", 1.0e5], ["single (pseudo-)photon, no other activity", 8.0e3],
               ["24 < M_miss2 < 64 GeV^2", 100.0]]
    run = _write_run(tmp_path, m2, w, cutflow)
    fit = bf.fit_babar(run, bkg_uncertainty=0.01)
    assert fit.signal_prediction == pytest.approx(40.0)
    assert fit.mu == pytest.approx(32.0 / 40.0, rel=1e-3)
    assert fit.p_x_eps_b == pytest.approx(fit.mu * 8.0e3 / 1.0e5, rel=1e-12)
    assert fit.pseudo_photons_before_cuts == pytest.approx(fit.mu * 8.0e3, rel=1e-12)
    assert main(["fit", "babar", str(run), "--bkg-uncertainty", "0.01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["significance"] == pytest.approx(fit.significance, rel=1e-12)
    assert out["p_x_eps_b"] == pytest.approx(fit.p_x_eps_b, rel=1e-12)
    assert main(["fit", "babar", str(tmp_path / "nothing")]) == 2
    plotted = bf.fit_babar(run, plot="auto")
    assert Path(plotted.plot) == run / "fit_babar.png"
    assert Path(plotted.plot).stat().st_size > 10_000
