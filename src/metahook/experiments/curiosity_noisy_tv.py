"""curiosity-noisy-tv: which intrinsic rewards keep a PPO agent in front of a noisy TV.

A room (:mod:`metahook.envs.noisy_tv`) holds a wall of 28 fixed pictures a world model can learn
and, in the far corner, a TV: fresh random pictures whenever the agent looks at it (variant
``look``), or a new random channel whenever it presses the remote there (variant ``remote``,
noise the agent's action makes). There is no external reward. A PPO agent (:mod:`metahook.rl.
ppo`, two value heads, intrinsic returns non-episodic, intrinsic rewards divided by the running
std of those returns, as in RND) is driven by one intrinsic reward of :mod:`metahook.curiosity`:

- ``prediction_error`` (1990): the world model's code length of the experience;
- ``learning_progress`` (IJCNN 1991): the fall of the confidence module's expected code length;
- ``information_gain`` (after ICANN'95): KL between the model's predictions after and before;
- ``compression_progress`` (2008/2010): the bits the model's update saved on the experience;
- ``icm`` (Pathak et al. 2017) and ``rnd`` (Burda et al. 2019);
- and ``random``: uniform actions, no learning (the baseline share of a random walk).

Expected (issue 14, after Burda et al.'s large-scale study, ICLR 2019, and Schmidhuber 1991):
the prediction-error agent stays at the TV; ICM and RND too where the noise comes from the
agent's own action; the progress-based agents leave once nothing more can be learned there.

Measured per reward, variant and seed, per rollout: the share of steps spent on the TV's cells,
the state coverage (cells visited so far, and cells visited within the rollout, out of 77), and
the world model's code length (bits) of the learnable experiences
(:func:`metahook.envs.noisy_tv.learnable_transitions`: the moves that end on the picture wall).
Every agent trains the same world model on its experience (for the four rewards built on it,
their own model; for ICM, RND and random a probe of the same kind), so that error is comparable.

Each (variant, reward, seed) is one atomic record of :func:`collect`; seed ``i`` of a variant
gives every reward the same streams (torch generator for the policy and models, numpy generator
for the TV).
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from metahook.core.seeding import seed_sequence_for
from metahook.curiosity.compression_progress import CompressionProgress
from metahook.curiosity.icm import ICM, ICMReward
from metahook.curiosity.neural import (
    NeuralInformationGain,
    NeuralLearningProgress,
    NeuralPredictionError,
    NeuralWorldModel,
)
from metahook.curiosity.rnd import RND, RNDReward
from metahook.envs.noisy_tv import (
    HEIGHT,
    N_ACTIONS,
    N_CELLS,
    OBS_DIM,
    PRESS,
    TV_CELLS,
    VARIANTS,
    NoisyTVVec,
    learnable_transitions,
)
from metahook.harness.api import Experiment, Result, RunContext, collect, plots, register
from metahook.neural.training import set_threads
from metahook.references import refs
from metahook.rl.ppo import (
    ActorCritic,
    PPOConfig,
    RewardForwardFilter,
    RunningMeanStd,
    gae,
    normalise_intrinsic,
    ppo_update,
)

REWARDS = ("prediction_error", "learning_progress", "information_gain", "compression_progress",
           "icm", "rnd", "random")
ON_WORLD_MODEL = ("prediction_error", "learning_progress", "information_gain",
                  "compression_progress")
TV_IDS = np.array([x * HEIGHT + y for x, y in TV_CELLS])


@dataclass(frozen=True)
class Config:
    rewards: tuple[str, ...] = REWARDS
    variants: tuple[str, ...] = VARIANTS
    seeds: int = 3
    steps: int = 196_608  # environment steps per run (all copies together): 48 rollouts
    n_envs: int = 64
    rollout: int = 64  # steps per copy between updates
    episode: int = 100  # steps per episode
    rnd_init_steps: int = 2048  # random-agent observations that start RND's normaliser [paper]
    lr: float = 5e-4  # PPO
    ent_coef: float = 0.01
    gamma_int: float = 0.99
    model_hidden: int = 128
    model_history: int = 32_768
    model_epochs: int = 2
    model_minibatch: int = 256  # new experiences per step (plus as many from the history)
    model_lr: float = 3e-3
    ppo_epochs: int = 3
    ppo_minibatches: int = 2
    threads: int = 1
    workers: int = 1  # processes running the records (1: in this process); same results
    plots: bool = True

    def validate(self) -> None:
        bad = [r for r in self.rewards if r not in REWARDS]
        bad += [v for v in self.variants if v not in VARIANTS]
        if bad or not self.rewards or not self.variants:
            raise ValueError(f"unknown or no rewards/variants {bad}; rewards: "
                             f"{', '.join(REWARDS)}; variants: {', '.join(VARIANTS)}")
        if self.seeds < 1 or self.n_envs < 1 or self.rollout < 4 or self.episode < 1:
            raise ValueError("seeds >= 1, n_envs >= 1, rollout >= 4, episode >= 1 required")
        if self.steps < 4 * self.n_envs * self.rollout:
            raise ValueError("steps must cover at least 4 rollouts (n_envs * rollout each)")
        if min(self.model_hidden, self.model_history, self.model_epochs, self.workers) < 1 \
                or self.threads < 0:
            raise ValueError("model_hidden, model_history, model_epochs, workers >= 1 and "
                             "threads >= 0 required")
        self.ppo().validate()

    def ppo(self) -> PPOConfig:
        return PPOConfig(lr=self.lr, ent_coef=self.ent_coef, gamma_int=self.gamma_int,
                         epochs=self.ppo_epochs, minibatches=self.ppo_minibatches)


def _streams(variant: str, seed_index: int, run_seed: int) -> tuple[torch.Generator,
                                                                   np.random.Generator]:
    ss = seed_sequence_for(f"noisy-tv {variant} seed {seed_index}", run_seed)
    gen = torch.Generator()
    gen.manual_seed(int(ss.generate_state(1, np.uint64)[0] % (2**63)))
    return gen, np.random.default_rng(ss.spawn(1)[0])


def live(cfg: Config, variant: str, reward: str, seed_index: int, run_seed: int
         ) -> dict[str, Any]:
    """One agent's run; returns its per-rollout curves (see the module docstring)."""
    t0 = time.perf_counter()
    set_threads(cfg.threads)
    gen, env_rng = _streams(variant, seed_index, run_seed)
    env = NoisyTVVec(cfg.n_envs, variant, cfg.episode, env_rng)
    pcfg = cfg.ppo()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        net = ActorCritic(OBS_DIM, N_ACTIONS, pcfg.hidden)
    opt = torch.optim.Adam(net.parameters(), lr=pcfg.lr, eps=1e-5)
    world = NeuralWorldModel(OBS_DIM, N_ACTIONS, gen, hidden=cfg.model_hidden,
                             history=cfg.model_history, epochs=cfg.model_epochs,
                             minibatch=cfg.model_minibatch, lr=cfg.model_lr)
    lp = NeuralLearningProgress(OBS_DIM, N_ACTIONS, gen, steps=4) if reward == "learning_progress" \
        else None
    mb = cfg.model_minibatch
    icm = ICM(OBS_DIM, N_ACTIONS, gen, epochs=cfg.model_epochs, minibatch=mb) \
        if reward == "icm" else None
    rnd = RND(OBS_DIM, gen, epochs=cfg.model_epochs, minibatch=mb) if reward == "rnd" else None
    simple: dict[str, Any] = {"prediction_error": NeuralPredictionError(), "information_gain":
              NeuralInformationGain(), "compression_progress": CompressionProgress(),
              "icm": ICMReward(), "rnd": RNDReward()}
    filt, rms = RewardForwardFilter(pcfg.gamma_int), RunningMeanStd()
    L_s, L_a, L_s2 = (torch.from_numpy(x) for x in learnable_transitions())
    T, n = cfg.rollout, cfg.n_envs
    obs = torch.from_numpy(env.reset())
    if rnd is not None:  # the normaliser starts from a random agent's observations [RND]
        warm_env = NoisyTVVec(n, variant, cfg.episode, np.random.default_rng(
            seed_sequence_for(f"noisy-tv rnd warm-up {seed_index}", run_seed)))
        warm_env.reset()
        seen = [warm_env.step(torch.randint(0, N_ACTIONS, (n,), generator=gen).numpy())[3]
                for _ in range(max(1, cfg.rnd_init_steps // n))]
        rnd.init_normaliser(np.concatenate(seen))
    visited = np.zeros(N_CELLS, dtype=bool)
    curves: dict[str, list[float]] = {k: [] for k in
                                      ("steps", "tv_share", "tv_press_share", "coverage",
                                       "coverage_rollout", "model_error_learnable",
                                       "reward_raw_tv", "reward_raw_other")}
    iters = cfg.steps // (T * n)
    for _ in range(iters):
        b_obs = torch.zeros(T, n, OBS_DIM)
        b_next = torch.zeros(T, n, OBS_DIM)
        b_a = torch.zeros(T, n, dtype=torch.long)
        b_logp, b_ve, b_vi, b_done = (torch.zeros(T, n) for _ in range(4))
        cells = np.zeros((T, n), dtype=np.int64)
        for t in range(T):
            if reward == "random":
                a = torch.randint(0, N_ACTIONS, (n,), generator=gen)
                logp = ve = vi = torch.zeros(n)
            else:
                a, logp, ve, vi = net.act(obs, gen)
            nxt, c, trunc, reached = env.step(a.numpy())
            b_obs[t], b_a[t], b_logp[t], b_ve[t], b_vi[t] = obs, a, logp, ve, vi
            b_next[t] = torch.from_numpy(reached)
            b_done[t] = torch.from_numpy(trunc.astype(np.float32))
            cells[t] = c
            obs = torch.from_numpy(nxt)
        S, A, S2 = b_obs.reshape(-1, OBS_DIM), b_a.reshape(-1), b_next.reshape(-1, OBS_DIM)
        world.update(S, A, S2)
        if reward == "learning_progress":
            assert lp is not None
            r = lp.reward(world, S, A, S2)
        elif reward == "icm":
            assert icm is not None
            icm.update(S, A, S2)
            r = simple[reward].reward(icm, S, A, S2)
        elif reward == "rnd":
            assert rnd is not None
            rnd.update(S, A, S2)
            r = simple[reward].reward(rnd, S, A, S2)
        elif reward == "random":
            r = np.zeros(T * n)
        else:
            r = simple[reward].reward(world, S, A, S2)
        on_tv = np.isin(cells, TV_IDS)
        visited[np.unique(cells)] = True
        curves["steps"].append(float(len(curves["steps"]) + 1) * T * n)
        curves["tv_share"].append(float(on_tv.mean()))
        curves["tv_press_share"].append(float((on_tv & (b_a.numpy() == PRESS)).mean()))
        curves["coverage"].append(float(visited.mean()))
        curves["coverage_rollout"].append(float(len(np.unique(cells)) / N_CELLS))
        curves["model_error_learnable"].append(float(world.code_length(L_s, L_a, L_s2).mean()))
        flat_tv = on_tv.reshape(-1)
        curves["reward_raw_tv"].append(float(r[flat_tv].mean()) if flat_tv.any() else np.nan)
        curves["reward_raw_other"].append(float(r[~flat_tv].mean()) if (~flat_tv).any()
                                          else np.nan)
        if reward == "random":
            continue
        r_int = torch.from_numpy(normalise_intrinsic(r.reshape(T, n), filt, rms)).float()
        with torch.no_grad():
            _, nve, nvi = net(obs)
        adv_i, ret_i = gae(r_int, b_vi, nvi, b_done, pcfg.gamma_int, pcfg.lam, episodic=False)
        adv_e, ret_e = gae(torch.zeros(T, n), b_ve, nve, b_done, pcfg.gamma_ext, pcfg.lam,
                           episodic=True)
        adv = pcfg.ext_coef * adv_e + pcfg.int_coef * adv_i
        ppo_update(net, opt, pcfg, S, A, b_logp.reshape(-1), adv.reshape(-1), ret_e.reshape(-1),
                   ret_i.reshape(-1), gen)
    return {"curves": curves, "wall_s": time.perf_counter() - t0}


def _late(x: list[float]) -> float:
    """Mean over the second half of a run's rollouts."""
    a = np.asarray(x, dtype=float)
    return float(np.nanmean(a[len(a) // 2:]))


def run(ctx: RunContext, cfg: Config) -> Result:
    set_threads(cfg.threads)
    jobs = [(v, r, i) for v in cfg.variants for r in cfg.rewards for i in range(cfg.seeds)]
    keys = [f"{v}/{r}/{i}" for v, r, i in jobs]

    def compute(missing: list[str]) -> Any:
        if cfg.workers == 1:
            for key in missing:
                yield key, live(cfg, *jobs[keys.index(key)], ctx.seed)
            return
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(cfg.workers, mp_context=spawn) as pool:
            futures = {pool.submit(live, cfg, *jobs[keys.index(k)], ctx.seed): k
                       for k in missing}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()

    def logged(key: str, rec: dict[str, Any], n_done: int) -> None:
        c = rec["curves"]
        ctx.log(n_done, job=key, tv_share_late=_late(c["tv_share"]),
                coverage=c["coverage"][-1], model_error_learnable=c["model_error_learnable"][-1],
                wall_s=rec["wall_s"])
        ctx.progress(n_done, len(keys), key)

    done = collect(ctx, keys, compute, logged)
    m: dict[str, Any] = {"seeds": cfg.seeds, "steps_per_run": cfg.steps,
                         "rewards": list(cfg.rewards), "variants": list(cfg.variants)}
    curves: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for v in cfg.variants:
        for r in cfg.rewards:
            recs = [done[f"{v}/{r}/{i}"]["curves"] for i in range(cfg.seeds)]
            cv = {k: np.array([c[k] for c in recs], dtype=float) for k in recs[0]}
            curves[v, r] = cv
            late = np.array([_late(c["tv_share"]) for c in recs])
            m[f"tv_time_share_{v}_{r}"] = float(late.mean())
            m[f"tv_time_share_{v}_{r}_sd"] = float(late.std(ddof=1)) if cfg.seeds > 1 else 0.0
            m[f"tv_time_share_{v}_{r}_by_seed"] = late.tolist()
            m[f"tv_time_share_whole_{v}_{r}"] = float(cv["tv_share"].mean())
            m[f"tv_press_share_{v}_{r}"] = float(np.mean([_late(c["tv_press_share"])
                                                          for c in recs]))
            m[f"coverage_{v}_{r}"] = float(cv["coverage"][:, -1].mean())
            m[f"coverage_rollout_{v}_{r}"] = float(np.mean([_late(c["coverage_rollout"])
                                                            for c in recs]))
            m[f"model_error_learnable_{v}_{r}"] = float(cv["model_error_learnable"][:, -1].mean())
            tv_r = np.array([_late(c["reward_raw_tv"]) for c in recs])
            other_r = np.array([_late(c["reward_raw_other"]) for c in recs])
            m[f"reward_at_tv_{v}_{r}"] = float(np.nanmean(tv_r))
            m[f"reward_elsewhere_{v}_{r}"] = float(np.nanmean(other_r))
            m[f"model_error_learnable_{v}_{r}_sd"] = (
                float(cv["model_error_learnable"][:, -1].std(ddof=1)) if cfg.seeds > 1 else 0.0)
    first = cfg.variants[0]
    for r in cfg.rewards:  # the headline keys: the first variant (look in the default config)
        m[f"tv_time_share_{r}"] = m[f"tv_time_share_{first}_{r}"]
    m["headline_variant"] = first
    m["wall_s_per_run"] = float(np.mean([d["wall_s"] for d in done.values()]))
    if cfg.plots:
        _plot(ctx, cfg, curves)
    return Result(metrics=m)


def _color(reward: str) -> str:
    return f"C{REWARDS.index(reward) % 10}"


def _plot(ctx: RunContext, cfg: Config, curves: dict[tuple[str, str], dict[str, np.ndarray]]
          ) -> None:
    what = (("tv_share", "share of steps at the TV", "tv_share"),
            ("coverage_rollout", "cells visited per rollout (of 77)", "coverage"),
            ("model_error_learnable", "world model: bits per learnable experience",
             "model_error_learnable"))
    for key, ylabel, name in what:
        fig, axes = plots.plt.subplots(1, len(cfg.variants), figsize=(6.0 * len(cfg.variants),
                                                                      4.2), dpi=100,
                                       squeeze=False)
        for ax, v in zip(axes[0], cfg.variants, strict=True):
            for r in cfg.rewards:
                c = curves[v, r]
                x = c["steps"][0]
                mean = np.nanmean(c[key], axis=0)
                ax.plot(x, mean, label=r, color=_color(r))
                if cfg.seeds > 1:
                    lo, hi = np.nanmin(c[key], axis=0), np.nanmax(c[key], axis=0)
                    ax.fill_between(x, lo, hi, color=_color(r), alpha=0.12)
            if key == "model_error_learnable":
                ax.set_yscale("log")
            ax.set_title(f"variant '{v}' (mean, band: min-max over {cfg.seeds} seeds)",
                         fontsize=9)
            ax.set_xlabel("environment steps")
            ax.set_ylabel(ylabel)
            ax.legend(fontsize=7)
        plots.save(fig, ctx.plot_path(name))


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The noisy TV's trap is there even at a small scale: a step at the TV pays the
    prediction-error agent more than twice what a step elsewhere does (late in its run), and
    every agent's world model learned part of the picture wall (below 30 bits per experience;
    an untrained model needs about 34)."""
    v = m["headline_variant"]
    at_tv = m[f"reward_at_tv_{v}_prediction_error"]
    other = m[f"reward_elsewhere_{v}_prediction_error"]
    errs = [m[f"model_error_learnable_{v}_{r}"] for r in m["rewards"]]
    ok = bool(at_tv > 2 * other) and max(errs) < 30.0
    return ok, (f"variant {v}: prediction error pays {at_tv:.1f} bits per step at the TV > 2 x "
                f"{other:.1f} elsewhere; world model error on the picture wall "
                f"{min(errs):.1f}-{max(errs):.1f} bits < 30")


_QUICK = Config(rewards=("prediction_error", "learning_progress", "random"), variants=("look",),
                seeds=1, steps=49_152)

EXPERIMENT = register(Experiment(
    name="curiosity-noisy-tv",
    system="artificial curiosity (prediction error, learning progress, information gain, "
           "compression progress, ICM, RND)",
    paper="Schmidhuber, Curious model-building control systems, IJCNN 1991; Schmidhuber, "
          "Formal theory of creativity, fun, and intrinsic motivation, IEEE TAMD 2010; Pathak et "
          "al., ICML 2017 (ICM); Burda et al., ICLR 2019 (RND; large-scale study, noisy TV)",
    description="PPO driven by each intrinsic reward in a room with a learnable picture wall and "
                "a noisy TV (fresh noise when looked at, or on pressing the remote): share of "
                "time at the TV, coverage, world-model error on the learnable part.",
    config=Config,
    scales={"quick": _QUICK, "full": Config(workers=3)},
    run=run,
    smoke=smoke,
    reference=refs("curiosity", "curiosity-noisy-tv"),
))

__all__ = ["EXPERIMENT", "REWARDS", "Config", "live"]
