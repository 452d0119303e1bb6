"""Speed benchmarks (``metahook bench NAME``); importing this package registers them all."""

from metahook.benchmarks import harness_overhead  # noqa: F401
