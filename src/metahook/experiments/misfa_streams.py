"""misfa-streams: Curious Dr. MISFA learns slow-feature abstractions of video streams in order of
increasing difficulty and never encodes noise.

Kompella, Luciw, Stollenga, Pape & Schmidhuber, "Curious Dr. MISFA", Frontiers in Neurorobotics
7:9 (2013); IncSFA: Kompella, Luciw & Schmidhuber, Neural Computation 24(11) (2012). Per seed,
``len(amplitudes)`` learnable 20 x 20 video streams of graded difficulty and one pure-noise
stream (:mod:`metahook.envs.video_streams`), in a random order, are offered to the agent of
:mod:`metahook.curiosity.misfa` with adaptive IncSFA modules (:mod:`metahook.neural.incsfa`).
The run ends ``extra_chunks`` after the last learnable stream is encoded, or at ``max_chunks``.

Measured per seed: the order in which streams were encoded (against the order of their
difficulty Omega, batch SFA's slowest Delta over white noise's), whether the noise stream was
ever encoded, whether every frozen abstraction's state stayed bit-identical from its freezing to
the end, each abstraction's estimation error on its stream at the end and the correlation of its
output with the stream's true slow latent; frames and chunks (the paper's cost measure) to
encode each stream. The paper's claims are qualitative (no figures to compare).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.core.seeding import rng_for
from metahook.curiosity.misfa import CuriousDrMISFA, MISFAParams
from metahook.envs.video_streams import DIM, StreamSpec, VideoStream, omega
from metahook.harness.api import Experiment, Result, RunContext, plots, register, run_jobs
from metahook.neural.incsfa import IncSFA, IncSFAParams
from metahook.references import refs


@dataclass(frozen=True)
class Config:
    seeds: int = 20
    amplitudes: tuple[float, ...] = (1.0, 0.5, 0.3)  # slow-latent amplitude: easy ... hard
    tau: int = 100  # frames per chunk
    max_chunks: int = 2000
    extra_chunks: int = 300  # watched after the last learnable stream is encoded
    block: int = 100  # chunks between checkpoints
    # IncSFA (adaptive: finite r and a constant MCA rate keep the module plastic)
    k: int = 5
    r: float = 2000.0
    eta_m: float = 0.001
    # Curious Dr. MISFA
    delta: float = 0.8
    patience: int = 5
    alpha: float = 0.3
    gamma: float = 0.9
    eps_decay: float = 0.95
    eps_min: float = 0.1
    min_train: int = 20
    omega_frames: int = 20_000
    plots: bool = True

    def validate(self) -> None:
        if self.seeds < 1 or not self.amplitudes or min(self.amplitudes) <= 0:
            raise ValueError("seeds >= 1 and positive amplitudes required")
        if len(set(self.amplitudes)) != len(self.amplitudes):
            raise ValueError("amplitudes must differ (they grade the difficulty)")
        if self.tau < 2 or self.max_chunks < 1 or self.extra_chunks < 0 or self.block < 1:
            raise ValueError("tau >= 2, max_chunks >= 1, extra_chunks >= 0, block >= 1 required")
        if self.k < 2 or self.omega_frames < 1000:
            raise ValueError("k >= 2 and omega_frames >= 1000 required")
        self.incsfa().validate()
        self.misfa().validate()

    def incsfa(self) -> IncSFAParams:
        return IncSFAParams(k=self.k, j=1, r=self.r, eta_m0=self.eta_m, eta_m_min=self.eta_m,
                            t_m=1e12)

    def misfa(self) -> MISFAParams:
        return MISFAParams(delta=self.delta, patience=self.patience, alpha=self.alpha,
                           gamma=self.gamma, eps_decay=self.eps_decay, eps_min=self.eps_min,
                           min_train=self.min_train)


class _Seed:
    """One seed: the streams (in a random order), the agent, and its per-chunk log."""

    def __init__(self, cfg: Config, i: int, run_seed: int) -> None:
        self.cfg = cfg
        order_rng = rng_for(f"misfa seed {i} order", run_seed)
        specs = [StreamSpec(a) for a in cfg.amplitudes] + [StreamSpec(0.0)]
        self.perm = order_rng.permutation(len(specs))  # stream s shows specs[perm[s]]
        self.specs = [specs[int(j)] for j in self.perm]
        self.streams = [VideoStream(sp, rng_for(f"misfa seed {i} stream {s}", run_seed))
                        for s, sp in enumerate(self.specs)]
        self.noise = int(np.flatnonzero([st.is_noise for st in self.streams])[0])
        mod_rng = rng_for(f"misfa seed {i} modules", run_seed)
        params = cfg.incsfa()
        self.agent = CuriousDrMISFA(len(specs), lambda: IncSFA(DIM, params, mod_rng), 1,
                                    cfg.misfa(), rng_for(f"misfa seed {i} agent", run_seed))
        self.mod_rng = mod_rng
        self.log: dict[str, list[float]] = {"stream": [], "xi": [], "reward": [], "gated": []}
        self.done_at: int | None = None
        self.omega = [omega(sp, rng_for(f"misfa seed {i} omega {s}", run_seed), cfg.omega_frames)
                      for s, sp in enumerate(self.specs)]

    def learnable_encoded(self) -> bool:
        enc = {ab.stream for ab in self.agent.abstractions}
        return all(s in enc for s in range(len(self.streams)) if s != self.noise)

    def step(self) -> bool:
        cfg, ag = self.cfg, self.agent
        for _ in range(cfg.block):
            if ag.chunks >= cfg.max_chunks or (self.done_at is not None
                                               and ag.chunks >= self.done_at + cfg.extra_chunks):
                return False
            s = ag.act()
            info = ag.observe(self.streams[s].chunk(cfg.tau))
            for key in self.log:
                self.log[key].append(float(info[key]))
            if self.done_at is None and self.learnable_encoded():
                self.done_at = ag.chunks
        return True

    def summary(self) -> dict[str, Any]:
        cfg, ag = self.cfg, self.agent
        # difficulty rank of each stream: 0 = easiest (largest amplitude)
        rank = {s: int(np.argsort(np.argsort([-sp.amplitude for sp in self.specs]))[s])
                for s in range(len(self.specs))}
        order = [rank[ab.stream] for ab in ag.abstractions]
        n_learn = len(cfg.amplitudes)
        check = rng_for("misfa final check", 0)
        end_xi, corr = [], []
        for ab in ag.abstractions:
            st = VideoStream(self.specs[ab.stream], check)
            st.patterns, st.t = self.streams[ab.stream].patterns, self.streams[ab.stream].t
            t = st.t + np.arange(2000)
            x = st.chunk(2000)
            y = ab.module.outputs(x)
            end_xi.append(ab.roc.error(y))
            corr.append(float(abs(np.corrcoef(y[:, 0], st.slow_latent(t))[0, 1]))
                        if not st.is_noise else 0.0)
        return {
            "order": order,
            "streams": [ab.stream for ab in ag.abstractions],
            "frozen_chunk": [ab.chunk for ab in ag.abstractions],
            "omega_by_rank": [self.omega[s] for s in sorted(rank, key=rank.get)],  # type: ignore[arg-type]
            "order_matches": order == list(range(n_learn)),
            "all_learned": sorted(order) == list(range(n_learn)),
            "noise_encoded": any(ab.stream == self.noise for ab in ag.abstractions),
            "unchanged": ag.unchanged(),
            "end_xi": end_xi, "latent_corr": corr,
            "chunks": ag.chunks, "frames": ag.chunks * cfg.tau,
            "log_stream_rank": [rank[int(s)] for s in self.log["stream"]],
            "log_xi": self.log["xi"], "log_reward": self.log["reward"],
        }

    def state_dict(self) -> dict[str, Any]:
        return {"agent": self.agent.state_dict(),
                "streams": [st.state_dict() for st in self.streams],
                "mod_rng": self.mod_rng.bit_generator.state, "log": self.log,
                "done_at": -1 if self.done_at is None else self.done_at}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.mod_rng.bit_generator.state = st["mod_rng"]
        self.agent.load_state_dict(st["agent"])
        for stream, s in zip(self.streams, st["streams"], strict=True):
            stream.load_state_dict(s)
        self.log = {k: [float(v) for v in vals] for k, vals in st["log"].items()}
        self.done_at = None if int(st["done_at"]) < 0 else int(st["done_at"])


def run(ctx: RunContext, cfg: Config) -> Result:
    keys = [f"seed{i}" for i in range(cfg.seeds)]

    def make(j: int, _shared: dict[str, Any]) -> _Seed:
        return _Seed(cfg, j, ctx.seed)

    def step(j: int, job: _Seed) -> bool:
        going = job.step()
        ctx.progress(j + job.agent.chunks / cfg.max_chunks, len(keys), keys[j])
        return going

    def summarise(j: int, job: _Seed) -> dict[str, Any]:
        out = job.summary()
        ctx.log(j, seed=j, order=out["order"], frozen_chunk=out["frozen_chunk"],
                noise_encoded=out["noise_encoded"], chunks=out["chunks"])
        return out

    done = [v for v in run_jobs(ctx, keys, make, step, summarise).values()]
    n_learn = len(cfg.amplitudes)
    m: dict[str, Any] = {
        "seeds": cfg.seeds, "streams_learnable": n_learn, "tau": cfg.tau,
        "order_matches_difficulty_seeds": sum(d["order_matches"] for d in done),
        "all_learned_seeds": sum(d["all_learned"] for d in done),
        "noise_encoded_seeds": sum(d["noise_encoded"] for d in done),
        "abstractions_unchanged_seeds": sum(d["unchanged"] for d in done),
        "easiest_first_seeds": sum(bool(d["order"]) and d["order"][0] == 0 for d in done),
        "order_rank_corr_mean": _rank_corr_mean([d["order"] for d in done if d["all_learned"]]),
        "orders": [d["order"] for d in done],
        "omega_by_rank": np.mean([d["omega_by_rank"] for d in done], axis=0).tolist(),
        "frozen_chunk_by_rank": [
            float(np.mean([d["frozen_chunk"][d["order"].index(r)] for d in done
                           if r in d["order"]])) if any(r in d["order"] for d in done) else None
            for r in range(n_learn)],
        "frozen_chunk_capped_by_rank": [  # a seed that never encoded the stream: max_chunks
            float(np.mean([d["frozen_chunk"][d["order"].index(r)] if r in d["order"]
                           else cfg.max_chunks for d in done])) for r in range(n_learn)],
        "end_xi_max": float(max((x for d in done for x in d["end_xi"]), default=float("nan"))),
        "latent_corr_min": float(min((c for d in done for c in d["latent_corr"]),
                                     default=float("nan"))),
        "chunks_mean": float(np.mean([d["chunks"] for d in done])),
        "frames_mean": float(np.mean([d["frames"] for d in done])),
        "delta": cfg.delta,
    }
    if cfg.plots:
        _plot(ctx, cfg, done)
    return Result(metrics=m)


def _rank_corr_mean(orders: list[list[int]]) -> float | None:
    """Mean Spearman correlation between the position at which each stream was encoded and its
    difficulty rank (1: always easiest first), over the seeds that encoded every stream."""
    if not orders:
        return None
    n = len(orders[0])
    pos = np.arange(n)
    return float(np.mean([np.corrcoef(pos, o)[0, 1] for o in orders]))


def _plot(ctx: RunContext, cfg: Config, done: list[dict[str, Any]]) -> None:
    n_learn = len(cfg.amplitudes)
    names = [f"stream a={a:g}" for a in sorted(cfg.amplitudes, reverse=True)] + ["noise"]
    fig, ax = plots.figure(7.0, 4.0)
    for i, d in enumerate(done):
        for r, c in zip(d["order"], d["frozen_chunk"], strict=True):
            ax.scatter(c * cfg.tau, i, color=f"C{r}", s=30,
                       label=names[r] if i == 0 else None)
    plots.finish(fig, ax, ctx.plot_path("learned_order"), xlabel="frames watched",
                 ylabel="seed", title="When each stream was encoded (colour: difficulty rank)",
                 legend_size=8)
    d = done[0]
    t = np.arange(len(d["log_xi"])) * cfg.tau
    fig, _ax = plots.figure(7.0, 5.0)
    fig.clf()
    a1, a2 = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
    ranks = np.array(d["log_stream_rank"])
    xi = np.array(d["log_xi"], dtype=float)
    for r in range(n_learn + 1):
        sel = ranks == r
        a1.scatter(t[sel], np.where(np.isfinite(xi[sel]), xi[sel], np.nan), s=3, color=f"C{r}",
                   label=names[r] if r < n_learn else "noise")
        a2.scatter(t[sel], np.full(sel.sum(), r), s=2, color=f"C{r}")
    a1.axhline(cfg.delta, color="k", lw=0.8, ls="--")
    a1.set_ylabel("estimation error xi")
    a1.set_ylim(0, 2.0)
    a1.legend(fontsize=7, markerscale=3)
    a1.set_title("Seed 0: the current module's error on the watched stream (dashed: delta)")
    a2.set_yticks(range(n_learn + 1), names)
    a2.set_xlabel("frames watched")
    plots.save(fig, ctx.plot_path("seed0_streams"))


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The easiest stream encoded first in more than half the seeds; the noise stream in none;
    frozen abstractions untouched."""
    n = m["seeds"]
    ok = (2 * m["easiest_first_seeds"] > n and m["noise_encoded_seeds"] == 0
          and m["abstractions_unchanged_seeds"] == n)
    return ok, (f"easiest first in {m['easiest_first_seeds']}/{n} seeds, order by difficulty in "
                f"{m['order_matches_difficulty_seeds']}/{n} seeds, all "
                f"learnable streams encoded in {m['all_learned_seeds']}/{n}, noise encoded in "
                f"{m['noise_encoded_seeds']}, abstractions unchanged in "
                f"{m['abstractions_unchanged_seeds']}/{n}")


EXPERIMENT = register(Experiment(
    name="misfa-streams",
    system="CCSA, IncSFA, Curious Dr. MISFA",
    paper="Kompella, Luciw, Stollenga, Pape & Schmidhuber, Curious Dr. MISFA, Frontiers in "
          "Neurorobotics 7:9 (2013); Kompella, Luciw & Schmidhuber, Incremental slow feature "
          "analysis, Neural Computation 24(11):2994-3024 (2012)",
    description="A curiosity-driven stay/switch learner over 20x20 video streams encodes their "
                "slow features with adaptive IncSFA one stream at a time, easiest first, and "
                "never encodes the noise stream.",
    config=Config,
    scales={"quick": Config(seeds=2, max_chunks=700, extra_chunks=50, omega_frames=5000),
            "full": Config()},
    run=run,
    smoke=smoke,
    reference=refs("ccsa", "misfa-streams"),
))
