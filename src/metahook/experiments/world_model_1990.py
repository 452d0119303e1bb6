"""world-model-1990: a controller learns by backpropagating through a recurrent model of its world.

Schmidhuber, "Making the world differentiable: on using self-supervised fully recurrent neural
networks for dynamic reinforcement learning and planning in non-stationary environments",
TR FKI-126-90, TU Munich (1990); also "An on-line algorithm for dynamic reinforcement learning
and planning in reactive environments", IJCNN 1990. A recurrent model network M learns to predict
the controller C's next inputs and the pain signal from C's own experience; C then learns to avoid
pain by gradient descent *through* M, whose weights are frozen while C learns, so M serves as a
differentiable stand-in for the world. The 1990 reports used pole balancing.

Ours (:mod:`metahook.neural.world_models`, section 1990), in cycles until ``budget`` real steps:
1. C (4-``c_hidden``-1 tanh net, plus Gaussian exploration noise) plays at least
   ``steps_per_cycle`` real steps of single-pole balancing (:mod:`metahook.envs.pole`, random
   starts, pain = the pole falls or the cart leaves the track, episodes capped at ``max_steps``).
2. M (``torch.nn.LSTM``) is trained on windows of all experience so far to predict Δx and pain.
3. M frozen, C is trained to minimise the pain M expects over ``horizon`` imagined steps from
   real states (:func:`~metahook.neural.world_models.pain_through_model`).

The model-free baseline spends the same real steps on CMA-ES (pycma) over the same C's weights,
fitness = steps balanced in one real episode. Both are tested after every cycle / generation on
``test_starts`` fixed starts without noise; solved = every test start balanced ``max_steps``.
Cost measure: real environment steps (the test episodes not counted, reported apart).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from metahook.core.ray_pool import check_backend
from metahook.core.sweep import source
from metahook.envs.pole import obs_dim, observe, pole_step, start_state
from metahook.evolution.cmaes import CMAES
from metahook.evolution.network import NetSpec
from metahook.harness.api import Experiment, Result, RunContext, collect, plots, register
from metahook.neural import world_models as wm
from metahook.neural.training import seeded, set_threads
from metahook.references import refs

METHODS = ("model", "cmaes")
START_RANGE = np.array([0.5, 0.2, 0.05, 0.1])  # x (m), ẋ (m/s), θ (rad), θ̇ (rad/s): ± uniform


@dataclass(frozen=True)
class Config:
    seeds: int = 3
    methods: tuple[str, ...] = METHODS
    budget: int = 12_000  # real environment steps per run
    max_steps: int = 1000  # episode cap (balanced = reached it)
    test_starts: int = 5
    c_hidden: int = 8
    m_hidden: int = 32
    noise: float = 0.3  # exploration noise of C's force during experience
    steps_per_cycle: int = 500  # real steps of experience between model/controller updates
    m_updates: int = 100
    m_window: int = 32
    m_batch: int = 32
    m_lr: float = 3e-3
    c_updates: int = 50
    c_batch: int = 64
    horizon: int = 50
    c_lr: float = 3e-3
    cmaes_sigma0: float = 0.5
    threads: int = 1
    plots: bool = True
    backend: str = "process"  # or "ray": one Ray task per method and seed, same results

    def validate(self) -> None:
        check_backend(self.backend)
        bad = [m for m in self.methods if m not in METHODS]
        if bad or "model" not in self.methods:
            raise ValueError(f"methods must include model and come from {', '.join(METHODS)}")
        for name in ("seeds", "budget", "max_steps", "test_starts", "c_hidden", "m_hidden",
                     "steps_per_cycle", "m_updates", "m_window", "m_batch", "c_updates",
                     "c_batch", "horizon"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if not (self.noise >= 0 and self.m_lr > 0 and self.c_lr > 0 and self.cmaes_sigma0 > 0):
            raise ValueError("noise >= 0 and learning rates, cmaes_sigma0 > 0 required")


def _start(rng: np.random.Generator) -> np.ndarray:
    s = start_state()
    s[:4] = rng.uniform(-START_RANGE, START_RANGE)
    return s


def episode(c: wm.Controller1990, s0: np.ndarray, max_steps: int, noise: float,
            rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """One real episode: observations ``(T+1, 4)``, actions ``(T,)``, whether it fell."""
    s = s0.copy()
    work = np.empty((5, 6))
    ob = np.empty(4)
    observe(s, 1, True, ob)
    obs, acts = [ob.copy()], []
    fell = False
    with torch.no_grad():
        for _ in range(max_steps):
            a = float(c(torch.from_numpy(ob).float()[None])[0, 0])
            if noise and rng is not None:
                a = float(np.clip(a + noise * rng.standard_normal(), -1, 1))
            fell = pole_step(s, a, 1, True, work)
            observe(s, 1, True, ob)
            obs.append(ob.copy())
            acts.append(a)
            if fell:
                break
    return np.array(obs, np.float32), np.array(acts, np.float32), fell


def _test(c: wm.Controller1990, starts: list[np.ndarray], max_steps: int) -> float:
    return float(np.mean([len(episode(c, s, max_steps, 0.0, None)[1]) for s in starts]))


def _flat(c: wm.Controller1990) -> np.ndarray:
    return torch.nn.utils.parameters_to_vector(c.parameters()).detach().numpy().astype(float)


def _load_flat(c: wm.Controller1990, w: np.ndarray) -> None:
    torch.nn.utils.vector_to_parameters(torch.from_numpy(np.asarray(w, np.float32)),
                                        c.parameters())


class _ModelRun:
    """One seed of the 1990 system: experience -> M -> C through frozen M, in cycles."""

    def __init__(self, cfg: Config, seed: int) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng([seed, 1990])
        self.gen = torch.Generator().manual_seed(seed)
        self.c = seeded(lambda: wm.Controller1990(4, cfg.c_hidden), seed)
        self.m = seeded(lambda: wm.RecurrentModel(obs_dim(1, True), cfg.m_hidden), seed + 1)
        self.opt_m = torch.optim.Adam(self.m.parameters(), lr=cfg.m_lr)
        self.opt_c = torch.optim.Adam(self.c.parameters(), lr=cfg.c_lr)
        trng = np.random.default_rng([seed, 7])
        self.starts = [_start(trng) for _ in range(cfg.test_starts)]
        self.episodes: list[tuple[np.ndarray, np.ndarray, bool]] = []
        self.steps = 0
        self.curve: list[list[float]] = []  # [real steps, test mean, M's pain BCE]
        self.solved_at: int | None = None

    def _windows(self) -> tuple[torch.Tensor, ...]:
        cfg = self.cfg
        W = cfg.m_window
        obs = np.zeros((cfg.m_batch, W + 1, 4), np.float32)
        act = np.zeros((cfg.m_batch, W, 1), np.float32)
        fell = np.zeros((cfg.m_batch, W), np.float32)
        mask = np.zeros((cfg.m_batch, W), np.float32)
        lens = np.array([len(a) for _, a, _ in self.episodes])
        pick = self.rng.choice(len(self.episodes), cfg.m_batch, p=lens / lens.sum())
        for b, e in enumerate(pick):
            o, a, f = self.episodes[e]
            T = len(a)
            s = int(self.rng.integers(0, max(1, T - W + 1)))
            n = min(W, T - s)
            obs[b, :n + 1], act[b, :n, 0], mask[b, :n] = o[s:s + n + 1], a[s:s + n], 1
            if f and s + n == T:
                fell[b, n - 1] = 1
        return (torch.from_numpy(obs), torch.from_numpy(act), torch.from_numpy(fell),
                torch.from_numpy(mask))

    def step(self) -> bool:
        cfg = self.cfg
        if self.steps >= cfg.budget or self.solved_at is not None:
            return False
        target = min(cfg.budget, self.steps + cfg.steps_per_cycle)
        while self.steps < target:
            cap = min(cfg.max_steps, cfg.budget - self.steps)
            ep = episode(self.c, _start(self.rng), cap, cfg.noise, self.rng)
            self.episodes.append(ep)
            self.steps += len(ep[1])
        bce = 0.0
        for _ in range(cfg.m_updates):
            loss, _, b = wm.model_loss(self.m, *self._windows())
            self.opt_m.zero_grad()
            loss.backward()
            self.opt_m.step()
            bce = float(b.detach())
        for p in self.m.parameters():
            p.requires_grad_(False)
        all_obs = np.concatenate([o[:-1] for o, _, _ in self.episodes])
        for _ in range(cfg.c_updates):
            x0 = torch.from_numpy(all_obs[self.rng.integers(0, len(all_obs), cfg.c_batch)])
            loss = wm.pain_through_model(self.c, self.m, x0, cfg.horizon)
            self.opt_c.zero_grad()
            loss.backward()
            self.opt_c.step()
        for p in self.m.parameters():
            p.requires_grad_(True)
        test = _test(self.c, self.starts, cfg.max_steps)
        self.curve.append([float(self.steps), test, bce])
        if test >= cfg.max_steps:
            self.solved_at = self.steps
        return True


class _CMARun:
    """One seed of the model-free baseline: CMA-ES on C's weights, fitness from real episodes."""

    def __init__(self, cfg: Config, seed: int) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng([seed, 2])
        self.c = seeded(lambda: wm.Controller1990(4, cfg.c_hidden), seed)
        self.spec = NetSpec(n_in=len(_flat(self.c)), h=0)
        self.algo = CMAES(sigma0=cfg.cmaes_sigma0, min_std_frac=0.0)
        self.es = self.algo.init(self.spec, self.rng)
        trng = np.random.default_rng([seed, 7])
        self.starts = [_start(trng) for _ in range(cfg.test_starts)]
        self.steps = 0
        self.curve: list[list[float]] = []
        self.solved_at: int | None = None

    def step(self) -> bool:
        cfg = self.cfg
        if self.steps >= cfg.budget or self.solved_at is not None:
            return False
        pop = self.algo.ask(self.es, self.rng)
        fit = np.zeros(len(pop.genomes))
        for i, g in enumerate(pop.genomes):
            cap = min(cfg.max_steps, cfg.budget - self.steps)
            if cap <= 0:
                break
            _load_flat(self.c, g)
            n = len(episode(self.c, _start(self.rng), cap, 0.0, None)[1])
            fit[i] = n
            self.steps += n
        self.algo.tell(self.es, fit, self.rng)
        _load_flat(self.c, np.asarray(self.es.es.mean))
        test = _test(self.c, self.starts, cfg.max_steps)
        self.curve.append([float(self.steps), test, 0.0])
        if test >= cfg.max_steps:
            self.solved_at = self.steps
        return True


def run(ctx: RunContext, cfg: Config) -> Result:
    set_threads(cfg.threads)
    jobs = [(meth, i) for meth in cfg.methods for i in range(cfg.seeds)]
    keys = [f"{meth}/{i}" for meth, i in jobs]

    def one(key: str) -> dict[str, Any]:
        set_threads(cfg.threads)  # also in a Ray worker
        j = keys.index(key)
        meth, i = jobs[j]
        seed = ctx.seed * 10_007 + i
        job: Any = _ModelRun(cfg, seed) if meth == "model" else _CMARun(cfg, seed)
        while job.step():
            ctx.progress(j + min(1.0, job.steps / cfg.budget), len(keys), key)
        return {"curve": job.curve, "solved_at": job.solved_at, "steps": job.steps,
                "final_test": job.curve[-1][1] if job.curve else 0.0}

    def logged(key: str, rec: dict[str, Any], n: int) -> None:
        ctx.log(n, job=key, solved_at=rec["solved_at"], final_test=rec["final_test"])

    done = collect(ctx, keys, source(ctx, one, cfg.backend), logged)
    m: dict[str, Any] = {"seeds": cfg.seeds, "budget": cfg.budget, "max_steps": cfg.max_steps}
    for meth in cfg.methods:
        rs = [done[f"{meth}/{i}"] for i in range(cfg.seeds)]
        solved = [r["solved_at"] for r in rs if r["solved_at"] is not None]
        capped = [r["solved_at"] if r["solved_at"] is not None else cfg.budget for r in rs]
        m[f"{meth}_solved"] = len(solved)
        m[f"{meth}_mean_steps_solved"] = float(np.mean(solved)) if solved else None
        m[f"{meth}_median_steps_solved"] = float(np.median(solved)) if solved else None
        m[f"{meth}_mean_steps_capped"] = float(np.mean(capped))
        m[f"{meth}_final_test_mean"] = float(np.mean([r["final_test"] for r in rs]))
        m[f"{meth}_first_test_mean"] = float(np.mean([r["curve"][0][1] for r in rs]))
    if "cmaes" in cfg.methods:
        m["speedup_capped"] = m["cmaes_mean_steps_capped"] / m["model_mean_steps_capped"]
    if cfg.plots:
        _plot(ctx, cfg, done)
    return Result(metrics=m)


def _plot(ctx: RunContext, cfg: Config, done: dict[str, Any]) -> None:
    fig, ax = plots.figure(7.0, 4.5)
    names = {"model": "C through recurrent M (1990)", "cmaes": "model-free CMA-ES"}
    for k, meth in enumerate(cfg.methods):
        for i in range(cfg.seeds):
            c = np.asarray(done[f"{meth}/{i}"]["curve"])
            if len(c):
                ax.plot(c[:, 0], c[:, 1], color=f"C{k}", alpha=0.6,
                        label=names[meth] if i == 0 else None)
    plots.finish(fig, ax, ctx.plot_path("learning_curves"), xlabel="real environment steps",
                 ylabel=f"steps balanced (mean of {cfg.test_starts} test starts)",
                 title=f"Pole balancing, {cfg.seeds} seeds per method")


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The controller trained through the model learns: after the budget it balances at least
    three times as long as after its first cycle, and at least 100 steps (mean of the tests)."""
    first, final = m["model_first_test_mean"], m["model_final_test_mean"]
    ok = final >= 3 * first and final >= 100
    extra = (f"; CMA-ES at the same real steps: {m['cmaes_first_test_mean']:.0f} -> "
             f"{m['cmaes_final_test_mean']:.0f}, solved {m['cmaes_solved']}/{m['seeds']}"
             if "cmaes_solved" in m else "")
    return ok, (f"C through M balances {first:.0f} -> {final:.0f} steps, solved "
                f"{m['model_solved']}/{m['seeds']} within {m['budget']} real steps" + extra)


EXPERIMENT = register(Experiment(
    name="world-model-1990",
    system="controller + world model (World Models)",
    paper="Schmidhuber, Making the world differentiable, TR FKI-126-90, TU Munich (1990)",
    description="A controller trained by backpropagation through a frozen recurrent model of "
                "its world, learnt from the controller's own experience, balances a pole; "
                "beside model-free CMA-ES at equal real environment steps.",
    config=Config,
    scales={"quick": Config(seeds=1, budget=4_000, max_steps=500, test_starts=3,
                            m_updates=60, c_updates=30),
            "full": Config()},
    run=run,
    smoke=smoke,
    reference=refs("world_models", "world-model-1990"),
))
