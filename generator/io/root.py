"""ROOT ntuple writer and reader (uproot + awkward): TTree ``events`` and ``run``, metadata strings.

:class:`RootWriter` streams: ``RootWriter(path, run_info)``, ``write(blocks)`` per chunk (``mktree`` then
``extend``), ``write_arrays`` (events already in this layout, for merging shards), ``close(run_info)`` (``run``
tree and strings). :func:`write_root` writes a list of blocks through it, atomically.

Schema (kept exactly; detector modules read it; see docs/ntuple_schema.md)
-------------------------------------------------------------------------
TTree ``events``, one entry per event, in block order (entry i = HepMC3 event i):

- jagged per particle (counter branch ``n_particles``): ``pdg`` int32, ``status`` int32 (4 beam,
  2 decayed, 1 final), ``mother`` int32 (index of the mother inside the event, -1 for beams and
  primary-vertex particles), ``E, px, py, pz, m`` float64 in GeV (``m`` = invariant mass from the
  four-momentum, not m^2), ``vx, vy, vz`` float64 in cm (production vertex), ``vt`` float64 in ns
  (production time), ``pol`` float32 (helicity, -1..1; 0 if not set);
- per event: ``weight`` float64 (expected events; cross section in cm^2 if the run has no exposure,
  see metadata ``weight_unit``), ``channel`` int32 (index into the run's channel list), ``regime``
  int32 (0 none, 1 coherent, 2 incoherent), ``target`` int32 (PDG code of the target, 0 if none),
  ``E_nu`` float64 GeV (0 if none), ``Q2`` float64 GeV^2 (0 if none), ``event_id`` int64 (index of the event
  in the unsharded run, ``info["event_id"]``; the entry index when absent), and every other
  ``EventBlock.info`` column as float64 (NaN in events of blocks that lack it) except the internal
  ones (:data:`generator.io.INTERNAL_INFO_COLUMNS`).

TTree ``run``, one entry: ``seed`` int64, ``n_events`` int64 (events in the file), ``sum_weights``
float64, ``pot`` float64, ``luminosity_fb`` float64 (fb^-1; both 0 when the run has no exposure),
per channel (counter ``n_channels``, index = ``channel``): ``sigma_pb``, ``sigma_err_pb`` (pb per atom of the
channel's target for neutrino-beam runs, NuHepMC G.R.6; per collision otherwise: see the string
``cross_section_scale``), ``target_pdg`` int32, ``sigma_per_scatterer_cm2``, ``sigma_err_per_scatterer_cm2``
(cm^2 per nucleus for coherent, per nucleon for incoherent channels), ``expected_events`` float64 (NaN where
run_info does not give them).

TObjString objects: ``version`` (package version), ``card`` (steering-card text), ``channels``
(JSON list of channel names), ``channel_targets`` (JSON list of their target names), ``cross_section_scale``
("PerAtom" or "PerCollision"), ``metadata_json`` (JSON dump of the run metadata dict, see
:func:`generator.io.run_metadata`).

With ``rntuple=True`` the two trees are written as RNTuples of the same fields instead (needs a
ROOT release that reads the RNTuple 1.0 format, 6.34 or later); the strings stay TObjStrings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from generator.constants import C_CM_PER_NS
from generator.io import (
    INTERNAL_INFO_COLUMNS,
    OutputError,
    RunTally,
    channel_float,
    check_run_info,
    check_topology,
    metadata_json,
)
from generator.io import nuhepmc as nu
from generator.io.atomic import atomic_path
from generator.record import REGIME_IDS, EventBlock

#: jagged per-particle branches of TTree "events" and their dtypes.
PARTICLE_BRANCHES: dict[str, str] = {
    "pdg": "int32", "status": "int32", "mother": "int32",
    "E": "float64", "px": "float64", "py": "float64", "pz": "float64", "m": "float64",
    "vx": "float64", "vy": "float64", "vz": "float64", "vt": "float64", "pol": "float32",
}
#: fixed event-level branches of TTree "events", their dtypes and the value used when a block lacks them.
EVENT_LEVEL_BRANCHES: dict[str, tuple[str, float]] = {
    "weight": ("float64", np.nan), "channel": ("int32", -1), "regime": ("int32", 0), "target": ("int32", 0),
    "E_nu": ("float64", 0.0), "Q2": ("float64", 0.0), "event_id": ("int64", -1),
}
#: all fixed branches (name -> dtype) of TTree "events"; extra info columns are added as float64.
EVENT_BRANCHES: dict[str, str] = {**PARTICLE_BRANCHES, **{k: v[0] for k, v in EVENT_LEVEL_BRANCHES.items()}}
PARTICLE_COUNTER = "n_particles"
CHANNEL_COUNTER = "n_channels"
#: per-channel branches of TTree "run".
RUN_CHANNEL_BRANCHES = ("sigma_pb", "sigma_err_pb", "target_pdg", "sigma_per_scatterer_cm2",
                        "sigma_err_per_scatterer_cm2", "expected_events")
RUN_SCALAR_BRANCHES: dict[str, str] = {
    "seed": "int64", "n_events": "int64", "sum_weights": "float64", "pot": "float64", "luminosity_fb": "float64",
}
#: string objects written as TObjString.
STRING_OBJECTS = ("version", "card", "channels", "channel_targets", "cross_section_scale", "metadata_json")
_COMPRESSION = {"lz4": uproot.LZ4, "zstd": uproot.ZSTD, "zlib": uproot.ZLIB, "lzma": uproot.LZMA}


def info_columns(blocks: Sequence[EventBlock]) -> list[str]:
    """Extra (non-schema) info column names in order of first appearance; checks for name clashes.

    Internal columns (:data:`generator.io.INTERNAL_INFO_COLUMNS`, e.g. ``chunk``) are never written. A streamed
    run whose channels carry different columns lists them all in ``run_info["info_columns"]`` (e.g. this
    function over one small block per channel), since the events tree is created at the first chunk.
    """
    reserved = set(EVENT_BRANCHES) | {PARTICLE_COUNTER}
    extra: list[str] = []
    for b in blocks:
        for k in b.info:
            if k in PARTICLE_BRANCHES or k in ("weight", "channel", PARTICLE_COUNTER):
                msg = (f"block {b.channel!r}: info column {k!r} clashes with a schema branch; "
                       f"reserved names: {', '.join(sorted(reserved))}")
                raise OutputError(msg)
            if k not in reserved and k not in extra and k not in INTERNAL_INFO_COLUMNS:
                extra.append(k)
    return extra


def _regime_column(block: EventBlock, sl: slice) -> np.ndarray:
    """The block's "regime" info as int32 codes (strings mapped with record.REGIME_IDS); 0 if absent."""
    if "regime" not in block.info:
        return np.zeros(sl.stop - sl.start, dtype=np.int32)
    r = np.asarray(block.info["regime"])[sl]
    if r.dtype.kind in "USO":
        labels, inverse = np.unique(r.astype(str), return_inverse=True)  # loop over distinct labels only
        try:
            return np.array([REGIME_IDS[str(v)] for v in labels], dtype=np.int32)[inverse.ravel()]
        except KeyError as err:
            msg = f"block {block.channel!r}: regime {err.args[0]!r} unknown; allowed {sorted(REGIME_IDS)} or ints"
            raise OutputError(msg) from None
    return r.astype(np.int32)


def _jagged(flat: np.ndarray, offsets: np.ndarray) -> ak.Array:
    """Jagged awkward array from a flat content array and int64 offsets (no copy)."""
    return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets), ak.contents.NumpyArray(flat)))


def _event_chunks(blocks: Sequence[EventBlock], index: Mapping[str, int], extra: list[str],
                  chunk_size: int, first_id: int) -> Iterator[dict[str, ak.Array | np.ndarray]]:
    """Yield column dicts of at most ``chunk_size`` events each (blocks packed in order).

    ``first_id``: ``event_id`` of the first event when the blocks carry no ``info["event_id"]`` (then events are
    numbered by their entry in the file).
    """
    pieces: list[tuple[EventBlock, slice]] = []
    filled = 0
    for b in blocks:
        start = 0
        while start < b.n_events:
            stop = min(b.n_events, start + chunk_size - filled)
            pieces.append((b, slice(start, stop)))
            filled += stop - start
            start = stop
            if filled == chunk_size:
                yield _build_chunk(pieces, index, extra, first_id)
                first_id += filled
                pieces, filled = [], 0
    if pieces:
        yield _build_chunk(pieces, index, extra, first_id)


def _build_chunk(pieces: list[tuple[EventBlock, slice]], index: Mapping[str, int],
                 extra: list[str], first_id: int) -> dict[str, ak.Array | np.ndarray]:
    """Columns of one chunk: flat particle arrays with shared offsets, plus event-level arrays.

    Each block slice is copied once, transposed, straight into preallocated chunk arrays.
    """
    n_ev = sum(sl.stop - sl.start for _, sl in pieces)
    counts = np.concatenate([np.full(sl.stop - sl.start, b.n_particles, dtype=np.int64) for b, sl in pieces])
    offsets = np.zeros(n_ev + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    n_part = int(offsets[-1])
    p = np.empty((4, n_part))  # E, px, py, pz in GeV
    x = np.empty((4, n_part))  # c*t, x, y, z in cm
    pol = np.empty(n_part, dtype=np.float32)
    ints = {name: np.empty(n_part, dtype=np.int32) for name in ("pdg", "status", "mother")}
    ev = {name: np.empty(n_ev, dtype=EVENT_LEVEL_BRANCHES.get(name, ("float64",))[0])
          for name in (*EVENT_LEVEL_BRANCHES, *extra)}
    e0 = 0
    for b, sl in pieces:
        n = sl.stop - sl.start
        e1 = e0 + n
        o0, o1 = offsets[e0], offsets[e1]
        p[:, o0:o1] = b.p[sl].reshape(-1, 4).T
        x[:, o0:o1] = b.x[sl].reshape(-1, 4).T
        pol[o0:o1] = b.pol[sl].ravel()
        for name, arr in ints.items():
            arr[o0:o1].reshape(n, -1)[:] = getattr(b, name)
        ev["weight"][e0:e1] = b.weight[sl]
        ev["channel"][e0:e1] = index[b.channel]
        ev["regime"][e0:e1] = _regime_column(b, sl)
        ev["event_id"][e0:e1] = (np.asarray(b.info["event_id"])[sl] if "event_id" in b.info
                                 else np.arange(first_id + e0, first_id + e1))
        for name in ("target", "E_nu", "Q2", *extra):
            default = EVENT_LEVEL_BRANCHES.get(name, ("float64", np.nan))[1]
            ev[name][e0:e1] = np.asarray(b.info[name])[sl] if name in b.info else default
        e0 = e1
    # invariant mass m = sqrt(E^2 - |p|^2) (GeV), clipped at 0 against rounding
    m = p[0] * p[0] - p[1] * p[1] - p[2] * p[2] - p[3] * p[3]
    np.sqrt(np.maximum(m, 0.0, out=m), out=m)
    vt = x[0] / C_CM_PER_NS  # c*t [cm] / c [cm/ns] -> t [ns]
    flat = {**ints, "E": p[0], "px": p[1], "py": p[2], "pz": p[3], "m": m,
            "vx": x[1], "vy": x[2], "vz": x[3], "vt": vt, "pol": pol}
    out: dict[str, ak.Array | np.ndarray] = {name: _jagged(flat[name], offsets) for name in PARTICLE_BRANCHES}
    out.update(ev)
    return out


def _run_columns(run_info: Mapping, tally: RunTally) -> dict[str, ak.Array | np.ndarray]:
    """One-entry columns of the "run" tree (final totals from ``tally``)."""
    names = tally.names
    out: dict[str, ak.Array | np.ndarray] = {
        "seed": np.array([int(run_info["seed"]) if run_info["seed"] is not None else -1], dtype=np.int64),
        "n_events": np.array([tally.n_events], dtype=np.int64),
        "sum_weights": np.array([tally.sum_weights], dtype=np.float64),
        "pot": np.array([float(run_info.get("pot") or 0.0)]),
        "luminosity_fb": np.array([float(run_info.get("luminosity_fb") or 0.0)]),
    }
    offsets = np.array([0, len(names)], dtype=np.int64)
    # G.R.6 of NuHepMC: pb per atom of the channel's target (per collision for runs without a target nucleus)
    per_atom = nu.per_atom_cross_sections_pb(run_info, names)
    cols = {
        "sigma_pb": np.array([per_atom[n][0] for n in names], dtype=np.float64),
        "sigma_err_pb": np.array([per_atom[n][1] for n in names], dtype=np.float64),
        "sigma_per_scatterer_cm2": channel_float(run_info, names, "sigma_per_scatterer_cm2"),
        "sigma_err_per_scatterer_cm2": channel_float(run_info, names, "sigma_err_per_scatterer_cm2"),
        "expected_events": channel_float(run_info, names, "expected_events"),
        "target_pdg": np.array([int(_channel(run_info, n).get("target_pdg") or 0) for n in names], dtype=np.int32),
    }
    for key in RUN_CHANNEL_BRANCHES:
        out[key] = _jagged(cols[key], offsets)
    return out


def _channel(run_info: Mapping, name: str) -> Mapping:
    """The ``run_info["channels"]`` dict of channel ``name`` ({} when absent)."""
    return next((ch for ch in run_info.get("channels", []) if str(ch["name"]) == name), {})


def cross_section_scale(run_info: Mapping) -> str:
    """Target scale of ``sigma_pb`` (NuHepMC vocabulary): "PerAtom" for neutrino-beam runs, else "PerCollision"."""
    return "PerAtom" if nu.is_neutrino_run(run_info) else "PerCollision"


def _var(dtype: str) -> ak.types.ListType:
    """Awkward type ``var * dtype`` (type objects, not strings: uproot parses strings slowly)."""
    return ak.types.ListType(ak.types.NumpyType(dtype))


def _types(columns: Mapping) -> dict:
    """uproot type specification (numpy dtype or awkward ``var * dtype``) of a column dict."""
    spec = {}
    for k, v in columns.items():
        if isinstance(v, ak.Array):
            spec[k] = _var(str(ak.type(v).content.content))
        else:
            spec[k] = np.asarray(v).dtype
    return spec


def _column_types(extra: list[str]) -> dict:
    """uproot type specification of TTree "events" (schema branches, then extra info columns)."""
    spec: dict = {k: _var(v) for k, v in PARTICLE_BRANCHES.items()}
    spec.update({k: np.dtype(v[0]) for k, v in EVENT_LEVEL_BRANCHES.items()})
    spec.update({k: np.dtype("float64") for k in extra})
    return spec


def _check_options(chunk_size, compression: str) -> None:
    """Raise OutputError on a bad ``chunk_size`` or ``compression``."""
    if not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        msg = f"chunk_size = {chunk_size!r}: must be a positive integer (events per basket)"
        raise OutputError(msg)
    if compression != "none" and compression not in _COMPRESSION:
        msg = f"compression = {compression!r}: allowed {', '.join([*_COMPRESSION, 'none'])}"
        raise OutputError(msg)


class RootWriter:
    """Streaming ROOT writer: ``open`` (constructor), ``write(blocks)`` per chunk, ``close(run_info)``.

    The "events" tree (or RNTuple) is created at the first non-empty chunk and extended chunk by chunk, so
    memory is bounded by the chunk; the "run" tree and the TObjStrings are written by :meth:`close`.

    Parameters
    ----------
    path : the file to write (created or truncated; not renamed: atomic placement is the caller's job).
    run_info : run header, see :mod:`generator.io` (``version``, ``seed``, ``card``, ``channels``...).
    chunk_size : events per ``extend`` call (one TBasket per branch per call).
    rntuple : write RNTuples instead of TTrees (same field names and types).
    compression : "lz4" (default: ~4x faster to write than zlib; read by current ROOT 6 releases and
        by uproot through its required dependency cramjam), "zlib" (readable by every ROOT version),
        "zstd", "lzma" or "none"; level ``compression_level``.
    info_columns : the extra (non-schema) info columns of the events tree, float64. Default
        ``run_info["info_columns"]`` if given, else the columns of the first non-empty chunk; a later chunk
        with a column not in the list raises OutputError, blocks lacking a column get NaN.
    """

    def __init__(self, path: str | os.PathLike, run_info: Mapping, chunk_size: int = 50_000, *,
                 rntuple: bool = False, compression: str = "lz4", compression_level: int = 1,
                 info_columns: Sequence[str] | None = None) -> None:
        check_run_info(run_info)
        _check_options(chunk_size, compression)
        self.path = Path(path)
        self.run_info = run_info
        self.chunk_size = int(chunk_size)
        self.rntuple = rntuple
        cols = info_columns if info_columns is not None else run_info.get("info_columns")
        self.extra: list[str] | None = None if cols is None else [str(c) for c in cols]
        self.tally = RunTally(run_info)
        comp = None if compression == "none" else _COMPRESSION[compression](compression_level)
        self._file = uproot.recreate(self.path, compression=comp)
        self._events = None

    def _make_events(self) -> None:
        """Create the events tree/RNTuple with the schema branches and ``self.extra``."""
        if self.rntuple:
            self._events = self._file.mkrntuple("events", _column_types(self.extra))
        else:
            self._events = self._file.mktree("events", _column_types(self.extra), title="darkseesaw-gen events",
                                             counter_name=lambda _: PARTICLE_COUNTER)

    def _extend(self, tree, cols: Mapping) -> None:
        """Append a column dict (one basket per branch)."""
        tree.extend(ak.zip(dict(cols), depth_limit=1) if self.rntuple else dict(cols))

    def write(self, blocks: Sequence[EventBlock]) -> None:
        """Append one chunk of events (GeV, cm, c*t in cm; weights in ``weight_unit``), in run order."""
        columns, extra = _encode_blocks(blocks, self.tally, self.extra, self.chunk_size, self.tally.n_events)
        if not columns:
            return
        self.extra = extra
        if self._events is None:
            self._make_events()
        for cols in columns:
            self._extend(self._events, cols)

    def write_encoded(self, encoded: EncodedChunk) -> None:
        """Append a chunk encoded by :func:`encode_chunk` (on any process) from the same run header; the file equals
        the one :meth:`write` makes from the chunk's blocks."""
        self.tally.n_events += encoded.n_events
        for sw in encoded.block_weight_sums:  # block by block, in the order write() adds them
            self.tally.sum_weights += sw
        self.tally.units.update(encoded.units)
        self.tally.pdgs.update(encoded.pdgs)
        if not encoded.columns:
            return
        if self.extra is None:
            self.extra = list(encoded.info_columns)
        if list(encoded.info_columns) != self.extra:
            msg = (f"encoded chunk with info columns {encoded.info_columns}; the events tree has {self.extra} (encode "
                   "every chunk with the run header's info_columns)")
            raise OutputError(msg)
        if self._events is None:
            self._make_events()
        for cols in encoded.columns:
            self._extend(self._events, cols)

    def write_arrays(self, events: ak.Array) -> None:
        """Append events already in the file layout (an awkward array of the events-tree fields, as read from
        another file of this writer, e.g. a shard); used by :func:`generator.io.merge.merge_root`.

        The channel indices must refer to the same channel list; totals are updated from the arrays.
        """
        fields = [f for f in events.fields if f != PARTICLE_COUNTER]
        if self.extra is None:
            self.extra = [f for f in fields if f not in EVENT_BRANCHES]
        expected = [*EVENT_BRANCHES, *self.extra]
        if sorted(fields) != sorted(expected):
            msg = f"write_arrays: fields {sorted(fields)} differ from the events-tree columns {sorted(expected)}"
            raise OutputError(msg)
        if self._events is None:
            self._make_events()
        if len(events) == 0:
            return
        self.tally.n_events += len(events)
        self.tally.sum_weights += float(np.sum(ak.to_numpy(events["weight"])))
        self.tally.pdgs.update(int(c) for c in np.unique(ak.to_numpy(ak.flatten(events["pdg"]))))
        self._extend(self._events, {f: events[f] for f in expected})

    def close(self, run_info: Mapping | None = None) -> Path:
        """Finish the file: the "run" tree from the final ``run_info`` (default: the header) and the strings."""
        run_info = self.run_info if run_info is None else run_info
        check_run_info(run_info)
        f = self._file
        try:
            if self.extra is None:
                self.extra = []
            if self._events is None:
                self._make_events()
            meta = self.tally.metadata(run_info)
            run_cols = _run_columns(run_info, self.tally)
            if self.rntuple:
                f.mkrntuple("run", _types(run_cols))
            else:
                f.mktree("run", _types(run_cols), title="darkseesaw-gen run information",
                         counter_name=lambda _: CHANNEL_COUNTER)
            self._extend(f["run"], run_cols)
            f["version"] = str(run_info["version"])
            f["card"] = str(run_info["card"])
            f["channels"] = metadata_json(self.tally.names)
            f["channel_targets"] = metadata_json([_channel(run_info, n).get("target") for n in self.tally.names])
            f["cross_section_scale"] = cross_section_scale(run_info)
            f["metadata_json"] = metadata_json(meta)
        finally:
            f.close()
        return self.path

    def abort(self) -> None:
        """Close the file without finishing it (after an error; the caller discards the file)."""
        self._file.close()


@dataclass
class EncodedChunk:
    """One chunk of events in the layout of TTree "events" (column dicts of at most ``chunk_size`` events) and what
    the writer's tally adds for it; made by :func:`encode_chunk`, written by :meth:`RootWriter.write_encoded`."""

    columns: list[dict]
    info_columns: list[str]
    n_events: int
    block_weight_sums: list[float]
    units: set[str]
    pdgs: set[int]

    def __getstate__(self) -> dict:
        # jagged columns travel as their (offsets, content) numpy arrays: pickled at memory speed, unlike awkward
        # arrays (a parallel run spools every chunk)
        state = dict(self.__dict__)
        state["columns"] = [{k: (_JAGGED, np.asarray(v.layout.offsets), v.layout.content.data)
                             if isinstance(v, ak.Array) else v for k, v in cols.items()} for cols in self.columns]
        return state

    def __setstate__(self, state: dict) -> None:
        state["columns"] = [{k: _jagged(v[2], v[1]) if isinstance(v, tuple) and v and v[0] == _JAGGED else v
                             for k, v in cols.items()} for cols in state["columns"]]
        self.__dict__.update(state)


_JAGGED = "jagged"


def _encode_blocks(blocks: Sequence[EventBlock], tally: RunTally, extra: list[str] | None, chunk_size: int,
                   first: int) -> tuple[list[dict], list[str]]:
    """The one encoding of a chunk into the events-tree layout (RootWriter.write and encode_chunk): check the blocks'
    topology, add them to ``tally``, and return their column dicts (at most ``chunk_size`` events each; ``first``:
    the event_id of the first event that carries none) and the info columns (``extra``, or the blocks' own when None;
    a block column outside ``extra`` raises OutputError)."""
    blocks = [b for b in blocks if b.n_events]
    for b in blocks:
        check_topology(b)
    tally.add(blocks)
    cols = info_columns(blocks)
    extra = cols if extra is None else extra
    new = [c for c in cols if c not in extra]
    if new:
        msg = (f"info columns {new} are not among the events-tree columns {extra} (fixed by run_info['info_columns'] "
               "or by the first chunk); declare them in run_info['info_columns']")
        raise OutputError(msg)
    index = {n: i for i, n in enumerate(tally.names)}
    return (list(_event_chunks(blocks, index, extra, chunk_size, first)) if blocks else []), extra


def encode_chunk(blocks: Sequence[EventBlock], run_info: Mapping, first: int = 0,
                 chunk_size: int = 50_000) -> EncodedChunk:
    """Encode one chunk of a run for :meth:`RootWriter.write_encoded` (``run_info``: the run header, with its
    ``channels`` and ``info_columns``; ``first``: number of events written before, the ``event_id`` of events that
    carry none). Same checks and columns as :meth:`RootWriter.write`."""
    extra = run_info.get("info_columns")
    tally = RunTally(run_info)
    cols, extra = _encode_blocks(blocks, tally, None if extra is None else [str(c) for c in extra], chunk_size, first)
    sums = [float(np.sum(b.weight)) for b in blocks if b.n_events]
    return EncodedChunk(columns=cols, info_columns=extra, n_events=tally.n_events, block_weight_sums=sums,
                        units=tally.units, pdgs=tally.pdgs)


def encode_root_chunk(fmt, blocks: Sequence[EventBlock], run_info: Mapping, output, spool: Path) -> EncodedChunk:
    """Registry encoder of the ROOT formats (generator.io.formats): :func:`encode_chunk`, in memory (no spool
    file)."""
    return encode_chunk(blocks, run_info)


def write_root(path: str | os.PathLike, blocks: Sequence[EventBlock], run_info: Mapping,
               chunk_size: int = 50_000, *, rntuple: bool = False, compression: str = "lz4",
               compression_level: int = 1) -> Path:
    """Write a run to a ROOT file (TTree "events" and "run" + TObjStrings), atomically, through :class:`RootWriter`.

    ``blocks``: the run's EventBlocks (GeV, cm, c*t in cm; weights in ``weight_unit``), written as one chunk;
    ``run_info``: header and summary (see :mod:`generator.io`); other options as for :class:`RootWriter`.
    Returns the final path. Units in the file: GeV, cm, ns, pb, cm^2 (see the module docstring).
    """
    check_run_info(run_info)
    _check_options(chunk_size, compression)
    path = Path(path)
    with atomic_path(path) as tmp:
        w = RootWriter(tmp, run_info, chunk_size, rntuple=rntuple, compression=compression,
                       compression_level=compression_level, info_columns=info_columns(blocks))
        try:
            w.write(blocks)
        except BaseException:
            w.abort()
            raise
        w.close(run_info)
    return path


def open_root(path: str | os.PathLike):
    """Open a ROOT file for reading with uproot (use as a context manager); DataFileError naming the path when it
    does not exist or is not a readable ROOT file (uproot raises several types for those; re-raised as one)."""
    from generator.errors import DataFileError

    path = Path(path)
    if not path.is_file():
        msg = f"ROOT file {path} does not exist"
        raise DataFileError(msg)
    try:
        return uproot.open(path)
    except Exception as exc:  # noqa: BLE001  (OSError, ValueError, uproot's deserialization errors)
        msg = f"{path} is not a readable ROOT file: {exc}"
        raise DataFileError(msg) from None


def read_root(path: str | os.PathLike, branches: Sequence[str] | None = None,
              entry_start: int | None = None, entry_stop: int | None = None) -> tuple[ak.Array, dict]:
    """Read a file written by :func:`write_root` (TTree or RNTuple layout).

    Parameters
    ----------
    path : ROOT file.
    branches : event branches to read (default all schema branches and info columns; the
        ``n_particles`` counter is not returned, use ``ak.num``).
    entry_start, entry_stop : event range.

    Returns
    -------
    (events, metadata): ``events`` an awkward record array with one field per branch (units as in
    the module docstring); ``metadata`` the parsed ``metadata_json`` dict, plus ``card`` and
    ``version`` from their TObjStrings and ``run`` (dict of the "run" tree entry).
    """
    from generator.errors import DataFileError

    with open_root(path) as f:
        missing = [k for k in ("events", "run", "version", "card", "metadata_json") if k not in f]
        if missing:
            msg = f"{path}: missing {', '.join(missing)}; not a darkseesaw-gen ntuple (needs events, run, strings)"
            raise DataFileError(msg)
        tree = f["events"]
        # uproot: iterating a tree yields branch objects, .keys() the names
        keys = [k for k in tree.keys() if k != PARTICLE_COUNTER] if branches is None else list(branches)  # noqa: SIM118
        unknown = sorted(set(keys) - set(tree.keys()))
        if unknown:
            msg = f"{path}: unknown event branches {unknown}; available: {', '.join(tree.keys())}"
            raise DataFileError(msg)
        events = tree.arrays(keys, entry_start=entry_start, entry_stop=entry_stop)
        meta = json.loads(str(f["metadata_json"]))
        meta["card"] = str(f["card"])
        meta["version"] = str(f["version"])
        run = f["run"].arrays()
        meta["run"] = {k: run[k][0].tolist() if hasattr(run[k][0], "tolist") else run[k][0]
                       for k in run.fields if k != CHANNEL_COUNTER}
    return events, meta
