"""ssa-doors-keys: two SMP agents under SSA learn to cooperate in the doors-and-keys world.

Schmidhuber, Zhao & Schraudolph, "Reinforcement learning with self-modifying policies", Learning
to Learn, Kluwer 1997 (LTL97), section 4; Schmidhuber, Zhao & Wiering, Machine Learning 28 (1997),
section 4.3 (ML97). Paper: "In the beginning, the goal is found only every 300,000 basic cycles.
Within 130,000 trials the average trial length decreases by a factor of 60 (mean of 4
simulations)"; TD(λ) Q-learning variants failed.

Protocol (every number in :class:`Config`):

1. ``runs`` independent lives of two self-modifying policies (:mod:`metahook.machines.smp`) with
   SSA on, in :mod:`metahook.envs.doors_keys`, each for ``trials`` trials (or ``max_cycles``
   basic cycles, whichever comes first). The agents take turns; one basic cycle is one
   instruction of one agent.
2. Baselines, each for ``baseline_cycles`` basic cycles: the same SMPs with SSA off (every
   self-modification stays), and two tabular Q(λ) learners with SSA off and on.
3. Trial length (basic cycles from a trial's start to the goal) is averaged over bins of
   ``curve_bin`` trials for the curve. ``trial_length_first`` is the mean length of a life's
   first ``head_trials`` trials ("in the beginning"), ``trial_length_last`` that of its last
   ``tail_trials``; ``speedup`` is their ratio per run, averaged over the runs (the paper's
   "factor of 60, mean of 4 simulations"). All three are also given per run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.core.ray_pool import check_backend
from metahook.envs import doors_keys as dk
from metahook.harness.api import Experiment, Result, RunContext, plots, register
from metahook.machines.smp.machine import N_EVALS, N_MODS, N_SMS
from metahook.references import refs
from metahook.rsi.doors_keys_life import INSTRUCTIONS, DoorsKeysLife, DoorsKeysParams
from metahook.rsi.lives import run_lives


@dataclass(frozen=True)
class Config(DoorsKeysParams):
    """The protocol's settings; the life's constants (move length, SMP, Q(λ)) are inherited
    from :class:`DoorsKeysParams` (a fresh pair needs ~300,000 cycles per trial at 40 px)."""

    runs: int = 4  # independent simulations with SSA on (the paper's mean of 4)
    trials: int = 130_000  # per run
    max_cycles: int = 10_000_000_000  # budget per run, basic cycles
    baseline_cycles: int = 1_000_000_000  # per baseline run (SSA off; Q(λ) with SSA off / on)
    baseline_runs: int = 1
    curve_bin: int = 1000  # trials per point of the learning curve
    head_trials: int = 100  # "in the beginning": the first trials of a life
    tail_trials: int = 1000  # the end of a life: its last trials
    chunk_cycles: int = 10_000_000  # cycles between progress reports / checkpoint checks
    backend: str = "process"  # or "ray": one Ray task per life, same results

    def validate(self) -> None:
        check_backend(self.backend)
        if self.runs < 1 or self.trials < 1 or self.baseline_runs < 0:
            raise ValueError("runs >= 1, trials >= 1, baseline_runs >= 0 required")
        if self.max_cycles < 1 or self.baseline_cycles < 0 or self.chunk_cycles < 1:
            raise ValueError("max_cycles >= 1, baseline_cycles >= 0, chunk_cycles >= 1 required")
        if not 0.0 < self.step_px < 60.0:
            raise ValueError("step_px must be in (0, 60)")
        if self.ssa_rule not in ("chain", "top"):
            raise ValueError("ssa_rule must be 'chain' or 'top'")
        if self.curve_bin < 1 or self.head_trials < 1 or self.tail_trials < 1:
            raise ValueError("curve_bin, head_trials and tail_trials must be >= 1")
        if not (0 < self.q_alpha <= 1 and 0 <= self.q_gamma <= 1 and 0 <= self.q_lambda <= 1
                and 0 <= self.q_eps <= 1):
            raise ValueError("q_alpha in (0,1], q_gamma, q_lambda, q_eps in [0,1] required")
        self.life_params().smp_params(True).validate(INSTRUCTIONS)

    def life_params(self) -> DoorsKeysParams:
        """The constants of one life (agents, world, learners) in this configuration."""
        return DoorsKeysParams(**{f.name: getattr(self, f.name)
                                  for f in dataclasses.fields(DoorsKeysParams)})


# ---------------------------------------------------------------------------- the protocol
def _phases(cfg: Config) -> list[tuple[str, str, bool, int]]:
    """(name, learner, ssa, run index) for every life of the protocol, in order."""
    phases = [("smp_ssa", "smp", True, r) for r in range(cfg.runs)]
    if cfg.baseline_cycles > 0:
        for r in range(cfg.baseline_runs):
            phases += [("smp_no_ssa", "smp", False, r), ("q_lambda", "q", False, r),
                       ("q_lambda_ssa", "q", True, r)]
    return phases


def _bins(lengths: np.ndarray, size: int) -> np.ndarray:
    n = len(lengths) // size
    return lengths[: n * size].reshape(n, size).mean(axis=1) if n else np.zeros(0)


def run(ctx: RunContext, cfg: Config) -> Result:
    phases = _phases(cfg)

    def step(index: int, lf: DoorsKeysLife) -> bool:
        name, _, _, r = phases[index]
        is_main = name == "smp_ssa"
        budget = cfg.max_cycles if is_main else cfg.baseline_cycles
        max_trials = cfg.trials if is_main else 2**62
        if lf.cycles >= budget or lf.n_trials >= max_trials:
            return False
        lf.advance(min(cfg.chunk_cycles, budget - lf.cycles), max_trials)
        tl = lf.trials[:, 0]
        recent = float(tl[-cfg.curve_bin:].mean()) if len(tl) else float("nan")
        ctx.progress(index + lf.cycles / budget, len(phases),
                     f"{name} run {r}: {lf.n_trials} trials, recent length {recent:.0f}")
        return True

    # one seed per life, drawn once and kept in the checkpoint (a resumed run must not redraw)
    done = run_lives(
        ctx, [f"{name}/{r}" for name, _, _, r in phases],
        make=lambda index, seed: DoorsKeysLife(cfg.life_params(), phases[index][1],
                                               phases[index][2], seed),
        step=step,
        summarise=lambda index, lf: _summarise(ctx, cfg, phases[index][0], phases[index][3], lf),
        backend=cfg.backend)
    return Result(metrics=_metrics(ctx, cfg, done))


def _summarise(ctx: RunContext, cfg: Config, name: str, r: int, lf: DoorsKeysLife
               ) -> dict[str, Any]:
    """Log one finished life's curve and keep what the metrics need."""
    tr = lf.trials
    lengths = tr[:, 0]
    bins = _bins(lengths, cfg.curve_bin)
    for b, mean in enumerate(bins):
        end = (b + 1) * cfg.curve_bin - 1
        ctx.log(int(tr[end, 1]), phase=name, run=r, trials=(b + 1) * cfg.curve_bin,
                trial_length=float(mean), stack_A=int(tr[end, 3]), stack_B=int(tr[end, 4]))
    out: dict[str, Any] = {
        "trials": lf.n_trials,
        "cycles": lf.cycles,
        "bins": bins.tolist(),
        "first": float(lengths[: cfg.head_trials].mean()) if len(lengths) else float("nan"),
        "last": float(lengths[-cfg.tail_trials :].mean()) if len(lengths) else float("nan"),
        "end_cycles": tr[:, 1].tolist() if len(tr) <= 400 else _bins(tr[:, 1], max(
            1, len(tr) // 400)).tolist(),
        "lengths_thin": lengths.tolist() if len(tr) <= 400 else _bins(lengths, max(
            1, len(tr) // 400)).tolist(),
        "wins": [int(lf.istate[dk.WINS]), int(lf.istate[dk.WINS + 1])],
    }
    if lf.learner == "smp":
        g = lf.group
        out.update(
            stack=[g.stack_size(0), g.stack_size(1)],
            surviving_blocks=[int(g.counts[0, 0]), int(g.counts[1, 0])],
            self_modifications=[int(g.iregs[a, N_MODS]) for a in range(2)],
            sms=[int(g.iregs[a, N_SMS]) for a in range(2)],
            ssa_calls=[int(g.iregs[a, N_EVALS]) for a in range(2)],
            time_steps=[int(g.iregs[a, 1]) for a in range(2)],
            stack_curve=tr[cfg.curve_bin - 1 :: cfg.curve_bin, 3:5].tolist(),
        )
    else:
        out.update(stack=[int(lf.counts[a, 0] + lf.counts[a, 1]) for a in range(2)],
                   surviving_blocks=[int(lf.counts[a, 0]) for a in range(2)])
    return out


def _metrics(ctx: RunContext, cfg: Config, done: dict[str, Any]) -> dict[str, Any]:
    main = [done[f"smp_ssa/{r}"] for r in range(cfg.runs)]
    firsts = [m["first"] for m in main]
    lasts = [m["last"] for m in main]
    speedups = [f / la for f, la in zip(firsts, lasts, strict=True) if la == la and la > 0]
    metrics: dict[str, Any] = {
        "trial_length_first": float(np.mean(firsts)),
        "trial_length_last": float(np.mean(lasts)) if all(la == la for la in lasts) else None,
        "speedup": float(np.mean(speedups)) if speedups else None,
        "speedup_per_run": speedups,
        "trial_length_first_per_run": firsts,
        "trial_length_last_per_run": lasts,
        "trials": [m["trials"] for m in main],
        "basic_cycles": [m["cycles"] for m in main],
        "stack_size": float(np.mean([sum(m["stack"]) / 2 for m in main])),
        "surviving_blocks": float(np.mean([sum(m["surviving_blocks"]) / 2 for m in main])),
        "self_modifications": float(np.mean([sum(m["self_modifications"]) / 2 for m in main])),
        "time_steps_per_agent": float(np.mean([sum(m["time_steps"]) / 2 for m in main])),
        "wins_A_B": [sum(m["wins"][0] for m in main), sum(m["wins"][1] for m in main)],
    }
    for name in ("smp_no_ssa", "q_lambda", "q_lambda_ssa"):
        runs = [done[k] for k in done if k.startswith(name + "/")]
        if not runs:
            continue
        metrics[f"{name}_trials"] = [b["trials"] for b in runs]
        metrics[f"{name}_cycles"] = [b["cycles"] for b in runs]
        firsts_b = [b["first"] for b in runs if b["trials"]]
        lasts_b = [b["last"] for b in runs if b["last"] == b["last"]]
        metrics[f"{name}_trial_length_first"] = float(np.mean(firsts_b)) if firsts_b else None
        metrics[f"{name}_trial_length_last"] = float(np.mean(lasts_b)) if lasts_b else None
        # mean trial length over its whole budget: cycles per finished trial
        metrics[f"{name}_cycles_per_trial"] = float(
            np.sum([b["cycles"] for b in runs]) / max(1, np.sum([b["trials"] for b in runs])))
    _plot(ctx, cfg, done)
    return metrics


def _plot(ctx: RunContext, cfg: Config, done: dict[str, Any]) -> None:
    fig, ax = plots.figure()
    for r in range(cfg.runs):
        bins = done[f"smp_ssa/{r}"]["bins"]
        if bins:
            x = cfg.curve_bin * (np.arange(len(bins)) + 1)
            ax.plot(x, bins, lw=1, label=f"SMP + SSA, run {r}")
    ax.axhline(300_000, color="grey", ls=":", lw=1, label="paper: 300,000 at first")
    ax.axhline(300_000 / 60, color="grey", ls="--", lw=1, label="paper: 300,000 / 60")
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"mean trial length (basic cycles, bins of {cfg.curve_bin})")
    ax.legend(fontsize=7)
    plots.save(fig, ctx.plot_path("trial_length"))

    fig, ax = plots.figure()
    styles = {"smp_ssa": "-", "smp_no_ssa": "--", "q_lambda": ":", "q_lambda_ssa": "-."}
    for key, d in done.items():
        name = key.split("/")[0]
        if d["lengths_thin"]:
            ax.plot(d["end_cycles"], d["lengths_thin"], styles.get(name, "-"), lw=1,
                    label=key.replace("/", " run "))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("basic cycles since birth")
    ax.set_ylabel("trial length (basic cycles)")
    ax.legend(fontsize=7)
    plots.save(fig, ctx.plot_path("trial_length_vs_cycles"))

    fig, ax = plots.figure()
    for r in range(cfg.runs):
        sc = np.array(done[f"smp_ssa/{r}"].get("stack_curve", []))
        if len(sc):
            x = cfg.curve_bin * (np.arange(len(sc)) + 1)
            ax.plot(x, sc[:, 0], lw=1, label=f"run {r}, agent A")
            ax.plot(x, sc[:, 1], lw=1, ls="--", label=f"run {r}, agent B")
    ax.set_xlabel("trial")
    ax.set_ylabel("SSA stack size (tags + saved cells)")
    ax.legend(fontsize=7)
    plots.save(fig, ctx.plot_path("stack_size"))


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """Smoke only (the speed-up needs ~10^9 cycles, the quick life has 10^8): the SMPs under SSA
    finish many trials at the paper's starting length, modify themselves and keep some blocks;
    every baseline reaches the goal."""
    trials, mods = min(m["trials"]), m["self_modifications"]
    blocks, first = m["surviving_blocks"], m["trial_length_first"]
    base = {b: min(m[f"{b}_trials"]) for b in ("smp_no_ssa", "q_lambda", "q_lambda_ssa")}
    ok = (trials >= 200 and mods > 50 and blocks >= 1 and 100_000 < first < 1_000_000
          and all(t >= 1 for t in base.values()))
    return ok, (f"smoke only: the speed-up needs ~10^9 cycles; {trials} trials >= 200, "
                f"{mods:.0f} self-modifications > 50, {blocks:g} blocks kept >= 1, first trials "
                f"{first:,.0f} cycles in (10^5, 10^6), baseline trials "
                f"{'/'.join(map(str, base.values()))} >= 1")


EXPERIMENT = register(
    Experiment(
        name="ssa-doors-keys",
        system="success-story algorithm, self-modifying policies",
        paper="Schmidhuber, Zhao & Schraudolph, Reinforcement learning with self-modifying "
              "policies, Learning to Learn, Kluwer 1997; Schmidhuber, Zhao & Wiering, Machine "
              "Learning 28:105-130, 1997 (sec. 4.3)",
        description="Two SMP agents under SSA learn to fetch keys, open doors and reach the goal; "
                    "baselines: SSA off, Q(lambda).",
        config=Config,
        scales={
            "quick": Config(runs=1, trials=3000, max_cycles=100_000_000,
                            baseline_cycles=6_000_000, curve_bin=100, head_trials=50,
                            tail_trials=200, chunk_cycles=5_000_000),
            "full": Config(),
        },
        run=run,
        smoke=smoke,
        reference=refs("ssa", "ssa-doors-keys"),
    )
)
