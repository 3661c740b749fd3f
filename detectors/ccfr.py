"""CCFR mechanisms: NC/NC double-shower events in the iron target calorimeter.

Energy deposits: the hadronic recoil at the interaction vertex and the e+e- pairs at their decay
vertices (all within the calorimeter). Deposits within ``primary_merge_cm`` of the interaction
vertex form the primary shower (NC trigger on its energy); the first deposit beyond is the
secondary shower. Separation in units of the iron nuclear interaction length (paper App. C:
> 14 lambda_I for the overlay-dominated region; lambda_I(Fe) = 16.77 cm, PDG) and the angle to the
beam of the line joining the two showers (< 100 mrad). Numbers: detectors/data/ccfr.toml.
"""

from __future__ import annotations

import numpy as np

from detectors.registry import DetectorState, ModuleSpec, module_type, shape_from_dict
from generator.kernels.lorentz import norm3

#: reco columns that may be NaN, and when (docs/detectors.md "Undefined values").
NAN_COLUMNS = dict.fromkeys(
    ("sep_cm", "sep_lambda", "angle_mrad", "secondary_vtx_x", "secondary_vtx_y", "secondary_vtx_z"),
    "no secondary shower (has_secondary = 0): no e+e- pair decays in the calorimeter beyond primary_merge_cm")


def _within_fraction(spec: ModuleSpec, sums: dict, plots: dict, extra: dict) -> None:
    """Finaliser of CCFRShowers: weighted fraction of secondary showers within decay_fraction_within_cm."""
    within = spec.number("decay_fraction_within_cm", 1000.0, lo=0.0)
    tot = sums.get("total", 0.0)
    extra[f"{spec.name}: secondary within {within:g} cm"] = float(sums["within"]) / tot if tot > 0 else None


@module_type("CCFRShowers", finalize=_within_fraction)
def ccfr_showers(state: DetectorState, spec: ModuleSpec) -> None:
    """Inputs ["prim_vtx", "recoil_T", "pair"]. Outputs: E_primary (GeV), E_secondary (GeV),
    has_secondary (int 0/1), sep_cm (longitudinal separation), sep_lambda (in units of
    ``lambda_I_cm``), angle_mrad (angle of the line primary -> secondary to the beam axis),
    secondary_vtx (n, 3) cm, secondary_hnl (PDG of the HNL whose decay made it). Without a secondary
    shower the separation, angle and secondary vertex are undefined: NaN (NAN_COLUMNS). No cut."""
    prim = state.get(spec.inputs[0], spec)
    recoil = state.get(spec.inputs[1], spec)
    src = spec.inputs[2]
    vtx, ok = state.get(f"{src}_vtx", spec), state.get(f"{src}_valid", spec).copy()
    em, ep, hnl = state.get(f"{src}_em", spec), state.get(f"{src}_ep", spec), state.get(f"{src}_hnl", spec)
    ok &= shape_from_dict(spec.table("volume"), spec.where, f"{spec.pkey}.volume").contains(vtx)
    lam = spec.number("lambda_I_cm", lo=1e-9)
    merge = spec.number("primary_merge_cm", lo=0.0)
    dist = norm3(vtx - prim[:, None, :])
    E_pair = em[..., 0] + ep[..., 0]
    near = ok & (dist <= merge)
    far = ok & (dist > merge)
    E1 = recoil + np.sum(np.where(near, E_pair, 0.0), axis=1)
    # first far deposit in time order (pairs are time ordered)
    has2 = far.any(axis=1)
    k = np.argmax(far, axis=1)
    rows = np.arange(state.n)
    v2 = np.where(has2[:, None], vtx[rows, k], np.nan)
    E2 = np.where(has2, E_pair[rows, k], 0.0)
    dz = v2[:, 2] - prim[:, 2]
    rho = np.hypot(v2[:, 0] - prim[:, 0], v2[:, 1] - prim[:, 1])
    with np.errstate(invalid="ignore"):
        angle = np.arctan2(rho, dz) * 1e3
    state.put("E_primary", E1)
    state.put("E_secondary", E2)
    state.put("has_secondary", has2.astype(np.int32))
    state.put("sep_cm", np.where(has2, dz, np.nan))
    state.put("sep_lambda", np.where(has2, dz / lam, np.nan))
    state.put("angle_mrad", np.where(has2, angle, np.nan))
    state.put("secondary_vtx", v2)
    state.put("secondary_hnl", np.where(has2, hnl[rows, k], 0).astype(np.int64))
    # fraction of secondary showers from HNL decays within decay_fraction_within_cm of the vertex
    within = spec.number("decay_fraction_within_cm", 1000.0, lo=0.0)
    w = state.weight * has2 * state.selected
    d2 = norm3(np.nan_to_num(v2) - prim)
    state.tally(spec, {"within": float(np.sum(w * (d2 <= within))), "total": float(np.sum(w))})
