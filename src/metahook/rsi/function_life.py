"""Compiled life loop of ML97 experiment 3: one SMP learns f1..f5 in turn (incremental
self-improvement, IS).

ML97 section 4.2. Each trial poses one function of the curriculum
(:mod:`metahook.envs.functions_curriculum`): the inputs go into work cells 0..2, the SMP runs, and
after every instruction cell 6 is compared with the target; a match ends the trial with a reward
event (the SSA call of a finished self-modification sequence comes after ``eval_delay`` = 5 such
events, ML97: "after each 5th consecutive non-zero reward signal after the end of each SMS").

``xyz`` holds the trial's inputs (the environment's copy), ``fr`` the loop's registers
(:data:`FR_PTR`, :data:`FR_C`, the posed function, the trial's
start time, the last trial's length), so that the loop resumes exactly where it returned.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT
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
from metahook.machines.smp.machine import P_SSA_ON, P_WIDTH, TIME, smp_reward, smp_step

FR_PTR, FR_C, FR_F, FR_START, FR_PREV_LEN, FR_STARTED, FR_N_OUT, FR_TRIALS = range(8)
N_FR = 8
DONE, NEED_RANDOM, STACK_FULL, OUT_FULL = range(4)


@njit(cache=True, **NO_REFCOUNT)
def _new_trial(c: np.ndarray, iregs: np.ndarray, fr: np.ndarray, xyz: np.ndarray,
               u: np.ndarray, upos: np.ndarray) -> None:
    """Pose the next function and write fresh inputs into cells 0..2 (see draw_inputs)."""
    p = upos[0]
    f = pose(fr[FR_PTR], fr[FR_C], u[p])
    fr[FR_F] = f
    upos[0] = p + 1
    draw_inputs(f, xyz, c, u, upos)
    fr[FR_START] = iregs[TIME]


@njit(cache=True, **NO_REFCOUNT)
def function_cycles(
    P: np.ndarray, c: np.ndarray, iregs: np.ndarray, fregs: np.ndarray,
    kind: np.ndarray, arity: np.ndarray, env_id: np.ndarray,
    iparams: np.ndarray, fparams: np.ndarray,
    tags: np.ndarray, entries: np.ndarray, mark: np.ndarray, counts: np.ndarray,
    u: np.ndarray, upos: np.ndarray, fr: np.ndarray, xyz: np.ndarray, trial_out: np.ndarray,
    max_time: int, out: np.ndarray,
) -> int:
    """Run until the SMP's time reaches ``max_time`` (``out``: int64 scratch of length 4).

    ``trial_out[i] = (length in time steps, function, time at the end, ptr, stack size)`` for each
    solved trial.
    """
    w = iparams[P_WIDTH]
    if fr[FR_STARTED] == 0:
        if upos[0] + 1 + UNIFORMS_PER_TRIAL > u.shape[0]:
            return NEED_RANDOM
        _new_trial(c, iregs, fr, xyz, u, upos)
        fr[FR_STARTED] = 1
    while iregs[TIME] < max_time:
        if upos[0] + 8 + UNIFORMS_PER_TRIAL > u.shape[0]:
            return NEED_RANDOM
        if iparams[P_SSA_ON] != 0 and not ssa_free(tags, entries, counts, w):
            return STACK_FULL
        if fr[FR_N_OUT] >= trial_out.shape[0]:
            return OUT_FULL
        # the environment keeps presenting the inputs: cells 0..2 hold x, y, z at every step
        c[0] = xyz[0]
        c[1] = xyz[1]
        c[2] = xyz[2]
        smp_step(P, c, iregs, fregs, kind, arity, env_id, iparams, fparams, tags, entries, mark,
                 counts, u, upos, out)
        f = fr[FR_F]
        if abs(target(f, xyz[0], xyz[1], xyz[2]) - c[OUTPUT_CELL]) < TOLERANCE:
            smp_reward(P, iregs, fregs, iparams, tags, entries, counts, SOLVED_REWARD, True)
            length = iregs[TIME] - fr[FR_START]
            k = fr[FR_N_OUT]
            trial_out[k, 0] = length
            trial_out[k, 1] = f
            trial_out[k, 2] = iregs[TIME]
            trial_out[k, 3] = fr[FR_PTR]
            trial_out[k, 4] = counts[0] + counts[1]
            fr[FR_N_OUT] = k + 1
            fr[FR_TRIALS] += 1
            # curriculum: reward per time step over the last two trials
            if fr[FR_PREV_LEN] > 0:
                intake = 2.0 * SOLVED_REWARD / (length + fr[FR_PREV_LEN])
                if intake > INTAKE_THRESHOLD and fr[FR_PTR] < N_FUNCTIONS:
                    fr[FR_C] -= 1
                    if fr[FR_C] <= 0:
                        fr[FR_PTR] += 1
                        fr[FR_C] = CURRICULUM_C
            fr[FR_PREV_LEN] = length
            _new_trial(c, iregs, fr, xyz, u, upos)
    return DONE
