"""ssa-als-transfer: transfer across goals with adaptive Levin search and SSA (ML97 exp. 2).

Schmidhuber, Zhao & Wiering, Machine Learning 28:105-130 (1997), section 5 and experiment 2.

A 23 x 23 maze with seven goals numbered by increasing distance (:func:`maze_exp2`). Goalset
``G_i = {1, ..., 3 + i}`` is posed in epochs ``10(i-1)+1 .. 10i``, 40 epochs in all [paper]; in
each epoch every goal of the set is searched for in turn, from the start, by Levin search over
the maze language with the current bias ``P`` (:mod:`metahook.search.als`). Methods [paper]:

- ``ls``: plain LS (``P`` stays uniform);
- ``als``: after each solution ``Adapt(q, P)`` with learning rate γ;
- ``ssa_als``: the same, but right before each ``Adapt`` SSA is called (reward = 1 / the
  solution's path length, time = search steps so far), and ``Adapt``'s rows are pushed first.

"METHOD 2" [paper] carries the bias over from goalset to goalset; ``method1=True`` resets it at
each change ("METHOD 1"). A search that has not succeeded after ``max_search_steps`` gives up
(ICML96 used 10^8 per goal); it counts its steps and earns no reward. Reported per method and γ:
search steps per epoch, in all, and for the hardest goal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.envs.pomaze import maze_exp2
from metahook.harness.api import Experiment, Result, RunContext, collect, plots, register
from metahook.references import refs
from metahook.rsi.ssa import SuccessStory
from metahook.search.als import LevinSearch, adapt, uniform_policy


@dataclass(frozen=True)
class Config:
    epochs: int = 40
    epochs_per_goalset: int = 10
    rates: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.5, 0.95)  # γ swept [paper: 0.01..0.95]
    l_max: int = 6  # program positions
    maxr: int = 6  # MAXR, the largest repeat count of Jump
    max_search_steps: int = 100_000_000  # per goal (ICML96: 10^8)
    method1: bool = False  # reset the bias at each goalset change (else carry it over)

    def validate(self) -> None:
        if self.epochs < 1 or self.epochs_per_goalset < 1:
            raise ValueError("epochs and epochs_per_goalset must be >= 1")
        if not self.rates or not all(0.0 < g < 1.0 for g in self.rates):
            raise ValueError("rates must be a non-empty tuple of values in (0, 1)")
        if self.l_max < 2 or self.maxr < 1 or self.max_search_steps < 1:
            raise ValueError("l_max >= 2, maxr >= 1, max_search_steps >= 1 required")


def _goalset(cfg: Config, epoch: int) -> list[int]:
    i = min(4, epoch // cfg.epochs_per_goalset + 1)
    return list(range(3 + i))


class _Learner:
    """One method with one learning rate: its bias, its SSA stack, its clock and reward."""

    def __init__(self, cfg: Config, method: str, gamma: float) -> None:
        self.cfg, self.method, self.gamma = cfg, method, gamma
        self.P = uniform_policy(cfg.l_max, cfg.maxr)
        self.ssa = SuccessStory(self.P.shape[0], self.P.shape[1])
        self.t = 0  # search steps so far (the learner's time)
        self.R = 0.0

    def reset_bias(self) -> None:
        self.P = uniform_policy(self.cfg.l_max, self.cfg.maxr)
        self.ssa = SuccessStory(self.P.shape[0], self.P.shape[1])

    def solve(self, ls: LevinSearch, start: tuple[int, int, int], goal: tuple[int, int]
              ) -> tuple[bool, int]:
        cfg = self.cfg
        found, steps, path, prog = _capped_search(ls, self.P, start, goal, cfg.max_search_steps)
        self.t += steps
        if not found or self.method == "ls":
            return found, steps
        ssa_on = self.method == "ssa_als"
        if ssa_on:
            self.R += 1.0 / max(1, path)
            self.ssa.call(self.P, float(self.t), self.R)  # the evaluation, right before Adapt
            self.ssa.begin_block(float(self.t), self.R)
            self.ssa.grow(rows=3 * len(prog))
        adapt(self.P, prog, len(prog), cfg.l_max, cfg.maxr, self.gamma, ssa_on, self.ssa.tags,
              self.ssa.entries, self.ssa.mark, self.ssa.counts)
        return found, steps


def _capped_search(ls: LevinSearch, P: np.ndarray, start: tuple[int, int, int],
                   goal: tuple[int, int], cap: int) -> tuple[bool, int, int, np.ndarray]:
    """LS phase by phase until a solution or ``cap`` steps (the last phase may overshoot it)."""
    return ls.search(P, start, goal, max_phase=62, max_steps=cap)


def run(ctx: RunContext, cfg: Config) -> Result:
    grid, s, goals = maze_exp2()
    start = (s[0], s[1], 1)  # facing east
    ls = LevinSearch(grid, cfg.l_max, cfg.maxr)
    configs = [("ls", 0.0)] + [(m, g) for m in ("als", "ssa_als") for g in cfg.rates]
    keys = [method if method == "ls" else f"{method}@{gamma:g}" for method, gamma in configs]
    # plain LS is deterministic (its bias never changes): one search per goal says it all
    ls_cost = [_capped_search(ls, uniform_policy(cfg.l_max, cfg.maxr), start, g,
                              cfg.max_search_steps)[:2] for g in goals]

    def transfer(missing: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        """One configuration at a time (each checkpointed when it ends), in order."""
        for key in missing:
            n = keys.index(key)
            method, gamma = configs[n]
            per_epoch, failures, hardest = [], 0, []
            learner = _Learner(cfg, method, gamma)
            for epoch in range(cfg.epochs):
                gs = _goalset(cfg, epoch)
                if cfg.method1 and epoch % cfg.epochs_per_goalset == 0:
                    learner.reset_bias()
                steps_epoch = 0
                for g in gs:
                    if method == "ls":
                        found, steps = ls_cost[g]
                    else:
                        found, steps = learner.solve(ls, start, goals[g])
                    steps_epoch += steps
                    failures += not found
                    if g == len(goals) - 1:
                        hardest.append(steps)
                per_epoch.append(steps_epoch)
                ctx.log(epoch + 1, config=key, search_steps=steps_epoch, goals=len(gs))
                ctx.progress(n + (epoch + 1) / cfg.epochs, len(configs),
                             f"{key} epoch {epoch + 1}")
            yield key, {
                "per_epoch": per_epoch, "total": int(np.sum(per_epoch)), "failures": failures,
                "goal7": hardest,
                "stack": learner.ssa.stack_size if method == "ssa_als" else 0,
                "surviving_blocks": learner.ssa.n_tags if method == "ssa_als" else 0,
            }

    results = collect(ctx, keys, transfer)
    return Result(metrics=_metrics(ctx, cfg, results))


def _metrics(ctx: RunContext, cfg: Config, res: dict[str, Any]) -> dict[str, Any]:
    ls_total = res["ls"]["total"]
    m: dict[str, Any] = {"ls_total_steps": ls_total, "ls_failures": res["ls"]["failures"]}
    for key, r in res.items():
        if key == "ls":
            continue
        m[f"{key}_total_steps"] = r["total"]
        m[f"{key}_failures"] = r["failures"]
        m[f"{key}_speedup_over_ls"] = ls_total / max(1, r["total"])
    for method in ("als", "ssa_als"):
        tot = [res[f"{method}@{g:g}"]["total"] for g in cfg.rates]
        m[f"{method}_best_rate"] = cfg.rates[int(np.argmin(tot))]
        m[f"{method}_worst_over_best"] = max(tot) / max(1, min(tot))
        m[f"{method}_rates_all_solved"] = sum(
            res[f"{method}@{g:g}"]["failures"] == 0 for g in cfg.rates)
    m["ssa_als_stack_size"] = float(np.mean([res[f"ssa_als@{g:g}"]["stack"] for g in cfg.rates]))
    ls_first = res["ls"]["goal7"][0] if res["ls"]["goal7"] else None
    m["ls_steps_goal7"] = ls_first
    m["speedup"] = m[f"ssa_als@{m['ssa_als_best_rate']:g}_speedup_over_ls"]
    fig, ax = plots.figure()
    x = np.arange(1, cfg.epochs + 1)
    ax.plot(x, res["ls"]["per_epoch"], "k-", lw=2, label="LS")
    for key, r in res.items():
        if key != "ls":
            ax.plot(x, r["per_epoch"], "--" if key.startswith("als") else "-", lw=1, label=key)
    ax.set_yscale("log")
    ax.set_xlabel("epoch (goalsets of 4, 5, 6, 7 goals, 10 epochs each)")
    ax.set_ylabel("search steps per epoch")
    ax.legend(fontsize=6, ncol=2)
    plots.save(fig, ctx.plot_path("search_steps"))
    return m


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The headline: plain LS misses far goals within the cap; adapting the bias (ALS, with or
    without SSA, at every learning rate) finds them all, more than 10 times faster."""
    keys = sorted(k.removesuffix("_speedup_over_ls") for k in m if k.endswith("_speedup_over_ls"))
    if not keys:
        raise KeyError("*_speedup_over_ls")
    ok = m["ls_failures"] > 0 and all(
        m[f"{k}_failures"] == 0 and m[f"{k}_speedup_over_ls"] > 10 for k in keys)
    each = ", ".join(f"{k} {m[f'{k}_failures']} ({m[f'{k}_speedup_over_ls']:.0f}x)" for k in keys)
    return ok, (f"LS missed {m['ls_failures']} goals (> 0); missed (speed-up over LS, > 10x): "
                f"{each}")


EXPERIMENT = register(
    Experiment(
        name="ssa-als-transfer",
        system="success-story algorithm, adaptive Levin search",
        paper="Schmidhuber, Zhao & Wiering, Machine Learning 28:105-130, 1997 (sec. 5, exp. 2)",
        description="LS, ALS and SSA+ALS on a 23x23 maze with 7 goals; learning-rate sweep.",
        config=Config,
        scales={
            "quick": Config(epochs=8, epochs_per_goalset=2, rates=(0.1, 0.95),
                            max_search_steps=2_000_000),
            "full": Config(),
        },
        run=run,
        smoke=smoke,
        reference=refs("ssa", "ssa-als-transfer"),
    )
)
