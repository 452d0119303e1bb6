"""oops-full: the paper's whole experiment, 1^n2^n n = 1..30 then Towers of Hanoi n = 1..30.

Schmidhuber 2004, Sec. 6: 60 tasks solved in order by one OOPS run; the Hanoi phase starts from
its own initial bias but keeps all code frozen in the 1^n2^n phase. ``full`` is the longest job
of the project (the paper reports ~6.8e11 time steps; checkpointed and resumable); ``quick``
runs the first three tasks. Every solved task is logged with the program found and the counters.
"""

from __future__ import annotations

from dataclasses import dataclass

from metahook.experiments.oops_common import (
    PAPER,
    PROGRAM_TOTALT,
    SRC_PAPER,
    SRC_PROGRAM,
    SearchBudget,
    drive,
    timeline_plot,
)
from metahook.harness import Experiment, Ref, Result, RunContext, register
from metahook.search.oops import OOPS


@dataclass(frozen=True)
class Config(SearchBudget):
    n_1n2n: int = 30
    n_hanoi: int = 30  # 0: stop after the 1^n2^n phase

    def validate(self) -> None:
        if not 1 <= self.n_1n2n <= 30:
            raise ValueError("n_1n2n must be in 1..30")
        if not 0 <= self.n_hanoi <= 30:
            raise ValueError("n_hanoi must be in 0..30")
        super().validate()


def run(ctx: RunContext, cfg: Config) -> Result:
    phases: tuple[tuple[str, int], ...] = (("1n2n", cfg.n_1n2n),)
    if cfg.n_hanoi:
        phases += (("hanoi", cfg.n_hanoi),)
    oops = OOPS(phases=phases)
    metrics = drive(ctx, oops, cfg)
    timeline_plot(ctx, metrics, "timeline")
    return Result(metrics=metrics)


EXPERIMENT = register(Experiment(
    name="oops-full",
    system="OOPS",
    paper=PAPER,
    description="The whole experiment: 1^n2^n n=1..30, then Hanoi n=1..30, one OOPS run.",
    config=Config,
    scales={"quick": Config(n_1n2n=3, n_hanoi=0), "full": Config()},
    run=run,
    reference={
        "n3_program": Ref(PROGRAM_TOTALT[("1n2n", 3)], "time steps", SRC_PROGRAM,
                          metric="time_steps_1n2n_n3"),
        "all30_program": Ref(PROGRAM_TOTALT[("1n2n", 30)], "time steps", SRC_PROGRAM,
                             metric="time_steps_1n2n_n30"),
        "all30_paper_days": Ref(0.3, "days on the authors' 2002 PC",
                                f"{SRC_PAPER}: all 30 1^n2^n tasks after ~0.3 days", compare=""),
        "hanoi1_program": Ref(PROGRAM_TOTALT[("hanoi", 1)], "time steps", SRC_PROGRAM,
                              metric="time_steps_hanoi_n1"),
        "hanoi2_program": Ref(PROGRAM_TOTALT[("hanoi", 2)], "time steps", SRC_PROGRAM,
                              metric="time_steps_hanoi_n2"),
        "hanoi_paper_days": Ref("2-3", "days after the 1^n2^n phase, on the authors' PC",
                                f"{SRC_PAPER}: the universal Hanoi solver", compare=""),
        "total_steps": Ref(678_634_413_962, "time steps",
                           "OOPS 2004 Sec. 6.3 totals as quoted by secondary sources "
                           "(unconfirmed in the paper's text)", metric="time_steps",
                           compare=""),
        "total_prefixes": Ref(93_994_568_009, "prefixes", "as above (unconfirmed)",
                              metric="prefixes_tested", compare=""),
        "total_instructions": Ref(345_450_362_522, "instructions", "as above (unconfirmed)",
                                  metric="instructions", compare=""),
        "longest_run": Ref(33_000_000_000, "time steps", "as above: longest single prefix run "
                           "~33 billion steps (unconfirmed)", metric="topt", compare=""),
    },
))
