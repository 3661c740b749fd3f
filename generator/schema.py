"""Generic checks of TOML tables against dataclass schemas: the types, unknown keys and value rules of cards.

Every failure raises CardError naming the dotted key, the value and what is allowed (with close matches for a
mistyped key). Used by the card sections (generator/card.py).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from typing import Any

from generator.errors import CardError


def type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is list:
        (arg,) = typing.get_args(tp)
        return f"list of {type_name(arg)}"
    return {float: "number", int: "integer", str: "string", bool: "true or false", dict: "table"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def check_type(key: str, value: Any, tp: Any) -> Any:
    """Check (and coerce int -> float) a TOML value against a type annotation."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None and type(None) in typing.get_args(tp):
            return None
        errors = []
        for a in args:
            try:
                return check_type(key, value, a)
            except CardError as exc:
                errors.append(exc)
        raise CardError(key, f"{value!r} has the wrong type; expected {type_name(tp)}")
    if origin is list:
        (arg,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise CardError(key, f"{value!r} has the wrong type; expected {type_name(tp)}")
        return [check_type(f"{key}[{i}]", v, arg) for i, v in enumerate(value)]
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CardError(key, f"{value!r} has the wrong type; expected a number")
        if not math.isfinite(float(value)):
            raise CardError(key, f"{value!r} is not finite")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CardError(key, f"{value!r} has the wrong type; expected an integer")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise CardError(key, f"{value!r} has the wrong type; expected true or false")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise CardError(key, f"{value!r} has the wrong type; expected a string")
        return value
    if tp is dict:
        if not isinstance(value, dict):
            raise CardError(key, f"{value!r} has the wrong type; expected a table")
        return value
    msg = f"unsupported schema type {tp!r} for {key}"
    raise TypeError(msg)


def from_table(cls: type, table: dict, section: str):
    """Build a section dataclass from a TOML table, rejecting unknown keys."""
    if not isinstance(table, dict):
        raise CardError(section, f"must be a table ([{section}]), got {table!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in table.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            msg = f"{section}.{key}"
            raise CardError(
                msg,
                f"unknown key; allowed keys in [{section}]: {', '.join(sorted(fields))}.{hint}",
            )
        kwargs[key] = check_type(f"{section}.{key}", value, hints[key])
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            msg = f"{section}.{name}"
            raise CardError(msg, "missing (required key)")
    obj = cls(**kwargs)
    if hasattr(obj, "validate"):
        obj.validate(section)
    return obj


def choice(key: str, value: str, allowed) -> None:
    if value not in allowed:
        close = difflib.get_close_matches(str(value), list(allowed), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise CardError(key, f"{value!r} is not allowed; allowed: {', '.join(map(repr, allowed))}.{hint}")


def positive(key: str, value: float | int | None, strict: bool = True) -> None:
    if value is None:
        return
    if (strict and not value > 0) or (not strict and value < 0):
        rule = "> 0" if strict else ">= 0"
        raise CardError(key, f"= {value}: must be {rule}")


__all__ = ["check_type", "choice", "from_table", "positive", "type_name"]
