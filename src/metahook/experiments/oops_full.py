"""oops-full: the paper's whole experiment, 1^n2^n n = 1..30 then Towers of Hanoi n = 1..30.

Schmidhuber 2004, Sec. 6: 60 tasks solved in order by one OOPS run; the Hanoi phase starts from
its own initial bias but keeps all code frozen in the 1^n2^n phase. ``full`` is the longest job
of the project (the paper reports ~6.8e11 time steps; checkpointed and resumable); ``quick``
runs the first three tasks. Every solved task is logged with the program found and the counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metahook.experiments.oops_common import SearchBudget, drive, register_oops, timeline_plot
from metahook.harness.api import Result, RunContext
from metahook.search.oops import OOPS


@dataclass(frozen=True)
class Config(SearchBudget):
    n_1n2n: int = 30
    n_hanoi: int = 30  # 0: stop after the 1^n2^n phase

    def validate(self) -> None:
        for name, lowest in (("n_1n2n", 1), ("n_hanoi", 0)):
            if not lowest <= getattr(self, name) <= 30:
                raise ValueError(f"{name} must be in {lowest}..30")
        super().validate()


def run(ctx: RunContext, cfg: Config) -> Result:
    phases: tuple[tuple[str, int], ...] = (("1n2n", cfg.n_1n2n),)
    if cfg.n_hanoi:
        phases += (("hanoi", cfg.n_hanoi),)
    oops = OOPS(phases=phases)
    metrics = drive(ctx, oops, cfg)
    timeline_plot(ctx, metrics, "timeline")
    return Result(metrics=metrics)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The first phase's first three tasks, solved with the original program's counters."""
    same = [bool(m[f"matches_program_1n2n_n{n}"]) for n in (1, 2, 3)]
    steps = "/".join(f"{m[f'time_steps_1n2n_n{n}']:,}" for n in (1, 2, 3))
    ok = m["max_n_solved"]["1n2n"] >= 3 and all(same)
    return ok, (f"1^n2^n n = 1..3 solved at totalt {steps}, equal to the original program's: "
                f"{'/'.join(map(str, same))}")


EXPERIMENT = register_oops(
    "oops-full",
    "The whole experiment: 1^n2^n n=1..30, then Hanoi n=1..30, one OOPS run.",
    Config, {"quick": Config(n_1n2n=3, n_hanoi=0), "full": Config()},
    run, smoke,
)
