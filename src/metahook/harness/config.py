"""Typed experiment configs: ``--set key=value`` overrides, JSON round trip.

A config is a plain dataclass (nanoGPT style). Overrides are checked against its fields and types
before anything is written: an unknown key or a value of the wrong type is a :class:`UsageError`.
Supported field types: ``int``, ``float``, ``bool``, ``str``, ``Literal[...]``, ``X | None`` and
``tuple[X, ...]`` / ``list[X]`` of those (written comma-separated: ``--set sizes=4,8,16``).

A ``float`` must be finite (``nan``, ``inf`` and ``1e400`` are refused) unless its field opts in
with ``field(default=..., metadata={"allow_nonfinite": True})``. The ``config.json`` read back on
``--resume`` gets the same checks (:func:`from_json`): every key present, no unknown key, each
value of its field's type, then the config's ``validate()``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin, get_type_hints

from metahook.harness.errors import UsageError, choices

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def type_name(tp: Any, allow_nonfinite: bool = False) -> str:
    """A field type in words, as error lines and ``metahook list NAME`` show it."""
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + "|".join(str(a) for a in get_args(tp))
    if origin in (tuple, list):
        return f"comma-separated {type_name(get_args(tp)[0], allow_nonfinite)}s"
    if origin in (types.UnionType, typing.Union):
        return " or ".join(type_name(a, allow_nonfinite) for a in get_args(tp))
    if tp is type(None):
        return "none"
    if tp is float and not allow_nonfinite:
        return "finite float"
    return getattr(tp, "__name__", str(tp))



def allows_nonfinite(cls: type, name: str) -> bool:
    """Whether field ``name`` of config class ``cls`` accepts ``nan`` and infinities."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return bool(f.metadata.get("allow_nonfinite", False))
    return False


def _finite(value: float, allow_nonfinite: bool) -> float:
    if not allow_nonfinite and not math.isfinite(value):
        raise ValueError(f"{value} is not finite")
    return value


def _first_member(convert: Callable[[Any, Any, bool], Any], value: Any, union: Any,
                  allow_nonfinite: bool, shown: str) -> Any:
    """``value`` as the first non-None member type of ``union`` that ``convert`` accepts."""
    for arg in get_args(union):
        if arg is type(None):
            continue
        try:
            return convert(value, arg, allow_nonfinite)
        except ValueError:
            continue
    raise ValueError(shown)


def parse_value(text: str, tp: Any, allow_nonfinite: bool = False) -> Any:
    """Parse ``text`` as a value of type ``tp``; raise ``ValueError`` if it is not one.

    A float must be finite unless ``allow_nonfinite``.
    """
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        if type(None) in get_args(tp) and text.lower() in ("none", "null", ""):
            return None
        return _first_member(parse_value, text, tp, allow_nonfinite, text)
    if origin is Literal:
        for option in get_args(tp):
            if str(option) == text:
                return option
        raise ValueError(text)
    if origin in (tuple, list):
        (item,) = get_args(tp)[:1]
        parts = [p.strip() for p in text.split(",") if p.strip()]
        values = [parse_value(p, item, allow_nonfinite) for p in parts]
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
        return _finite(float(text), allow_nonfinite)
    if tp is str:
        return text
    raise ValueError(f"unsupported config type {tp!r}")


def check_json_value(value: Any, tp: Any, allow_nonfinite: bool = False) -> Any:
    """Return the JSON value ``value`` as a value of type ``tp``; ``ValueError`` if it is not one.

    The JSON counterpart of :func:`parse_value`: lists stand for tuples, an integral float such
    as ``1e6`` is accepted for an int, ``true``/``false`` only for a bool, and a float must be
    finite unless ``allow_nonfinite``.
    """
    origin = get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in get_args(tp):
            return None
        return _first_member(check_json_value, value, tp, allow_nonfinite, repr(value))
    if origin is Literal:
        for option in get_args(tp):
            if type(option) is type(value) and option == value:
                return option
        raise ValueError(repr(value))
    if origin in (tuple, list):
        if not isinstance(value, list):
            raise ValueError(repr(value))
        (item,) = get_args(tp)[:1]
        values = [check_json_value(v, item, allow_nonfinite) for v in value]
        return tuple(values) if origin is tuple else values
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(repr(value))
    if isinstance(value, bool):
        raise ValueError(repr(value))  # true/false is no number
    if tp is int:
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError(repr(value))
    if tp is float:
        if isinstance(value, int):
            return value  # kept as written: a fresh run had the same int
        if isinstance(value, float):
            return _finite(value, allow_nonfinite)
        raise ValueError(repr(value))
    if tp is str:
        if isinstance(value, str):
            return value
        raise ValueError(repr(value))
    raise ValueError(f"unsupported config type {tp!r}")


def validate(cfg: Any, where: str = "") -> Any:
    """Run the config's own ``validate()``; its ``ValueError`` becomes a :class:`UsageError`."""
    check = getattr(cfg, "validate", None)
    if callable(check):
        try:
            check()
        except ValueError as exc:
            raise UsageError(f"invalid config{where}: {exc}") from None
    return cfg


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
        allow = allows_nonfinite(type(cfg), key)
        try:
            changes[key] = parse_value(text.strip(), tp, allow)
        except ValueError:
            raise UsageError(
                f"bad value {text!r} for {key}{where}: expected {type_name(tp, allow)}"
            ) from None
    return validate(dataclasses.replace(cfg, **changes), where)


def to_json(cfg: Any) -> dict[str, Any]:
    """The config as a JSON-ready dict (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def from_json(cls: type, data: Any, experiment: str = "") -> Any:
    """Rebuild a config from :func:`to_json` output with the checks ``--set`` gets.

    Every field must be present, no other key, each value of its field's type (floats finite
    unless the field allows otherwise), and the config's ``validate()`` must pass; anything else
    is a :class:`UsageError` naming the key and what it expects.
    """
    where = f" of {experiment}" if experiment else ""
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    if not isinstance(data, dict):
        raise UsageError(f"config{where} is not a JSON object; keys: {choices(names)}")
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise UsageError(f"config has unknown keys {unknown}{where}; valid: {choices(names)}")
    missing = [n for n in names if n not in data]
    if missing:
        raise UsageError(f"config{where} lacks keys {missing}")
    kwargs: dict[str, Any] = {}
    for key in names:
        tp = hints[key]
        allow = allows_nonfinite(cls, key)
        try:
            kwargs[key] = check_json_value(data[key], tp, allow)
        except ValueError:
            raise UsageError(
                f"bad value {json.dumps(data[key])} for {key}{where}: "
                f"expected {type_name(tp, allow)}"
            ) from None
    try:
        cfg = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"invalid config{where}: {exc}") from None
    return validate(cfg, where)
