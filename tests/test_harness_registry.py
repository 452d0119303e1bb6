"""The registries: every experiment and benchmark is found without importing it, and is sound."""

from __future__ import annotations

import dataclasses

from metahook.harness.bench import all_benchmarks, benchmark_names
from metahook.harness.registry import SCALES, all_experiments, experiment_names


def test_source_index_matches_the_registries() -> None:
    assert experiment_names() == sorted(e.name for e in all_experiments())
    assert benchmark_names() == sorted(b.name for b in all_benchmarks())


def test_every_experiment_is_well_formed() -> None:
    for exp in all_experiments():
        assert exp.name and exp.system and exp.paper, exp.name
        for scale in SCALES:
            cfg = exp.config_for(scale)
            assert dataclasses.is_dataclass(cfg)
            check = getattr(cfg, "validate", None)
            if callable(check):
                check()  # the shipped scales are valid
        for key, ref in exp.reference.items():
            assert ref.source, f"{exp.name}.{key} lacks a source"
            if ref.metric and ref.compare and isinstance(ref.value, (int, float)):
                assert ref.unit, f"{exp.name}.{key}: a compared figure needs its unit"
            assert ref.compare in ("~", "<=", ">=", ""), f"{exp.name}.{key}"
