"""ROOT ntuple writer: exact schema, round trip with uproot, run tree, strings, RNTuple option.

uproot is the only ROOT reader available without ROOT itself; the file is read with uproot's
generic TTree/TObjString readers (independent of the writer code path) and with ``read_root``.
Tolerances: values are stored as float64 and compared exactly (rtol 0) except derived ones: ``m``
(sqrt of E^2 - p^2, compared at 1e-12 relative after recomputation from the stored four-momentum)
and ``vt`` (division by c, 1e-15 relative).
"""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
import uproot

from generator.errors import DataFileError
from generator.io import OutputError, read_root, run_metadata, write_root
from tests.io.test_io_synthetic import MASSES, PDG_C12, make_run

C_CM_PER_NS = 29.9792458  # exact SI definition of c, in cm/ns (independent of generator.constants)

SCHEMA = {  # branch -> (jagged, dtype), as specified for the detector modules
    "pdg": (True, "int32"), "status": (True, "int32"), "mother": (True, "int32"),
    "E": (True, "float64"), "px": (True, "float64"), "py": (True, "float64"), "pz": (True, "float64"),
    "m": (True, "float64"), "vx": (True, "float64"), "vy": (True, "float64"), "vz": (True, "float64"),
    "vt": (True, "float64"), "pol": (True, "float32"),
    "weight": (False, "float64"), "channel": (False, "int32"), "regime": (False, "int32"),
    "target": (False, "int32"), "E_nu": (False, "float64"), "Q2": (False, "float64"),
    "event_id": (False, "int64"),
}


@pytest.fixture(scope="module")
def run():
    return make_run(seed=21)


@pytest.fixture(scope="module")
def root_file(run, tmp_path_factory):
    blocks, run_info = run
    return write_root(tmp_path_factory.mktemp("root") / "events.root", blocks, run_info, chunk_size=33)


def _primitive(arr):
    t = ak.type(arr).content
    return str(t.content) if isinstance(t, ak.types.ListType) else str(t)


def test_schema_exact(root_file):
    """TTree 'events' has exactly the schema branches (+ counter + extra info column) with the right dtypes."""
    with uproot.open(root_file) as f:
        assert f.classname_of("events") == "TTree" and f.classname_of("run") == "TTree"
        for name in ("card", "version", "channels", "metadata_json"):
            assert f.classname_of(name) == "TObjString"
        tree = f["events"]
        assert set(tree.keys()) == {*SCHEMA, "n_particles", "y_inel"}
        arrays = tree.arrays()
    for name, (jagged, dtype) in SCHEMA.items():
        assert isinstance(ak.type(arrays[name]).content, ak.types.ListType) == jagged, name
        assert _primitive(arrays[name]) == dtype, name
    assert _primitive(arrays["y_inel"]) == "float64"


def _expected(blocks, run_info):
    names = [c["name"] for c in run_info["channels"]]
    return [(b, names.index(b.channel)) for b in blocks]


def test_roundtrip_values(run, root_file):
    """Every per-particle and per-event value equals the block's (unit conversions: cm, ns)."""
    blocks, run_info = run
    with uproot.open(root_file) as f:
        ev = f["events"].arrays()
    start = 0
    for b, ich in _expected(blocks, run_info):
        sl = slice(start, start + b.n_events)
        start += b.n_events
        part = {k: ak.to_numpy(ev[k][sl]) for k in ("pdg", "status", "mother", "E", "px", "py", "pz", "m",
                                                      "vx", "vy", "vz", "vt", "pol")}  # regular within a block
        np.testing.assert_array_equal(part["pdg"], np.broadcast_to(b.pdg, part["pdg"].shape))
        np.testing.assert_array_equal(part["status"], np.broadcast_to(b.status, part["status"].shape))
        np.testing.assert_array_equal(part["mother"], np.broadcast_to(b.mother, part["mother"].shape))
        for k, name in enumerate(("E", "px", "py", "pz")):
            np.testing.assert_array_equal(part[name], b.p[..., k])
        for k, name in ((1, "vx"), (2, "vy"), (3, "vz")):
            np.testing.assert_array_equal(part[name], b.x[..., k])  # cm, unchanged
        np.testing.assert_allclose(part["vt"], b.x[..., 0] / C_CM_PER_NS, rtol=1e-15)  # c*t [cm] -> ns
        np.testing.assert_array_equal(part["pol"], b.pol.astype(np.float32))
        # m is the mass, not m^2: HNLs at their assigned masses (0.03, 0.12, 0.40 GeV)
        m_indep = np.sqrt(np.maximum(part["E"] ** 2 - part["px"] ** 2 - part["py"] ** 2 - part["pz"] ** 2, 0))
        np.testing.assert_allclose(part["m"], m_indep, rtol=1e-12, atol=1e-15)
        for j, mass in MASSES.items():
            cols = np.flatnonzero(b.pdg == 9900000 + j)
            np.testing.assert_allclose(part["m"][:, cols], mass, rtol=1e-9)
        np.testing.assert_array_equal(ak.to_numpy(ev["weight"][sl]), b.weight)
        assert np.all(ak.to_numpy(ev["channel"][sl]) == ich)
        tgt = ak.to_numpy(ev["target"][sl])
        assert np.all(tgt == (PDG_C12 if PDG_C12 in b.pdg else 2212))
        assert np.all(ak.to_numpy(ev["regime"][sl]) == (1 if b.n_particles == 10 else 2))  # "incoherent" -> 2
        np.testing.assert_array_equal(ak.to_numpy(ev["E_nu"][sl]), b.info["E_nu"])
        q2 = ak.to_numpy(ev["Q2"][sl])
        y = ak.to_numpy(ev["y_inel"][sl])
        if "Q2" in b.info:
            np.testing.assert_array_equal(q2, b.info["Q2"])
            np.testing.assert_array_equal(y, b.info["y_inel"])
        else:  # schema: Q2 = 0 if none; extra info columns NaN where a block lacks them
            assert np.all(q2 == 0) and np.all(np.isnan(y))
    assert start == len(ev)


def test_four_momentum_conservation_from_ntuple(root_file):
    """Using only the file (mother indices, status), every vertex conserves four-momentum."""
    ev, _ = read_root(root_file)
    counts = ak.to_numpy(ak.num(ev["pdg"]))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    event_of = np.repeat(np.arange(len(counts)), counts)
    p = np.stack([ak.to_numpy(ak.flatten(ev[k])) for k in ("E", "px", "py", "pz")], axis=1)
    mother = ak.to_numpy(ak.flatten(ev["mother"]))
    status = ak.to_numpy(ak.flatten(ev["status"]))
    # decay vertices: each mother's four-momentum equals the sum of its daughters'
    dau = mother >= 0
    sums = np.zeros_like(p)
    np.add.at(sums, first[event_of[dau]] + mother[dau], p[dau])
    decayed = status == 2
    assert decayed.sum() == 60 * 2 + 40 + 15 * 2
    np.testing.assert_allclose(sums[decayed], p[decayed], rtol=0, atol=1e-14 * np.abs(p[decayed]).max())
    # primary vertex: beams in, mother == -1 non-beams out
    bal = np.zeros((len(counts), 4))
    np.add.at(bal, event_of[status == 4], p[status == 4])
    prim = (mother == -1) & (status != 4)
    np.add.at(bal, event_of[prim], -p[prim])
    assert np.max(np.abs(bal)) < 1e-14 * np.abs(p).max()
    # decay products start where the mother's path ends: downstream of its production vertex in time
    vt = ak.to_numpy(ak.flatten(ev["vt"]))
    assert np.all(vt[dau] >= vt[first[event_of[dau]] + mother[dau]])


def test_run_tree_strings_and_rate(run, root_file):
    """Run tree entries, TObjStrings (card, version, channels, metadata JSON), sum of weights = rate."""
    blocks, run_info = run
    with uproot.open(root_file) as f:
        r = f["run"].arrays()
        assert len(r) == 1
        assert str(f["card"]) == run_info["card"]
        assert str(f["version"]) == run_info["version"]
        assert json.loads(str(f["channels"])) == ["incoherent_p", "coherent_C12"]
        meta = json.loads(str(f["metadata_json"]))
        w = f["events"]["weight"].array(library="np")
    assert meta == json.loads(json.dumps(run_metadata(blocks, run_info)))
    assert r["seed"][0] == run_info["seed"] and r["n_events"][0] == 115
    assert r["pot"][0] == run_info["pot"] and r["luminosity_fb"][0] == 0.0
    assert r["n_channels"][0] == 2
    # pb = 1e-36 cm^2; these channels have no nucleon key: one scatterer per atom
    assert r["sigma_pb"][0].tolist() == pytest.approx([2.0e-5, 5.0e-4], rel=1e-12)
    assert r["sigma_err_pb"][0].tolist() == pytest.approx([1.0e-7, 2.0e-6], rel=1e-12)
    assert r["sigma_per_scatterer_cm2"][0].tolist() == [2.0e-41, 5.0e-40]
    assert r["sigma_err_per_scatterer_cm2"][0].tolist() == [1.0e-43, 2.0e-42]
    with uproot.open(root_file) as f:  # channels without production "upscattering": not a neutrino-beam run
        assert str(f["cross_section_scale"]) == "PerCollision"
        assert json.loads(str(f["channel_targets"])) == [None, None]
    assert r["expected_events"][0].tolist() == [1.0, 3.5]
    rate = sum(c["expected_events"] for c in run_info["channels"])
    assert w.sum() == pytest.approx(rate, rel=1e-12)  # fixtures scale weights to the channel rates
    assert r["sum_weights"][0] == pytest.approx(rate, rel=1e-12)


def test_read_root_helper(run, root_file):
    """read_root returns the events and the metadata (with card, version and the run entry)."""
    blocks, run_info = run
    ev, meta = read_root(root_file)
    assert "n_particles" not in ev.fields and set(ev.fields) == {*SCHEMA, "y_inel"}
    assert meta["card"] == run_info["card"] and meta["version"] == run_info["version"]
    assert meta["channel_names"] == ["incoherent_p", "coherent_C12"]
    assert meta["hnl_ctau0_cm"] == run_info["hnl_ctau0_cm"]
    assert meta["run"]["sigma_per_scatterer_cm2"] == [2.0e-41, 5.0e-40] and meta["run"]["n_events"] == 115
    sub, _ = read_root(root_file, branches=["E", "weight"], entry_start=5, entry_stop=9)
    assert sub.fields == ["E", "weight"] and len(sub) == 4
    assert ak.to_list(sub["E"][0]) == blocks[0].p[5, :, 0].tolist()
    with pytest.raises(DataFileError, match="nope"):
        read_root(root_file, branches=["nope"])


def test_read_root_rejects_foreign_files(tmp_path):
    """A missing file or a ROOT file without the run objects gives DataFileError naming what is missing."""
    with pytest.raises(DataFileError, match=r"absent\.root does not exist"):
        read_root(tmp_path / "absent.root")
    (tmp_path / "text.root").write_text("not ROOT")
    with pytest.raises(DataFileError, match=r"text\.root is not a readable ROOT file"):
        read_root(tmp_path / "text.root")
    with uproot.recreate(tmp_path / "other.root") as f:
        f.mktree("events", {"x": "float64"})
    with pytest.raises(DataFileError, match="run"):
        read_root(tmp_path / "other.root")


@pytest.mark.parametrize(("chunk_size", "compression", "rntuple"),
                         [(50_000, "zlib", False), (1, "none", False), (7, "zstd", True)])
def test_layout_options_give_same_content(run, root_file, tmp_path, chunk_size, compression, rntuple):
    """Chunking across block boundaries, compression and the RNTuple option do not change the content."""
    blocks, run_info = run
    path = write_root(tmp_path / "o.root", blocks, run_info, chunk_size=chunk_size, compression=compression,
                      rntuple=rntuple)
    with uproot.open(path) as f:
        assert f.classname_of("events") == ("ROOT::RNTuple" if rntuple else "TTree")
    ev, meta = read_root(path)
    ref, ref_meta = read_root(root_file)
    assert ev.fields == ref.fields
    for name in ref.fields:
        assert str(ak.type(ev[name])) == str(ak.type(ref[name])), name
        if ref[name].ndim > 1:
            np.testing.assert_array_equal(ak.num(ev[name]), ak.num(ref[name]))
        # NaN (y_inel of blocks without it) compares equal position by position in assert_array_equal
        np.testing.assert_array_equal(ak.to_numpy(ak.ravel(ev[name])), ak.to_numpy(ak.ravel(ref[name])))
    assert meta == ref_meta


@pytest.mark.parametrize("case", ["chunk", "compression", "clash"])
def test_bad_options_raise(run, tmp_path, case):
    """Bad options raise OutputError naming the value; nothing is written."""
    blocks, run_info = run
    kwargs = {}
    if case == "chunk":
        kwargs, match = {"chunk_size": 0}, "chunk_size"
    elif case == "compression":
        kwargs, match = {"compression": "gzip9"}, "gzip9"
    else:
        b = blocks[0]
        blocks = [type(b)(**{**b.__dict__, "info": {**b.info, "pdg": np.zeros(b.n_events)}}), *blocks[1:]]
        match = "pdg"
    with pytest.raises(OutputError, match=match):
        write_root(tmp_path / "bad.root", blocks, run_info, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_streaming_writer_columns_and_event_id(run, root_file, tmp_path):
    """RootWriter chunk by chunk: info columns declared in the header cover chunks that lack them (NaN), the
    internal ``chunk`` column is never written, event_id continues across chunks; equals write_root of all."""
    from generator.io import RootWriter

    blocks, run_info = run
    tagged = [type(b)(**{**b.__dict__, "info": {**b.info, "chunk": np.zeros(b.n_events, dtype=np.int64)}})
              for b in blocks]
    # channel-major chunks: the block without y_inel comes first, so the header must declare it
    order = sorted(range(len(tagged)), key=lambda i: "y_inel" in tagged[i].info)
    w = RootWriter(tmp_path / "s.root", {**run_info, "info_columns": ["y_inel"]}, chunk_size=10)
    for i in order:
        w.write([tagged[i]])
    w.close(run_info)
    ev, _ = read_root(tmp_path / "s.root")
    ref, _ = read_root(root_file)
    assert "chunk" not in ev.fields and set(ev.fields) == set(ref.fields)
    np.testing.assert_array_equal(ev["event_id"], np.arange(115))  # entry index: no event_id in these blocks
    perm = np.concatenate([np.arange(sum(b.n_events for b in blocks[:i]), sum(b.n_events for b in blocks[:i + 1]))
                           for i in order])
    for name in ref.fields:
        if name != "event_id":
            np.testing.assert_array_equal(ak.to_numpy(ak.ravel(ev[name])), ak.to_numpy(ak.ravel(ref[name][perm])), name)
    # a column that appears after the tree exists and was not declared is an error naming it
    w = RootWriter(tmp_path / "bad.root", run_info)
    w.write([tagged[order[0]]])
    with pytest.raises(OutputError, match=r"\['y_inel'\].*run_info\['info_columns'\]"):
        w.write([tagged[order[-1]]])
    w.abort()
