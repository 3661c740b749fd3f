"""Weighted control plots of a run (PNG): E_N, theta_N, m_ee, theta_ee and HNL decay vertices.

:class:`ControlPlots` is an accumulator: ``fill(blocks)`` once per chunk, ``add(other)`` to sum shards,
``save``/``load`` (.npz) or ``to_dict``/``from_dict`` to move histograms between processes, ``render(stage)``
to write the PNGs. Histograms are ``hist.Hist`` objects with ``Weight`` storage filled with the event weights
(expected events, or cm^2 for runs without exposure), so bin contents (with under/overflow, which are kept)
sum to the rate and the variances are sum(w^2).

Binning is FIXED before any event, from the run header (so that shards' histograms add bin by bin):

- ``E_N`` [GeV]: 0 .. the largest beam / collider energy of the run (channels' ``E_range_GeV`` upper edge,
  ``sqrt_s_GeV``), else :data:`DEFAULT_E_MAX_GEV`;
- ``theta_N``, ``theta_ee`` [deg]: 0 .. 180;
- ``m_ee`` [GeV]: 0 .. 1.05 x the heaviest dark-sector mass of the header (HNLs, Z', phi'), else E_N's range;
- ``vertex_z``, ``vertex_r`` [cm]: the bounding box of the experiment's detector volume
  (generator.experiments) padded by 10%, else the fixed :data:`DEFAULT_VERTEX_Z_CM`, :data:`DEFAULT_VERTEX_R_CM`.

Plots use matplotlib's object API (``matplotlib.figure.Figure``; no pyplot, no global
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

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import hist
import numpy as np

from generator.errors import OutputError
from generator.io.atomic import atomic_path
from generator.observables import pair_mass, pair_opening_angle
from generator.particles import is_hnl_pdg
from generator.record import STATUS_BEAM, STATUS_DECAYED, EventBlock

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: observable name -> axis label.
LABELS = {
    "E_N": r"$E_N$ [GeV]",
    "theta_N": r"$\theta_N$ [deg]",
    "m_ee": r"$m_{ee}$ [GeV]",
    "theta_ee": r"$\theta_{ee}$ [deg]",
    "vertex_z": r"decay vertex $z$ [cm]",
    "vertex_r": r"decay vertex $r_T$ [cm]",
}
#: fixed ranges of the angular observables (deg).
FIXED_RANGES = {"theta_N": (0.0, 180.0), "theta_ee": (0.0, 180.0)}
#: E_N range (GeV) when the header names no beam or collider energy (covers the 75 GeV NA62 kaon beam).
DEFAULT_E_MAX_GEV = 100.0
#: decay-vertex ranges (cm) when the header names no experiment with a detector volume (a collider detector).
DEFAULT_VERTEX_Z_CM = (-500.0, 500.0)
DEFAULT_VERTEX_R_CM = (0.0, 500.0)
#: what one histogram entry is (y-axis label: "expected <what> / bin").
ENTRY = {"E_N": "HNLs", "theta_N": "HNLs", "m_ee": "e+e- pairs", "theta_ee": "e+e- pairs",
         "vertex_z": "HNL decays", "vertex_r": "HNL decays", "vertex_zr": "HNL decays"}
TITLES = {"E_N": "HNL energy", "theta_N": "HNL polar angle", "m_ee": "e+e- invariant mass",
          "theta_ee": "e+e- opening angle", "vertex_z": "HNL decay vertex z", "vertex_r": "HNL decay vertex r_T",
          "vertex_zr": "HNL decay vertices (z, r_T)"}


def load_plotting() -> None:
    """Import the plotting libraries the PNGs need (matplotlib's Figure and Agg canvas, mplhep): about 0.7 s, paid
    once per process. Rendering imports them itself; a parallel run calls this where a process would otherwise wait,
    so that its PNGs start at once (generator.shards)."""
    import importlib

    for name in ("matplotlib.backends.backend_agg", "matplotlib.figure", "matplotlib.style", "mplhep"):
        importlib.import_module(name)


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
        prim = np.flatnonzero(is_hnl_pdg(b.pdg) & (b.mother == -1) & (b.status != STATUS_BEAM))
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
            if is_hnl_pdg(b.pdg[k]):
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


def _shape_bounds(shape) -> tuple[float, float, float]:
    """(z_min, z_max, r_T max) in cm of a generator.geometry shape (bounding box, about the beam axis)."""
    from generator.geometry import Box, Cylinder, Sphere, Union

    if isinstance(shape, Union):
        parts = [_shape_bounds(p) for p in shape.parts]
        return min(p[0] for p in parts), max(p[1] for p in parts), max(p[2] for p in parts)
    c = np.asarray(shape.center_cm, dtype=float)
    if isinstance(shape, Sphere):
        half = np.full(3, shape.radius_cm)
    elif isinstance(shape, Cylinder):
        ax = np.abs(np.asarray(shape.axis))
        # half extent of a cylinder along each coordinate: L/2 |a_i| + R sqrt(1 - a_i^2)
        half = 0.5 * shape.length_cm * ax + shape.radius_cm * np.sqrt(np.clip(1.0 - ax**2, 0.0, None))
    elif isinstance(shape, Box):
        half = 0.5 * np.asarray(shape.size_cm, dtype=float)
    else:
        msg = f"control plots: no vertex range for a detector shape of type {type(shape).__name__}"
        raise OutputError(msg)
    r = float(np.hypot(abs(c[0]) + half[0], abs(c[1]) + half[1]))
    return float(c[2] - half[2]), float(c[2] + half[2]), r


def binning(run_info: Mapping) -> dict[str, tuple[float, float]]:
    """Fixed (low, high) of every 1D observable from the run header (rules in the module docstring)."""
    chans = run_info.get("channels", []) or []
    energies = [float(ch["E_range_GeV"][1]) for ch in chans if ch.get("E_range_GeV")]
    energies += [float(ch["sqrt_s_GeV"]) for ch in chans if ch.get("sqrt_s_GeV")]
    e_max = max(energies) if energies else DEFAULT_E_MAX_GEV
    masses = [float(m) for m in (run_info.get("hnl_mass_GeV") or {}).values()]
    model = ((run_info.get("provenance") or {}).get("model") or {}).get("masses_GeV") or {}
    masses += [float(model[k]) for k in ("Z'", "phi'") if model.get(k)]
    m_max = 1.05 * max(masses) if masses else e_max
    z_lo, z_hi = DEFAULT_VERTEX_Z_CM
    r_hi = DEFAULT_VERTEX_R_CM[1]
    exp_name = run_info.get("experiment")
    if exp_name and any(ch.get("production") == "upscattering" for ch in chans):
        from generator.experiments import experiment

        z0, z1, r1 = _shape_bounds(experiment(exp_name).geometry)
        pad = 0.1 * max(z1 - z0, r1)
        z_lo, z_hi, r_hi = z0 - pad, z1 + pad, r1 + pad
    return {"E_N": (0.0, e_max), **FIXED_RANGES, "m_ee": (0.0, m_max), "vertex_z": (z_lo, z_hi),
            "vertex_r": (0.0, r_hi)}


class ControlPlots:
    """Accumulator of the control histograms of a run (module docstring): fill per chunk, add shards, render.

    ``run_info``: the run header (binning, run name, weight unit); ``out``: a directory or a function
    ``stage(file name) -> path`` used by :meth:`render` when it is given none; ``bins``: bins per axis.
    """

    def __init__(self, run_info: Mapping, out: str | os.PathLike | Callable[[str], Path] | None = None, *,
                 bins: int = 40) -> None:
        self.out = out
        self.meta = {"run_name": str(run_info.get("run_name") or "?"),
                     "weight_unit": str(run_info.get("weight_unit") or "events"),
                     "bins": int(bins), "ranges": binning(run_info)}
        self.hists = self._empty()

    def _empty(self) -> dict[str, hist.Hist]:
        """Empty histograms with the binning of ``self.meta``."""
        bins, ranges = self.meta["bins"], self.meta["ranges"]

        def axis(name):
            lo, hi = ranges[name]
            return hist.axis.Regular(bins, lo, hi, name=name, label=LABELS[name])  # under/overflow kept

        out = {name: hist.Hist(axis(name), storage=hist.storage.Weight()) for name in LABELS}
        out["vertex_zr"] = hist.Hist(axis("vertex_z"), axis("vertex_r"), storage=hist.storage.Weight())
        return out

    def fill(self, blocks: Sequence[EventBlock]) -> ControlPlots:
        """Add the entries of one chunk of events (GeV, cm; weights in the run's weight unit); returns self."""
        units = {b.weight_unit for b in blocks if b.n_events} - {self.meta["weight_unit"]}
        if units:
            msg = f"control plots: blocks in weight unit {sorted(units)}, the run's is {self.meta['weight_unit']!r}"
            raise OutputError(msg)
        obs = observables(blocks)
        for name in LABELS:
            v, w = obs[name]
            self.hists[name].fill(v, weight=w)
        v, w = obs["vertex_zr"]
        self.hists["vertex_zr"].fill(v[:, 0], v[:, 1], weight=w)
        return self

    def add(self, other: ControlPlots) -> ControlPlots:
        """Add the histograms of ``other`` (another shard of the same run: same binning); returns self."""
        if (other.meta["bins"], other.meta["ranges"]) != (self.meta["bins"], self.meta["ranges"]) \
                or other.meta["weight_unit"] != self.meta["weight_unit"]:
            msg = (f"control plots: cannot add histograms with binning/unit {other.meta} to {self.meta}; "
                   "shards of one run share the binning")
            raise OutputError(msg)
        for name in self.hists:
            self.hists[name] += other.hists[name]
        return self

    def to_dict(self) -> dict:
        """JSON-able dict: ``meta`` and, per histogram, ``value`` and ``variance`` arrays with under/overflow."""
        return {"meta": self.meta, "hists": {name: {"value": h.view(flow=True)["value"].tolist(),
                                                     "variance": h.view(flow=True)["variance"].tolist()}
                                              for name, h in self.hists.items()}}

    @classmethod
    def from_dict(cls, data: Mapping) -> ControlPlots:
        """Inverse of :meth:`to_dict`."""
        self = cls.__new__(cls)
        self.out = None
        meta = dict(data["meta"])
        meta["ranges"] = {k: tuple(v) for k, v in meta["ranges"].items()}
        self.meta = meta
        self.hists = self._empty()
        for name, h in self.hists.items():
            view = h.view(flow=True)
            view["value"] = np.asarray(data["hists"][name]["value"])
            view["variance"] = np.asarray(data["hists"][name]["variance"])
        return self

    def save(self, path: str | os.PathLike) -> Path:
        """Write the histograms to ``path`` (.npz: a JSON ``meta`` string and value/variance arrays)."""
        d = self.to_dict()
        arrays = {f"{k}.{q}": np.asarray(v[q]) for k, v in d["hists"].items() for q in ("value", "variance")}
        path = Path(path)
        with path.open("wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(self.meta)), **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> ControlPlots:
        """Read a file written by :meth:`save`."""
        with np.load(path) as f:
            meta = json.loads(str(f["meta"]))
            hists = {k: {q: f[f"{k}.{q}"] for q in ("value", "variance")} for k in (*LABELS, "vertex_zr")}
        return cls.from_dict({"meta": meta, "hists": hists})

    def render(self, stage: str | os.PathLike | Callable[[str], Path] | None = None, *, prefix: str = "control_",
               dpi: int = 100, names: Sequence[str] | None = None) -> list[Path]:
        """Write one PNG per histogram (``names``: only those histograms); ``stage(file name) -> path`` (or a
        directory, written atomically).

        Files ``<prefix><name>.png``; units GeV, deg, cm; y axis: expected entries (HNLs, e+e- pairs or HNL
        decays) per bin in the run's weight unit. Returns the paths written.
        """
        stage = self.out if stage is None else stage
        if stage is None:
            msg = "control plots: render() needs an output directory or a stage function"
            raise OutputError(msg)
        # imported here: filling and adding histograms (every chunk, on every worker) needs no plotting library
        import matplotlib.style
        import mplhep
        from matplotlib.figure import Figure

        unit = self.meta["weight_unit"]
        paths = []
        with matplotlib.style.context(mplhep.style.ROOT):
            for name, h in self.hists.items():
                if names is not None and name not in names:
                    continue
                what = ENTRY[name]
                ylabel = f"expected {what} / bin" if unit == "events" else f"{what}: weight [{unit}] / bin"
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
                ax.set_title(f"{TITLES[name]}, run {self.meta['run_name']} (weights in {unit})", fontsize="small")
                paths.append(self._write(fig, f"{prefix}{name}.png", stage, dpi))
        return paths

    @staticmethod
    def _write(fig: Figure, file_name: str, stage, dpi: int) -> Path:
        """Save ``fig`` as PNG through ``stage`` (function) or into a directory (atomically)."""
        if callable(stage):
            path = Path(stage(file_name))
            fig.savefig(path, format="png", dpi=dpi)
            return path
        out = Path(stage)
        out.mkdir(parents=True, exist_ok=True)
        path = out / file_name
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
        return path


def control_histograms(blocks: Sequence[EventBlock], bins: int = 40,
                       run_info: Mapping | None = None) -> dict[str, hist.Hist]:
    """Weighted 1D histograms of every observable and the 2D (z, r_T) vertex histogram of ``blocks``.

    Binning from ``run_info`` (module docstring; defaults without it); contents in the blocks' weight unit.
    """
    return _one_shot(blocks, run_info, bins).hists


def _one_shot(blocks: Sequence[EventBlock], run_info: Mapping | None, bins: int) -> ControlPlots:
    """A ControlPlots of ``blocks`` (weight unit taken from the blocks when ``run_info`` does not give it)."""
    units = {b.weight_unit for b in blocks}
    info = {"weight_unit": units.pop() if len(units) == 1 else "events", **(run_info or {})}
    return ControlPlots(info, bins=bins).fill(blocks)


def control_plots(blocks: Sequence[EventBlock], out_dir: str | os.PathLike, *, prefix: str = "control_",
                  bins: int = 40, dpi: int = 100, run_info: Mapping | None = None) -> list[Path]:
    """Write one PNG per control histogram of ``blocks`` into ``out_dir`` (atomically); return the paths.

    Files: ``<prefix><name>.png`` for name in E_N, theta_N, m_ee, theta_ee, vertex_z, vertex_r, vertex_zr.
    Small jobs and tests; a streamed run fills a :class:`ControlPlots` chunk by chunk instead.
    """
    return _one_shot(blocks, run_info, bins).render(out_dir, prefix=prefix, dpi=dpi)
