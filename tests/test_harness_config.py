"""Config overrides: types, unknown keys, validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metahook.harness.config import apply_overrides, from_json, parse_value, to_json
from metahook.harness.errors import UsageError


@dataclass(frozen=True)
class Cfg:
    n: int = 3
    lr: float = 0.1
    on: bool = False
    name: str = "a"
    mode: Literal["x", "y"] = "x"
    sizes: tuple[int, ...] = (1, 2)
    limit: int | None = None

    def validate(self) -> None:
        if self.n < 0:
            raise ValueError("n must be >= 0")


def test_overrides_parse_each_type() -> None:
    cfg = apply_overrides(Cfg(), ["n=7", "lr=1e-3", "on=true", "name=b", "mode=y",
                                  "sizes=4,8,16", "limit=1e6"])
    assert cfg == Cfg(n=7, lr=1e-3, on=True, name="b", mode="y", sizes=(4, 8, 16), limit=10**6)
    assert apply_overrides(cfg, ["limit=none"]).limit is None


@pytest.mark.parametrize(
    ("item", "fragment"),
    [("n=abc", "expected int"), ("n=1.5", "expected int"), ("on=maybe", "expected bool"),
     ("mode=z", "one of x|y"), ("nope=1", "valid: limit, lr, mode, n, name, on, sizes"),
     ("n", "key=value"), ("n=-1", "n must be >= 0")],
)
def test_bad_overrides_name_the_problem(item: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment.replace("|", r"\|")):
        apply_overrides(Cfg(), [item])


@given(st.integers(-10**12, 10**12))
def test_int_round_trip(value: int) -> None:
    assert parse_value(str(value), int) == value


def test_json_round_trip() -> None:
    cfg = Cfg(n=2, sizes=(5,), limit=3)
    assert from_json(Cfg, to_json(cfg)) == cfg
    with pytest.raises(UsageError, match="unknown keys"):
        from_json(Cfg, {**to_json(cfg), "zzz": 1})
