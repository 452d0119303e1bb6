"""curiosity-two-brains: LEFT and RIGHT bet on self-invented experiments ("Exploring the
predictable", Schmidhuber 1997/2002), against the same machine with SSA alone.

Schmidhuber, "Exploring the predictable", in Advances in Evolutionary Computing, Springer 2002,
pp. 579-612 (TR IDSIA-35-97, "What's interesting?", 1997). The system
(:mod:`metahook.curiosity.two_brains`): two modules choose every instruction by the product of
their values, bet against each other with ``Bet!`` on whether two internal cells will be equal
(+1 / -1 surprise rewards, zero sum), and each keeps only its useful self-modifications by its own
success-story stack. The paper's abstract says its simulations include an example where
curiosity speeds up the intake of external reward [paper]; that example's environment and
figures are not in the web copy we could read, so the task here is ours: an agent in a
``grid x grid`` world, moved by ``Move`` instructions, paid ``ext_reward`` (split equally) each
time it reaches the far corner, and put back at the start.

Methods: ``curious`` (Bet! pays) and ``ssa_only`` (the same machine and instruction set, Bet!
executed but paying nothing, so only external reward drives SSA). Every method and seed is a job
of ``run_jobs``; seed ``i`` gives both methods the same random stream. Measured: the external
reward each method collects in a life of ``steps`` time steps (mean, median, per seed), a
two-sided Mann-Whitney U test between the methods' per-seed totals, the time of the first goal,
the cumulative reward curve, and the bets (the surprise rewards of the two modules must sum to
zero in every life).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu

from metahook.core.ray_pool import check_backend
from metahook.core.seeding import rng_for
from metahook.curiosity.two_brains import TwoBrains, TwoBrainsParams
from metahook.harness.api import Experiment, Result, RunContext, plots, register, run_jobs
from metahook.references import refs

METHODS = ("curious", "ssa_only")


@dataclass(frozen=True)
class Config:
    seeds: int = 30
    steps: int = 20_000_000  # time steps of each life
    log_every: int = 500_000  # time steps between measurements (and checkpoints)
    grid: int = 12  # the world: grid x grid cells, start (0, 0), goal at (grid-1, grid-1)
    ext_reward: float = 10.0  # paid on the goal, split equally between the modules (headline)
    ext_rewards_extra: tuple[float, ...] = (1.0, 100.0)  # further curious runs at these rewards
    n_cols: int = 64  # m columns per module
    n_state: int = 8  # cells of S
    M: int = 8  # S's values lie in -M..M
    lam: float = 0.3
    minp: float = 0.004
    eval_delay: int = 1
    plots: bool = True
    backend: str = "process"  # or "ray": one Ray task per method and seed, same results

    def validate(self) -> None:
        check_backend(self.backend)
        if self.seeds < 2 or self.log_every < 1 or self.steps < self.log_every:
            raise ValueError("seeds >= 2, log_every >= 1 and steps >= log_every required")
        if self.ext_reward <= 0 or any(r <= 0 for r in self.ext_rewards_extra):
            raise ValueError("ext_reward and ext_rewards_extra must be > 0")
        if self.ext_reward in self.ext_rewards_extra:
            raise ValueError("ext_rewards_extra must not repeat ext_reward")
        self.params(True, self.ext_reward).validate()

    def methods(self) -> list[tuple[str, bool, float]]:
        """(name, curious, external reward) of every method: the headline pair, then the
        curious machine at the further rewards (SSA alone does not depend on the reward's
        size: its criterion compares reward rates)."""
        return ([("curious", True, self.ext_reward), ("ssa_only", False, self.ext_reward)]
                + [(f"curious_r{r:g}", True, r) for r in self.ext_rewards_extra])

    def params(self, curious: bool, ext_reward: float) -> TwoBrainsParams:
        return TwoBrainsParams(n_cols=self.n_cols, n_state=self.n_state, M=self.M,
                               grid=self.grid, ext_reward=ext_reward, lam=self.lam,
                               minp=self.minp, eval_delay=self.eval_delay, curious=curious)


class _Job:
    """One method and seed: a life, and its cumulative external reward every ``log_every``."""

    def __init__(self, cfg: Config, curious: bool, ext_reward: float, seed_index: int,
                 run_seed: int) -> None:
        self.cfg = cfg
        self.machine = TwoBrains(cfg.params(curious, ext_reward),
                                 rng_for(f"two-brains seed {seed_index}", run_seed))
        self.curve: list[float] = [0.0]  # goals reached

    def step(self) -> bool:
        if self.machine.time >= self.cfg.steps:
            return False
        target = min(self.cfg.log_every * len(self.curve), self.cfg.steps)
        self.machine.run_until(target)
        self.curve.append(float(self.machine.goals))
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"machine": self.machine.state_dict(), "curve": self.curve}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.machine.load_state_dict(st["machine"])
        self.curve = [float(c) for c in st["curve"]]


def run(ctx: RunContext, cfg: Config) -> Result:
    methods = cfg.methods()
    jobs = [(a, c, r, i) for a, c, r in methods for i in range(cfg.seeds)]
    keys = [f"{a}/{i}" for a, _, _, i in jobs]

    def make(j: int, _shared: dict[str, Any]) -> _Job:
        _, curious, r, i = jobs[j]
        return _Job(cfg, curious, r, i, ctx.seed)

    def step(j: int, job: _Job) -> bool:
        going = job.step()
        ctx.progress(j + job.machine.time / cfg.steps, len(keys), keys[j])
        return going

    def summarise(j: int, job: _Job) -> dict[str, Any]:
        out = job.machine.stats() | {"curve": job.curve}
        ctx.log(j, job=keys[j], goals=job.curve[-1], bets=out["bets"],
                first_goal=out["first_goal"])
        return out

    done = run_jobs(ctx, keys, make, step, summarise, backend=cfg.backend)
    m: dict[str, Any] = {"seeds": cfg.seeds, "time_steps": cfg.steps, "grid": cfg.grid,
                         "ext_reward": cfg.ext_reward}
    totals = {}
    for a, _, _ in methods:
        runs = [done[f"{a}/{i}"] for i in range(cfg.seeds)]
        goals = np.array([r["curve"][-1] for r in runs])
        totals[a] = goals
        first = np.array([r["first_goal"] if r["first_goal"] >= 0 else np.nan for r in runs])
        if a in METHODS:  # the headline pair, in units of external reward
            tot = goals * cfg.ext_reward
            m[f"external_reward_{a}"] = float(tot.mean())
            m[f"external_reward_{a}_median"] = float(np.median(tot))
            m[f"external_reward_{a}_sd"] = float(tot.std(ddof=1))
        m[f"goals_{a}"] = float(goals.mean())
        m[f"goals_{a}_median"] = float(np.median(goals))
        m[f"goals_per_seed_{a}"] = [float(x) for x in goals]
        m[f"first_goal_{a}_median"] = float(np.nanmedian(first)) if np.isfinite(first).any() \
            else None
        m[f"runs_with_goal_{a}"] = int(np.isfinite(first).sum())
        m[f"bets_{a}"] = float(np.mean([r["bets"] for r in runs]))
        m[f"surprise_abs_{a}"] = float(np.mean([abs(r["surprise"][0]) for r in runs]))
        m[f"surprise_sum_max_abs_{a}"] = float(max(abs(r["surprise"][0] + r["surprise"][1])
                                                   for r in runs))
        m[f"self_modifications_{a}"] = float(np.mean([sum(r["mods"]) for r in runs]))
        m[f"surviving_blocks_{a}"] = float(np.mean([sum(r["blocks"]) for r in runs]))
        m[f"curve_{a}"] = np.mean([r["curve"] for r in runs], axis=0).tolist()
    for a, _, _ in methods[2:]:
        test = mannwhitneyu(totals[a], totals["ssa_only"], alternative="two-sided")
        m[f"mannwhitney_p_{a}"] = float(test.pvalue)
        m[f"goals_ratio_{a}"] = float(totals[a].mean() / max(totals["ssa_only"].mean(), 1e-300))
    c, b = totals["curious"], totals["ssa_only"]
    m["external_reward_ratio"] = float(c.mean() / b.mean()) if b.mean() > 0 else None
    m["external_reward_ratio_median"] = float(np.median(c) / np.median(b)) \
        if np.median(b) > 0 else None
    m["seeds_curious_ahead"] = int((c > b).sum())
    test = mannwhitneyu(c, b, alternative="two-sided")
    m["mannwhitney_u"] = float(test.statistic)
    m["mannwhitney_p"] = float(test.pvalue)
    if cfg.plots:
        _plot(ctx, cfg, m)
    return Result(metrics=m)


def _plot(ctx: RunContext, cfg: Config, m: dict[str, Any]) -> None:
    fig, ax = plots.figure(7.0, 4.5)
    t = np.arange(len(m["curve_curious"])) * cfg.log_every
    t[-1] = min(t[-1], cfg.steps)
    for k, (a, _, r) in enumerate(cfg.methods()):
        ax.plot(t, m[f"curve_{a}"], label=f"{a.replace('_', ' ')} (goal pays {r:g})",
                color=f"C{k}")
    ax.set_yscale("symlog", linthresh=1.0)
    plots.finish(fig, ax, ctx.plot_path("goals"), xlabel="time steps",
                 ylabel="goals reached (mean over seeds)",
                 title=f"Two brains, {cfg.grid}x{cfg.grid} world, {cfg.seeds} seeds: "
                       f"p = {m['mannwhitney_p']:.2g} (Mann-Whitney)", legend_size=8)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """A sanity check, not the headline (which the full run does not show, see docs): the
    surprise rewards sum to zero in every curious life and are absent without curiosity, the
    curious machine bets, and both methods collect external reward."""
    zero_sum = m["surprise_sum_max_abs_curious"] == 0.0 and m["surprise_abs_ssa_only"] == 0.0
    ok = (zero_sum and m["bets_curious"] > 0 and m["external_reward_curious"] > 0
          and m["external_reward_ssa_only"] > 0)
    return ok, (f"external reward: curious {m['external_reward_curious']:.0f}, SSA only "
                f"{m['external_reward_ssa_only']:.0f} (mean), Mann-Whitney p = "
                f"{m['mannwhitney_p']:.2g}; bets per life {m['bets_curious']:.0f}; surprise "
                f"sums {'zero' if zero_sum else 'NOT zero'}")


EXPERIMENT = register(Experiment(
    name="curiosity-two-brains",
    system="artificial curiosity (two modules betting on self-invented experiments, SSA)",
    paper="Schmidhuber, Exploring the predictable, in Advances in Evolutionary Computing, "
          "Springer 2002, pp. 579-612 (TR IDSIA-35-97, What's interesting?, 1997)",
    description="Two self-modifying modules choose each instruction by the product of their "
                "probabilities and bet on whether two internal cells will be equal (zero-sum "
                "surprise rewards), each with its own success-story stack; external reward for "
                "reaching a corner of a grid world, against the same machine with SSA alone.",
    config=Config,
    scales={"quick": replace(Config(), seeds=8, steps=3_000_000, ext_rewards_extra=()),
            "full": Config()},
    run=run,
    smoke=smoke,
    reference=refs("curiosity", "curiosity-two-brains"),
))
