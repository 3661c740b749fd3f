"""ROOT ntuple writer and reader (uproot + awkward): TTree ``events`` and ``run``, metadata strings.

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
  ``E_nu`` float64 GeV (0 if none), ``Q2`` float64 GeV^2 (0 if none), and every other
  ``EventBlock.info`` column as float64 (NaN in events of blocks that lack it).

TTree ``run``, one entry: ``seed`` int64, ``n_events`` int64 (events in the file), ``sum_weights``
float64, ``pot`` float64, ``luminosity_fb`` float64 (fb^-1; both 0 when the run has no exposure),
per channel (counter ``n_channels``, index = ``channel``): ``sigma_cm2``, ``sigma_err_cm2`` (cm^2),
``expected_events`` float64 (NaN where run_info does not give them).

TObjString objects: ``version`` (package version), ``card`` (steering-card text), ``channels``
(JSON list of channel names), ``metadata_json`` (JSON dump of the run metadata dict, see
:func:`generator.io.run_metadata`).

With ``rntuple=True`` the two trees are written as RNTuples of the same fields instead (needs a
ROOT release that reads the RNTuple 1.0 format, 6.34 or later); the strings stay TObjStrings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from generator.constants import C_CM_PER_NS
from generator.io import (
    OutputError,
    channel_float,
    channel_names,
    check_run_info,
    check_topology,
    metadata_json,
    run_metadata,
)
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
    "E_nu": ("float64", 0.0), "Q2": ("float64", 0.0),
}
#: all fixed branches (name -> dtype) of TTree "events"; extra info columns are added as float64.
EVENT_BRANCHES: dict[str, str] = {**PARTICLE_BRANCHES, **{k: v[0] for k, v in EVENT_LEVEL_BRANCHES.items()}}
PARTICLE_COUNTER = "n_particles"
CHANNEL_COUNTER = "n_channels"
#: per-channel branches of TTree "run".
RUN_CHANNEL_BRANCHES = ("sigma_cm2", "sigma_err_cm2", "expected_events")
RUN_SCALAR_BRANCHES: dict[str, str] = {
    "seed": "int64", "n_events": "int64", "sum_weights": "float64", "pot": "float64", "luminosity_fb": "float64",
}
#: string objects written as TObjString.
STRING_OBJECTS = ("version", "card", "channels", "metadata_json")
_COMPRESSION = {"lz4": uproot.LZ4, "zstd": uproot.ZSTD, "zlib": uproot.ZLIB, "lzma": uproot.LZMA}


def _info_columns(blocks: Sequence[EventBlock]) -> list[str]:
    """Extra (non-schema) info column names in order of first appearance; checks for name clashes."""
    reserved = set(EVENT_BRANCHES) | {PARTICLE_COUNTER}
    extra: list[str] = []
    for b in blocks:
        for k in b.info:
            if k in PARTICLE_BRANCHES or k in ("weight", "channel", PARTICLE_COUNTER):
                msg = (f"block {b.channel!r}: info column {k!r} clashes with a schema branch; "
                       f"reserved names: {', '.join(sorted(reserved))}")
                raise OutputError(msg)
            if k not in reserved and k not in extra:
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


def _event_chunks(blocks: Sequence[EventBlock], names: list[str], extra: list[str],
                  chunk_size: int) -> Iterator[dict[str, ak.Array | np.ndarray]]:
    """Yield column dicts of at most ``chunk_size`` events each (blocks packed in order)."""
    index = {n: i for i, n in enumerate(names)}
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
                yield _build_chunk(pieces, index, extra)
                pieces, filled = [], 0
    if pieces:
        yield _build_chunk(pieces, index, extra)


def _build_chunk(pieces: list[tuple[EventBlock, slice]], index: dict[str, int],
                 extra: list[str]) -> dict[str, ak.Array | np.ndarray]:
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


def _run_columns(blocks: Sequence[EventBlock], run_info: Mapping, meta: Mapping,
                 names: list[str]) -> dict[str, ak.Array | np.ndarray]:
    """One-entry columns of the "run" tree."""
    out: dict[str, ak.Array | np.ndarray] = {
        "seed": np.array([int(run_info["seed"]) if run_info["seed"] is not None else -1], dtype=np.int64),
        "n_events": np.array([meta["n_events_written"]], dtype=np.int64),
        "sum_weights": np.array([meta["sum_weights"]], dtype=np.float64),
        "pot": np.array([float(run_info.get("pot") or 0.0)]),
        "luminosity_fb": np.array([float(run_info.get("luminosity_fb") or 0.0)]),
    }
    offsets = np.array([0, len(names)], dtype=np.int64)
    for key in RUN_CHANNEL_BRANCHES:
        out[key] = _jagged(channel_float(run_info, names, key), offsets)
    return out


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


def write_root(path: str | os.PathLike, blocks: Sequence[EventBlock], run_info: Mapping,
               chunk_size: int = 50_000, *, rntuple: bool = False, compression: str = "lz4",
               compression_level: int = 1) -> Path:
    """Write a run to a ROOT file (TTree "events" and "run" + TObjStrings), atomically.

    Parameters
    ----------
    path : output file (``*.root``).
    blocks : the run's EventBlocks (GeV, cm, c*t in cm; weights in ``weight_unit``).
    run_info : run metadata, see :mod:`generator.io`.
    chunk_size : events per ``extend`` call (one TBasket per branch per call); bounds memory.
    rntuple : write RNTuples instead of TTrees (same field names and types).
    compression : "lz4" (default: ~4x faster to write than zlib; read by current ROOT 6 releases and
        by uproot through its required dependency cramjam), "zlib" (readable by every ROOT version),
        "zstd", "lzma" or "none"; level ``compression_level``.

    Returns
    -------
    The final path. Units in the file: GeV, cm, ns, cm^2 (see the module docstring).
    """
    check_run_info(run_info)
    if not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        msg = f"chunk_size = {chunk_size!r}: must be a positive integer (events per basket)"
        raise OutputError(msg)
    if compression != "none" and compression not in _COMPRESSION:
        msg = f"compression = {compression!r}: allowed {', '.join([*_COMPRESSION, 'none'])}"
        raise OutputError(msg)
    for b in blocks:
        check_topology(b)
    names = channel_names(blocks, run_info)
    meta = run_metadata(blocks, run_info)
    extra = _info_columns(blocks)
    comp = None if compression == "none" else _COMPRESSION[compression](compression_level)
    path = Path(path)
    with atomic_path(path) as tmp, uproot.recreate(tmp, compression=comp) as f:
        run_cols = _run_columns(blocks, run_info, meta, names)
        if rntuple:
            f.mkrntuple("events", _column_types(extra))
            for cols in _event_chunks(blocks, names, extra, int(chunk_size)):
                f["events"].extend(ak.zip(cols, depth_limit=1))
            f.mkrntuple("run", _types(run_cols))
            f["run"].extend(ak.zip(run_cols, depth_limit=1))
        else:
            f.mktree("events", _column_types(extra), title="darkseesaw-gen events",
                     counter_name=lambda _: PARTICLE_COUNTER)
            for cols in _event_chunks(blocks, names, extra, int(chunk_size)):
                f["events"].extend(cols)
            f.mktree("run", _types(run_cols), title="darkseesaw-gen run information",
                     counter_name=lambda _: CHANNEL_COUNTER)
            f["run"].extend(run_cols)
        f["version"] = str(run_info["version"])
        f["card"] = str(run_info["card"])
        f["channels"] = metadata_json(names)
        f["metadata_json"] = metadata_json(meta)
    return path


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

    try:
        f = uproot.open(path)
    except (OSError, ValueError) as err:
        msg = f"{path}: cannot open as a ROOT file ({err})"
        raise DataFileError(msg) from err
    with f:
        missing = [k for k in ("events", "run", *STRING_OBJECTS) if k not in f]
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
