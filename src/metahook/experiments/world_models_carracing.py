"""world-models-carracing: V + M + C on the real CarRacing, C evolved in the real environment.

Ha & Schmidhuber, "World Models" (arXiv 1803.10122, 2018), the car racing experiment
(worldmodels.github.io, "Car Racing Experiment"). Pipeline, each stage checkpointed:

1. **Rollouts**: ``rollouts`` episodes of a random policy in Gymnasium's ``CarRacing-v3``
   (:mod:`metahook.envs.carracing`, frames 64×64, headless); each random action (steer
   U(−1, 1), gas U(0, 1), brake 0 or, one time in ten, U(0, 1)) is held for 1 to ``hold_max``
   steps. Each episode is saved as it finishes, so an interrupted run resumes them too.
2. **V** (:class:`~metahook.neural.world_models.ConvVAE`, ``z = 32``) is trained on every frame;
   each frame is stored as V's (μ, log σ²).
3. **M** (:class:`~metahook.neural.world_models.MDNRNN`: LSTM + 5-Gaussian mixture head, no done
   head) learns to predict ``z_{t+1}`` from ``z_t`` (drawn from V's posterior) and the action;
   its negative log-likelihood on held-out episodes is measured before and after training.
4. **C** is evolved by CMA-ES (pycma through :class:`~metahook.evolution.cmaes.CMAES`) *in the
   real environment* (:class:`CarRacingProblem`, a ``Problem``): fitness = mean reward over
   ``c_rollouts`` episodes on the same tracks for the whole population of a generation, episodes
   played in parallel over ``workers`` processes or, with ``backend="ray"``, as Ray tasks on a
   cluster (``metahook run --ray-address``; a local Ray of ``workers`` CPUs without one): every
   episode is a function of its task alone, so both backends give the same result. Variants:
   ``full`` (linear on ``[z, h]``, ``a = tanh(W [z, h] + b)``: 867 weights with ``h`` of
   256), ``v_only`` (linear on ``z`` alone: 99 weights) and, optionally, ``v_hidden`` (``z`` →
   ``v_hidden_units`` tanh units → 3 outputs). The action is (steer ``a₀``, gas
   ``(a₁ + 1) / 2``, brake ``max(a₂, 0)``). The controller kept is CMA-ES's final mean.
5. Each variant's **score**: mean ± sd of the reward over ``eval_episodes`` real episodes of
   ``eval_steps`` steps on fresh tracks, beside the random policy.

The paper's table (CarRacing-v0, 100 trials): full model 906 ± 21, V only 632 ± 251, V + hidden
layer 788 ± 141. The cost measure is real episodes (the paper's controller stage: population 64
× 16 rollouts × about 1,800 generations, about 1.8 million episodes).
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import shutil
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metahook.core.ray_pool import MAX_RETRIES, check_backend, ray_imap, ray_session
from metahook.envs import carracing as cr
from metahook.evolution.cmaes import CMAES
from metahook.evolution.network import NetSpec
from metahook.evolution.problem import BatchResult
from metahook.experiments._world_models_common import fit_m, fit_v, plot_dream_strip
from metahook.harness.api import (
    Experiment,
    Result,
    RunContext,
    atomic_write_bytes,
    plots,
    register,
)
from metahook.neural import world_models as wm
from metahook.neural.training import set_threads
from metahook.references import refs

ENVIRONMENTS = ("carracing",)
VARIANTS = ("full", "v_only", "v_hidden")
A_DIM = 3
LABELS = {"full": "V + M + C (z, h)", "v_only": "V only (C on z)",
          "v_hidden": "V + hidden layer"}
Task = tuple[str, Any, int, int, int]  # variant, params, track seed, max steps, action seed
PAPER = {"full": (906, 21), "v_only": (632, 251), "v_hidden": (788, 141)}
ROLLOUT_CACHE = "rollouts"  # finished random episodes, kept in the run folder until V is saved


@dataclass(frozen=True)
class Config:
    env: str = "carracing"
    rollouts: int = 40  # random real episodes for V and M (paper: 10,000)
    rollout_steps: int = 1000
    hold_max: int = 10  # a random action is held 1..hold_max steps
    z_dim: int = 32
    vae_channels: tuple[int, ...] = (16, 32, 64, 128)  # paper (32, 64, 128, 256)
    vae_epochs: int = 2
    vae_batch: int = 32
    vae_lr: float = 1e-3
    vae_frames: int = 0  # frames drawn per V epoch (0: all)
    m_hidden: int = 256
    m_epochs: int = 20
    m_seq_len: int = 100
    m_batch: int = 32
    m_lr: float = 1e-3
    heldout: float = 0.1  # share of episodes held out to measure M's loss
    variants: tuple[str, ...] = ("full", "v_only")
    v_hidden_units: int = 40
    popsize: int = 16  # paper 64
    c_rollouts: int = 2  # paper 16
    generations: int = 20  # paper ~1,800
    train_steps: int = 1000  # episode length while C evolves
    sigma0: float = 0.1
    eval_episodes: int = 100
    eval_steps: int = 1000
    random_episodes: int = 20
    workers: int = 2  # processes playing episodes side by side (CPUs of a local Ray)
    backend: str = "process"  # or "ray": episodes and rollouts as Ray tasks, same results
    threads: int = 1
    plots: bool = True

    def validate(self) -> None:
        if self.env not in ENVIRONMENTS:
            raise ValueError(f"unknown environment {self.env!r}; have {', '.join(ENVIRONMENTS)}")
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad or not self.variants or len(set(self.variants)) != len(self.variants):
            raise ValueError(f"variants must be distinct names from {', '.join(VARIANTS)}, "
                             f"got {list(self.variants)}")
        if len(self.vae_channels) != 4 or min(self.vae_channels) < 1:
            raise ValueError("vae_channels must be four positive widths")
        for name in ("rollouts", "rollout_steps", "hold_max", "z_dim", "vae_epochs",
                     "vae_batch", "m_hidden", "m_epochs", "m_seq_len", "m_batch",
                     "v_hidden_units", "c_rollouts", "generations", "train_steps",
                     "eval_episodes", "eval_steps", "random_episodes", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.rollouts < 2 or not 0 < self.heldout < 1:
            raise ValueError("rollouts >= 2 and 0 < heldout < 1 required")
        if self.popsize < 4:
            raise ValueError(f"popsize must be >= 4, got {self.popsize}")
        if self.vae_lr <= 0 or self.m_lr <= 0 or self.sigma0 <= 0 or self.vae_frames < 0:
            raise ValueError("learning rates and sigma0 must be > 0, vae_frames >= 0")
        if self.threads < 0:
            raise ValueError("threads must be >= 0")
        check_backend(self.backend)


def n_weights(variant: str, z_dim: int, m_hidden: int, v_hidden_units: int) -> int:
    """C's weights: ``full`` (z_dim + m_hidden + 1) · 3 (867 for 32 and 256), ``v_only``
    (z_dim + 1) · 3 (99), ``v_hidden`` (z_dim + 1) · H + (H + 1) · 3."""
    if variant == "full":
        return wm.controller_size(z_dim, m_hidden, A_DIM, with_cell=False, bias=True)
    if variant == "v_only":
        return wm.controller_size(z_dim, 0, A_DIM, with_cell=False, bias=True)
    if variant == "v_hidden":
        return (z_dim + 1) * v_hidden_units + (v_hidden_units + 1) * A_DIM
    raise ValueError(f"unknown variant {variant!r}")


def car_action(a: np.ndarray) -> np.ndarray:
    """C's tanh outputs -> (steer a₀, gas (a₁ + 1) / 2, brake max(a₂, 0))."""
    return np.array([a[0], (a[1] + 1.0) / 2.0, max(float(a[2]), 0.0)], np.float32)


class RandomActions:
    """The random policy of the rollouts: an action drawn and held for 1..hold_max steps."""

    def __init__(self, rng: np.random.Generator, hold_max: int) -> None:
        self.rng, self.hold_max = rng, hold_max
        self.hold = 0
        self.a = np.zeros(A_DIM, np.float32)

    def __call__(self) -> np.ndarray:
        if self.hold == 0:
            r = self.rng
            brake = float(r.uniform()) if r.uniform() < 0.1 else 0.0
            self.a = np.array([r.uniform(-1, 1), r.uniform(0, 1), brake], np.float32)
            self.hold = int(r.integers(1, self.hold_max + 1))
        self.hold -= 1
        return self.a.copy()


# ----------------------------------------------------------------------------- real episodes
class Agent:
    """C acting on real frames through V (and M for ``full``): one episode at a time."""

    def __init__(self, vae: wm.ConvVAE, m: wm.MDNRNN | None, variant: str,
                 params: np.ndarray, v_hidden_units: int) -> None:
        self.vae, self.m, self.variant = vae, m, variant
        self.p = torch.from_numpy(np.asarray(params, np.float32))
        self.H = v_hidden_units
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None

    def reset(self) -> None:
        self.state = None

    @torch.no_grad()
    def act(self, frame: np.ndarray) -> np.ndarray:
        z, _ = self.vae.encode(wm.frames_to_tensor(np.array(frame[None])))
        if self.variant == "full":
            assert self.m is not None
            h = (self.state[0][0] if self.state is not None
                 else torch.zeros(1, self.m.hidden))
            a = wm.controller_act(self.p[None], torch.cat([z, h], 1), A_DIM, True)[0]
            act = car_action(a.numpy())
            _, _, _, _, self.state = self.m(z.unsqueeze(1),
                                            torch.from_numpy(act)[None, None], self.state)
            return act
        if self.variant == "v_only":
            return car_action(wm.controller_act(self.p[None], z, A_DIM, True)[0].numpy())
        zd, H = z.shape[1], self.H
        w1 = self.p[:zd * H].reshape(H, zd)
        b1 = self.p[zd * H:(zd + 1) * H]
        hid = torch.tanh(z[0] @ w1.T + b1)
        return car_action(wm.controller_act(self.p[None, (zd + 1) * H:], hid[None], A_DIM,
                                            True)[0].numpy())


_WORKER: dict[str, Any] = {}


def _worker_init(payload: dict[str, Any]) -> None:
    """Build V and M once per process (and set torch to one thread)."""
    torch.set_num_threads(1)
    vae = wm.ConvVAE(payload["z_dim"], tuple(payload["channels"]))
    vae.load_state_dict(payload["vae"])
    vae.eval()
    m = None
    if payload.get("m") is not None:
        m = wm.MDNRNN(payload["z_dim"], A_DIM, payload["m_hidden"], 5)
        m.load_state_dict(payload["m"])
        m.eval()
    _WORKER.clear()
    _WORKER.update(vae=vae, m=m, v_hidden_units=payload["v_hidden_units"],
                   hold_max=payload["hold_max"], envs={})


def _env(max_steps: int) -> cr.CarRacing:
    envs = _WORKER.setdefault("envs", {})
    if max_steps not in envs:
        envs[max_steps] = cr.CarRacing(max_steps)
    return envs[max_steps]


def _episode(task: Task) -> tuple[float, int]:
    """One real episode: (variant or ``"random"``, params, track seed, max steps, action seed)
    -> (total reward, steps)."""
    variant, params, track, max_steps, act_seed = task
    env = _env(max_steps)
    frame = env.reset(seed=track)
    if variant == "random":
        rand = RandomActions(np.random.default_rng(act_seed), _WORKER["hold_max"])
        policy: Any = lambda f: rand()  # noqa: E731
    else:
        agent = Agent(_WORKER["vae"], _WORKER["m"], variant, np.asarray(params),
                      _WORKER["v_hidden_units"])
        policy = agent.act
    total, t = 0.0, 0
    while True:
        frame, r, term, trunc = env.step(policy(frame))
        total += r
        t += 1
        if term or trunc:
            return total, t


def _ray_episode(key: str, payload: list[Any], task: Task) -> tuple[float, int]:
    """:func:`_episode` in a Ray worker: V and M are built once per worker and payload
    (``payload`` holds the payload's object reference, fetched only when ``key`` is new)."""
    if _WORKER.get("key") != key:
        import ray

        _worker_init(ray.get(payload[0]))
        _WORKER["key"] = key
    return _episode(task)


class Episodes:
    """Plays episodes in ``workers`` spawned processes (inline when ``workers`` is 1) or, with
    ``backend="ray"``, one Ray task per episode on the cluster of
    :func:`~metahook.core.ray_pool.ray_session` (a local Ray of ``workers`` CPUs without an
    address); results in the order of the tasks, the same on every backend."""

    def __init__(self, workers: int, payload: dict[str, Any], backend: str = "process") -> None:
        self.pool: ProcessPoolExecutor | None = None
        self._ray: contextlib.ExitStack | None = None
        if check_backend(backend) == "ray":
            self._ray = contextlib.ExitStack()
            ray = self._ray.enter_context(ray_session(workers))
            self._remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES,
                                      retry_exceptions=False)(_ray_episode)
            self._key = uuid.uuid4().hex
            self._payload = [ray.put(payload)]  # in a list, so that tasks get the reference
        elif workers > 1:
            self.pool = ProcessPoolExecutor(workers,
                                            mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_worker_init, initargs=(payload,))
        else:
            _worker_init(payload)

    def map(self, tasks: Sequence[Task]) -> list[tuple[float, int]]:
        if self._ray is not None:
            import ray

            refs = [self._remote.remote(self._key, self._payload, t) for t in tasks]
            return [tuple(r) for r in ray.get(refs)]
        if self.pool is None:
            return [_episode(t) for t in tasks]
        return list(self.pool.map(_episode, tasks))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
        if self._ray is not None:
            self._ray.close()
            self._ray = None


@dataclass
class CarRacingProblem:
    """C's fitness in the real CarRacing: a ``Problem``. Every genome of one call plays the same
    ``rollouts`` tracks (seeds from ``seed`` and the call count); fitness = mean reward."""

    episodes: Episodes
    variant: str
    rollouts: int
    max_steps: int
    seed: int = 0
    calls: int = 0
    real_steps: int = field(default=0)

    def tracks(self) -> list[int]:
        base = (self.seed % 1000) * 1_000_000 + self.calls * self.rollouts
        return [base + r for r in range(self.rollouts)]

    def evaluate(self, spec: NetSpec, genomes: np.ndarray,
                 tested: dict[bytes, int] | None = None) -> BatchResult:
        tracks = self.tracks()
        self.calls += 1
        tasks = [(self.variant, np.asarray(g, np.float32), s, self.max_steps, 0)
                 for g in genomes for s in tracks]
        out = np.asarray(self.episodes.map(tasks), dtype=np.float64).reshape(
            len(genomes), self.rollouts, 2)
        self.real_steps += int(out[..., 1].sum())
        return BatchResult(fitness=out[..., 0].mean(axis=1), steps=out[..., 1].sum(axis=1),
                           n_evaluated=len(genomes))

    def solution_score(self, spec: NetSpec, genome: np.ndarray) -> int:
        return -1


def _eval_tracks(seed: int, n: int) -> list[int]:
    """Fresh tracks for the final episodes, never used while C evolves."""
    return [2_000_000_000 + (seed % 1000) * 10_000 + i for i in range(n)]


# ----------------------------------------------------------------------------- stages
def _rollout(task: tuple[int, int, int, int, int]) -> tuple[np.ndarray, np.ndarray, float]:
    """One random episode: (seed, rollout k, max steps, hold_max, torch threads) -> (frames
    (T+1, 64, 64, 3), actions (T, 3), reward); the track and the actions are drawn from
    (seed, k)."""
    seed, k, max_steps, hold_max, threads = task
    if threads:
        torch.set_num_threads(threads)
    env = cr.CarRacing(max_steps)
    rand = RandomActions(np.random.default_rng([seed, 1, k]), hold_max)
    frames = [env.reset(seed=(seed % 1000) * 1_000_000 + 900_000 + k)]
    acts, total = [], 0.0
    while True:
        a = rand()
        f, r, term, trunc = env.step(a)
        frames.append(f)
        acts.append(a)
        total += r
        if term or trunc:
            break
    env.close()
    return np.array(frames), np.array(acts, np.float32), total


def _keyed_rollout(task: tuple[int, int, int, int, int]
                   ) -> tuple[int, tuple[np.ndarray, np.ndarray, float]]:
    """(rollout k, :func:`_rollout`): Ray returns rollouts as they finish, in any order."""
    return task[1], _rollout(task)


def collect(cfg: Config, seed: int, cache: Path | None = None
            ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """``rollouts`` random episodes (:func:`_rollout`), over ``workers`` spawned processes (or
    Ray tasks with ``backend="ray"``).

    With ``cache`` (a folder), each finished episode is written there at once (atomically, one
    ``.npz`` per episode) and episodes already there are read back instead of played again: an
    interrupted run resumes its rollouts where they stopped (an episode is a function of
    ``(seed, k)``, so a cached one is the one that would be played).
    """
    tasks = [(seed, k, cfg.rollout_steps, cfg.hold_max, 1) for k in range(cfg.rollouts)]
    done: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for k in range(cfg.rollouts):
            f = cache / f"episode-{k:05d}.npz"
            if f.exists():
                with np.load(f) as z:
                    done[k] = (z["frames"], z["actions"], float(z["reward"]))
    todo = [t for t in tasks if t[1] not in done]

    def keep(k: int, ep: tuple[np.ndarray, np.ndarray, float]) -> None:
        done[k] = ep
        if cache is not None:
            buf = io.BytesIO()
            np.savez(buf, frames=ep[0], actions=ep[1], reward=np.float64(ep[2]))
            atomic_write_bytes(cache / f"episode-{k:05d}.npz", buf.getvalue())

    if cfg.backend == "ray" and todo:
        for k, ep in ray_imap(_keyed_rollout, todo, num_cpus=cfg.workers):
            keep(k, ep)
    elif cfg.workers == 1 or len(todo) <= 1:
        for t in todo:
            keep(t[1], _rollout(t))
    else:
        with ProcessPoolExecutor(cfg.workers,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            for t, ep in zip(todo, pool.map(_rollout, todo), strict=True):
                keep(t[1], ep)
    return [done[k] for k in range(cfg.rollouts)]


def _stage_v(ctx: RunContext, cfg: Config) -> dict[str, Any]:
    eps = collect(cfg, ctx.seed, ctx.out / ROLLOUT_CACHE)
    frames = np.concatenate([f for f, _, _ in eps])
    lengths = np.array([len(f) for f, _, _ in eps])
    vae, curve, mu, logvar = fit_v(ctx, cfg, frames)
    first = eps[0][0]
    start = min(60, len(first) // 2)  # past the opening zoom of the camera
    pick = np.linspace(start, min(len(first) - 1, start + 140), 8).astype(int)
    return {"stage": "M", "vae": vae.state_dict(), "v_curve": curve,
            "enc": {"mu": mu, "logvar": logvar, "lengths": lengths,
                    "starts": np.concatenate([[0], np.cumsum(lengths)[:-1]]),
                    "actions": np.concatenate([a for _, a, _ in eps])},
            "strip": {"frames": first[pick], "steps": pick, "actions": eps[0][1]},
            "frames_seen": len(frames),
            "rollout_rewards": [float(r) for _, _, r in eps], "done": {}}


def _stage_m(ctx: RunContext, cfg: Config, st: dict[str, Any]) -> None:
    enc = st["enc"]
    eps = []
    for k in range(len(enc["lengths"])):
        s, e = int(enc["starts"][k]), int(enc["starts"][k] + enc["lengths"][k])
        a = enc["actions"][s - k:e - k - 1]
        eps.append((enc["mu"][s:e], enc["logvar"][s:e], a, np.zeros(len(a), np.float32)))
    m, curve, (before, _), (after, _) = fit_m(ctx, cfg, eps, A_DIM, predict_done=False)
    for e, (nll, _) in enumerate(curve):
        ctx.log(e + 1, stage="M", m_nll=nll)
    st.update(stage="C", m=m.state_dict(), m_curve=[r[0] for r in curve],
              m_heldout_before=before, m_heldout_after=after)


def _models(cfg: Config, st: dict[str, Any]) -> tuple[wm.ConvVAE, wm.MDNRNN]:
    vae = wm.ConvVAE(cfg.z_dim, tuple(cfg.vae_channels))  # type: ignore[arg-type]
    vae.load_state_dict(st["vae"])
    vae.eval()
    m = wm.MDNRNN(cfg.z_dim, A_DIM, cfg.m_hidden, 5)
    m.load_state_dict(st["m"])
    m.eval()
    return vae, m


def _payload(cfg: Config, st: dict[str, Any]) -> dict[str, Any]:
    return {"z_dim": cfg.z_dim, "channels": tuple(cfg.vae_channels), "vae": st["vae"],
            "m": st["m"], "m_hidden": cfg.m_hidden, "v_hidden_units": cfg.v_hidden_units,
            "hold_max": cfg.hold_max}


def _stage_c(ctx: RunContext, cfg: Config, st: dict[str, Any], episodes: Episodes, k: int,
             variant: str) -> None:
    """Evolve C in the real environment, then play ``eval_episodes`` on fresh tracks."""
    spec = NetSpec(n_in=n_weights(variant, cfg.z_dim, cfg.m_hidden, cfg.v_hidden_units), h=0)
    algo = CMAES(sigma0=cfg.sigma0, popsize=cfg.popsize, min_std_frac=0.0)
    run = st.get("run")
    if run is None or run["variant"] != variant:
        rng = np.random.default_rng([ctx.seed, 100 + k])
        es = algo.init(spec, rng)
        run = {"variant": variant, "gen": 0, "curve": [], "steps": 0,
               "rng": dict(rng.bit_generator.state)}
    else:
        es = algo.load_state_dict(run["es"])
        rng = np.random.default_rng()
        rng.bit_generator.state = run["rng"]
    problem = CarRacingProblem(episodes, variant, cfg.c_rollouts, cfg.train_steps,
                               seed=ctx.seed * 10 + k, calls=run["gen"])
    while run["gen"] < cfg.generations:
        pop = algo.ask(es, rng)
        res = problem.evaluate(spec, pop.genomes)
        algo.tell(es, res.fitness, rng)
        run["gen"] += 1
        run["steps"] += int(res.steps.sum())
        run["curve"].append([float(res.fitness.mean()), float(res.fitness.max())])
        ctx.log(run["gen"], stage="C", variant=variant, real_mean=run["curve"][-1][0],
                real_best=run["curve"][-1][1])
        ctx.progress(k + run["gen"] / (cfg.generations + 1), len(cfg.variants), variant)
        run["es"] = algo.state_dict(es)
        run["rng"] = dict(rng.bit_generator.state)
        st["run"] = run
        ctx.checkpoint(lambda: st)
    params = np.asarray(es.es.mean, np.float32)
    tasks = [(variant, params, s, cfg.eval_steps, 0)
             for s in _eval_tracks(ctx.seed, cfg.eval_episodes)]
    out = np.asarray(episodes.map(tasks), dtype=np.float64)
    st["done"][variant] = {"rewards": out[:, 0].tolist(), "steps": int(out[:, 1].sum()),
                           "curve": run["curve"], "train_steps": run["steps"],
                           "params": params}
    st.pop("run", None)
    ctx.log(k, stage="eval", variant=variant, real_mean=float(out[:, 0].mean()))
    ctx.checkpoint(lambda: st, force=True)


def run(ctx: RunContext, cfg: Config) -> Result:
    set_threads(cfg.threads)
    st = ctx.restore()
    if st is None:
        st = _stage_v(ctx, cfg)
        ctx.checkpoint(lambda: st, force=True)
    shutil.rmtree(ctx.out / ROLLOUT_CACHE, ignore_errors=True)  # V's checkpoint holds them now
    if st["stage"] == "M":
        _stage_m(ctx, cfg, st)
        ctx.checkpoint(lambda: st, force=True)
    if any(v not in st["done"] for v in cfg.variants) or "random" not in st:
        episodes = Episodes(cfg.workers, _payload(cfg, st), cfg.backend)
        try:
            for k, variant in enumerate(cfg.variants):
                if variant not in st["done"]:
                    _stage_c(ctx, cfg, st, episodes, k, variant)
            if "random" not in st:
                tracks = _eval_tracks(ctx.seed, cfg.random_episodes)
                out = np.asarray(episodes.map([("random", None, s, cfg.eval_steps, ctx.seed + i)
                                               for i, s in enumerate(tracks)]), np.float64)
                st["random"] = {"rewards": out[:, 0].tolist(), "steps": int(out[:, 1].sum())}
                ctx.checkpoint(lambda: st, force=True)
        finally:
            episodes.close()
    rand = np.asarray(st["random"]["rewards"])
    m: dict[str, Any] = {
        "random_mean": float(rand.mean()), "random_sd": float(rand.std()),
        "rollout_reward_mean": float(np.mean(st["rollout_rewards"])),
        "real_frames_seen": st["frames_seen"], "rollouts": cfg.rollouts,
        "v_loss_first": st["v_curve"][0], "v_loss_last": st["v_curve"][-1],
        "m_nll_first_epoch": st["m_curve"][0], "m_nll_last_epoch": st["m_curve"][-1],
        "m_heldout_nll_before": st["m_heldout_before"],
        "m_heldout_nll_after": st["m_heldout_after"],
    }
    c_eps = 0
    real_steps = int(st["frames_seen"]) - cfg.rollouts + st["random"]["steps"]
    for v in cfg.variants:
        d = st["done"][v]
        r = np.asarray(d["rewards"])
        curve = np.asarray(d["curve"])
        m[f"{v}_mean"] = float(r.mean())
        m[f"{v}_sd"] = float(r.std())
        m[f"{v}_weights"] = n_weights(v, cfg.z_dim, cfg.m_hidden, cfg.v_hidden_units)
        m[f"{v}_train_first"] = float(curve[0, 0])
        m[f"{v}_train_last"] = float(curve[-1, 0])
        m[f"{v}_beats_random"] = bool(r.mean() > rand.mean())
        c_eps += cfg.generations * cfg.popsize * cfg.c_rollouts
        real_steps += d["train_steps"] + d["steps"]
    m["c_training_episodes"] = c_eps
    m["real_steps_total"] = real_steps
    m["real_episodes_total"] = (cfg.rollouts + c_eps + cfg.eval_episodes * len(cfg.variants)
                                + cfg.random_episodes)
    if "full" in cfg.variants and "v_only" in cfg.variants:
        m["full_beats_v_only"] = bool(m["full_mean"] > m["v_only_mean"])
    if cfg.plots:
        vae, mm = _models(cfg, st)
        _plot_table(ctx, cfg, m)
        _plot_curves(ctx, cfg, st)
        plot_dream_strip(ctx, st["strip"], vae, mm,
                         lambda a: torch.from_numpy(a.astype(np.float32)))
    return Result(metrics=m)


# ----------------------------------------------------------------------------- plots
def _plot_table(ctx: RunContext, cfg: Config, m: dict[str, Any]) -> None:
    fig, ax = plots.figure(7.0, 4.5)
    x = np.arange(len(cfg.variants))
    ax.errorbar(x - 0.12, [m[f"{v}_mean"] for v in cfg.variants],
                yerr=[m[f"{v}_sd"] for v in cfg.variants], fmt="o", color="C0", capsize=3,
                label=f"ours ({cfg.eval_episodes} real episodes, CarRacing-v3)")
    ax.errorbar(x + 0.12, [PAPER[v][0] for v in cfg.variants],
                yerr=[PAPER[v][1] for v in cfg.variants], fmt="x", color="C1", capsize=3,
                label="paper (100 trials, CarRacing-v0)")
    ax.axhline(m["random_mean"], color="grey", ls="--", label="ours: random policy")
    ax.axhline(900, color="grey", ls=":", label="'solved' (900)")
    ax.set_xticks(x, [LABELS[v] for v in cfg.variants])
    plots.finish(fig, ax, ctx.plot_path("score_table"), xlabel="controller",
                 ylabel="reward (mean ± sd)", title="CarRacing: C evolved in the real game")


def _plot_curves(ctx: RunContext, cfg: Config, st: dict[str, Any]) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), dpi=100)
    axes[0].plot(np.arange(1, len(st["v_curve"]) + 1), st["v_curve"], "o-")
    axes[0].set(xlabel="V epoch", ylabel="VAE loss per frame", title="V")
    axes[1].plot(np.arange(1, len(st["m_curve"]) + 1), st["m_curve"], "o-")
    axes[1].axhline(st["m_heldout_before"], color="grey", ls=":",
                    label="held out (z = μ), untrained")
    axes[1].axhline(st["m_heldout_after"], color="grey", ls="--",
                    label="held out (z = μ), trained")
    axes[1].set(xlabel="M epoch", ylabel="z NLL per dimension",
                title="M (training: z drawn from V)")
    axes[1].legend(fontsize=8)
    for k, v in enumerate(cfg.variants):
        c = np.asarray(st["done"][v]["curve"])
        axes[2].plot(np.arange(1, len(c) + 1), c[:, 0], "o-", color=f"C{k}", label=LABELS[v])
        axes[2].plot(np.arange(1, len(c) + 1), c[:, 1], "x:", color=f"C{k}")
    axes[2].set(xlabel="CMA-ES generation", ylabel="real reward",
                title="C in the real game (solid: mean, dotted: best)")
    axes[2].legend(fontsize=8)
    plots.save(fig, ctx.plot_path("learning_curves"))


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """V's loss falls and M's held-out NLL of the next latent falls below its untrained value;
    the controllers' real scores are reported beside the random policy's, not judged: the quick
    scale evolves C for a handful of short episodes (see docs/world_models.md)."""
    ok = (m["v_loss_last"] < m["v_loss_first"]
          and m["m_heldout_nll_after"] < m["m_heldout_nll_before"])
    scores = ", ".join(f"{v} {m[f'{v}_mean']:.1f}" for v in VARIANTS if f"{v}_mean" in m)
    return ok, (
        f"V loss {m['v_loss_first']:.0f} -> {m['v_loss_last']:.0f}; M's held-out z NLL "
        f"{m['m_heldout_nll_before']:.3f} -> {m['m_heldout_nll_after']:.3f}; real reward "
        f"{scores} vs random {m['random_mean']:.1f}")


EXPERIMENT = register(Experiment(
    name="world-models-carracing",
    system="controller + world model (World Models)",
    paper="Ha & Schmidhuber, World Models, arXiv 1803.10122 (2018); NeurIPS 2018 'Recurrent "
          "World Models Facilitate Policy Evolution'",
    description="V (conv VAE, z = 32) and M (MDN-LSTM) learn CarRacing-v3 from random rollouts; "
                "linear controllers on [z, h] and on z alone are evolved by CMA-ES in the real "
                "game and scored over real episodes, beside the random policy.",
    config=Config,
    scales={"quick": Config(rollouts=4, rollout_steps=60, vae_channels=(4, 8, 16, 16),
                            vae_epochs=3, vae_batch=16, m_hidden=16, m_epochs=8, m_seq_len=20,
                            m_batch=8, heldout=0.25, popsize=4, c_rollouts=1, generations=1,
                            train_steps=25, eval_episodes=2, eval_steps=30,
                            random_episodes=2, workers=1),
            "full": Config(rollouts=40, vae_epochs=2, vae_frames=20_000, popsize=16,
                           c_rollouts=2, generations=20, train_steps=500,
                           random_episodes=20)},
    run=run,
    smoke=smoke,
    reference=refs("world_models", "world-models-carracing"),
))
