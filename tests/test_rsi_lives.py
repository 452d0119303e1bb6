"""The protocol-of-lives driver: one seed per life, checkpoints, and an interrupted run resumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from metahook.harness.context import RunContext
from metahook.harness.errors import RunInterrupted
from metahook.rsi.lives import run_lives


class Walk:
    """A toy life: a random walk of ``budget`` steps, advanced 3 steps per chunk."""

    def __init__(self, seed: int, budget: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.budget = budget
        self.path: list[float] = []

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "path": np.asarray(self.path)}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        state = dict(st["rng"])
        state["state"] = {k: int(v) for k, v in state["state"].items()}
        state["has_uint32"], state["uinteger"] = int(state["has_uint32"]), int(state["uinteger"])
        self.rng.bit_generator.state = state
        self.path = [float(x) for x in st["path"]]


def _protocol(ctx: RunContext, stop_at: int | None = None) -> dict[str, Any]:
    budgets = [10, 7, 12]
    chunks = [0]

    def step(index: int, life: Walk) -> bool:
        if len(life.path) >= life.budget:
            return False
        chunks[0] += 1
        if chunks[0] == stop_at:
            ctx.stop_requested = True  # as Ctrl-C would: the next checkpoint raises
        life.path += list(life.rng.normal(size=min(3, life.budget - len(life.path))))
        return True

    return run_lives(ctx, ["a", "b", "c"], make=lambda i, seed: Walk(seed, budgets[i]),
                     step=step, summarise=lambda i, life: {"sum": float(np.sum(life.path)),
                                                           "n": len(life.path)})


def test_lives_run_in_order_with_their_budgets(tmp_path: Path) -> None:
    done = _protocol(RunContext(tmp_path / "r", seed=1, scale="quick"))
    assert list(done) == ["a", "b", "c"] and [d["n"] for d in done.values()] == [10, 7, 12]
    assert len({d["sum"] for d in done.values()}) == 3  # each life has its own seed


@pytest.mark.parametrize("stop_at", [2, 5, 9])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path: Path, stop_at: int) -> None:
    whole = _protocol(RunContext(tmp_path / "whole", seed=4, scale="quick"))
    out = tmp_path / "cut"
    with pytest.raises(RunInterrupted):
        _protocol(RunContext(out, seed=4, scale="quick", checkpoint_every_s=1e9), stop_at)
    resumed = _protocol(RunContext(out, seed=4, scale="quick", resume=True))
    assert resumed == whole
