"""curiosity-rdia: reinforcement driven information acquisition (RDIA), the paper's Tables 1 and 2.

Storck, Hochreiter & Schmidhuber, "Reinforcement driven information acquisition in
non-deterministic environments", ICANN'95, vol. 2, pp. 159-164 (people.idsia.ch/~juergen/
curiosityparis/). An agent with no external reward learns the transition probabilities of an
environment (:mod:`metahook.envs.rdia`) by counting; Q-learning (α = 0.5, γ = 0.9, μ = 0.1
[paper]) steers it by an intrinsic reward, the information its last experiment gained
(:mod:`metahook.curiosity`). Random exploration is the baseline.

- The small environment (10 states x 10 actions; states 1-9 deterministic, state 10 sends every
  action to a uniform state): for each agent and seed, the summed distance between the estimated
  and the true transition distributions (:func:`metahook.curiosity.model.summed_distance`) after
  1, 1,024, 2,048, ..., 262,144 experiments (Table 1), and the share of steps each agent spends
  in state 10 over time. Agents: ``random`` (the paper's random search), ``infogain`` (KL,
  equation 1), ``entropy`` (equation 2; Table 1's "RDIA (entropy)"), ``probdiff`` (Table 1's
  "RDIA (prob. diff.)", our reading), ``prediction_error`` (drawn to the noise), and two of ours:
  ``learning_progress`` and ``infogain_signed`` (the KL with its signs, see docs/curiosity.md).
- The bigger environment (100 x 100): the number of experiments until the sum of the entropies
  of the estimated distributions comes within a margin of the true information content,
  460.517 nats (Table 2, whose figures we could not read; by the paper's text RDIA becomes at
  least ten times faster than random as the margin approaches the optimum).

Every agent and seed is a job of ``run_jobs`` (:class:`metahook.curiosity.tabular.CuriousRun`),
checkpointed every ``chunk`` experiments; seed ``i`` gives every agent the same two random
streams (agent, environment).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.core.ray_pool import check_backend
from metahook.core.seeding import rng_for
from metahook.curiosity.model import summed_distance
from metahook.curiosity.tabular import KINDS, CuriousRun
from metahook.envs.rdia import BIG, INFORMATION_CONTENT_BIG, SMALL, information_content, transitions
from metahook.harness.api import Experiment, Result, RunContext, plots, register, run_jobs
from metahook.references import refs

AGENTS = ("random", "infogain", "entropy", "probdiff", "prediction_error", "learning_progress",
          "infogain_signed")
TABLE1_AGENTS = ("random", "infogain", "entropy", "probdiff")  # flat per-checkpoint metrics
# Table 1 of the paper: summed KL distance after each number of experiments (one run each)
PAPER_TABLE1: dict[str, dict[int, float]] = {
    "random": {1: 204.93, 1024: 2.97, 2048: 3.40, 4096: 2.74, 8192: 3.72, 16384: 4.11,
               32768: 3.43, 65536: 2.03, 131072: 1.58, 262144: 1.07},
    "entropy": {1: 204.93, 1024: 67.73, 2048: 40.59, 4096: 10.57, 8192: 4.08, 16384: 2.44,
                32768: 1.27, 65536: 0.76, 131072: 0.54, 262144: 0.35},
    "probdiff": {1: 204.93, 1024: 65.49, 2048: 21.98, 4096: 5.30, 8192: 3.88, 16384: 2.30,
                 32768: 1.44, 65536: 0.88, 131072: 0.59, 262144: 0.35},
}
SHARE_BOUND = 1 / 5.5  # most time in S10 a policy can get: 1 step there per 1 + E[10 - k] steps
SHARE_RANDOM = 1 / 46  # a random walk: 1 step in S10 per 1 + 45 steps (10 per chain state)


@dataclass(frozen=True)
class Config:
    seeds: int = 20  # runs per agent in the small environment
    agents: tuple[str, ...] = AGENTS
    experiments: int = 262_144  # the last checkpoint of Table 1
    alpha: float = 0.5  # Q-learning step size [paper]
    gamma: float = 0.9  # discount [paper]
    mu: float = 0.1  # probability of a random action [paper: mu; our reading]
    beta: float = 0.1  # learning progress: step of the running error (ours)
    window: int = 1024  # experiments per window of the state-10 share
    chunk: int = 16_384  # experiments between checkpoints of a job
    big_seeds: int = 10  # runs per agent in the bigger environment (0: skip it)
    big_agents: tuple[str, ...] = ("random", "entropy", "infogain")
    big_margins: tuple[float, ...] = (100.0, 50.0, 20.0, 10.0, 5.0)  # nats below 460.517
    big_max_experiments: int = 2_000_000_000  # a run stops here if it has not reached them all
    big_chunk: int = 1 << 22
    big_window: int = 1 << 20
    plots: bool = True
    backend: str = "process"  # or "ray": one Ray task per agent and seed, same results

    def validate(self) -> None:
        check_backend(self.backend)
        unknown = [a for a in (*self.agents, *self.big_agents) if a not in KINDS]
        if unknown:
            raise ValueError(f"unknown agents {unknown}; have {', '.join(KINDS)}")
        if "random" not in self.agents or "infogain" not in self.agents:
            raise ValueError("agents must include random and infogain (the headline)")
        if self.seeds < 2 or self.experiments < 1024 or self.big_seeds < 0:
            raise ValueError("seeds >= 2, experiments >= 1024 and big_seeds >= 0 required")
        if self.big_seeds and "random" not in self.big_agents:
            raise ValueError("big_agents must include random (the speed-ups are against it)")
        if min(self.window, self.chunk, self.big_chunk, self.big_window) < 1:
            raise ValueError("window, chunk, big_chunk and big_window must be >= 1")
        if 1024 % self.window:
            raise ValueError("window must divide 1024 (the rows of Table 1 are its multiples)")
        if not self.big_margins or min(self.big_margins) <= 0:
            raise ValueError("big_margins must be positive")
        if not (0 < self.alpha <= 1 and 0 <= self.gamma < 1 and 0 <= self.mu <= 1
                and 0 < self.beta <= 1):
            raise ValueError("0 < alpha <= 1, 0 <= gamma < 1, 0 <= mu <= 1, 0 < beta <= 1")


def checkpoints(experiments: int) -> list[int]:
    """Table 1's rows up to ``experiments``: 1, then 1,024 doubling."""
    out, cp = [1], 1024
    while cp <= experiments:
        out.append(cp)
        cp *= 2
    return out


def _streams(n: int, seed_index: int, run_seed: int) -> tuple[np.random.Generator, ...]:
    return (rng_for(f"rdia{n} seed {seed_index} agent", run_seed),
            rng_for(f"rdia{n} seed {seed_index} env", run_seed))


class _SmallJob:
    """One agent and seed in the small environment: its life, and the distance at each row."""

    def __init__(self, cfg: Config, agent: str, seed_index: int, run_seed: int) -> None:
        self.cfg, self.P = cfg, transitions(SMALL)
        self.rows = checkpoints(cfg.experiments)
        self.run = CuriousRun(self.P, agent, *_streams(SMALL, seed_index, run_seed),
                              alpha=cfg.alpha, gamma=cfg.gamma, mu=cfg.mu, beta=cfg.beta,
                              window=cfg.window, n_windows=-(-self.rows[-1] // cfg.window))
        self.distances: list[float] = []

    def step(self) -> bool:
        t = self.run.experiments
        if len(self.distances) == len(self.rows):
            return False
        target = min(self.rows[len(self.distances)], t + self.cfg.chunk)
        self.run.advance(target - t)
        if target == self.rows[len(self.distances)]:
            self.distances.append(summed_distance(self.P, self.run.C))
        return True

    def summary(self) -> dict[str, Any]:
        return {"distances": self.distances, "visits": self.run.win_visits,
                "reward": self.run.win_reward}

    def state_dict(self) -> dict[str, Any]:
        return {"run": self.run.state_dict(), "distances": self.distances}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.run.load_state_dict(st["run"])
        self.distances = [float(d) for d in st["distances"]]


class _BigJob:
    """One agent and seed in the bigger environment, until every margin is reached (or the cap)."""

    def __init__(self, cfg: Config, agent: str, seed_index: int, run_seed: int) -> None:
        self.cfg = cfg
        thresholds = [INFORMATION_CONTENT_BIG - m for m in cfg.big_margins]
        self.run = CuriousRun(transitions(BIG), agent, *_streams(BIG, seed_index, run_seed),
                              alpha=cfg.alpha, gamma=cfg.gamma, mu=cfg.mu, beta=cfg.beta,
                              window=cfg.big_window,
                              n_windows=-(-cfg.big_max_experiments // cfg.big_window),
                              thresholds=thresholds)

    def step(self) -> bool:
        t = self.run.experiments
        if t >= self.cfg.big_max_experiments or bool((self.run.hits >= 0).all()):
            return False
        self.run.advance(min(self.cfg.big_chunk, self.cfg.big_max_experiments - t))
        return True

    def summary(self) -> dict[str, Any]:
        # hits are in the order of ascending thresholds = descending margins, as big_margins
        order = np.argsort([-m for m in self.cfg.big_margins], kind="stable")
        hits = np.empty(len(order), dtype=np.int64)
        hits[order] = self.run.hits
        return {"hits": hits, "experiments": self.run.experiments,
                "visits": int(self.run.win_visits.sum())}

    def state_dict(self) -> dict[str, Any]:
        return {"run": self.run.state_dict()}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.run.load_state_dict(st["run"])


def _color(agent: str) -> str:
    """The same colour for an agent in every plot."""
    return f"C{(AGENTS.index(agent) if agent in AGENTS else len(AGENTS)) % 10}"


def _sd(x: np.ndarray) -> np.ndarray:
    return np.asarray(x.std(axis=0, ddof=1))


def run(ctx: RunContext, cfg: Config) -> Result:
    rows = checkpoints(cfg.experiments)
    small = [(a, i) for a in cfg.agents for i in range(cfg.seeds)]
    big = [(a, i) for a in cfg.big_agents for i in range(cfg.big_seeds)]
    keys = [f"small/{a}/{i}" for a, i in small] + [f"big/{a}/{i}" for a, i in big]

    def make(j: int, _shared: dict[str, Any]) -> _SmallJob | _BigJob:
        if j < len(small):
            return _SmallJob(cfg, *small[j], ctx.seed)
        return _BigJob(cfg, *big[j - len(small)], ctx.seed)

    def step(j: int, job: _SmallJob | _BigJob) -> bool:
        going = job.step()
        if isinstance(job, _SmallJob):
            done = job.run.experiments / cfg.experiments
        else:
            done = job.run.experiments / cfg.big_max_experiments
        ctx.progress(j + min(done, 1.0), len(keys), keys[j])
        return going

    def summarise(j: int, job: _SmallJob | _BigJob) -> dict[str, Any]:
        out = job.summary()
        ctx.log(j, job=keys[j], **{k: v for k, v in out.items() if k not in ("visits", "reward")
                                   or isinstance(v, int)})
        return out

    done = run_jobs(ctx, keys, make, step, summarise, backend=cfg.backend)
    metrics: dict[str, Any] = {"experiments_checkpoints": rows, "seeds": cfg.seeds}
    metrics |= _small_metrics(ctx, cfg, rows, {a: [done[f"small/{a}/{i}"]
                                                   for i in range(cfg.seeds)]
                                               for a in cfg.agents})
    if cfg.big_seeds:
        metrics |= _big_metrics(ctx, cfg, {a: [done[f"big/{a}/{i}"] for i in range(cfg.big_seeds)]
                                           for a in cfg.big_agents})
    return Result(metrics=metrics)


def _small_metrics(ctx: RunContext, cfg: Config, rows: list[int],
                   runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    m: dict[str, Any] = {}
    dist = {a: np.array([r["distances"] for r in rs], dtype=float) for a, rs in runs.items()}
    visits = {a: np.array([r["visits"] for r in rs], dtype=float) for a, rs in runs.items()}
    reward = {a: np.array([r["reward"] for r in rs], dtype=float) for a, rs in runs.items()}
    total = rows[-1]
    for a in cfg.agents:
        mean, sd = dist[a].mean(axis=0), _sd(dist[a])
        m[f"kl_sum_{a}"] = {str(r): float(v) for r, v in zip(rows, mean, strict=True)}
        m[f"kl_sum_{a}_sd"] = {str(r): float(v) for r, v in zip(rows, sd, strict=True)}
        if a in TABLE1_AGENTS:
            m |= {f"kl_sum_{a}_at_{r}": float(v) for r, v in zip(rows, mean, strict=True)}
        m[f"{a}_time_in_s10"] = float(visits[a].sum(axis=1).mean() / total)
        # the share in state 10, and the intrinsic reward per visit, between successive rows
        shares, per_visit = {}, {}
        bounds = [0, *rows[1:]]
        for lo, hi in itertools.pairwise(bounds):
            w = slice(lo // cfg.window, hi // cfg.window)
            v = visits[a][:, w].sum(axis=1)
            shares[str(hi)] = float(v.mean() / (hi - lo))
            per_visit[str(hi)] = float(reward[a][:, w].sum() / max(v.sum(), 1.0))
        m[f"{a}_time_in_s10_by_row"] = shares
        m[f"{a}_reward_per_s10_visit_by_row"] = per_visit
    last = str(rows[-1])
    below = [bool(a < b) for a, b in zip(dist["infogain"].mean(axis=0),
                                         dist["random"].mean(axis=0), strict=True)]
    m["infogain_below_random_from"] = next(
        (r for j, r in enumerate(rows) if all(below[j:])), None)
    m["infogain_time_in_s10_last_row"] = m["infogain_time_in_s10_by_row"].get(last)
    m["prediction_error_time_in_s10_last_row"] = (
        m.get("prediction_error_time_in_s10_by_row", {}).get(last))
    m["share_bound_s10"] = SHARE_BOUND
    m["share_random_walk_s10"] = SHARE_RANDOM
    if cfg.plots:
        _plot_distances(ctx, cfg, rows, dist)
        _plot_shares(ctx, cfg, visits, reward)
    return m


def _plot_distances(ctx: RunContext, cfg: Config, rows: list[int],
                    dist: dict[str, np.ndarray]) -> None:
    fig, ax = plots.figure(7.0, 4.5)
    x = np.array(rows, dtype=float)
    for a in cfg.agents:
        mean, sd = dist[a].mean(axis=0), _sd(dist[a])
        ax.plot(x, mean, marker=".", label=a, color=_color(a))
        ax.fill_between(x, np.maximum(mean - sd, 1e-3), mean + sd, color=_color(a), alpha=0.15)
        if a in PAPER_TABLE1:
            px = [r for r in rows if r in PAPER_TABLE1[a]]
            ax.plot(px, [PAPER_TABLE1[a][r] for r in px], "x", color=_color(a), ms=7,
                    label=f"{a}, paper (one run)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plots.finish(fig, ax, ctx.plot_path("kl_sum"), xlabel="experiments",
                 ylabel="summed distance to the true distributions (nats)",
                 title=f"RDIA, 10 x 10 environment: mean ± sd over {cfg.seeds} seeds",
                 legend_size=7)


def _plot_shares(ctx: RunContext, cfg: Config, visits: dict[str, np.ndarray],
                 reward: dict[str, np.ndarray]) -> None:
    fig, ax = plots.figure(7.0, 4.5)
    group = max(1, visits["random"].shape[1] // 64)  # about 64 points per curve
    n = visits["random"].shape[1] // group * group
    x = (np.arange(n // group) + 1) * group * cfg.window
    for a in cfg.agents:
        share = visits[a][:, :n].reshape(visits[a].shape[0], -1, group).sum(axis=2) / (
            group * cfg.window)
        ax.plot(x, share.mean(axis=0), label=a, color=_color(a))
    ax.axhline(SHARE_BOUND, color="black", ls="--", lw=0.8, label="most a policy can (18.2%)")
    ax.axhline(SHARE_RANDOM, color="grey", ls=":", lw=0.8, label="random walk (2.2%)")
    ax.set_xscale("log")
    plots.finish(fig, ax, ctx.plot_path("time_in_s10"), xlabel="experiments",
                 ylabel="share of steps in state 10", legend_size=7,
                 title=f"Where the agents spend their time (mean over {cfg.seeds} seeds)")
    fig, ax = plots.figure(7.0, 4.5)
    for a in cfg.agents:
        if a == "random":
            continue
        r = reward[a][:, :n].reshape(reward[a].shape[0], -1, group).sum(axis=(0, 2))
        v = visits[a][:, :n].reshape(visits[a].shape[0], -1, group).sum(axis=(0, 2))
        per = np.where(v > 0, r / np.maximum(v, 1), np.nan)
        ax.plot(x, np.abs(per), label=a, color=_color(a))
    ax.set_xscale("log")
    ax.set_yscale("log")
    plots.finish(fig, ax, ctx.plot_path("reward_per_s10_visit"), xlabel="experiments",
                 ylabel="|intrinsic reward| per step taken in state 10", legend_size=7,
                 title="Boredom: what a visit to the noisy state still pays")


def _big_metrics(ctx: RunContext, cfg: Config,
                 runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    m: dict[str, Any] = {"big_information_content_true": information_content(transitions(BIG)),
                         "big_seeds": cfg.big_seeds}
    margins = [float(g) for g in cfg.big_margins]
    med: dict[str, np.ndarray] = {}
    for a in cfg.big_agents:
        hits = np.array([r["hits"] for r in runs[a]], dtype=float)
        hits[hits < 0] = np.nan  # not reached within big_max_experiments
        med[a] = np.median(hits, axis=0)
        m[f"big_experiments_to_margin_{a}"] = {f"{g:g}": (None if np.isnan(v) else float(v))
                                               for g, v in zip(margins, med[a], strict=True)}
        m[f"big_reached_{a}"] = {f"{g:g}": int(np.isfinite(hits[:, j]).sum())
                                 for j, g in enumerate(margins)}
        m[f"big_time_in_s100_{a}"] = float(np.mean([r["visits"] / max(r["experiments"], 1)
                                                    for r in runs[a]]))
    for a in cfg.big_agents:
        if a == "random":
            continue
        ratio = med["random"] / med[a]
        m[f"big_speedup_{a}"] = {f"{g:g}": (None if np.isnan(v) else float(v))
                                 for g, v in zip(margins, ratio, strict=True)}
        tight = ratio[-1]
        m[f"big_speedup_{a}_at_tightest"] = None if np.isnan(tight) else float(tight)
    m["big_tightest_margin"] = margins[-1]
    if not cfg.plots:
        return m
    fig, ax = plots.figure(6.5, 4.2)
    for a in cfg.big_agents:
        ax.plot(margins, med[a], marker="o", label=a, color=_color(a))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.invert_xaxis()
    plots.finish(fig, ax, ctx.plot_path("big_margins"),
                 xlabel="margin below the true information content 460.517 (nats)",
                 ylabel=f"experiments needed (median of {cfg.big_seeds})",
                 title="RDIA, 100 x 100 environment (Table 2's measure)")
    return m


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """Table 1's direction: information gain ends below random from 16,384 experiments on (and
    entropy too), while the prediction-error agent is drawn to the noisy state 10 and random
    exploration is not."""
    rows = [r for r in m["experiments_checkpoints"] if r >= 16384]
    ig = [m["kl_sum_infogain"][str(r)] for r in rows]
    rnd = [m["kl_sum_random"][str(r)] for r in rows]
    ent = [m["kl_sum_entropy"][str(r)] for r in rows]
    pe, rs = m["prediction_error_time_in_s10"], m["random_time_in_s10"]
    ok = (bool(rows) and all(i < r for i, r in zip(ig, rnd, strict=True))
          and all(e < r for e, r in zip(ent, rnd, strict=True)) and pe > 0.12 and rs < 0.05)
    return ok, (f"summed distance from 16,384 on: infogain {', '.join(f'{v:.2f}' for v in ig)}, "
                f"entropy {', '.join(f'{v:.2f}' for v in ent)} < random "
                f"{', '.join(f'{v:.2f}' for v in rnd)}; time in state 10: prediction error "
                f"{pe:.1%} > 12%, random {rs:.1%} < 5%")


EXPERIMENT = register(Experiment(
    name="curiosity-rdia",
    system="artificial curiosity (RDIA, information gain)",
    paper="Storck, Hochreiter & Schmidhuber, Reinforcement driven information acquisition in "
          "non-deterministic environments, ICANN'95, vol. 2, pp. 159-164",
    description="Q-learning on information gain learns a noisy environment's transition "
                "probabilities faster than random exploration (Table 1, 10 x 10; Table 2, "
                "100 x 100); a prediction-error agent is drawn to the noise.",
    config=Config,
    scales={"quick": Config(seeds=5, experiments=32_768, big_seeds=0),
            "full": Config()},
    run=run,
    smoke=smoke,
    reference=refs("curiosity", "curiosity-rdia"),
))
