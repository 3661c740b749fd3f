"""BaBar pseudo-monophoton fit: binned Poisson likelihood in M_miss^2 with a background normalisation
nuisance and a floating signal normalisation (paper, "Pseudo-monophotons at BaBar", Fig. 1:
24 < M_miss^2 < 50 GeV^2, 1% or 5% background normalisation uncertainty, floating P_N5^gamma x eps_B;
the paper finds a 2.5 (2.2) sigma preference for 53 signal events).

Likelihood (arXiv:2007.11813 main text; the constraint term is a Gaussian of width ``sigma_b``)::

    lambda_i = mu s_i + (1 + theta) b_i
    -2 ln L(mu, theta) = 2 sum_i [lambda_i - n_i + n_i ln(n_i / lambda_i)] + (theta / sigma_b)^2

``s_i``: the run's detector-level signal (expected events per M_miss^2 bin, the BaBar detector module
already applies the probability P_N5^gamma of a pseudo-photon in the EMC, with eps_B = 1); ``mu`` is
then eps_B and ``P x eps_B`` = mu x (events with a pseudo-photon) / (all produced events) from the
detector's cut flow. Significance of the signal: q0 = -2 ln [L(0, theta_hat_hat) / L(mu_hat, theta_hat)],
Z = sign(mu_hat) sqrt(q0), one-sided p-value = Phi(-Z).

Data file (``--data FILE``), either TOML::

    label = "free text"
    edges_GeV2 = [24.0, 30.0, 40.0, 50.0]   # M_miss^2 bin edges, GeV^2, increasing
    observed = [60, 70, 59]                 # observed events per bin (integers >= 0)
    background = [50.0, 55.0, 52.0]         # expected background events per bin (> 0)

or plain text with one bin per line ``low_GeV2 high_GeV2 observed background`` (contiguous bins;
``#`` starts a comment). The default is the paper's one-bin totals (package data
``generator/data/analysis/babar_monophoton_paper_totals.toml``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import stats

from generator.errors import DataFileError, FitError

#: Package-data file with the paper's printed totals (one bin, 24-50 GeV^2).
DEFAULT_DATA = "babar_monophoton_paper_totals.toml"
#: Background normalisation uncertainties used by the paper.
PAPER_BKG_UNCERTAINTIES = (0.01, 0.05)


@dataclass(frozen=True)
class BaBarData:
    """Binned monophoton data: ``edges`` (GeV^2, M_miss^2), ``observed`` and ``background`` (events per bin)."""

    edges: np.ndarray
    observed: np.ndarray
    background: np.ndarray
    label: str = ""
    source: str = ""


def _validate(edges, observed, background, label: str, source: str) -> BaBarData:
    e, n, b = (np.asarray(x, dtype=float) for x in (edges, observed, background))
    where = f"BaBar data {source}"
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
        msg = f"{where}: edges_GeV2 = {e.tolist()}: need >= 2 strictly increasing edges"
        raise DataFileError(msg)
    if n.shape != (e.size - 1,) or b.shape != (e.size - 1,):
        msg = (
            f"{where}: {e.size - 1} bins from the edges, but {n.size} observed and {b.size} "
                            f"background values"
        )
        raise DataFileError(msg)
    if np.any(n < 0) or np.any(n != np.round(n)):
        msg = f"{where}: observed = {n.tolist()}: must be integers >= 0"
        raise DataFileError(msg)
    if np.any(b <= 0):
        msg = f"{where}: background = {b.tolist()}: must be > 0"
        raise DataFileError(msg)
    return BaBarData(e, n, b, label, source)


def read_babar_data(path: str | os.PathLike | None = None) -> BaBarData:
    """Read a binned BaBar data file (TOML or four-column text, module docstring); ``None``: the
    paper's one-bin totals shipped as package data. Raises DataFileError naming the file and rule."""
    if path is None:
        res = resources.files("generator") / "data" / "analysis" / DEFAULT_DATA
        d = tomllib.loads(res.read_text())
        return _validate(d["edges_GeV2"], d["observed"], d["background"], d.get("label", ""), f"package:{DEFAULT_DATA}")
    p = Path(path).expanduser()
    if not p.is_file():
        msg = f"BaBar data file {p} not found"
        raise DataFileError(msg)
    text = p.read_text()
    if p.suffix == ".toml":
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = f"BaBar data file {p}: not valid TOML: {exc}"
            raise DataFileError(msg) from None
        missing = [k for k in ("edges_GeV2", "observed", "background") if k not in d]
        if missing:
            msg = f"BaBar data file {p}: keys {missing} missing (need edges_GeV2, observed, background)"
            raise DataFileError(msg)
        return _validate(d["edges_GeV2"], d["observed"], d["background"], str(d.get("label", "")), str(p))
    rows = []
    for k, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.replace(",", " ").split()
        try:
            rows.append([float(x) for x in parts])
        except ValueError:
            msg = f"BaBar data file {p}, line {k}: {line!r} is not four numbers"
            raise DataFileError(msg) from None
        if len(parts) != 4:
            msg = (
                f"BaBar data file {p}, line {k}: {len(parts)} columns, need 4 "
                                f"(low_GeV2 high_GeV2 observed background)"
            )
            raise DataFileError(msg)
    if not rows:
        msg = f"BaBar data file {p}: no bins"
        raise DataFileError(msg)
    a = np.array(rows)
    if np.any(a[1:, 0] != a[:-1, 1]):
        msg = (
            f"BaBar data file {p}: bins are not contiguous (each low edge must equal the "
                            f"previous high edge)"
        )
        raise DataFileError(msg)
    return _validate(np.append(a[:, 0], a[-1, 1]), a[:, 2], a[:, 3], "", str(p))


# ============================================================================ likelihood
def twice_nll(mu: float, theta: float, signal: np.ndarray, data: BaBarData, sigma_b: float) -> float:
    """-2 ln L (module docstring), up to a constant; +inf where a bin's expectation is <= 0."""
    lam = mu * np.asarray(signal, float) + (1.0 + theta) * data.background
    if np.any(lam <= 0):
        return np.inf
    n = data.observed
    term = lam - n + np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0) / lam), 0.0)
    pen = (theta / sigma_b) ** 2 if sigma_b > 0 else 0.0
    return float(2.0 * np.sum(term) + pen)


@dataclass
class BaBarFit:
    """Result of the BaBar fit. ``mu``: best-fit signal strength (multiplies the run's detector-level
    prediction; with P_N5^gamma simulated, mu is eps_B), ``mu_err`` its uncertainty (HESSE, theta
    profiled); ``theta`` the background normalisation pull (fraction); ``signal_events`` the best-fit
    signal in the data bins; ``delta_chi2`` = q0; ``significance`` = sign(mu) sqrt(q0) (sigma);
    ``p_value`` one-sided; ``p_x_eps_b`` = P_N5^gamma x eps_B (None when the cut flow lacks the
    pseudo-photon step); ``pseudo_photons_before_cuts`` = best-fit events with a pseudo-photon before
    the selection cuts."""

    mu: float
    mu_err: float
    theta: float
    theta_err: float
    signal_events: float
    signal_events_err: float
    delta_chi2: float
    significance: float
    p_value: float
    bkg_uncertainty: float
    observed: float
    background: float
    data_label: str
    data_source: str
    signal_prediction: float
    p_x_eps_b: float | None = None
    pseudo_photons_before_cuts: float | None = None
    run_dir: str | None = None
    plot: str | None = None
    edges_GeV2: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-serialisable dict of every field."""
        return asdict(self)

    def format(self) -> str:
        """Human-readable summary."""
        lines = [
            f"BaBar pseudo-monophoton fit: {self.data_label or self.data_source}",
            (f"  observed {self.observed:.0f} on background {self.background:.4g} "
             f"(+- {100 * self.bkg_uncertainty:.3g}% normalisation); run prediction {self.signal_prediction:.4g}"),
            (f"  best fit: mu = {self.mu:.4g} +- {self.mu_err:.2g}, signal {self.signal_events:.4g} +- "
             f"{self.signal_events_err:.2g} events, background pull theta = {self.theta:+.3g}"),
            (f"  delta chi2 (q0) = {self.delta_chi2:.3f}: significance {self.significance:.2f} sigma, "
             f"p-value {self.p_value:.3g}"),
        ]
        if self.p_x_eps_b is not None:
            lines.append(f"  P_N5^gamma x eps_B = {self.p_x_eps_b:.3g} ({100 * self.p_x_eps_b:.3g}%), "
                         f"{self.pseudo_photons_before_cuts:.4g} pseudo-monophotons before selection cuts")
        if self.plot:
            lines.append(f"  plot: {self.plot}")
        return "\n".join(lines)


def fit_counts(signal: np.ndarray, data: BaBarData, bkg_uncertainty: float = 0.01) -> BaBarFit:
    """Fit ``mu`` x ``signal`` (expected events per bin of ``data``) plus the background with a
    normalisation nuisance of fractional width ``bkg_uncertainty`` (0: background fixed). Pure."""
    from iminuit import Minuit

    s = np.asarray(signal, float)
    if s.shape != data.observed.shape:
        msg = f"BaBar fit: signal has {s.size} bins, the data {data.observed.size}"
        raise FitError(msg)
    if not np.any(s > 0):
        msg = f"BaBar fit: the signal is zero in every data bin ({data.edges.tolist()} GeV^2)"
        raise FitError(msg)
    if not (bkg_uncertainty >= 0 and np.isfinite(bkg_uncertainty)):
        msg = f"BaBar fit: background uncertainty {bkg_uncertainty}: must be a fraction >= 0"
        raise FitError(msg)
    sig_b = float(bkg_uncertainty)

    def f(mu: float, theta: float) -> float:
        return twice_nll(mu, theta, s, data, sig_b)

    f.errordef = Minuit.LEAST_SQUARES  # f is -2 ln L
    start = max(float(np.sum(data.observed - data.background)) / float(np.sum(s)), 0.0)
    m = Minuit(f, mu=start, theta=0.0)
    if sig_b == 0:
        m.fixed["theta"] = True
    m.migrad()
    if not m.valid:
        msg = f"BaBar fit: MIGRAD did not converge (mu = {m.values['mu']:.4g})"
        raise FitError(msg)
    m.hesse()
    best = float(m.fval)
    # conditional fit at mu = 0 (theta profiled)
    m0 = Minuit(f, mu=0.0, theta=0.0)
    m0.fixed["mu"] = True
    if sig_b == 0:
        m0.fixed["theta"] = True
    else:
        m0.migrad()
        if not m0.valid:
            raise FitError("BaBar fit: MIGRAD did not converge for the background-only hypothesis")
    q0 = max(float(m0.fval if sig_b > 0 else f(0.0, 0.0)) - best, 0.0)
    mu = float(m.values["mu"])
    z = float(np.sign(mu) * np.sqrt(q0))
    return BaBarFit(
        mu=mu, mu_err=float(m.errors["mu"]), theta=float(m.values["theta"]),
        theta_err=float(m.errors["theta"]) if sig_b > 0 else 0.0,
        signal_events=mu * float(s.sum()), signal_events_err=float(m.errors["mu"]) * float(s.sum()),
        delta_chi2=q0, significance=z, p_value=float(stats.norm.sf(z)), bkg_uncertainty=sig_b,
        observed=float(data.observed.sum()), background=float(data.background.sum()), data_label=data.label,
        data_source=data.source, signal_prediction=float(s.sum()), edges_GeV2=data.edges.tolist())


def _pseudo_photon_fraction(cutflow: dict[str, float]) -> tuple[float, float] | None:
    """(all produced events, events with a pseudo-photon) from the BaBar detector cut flow: the first
    step and the first later step whose name mentions a photon; None if absent."""
    items = list(cutflow.items())
    if len(items) < 2 or items[0][1] <= 0:
        return None
    for name, val in items[1:]:
        if "photon" in name:
            return items[0][1], val
    return None


def fig1_plot(fit: BaBarFit, signal: np.ndarray, data: BaBarData, path: str | os.PathLike) -> Path:
    """Paper Fig. 1 analogue: background (scaled by the fitted 1 + theta) and best-fit signal
    (mu x ``signal``) stacked per M_miss^2 bin (GeV^2), with the data (sqrt(n) errors). Writes PNG ``path``."""
    from detectors.output import write_png
    from detectors.registry import PlotSpec

    spec = PlotSpec(
        title=f"BaBar monophotons: best fit {fit.signal_events:.3g} signal events, {fit.significance:.2f} sigma",
        xlabel=r"$M_{miss}^2$ [GeV$^2$]", ylabel="events / bin", edges=data.edges,
        components=[(f"signal (mu = {fit.mu:.3g})", fit.mu * np.asarray(signal), {"color": "#3182bd"})],
        background=[(f"background (x {1 + fit.theta:.3f})", (1.0 + fit.theta) * data.background)],
        data=(data.label or "data", data.observed, np.sqrt(data.observed)),
        note=f"background normalisation uncertainty {100 * fit.bkg_uncertainty:.3g}%")
    return write_png(Path(path), spec)


def fit_babar(run_dir: str | os.PathLike, data: str | os.PathLike | None = None,
              bkg_uncertainty: float = 0.01, plot: str | os.PathLike | None = None) -> BaBarFit:
    """Fit the BaBar detector-level M_miss^2 signal of run ``run_dir`` to the binned data ``data``
    (file, module docstring; None: the paper's one-bin totals) with a background normalisation
    uncertainty ``bkg_uncertainty`` (fraction; the paper uses 0.01 and 0.05). ``plot``: PNG path of the
    Fig. 1 analogue, "auto" for ``<detector dir>/fit_babar.png``, None (default) for no plot."""
    from generator.analysis.rundir import read_detector_run

    d = read_babar_data(data)
    run = read_detector_run(run_dir, "babar", ("M_miss2",))
    s = np.histogram(run.columns["M_miss2"], bins=d.edges, weights=run.columns["weight"])[0]
    if not np.any(s > 0):
        msg = f"run {run.path}: no selected BaBar event in M_miss^2 {d.edges[0]:g}-{d.edges[-1]:g} GeV^2"
        raise FitError(msg)
    fit = fit_counts(s, d, bkg_uncertainty)
    fit.run_dir = str(run.path)
    frac = _pseudo_photon_fraction(run.cutflow())
    if frac is not None:
        n_all, n_gamma = frac
        fit.pseudo_photons_before_cuts = fit.mu * n_gamma
        fit.p_x_eps_b = fit.mu * n_gamma / n_all
    if plot is not None:
        fit.plot = str(fig1_plot(fit, s, d, run.path / "fit_babar.png" if plot == "auto" else Path(plot)))
    return fit


__all__ = [
    "DEFAULT_DATA",
    "PAPER_BKG_UNCERTAINTIES",
    "BaBarData",
    "BaBarFit",
    "fig1_plot",
    "fit_babar",
    "fit_counts",
    "read_babar_data",
    "twice_nll",
]
