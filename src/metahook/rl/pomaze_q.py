"""Q(λ) in a partially observable maze, fused into one compiled loop (the ls-maze baseline).

The agent of :class:`metahook.rl.agent.TabularQLambda` in :class:`metahook.envs.pomaze.POMazeEnv`
(three sensed bits, forward / turn left / turn right, reward 1 at the goal and back to the start),
run for millions of primitive steps without leaving numba. It reads two uniforms per step, in the
order the readable agent does, and ``tests/test_rl.py`` checks that both give the same Q-table
and episodes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT
from metahook.envs.pomaze import primitive_move, senses
from metahook.rl.q_lambda import q_lambda_update, q_select

# the walk's registers, kept between calls
ROW, COL, DIR, STATE, ACTION, PENDING, EPISODES, EPISODE_START, STEP = range(9)
N_WALK_REGS = 9


def new_walk(start: tuple[int, int]) -> np.ndarray:
    """The registers of a walk that begins at ``start`` facing east."""
    walk = np.zeros(N_WALK_REGS, dtype=np.int64)
    walk[ROW], walk[COL], walk[DIR] = start[0], start[1], 1
    return walk


@njit(cache=True, **NO_REFCOUNT)
def q_lambda_maze_steps(grid: np.ndarray, sr: int, sc: int, gr: int, gc: int, Q: np.ndarray,
                        E: np.ndarray, u: np.ndarray, qp: np.ndarray, walk: np.ndarray,
                        out: np.ndarray, tags: np.ndarray, entries: np.ndarray, mark: np.ndarray,
                        counts: np.ndarray) -> None:
    """``len(u) // 2`` primitive steps from ``walk`` (see :data:`ROW` ...); ``qp`` = (α, γ, λ,
    ε); ``out[k]`` = the steps of the k-th episode; the SSA arrays are unused (SSA off)."""
    r, c, d = walk[ROW], walk[COL], walk[DIR]
    s, a, have, k, start, i0 = (walk[STATE], walk[ACTION], walk[PENDING], walk[EPISODES],
                                walk[EPISODE_START], walk[STEP])
    for j in range(u.shape[0] // 2):
        i = i0 + j
        s2 = senses(grid, r, c, d)
        a2 = q_select(Q, s2, qp[3], u[2 * j], u[2 * j + 1])
        if have != 0:
            q_lambda_update(Q, E, s, a, 0.0, s2, a2, qp[0], qp[1], qp[2], False, tags, entries,
                            mark, counts)
        s, a, have = s2, a2, 1
        r, c, d = primitive_move(grid, r, c, d, a2)
        if r == gr and c == gc:
            # reward 1 for reaching the goal: a terminal update, then back to the start
            Q[s, a] += qp[0] * (1.0 - Q[s, a])
            for x in range(E.shape[0]):
                for b in range(E.shape[1]):
                    E[x, b] = 0.0
            if k < out.shape[0]:
                out[k] = i + 1 - start
            k += 1
            start = i + 1
            r, c, d = sr, sc, 1
            have = 0
    walk[ROW], walk[COL], walk[DIR] = r, c, d
    walk[STATE], walk[ACTION], walk[PENDING], walk[EPISODES] = s, a, have, k
    walk[EPISODE_START], walk[STEP] = start, i0 + u.shape[0] // 2
