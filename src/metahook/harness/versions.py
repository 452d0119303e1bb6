"""Versions and machine facts recorded with every result and benchmark."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from importlib import metadata
from typing import Any

import metahook

_PACKAGES = ("numpy", "numba", "torch", "gymnasium", "scipy", "cma", "z3-solver")


def versions() -> dict[str, str]:
    out = {"metahook": metahook.__version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    torch = sys.modules.get("torch")  # only where the run used torch (importing it costs time)
    if torch is not None:
        # the kernels torch chose at start-up (AVX2, AVX512, ...): they sum in different orders,
        # so a seed's trajectory can differ between CPUs (docs/neural.md)
        with contextlib.suppress(AttributeError, RuntimeError):
            out["torch_cpu_kernels"] = str(torch.backends.cpu.get_cpu_capability())
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """The machine a benchmark ran on."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        **{k: v for k, v in versions().items() if k != "python"},
    }
