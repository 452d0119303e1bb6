"""Levin search (LS) and adaptive Levin search (ALS) over the maze macro-language, with SSA.

Schmidhuber, Zhao & Wiering, Machine Learning 28:105-130 (1997), sections 3 and 5 (ML97);
Wiering & Schmidhuber, ICML 1996 (ICML96), section 3.

Programs are sequences over positions ``0..l_max-1``. The probability of instruction ``j`` at
position ``i`` is ``M[i, j]``; a ``Jump`` at ``i`` draws its address from ``Mbar[i]`` and its
repeat count (1..MAXR) from ``Mhat[i]`` (ICML96's three matrices). A program's probability is the
product over its positions. Here the three matrices are the rows of one policy array ``P``
(``M`` rows ``0..l-1``, ``Mbar`` rows ``l..2l-1``, ``Mhat`` rows ``2l..3l-1``; unused columns 0),
so that SSA (:mod:`metahook.rsi.ssa`) can save and restore any of them.

**LS** (Levin 1973; ML97 section 3.1). Phase ``i = 1, 2, ...``: run every program ``p`` for at
most ``P(p) * 2^i`` steps, until one reaches the goal. Programs are generated lazily: a position
is chosen only when execution first reaches it, and programs that share a prefix share its
execution (the search is a depth-first walk over prefixes; a prefix whose probability times
``2^i`` is used up is abandoned). The search's cost is the number of steps executed.

**ALS** (ML97 section 5; ICML96): after LS has found ``q``, ``Adapt(q, M)``: for each position
``i < l(q)`` and every code ``j``: ``M[i, j] += γ (1 - M[i, j])`` if ``q_i = j``, else
``M[i, j] *= 1 - γ``; the same for ``Mbar`` and ``Mhat`` at positions holding a Jump.

**SSA + ALS** (ML97 section 5): every ``Adapt`` is a policy modification; right before it, SSA is
called (the evaluation criterion: a solution was found, reward ``1 / path length``), then the rows
``Adapt`` will change are pushed (:func:`adapt`, ``ssa_on``).

Glossary: ``M, Mbar, Mhat`` the probability matrices, ``l_max`` program positions, ``MAXR`` the
largest repeat count, ``γ`` ALS's learning rate, ``T = 2^i`` a phase's time limit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT
from metahook.core.ssa_stack import ssa_save
from metahook.envs.pomaze import JUMP, N_INSTR, run_repeat

# ls_search's return codes
FOUND, NOT_FOUND = 0, 1


def uniform_policy(l_max: int, maxr: int) -> np.ndarray:
    """``P`` with uniform ``M``, ``Mbar``, ``Mhat`` (see the module docstring)."""
    w = max(N_INSTR, l_max, maxr)
    P = np.zeros((3 * l_max, w))
    P[:l_max, :N_INSTR] = 1.0 / N_INSTR
    P[l_max : 2 * l_max, :l_max] = 1.0 / l_max
    P[2 * l_max :, :maxr] = 1.0 / maxr
    return P


@njit(cache=True, **NO_REFCOUNT)
def _run(grid: np.ndarray, prog: np.ndarray, length: int, pos: np.ndarray, reg: np.ndarray,
         cnt: np.ndarray, goal_r: int, goal_c: int, limit: float) -> int:
    """Run the decided prefix (``length`` positions) from ``pos`` / ``reg = (ip, t, walked)``.

    Returns 0: the goal was reached; 1: out of time or off the program's end; 2: IP reached the
    first undecided position (``ip == length``).
    """
    l_max = prog.shape[0]
    while True:
        ip = reg[0]
        if ip == length:
            return 2
        if ip >= l_max:
            return 1
        reg[1] += 1
        if reg[1] > limit:
            return 1
        code = prog[ip, 0]
        if code == JUMP:
            if cnt[ip] < prog[ip, 2]:
                cnt[ip] += 1
                reg[0] = prog[ip, 1]
            else:
                cnt[ip] = 0
                reg[0] = ip + 1
            continue
        budget = int(limit - reg[1]) + 1
        steps = run_repeat(grid, pos, code, goal_r, goal_c, budget)
        if steps < 0:
            reg[1] += -steps - 1
            reg[2] += -steps - 1
            return 0
        reg[1] += steps
        reg[2] += steps
        if reg[1] > limit:
            return 1
        reg[0] = ip + 1


@njit(cache=True, **NO_REFCOUNT)
def ls_phase(
    grid: np.ndarray, start: np.ndarray, goal_r: int, goal_c: int, P: np.ndarray,
    l_max: int, maxr: int, T: float, prog: np.ndarray, snap: np.ndarray, snap_cnt: np.ndarray,
    choice: np.ndarray, prob: np.ndarray, cost: np.ndarray,
) -> int:
    """One LS phase with time limit ``T``: depth-first over program prefixes.

    ``prog[i] = (code, address, repeats)``; on :data:`FOUND` it holds the solution, whose length
    is returned in ``cost[1]``, its own run time (instructions and fields walked, start to goal)
    in ``cost[2]`` and the fields it walked in ``cost[3]``. ``cost[0]`` accumulates every step
    executed. Scratch: ``snap`` (l_max+1, 6), ``snap_cnt`` (l_max+1, l_max), ``choice``
    (l_max+2), ``prob`` (l_max+1).
    """
    n_choice = (N_INSTR - 1) + l_max * maxr
    pos = snap[l_max, 0:3]  # the working state lives in the last row of the scratch
    regs = snap[l_max, 3:6]  # (ip, t, walked)
    cnt = snap_cnt[l_max]
    # the root: nothing decided, IP at 0
    snap[0, 0] = start[0]
    snap[0, 1] = start[1]
    snap[0, 2] = start[2]
    snap[0, 3] = 0  # ip
    snap[0, 4] = 0  # t
    snap[0, 5] = 0  # fields walked
    for i in range(l_max):
        snap_cnt[0, i] = 0
    prob[0] = 1.0
    choice[0] = -1
    depth = 0
    while depth >= 0:
        choice[depth] += 1
        c = choice[depth]
        if c >= n_choice:
            depth -= 1
            continue
        # the choice's probability
        if c < N_INSTR - 1:
            code, addr, rep = c, 0, 0
            p = P[depth, c]
        else:
            k = c - (N_INSTR - 1)
            code, addr, rep = JUMP, k // maxr, k % maxr + 1
            if addr > depth:
                continue  # a jump to an undecided position cannot run
            p = P[depth, JUMP] * P[l_max + depth, addr] * P[2 * l_max + depth, rep - 1]
        pp = prob[depth] * p
        limit = pp * T
        if limit <= snap[depth, 4]:
            continue
        prog[depth, 0] = code
        prog[depth, 1] = addr
        prog[depth, 2] = rep
        for j in range(3):
            pos[j] = snap[depth, j]
        regs[0] = snap[depth, 3]
        regs[1] = snap[depth, 4]
        regs[2] = snap[depth, 5]
        for i in range(l_max):
            cnt[i] = snap_cnt[depth, i]
        t0 = regs[1]
        status = _run(grid, prog, depth + 1, pos, regs, cnt, goal_r, goal_c, limit)
        cost[0] += min(regs[1], int(limit)) - t0
        if status == 0:
            cost[1] = depth + 1
            cost[2] = regs[1]
            cost[3] = regs[2]
            return FOUND
        if status == 2 and depth + 1 < l_max:
            d = depth + 1
            for j in range(3):
                snap[d, j] = pos[j]
            snap[d, 3] = regs[0]
            snap[d, 4] = regs[1]
            snap[d, 5] = regs[2]
            for i in range(l_max):
                snap_cnt[d, i] = cnt[i]
            prob[d] = pp
            choice[d] = -1
            depth = d
    return NOT_FOUND


@njit(cache=True, **NO_REFCOUNT)
def adapt(
    P: np.ndarray, prog: np.ndarray, length: int, l_max: int, maxr: int, gamma: float,
    ssa_on: bool, tags: np.ndarray, entries: np.ndarray, mark: np.ndarray, counts: np.ndarray,
) -> int:
    """ALS's ``Adapt(q, M)`` towards the solution ``prog[:length]``; with ``ssa_on`` the changed
    rows are first pushed on the SSA stack (a block must be open). Returns rows pushed."""
    pushed = 0
    for i in range(length):
        rows = (i, l_max + i, 2 * l_max + i) if prog[i, 0] == JUMP else (i, -1, -1)
        for r in rows:
            if r >= 0 and ssa_on:
                pushed += max(0, ssa_save(tags, entries, mark, counts, P, r))
        _reinforce(P, i, prog[i, 0], N_INSTR, gamma)
        if prog[i, 0] == JUMP:
            _reinforce(P, l_max + i, prog[i, 1], l_max, gamma)
            _reinforce(P, 2 * l_max + i, prog[i, 2] - 1, maxr, gamma)
    return pushed


@njit(cache=True, **NO_REFCOUNT)
def _reinforce(P: np.ndarray, row: int, j: int, n: int, gamma: float) -> None:
    for k in range(n):
        if k == j:
            P[row, k] += gamma * (1.0 - P[row, k])
        else:
            P[row, k] *= 1.0 - gamma


class LevinSearch:
    """LS over one maze with a policy ``P`` (see the module docstring); reusable scratch."""

    def __init__(self, grid: np.ndarray, l_max: int = 6, maxr: int = 6) -> None:
        self.grid = np.ascontiguousarray(grid, dtype=np.int8)
        self.l_max, self.maxr = l_max, maxr
        self.prog = np.zeros((l_max, 3), dtype=np.int64)
        self.snap = np.zeros((l_max + 1, 6), dtype=np.int64)
        self.snap_cnt = np.zeros((l_max + 1, l_max), dtype=np.int64)
        self.choice = np.zeros(l_max + 2, dtype=np.int64)
        self.prob = np.zeros(l_max + 1)
        self.cost = np.zeros(4, dtype=np.int64)

    def search(self, P: np.ndarray, start: tuple[int, int, int], goal: tuple[int, int],
               max_phase: int = 40) -> tuple[bool, int, int, np.ndarray]:
        """LS until a program reaches ``goal``: (found, search steps, fields walked, program)."""
        st = np.array(start, dtype=np.int64)
        total = 0
        for i in range(1, max_phase + 1):
            self.cost[:] = 0
            status = ls_phase(self.grid, st, goal[0], goal[1], P, self.l_max, self.maxr,
                              float(2.0**i), self.prog, self.snap, self.snap_cnt, self.choice,
                              self.prob, self.cost)
            total += int(self.cost[0])
            if status == FOUND:
                n = int(self.cost[1])
                return True, total, int(self.cost[3]), self.prog[:n].copy()
        return False, total, 0, np.zeros((0, 3), dtype=np.int64)
