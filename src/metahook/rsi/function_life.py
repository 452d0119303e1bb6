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
from metahook.machines.smp.machine import P_SSA_ON, P_WIDTH, TIME, smp_reward, smp_step

(LOOP_PTR, LOOP_C, LOOP_F, LOOP_START, LOOP_PREV_LEN, LOOP_STARTED, LOOP_N_OUT,
 LOOP_TRIALS) = range(8)
N_LOOP_REGS = 8
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
    max_time: int, out: np.ndarray,
) -> int:
    """Run until the SMP's time reaches ``max_time`` (``out``: int64 scratch of length 4).

    ``machine``: the SMP's arrays and SSA stack (:meth:`SMPState.arrays`).

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
        f = loop_regs[LOOP_F]
        if abs(target(f, xyz[0], xyz[1], xyz[2]) - c[OUTPUT_CELL]) < TOLERANCE:
            smp_reward(P, iregs, fregs, iparams, tags, entries, counts, SOLVED_REWARD, True)
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
                intake = 2.0 * SOLVED_REWARD / (length + loop_regs[LOOP_PREV_LEN])
                if intake > INTAKE_THRESHOLD and loop_regs[LOOP_PTR] < N_FUNCTIONS:
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

    def __init__(self, params: SMPParams, seed: int) -> None:
        self.smp = SMPState(INSTRUCTIONS, params)
        self.rng = np.random.default_rng(seed)
        self.u = self.rng.random(U_BLOCK)
        self.upos = np.zeros(1, dtype=np.int64)
        self.loop_regs = np.zeros(N_LOOP_REGS, dtype=np.int64)
        self.loop_regs[LOOP_PTR] = 1
        self.loop_regs[LOOP_C] = CURRICULUM_C
        self.xyz = np.zeros(3)
        self.trials = np.zeros((0, 5))
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
                                 self._buf, target, self._out)
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
                "trials": self.trials}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.smp.load_state_dict(st["smp"])
        restore_generator(self.rng, st["rng"])
        self.u = np.asarray(st["u"], dtype=np.float64)
        self.upos = np.asarray(st["upos"], dtype=np.int64)
        self.loop_regs = np.asarray(st["loop_regs"], dtype=np.int64)
        self.xyz = np.asarray(st["xyz"], dtype=np.float64)
        self.trials = np.asarray(st["trials"], dtype=np.float64).reshape(-1, 5)
