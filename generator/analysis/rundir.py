"""Read what a run directory holds for a fit: the detector-level reco ntuple and the detector summary.

A run written by ``dsgen run`` with a ``[detector]`` section holds ``reco.root`` (TTree ``reco``, one
entry per event: ``weight`` in expected events after every detector cut and efficiency, ``selected``,
the detector's observables) and ``detector_summary.json`` (cut flow in expected events, options,
``extra``). ``dsgen detect`` writes the same files into ``RUN_DIR/detector_<name>/``. ``RUN_DIR`` may
also be the ``--out`` base directory when it holds exactly one run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generator.errors import FitError

RECO_FILE = "reco.root"
SUMMARY_FILE = "detector_summary.json"


@dataclass
class DetectorRun:
    """The detector-level content of one run: ``columns`` of the selected events (numpy arrays; the
    ``weight`` column is in expected events), the detector ``summary`` dict and the run's
    ``run_summary`` (summary.json of the generator, empty when absent)."""

    path: Path
    detector: str
    columns: dict[str, np.ndarray]
    summary: dict
    run_summary: dict = field(default_factory=dict)

    def cutflow(self) -> dict[str, float]:
        """Cut flow as {step name: expected events}, in the detector's order."""
        return {str(name): float(val) for name, val in self.summary.get("cutflow", [])}


def _candidates(run_dir: Path, detector: str) -> list[Path]:
    return [run_dir, run_dir / f"detector_{detector}"]


def find_detector_output(run_dir: str | os.PathLike, detector: str) -> Path:
    """Directory holding ``reco.root`` and ``detector_summary.json`` of detector ``detector`` for the
    run ``run_dir`` (the run itself, its ``detector_<name>/``, or the single run below an ``--out``
    base directory). Raises FitError naming what was looked for."""
    base = Path(run_dir).expanduser()
    if not base.is_dir():
        msg = f"run directory {base} does not exist"
        raise FitError(msg)
    dirs = _candidates(base, detector)
    subs = sorted(p for p in base.iterdir() if p.is_dir() and (p / "summary.json").is_file())
    if len(subs) == 1:
        dirs += _candidates(subs[0], detector)
    for d in dirs:
        f = d / SUMMARY_FILE
        if (d / RECO_FILE).is_file() and f.is_file() and json.loads(f.read_text()).get("detector") == detector:
            return d
    msg = (
        f"run directory {base}: no {RECO_FILE} + {SUMMARY_FILE} of detector {detector!r} in "
                   f"{', '.join(str(d) for d in dirs)} (run the card with a [detector] name = {detector!r} "
                   f"section, or `dsgen detect --detector {detector} {base}`)"
    )
    raise FitError(msg)


def read_detector_run(run_dir: str | os.PathLike, detector: str, branches: tuple[str, ...]) -> DetectorRun:
    """Selected events of ``detector`` in run ``run_dir``: the ``branches`` asked for plus ``weight``
    (expected events), with the summaries. Raises FitError when files or branches are missing."""
    import uproot

    d = find_detector_output(run_dir, detector)
    summary = json.loads((d / SUMMARY_FILE).read_text())
    run_summary_path = d / "summary.json" if (d / "summary.json").is_file() else d.parent / "summary.json"
    run_summary = json.loads(run_summary_path.read_text()) if run_summary_path.is_file() else {}
    want = tuple(dict.fromkeys(("weight", "selected", *branches)))
    with uproot.open(d / RECO_FILE) as f:
        if "reco" not in f:
            msg = f"{d / RECO_FILE}: no TTree `reco`"
            raise FitError(msg)
        tree = f["reco"]
        names = set(tree.keys())
        missing = [b for b in want if b not in names]
        if missing:
            msg = f"{d / RECO_FILE}: branches {missing} missing (has {sorted(tree.keys())})"
            raise FitError(msg)
        arrays = tree.arrays(list(want), library="np")
    sel = arrays.pop("selected").astype(bool)
    cols = {k: np.asarray(v)[sel] for k, v in arrays.items()}
    return DetectorRun(d, detector, cols, summary, run_summary)


__all__ = ["RECO_FILE", "SUMMARY_FILE", "DetectorRun", "find_detector_output", "read_detector_run"]
