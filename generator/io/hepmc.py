"""HepMC3 ASCII writer (pyhepmc), events built from arrays with ``GenEvent.from_hepevt``.

File layout
-----------
- Units: momenta in GeV, lengths in mm (HepMC3 ``U GEV MM``). Internal vertices are (c*t, x, y, z)
  in cm; they are converted with ``generator.constants.CM_TO_MM`` at this boundary only. HepMC3
  stores the time component as c*t in the length unit, so t is written as c*t in mm.
- Run info (``GenRunInfo``): tool ``darkseesaw-gen`` with the package version; weight names
  (one weight, ``"Default"``, in the unit given by the run attribute ``weight_unit``: ``events`` =
  expected events for the exposure, ``cm2`` = cross section); string attributes ``card`` (steering
  card text), ``channels`` (JSON list; index = event attribute ``signal_process_id``), ``weight_unit``,
  ``output_schema`` and ``metadata_json`` (the whole run metadata, see
  :func:`generator.io.run_metadata`).
- Every event carries ``GenCrossSection``: the run's total cross section (sum over channels, errors in
  quadrature) in **pb**, as HepMC3 expects, with accepted = attempted = number of events in the file
  (omitted when no channel reports ``sigma_cm2``); the HepMC3 standard int attribute
  ``signal_process_id`` = channel index (same as the ROOT branch ``channel``); and its weight.
- Particles: beams/targets status 4 (attached to the root vertex), decayed intermediates status 2,
  final states status 1. The primary vertex has the beams in and every ``mother == -1`` particle
  out; each status-2 particle has its own decay vertex. Vertex positions are the production
  positions of the outgoing particles. PDG codes as in ``generator.constants``: N_j = 9900000 + j,
  Z' = 32, phi' = 9900025; targets use nuclear codes (e.g. C12 = 1000060120).
- The generated mass of each particle is the invariant mass of its four-momentum (GeV).
- Events are numbered 0, 1, ... in block order, the same order as the ROOT ntuple entries.

Particle order inside an event follows the block (HepMC3 particle id = block index + 1) unless the
beams are not contiguous in the block, in which case the beams are moved to the front (HEPEVT
needs a contiguous parent range).
If an event has no beam particle, its ``mother == -1`` particles are roots without a production
vertex in HepMC3 (their production position is kept in the ROOT ntuple).
"""

from __future__ import annotations

import gzip as _gzip
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyhepmc

from generator.constants import CM_TO_MM, PB_CM2
from generator.io import (
    OutputError,
    channel_names,
    check_run_info,
    check_topology,
    metadata_json,
    run_metadata,
    total_cross_section,
)
from generator.io.atomic import atomic_path
from generator.record import STATUS_BEAM, EventBlock

TOOL_NAME = "darkseesaw-gen"
TOOL_DESCRIPTION = "dark-seesaw HNL event generator (Abdullahi, Hostert, Pascoli 2021 model)"
WEIGHT_NAMES = ["Default"]
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


def make_run_info(blocks: Sequence[EventBlock], run_info: Mapping) -> pyhepmc.GenRunInfo:
    """The HepMC3 ``GenRunInfo`` of a run (tool, weight names, card/metadata string attributes)."""
    meta = run_metadata(blocks, run_info)
    ri = pyhepmc.GenRunInfo()
    ri.tools = [pyhepmc.GenRunInfo.ToolInfo(TOOL_NAME, str(run_info["version"]), TOOL_DESCRIPTION)]
    ri.weight_names = list(WEIGHT_NAMES)
    ri.attributes["card"] = str(run_info["card"])
    ri.attributes["channels"] = metadata_json(meta["channel_names"])
    ri.attributes["weight_unit"] = meta["weight_unit"]
    ri.attributes["output_schema"] = meta["output_schema"]
    ri.attributes["metadata_json"] = metadata_json(meta)
    return ri


def _write_events(writer, blocks: Sequence[EventBlock], names: list[str], ri, xsec) -> int:
    """Convert and write all events; returns the number written. One from_hepevt call per event."""
    evt = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
    evt.run_info = ri
    index = {n: i for i, n in enumerate(names)}
    number = 0
    from_hepevt, write_event, attributes = evt.from_hepevt, writer.write_event, evt.attributes
    for b in blocks:
        order, parents = hepevt_layout(b)
        pid = np.ascontiguousarray(b.pdg[order], dtype=np.int32)
        status = np.ascontiguousarray(b.status[order], dtype=np.int32)
        ichan = index[b.channel]
        for s in range(0, b.n_events, _CHUNK):
            sl = slice(s, min(s + _CHUNK, b.n_events))
            p = b.p[sl][:, order]  # (m, P, 4) GeV
            x = b.x[sl][:, order] * CM_TO_MM  # (m, P, 4) (c*t, x, y, z): cm -> mm
            comp = [np.ascontiguousarray(p[..., k]) for k in range(4)]  # E, px, py, pz (m, P)
            # generated mass = invariant mass of the four-momentum, m = sqrt(E^2 - |p|^2) (GeV)
            mass = np.sqrt(np.clip(comp[0] ** 2 - comp[1] ** 2 - comp[2] ** 2 - comp[3] ** 2, 0.0, None))
            vt, vx, vy, vz = (np.ascontiguousarray(x[..., k]) for k in range(4))
            en, px, py, pz = comp
            w = b.weight[sl].tolist()
            for i in range(len(w)):
                from_hepevt(number, px[i], py[i], pz[i], en[i], mass[i], pid, status, parents, None,
                            vx[i], vy[i], vz[i], vt[i], fortran=False)
                evt.weights = [w[i]]
                if xsec is not None:
                    evt.cross_section = xsec
                attributes["signal_process_id"] = ichan
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
    sigma_cm2, err_cm2 = total_cross_section(run_info, names)
    xsec = None
    if math.isfinite(sigma_cm2):
        xsec = pyhepmc.GenCrossSection()
        # HepMC3 convention: cross sections in pb.
        xsec.set_cross_section(sigma_cm2 / PB_CM2, err_cm2 / PB_CM2, n_total, n_total)
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
                    _write_events(writer, blocks, names, ri, xsec)
                finally:
                    writer.close()
        else:
            writer = pyhepmc.io.WriterAscii(str(tmp), ri)
            if writer.failed():
                msg = f"cannot open {tmp} for writing"
                raise OSError(msg)
            writer.precision = precision
            try:
                _write_events(writer, blocks, names, ri, xsec)
            finally:
                writer.close()
    return path


def read_hepmc_run_info(path: str | os.PathLike) -> dict:
    """Run metadata (the ``metadata_json`` run attribute, parsed) of a file written by :func:`write_hepmc`."""
    import json

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
