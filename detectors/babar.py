"""BaBar mechanisms: pseudo-monophotons from HNL -> N e+e- decays inside the electromagnetic
calorimeter (EMC), CM-frame photon kinematics and the missing mass M_miss^2 = s - 2 sqrt(s) E*_gamma
(paper Eq. 4 region, Fig. 1), and the probabilities for an HNL to decay before/inside/after the EMC.

An e+e- pair from an HNL decay inside the EMC with opening angle theta_ee < 10 deg makes a single
cluster and is reconstructed as a photon (paper: "events were selected if theta_ee < 10 deg"). Any
other visible activity (a pair decaying in the tracking volume, a resolved pair in the EMC, a pair
in the instrumented flux return, an additional photon) vetoes the single-photon event.
Numbers: detectors/data/babar.toml.
"""

from __future__ import annotations

import math

import numpy as np

from detectors.registry import DetectorState, ModuleSpec, module_type, shape_from_dict
from generator.errors import DetectorCardError
from generator.kernels.lorentz import boost_to_rest, cos_theta_z, direction3, mass2
from generator.observables import pair_opening_angle

#: reco columns that may be NaN, and when (docs/detectors.md "Undefined values").
NAN_COLUMNS = {"theta_ee_gamma": "no pseudo-photon (gamma_source != 1): no e+e- pair makes the photon"}


def _regions(spec: ModuleSpec, key: str = "regions") -> tuple[list[str], list]:
    regions = spec.param(key, kind=list)
    names, shapes = [], []
    for i, r in enumerate(regions):
        if not isinstance(r, dict) or "name" not in r or "volume" not in r:
            raise DetectorCardError(spec.where, f"{spec.pkey}.{key}[{i}]", "needs `name` and `volume`")
        names.append(str(r["name"]))
        shapes.append(shape_from_dict(r["volume"], spec.where, f"{spec.pkey}.{key}[{i}].volume"))
    return names, shapes


def classify(x: np.ndarray, shapes: list) -> np.ndarray:
    """Index of the first shape containing each point x (..., 3) cm; len(shapes) if none or NaN."""
    code = np.full(x.shape[:-1], len(shapes), dtype=np.int32)
    done = np.isnan(x).any(axis=-1)
    for i, s in enumerate(shapes):
        inside = s.contains(np.nan_to_num(x)) & ~done
        code[inside] = i
        done |= inside
    return code


def _region_probabilities(spec: ModuleSpec, sums: dict, plots: dict, extra: dict) -> None:
    """Finaliser of DecayRegionProbabilities: weighted fraction per region from the summed tallies."""
    tot = sums.get("total", 0.0)
    extra[spec.name] = {k: (float(v) / tot if tot > 0 else None) for k, v in sums.items() if k != "total"}


@module_type("DecayRegionProbabilities", finalize=_region_probabilities)
def decay_region_probabilities(state: DetectorState, spec: ModuleSpec) -> None:
    """Input ["hnl"]. For HNLs with |PDG| = ``hnl_pdg``, the weighted fraction decaying in each of
    ``regions`` (first match, in order) or beyond them ("outside": after the detector or not
    decayed). extra[<name>] = {region: probability} (None without such HNLs); output column <out> =
    region code of the first such HNL per event (-1 if none). No cut."""
    src = spec.inputs[0]
    pdg = np.abs(state.get(f"{src}_pdg", spec))
    dec = state.get(f"{src}_decay_vtx", spec)
    names, shapes = _regions(spec)
    target = int(spec.number("hnl_pdg"))
    code = classify(dec, shapes)
    is_t = pdg == target
    w = state.weight[:, None] * is_t
    sums = {nm: float(np.sum(w * (code == i))) for i, nm in enumerate(names)}
    sums["outside"] = float(np.sum(w * (code == len(names))))
    sums["total"] = float(np.sum(w))
    state.tally(spec, sums)
    first = np.argmax(is_t, axis=1)
    per_event = np.where(is_t.any(axis=1), code[np.arange(state.n), first], -1).astype(np.int32)
    if spec.outputs:
        state.put(spec.outputs[0], per_event)


def _pseudo_fraction(spec: ModuleSpec, sums: dict, plots: dict, extra: dict) -> None:
    """Finaliser of PseudoPhoton: weighted fraction of the events reaching it with a pseudo-photon."""
    tot = sums.get("total", 0.0)
    extra[f"{spec.name}: P(pseudo-photon in EMC)"] = float(sums["pseudo"]) / tot if tot > 0 else None


@module_type("PseudoPhoton", finalize=_pseudo_fraction)
def pseudo_photon(state: DetectorState, spec: ModuleSpec) -> None:
    """Inputs ["pair", "photon_p", "n_photon"]. Photon candidates: e+e- pairs decaying inside
    ``ecal`` with theta_ee < ``max_opening_angle_deg`` (energy E+ + E-; direction of the cluster
    position seen from the origin if ``direction_from_cluster = true``, else of p+ + p-), plus a
    generator photon with cos(theta_lab) inside ``photon_cos_theta_lab``. Extra activity: pairs in
    any ``veto`` region, resolved pairs (theta_ee >= cut) in the EMC, further generator photons.
    Outputs gamma_p (n, 4) of the candidate, n_gamma, n_extra, gamma_source (1 pseudo, 2 real, 0 none),
    theta_ee_gamma (rad): opening angle of the pair that makes the pseudo-photon, NaN (undefined) when
    the event has no pseudo-photon (gamma_source != 1; see NAN_COLUMNS).
    Cut: exactly one candidate and no extra activity."""
    src = spec.inputs[0]
    vtx, ok = state.get(f"{src}_vtx", spec), state.get(f"{src}_valid", spec)
    em, ep = state.get(f"{src}_em", spec), state.get(f"{src}_ep", spec)
    real, n_real = state.get(spec.inputs[1], spec), state.get(spec.inputs[2], spec)
    ecal = shape_from_dict(spec.table("ecal"), spec.where, f"{spec.pkey}.ecal")
    vetoes = spec.param("veto", [], kind=list)
    veto_shapes = [shape_from_dict(v, spec.where, f"{spec.pkey}.veto[{i}]") for i, v in enumerate(vetoes)]
    theta_cut = math.radians(spec.number("max_opening_angle_deg", lo=0.0, hi=180.0))
    ct_lo, ct_hi = spec.param("photon_cos_theta_lab", kind=list)
    theta = pair_opening_angle(em, ep)
    in_ecal = ok & ecal.contains(np.nan_to_num(vtx))
    cand = in_ecal & (theta < theta_cut)
    extra = in_ecal & ~cand
    for s in veto_shapes:
        extra |= ok & ~in_ecal & s.contains(np.nan_to_num(vtx))
    tot = em + ep
    if spec.param("direction_from_cluster", True, kind=bool):
        direction = direction3(vtx)
    else:
        direction = direction3(tot[..., 1:])
    pseudo = np.concatenate([tot[..., :1], tot[..., :1] * direction], axis=-1)
    n_pseudo = cand.sum(axis=1)
    rows = np.arange(state.n)
    k = np.argmax(cand, axis=1)
    ct_real = cos_theta_z(real[:, 1:])
    real_ok = (n_real >= 1) & (ct_real >= ct_lo) & (ct_real <= ct_hi) & (real[:, 0] > 0)
    n_gamma = n_pseudo + real_ok
    n_extra = extra.sum(axis=1) + np.maximum(n_real - 1, 0)
    gamma = np.where((n_pseudo >= 1)[:, None], pseudo[rows, k], np.where(real_ok[:, None], real, 0.0))
    source = np.where(n_pseudo >= 1, 1, np.where(real_ok, 2, 0)).astype(np.int32)
    state.put("gamma_p", gamma)
    state.put("n_gamma", n_gamma.astype(np.int32))
    state.put("n_extra", n_extra.astype(np.int32))
    state.put("gamma_source", source)
    state.put("theta_ee_gamma", np.where(n_pseudo >= 1, theta[rows, k], np.nan))
    w = state.weight * state.selected
    state.tally(spec, {"pseudo": float(np.sum(w * (n_pseudo >= 1))), "total": float(np.sum(w))})
    state.cut(spec.name, (n_gamma == 1) & (n_extra == 0))


@module_type("CMFrame")
def cm_frame(state: DetectorState, spec: ModuleSpec) -> None:
    """Inputs [photon four-momentum (n, 4) lab, beam four-momentum sum (n, 4)]. Boost the photon to
    the e+e- centre-of-mass frame (beam_p = p(e-) + p(e+); events without beams, or whose incoming
    particles do not form a timelike system, use the nominal ``E_minus_GeV`` along +z and
    ``E_plus_GeV`` along -z). Outputs: E_gamma_cm (GeV), cos_theta_cm,
    M_miss2 = s - 2 sqrt(s) E*_gamma (GeV^2, paper), sqrt_s (GeV)."""
    g, beam = state.get(spec.inputs[0], spec), state.get(spec.inputs[1], spec).copy()
    Em, Ep = spec.number("E_minus_GeV", lo=0.0), spec.number("E_plus_GeV", lo=0.0)
    nominal = np.array([Em + Ep, 0.0, 0.0, Em - Ep])  # electron masses neglected (m_e << E)
    missing = (beam[:, 0] <= 0) | ~(mass2(beam) > 0)  # no beams, or not a timelike e+e- system
    beam[missing] = nominal
    s = mass2(beam)
    g_cm = boost_to_rest(g, beam)
    out = spec.outputs
    E_cm = g_cm[:, 0]
    state.put(out[0], E_cm)
    state.put(out[1], cos_theta_z(g_cm[:, 1:]))
    state.put(out[2], s - 2.0 * np.sqrt(s) * E_cm)
    state.put(out[3], np.sqrt(s))


@module_type("AzimuthalVeto")
def azimuthal_veto(state: DetectorState, spec: ModuleSpec) -> None:
    """Cut: remove events whose input momentum (n, 4) points (lab azimuth) within ``half_width_deg``
    of the boundaries offset_deg + k period_deg (k integer), e.g. gaps between detector sectors."""
    p = state.get(spec.inputs[0], spec)
    phi = np.degrees(np.arctan2(p[:, 2], p[:, 1]))
    period = spec.number("period_deg", lo=1e-6, hi=360.0)
    rel = np.mod(phi - spec.number("offset_deg", 0.0), period)
    dist = np.minimum(rel, period - rel)
    state.put("phi_gamma_deg", phi)
    state.cut(spec.name, dist > spec.number("half_width_deg", lo=0.0))
