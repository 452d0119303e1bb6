"""hesp-tmaze: H-ESP (and ESP, CoSyNE) on T-mazes whose corridors need memory over N steps.

Gomez & Schmidhuber, *Co-evolving recurrent neurons learn deep memory POMDPs*, GECCO 2005: H-ESP
is shown on POMDP tasks "that involve temporal dependencies of up to thousands of time-steps"
(abstract); one of them is Bakker's T-maze. We run each method ``runs`` times per corridor length
and report the evaluations until a network takes the right arm for both signals, and the longest
corridor every run of H-ESP solved. The networks: 3 inputs plus a bias, ``hidden`` fully recurrent
tanh neurons, one output (see :mod:`metahook.evolution.tmaze_fitness`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from metahook.evolution.base import Algorithm, Driver
from metahook.evolution.evotorch_es import EvoTorchMissing
from metahook.evolution.network import NetSpec
from metahook.evolution.registry import check_methods, make_algorithm
from metahook.evolution.study import RunSpec, run_all, summarize
from metahook.evolution.tmaze_fitness import TMazeProblem
from metahook.harness.api import Experiment, Result, RunContext, UsageError, plots, register
from metahook.references import refs

METHODS = ("hesp", "esp", "cosyne-all")  # the default list; any registered algorithm runs


@dataclass(frozen=True)
class Config:
    lengths: tuple[int, ...] = (10, 100, 1000)  # corridor lengths N (memory span in steps)
    methods: tuple[str, ...] = METHODS
    runs: int = 20  # independent runs per method and length
    max_evaluations: int = 50_000  # cap per run
    hidden: int = 3  # fully recurrent hidden neurons
    esp_n: int = 20  # ESP / H-ESP neurons per subpopulation
    esp_trials: int = 5  # networks per neuron per generation
    level2_size: int = 20  # H-ESP networks in level 2
    cosyne_m: int = 20
    backend: Literal["process", "ray"] = "process"
    workers: int = 0  # 0: all cores, 1: in this process

    def validate(self) -> None:
        if not self.lengths or min(self.lengths) < 1:
            raise ValueError("lengths must be >= 1")
        try:
            check_methods(self.methods)
        except EvoTorchMissing as exc:
            raise UsageError(str(exc)) from None
        if self.runs < 1 or self.max_evaluations < 1 or self.hidden < 1:
            raise ValueError("runs, max_evaluations and hidden must be >= 1")
        if self.esp_n < 4 or self.esp_trials < 1 or self.cosyne_m < 4 or self.level2_size < 2:
            raise ValueError("esp_n >= 4, esp_trials >= 1, cosyne_m >= 4, level2_size >= 2")
        if self.workers < 0:
            raise ValueError("workers must be >= 0")


def _algo(method: str, cfg: Config) -> Algorithm | Driver:
    """The registry's algorithm with the config's hyper-parameters. Every method evolves the same
    fixed shape here: ESP's network-size adaptation is off (as H-ESP's always is)."""
    return make_algorithm(method, {**dataclasses.asdict(cfg), "esp_adapt_size": False})


def run(ctx: RunContext, cfg: Config) -> Result:
    net = NetSpec(3, cfg.hidden, True, True)
    specs = [RunSpec(f"{method}@{length}", i, _algo(method, cfg), TMazeProblem(length), net,
                     ctx.seed, cfg.max_evaluations)
             for length in cfg.lengths for method in cfg.methods for i in range(cfg.runs)]

    def logged(key: str, rec: dict[str, Any], n_done: int) -> None:
        ctx.log(n_done, key=key, **rec)
        ctx.progress(n_done, len(specs), f"{n_done}/{len(specs)} runs")

    done = run_all(ctx, specs, cfg.backend, cfg.workers, logged)
    metrics: dict[str, Any] = {}
    fig, ax = plots.figure()
    for method in cfg.methods:
        name = method.replace("-", "_")
        longest = 0
        means = []
        for length in cfg.lengths:
            recs = [done[f"{method}@{length}/{i}"] for i in range(cfg.runs)]
            s = summarize(recs, cfg.max_evaluations)
            metrics[f"{name}_N{length}_mean_evaluations"] = s["mean_evaluations"]
            metrics[f"{name}_N{length}_median_evaluations"] = s["median_evaluations"]
            metrics[f"{name}_N{length}_mean_evaluations_at_cap"] = s["mean_evaluations_at_cap"]
            metrics[f"{name}_N{length}_solved"] = s["solved"]
            means.append(s["mean_evaluations"] or float("nan"))
            if s["solved"] == cfg.runs:
                longest = max(longest, length)
        metrics[f"{name}_max_length_solved"] = longest
        ax.plot(cfg.lengths, means, "o-", label=method)
    ax.set_xscale("log")
    ax.set_xlabel("corridor length N (steps of memory)")
    ax.set_ylabel("mean evaluations to solve")
    ax.legend()
    plots.save(fig, ctx.plot_path("tmaze"))
    return Result(metrics=metrics)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The headline: H-ESP learns memory over a thousand steps (every run solves the 1000-step
    corridor)."""
    longest = m["hesp_max_length_solved"]
    return longest >= 1000, f"H-ESP: every run solved corridors up to {longest} steps (>= 1000)"


EXPERIMENT = register(Experiment(
    name="hesp-tmaze",
    system="ESP, H-ESP, CoSyNE",
    paper="Gomez & Schmidhuber, Co-evolving recurrent neurons learn deep memory POMDPs, "
          "GECCO 2005",
    description="T-maze with corridors of 10 to 1000 steps: evaluations until both arms are "
                "taken correctly.",
    config=Config,
    scales={
        # quick: the paper's span of 1000 steps too (every run of seeds 0-2 solved it)
        "quick": Config(lengths=(10, 100, 1000), runs=5, workers=1),
        "full": Config(),
    },
    run=run,
    smoke=smoke,
    reference=refs("evolution", "hesp-tmaze"),
))
