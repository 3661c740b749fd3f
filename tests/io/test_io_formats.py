"""The output-format registry (generator.io.formats): card schema and run read the same registry;
the worked example of docs/extending.md ("An output format") runs as written."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from generator.card import OutputSection
from generator.errors import CardError, OutputError, UnknownNameError
from generator.io import OutputError as IoOutputError
from generator.io.formats import (
    OUTPUT_FORMATS,
    OutputFormat,
    get_output_format,
    open_writers,
    register_output_format,
    write_formats,
)
from tests.io.test_io_synthetic import MASSES, make_run

EXTENDING = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


def test_builtin_formats_and_card_schema_agree(make_card):
    assert list(OUTPUT_FORMATS) == ["hepmc3", "root", "rntuple"]
    for name in OUTPUT_FORMATS:
        assert make_card(output={"formats": [name]}).output.formats == [name]
    with pytest.raises(CardError, match=r"output\.formats.*'lhe' is not allowed; allowed: 'hepmc3', 'root', 'rntuple'"):
        make_card(output={"formats": ["lhe"]})


def test_output_error_lives_in_errors_module():
    assert IoOutputError is OutputError


@pytest.mark.parametrize(("formats", "gzip", "expected"), [
    (["hepmc3"], False, {"hepmc3": "events.hepmc3"}),
    (["hepmc3"], True, {"hepmc3": "events.hepmc3.gz"}),
    (["rntuple"], False, {"rntuple": "events.root"}),
    (["rntuple", "root"], False, {"root": "events.root", "rntuple": "events_rntuple.root"}),
])
def test_file_names(formats, gzip, expected):
    output = OutputSection(formats=formats, gzip=gzip)
    assert {n: OUTPUT_FORMATS[n].file_name(output) for n in formats} == expected


def test_registration_rules():
    with pytest.raises(OutputError, match="'root' is already registered"):
        register_output_format(OutputFormat("root", "generator.io.root:RootWriter", lambda o: "x.root", "again"))
    with pytest.raises(OutputError, match="must be 'module:Class'"):
        register_output_format(OutputFormat("bad", "generator.io.root.RootWriter", lambda o: "x", "bad"))
    assert "bad" not in OUTPUT_FORMATS
    with pytest.raises(UnknownNameError, match=r"unknown output format 'roo'.*Did you mean 'root'"):
        get_output_format("roo")
    broken = OutputFormat("broken", "generator.io.root:no_such_writer", lambda o: "x", "broken")
    with pytest.raises(OutputError, match=r"'broken': writer 'generator\.io\.root:no_such_writer' cannot be imported"):
        broken.load_writer()


def _code_blocks(section: str) -> list[str]:
    """The ```python blocks of one '## ' section of docs/extending.md."""
    text = EXTENDING.read_text()
    start = text.index(f"## {section}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end if end > 0 else None], flags=re.DOTALL)


@pytest.fixture
def csv_format(tmp_path, monkeypatch):
    """The docs' worked example, installed as module ``docs_csv_example`` and registered; removed afterwards."""
    module_code, registration = _code_blocks("An output format")
    (tmp_path / "docs_csv_example.py").write_text(module_code)
    monkeypatch.syspath_prepend(str(tmp_path))
    registration = registration.replace("generator.io.csv:", "docs_csv_example:")
    assert "docs_csv_example:CsvWriter" in registration
    exec(registration, {"register_output_format": register_output_format, "OutputFormat": OutputFormat})
    yield OUTPUT_FORMATS["csv"]
    del OUTPUT_FORMATS["csv"]
    sys.modules.pop("docs_csv_example", None)


def test_worked_example_csv(csv_format, make_card, tmp_path):
    card = make_card(output={"formats": ["csv", "root"], "gzip": True})  # the schema now accepts "csv"
    blocks, run_info = make_run()
    files = write_formats(tmp_path / "run", blocks, run_info, card.output)
    assert list(files) == ["root", "csv"]  # registry order, not card order
    assert Path(files["csv"]).name == "events.csv"
    lines = Path(files["csv"]).read_text().splitlines()
    assert lines[0] == "# channels: incoherent_p coherent_C12" and lines[-1] == "# n_events: 115"
    table = np.loadtxt(files["csv"], delimiter=",", skiprows=3, comments="#")
    n_events = sum(b.n_events for b in blocks)
    assert table.shape == (n_events, 4)
    # the same events through the ROOT file, read back with uproot (a different reader than numpy's)
    with uproot.open(files["root"]) as f:
        ev = f["events"].arrays(["weight", "channel", "event_id", "n_particles"], library="np")
    np.testing.assert_array_equal(table[:, 0], ev["event_id"])
    np.testing.assert_array_equal(table[:, 0], np.arange(n_events))
    np.testing.assert_array_equal(table[:, 1], ev["channel"])
    np.testing.assert_array_equal(table[:, 2], ev["weight"])  # %.17g round-trips doubles
    np.testing.assert_array_equal(table[:, 3], ev["n_particles"])


def test_a_format_without_encoder_is_refused_by_a_parallel_run_before_any_work(csv_format, make_card, tmp_path):
    from generator.run import run_card

    card = make_card(output={"formats": ["csv", "root"]})
    with pytest.raises(CardError, match="'csv' registers no encoder"):
        run_card(card, out_dir=tmp_path / "out", workers=2)
    assert not (tmp_path / "out").exists()  # refused before the run directory (and any cluster) exists


def test_encoded_chunks_make_the_same_files_as_the_writers(tmp_path):
    """The parallel path (encoder on a worker, sink in the run's process) writes what the streaming writers write:
    ROOT arrays equal, HepMC3 bytes equal."""
    blocks, run_info = make_run()
    from generator.io.root import info_columns

    # the header declares every HNL (G.R.11) and every info column (each chunk is encoded on its own)
    run_info = {**run_info, "hnl_mass_GeV": dict.fromkeys(("N4", "N5", "N6"), 0.1),
                "info_columns": info_columns(blocks)}
    first = 0
    for b in blocks:  # run-wide event numbers, as a run's chunks carry them
        b.info["event_id"] = np.arange(first, first + b.n_events, dtype=np.int64)
        first += b.n_events
    output = OutputSection(formats=["hepmc3", "root"])
    direct = write_formats(tmp_path / "direct", blocks, run_info, output)
    with pytest.raises(OutputError, match="event_id"):
        get_output_format("root").encode([make_run()[0][0]], run_info, output, tmp_path / "s")
    for name, fmt in ((n, get_output_format(n)) for n in ("hepmc3", "root")):
        path = tmp_path / fmt.file_name(output)
        sink = fmt.open_appender(path, {"weight_unit": "events", **run_info}, output)
        for k, b in enumerate(blocks):  # one chunk per block
            sink.write_encoded(fmt.encode([b], {"weight_unit": "events", **run_info}, output, tmp_path / f"spool{k}"))
        sink.close({"weight_unit": "events", **run_info})
        if name == "hepmc3":
            assert path.read_bytes() == Path(direct[name]).read_bytes()
        else:
            with uproot.open(path) as f, uproot.open(direct[name]) as g:
                a, b = f["events"].arrays(library="np"), g["events"].arrays(library="np")
                assert sorted(a) == sorted(b)
                for key in a:
                    assert np.array_equal(a[key], b[key], equal_nan=True) if a[key].dtype != object else \
                        all(np.array_equal(x, y) for x, y in zip(a[key], b[key], strict=True))


def test_streaming_chunks_equal_one_write(tmp_path):
    """open / write per chunk / close gives the same ROOT arrays and HepMC3 bytes as one write of everything."""
    blocks, run_info = make_run()
    run_info["hnl_mass_GeV"] = {f"N{j}": m for j, m in MASSES.items()}  # the header declares N4..N6 before any event
    output = OutputSection(formats=["root", "hepmc3"], gzip=False)
    whole = write_formats(tmp_path / "whole", blocks, run_info, output)
    (tmp_path / "chunked").mkdir()
    writers = open_writers(lambda name: tmp_path / "chunked" / name, {**run_info, "weight_unit": "events"}, output)
    # chunks that cut blocks in pieces, plus an empty chunk
    pieces = [[blocks[0].select(np.arange(0, 25))], [], [blocks[0].select(np.arange(25, 60)), blocks[1]], [blocks[2]]]
    for chunk in pieces:
        for _, w in writers.values():
            w.write(chunk)
    for _, w in writers.values():
        w.close(run_info)
    assert Path(writers["hepmc3"][0]).read_bytes() == Path(whole["hepmc3"]).read_bytes()
    with uproot.open(whole["root"]) as a, uproot.open(writers["root"][0]) as b:
        ea, eb = a["events"].arrays(), b["events"].arrays()
        assert ea.fields == eb.fields
        for name in ea.fields:
            np.testing.assert_array_equal(ak.to_numpy(ak.ravel(ea[name])), ak.to_numpy(ak.ravel(eb[name])), name)
        assert json.loads(str(a["metadata_json"])) == json.loads(str(b["metadata_json"]))
