"""Benchmark registry: ``metahook bench NAME`` prints ``{"benchmark", "figures", "machine"}``.

A benchmark measures speed (time steps or environment steps per second, ...) and never sits in a
unit test. Each registers a function ``fn(quick: bool) -> dict`` of figures; results are recorded
by hand, with the machine, in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metahook.harness.errors import UsageError, choices
from metahook.harness.versions import machine

BenchFn = Callable[[bool], dict[str, Any]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    fn: BenchFn


_BENCHMARKS: dict[str, Benchmark] = {}


def register_benchmark(name: str, description: str) -> Callable[[BenchFn], BenchFn]:
    def deco(fn: BenchFn) -> BenchFn:
        _BENCHMARKS[name] = Benchmark(name, description, fn)
        return fn

    return deco


def all_benchmarks() -> list[Benchmark]:
    import metahook.benchmarks  # noqa: F401  (registers every benchmark)

    return [_BENCHMARKS[k] for k in sorted(_BENCHMARKS)]


def run_benchmark(name: str, quick: bool = False) -> dict[str, Any]:
    known = {b.name: b for b in all_benchmarks()}
    if name not in known:
        raise UsageError(f"unknown benchmark {name!r}; valid: {choices(list(known))}")
    figures = known[name].fn(quick)
    return {"benchmark": name, "figures": figures, "machine": machine()}
