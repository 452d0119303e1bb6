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
    from metahook.benchmarks import load_all

    load_all()
    return [_BENCHMARKS[k] for k in sorted(_BENCHMARKS)]


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name`` (importing only its module when it can)."""
    if name not in _BENCHMARKS:
        import importlib

        from metahook.harness.lazy import index

        module = index("metahook.benchmarks", "register_benchmark").get(name)
        if module is not None:
            importlib.import_module(module)
    if name not in _BENCHMARKS:
        raise UsageError(f"unknown benchmark {name!r}; valid: {choices(benchmark_names())}")
    return _BENCHMARKS[name]


def benchmark_names() -> list[str]:
    """Every benchmark's name, read from the sources (a test checks it against the registry)."""
    from metahook.harness.lazy import index

    return sorted(set(index("metahook.benchmarks", "register_benchmark")) | set(_BENCHMARKS))


def run_benchmark(name: str, quick: bool = False) -> dict[str, Any]:
    figures = get_benchmark(name).fn(quick)
    return {"benchmark": name, "figures": figures, "machine": machine()}
