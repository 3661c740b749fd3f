#!/usr/bin/env python3
"""Fit the shipped smooth flux parameterisations to the published flux tables.

Usage:  python scripts/fit_fluxes.py [--tables ../shared/data/fluxes] [--out generator/data/flux_params.json]

Model (generator/flux.py, ParamFlux): dPhi/dE = exp(sum_{k<=K} c_k T_k(u)), u = 2 ln(E/E_min)/ln(E_max/E_min) - 1
on [E_min, E_max], zero outside. The range is where the table exceeds 1e-4 of its peak. For each degree
K = 4, 5, ... a weighted Chebyshev fit of ln(phi) gives start values; iminuit (Migrad, least squares) then
fits phi itself with an uncertainty of 3% of each value plus 0.1% of the peak (the tables are binned
Monte Carlo / digitised curves; this weights the bulk and keeps the tails from dominating). Among the
degrees 4..16 whose fit converged, whose integral agrees with the table's to 1% and which stays below
1.2 x the peak between the bins, the lowest one with a largest relative deviation below 3% over the bins
above 5% of the peak is kept, otherwise the one with the smallest deviation if it is below 10% (the
Monte Carlo fluctuations of the minor nu_e tables are at that level); flavours without such a fit (the
spiky wrong-sign components) are not shipped. The json records the fit quality, the integrals of table and
parameterisation, and the sources.

The tables are NOT copied into the repository; only the coefficients are.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from iminuit import Minuit
from iminuit.cost import LeastSquares

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.flux import ParamFlux, read_flux_table  # noqa: E402

#: (flux name, file, flavours, baseline m, units, source)
SOURCES = [
    ("MiniBooNE_FHC", "MiniBooNE_FHC.dat", ("nu_mu", "nu_e", "nu_mu_bar", "nu_e_bar"), 541.0, "nu / cm^2 / GeV / POT",
     "MiniBooNE collaboration, Phys. Rev. D 79, 072002 (2009), neutrino-mode flux data release"),
    ("MiniBooNE_RHC", "MiniBooNE_RHC.dat", ("nu_mu", "nu_e", "nu_mu_bar", "nu_e_bar"), 541.0, "nu / cm^2 / GeV / POT",
     "MiniBooNE collaboration, Phys. Rev. D 79, 072002 (2009), antineutrino-mode flux data release"),
    ("MicroBooNE_BNB", "MicroBooNE_BNB_fullflux.txt", ("nu_mu", "nu_e", "nu_mu_bar", "nu_e_bar"), 470.0,
     "nu / cm^2 / GeV / POT", "MicroBooNE BNB flux histograms (MCC9, TPC active volume), 470 m"),
    ("PS191", "PS_191_numu_flux.dat", ("nu_mu",), 128.0,
     "arbitrary: digitised shape, normalised by the experiment's flux.scale",
     "Bernardi et al. (PS-191), Phys. Lett. B 166 (1986) 479; Phys. Lett. B 203 (1988) 332 (digitised)"),
    ("PS191_nue", "PS_191_nue_flux.dat", ("nu_e",), 128.0,
     "arbitrary: digitised shape, same units as PS191",
     "Bernardi et al. (PS-191), Phys. Lett. B 166 (1986) 479 (digitised)"),
    ("NuTeV_FHC", "NuTeV_FHC.dat", ("nu_mu", "nu_e", "nu_mu_bar", "nu_e_bar"), 1436.0, "nu / cm^2 / GeV / POT",
     ("NuTeV neutrino-mode flux (digitised, normalised to a 3x3 m^2 detector face); proxy for the CCFR "
      "wide-band beam on the same line")),
]
TAIL = 1e-4
BULK = 0.05
REL_ERR = 0.03
FLOOR = 1e-3
TARGET_DEV = 0.03
MAX_DEV = 0.10
MAX_DEGREE = 16


def _model_factory(lo: float, hi: float):
    L = math.log(hi / lo)

    def model(E, *c):
        u = 2.0 * np.log(E / lo) / L - 1.0
        return np.exp(np.polynomial.chebyshev.chebval(u, np.asarray(c)))

    return model


def fit_one(E: np.ndarray, phi: np.ndarray) -> dict | None:
    """Fit one flux table given at energies E (GeV) with values phi (per GeV); None if no degree is acceptable."""
    peak = phi.max()
    idx = np.flatnonzero(phi > TAIL * peak)
    e, f = E[idx[0]: idx[-1] + 1], phi[idx[0]: idx[-1] + 1]
    lo, hi = float(e[0]), float(e[-1])
    model = _model_factory(lo, hi)
    u = 2.0 * np.log(e / lo) / math.log(hi / lo) - 1.0
    err = REL_ERR * f + FLOOR * peak
    bulk = f > BULK * peak
    dense = np.geomspace(lo, hi, 4001)
    table_int = float(np.trapezoid(np.interp(dense, e, f), dense))
    candidates = []
    for deg in range(4, MAX_DEGREE + 1):
        logf = np.log(np.maximum(f, TAIL * peak))
        start = np.polynomial.chebyshev.chebfit(u, logf, deg, w=np.sqrt(np.maximum(f, TAIL * peak) / peak))
        cost = LeastSquares(e, f, err, model)
        m = Minuit(cost, *start, name=[f"c{k}" for k in range(deg + 1)])
        m.migrad(ncall=20000)
        c = np.array(m.values)
        with np.errstate(over="ignore"):
            dev = np.abs(model(e[bulk], *c) / f[bulk] - 1.0)
            on_grid = model(dense, *c)
        integral = float(np.trapezoid(on_grid, dense))
        sane = np.all(np.isfinite(on_grid)) and on_grid.max() <= 1.2 * peak
        if m.valid and sane and abs(integral / table_int - 1) < 0.01:
            res = {"E_min_GeV": lo, "E_max_GeV": hi, "deg": deg, "coeffs": c,
                   "chi2_ndof": float(m.fval / max(len(e) - deg - 1, 1)), "max_rel_dev_bulk": float(dev.max()),
                   "valid": bool(m.valid)}
            if dev.max() < TARGET_DEV:
                return res
            candidates.append(res)
    ok = [r for r in candidates if r["max_rel_dev_bulk"] < MAX_DEV]
    return min(ok, key=lambda r: r["max_rel_dev_bulk"]) if ok else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", type=Path, default=ROOT.parent / "shared" / "data" / "fluxes")
    ap.add_argument("--out", type=Path, default=ROOT / "generator" / "data" / "flux_params.json")
    args = ap.parse_args(argv)
    out = {
        "description": "Smooth parameterisations of published neutrino fluxes; see generator/flux.py (ParamFlux) "
                       "for the model and scripts/fit_fluxes.py for the fit.",
        "model": "dPhi/dE = exp(sum_k c_k T_k(u)), u = 2 ln(E/E_min)/ln(E_max/E_min) - 1, zero outside [E_min, E_max]",
        "fit": {"tail_cut": TAIL, "bulk_fraction": BULK, "relative_error": REL_ERR, "floor_of_peak": FLOOR,
                "target_max_rel_dev_bulk": TARGET_DEV, "max_rel_dev_bulk_accepted": MAX_DEV},
        "fluxes": {},
    }
    for name, fname, flavours, baseline, units, source in SOURCES:
        path = args.tables / fname
        entry = {"file": fname, "baseline_m": baseline, "units": units, "source": source, "flavours": {}}
        for fl in flavours:
            t = read_flux_table(path, fl)
            # fit to the table values at their own energies (bin centres or points)
            E, phi = t.nodes_E, t.nodes_phi
            if t.binned:
                E, phi = E[1:-1], phi[1:-1]  # drop the padded half-bin end nodes
            r = fit_one(E, phi)
            if r is None:
                print(f"{name:16s} {fl:10s} no acceptable fit (noisy table): not shipped")
                continue
            p = ParamFlux(name=name, flavour=fl, E_min=r["E_min_GeV"], E_max=r["E_max_GeV"], coeffs=tuple(r["coeffs"]))
            entry["flavours"][fl] = {
                "E_min_GeV": r["E_min_GeV"], "E_max_GeV": r["E_max_GeV"], "degree": r["deg"],
                "coeffs": [float(c) for c in r["coeffs"]],
                "chi2_ndof": r["chi2_ndof"], "max_rel_dev_bulk": r["max_rel_dev_bulk"], "migrad_valid": r["valid"],
                "integral_table": t.integral(), "integral_param": p.integral(),
            }
            print(f"{name:16s} {fl:10s} deg={r['deg']:2d} maxdev={r['max_rel_dev_bulk']:.3f} "
                  f"chi2/ndf={r['chi2_ndof']:.2f} int table/param={t.integral():.4e}/{p.integral():.4e}")
        out["fluxes"][name] = entry
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
