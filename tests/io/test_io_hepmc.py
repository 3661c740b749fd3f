"""HepMC3 writer: round trips with pyhepmc's reader and with an independent plain-text parser.

Tolerances: the writer prints doubles with 17 significant digits, which round-trips IEEE doubles
exactly, so momenta and positions are compared with rtol = 1e-15 (a 1-ulp margin). The cross section
is printed by HepMC3 with 9 significant digits (rtol 1e-8). Conservation is tested with the
double-precision budget of the fixtures (1e-14 relative: a few roundings).
"""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pyhepmc
import pytest

from generator.constants import PB_CM2, pdg_hnl
from generator.io import OutputError, header_metadata, write_hepmc
from generator.io.hepmc import read_hepmc_run_info
from generator.io.nuhepmc import strip_timings
from generator.record import EventBlock
from tests.io.test_io_synthetic import decay_block, make_run

MM_PER_CM = 10.0  # independent of generator.constants: 1 cm = 10 mm
RTOL = 1e-15


def _read_all(path):
    with pyhepmc.open(path) as f:
        return list(f)


def _expected_events(blocks, names):
    """Per event (block order): (block, event index, channel index)."""
    return [(b, i, names.index(b.channel)) for b in blocks for i in range(b.n_events)]


@pytest.fixture(scope="module")
def run():
    return make_run(seed=11)


@pytest.fixture(scope="module")
def ascii_file(run, tmp_path_factory):
    blocks, run_info = run
    return write_hepmc(tmp_path_factory.mktemp("hepmc") / "events.hepmc3", blocks, run_info)


def test_roundtrip_pyhepmc(run, ascii_file):
    """Particle counts, PDG codes, statuses, momenta, vertices (mm), weights and channel survive."""
    blocks, run_info = run
    names = [c["name"] for c in run_info["channels"]]
    events = _read_all(ascii_file)
    expected = _expected_events(blocks, names)
    assert len(events) == len(expected) == sum(b.n_events for b in blocks)
    for number, (evt, (b, i, ich)) in enumerate(zip(events, expected, strict=True)):
        assert evt.event_number == number
        assert evt.momentum_unit == pyhepmc.Units.GEV and evt.length_unit == pyhepmc.Units.MM
        assert len(evt.particles) == b.n_particles
        assert evt.weights[0] == pytest.approx(b.weight[i], rel=RTOL)
        # E.C.1 process ID of the channel; the channel index as in the ROOT branch
        assert evt.attributes["signal_process_id"].astype(int) == 750 + ich
        assert evt.attributes["channel"].astype(int) == ich
        # match particles by energy (continuous, unique): order may differ for the permuted block
        got_E = np.array([p.momentum.e for p in evt.particles])
        idx = [int(np.argmin(np.abs(b.p[i, :, 0] - e))) for e in got_E]
        assert sorted(idx) == list(range(b.n_particles))
        if b is not blocks[2]:  # documented: block order kept when the beams are contiguous
            assert idx == list(range(b.n_particles))
        for part, k in zip(evt.particles, idx, strict=True):
            mom = part.momentum
            np.testing.assert_allclose([mom.e, mom.px, mom.py, mom.pz], b.p[i, k], rtol=RTOL, atol=0)
            assert part.pid == b.pdg[k] and part.status == b.status[k]
            # generated mass = invariant mass, not m^2 (e.g. 0.4 GeV for N6, not 0.16)
            assert part.generated_mass == pytest.approx(b.masses()[i, k], rel=1e-12, abs=1e-12)
            if b.status[k] == 4:
                assert part.production_vertex is None or part.production_vertex.id == 0
                continue
            pos = part.production_vertex.position
            np.testing.assert_allclose([pos.t, pos.x, pos.y, pos.z], b.x[i, k] * MM_PER_CM, rtol=RTOL, atol=0)
            if b.status[k] == 2:
                end = part.end_vertex.position
                d0 = b.daughters(k)[0]
                np.testing.assert_allclose([end.t, end.x, end.y, end.z], b.x[i, d0] * MM_PER_CM, rtol=RTOL)
                assert sorted(q.pid for q in part.end_vertex.particles_out) == sorted(b.pdg[b.daughters(k)])
            else:
                assert part.end_vertex is None


def _four(particle):
    m = particle.momentum
    return [m.e, m.px, m.py, m.pz]


def test_four_momentum_conserved_at_every_vertex(ascii_file):
    """Sum of incoming = sum of outgoing four-momenta at every vertex read back from the file."""
    n_vertices = 0
    for evt in _read_all(ascii_file):
        for v in evt.vertices:
            pin = np.sum([_four(p) for p in v.particles_in], axis=0)
            pout = np.sum([_four(p) for p in v.particles_out], axis=0)
            # fixtures conserve to ~1e-16 relative; values are read back exactly
            np.testing.assert_allclose(pin, pout, rtol=0, atol=1e-14 * np.max(np.abs(pin)))
            n_vertices += 1
    assert n_vertices == 60 * 3 + 40 * 2 + 15 * 3  # primary + one per decayed particle, per topology


def test_run_info_cross_section_and_weights(run, ascii_file):
    """Run info (tool, weight names, card, metadata), GenCrossSection in pb, weights sum to the rate."""
    _, run_info = run
    events = _read_all(ascii_file)
    ri = events[0].run_info
    assert [(t.name, t.version) for t in ri.tools] == [("darkseesaw-gen", run_info["version"])]
    assert list(ri.weight_names) == ["CV"]  # NuHepMC G.R.7
    assert str(ri.attributes["card"]) == run_info["card"]  # newlines, backslash and quotes survive
    assert str(ri.attributes["weight_unit"]) == "events"
    assert json.loads(str(ri.attributes["channels"])) == ["incoherent_p", "coherent_C12"]
    meta = json.loads(str(ri.attributes["metadata_json"]))
    # the header holds what is known before any event: no event counts, no timings
    assert meta == json.loads(json.dumps(strip_timings(header_metadata({**run_info, "weight_unit": "events"}))))
    assert "n_events_written" not in meta and "sum_weights" not in meta
    assert read_hepmc_run_info(ascii_file) == meta
    # total cross section (pb): sum of channels, errors in quadrature; 1 pb = 1e-36 cm^2
    sigma_pb = (2.0e-41 + 5.0e-40) / 1e-36
    err_pb = math.hypot(1.0e-43, 2.0e-42) / 1e-36
    assert pytest.approx(1e-36, rel=1e-12) == PB_CM2
    for evt in events:
        cs = evt.cross_section
        assert cs.xsec() == pytest.approx(sigma_pb, rel=1e-8)  # HepMC3 prints 9 significant digits
        assert cs.xsec_err() == pytest.approx(err_pb, rel=1e-8)
        assert cs.accepted_events == cs.attempted_events == evt.event_number + 1  # running count
    total = sum(evt.weights[0] for evt in events)
    rate = sum(c["expected_events"] for c in run_info["channels"])
    assert total == pytest.approx(rate, rel=1e-12)  # fixtures scale weights to the channel rates


def _parse_ascii(lines):
    """Independent plain-text parse of HepMC3 ASCII: list of events with W, P and V records."""
    events = []
    for line in lines:
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "E":
            events.append({"number": int(tok[1]), "n_vertices": int(tok[2]), "n_particles": int(tok[3]),
                           "W": [], "P": [], "V": {}})
        elif tok[0] == "W" and events:
            events[-1]["W"] = [float(t) for t in tok[1:]]
        elif tok[0] == "P":
            # P id prod_vertex pid px py pz e m status
            events[-1]["P"].append((int(tok[1]), int(tok[2]), int(tok[3]), *map(float, tok[4:9]), int(tok[9])))
        elif tok[0] == "V":
            # V id status [in,...] @ x y z t
            at = tok.index("@")
            events[-1]["V"][int(tok[1])] = tuple(map(float, tok[at + 1:at + 5]))
    return events


def _check_plain(events, blocks, run_info):
    names = [c["name"] for c in run_info["channels"]]
    expected = _expected_events(blocks, names)
    assert len(events) == len(expected)
    for ev, (b, i, _) in zip(events, expected, strict=True):
        assert ev["n_particles"] == len(ev["P"]) == b.n_particles
        assert ev["n_vertices"] == len(ev["V"]) == 1 + int(np.sum(b.status == 2))
        assert ev["W"][0] == pytest.approx(b.weight[i], rel=RTOL)
        for _pid, prod, pdg, px, py, pz, e, m, status in ev["P"]:
            k = int(np.argmin(np.abs(b.p[i, :, 0] - e)))
            assert pdg == b.pdg[k] and status == b.status[k]
            np.testing.assert_allclose([e, px, py, pz], b.p[i, k], rtol=RTOL, atol=0)
            assert m == pytest.approx(np.sqrt(max(e * e - px * px - py * py - pz * pz, 0)), rel=1e-9, abs=1e-9)
            if prod < 0:  # produced at vertex `prod`: its position (x, y, z, t) mm = 10 * (x, y, z, c*t) cm
                np.testing.assert_allclose(ev["V"][prod], b.x[i, k, [1, 2, 3, 0]] * MM_PER_CM, rtol=RTOL)
            else:
                assert status == 4  # only beams hang off the root vertex (0)
    return sum(ev["W"][0] for ev in events)


def test_plain_text_parse_agrees(run, ascii_file):
    """A second reader (line parser) sees the same particles, vertices (mm) and weights."""
    blocks, run_info = run
    with ascii_file.open() as fh:
        lines = fh.read().splitlines()
    assert lines[0].startswith("HepMC::Version") and lines[1] == "HepMC::Asciiv3-START_EVENT_LISTING"
    assert [line for line in lines if line][-1] == "HepMC::Asciiv3-END_EVENT_LISTING"
    assert sum(line == "U GEV MM" for line in lines) == sum(b.n_events for b in blocks)
    total = _check_plain(_parse_ascii(lines), blocks, run_info)
    assert total == pytest.approx(4.5, rel=1e-12)


def test_gzip_roundtrip(run, tmp_path):
    """gzip=True writes a gzip stream (magic 1f 8b) with the same content, read by pyhepmc and by gzip+parser."""
    blocks, run_info = run
    path = write_hepmc(tmp_path / "events.hepmc3.gz", blocks, run_info, gzip=True)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    with gzip.open(path, "rt") as fh:
        _check_plain(_parse_ascii(fh.read().splitlines()), blocks, run_info)
    events = _read_all(path)
    assert len(events) == sum(b.n_events for b in blocks)
    np.testing.assert_allclose(events[-1].particles[-1].momentum.e, blocks[-1].p[-1, -1, 0], rtol=RTOL)
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind


def test_each_hnl_species_has_its_own_pdg_code(ascii_file):
    """N4, N5, N6 appear with 9900004, 9900005, 9900006 and nothing else in the 99xxxxx range."""
    codes = {p.pid for evt in _read_all(ascii_file) for p in evt.particles}
    hnl = {c for c in codes if 9_900_000 <= abs(c) < 10_000_000}
    assert hnl == {9900004, 9900005, 9900006} == {pdg_hnl(j) for j in (4, 5, 6)}
    with pyhepmc.open(ascii_file) as f:
        att = f.read().run_info.attributes
    declared = {int(c) for c in str(att["NuHepMC.AdditionalParticleNumbers"]).split()}
    assert {9900004, 9900005, 9900006, 32, 9900025} <= declared
    assert str(att["NuHepMC.AdditionalParticleNumber[9900004].Name"]) == "N4"
    assert str(att["NuHepMC.AdditionalParticleNumber[9900025].Name"]) == "phiprime"  # not an HNL


def test_event_without_beams(tmp_path):
    """Decay-only record (N5 -> N4 e- e+ with no beams): the decay vertex keeps its position."""
    b, src = decay_block(np.random.default_rng(3), 5)
    path = write_hepmc(tmp_path / "d.hepmc3", [b], {"version": "t", "seed": 1, "card": ""})
    events = _read_all(path)
    for i, evt in enumerate(events):
        n5 = evt.particles[0]
        assert n5.pid == pdg_hnl(5) and n5.status == 2
        pos = n5.end_vertex.position
        np.testing.assert_allclose([pos.t, pos.x, pos.y, pos.z], src.x[i, 7] * MM_PER_CM, rtol=RTOL)
        assert evt.cross_section is None  # no channel cross section given: no GenCrossSection


@pytest.mark.parametrize("case", ["unknown_channel", "missing_key", "bad_topology", "mixed_units", "loop"])
def test_bad_input_raises_and_writes_nothing(run, tmp_path, case):
    """Inconsistent input raises OutputError naming the problem, and no file is left behind."""
    blocks, run_info = run
    blocks, run_info = list(blocks), dict(run_info)
    if case == "unknown_channel":
        blocks[0] = EventBlock(**{**blocks[0].__dict__, "channel": "nope"})
        match = "nope"
    elif case == "missing_key":
        del run_info["card"]
        match = "card"
    elif case == "bad_topology":
        b = blocks[1]
        blocks[1] = EventBlock(**{**b.__dict__, "status": np.where(np.arange(b.n_particles) == 2, 1, b.status)})
        match = "status-2"
    elif case == "mixed_units":
        blocks[1] = EventBlock(**{**blocks[1].__dict__, "weight_unit": "cm2"})
        match = "mix weight units"
    else:
        b = blocks[1]
        mo = b.mother.copy()
        mo[2] = 4  # N5 (index 2) decays into N4 (index 4) ... and N4 claims to be N5's mother
        st = b.status.copy()
        st[4] = 2
        blocks[1] = EventBlock(**{**b.__dict__, "mother": mo, "status": st})
        match = "loop"
    with pytest.raises(OutputError, match=match):
        write_hepmc(tmp_path / "bad.hepmc3", blocks, run_info)
    assert list(tmp_path.iterdir()) == []


def test_streaming_writer_rejects_undeclared_bsm_codes(run, tmp_path):
    """The header is written before any event: a chunk with an HNL the header does not declare is an error."""
    from generator.io import HepMCWriter

    blocks, run_info = run
    w = HepMCWriter(tmp_path / "s.hepmc3", {**run_info, "hnl_mass_GeV": {"N5": 0.12, "N6": 0.4}})
    with pytest.raises(OutputError, match=r"PDG codes \[9900004\] are not declared"):
        w.write(blocks[:1])
    w.close()
    with pytest.raises(OutputError, match=r"run_info\['channels'\] is empty"):
        HepMCWriter(tmp_path / "t.hepmc3", {**run_info, "channels": []})
