"""learning-to-think: C queries a recurrent world model M before acting, on the T-maze.

Schmidhuber, "On learning to think: algorithmic information theory for novel combinations of
reinforcement learning controllers and recurrent neural world models", arXiv:1511.09249 (2015).
The report is a framework without experiments ("experimental results will be described in
separate papers"); this experiment is our instance of it (see docs/world_models.md, "Learning to
think", for the design choices).

Task: the T-maze (:mod:`metahook.envs.tmaze`, Bakker 2002), corridor length ``length``; the goal
arm is shown only in the first cell, so acting well needs memory. Each controller is walked twice
(goal north, goal south); solved = both walks end in the goal arm.

Per variant and seed, in alternation (the report's algorithm 1), until a controller solves the
maze or ``budget`` real steps are spent:
1. M frozen, one CMA-ES (pycma) generation of C: every candidate walks the maze twice (real
   steps, the cost measure); the episodes join the history.
2. "Sleep phase": M (``torch.nn.LSTM``) is trained ``m_updates`` Adam steps on episodes drawn
   from the whole history, to predict the next observation and the step's outcome.
Variants (:mod:`metahook.neural.learning_to_think`): ``no_m`` (C an Elman RNN without M),
``final_h`` (C linear on [o, M's hidden state]), ``think`` (C linear on [o, M's hidden state,
M's answers] after ``k`` query steps into a copy of M), and two controls, ``final_h_random_m``
and ``think_random_m``, whose M is never trained (a fixed random LSTM): they tell whether C uses
what M learned or merely an extra recurrent state. M costs no real steps: it learns from the
episodes C's search walks anyway. Reported: seeds solved, real steps and episodes to solve
(mean over solved runs, and mean with unsolved runs counted at the budget), M's query steps and
the wall time per variant.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from metahook.evolution.cmaes import CMAES
from metahook.evolution.network import NetSpec
from metahook.harness.api import Experiment, Result, RunContext, collect, plots, register
from metahook.neural import learning_to_think as ltt
from metahook.neural.training import seeded, set_threads
from metahook.references import refs

RANDOM_M = "_random_m"  # suffix of the controls whose M is never trained (a fixed random LSTM)
VARIANTS = (*ltt.VARIANTS, f"final_h{RANDOM_M}", f"think{RANDOM_M}")


@dataclass(frozen=True)
class Config:
    seeds: int = 16
    variants: tuple[str, ...] = VARIANTS
    length: int = 10  # corridor length L (memory span in steps)
    max_steps: int = 30  # a walk is cut off after this many steps
    budget: int = 30_000  # real environment steps per run
    k: int = 1  # query steps into M before each real action (think)
    m_hidden: int = 16
    c_hidden: int = 4  # units of the no_m controller's RNN
    m_updates: int = 100  # M's Adam steps per generation (sleep phase)
    m_batch: int = 32
    m_outcome_share: float = 0.5  # share of each batch drawn from walks that reached an arm
    m_lr: float = 1e-2
    popsize: int = 0  # CMA-ES population (0: pycma's default 4 + 3 ln n)
    sigma0: float = 0.5
    threads: int = 1
    plots: bool = True

    def validate(self) -> None:
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad or "think" not in self.variants or len(set(self.variants)) < len(self.variants):
            raise ValueError(f"variants must include think and come from "
                             f"{', '.join(VARIANTS)} (each once), got "
                             f"{', '.join(self.variants) or 'none'}")
        for name in ("seeds", "length", "budget", "k", "m_hidden", "c_hidden", "m_updates",
                     "m_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_steps < self.length + 1:
            raise ValueError(f"max_steps must be >= length + 1 = {self.length + 1} (a walk to "
                             f"the goal takes length + 1 steps), got {self.max_steps}")
        if self.popsize < 0 or self.popsize == 1:
            raise ValueError(f"popsize must be 0 (pycma's default) or >= 2, got {self.popsize}")
        if not 0.0 <= self.m_outcome_share <= 1.0:
            raise ValueError(f"m_outcome_share must be in [0, 1], got {self.m_outcome_share}")
        if not (self.m_lr > 0 and self.sigma0 > 0):
            raise ValueError("m_lr and sigma0 must be > 0")


class _Run:
    """One variant, one seed: CMA-ES generations of C alternating with M's sleep phases."""

    def __init__(self, cfg: Config, variant: str, seed: int) -> None:
        self.cfg, self.variant = cfg, variant.removesuffix(RANDOM_M)
        self.train_m = not variant.endswith(RANDOM_M)
        self.rng = np.random.default_rng([seed, 2015])
        self.n = ltt.n_params(self.variant, cfg.m_hidden, cfg.c_hidden)
        self.algo = CMAES(sigma0=cfg.sigma0, popsize=cfg.popsize, min_std_frac=0.0)
        self.es = self.algo.init(NetSpec(n_in=self.n, h=0), self.rng)
        self.m = (None if self.variant == "no_m"
                  else seeded(lambda: ltt.TMazeModel(cfg.m_hidden), seed))
        self.opt = (torch.optim.Adam(self.m.parameters(), lr=cfg.m_lr)
                    if self.m is not None and self.train_m else None)
        self.history = ltt.Episodes.empty(cfg.max_steps)
        self.steps = 0
        self.episodes = 0
        self.queries = 0
        self.generations = 0
        self.solved_at: int | None = None
        self.solved_episodes: int | None = None
        self.ce0: float | None = None
        self.curve: list[list[float]] = []  # [real steps, best fitness, mean fitness, M's CE]

    def step(self) -> bool:
        cfg = self.cfg
        if self.steps >= cfg.budget or self.solved_at is not None:
            return False
        pop = self.algo.ask(self.es, self.rng)
        if self.m is not None:
            self.m.eval()
        r = ltt.rollout(self.variant, pop.genomes, self.m, cfg.length, cfg.max_steps,
                        cfg.k, cfg.c_hidden)
        self.queries += r.queries
        cum = self.steps + np.cumsum(r.steps)  # candidates walk one after the other
        first = int(np.argmax(r.solved)) if r.solved.any() else -1
        if first >= 0 and cum[first] <= cfg.budget:
            self.solved_at = int(cum[first])
            self.solved_episodes = self.episodes + 2 * (first + 1)
        self.steps = int(cum[-1])
        self.episodes += 2 * len(r.steps)
        self.algo.tell(self.es, r.fitness, self.rng)
        self.generations += 1
        ce = float("nan")
        if self.m is not None and self.opt is not None:
            self.history.extend(r.episodes)
            ended = np.flatnonzero(self.history.outcome.max(1) > 0)
            n_end = round(cfg.m_outcome_share * cfg.m_batch) if len(ended) else 0
            self.m.train()
            for _ in range(cfg.m_updates):
                idx = np.concatenate([
                    self.rng.integers(0, len(self.history), cfg.m_batch - n_end),
                    ended[self.rng.integers(0, len(ended), n_end)] if n_end else
                    np.zeros(0, np.int64)])
                loss, _, c = ltt.model_loss(self.m, self.history, idx)
                if self.ce0 is None:
                    self.ce0 = float(c.detach())  # untrained M, on its first batch
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                ce = float(c.detach())
        self.curve.append([float(min(self.steps, cfg.budget)), float(r.fitness.max()),
                           float(r.fitness.mean()), ce])
        return True


def _stats(values: list[int | None], cap: int) -> dict[str, Any]:
    solved = [v for v in values if v is not None]
    capped = [v if v is not None else cap for v in values]
    return {"solved": len(solved),
            "mean_solved": float(np.mean(solved)) if solved else None,
            "median_solved": float(np.median(solved)) if solved else None,
            "mean_capped": float(np.mean(capped))}


def run(ctx: RunContext, cfg: Config) -> Result:
    set_threads(cfg.threads)
    jobs = [(v, i) for v in cfg.variants for i in range(cfg.seeds)]
    keys = [f"{v}/{i}" for v, i in jobs]

    def compute(missing: list[str]) -> Any:
        for key in missing:
            j = keys.index(key)
            variant, i = jobs[j]
            t0 = time.perf_counter()
            job = _Run(cfg, variant, ctx.seed * 10_007 + i)
            while job.step():
                ctx.progress(j + min(1.0, job.steps / cfg.budget), len(keys), key)
            know = (ltt.junction_knowledge(job.m, cfg.length) if job.m is not None else None)
            yield key, {"solved_at": job.solved_at, "solved_episodes": job.solved_episodes,
                        "steps": job.steps, "generations": job.generations,
                        "queries": job.queries, "curve": job.curve, "m_knows": know,
                        "m_ce0": job.ce0,
                        "wall_s": time.perf_counter() - t0}

    def logged(key: str, rec: dict[str, Any], n: int) -> None:
        ctx.log(n, job=key, solved_at=rec["solved_at"], generations=rec["generations"],
                m_knows=rec["m_knows"], wall_s=rec["wall_s"])

    done = collect(ctx, keys, compute, logged)
    m: dict[str, Any] = {"seeds": cfg.seeds, "budget": cfg.budget, "length": cfg.length,
                         "k": cfg.k}
    for v in cfg.variants:
        rs = [done[f"{v}/{i}"] for i in range(cfg.seeds)]
        st = _stats([r["solved_at"] for r in rs], cfg.budget)
        m[f"{v}_solved"] = st["solved"]
        m[f"{v}_mean_steps_solved"] = st["mean_solved"]
        m[f"{v}_median_steps_solved"] = st["median_solved"]
        m[f"{v}_mean_steps_capped"] = st["mean_capped"]
        ep = _stats([r["solved_episodes"] for r in rs], cfg.budget // (cfg.length + 1))
        m[f"{v}_mean_episodes_solved"] = ep["mean_solved"]
        m[f"{v}_params"] = ltt.n_params(v.removesuffix(RANDOM_M), cfg.m_hidden, cfg.c_hidden)
        m[f"{v}_queries_mean"] = float(np.mean([r["queries"] for r in rs]))
        m[f"{v}_wall_s_mean"] = float(np.mean([r["wall_s"] for r in rs]))
        withm = [r for r in rs if r["m_ce0"] is not None]
        m[f"{v}_m_ce_untrained"] = (float(np.mean([r["m_ce0"] for r in withm]))
                                    if withm else None)
        m[f"{v}_m_ce_last"] = (float(np.mean([r["curve"][-1][3] for r in withm]))
                               if withm else None)
        knows = [r["m_knows"] for r in rs if r["m_knows"] is not None]
        m[f"{v}_m_knows_mean"] = float(np.mean(knows)) if knows else None
    if "no_m" in cfg.variants:
        for v in cfg.variants:
            if v != "no_m":
                m[f"speedup_capped_{v}"] = (m["no_m_mean_steps_capped"]
                                            / m[f"{v}_mean_steps_capped"])
    if cfg.plots:
        _plot(ctx, cfg, done)
    return Result(metrics=m)


NAMES = {"no_m": "C without M (RNN)", "final_h": "C reads M's hidden state",
         "think": "C queries M, then acts", f"final_h{RANDOM_M}": "C reads an untrained M's state",
         f"think{RANDOM_M}": "C queries an untrained M"}


def _plot(ctx: RunContext, cfg: Config, done: dict[str, Any]) -> None:
    fig, ax = plots.figure(7.0, 4.5)
    for c, v in enumerate(cfg.variants):
        for i in range(cfg.seeds):
            curve = np.asarray(done[f"{v}/{i}"]["curve"])
            if len(curve):
                ax.plot(curve[:, 0], curve[:, 1], color=f"C{c}", alpha=0.5,
                        label=NAMES[v] if i == 0 else None)
    plots.finish(fig, ax, ctx.plot_path("learning_curves"), xlabel="real environment steps",
                 ylabel="best fitness of the generation (6 = solved)",
                 title=f"T-maze, corridor {cfg.length}, {cfg.seeds} seeds per variant")


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The quick scale is a smoke run: the pipeline works when M's sleep phases cut its outcome
    cross-entropy to below a quarter of the untrained M's and C made query steps into M. Which
    variant needs fewer real steps is reported, not judged (a quick budget cannot show it)."""
    ce0, ce = m["think_m_ce_untrained"], m["think_m_ce_last"]
    ok = ce0 is not None and ce is not None and ce < ce0 / 4 and m["think_queries_mean"] > 0
    return ok, (f"M's outcome cross-entropy {ce0:.3f} -> {ce:.3f}, "
                f"{m['think_queries_mean']:.0f} query steps; real steps to solve (unsolved at "
                f"{m['budget']}): think {m['think_mean_steps_capped']:.0f} "
                f"({m['think_solved']}/{m['seeds']} solved)" + (
                    f", no M {m['no_m_mean_steps_capped']:.0f} ({m['no_m_solved']}/{m['seeds']})"
                    if "no_m_solved" in m else ""))


EXPERIMENT = register(Experiment(
    name="learning-to-think",
    system="controller + world model (World Models)",
    paper="Schmidhuber, On learning to think: algorithmic information theory for novel "
          "combinations of reinforcement learning controllers and recurrent neural world "
          "models, arXiv:1511.09249 (2015)",
    description="A controller that queries a recurrent world model (learned from all its "
                "experience) before acting, against one without the model and one reading only "
                "the model's hidden state: real steps to solve a T-maze (a memory POMDP).",
    config=Config,
    scales={"quick": Config(seeds=1, variants=ltt.VARIANTS, budget=6_000, m_updates=50),
            "full": Config()},
    run=run,
    smoke=smoke,
    reference=refs("world_models", "learning-to-think"),
))
