"""A run killed with Ctrl-C in the middle and resumed must end as an uninterrupted one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from metahook.harness.runner import run_experiment


def _without_wall_time(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if "wall" not in k}


def check_killed_and_resumed(name: str, overrides: list[str], stop_at: float, tmp_path: Path,
                             seed: int = 1) -> None:
    """Run ``name`` at quick scale whole; run it again, raising KeyboardInterrupt once progress
    reaches ``stop_at`` (checkpointing at every chance), resume it, and compare the metrics
    (wall-clock fields aside)."""
    whole = run_experiment(name, out=tmp_path / "whole", scale="quick", seed=seed,
                           overrides=overrides)

    def ctrl_c(done: float, total: float, desc: str) -> None:
        if done >= stop_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(name, out=tmp_path / "cut", scale="quick", seed=seed, overrides=overrides,
                       checkpoint_every_s=0.0, progress_sink=ctrl_c)
    assert (tmp_path / "cut" / "checkpoint").exists()
    resumed = run_experiment(name, out=tmp_path / "cut", resume=True)
    assert _without_wall_time(resumed["metrics"]) == _without_wall_time(whole["metrics"])
