"""HepMC3 ASCII writer (pyhepmc): NuHepMC 1.0 for neutrino-beam runs, plain HepMC3 otherwise.

Events are built from arrays with ``GenEvent.from_hepevt`` (one call per event). The meaning of every
code and attribute is defined in :mod:`generator.io.nuhepmc` (the NuHepMC requirements G.R.1-11, E.R.1-9,
V.R.1, P.R.1 and the conventions listed in ``NuHepMC.Conventions``).

File layout
-----------
- Units (E.R.4): momenta GeV, lengths mm (``U GEV MM``). Internal vertices (c*t, x, y, z) in cm are
  converted with ``generator.constants.CM_TO_MM`` here only; HepMC3 stores the time as c*t in mm.
- Run info: tool ``darkseesaw-gen`` with the package version (G.R.3); one weight ``"CV"`` (G.R.7) in the
  unit of the run attribute ``weight_unit`` (``events`` = expected events for the exposure); the
  ``NuHepMC.*`` attributes of :func:`generator.io.nuhepmc.run_attributes`; string attributes ``card``,
  ``channels`` (JSON list, index = ROOT branch ``channel``), ``weight_unit``, ``output_schema``,
  ``metadata_json`` (run metadata, :func:`generator.io.run_metadata`, without timings) and
  ``NuHepMC.Provenance.JSON`` (:mod:`generator.provenance`: resolved model, versions, git commit, command
  line, card). Nothing depends on the clock: the same card and seed give byte-identical files.
- Every event: ``GenCrossSection`` = the run's flux-averaged total cross section in pb per atom (neutrino
  runs, the same number as ``NuHepMC.FluxAveragedTotalCrossSection``) or the sum of the channel cross
  sections in pb (collider runs), accepted = attempted = events in the file; omitted when unknown.
  Int attributes ``signal_process_id`` (E.R.3, = :func:`generator.io.nuhepmc.process_id` of the channel
  index) and ``channel`` (the channel index); ``lab_pos`` (E.R.5) = primary vertex (x, y, z) in mm.
- Particles (P.R.1): beam 4, target nucleus 20 (nuclear PDG code), decayed 2, final 1. Incoherent
  scattering is written as nucleus (20) -> struck nucleon (21, P.C.1) + remnant (2009900000, status 1,
  P.C.2) at a status-21 vertex (V.C.1), then neutrino + nucleon at the primary vertex: four-momentum is
  conserved at every vertex. Vertices (V.R.1): primary 1, nucleon separation 21, BSM decays 22.
  PDG codes: N_j = 9900000 + j, Z' = 32, phi' = 9900025 (declared, G.R.11).
- The generated mass of each particle is the invariant mass of its four-momentum (GeV).
- Events are numbered 0, 1, ... in block order, the same order as the ROOT ntuple entries.

Particle order inside an event follows the block (beams moved to the front when they are not
contiguous: HEPEVT needs a contiguous parent range), after the added target nucleus of incoherent events.
"""

from __future__ import annotations

import gzip as _gzip
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyhepmc

from generator.constants import CM_TO_MM
from generator.io import (
    OutputError,
    channel_names,
    check_run_info,
    check_topology,
    metadata_json,
    run_metadata,
)
from generator.io import nuhepmc as nu
from generator.io.atomic import atomic_path
from generator.record import STATUS_BEAM, EventBlock

TOOL_NAME = "darkseesaw-gen"
TOOL_DESCRIPTION = "dark-seesaw HNL event generator (Abdullahi, Hostert, Pascoli 2021 model)"
WEIGHT_NAMES = nu.WEIGHT_NAMES
#: events converted per numpy chunk (bounds the memory of the per-event arrays).
_CHUNK = 8192


def hepevt_layout(block: EventBlock) -> tuple[np.ndarray, np.ndarray]:
    """HEPEVT ordering and parent ranges of a block's topology.

    Returns
    -------
    order : (P,) int, block particle index of each HEPEVT entry (identity unless the beams are not
        contiguous, then beams first).
    parents : (P, 2) int32, zero-based inclusive [first, last] parent range of each HEPEVT entry;
        (-1, -1) for beams (and for primaries of an event without beams).
    """
    st, mo = block.status, block.mother
    P = block.n_particles
    beams = np.flatnonzero(st == STATUS_BEAM)
    order = np.arange(P)
    if beams.size and beams[-1] - beams[0] + 1 != beams.size:
        order = np.concatenate([beams, np.flatnonzero(st != STATUS_BEAM)])
    inv = np.empty(P, dtype=np.int64)
    inv[order] = np.arange(P)
    st_o, mo_o = st[order], mo[order]
    parents = np.full((P, 2), -1, dtype=np.int32)
    decayed = mo_o >= 0
    parents[decayed, 0] = inv[mo_o[decayed]]
    parents[decayed, 1] = inv[mo_o[decayed]]
    if beams.size:
        primary = (mo_o == -1) & (st_o != STATUS_BEAM)
        parents[primary, 0] = inv[beams].min()
        parents[primary, 1] = inv[beams].max()
    return order, parents


@dataclass
class _Layout:
    """HEPEVT record of a block as written: codes, parent ranges, and how to fill the momenta.

    ``take``: block particle index of each entry, or -1 (added target nucleus), -2 (added remnant).
    ``nucleon``: entry index of the struck nucleon (-1 when no nucleus is added); ``nucleus_mass`` in GeV.
    ``primary``: block index of one particle leaving the primary vertex (its position is the vertex).
    """

    pid: np.ndarray
    status: np.ndarray
    parents: np.ndarray
    take: np.ndarray
    nucleon: int = -1
    nucleus_mass: float = 0.0
    primary: int = 0


def event_layout(block: EventBlock, channel: Mapping, neutrino: bool) -> _Layout:
    """The written record of a block (see module docstring). ``channel``: its ``run_info`` channel dict.

    For a neutrino-beam run the heavier incoming particle is the target (E.R.7): a nucleus gets status 20;
    a nucleon of an incoherent channel gets status 21 and the nucleus ``channel["target"]`` (PDG
    ``target_pdg``) is added as its parent with a remnant (P.C.2) as its sibling.
    """
    order, parents = hepevt_layout(block)
    pid = block.pdg[order].astype(np.int32)
    st = block.status[order].astype(np.int32)
    take = order.astype(np.int64)
    primary = int(block.primary_out()[0])
    if not neutrino:
        return _Layout(pid, st, parents, take, primary=primary)
    beams = np.flatnonzero(st == STATUS_BEAM)
    if beams.size != 2:
        msg = f"block {block.channel!r}: {beams.size} incoming particles; a neutrino-beam event has beam + target"
        raise OutputError(msg)
    m = block.masses()[0, order]
    tgt = int(beams[np.argmax(m[beams])])
    target_pdg = int(channel.get("target_pdg", pid[tgt]))
    za = nu.nuclear_za(target_pdg)
    if channel.get("nucleon") is None or target_pdg == pid[tgt] or (za is not None and za[1] == 1):
        # coherent, or a free proton (H1): the struck particle itself is the target
        st[tgt] = nu.STATUS_TARGET
        return _Layout(pid, st, parents, take, primary=primary)
    from generator.targets import load_targets  # nuclear masses (GeV)

    by_pdg = {t.pdg: t for t in load_targets().values()}
    if target_pdg not in by_pdg:
        msg = f"channel {block.channel!r}: target_pdg {target_pdg} is not a known target; known: {sorted(by_pdg)}"
        raise OutputError(msg)

    st[tgt] = nu.STATUS_STRUCK_NUCLEON
    par = np.where(parents >= 0, parents + 1, -1).astype(np.int32)
    par[tgt] = (0, 0)
    pid = np.concatenate([[target_pdg], pid, [nu.PDG_REMNANT]]).astype(np.int32)
    st = np.concatenate([[nu.STATUS_TARGET], st, [nu.STATUS_FINAL]]).astype(np.int32)
    par = np.concatenate([[(-1, -1)], par, [(0, 0)]]).astype(np.int32)
    take = np.concatenate([[-1], take, [-2]])
    return _Layout(pid, st, par, take, nucleon=tgt + 1, nucleus_mass=by_pdg[target_pdg].mass,
                   primary=primary)


def _fill(block: EventBlock, lay: _Layout, sl: slice) -> tuple[np.ndarray, np.ndarray]:
    """Four-momenta (m, P', 4) in GeV and vertices (m, P', 4) (c*t, x, y, z) in mm of events ``sl``."""
    inner = lay.take >= 0
    m = len(range(*sl.indices(block.n_events)))
    p = np.zeros((m, len(lay.take), 4))
    x = np.zeros((m, len(lay.take), 4))
    p[:, inner] = block.p[sl][:, lay.take[inner]]
    x[:, inner] = block.x[sl][:, lay.take[inner]]
    if lay.nucleon >= 0:
        # nucleus at rest (M_A, 0, 0, 0); remnant = P_A - p_nucleon conserves four-momentum at the
        # separation vertex; nucleus, nucleon and remnant sit at the primary vertex
        p[:, 0, 0] = lay.nucleus_mass
        p[:, -1] = p[:, 0] - p[:, lay.nucleon]
        pos = block.x[sl][:, lay.primary]
        for k in (0, lay.nucleon, len(lay.take) - 1):
            x[:, k] = pos
    return p, x * CM_TO_MM


def _vertex_status(vertex, neutrino: bool) -> int:
    """V.R.1 status of a vertex from the statuses of its incoming particles."""
    ins = {p.status for p in vertex.particles_in}
    if STATUS_BEAM in ins:
        return nu.VERTEX_PRIMARY
    if neutrino and nu.STATUS_TARGET in ins:
        return nu.VERTEX_NUCLEON_SEPARATION
    return nu.VERTEX_DECAY


def provenance_of(run_info: Mapping) -> dict:
    """``run_info["provenance"]`` when the caller gave it, else built from the card text (see provenance)."""
    from generator import provenance

    if run_info.get("provenance"):
        return dict(run_info["provenance"])
    return provenance.from_card_text(str(run_info["card"]))


def make_run_info(blocks: Sequence[EventBlock], run_info: Mapping) -> pyhepmc.GenRunInfo:
    """The HepMC3 ``GenRunInfo`` of a run: tool, weight names, NuHepMC attributes, card and metadata."""
    meta = nu.strip_timings(run_metadata(blocks, run_info))
    names = meta["channel_names"]
    neutrino = nu.is_neutrino_run(run_info)
    pdgs = sorted({int(c) for b in blocks for c in np.unique(b.pdg)})
    prov = nu.strip_timings(provenance_of(run_info))
    ri = pyhepmc.GenRunInfo()
    ri.tools = [pyhepmc.GenRunInfo.ToolInfo(TOOL_NAME, str(run_info["version"]), TOOL_DESCRIPTION)]
    ri.weight_names = list(WEIGHT_NAMES)
    for key, value in nu.run_attributes({**run_info, "provenance": prov}, names, pdgs, neutrino).items():
        ri.attributes[key] = value
    ri.attributes["NuHepMC.Provenance.JSON"] = metadata_json(prov)
    ri.attributes["card"] = str(run_info["card"])
    ri.attributes["channels"] = metadata_json(names)
    ri.attributes["weight_unit"] = meta["weight_unit"]
    ri.attributes["output_schema"] = meta["output_schema"]
    ri.attributes["metadata_json"] = metadata_json(meta)
    return ri


def _write_events(writer, blocks: Sequence[EventBlock], run_info: Mapping, names: list[str], ri, xsec) -> int:
    """Convert and write all events; returns the number written. One from_hepevt call per event."""
    evt = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
    evt.run_info = ri
    index = {n: i for i, n in enumerate(names)}
    by_name = {str(ch["name"]): ch for ch in run_info.get("channels", [])}
    neutrino = nu.is_neutrino_run(run_info)
    number = 0
    from_hepevt, write_event, attributes = evt.from_hepevt, writer.write_event, evt.attributes
    for b in blocks:
        lay = event_layout(b, by_name.get(b.channel, {}), neutrino)
        ichan = index[b.channel]
        proc = nu.process_id(ichan)
        vstatus = None  # vertex statuses: the same for every event of a topology
        for s in range(0, b.n_events, _CHUNK):
            sl = slice(s, min(s + _CHUNK, b.n_events))
            p, x = _fill(b, lay, sl)
            comp = [np.ascontiguousarray(p[..., k]) for k in range(4)]  # E, px, py, pz (m, P) GeV
            # generated mass = invariant mass of the four-momentum, m = sqrt(E^2 - |p|^2) (GeV)
            mass = np.sqrt(np.clip(comp[0] ** 2 - comp[1] ** 2 - comp[2] ** 2 - comp[3] ** 2, 0.0, None))
            vt, vx, vy, vz = (np.ascontiguousarray(x[..., k]) for k in range(4))
            lab = (b.x[sl][:, lay.primary, 1:4] * CM_TO_MM).tolist()  # E.R.5, mm
            en, px, py, pz = comp
            w = b.weight[sl].tolist()
            for i in range(len(w)):
                from_hepevt(number, px[i], py[i], pz[i], en[i], mass[i], lay.pid, lay.status, lay.parents, None,
                            vx[i], vy[i], vz[i], vt[i], fortran=False)
                vertices = evt.vertices
                if vstatus is None:
                    vstatus = [_vertex_status(v, neutrino) for v in vertices]
                for v, vs in zip(vertices, vstatus, strict=True):
                    v.status = vs
                evt.weights = [w[i]]
                if xsec is not None:
                    evt.cross_section = xsec
                attributes["signal_process_id"] = proc
                attributes["channel"] = ichan
                attributes["lab_pos"] = lab[i]
                write_event(evt)
                number += 1
            if writer.failed():
                msg = f"HepMC3 writer failed after event {number - 1} (disk full or file removed?)"
                raise OSError(msg)
    return number


def write_hepmc(path: str | os.PathLike, blocks: Sequence[EventBlock], run_info: Mapping,
                gzip: bool = False, *, compresslevel: int = 1, precision: int = 16) -> Path:
    """Write a run to a HepMC3 ASCII file, atomically (see :mod:`generator.io.atomic`).

    Parameters
    ----------
    path : output file; by convention ``*.hepmc3`` (``*.hepmc3.gz`` with ``gzip=True``; the name is
        used as given).
    blocks : the run's EventBlocks (GeV, cm, c*t in cm; weights in ``weight_unit``).
    run_info : run metadata, see :mod:`generator.io` (``version``, ``seed``, ``card``, ``channels``...).
    gzip : compress with gzip (level ``compresslevel``, 1-9; level 1 is ~2.5x faster than 6 for files
        ~10% larger).
    precision : significant digits after the decimal point for floating-point values (16 keeps doubles
        exact).

    Returns
    -------
    The final path. Lengths in the file are mm, times c*t in mm, momenta GeV, cross section pb.
    """
    check_run_info(run_info)
    for b in blocks:
        check_topology(b)
    names = channel_names(blocks, run_info)
    ri = make_run_info(blocks, run_info)
    n_total = int(sum(b.n_events for b in blocks))
    sigma_pb, err_pb = nu.flux_averaged_cross_section_pb(run_info, names)
    xsec = None
    if math.isfinite(sigma_pb):
        xsec = pyhepmc.GenCrossSection()
        # HepMC3 convention: pb; G.R.6: per atom for neutrino runs
        xsec.set_cross_section(sigma_pb, err_pb, n_total, n_total)
    if gzip and not 1 <= compresslevel <= 9:
        msg = f"compresslevel = {compresslevel}: must be an integer 1..9"
        raise OutputError(msg)
    path = Path(path)
    with atomic_path(path) as tmp:
        if gzip:
            with _gzip.open(tmp, "wb", compresslevel=compresslevel) as fh, pyhepmc.io.pyiostream(fh) as ios:
                writer = pyhepmc.io.WriterAscii(ios, ri)
                writer.precision = precision
                try:
                    _write_events(writer, blocks, run_info, names, ri, xsec)
                finally:
                    writer.close()
        else:
            writer = pyhepmc.io.WriterAscii(str(tmp), ri)
            if writer.failed():
                msg = f"cannot open {tmp} for writing"
                raise OSError(msg)
            writer.precision = precision
            try:
                _write_events(writer, blocks, run_info, names, ri, xsec)
            finally:
                writer.close()
    return path


def read_hepmc_run_info(path: str | os.PathLike) -> dict:
    """Run metadata (the ``metadata_json`` run attribute, parsed) of a file written by :func:`write_hepmc`."""
    with pyhepmc.open(path) as f:
        evt = f.read()
        if evt is None or evt.run_info is None:
            msg = f"{path}: no HepMC3 event/run info found"
            raise OutputError(msg)
        att = evt.run_info.attributes
        if "metadata_json" not in att:
            msg = f"{path}: run attribute 'metadata_json' missing; not written by darkseesaw-gen"
            raise OutputError(msg)
        return json.loads(str(att["metadata_json"]))
