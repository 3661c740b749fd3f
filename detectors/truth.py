"""Input stage of every detector: turn the generator's jagged event record into per-event columns.

The input is the ROOT ntuple written by the output module (TTree "events"), read as an awkward
array. Per particle (jagged): pdg, status (4 incoming, 2 decayed, 1 final), mother (index inside
the event, -1 for primary-vertex particles and beams), E, px, py, pz (GeV), vx, vy, vz (cm,
production vertex), vt (ns). Per event: weight (expected events), channel, regime (0 none,
1 coherent, 2 incoherent), target (PDG), E_nu (GeV), Q2 (GeV^2). The decay vertex of particle k is
the production vertex of its daughters.

:func:`extract_truth` returns a dict of numpy arrays, events first. Column names (the names the
detector cards use as module inputs):

- ``prim_vtx`` (n, 3) cm: primary (interaction) vertex = production vertex of the first non-beam
  particle with mother -1; ``prim_t`` (n,) ns.
- pair group, up to MAX_PAIRS e+e- pairs (an e- and an e+ with the same mother), ordered by the
  time of the decay: ``pair_vtx`` (n, M, 3) cm, ``pair_t`` (n, M) ns, ``pair_em`` / ``pair_ep``
  (n, M, 4) GeV, ``pair_parent`` (n, M) PDG of the mother, ``pair_hnl`` (n, M) PDG of the nearest
  HNL ancestor (0 if none), ``pair_hnl_mass`` (n, M) GeV its mass, ``pair_hnl_daughter_mass``
  (n, M) GeV mass of the HNL produced in the same decay (N_k of N_j -> N_k e+ e-, 0 if none),
  ``pair_valid`` (n, M) bool; ``n_pair`` (n,) total number of pairs (may exceed M).
- hnl group, up to MAX_HNL HNLs (PDG 9900004..9900019): ``hnl_pdg`` (n, H) (0 = empty slot),
  ``hnl_p`` (n, H, 4) GeV, ``hnl_prod_vtx`` (n, H, 3) cm, ``hnl_decay_vtx`` (n, H, 3) cm (NaN if the
  HNL did not decay), ``hnl_decayed`` (n, H) bool, ``hnl_from_primary`` (n, H) bool; ``n_hnl`` (n,).
- ``proton_T`` (n,) GeV: largest kinetic energy of a final-state proton from the primary vertex;
  ``recoil_T`` (n,) GeV: summed kinetic energy of final-state hadrons/nuclei from the primary vertex.
- ``muon_p`` (n, 4) and ``has_muon``: first final-state muon from the primary vertex.
- ``kaon_p`` (n, 4) and ``has_kaon``: first charged kaon (any status).
- ``photon_p`` (n, 4) hardest final-state photon from the primary vertex; ``n_photon`` (n,).
- ``beam_p`` (n, 4): sum of the incoming (status 4) particles; ``nu_p`` (n, 4) incoming neutrino.
- event columns ``weight``, ``channel``, ``regime``, ``target``, ``E_nu``, ``Q2`` (zeros if absent).
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from generator.constants import C_CM_PER_NS, PDG_HNL_OFFSET
from generator.errors import DataFileError
from generator.kernels import kernel

MAX_PAIRS = 4
MAX_HNL = 4
#: HNL PDG codes are 9900000 + j, j = 4..19 (9900025 is phi', see generator.constants).
HNL_PDG_MIN = PDG_HNL_OFFSET + 4
HNL_PDG_MAX = PDG_HNL_OFFSET + 19

REQUIRED_PARTICLE_FIELDS = ("pdg", "status", "mother", "E", "px", "py", "pz", "vx", "vy", "vz")
OPTIONAL_PARTICLE_FIELDS = ("vt",)
EVENT_FIELDS = ("weight", "channel", "regime", "target", "E_nu", "Q2")

#: Names (or name prefixes of column groups) produced by :func:`extract_truth`.
TRUTH_COLUMNS = (
    "prim_vtx", "prim_t", "pair", "n_pair", "hnl", "n_hnl", "proton_T", "recoil_T", "muon_p",
    "has_muon", "kaon_p", "has_kaon", "photon_p", "n_photon", "beam_p", "nu_p",
    *EVENT_FIELDS,
)


@kernel
def _is_hnl(code):
    a = abs(code)
    return HNL_PDG_MIN <= a <= HNL_PDG_MAX


@kernel
def _mass_of(E, px, py, pz):
    m2 = E * E - px * px - py * py - pz * pz
    return np.sqrt(m2) if m2 > 0.0 else 0.0


@kernel
def _extract_kernel(offsets, pdg, status, mother, E, px, py, pz, vx, vy, vz, vt, max_pairs, max_hnl):
    """Loop over events (flat particle arrays + offsets); see the module docstring for outputs."""
    n = offsets.shape[0] - 1
    prim_vtx = np.zeros((n, 3))
    prim_t = np.zeros(n)
    n_pair = np.zeros(n, dtype=np.int32)
    pair_vtx = np.zeros((n, max_pairs, 3))
    pair_t = np.full((n, max_pairs), np.inf)
    pair_em = np.zeros((n, max_pairs, 4))
    pair_ep = np.zeros((n, max_pairs, 4))
    pair_parent = np.zeros((n, max_pairs), dtype=np.int64)
    pair_hnl = np.zeros((n, max_pairs), dtype=np.int64)
    pair_hnl_mass = np.zeros((n, max_pairs))
    pair_hnl_dmass = np.zeros((n, max_pairs))
    pair_valid = np.zeros((n, max_pairs), dtype=np.bool_)
    n_hnl = np.zeros(n, dtype=np.int32)
    hnl_pdg = np.zeros((n, max_hnl), dtype=np.int64)
    hnl_p = np.zeros((n, max_hnl, 4))
    hnl_prod = np.zeros((n, max_hnl, 3))
    hnl_dec = np.full((n, max_hnl, 3), np.nan)
    hnl_decayed = np.zeros((n, max_hnl), dtype=np.bool_)
    hnl_primary = np.zeros((n, max_hnl), dtype=np.bool_)
    proton_T = np.zeros(n)
    recoil_T = np.zeros(n)
    muon_p = np.zeros((n, 4))
    has_muon = np.zeros(n, dtype=np.bool_)
    kaon_p = np.zeros((n, 4))
    has_kaon = np.zeros(n, dtype=np.bool_)
    photon_p = np.zeros((n, 4))
    n_photon = np.zeros(n, dtype=np.int32)
    beam_p = np.zeros((n, 4))
    nu_p = np.zeros((n, 4))
    for ev in range(n):
        a = offsets[ev]
        b = offsets[ev + 1]
        first_prim = -1
        for i in range(a, b):
            code = pdg[i]
            acode = abs(code)
            if status[i] == 4:
                beam_p[ev, 0] += E[i]
                beam_p[ev, 1] += px[i]
                beam_p[ev, 2] += py[i]
                beam_p[ev, 3] += pz[i]
                if acode == 12 or acode == 14 or acode == 16:
                    nu_p[ev, 0] = E[i]
                    nu_p[ev, 1] = px[i]
                    nu_p[ev, 2] = py[i]
                    nu_p[ev, 3] = pz[i]
            if acode == 321 and not has_kaon[ev]:
                has_kaon[ev] = True
                kaon_p[ev, 0] = E[i]
                kaon_p[ev, 1] = px[i]
                kaon_p[ev, 2] = py[i]
                kaon_p[ev, 3] = pz[i]
            if status[i] != 4 and mother[i] == -1:
                if first_prim < 0:
                    first_prim = i
                if status[i] == 1:
                    kin = E[i] - _mass_of(E[i], px[i], py[i], pz[i])
                    if acode == 2212 or acode == 2112 or acode > 1000000000:
                        recoil_T[ev] += kin
                    if acode == 2212 and kin > proton_T[ev]:
                        proton_T[ev] = kin
                    if acode == 13 and not has_muon[ev]:
                        has_muon[ev] = True
                        muon_p[ev, 0] = E[i]
                        muon_p[ev, 1] = px[i]
                        muon_p[ev, 2] = py[i]
                        muon_p[ev, 3] = pz[i]
                    if code == 22:
                        n_photon[ev] += 1
                        if E[i] > photon_p[ev, 0]:
                            photon_p[ev, 0] = E[i]
                            photon_p[ev, 1] = px[i]
                            photon_p[ev, 2] = py[i]
                            photon_p[ev, 3] = pz[i]
        if first_prim >= 0:
            prim_vtx[ev, 0] = vx[first_prim]
            prim_vtx[ev, 1] = vy[first_prim]
            prim_vtx[ev, 2] = vz[first_prim]
            prim_t[ev] = vt[first_prim]
        # HNLs
        for i in range(a, b):
            if _is_hnl(pdg[i]):
                k = n_hnl[ev]
                n_hnl[ev] += 1
                if k < max_hnl:
                    hnl_pdg[ev, k] = pdg[i]
                    hnl_p[ev, k, 0] = E[i]
                    hnl_p[ev, k, 1] = px[i]
                    hnl_p[ev, k, 2] = py[i]
                    hnl_p[ev, k, 3] = pz[i]
                    hnl_prod[ev, k, 0] = vx[i]
                    hnl_prod[ev, k, 1] = vy[i]
                    hnl_prod[ev, k, 2] = vz[i]
                    hnl_primary[ev, k] = mother[i] == -1
                    for j in range(a, b):
                        if mother[j] == i - a:
                            hnl_decayed[ev, k] = True
                            hnl_dec[ev, k, 0] = vx[j]
                            hnl_dec[ev, k, 1] = vy[j]
                            hnl_dec[ev, k, 2] = vz[j]
                            break
        # e+ e- pairs: an e- and an e+ sharing a mother
        for i in range(a, b):
            if pdg[i] != 11 or mother[i] < 0:
                continue
            mo = mother[i]
            partner = -1
            for j in range(a, b):
                if pdg[j] == -11 and mother[j] == mo:
                    partner = j
                    break
            if partner < 0:
                continue
            k = n_pair[ev]
            n_pair[ev] += 1
            if k >= max_pairs:
                continue
            pair_valid[ev, k] = True
            pair_vtx[ev, k, 0] = vx[i]
            pair_vtx[ev, k, 1] = vy[i]
            pair_vtx[ev, k, 2] = vz[i]
            pair_t[ev, k] = vt[i]
            pair_em[ev, k, 0] = E[i]
            pair_em[ev, k, 1] = px[i]
            pair_em[ev, k, 2] = py[i]
            pair_em[ev, k, 3] = pz[i]
            pair_ep[ev, k, 0] = E[partner]
            pair_ep[ev, k, 1] = px[partner]
            pair_ep[ev, k, 2] = py[partner]
            pair_ep[ev, k, 3] = pz[partner]
            pair_parent[ev, k] = pdg[a + mo]
            # nearest HNL ancestor (walk up at most 16 generations)
            h = mo
            for _ in range(16):
                if h < 0 or _is_hnl(pdg[a + h]):
                    break
                h = mother[a + h]
            if h >= 0 and _is_hnl(pdg[a + h]):
                gh = a + h
                pair_hnl[ev, k] = pdg[gh]
                pair_hnl_mass[ev, k] = _mass_of(E[gh], px[gh], py[gh], pz[gh])
                for j in range(a, b):
                    if mother[j] == h and _is_hnl(pdg[j]):
                        pair_hnl_dmass[ev, k] = _mass_of(E[j], px[j], py[j], pz[j])
                        break
        # order the stored pairs by decay time (insertion sort, <= max_pairs entries)
        m = min(n_pair[ev], max_pairs)
        for s in range(1, m):
            t = s
            while t > 0 and pair_t[ev, t] < pair_t[ev, t - 1]:
                tmp = pair_t[ev, t]
                pair_t[ev, t] = pair_t[ev, t - 1]
                pair_t[ev, t - 1] = tmp
                for c in range(3):
                    tmp = pair_vtx[ev, t, c]
                    pair_vtx[ev, t, c] = pair_vtx[ev, t - 1, c]
                    pair_vtx[ev, t - 1, c] = tmp
                for c in range(4):
                    tmp = pair_em[ev, t, c]
                    pair_em[ev, t, c] = pair_em[ev, t - 1, c]
                    pair_em[ev, t - 1, c] = tmp
                    tmp = pair_ep[ev, t, c]
                    pair_ep[ev, t, c] = pair_ep[ev, t - 1, c]
                    pair_ep[ev, t - 1, c] = tmp
                ti = pair_parent[ev, t]
                pair_parent[ev, t] = pair_parent[ev, t - 1]
                pair_parent[ev, t - 1] = ti
                ti = pair_hnl[ev, t]
                pair_hnl[ev, t] = pair_hnl[ev, t - 1]
                pair_hnl[ev, t - 1] = ti
                tf = pair_hnl_mass[ev, t]
                pair_hnl_mass[ev, t] = pair_hnl_mass[ev, t - 1]
                pair_hnl_mass[ev, t - 1] = tf
                tf = pair_hnl_dmass[ev, t]
                pair_hnl_dmass[ev, t] = pair_hnl_dmass[ev, t - 1]
                pair_hnl_dmass[ev, t - 1] = tf
                t -= 1
    return (prim_vtx, prim_t, n_pair, pair_vtx, pair_t, pair_em, pair_ep, pair_parent, pair_hnl,
            pair_hnl_mass, pair_hnl_dmass, pair_valid, n_hnl, hnl_pdg, hnl_p, hnl_prod, hnl_dec,
            hnl_decayed, hnl_primary, proton_T, recoil_T, muon_p, has_muon, kaon_p, has_kaon,
            photon_p, n_photon, beam_p, nu_p)


def _flat(events: ak.Array, field: str, dtype) -> np.ndarray:
    return np.ascontiguousarray(ak.to_numpy(ak.flatten(events[field], axis=1)), dtype=dtype)


def check_fields(events: ak.Array, source: str = "events") -> None:
    """Raise DataFileError if the event record lacks a required field (names the missing ones)."""
    fields = set(ak.fields(events))
    missing = [f for f in (*REQUIRED_PARTICLE_FIELDS, "weight") if f not in fields]
    if missing:
        msg = (f"{source}: missing branch(es) {', '.join(missing)}; the detector input needs the TTree "
               f"'events' with {', '.join(REQUIRED_PARTICLE_FIELDS)} per particle and 'weight' per event "
               f"(found: {', '.join(sorted(fields))})")
        raise DataFileError(msg)


def extract_truth(events: ak.Array) -> dict[str, np.ndarray]:
    """Per-event truth columns (see module docstring) from the jagged event record.

    Units: GeV for four-momenta, cm for vertices, ns for times, as in the input ntuple.
    """
    check_fields(events)
    n = len(events)
    counts = ak.to_numpy(ak.num(events["pdg"], axis=1)).astype(np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    fields = set(ak.fields(events))
    vt = _flat(events, "vt", np.float64) if "vt" in fields else np.zeros(int(offsets[-1]))
    out = _extract_kernel(
        offsets, _flat(events, "pdg", np.int64), _flat(events, "status", np.int32),
        _flat(events, "mother", np.int32), _flat(events, "E", np.float64), _flat(events, "px", np.float64),
        _flat(events, "py", np.float64), _flat(events, "pz", np.float64), _flat(events, "vx", np.float64),
        _flat(events, "vy", np.float64), _flat(events, "vz", np.float64), vt, MAX_PAIRS, MAX_HNL,
    )
    names = ("prim_vtx", "prim_t", "n_pair", "pair_vtx", "pair_t", "pair_em", "pair_ep", "pair_parent",
             "pair_hnl", "pair_hnl_mass", "pair_hnl_daughter_mass", "pair_valid", "n_hnl", "hnl_pdg",
             "hnl_p", "hnl_prod_vtx", "hnl_decay_vtx", "hnl_decayed", "hnl_from_primary", "proton_T",
             "recoil_T", "muon_p", "has_muon", "kaon_p", "has_kaon", "photon_p", "n_photon", "beam_p", "nu_p")
    cols = dict(zip(names, out, strict=True))
    cols["pair_t"] = np.where(cols["pair_valid"], cols["pair_t"], np.nan)
    for f in EVENT_FIELDS:
        if f in fields:
            cols[f] = ak.to_numpy(events[f]).astype(np.float64 if f in ("weight", "E_nu", "Q2") else np.int64)
        else:
            cols[f] = np.zeros(n, dtype=np.float64 if f in ("weight", "E_nu", "Q2") else np.int64)
    return cols


def events_from_arrays(pdg, status, mother, p, x, weight, **event_fields) -> ak.Array:
    """Build an event record in the ntuple format from one fixed topology (e.g. an EventBlock).

    pdg, status, mother: (P,) per particle; p: (n, P, 4) [E, px, py, pz] GeV; x: (n, P, 4)
    [c*t, x, y, z] cm or (n, P, 3) [x, y, z] cm (production vertices); weight (n,) expected events;
    event_fields: per-event arrays (channel, regime, target, E_nu, Q2). Returns an awkward array
    with the same fields (and units: vt in ns) as the TTree "events" of the output module.
    """
    p = np.asarray(p, dtype=float)
    x = np.asarray(x, dtype=float)
    n, P = p.shape[:2]
    if x.shape[-1] == 3:
        x = np.concatenate([np.zeros((n, P, 1)), x], axis=-1)
    pdg = np.broadcast_to(np.asarray(pdg, dtype=np.int32), (n, P))
    status = np.broadcast_to(np.asarray(status, dtype=np.int32), (n, P))
    mother = np.broadcast_to(np.asarray(mother, dtype=np.int32), (n, P))
    m = np.sqrt(np.clip(p[..., 0] ** 2 - np.sum(p[..., 1:] ** 2, axis=-1), 0, None))
    cols = {
        "pdg": pdg, "status": status, "mother": mother, "E": p[..., 0], "px": p[..., 1], "py": p[..., 2],
        "pz": p[..., 3], "m": m, "vx": x[..., 1], "vy": x[..., 2], "vz": x[..., 3], "vt": x[..., 0] / C_CM_PER_NS,
        "pol": np.zeros((n, P), dtype=np.float32),
    }
    out = {k: ak.from_regular(ak.Array(np.ascontiguousarray(v))) for k, v in cols.items()}
    out["weight"] = ak.Array(np.asarray(weight, dtype=float))
    for k, v in event_fields.items():
        arr = np.asarray(v)
        out[k] = ak.Array(np.broadcast_to(arr, (n,)).copy())
    return ak.zip(out, depth_limit=1)
