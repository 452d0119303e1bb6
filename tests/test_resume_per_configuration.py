"""Experiments that checkpoint per configuration: killed in the middle and resumed, they end with
the metrics of an uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import pytest

from resume_helpers import check_killed_and_resumed


@pytest.mark.parametrize("name,overrides,stop_at", [
    # the Levin search, then the Q(lambda) baseline killed after its second chunk of 2^20 steps
    ("ls-maze", ["q_steps=3000000"], 2_000_000),
    # killed inside the third configuration (ALS at the first rate is the second)
    ("ssa-als-transfer", [], 2.5),
])
def test_killed_and_resumed_ends_like_an_uninterrupted_run(
    name: str, overrides: list[str], stop_at: float, tmp_path: Path
) -> None:
    check_killed_and_resumed(name, overrides, stop_at, tmp_path, seed=3)
