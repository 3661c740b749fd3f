"""The streaming detector stage: a run's events.root in fixed entry ranges, the chain chunk by chunk,
reco.root extended per chunk, cut flows / plots / tallies summed over the chunks.

Chunks are the entry ranges [k C, (k + 1) C) of TTree "events" with C = ``chunk_entries``
(default :data:`CHUNK_ENTRIES`). Chunk k draws its random numbers from its own stream
:func:`chunk_rng` (seed, k), so the detector output is a deterministic function of (events file,
seed, chunk size): it does not depend on how many chunks ran before, on threads or on the machine.
A different chunk size gives statistically equivalent but not identical smearing. Peak memory is set
by the chunk size: no array spans the file (reco.root is extended per chunk; only per-bin
histograms, cut-flow sums and module tallies accumulate).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import awkward as ak
import numpy as np

from detectors.chain import DetectorResult, chunk_record, make_result, prepare, run_chunk
from detectors.output import RecoTreeWriter, _jsonable, cutflow_text, write_json, write_png, write_text
from detectors.registry import PlotSpec, finalize_chain
from generator.errors import DataFileError, RegistryError
from generator.io.atomic import atomic_path

#: entries of TTree "events" per detector chunk (sets the peak memory of the detector stage).
CHUNK_ENTRIES = 25_000


def chunk_rng(seed: int, index: int) -> np.random.Generator:
    """Random-number stream of chunk ``index`` of a detector run with ``seed``: a numpy Generator
    seeded by SeedSequence(seed, spawn_key=(index,)), independent of every other chunk's stream."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def _events_tree(f, path: Path):
    keys = list(f.keys(cycle=False))
    if "events" not in keys:
        msg = f"{path}: no TTree 'events' (found: {', '.join(keys) or 'nothing'})"
        raise DataFileError(msg)
    return f["events"]


def _open(path: str | Path):
    import uproot

    path = Path(path)
    if not path.is_file():
        msg = f"event file {path} does not exist"
        raise DataFileError(msg)
    try:
        return uproot.open(path)
    except Exception as exc:  # noqa: BLE001  (uproot raises several types for non-ROOT files; re-raised)
        msg = f"{path} is not a readable ROOT file: {exc}"
        raise DataFileError(msg) from None


def read_events(path: str | Path) -> ak.Array:
    """Read all of TTree "events" of a generator ROOT file as an awkward array (DataFileError if
    absent). For small files and tests; the detector stage streams with :func:`iter_event_chunks`."""
    with _open(path) as f:
        return _events_tree(f, Path(path)).arrays(library="ak")


def iter_event_chunks(path: str | Path, chunk_entries: int = CHUNK_ENTRIES) -> Iterator[tuple[int, ak.Array]]:
    """Yield (first entry, events) for the entry ranges [k C, (k + 1) C) of TTree "events"
    (C = ``chunk_entries``); a file without entries yields one empty chunk."""
    if not (isinstance(chunk_entries, int) and chunk_entries > 0):
        msg = f"chunk_entries = {chunk_entries!r}: must be a positive integer"
        raise DataFileError(msg)
    with _open(path) as f:
        tree = _events_tree(f, Path(path))
        n = tree.num_entries
        for start in range(0, max(n, 1), chunk_entries):
            yield start, tree.arrays(library="ak", entry_start=start, entry_stop=min(start + chunk_entries, n))


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
def stream_detector(name: str, root: str | Path, out_dir: str | Path, seed: int, metadata: dict,
                    options: dict | None = None, force: bool = False,
                    chunk_entries: int = CHUNK_ENTRIES) -> DetectorResult:
    """Run detector ``name`` over the events file ``root`` chunk by chunk (see the module docstring)
    and write reco.root into ``out_dir`` as it goes; returns the merged DetectorResult (reco None).
    The other outputs are written by :func:`write_detector_outputs`."""
    card, opts, note = prepare(name, metadata, options, force)
    cutflow: list[tuple[str, float]] = []
    plots: dict[str, PlotSpec] = {}
    extra: dict = {"note": note} if note else {}
    sums: dict = {}
    before = after = 0.0
    n_in = n_sel = 0
    reco_path = Path(out_dir) / "reco.root"
    import uproot

    with atomic_path(reco_path) as tmp, uproot.recreate(tmp) as f:
        writer = RecoTreeWriter(f, "reco")
        for index, (start, events) in enumerate(iter_event_chunks(root, chunk_entries)):
            state = run_chunk(card, opts, events, metadata, chunk_rng(seed, index), first_event=start)
            writer.extend(chunk_record(state))
            cutflow = merge_cutflow(cutflow, state.cutflow)
            merge_plots(plots, state.plots)
            merge_extra(extra, state.extra)
            _add_nested(sums, state.sums)
            before += float(np.sum(state.weight_in))
            after += state.passed()
            n_in += state.n
            n_sel += int(np.sum(state.selected))
    finalize_chain(card, opts, sums, plots, extra)
    result = make_result(card, opts, metadata, reco=None, cutflow=cutflow, before=before, after=after, plots=plots,
                         extra=extra, n_in=n_in, n_selected=n_sel)
    result.extra.setdefault("chunk_entries", chunk_entries)
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
