"""HepMC3 ASCII writer (pyhepmc): NuHepMC 1.0 for neutrino-beam runs, plain HepMC3 otherwise.

:class:`HepMCWriter` streams: the constructor writes the header from the run header, ``write(blocks)`` appends
one chunk (the file stays open), ``close()`` writes the footer. :func:`write_hepmc` writes a list of
blocks through it, atomically.

The text is pyhepmc's (HepMC3 ``WriterAscii``): events built from arrays with ``GenEvent.from_hepevt`` (one call
per event). The default engine gets the same bytes about 2.5 times as fast: the record of each channel and topology is
compiled once into a template that a numba kernel fills from the arrays (:mod:`generator.io.hepmc_ascii`), and the
first and last events of every slice are checked against pyhepmc's text (a disagreement writes that channel with
pyhepmc and warns). The meaning of every
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
  ``metadata_json`` (the run header, :func:`generator.io.header_metadata`, without timings: no event counts),
  ``channel_targets``, ``channel_sigma_pb``, ``channel_sigma_err_pb`` (JSON lists per channel: target name,
  cross section in pb per atom of that target for neutrino runs), ``cross_section_scale`` and
  ``NuHepMC.Provenance.JSON`` (:mod:`generator.provenance`: resolved model, versions, git commit, command
  line, card). Nothing depends on the clock: the same card and seed give byte-identical files.
- Every event: ``GenCrossSection`` = the run's flux-averaged total cross section in pb per atom (neutrino
  runs, the same number as ``NuHepMC.FluxAveragedTotalCrossSection``) or the sum of the channel cross
  sections in pb (collider runs), accepted = attempted = event number + 1 (running count); omitted when unknown.
  Int attributes ``signal_process_id`` (E.R.3, = :func:`generator.io.nuhepmc.process_id` of the channel
  index) and ``channel`` (the channel index); ``lab_pos`` (E.R.5) = primary vertex (x, y, z) in mm.
- Particles (P.R.1): beam 4, target nucleus 20 (nuclear PDG code), decayed 2, final 1. Incoherent
  scattering is written as nucleus (20) -> struck nucleon (21, P.C.1) + remnant (2009900000, status 1,
  P.C.2) at a status-21 vertex (V.C.1), then neutrino + nucleon at the primary vertex: four-momentum is
  conserved at every vertex. Vertices (V.R.1): primary 1, nucleon separation 21, BSM decays 22.
  PDG codes: N_j = 9900000 + j, Z' = 32, phi' = 9900025 (declared, G.R.11).
- The generated mass of each particle is the invariant mass of its four-momentum (GeV).
- Events are numbered by ``info["event_id"]`` (index in the unsharded run, the ROOT ``event_id`` branch), or
  0, 1, ... in write order when the blocks carry none.
- BSM codes declared before any event (G.R.11): the HNLs of ``run_info["hnl_mass_GeV"]``, Z', phi'.

Particle order inside an event follows the block (beams moved to the front when they are not
contiguous: HEPEVT needs a contiguous parent range), after the added target nucleus of incoherent events.
"""

from __future__ import annotations

import gzip as _gzip
import io
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyhepmc

from generator.constants import CM_TO_MM, PDG_PHIPRIME, PDG_ZPRIME
from generator.io import (
    OutputError,
    RunTally,
    channel_names,
    check_run_info,
    check_topology,
    common_weight_unit,
    header_metadata,
    hepmc_ascii,
    metadata_json,
)
from generator.io import nuhepmc as nu
from generator.io.atomic import atomic_path
from generator.particles import is_hnl_pdg, pdg
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


@dataclass
class _Slice:
    """Events ``sl`` of a block as written: per HEPEVT entry (m, P') momenta E, px, py, pz and generated mass (GeV),
    production positions vt (c*t), vx, vy, vz (mm); lab (m, 3) primary vertex (mm); weights; event numbers."""

    en: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    mass: np.ndarray
    vt: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    vz: np.ndarray
    lab: np.ndarray
    w: np.ndarray
    ids: np.ndarray

    def values(self) -> np.ndarray:
        """The value array of :mod:`generator.io.hepmc_ascii` (one row per event)."""
        return hepmc_ascii.value_array(self.ids, self.w, self.lab, self.px, self.py, self.pz, self.en, self.mass,
                                       self.vx, self.vy, self.vz, self.vt)


def _slice(block: EventBlock, lay: _Layout, sl: slice, number: int) -> _Slice:
    """The arrays of events ``sl`` of ``block``; numbered ``info["event_id"]``, else ``number`` + position."""
    p, x = _fill(block, lay, sl)
    en, px, py, pz = (np.ascontiguousarray(p[..., k]) for k in range(4))
    # generated mass = invariant mass of the four-momentum, m = sqrt(E^2 - |p|^2) (GeV)
    mass = np.sqrt(np.clip(en ** 2 - px ** 2 - py ** 2 - pz ** 2, 0.0, None))
    vt, vx, vy, vz = (np.ascontiguousarray(x[..., k]) for k in range(4))
    lab = block.x[sl][:, lay.primary, 1:4] * CM_TO_MM  # E.R.5, mm
    w = np.asarray(block.weight[sl], dtype=np.float64)
    ids = (np.asarray(block.info["event_id"])[sl].astype(np.int64) if "event_id" in block.info
           else np.arange(number, number + len(w), dtype=np.int64))
    return _Slice(en, px, py, pz, mass, vt, vx, vy, vz, lab, w, ids)


_UNCOMPILED = object()


@dataclass
class _Channel:
    """What every event of one channel and topology shares in the file: layout, channel index, process id (E.R.3),
    and the template of its record (generator.io.hepmc_ascii; None: written with pyhepmc)."""

    name: str
    lay: _Layout
    index: int
    process: int
    neutrino: bool
    vertex_status: list[int] | None = None  # V.R.1 statuses, the same for every event of a topology
    template: object = _UNCOMPILED  # compiled from the first slice written


def _pyhepmc_events(writer, ri, ch: _Channel, s: _Slice, rows, sigma_pb: float, err_pb: float) -> None:
    """Build events ``rows`` of slice ``s`` as ``pyhepmc.GenEvent`` (one from_hepevt call each) and write them.

    The cross section (pb, per atom for neutrino runs, G.R.6) is written with accepted = attempted = event
    number + 1. This is the reference text: the template kernel (generator.io.hepmc_ascii) is checked against it.
    """
    xsec = pyhepmc.GenCrossSection() if math.isfinite(sigma_pb) else None
    evt = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
    evt.run_info = ri
    lay, attributes = ch.lay, evt.attributes
    lab, w, ids = s.lab.tolist(), s.w.tolist(), s.ids.tolist()
    for i in rows:
        evt.from_hepevt(ids[i], s.px[i], s.py[i], s.pz[i], s.en[i], s.mass[i], lay.pid, lay.status, lay.parents, None,
                        s.vx[i], s.vy[i], s.vz[i], s.vt[i], fortran=False)
        vertices = evt.vertices
        if ch.vertex_status is None:
            ch.vertex_status = [_vertex_status(v, ch.neutrino) for v in vertices]
        for v, vs in zip(vertices, ch.vertex_status, strict=True):
            v.status = vs
        evt.weights = [w[i]]
        if xsec is not None:
            # HepMC3 convention: pb, running counts of accepted and attempted events
            xsec.set_cross_section(sigma_pb, err_pb, ids[i] + 1, ids[i] + 1)
            evt.cross_section = xsec
        attributes["signal_process_id"] = ch.process
        attributes["channel"] = ch.index
        attributes["lab_pos"] = lab[i]
        writer.write_event(evt)


def declared_pdgs(run_info: Mapping, extra: Sequence[int] = ()) -> list[int]:
    """BSM PDG codes declared in the header (G.R.11) before any event: the HNLs named in
    ``run_info["hnl_mass_GeV"]`` / ``["hnl_ctau0_cm"]``, Z', phi', and ``extra``."""
    names = {*(run_info.get("hnl_mass_GeV") or {}), *(run_info.get("hnl_ctau0_cm") or {})}
    codes = {pdg(n) for n in names} | {PDG_ZPRIME, PDG_PHIPRIME} | {c for c in map(abs, map(int, extra)) if _bsm(c)}
    return sorted(codes)


def _bsm(code: int) -> bool:
    """True for the dark-sector PDG codes (HNLs N_j, Z', phi'), which the header must declare."""
    return bool(is_hnl_pdg(code)) or code in (PDG_ZPRIME, PDG_PHIPRIME)


def make_run_info(run_info: Mapping, pdgs: Sequence[int]) -> pyhepmc.GenRunInfo:
    """The HepMC3 ``GenRunInfo`` of a run header: tool, weight names, NuHepMC attributes, card and metadata.

    ``pdgs``: the BSM PDG codes to declare. Only what is known before any event goes in (no event counts, no
    timings), so the header can be written first and the same card and seed give the same bytes.
    """
    meta = nu.strip_timings(header_metadata(run_info))
    names = meta["channel_names"]
    neutrino = nu.is_neutrino_run(run_info)
    prov = nu.strip_timings(provenance_of(run_info))
    ri = pyhepmc.GenRunInfo()
    ri.tools = [pyhepmc.GenRunInfo.ToolInfo(TOOL_NAME, str(run_info["version"]), TOOL_DESCRIPTION)]
    ri.weight_names = list(WEIGHT_NAMES)
    for key, value in nu.run_attributes({**run_info, "provenance": prov}, names, pdgs, neutrino).items():
        ri.attributes[key] = value
    ri.attributes["NuHepMC.Provenance.JSON"] = metadata_json(prov)
    ri.attributes["card"] = str(run_info["card"])
    ri.attributes["channels"] = metadata_json(names)
    # per-channel cross sections labelled with their target scale (G.R.6): pb per atom of the named target
    per_atom = nu.per_atom_cross_sections_pb(run_info, names)
    by_name = {str(ch["name"]): ch for ch in run_info.get("channels", [])}
    ri.attributes["channel_targets"] = metadata_json([by_name[n].get("target") for n in names])
    ri.attributes["channel_sigma_pb"] = metadata_json([per_atom[n][0] for n in names])
    ri.attributes["channel_sigma_err_pb"] = metadata_json([per_atom[n][1] for n in names])
    ri.attributes["cross_section_scale"] = "PerAtom" if neutrino else "PerCollision"
    ri.attributes["weight_unit"] = str(run_info.get("weight_unit", "events"))
    ri.attributes["output_schema"] = meta["output_schema"]
    ri.attributes["metadata_json"] = metadata_json(meta)
    return ri


#: first and last lines of the HepMC3 ASCII event listing (WriterAscii); the file ends with the last and an empty line
HEPMC_START = "HepMC::Asciiv3-START_EVENT_LISTING"
HEPMC_END = "HepMC::Asciiv3-END_EVENT_LISTING"
FOOTER = (HEPMC_END + "\n\n").encode("ascii")
#: HepMCWriter engines: "auto" = the template kernel (generator.io.hepmc_ascii), checked against pyhepmc on the first
#: and last event of every slice and replaced by pyhepmc where it cannot be used; "pyhepmc" = pyhepmc for every event.
ENGINES = ("auto", "pyhepmc")


def _pyhepmc_text(ri, precision: int, write=None) -> bytes:
    """What pyhepmc's WriterAscii writes to a file with run info ``ri``: header, ``write(writer)``'s events, footer."""
    buffer = io.BytesIO()
    with pyhepmc.io.pyiostream(buffer) as ios:
        writer = pyhepmc.io.WriterAscii(ios, ri)
        writer.precision = precision
        if write is not None:
            write(writer)
        writer.close()
    return buffer.getvalue()


class HepMCWriter:
    """Streaming HepMC3 ASCII writer: ``open`` (constructor, writes the header), ``write(blocks)`` per chunk,
    ``close(run_info)`` (writes the end-of-listing footer).

    Parameters
    ----------
    path : the file to write (created or truncated; atomic placement is the caller's job). Lengths in the file
        are mm, times c*t in mm, momenta GeV, cross sections pb.
    run_info : run header, see :mod:`generator.io` (``version``, ``seed``, ``card``, ``channels``...); its
        optional ``weight_unit`` (default "events") must match the blocks'.
    gzip : compress with gzip (level ``compresslevel``, 1-9; level 1 is ~2.5x faster than 6 for files ~10% larger).
    precision : significant digits after the decimal point for floating-point values (16 keeps doubles exact).
    extra_pdgs : BSM PDG codes to declare besides :func:`declared_pdgs` (a chunk with an undeclared BSM code
        raises OutputError: the header is already written).
    engine : "auto" (default) or "pyhepmc", see ENGINES. Both write the same bytes: the text is pyhepmc's
        (HepMC3 WriterAscii) either way; "auto" is about 2.5 times as fast.

    Events are numbered by ``info["event_id"]`` (global index in the unsharded run) when the blocks carry it,
    else 0, 1, ... in write order. ``GenCrossSection`` accepted = attempted = event number + 1 (running count).
    """

    def __init__(self, path: str | os.PathLike, run_info: Mapping, gzip: bool = False, *, compresslevel: int = 1,
                 precision: int = 16, extra_pdgs: Sequence[int] = (), engine: str = "auto") -> None:
        check_run_info(run_info)
        if gzip and not 1 <= compresslevel <= 9:
            msg = f"compresslevel = {compresslevel}: must be an integer 1..9"
            raise OutputError(msg)
        if engine not in ENGINES:
            msg = f"engine = {engine!r}: allowed {', '.join(map(repr, ENGINES))}"
            raise OutputError(msg)
        self.path = Path(path)
        self.run_info = run_info
        self.names = [str(ch["name"]) for ch in run_info.get("channels", [])]
        if not self.names:
            msg = "run_info['channels'] is empty: the HepMC3 header lists the channels (process IDs) before any event"
            raise OutputError(msg)
        self.tally = RunTally(run_info)
        self.pdgs = declared_pdgs(run_info, extra_pdgs)
        self.ri = make_run_info(run_info, self.pdgs)
        self.precision = precision
        self.weight_unit = str(run_info.get("weight_unit", "events"))
        self.sigma_pb, self.err_pb = nu.flux_averaged_cross_section_pb(run_info, self.names)
        self.neutrino = nu.is_neutrino_run(run_info)
        self._by_name = {str(ch["name"]): ch for ch in run_info.get("channels", [])}
        self._channels: dict[tuple, _Channel] = {}
        self._fast = engine == "auto" and hepmc_ascii.available()
        empty = _pyhepmc_text(self.ri, precision)
        if not empty.endswith(FOOTER):
            msg = f"pyhepmc's HepMC3 file does not end with {FOOTER!r}; pyhepmc {pyhepmc.__version__} is not supported"
            raise OutputError(msg)
        self.header = empty[: -len(FOOTER)]
        with ExitStack() as stack:
            if gzip:
                self._fh = stack.enter_context(_gzip.open(self.path, "wb", compresslevel=compresslevel))
            else:
                self._fh = stack.enter_context(self.path.open("wb"))
            self._fh.write(self.header)
            self._stack = stack.pop_all()

    def write(self, blocks: Sequence[EventBlock]) -> None:
        """Write one chunk of events (GeV, cm, c*t in cm; weights in the header's ``weight_unit``), in run order."""
        for b in blocks:
            check_topology(b)
            if b.n_events and b.weight_unit != self.weight_unit:
                msg = (f"block {b.channel!r}: weight unit {b.weight_unit!r}, but the header says "
                       f"run_info['weight_unit'] = {self.weight_unit!r}")
                raise OutputError(msg)
            bsm = sorted({c for c in map(abs, map(int, np.unique(b.pdg))) if _bsm(c)} - set(self.pdgs))
            if bsm:
                msg = (f"block {b.channel!r}: PDG codes {bsm} are not declared in the header {self.pdgs}; "
                       "name the HNLs in run_info['hnl_mass_GeV'] or pass extra_pdgs")
                raise OutputError(msg)
        number = self.tally.n_events
        self.tally.add(blocks)
        index = {n: i for i, n in enumerate(self.tally.names)}
        for b in blocks:
            # one record layout (and template) per channel and topology: blocks of one channel may order their
            # particles differently
            key = (b.channel, *(np.asarray(a).tobytes() for a in (b.pdg, b.status, b.mother)))
            ch = self._channels.get(key)
            if ch is None:
                ichan = index[b.channel]
                lay = event_layout(b, self._by_name.get(b.channel, {}), self.neutrino)
                ch = self._channels[key] = _Channel(b.channel, lay, ichan, nu.process_id(ichan), self.neutrino)
            for start in range(0, b.n_events, _CHUNK):
                s = _slice(b, ch.lay, slice(start, min(start + _CHUNK, b.n_events)), number + start)
                self._fh.write(self._encode(ch, s))
            number += b.n_events

    def _reference(self, ch: _Channel, s: _Slice, rows) -> bytes:
        """pyhepmc's text of events ``rows`` of ``s`` (event records only)."""
        text = _pyhepmc_text(self.ri, self.precision,
                             lambda w: _pyhepmc_events(w, self.ri, ch, s, rows, self.sigma_pb, self.err_pb))
        if not (text.startswith(self.header) and text.endswith(FOOTER)):
            msg = "pyhepmc wrote a different header or footer for the same run info"
            raise OutputError(msg)
        return text[len(self.header): -len(FOOTER)]

    def _encode(self, ch: _Channel, s: _Slice) -> bytes | memoryview:
        """The event records of slice ``s``: from the template of its channel and topology when that reproduces
        pyhepmc's text of the slice's first and last events, else from pyhepmc."""
        m = len(s.ids)
        if self._fast and ch.template is _UNCOMPILED:
            first = self._reference(ch, s, [0]).decode("ascii")
            ch.template = hepmc_ascii.compile_template(first, len(ch.lay.pid), int(s.ids[0]))
        if self._fast and ch.template is not None:
            encoded = ch.template.encode(s.values())
            if encoded is not None:
                data, ends = encoded
                ours = bytes(data[: ends[0]]) + (bytes(data[ends[m - 2]:]) if m > 1 else b"")
                if ours == self._reference(ch, s, [0, m - 1] if m > 1 else [0]):
                    return data
                warnings.warn(f"HepMC3 template of channel {ch.name!r} differs from pyhepmc's text; this channel is "
                              "written with pyhepmc (same file, slower)", RuntimeWarning, stacklevel=3)
                ch.template = None
        return self._reference(ch, s, range(m))

    def close(self, run_info: Mapping | None = None) -> Path:
        """Finish the file (HepMC3 end-of-listing footer). The final ``run_info`` is not needed: the header holds
        everything known before the events, the run summary goes to the ROOT ``run`` tree and summary.json."""
        with self._stack:
            self._fh.write(FOOTER)
        return self.path

    def abort(self) -> None:
        """Close the file without its footer (after an error; the caller discards it)."""
        self._stack.close()


def encode_hepmc_chunk(fmt, blocks: Sequence[EventBlock], run_info: Mapping, output, spool: Path) -> Path:
    """Registry encoder of HepMC3 (generator.io.formats): the chunk written by :class:`HepMCWriter` from the run
    header into the plain file ``spool`` (header, the chunk's events, footer); returns its path.
    :class:`generator.io.merge.HepMCAppender` copies the event records into the run's file, which then equals the
    one a single HepMCWriter writes (event records are self-contained)."""
    w = HepMCWriter(spool, run_info)
    try:
        w.write(blocks)
    finally:
        w.close()
    return Path(spool)


def write_hepmc(path: str | os.PathLike, blocks: Sequence[EventBlock], run_info: Mapping,
                gzip: bool = False, *, compresslevel: int = 1, precision: int = 16) -> Path:
    """Write a run to a HepMC3 ASCII file, atomically, through :class:`HepMCWriter` (one chunk).

    ``path``: by convention ``*.hepmc3`` (``*.hepmc3.gz`` with ``gzip=True``; the name is used as given);
    ``blocks``: the run's EventBlocks (GeV, cm, c*t in cm); ``run_info``: see :mod:`generator.io`; other options as
    for :class:`HepMCWriter`. Returns the final path. Lengths in the file are mm, momenta GeV, cross section pb.
    """
    check_run_info(run_info)
    # a header needs what the blocks tell: their weight unit, and channel names when run_info lists none
    run_info = {"weight_unit": common_weight_unit(blocks), **run_info,
                "channels": run_info.get("channels") or [{"name": n} for n in channel_names(blocks, run_info)]}
    pdgs = {int(c) for b in blocks for c in np.unique(b.pdg)}
    path = Path(path)
    with atomic_path(path) as tmp:
        w = HepMCWriter(tmp, run_info, gzip, compresslevel=compresslevel, precision=precision, extra_pdgs=sorted(pdgs))
        try:
            w.write(blocks)
        finally:
            w.close()
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
