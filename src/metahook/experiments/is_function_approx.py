"""is-function-approx: incremental self-improvement learns f1..f5 in turn (ML97 experiment 3).

Schmidhuber, Zhao & Wiering, "Shifting inductive bias with success-story algorithm, adaptive
Levin search, and incremental self-improvement", Machine Learning 28:105-130 (1997), section 4.2.

One SMP (:mod:`metahook.machines.smp`) with the paper's instructions Add, Sub, Mul, Mov, IncProb,
EndSelfMod and JumpHome (4 cells per instruction) lives through the curriculum of
:mod:`metahook.envs.functions_curriculum`: inputs in work cells 0..2, the answer in cell 6, the
trial ends when it is right to 0.0001. SSA is called after the 5th reward event that follows the
end of a self-modification sequence [paper]. Baseline: the same SMP with SSA off.

Reported: how far the curriculum got (``curriculum_ptr``: the function it poses, 1..5, with the
next one mixed in), the time steps at which each function became the curriculum's main one, the
trial lengths at the start and end of life and per function, how much faster f1 is solved at the
end than at the start (``f1_speedup``), and the stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metahook.core.ray_pool import check_backend
from metahook.envs.functions_curriculum import INTAKE_THRESHOLD, N_FUNCTIONS, SOLVED_REWARD
from metahook.harness.api import Experiment, Result, RunContext, plots, register
from metahook.machines.smp import SMPParams
from metahook.machines.smp.machine import N_EVALS, N_FORCED, N_INVALID, N_MODS, N_REFUSED, N_SMS
from metahook.references import refs
from metahook.rsi.function_life import (
    INSTRUCTIONS,
    LOOP_C,
    FunctionCurriculumLife,
    best_reachable_pmax,
    frozen_stage_steps,
    policy_for,
    stage_program,
)
from metahook.rsi.lives import run_lives


@dataclass(frozen=True)
class Config:
    runs: int = 3  # independent lives with SSA on
    time_steps: int = 5_000_000_000  # per life (the machine's own time)
    baseline_time_steps: int = 500_000_000  # the SSA-off life
    n_cells: int = 20  # m program cells: 5 instruction slots of 4 cells, one per function
    n_work: int = 7  # work cells 0..6 (arguments address 0..n_ops-1 = 0..6)
    lam: float = 0.3  # IncProb's λ
    minp: float = 0.004  # MinP
    eval_delay: int = 5  # SSA after the 5th reward event following an SMS [paper]
    sms_max_steps: int = 10_000
    eval_max_steps: int = 10_000_000
    head_trials: int = 100
    tail_trials: int = 1000
    chunk_steps: int = 20_000_000
    backend: str = "process"  # or "ray": one Ray task per life, same results
    reward: float = SOLVED_REWARD  # a solved trial's reward (the paper's value was lost)
    intake_threshold: float = INTAKE_THRESHOLD  # c falls when 2 trials' reward/step exceeds it
    # diagnostic, not the paper's: the SMP (and so SSA) receives k x reward for solving f_k,
    # so that a harder function's best reward per time step equals an easier one's
    reward_by_function: bool = False
    ssa_rule: str = "chain"  # pop until the whole SSC holds, or "top": ML97's SSA.2 (top pair)
    # the curriculum's ceiling: frozen policies giving each cell of the stage's shortest program
    # this probability (besides the highest IncProb can reach); time steps to pass each stage
    ceiling_pmax: tuple[float, ...] = (0.9, 0.85, 0.8)
    ceiling_cap: int = 100_000_000  # time steps per stage and frozen policy

    def validate(self) -> None:
        check_backend(self.backend)
        if self.runs < 1 or self.time_steps < 1 or self.baseline_time_steps < 0:
            raise ValueError("runs >= 1, time_steps >= 1, baseline_time_steps >= 0 required")
        if self.n_work < INSTRUCTIONS.n_ops:
            raise ValueError(f"n_work must be >= n_ops = {INSTRUCTIONS.n_ops} (cell 6 is read)")
        if self.head_trials < 1 or self.tail_trials < 1 or self.chunk_steps < 1:
            raise ValueError("head_trials, tail_trials, chunk_steps must be >= 1")
        if self.ssa_rule not in ("chain", "top"):
            raise ValueError(f"ssa_rule must be 'chain' or 'top', got {self.ssa_rule!r}")
        if self.reward <= 0 or self.intake_threshold <= 0 or self.ceiling_cap < 1:
            raise ValueError("reward > 0, intake_threshold > 0 and ceiling_cap >= 1 required")
        if any(not 1.0 / INSTRUCTIONS.n_ops < p < 1.0 for p in self.ceiling_pmax):
            raise ValueError(f"ceiling_pmax values must lie in (1/n_ops, 1) = "
                             f"({1.0 / INSTRUCTIONS.n_ops:.3f}, 1)")
        self.params(True).validate(INSTRUCTIONS)

    def params(self, ssa: bool) -> SMPParams:
        return SMPParams(n_cells=self.n_cells, n_work=self.n_work, lam=self.lam, minp=self.minp,
                         eval_delay=self.eval_delay, sms_max_steps=self.sms_max_steps,
                         eval_max_steps=self.eval_max_steps, ssa=ssa,
                         ssa_top_only=self.ssa_rule == "top")


def run(ctx: RunContext, cfg: Config) -> Result:
    phases = [("ssa", True, r) for r in range(cfg.runs)]
    if cfg.baseline_time_steps > 0:
        phases.append(("no_ssa", False, 0))

    def step(index: int, life: FunctionCurriculumLife) -> bool:
        name, ssa, r = phases[index]
        budget = cfg.time_steps if ssa else cfg.baseline_time_steps
        if life.time >= budget:
            return False
        life.advance(min(cfg.chunk_steps, budget - life.time))
        # the policy's course: how sharp it is (mean over cells of the top probability), the
        # curriculum's state and the SSA stack, once per chunk
        ctx.log(life.time, phase=name, run=r, kind="policy", ptr=life.curriculum_pointer,
                c=int(life.loop_regs[LOOP_C]), pmax_mean=round(float(
                    life.smp.P.max(axis=1).mean()), 4), stack=int(life.smp.ssa.stack_size))
        ctx.progress(index + life.time / budget, len(phases),
                     f"{name} run {r}: f{life.curriculum_pointer}, {len(life.trials)} trials")
        return True

    done = run_lives(
        ctx, [f"{name}/{r}" for name, _, r in phases],
        make=lambda index, seed: FunctionCurriculumLife(cfg.params(phases[index][1]), seed,
                                                        cfg.reward, cfg.intake_threshold,
                                                        cfg.reward_by_function),
        step=step,
        summarise=lambda index, life: _summarise(ctx, cfg, phases[index][0], phases[index][2],
                                                 life),
        backend=cfg.backend)
    metrics = _metrics(ctx, cfg, done)
    metrics["policy_course_per_run"] = [_course(ctx, "ssa", r) for r in range(cfg.runs)]
    metrics.update(_ceiling(ctx, cfg))
    return Result(metrics=metrics)


def _course(ctx: RunContext, phase: str, r: int) -> dict[str, Any]:
    return course_from_log(ctx.out / "metrics.jsonl", phase, r)


def course_from_log(path: Path, phase: str, r: int, window: int = 1_000_000_000
                    ) -> dict[str, Any]:
    """The policy's course in one life, from a run's own ``policy`` rows (one per chunk): at each
    step of the curriculum (a life starts at f1), the mean top probability over cells and the SSA
    stack at the end of the chunk in which it happened, and their lowest values in the next
    ``window`` time steps; and since when the policy (mean top probability and stack) stayed
    unchanged until death (the first row, if it never changed)."""
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            d = json.loads(line)
            if d.get("kind") == "policy" and d.get("phase") == phase and d.get("run") == r:
                rows.append(d)
    switches = []
    for i in range(len(rows)):
        if rows[i]["ptr"] > (rows[i - 1]["ptr"] if i else 1):
            t = rows[i]["step"]
            after = [d for d in rows[i:] if d["step"] <= t + window]
            switches.append({"to": rows[i]["ptr"], "t": t, "pmax_mean": rows[i]["pmax_mean"],
                             "stack": rows[i]["stack"],
                             "min_pmax_mean_after": min(d["pmax_mean"] for d in after),
                             "min_stack_after": min(d["stack"] for d in after)})
    still = None
    if rows:
        k = len(rows) - 1
        while k > 0 and rows[k - 1]["stack"] == rows[-1]["stack"] and (
                rows[k - 1]["pmax_mean"] == rows[-1]["pmax_mean"]):
            k -= 1
        still = rows[k]["step"] if k < len(rows) - 1 else None
    return {"switches": switches, "policy_unchanged_since": still,
            "pmax_mean_max": max((d["pmax_mean"] for d in rows), default=None)}


def _ceiling(ctx: RunContext, cfg: Config) -> dict[str, Any]:
    """The curriculum's ceiling: how many time steps a frozen policy needs to pass each stage when
    every sampled cell of the stage's shortest program (:func:`stage_program`) has probability
    ``pmax`` -- the highest IncProb can reach from a uniform cell, and ``cfg.ceiling_pmax``."""
    best = best_reachable_pmax(cfg.lam, cfg.minp, INSTRUCTIONS.n_ops)
    table: dict[str, list[int | None]] = {}
    for pmax in (best, *cfg.ceiling_pmax):
        row = []
        for stage in range(1, 5):
            P = policy_for(stage_program(stage, cfg.n_cells), pmax, INSTRUCTIONS.n_ops)
            steps, _ = frozen_stage_steps(P, cfg.params(False), stage, cfg.ceiling_cap,
                                          seed=int(ctx.rng.integers(2**62)), reward=cfg.reward,
                                          threshold=cfg.intake_threshold)
            row.append(steps)
        table[f"{pmax:.4g}"] = row
    return {"best_reachable_pmax": best, "ceiling_steps": table,
            "ceiling_pmax_list": [best, *cfg.ceiling_pmax]}


def _summarise(ctx: RunContext, cfg: Config, name: str, r: int, lf: FunctionCurriculumLife
               ) -> dict[str, Any]:
    tr = lf.trials
    lengths = tr[:, 0]
    ptr = tr[:, 3].astype(int) if len(tr) else np.zeros(0, dtype=int)
    reached = {f"f{k}": float(tr[np.argmax(ptr >= k), 2]) for k in range(2, 6) if (ptr >= k).any()}
    step = max(1, len(tr) // 300)
    for i in range(0, len(tr), step):
        ctx.log(int(tr[i, 2]), phase=name, run=r, trial=i, trial_length=float(
            lengths[i : i + step].mean()), function=int(tr[i, 1]), ptr=int(tr[i, 3]),
            stack=int(tr[i, 4]))
    per_f = {}
    for f in range(1, 6):
        lf_ = lengths[tr[:, 1] == f] if len(tr) else np.zeros(0)
        per_f[f"f{f}"] = float(lf_[-cfg.tail_trials :].mean()) if len(lf_) else None
    f1 = lengths[tr[:, 1] == 1] if len(tr) else np.zeros(0)
    s = lf.smp
    return {**_final_policy(cfg, lf), **_instruction_use(lf, tr),
        "f1_speedup": float(f1[: cfg.head_trials].mean() / f1[-cfg.tail_trials :].mean())
        if len(f1) > cfg.head_trials else None,
        "trials": len(tr), "time_steps": s.time, "ptr": lf.curriculum_pointer,
        "first": float(lengths[: cfg.head_trials].mean()) if len(tr) else None,
        "last": float(lengths[-cfg.tail_trials :].mean()) if len(tr) else None,
        "time_to_ptr": reached, "last_length_per_function": per_f,
        "stack": s.ssa.stack_size, "surviving_blocks": s.ssa.n_tags,
        "self_modifications": int(s.iregs[N_MODS]),
        "curve_t": tr[::step, 2].tolist(), "curve_len": [
            float(lengths[i : i + step].mean()) for i in range(0, len(tr), step)],
        "program": s.most_likely_program(),
    }


def _final_policy(cfg: Config, lf: FunctionCurriculumLife) -> dict[str, Any]:
    """The policy at death against its stage's shortest program: each sampled cell's probability
    of that program's code, the probability of one error-free pass, and the time steps the frozen
    policy needs to pass its stage (None: not within ``ceiling_cap``; at f5 there is no next)."""
    P, stage = lf.smp.P, lf.curriculum_pointer
    out: dict[str, Any] = {"cell_pmax": P.max(axis=1).round(4).tolist()}
    if stage >= N_FUNCTIONS:
        return {**out, "stage_program_cell_p": None, "frozen_steps": None}
    prog = stage_program(stage, cfg.n_cells)
    w = INSTRUCTIONS.width
    n_slots = min(stage + 2, cfg.n_cells // w)  # the chain and its JumpHome, if any
    cells = [k * w + a for k in range(n_slots)
             for a in range(1 + int(INSTRUCTIONS.arity[prog[k * w]]))]
    p = [float(P[i, prog[i]]) for i in cells]
    steps, _ = frozen_stage_steps(P, cfg.params(False), stage, cfg.ceiling_cap,
                                  seed=int(lf.rng.integers(2**62)), reward=cfg.reward,
                                  threshold=cfg.intake_threshold)
    return {**out, "stage_program_cell_p": [round(x, 4) for x in p],
            "stage_program_pass_p": float(np.prod(p)), "frozen_steps": steps}


def _instruction_use(lf: FunctionCurriculumLife, tr: np.ndarray) -> dict[str, Any]:
    """Which instructions the life executed at each curriculum stage (shares), the machine's
    counters, and the SSA stack's size when each stage began and at death."""
    names = INSTRUCTIONS.general
    share = {}
    for k in range(N_FUNCTIONS):
        n = lf.op_counts[k].sum()
        if n:
            share[f"ptr{k + 1}"] = {names[j]: round(float(lf.op_counts[k, j] / n), 4)
                                    for j in range(len(names))}
    ptr = tr[:, 3].astype(int) if len(tr) else np.zeros(0, dtype=int)
    stack_at = {f"f{k}": int(tr[np.argmax(ptr >= k), 4]) for k in range(2, 6) if (ptr >= k).any()}
    ir = lf.smp.iregs
    return {"op_share": share, "stack_at_ptr": stack_at,
            "counters": {"refused": int(ir[N_REFUSED]), "invalid": int(ir[N_INVALID]),
                         "sms": int(ir[N_SMS]), "evaluations": int(ir[N_EVALS]),
                         "forced_sms_ends": int(ir[N_FORCED])}}


def _metrics(ctx: RunContext, cfg: Config, done: dict[str, Any]) -> dict[str, Any]:
    main = [done[f"ssa/{r}"] for r in range(cfg.runs)]
    firsts = [m["first"] for m in main if m["first"] is not None]
    lasts = [m["last"] for m in main if m["last"] is not None]
    metrics: dict[str, Any] = {
        "curriculum_ptr": float(np.mean([m["ptr"] for m in main])),
        "curriculum_ptr_per_run": [m["ptr"] for m in main],
        "time_to_ptr_per_run": [m["time_to_ptr"] for m in main],
        "trial_length_first": float(np.mean(firsts)) if firsts else None,
        "trial_length_last": float(np.mean(lasts)) if lasts else None,
        "f1_speedup": float(np.mean([m["f1_speedup"] for m in main if m["f1_speedup"]]))
        if any(m["f1_speedup"] for m in main) else None,
        "trials": [m["trials"] for m in main],
        "time_steps": [m["time_steps"] for m in main],
        "last_length_per_function": [m["last_length_per_function"] for m in main],
        "stack_size": float(np.mean([m["stack"] for m in main])),
        "surviving_blocks": float(np.mean([m["surviving_blocks"] for m in main])),
        "self_modifications": float(np.mean([m["self_modifications"] for m in main])),
        "final_cell_pmax_per_run": [m["cell_pmax"] for m in main],
        "final_stage_program_cell_p_per_run": [m["stage_program_cell_p"] for m in main],
        "final_stage_program_pass_p_per_run": [m.get("stage_program_pass_p") for m in main],
        "final_policy_frozen_steps_per_run": [m["frozen_steps"] for m in main],
        "op_share_per_run": [m["op_share"] for m in main],
        "stack_at_ptr_per_run": [m["stack_at_ptr"] for m in main],
        "counters_per_run": [m["counters"] for m in main],
    }
    if "no_ssa/0" in done:
        b = done["no_ssa/0"]
        metrics.update(no_ssa_ptr=b["ptr"], no_ssa_trials=b["trials"],
                       no_ssa_trial_length_last=b["last"], no_ssa_time_steps=b["time_steps"])
    fig, ax = plots.figure()
    for key, d in done.items():
        if d["curve_t"]:
            ax.plot(d["curve_t"], d["curve_len"], lw=1, ls="-" if key.startswith("ssa") else ":",
                    label=key.replace("/", " run "))
            for k, t in d["time_to_ptr"].items():
                ax.axvline(t, color="grey", lw=0.5, alpha=0.5)
                ax.text(t, ax.get_ylim()[1] if ax.get_ylim()[1] > 0 else 1, k, fontsize=6)
    ax.set_yscale("log")
    ax.set_xlabel("time steps (the SMP's own)")
    ax.set_ylabel("trial length (time steps)")
    ax.legend(fontsize=7)
    plots.save(fig, ctx.plot_path("trial_length"))
    return metrics


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """The headline: with SSA the SMP answers f1 faster at the end of its life than the SSA-off
    SMP does (time steps per trial over the last trials)."""
    f1, off = m["last_length_per_function"][0]["f1"], m["no_ssa_trial_length_last"]
    ok = m["no_ssa_trials"] > 0 and f1 is not None and off is not None and f1 < off
    shown = ["none" if v is None else f"{v:,.0f}" for v in (f1, off)]
    return ok, (f"f1 at the end of life: SSA on {shown[0]} < SSA off {shown[1]} time steps per "
                f"trial")


EXPERIMENT = register(
    Experiment(
        name="is-function-approx",
        system="success-story algorithm, self-modifying policies",
        paper="Schmidhuber, Zhao & Wiering, Machine Learning 28:105-130, 1997 (sec. 4.2, "
              "experiment 3)",
        description="Incremental self-improvement: one SMP under SSA learns f1..f5 in turn.",
        config=Config,
        scales={
            "quick": Config(runs=1, time_steps=40_000_000, baseline_time_steps=10_000_000,
                            head_trials=20, tail_trials=200, chunk_steps=10_000_000,
                            ceiling_pmax=(0.85,), ceiling_cap=2_000_000),
            "full": Config(),
        },
        run=run,
        smoke=smoke,
        reference=refs("ssa", "is-function-approx"),
    )
)
