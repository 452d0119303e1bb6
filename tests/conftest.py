"""Shared test helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m metahook ARGS`` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "metahook", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


@pytest.fixture
def run_cli():
    return cli
