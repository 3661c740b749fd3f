"""Behaviour lock: the events of shipped cards at a fixed seed, hashed from the written ROOT arrays.

Recorded before the layout reorganisation ("one home per concept") so that moving code cannot change a
single event. A deliberate physics change updates the hashes here, with a line in HASH_HISTORY saying why.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from generator.card import load_card
from generator.run import run_card

CARDS_DIR = Path(__file__).resolve().parent.parent / "cards"

#: card stem -> sha256 of the events tree (every branch, sorted by name, flattened to float64/int64 bytes).
EXPECTED = {
    "miniboone_bp_b": "7d363f707c49735d3bfc1505448ecb236087e0260cd84c6a3abb20c1e3d86df6",
    "babar_bp_b": "22fbffb3f5b79392b099a9691862f67a27bce0e6b6df8be4512519bf9033b97f",
    "na62_bp_b": "ec1c11cc8cd9eab21cfe0c9ac3175e8032a7dce94934eac7fc4f3ab0c893d724",
}

#: Why the hashes changed, newest last.
HASH_HISTORY = [
    "recorded before the layout reorganisation",
    "miniboone_bp_b: coherent C12 now uses the de Vries Fourier-Bessel charge form factor (EM part) and a weak "
    "Helm form factor (NC neutron part) instead of the Lewin-Smith Helm form factor (physics change)",
    "all three: schema change only, no event changed: the events tree gains the int64 branch event_id (global event "
    "index) and no longer carries the internal chunk column; every other branch was checked equal, value by value, "
    "against the previous writer at the same seed",
]

SMALL = {"n_events": 150, "n_adapt": 3, "evals_per_iter": 3000, "progress": False}


def events_hash(root_path: Path) -> str:
    import awkward as ak
    import uproot

    h = hashlib.sha256()
    with uproot.open(root_path) as f:
        tree = f["events"]
        arrays = tree.arrays(library="ak")
    for name in sorted(arrays.fields):
        flat = ak.to_numpy(ak.flatten(arrays[name], axis=None))
        dtype = np.float64 if flat.dtype.kind == "f" else np.int64
        h.update(name.encode())
        h.update(np.ascontiguousarray(flat.astype(dtype)).tobytes())
    return h.hexdigest()


def run_small(stem: str, out: Path) -> Path:
    card = load_card(CARDS_DIR / f"{stem}.toml")
    for k, v in SMALL.items():
        setattr(card.run, k, v)
    card.output.formats = ["root"]
    card.output.plots = False
    card.detector = None
    result = run_card(card, out_dir=out)
    return Path(result.files["root"])


@pytest.mark.slow
@pytest.mark.parametrize("stem", ["miniboone_bp_b", "babar_bp_b", "na62_bp_b"])
def test_events_unchanged(stem, tmp_path):
    assert events_hash(run_small(stem, tmp_path)) == EXPECTED[stem]
