"""Experiments that checkpoint per configuration: killed in the middle and resumed, they end with
the metrics of an uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import pytest

from metahook.harness.runner import run_experiment


@pytest.mark.parametrize("name,overrides,stop_at", [
    # the Levin search, then the Q(lambda) baseline killed after its second chunk of 2^20 steps
    ("ls-maze", ["q_steps=3000000"], 2_000_000),
    # killed inside the third configuration (ALS at the first rate is the second)
    ("ssa-als-transfer", [], 2.5),
])
def test_killed_and_resumed_ends_like_an_uninterrupted_run(
    name: str, overrides: list[str], stop_at: float, tmp_path: Path
) -> None:
    whole = run_experiment(name, out=tmp_path / "whole", scale="quick", seed=3,
                           overrides=overrides)

    def ctrl_c(done: float, total: float, desc: str) -> None:
        if done >= stop_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(name, out=tmp_path / "cut", scale="quick", seed=3, overrides=overrides,
                       checkpoint_every_s=0.0, progress_sink=ctrl_c)
    assert (tmp_path / "cut" / "checkpoint").exists()
    resumed = run_experiment(name, out=tmp_path / "cut", resume=True)

    def strip(m: dict) -> dict:
        return {k: v for k, v in m.items() if "wall" not in k}

    assert strip(resumed["metrics"]) == strip(whole["metrics"])
