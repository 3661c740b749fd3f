"""NA62 mechanisms: K+ -> mu+ N_j, N_j -> N_k e+e- with a displaced e+e- vertex in the decay volume
and peaked kinematics (paper, NA62 paragraph):
    (p_K - p_mu)^2 = m_j^2,   (p_K - p_mu - p_ee)^2 = m_k^2,   p_ee^2 <= (m_j - m_k)^2.
By default the overall acceptance is the paper's 4% (option use_geometry = false); with
use_geometry = true the straight-track acceptance of the spectrometer/calorimeter planes replaces it.
Numbers: detectors/data/na62.toml.
"""

from __future__ import annotations

import numpy as np

from detectors.registry import DetectorState, ModuleSpec, module_type
from generator.constants import M_K_CHARGED
from generator.errors import DetectorCardError
from generator.kernels.lorentz import mass2


def track_radius_at(vtx: np.ndarray, p4: np.ndarray, z: float) -> np.ndarray:
    """Transverse radius (cm) at plane z (cm) of a straight track from vtx (n, 3) cm with momentum
    p4 (n, 4) GeV; NaN when the track does not reach z (p_z <= 0 or plane upstream of the vertex)."""
    pz = p4[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (z - vtx[:, 2]) / pz
        x = vtx[:, 0] + t * p4[:, 1]
        y = vtx[:, 1] + t * p4[:, 2]
    r = np.hypot(x, y)
    return np.where((pz > 0) & (t >= 0), r, np.nan)


@module_type("TrackAcceptance")
def track_acceptance(state: DetectorState, spec: ModuleSpec) -> None:
    """Inputs: pairs of columns [vertex (n, 3) cm, momentum (n, 4) GeV, ...] for each track. Cut:
    every track crosses every plane of ``planes`` (list of {name, z_cm, r_min_cm, r_max_cm,
    tracks = [indices]}) inside r_min <= r <= r_max. Straight lines: the spectrometer magnet kick
    is neglected."""
    if len(spec.inputs) % 2:
        raise DetectorCardError(spec.where, f"modules[{spec.name}].inputs", "give (vertex, momentum) column pairs")
    tracks = [(state.get(spec.inputs[i], spec), state.get(spec.inputs[i + 1], spec))
              for i in range(0, len(spec.inputs), 2)]
    planes = spec.param("planes", kind=list)
    ok = np.ones(state.n, dtype=bool)
    for j, pl in enumerate(planes):
        for key in ("z_cm", "r_min_cm", "r_max_cm"):
            if not isinstance(pl.get(key), (int, float)):
                raise DetectorCardError(spec.where, f"{spec.pkey}.planes[{j}].{key}", "missing or not a number")
        which = pl.get("tracks", list(range(len(tracks))))
        for t in which:
            vtx, p4 = tracks[t]
            r = track_radius_at(vtx, p4, float(pl["z_cm"]))
            ok &= (r >= pl["r_min_cm"]) & (r <= pl["r_max_cm"])
    state.cut(spec.name, ok)


@module_type("PeakedKinematics")
def peaked_kinematics(state: DetectorState, spec: ModuleSpec) -> None:
    """Inputs [p_K, p_mu, p_e-, p_e+ (n, 4) GeV, m_j, m_k (n,) GeV]. A missing kaon (zero four-vector)
    is replaced by the nominal beam kaon of ``kaon_momentum_GeV`` along +z. Outputs m2_miss =
    (p_K - p_mu)^2, m2_miss_ee = (p_K - p_mu - p_ee)^2, m2_ee = p_ee^2 (GeV^2). Cuts:
    |m2_miss - m_j^2| < ``window_m2_miss_GeV2``; |m2_miss_ee - m_k^2| < ``window_m2_miss_ee_GeV2``;
    sqrt(m2_ee) <= m_j - m_k + ``m_ee_tolerance_GeV``."""
    K, mu, em, ep = (state.get(spec.inputs[i], spec) for i in range(4))
    mj, mk = state.get(spec.inputs[4], spec), state.get(spec.inputs[5], spec)
    K = K.copy()
    pk = spec.number("kaon_momentum_GeV", lo=0.0)
    nominal = np.array([np.hypot(pk, M_K_CHARGED), 0.0, 0.0, pk])
    K[K[:, 0] <= 0] = nominal
    pee = em + ep
    m2_miss = mass2(K - mu)
    m2_miss_ee = mass2(K - mu - pee)
    m2_ee = mass2(pee)
    state.put("m2_miss", m2_miss)
    state.put("m2_miss_ee", m2_miss_ee)
    state.put("m2_ee", m2_ee)
    state.cut(f"{spec.name}: (p_K - p_mu)^2 = m_j^2",
              np.abs(m2_miss - mj**2) < spec.number("window_m2_miss_GeV2", lo=0.0))
    state.cut(f"{spec.name}: (p_K - p_mu - p_ee)^2 = m_k^2",
              np.abs(m2_miss_ee - mk**2) < spec.number("window_m2_miss_ee_GeV2", lo=0.0))
    state.cut(f"{spec.name}: m_ee <= m_j - m_k",
              np.sqrt(np.clip(m2_ee, 0, None)) <= mj - mk + spec.number("m_ee_tolerance_GeV", 0.0, lo=0.0))
