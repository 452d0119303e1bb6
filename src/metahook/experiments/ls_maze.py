"""ls-maze: Levin search solves a big partially observable maze (ML97 experiment 1).

Schmidhuber, Zhao & Wiering, Machine Learning 28:105-130 (1997), section 3.2 (experiment 1);
Wiering & Schmidhuber, ICML 1996.

The maze has 952 free fields and a shortest path of 127 steps [paper] (:func:`maze_exp1`); the
agent senses only whether the fields in front, left and right are free. Levin search over the
nine macro-instructions (:mod:`metahook.search.als`, uniform bias) looks for a program that walks
from S to G. Baseline: tabular Q(λ) on the agent's three sensor bits with the primitive actions
forward / turn left / turn right, reward 1 at the goal and a restart at S, for ``q_steps`` steps
-- the reactive learner the paper reports failing [paper: "Q-learning variants failed"].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.envs.pomaze import NAMES, distances, maze_exp1
from metahook.harness.api import Experiment, Result, RunContext, plots, register
from metahook.references import refs
from metahook.rl.pomaze_q import EPISODES, new_walk, q_lambda_maze_steps
from metahook.search.als import LevinSearch, uniform_policy


@dataclass(frozen=True)
class Config:
    l_max: int = 6  # program positions
    maxr: int = 6  # MAXR
    max_phase: int = 45  # LS gives up after phase 2^max_phase
    q_steps: int = 20_000_000  # Q(λ) baseline: primitive steps
    q_alpha: float = 0.1
    q_gamma: float = 0.99
    q_lambda: float = 0.9
    q_eps: float = 0.1

    def validate(self) -> None:
        if self.l_max < 2 or self.maxr < 1 or not 1 <= self.max_phase <= 62:
            raise ValueError("l_max >= 2, maxr >= 1, 1 <= max_phase <= 62 required")
        if self.q_steps < 0:
            raise ValueError("q_steps must be >= 0")


def run(ctx: RunContext, cfg: Config) -> Result:
    grid, s, g = maze_exp1()
    ls = LevinSearch(grid, cfg.l_max, cfg.maxr)
    found, steps, path, prog = ls.search(uniform_policy(cfg.l_max, cfg.maxr), (s[0], s[1], 1), g,
                                         max_phase=cfg.max_phase)
    ctx.log(0, method="ls", found=found, search_steps=steps, path_steps=path)
    program = [NAMES[int(c)] + (f"({int(a)},{int(r)})" if NAMES[int(c)] == "Jump" else "")
               for c, a, r in prog]
    metrics: dict[str, Any] = {
        "free_fields": int((grid == 0).sum()),
        "shortest_path": int(distances(grid, s)[g]),
        "ls_found": bool(found),
        "ls_search_steps": int(steps),
        "ls_path_steps": int(path),  # fields the program walks from S to G
        "ls_program": program,
    }
    if cfg.q_steps > 0:
        rng = ctx.rng
        Q = np.zeros((8, 3))
        E = np.zeros((8, 3))
        out = np.zeros(1 << 20, dtype=np.int64)
        walk = new_walk(s)
        qp = np.array([cfg.q_alpha, cfg.q_gamma, cfg.q_lambda, cfg.q_eps])
        no_t, no_e = np.zeros((1, 4)), np.zeros((1, 4))  # SSA off: no stack
        no_m, no_c = np.zeros(8, dtype=np.int64), np.zeros(7, dtype=np.int64)
        done = 0
        while done < cfg.q_steps:
            n = min(1 << 20, cfg.q_steps - done)
            q_lambda_maze_steps(grid, s[0], s[1], g[0], g[1], Q, E, rng.random(2 * n), qp, walk,
                                out, no_t, no_e, no_m, no_c)
            done += n
            ctx.progress(done, cfg.q_steps, "Q(lambda) baseline")
        episodes = int(walk[EPISODES])
        ep = out[: min(episodes, out.shape[0])]
        fig, ax = plots.figure()
        if len(ep):
            ax.plot(np.arange(1, len(ep) + 1), ep, lw=0.8, label="Q(λ): steps per episode")
        ax.axhline(metrics["shortest_path"], color="k", ls="--", lw=1, label="shortest path (127)")
        if found:
            ax.axhline(path, color="tab:red", ls=":", lw=1.5,
                       label=f"LS program ({steps:,} search steps to find)")
        ax.set_yscale("log")
        ax.set_xlabel("episode (start to goal)")
        ax.set_ylabel("steps")
        ax.legend(fontsize=7)
        plots.save(fig, ctx.plot_path("episode_length"))
        metrics.update(
            q_steps=cfg.q_steps, q_episodes=int(episodes),
            q_steps_per_episode_last=float(ep[-20:].mean()) if len(ep) else None,
            q_best_episode=int(ep.min()) if len(ep) else None,
        )
        ctx.log(1, method="q_lambda", episodes=int(episodes))
    return Result(metrics=metrics)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The headline: Levin search finds a program that walks the maze from S to G, on a path
    near the shortest (under 300 fields)."""
    found, path, shortest = bool(m["ls_found"]), m["ls_path_steps"], m["shortest_path"]
    ok = found and shortest <= path < 300
    return ok, (f"Levin search found a program: {found}; it walks {path} fields, {shortest} <= "
                f"{path} < 300")


EXPERIMENT = register(
    Experiment(
        name="ls-maze",
        system="success-story algorithm, adaptive Levin search",
        paper="Schmidhuber, Zhao & Wiering, Machine Learning 28:105-130, 1997 (sec. 3.2, exp. 1); "
              "Wiering & Schmidhuber, ICML 1996",
        description="Levin search over 9 macro-instructions solves a 952-field POMDP maze; "
                    "baseline Q(lambda) on the sensor bits.",
        config=Config,
        scales={"quick": Config(q_steps=2_000_000), "full": Config()},
        run=run,
        smoke=smoke,
        reference=refs("ssa", "ls-maze"),
    )
)
