"""The two task families of the OOPS experiment: 1^n2^n and the Towers of Hanoi (n = 1..30).

Schmidhuber, "Optimal Ordered Problem Solver", Machine Learning 54:211-254 (2004), Sec. 6.1, as
the original experiment program defines them. Task n has its own tape of the OOPS machine
(:mod:`metahook.machines.forth.layout`); its number (cell ``ATASK``) is n.

**1^n2^n** (``GOAL_1N2N``). Input: ds = [n]. Goal, tested after every executed instruction and
free of cost: the 2n topmost cells of the auxiliary stack Ds are n ones followed by n twos, with at
least one more cell of Ds below them (Dp > 2n). Initial bias: the uniform distribution over the 73
tokens (all numerators 1, sum 73), then ``c1 c2 dec by2 boostq`` each get +73 (denominator 438).

**Hanoi** (``GOAL_HANOI``). Input: ds = [1, 2, 3, n] (source, auxiliary, destination peg, disks);
peg 1 holds disks n..1 (largest at the bottom), pegs 2 and 3 are empty; each peg has a top pointer
and 30 disk cells on the tape. ``mvdsk`` moves the top disk from peg ds[b+1] to peg ds[b+3]; a move
onto a smaller disk or from an empty peg halts. Goal: pegs 1 and 2 are empty. Initial bias, set
afresh when the Hanoi phase starts (undoing all 1^n2^n boosts): uniform, then
``c3 c4 c5 dec by2 boostq`` each get +73 (denominator 511).

Both tasks are set up without recording changes on the undo stack: they are the tapes' initial
state, to which every search returns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from metahook.machines.forth import instructions as ins
from metahook.machines.forth.layout import (
    ACURP,
    ADDP,
    ADP,
    AENV,
    APATP,
    ATASK,
    DSIZE,
    MAXTASK,
    NQ,
    NSQ,
    ROW,
    peg_address,
)

GOAL_NONE = 0
GOAL_1N2N = 1
GOAL_HANOI = 2
TASKS = {"1n2n": GOAL_1N2N, "hanoi": GOAL_HANOI}
TASK_NAMES = {v: k for k, v in TASKS.items()}

BOOSTS = {
    GOAL_1N2N: ("c1", "c2", "dec", "by2", "boostq"),
    GOAL_HANOI: ("c3", "c4", "c5", "dec", "by2", "boostq"),
    GOAL_NONE: (),
}
UPSQ = NSQ  # a boost adds n_Q to a numerator


def _cell(tape: np.ndarray, task: int, address: int, value: int) -> None:
    tape[task * ROW - address] = value


def init_distribution(tape: np.ndarray, task: int, goal: int) -> None:
    """Pattern 0 := uniform over the n_Q tokens, then the phase's boosts (+n_Q each)."""
    _cell(tape, task, APATP, 0)
    _cell(tape, task, ACURP, 0)
    p = np.ones(NSQ + 1, dtype=np.int64)
    p[0] = 0
    for nm in BOOSTS[goal]:
        p[ins.number(nm)] += UPSQ
    _cell(tape, task, ACURP + 1, int(p.sum()))
    _cell(tape, task, ACURP + 2, int(p.max()))
    for i in range(1, NSQ + 1):
        _cell(tape, task, ACURP + 2 + i, int(p[i]))


def init_task(tape: np.ndarray, task: int, goal: int) -> None:
    """Write task ``task``'s inputs onto its tape (on top of whatever the tape holds)."""
    n = task
    _cell(tape, task, ATASK, n)
    if goal == GOAL_1N2N:
        inputs: Sequence[int] = (n,)
    elif goal == GOAL_HANOI:
        _cell(tape, task, peg_address(1), n)
        _cell(tape, task, peg_address(2), 0)
        _cell(tape, task, peg_address(3), 0)
        for i in range(1, n + 1):
            _cell(tape, task, peg_address(1) + i, n + 1 - i)
            _cell(tape, task, peg_address(2) + i, 0)
            _cell(tape, task, peg_address(3) + i, 0)
        inputs = (1, 2, 3, n)
    else:
        inputs = ()
    _cell(tape, task, ADP, len(inputs))
    for k, v in enumerate(inputs, start=1):
        _cell(tape, task, ADP + k, v)


def init_all(tape: np.ndarray, goal: int) -> None:
    """Set up all 30 task tapes for a phase (inputs, then the initial distribution)."""
    for task in range(1, MAXTASK + 1):
        init_task(tape, task, goal)
        init_distribution(tape, task, goal)


@njit(cache=True, forceinline=True)
def goal_reached(goal, M, row, task):
    """The success test of task ``task`` (its tape's address a is ``M[row - a]``)."""
    if goal == 1:
        i = ADDP + M[row - ADDP]
        j = i - task - task
        if j <= ADDP:
            return False
        j += task
        while i > j and M[row - i] == 2:
            i -= 1
        if i != j:
            return False
        j -= task
        while i > j and M[row - i] == 1:
            i -= 1
        return i == j
    if goal == 2:
        return M[row - AENV] == 0 and M[row - (AENV + DSIZE)] == 0
    return False


# ---------------------------------------------------------------- checkers (plain Python)
def Ds_of(tape: np.ndarray, task: int) -> list[int]:
    """The auxiliary stack Ds[1..Dp] of a task's tape."""
    r = task * ROW
    d = int(tape[r - ADDP])
    return [int(tape[r - (ADDP + k)]) for k in range(1, d + 1)]


def ds_of(tape: np.ndarray, task: int) -> list[int]:
    """The data stack ds[1..dp] of a task's tape."""
    r = task * ROW
    d = int(tape[r - ADP])
    return [int(tape[r - (ADP + k)]) for k in range(1, max(0, min(d, 200)) + 1)]


def pegs_of(tape: np.ndarray, task: int) -> list[list[int]]:
    """Disks on pegs 1..3, bottom first."""
    r = task * ROW
    out = []
    for tower in (1, 2, 3):
        a = peg_address(tower)
        h = int(tape[r - a])
        out.append([int(tape[r - (a + k)]) for k in range(1, h + 1)])
    return out


def check_1n2n(Ds: Sequence[int], n: int) -> bool:
    """Independent check of the 1^n2^n goal on a Ds list (bottom first)."""
    return len(Ds) > 2 * n and list(Ds[-2 * n:]) == [1] * n + [2] * n


def check_hanoi(pegs: Sequence[Sequence[int]], n: int) -> bool:
    """Independent check: all n disks on peg 3, largest at the bottom."""
    return not pegs[0] and not pegs[1] and list(pegs[2]) == list(range(n, 0, -1))


__all__ = [
    "GOAL_1N2N", "GOAL_HANOI", "GOAL_NONE", "NQ", "TASKS", "check_1n2n", "check_hanoi",
    "goal_reached", "init_all", "init_distribution", "init_task",
]
