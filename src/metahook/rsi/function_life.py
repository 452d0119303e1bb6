"""Compiled life loop of ML97 experiment 3: one SMP learns f1..f5 in turn (incremental
self-improvement, IS).

ML97 section 4.2. Each trial poses one function of the curriculum
(:mod:`metahook.envs.functions_curriculum`): the inputs go into work cells 0..2, the SMP runs, and
after every instruction cell 6 is compared with the target; a match ends the trial with a reward
event (the SSA call of a finished self-modification sequence comes after ``eval_delay`` = 5 such
events, ML97: "after each 5th consecutive non-zero reward signal after the end of each SMS").

``xyz`` holds the trial's inputs (the environment's copy), ``loop_regs`` the loop's registers
(:data:`LOOP_PTR`, :data:`LOOP_C`, the posed function, the trial's
start time, the last trial's length), so that the loop resumes exactly where it returned.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT
from metahook.core.seeding import restore_generator
from metahook.core.ssa_stack import ssa_free
from metahook.envs.functions_curriculum import (
    CURRICULUM_C,
    INTAKE_THRESHOLD,
    N_FUNCTIONS,
    OUTPUT_CELL,
    SOLVED_REWARD,
    TOLERANCE,
    UNIFORMS_PER_TRIAL,
    draw_inputs,
    pose,
    target,
)
from metahook.machines.smp import InstructionSet, SMPParams, SMPState
from metahook.machines.smp.machine import (
    EVAL_COUNTDOWN,
    MODS_ENABLED,
    P_SSA_ON,
    P_WIDTH,
    TIME,
    smp_reward,
    smp_step,
)

(LOOP_PTR, LOOP_C, LOOP_F, LOOP_START, LOOP_PREV_LEN, LOOP_STARTED, LOOP_N_OUT,
 LOOP_TRIALS) = range(8)
N_LOOP_REGS = 8
LP_REWARD, LP_THRESHOLD, LP_SCALE_BY_FUNCTION = range(3)
DONE, NEED_RANDOM, STACK_FULL, OUT_FULL = range(4)


@njit(cache=True, **NO_REFCOUNT)
def _new_trial(c: np.ndarray, iregs: np.ndarray, loop_regs: np.ndarray, xyz: np.ndarray,
               u: np.ndarray, upos: np.ndarray) -> None:
    """Pose the next function and write fresh inputs into cells 0..2 (see draw_inputs)."""
    p = upos[0]
    f = pose(loop_regs[LOOP_PTR], loop_regs[LOOP_C], u[p])
    loop_regs[LOOP_F] = f
    upos[0] = p + 1
    draw_inputs(f, xyz, c, u, upos)
    loop_regs[LOOP_START] = iregs[TIME]


@njit(cache=True, **NO_REFCOUNT)
def function_cycles(
    machine: tuple[np.ndarray, ...],
    u: np.ndarray, upos: np.ndarray, loop_regs: np.ndarray, xyz: np.ndarray, trial_out: np.ndarray,
    max_time: int, out: np.ndarray, loop_params: np.ndarray, op_counts: np.ndarray,
) -> int:
    """Run until the SMP's time reaches ``max_time`` (``out``: int64 scratch of length 4).

    ``machine``: the SMP's arrays and SSA stack (:meth:`SMPState.arrays`). ``loop_params``:
    (:data:`LP_REWARD`, :data:`LP_THRESHOLD`, :data:`LP_SCALE_BY_FUNCTION`), the reward of a
    solved trial, the curriculum's threshold on reward per time step over the last two trials,
    and whether the reward the SMP receives for f_k is multiplied by k (a diagnostic: f_k's
    shortest program is k instructions, so the best reward per time step is then the same for
    every function; the curriculum's intake always uses the unscaled reward).
    ``op_counts[ptr - 1, code]`` counts the instructions executed while the curriculum stood at
    ``ptr``.

    ``trial_out[i] = (length in time steps, function, time at the end, ptr, stack size)`` for each
    solved trial.
    """
    P, c, iregs, fregs, kind, arity, env_id, iparams, fparams, tags, entries, mark, counts = (
        machine)
    w = iparams[P_WIDTH]
    if loop_regs[LOOP_STARTED] == 0:
        if upos[0] + 1 + UNIFORMS_PER_TRIAL > u.shape[0]:
            return NEED_RANDOM
        _new_trial(c, iregs, loop_regs, xyz, u, upos)
        loop_regs[LOOP_STARTED] = 1
    while iregs[TIME] < max_time:
        if upos[0] + 8 + UNIFORMS_PER_TRIAL > u.shape[0]:
            return NEED_RANDOM
        if iparams[P_SSA_ON] != 0 and not ssa_free(tags, entries, counts, w):
            return STACK_FULL
        if loop_regs[LOOP_N_OUT] >= trial_out.shape[0]:
            return OUT_FULL
        # the environment keeps presenting the inputs: cells 0..2 hold x, y, z at every step
        c[0] = xyz[0]
        c[1] = xyz[1]
        c[2] = xyz[2]
        smp_step(P, c, iregs, fregs, kind, arity, env_id, iparams, fparams, tags, entries, mark,
                 counts, u, upos, out)
        op_counts[loop_regs[LOOP_PTR] - 1, out[0]] += 1
        f = loop_regs[LOOP_F]
        if abs(target(f, xyz[0], xyz[1], xyz[2]) - c[OUTPUT_CELL]) < TOLERANCE:
            reward = loop_params[LP_REWARD]
            # SSA sees f_k's reward times k when scaled (the curriculum's intake does not)
            given = reward * f if loop_params[LP_SCALE_BY_FUNCTION] != 0 else reward
            smp_reward(P, iregs, fregs, iparams, tags, entries, counts, given, True)
            length = iregs[TIME] - loop_regs[LOOP_START]
            k = loop_regs[LOOP_N_OUT]
            trial_out[k, 0] = length
            trial_out[k, 1] = f
            trial_out[k, 2] = iregs[TIME]
            trial_out[k, 3] = loop_regs[LOOP_PTR]
            trial_out[k, 4] = counts[0] + counts[1]
            loop_regs[LOOP_N_OUT] = k + 1
            loop_regs[LOOP_TRIALS] += 1
            # curriculum: reward per time step over the last two trials
            if loop_regs[LOOP_PREV_LEN] > 0:
                intake = 2.0 * reward / (length + loop_regs[LOOP_PREV_LEN])
                if intake > loop_params[LP_THRESHOLD] and loop_regs[LOOP_PTR] < N_FUNCTIONS:
                    loop_regs[LOOP_C] -= 1
                    if loop_regs[LOOP_C] <= 0:
                        loop_regs[LOOP_PTR] += 1
                        loop_regs[LOOP_C] = CURRICULUM_C
            loop_regs[LOOP_PREV_LEN] = length
            _new_trial(c, iregs, loop_regs, xyz, u, upos)
    return DONE


# the paper's instructions for this experiment (4 cells per instruction)
INSTRUCTIONS = InstructionSet(("Add", "Sub", "Mul", "Mov", "IncProb", "EndSelfMod", "JumpHome"))
U_BLOCK = 1 << 18  # uniforms drawn at a time


class FunctionCurriculumLife:
    """One SMP's life through the curriculum f1..f5, advanced by :func:`function_cycles`.

    ``advance(time_steps)`` runs the machine for exactly that many more of its own time steps;
    ``trials`` collects one row per finished trial (length, function, end time, curriculum
    pointer, stack size); the whole life is checkpoint data (:meth:`state_dict`).
    """

    def __init__(self, params: SMPParams, seed: int, reward: float = SOLVED_REWARD,
                 threshold: float = INTAKE_THRESHOLD, scale_by_function: bool = False) -> None:
        self.smp = SMPState(INSTRUCTIONS, params)
        self.rng = np.random.default_rng(seed)
        self.u = self.rng.random(U_BLOCK)
        self.upos = np.zeros(1, dtype=np.int64)
        self.loop_regs = np.zeros(N_LOOP_REGS, dtype=np.int64)
        self.loop_regs[LOOP_PTR] = 1
        self.loop_regs[LOOP_C] = CURRICULUM_C
        self.loop_params = np.array([reward, threshold, float(scale_by_function)],
                                    dtype=np.float64)
        self.xyz = np.zeros(3)
        self.trials = np.zeros((0, 5))
        self.op_counts = np.zeros((N_FUNCTIONS, INSTRUCTIONS.n_ops), dtype=np.int64)
        self._buf = np.zeros((1 << 16, 5))
        self._out = np.zeros(4, dtype=np.int64)

    @property
    def time(self) -> int:
        """The machine's time steps so far."""
        return self.smp.time

    @property
    def curriculum_pointer(self) -> int:
        """The function the curriculum poses (1..5; the next one is mixed in)."""
        return int(self.loop_regs[LOOP_PTR])

    def advance(self, time_steps: int) -> None:
        """Run ``time_steps`` more time steps of the machine."""
        s = self.smp
        target = s.time + time_steps
        while s.time < target:
            self.loop_regs[LOOP_N_OUT] = 0
            st = function_cycles(s.arrays(), self.u, self.upos, self.loop_regs, self.xyz,
                                 self._buf, target, self._out, self.loop_params, self.op_counts)
            n = int(self.loop_regs[LOOP_N_OUT])
            if n:
                self.trials = np.concatenate([self.trials, self._buf[:n]])
            if st == NEED_RANDOM:
                self.u = self.rng.random(U_BLOCK)
                self.upos[0] = 0
            elif st == STACK_FULL:
                s.ssa.grow(tags=64, rows=256)

    def state_dict(self) -> dict[str, Any]:
        return {"smp": self.smp.state_dict(), "rng": self.rng.bit_generator.state, "u": self.u,
                "upos": self.upos, "loop_regs": self.loop_regs, "xyz": self.xyz,
                "trials": self.trials, "op_counts": self.op_counts}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.smp.load_state_dict(st["smp"])
        restore_generator(self.rng, st["rng"])
        self.u = np.asarray(st["u"], dtype=np.float64)
        self.upos = np.asarray(st["upos"], dtype=np.int64)
        self.loop_regs = np.asarray(st["loop_regs"], dtype=np.int64)
        self.xyz = np.asarray(st["xyz"], dtype=np.float64)
        self.trials = np.asarray(st["trials"], dtype=np.float64).reshape(-1, 5)
        if "op_counts" in st:  # checkpoints written before the counts existed resume with zeros
            self.op_counts = np.asarray(st["op_counts"], dtype=np.int64).reshape(
                self.op_counts.shape)

    def freeze(self) -> None:
        """Disable every learning instruction for good (the policy stays as it is now): with SSA
        off and no evaluation pending, nothing re-enables them."""
        s = self.smp
        if s.params.ssa or s.iregs[EVAL_COUNTDOWN] > 0:
            raise ValueError("freeze() needs an SSA-off machine with no evaluation pending")
        s.iregs[MODS_ENABLED] = 0


def stage_program(stage: int, n_cells: int = 20) -> list[int]:
    """The shortest program for curriculum stage ``stage`` (f_stage mixed with f_stage+1), as
    codes of ``n_cells`` cells: ``Add 0 1 6; Sub 6 2 6; Mul 6 6 6; ...`` (cell 6 goes through
    f1, f2, ... after one, two, ... instructions) with ``JumpHome`` right after the slot that
    computes f_stage+1 when a slot is left for it (stage < 4 with 20 cells), so that the next
    trial starts at the top. Cells that are never sampled (JumpHome's arguments, unused slots)
    hold code 0."""
    code = {n: i for i, n in enumerate(INSTRUCTIONS.general)}
    chain = [[code["Add"], 0, 1, 6], [code["Sub"], 6, 2, 6]] + [
        [code["Mul"], 6, 6, 6] for _ in range(N_FUNCTIONS - 2)]
    w = INSTRUCTIONS.width
    n_slots = n_cells // w
    slots = chain[: min(stage + 1, N_FUNCTIONS)]
    if len(slots) < n_slots:
        slots.append([code["JumpHome"], 0, 0, 0])
    slots += [[0] * w for _ in range(n_slots - len(slots))]
    return [c for s in slots[:n_slots] for c in s]


def best_reachable_pmax(lam: float, minp: float, n_ops: int) -> float:
    """The highest probability IncProb can give one code of a uniform cell: apply it until
    the MinP guard refuses (every other code would fall below MinP)."""
    row = np.full(n_ops, 1.0 / n_ops)
    while lam * row[1] >= minp:
        row[1:] *= lam
        row[0] = 1.0 - row[1:].sum()
    return float(row[0])


def frozen_stage_steps(P: np.ndarray, params: SMPParams, stage: int, cap: int, seed: int,
                       reward: float = SOLVED_REWARD, threshold: float = INTAKE_THRESHOLD,
                       chunk: int = 20_000) -> tuple[int | None, int]:
    """Time steps a frozen policy ``P`` (no learning, SSA off) needs for the curriculum to move
    from stage ``stage`` (c = 100) to the next: ``(steps, trials)``, steps None if not within
    ``cap``. Measures whether the curriculum's rule can be passed by a given policy at all."""
    life = FunctionCurriculumLife(dataclasses.replace(params, ssa=False), seed, reward=reward,
                                  threshold=threshold)
    life.smp.P[:] = P
    life.freeze()
    life.loop_regs[LOOP_PTR] = stage
    while life.curriculum_pointer == stage and life.time < cap:
        life.advance(min(chunk, cap - life.time))
    steps = life.time if life.curriculum_pointer > stage else None
    return steps, len(life.trials)


def policy_for(program: list[int], pmax: float, n_ops: int) -> np.ndarray:
    """A policy whose cell ``i`` gives ``program[i]`` probability ``pmax`` and every other code
    an equal share of the rest."""
    P = np.full((len(program), n_ops), (1.0 - pmax) / (n_ops - 1))
    P[np.arange(len(program)), program] = pmax
    return P
