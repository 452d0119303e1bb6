"""ccsa-arm: continual curiosity-driven skill acquisition in a 2-D gripper world seen as images.

Kompella, Stollenga, Luciw & Schmidhuber, "Continual curiosity-driven skill acquisition from
high-dimensional video inputs for humanoid robots", Artificial Intelligence 247:313-335 (2017).
Our 2-D counterpart of the paper's iCub scene (:mod:`metahook.envs.push_arm`; not the paper's
task): a gripper, a cup and a mat, observed only as 20 x 20 images.

CCSA, as we run it:

1. **exploratory options** generate observation streams: ``move`` (random moves, gripper
   open, anywhere: the gripper may push the cup over), ``grip`` (random moves and gripper
   commands above the cup's height: it may grasp the cup); an episode of ``episode`` steps
   restarts from a random gripper position with the cup at home;
2. **Curious Dr. MISFA** (:mod:`metahook.curiosity.misfa`, adaptive IncSFA modules) chooses which
   option's stream to learn from, by the progress of its current module, and freezes an
   abstraction (a slow feature and its clustering) when its estimation error stays low;
3. for each new abstraction a **skill** is learned: Q-learning on the option's state (gripper
   cell, gripper state) and the abstraction's current cluster, rewarded by how much the slow
   feature changes in one step (relative to the spread of its clusters); an episode ends at a
   change of more than half that spread. What the skill does is then *measured* in the world:
   its greedy policy is run from ``eval_episodes`` random starts, and the event it causes most
   (topple, grasp, place) names it; its success rate is the share of runs causing that event
   within ``skill_steps``;
4. **reuse**: once a skill that grasps exists, a new option ``place`` starts every episode by
   running that skill, then moves and opens the gripper at random; its stream is offered to the
   MISFA learner as a new stream.

Reported: the sequence of acquired skills, the intrinsic reward over time, each skill's success
rate, and the slow features over time. The paper reports no figures to match.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.core.ray_pool import check_backend
from metahook.core.seeding import rng_for
from metahook.curiosity.misfa import Abstraction, CuriousDrMISFA, MISFAParams
from metahook.envs import push_arm as pa
from metahook.harness.api import Experiment, Result, RunContext, plots, register, run_jobs
from metahook.neural.incsfa import IncSFA, IncSFAParams
from metahook.references import refs

EVENTS = {1: "topple", 2: "grasp", 3: "place"}
# option: (actions, lowest gripper row, starts with the grasp skill)
OPTIONS: dict[str, tuple[tuple[int, ...], int, bool]] = {
    "move": ((pa.LEFT, pa.RIGHT, pa.UP, pa.DOWN), 0, False),
    "grip": ((pa.LEFT, pa.RIGHT, pa.UP, pa.DOWN, pa.CLOSE, pa.OPEN), 2, False),
    "place": ((pa.LEFT, pa.RIGHT, pa.UP, pa.DOWN, pa.OPEN), 2, True),
}


@dataclass(frozen=True)
class Config:
    seeds: int = 5
    episode: int = 200  # steps of an exploratory option's episode
    noise_std: float = 0.05  # pixel noise
    tau: int = 100  # frames per chunk
    max_chunks: int = 3000
    block: int = 50  # chunks between checkpoints
    # IncSFA
    k: int = 8
    r: float = 2000.0
    eta_m: float = 0.001
    # Curious Dr. MISFA
    delta: float = 0.5
    patience: int = 5
    min_train: int = 50
    # skills
    skill_episodes: int = 3000
    skill_steps: int = 40
    skill_alpha: float = 0.2
    skill_gamma: float = 0.95
    skill_eps: float = 0.2
    eval_episodes: int = 200
    plots: bool = True
    backend: str = "process"  # or "ray": one Ray task per seed, same results

    def validate(self) -> None:
        check_backend(self.backend)
        if self.seeds < 1 or self.episode < 10 or self.tau < 2 or self.max_chunks < 1:
            raise ValueError("seeds >= 1, episode >= 10, tau >= 2, max_chunks >= 1 required")
        if not 0 <= self.noise_std < 1 or self.block < 1 or self.k < 2:
            raise ValueError("0 <= noise_std < 1, block >= 1, k >= 2 required")
        if (self.skill_episodes < 1 or self.skill_steps < 1 or self.eval_episodes < 1
                or not 0 < self.skill_alpha <= 1 or not 0 <= self.skill_gamma < 1
                or not 0 <= self.skill_eps <= 1):
            raise ValueError("skill_episodes, skill_steps, eval_episodes >= 1; 0 < skill_alpha "
                             "<= 1, 0 <= skill_gamma < 1, 0 <= skill_eps <= 1 required")
        self.incsfa().validate()
        self.misfa().validate()

    def incsfa(self) -> IncSFAParams:
        return IncSFAParams(k=self.k, j=1, r=self.r, eta_m0=self.eta_m, eta_m_min=self.eta_m,
                            t_m=1e12)

    def misfa(self) -> MISFAParams:
        return MISFAParams(delta=self.delta, patience=self.patience, min_train=self.min_train,
                           gamma=0.9, eps_min=0.1, gate_by_stream=True)


class Skill:
    """A learned skill: Q-values over (gripper cell, gripper state, side of the slow feature) x
    the option's actions, and the frozen abstraction whose changes it was rewarded for."""

    def __init__(self, option: str, ab: Abstraction, q: np.ndarray, mid: float) -> None:
        self.option, self.ab, self.q, self.mid = option, ab, q, mid
        self.actions = OPTIONS[option][0]

    def feature(self, frame: np.ndarray) -> tuple[float, int]:
        """The slow feature of a frame and its side of the middle of its range (0 or 1)."""
        y = float(self.ab.module.outputs(frame[None, :])[0, 0])
        return y, int(y > self.mid)

    def act(self, s: np.ndarray, cluster: int, rng: np.random.Generator, eps: float) -> int:
        if rng.random() < eps:
            return int(rng.integers(len(self.actions)))
        q = self.q[_sidx(s, cluster)]
        return int(rng.choice(np.flatnonzero(q == q.max())))


def _sidx(s: np.ndarray, cluster: int) -> int:
    return ((int(s[pa.HX]) * pa.H + int(s[pa.HY])) * 2 + int(s[pa.GRIP])) * 2 + cluster


def _frame(s: np.ndarray, img: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    pa.render(s, img)
    return img.ravel() + noise * rng.standard_normal(pa.DIM)


def _start(option: str, rng: np.random.Generator) -> np.ndarray:
    cells = pa.free_cells(pa.UPRIGHT, OPTIONS[option][1])
    x, y = cells[int(rng.integers(len(cells)))]
    return pa.initial(x, y)


class OptionStream:
    """The frames an exploratory option produces, episode after episode (``skill``: the
    grasp skill the ``place`` option runs first)."""

    def __init__(self, option: str, cfg: Config, rng: np.random.Generator,
                 skill: Skill | None = None) -> None:
        self.option, self.cfg, self.rng, self.skill = option, cfg, rng, skill
        self.actions, self.min_row, _ = OPTIONS[option]
        self.img = np.zeros((pa.SIDE, pa.SIDE))
        self.events: Counter[str] = Counter()
        self._reset()

    def _reset(self) -> None:
        self.s = _start(self.option, self.rng)
        self.t = 0
        self.prefix = self.skill is not None

    def chunk(self, n: int) -> np.ndarray:
        out = np.empty((n, pa.DIM))
        for i in range(n):
            if self.t >= self.cfg.episode:
                self._reset()
            if self.prefix and self.skill is not None:
                _, c = self.skill.feature(self._plain())
                a = self.skill.actions[self.skill.act(self.s, c, self.rng, 0.0)]
                if pa.step(self.s, a, OPTIONS[self.skill.option][1]) == 2 \
                        or self.t >= self.cfg.skill_steps:
                    self.prefix = False
            else:
                a = self.actions[int(self.rng.integers(len(self.actions)))]
                ev = pa.step(self.s, a, self.min_row)
                if ev:
                    self.events[EVENTS[ev]] += 1
            self.t += 1
            out[i] = _frame(self.s, self.img, self.rng, self.cfg.noise_std)
        return out

    def _plain(self) -> np.ndarray:
        return _frame(self.s, self.img, self.rng, self.cfg.noise_std)


def feature_range(option: str, ab: Abstraction, cfg: Config, rng: np.random.Generator,
                  prefix: Skill | None, frames: int = 2000) -> tuple[float, float]:
    """The 5 and 95 % points of the abstraction's output on a fresh sample of the option's
    stream."""
    y = ab.module.outputs(OptionStream(option, cfg, rng, prefix).chunk(frames))[:, 0]
    lo, hi = np.percentile(y, [5, 95])
    return float(lo), float(max(hi, lo + 1e-9))


def learn_skill(option: str, ab: Abstraction, cfg: Config, rng: np.random.Generator,
                prefix: Skill | None) -> tuple[Skill, list[float]]:
    """Q-learning of a skill on the option's state and the abstraction's cluster, rewarded for a
    large change of the slow feature (more than half its spread on the option's stream, in one
    step; the episode ends there); returns the skill and its return per episode."""
    actions, min_row, _ = OPTIONS[option]
    lo, hi = feature_range(option, ab, cfg, rng, prefix)
    spread = hi - lo
    q = np.zeros((pa.W * pa.H * 2 * 2, len(actions)))
    skill = Skill(option, ab, q, (lo + hi) / 2)
    img = np.zeros((pa.SIDE, pa.SIDE))
    returns = []
    for _ in range(cfg.skill_episodes):
        s = _prefixed_start(option, prefix, cfg, rng, img)
        y, c = skill.feature(_frame(s, img, rng, cfg.noise_std))
        total = 0.0
        for _t in range(cfg.skill_steps):
            i = skill.act(s, c, rng, cfg.skill_eps)
            si = _sidx(s, c)
            pa.step(s, actions[i], min_row)
            y2, c2 = skill.feature(_frame(s, img, rng, cfg.noise_std))
            change = abs(y2 - y) / spread
            end = change > 0.5
            r = change if end else 0.0
            target = r if end else r + cfg.skill_gamma * q[_sidx(s, c2)].max()
            q[si, i] += cfg.skill_alpha * (target - q[si, i])
            total += r
            y, c = y2, c2
            if end:
                break
        returns.append(total)
    return skill, returns


def _prefixed_start(option: str, prefix: Skill | None, cfg: Config, rng: np.random.Generator,
                    img: np.ndarray) -> np.ndarray:
    """A start state for ``option``: random, or (place) where the grasp skill ends."""
    s = _start(option, rng)
    if OPTIONS[option][2] and prefix is not None:
        for _ in range(cfg.skill_steps):
            _, c = prefix.feature(_frame(s, img, rng, cfg.noise_std))
            if pa.step(s, prefix.actions[prefix.act(s, c, rng, 0.0)],
                       OPTIONS[prefix.option][1]) == 2:
                break
    return s


def evaluate(skill: Skill, prefix: Skill | None, cfg: Config,
             rng: np.random.Generator) -> dict[str, Any]:
    """Run the greedy skill from random starts; count the world's events (ground truth)."""
    img = np.zeros((pa.SIDE, pa.SIDE))
    first: Counter[str] = Counter()
    steps = []
    min_row = OPTIONS[skill.option][1]
    for _ in range(cfg.eval_episodes):
        s = _prefixed_start(skill.option, prefix, cfg, rng, img)
        if OPTIONS[skill.option][2] and s[pa.CUP] != pa.HELD:
            first["no grasp"] += 1
            continue
        for t in range(cfg.skill_steps):
            _, c = skill.feature(_frame(s, img, rng, cfg.noise_std))
            ev = pa.step(s, skill.actions[skill.act(s, c, rng, 0.0)], min_row)
            if ev:
                first[EVENTS[ev]] += 1
                steps.append(t + 1)
                break
        else:
            first["none"] += 1
    named = [(k, v) for k, v in first.most_common() if k in EVENTS.values()]
    name = named[0][0] if named else "none"
    return {"name": name, "success_rate": first[name] / cfg.eval_episodes if named else 0.0,
            "events": dict(first), "steps_mean": float(np.mean(steps)) if steps else None}


class _Seed:
    def __init__(self, cfg: Config, i: int, run_seed: int) -> None:
        self.cfg, self.i, self.run_seed = cfg, i, run_seed
        self.mod_rng = rng_for(f"ccsa seed {i} modules", run_seed)
        self.skill_rng = rng_for(f"ccsa seed {i} skills", run_seed)
        params = cfg.incsfa()
        self.agent = CuriousDrMISFA(2, lambda: IncSFA(pa.DIM, params, self.mod_rng), 1,
                                    cfg.misfa(), rng_for(f"ccsa seed {i} agent", run_seed))
        self.options = ["move", "grip"]
        self.streams = [OptionStream(o, cfg, rng_for(f"ccsa seed {i} option {o}", run_seed))
                        for o in self.options]
        self.skills: list[Skill] = []
        self.skill_log: list[dict[str, Any]] = []
        self.log: dict[str, list[float]] = {"stream": [], "xi": [], "reward": []}

    def grasp_skill(self) -> Skill | None:
        for sk, info in zip(self.skills, self.skill_log, strict=True):
            if info["name"] == "grasp":
                return sk
        return None

    def step(self) -> bool:
        cfg, ag = self.cfg, self.agent
        for _ in range(cfg.block):
            encoded = {ab.stream for ab in ag.abstractions}
            if ag.chunks >= cfg.max_chunks or len(encoded) == len(self.streams) == 3:
                return False
            s = ag.act()
            info = ag.observe(self.streams[s].chunk(cfg.tau))
            for key in self.log:
                self.log[key].append(float(info[key]))
            if info["frozen"]:
                self._new_skill(ag.abstractions[-1])
        return True

    def _new_skill(self, ab: Abstraction) -> None:
        cfg = self.cfg
        option = self.options[ab.stream]
        prefix = self.grasp_skill()
        skill, returns = learn_skill(option, ab, cfg, self.skill_rng, prefix)
        ev = evaluate(skill, prefix, cfg, self.skill_rng)
        self.skills.append(skill)
        k = max(1, len(returns) // 50)
        self.skill_log.append({"option": option, "chunk": self.agent.chunks, **ev,
                               "returns": [float(np.mean(returns[j:j + k]))
                                           for j in range(0, len(returns), k)]})
        if ev["name"] == "grasp" and "place" not in self.options:
            self.options.append("place")
            self.streams.append(OptionStream("place", cfg, rng_for(
                f"ccsa seed {self.i} option place", self.run_seed), skill))
            self.agent.add_stream()

    def summary(self) -> dict[str, Any]:
        traces = {}
        for ab in self.agent.abstractions:
            st = OptionStream(self.options[ab.stream], self.cfg,
                              rng_for(f"ccsa seed {self.i} trace", self.run_seed),
                              self.grasp_skill() if self.options[ab.stream] == "place" else None)
            x = st.chunk(3 * self.cfg.episode)
            traces[self.options[ab.stream]] = ab.module.outputs(x)[:, 0].tolist()
        return {"skills": [s["name"] for s in self.skill_log],
                "skill_options": [s["option"] for s in self.skill_log],
                "skill_success": [s["success_rate"] for s in self.skill_log],
                "skill_chunk": [s["chunk"] for s in self.skill_log],
                "skill_events": [s["events"] for s in self.skill_log],
                "skill_returns": [s["returns"] for s in self.skill_log],
                "chunks": self.agent.chunks, "unchanged": self.agent.unchanged(),
                "log_stream": self.log["stream"], "log_reward": self.log["reward"],
                "log_xi": self.log["xi"], "traces": traces,
                "option_events": {o: dict(st.events) for o, st in zip(self.options, self.streams,
                                                                       strict=True)}}

    # A seed's run is checkpointed between seeds only (skills hold references into the agent).
    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        pass


def run(ctx: RunContext, cfg: Config) -> Result:
    keys = [f"seed{i}" for i in range(cfg.seeds)]

    def make(j: int, _shared: dict[str, Any]) -> _Seed:
        return _Seed(cfg, j, ctx.seed)

    def step(j: int, job: _Seed) -> bool:
        while job.step():
            ctx.progress(j + job.agent.chunks / cfg.max_chunks, len(keys), keys[j])
        return False

    def summarise(j: int, job: _Seed) -> dict[str, Any]:
        out = job.summary()
        ctx.log(j, seed=j, skills=out["skills"], success=out["skill_success"],
                chunks=out["chunks"])
        return out

    done = list(run_jobs(ctx, keys, make, step, summarise, backend=cfg.backend).values())
    names = sorted({n for d in done for n in d["skills"] if n != "none"})
    m: dict[str, Any] = {
        "seeds": cfg.seeds,
        "skill_sequences": [d["skills"] for d in done],
        "skills_acquired": names,
        "distinct_skills": len(names),
        "distinct_skills_min": min(len({n for n in d["skills"] if n != "none"}) for d in done),
        "success_rate": {n: float(np.mean([s for d in done for k, s in
                                           zip(d["skills"], d["skill_success"], strict=True)
                                           if k == n])) for n in names},
        "skill_seeds": {n: sum(n in d["skills"] for d in done) for n in names},
        "chunk_acquired": {n: float(np.mean([c for d in done for k, c in
                                             zip(d["skills"], d["skill_chunk"], strict=True)
                                             if k == n])) for n in names},
        "abstractions_unchanged_seeds": sum(d["unchanged"] for d in done),
        "chunks_mean": float(np.mean([d["chunks"] for d in done])),
        "frames_mean": float(np.mean([d["chunks"] for d in done])) * cfg.tau,
        "skill_episodes_total": cfg.skill_episodes,
    }
    if cfg.plots:
        _plot(ctx, cfg, done)
    return Result(metrics=m)


def _plot(ctx: RunContext, cfg: Config, done: list[dict[str, Any]]) -> None:
    d = done[0]
    fig, ax = plots.figure(7.0, 3.5)
    r = np.array(d["log_reward"])
    k = 10
    sm = np.convolve(r, np.ones(k) / k, mode="same")
    t = np.arange(len(r)) * cfg.tau
    ax.plot(t, sm, lw=0.8, color="C0", label="intrinsic reward (10-chunk mean)")
    for name, chunk in zip(d["skills"], d["skill_chunk"], strict=True):
        ax.axvline(chunk * cfg.tau, color="k", ls="--", lw=0.8)
        ax.text(chunk * cfg.tau, ax.get_ylim()[1] * 0.9, f" {name}", fontsize=8)
    plots.finish(fig, ax, ctx.plot_path("intrinsic_reward"), xlabel="frames watched",
                 ylabel="MISFA reward (progress)",
                 title="Seed 0: curiosity reward and the skills acquired (dashed)")
    fig, ax = plots.figure(7.0, 3.5)
    for j, (opt, tr) in enumerate(d["traces"].items()):
        y = np.array(tr)
        ax.plot((y - y.mean()) / (y.std() + 1e-12) + 4 * j, lw=0.7, label=f"abstraction of {opt}")
    for e in range(1, 3):
        ax.axvline(e * cfg.episode, color="grey", lw=0.5)
    plots.finish(fig, ax, ctx.plot_path("slow_features"), xlabel="frame (episodes of "
                 f"{cfg.episode} frames)", ylabel="slow feature (standardised, offset)",
                 title="Seed 0: each abstraction's output on its option's stream")
    names = sorted({n for dd in done for n in dd["skills"]})
    fig, ax = plots.figure(6.0, 3.5)
    for j, n in enumerate(names):
        vals = [s for dd in done for k, s in zip(dd["skills"], dd["skill_success"], strict=True)
                if k == n]
        ax.scatter(np.full(len(vals), j) + np.linspace(-0.1, 0.1, len(vals)), vals, color=f"C{j}")
        ax.bar(j, float(np.mean(vals)), alpha=0.3, color=f"C{j}")
    ax.set_xticks(range(len(names)), names)
    ax.set_ylim(0, 1.05)
    plots.finish(fig, ax, ctx.plot_path("skill_success"), xlabel="skill (named by its effect)",
                 ylabel="success rate (greedy, from random starts)",
                 title="Success rate of each acquired skill, per seed", legend_size=None)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """At least two distinct skills acquired, each succeeding at least half the time."""
    rates = m["success_rate"]
    ok = m["distinct_skills"] >= 2 and all(v >= 0.5 for v in rates.values())
    return ok, (f"skills acquired: {', '.join(m['skills_acquired']) or 'none'}; success "
                + ", ".join(f"{k} {v:.2f}" for k, v in rates.items()))


EXPERIMENT = register(Experiment(
    name="ccsa-arm",
    system="CCSA, IncSFA, Curious Dr. MISFA",
    paper="Kompella, Stollenga, Luciw & Schmidhuber, Continual curiosity-driven skill "
          "acquisition from high-dimensional video inputs for humanoid robots, Artificial "
          "Intelligence 247:313-335 (2017)",
    description="In a 2-D gripper world seen as 20x20 images, curiosity-driven slow-feature "
                "abstractions of exploratory options become skills (topple, grasp) that are "
                "reused to explore further (pick and place); not the paper's iCub task.",
    config=Config,
    scales={"quick": Config(seeds=1, max_chunks=800, skill_episodes=800, eval_episodes=100),
            "full": Config()},
    run=run,
    smoke=smoke,
    reference=refs("ccsa", "ccsa-arm"),
))
