"""Shared test fixtures: the paper's benchmark models and a steering-card builder.

- ``bp_models`` (session): {"BP-A": Model, ..., "BP-D": Model}, the presets of Table III in the default
  (physical) vertex convention. Models are immutable after construction, so one instance serves all tests.
- ``make_card`` : ``make_card(**sections) -> Card``; each keyword is a card section given as a dict
  (``make_card(run={"n_events": 100}, output={"formats": ["root"]})``). ``[model]`` defaults to
  ``{"preset": "BP-B"}``. The dicts are written as TOML and go through :func:`generator.card.parse_card`, so the
  card is validated exactly as a file would be and ``card.text`` holds the TOML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest

from generator.card import Card, parse_card

BENCHMARKS = ("BP-A", "BP-B", "BP-C", "BP-D")


def _toml_value(value) -> str:
    """TOML literal of a card value (str, bool, int, float, nested lists); raises TypeError otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    msg = f"card value {value!r} of type {type(value).__name__}: make_card takes str, bool, int, float or lists"
    raise TypeError(msg)


def card_toml(sections: Mapping[str, Mapping]) -> str:
    """TOML text of ``{section: {key: value}}`` (the layout of a steering card)."""
    lines = []
    for name, table in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml_value(val)}" for key, val in table.items()]
        lines.append("")
    return "\n".join(lines)


def build_card(**sections: Mapping) -> Card:
    """A validated Card from section dicts; [model] defaults to preset BP-B (see module docstring)."""
    sections.setdefault("model", {"preset": "BP-B"})
    return parse_card(card_toml(sections))


@pytest.fixture(scope="session")
def bp_models() -> dict:
    """The four benchmark models of Table III, {"BP-A": Model, ...} (physical convention)."""
    from generator.model.model import Model
    from generator.model.parameters import preset

    return {bp: Model(preset(bp)) for bp in BENCHMARKS}


@pytest.fixture
def make_card():
    """The card builder :func:`build_card` (``make_card(run={...}, output={...}) -> Card``)."""
    return build_card
