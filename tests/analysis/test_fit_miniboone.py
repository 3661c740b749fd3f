"""MiniBooNE fit (generator.analysis.miniboone_fit): the release's background-only chi^2 against an
independent computation, recovery of a signal injected into pseudo-data, a run directory through the
library and the CLI, and the missing-release error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from generator.analysis import miniboone_fit as mf
from generator.cli import main
from generator.datasets import ReleaseLocation, read_miniboone_release
from generator.errors import DataFileError

RELEASE = Path(__file__).resolve().parents[3] / "shared" / "data" / "miniboone_2020_release" / "fhcmode"
needs_release = pytest.mark.skipif(not RELEASE.is_dir(), reason=f"MiniBooNE 2020 release not found at {RELEASE} "
                                   "(../shared is not beside the repository)")


@pytest.fixture(scope="module")
def release():
    return read_miniboone_release(RELEASE, full=True)


def _signal_shape(edges: np.ndarray, total: float) -> np.ndarray:
    """A low-energy-peaked test signal (events per bin), ``total`` events in 200-3000 MeV."""
    c = 0.5 * (edges[1:] + edges[:-1])
    h = np.exp(-c / 0.35) * np.diff(edges)
    return total * h / h.sum()


def _independent_chi2(directory: Path, signal: np.ndarray, stat: str) -> float:
    """chi^2 written separately from the library: raw files, explicit block sums, matrix inverse."""
    d = np.loadtxt(directory / "miniboone_nuedata_lowe.txt")
    b = np.loadtxt(directory / "miniboone_nuebgr_lowe.txt")
    nm = np.loadtxt(directory / "miniboone_numu.txt")
    dm = np.loadtxt(directory / "miniboone_numudata.txt")
    frac = np.loadtxt(directory / "miniboone_full_fractcovmatrix_nu_lowe.txt")
    pred = np.hstack([signal, b, nm])
    full = frac * pred[:, None] * pred[None, :]
    s_, b_, m_ = slice(0, 11), slice(11, 22), slice(22, 30)
    ee = full[s_, s_] + full[s_, b_] + full[b_, s_] + full[b_, b_]
    em = full[s_, m_] + full[b_, m_]
    mm = full[m_, m_]
    cov = np.block([[ee, em], [em.T, mm]])
    obs = np.hstack([d, dm])
    exp = np.hstack([signal + b, nm])
    if stat == "cnp":  # Ji, Hu, Chen (2020): sigma^2 = 3 / (1/n + 2/mu)
        var = 3.0 / (1.0 / obs + 2.0 / exp)
    else:
        var = exp
    cov = cov + np.diag(var)
    res = obs - exp
    return float(res @ np.linalg.inv(cov) @ res)


@needs_release
@pytest.mark.parametrize("stat", ["cnp", "pearson"])
def test_background_only_chi2_matches_independent_computation(release, stat):
    zero = np.zeros(11)
    lib = mf.chi2(0.0, zero, release, stat=stat)
    ind = _independent_chi2(RELEASE, zero, stat)
    assert lib == pytest.approx(ind, rel=1e-10)
    # reference values of this release (19 bins, nu_mu constraint included), to 0.01: a change in the
    # block ordering or the normalisation of the covariance moves them by far more
    assert lib == pytest.approx({"cnp": 23.806, "pearson": 24.109}[stat], abs=0.01)


@needs_release
def test_chi2_with_signal_matches_independent_computation(release):
    s = _signal_shape(release["edges"], 400.0)
    assert mf.chi2(1.0, s, release) == pytest.approx(_independent_chi2(RELEASE, s, "cnp"), rel=1e-10)
    # the excess (547 events in 200-1250 MeV, ../shared/README.md) is in the release as read
    assert mf.release_excess(release) == pytest.approx(547.3, abs=0.1)


def _pseudo(release: dict, nue: np.ndarray, numu: np.ndarray) -> dict:
    out = dict(release)
    out["data"], out["numu_data"] = np.asarray(nue, float), np.asarray(numu, float)
    return out


@needs_release
def test_asimov_signal_recovered(release):
    s = _signal_shape(release["edges"], 1500.0)
    mu_true = 0.3
    pseudo = _pseudo(release, release["background"] + mu_true * s, release["numu_prediction"])
    fit = mf.fit_signal(s, pseudo, stat="pearson")
    assert fit.mu == pytest.approx(mu_true, abs=1e-4)
    assert fit.chi2_min == pytest.approx(0.0, abs=1e-6)
    assert 0 < fit.mu_err < mu_true  # a 450-event signal is seen at > 1 sigma
    assert fit.delta_chi2 == pytest.approx(fit.chi2_null, rel=1e-9)
    assert fit.p_value == pytest.approx(__import__("scipy").stats.chi2.sf(fit.delta_chi2, 1), rel=1e-9)


@needs_release
def test_sampled_signal_recovered_within_uncertainty(release):
    """200 pseudo-experiments drawn from the full covariance (Pearson statistics) at mu_true: the pulls
    (mu_hat - mu_true) / sigma_mu have mean 0 +- 0.2 (about 3 sigma of the mean) and width 1 +- 0.2."""
    rng = np.random.default_rng(12345)
    s = _signal_shape(release["edges"], 1500.0)
    mu_true = 0.4
    mean = np.concatenate([release["background"] + mu_true * s, release["numu_prediction"]])
    cov = mf.covariance(s, _pseudo(release, mean[:11], mean[11:]), mu=mu_true, stat="pearson")
    pulls = []
    for toy in rng.multivariate_normal(mean, cov, size=200):
        fit = mf.fit_signal(s, _pseudo(release, toy[:11], toy[11:]), stat="pearson")
        pulls.append((fit.mu - mu_true) / fit.mu_err)
    pulls = np.array(pulls)
    assert abs(pulls.mean()) < 0.2
    assert 0.8 < pulls.std() < 1.2


# ------------------------------------------------------------------ a run directory (synthetic reco ntuple)
def _write_run(tmp_path: Path, edges: np.ndarray, comps: dict[tuple[int, int], np.ndarray], pot: float) -> Path:
    """A run directory as `dsgen run` with the miniboone detector writes it: one event per bin and
    component at the bin centre, weight = the component's count; plus unselected events."""
    import uproot

    run = tmp_path / "runs" / "miniboone_test"
    run.mkdir(parents=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    e, w, hnl, reg = [], [], [], []
    for (j, r), h in comps.items():
        e += list(centres)
        w += list(h)
        hnl += [9900000 + j] * len(h)
        reg += [r] * len(h)
    n = len(e)
    cols = {"E_QE": np.array([*e, 0.5, 0.6]), "weight": np.array([*w, 1e4, 1e4]),
            "ee_hnl": np.array([*hnl, 9900005, 9900006], dtype=np.int64),
            "regime": np.array([*reg, 1, 2], dtype=np.int32),
            "selected": np.array([True] * n + [False, False])}
    with uproot.recreate(run / "reco.root") as f:
        f.mktree("reco", {k: v.dtype for k, v in cols.items()})
        f["reco"].extend(cols)
    (run / "detector_summary.json").write_text(json.dumps({
        "detector": "miniboone", "options": {"release_pot": 1.875e21},
        "cutflow": [["all events", 1e5], ["e-like PID and selection efficiency", float(sum(w))]]}))
    (run / "summary.json").write_text(json.dumps({"run_name": "miniboone_test", "pot": pot}))
    return run


@needs_release
def test_run_directory_fit_library_and_cli_agree(release, tmp_path):
    edges = release["edges"]
    s = _signal_shape(edges, 2000.0)
    comps = {(5, 1): 0.2 * s, (5, 2): 0.5 * s, (6, 1): 0.1 * s, (6, 2): 0.2 * s}
    # run at half the release POT: the fit must double the signal
    run = _write_run(tmp_path, edges, {k: 0.5 * v for k, v in comps.items()}, pot=0.9375e21)
    direct = mf.fit_signal(s, release)
    fit = mf.fit_miniboone(tmp_path / "runs", data_release=RELEASE, plot=tmp_path / "fig2.png")
    assert fit.mu == pytest.approx(direct.mu, rel=1e-6)
    assert fit.delta_chi2 == pytest.approx(direct.delta_chi2, rel=1e-6)
    assert sorted(fit.signal_components) == ["N5 coherent", "N5 incoherent", "N6 coherent", "N6 incoherent"]
    assert np.allclose(fit.signal_components["N5 incoherent"], 0.5 * s)
    assert (tmp_path / "fig2.png").stat().st_size > 10_000
    assert fit.run_dir == str(run)

    rc = main(["fit", "miniboone", str(run), "--data-release", str(RELEASE), "--no-plot", "--json"])
    assert rc == 0


@needs_release
def test_cli_json_equals_library(release, tmp_path, capsys):
    s = _signal_shape(release["edges"], 800.0)
    run = _write_run(tmp_path, release["edges"], {(5, 2): s}, pot=1.875e21)
    assert main(["fit", "miniboone", str(run), "--data-release", str(RELEASE), "--plot",
                 str(tmp_path / "p.png"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    lib = mf.fit_miniboone(run, data_release=RELEASE, plot=None)
    assert out["mu"] == pytest.approx(lib.mu, rel=1e-12)
    assert out["delta_chi2"] == pytest.approx(lib.delta_chi2, rel=1e-12)
    assert out["p_value"] == pytest.approx(lib.p_value, rel=1e-12)


def test_missing_release_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(mf, "locate_miniboone_release", lambda explicit=None: ReleaseLocation(None, "not found"))
    with pytest.raises(DataFileError, match=r"not found.*meaningless"):
        mf.fit_miniboone(tmp_path)
    monkeypatch.undo()
    with pytest.raises(DataFileError, match="does not exist"):
        mf.fit_miniboone(tmp_path, data_release=tmp_path / "nope")
