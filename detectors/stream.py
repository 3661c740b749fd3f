"""The streaming detector stage: events in chunks, the chain chunk by chunk, reco.root extended per chunk,
cut flows / plots / tallies summed over the chunks in order.

:class:`DetectorStage` is the one implementation, in two halves: :meth:`DetectorStage.process` runs the chain on
one chunk and returns its :class:`DetectorChunk` (reco rows and the chunk's sums; pure, so it can run on a worker),
and :meth:`DetectorStage.add` folds chunks in order into reco.root and the totals; :meth:`DetectorStage.finish`
calls the finalisers. A run feeds it each generation chunk as it is produced (generator.chunks), on whichever
process made the chunk; :func:`stream_detector` feeds it the chunks of a finished events file.

Chunks and random numbers: a chunk draws its random numbers from its own stream :func:`chunk_rng` (seed, key), so
the output is a deterministic function of (events, seed, chunking), independent of threads, processes and machine:
- a run's generation chunks (key = (channel, chunk), as listed in the run metadata ``chunks`` with the number of
  events each wrote): a run's in-line detector and ``dsgen detect`` on its events.root (or on the merge of its
  shards) give the same output;
- files without that list (or an explicit ``chunk_entries``): the entry ranges [k C, (k + 1) C), key = (k,).
A different chunking gives statistically equivalent but not identical smearing. Peak memory is set by the chunk
size: no array spans the file (only per-bin histograms, cut-flow sums and module tallies accumulate).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np

from detectors.chain import DetectorResult, chunk_record, make_result, prepare, run_chunk
from detectors.output import RecoTreeWriter, _jsonable, cutflow_text, write_json, write_png, write_text
from detectors.registry import PlotSpec, finalize_chain
from generator.errors import DataFileError, RegistryError
from generator.io.atomic import atomic_path
from generator.io.root import open_root as _open

#: entries of TTree "events" per detector chunk (sets the peak memory of the detector stage).
CHUNK_ENTRIES = 25_000


def chunk_rng(seed: int, *key: int) -> np.random.Generator:
    """Random-number stream of the chunk ``key`` of a detector run with ``seed``: a numpy Generator seeded by
    SeedSequence(seed, spawn_key=key), independent of every other chunk's stream. Keys: (channel, chunk) for a
    run's generation chunks, (k,) for the k-th fixed entry range of a file."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in key)))


def _events_tree(f, path: Path):
    keys = list(f.keys(cycle=False))
    if "events" not in keys:
        msg = f"{path}: no TTree 'events' (found: {', '.join(keys) or 'nothing'})"
        raise DataFileError(msg)
    return f["events"]


def read_events(path: str | Path) -> ak.Array:
    """Read all of TTree "events" of a generator ROOT file as an awkward array (DataFileError if
    absent). For small files and tests; the detector stage streams with :func:`iter_event_chunks`."""
    with _open(path) as f:
        return _events_tree(f, Path(path)).arrays(library="ak")


def iter_event_chunks(path: str | Path, chunk_entries: int = CHUNK_ENTRIES) -> Iterator[tuple[int, ak.Array]]:
    """Yield (first entry, events) for the entry ranges [k C, (k + 1) C) of TTree "events"
    (C = ``chunk_entries``); a file without entries yields one empty chunk."""
    for start, _, events in _iter_ranges(path, None, chunk_entries):
        yield start, events


def generation_chunks(metadata: dict) -> list[tuple[int, int, int]] | None:
    """The run's generation chunks in file order as (channel, chunk, events written), from the metadata ``chunks``
    list ([channel, chunk, first event, size, events written] per chunk); None when the metadata has no such list
    (a file from another writer, or from before the list carried the written counts)."""
    chunks = metadata.get("chunks")
    if not isinstance(chunks, list) or not chunks or not all(isinstance(c, list) and len(c) >= 5 for c in chunks):
        return None
    return [(int(c[0]), int(c[1]), int(c[4])) for c in chunks]


def _iter_ranges(path: str | Path, chunks: list[tuple[int, int, int]] | None,
                 chunk_entries: int) -> Iterator[tuple[int, tuple[int, ...], ak.Array]]:
    """(first entry, random-stream key, events) of every chunk of the file: the generation ``chunks`` when given
    (their written counts must add up to the entries), else fixed ranges of ``chunk_entries``."""
    if not (isinstance(chunk_entries, int) and chunk_entries > 0):
        msg = f"chunk_entries = {chunk_entries!r}: must be a positive integer"
        raise DataFileError(msg)
    with _open(path) as f:
        tree = _events_tree(f, Path(path))
        n = tree.num_entries
        if chunks is not None:
            total = sum(c[2] for c in chunks)
            if total != n:
                msg = (f"{path}: the run metadata lists {len(chunks)} chunks with {total} events, the events tree "
                       f"has {n} entries; the file does not belong to that metadata")
                raise DataFileError(msg)
            start = 0
            for channel, chunk, count in chunks:
                yield start, (channel, chunk), tree.arrays(library="ak", entry_start=start, entry_stop=start + count)
                start += count
            if not chunks:
                yield 0, (0,), tree.arrays(library="ak", entry_start=0, entry_stop=0)
            return
        for k, start in enumerate(range(0, max(n, 1), chunk_entries)):
            yield start, (k,), tree.arrays(library="ak", entry_start=start, entry_stop=min(start + chunk_entries, n))


def read_event_metadata(path: str | Path) -> dict:
    """Run metadata stored in a generator ROOT file (TObjString "metadata_json"); {} if absent."""
    with _open(path) as f:
        keys = list(f.keys(cycle=False))
        data: dict = {}
        if "metadata_json" in keys:
            try:
                loaded = json.loads(str(f["metadata_json"]))
            except json.JSONDecodeError as exc:
                msg = f"{path}: metadata_json is not valid JSON: {exc}"
                raise DataFileError(msg) from None
            data = loaded if isinstance(loaded, dict) else {}
        # exposure from the "run" tree (protons on target, fb^-1) when the JSON lacks it
        if "run" in keys:
            run = f["run"]
            for key in ("pot", "luminosity_fb"):
                if key not in data and key in run.keys(recursive=False):
                    vals = run[key].array(library="np")
                    if len(vals) and float(vals[0]) > 0:
                        data[key] = float(vals[0])
    return data


def load_run_metadata(run_dir: Path) -> dict:
    """RUN_DIR/metadata.json, else RUN_DIR/summary.json, else {}."""
    for fname in ("metadata.json", "summary.json"):
        p = run_dir / fname
        if p.is_file():
            try:
                data = json.loads(p.read_text())
            except json.JSONDecodeError as exc:
                msg = f"{p} is not valid JSON: {exc}"
                raise DataFileError(msg) from None
            if isinstance(data, dict):
                return data
    return {}


# =============================================================================== merging chunks
def _add_nested(total: dict, part: dict) -> None:
    for k, v in part.items():
        if isinstance(v, dict):
            _add_nested(total.setdefault(k, {}), v)
        else:
            total[k] = total[k] + v if k in total else v


def merge_cutflow(total: list[tuple[str, float]], part: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Sum two cut flows entry by entry (the names must agree)."""
    if not total:
        return list(part)
    if [n for n, _ in total] != [n for n, _ in part]:
        msg = f"cut flows of two chunks differ: {[n for n, _ in total]} vs {[n for n, _ in part]}"
        raise RegistryError(msg)
    return [(n, a + b) for (n, a), (_, b) in zip(total, part, strict=True)]


def merge_plots(total: dict[str, PlotSpec], part: dict[str, PlotSpec]) -> None:
    """Add the histograms of ``part`` to ``total``: signal components by label (new labels appended),
    undefined weight summed; edges, background, data and labels are the same for every chunk."""
    for name, spec in part.items():
        if name not in total:
            total[name] = spec
            continue
        tot = total[name]
        if not np.array_equal(tot.edges, spec.edges):
            msg = f"plot {name!r}: bin edges differ between chunks"
            raise RegistryError(msg)
        index = {label: i for i, (label, _, _) in enumerate(tot.components)}
        for label, counts, style in spec.components:
            if label in index:
                i = index[label]
                tot.components[i] = (label, tot.components[i][1] + counts, tot.components[i][2])
            else:
                tot.components.append((label, np.array(counts, dtype=float), style))
        tot.undefined += spec.undefined


def merge_extra(total: dict, part: dict) -> None:
    """Chunk-independent extra entries: taken from the first chunk, checked equal in the others
    (a chunk-dependent value there is a module bug: it belongs in DetectorState.tally)."""
    for k, v in part.items():
        if k not in total:
            total[k] = v
        elif json.dumps(_jsonable(total[k]), sort_keys=True) != json.dumps(_jsonable(v), sort_keys=True):
            msg = (f"detector extra[{k!r}] differs between chunks ({total[k]!r} vs {v!r}); chunk-dependent "
                   "numbers must go through DetectorState.tally and a finaliser")
            raise RegistryError(msg)


# =============================================================================== the stage
@dataclass
class DetectorChunk:
    """What one chunk contributes: its reco rows (flat numpy columns; ``event`` counts from 0 within the chunk) and
    its sums (cut flow, plot histograms, chunk-independent extras, module tallies, weights and counts)."""

    record: dict[str, np.ndarray]
    cutflow: list[tuple[str, float]]
    plots: dict[str, PlotSpec]
    extra: dict
    sums: dict
    before: float
    after: float
    n_in: int
    n_selected: int


class DetectorStage:
    """Detector ``name`` over a sequence of chunks (module docstring): ``process`` each chunk (anywhere), ``add``
    them in order, ``finish``.

    ``metadata``: the run's metadata (experiment, exposure, channels, weight unit, run name); ``seed``: the
    detector seed; ``options`` override the card's [options]; ``force`` skips the experiment check.
    """

    def __init__(self, name: str, metadata: dict, seed: int, options: dict | None = None,
                 force: bool = False) -> None:
        self.name, self.seed, self.metadata = name, int(seed), dict(metadata)
        self.card, self.opts, self.note = prepare(name, self.metadata, options, force)
        self._file = self._tmp = self._atomic = self._writer = None
        self.reco_path: Path | None = None
        self.cutflow: list[tuple[str, float]] = []
        self.plots: dict[str, PlotSpec] = {}
        self.extra: dict = {"note": self.note} if self.note else {}
        self.sums: dict = {}
        self.before = self.after = 0.0
        self.n_in = self.n_selected = 0

    # ---- one chunk (no state of the stage is changed: runs on any process)
    def process(self, events: ak.Array, key: tuple[int, ...]) -> DetectorChunk:
        """Run the chain on one chunk of events (the ntuple layout of :mod:`detectors.truth`) with the random
        stream :func:`chunk_rng` (seed, *key)."""
        state = run_chunk(self.card, self.opts, events, self.metadata, chunk_rng(self.seed, *key))
        rec = chunk_record(state)
        record = {f: ak.to_numpy(rec[f]) for f in ak.fields(rec)}
        return DetectorChunk(record=record, cutflow=state.cutflow, plots=state.plots, extra=state.extra,
                             sums=state.sums, before=float(np.sum(state.weight_in)), after=state.passed(),
                             n_in=state.n, n_selected=int(np.sum(state.selected)))

    # ---- the ordered sink
    def open(self, reco_path: str | Path) -> DetectorStage:
        """Start reco.root at ``reco_path`` (written in place; the caller places it atomically)."""
        import uproot

        self.reco_path = Path(reco_path)
        self._file = uproot.recreate(self.reco_path, compression=uproot.LZ4(1))
        self._writer = RecoTreeWriter(self._file, "reco")
        return self

    def add(self, chunk: DetectorChunk) -> None:
        """Fold the next chunk (in file order) into reco.root and the totals."""
        record = dict(chunk.record)
        record["event"] = record["event"] + self.n_in  # entry of the event in the events file
        self._writer.extend(ak.Array(record))
        self.cutflow = merge_cutflow(self.cutflow, chunk.cutflow)
        merge_plots(self.plots, chunk.plots)
        merge_extra(self.extra, chunk.extra)
        _add_nested(self.sums, chunk.sums)
        self.before += chunk.before
        self.after += chunk.after
        self.n_in += chunk.n_in
        self.n_selected += chunk.n_selected

    def abort(self) -> None:
        """Close reco.root without finishing (after an error; the caller discards it)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def finish(self) -> DetectorResult:
        """Close reco.root, call the finalisers on the summed tallies and return the DetectorResult (reco None: the
        record is in reco.root)."""
        if self._writer is not None and self._writer.tree is None:
            self._writer.extend(ak.Array({"event": np.zeros(0, dtype=np.int64)}))
        self.abort()
        finalize_chain(self.card, self.opts, self.sums, self.plots, self.extra)
        result = make_result(self.card, self.opts, self.metadata, reco=None, cutflow=self.cutflow,
                             before=self.before, after=self.after, plots=self.plots, extra=self.extra,
                             n_in=self.n_in, n_selected=self.n_selected)
        if self.reco_path is not None:
            result.files["reco"] = str(self.reco_path)
        return result


def stream_detector(name: str, root: str | Path, out_dir: str | Path, seed: int, metadata: dict,
                    options: dict | None = None, force: bool = False,
                    chunk_entries: int | None = None) -> DetectorResult:
    """Run detector ``name`` over the events file ``root`` chunk by chunk (see the module docstring: the run's
    generation chunks when ``metadata`` lists them and ``chunk_entries`` is None, else fixed ranges of
    ``chunk_entries`` (default :data:`CHUNK_ENTRIES`) entries) and write reco.root into ``out_dir`` as it goes;
    returns the merged DetectorResult (reco None). The other outputs are written by :func:`write_detector_outputs`."""
    chunks = generation_chunks(metadata) if chunk_entries is None else None
    stage = DetectorStage(name, metadata, seed, options, force)
    reco_path = Path(out_dir) / "reco.root"
    with atomic_path(reco_path) as tmp:
        stage.open(tmp)
        try:
            for _, key, events in _iter_ranges(root, chunks, chunk_entries or CHUNK_ENTRIES):
                stage.add(stage.process(events, key))
        except BaseException:
            stage.abort()
            raise
        result = stage.finish()
    result.extra.setdefault("chunk_entries", "generation chunks" if chunks is not None else
                            chunk_entries or CHUNK_ENTRIES)
    result.files["reco"] = str(reco_path)
    return result


def _plot_context(result: DetectorResult) -> str:
    run = result.run_name or "unnamed run"
    return f"run {run}, detector {result.detector}"


def write_detector_outputs(result: DetectorResult, out_dir: str | Path) -> dict[str, str]:
    """Write cutflow.txt, cutflow.json, <plot>.png and detector_summary.json into ``out_dir`` (created if
    needed; each file atomic), and reco.root (TTree "reco") when ``result.reco`` is in memory (a streamed
    result wrote it already). Returns {kind: path}; also stored in result.files and in the summary."""
    from detectors.output import write_root

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = dict(result.files)
    if result.reco is not None:
        files["reco"] = str(write_root(out / "reco.root", result.reco))
    files["cutflow_txt"] = str(write_text(out / "cutflow.txt", cutflow_text(result.detector, result.cutflow)))
    files["cutflow_json"] = str(write_json(out / "cutflow.json",
                                           {"detector": result.detector,
                                            "cutflow": [[n, v] for n, v in result.cutflow]}))
    for pname, spec in result.plots.items():
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", pname).strip("_")
        files[f"plot_{stem}"] = str(write_png(out / f"{stem}.png", spec, _plot_context(result)))
    summary_path = out / "detector_summary.json"
    files["summary"] = str(summary_path)
    result.files = files
    write_json(summary_path, result.summary())
    return files
