"""One detector on one block of events in memory: option resolution, the experiment check, the module
chain on a chunk, and the :class:`DetectorResult`.

:func:`run_chunk` runs the card's modules on one chunk (no finalisers); :func:`run_detector` is the
in-memory entry point (one chunk, then the finalisers). The streaming driver over a ROOT file is
:mod:`detectors.stream`; it calls :func:`run_chunk` per chunk and merges the chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from detectors.registry import (
    DetectorCard,
    DetectorState,
    PlotSpec,
    available_detectors,
    finalize_chain,
    load_detector_card,
    resolve_options,
    run_chain,
)
from detectors.truth import check_fields, extract_truth
from generator.errors import DetectorCardError

BASE_COLUMNS = ("channel", "regime", "target", "E_nu")


@dataclass
class DetectorResult:
    """Outcome of one detector on one event sample.

    reco: awkward record, one entry per input event (fields: event, weight_in, weight, selected, the
    event columns and every module output; vectors split into _x/_y/_z or _E/_px/_py/_pz); None when
    the sample was streamed from a file (the record is then only in reco.root);
    cutflow: ordered [(cut name, weighted count)], first entry "all events";
    expected_events_before/after: sum of input weights / of final weights of selected events;
    efficiency = after / before (0 when before = 0); plots: name -> PlotSpec; extra: detector-specific
    numbers (e.g. decay-region probabilities, fitted slopes); n_events_in / n_events_selected: counts.
    """

    detector: str
    reco: ak.Array | None
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
    n_events_in: int = 0
    n_events_selected: int = 0
    run_name: str = ""

    def summary(self) -> dict:
        """The content of detector_summary.json."""
        return {
            "detector": self.detector,
            "run_name": self.run_name,
            "description": self.description,
            "frame": self.frame,
            "units": "GeV, cm, rad; weights and weighted counts in weight_unit (expected events)",
            "expected_events_before": self.expected_events_before,
            "expected_events_after": self.expected_events_after,
            "efficiency": self.efficiency,
            "cutflow": [[name, val] for name, val in self.cutflow],
            "n_events_in": int(self.n_events_in),
            "n_events_selected": int(self.n_events_selected),
            "weight_unit": self.weight_unit,
            "options": self.options,
            "extra": self.extra,
            "references": list(self.references),
            "files": self.files,
        }


def _norm(x: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(x).lower())


def detectors_for(experiment: str) -> list[str]:
    """Names of the detector cards whose ``experiments`` list names ``experiment`` (case, blanks and
    punctuation ignored: "PS-191" matches "ps191")."""
    return [n for n in available_detectors()
            if _norm(experiment) in {_norm(e) for e in load_detector_card(n).experiments}]


def check_experiment(card: DetectorCard, metadata: dict, force: bool = False) -> str | None:
    """Raise DetectorCardError when the run's experiment (metadata["experiment"]) is not one the
    detector card lists under ``experiments``; the message names both and the detectors that match.
    With ``force=True`` (expert override) return a note saying the detector was applied anyway.
    Returns None when the detector matches or the run names no experiment."""
    exp = metadata.get("experiment")
    if not exp or not card.experiments or _norm(exp) in {_norm(e) for e in card.experiments}:
        return None
    match = detectors_for(exp)
    msg = (f"the run's experiment is {exp!r}, but detector {card.name!r} describes "
           f"{', '.join(card.experiments)}; detectors for {exp!r}: {', '.join(match) or 'none'}")
    if force:
        return f"{msg}; applied anyway (force)"
    where = f"detector {card.name!r}"
    msg = f"{msg}. Use a matching detector, or force=True / --force to apply it anyway"
    raise DetectorCardError(where, "experiments", msg)


def prepare(name: str, metadata: dict, options: dict | None, force: bool = False
            ) -> tuple[DetectorCard, dict, str | None]:
    """Load detector ``name``, resolve its options (``options`` override the card's [options], default
    metadata["detector_options"][name]) and check the run's experiment (:func:`check_experiment`).
    Returns (card, resolved options, note or None)."""
    card = load_detector_card(name)
    note = check_experiment(card, metadata, force)
    if options is None:
        options = (metadata.get("detector_options") or {}).get(name)
    if "acceptance_in_generation" in card.options:
        # kaon channels generated with [experiment] acceptance < 1 already carry it in their weights
        accs = [c.get("acceptance") for c in metadata.get("channels", []) if isinstance(c, dict)]
        applied = bool(accs) and all(a is not None and a < 1 for a in accs)
        options = {"acceptance_in_generation": applied, **(options or {})}
    return card, resolve_options(card, options), note


def run_chunk(card: DetectorCard, opts: dict, events: ak.Array, metadata: dict, rng: np.random.Generator,
              first_event: int = 0) -> DetectorState:
    """Run the module chain of ``card`` on one chunk of events (awkward array in the ntuple format of
    :mod:`detectors.truth`; weights in expected events) with random numbers from ``rng``.
    ``first_event``: entry number of the chunk's first event in the file (the ``event`` column).
    Returns the state after the chain (finalisers not called)."""
    check_fields(events, source=f"detector {card.name} input")
    cols = extract_truth(events)
    w = cols["weight"].astype(float)
    state = DetectorState(cols=cols, weight_in=w.copy(), weight=w.copy(), selected=np.ones(len(w), dtype=bool),
                          rng=rng, metadata=metadata, options=opts, card=card)
    state.cols["event"] = first_event + np.arange(state.n, dtype=np.int64)
    state.cutflow.append(("all events", state.passed()))
    run_chain(state)
    return state


_SUFFIX = {3: ("x", "y", "z"), 4: ("E", "px", "py", "pz")}


def chunk_record(state: DetectorState) -> ak.Array:
    """The reconstructed record of one chunk (flat fields, one entry per event)."""
    cols: dict[str, np.ndarray] = {
        "event": state.cols["event"],
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


def make_result(card: DetectorCard, opts: dict, metadata: dict, *, reco: ak.Array | None,
                cutflow: list[tuple[str, float]], before: float, after: float, plots: dict, extra: dict,
                n_in: int, n_selected: int) -> DetectorResult:
    """Assemble a DetectorResult from (merged) chunk outcomes."""
    return DetectorResult(
        detector=card.name, reco=reco, cutflow=cutflow, expected_events_before=before,
        expected_events_after=after, efficiency=after / before if before > 0 else 0.0, plots=plots,
        extra=extra, options=opts, description=card.description, frame=card.frame,
        references=card.references, weight_unit=str(metadata.get("weight_unit", "events")),
        n_events_in=n_in, n_events_selected=n_selected, run_name=str(metadata.get("run_name") or ""),
    )


def run_detector(name: str, events: ak.Array, metadata: dict | None, rng: np.random.Generator,
                 options: dict | None = None, force: bool = False) -> DetectorResult:
    """Apply detector ``name`` to ``events`` in memory (awkward array in the ntuple format of
    :mod:`detectors.truth`; weights in expected events) as one chunk. ``metadata``: run metadata (e.g.
    "pot", "experiment"); ``options`` override the card's [options] (or metadata["detector_options"][name]).
    A run whose experiment the detector does not describe raises DetectorCardError unless ``force``.
    Returns a DetectorResult; nothing is written."""
    metadata = dict(metadata or {})
    card, opts, note = prepare(name, metadata, options, force)
    state = run_chunk(card, opts, events, metadata, rng)
    if note:
        state.extra["note"] = note
    finalize_chain(card, opts, state.sums, state.plots, state.extra)
    return make_result(card, opts, metadata, reco=chunk_record(state), cutflow=state.cutflow,
                       before=float(np.sum(state.weight_in)), after=state.passed(), plots=state.plots,
                       extra=state.extra, n_in=state.n, n_selected=int(np.sum(state.selected)))
