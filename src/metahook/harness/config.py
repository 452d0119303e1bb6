"""Typed experiment configs: ``--set key=value`` overrides, JSON round trip.

A config is a plain dataclass (nanoGPT style). Overrides are checked against its fields and types
before anything is written: an unknown key or a value of the wrong type is a :class:`UsageError`.
Supported field types: ``int``, ``float``, ``bool``, ``str``, ``Literal[...]``, ``X | None`` and
``tuple[X, ...]`` / ``list[X]`` of those (written comma-separated: ``--set sizes=4,8,16``).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Literal, get_args, get_origin, get_type_hints

from metahook.harness.errors import UsageError, choices

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + "|".join(str(a) for a in get_args(tp))
    if origin in (tuple, list):
        return f"comma-separated {_type_name(get_args(tp)[0])}s"
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if tp is type(None):
        return "none"
    return getattr(tp, "__name__", str(tp))


def parse_value(text: str, tp: Any) -> Any:
    """Parse ``text`` as a value of type ``tp``; raise ``ValueError`` if it is not one."""
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        args = get_args(tp)
        if type(None) in args and text.lower() in ("none", "null", ""):
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return parse_value(text, arg)
            except ValueError:
                continue
        raise ValueError(text)
    if origin is Literal:
        for option in get_args(tp):
            if str(option) == text:
                return option
        raise ValueError(text)
    if origin in (tuple, list):
        (item,) = get_args(tp)[:1]
        parts = [p.strip() for p in text.split(",") if p.strip()]
        values = [parse_value(p, item) for p in parts]
        return tuple(values) if origin is tuple else values
    if tp is bool:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(text)
    if tp is int:
        try:
            return int(text)
        except ValueError:
            as_float = float(text)  # accepts 1e6
            if not as_float.is_integer():
                raise ValueError(text) from None
            return int(as_float)
    if tp is float:
        return float(text)
    if tp is str:
        return text
    raise ValueError(f"unsupported config type {tp!r}")


def apply_overrides(cfg: Any, overrides: list[str], experiment: str = "") -> Any:
    """Return a copy of ``cfg`` with ``key=value`` overrides applied and type-checked."""
    hints = get_type_hints(type(cfg))
    names = [f.name for f in dataclasses.fields(cfg)]
    changes: dict[str, Any] = {}
    where = f" of {experiment}" if experiment else ""
    for item in overrides:
        if "=" not in item:
            raise UsageError(f"--set expects key=value, got {item!r}; valid keys{where}: "
                             f"{choices(names)}")
        key, _, text = item.partition("=")
        key = key.strip()
        if key not in names:
            raise UsageError(f"unknown config key {key!r}{where}; valid: {choices(names)}")
        tp = hints[key]
        try:
            changes[key] = parse_value(text.strip(), tp)
        except ValueError:
            raise UsageError(
                f"bad value {text!r} for {key}{where}: expected {_type_name(tp)}"
            ) from None
    new = dataclasses.replace(cfg, **changes)
    check = getattr(new, "validate", None)
    if callable(check):
        try:
            check()
        except ValueError as exc:
            raise UsageError(f"invalid config{where}: {exc}") from None
    return new


def to_json(cfg: Any) -> dict[str, Any]:
    """The config as a JSON-ready dict (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def from_json(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a config from :func:`to_json` output, checking keys and types."""
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise UsageError(
            f"config has unknown keys {sorted(unknown)}; valid: {choices(list(names))}"
        )
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        tp = hints[key]
        if get_origin(tp) is tuple and isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)
