"""oops-1n2n: OOPS learns 1^n2^n for n = 1..30 from scratch (Schmidhuber 2004, Sec. 6).

The first phase of the paper's experiment: the 73-token language, the initial bias of the 1^n2^n
phase, tasks solved in order with prolongation and fresh search (see
:mod:`metahook.search.oops`). The original program's counters at each solved task are the
reference: ours must be equal, not merely close. ``quick`` solves n = 1..3 (about 1e8 time steps)
and checks the published 30-task solver on n = 1..30; ``full`` runs all 30 tasks (about 3e10 time
steps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metahook.envs.oops_tasks import GOAL_1N2N, check_1n2n
from metahook.experiments.oops_common import SearchBudget, drive, register_oops, timeline_plot
from metahook.harness.api import Result, RunContext
from metahook.machines.forth.asm import assemble
from metahook.search.direct import SOLVER_1N2N, run_program
from metahook.search.oops import OOPS


@dataclass(frozen=True)
class Config(SearchBudget):
    n_max: int = 30  # solve tasks 1..n_max
    verify_solver: bool = True  # run the published 30-task solver on n = 1..30

    def validate(self) -> None:
        if not 1 <= self.n_max <= 30:
            raise ValueError("n_max must be in 1..30")
        super().validate()


def verify_published_solver() -> dict[str, object]:
    prog = assemble(SOLVER_1N2N)
    steps, ok = [], True
    for n in range(1, 31):
        r = run_program(prog, GOAL_1N2N, n)
        ok = ok and r.stop == "solved" and check_1n2n(r.Ds, n)
        steps.append(r.steps)
    return {"solver_solves_1_to_30": ok, "solver_steps_n30": steps[-1],
            "solver_steps_formula_14n_plus_40": all(s == 14 * n + 40
                                                    for n, s in enumerate(steps, 1))}


def run(ctx: RunContext, cfg: Config) -> Result:
    oops = OOPS(phases=(("1n2n", cfg.n_max),))
    metrics = drive(ctx, oops, cfg)
    if cfg.verify_solver:
        metrics.update(verify_published_solver())
    metrics["max_n_solved"] = metrics["max_n_solved"]["1n2n"]
    timeline_plot(ctx, metrics, "timeline")
    return Result(metrics=metrics)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The headline: tasks 1..3 solved with the original program's counters; the published
    30-task solver solves n = 1..30 in 14n + 40 steps."""
    same = [bool(m[f"matches_program_1n2n_n{n}"]) for n in (1, 2, 3)]
    steps = "/".join(f"{m[f'time_steps_1n2n_n{n}']:,}" for n in (1, 2, 3))
    solver = bool(m["solver_solves_1_to_30"]) and bool(m["solver_steps_formula_14n_plus_40"])
    ok = m["max_n_solved"] >= 3 and all(same) and solver
    return ok, (f"n = 1..3 solved at totalt {steps}, equal to the original program's: "
                f"{'/'.join(map(str, same))}; the published solver solves n = 1..30 in 14n + 40 "
                f"steps: {solver}")


EXPERIMENT = register_oops(
    "oops-1n2n",
    "OOPS solves 1^n2^n for n = 1..30 in order; counters equal the original program's.",
    Config, {"quick": Config(n_max=3), "full": Config(n_max=30)},
    run, smoke,
)
