"""Shared test helpers, and the set-up of each pytest-xdist worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# pytest-xdist runs the suite in worker processes (`-n auto --maxprocesses 2` in pyproject.toml)
# that share the machine's cores. In a worker (and in every subprocess its tests start):
# - torch, BLAS and numba use one thread each, or two workers oversubscribe two cores;
# - numba caches compiled code in a folder of the worker's own (under .pytest_cache/numba/,
#   kept, so it is warm from the second run on). numba's cache=True is not safe for two
#   processes compiling one function at once: saving an overload reads the function's index,
#   picks a free data-file number and writes the index back, with no lock, so two processes
#   saving different signatures (say `push` with two different literal arguments) can both pick
#   `.1.nbc`; the index then names one signature while the file holds the other's machine code,
#   which later runs load unchecked. A fresh clone's two workers compile the same machines at
#   the same time.
# Set at import, before any test module imports numpy, torch or numba (which read them once).
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER:
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
    _cache = os.environ.get("NUMBA_CACHE_DIR")
    os.environ["NUMBA_CACHE_DIR"] = str(
        Path(_cache) / f"xdist-{_WORKER}" if _cache
        else Path(__file__).resolve().parents[1] / ".pytest_cache" / "numba" / _WORKER)
    if "numba" in sys.modules:  # imported already (by a plugin): make it read the folder again
        sys.modules["numba"].core.config.reload_config()

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# No per-example deadline anywhere: CI shares 2 cores, and a slow example is not a failure.
settings.register_profile("metahook", deadline=None)
settings.load_profile("metahook")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (the default, see pyproject.toml) starts at most 2 workers, as on CI, where the
    suite is checked for two at a time; PYTEST_XDIST_AUTO_NUM_WORKERS or ``-n N`` chooses more."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    return min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


def cli(*args: str, timeout: float = 300,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m metahook ARGS`` in a subprocess (in folder ``cwd`` if given)."""
    return subprocess.run(
        [sys.executable, "-m", "metahook", *args],
        capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd,
    )


def cli_inproc(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process (faster than a subprocess): ``(exit status, stdout, stderr)``."""
    from metahook.cli import main

    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


@pytest.fixture
def run_cli():
    return cli


def jit_and_python(script: str, timeout: float = 300) -> tuple[Any, Any]:
    """Run ``script`` (it prints one JSON value) compiled and with NUMBA_DISABLE_JIT=1, in
    subprocesses; return both parsed outputs, for a differential test of a numba fast path."""
    import os

    outs = []
    for disable in ("0", "1"):
        env = dict(os.environ, NUMBA_DISABLE_JIT=disable)
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=env, check=True, timeout=timeout)
        outs.append(json.loads(proc.stdout))
    return outs[0], outs[1]
