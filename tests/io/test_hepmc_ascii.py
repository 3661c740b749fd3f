"""The template kernel of the HepMC3 writer (generator.io.hepmc_ascii) writes pyhepmc's bytes.

The reference is the same writer with ``engine="pyhepmc"`` (every event built as a pyhepmc.GenEvent and written by
HepMC3's WriterAscii). Files are compared byte for byte, no tolerance: the kernel must be a faster way to the same
text. Each case also checks that the kernel was used, so that a silent fall-back to pyhepmc cannot pass.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from generator.io import hepmc_ascii
from generator.io.hepmc import HepMCWriter, _slice
from tests.io.test_io_synthetic import coherent_block, decay_block, incoherent_block, make_run

pytestmark = pytest.mark.skipif(not hepmc_ascii.available(), reason="the C library has no strfromd")


def _write(path, blocks, run_info, engine, chunks=1, **kw):
    """Write ``blocks`` in ``chunks`` write calls; returns the bytes and the writer."""
    w = HepMCWriter(path, {"weight_unit": "events", **run_info}, engine=engine, **kw)
    step = -(-len(blocks) // chunks)
    for k in range(0, len(blocks), step):
        w.write(blocks[k:k + step])
    w.close()
    data = path.read_bytes() if path.suffix != ".gz" else gzip.decompress(path.read_bytes())
    return data, w


def _same_as_pyhepmc(tmp_path, blocks, run_info, **kw):
    ref, _ = _write(tmp_path / "ref.hepmc3", blocks, run_info, "pyhepmc", **kw)
    fast, w = _write(tmp_path / "fast.hepmc3", blocks, run_info, "auto", **kw)
    assert fast == ref
    return w


HNLS = {"hnl_mass_GeV": {"N4": 0.03, "N5": 0.12, "N6": 0.4}}  # GeV, declared in the header (G.R.11)


def _numbered(blocks):
    first = 0
    for b in blocks:
        b.info["event_id"] = np.arange(first, first + b.n_events, dtype=np.int64)
        first += b.n_events
    return blocks


def test_neutrino_run_with_reordered_beams_in_two_chunks(tmp_path):
    """Coherent, incoherent and a coherent block whose beams are not contiguous (two layouts of one channel)."""
    blocks, run_info = make_run(seed=5, n_coh=300, n_inc=200, n_perm=100)
    w = _same_as_pyhepmc(tmp_path, _numbered(blocks), {**run_info, **HNLS}, chunks=2)
    assert len(w._channels) == 3  # the permuted block has its own layout and template
    assert all(ch.template is not None for ch in w._channels.values())


def test_incoherent_scattering_on_a_nucleus_adds_target_and_remnant(tmp_path):
    """NuHepMC nucleon separation (target nucleus 20 -> struck nucleon 21 + remnant at a status-21 vertex)."""
    rng = np.random.default_rng(2)
    blocks = _numbered([incoherent_block(rng, 500, channel="inc")])
    blocks[0].x[::4, :4] = 0.0  # primary vertex at the origin: its position and the separation vertex's omitted
    blocks[0].x[1::4, 4:] = 0.0  # N5 decay at the origin: writes the primary vertex's position (inherited)
    run_info = {"version": "t", "seed": 1, "card": "", "pot": 1e20,
                "channels": [{"name": "inc", "production": "upscattering", "nucleon": "p", "target": "C12",
                              "target_pdg": 1000060120,
                              "sigma_per_scatterer_cm2": 1e-39, "sigma_err_per_scatterer_cm2": 1e-41,
                              "expected_events": 1.0}],
                **HNLS}
    w = _same_as_pyhepmc(tmp_path, blocks, run_info)
    (ch,) = w._channels.values()
    assert ch.template is not None and ch.lay.nucleon >= 0


def test_zero_positions_extreme_values_and_nan(tmp_path):
    """A vertex at exactly (0, 0, 0, 0) is written without ``@`` (in some events only); huge lab positions (%f
    with hundreds of digits), -0.0, denormal and huge momenta, and a NaN weight in the middle of a slice."""
    rng = np.random.default_rng(4)
    b = coherent_block(rng, 400, channel="coh")
    b.x[::3, :4] = 0.0  # primary vertex and its particles at the origin in every third event
    b.x[1::7, 4:7] = 0.0  # N6 decay vertex at the origin
    b.x[5, :4, 1:4] = 1e300  # cm: ~310-digit %f text of lab_pos
    b.p[7, 2, 1] = -0.0
    b.p[8, 5, 2] = 5e-324
    b.p[9, 3, 3] = -1.7e150  # GeV; its square still fits a double (the mass)
    b.weight[200] = np.nan
    run_info = {"version": "t", "seed": 1, "card": "", "pot": 1e20,
                "channels": [{"name": "coh", "production": "upscattering", "sigma_per_scatterer_cm2": 1e-39,
                              "sigma_err_per_scatterer_cm2": 0.0,
                              "expected_events": 1.0}],
                **HNLS}
    w = _same_as_pyhepmc(tmp_path, _numbered([b]), run_info)
    assert all(ch.template is not None for ch in w._channels.values())
    text = (tmp_path / "fast.hepmc3").read_text()
    assert "V -1 1 [1,2]\n" in text and "V -1 1 [1,2] @ " in text  # omitted where zero, written elsewhere


def test_decay_record_without_beams_gzip_and_precision(tmp_path):
    b, _ = decay_block(np.random.default_rng(3), 50)
    run_info = {"version": "t", "seed": 1, "card": "", "channels": [{"name": "decay"}], **HNLS}
    for kw in ({}, {"gzip": True}, {"precision": 5}):
        sub = tmp_path / str(len(list(tmp_path.iterdir())))
        sub.mkdir()
        name = "x.hepmc3.gz" if kw.get("gzip") else "x.hepmc3"
        ref, _ = _write(sub / f"ref.{name}", [b], run_info, "pyhepmc", **kw)
        fast, w = _write(sub / f"fast.{name}", [b], run_info, "auto", **kw)
        assert fast == ref, kw
        assert all(ch.template is not None for ch in w._channels.values())


def test_particles_of_one_vertex_at_different_positions_go_through_pyhepmc(tmp_path):
    """A record HEPEVT cannot hold with one vertex position per vertex is left to pyhepmc: same bytes."""
    rng = np.random.default_rng(6)
    b = coherent_block(rng, 30, channel="coh")
    b.x[10:12, 8] += 1.0  # one daughter of the N5 decay elsewhere, in two events of the slice
    run_info = {"version": "t", "seed": 1, "card": "", "channels": [{"name": "coh"}], **HNLS}
    w = _same_as_pyhepmc(tmp_path, [b], run_info)
    (ch,) = w._channels.values()
    assert ch.template is not None  # compiled from the first event, whose vertices are consistent
    values = _slice(b, ch.lay, slice(0, 30), 0).values()
    assert not ch.template.positions_agree(values) and ch.template.encode(values) is None
    assert ch.template.positions_agree(np.delete(values, [10, 11], axis=0))


def test_a_template_that_disagrees_with_pyhepmc_is_dropped_with_a_warning(tmp_path, monkeypatch):
    blocks, run_info = make_run(seed=8)
    compile_ = hepmc_ascii.compile_template

    def broken(record, n_particles, event_number):
        t = compile_(record, n_particles, event_number)
        t.literal[t.literal == ord("U")] = ord("u")  # "u GEV MM": wrong in every event
        return t

    monkeypatch.setattr(hepmc_ascii, "compile_template", broken)
    with pytest.warns(RuntimeWarning, match="differs from pyhepmc's text"):
        w = _same_as_pyhepmc(tmp_path, _numbered(blocks), {**run_info, **HNLS})
    assert all(ch.template is None for ch in w._channels.values())


@pytest.mark.parametrize("line", ["A 0 E_nu 1.5", "C 1.0 2.0", "E 0 2 7 @ 1.0 2.0 3.0 4.0"])
def test_records_with_lines_the_template_does_not_know_are_refused(line):
    record = ("E 0 2 7\nU GEV MM\nW 1.0000000000000000000000e+00\n"
              "P 1 0 14 0.0000000000000000e+00 0.0000000000000000e+00 1.0e+00 1.0e+00 0.0e+00 4\n")
    assert hepmc_ascii.compile_template(record, 1, 0) is not None
    head, rest = record.split("\n", 1)
    bad = f"{line}\n{rest}" if line.startswith("E") else f"{head}\n{line}\n{rest}"
    assert hepmc_ascii.compile_template(bad, 1, 0) is None


def test_a_particle_line_without_exponent_floats_is_refused():
    """Vertex positions take the P lines' %.<d>e format: a P line in another format is refused, not guessed."""
    record = "E 0 0 1\nU GEV MM\nW 1.0e+00\nP 1 0 14 0.000000 0.000000 1.000000 1.000000 0.000000 4\n"
    assert hepmc_ascii.compile_template(record, 1, 0) is None
