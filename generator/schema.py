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
        msg = f"{value!r} has the wrong type; expected {type_name(tp)}"
        raise CardError(key, msg)
    if origin is list:
        (arg,) = typing.get_args(tp)
        if not isinstance(value, list):
            msg = f"{value!r} has the wrong type; expected {type_name(tp)}"
            raise CardError(key, msg)
        return [check_type(f"{key}[{i}]", v, arg) for i, v in enumerate(value)]
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            msg = f"{value!r} has the wrong type; expected a number"
            raise CardError(key, msg)
        if not math.isfinite(float(value)):
            msg = f"{value!r} is not finite"
            raise CardError(key, msg)
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            msg = f"{value!r} has the wrong type; expected an integer"
            raise CardError(key, msg)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            msg = f"{value!r} has the wrong type; expected true or false"
            raise CardError(key, msg)
        return value
    if tp is str:
        if not isinstance(value, str):
            msg = f"{value!r} has the wrong type; expected a string"
            raise CardError(key, msg)
        return value
    if tp is dict:
        if not isinstance(value, dict):
            msg = f"{value!r} has the wrong type; expected a table"
            raise CardError(key, msg)
        return value
    msg = f"unsupported schema type {tp!r} for {key}"
    raise TypeError(msg)


def from_table(cls: type, table: dict, section: str):
    """Build a section dataclass from a TOML table, rejecting unknown keys."""
    if not isinstance(table, dict):
        msg = f"must be a table ([{section}]), got {table!r}"
        raise CardError(section, msg)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in table.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            card_key = f"{section}.{key}"
            msg = f"unknown key; allowed keys in [{section}]: {', '.join(sorted(fields))}.{hint}"
            raise CardError(
                card_key,
                msg,
            )
        kwargs[key] = check_type(f"{section}.{key}", value, hints[key])
    for name, f in fields.items():
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            card_key = f"{section}.{name}"
            raise CardError(card_key, "missing (required key)")
    obj = cls(**kwargs)
    if hasattr(obj, "validate"):
        obj.validate(section)
    return obj


def choice(key: str, value: str, allowed) -> None:
    if value not in allowed:
        close = difflib.get_close_matches(str(value), list(allowed), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        msg = f"{value!r} is not allowed; allowed: {', '.join(map(repr, allowed))}.{hint}"
        raise CardError(key, msg)


def positive(key: str, value: float | int | None, strict: bool = True) -> None:
    if value is None:
        return
    if (strict and not value > 0) or (not strict and value < 0):
        rule = "> 0" if strict else ">= 0"
        msg = f"= {value}: must be {rule}"
        raise CardError(key, msg)


__all__ = ["check_type", "choice", "from_table", "positive", "type_name"]
