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

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from metahook.core.ssa_stack import N_COUNTS
from metahook.envs import doors_keys as dk
from metahook.harness import plots
from metahook.harness.context import RunContext
from metahook.harness.registry import Experiment, Result, register
from metahook.machines.smp import EnvInstruction, InstructionSet, SMPGroup, SMPParams
from metahook.machines.smp.machine import N_EVALS, N_MODS, N_SMS
from metahook.references import refs
from metahook.rsi import doors_keys_life as life
from metahook.rsi.lives import run_lives

GENERAL = ("JumpHome", "Jump", "IncProb", "DecProb", "MoveDist", "EndSelfMod", "PrepEval")
ENV_INSTRUCTIONS = tuple(
    EnvInstruction(n, a, i) for i, (n, a) in enumerate(zip(dk.ACTION_NAMES, dk.ACTION_ARITY,
                                                            strict=True))
)
INSTRUCTIONS = InstructionSet(GENERAL, ENV_INSTRUCTIONS)
TRIAL_COLUMNS = ("length", "end_cycle", "winner", "stack_A", "stack_B", "time_A", "time_B",
                 "R_A", "R_B")
_U_BLOCK = 1 << 18


@dataclass(frozen=True)
class Config:
    runs: int = 4  # independent simulations with SSA on (the paper's mean of 4)
    trials: int = 130_000  # per run
    max_cycles: int = 10_000_000_000  # budget per run, basic cycles
    baseline_cycles: int = 1_000_000_000  # per baseline run (SSA off; Q(λ) with SSA off / on)
    baseline_runs: int = 1
    step_px: float = 40.0  # one Move, pixels (a fresh pair needs ~300,000 cycles per trial)
    n_cells: int = 64  # program cells per agent (16 instruction slots of 4 cells)
    lam: float = 0.3  # λ of IncProb / DecProb
    minp: float = 0.004  # MinP
    eval_delay: int = 1  # goal events between an SMS's end and its SSA call (EndSelfMod)
    prepeval_unit: int = 1  # PrepEval(a1) waits 1 + a1 * prepeval_unit goal events
    sms_max_steps: int = 100_000  # an SMS open longer is closed (time steps)
    eval_max_steps: int = 2_000_000  # an evaluation waits at most this long for goal events
    # (time steps of the agent's own clock: ~2 per instruction, ~7 trials of a fresh pair)
    penalty_events: bool = False  # move/turn penalties count as reward events (else goals only)
    ssa_rule: Literal["chain", "top"] = "chain"  # pop until the whole SSC holds / ML97's SSA.2
    q_alpha: float = 0.1
    q_gamma: float = 0.99
    q_lambda: float = 0.9
    q_eps: float = 0.1
    curve_bin: int = 1000  # trials per point of the learning curve
    head_trials: int = 100  # "in the beginning": the first trials of a life
    tail_trials: int = 1000  # the end of a life: its last trials
    chunk_cycles: int = 10_000_000  # cycles between progress reports / checkpoint checks

    def validate(self) -> None:
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
        self.smp_params(True).validate(INSTRUCTIONS)

    def smp_params(self, ssa: bool) -> SMPParams:
        return SMPParams(n_cells=self.n_cells, n_work=0, lam=self.lam, minp=self.minp,
                         eval_delay=self.eval_delay, prepeval_unit=self.prepeval_unit,
                         sms_max_steps=self.sms_max_steps, eval_max_steps=self.eval_max_steps,
                         ssa=ssa, ssa_top_only=self.ssa_rule == "top")


# ---------------------------------------------------------------------------- one life
class Life:
    """One simulation: two learners (SMPs, or Q(λ) tables), the world, the random stream."""

    def __init__(self, cfg: Config, learner: str, ssa: bool, seed: int) -> None:
        self.cfg, self.learner, self.ssa = cfg, learner, ssa
        self.rng = np.random.default_rng(seed)
        self.u = self.rng.random(_U_BLOCK)
        self.upos = np.zeros(1, dtype=np.int64)
        self.fstate = np.zeros(dk.N_FSTATE)
        self.istate = np.zeros(dk.N_ISTATE, dtype=np.int64)
        self.dr = np.zeros(life.N_DR, dtype=np.int64)
        self.trials = np.zeros((0, len(TRIAL_COLUMNS)))
        self._buf = np.zeros((4096, len(TRIAL_COLUMNS)))
        self._si = np.zeros(16, dtype=np.int64)
        self._sf = np.zeros(8)
        if learner == "smp":
            self.group = SMPGroup(INSTRUCTIONS, cfg.smp_params(ssa), 2)
        else:
            n_s, n_a = 32, life.Q_ACTIONS.shape[0]
            self.Q = np.zeros((2, n_s, n_a))
            self.E = np.zeros((2, n_s, n_a))
            self.qr = np.zeros((2, life.N_QR), dtype=np.int64)
            self.qf = np.zeros((2, 2))
            self.qparams = np.array([cfg.q_alpha, cfg.q_gamma, cfg.q_lambda, cfg.q_eps])
            self.tags = np.zeros((2, 256, 4))
            self.entries = np.zeros((2, 4096, 1 + n_a))
            self.mark = np.full((2, n_s), -1, dtype=np.int64)
            self.counts = np.zeros((2, N_COUNTS), dtype=np.int64)

    @property
    def cycles(self) -> int:
        return int(self.dr[life.DR_CYCLE])

    @property
    def n_trials(self) -> int:
        return int(self.trials.shape[0])

    def advance(self, target_cycles: int, max_trials: int) -> None:
        """Run until ``target_cycles`` basic cycles or ``max_trials`` trials in all."""
        while self.cycles < target_cycles and self.n_trials < max_trials:
            room = max_trials - self.n_trials
            out = self._buf[: min(room, self._buf.shape[0])]
            self.dr[life.DR_N_OUT] = 0
            status = self._run(out, target_cycles)
            n = int(self.dr[life.DR_N_OUT])
            if n:
                self.trials = np.concatenate([self.trials, out[:n]])
            if status == life.NEED_RANDOM:
                self.u = self.rng.random(_U_BLOCK)
                self.upos[0] = 0
            elif status == life.STACK_FULL:
                self._grow()

    def _run(self, out: np.ndarray, target: int) -> int:
        c = self.cfg
        if self.learner == "smp":
            g = self.group
            return int(life.doors_keys_cycles(
                g.P, g.c, g.iregs, g.fregs, g.kind, g.arity, g.env_id, g.iparams, g.fparams,
                g.tags, g.entries, g.mark, g.counts, self.u, self.upos, self.fstate, self.istate,
                c.step_px, dk.WALLS, dk.DOORS, dk.KEYS, dk.GOAL, self.dr, out, target,
                c.penalty_events, self._si, self._sf))
        return int(life.q_doors_keys_cycles(
            self.Q, self.E, self.qr, self.qf, self.qparams, self.ssa, self.tags, self.entries,
            self.mark, self.counts, self.u, self.upos, self.fstate, self.istate, c.step_px,
            dk.WALLS, dk.DOORS, dk.KEYS, dk.GOAL, self.dr, out, target, self._si, self._sf))

    def _grow(self) -> None:
        if self.learner == "smp":
            self.group.grow()
            return
        t = np.zeros((2, 2 * self.tags.shape[1], 4))
        t[:, : self.tags.shape[1]] = self.tags
        e = np.zeros((2, 2 * self.entries.shape[1], self.entries.shape[2]))
        e[:, : self.entries.shape[1]] = self.entries
        self.tags, self.entries = t, e

    # ------------------------------------------------------------------ stack inspection
    def stack_tags(self, a: int) -> np.ndarray:
        tags, counts = (self.group.tags, self.group.counts) if self.learner == "smp" else (
            self.tags, self.counts)
        return tags[a, : counts[a, 0], :2].copy()

    def now(self, a: int) -> tuple[float, float]:
        """(time, R) of agent ``a``."""
        if self.learner == "smp":
            return float(self.group.iregs[a, 1]), float(self.group.fregs[a, 0])
        return float(self.qr[a, life.QR_TIME]), float(self.qf[a, 0])

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        s: dict[str, Any] = {
            "rng": self.rng.bit_generator.state, "u": self.u, "upos": self.upos,
            "fstate": self.fstate, "istate": self.istate, "dr": self.dr, "trials": self.trials,
        }
        if self.learner == "smp":
            s["group"] = self.group.state_dict()
        else:
            n_t = int(self.counts[:, 0].max(initial=0))
            n_e = int(self.counts[:, 1].max(initial=0))
            s.update(Q=self.Q, E=self.E, qr=self.qr, qf=self.qf, tags=self.tags[:, :n_t],
                     entries=self.entries[:, :n_e], mark=self.mark, counts=self.counts)
        return s

    def load_state_dict(self, s: dict[str, Any]) -> None:
        self.rng.bit_generator.state = _rng_state(s["rng"])
        self.u = np.asarray(s["u"], dtype=np.float64)
        self.upos = np.asarray(s["upos"], dtype=np.int64)
        self.fstate = np.asarray(s["fstate"], dtype=np.float64)
        self.istate = np.asarray(s["istate"], dtype=np.int64)
        self.dr = np.asarray(s["dr"], dtype=np.int64)
        self.trials = np.asarray(s["trials"], dtype=np.float64).reshape(-1, len(TRIAL_COLUMNS))
        if self.learner == "smp":
            self.group.load_state_dict(s["group"])
            return
        self.Q = np.asarray(s["Q"], dtype=np.float64)
        self.E = np.asarray(s["E"], dtype=np.float64)
        self.qr = np.asarray(s["qr"], dtype=np.int64)
        self.qf = np.asarray(s["qf"], dtype=np.float64)
        self.mark = np.asarray(s["mark"], dtype=np.int64)
        self.counts = np.asarray(s["counts"], dtype=np.int64)
        tags = np.asarray(s["tags"], dtype=np.float64)
        entries = np.asarray(s["entries"], dtype=np.float64)
        self.tags = np.zeros((2, max(256, 2 * tags.shape[1]), 4))
        self.tags[:, : tags.shape[1]] = tags
        self.entries = np.zeros((2, max(4096, 2 * entries.shape[1]), entries.shape[2]))
        self.entries[:, : entries.shape[1]] = entries


def _rng_state(state: dict[str, Any]) -> dict[str, Any]:
    """A bit generator state read back from a checkpoint (numbers may come back as floats)."""
    out = dict(state)
    out["state"] = {k: int(v) for k, v in state["state"].items()}
    out["has_uint32"] = int(state["has_uint32"])
    out["uinteger"] = int(state["uinteger"])
    return out


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

    def step(index: int, lf: Life) -> bool:
        name, _, _, r = phases[index]
        is_main = name == "smp_ssa"
        budget = cfg.max_cycles if is_main else cfg.baseline_cycles
        max_trials = cfg.trials if is_main else 2**62
        if lf.cycles >= budget or lf.n_trials >= max_trials:
            return False
        lf.advance(min(budget, lf.cycles + cfg.chunk_cycles), max_trials)
        tl = lf.trials[:, 0]
        recent = float(tl[-cfg.curve_bin:].mean()) if len(tl) else float("nan")
        ctx.progress(index + lf.cycles / budget, len(phases),
                     f"{name} run {r}: {lf.n_trials} trials, recent length {recent:.0f}")
        return True

    # one seed per life, drawn once and kept in the checkpoint (a resumed run must not redraw)
    done = run_lives(
        ctx, [f"{name}/{r}" for name, _, _, r in phases],
        make=lambda index, seed: Life(cfg, phases[index][1], phases[index][2], seed), step=step,
        summarise=lambda index, lf: _summarise(ctx, cfg, phases[index][0], phases[index][3], lf))
    return Result(metrics=_metrics(ctx, cfg, done))


def _summarise(ctx: RunContext, cfg: Config, name: str, r: int, lf: Life) -> dict[str, Any]:
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
        reference=refs("ssa", "ssa-doors-keys"),
    )
)
