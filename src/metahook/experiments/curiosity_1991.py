"""curiosity-1991: curious model-building control (IJCNN 1991) against random search.

Schmidhuber, "Curious model-building control systems", IJCNN 1991 (Singapore), vol. 2,
pp. 1458-1463, section 5 (people.idsia.ch/~juergen/curioussingapore/node7.html). A world model
``M`` learns to predict the reactions of a 2-D world of 100 states, partly deterministic and
partly random (:mod:`metahook.envs.reactive_grid`); a confidence module ``C`` learns ``M``'s
expected error; Q-learning steers the agent by the improvement of that confidence
(:mod:`metahook.curiosity.model_building`). The paper's measure is E(t), the summed squared error
of ``M`` on the deterministic reactions; its claim: with curiosity E(t) fell up to ten times
faster than with random search [paper; its figures are not in the web copy].

For each seed ``i`` a world is drawn (its deterministic reactions), and every agent lives in it
from the same random streams: ``random`` (the paper's random search), ``curious`` (reward = the
decrease of C's output) and ``prediction_error`` (reward = M's error, the 1990 reward; ours,
drawn to the coins). Measured: E(t) every ``log_every`` steps; the steps each agent needs to
bring E below a fraction of E(0) (median over seeds), and random search's steps over the curious
agent's (the speed-up); the share of steps spent in deterministic states. Every agent and seed
is a job of ``run_jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.core.ray_pool import check_backend
from metahook.core.seeding import rng_for
from metahook.curiosity.model_building import KINDS, ModelBuildingRun
from metahook.envs.reactive_grid import LAYOUTS, SIDE, deterministic_states, moves, reactions
from metahook.harness.api import Experiment, Result, RunContext, plots, register, run_jobs
from metahook.references import refs

AGENTS = ("random", "curious", "prediction_error")


@dataclass(frozen=True)
class Config:
    seeds: int = 50
    agents: tuple[str, ...] = AGENTS
    steps: int = 100_000  # the life of every agent
    log_every: int = 250  # steps between measurements of E(t)
    layout: str = "row"  # which states react deterministically (envs.reactive_grid.LAYOUTS)
    fractions: tuple[float, ...] = (0.5, 0.1, 0.01, 0.001, 0.0001)  # of E(0)
    eta_m: float = 0.05  # M's learning rate (ours)
    eta_c: float = 0.05  # C's learning rate (ours)
    alpha: float = 0.5  # Q's learning rate (ours)
    gamma: float = 0.9  # discount (ours)
    eps: float = 0.1  # probability of a random action (ours)
    q_init: float = 0.01  # Q starts uniform in [0, q_init) (paper: random initialisation)
    plots: bool = True
    backend: str = "process"  # or "ray": one Ray task per agent and seed, same results

    def validate(self) -> None:
        check_backend(self.backend)
        unknown = [a for a in self.agents if a not in KINDS]
        if unknown:
            raise ValueError(f"unknown agents {unknown}; have {', '.join(KINDS)}")
        if "random" not in self.agents or "curious" not in self.agents:
            raise ValueError("agents must include random and curious (the headline)")
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}; have {', '.join(LAYOUTS)}")
        if self.seeds < 2 or self.log_every < 1 or self.steps < self.log_every:
            raise ValueError("seeds >= 2, log_every >= 1 and steps >= log_every required")
        if not self.fractions or not all(0 < f < 1 for f in self.fractions):
            raise ValueError("fractions must be in (0, 1)")
        if not (0 < self.eta_m <= 1 and 0 < self.eta_c <= 1 and 0 < self.alpha <= 1
                and 0 <= self.gamma < 1 and 0 <= self.eps <= 1 and self.q_init >= 0):
            raise ValueError("0 < eta_m, eta_c, alpha <= 1, 0 <= gamma < 1, 0 <= eps <= 1, "
                             "q_init >= 0 required")


class _Job:
    """One agent and seed: its life, and E(t) every ``log_every`` steps."""

    def __init__(self, cfg: Config, agent: str, seed_index: int, run_seed: int) -> None:
        self.cfg = cfg
        det = deterministic_states(cfg.layout)
        value = reactions(rng_for(f"c1991 seed {seed_index} world", run_seed))
        self.run = ModelBuildingRun(
            moves(SIDE), value, det, agent,
            rng_for(f"c1991 seed {seed_index} agent", run_seed),
            rng_for(f"c1991 seed {seed_index} env", run_seed),
            eta_m=cfg.eta_m, eta_c=cfg.eta_c, alpha=cfg.alpha, gamma=cfg.gamma, eps=cfg.eps,
            q_init=cfg.q_init)
        self.errors: list[float] = [self.run.error()]

    def step(self) -> bool:
        if self.run.steps >= self.cfg.steps:
            return False
        self.run.advance(min(self.cfg.log_every, self.cfg.steps - self.run.steps))
        self.errors.append(self.run.error())
        return True

    def summary(self) -> dict[str, Any]:
        det = self.run.det
        v = self.run.visits
        return {"errors": self.errors, "det_share": float(v[det].sum() / max(v.sum(), 1))}

    def state_dict(self) -> dict[str, Any]:
        return {"run": self.run.state_dict(), "errors": self.errors}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.run.load_state_dict(st["run"])
        self.errors = [float(e) for e in st["errors"]]


def _hit(curve: np.ndarray, level: float, every: int) -> float:
    """Steps until ``curve`` (E every ``every`` steps, from step 0) first falls below ``level``."""
    below = np.nonzero(curve < level)[0]
    return float(below[0] * every) if below.size else float("nan")


def run(ctx: RunContext, cfg: Config) -> Result:
    jobs = [(a, i) for a in cfg.agents for i in range(cfg.seeds)]
    keys = [f"{a}/{i}" for a, i in jobs]

    def make(j: int, _shared: dict[str, Any]) -> _Job:
        return _Job(cfg, *jobs[j], ctx.seed)

    def step(j: int, job: _Job) -> bool:
        going = job.step()
        ctx.progress(j + job.run.steps / cfg.steps, len(keys), keys[j])
        return going

    def summarise(j: int, job: _Job) -> dict[str, Any]:
        out = job.summary()
        ctx.log(j, job=keys[j], final_error=out["errors"][-1], det_share=out["det_share"])
        return out

    done = run_jobs(ctx, keys, make, step, summarise, backend=cfg.backend)
    curves = {a: np.array([done[f"{a}/{i}"]["errors"] for i in range(cfg.seeds)])
              for a in cfg.agents}
    e0 = float(curves["random"][0, 0])
    m: dict[str, Any] = {"seeds": cfg.seeds, "steps": cfg.steps, "error_initial": e0,
                         "deterministic_pairs": round(e0),
                         "deterministic_states": int(deterministic_states(cfg.layout).sum())}
    t = np.arange(curves["random"].shape[1]) * cfg.log_every
    marks = sorted({max(1, round(x / cfg.log_every)) * cfg.log_every
                    for x in np.geomspace(cfg.log_every, cfg.steps, 12)})
    for a in cfg.agents:
        c = curves[a]
        m[f"error_{a}"] = {str(s): float(c[:, s // cfg.log_every].mean()) for s in marks}
        m[f"det_share_{a}"] = float(np.mean([done[f"{a}/{i}"]["det_share"]
                                             for i in range(cfg.seeds)]))
        hits = np.array([[_hit(c[i], f * e0, cfg.log_every) for f in cfg.fractions]
                         for i in range(cfg.seeds)])
        m[f"steps_to_fraction_{a}"] = {f"{f:g}": _nan_none(np.median(hits[:, k]))
                                       for k, f in enumerate(cfg.fractions)}
        m[f"reached_{a}"] = {f"{f:g}": int(np.isfinite(hits[:, k]).sum())
                             for k, f in enumerate(cfg.fractions)}
    for a in cfg.agents:
        if a == "random":
            continue
        ratio = {}
        for f in cfg.fractions:
            r, c = m["steps_to_fraction_random"][f"{f:g}"], m[f"steps_to_fraction_{a}"][f"{f:g}"]
            ratio[f"{f:g}"] = None if r is None or c is None or c == 0 else r / c
        m[f"speedup_{a}"] = ratio
        valid = [v for v in ratio.values() if v is not None]
        m[f"speedup_{a}_max"] = max(valid) if valid else None
    m["speedup_curious_tightest"] = m["speedup_curious"][f"{cfg.fractions[-1]:g}"]
    if cfg.plots:
        _plot(ctx, cfg, t, curves, e0)
    return Result(metrics=m)


def _nan_none(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _plot(ctx: RunContext, cfg: Config, t: np.ndarray, curves: dict[str, np.ndarray],
          e0: float) -> None:
    fig, ax = plots.figure(7.0, 4.5)
    for k, a in enumerate(cfg.agents):
        c = curves[a] / e0
        mean = c.mean(axis=0)
        lo, hi = np.quantile(c, 0.1, axis=0), np.quantile(c, 0.9, axis=0)
        ax.plot(t, mean, label=a, color=f"C{k}")
        ax.fill_between(t, np.maximum(lo, 1e-8), hi, color=f"C{k}", alpha=0.15)
    ax.set_yscale("log")
    plots.finish(fig, ax, ctx.plot_path("model_error"), xlabel="steps",
                 ylabel="E(t) / E(0): M's error on the deterministic reactions",
                 title=f"Curious model building, layout {cfg.layout}: mean and 10-90 % "
                       f"of {cfg.seeds} seeds", legend_size=8)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The curious agent brings E below every fraction of E(0) faster than random search, at
    least twice as fast at the tightest; the prediction-error agent is drawn to the coins."""
    sp = m["speedup_curious"]
    vals = list(sp.values())
    ok = all(v is not None and v > 1.0 for v in vals) and vals[-1] >= 2.0
    pe = m.get("det_share_prediction_error")
    if pe is not None:
        ok = ok and pe < m["det_share_random"]
    return ok, (f"speed-up of curiosity over random search per fraction of E(0): "
                f"{', '.join(f'{k}: {v:.2f}' if v else f'{k}: -' for k, v in sp.items())}; "
                f"share of steps in deterministic states: random {m['det_share_random']:.2f}, "
                f"curious {m['det_share_curious']:.2f}"
                + (f", prediction error {pe:.2f}" if pe is not None else ""))


EXPERIMENT = register(Experiment(
    name="curiosity-1991",
    system="artificial curiosity (curious model-building control, learning progress)",
    paper="Schmidhuber, Curious model-building control systems, IJCNN 1991, Singapore, vol. 2, "
          "pp. 1458-1463",
    description="A Q-learning controller rewarded by the improvement of its world model's "
                "confidence makes the model's error on a 2-D world's deterministic reactions "
                "fall several times faster than random search; a prediction-error controller is "
                "drawn to the random reactions.",
    config=Config,
    scales={"quick": Config(seeds=6, steps=40_000, fractions=(0.5, 0.1, 0.01, 0.001)),
            "full": Config()},
    run=run,
    smoke=smoke,
    reference=refs("curiosity", "curiosity-1991"),
))
