"""Event output: HepMC3 (pyhepmc), ROOT TTree/RNTuple ntuples (uproot), atomic writes.

Writers stream: opened with the run header ``run_info``, they take the run chunk by chunk, each chunk a list
of :class:`generator.record.EventBlock` (one per channel and decay topology), and are closed with the final
run summary (protocol in :mod:`generator.io.formats`); they never loop over particles in Python.

``run_info`` keys (extra keys are accepted and stored in the JSON metadata):

- ``"version"`` (str), ``"seed"`` (int), ``"card"`` (str, the steering-card text): required;
- ``"channels"``: list of dicts with ``"name"`` and optionally ``"sigma_per_scatterer_cm2"``,
  ``"sigma_err_per_scatterer_cm2"`` (cm^2 per scattering centre: nucleus, nucleon or collision; the writers
  convert to per atom), ``"expected_events"`` (events for the exposure); extra per-channel keys (e.g. the run
  summary's per-atom ``"sigma_cm2"`` with its ``"sigma_scale"``) are kept in JSON;
- ``"pot"`` (protons on target), ``"luminosity_fb"`` (fb^-1): 0 when absent (no exposure);
- ``"weight_unit"`` ("events" or "cm2"; default "events"); ``"hnl_mass_GeV"`` (dict name -> GeV: the HNLs the
  HepMC3 header declares); ``"info_columns"`` (optional: the extra info columns of the ROOT events tree);
- anything else, e.g. ``"hnl_ctau0_cm"`` (dict name -> c*tau in cm).

Events may carry ``info["event_id"]`` (int64, index in the unsharded run): HepMC3 event number and ROOT
branch ``event_id``.

The channel index of a block (ROOT branch ``channel``, HepMC3 event attribute ``channel``) is the
position of ``block.channel`` in the names of ``run_info["channels"]``; when that list is absent
or empty, channels are numbered in order of first appearance in ``blocks``.

This module holds the pieces both writers share; the writers live in :mod:`generator.io.hepmc`
and :mod:`generator.io.root`, atomic file creation in :mod:`generator.io.atomic`, and the registry of
formats a card may request (format -> writer, file name) in :mod:`generator.io.formats`.
:class:`OutputError` lives in :mod:`generator.errors` and is re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np

from generator.constants import PDG_HNL_OFFSET, PDG_PHIPRIME, PDG_ZPRIME
from generator.errors import OutputError
from generator.particles import is_hnl_pdg
from generator.record import STATUS_BEAM, STATUS_DECAYED, STATUS_FINAL, EventBlock

#: version tag of the ntuple/HepMC3 layout written by this package (stored in the metadata).
OUTPUT_SCHEMA_VERSION = "darkseesaw-gen-output-1"
#: run_info keys every writer needs.
REQUIRED_RUN_KEYS = ("version", "seed", "card")


def check_run_info(run_info: Mapping) -> None:
    """Raise :class:`OutputError` when a required ``run_info`` key is missing or malformed."""
    for key in REQUIRED_RUN_KEYS:
        if key not in run_info:
            msg = f"run_info[{key!r}] is missing; required keys: {', '.join(REQUIRED_RUN_KEYS)}"
            raise OutputError(msg)
    for key in ("version", "card"):
        if not isinstance(run_info[key], str):
            msg = f"run_info[{key!r}] = {run_info[key]!r}: must be a str"
            raise OutputError(msg)
    channels = run_info.get("channels", [])
    if not isinstance(channels, Sequence) or isinstance(channels, str):
        msg = f"run_info['channels'] = {channels!r}: must be a list of dicts with a 'name' key"
        raise OutputError(msg)
    for i, ch in enumerate(channels):
        if not isinstance(ch, Mapping) or "name" not in ch:
            msg = f"run_info['channels'][{i}] = {ch!r}: must be a dict with a 'name' key"
            raise OutputError(msg)


def check_topology(block: EventBlock, where: str = "") -> None:
    """Raise :class:`OutputError` unless the block's (pdg, status, mother) form a valid record.

    Rules (generator.record): status in {1, 2, 4}; beams (4) have mother -1; every mother index
    points to a status-2 particle of the block; a status-2 particle has daughters and a status-1
    or status-4 particle has none.
    """
    label = where or f"block {block.channel!r}"
    P = block.n_particles
    st, mo = block.status, block.mother
    bad = ~np.isin(st, (STATUS_BEAM, STATUS_DECAYED, STATUS_FINAL))
    if bad.any():
        msg = f"{label}: status {st[bad].tolist()} at particles {np.flatnonzero(bad).tolist()}; allowed 1, 2, 4"
        raise OutputError(msg)
    if ((mo < -1) | (mo >= P)).any():
        msg = f"{label}: mother indices {mo.tolist()} must be -1 or in 0..{P - 1}"
        raise OutputError(msg)
    if ((st == STATUS_BEAM) & (mo != -1)).any():
        msg = f"{label}: beam particles (status 4) must have mother -1, got mother {mo.tolist()}"
        raise OutputError(msg)
    has_daughters = np.zeros(P, dtype=bool)
    has_daughters[mo[mo >= 0]] = True
    if (has_daughters != (st == STATUS_DECAYED)).any():
        msg = (f"{label}: particles with daughters {np.flatnonzero(has_daughters).tolist()} must be exactly "
               f"the status-2 particles {np.flatnonzero(st == STATUS_DECAYED).tolist()}")
        raise OutputError(msg)
    # follow every mother chain P steps: an acyclic record reaches -1 (a primary-vertex particle)
    anc = mo.copy()
    for _ in range(P):
        anc = np.where(anc >= 0, mo[np.maximum(anc, 0)], -1)
    if (anc >= 0).any():
        msg = f"{label}: mother indices {mo.tolist()} form a loop; every chain must end at -1"
        raise OutputError(msg)


def channel_names(blocks: Sequence[EventBlock], run_info: Mapping) -> list[str]:
    """Ordered channel names of the run (see module docstring); raises if a block's channel is unknown."""
    listed = [str(ch["name"]) for ch in run_info.get("channels", [])]
    if listed:
        if len(set(listed)) != len(listed):
            msg = f"run_info['channels'] names {listed} contain duplicates; each channel must appear once"
            raise OutputError(msg)
        known = set(listed)
        for b in blocks:
            if b.channel not in known:
                msg = (f"block channel {b.channel!r} is not in run_info['channels']; "
                       f"allowed: {', '.join(listed)}")
                raise OutputError(msg)
        return listed
    names: list[str] = []
    for b in blocks:
        if b.channel not in names:
            names.append(b.channel)
    return names


def common_weight_unit(blocks: Sequence[EventBlock]) -> str:
    """The weight unit shared by all blocks ("events" if there are none); raises on a mix."""
    units = {b.weight_unit for b in blocks}
    if len(units) > 1:
        msg = f"blocks mix weight units {sorted(units)}; a file holds one unit ('events' or 'cm2')"
        raise OutputError(msg)
    return units.pop() if units else "events"


def channel_float(run_info: Mapping, names: Sequence[str], key: str) -> np.ndarray:
    """Per-channel float column ``key`` of ``run_info["channels"]`` in the order ``names``; NaN if absent."""
    by_name = {str(ch["name"]): ch for ch in run_info.get("channels", [])}
    out = np.full(len(names), np.nan)
    for i, name in enumerate(names):
        val = by_name.get(name, {}).get(key)
        if val is not None:
            out[i] = float(val)
    return out


def _json_default(obj):
    """JSON encoder fallback for numpy scalars/arrays, paths and sets."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


#: internal EventBlock.info columns that are never written to a file (bookkeeping of the engine).
INTERNAL_INFO_COLUMNS = frozenset({"chunk"})
#: run-metadata keys known only after the last event (written by ``close``; absent from file headers).
SUMMARY_KEYS = ("n_events_written", "sum_weights", "weight_unit", "pdg_codes")


def bsm_pdg_names(pdgs) -> dict[str, str]:
    """{str(code): name} of the HNL codes in ``pdgs`` plus Z' and phi' (always declared)."""
    bsm = {str(c): f"N{c - PDG_HNL_OFFSET}" for c in sorted({abs(int(c)) for c in pdgs}) if is_hnl_pdg(c)}
    bsm.update({str(PDG_ZPRIME): "Zprime", str(PDG_PHIPRIME): "phiprime"})
    return bsm


class RunTally:
    """Running totals of the events a writer has written, chunk by chunk (bounded memory).

    ``names``: channel names (index = ``channel`` column; from ``run_info["channels"]``, else in order of first
    appearance); ``n_events``; ``sum_weights`` (in ``weight_unit``); ``pdgs`` (PDG codes seen).
    """

    def __init__(self, run_info: Mapping) -> None:
        self.listed = [str(ch["name"]) for ch in run_info.get("channels", [])]
        if len(set(self.listed)) != len(self.listed):
            msg = f"run_info['channels'] names {self.listed} contain duplicates; each channel must appear once"
            raise OutputError(msg)
        self.names: list[str] = list(self.listed)
        self.n_events = 0
        self.sum_weights = 0.0
        self.units: set[str] = set()
        self.pdgs: set[int] = set()

    def add(self, blocks: Sequence[EventBlock]) -> RunTally:
        """Check the blocks' channels and weight unit and add them to the totals; returns self."""
        for b in blocks:
            if b.channel not in self.names:
                if self.listed:
                    msg = (f"block channel {b.channel!r} is not in run_info['channels']; "
                           f"allowed: {', '.join(self.listed)}")
                    raise OutputError(msg)
                self.names.append(b.channel)
            self.units.add(b.weight_unit)
            if len(self.units) > 1:
                msg = f"blocks mix weight units {sorted(self.units)}; a file holds one unit ('events' or 'cm2')"
                raise OutputError(msg)
            self.n_events += b.n_events
            self.sum_weights += float(np.sum(b.weight))
            self.pdgs.update(int(c) for c in np.unique(b.pdg))
        return self

    @property
    def weight_unit(self) -> str:
        """The common weight unit of the blocks added ("events" if none)."""
        return next(iter(self.units)) if self.units else "events"

    def metadata(self, run_info: Mapping) -> dict:
        """``run_info`` plus the derived entries of :func:`run_metadata`."""
        meta = dict(run_info)
        meta.update(
            channel_names=list(self.names),
            n_events_written=int(self.n_events),
            sum_weights=float(self.sum_weights),
            weight_unit=self.weight_unit,
            output_schema=OUTPUT_SCHEMA_VERSION,
            pdg_codes=bsm_pdg_names(self.pdgs),
        )
        return meta


def header_metadata(run_info: Mapping) -> dict:
    """Metadata known before any event (file headers): ``run_info`` + ``channel_names`` and ``output_schema``."""
    meta = {k: v for k, v in run_info.items() if k not in SUMMARY_KEYS}
    meta.update(channel_names=[str(ch["name"]) for ch in run_info.get("channels", [])],
                output_schema=OUTPUT_SCHEMA_VERSION)
    return meta


def run_metadata(blocks: Sequence[EventBlock], run_info: Mapping) -> dict:
    """The metadata dict stored in the files: ``run_info`` plus derived entries.

    Added keys: ``channel_names`` (list, index = channel branch value), ``n_events_written``,
    ``sum_weights`` (in ``weight_unit``), ``weight_unit``, ``output_schema`` (layout version) and
    ``pdg_codes`` (names of the BSM PDG codes used in the file). Same as :class:`RunTally` over ``blocks``.
    """
    return RunTally(run_info).add(blocks).metadata(run_info)


def metadata_json(meta: Mapping) -> str:
    """JSON text of a metadata dict (numpy values converted; NaN written as NaN, as Python's json does)."""
    return json.dumps(meta, default=_json_default, sort_keys=False)


from generator.io.atomic import atomic_open, atomic_path  # noqa: E402
from generator.io.formats import OUTPUT_FORMATS, OutputFormat, register_output_format, write_formats  # noqa: E402
from generator.io.hepmc import HepMCWriter, write_hepmc  # noqa: E402
from generator.io.root import EVENT_BRANCHES, RootWriter, read_root, write_root  # noqa: E402

__all__ = [
    "EVENT_BRANCHES", "INTERNAL_INFO_COLUMNS", "OUTPUT_FORMATS", "OUTPUT_SCHEMA_VERSION", "HepMCWriter", "OutputError",
    "OutputFormat", "RootWriter", "RunTally", "atomic_open", "atomic_path", "channel_names", "check_run_info",
    "check_topology", "header_metadata", "metadata_json", "read_root", "register_output_format", "run_metadata",
    "write_formats", "write_hepmc", "write_root",
]
