"""pole-single: one pole on a cart (12° failure), with or without velocity inputs.

Gomez, Schmidhuber & Miikkulainen, JMLR 9 (2008), Table 1 (with velocities): mean evaluations
(50 runs) until a network balances the pole for 100,000 steps from the standard start.
Without velocities (``--set markov=false``) the networks are recurrent; the paper's figures for
that column could not be checked and are not quoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metahook.evolution.pole_fitness import PoleProblem
from metahook.experiments._pole_common import PoleStudyConfig, run_study
from metahook.harness.api import Experiment, Result, RunContext, register
from metahook.references import refs


@dataclass(frozen=True)
class Config(PoleStudyConfig):
    methods: tuple[str, ...] = ("cosyne", "cosyne-all", "esp", "hesp", "cmaes")
    markov: bool = True  # velocities observed (Table 1); false: no velocities


REFERENCE = refs("evolution", "pole-single")


def run(ctx: RunContext, cfg: Config) -> Result:
    return run_study(ctx, cfg, PoleProblem(n_poles=1, markov=cfg.markov, fitness="standard"),
                     REFERENCE)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """Table 1's headline: CoSyNE (both variants) needs fewer evaluations than ESP, every run of
    the three solved."""
    runs = m["runs_per_method"]
    solved = [m[f"{k}_solved"] for k in ("cosyne", "cosyne_all", "esp")]
    c, ca, e = (m[f"{k}_mean_evaluations"] for k in ("cosyne", "cosyne_all", "esp"))
    ok = all(s == runs for s in solved) and c < e and ca < e
    return ok, (f"mean evaluations CoSyNE {c:,.0f} and CoSyNE-all {ca:,.0f} < ESP {e:,.0f}; "
                f"solved {'/'.join(map(str, solved))} of {runs} runs each")


EXPERIMENT = register(Experiment(
    name="pole-single",
    system="ESP, H-ESP, CoSyNE",
    paper="Gomez, Schmidhuber & Miikkulainen, Accelerated Neural Evolution through "
          "Cooperatively Coevolved Synapses, JMLR 9:937-965, 2008",
    description="Single pole: evaluations to balance 100,000 steps.",
    config=Config,
    scales={
        "quick": Config(methods=("cosyne", "cosyne-all", "esp", "cmaes"), runs=5,
                        max_evaluations=20_000, workers=1),
        "full": Config(),
    },
    run=run,
    smoke=smoke,
    reference=REFERENCE,
))
