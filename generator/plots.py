"""Weighted control plots of a run (PNG): E_N, theta_N, m_ee, theta_ee and HNL decay vertices.

Histograms are ``hist.Hist`` objects with ``Weight`` storage filled with the event weights (expected
events, or cm^2 for runs without exposure), so bin contents sum to the rate and the variances are
sum(w^2). Plots use matplotlib's object API (``matplotlib.figure.Figure``; no pyplot, no global
backend change: PNG output goes through the Agg canvas) inside the mplhep ROOT style context.

Observables (lab frame, beam along +z):

- ``E_N`` [GeV]: energy of every HNL (PDG 9900000 + j) leaving the primary vertex;
- ``theta_N`` [deg]: its polar angle to the beam axis, theta = atan2(|p_T|, p_z);
- ``m_ee`` [GeV]: invariant mass sqrt((p_e- + p_e+)^2) of the e+e- pair of every decay vertex with
  exactly one e- and one e+ among its daughters;
- ``theta_ee`` [deg]: opening angle of that pair (both from :mod:`generator.observables`);
- ``vertex_z`` and ``vertex_r`` [cm]: position z and r_T = sqrt(x^2 + y^2) of every HNL decay vertex
  (production point of its daughters); ``vertex_zr`` is the 2D (z, r_T) histogram.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import hist
import matplotlib.style
import mplhep
import numpy as np
from matplotlib.figure import Figure

from generator.constants import PDG_HNL_OFFSET
from generator.io.atomic import atomic_path
from generator.observables import pair_mass, pair_opening_angle
from generator.record import STATUS_BEAM, STATUS_DECAYED, EventBlock

#: observable name -> axis label.
LABELS = {
    "E_N": r"$E_N$ [GeV]",
    "theta_N": r"$\theta_N$ [deg]",
    "m_ee": r"$m_{ee}$ [GeV]",
    "theta_ee": r"$\theta_{ee}$ [deg]",
    "vertex_z": r"decay vertex $z$ [cm]",
    "vertex_r": r"decay vertex $r_T$ [cm]",
}
#: fixed ranges of the angular observables (deg); other ranges follow the data.
FIXED_RANGES = {"theta_N": (0.0, 180.0), "theta_ee": (0.0, 180.0)}


def _is_hnl(pdg: np.ndarray) -> np.ndarray:
    """True for HNL PDG codes N_j = 9900000 + j, j = 4..99 (generator.constants.pdg_hnl)."""
    return (pdg >= PDG_HNL_OFFSET + 4) & (pdg < PDG_HNL_OFFSET + 100)


def _polar_deg(p: np.ndarray) -> np.ndarray:
    """Polar angle to +z of (..., 4) four-momenta (E, px, py, pz) in degrees."""
    return np.degrees(np.arctan2(np.hypot(p[..., 1], p[..., 2]), p[..., 3]))


def observables(blocks: Sequence[EventBlock]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Values and weights of each control observable, pooled over blocks.

    Returns
    -------
    dict name -> (values, weights); units as in the module docstring (GeV, deg, cm). An event
    contributes one entry per HNL / e+e- pair / decay vertex it contains, with its event weight.
    ``vertex_zr`` maps to (values (k, 2) = (z, r_T), weights).
    """
    acc: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {k: [] for k in (*LABELS, "vertex_zr")}
    for b in blocks:
        w = b.weight
        prim = np.flatnonzero(_is_hnl(b.pdg) & (b.mother == -1) & (b.status != STATUS_BEAM))
        for k in prim:
            acc["E_N"].append((b.p[:, k, 0], w))
            acc["theta_N"].append((_polar_deg(b.p[:, k]), w))
        for k in np.flatnonzero(b.status == STATUS_DECAYED):
            dau = b.daughters(k)
            em, ep = dau[b.pdg[dau] == 11], dau[b.pdg[dau] == -11]
            if em.size == 1 and ep.size == 1:
                pm, pp = b.p[:, em[0]], b.p[:, ep[0]]
                acc["m_ee"].append((pair_mass(pm, pp), w))
                acc["theta_ee"].append((np.degrees(pair_opening_angle(pm, pp)), w))
            if _is_hnl(b.pdg[k]):
                xv = b.x[:, dau[0]]  # decay vertex = production point of the daughters (cm)
                r = np.hypot(xv[:, 1], xv[:, 2])
                acc["vertex_z"].append((xv[:, 3], w))
                acc["vertex_r"].append((r, w))
                acc["vertex_zr"].append((np.stack([xv[:, 3], r], axis=1), w))
    out = {}
    for name, parts in acc.items():
        if parts:
            out[name] = (np.concatenate([v for v, _ in parts]), np.concatenate([ww for _, ww in parts]))
        else:
            shape = (0, 2) if name == "vertex_zr" else (0,)
            out[name] = (np.zeros(shape), np.zeros(0))
    return out


def _axis(name: str, values: np.ndarray, bins: int, label: str) -> hist.axis.Regular:
    """Regular axis over the fixed range of ``name`` or the data range [min, max] (padded if flat)."""
    if name in FIXED_RANGES:
        lo, hi = FIXED_RANGES[name]
    elif values.size:
        lo, hi = float(np.min(values)), float(np.max(values))
        if name in ("E_N", "m_ee", "vertex_r"):
            lo = min(lo, 0.0)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        hi = np.nextafter(hi, np.inf)  # keep the maximum inside the last bin
    else:
        lo, hi = 0.0, 1.0
    return hist.axis.Regular(bins, lo, hi, name=name, label=label)


def control_histograms(blocks: Sequence[EventBlock], bins: int = 40) -> dict[str, hist.Hist]:
    """Weighted 1D histograms of every observable and the 2D (z, r_T) vertex histogram.

    ``bins`` bins per axis; ranges as in :data:`FIXED_RANGES` or from the data. Units as in the
    module docstring; contents in the blocks' weight unit.
    """
    obs = observables(blocks)
    hists: dict[str, hist.Hist] = {}
    for name, label in LABELS.items():
        v, w = obs[name]
        h = hist.Hist(_axis(name, v, bins, label), storage=hist.storage.Weight())
        h.fill(v, weight=w)
        hists[name] = h
    v, w = obs["vertex_zr"]
    h2 = hist.Hist(_axis("vertex_z", v[:, 0], bins, LABELS["vertex_z"]),
                   _axis("vertex_r", v[:, 1], bins, LABELS["vertex_r"]), storage=hist.storage.Weight())
    h2.fill(v[:, 0], v[:, 1], weight=w)
    hists["vertex_zr"] = h2
    return hists


def control_plots(blocks: Sequence[EventBlock], out_dir: str | os.PathLike, *, prefix: str = "control_",
                  bins: int = 40, dpi: int = 100) -> list[Path]:
    """Write one PNG per control histogram into ``out_dir`` (atomically); return the paths.

    Files: ``<prefix><name>.png`` for name in E_N, theta_N, m_ee, theta_ee, vertex_z, vertex_r,
    vertex_zr. Units: GeV, deg, cm; y axis in the blocks' weight unit per bin.
    """
    units = {b.weight_unit for b in blocks}
    unit = units.pop() if len(units) == 1 else "weight"
    ylabel = "expected events / bin" if unit == "events" else f"weighted entries [{unit}] / bin"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with matplotlib.style.context(mplhep.style.ROOT):
        for name, h in control_histograms(blocks, bins=bins).items():
            fig = Figure(figsize=(10, 8), layout="constrained")
            ax = fig.subplots()
            if h.ndim == 1:
                mplhep.histplot(h, ax=ax, yerr=np.sqrt(h.variances()), histtype="step", flow="none")
                ax.set_ylabel(ylabel)
            else:
                if h.sum().value > 0:
                    # cbar=False: mplhep's own colour bar goes through pyplot; attach it to this figure
                    art = mplhep.hist2dplot(h, ax=ax, flow="none", cmin=np.nextafter(0, 1), cbar=False)
                    fig.colorbar(art.pcolormesh, ax=ax, label=ylabel)
                ax.set_xlabel(LABELS["vertex_z"])
                ax.set_ylabel(LABELS["vertex_r"])
            ax.set_title(f"darkseesaw-gen: {name}", fontsize="small")
            path = out / f"{prefix}{name}.png"
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="png", dpi=dpi)
            paths.append(path)
    return paths
