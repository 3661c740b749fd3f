"""The one loader of the shipped definition files (package data under generator/data/).

Experiments (data/experiments/*.toml), colliders (data/colliders/*.toml), kaon beam lines (experiments with a
``meson`` key), scattering targets (data/targets.toml) and the flux parameterisations (data/flux_params.json) are
all read here, through ``importlib.resources`` (so an installed, non-editable package finds them), or from a path
a user gives. :class:`Field` / :func:`check_table` validate a table against a small schema; every error is a
:class:`generator.errors.DataTableError` naming the file and the key.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from generator.errors import DataTableError

_NUMBER = (int, float)


def data_dir(*parts: str) -> Traversable:
    """A folder or file of the shipped package data, e.g. ``data_dir("colliders")``."""
    node = resources.files("generator") / "data"
    for p in parts:
        node = node / p
    return node


def read_file(source: Traversable | Path | str) -> dict:
    """Parse a TOML or JSON definition file (package resource or filesystem path) into a dict.

    DataTableError (key ``<file>``) when it cannot be read or parsed.
    """
    src = source if isinstance(source, Traversable) else Path(str(source))
    name = str(src)
    try:
        text = src.read_text()
    except OSError as exc:
        raise DataTableError(name, "<file>", f"cannot be read ({exc})") from None
    try:
        return json.loads(text) if name.endswith(".json") else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        msg = f"is not valid {'JSON' if name.endswith('.json') else 'TOML'} ({exc})"
        raise DataTableError(name, "<file>", msg) from None


def shipped_files(folder: str, suffix: str = ".toml") -> dict[str, Traversable]:
    """File stem -> resource of the shipped files in ``generator/data/<folder>``."""
    return {e.name[: -len(suffix)]: e for e in data_dir(folder).iterdir() if e.name.endswith(suffix)}


@dataclass(frozen=True)
class Field:
    """One key of a definition table: its accepted types, whether it is required, and an optional check.

    ``check(value) -> bool`` states the rule; ``rule`` is its wording for the error message ("> 0").
    """

    types: type | tuple[type, ...]
    required: bool = True
    check: object = None
    rule: str = ""


def positive(rule: str = "> 0") -> dict:
    """Keyword arguments of a :class:`Field` that must be a finite number > 0."""
    return {"check": lambda v: math.isfinite(v) and v > 0, "rule": rule}


def check_table(table: object, schema: dict[str, Field], file: str, where: str = "",
                allow_unknown: bool = False) -> dict:
    """Validate ``table`` against ``schema``; return it. DataTableError names the file and the dotted key.

    Booleans are not numbers here (TOML ``true`` is not a count); unknown keys are errors unless ``allow_unknown``.
    """
    prefix = f"{where}." if where else ""
    if not isinstance(table, dict):
        raise DataTableError(file, where or "<file>", f"= {table!r}: must be a table")
    if not allow_unknown:
        unknown = sorted(set(table) - set(schema))
        if unknown:
            raise DataTableError(file, prefix + unknown[0], f"unknown key; allowed: {', '.join(sorted(schema))}")
    for key, f in schema.items():
        if key not in table:
            if f.required:
                raise DataTableError(file, prefix + key, "missing (required key)")
            continue
        val = table[key]
        types = f.types if isinstance(f.types, tuple) else (f.types,)
        if (isinstance(val, bool) and bool not in types) or not isinstance(val, types):
            names = " or ".join(t.__name__ for t in types)
            raise DataTableError(file, prefix + key, f"= {val!r}: must be of type {names}")
        if f.check is not None and not f.check(val):
            raise DataTableError(file, prefix + key, f"= {val!r}: must be {f.rule}")
    return table


def lookup_name(name: str, known: Iterable[str]) -> str | None:
    """The known name equal to ``name`` ignoring case, spaces, '-' and '_' (None if there is none)."""
    def norm(s: str) -> str:
        return "".join(c for c in s.lower() if c not in " -_")

    table = {norm(k): k for k in known}
    return table.get(norm(str(name)))


NUMBER = _NUMBER

__all__ = ["NUMBER", "Field", "check_table", "data_dir", "lookup_name", "positive", "read_file", "shipped_files"]
