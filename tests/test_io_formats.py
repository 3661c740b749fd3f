"""The output-format registry (generator.io.formats): card schema and run read the same registry;
the worked example of docs/extending.md ("An output format") runs as written."""

from __future__ import annotations

import re
import sys
from pathlib import Path

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
    register_output_format,
    write_formats,
)
from tests.test_io_synthetic import make_run

EXTENDING = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


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
        register_output_format(OutputFormat("root", "generator.io.root:write_root", lambda o: "x.root", "again"))
    with pytest.raises(OutputError, match="must be 'module:function'"):
        register_output_format(OutputFormat("bad", "generator.io.root.write_root", lambda o: "x", "bad"))
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
def npz_format(tmp_path, monkeypatch):
    """The docs' worked example, installed as module ``docs_npz_example`` and registered; removed afterwards."""
    module_code, registration = _code_blocks("An output format")
    (tmp_path / "docs_npz_example.py").write_text(module_code)
    monkeypatch.syspath_prepend(str(tmp_path))
    registration = registration.replace("generator.io.npz:", "docs_npz_example:")
    assert "docs_npz_example:write_npz" in registration
    exec(registration, {"register_output_format": register_output_format, "OutputFormat": OutputFormat})
    yield OUTPUT_FORMATS["npz"]
    del OUTPUT_FORMATS["npz"]
    sys.modules.pop("docs_npz_example", None)


def test_worked_example_npz(npz_format, make_card, tmp_path):
    card = make_card(output={"formats": ["npz", "root"], "gzip": True})  # the schema now accepts "npz"
    blocks, run_info = make_run()
    files = write_formats(tmp_path / "run", blocks, run_info, card.output)
    assert list(files) == ["root", "npz"]  # registry order, not card order
    assert Path(files["npz"]).name == "events.npz"
    with np.load(files["npz"]) as f:
        npz = {k: f[k] for k in f.files}
    n_events = sum(b.n_events for b in blocks)
    assert npz["offsets"][-1] == sum(b.n_events * b.n_particles for b in blocks) == len(npz["pdg"])
    # the same events through the ROOT file, read back with uproot (a different reader than numpy's)
    with uproot.open(files["root"]) as f:
        ev = f["events"].arrays(["weight", "channel", "pdg", "E"], library="np")
    assert len(ev["weight"]) == n_events
    np.testing.assert_array_equal(npz["weight"], ev["weight"])
    np.testing.assert_array_equal(npz["channel"], ev["channel"])
    np.testing.assert_array_equal(npz["p"][:, 0], np.concatenate(ev["E"]))
    np.testing.assert_array_equal(npz["pdg"], np.concatenate(ev["pdg"]))
    assert list(npz["channel_names"]) == [c["name"] for c in run_info["channels"]]
