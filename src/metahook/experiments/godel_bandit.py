"""godel-bandit: a Gödel machine that rewrites its own policy and proof searcher only with a proof.

The machine (``metahook.rsi.godel``) lives T cycles in a Bernoulli bandit whose means it knows
(environment axioms). It starts with a poor policy (always pull arm 0) and a naive bias-optimal
proof searcher that spends σ cycles per pull testing proof techniques in Levin's order. A switch
happens only when ``check()`` finds a target theorem ``U1@t1 − U0@t1 > 0`` (derived by the kernel,
with z3 finding the linear-arithmetic step) whose hypotheses hold at t1. Every switch is audited
exactly outside the machine: ``false_switches`` counts switches with u[s(t1)⊕1] ≤ u[s(t1)⊕0].

Two parts:

1. **A life** of T cycles: lifetime reward of the machine beside the unmodified machine (the same
   p(1), switching disabled), the initial policy alone (no search) and an oracle (the best arm from
   cycle 0); switches, false switches, the time of each rewrite, proof-search cycles, and what
   happened to the deliberately wrong techniques (true theorems about a passed t1, a proof about a
   switchprog that was then replaced, a target asked of the environment axioms alone).
2. **Late in life**: lives whose end falls just after the time t1 at which the machine can first
   prove the good rewrite. For each, the exact gain of the machine over the unmodified machine,
   and the exact gain of a rewriter that switches to the same program at the same t1 without a
   proof. When too little life is left to recoup the rewrite's cost (the proof search having used
   up the time), the proof-less switch loses and the Gödel machine declines.

Cost measure: machine cycles (the paper's time steps); wall-clock time beside it.

Both parts are sweeps of :func:`run_jobs`; a job is a pair of lives in one world (the Gödel machine
and the unmodified machine), advanced ``CHUNK_CYCLES`` cycles at a time and checkpointed inside.
The second sweep's worlds depend on the first life's switch time, so the two sweeps run one after
the other, each keeping its ``run_jobs`` state under its own key of the run's checkpoint
(:class:`metahook.core.sweep.Stage`), beside the lives' seeds drawn once at the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from metahook.harness.api import Experiment, Result, RunContext, Stage, plots, register, run_jobs
from metahook.references import refs
from metahook.rsi.godel import isa
from metahook.rsi.godel.isa import Costs
from metahook.rsi.godel.machine import Life, Machine, Setup, fixed_policy_reward, live

CHUNK_CYCLES = 20_000  # machine cycles a life advances between two checkpoints


@dataclass(frozen=True)
class Config:
    means: tuple[float, ...] = (0.1, 0.3, 0.5, 0.6, 0.4, 0.9)  # arm 0 is the initial policy
    T: int = 200_000                 # lifetime in cycles
    sigma: int = 50                  # proof-search cycles per pull in p(1)
    pull_cost: int = 10              # cycles per pull
    write_cost: int = 300            # cycles per switchprog instruction
    lin_cost: int = 400              # cycles of apply-rule's linear-arithmetic rule (the prover)
    proof_cost: int = 50             # cycles of get-axiom, state2theorem, check, other rules
    searcher: int = 0                # 0: naive prior (arm k weighted 2^-k); 1: uniform
    sweep_lives: int = 4             # lives ending just after the good proof's t1
    sweep_span: int = 1600           # remaining cycles after t1 covered by the sweep
    seeds: int = 1                   # independent repetitions of the first part

    def validate(self) -> None:
        if len(self.means) < 2 or any(not 0 <= m <= 1 for m in self.means):
            raise ValueError("means: at least two probabilities in [0, 1]")
        for name in ("T", "pull_cost", "write_cost", "lin_cost", "proof_cost", "seeds"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.sigma < 0 or self.sweep_lives < 0 or self.sweep_span < 1:
            raise ValueError("sigma, sweep_lives must be >= 0 and sweep_span >= 1")
        if self.searcher not in (0, 1):
            raise ValueError("searcher must be 0 (naive) or 1 (uniform)")

    def setup(self, T: int | None = None) -> Setup:
        costs = Costs(pull=self.pull_cost, write=self.write_cost, lin_base=self.lin_cost,
                      axiom=self.proof_cost, rule=self.proof_cost, s2t=self.proof_cost,
                      check=self.proof_cost)
        means = tuple(Fraction(str(m)) for m in self.means)
        return Setup(means=means, T=self.T if T is None else T, costs=costs, policy=(0,),
                     sigma=self.sigma, searcher=(self.searcher,))


def _best_rewrite(setup: Setup) -> tuple[int, ...]:
    best = max(range(len(setup.means)), key=lambda k: setup.means[k])
    return (isa.SETPOL, best, isa.SETSIG, 0)


def _summary(life: Life, unmod: Life, setup: Setup) -> dict[str, Any]:
    st = life.hardware.stats
    return {
        "reward": float(life.expected_reward),
        "reward_realized": life.reward,
        "reward_unmodified_machine": float(unmod.expected_reward),
        "switches": len(life.switches),
        "false_switches": life.false_switches,
        "switch_times": [s["t1"] for s in life.switches],
        "switchprogs": [s["switchprog"] for s in life.switches],
        "u1_exact": [float(s["u1_exact"]) for s in life.switches],
        "u0_exact": [float(s["u0_exact"]) for s in life.switches],
        "u1_lower": [float(s.get("u1_lower", float("nan"))) for s in life.switches],
        "u0_upper": [float(s.get("u0_upper", float("nan"))) for s in life.switches],
        "proof_search_cycles": st.search_cycles,
        "techniques_run": st.techniques_run,
        "targets_proven": st.targets_proven,
        "unprovable_targets": st.halts.get("no proof found", 0),
        "rejected_too_late": st.check_failures.get("too late for t1", 0),
        "rejected_state_changed": st.check_failures.get("state changed since the snapshot", 0),
        "kernel_rejections": st.kernel_rejections,
        "z3_calls": st.prover.calls,
        "z3_rlimit": st.prover.rlimit,
    }


def _forced_gain(unmod: Life, setup: Setup, rewrite: tuple[int, ...]) -> tuple[int | None, float]:
    """t1 of the good rewrite's proof attempt in the unmodified life, and the exact gain of
    switching to it at t1 without a proof (0 if no attempt happened before T)."""
    names = [t.name for t in unmod.hardware.techniques if t.candidate == rewrite
             and t.tactic == "direct"]
    attempts = [a for a in unmod.hardware.stats.attempts if a["technique"] in names]
    if not attempts or attempts[0]["t1"] >= setup.T:
        return None, 0.0
    t1 = attempts[0]["t1"]
    times, arms, _ = unmod.hardware.pulls()
    counts = np.bincount(arms[times <= t1], minlength=len(setup.means))
    before = unmod.hardware.expected_reward(counts)
    c_x = setup.costs.write * (len(rewrite) // 2)
    after = max(setup.means) * max(0, (setup.T - t1 - c_x) // setup.costs.pull)
    return t1, float(before + after - unmod.expected_reward)


class _Pair:
    """A job: the Gödel machine's life in one world and the unmodified machine's (expected mode,
    switching disabled), one after the other, ``CHUNK_CYCLES`` cycles per step."""

    def __init__(self, setup: Setup, seed: int) -> None:
        self.gm = Machine(setup, np.random.default_rng(seed))
        self.unmod = Machine(setup, None, audit=False, allow_switch=False)
        self.span = setup.T - setup.start_time

    def step(self) -> bool:
        """Advance one chunk; False once both lives have reached T."""
        for m in (self.gm, self.unmod):
            if not m.finished:
                m.advance(CHUNK_CYCLES)
                break
        return not self.unmod.finished

    @property
    def done_fraction(self) -> float:
        start = self.gm.setup.start_time
        return (self.gm.time + self.unmod.time - 2 * start) / (2 * max(self.span, 1))

    def state_dict(self) -> dict[str, Any]:
        return {"gm": self.gm.state_dict(), "unmod": self.unmod.state_dict()}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.gm.load_state_dict(st["gm"])
        self.unmod.load_state_dict(st["unmod"])


def run(ctx: RunContext, cfg: Config) -> Result:
    saved = ctx.restore() or {"seeds": [int(s) for s in ctx.rng.integers(
        0, 2**31, cfg.seeds + cfg.sweep_lives)]}
    seeds = saved["seeds"]
    setup = cfg.setup()
    rewrite = _best_rewrite(setup)
    total = cfg.seeds + cfg.sweep_lives
    curve: dict[str, Any] = {}

    def step_life(i: int, pair: _Pair) -> bool:
        going = pair.step()
        ctx.progress(i + pair.done_fraction, total, "lives")
        return going

    def summarise_life(i: int, pair: _Pair) -> dict[str, Any]:
        life, unmod = pair.gm.life(), pair.unmod.life()
        summary = _summary(life, unmod, setup)
        ctx.log(i, **{k: v for k, v in summary.items() if not isinstance(v, list)})
        if i == 0:
            curve.update(gm=life.hardware.pulls(), unmod=unmod.hardware.pulls())
        return summary

    lives = list(run_jobs(Stage(ctx, saved, "lives"), [f"life {i}" for i in range(cfg.seeds)],
                          lambda i, _: _Pair(setup, seeds[i]), step_life,
                          summarise_life).values())

    first = lives[0]
    t1_star = first["switch_times"][0] if first["switch_times"] else None
    sweep_setups = [] if t1_star is None else [
        cfg.setup(t1_star + int(cfg.sweep_span * (j + 0.5) / cfg.sweep_lives))
        for j in range(cfg.sweep_lives)]

    def step_late(j: int, pair: _Pair) -> bool:
        going = pair.step()
        ctx.progress(cfg.seeds + j + pair.done_fraction, total, "late-life sweep")
        return going

    def summarise_late(j: int, pair: _Pair) -> dict[str, Any]:
        s = sweep_setups[j]
        life, unmod = pair.gm.life(), pair.unmod.life()
        t1, forced = _forced_gain(unmod, s, rewrite)
        assert t1_star is not None
        row = {"T": s.T, "rest": s.T - t1_star, "t1": t1, "switched": len(life.switches) > 0,
               "false_switches": life.false_switches,
               "gain_gm": float(life.expected_reward - unmod.expected_reward),
               "gain_forced": forced}
        ctx.log(cfg.seeds + j, **{f"sweep_{k}": v for k, v in row.items()})
        return row

    sweep = list(run_jobs(Stage(ctx, saved, "sweep"),
                          [f"late {j}" for j in range(len(sweep_setups))],
                          lambda j, _: _Pair(sweep_setups[j], seeds[cfg.seeds + j]), step_late,
                          summarise_late).values())

    oracle = float(fixed_policy_reward(setup, (max(range(len(setup.means)),
                                                   key=lambda k: setup.means[k]),)))
    initial = float(fixed_policy_reward(setup, setup.policy))
    metrics: dict[str, Any] = {
        "lifetime_reward": float(np.mean([x["reward"] for x in lives])),
        "lifetime_reward_realized": float(np.mean([x["reward_realized"] for x in lives])),
        "unmodified_machine_reward": float(np.mean([x["reward_unmodified_machine"]
                                                    for x in lives])),
        "initial_policy_reward": initial,
        "oracle_reward": oracle,
        "fraction_of_oracle": float(np.mean([x["reward"] for x in lives])) / oracle,
        "switches": int(sum(x["switches"] for x in lives)),
        "false_switches": int(sum(x["false_switches"] for x in lives)
                              + sum(r["false_switches"] for r in sweep)),
        "switch_times": lives[0]["switch_times"],
        "switchprogs": lives[0]["switchprogs"],
        "proof_search_cycles": int(np.mean([x["proof_search_cycles"] for x in lives])),
        "techniques_run": int(np.mean([x["techniques_run"] for x in lives])),
        "targets_proven": int(sum(x["targets_proven"] for x in lives)),
        "unprovable_targets": int(sum(x["unprovable_targets"] for x in lives)),
        "true_targets_rejected_too_late": int(sum(x["rejected_too_late"] for x in lives)),
        "targets_rejected_switchprog_replaced": int(sum(x["rejected_state_changed"]
                                                        for x in lives)),
        "kernel_rejections": int(sum(x["kernel_rejections"] for x in lives)),
        "z3_calls": int(sum(x["z3_calls"] for x in lives)),
        "u1_exact_vs_lower": [lives[0]["u1_exact"], lives[0]["u1_lower"]],
        "u0_exact_vs_upper": [lives[0]["u0_exact"], lives[0]["u0_upper"]],
        "lifetime_cycles": cfg.T,
    }
    if sweep:
        metrics.update({
            "sweep_rest": [r["rest"] for r in sweep],
            "sweep_switched": [r["switched"] for r in sweep],
            "sweep_gain_gm": [r["gain_gm"] for r in sweep],
            "sweep_gain_forced": [r["gain_forced"] for r in sweep],
            "late_declines_of_losing_rewrites": sum(1 for r in sweep if not r["switched"]
                                                    and r["gain_forced"] <= 0),
            "late_switches_that_lose": sum(1 for r in sweep if r["switched"]
                                           and r["gain_forced"] <= 0),
            "late_declines_of_unprovable_gains": sum(1 for r in sweep if not r["switched"]
                                                     and r["gain_forced"] > 0),
            "min_gain_over_unmodified": min(r["gain_gm"] for r in sweep),
        })
    if not curve:  # resumed after the first life: replay it (deterministic) for the plot
        curve = {"gm": live(setup, np.random.default_rng(seeds[0]),
                            audit=False).hardware.pulls(),
                 "unmod": live(setup, None, audit=False, allow_switch=False).hardware.pulls()}
    _plot_life(ctx, cfg, setup, curve, lives[0], oracle)
    if sweep:
        _plot_sweep(ctx, sweep)
    return Result(metrics=metrics)


def _plot_life(ctx: RunContext, cfg: Config, setup: Setup, curve: dict[str, Any],
               first: dict[str, Any], oracle: float) -> None:
    means = np.array([float(m) for m in setup.means])
    fig, ax = plots.figure(7, 4.2)
    for key, label in (("gm", "Gödel machine"), ("unmod", "unmodified machine (no switch)")):
        times, arms, _ = curve[key]
        ax.plot(np.concatenate([[0], times]), np.concatenate([[0], np.cumsum(means[arms])]),
                label=label)
    t = np.array([0, cfg.T])
    ax.plot(t, t // cfg.pull_cost * means[0], ":", label="initial policy, no search")
    ax.plot(t, t // cfg.pull_cost * means.max(), "--", label="oracle (best arm from t=0)")
    for t1 in first["switch_times"]:
        ax.axvline(t1, color="k", lw=0.8)
        ax.annotate(" switch", (t1, 0.9 * oracle), fontsize=8)
    ax.set_xlabel("cycle")
    ax.set_ylabel("expected reward collected")
    ax.set_title("godel-bandit: one life")
    ax.legend(fontsize=8)
    plots.save(fig, ctx.plot_path("life"))


def _plot_sweep(ctx: RunContext, sweep: list[dict[str, Any]]) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    rest = np.array([r["rest"] for r in sweep])
    forced = np.array([r["gain_forced"] for r in sweep])
    gm = np.array([r["gain_gm"] for r in sweep])
    switched = np.array([r["switched"] for r in sweep])
    first = int(rest[np.argmax(switched)]) if switched.any() else int(rest.max())
    near = rest <= first + 200
    for ax, mask, title in ((axes[0], rest >= 0, "all lives"),
                            (axes[1], near, "zoom: the last cycles")):
        ax.axhline(0, color="k", lw=0.8)
        ax.plot(rest[mask], forced[mask], "s--", color="tab:red", ms=4,
                label="switch at t1 without a proof")
        ax.plot(rest[mask], gm[mask], "-", color="tab:blue", lw=1)
        ax.plot(rest[mask & switched], gm[mask & switched], "o", color="tab:blue",
                label="Gödel machine: switched")
        ax.plot(rest[mask & ~switched], gm[mask & ~switched], "x", color="k", ms=8,
                label="Gödel machine: declined")
        ax.set_xlabel("cycles of life left after t1 (T − t1)")
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel("exact gain over the unmodified machine")
    declined = forced[~switched]
    top = max(2.0, 1.5 * float(declined.max())) if declined.size else 2.0
    axes[1].set_ylim(min(float(forced[near].min()), 0.0) - 0.5, top)
    axes[0].legend(fontsize=8)
    fig.suptitle("late in life: rewrites that cannot pay off are declined", fontsize=11)
    plots.save(fig, ctx.plot_path("late_life"))


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The headline: one provable self-rewrite and no false switch."""
    switches, false = m["switches"], m["false_switches"]
    return switches == 1 and false == 0, (f"{switches} provable self-rewrite (= 1), {false} false "
                                          f"switches (= 0)")


EXPERIMENT = register(
    Experiment(
        name="godel-bandit",
        system="Gödel machine",
        paper="Schmidhuber, Gödel machines: self-referential universal problem solvers making "
              "provably optimal self-improvements, TR IDSIA-19-03 / arXiv cs/0309048 (2003); "
              "Cognitive Computation 1(2):177-193 (2009)",
        description="A Gödel machine on a known bandit: proof-based self-rewrites (z3 + kernel), "
                    "exact audit of every switch, late-life declines.",
        config=Config,
        scales={
            "quick": Config(),
            "full": Config(means=(0.1, 0.3, 0.5, 0.6, 0.4, 0.55, 0.2, 0.7, 0.35, 0.9),
                           T=1_000_000, sweep_lives=24, sweep_span=3600, seeds=5),
        },
        run=run,
        smoke=smoke,
        reference=refs("godel", "godel-bandit"),
    )
)
