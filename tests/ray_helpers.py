"""What the Ray test files share: one local Ray per test module, and results without timing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

TIMING = ("wall_s",)


def local_ray(module: str | None = None) -> Iterator[None]:
    """Start a local Ray of two CPUs (for a module-scoped fixture), shut it down after; with
    ``module``, that test module's own functions are shipped to the workers by value."""
    import ray

    if module is not None:
        ray.cloudpickle.register_pickle_by_value(sys.modules[module])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def untimed(value: Any, skip: tuple[str, ...] = TIMING) -> Any:
    """``value`` without the fields whose key ends in one of ``skip`` (timings), at any depth."""
    if isinstance(value, dict):
        return {k: untimed(v, skip) for k, v in value.items() if not k.endswith(skip)}
    if isinstance(value, list):
        return [untimed(v, skip) for v in value]
    return value
