"""Shared test helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# No per-example deadline anywhere: CI shares 2 cores, and a slow example is not a failure.
settings.register_profile("metahook", deadline=None)
settings.load_profile("metahook")


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
