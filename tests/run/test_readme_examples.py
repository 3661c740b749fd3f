"""Every ```python block of README.md runs as written, so the README cannot drift from the code.

The blocks run in README order in one namespace (a later block may read the files an earlier one wrote), in a
temporary working directory. Statistics: a line ``NAME = VALUE  # readme-test: SMALL`` runs with ``SMALL`` in
place of ``VALUE`` (the README shows realistic numbers, the test stays fast).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
MARKER = re.compile(r"#\s*readme-test:\s*(?P<small>.+?)\s*$")
ASSIGNMENT = re.compile(r"^(?P<lhs>\s*[\w.\[\]\"']+\s*=\s*)(?P<rhs>[^#]+?)\s*(?=#)")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number of the opening fence, code) of every ```python block of a Markdown text."""
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in FENCE.finditer(text)]


def small_statistics(code: str, where: str) -> str:
    """The block with every ``# readme-test: SMALL`` assignment set to SMALL. A marker on a line that is not a
    simple assignment raises ValueError naming the line."""
    out = []
    for k, line in enumerate(code.splitlines(), 1):
        m = MARKER.search(line)
        if m:
            a = ASSIGNMENT.match(line)
            if a is None:
                msg = f"{where}, line {k} of the block: '# readme-test:' needs 'NAME = VALUE  # readme-test: SMALL'"
                raise ValueError(msg)
            out.append(f"{a.group('lhs')}{m.group('small')}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def test_small_statistics_substitution():
    code = 'x = 1\ncard.run.n_events = 10_000   # readme-test: 300\nprint(x)  # a comment\n'
    assert small_statistics(code, "t") == 'x = 1\ncard.run.n_events = 300\nprint(x)  # a comment\n'
    with pytest.raises(ValueError, match="line 1 of the block"):
        small_statistics("run(card)  # readme-test: 3\n", "t")


def test_python_blocks_are_found():
    text = "a\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\n```\n"
    assert python_blocks(text) == [(2, "x = 1\n"), (8, "y = 2\n")]


@pytest.mark.slow
def test_readme_python_examples_run(tmp_path, monkeypatch, capsys):
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 2, "README.md should show the library calls and reading the ROOT file"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    for line, code in blocks:
        where = f"README.md block at line {line}"
        exec(compile(small_statistics(code, where), where, "exec"), namespace)  # the README's own code
    out = capsys.readouterr().out
    assert "upscattering cross sections [cm^2 per target atom" in out
    assert (tmp_path / "outputs" / "miniboone_bp_b" / "events.root").is_file()
    assert len(namespace["events"]) == 300  # n_events is the run total (the small value of the test)
