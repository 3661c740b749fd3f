"""MiniBooNE neutrino-mode e-like fit of a run's signal to the 2020 data release (paper Fig. 2).

Procedure (the collaboration's, MiniBooNE PRD 103 (2021) 052002, arXiv:2006.16883, Sec. VII and the
data-release instructions):

1. Prediction vector ``P = (s, b, m)`` of 30 entries: signal ``s`` (11 nu_e E_nu^QE bins, 200-3000
   MeV, expected events at 18.75e20 POT), nu_e background ``b`` (11 bins) and nu_mu CCQE prediction
   ``m`` (8 bins). The release's 30x30 fractional covariance ``F`` is ordered the same way.
2. Systematic covariance ``M_ij = F_ij P_i P_j`` (flux and cross-section uncertainties shared by the
   nu_e and nu_mu samples: the nu_mu sample constrains them through the off-diagonal blocks).
3. Collapse the signal and background blocks into one nu_e block: ``C = A M A^T`` with ``A`` (19x30)
   summing entries i and i+11, giving a 19x19 matrix on (nu_e 11 bins, nu_mu 8 bins).
4. Add the statistical variance on the diagonal. Default ``"cnp"``: the combined Neyman-Pearson
   variance ``3 / (1/n + 2/mu)`` of Ji, Hu, Chen, Nucl. Instrum. Meth. A961 (2020) 163677, whose
   chi^2 is closest to the Poisson likelihood ratio (Pearson ``mu`` where n = 0). Alternatives:
   ``"pearson"`` (variance = prediction), ``"neyman"`` (variance = observed, at least 1).
5. ``chi^2(mu) = r^T C(mu)^-1 r`` with ``r = (n_e - b - mu s, n_mu - m)``; ``C`` is rebuilt at every
   ``mu`` since the signal systematics and the statistical variance depend on it. ``mu`` is minimised
   with iminuit (MIGRAD, HESSE uncertainty, MINOS interval).

Checks (tests/analysis/test_fit_miniboone.py): the release's background-only chi^2 is 23.81 for 19 bins with
CNP (24.11 Pearson); the excess in 200-1250 MeV is 547 events.

The signal systematics use the release's signal block (fractional flux and cross-section errors of a
nu_e CCQE-like signal); ``signal_systematics=False`` drops them (signal known exactly up to ``mu``).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from generator.constants import PDG_HNL_OFFSET
from generator.datasets import locate_miniboone_release, read_miniboone_release, release_excess
from generator.errors import DataFileError, FitError, UnknownNameError

#: Statistical-variance prescriptions for the diagonal (see module docstring, step 4).
STAT_METHODS = ("cnp", "pearson", "neyman")
#: Protons on target of the 2020 neutrino-mode release (arXiv:2006.16883).
RELEASE_POT = 18.75e20
N_NUE, N_NUMU = 11, 8
_REGIMES = {1: "coherent", 2: "incoherent"}


# ============================================================================ chi^2 (pure functions)
def collapse_matrix(n_nue: int = N_NUE, n_numu: int = N_NUMU) -> np.ndarray:
    """Matrix A ((n_nue + n_numu) x (2 n_nue + n_numu)) summing the signal and background blocks."""
    a = np.zeros((n_nue + n_numu, 2 * n_nue + n_numu))
    i = np.arange(n_nue)
    a[i, i] = 1.0
    a[i, i + n_nue] = 1.0
    j = np.arange(n_numu)
    a[n_nue + j, 2 * n_nue + j] = 1.0
    return a


def stat_variance(observed: np.ndarray, predicted: np.ndarray, method: str = "cnp") -> np.ndarray:
    """Statistical variance per bin (events^2) for ``method`` in STAT_METHODS (module docstring)."""
    n, p = np.asarray(observed, float), np.asarray(predicted, float)
    if method == "cnp":  # Ji, Hu, Chen NIM A961 (2020) 163677, Eq. (9); Pearson where n = 0
        with np.errstate(divide="ignore"):
            return np.where(n > 0, 3.0 / (1.0 / np.where(n > 0, n, 1.0) + 2.0 / p), p)
    if method == "pearson":
        return p
    if method == "neyman":
        return np.maximum(n, 1.0)
    raise UnknownNameError("statistical-variance method", method, STAT_METHODS)


def covariance(signal: np.ndarray, release: dict, mu: float = 1.0, stat: str = "cnp",
               signal_systematics: bool = True) -> np.ndarray:
    """Collapsed 19x19 covariance (events^2) on (nu_e, nu_mu) bins for signal ``mu * signal``
    (expected events per nu_e bin at the release POT), steps 1-4 of the module docstring."""
    s = mu * np.asarray(signal, float)
    frac = np.array(release["fractional_covariance"], float)
    p = np.concatenate([s, release["background"], release["numu_prediction"]])
    m = frac * np.outer(p, p)
    if not signal_systematics:
        m[:N_NUE, :] = 0.0
        m[:, :N_NUE] = 0.0
    a = collapse_matrix(len(s), len(release["numu_prediction"]))
    pred = a @ p
    obs = np.concatenate([release["data"], release["numu_data"]])
    return a @ m @ a.T + np.diag(stat_variance(obs, pred, stat))


def chi2(mu: float, signal: np.ndarray, release: dict, stat: str = "cnp", signal_systematics: bool = True) -> float:
    """chi^2 of the release's (nu_e, nu_mu) data against background + ``mu`` x signal (step 5)."""
    s = mu * np.asarray(signal, float)
    r = np.concatenate([release["data"] - release["background"] - s, release["numu_data"] - release["numu_prediction"]])
    c = covariance(signal, release, mu, stat, signal_systematics)
    return float(r @ np.linalg.solve(c, r))


def _check_release(release: dict) -> None:
    frac = release.get("fractional_covariance")
    need = 2 * len(release["data"]) + len(release.get("numu_data", []))
    if frac is None or frac.shape != (need, need):
        shape = None if frac is None else frac.shape
        msg = (
            f"MiniBooNE release: fractional covariance has shape {shape}, the fit needs "
                            f"({need}, {need}) ordered (nu_e signal, nu_e background, nu_mu)"
        )
        raise DataFileError(msg)


@dataclass
class MiniBooNEFit:
    """Result of a MiniBooNE fit. ``mu``: best-fit signal strength (multiplies the run's prediction),
    ``mu_err`` its HESSE uncertainty, ``mu_minos`` the MINOS (lower, upper) 1-sigma interval;
    ``chi2_min`` / ``chi2_null`` at the best fit and at mu = 0; ``delta_chi2`` = chi2_null - chi2_min;
    ``p_value`` of the no-signal hypothesis from delta_chi2 (1 dof; ``significance`` = sqrt(delta_chi2)
    in Gaussian sigma); ``p_value_gof`` goodness of fit of the best fit (chi2_min, ``ndof``). Event
    counts are expected events at the release POT; ``signal_*`` at mu = 1 (the run's prediction)."""

    mu: float
    mu_err: float
    mu_minos: tuple[float, float]
    chi2_min: float
    chi2_null: float
    delta_chi2: float
    p_value: float
    significance: float
    ndof: int
    p_value_gof: float
    stat: str
    signal_systematics: bool
    signal_total: float
    signal_200_1250MeV: float
    bestfit_200_1250MeV: float
    release_excess_200_1250MeV: float
    release_dir: str | None = None
    run_dir: str | None = None
    plot: str | None = None
    signal_components: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-serialisable dict of every field."""
        d = asdict(self)
        d["mu_minos"] = list(self.mu_minos)
        return d

    def format(self) -> str:
        """Human-readable summary."""
        lo, hi = self.mu_minos
        return "\n".join([
            f"MiniBooNE nu-mode e-like fit ({self.stat} statistics, 11 nu_e + 8 nu_mu bins)",
            f"  best-fit signal strength mu = {self.mu:.4g} +- {self.mu_err:.2g} (MINOS {lo:+.2g} / {hi:+.2g})",
            (f"  chi2 at best fit {self.chi2_min:.2f} / {self.ndof} dof (p = {self.p_value_gof:.3g}); "
             f"no signal {self.chi2_null:.2f}"),
            (f"  delta chi2 = {self.delta_chi2:.2f}: no-signal p-value {self.p_value:.3g} "
             f"({self.significance:.2f} sigma)"),
            (f"  signal 200-1250 MeV: run {self.signal_200_1250MeV:.4g}, best fit {self.bestfit_200_1250MeV:.4g}; "
             f"release excess {self.release_excess_200_1250MeV:.4g} events"),
        ] + ([f"  plot: {self.plot}"] if self.plot else []))


def _in_range(edges: np.ndarray, lo: float = 0.2, hi: float = 1.25) -> np.ndarray:
    return (edges[:-1] >= lo - 1e-9) & (edges[1:] <= hi + 1e-9)


def fit_signal(signal: np.ndarray, release: dict, stat: str = "cnp", signal_systematics: bool = True) -> MiniBooNEFit:
    """Fit ``mu`` x ``signal`` (expected events per nu_e bin of the release, at the release POT) on
    top of the release background. Pure: the release dict may hold pseudo-data."""
    from iminuit import Minuit

    if stat not in STAT_METHODS:
        raise UnknownNameError("statistical-variance method", stat, STAT_METHODS)
    _check_release(release)
    s = np.asarray(signal, float)
    if s.shape != release["background"].shape:
        msg = f"signal has {s.size} bins, the release {release['background'].size}"
        raise FitError(msg)
    if not np.any(s > 0):
        raise FitError("signal is zero in every E_nu^QE bin of the release (200-3000 MeV): nothing to fit")
    pos = s > 0
    mu_lo = -0.99 * float(np.min(release["background"][pos] / s[pos]))  # keep every prediction > 0

    def f(mu: float) -> float:
        return chi2(mu, s, release, stat, signal_systematics)

    f.errordef = Minuit.LEAST_SQUARES
    excess = float(np.sum((release["data"] - release["background"])[_in_range(release["edges"])]))
    start = max(excess / max(float(np.sum(s[_in_range(release["edges"])])), 1e-300), 0.0)
    m = Minuit(f, mu=start)
    m.limits["mu"] = (mu_lo, None)
    m.migrad()
    if not m.valid:
        msg = f"MiniBooNE fit: MIGRAD did not converge (mu = {m.values['mu']:.4g}, fmin {m.fval:.4g})"
        raise FitError(msg)
    m.hesse()
    m.minos()
    mu = float(m.values["mu"])
    me = m.merrors["mu"]
    chi2_min, chi2_null = float(m.fval), f(0.0)
    dchi2 = max(chi2_null - chi2_min, 0.0)
    ndof = len(s) + len(release["numu_data"]) - 1
    in_r = _in_range(release["edges"])
    return MiniBooNEFit(
        mu=mu, mu_err=float(m.errors["mu"]), mu_minos=(float(me.lower), float(me.upper)),
        chi2_min=chi2_min, chi2_null=chi2_null, delta_chi2=dchi2,
        p_value=float(stats.chi2.sf(dchi2, 1)), significance=float(np.sqrt(dchi2)), ndof=ndof,
        p_value_gof=float(stats.chi2.sf(chi2_min, ndof)), stat=stat, signal_systematics=signal_systematics,
        signal_total=float(s.sum()), signal_200_1250MeV=float(s[in_r].sum()),
        bestfit_200_1250MeV=float(mu * s[in_r].sum()), release_excess_200_1250MeV=release_excess(release))


# ============================================================================ from a run directory
def signal_components(run_dir: str | os.PathLike, edges: np.ndarray) -> tuple[dict[str, np.ndarray], object]:
    """Detector-level signal of a run in the release's E_nu^QE bins (``edges`` GeV), per component
    ("N5 coherent", "N6 incoherent", ...), in expected events at the release POT (18.75e20).

    The reco ``weight`` is scaled by release POT / run POT (summary.json ``pot``), as the detector's
    Fig. 2 analogue does. Returns (components, DetectorRun)."""
    from generator.analysis.rundir import read_detector_run

    run = read_detector_run(run_dir, "miniboone", ("E_QE", "ee_hnl", "regime"))
    pot = run.run_summary.get("pot")
    release_pot = float(run.summary.get("options", {}).get("release_pot", RELEASE_POT))
    if not pot:
        msg = (
            f"run {run.path}: summary.json gives no `pot`: cannot scale the signal to the release "
                       f"POT {release_pot:.4g}"
        )
        raise FitError(msg)
    w = run.columns["weight"] * (release_pot / float(pot))
    e, hnl, reg = run.columns["E_QE"], np.abs(run.columns["ee_hnl"]), run.columns["regime"]
    comps: dict[str, np.ndarray] = {}
    for code in sorted(set(hnl.tolist())):
        name = f"N{int(code) - PDG_HNL_OFFSET}" if code else "other"
        for r in sorted(set(reg[hnl == code].tolist())):
            m = (hnl == code) & (reg == r)
            label = f"{name} {_REGIMES.get(int(r), '')}".strip()
            comps[label] = np.histogram(e[m], bins=edges, weights=w[m])[0]
    return comps, run


def fig2_plot(fit: MiniBooNEFit, comps: dict[str, np.ndarray], release: dict, path: str | os.PathLike) -> Path:
    """Paper Fig. 2 analogue: best-fit signal (mu x each component) stacked on the release background,
    with the data (sqrt(n) errors), in events per MeV. Writes PNG ``path``."""
    from detectors.output import write_png
    from detectors.registry import PlotSpec

    colors = {"N5": "#3182bd", "N6": "#e7298a"}
    parts = []
    for label, h in comps.items():
        style = {"color": colors.get(label.split()[0], "#66c2a5"),
                 "hatch": "///" if label.split()[-1] == "coherent" else None}
        parts.append((f"{label} (x {fit.mu:.3g})", fit.mu * np.asarray(h), style))
    spec = PlotSpec(
        title=f"MiniBooNE nu-mode e-like: best fit mu = {fit.mu:.3g} +- {fit.mu_err:.2g}, "
              f"delta chi2 = {fit.delta_chi2:.1f}",
        xlabel=r"$E_\nu^{QE}$ [GeV]", ylabel="events / MeV", edges=np.asarray(release["edges"]), components=parts,
        background=[("MiniBooNE background (2020)", release["background"])],
        data=("MiniBooNE data (18.75e20 POT)", release["data"], np.sqrt(release["data"])),
        per_width=True, width_scale=1e3,
        note=f"chi2/dof = {fit.chi2_min:.1f}/{fit.ndof} ({fit.stat}); nu_mu constraint included")
    return write_png(Path(path), spec)


def fit_miniboone(run_dir: str | os.PathLike, data_release: str | os.PathLike | None = None, stat: str = "cnp",
                  signal_systematics: bool = True, plot: str | os.PathLike | None = "auto") -> MiniBooNEFit:
    """Fit the MiniBooNE detector-level signal of run ``run_dir`` to the 2020 release (found by
    :func:`generator.datasets.locate_miniboone_release` from ``data_release``). ``plot``: PNG path of
    the Fig. 2 analogue, "auto" for ``<detector dir>/fit_miniboone.png``, None for no plot.
    Raises DataFileError when the release cannot be found."""
    loc = locate_miniboone_release(data_release)
    if not loc.found:
        raise DataFileError("MiniBooNE fit: the 2020 data release was not found (give --data-release DIR or set "
                            "DSGEN_MINIBOONE_RELEASE); a fit without data is meaningless")
    release = read_miniboone_release(loc.path, full=True)
    comps, run = signal_components(run_dir, release["edges"])
    total = np.sum(list(comps.values()), axis=0) if comps else np.zeros(len(release["edges"]) - 1)
    if not np.any(total > 0):
        msg = f"run {run.path}: no selected MiniBooNE event in 200-3000 MeV E_nu^QE: nothing to fit"
        raise FitError(msg)
    fit = fit_signal(total, release, stat, signal_systematics)
    fit.release_dir, fit.run_dir = str(loc.path), str(run.path)
    fit.signal_components = {k: v.tolist() for k, v in comps.items()}
    if plot is not None:
        target = run.path / "fit_miniboone.png" if plot == "auto" else Path(plot)
        fit.plot = str(fig2_plot(fit, comps, release, target))
    return fit


__all__ = [
    "RELEASE_POT",
    "STAT_METHODS",
    "MiniBooNEFit",
    "chi2",
    "collapse_matrix",
    "covariance",
    "fig2_plot",
    "fit_miniboone",
    "fit_signal",
    "signal_components",
    "stat_variance",
]
