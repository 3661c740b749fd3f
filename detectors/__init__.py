"""Detector modules: apply a detector's geometry, smearing, efficiencies and cuts to generated events.

Public API
----------
- :func:`detect_main` (name, path, out_dir=None, seed=..., data_release=None, force=False,
  chunk_entries=CHUNK_ENTRIES) -> summary dict: what ``dsgen detect`` and a run with a [detector]
  call. Streams the run's events.root in fixed entry ranges (:mod:`detectors.stream`).
- :func:`run_detector` (name, events, metadata, rng) -> :class:`DetectorResult`: one in-memory sample
- :func:`write_detector_outputs` (result, out_dir): reco.root, cutflow.txt/.json, PNG plots,
  detector_summary.json (all written atomically, mode 0666 & ~umask)
- :func:`available_detectors`, :func:`load_detector_card`, :func:`detectors_for`

Each detector is a data file ``detectors/data/<name>.toml`` (package data) listing its modules in
execution order; mechanisms are registered module types. Layout (docs/detectors.md, docs/extending.md):
:mod:`detectors.registry` (card loader, module-type registry, state), :mod:`detectors.response`
(resolutions, smearing, efficiencies), :mod:`detectors.mechanisms` (generic module types), one module
per experiment (experiment-specific module types, registered by importing it below),
:mod:`detectors.truth` (truth columns from the ntuple), :mod:`detectors.chain` (one chunk in memory,
DetectorResult), :mod:`detectors.stream` (the chunked stage over a file) and :mod:`detectors.output`
(files). Shapes: :mod:`generator.geometry`; kinematics: :mod:`generator.kernels.lorentz`; pair
observables: :mod:`generator.observables`.
"""

from __future__ import annotations

from pathlib import Path

# Registration: importing a mechanism module registers its module types (one line per module).
from detectors import babar, ccfr, mechanisms, microboone, miniboone, na62, ps191  # noqa: F401
from detectors.chain import DetectorResult, detectors_for, run_detector
from detectors.output import _jsonable
from detectors.registry import available_detectors, load_detector_card
from detectors.stream import (
    CHUNK_ENTRIES,
    DetectorStage,
    chunk_rng,
    iter_event_chunks,
    load_run_metadata,
    read_event_metadata,
    read_events,
    stream_detector,
    write_detector_outputs,
)
from generator.constants import DEFAULT_DETECTOR_SEED
from generator.errors import DataFileError, DetectorCardError

#: Option of a detector card naming the directory of the published data it compares with.
DATA_RELEASE_OPTION = "data_release_dir"


def detector_options(name: str, metadata: dict, options: dict | None, data_release: str | Path | None) -> dict | None:
    """The options of detector ``name`` for a run: ``options`` (default metadata["detector_options"][name]) with the
    published-data directory ``data_release`` set (DetectorCardError for a detector that compares with no data)."""
    if data_release is None:
        return options
    card = load_detector_card(name)
    if DATA_RELEASE_OPTION not in card.options:
        where = f"detector {name!r} options"
        msg = (f"a data release ({data_release}) was given, but this detector compares with no published data; "
               "leave out --data-release / [detector] data_release")
        raise DetectorCardError(where, DATA_RELEASE_OPTION, msg)
    if options is None:
        options = (metadata.get("detector_options") or {}).get(name)
    return {**(options or {}), DATA_RELEASE_OPTION: str(data_release)}


def detect_main(name: str, path: str | Path, out_dir: str | Path | None = None, seed: int = DEFAULT_DETECTOR_SEED,
                options: dict | None = None, metadata: dict | None = None,
                data_release: str | Path | None = None, force: bool = False,
                chunk_entries: int | None = None) -> dict:
    """`dsgen detect --detector NAME RUN_DIR_OR_ROOT_FILE`: stream RUN_DIR/events.root (or the given
    ROOT file) through detector ``name`` chunk by chunk (:mod:`detectors.stream`: the run's generation
    chunks, so that the output equals the run's own detector stage, or fixed ranges of ``chunk_entries``
    entries), each chunk with its own random stream :func:`detectors.stream.chunk_rng`; write the outputs
    into ``out_dir`` (default: <run dir>/detector_<name>/). The outputs are a deterministic function of
    (events file, seed, chunking). Metadata: the given dict, else the file's "metadata_json" updated with
    RUN_DIR/metadata.json (or summary.json) when present. A detector whose card does not list the
    run's experiment raises DetectorCardError naming both and the matching detectors, unless
    ``force=True`` (expert override; the summary then carries a note). Returns the summary dict
    written to detector_summary.json (JSON-serialisable; "files" lists the written files).
    ``data_release``: directory of the published data the detector compares with (sets the detector option
    ``data_release_dir``; DetectorCardError for a detector without that option)."""
    path = Path(path)
    if path.is_dir():
        run_dir, root = path, path / "events.root"
    else:
        run_dir, root = path.parent, path
    if not root.is_file():
        msg = f"no event file at {root} (give a run directory containing events.root or a ROOT file)"
        raise DataFileError(msg)
    if metadata is None:
        metadata = read_event_metadata(root)
        metadata.update(load_run_metadata(run_dir))
    metadata = dict(metadata)
    metadata.setdefault("run_name", run_dir.name if path.is_dir() else root.stem)
    options = detector_options(name, metadata, options, data_release)
    out = Path(out_dir) if out_dir is not None else run_dir / f"detector_{name}"
    result = stream_detector(name, root, out, seed, metadata, options=options, force=force,
                             chunk_entries=chunk_entries)
    result.extra.setdefault("seed", seed)
    result.extra.setdefault("input", str(root))
    write_detector_outputs(result, out)
    return _jsonable(result.summary())


__all__ = [
    "CHUNK_ENTRIES",
    "DetectorCardError",
    "DetectorResult",
    "DetectorStage",
    "available_detectors",
    "chunk_rng",
    "detect_main",
    "detector_options",
    "detectors_for",
    "iter_event_chunks",
    "load_detector_card",
    "read_event_metadata",
    "read_events",
    "run_detector",
    "write_detector_outputs",
]
