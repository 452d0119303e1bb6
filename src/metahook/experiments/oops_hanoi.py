"""oops-hanoi: the Towers of Hanoi phase of OOPS (Schmidhuber 2004, Sec. 6.2-6.3).

The Hanoi phase starts from the code the 1^n2^n phase froze (the prolongation chain of tasks
1..5 as frozen program 8 and the 30-task solver ``defnp c1 calltp c2 endnp`` as the last solver)
with the Hanoi phase's own initial bias; this is exactly the state in which the paper's run
entered the phase, with the counters started at zero (add 29,620,709,786 time steps for the
whole run's figures). ``quick`` solves Hanoi n = 1 and checks the published 10-token solver
``(c3 dec boostq)(defnp c4 calltp c3 c5 calltp endnp)`` on n = 1..16 (2^n - 1 moves, 31*2^n - 7n
+ 25 steps) and measures its probability under the phase's bias (paper: prefix ~0.003, suffix
~3.1e-8); ``full`` searches n = 1..30 and checks the solver up to n = 30.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from metahook.envs.oops_tasks import GOAL_HANOI, check_hanoi
from metahook.experiments.oops_common import (
    PROGRAM_TOTALT,
    SearchBudget,
    drive,
    paper_frozen,
    register_oops,
)
from metahook.harness.api import Result, RunContext, plots
from metahook.machines.forth.asm import assemble
from metahook.search.direct import (
    CHAIN_1N2N,
    SOLVER_1N2N,
    SOLVER_HANOI,
    run_program,
    token_probabilities,
)
from metahook.search.oops import OOPS

PHASE_OFFSET = PROGRAM_TOTALT[("1n2n", 30)]  # the original run's totalt when its Hanoi phase began


@dataclass(frozen=True)
class Config(SearchBudget):
    n_max: int = 30
    verify_n: int = 30  # check the published solver on n = 1..verify_n

    def validate(self) -> None:
        for name in ("n_max", "verify_n"):
            if not 0 <= getattr(self, name) <= 30:
                raise ValueError(f"{name} must be in 0..30")
        super().validate()


def verify_published_solver(n_max: int) -> dict[str, object]:
    prog = assemble(SOLVER_HANOI)
    frozen = paper_frozen()
    ok, formula, steps = True, True, 0
    steps_by_n = []
    for n in range(1, n_max + 1):
        r = run_program(prog, GOAL_HANOI, n, frozen=frozen)
        ok = ok and r.stop == "solved" and check_hanoi(r.pegs, n) and r.moves == 2**n - 1
        formula = formula and r.steps == 31 * 2**n - 7 * n + 25
        steps = r.steps
        steps_by_n.append(r.steps)
    probs = token_probabilities(prog, GOAL_HANOI, 1, frozen=frozen)
    return {f"solver_solves_1_to_{n_max}": ok, "solver_optimal_moves": ok,
            "solver_steps_formula": formula, f"solver_steps_n{n_max}": steps,
            "solver_steps_by_n": steps_by_n,
            "prefix_probability": math.prod(probs[:3]), "suffix_probability": math.prod(probs[3:]),
            "solver_probability": math.prod(probs)}


def solver_plot(ctx: RunContext, steps_by_n: list[int]) -> None:
    """Time steps of the published solver on Hanoi n, beside 31 * 2^n - 7n + 25 and 2^n - 1."""
    n = np.arange(1, len(steps_by_n) + 1)
    fig, ax = plots.figure()
    ax.semilogy(n, steps_by_n, "o", label="time steps of the published solver (measured)")
    ax.semilogy(n, 31 * 2.0**n - 7 * n + 25, "-", lw=0.8, label="31·2^n − 7n + 25")
    ax.semilogy(n, 2.0**n - 1, "--", lw=0.8, label="moves: 2^n − 1 (optimal)")
    ax.set_xlabel("Hanoi n (disks)")
    ax.set_ylabel("count")
    ax.set_title(f"the published solver: {SOLVER_HANOI}", fontsize=8)
    ax.legend(fontsize=8)
    plots.save(fig, ctx.plot_path("solver_steps"))


def run(ctx: RunContext, cfg: Config) -> Result:
    metrics: dict[str, object] = {}
    if cfg.n_max:
        oops = OOPS(phases=(("hanoi", cfg.n_max),))
        oops.preload([assemble(CHAIN_1N2N), assemble(SOLVER_1N2N)])
        metrics = drive(ctx, oops, cfg)
        metrics["max_n_solved"] = metrics["max_n_solved"]["hanoi"]  # type: ignore[index]
        metrics["phase_offset_time_steps"] = PHASE_OFFSET
    if cfg.verify_n:
        solver = verify_published_solver(cfg.verify_n)
        metrics.update(solver)
        solver_plot(ctx, cast("list[int]", solver["solver_steps_by_n"]))
    return Result(metrics=metrics)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The headline: Hanoi n = 1 solved at the original program's time step (counted from the
    phase's start); the published solver moves optimally in 31 * 2^n - 7n + 25 steps."""
    ours, theirs = m["time_steps_hanoi_n1"], PROGRAM_TOTALT[("hanoi", 1)] - PHASE_OFFSET
    solver = bool(m["solver_optimal_moves"]) and bool(m["solver_steps_formula"])
    ok = m["max_n_solved"] >= 1 and ours == theirs and solver
    return ok, (f"Hanoi n = 1 at {ours:,} steps into the phase = the original program's "
                f"{theirs:,}; the published solver optimal in 31 * 2^n - 7n + 25 steps: {solver}")


EXPERIMENT = register_oops(
    "oops-hanoi",
    "Hanoi phase from the 1^n2^n phase's frozen code; the published solver checked.",
    Config, {"quick": Config(n_max=1, verify_n=16), "full": Config(n_max=30, verify_n=30)},
    run, smoke,
)
