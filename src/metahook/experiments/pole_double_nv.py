"""pole-double-nv: two poles without velocity inputs, damping (default) or standard fitness.

Gomez, Schmidhuber & Miikkulainen, JMLR 9 (2008), Table 4, damping-fitness column: mean
evaluations (50 runs) until the best network of a generation balances 100,000 steps from the
standard start and then 1000 steps from at least 200 of Gruau et al.'s 625 generalization
starts. The networks see x, θ1, θ2 and have three fully recurrent hidden tanh neurons (CoSyNE,
CMA-ES; ESP and H-ESP start from three). ``--set fitness=standard`` runs the standard-fitness
column instead (its published figures could not be checked and are not quoted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from metahook.evolution.pole_fitness import PoleProblem
from metahook.experiments._pole_common import PoleStudyConfig, run_study
from metahook.harness.api import Experiment, Result, RunContext, register
from metahook.references import refs


@dataclass(frozen=True)
class Config(PoleStudyConfig):
    methods: tuple[str, ...] = ("cosyne-all", "cmaes", "esp", "hesp", "cosyne")
    fitness: Literal["damping", "standard"] = "damping"
    hidden: int = 3
    recurrent: bool = True
    esp_hidden: int = 3


REFERENCE = refs("evolution", "pole-double-nv")


def run(ctx: RunContext, cfg: Config) -> Result:
    return run_study(ctx, cfg, PoleProblem(n_poles=2, markov=False, fitness=cfg.fitness),
                     REFERENCE)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """Table 4's headline: CoSyNE solves the hardest task (with generalization) in at least two
    runs of three, within a few thousand evaluations (median under 10,000)."""
    runs, solved = m["runs_per_method"], m["cosyne_all_solved"]
    med = m["cosyne_all_median_evaluations"]
    ok = 3 * solved >= 2 * runs and med is not None and med < 10_000
    shown = "none" if med is None else f"{med:,.0f}"
    return ok, (f"CoSyNE-all solved {solved} of {runs} runs (>= 2/3), median evaluations "
                f"{shown} < 10,000")


EXPERIMENT = register(Experiment(
    name="pole-double-nv",
    system="ESP, H-ESP, CoSyNE",
    paper="Gomez, Schmidhuber & Miikkulainen, Accelerated Neural Evolution through "
          "Cooperatively Coevolved Synapses, JMLR 9:937-965, 2008",
    description="Double pole without velocities: evaluations to solve (damping fitness, "
                "100,000 steps, 200/625 generalization).",
    config=Config,
    scales={
        "quick": Config(methods=("cosyne-all",), runs=3, max_evaluations=20_000, workers=1),
        "full": Config(),
    },
    run=run,
    smoke=smoke,
    reference=REFERENCE,
))
