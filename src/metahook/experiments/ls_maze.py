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
from metahook.harness.api import Experiment, Result, RunContext, plots, register, run_jobs
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


class _LevinJob:
    """Levin search for a program from S to G: one step, its result kept as checkpoint data."""

    def __init__(self, cfg: Config, grid: np.ndarray, start: tuple[int, int],
                 goal: tuple[int, int]) -> None:
        self.cfg, self.grid, self.start, self.goal = cfg, grid, start, goal
        self.result: dict[str, Any] | None = None

    def step(self) -> bool:
        if self.result is not None:
            return False
        cfg, s = self.cfg, self.start
        ls = LevinSearch(self.grid, cfg.l_max, cfg.maxr)
        found, steps, path, prog = ls.search(uniform_policy(cfg.l_max, cfg.maxr),
                                             (s[0], s[1], 1), self.goal, max_phase=cfg.max_phase)
        self.result = {"found": bool(found), "steps": int(steps), "path": int(path),
                       "program": [NAMES[int(c)] + (f"({int(a)},{int(r)})"
                                                    if NAMES[int(c)] == "Jump" else "")
                                   for c, a, r in prog]}
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"result": self.result or {}}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.result = dict(st["result"]) or None


class _QBaseline:
    """Q(λ) on the sensor bits (:mod:`metahook.rl.pomaze_q`), advanced 2^20 steps at a time."""

    CHUNK = 1 << 20

    def __init__(self, cfg: Config, grid: np.ndarray, start: tuple[int, int],
                 goal: tuple[int, int]) -> None:
        self.cfg, self.grid, self.start, self.goal = cfg, grid, start, goal
        self.Q, self.E = np.zeros((8, 3)), np.zeros((8, 3))
        self.out = np.zeros(1 << 20, dtype=np.int64)
        self.walk = new_walk(start)
        self.done = 0

    def step(self, rng: np.random.Generator) -> bool:
        cfg, s, g = self.cfg, self.start, self.goal
        if self.done >= cfg.q_steps:
            return False
        n = min(self.CHUNK, cfg.q_steps - self.done)
        qp = np.array([cfg.q_alpha, cfg.q_gamma, cfg.q_lambda, cfg.q_eps])
        no_t, no_e = np.zeros((1, 4)), np.zeros((1, 4))  # SSA off: no stack
        no_m, no_c = np.zeros(8, dtype=np.int64), np.zeros(7, dtype=np.int64)
        q_lambda_maze_steps(self.grid, s[0], s[1], g[0], g[1], self.Q, self.E,
                            rng.random(2 * n), qp, self.walk, self.out, no_t, no_e, no_m, no_c)
        self.done += n
        return True

    def episodes(self) -> np.ndarray:
        return self.out[: min(int(self.walk[EPISODES]), self.out.shape[0])]

    def state_dict(self) -> dict[str, Any]:
        return {"Q": self.Q, "E": self.E, "out": self.episodes(), "walk": self.walk,
                "done": self.done}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.Q = np.asarray(st["Q"], dtype=np.float64)
        self.E = np.asarray(st["E"], dtype=np.float64)
        ep = np.asarray(st["out"], dtype=np.int64)
        self.out[: len(ep)] = ep
        self.walk = np.asarray(st["walk"], dtype=np.int64)
        self.done = int(st["done"])


def run(ctx: RunContext, cfg: Config) -> Result:
    grid, s, g = maze_exp1()
    jobs: list[type[_LevinJob] | type[_QBaseline]] = [_LevinJob]
    if cfg.q_steps > 0:
        jobs.append(_QBaseline)

    def step(_i: int, job: _LevinJob | _QBaseline) -> bool:
        if isinstance(job, _LevinJob):
            return job.step()
        going = job.step(ctx.rng)
        ctx.progress(job.done, cfg.q_steps, "Q(lambda) baseline")
        return going

    def summarise(_i: int, job: _LevinJob | _QBaseline) -> dict[str, Any]:
        if isinstance(job, _LevinJob):
            assert job.result is not None
            return job.result
        ep = job.episodes()
        return {"episodes": int(job.walk[EPISODES]), "lengths": ep.tolist()}

    done = run_jobs(ctx, ["ls", "q_lambda"][: len(jobs)],
                    lambda i, _shared: jobs[i](cfg, grid, s, g), step, summarise)
    ls_run = done["ls"]
    found, steps, path = ls_run["found"], ls_run["steps"], ls_run["path"]
    ctx.log(0, method="ls", found=found, search_steps=steps, path_steps=path)
    metrics: dict[str, Any] = {
        "free_fields": int((grid == 0).sum()),
        "shortest_path": int(distances(grid, s)[g]),
        "ls_found": bool(found),
        "ls_search_steps": int(steps),
        "ls_path_steps": int(path),  # fields the program walks from S to G
        "ls_program": ls_run["program"],
    }
    if cfg.q_steps > 0:
        episodes = int(done["q_lambda"]["episodes"])
        ep = np.asarray(done["q_lambda"]["lengths"], dtype=np.int64)
        fig, ax = plots.figure()
        if len(ep):
            ax.plot(np.arange(1, len(ep) + 1), ep, lw=0.8, label="Q(λ): steps per episode")
        ax.axhline(metrics["shortest_path"], color="k", ls="--", lw=1, label="shortest path (127)")
        if found:
            ax.axhline(path, color="tab:red", ls=":", lw=1.5,
                       label=f"LS program ({steps:,} search steps to find)")
        ax.set_yscale("log")
        plots.finish(fig, ax, ctx.plot_path("episode_length"), xlabel="episode (start to goal)",
                     ylabel="steps", legend_size=7)
        metrics.update(
            q_steps=cfg.q_steps, q_episodes=episodes,
            q_steps_per_episode_last=float(ep[-20:].mean()) if len(ep) else None,
            q_best_episode=int(ep.min()) if len(ep) else None,
        )
        ctx.log(1, method="q_lambda", episodes=episodes)
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
