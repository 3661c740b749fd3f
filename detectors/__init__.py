"""Detector modules: apply a detector's geometry, smearing, efficiencies and cuts to generated events.

Public API
----------
- :func:`run_detector` (name, events, metadata, rng) -> :class:`DetectorResult`
- :func:`write_detector_outputs` (result, out_dir): reco.root, cutflow.txt/.json, PNG plots,
  detector_summary.json (all written atomically)
- :func:`detect_main` (name, path, out_dir=None, seed=...) -> summary dict: what ``dsgen detect`` calls
- :func:`available_detectors`, :func:`load_detector_card`

Each detector is a data file ``detectors/data/<name>.toml`` (package data) listing its modules in
execution order; mechanisms are registered module types. Layout (docs/detectors.md, docs/extending.md):
:mod:`detectors.registry` (card loader, module-type registry, state), :mod:`detectors.response`
(resolutions, smearing, efficiencies), :mod:`detectors.mechanisms` (generic module types), one module
per experiment (experiment-specific module types, registered by importing it below), and
:mod:`detectors.truth` (truth columns from the ntuple). Shapes: :mod:`generator.geometry`;
kinematics: :mod:`generator.kernels.lorentz`; pair observables: :mod:`generator.observables`. Event input: the generator's ROOT ntuple
(TTree "events", see :mod:`detectors.truth`) read as an awkward array.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np

# Registration: importing a mechanism module registers its module types (one line per module).
from detectors import babar, ccfr, mechanisms, microboone, miniboone, na62, ps191  # noqa: F401
from detectors.output import (
    _jsonable,
    cutflow_text,
    write_json,
    write_png,
    write_root,
    write_text,
)
from detectors.registry import (
    DetectorState,
    PlotSpec,
    available_detectors,
    load_detector_card,
    resolve_options,
    run_chain,
)
from detectors.truth import check_fields, extract_truth
from generator.constants import DEFAULT_DETECTOR_SEED
from generator.errors import DataFileError, DetectorCardError

#: Option of a detector card naming the directory of the published data it compares with.
DATA_RELEASE_OPTION = "data_release_dir"
BASE_COLUMNS = ("channel", "regime", "target", "E_nu")


@dataclass
class DetectorResult:
    """Outcome of one detector on one event sample.

    reco: awkward record, one entry per input event (fields: event, weight_in, weight, selected, the
    event columns and every module output; vectors split into _x/_y/_z or _E/_px/_py/_pz);
    cutflow: ordered [(cut name, weighted count)], first entry "all events";
    expected_events_before/after: sum of input weights / of final weights of selected events;
    efficiency = after / before (0 when before = 0); plots: name -> PlotSpec; extra: detector-specific
    numbers (e.g. decay-region probabilities, fitted slopes).
    """

    detector: str
    reco: ak.Array
    cutflow: list[tuple[str, float]]
    expected_events_before: float
    expected_events_after: float
    efficiency: float
    plots: dict[str, PlotSpec]
    extra: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    description: str = ""
    frame: str = ""
    references: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    weight_unit: str = "events"

    def summary(self) -> dict:
        """The content of detector_summary.json."""
        return {
            "detector": self.detector,
            "description": self.description,
            "frame": self.frame,
            "units": "GeV, cm, rad; weights and weighted counts in weight_unit (expected events)",
            "expected_events_before": self.expected_events_before,
            "expected_events_after": self.expected_events_after,
            "efficiency": self.efficiency,
            "cutflow": [[name, val] for name, val in self.cutflow],
            "n_events_in": int(len(self.reco)),
            "n_events_selected": int(np.sum(ak.to_numpy(self.reco["selected"]))) if len(self.reco) else 0,
            "weight_unit": self.weight_unit,
            "options": self.options,
            "extra": self.extra,
            "references": list(self.references),
            "files": self.files,
        }


_SUFFIX = {3: ("x", "y", "z"), 4: ("E", "px", "py", "pz")}


def _record(state: DetectorState) -> ak.Array:
    cols: dict[str, np.ndarray] = {
        "event": np.arange(state.n, dtype=np.int64),
        "weight_in": state.weight_in,
        "weight": state.weight,
        "selected": state.selected,
    }
    for name in BASE_COLUMNS:
        cols[name] = state.cols[name]
    for name in state.produced:
        arr = np.asarray(state.cols[name])
        if arr.ndim == 1:
            cols[name] = arr
        elif arr.ndim == 2:
            suffixes = _SUFFIX.get(arr.shape[1], tuple(str(i) for i in range(arr.shape[1])))
            for i, s in enumerate(suffixes):
                cols[f"{name}_{s}"] = arr[:, i]
    return ak.Array({k: np.ascontiguousarray(v) for k, v in cols.items()})


def run_detector(name: str, events: ak.Array, metadata: dict | None, rng: np.random.Generator,
                 options: dict | None = None) -> DetectorResult:
    """Apply detector ``name`` to ``events`` (awkward array in the ntuple format of
    :mod:`detectors.truth`; weights in expected events). ``metadata``: run metadata (e.g. "pot",
    "experiment"); ``options`` override the card's [options] (or metadata["detector_options"][name]).
    Returns a DetectorResult; nothing is written.
    """
    metadata = dict(metadata or {})
    card = load_detector_card(name)
    if options is None:
        options = (metadata.get("detector_options") or {}).get(name)
    if "acceptance_in_generation" in card.options:
        # kaon channels generated with [experiment] acceptance < 1 already carry it in their weights
        accs = [c.get("acceptance") for c in metadata.get("channels", []) if isinstance(c, dict)]
        applied = bool(accs) and all(a is not None and a < 1 for a in accs)
        options = {"acceptance_in_generation": applied, **(options or {})}
    opts = resolve_options(card, options)
    check_fields(events, source=f"detector {name} input")
    cols = extract_truth(events)
    w = cols["weight"].astype(float)
    state = DetectorState(cols=cols, weight_in=w.copy(), weight=w.copy(), selected=np.ones(len(w), dtype=bool),
                          rng=rng, metadata=metadata, options=opts, card=card)
    state.cutflow.append(("all events", state.passed()))
    exp = metadata.get("experiment")

    def norm(x: str) -> str:
        return re.sub(r"[^a-z0-9]", "", str(x).lower())

    if exp and card.experiments and norm(exp) not in {norm(e) for e in card.experiments}:
        state.extra["note"] = (f"run experiment {exp!r} is not one this detector describes "
                               f"({', '.join(card.experiments)}); applied as requested")
    run_chain(state)
    before = float(np.sum(state.weight_in))
    after = state.passed()
    return DetectorResult(
        detector=card.name, reco=_record(state), cutflow=state.cutflow, expected_events_before=before,
        expected_events_after=after, efficiency=after / before if before > 0 else 0.0, plots=state.plots,
        extra=state.extra, options=opts, description=card.description, frame=card.frame,
        references=card.references, weight_unit=str(metadata.get("weight_unit", "events")),
    )


def write_detector_outputs(result: DetectorResult, out_dir: str | Path) -> dict[str, str]:
    """Write reco.root (TTree "reco"), cutflow.txt, cutflow.json, <plot>.png and
    detector_summary.json into ``out_dir`` (created if needed; each file written atomically).
    Returns {kind: path}; also stored in result.files and in the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    files["reco"] = str(write_root(out / "reco.root", result.reco))
    files["cutflow_txt"] = str(write_text(out / "cutflow.txt", cutflow_text(result.detector, result.cutflow)))
    files["cutflow_json"] = str(write_json(out / "cutflow.json",
                                           {"detector": result.detector,
                                            "cutflow": [[n, v] for n, v in result.cutflow]}))
    for pname, spec in result.plots.items():
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", pname).strip("_")
        files[f"plot_{stem}"] = str(write_png(out / f"{stem}.png", spec))
    result.files = files
    summary_path = out / "detector_summary.json"
    files["summary"] = str(summary_path)
    write_json(summary_path, result.summary())
    return files


def read_events(path: str | Path) -> ak.Array:
    """Read TTree "events" of a generator ROOT file as an awkward array (DataFileError if absent)."""
    import uproot

    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"event file {path} does not exist")
    try:
        f = uproot.open(path)
    except Exception as exc:  # uproot raises several types for non-ROOT files
        raise DataFileError(f"{path} is not a readable ROOT file: {exc}") from None
    with f:
        keys = [k.split(";")[0] for k in f.keys()]
        if "events" not in keys:
            raise DataFileError(f"{path}: no TTree 'events' (found: {', '.join(keys) or 'nothing'})")
        return f["events"].arrays(library="ak")


def read_event_metadata(path: str | Path) -> dict:
    """Run metadata stored in a generator ROOT file (TObjString "metadata_json"); {} if absent."""
    import uproot

    with uproot.open(path) as f:
        keys = [k.split(";")[0] for k in f.keys()]
        data: dict = {}
        if "metadata_json" in keys:
            try:
                loaded = json.loads(str(f["metadata_json"]))
            except json.JSONDecodeError as exc:
                raise DataFileError(f"{path}: metadata_json is not valid JSON: {exc}") from None
            data = loaded if isinstance(loaded, dict) else {}
        # exposure from the "run" tree (protons on target, fb^-1) when the JSON lacks it
        if "run" in keys:
            run = f["run"]
            for key in ("pot", "luminosity_fb"):
                if key not in data and key in run.keys():
                    vals = run[key].array(library="np")
                    if len(vals) and float(vals[0]) > 0:
                        data[key] = float(vals[0])
    return data


def _load_metadata(run_dir: Path) -> dict:
    for fname in ("metadata.json", "summary.json"):
        p = run_dir / fname
        if p.is_file():
            try:
                data = json.loads(p.read_text())
            except json.JSONDecodeError as exc:
                raise DataFileError(f"{p} is not valid JSON: {exc}") from None
            if isinstance(data, dict):
                return data
    return {}


def detect_main(name: str, path: str | Path, out_dir: str | Path | None = None, seed: int = DEFAULT_DETECTOR_SEED,
                options: dict | None = None, metadata: dict | None = None,
                data_release: str | Path | None = None) -> dict:
    """`dsgen detect --detector NAME RUN_DIR_OR_ROOT_FILE`: read RUN_DIR/events.root (or the given
    ROOT file), run detector ``name`` with numpy Generator(seed), write the outputs into ``out_dir``
    (default: <run dir>/detector_<name>/). Metadata: the given dict, else the file's "metadata_json"
    updated with RUN_DIR/metadata.json (or summary.json) when present. Returns the summary dict
    written to detector_summary.json (JSON-serialisable; "files" lists the written files).
    ``data_release``: directory of the published data the detector compares with (sets the detector option
    ``data_release_dir``; DetectorCardError for a detector without that option)."""
    path = Path(path)
    if path.is_dir():
        run_dir, root = path, path / "events.root"
    else:
        run_dir, root = path.parent, path
    if not root.is_file():
        raise DataFileError(f"no event file at {root} (give a run directory containing events.root or a ROOT file)")
    events = read_events(root)
    if metadata is None:
        metadata = read_event_metadata(root)
        metadata.update(_load_metadata(run_dir))
    if data_release is not None:
        card = load_detector_card(name)
        if DATA_RELEASE_OPTION not in card.options:
            raise DetectorCardError(f"detector {name!r} options", DATA_RELEASE_OPTION,
                                    f"a data release ({data_release}) was given, but this detector compares with "
                                    "no published data; leave out --data-release / [detector] data_release")
        if options is None:
            options = (metadata.get("detector_options") or {}).get(name)
        options = {**(options or {}), DATA_RELEASE_OPTION: str(data_release)}
    result = run_detector(name, events, metadata, np.random.default_rng(seed), options=options)
    result.extra.setdefault("seed", seed)
    result.extra.setdefault("input", str(root))
    write_detector_outputs(result, Path(out_dir) if out_dir is not None else run_dir / f"detector_{name}")
    return _jsonable(result.summary())


__all__ = [
    "DetectorCardError",
    "DetectorResult",
    "available_detectors",
    "detect_main",
    "load_detector_card",
    "read_event_metadata",
    "read_events",
    "run_detector",
    "write_detector_outputs",
]
