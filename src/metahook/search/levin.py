"""Bias-optimal search over the OOPS language: Levin search's ``Try`` as the original program runs it.

Levin (1973); Schmidhuber, "Optimal Ordered Problem Solver", Machine Learning 54:211-254 (2004),
Sec. 3-4 (``Try``, Method 4.2). One search tests all prefixes of a program that starts at address
``a`` on a *ring* of tasks, within time limit ``T``:

* every task of the ring starts with ip = a; the ring runs round robin, one token per task,
  highest task number first; a single counter ``t`` covers all tasks, and execution goes on while
  ``t + (tasks unsolved) <= T * P``, P being the probability of the prefix so far;
* when a task's ip reaches ``qp + 1`` (the end of the prefix) it *requests a token*: a new slot
  opens if ``T * P * max_i p_i >= (t + unsolved) * sum``, and candidates are tried in token-number
  order, each only if ``T * P * p_i / (sum * (t + unsolved)) >= 1`` under the requesting task's
  current (self-modified) distribution ``p``/``sum``;
* every changed tape cell is recorded once per slot on the undo stack ``S``; on backtracking the
  slot restores all tapes, puts back the tasks solved since it opened, restores ``t`` and ``P`` and
  takes the next candidate; a slot with no candidates left is abandoned (``qp -= 1``);
* a task that passes its goal test leaves the ring; the search succeeds when the ring is empty.

Plain Levin search (LSEARCH) is this search from a fresh start with T = 1, 2, 4, ... (see
:func:`lsearch`); OOPS (:mod:`metahook.search.oops`) runs it twice per T, prolonging the last
solver and starting a fresh one.

Counters, with the program's meanings: ``prefs`` prefixes tested (candidate tokens placed),
``insts`` tokens executed, ``totalt`` time steps, ``topt`` longest prefix run (refreshed when
``t > 2 topt``), ``topSp`` undo-stack high-water mark (refreshed when ``Sp > 2 topSp``).

The search is driven in budgeted slices (:func:`search_slice` returns after about ``budget``
tokens), so a caller can checkpoint between slices; slicing never changes the result.

Glossary: ``q`` code, ``qp`` top of code, ``a_frozen`` end of frozen code, ``T`` time limit,
``P`` prefix probability, ``t`` time used, ``S``/``Sp`` undo stack, ring = tasks being solved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit

from metahook.envs.oops_tasks import goal_reached
from metahook.machines.forth import vm
from metahook.machines.forth.layout import ACP, AMAX, MAXTASK, NROWS, ROW, STACKSIZE
from metahook.machines.forth.vm import (
    F_P,
    F_TP,
    R_AFROZEN,
    R_ANCHOR,
    R_DONE,
    R_GOAL,
    R_HALT,
    R_NSQS,
    R_PREFS,
    R_QP,
    R_ROW,
    R_SP,
    R_T,
    R_TASK,
    R_TIME,
    R_UNSOLVED,
    R_WHY,
)

RUNNING = 0
SOLVED = 1
EXHAUSTED = 2


# ---------------------------------------------------------------- task ring
@njit(cache=True, inline="always")
def set_task(R, task):
    R[R_TASK] = task
    R[R_ROW] = task * ROW


@njit(cache=True)
def remove_task(R, lnext, lprev):
    task = R[R_TASK]
    R[R_UNSOLVED] -= 1
    lnext[lprev[task]] = lnext[task]
    lprev[lnext[task]] = lprev[task]
    lprev[task] = R[R_ANCHOR]
    R[R_ANCHOR] = task


@njit(cache=True)
def reinsert_task(R, lnext, lprev):
    R[R_UNSOLVED] += 1
    task = R[R_ANCHOR]
    set_task(R, task)
    R[R_ANCHOR] = lprev[task]
    lprev[task] = lprev[lnext[task]]
    lprev[lnext[task]] = task
    lnext[lprev[task]] = task


@njit(cache=True)
def restore_tasks(R, lnext, lprev, below):
    while R[R_ANCHOR] != below:
        reinsert_task(R, lnext, lprev)


# ---------------------------------------------------------------- undo stack
@njit(cache=True)
def unmark(R, mark, S, ptr):
    pp = R[R_SP]
    while pp > ptr:
        mark[S[pp, 0]] = 0
        pp -= 1


@njit(cache=True)
def popcells(R, tape, S, ptr):
    sp = R[R_SP]
    while sp > ptr:
        tape[S[sp, 0]] = S[sp, 1]
        sp -= 1
    R[R_SP] = sp


@njit(cache=True)
def reset_all(R, tape, mark, S, lnext, lprev):
    """After a search: every tape back to its initial state, every solved task back in the list."""
    unmark(R, mark, S, 0)
    popcells(R, tape, S, 0)
    restore_tasks(R, lnext, lprev, 0)


# ---------------------------------------------------------------- one search
@njit(cache=True)
def onestep(R, F, tape, mark, S, qQ, OLD, lnext, lprev):
    vm.step(R, F, tape, mark, S, qQ, OLD)
    if goal_reached(R[R_GOAL], tape, R[R_ROW], R[R_TASK]):
        remove_task(R, lnext, lprev)
    set_task(R, lnext[R[R_TASK]])


@njit(cache=True)
def maybe_push_slot(R, F, tape, mark, S, qSp, qlast, qSQ, qt, qPP):
    """A token request at qp+1 opens a new slot if the time left allows any token at all."""
    if R[R_HALT] != 0 or vm.frame(R, tape, 1) != R[R_QP] + 1:
        return
    if F[F_TP] * float(vm.pmax(R, tape)) < float((R[R_TIME] + R[R_UNSOLVED]) * vm.psum(R, tape)):
        return
    qp = R[R_QP]
    if qp >= AMAX:
        return
    unmark(R, mark, S, qSp[qp])
    qp += 1
    R[R_QP] = qp
    qlast[qp] = R[R_ANCHOR]
    qSp[qp] = R[R_SP]
    qSQ[qp] = 0
    qt[qp] = R[R_TIME]
    qPP[qp] = F[F_P]


@njit(cache=True)
def next_candidate(R, F, tape, mark, S, qQ, qSp, qlast, qSQ, qt, qpp, qPP, lnext, lprev):
    """Place the next admissible token in the top slot (restoring the slot's state first)."""
    qp = R[R_QP]
    i = qSQ[qp]
    if i != 0:
        unmark(R, mark, S, qSp[qp])
        popcells(R, tape, S, qSp[qp])
        restore_tasks(R, lnext, lprev, qlast[qp])
        R[R_TIME] = qt[qp]
        F[F_P] = qPP[qp]
        F[F_TP] = float(R[R_T]) * F[F_P]
    nsq = R[R_NSQS]
    if i == nsq:
        return False
    total = vm.psum(R, tape)
    tmp = F[F_TP] / float(total * (R[R_TIME] + R[R_UNSOLVED]))
    while True:
        i += 1
        if i > nsq or not (tmp * float(vm.pn(R, tape, i)) < 1.0):
            break
    if i > nsq:
        return False
    qSQ[qp] = i
    qQ[qp] = i
    qpp[qp] = float(vm.pn(R, tape, i)) / float(total)
    F[F_P] = qPP[qp] * qpp[qp]
    F[F_TP] = float(R[R_T]) * F[F_P]
    R[R_PREFS] += 1
    return True


@njit(cache=True)
def backtrack(R, F, tape, mark, S, qQ, qSp, qlast, qSQ, qt, qpp, qPP, lnext, lprev):
    while R[R_QP] > R[R_AFROZEN] and not next_candidate(
        R, F, tape, mark, S, qQ, qSp, qlast, qSQ, qt, qpp, qPP, lnext, lprev
    ):
        R[R_QP] -= 1


@njit(cache=True)
def search_slice(R, F, tape, mark, S, qQ, qSp, qlast, qSQ, qt, qpp, qPP, OLD, lnext, lprev,
                 budget):
    """Continue the current search for about ``budget`` tokens.

    Returns RUNNING (budget used up; call again), SOLVED (every task of the ring solved; the
    program is q[start..qp]) or EXHAUSTED (no prefix left within T).
    """
    done = 0
    while True:
        R[R_HALT] = 0
        R[R_WHY] = 0
        while (R[R_UNSOLVED] != 0 and vm.ip_ok(R, tape, qQ) and R[R_HALT] == 0
               and float(R[R_TIME] + R[R_UNSOLVED]) <= F[F_TP]):
            if done >= budget:
                return RUNNING
            onestep(R, F, tape, mark, S, qQ, OLD, lnext, lprev)
            done += 1
        if R[R_UNSOLVED] == 0:
            R[R_DONE] = 1
            return SOLVED
        maybe_push_slot(R, F, tape, mark, S, qSp, qlast, qSQ, qt, qPP)
        backtrack(R, F, tape, mark, S, qQ, qSp, qlast, qSQ, qt, qpp, qPP, lnext, lprev)
        if R[R_QP] == R[R_AFROZEN]:
            return EXHAUSTED


# ---------------------------------------------------------------- the state, in Python
@dataclass
class SearchState:
    """Every array and register of the machine plus search; serializable (``state_dict``)."""

    R: np.ndarray = field(default_factory=lambda: np.zeros(vm.NREG, dtype=np.int64))
    F: np.ndarray = field(default_factory=lambda: np.zeros(vm.NFREG, dtype=np.float64))
    tape: np.ndarray = field(default_factory=lambda: np.zeros(NROWS * ROW, dtype=np.int64))
    mark: np.ndarray = field(default_factory=lambda: np.zeros(NROWS * ROW, dtype=np.uint8))
    S: np.ndarray = field(default_factory=lambda: np.zeros((1, 2), dtype=np.int64))
    qQ: np.ndarray = field(default_factory=lambda: np.zeros(AMAX + 2, dtype=np.int64))
    qSp: np.ndarray = field(default_factory=lambda: np.zeros(AMAX + 2, dtype=np.int64))
    qlast: np.ndarray = field(default_factory=lambda: np.zeros(AMAX + 2, dtype=np.int64))
    qSQ: np.ndarray = field(default_factory=lambda: np.zeros(AMAX + 2, dtype=np.int64))
    qt: np.ndarray = field(default_factory=lambda: np.zeros(AMAX + 2, dtype=np.int64))
    qpp: np.ndarray = field(default_factory=lambda: np.ones(AMAX + 2, dtype=np.float64))
    qPP: np.ndarray = field(default_factory=lambda: np.ones(AMAX + 2, dtype=np.float64))
    OLD: np.ndarray = field(default_factory=lambda: np.zeros((AMAX + 1, 2), dtype=np.int64))
    lnext: np.ndarray = field(default_factory=lambda: np.zeros(MAXTASK + 2, dtype=np.int64))
    lprev: np.ndarray = field(default_factory=lambda: np.zeros(MAXTASK + 2, dtype=np.int64))

    def ensure_stack(self, capacity: int) -> None:
        """Allocate the undo stack (entries 1..capacity); pages are touched only when used."""
        if self.S.shape[0] < capacity + 1:
            old = self.S
            self.S = np.empty((capacity + 1, 2), dtype=np.int64)
            self.S[: old.shape[0]] = old
        self.R[vm.R_SCAP] = capacity

    def slice(self, budget: int) -> int:
        return int(search_slice(self.R, self.F, self.tape, self.mark, self.S, self.qQ, self.qSp,
                                self.qlast, self.qSQ, self.qt, self.qpp, self.qPP, self.OLD,
                                self.lnext, self.lprev, budget))

    def state_dict(self) -> dict[str, Any]:
        sp = int(self.R[R_SP])
        qp = int(self.R[R_QP])
        oldp = int(self.R[vm.R_OLDP])
        return {
            "R": self.R.copy(), "F": self.F.copy(), "tape": self.tape.copy(),
            "mark_idx": np.flatnonzero(self.mark).astype(np.int64),
            "S": self.S[: sp + 1].copy(),
            "q": np.stack([self.qQ[: qp + 1], self.qSp[: qp + 1], self.qlast[: qp + 1],
                           self.qSQ[: qp + 1], self.qt[: qp + 1]]),
            "qf": np.stack([self.qpp[: qp + 1], self.qPP[: qp + 1]]),
            "OLD": self.OLD[: oldp + 1].copy(),
            "lnext": self.lnext.copy(), "lprev": self.lprev.copy(),
        }

    @classmethod
    def from_state_dict(cls, d: dict[str, Any], capacity: int = STACKSIZE) -> SearchState:
        st = cls()
        st.R[:] = d["R"]
        st.F[:] = d["F"]
        st.tape[:] = d["tape"]
        st.mark[np.asarray(d["mark_idx"], dtype=np.int64)] = 1
        s = np.asarray(d["S"], dtype=np.int64).reshape(-1, 2)
        st.ensure_stack(max(capacity, s.shape[0] - 1))
        st.S[: s.shape[0]] = s
        q = np.asarray(d["q"], dtype=np.int64)
        k = q.shape[1]
        st.qQ[:k], st.qSp[:k], st.qlast[:k], st.qSQ[:k], st.qt[:k] = q
        qf = np.asarray(d["qf"], dtype=np.float64)
        st.qpp[:k], st.qPP[:k] = qf
        o = np.asarray(d["OLD"], dtype=np.int64).reshape(-1, 2)
        st.OLD[: o.shape[0]] = o
        st.lnext[:] = d["lnext"]
        st.lprev[:] = d["lprev"]
        return st


def frame_ip_address(task: int) -> int:
    """Flat index of the main frame's ip cell of ``task`` (cp = 0)."""
    return task * ROW - (ACP + 1)


def begin_ring(st: SearchState, lo: int, hi: int, start: int) -> bool:
    """The original's searchring set-up: tasks lo..hi (a ring, hi first), every ip := start.

    Returns False (and changes nothing) when the ring has more tasks than T allows to start.
    """
    R = st.R
    unsolved = hi - lo + 1
    R[R_UNSOLVED] = unsolved
    if unsolved > R[R_T]:
        return False
    st.lprev[hi] = lo
    st.lnext[lo] = hi
    for task in range(lo, hi + 1):  # unrecorded: this is the tapes' initial state
        cp = st.tape[task * ROW - ACP]
        st.tape[task * ROW - (ACP + cp + 1)] = start
    R[vm.R_PUSHEN] = 1
    set_task(R, hi)
    R[R_TIME] = 0
    st.F[F_P] = 1.0
    st.F[F_TP] = float(R[R_T]) * 1.0
    R[R_DONE] = 0
    return True


def end_ring(st: SearchState, lo: int, hi: int) -> None:
    """Reset every tape and reopen the ring into the plain task list."""
    reset_all(st.R, st.tape, st.mark, st.S, st.lnext, st.lprev)
    st.lnext[lo] = lo - 1
    st.lprev[hi] = hi + 1


def lsearch(st: SearchState, lo: int, hi: int, start: int, T_max: int,
            budget: int = 1 << 62) -> tuple[bool, int]:
    """Plain Levin search: T = 1, 2, 4, ... up to T_max, one ring lo..hi from address ``start``.

    ``st`` must hold the machine (code q up to a_frozen = start-1, tapes initialised). Returns
    (solved, T at the end).
    """
    T = 1
    while T <= T_max:
        st.R[R_T] = T
        st.R[R_QP] = st.R[R_AFROZEN]
        if begin_ring(st, lo, hi, start):
            status = RUNNING
            while status == RUNNING:
                status = st.slice(budget)
            end_ring(st, lo, hi)
            if status == SOLVED:
                return True, T
        T *= 2
    return False, T // 2
