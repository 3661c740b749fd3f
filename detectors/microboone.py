"""MicroBooNE mechanisms: LArTPC event topology of HNL e+e- decays.

A LArTPC images every charged track, so the e+e- pairs are resolved (no single-shower mimicry).
Topologies (paper, "Direct searches ... SBN program"): a single e+e- vertex (upscattering to N5,
N5 -> N4 e+e-), or double vertices (N6 -> N5 e+e- then N5 -> N4 e+e-) separated by >= 10 cm;
coherent events leave no proton track, incoherent ones may (proton kinetic-energy threshold).
Numbers are in detectors/data/microboone.toml.
"""

from __future__ import annotations

import numpy as np

from detectors.registry import DetectorState, ModuleSpec, module_type, shape_from_dict
from generator.kernels.lorentz import invariant_mass, norm3

TOPOLOGY_NONE, TOPOLOGY_SINGLE, TOPOLOGY_DOUBLE = 0, 1, 2

#: reco columns that may be NaN, and when (docs/detectors.md "Undefined values").
NAN_COLUMNS = {
    "vertex_separation_cm": "fewer than two visible e+e- pairs in the active volume: no second vertex",
    **{f"ee1_vtx_{c}": "no visible e+e- pair in the active volume (topology 0)" for c in "xyz"},
}


def merge_vertices(vtx: np.ndarray, ok: np.ndarray, min_sep_cm: float) -> tuple[np.ndarray, np.ndarray]:
    """Number of distinct vertices per event and the separation (cm) of the first two visible ones.

    vtx (n, M, 3) cm with validity mask ok (n, M). Vertices are taken in order (time order); one that
    lies closer than ``min_sep_cm`` to an already accepted vertex is merged into it. Returns
    (n_vertices (n,), separation of the first two visible pairs (n,), NaN when fewer than 2).
    """
    n, M = ok.shape
    accepted = np.zeros((n, M), dtype=bool)
    for k in range(M):  # loop over the (<= 4) pair slots, vectorised over events
        close = np.zeros(n, dtype=bool)
        for j in range(k):
            d = norm3(vtx[:, k] - vtx[:, j])
            close |= accepted[:, j] & (d < min_sep_cm)
        accepted[:, k] = ok[:, k] & ~close
    order = np.argsort(~ok, axis=1, kind="stable")  # visible slots first, time order kept
    rows = np.arange(n)
    v0, v1 = vtx[rows, order[:, 0]], vtx[rows, order[:, 1]]
    two = ok.sum(axis=1) >= 2
    sep = np.where(two, norm3(v1 - v0), np.nan)
    return accepted.sum(axis=1), sep


@module_type("LArTPCTopology")
def lartpc_topology(state: DetectorState, spec: ModuleSpec) -> None:
    """Inputs ["pair", "proton_T"]. A pair is visible if it decays inside ``volume`` and its harder
    lepton has E > ``lepton_threshold_GeV``. Outputs: n_ee_vertices (after merging vertices closer
    than ``vertex_separation_cm``), topology (0 none, 1 single e+e- vertex, 2 double vertex),
    vertex_separation_cm (first two visible pairs; NaN with fewer than two), has_proton (proton
    T > ``proton_T_threshold_GeV``),
    hadronic_class (1 no proton track, "coherent-like"; 2 proton track, "incoherent-like"),
    E_ee, m_ee (GeV, first visible pair), ee1_vtx (cm, first visible pair; NaN without one).
    Cut: topology >= 1."""
    src = spec.inputs[0]
    vtx, ok = state.get(f"{src}_vtx", spec), state.get(f"{src}_valid", spec).copy()
    em, ep = state.get(f"{src}_em", spec), state.get(f"{src}_ep", spec)
    ok &= shape_from_dict(spec.table("volume"), spec.where, f"{spec.pkey}.volume").contains(vtx)
    ok &= np.maximum(em[..., 0], ep[..., 0]) > spec.number("lepton_threshold_GeV", lo=0.0)
    nvtx, sep = merge_vertices(vtx, ok, spec.number("vertex_separation_cm", lo=0.0))
    topo = np.where(nvtx >= 2, TOPOLOGY_DOUBLE, np.where(nvtx == 1, TOPOLOGY_SINGLE, TOPOLOGY_NONE)).astype(np.int32)
    has_p = state.get(spec.inputs[1], spec) > spec.number("proton_T_threshold_GeV", lo=0.0)
    first = np.argmax(ok, axis=1)
    rows = np.arange(state.n)
    tot = em[rows, first] + ep[rows, first]
    any_vis = ok.any(axis=1)
    state.put("n_ee_vertices", nvtx.astype(np.int32))
    state.put("topology", topo)
    state.put("vertex_separation_cm", sep)
    state.put("has_proton", has_p)
    state.put("hadronic_class", np.where(has_p, 2, 1).astype(np.int32))
    state.put("E_ee", np.where(any_vis, tot[:, 0], 0.0))
    state.put("m_ee", np.where(any_vis, invariant_mass(tot), 0.0))
    state.put("ee1_vtx", np.where(any_vis[:, None], vtx[rows, first], np.nan))
    state.cut(spec.name, topo >= TOPOLOGY_SINGLE)
