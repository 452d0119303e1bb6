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


@pytest.mark.parametrize("item", ["lr=nan", "lr=inf", "lr=-inf", "lr=1e400", "sizes=1,inf"])
def test_floats_must_be_finite(item: str) -> None:
    @dataclass(frozen=True)
    class F:
        lr: float = 0.1
        sizes: tuple[float, ...] = (1.0,)

    with pytest.raises(UsageError, match=r"expected (comma-separated )?finite float"):
        apply_overrides(F(), [item])


def test_a_field_may_allow_nonfinite_floats() -> None:
    import math
    from dataclasses import field

    @dataclass(frozen=True)
    class G:
        limit: float = field(default=math.inf, metadata={"allow_nonfinite": True})

    assert apply_overrides(G(), ["limit=inf"]).limit == math.inf
    assert math.isnan(apply_overrides(G(), ["limit=nan"]).limit)
    assert from_json(G, to_json(G())) == G()  # JSON's Infinity round-trips


@pytest.mark.parametrize(
    ("change", "fragment"),
    [({"n": "3"}, "bad value \"3\" for n: expected int"),
     ({"n": 1.5}, "expected int"), ({"n": True}, "expected int"),
     ({"lr": float("nan")}, "bad value NaN for lr: expected finite float"),
     ({"lr": float("inf")}, "expected finite float"), ({"on": 1}, "expected bool"),
     ({"mode": "z"}, "one of x|y"), ({"sizes": "1,2"}, "comma-separated ints"),
     ({"sizes": [1, "a"]}, "comma-separated ints"), ({"limit": "x"}, "int or none"),
     ({"n": -1}, "n must be >= 0")],
)
def test_from_json_checks_like_set(change: dict, fragment: str) -> None:
    data = {**to_json(Cfg()), **change}
    with pytest.raises(UsageError, match=fragment.replace("|", r"\|")):
        from_json(Cfg, data)


def test_from_json_wants_every_key_and_accepts_integral_floats() -> None:
    data = to_json(Cfg())
    del data["mode"]
    with pytest.raises(UsageError, match=r"lacks keys \['mode'\]"):
        from_json(Cfg, data)
    with pytest.raises(UsageError, match="not a JSON object"):
        from_json(Cfg, [1, 2])
    assert from_json(Cfg, {**to_json(Cfg()), "n": 1e3, "lr": 2}) == Cfg(n=1000, lr=2)
