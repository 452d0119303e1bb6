"""toy-counter: a random walk that exercises the harness (seeding, metrics, checkpoints, resume).

Not a paper's experiment. Each step adds ``rng.integers(0, 10)`` to a counter, so after ``steps``
steps the counter's expectation is ``4.5 * steps``: that analytic value stands in the
``reference`` slot, and the run's final value is compared with it like a paper figure would be.
The run sleeps ``sleep_s`` per step so that tests can kill it mid-way and resume it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.harness.api import Experiment, Result, RunContext, plots, register
from metahook.references import refs


@dataclass(frozen=True)
class Config:
    steps: int = 200
    sleep_s: float = 0.0
    plot: bool = True

    def validate(self) -> None:
        if self.steps < 1:
            raise ValueError("steps must be >= 1")
        if self.sleep_s < 0:
            raise ValueError("sleep_s must be >= 0")


def run(ctx: RunContext, cfg: Config) -> Result:
    state = ctx.restore()
    step = 0 if state is None else int(state["step"])
    path = np.zeros(cfg.steps + 1, dtype=np.int64) if state is None else state["path"]
    while step < cfg.steps:
        path[step + 1] = path[step] + int(ctx.rng.integers(0, 10))
        step += 1
        ctx.log(step, counter=int(path[step]))
        ctx.progress(step, cfg.steps, "counting")
        if cfg.sleep_s:
            time.sleep(cfg.sleep_s)

        def snapshot(s: int = step) -> dict[str, Any]:
            return {"step": s, "path": path}

        ctx.checkpoint(snapshot)
    if cfg.plot:
        fig, ax = plots.figure()
        ax.plot(path, label="counter")
        ax.plot(4.5 * np.arange(cfg.steps + 1), "--", label="expectation 4.5 t")
        ax.set_xlabel("step")
        ax.set_ylabel("counter")
        ax.legend()
        plots.save(fig, ctx.plot_path("counter"))
    final = int(path[-1])
    return Result(
        metrics={
            "final": final,
            "mean_increment": final / cfg.steps,
            "checksum": int(np.sum(path * np.arange(cfg.steps + 1)) % 1_000_000_007),
        }
    )


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The walk's mean increment lies within 5 standard errors of its expectation 4.5."""
    mean = float(m["mean_increment"])
    steps = round(m["final"] / mean) if mean > 0 else 0
    se = (99 / 12 / max(1, steps)) ** 0.5  # an increment's variance is (10^2 - 1) / 12
    ok = steps > 0 and abs(mean - 4.5) < 5 * se
    return ok, f"mean increment |{mean:.3f} - 4.5| < 5 standard errors of {se:.3f} ({steps} steps)"


EXPERIMENT = register(
    Experiment(
        name="toy-counter",
        system="harness",
        paper="(none: a harness self-test)",
        description="Random walk with checkpoints; the expectation stands in for a paper figure.",
        config=Config,
        scales={"quick": Config(steps=200), "full": Config(steps=100_000)},
        run=run,
        smoke=smoke,
        reference=refs("harness", "toy-counter"),
    )
)
