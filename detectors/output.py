"""Writers for detector results: reconstructed ROOT ntuple, cut-flow table (text + JSON), PNG plots
and detector_summary.json. Every file is written through :func:`generator.io.atomic.atomic_path`
(temporary name in the target directory, then os.replace), so readers never see half-written files
and the files get the same permissions as the other run outputs (0666 filtered by the umask).
reco.root is written chunk by chunk (:class:`RecoTreeWriter`, uproot mktree + extend).

Units in the files: as internally (GeV, cm, rad); column names carry no unit suffix except where a
module's output name does (e.g. ``d_vs_mm``); the summary states the units.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import awkward as ak
import numpy as np

from detectors.registry import PlotSpec
from generator.errors import OutputError
from generator.io.atomic import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it into place
    (:func:`generator.io.atomic.atomic_path`). Returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        write(tmp)
    return path


def write_text(path: Path, text: str) -> Path:
    """Write a text file atomically."""
    return atomic_write(path, lambda p: p.write_text(text))


def flat_columns(record: ak.Array) -> dict[str, np.ndarray]:
    """Flat numpy branches of the reconstructed record (vector fields were split already)."""
    out = {}
    for f in ak.fields(record):
        a = ak.to_numpy(record[f])
        if a.dtype == bool:
            a = a.astype(np.bool_)
        elif np.issubdtype(a.dtype, np.integer):
            a = a.astype(np.int32) if a.dtype.itemsize <= 4 or np.abs(a).max(initial=0) < 2**31 else a.astype(np.int64)
        else:
            a = a.astype(np.float64)
        out[f] = a
    return out


class RecoTreeWriter:
    """Append chunks of the reconstructed record to a flat TTree of an open uproot file.

    The branch types are fixed by the first chunk (:func:`flat_columns`); later chunks are cast to
    them. OutputError if a later chunk has other fields or an integer value that does not fit.
    """

    def __init__(self, file, tree: str = "reco") -> None:
        self.file, self.name = file, tree
        self.tree = None
        self.types: dict[str, np.dtype] = {}
        self.entries = 0

    def extend(self, record: ak.Array) -> None:
        """Append one chunk (awkward record with flat fields)."""
        cols = flat_columns(record)
        if self.tree is None:
            self.types = {k: v.dtype for k, v in cols.items()}
            self.tree = self.file.mktree(self.name, self.types)
        elif list(cols) != list(self.types):
            msg = (f"reco chunk at entry {self.entries}: fields {list(cols)} differ from the first chunk's "
                   f"{list(self.types)}; every chunk must produce the same columns")
            raise OutputError(msg)
        out = {}
        for k, v in cols.items():
            t = self.types[k]
            if np.issubdtype(t, np.integer) and len(v) and np.abs(v).max() > np.iinfo(t).max:
                msg = (f"reco column {k!r}: value {np.abs(v).max()} at entries >= {self.entries} does not fit the "
                       f"branch type {t} fixed by the first chunk")
                raise OutputError(msg)
            out[k] = v.astype(t, copy=False)
        self.tree.extend(out)
        self.entries += len(record)


def write_root(path: Path, record: ak.Array, tree: str = "reco") -> Path:
    """Write an in-memory reconstructed record as a flat TTree ``tree`` (uproot mktree + extend)."""
    import uproot

    def write(tmp: Path) -> None:
        with uproot.recreate(tmp) as f:
            RecoTreeWriter(f, tree).extend(record)

    return atomic_write(path, write)


def cutflow_text(detector: str, cutflow: list[tuple[str, float]]) -> str:
    """Fixed-width cut-flow table: cut, expected events, relative and cumulative efficiency."""
    width = max([len("cut")] + [len(name) for name, _ in cutflow])
    lines = [f"# cut flow of detector {detector} (weighted counts = expected events)",
             f"{'cut':<{width}s} {'events':>14s} {'rel. eff':>10s} {'cum. eff':>10s}"]
    first = cutflow[0][1] if cutflow else 0.0
    prev = first
    for name, val in cutflow:
        rel = val / prev if prev > 0 else 0.0
        cum = val / first if first > 0 else 0.0
        lines.append(f"{name:<{width}s} {val:14.6g} {rel:10.4f} {cum:10.4f}")
        prev = val
    return "\n".join(lines) + "\n"


def render_plot(spec: PlotSpec, context: str = "") -> Figure:
    """Draw a PlotSpec: background stack, signal stack on top, data points; returns the Figure.
    ``context`` (e.g. "run NAME, detector NAME") is added as a second title line."""
    from matplotlib.figure import Figure  # here: a run's chunks (on every worker) need no plotting library

    fig = Figure(figsize=(6.4, 4.8))
    ax = fig.subplots()
    edges = np.asarray(spec.edges, dtype=float)
    width = np.diff(edges) * spec.width_scale if spec.per_width else np.ones(len(edges) - 1)
    base = np.zeros(len(edges) - 1)
    colors = ["#c9c9c9", "#9ecae1", "#f4a6c6", "#3182bd", "#e7298a", "#66c2a5", "#fdae61"]
    for i, (label, counts) in enumerate(spec.background):
        top = base + np.asarray(counts) / width
        ax.stairs(top, edges, baseline=base, fill=True, color=colors[i % 2], alpha=0.8, label=label)
        base = top
    for i, (label, counts, style) in enumerate(spec.components):
        top = base + np.asarray(counts) / width
        ax.stairs(top, edges, baseline=base, fill=True, color=style.get("color", colors[(i + 1) % len(colors)]),
                  hatch=style.get("hatch"), alpha=0.85, label=label)
        base = top
    if spec.components or spec.background:
        ax.stairs(base, edges, color="black", linewidth=1.2)
    if spec.data is not None:
        label, vals, errs = spec.data
        centers = 0.5 * (edges[1:] + edges[:-1])
        ax.errorbar(centers, np.asarray(vals) / width, yerr=np.asarray(errs) / width, fmt="o", color="black",
                    markersize=4, label=label)
    for label, cx, cy in spec.curves:
        ax.plot(cx, np.asarray(cy), color="darkred", linewidth=1.5, label=label)
    for x, label in spec.vlines:
        ax.axvline(x, color="red", linestyle="--", label=label)
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.set_title(f"{spec.title}\n{context}" if context else spec.title, fontsize=10)
    ax.set_xlim(edges[0], edges[-1])
    if spec.logy:
        ax.set_yscale("log")
    note = spec.note
    if spec.undefined > 0:
        undefined = f"not drawn: {spec.undefined:.4g} expected events with no value (NaN, see docs/detectors.md)"
        note = f"{note}\n{undefined}" if note else undefined
    if note:
        ax.text(0.02, 0.02, note, transform=ax.transAxes, fontsize=7, va="bottom")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def write_png(path: Path, spec: PlotSpec, context: str = "") -> Path:
    """Render and save a PlotSpec as PNG (atomic); ``context``: second title line (run, detector)."""
    fig = render_plot(spec, context)
    return atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def write_json(path: Path, obj) -> Path:
    """Write ``obj`` as indented JSON (numpy values converted; NaN/inf -> null), atomically."""
    return write_text(path, json.dumps(_jsonable(obj), indent=2) + "\n")
