"""The streaming detector stage (detectors.stream): chunked result = chain on each chunk separately,
cut flows and tallies add up, bounded chunks, per-chunk random streams, output permissions, the
experiment check."""

from __future__ import annotations

import json
import os
import stat

import awkward as ak
import numpy as np
import pytest

import detectors
from detectors import stream
from detectors.chain import chunk_record, prepare, run_chunk
from detectors.ps191 import fit_from_sums
from detectors.registry import finalize_chain
from generator.errors import DetectorCardError
from tests.detectors.test_detectors_babar import n5_events
from tests.detectors.test_detectors_microboone import chain_events
from tests.detectors.test_detectors_ps191 import ps191_events


def write_events(path, ev):
    """Write an awkward event record (detectors.truth format) as TTree "events" with uproot."""
    import uproot

    types = {}
    for k in ev.fields:
        t = ak.type(ev[k]).content
        types[k] = t if isinstance(t, ak.types.ListType) else ak.to_numpy(ev[k]).dtype
    with uproot.recreate(path) as f:
        tree = f.mktree("events", types)
        tree.extend({k: ev[k] if isinstance(types[k], ak.types.ListType) else ak.to_numpy(ev[k]) for k in ev.fields})


def microboone_sample(n=11):
    rng = np.random.default_rng(5)
    sep = rng.uniform(2.0, 60.0, n)
    T_p = rng.choice([0.0, 0.02, 0.1], n)
    w = rng.uniform(0.5, 2.0, n)
    return chain_events(sep, T_p, w, second_inside=True)


def read_reco(path):
    import uproot

    with uproot.open(path) as f:
        return f["reco"].arrays(library="np")


def test_chunked_run_equals_chain_on_each_chunk(tmp_path):
    ev = microboone_sample(11)
    write_events(tmp_path / "events.root", ev)
    summary = detectors.detect_main("microboone", tmp_path, out_dir=tmp_path / "det", seed=7, chunk_entries=4,
                                    metadata={"experiment": "MicroBooNE", "run_name": "toy"})
    # independent reference: the chain on each slice of 4 entries with its own stream, concatenated
    card, opts, _ = prepare("microboone", {}, None)
    states = [run_chunk(card, opts, ev[a:a + 4], {}, stream.chunk_rng(7, k), first_event=a)
              for k, a in enumerate(range(0, 11, 4))]
    expect = ak.concatenate([chunk_record(s) for s in states])
    got = read_reco(tmp_path / "det" / "reco.root")
    assert list(got) == list(expect.fields)
    for f in expect.fields:
        np.testing.assert_array_equal(got[f], ak.to_numpy(expect[f]), err_msg=f)
    assert got["event"].tolist() == list(range(11))
    # cut flows add up chunk by chunk (sum over chunks, same names)
    flow = [(n, sum(s.cutflow[i][1] for s in states)) for i, (n, _) in enumerate(states[0].cutflow)]
    assert [n for n, _ in summary["cutflow"]] == [n for n, _ in flow]
    assert np.allclose([v for _, v in summary["cutflow"]], [v for _, v in flow], rtol=1e-12)
    assert summary["cutflow"][0][1] == pytest.approx(float(np.sum(ak.to_numpy(ev["weight"]))), rel=1e-12)
    assert summary["n_events_in"] == 11
    assert summary["n_events_selected"] == int(sum(np.sum(s.selected) for s in states))
    # the category yields (tallied per chunk, finalised once) equal the sums over the chunk states
    sums: dict = {}
    for s in states:
        stream._add_nested(sums, s.sums)
    extra: dict = {}
    finalize_chain(card, opts, sums, {}, extra)
    assert summary["extra"]["topology yields"] == pytest.approx(extra["topology yields"], rel=1e-12)


def test_one_chunk_equals_in_memory_run_and_chunks_are_independent(tmp_path):
    ev = microboone_sample(9)
    write_events(tmp_path / "events.root", ev)
    detectors.detect_main("microboone", tmp_path, out_dir=tmp_path / "a", seed=3, chunk_entries=100)
    mem = detectors.run_detector("microboone", ev, {}, stream.chunk_rng(3, 0))
    got = read_reco(tmp_path / "a" / "reco.root")
    for f in mem.reco.fields:
        np.testing.assert_array_equal(got[f], ak.to_numpy(mem.reco[f]), err_msg=f)
    # chunk k's numbers depend only on (file, seed, chunk size): a file holding only the first 6
    # events gives the same first 6 rows with chunks of 3
    (tmp_path / "short").mkdir()
    write_events(tmp_path / "short" / "events.root", ev[:6])
    detectors.detect_main("microboone", tmp_path, out_dir=tmp_path / "b", seed=3, chunk_entries=3)
    detectors.detect_main("microboone", tmp_path / "short", out_dir=tmp_path / "c", seed=3, chunk_entries=3)
    full, short = read_reco(tmp_path / "b" / "reco.root"), read_reco(tmp_path / "c" / "reco.root")
    for f in short:
        np.testing.assert_array_equal(full[f][:6], short[f], err_msg=f)
    again = tmp_path / "b2"
    detectors.detect_main("microboone", tmp_path, out_dir=again, seed=3, chunk_entries=3)
    rep = read_reco(again / "reco.root")
    assert all(np.array_equal(rep[f], full[f]) for f in full)


def test_chunks_are_bounded_and_nothing_spans_the_file(tmp_path, monkeypatch):
    ev = microboone_sample(10)
    write_events(tmp_path / "events.root", ev)
    seen = []
    real = stream.run_chunk

    def spy(card, opts, events, metadata, rng, first_event=0):
        seen.append(len(events))
        return real(card, opts, events, metadata, rng, first_event)

    monkeypatch.setattr(stream, "run_chunk", spy)
    res = stream.stream_detector("microboone", tmp_path / "events.root", tmp_path / "out", 1, {}, chunk_entries=3)
    assert seen == [3, 3, 3, 1]
    assert res.reco is None and res.n_events_in == 10  # the record lives only in reco.root
    # each chunk counts its events from 0; the stage numbers them by their entry in the file
    reco = read_reco(tmp_path / "out" / "reco.root")
    assert np.array_equal(reco["event"], np.arange(10))
    assert [len(e) for _, e in stream.iter_event_chunks(tmp_path / "events.root", 4)] == [4, 4, 2]


def test_fit_and_probabilities_are_finalised_over_all_chunks(tmp_path):
    # PS-191: the exponential fit on chunked data equals the in-memory fit (same sufficient statistics)
    rng = np.random.default_rng(8)
    ev = ps191_events(rng.exponential(4.0, 400), 1.0)
    write_events(tmp_path / "events.root", ev)
    s = detectors.detect_main("ps191", tmp_path, out_dir=tmp_path / "p", seed=2, chunk_entries=64)
    card, opts, _ = prepare("ps191", {}, None)
    sums: dict = {}
    for k, a in enumerate(range(0, 400, 64)):
        stream._add_nested(sums, run_chunk(card, opts, ev[a:a + 64], {}, stream.chunk_rng(2, k)).sums)
    spec = next(m for m in card.modules if m.type == "ExponentialFalloff")
    name = spec.name
    L, err = fit_from_sums(sums[name], spec.number("fit_max_mm"))
    assert s["extra"][name]["decay_length_mm"] == pytest.approx(L, rel=1e-12)
    assert 2.0 < L < 6.0 and err > 0
    # BaBar: region probabilities from summed weights, not averaged per chunk
    pos = np.column_stack([np.linspace(10.0, 400.0, 50), np.zeros(50), np.zeros(50)])
    bev = n5_events(pos)
    (tmp_path / "b").mkdir()
    write_events(tmp_path / "b" / "events.root", bev)
    sb = detectors.detect_main("babar", tmp_path / "b", seed=1, chunk_entries=7)
    mem = detectors.run_detector("babar", bev, {}, np.random.default_rng(1))
    assert sb["extra"]["N5 decay regions"] == pytest.approx(mem.extra["N5 decay regions"], rel=1e-12)


def test_outputs_have_the_usual_permissions(tmp_path):
    write_events(tmp_path / "events.root", microboone_sample(4))
    old = os.umask(0o022)
    try:
        summary = detectors.detect_main("microboone", tmp_path, seed=3)
    finally:
        os.umask(old)
    out = tmp_path / "detector_microboone"
    files = list(out.iterdir())
    assert {p.name for p in files} >= {"reco.root", "cutflow.txt", "cutflow.json", "detector_summary.json"}
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p.name
        assert not p.name.endswith(".part")
    assert set(summary["files"].values()) == {str(p) for p in files}


def test_experiment_mismatch_names_both_and_the_matching_detectors(tmp_path):
    write_events(tmp_path / "events.root", microboone_sample(3))
    (tmp_path / "metadata.json").write_text(json.dumps({"experiment": "BaBar", "run_name": "babar_run"}))
    with pytest.raises(DetectorCardError) as exc:
        detectors.detect_main("microboone", tmp_path, seed=3)
    msg = str(exc.value)
    assert "'BaBar'" in msg and "'microboone'" in msg and "detectors for 'BaBar': babar" in msg
    assert not (tmp_path / "detector_microboone").exists()
    forced = detectors.detect_main("microboone", tmp_path, seed=3, force=True)
    assert "applied anyway" in forced["extra"]["note"]
    assert detectors.detectors_for("PS-191") == ["ps191"] and detectors.detectors_for("NuTeV") == ["ccfr"]


def test_empty_events_file(tmp_path):
    ev = microboone_sample(2)[:0]
    write_events(tmp_path / "events.root", ev)
    s = detectors.detect_main("microboone", tmp_path, seed=1)
    assert s["n_events_in"] == 0 and s["expected_events_before"] == 0.0 and s["efficiency"] == 0.0
    assert len(read_reco(tmp_path / "detector_microboone" / "reco.root")["event"]) == 0


def test_plots_name_the_run_and_detector_and_what_is_counted(tmp_path, monkeypatch):
    from detectors.output import render_plot

    ev = ak.concatenate([microboone_sample(5), chain_events([30.0], [0.0], [1.0], second_inside=False)])
    write_events(tmp_path / "events.root", ev)
    seen = {}
    real = stream.write_png

    def spy(path, spec, context=""):
        seen[path.name] = (spec, context)
        return real(path, spec, context)

    monkeypatch.setattr(stream, "write_png", spy)
    detectors.detect_main("microboone", tmp_path, seed=3, metadata={"run_name": "microboone_bp_a"})
    assert set(seen) == {"vertex_separation.png", "m_ee.png"}
    for spec, context in seen.values():
        assert context == "run microboone_bp_a, detector microboone"
        assert spec.ylabel.startswith("expected events / bin (one entry per event)")
        ax = render_plot(spec, context).axes[0]
        assert ax.get_title().endswith("\nrun microboone_bp_a, detector microboone")
        assert ax.get_ylabel() == spec.ylabel
    # the single-vertex events have no separation: reported as undefined on the plot, not binned
    spec = seen["vertex_separation.png"][0]
    texts = [t.get_text() for t in render_plot(spec).axes[0].texts]
    assert spec.undefined > 0 and any("not drawn" in t and "no value" in t for t in texts)
