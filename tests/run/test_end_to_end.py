"""A real run (upscattering + decay chain + writers), read back with independent readers.

Checks on every event of the written files: four-momentum conservation at every vertex (1e-9 relative),
daughters produced on the parent's flight line after a positive flight time, weights summing to the rate.
"""

from __future__ import annotations

import numpy as np
import pytest

from generator.card import parse_card
from generator.constants import C_CM_PER_NS, CM_TO_MM
from generator.run import run_card

CARD = """
[run]
name = "e2e"
seed = 31
n_events = 400
n_adapt = 4
evals_per_iter = 4000
progress = false

[model]
preset = "BP-B"

[process]
production = "upscattering"
final_hnl = ["N6"]
targets = ["C12"]
regimes = ["coherent"]

[experiment]
name = "MiniBooNE"

[decay]
mode = "all"
stable = ["N4"]

[output]
formats = ["hepmc3", "root"]
plots = false
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e")
    return run_card(parse_card(CARD), out_dir=out)


@pytest.mark.slow
def test_root_file_conserves_momentum_at_every_vertex(run):
    import uproot

    with uproot.open(run.files["root"]) as f:
        ev = f["events"].arrays(["pdg", "status", "mother", "E", "px", "py", "pz", "vx", "vy", "vz", "vt", "weight"],
                                library="ak")
    import awkward as ak

    counts = ak.to_numpy(ak.num(ev.pdg))
    evt = np.repeat(np.arange(len(counts)), counts)
    mother = ak.to_numpy(ak.flatten(ev.mother))
    status = ak.to_numpy(ak.flatten(ev.status))
    p = np.stack([ak.to_numpy(ak.flatten(ev[c])) for c in ("E", "px", "py", "pz")], axis=1)
    x = np.stack([ak.to_numpy(ak.flatten(ev[c])) for c in ("vt", "vx", "vy", "vz")], axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    assert np.all(counts >= 4 + 3)  # nu, C12, N6 -> N5 e e (+ N5 decay products in "all" mode)
    # decay vertices: sum of daughters = mother
    has_mother = mother >= 0
    gidx = offsets[evt[has_mother]] + mother[has_mother]
    sums = np.zeros((len(p), 4))
    np.add.at(sums, gidx, p[has_mother])
    decayed = status == 2
    scale = np.abs(p[decayed, 0])[:, None]
    assert np.all(np.abs(sums[decayed] - p[decayed]) <= 1e-9 * scale)
    # every status-2 particle has daughters and every final particle none
    n_d = np.bincount(gidx, minlength=len(p))
    assert np.all(n_d[decayed] >= 2) and np.all(n_d[status == 1] == 0)
    # primary vertex: incoming (status 4) = outgoing (mother -1, status != 4)
    pin = np.zeros((len(counts), 4))
    pout = np.zeros((len(counts), 4))
    np.add.at(pin, evt[status == 4], p[status == 4])
    prim_out = (mother == -1) & (status != 4)
    np.add.at(pout, evt[prim_out], p[prim_out])
    assert np.all(np.abs(pin - pout) <= 1e-9 * np.abs(pin[:, :1]))
    # daughters are produced on the mother's flight line, later than the mother
    d = np.flatnonzero(has_mother)
    m = gidx
    dx = x[d, 1:] - x[m, 1:]
    flight = np.linalg.norm(dx, axis=1)
    beta = np.linalg.norm(p[m, 1:], axis=1) / p[m, 0]
    dt_ns = x[d, 0] - x[m, 0]
    assert np.all(dt_ns > 0)
    np.testing.assert_allclose(flight, beta * dt_ns * C_CM_PER_NS, rtol=1e-9, atol=1e-12)
    cosang = np.einsum("ij,ij->i", dx, p[m, 1:]) / (flight * np.linalg.norm(p[m, 1:], axis=1))
    assert np.all(cosang > 1 - 1e-9)
    # weights sum to the rate after decays, as summary.json says
    w = ak.to_numpy(ev.weight)
    assert w.sum() == pytest.approx(run.summary["expected_events_after_decays_total"], rel=1e-9)
    assert w.sum() == pytest.approx(run.summary["expected_events_total"], rel=1e-6)  # "all" mode keeps the rate


@pytest.mark.slow
def test_hepmc3_file_conserves_momentum_and_positions_in_mm(run):
    import pyhepmc

    n = 0
    with pyhepmc.open(run.files["hepmc3"]) as f:
        for event in f:
            assert event.momentum_unit == pyhepmc.Units.GEV and event.length_unit == pyhepmc.Units.MM
            for v in event.vertices:
                pin = np.sum([[q.momentum.e, q.momentum.px, q.momentum.py, q.momentum.pz] for q in v.particles_in],
                             axis=0)
                pout = np.sum([[q.momentum.e, q.momentum.px, q.momentum.py, q.momentum.pz] for q in v.particles_out],
                              axis=0)
                assert np.all(np.abs(pin - pout) <= 1e-9 * abs(pin[0]))
            n += 1
            if n >= 100:  # a Python loop over events: 100 of them are plenty for this check
                break
    assert n == 100
    # HepMC3 positions are mm: the first decay vertex of the first event matches the ROOT file (cm) x 10
    import uproot

    with uproot.open(run.files["root"]) as f:
        vz = f["events"]["vz"].array(library="np", entry_stop=1)[0]
    with pyhepmc.open(run.files["hepmc3"]) as f:
        first = next(iter(f))
    zs = sorted(v.position.z for v in first.vertices)
    assert np.allclose(sorted(set(np.round(zs, 6))), sorted(set(np.round(np.unique(vz) * CM_TO_MM, 6))))


@pytest.mark.slow
def test_decayed_events_of_shards_are_the_unsharded_runs_events():
    # chunks are produced and decayed with their own streams and seed-only accept-reject bounds, so the shards'
    # decayed events, concatenated in shard order, are exactly the unsharded run's (same card, same seed)
    text = CARD.replace("n_events = 400", "n_events = 3000")
    full = run_card(parse_card(text), write=False)
    parts = []
    for k in range(3):
        card = parse_card(text)
        card.run.shard, card.run.n_shards = k, 3
        parts.extend(run_card(card, write=False).blocks)
    assert len(parts) == len(full.blocks)
    for a, b in zip(parts, full.blocks, strict=True):
        assert a.channel == b.channel
        np.testing.assert_array_equal(a.pdg, b.pdg)
        np.testing.assert_array_equal(a.info["event_id"], b.info["event_id"])
        np.testing.assert_array_equal(a.p, b.p)
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.weight, b.weight)
    ids = np.sort(np.concatenate([b.info["event_id"] for b in full.blocks]))
    np.testing.assert_array_equal(ids, np.arange(3000))
