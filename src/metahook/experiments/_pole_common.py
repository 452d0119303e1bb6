"""Shared driver of the pole-balancing experiments (``pole-single``, ``pole-double``,
``pole-double-nv``): the methods' hyper-parameters, the study loop.

Methods (the rows of the papers' tables that we run ourselves), built by name from
:data:`metahook.evolution.registry.ALGORITHMS` with the config's hyper-parameters:

| name | algorithm |
|---|---|
| ``cosyne`` | CoSyNE with the fitness-proportional permutation marking of Gomez et al. (2008) |
| ``cosyne-all`` | CoSyNE permuting every evaluated weight (marking probability 1) |
| ``esp`` | ESP with burst mutation and network-size adaptation |
| ``hesp`` | H-ESP (ESP plus a level of whole networks) |
| ``cmaes`` | CMA-ES through pycma (Igel 2003's baseline) |
| ``snes``, ``pgpe``, ``evotorch-cosyne`` | EvoTorch's SNES, PGPE and CoSyNE (optional extra) |

The EvoTorch methods need ``pip install 'metahook[evotorch]'`` and are in no default method list
(metahook runs without EvoTorch); select them with ``--set methods=snes,pgpe,evotorch-cosyne``.

Each run is one evolutionary run from its own seed until a network solves the task or the
evaluation cap is reached. Finished runs are checkpointed, so ``--resume`` skips them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from metahook.evolution.base import Algorithm, Driver
from metahook.evolution.evotorch_es import EvoTorchMissing
from metahook.evolution.network import NetSpec
from metahook.evolution.pole_fitness import PoleProblem
from metahook.evolution.registry import algorithm_entry, check_methods
from metahook.evolution.study import RunSpec, run_all, summarize
from metahook.harness.api import Ref, Result, RunContext, UsageError, plots

METHODS = ("cosyne", "cosyne-all", "esp", "hesp", "cmaes")  # the default list (no EvoTorch)


def validate_common(cfg: Any) -> None:
    try:
        check_methods(cfg.methods)
    except EvoTorchMissing as exc:
        raise UsageError(str(exc)) from None
    if cfg.runs < 1:
        raise ValueError("runs must be >= 1")
    if cfg.max_evaluations < 1:
        raise ValueError("max_evaluations must be >= 1")
    if cfg.hidden < 0 or cfg.esp_hidden < 1:
        raise ValueError("hidden must be >= 0 and esp_hidden >= 1")
    if cfg.cosyne_m < 4:
        raise ValueError("cosyne_m must be >= 4")
    if cfg.esp_n < 4 or cfg.esp_trials < 1:
        raise ValueError("esp_n must be >= 4 and esp_trials >= 1")
    if cfg.workers < 0:
        raise ValueError("workers must be >= 0 (0: all cores)")


def build(method: str, cfg: Any, n_in: int) -> tuple[Algorithm | Driver, NetSpec]:
    """The algorithm and the starting network shape of ``method`` under ``cfg``: the registry's
    algorithm with the config's hyper-parameters; a neuron-evolving method (ESP, H-ESP) starts
    from ``esp_hidden`` hidden neurons, the others have ``hidden``."""
    entry = algorithm_entry(method)
    h = cfg.esp_hidden if entry.evolves == "neurons" else cfg.hidden
    return entry.make(dataclasses.asdict(cfg)), NetSpec(n_in, h, cfg.recurrent, cfg.bias)


def run_study(ctx: RunContext, cfg: Any, problem: PoleProblem,
              reference: dict[str, Ref]) -> Result:
    """Run every method ``cfg.runs`` times on ``problem``; the metrics hold each method's
    summary."""
    specs: list[RunSpec] = []
    for method in cfg.methods:
        algo, net = build(method, cfg, problem.n_in)
        specs += [RunSpec(method, i, algo, problem, net, ctx.seed, cfg.max_evaluations)
                  for i in range(cfg.runs)]

    def logged(key: str, rec: dict[str, Any], n_done: int) -> None:
        method, idx = key.split("/")
        ctx.log(n_done, method=method, run=int(idx), **rec)
        ctx.progress(n_done, len(specs), f"{n_done}/{len(specs)} runs")

    done = run_all(ctx, specs, cfg.backend, cfg.workers, logged)
    metrics: dict[str, Any] = {"fitness": problem.fitness, "runs_per_method": cfg.runs}
    per_method: dict[str, list[int]] = {}
    for method in cfg.methods:
        recs = [done[f"{method}/{i}"] for i in range(cfg.runs)]
        summary = summarize(recs, cfg.max_evaluations)
        per_method[method] = [r["evaluations"] for r in recs if r["solved"]]
        for k, v in summary.items():
            metrics[f"{method.replace('-', '_')}_{k}"] = v
        metrics[f"{method.replace('-', '_')}_evaluations_all"] = [r["evaluations"] for r in recs]
    _plot(ctx, per_method, reference)
    return Result(metrics=metrics)


def _plot(ctx: RunContext, per_method: dict[str, list[int]], reference: dict[str, Ref]) -> None:
    fig, ax = plots.figure(7.0, 4.0)
    names = list(per_method)
    data = [[float(v) for v in per_method[m]] or [float('nan')] for m in names]
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(names) + 1), names)
    for i, m in enumerate(names, start=1):
        key = m.replace("-", "_") + "_mean_evaluations"
        for ref in reference.values():
            if ref.metric == key:
                ax.plot([i], [float(ref.value)], "r*", markersize=12)
    ax.set_yscale("log")
    ax.set_ylabel("evaluations to solve")
    ax.set_title("ours (box; triangle = mean), paper's mean (red star)")
    plots.save(fig, ctx.plot_path("evaluations"))


@dataclasses.dataclass(frozen=True)
class PoleStudyConfig:
    """Hyperparameters shared by the pole experiments (each experiment sets its own defaults)."""

    methods: tuple[str, ...] = METHODS
    runs: int = 50  # independent runs per method (the papers: 50)
    max_evaluations: int = 100_000  # cap per run; a run that hits it counts as unsolved
    hidden: int = 0  # CoSyNE / CMA-ES hidden neurons (0: single-layer net)
    recurrent: bool = False  # fully recurrent hidden layer
    bias: bool = False  # constant bias input
    esp_hidden: int = 1  # ESP / H-ESP initial hidden neurons (size adaptation may change it)
    cosyne_m: int = 20  # CoSyNE population (networks per generation)
    cosyne_alpha: float = 0.3  # CoSyNE Cauchy mutation scale
    cosyne_mutation_prob: float = 0.3  # CoSyNE per-weight mutation probability
    esp_n: int = 40  # ESP neurons per subpopulation
    esp_trials: int = 10  # ESP networks per neuron per generation
    cmaes_sigma0: float = 1.0  # CMA-ES initial step size
    backend: Literal["process", "ray"] = "process"
    workers: int = 0  # processes (or Ray CPUs); 0: all cores, 1: in this process

    def validate(self) -> None:
        validate_common(self)
