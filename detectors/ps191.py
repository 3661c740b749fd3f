"""PS-191 / E-816 mechanisms: distance between the interaction vertex and the start of the e-like
shower in the fine-grained calorimeter, and the exponential fall-off of events with that distance.

In the model the upscattered N6 decays promptly to N5 e+e-; the shower starts where N6 decays, so
the vertex-shower distance d follows exp(-d / L) with L = beta gamma c tau of N6 (paper, App. C).
Numbers (distance and energy cuts, granularity) are in detectors/data/ps191.toml and e816.toml.
"""

from __future__ import annotations

import numpy as np

from detectors.mechanisms import EVENTS_PER_BIN, bin_edges
from detectors.registry import (
    DetectorState,
    ModuleSpec,
    PlotSpec,
    module_type,
    weighted_hist,
)
from generator.kernels.lorentz import norm3

CM_TO_MM = 10.0


@module_type("VertexShowerDistance")
def vertex_shower_distance(state: DetectorState, spec: ModuleSpec) -> None:
    """Inputs [interaction vertex (n, 3) cm, shower-start vertex (n, 3) cm]; output the distance in mm,
    smeared by ``sigma_mm`` (Gaussian, clipped at 0): the position where a shower starts is known
    to about one flash-tube cell."""
    a, b = state.get(spec.inputs[0], spec), state.get(spec.inputs[1], spec)
    d = norm3(b - a) * CM_TO_MM
    s = spec.number("sigma_mm", 0.0, lo=0.0)
    state.put(spec.outputs[0], np.maximum(d + s * state.rng.standard_normal(state.n), 0.0))


def truncated_exp_mean(L: float, dmax: float) -> float:
    """Mean of exp(-x/L) on [0, dmax]: L - dmax / (exp(dmax/L) - 1) (same unit as L, dmax)."""
    r = dmax / L
    if r > 700:
        return L
    return L - dmax / np.expm1(r)


def exponential_sums(d: np.ndarray, w: np.ndarray, dmax: float) -> dict[str, float]:
    """Additive statistics of the fit of :func:`fit_from_sums` for entries with 0 <= d <= dmax and
    w > 0: count, sum w, sum w d, sum w d^2, sum w^2 (d in its unit, e.g. mm); also the weight sum of
    all entries with d <= dmax ("w_fit_range", for the drawn curve's normalisation)."""
    d, w = np.asarray(d, dtype=float), np.asarray(w, dtype=float)
    m = (d >= 0) & (d <= dmax) & (w > 0)
    dm, wm = d[m], w[m]
    return {"n": int(np.sum(m)), "sw": float(np.sum(wm)), "swd": float(np.sum(wm * dm)),
            "swd2": float(np.sum(wm * dm**2)), "sw2": float(np.sum(wm**2)),
            "w_fit_range": float(np.sum(w[d <= dmax]))}


def fit_from_sums(s: dict, dmax: float) -> tuple[float, float]:
    """Weighted maximum-likelihood decay length L of exp(-d/L) truncated to [0, dmax] from the
    statistics of :func:`exponential_sums` (summed over chunks).

    The likelihood equation of the truncated exponential sets its mean equal to the weighted
    sample mean; solved with Brent's method. Error: sqrt(Var(d) / N_eff) / (d mean / dL), with
    N_eff = (sum w)^2 / sum w^2. Returns (L, sigma_L) in the unit of d; (nan, nan) if < 2 events.
    """
    if s["n"] < 2 or s["sw"] <= 0:
        return float("nan"), float("nan")
    mean = s["swd"] / s["sw"]
    if not 0 < mean < dmax / 2:
        return float("nan"), float("nan")  # flat or rising: no finite decay length
    lo, hi = 1e-6 * dmax, 1e6 * dmax
    from scipy.optimize import brentq  # here: importing the detector registry stays light

    L = brentq(lambda x: truncated_exp_mean(x, dmax) - mean, lo, hi)
    var = max(s["swd2"] / s["sw"] - mean**2, 0.0)
    n_eff = s["sw"] ** 2 / s["sw2"]
    h = 1e-4 * L
    slope = (truncated_exp_mean(L + h, dmax) - truncated_exp_mean(L - h, dmax)) / (2 * h)
    return float(L), float(np.sqrt(var / n_eff) / slope)


def fit_exponential(d: np.ndarray, w: np.ndarray, dmax: float) -> tuple[float, float]:
    """:func:`fit_from_sums` of the entries d (unit of dmax) with weights w; (L, sigma_L)."""
    return fit_from_sums(exponential_sums(d, w, dmax), dmax)


def _falloff_fit(spec: ModuleSpec, sums: dict, plots: dict, extra: dict) -> None:
    """Finaliser of ExponentialFalloff: the fit on all chunks, its extra entry and the drawn curve."""
    dmax = spec.number("fit_max_mm", lo=0.0)
    L, err = fit_from_sums(sums, dmax)
    extra[spec.name] = {"decay_length_mm": L, "error_mm": err, "fit_range_mm": [0.0, dmax]}
    plot = plots[spec.name]
    if np.isfinite(L):
        edges = plot.edges
        xs = np.linspace(edges[0], min(edges[-1], dmax), 200)
        norm = sums["w_fit_range"] / (L * -np.expm1(-dmax / L))
        plot.curves = [(f"fit: L = {L:.2f} +- {err:.2f} mm", xs, norm * np.exp(-xs / L) * np.diff(edges).mean())]


@module_type("ExponentialFalloff", finalize=_falloff_fit)
def exponential_falloff(state: DetectorState, spec: ModuleSpec) -> None:
    """Histogram of the vertex-shower distance (input, mm) for the selected events (the distance cut
    itself is applied by a later Cut module) with the weighted ML exponential fit on [0, ``fit_max_mm``]
    (done by the finaliser on all chunks); extra[<name>] = {decay_length_mm, error_mm}; plot with the
    fitted curve and the cut line. One entry per event."""
    d = state.get(spec.inputs[0], spec)
    sel = state.selected
    dmax = spec.number("fit_max_mm", lo=0.0)
    state.tally(spec, exponential_sums(d[sel], state.weight[sel], dmax))
    edges = bin_edges(spec)
    h = weighted_hist(d[sel], state.weight[sel], edges)
    cut = spec.param("cut_mm", None)
    state.plots[spec.name] = PlotSpec(
        title=spec.param("title", "vertex-shower distance", kind=str), xlabel="vertex-shower distance [mm]",
        ylabel=EVENTS_PER_BIN, edges=edges, components=[("signal", h, {})],
        vlines=[(float(cut), f"cut {cut} mm")] if cut is not None else [])
