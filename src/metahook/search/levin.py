"""Bias-optimal search over the OOPS language: Levin search's ``Try`` as the original runs it.

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

from typing import Any

import numba
import numpy as np
from numba import njit

from metahook.envs.oops_tasks import call_goal, task_set
from metahook.machines.forth import vm
from metahook.machines.forth.cachecheck import ensure_fresh
from metahook.machines.forth.layout import ACP, AMAX, MAXTASK, ROW, STACKSIZE
from metahook.machines.forth.pointers import f64_ptr, i64_ptr
from metahook.machines.forth.vm import (
    F_P,
    F_TP,
    LNEXT0,
    LPREV0,
    MOFF,
    Q0,
    QLAST0,
    QPP0,
    QPPP0,
    QSP0,
    QSQ0,
    QT0,
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
    S0,
    TAPE0,
)

RUNNING = 0
SOLVED = 1
EXHAUSTED = 2


# ---------------------------------------------------------------- task ring
@njit(cache=True, forceinline=True)
def set_task(M, task):
    M[R_TASK] = task
    M[R_ROW] = TAPE0 + task * ROW


@njit(cache=True, forceinline=True)
def remove_task(M):
    task = M[R_TASK]
    M[R_UNSOLVED] -= 1
    nxt = M[LNEXT0 + task]
    prv = M[LPREV0 + task]
    M[LNEXT0 + prv] = nxt
    M[LPREV0 + nxt] = prv
    M[LPREV0 + task] = M[R_ANCHOR]
    M[R_ANCHOR] = task


@njit(cache=True, forceinline=True)
def reinsert_task(M):
    M[R_UNSOLVED] += 1
    task = M[R_ANCHOR]
    set_task(M, task)
    M[R_ANCHOR] = M[LPREV0 + task]
    nxt = M[LNEXT0 + task]
    M[LPREV0 + task] = M[LPREV0 + nxt]
    M[LPREV0 + nxt] = task
    M[LNEXT0 + M[LPREV0 + task]] = task


@njit(cache=True, forceinline=True)
def restore_tasks(M, below):
    while M[R_ANCHOR] != below:
        reinsert_task(M)


# ---------------------------------------------------------------- undo stack
@njit(cache=True, forceinline=True)
def unmark(M, ptr):
    pp = M[R_SP]
    while pp > ptr:
        M[M[S0 + 2 * pp] + MOFF] = 0
        pp -= 1


@njit(cache=True)
def reset_all(M):
    """After a search: every tape back to its initial state, every solved task back in the list."""
    vm.restore_cells(M, 0)
    restore_tasks(M, 0)


# ---------------------------------------------------------------- one search
@njit(cache=True, forceinline=True)
def onestep(M, F, goal):
    vm.step(M, F)
    if call_goal(goal, M, M[R_ROW], M[R_TASK]):
        remove_task(M)
    set_task(M, M[LNEXT0 + M[R_TASK]])


@njit(cache=True, forceinline=True)
def maybe_push_slot(M, F):
    """A token request at qp+1 opens a new slot if the time left allows any token at all."""
    if M[R_HALT] != 0 or vm.frame(M, 1) != M[R_QP] + 1:
        return
    if F[F_TP] * float(vm.pmax(M)) < float((M[R_TIME] + M[R_UNSOLVED]) * vm.psum(M)):
        return
    qp = M[R_QP]
    if qp >= AMAX:
        return
    unmark(M, M[QSP0 + qp])
    qp += 1
    M[R_QP] = qp
    M[QLAST0 + qp] = M[R_ANCHOR]
    M[QSP0 + qp] = M[R_SP]
    M[QSQ0 + qp] = 0
    M[QT0 + qp] = M[R_TIME]
    F[QPPP0 + qp] = F[F_P]


@njit(cache=True, forceinline=True)
def next_candidate(M, F):
    """Place the next admissible token in the top slot (restoring the slot's state first)."""
    qp = M[R_QP]
    i = M[QSQ0 + qp]
    if i != 0:
        vm.restore_cells(M, M[QSP0 + qp])
        restore_tasks(M, M[QLAST0 + qp])
        M[R_TIME] = M[QT0 + qp]
        F[F_P] = F[QPPP0 + qp]
        F[F_TP] = float(M[R_T]) * F[F_P]
    nsq = M[R_NSQS]
    if i == nsq:
        return False
    total = vm.psum(M)
    tmp = F[F_TP] / float(total * (M[R_TIME] + M[R_UNSOLVED]))
    while True:
        i += 1
        if i > nsq or not (tmp * float(vm.pn(M, i)) < 1.0):
            break
    if i > nsq:
        return False
    M[QSQ0 + qp] = i
    M[Q0 + qp] = i
    F[QPP0 + qp] = float(vm.pn(M, i)) / float(total)
    F[F_P] = F[QPPP0 + qp] * F[QPP0 + qp]
    F[F_TP] = float(M[R_T]) * F[F_P]
    M[R_PREFS] += 1
    return True


@njit(cache=True, forceinline=True)
def backtrack(M, F):
    while M[R_QP] > M[R_AFROZEN] and not next_candidate(M, F):
        M[R_QP] -= 1


@njit(cache=True)
def search_core(M, F, budget, goal):
    """Continue the current search for about ``budget`` tokens; ``goal`` is the key of the task
    set whose goal kernel is compiled in (:func:`metahook.envs.oops_tasks.call_goal`).

    Returns RUNNING (budget used up; call again), SOLVED (every task of the ring solved; the
    program is q[start..qp]) or EXHAUSTED (no prefix left within T).
    """
    done = 0
    while True:
        M[R_HALT] = 0
        M[R_WHY] = 0
        while (M[R_UNSOLVED] != 0 and vm.ip_ok(M) and M[R_HALT] == 0
               and float(M[R_TIME] + M[R_UNSOLVED]) <= F[F_TP]):
            if done >= budget:
                return RUNNING
            onestep(M, F, goal)
            done += 1
        if M[R_TIME] > M[vm.R_MAXT]:  # t and Sp only grow during a run: their maxima
            M[vm.R_MAXT] = M[R_TIME]
        if M[R_SP] > M[vm.R_MAXSP]:
            M[vm.R_MAXSP] = M[R_SP]
        if M[R_UNSOLVED] == 0:
            M[R_DONE] = 1
            return SOLVED
        maybe_push_slot(M, F)
        backtrack(M, F)
        if M[R_QP] == M[R_AFROZEN]:
            return EXHAUSTED


@njit(cache=True)
def search_kernel(M_arr, F_arr, budget, goal):
    """:func:`search_core` on the arrays, specialised for the constant ``goal`` key."""
    numba.literally(goal)
    return search_core(i64_ptr(M_arr), f64_ptr(F_arr), budget, goal)


_SPECIALISED: dict[tuple[int, int], Any] = {}


def specialised(dispatcher: Any, key: int) -> Any:
    """``dispatcher``'s compiled specialisation for the constant last argument ``key``.

    A call through the dispatcher with a plain int retypes the function each time before it
    finds the literal specialisation (~15 ms); the specialisation's entry point is called
    directly instead, once it exists. Under ``NUMBA_DISABLE_JIT`` the function itself.
    """
    fn = _SPECIALISED.get((id(dispatcher), key))
    if fn is not None:
        return fn
    overloads = getattr(dispatcher, "overloads", None)
    if overloads is None:
        return dispatcher
    for sig, cres in list(overloads.items()):
        last = sig[-1]
        if isinstance(last, numba.types.IntegerLiteral) and last.literal_value == key:
            _SPECIALISED[(id(dispatcher), key)] = cres.entry_point
            return cres.entry_point
    return dispatcher  # the first call compiles it (or loads it from the cache)


def search_slice(M_arr: np.ndarray, F_arr: np.ndarray, budget: int) -> int:
    """Continue the current search in ``M_arr``/``F_arr`` for about ``budget`` tokens, under the
    task set whose code is in the ``R_GOAL`` register; see :func:`search_core`."""
    key = task_set(int(M_arr[R_GOAL])).key
    return int(specialised(search_kernel, key)(M_arr, F_arr, budget, key))


# ---------------------------------------------------------------- the state, in Python
class SearchState:
    """The machine and search state: ``M`` (int64) and ``F`` (float64), see :mod:`.vm`.

    ``n_tapes`` task tapes (the original's 30 by default, at most ``MAX_TAPES``; more tapes
    never change the counters of tasks 1..30, see :mod:`metahook.machines.forth.layout`).
    ``M`` has room for ``MAX_TAPES`` tapes at fixed offsets; the room of tapes not in use is
    never written, so no memory backs it. Views with the paper's names (``tape``, ``qQ``,
    ``OLD``, ...) are for Python-side set-up and inspection; the compiled code works on ``M``
    and ``F`` directly.
    """

    def __init__(self, stack_capacity: int = STACKSIZE, n_tapes: int = MAXTASK) -> None:
        vm.tape_cells(n_tapes)  # checks the range
        self.M = np.zeros(vm.memory_size(stack_capacity), dtype=np.int64)
        self.F = np.zeros(vm.NF, dtype=np.float64)
        self.M[vm.R_SCAP] = stack_capacity
        self.M[vm.R_NTAPES] = n_tapes
        self.F[vm.QPP0:] = 1.0

    @property
    def n_tapes(self) -> int:
        return int(self.M[vm.R_NTAPES])

    @property
    def R(self) -> np.ndarray:
        return self.M[: vm.NREG]

    @property
    def tape(self) -> np.ndarray:
        """The tapes in use, rows 0..n_tapes (address a of task r at ``tape[r * ROW - a]``)."""
        return self.M[TAPE0: TAPE0 + vm.tape_cells(self.n_tapes)]

    @property
    def qQ(self) -> np.ndarray:
        return self.M[Q0: Q0 + AMAX + 2]

    @property
    def OLD(self) -> np.ndarray:
        return self.M[vm.OLD0: vm.OLD0 + 2 * (AMAX + 1)].reshape(AMAX + 1, 2)

    @property
    def lnext(self) -> np.ndarray:
        return self.M[LNEXT0: LNEXT0 + self.n_tapes + 2]

    @property
    def lprev(self) -> np.ndarray:
        return self.M[LPREV0: LPREV0 + self.n_tapes + 2]

    @property
    def undo(self) -> np.ndarray:
        """The undo stack's used entries: rows of (flat index into ``M``, old value)."""
        return self.M[S0 + 2: S0 + 2 * int(self.M[vm.R_SP]) + 2].reshape(-1, 2)

    def grow(self, n_tapes: int) -> None:
        """Use ``n_tapes`` tapes (at least as many as now); the new ones are zero and outside the
        task list. Nothing moves: every tape's room is there from the start."""
        if n_tapes < self.n_tapes:
            raise ValueError(f"cannot shrink {self.n_tapes} tapes to {n_tapes}")
        vm.tape_cells(n_tapes)
        self.M[vm.R_NTAPES] = n_tapes

    def slice(self, budget: int) -> int:
        """Continue the search for about ``budget`` tokens under the task set in ``R_GOAL``."""
        return search_slice(self.M, self.F, budget)

    def state_dict(self) -> dict[str, Any]:
        """Registers, code and task list, the tapes in use and their marks, the used undo stack."""
        cells = vm.tape_cells(self.n_tapes)
        used = S0 + 2 * (int(self.M[vm.R_SP]) + 1)
        return {"M": self.M[:TAPE0].copy(), "tapes": self.M[TAPE0: TAPE0 + cells].copy(),
                "marks": self.M[vm.MARK0: vm.MARK0 + cells].copy(),
                "undo": self.M[S0: used].copy(), "F": self.F.copy(),
                "stack_capacity": int(self.M[vm.R_SCAP]), "n_tapes": self.n_tapes}

    def copy(self, into: SearchState | None = None) -> SearchState:
        """An independent copy (what ``from_state_dict(state_dict())`` gives, copied once).

        ``into``, a state of the same stack capacity and number of tapes, is overwritten and
        returned instead of a new one (its memory pages are written already). What it keeps of
        its own lies only where nothing is read before it is written: the undo stack above
        ``Sp`` and the room of tapes not in use."""
        cap = int(self.M[vm.R_SCAP])
        if into is not None and int(into.M[vm.R_SCAP]) == cap and into.n_tapes == self.n_tapes:
            st = into
        else:
            st = SearchState(cap, self.n_tapes)
        cells = vm.tape_cells(self.n_tapes)
        used = S0 + 2 * (int(self.M[vm.R_SP]) + 1)
        st.M[:TAPE0] = self.M[:TAPE0]
        st.M[TAPE0: TAPE0 + cells] = self.M[TAPE0: TAPE0 + cells]
        st.M[vm.MARK0: vm.MARK0 + cells] = self.M[vm.MARK0: vm.MARK0 + cells]
        st.M[S0: used] = self.M[S0: used]
        st.F[:] = self.F
        return st

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> SearchState:
        """The state ``d`` describes; a checkpoint without ``n_tapes`` (written before the
        number of tapes was a parameter) is converted from the old memory map."""
        m = np.asarray(d["M"], dtype=np.int64)
        cap = int(d["stack_capacity"])
        if "n_tapes" not in d:
            st = cls(cap)
            st._load_legacy(m)
        else:
            st = cls(cap, int(d["n_tapes"]))
            cells = vm.tape_cells(st.n_tapes)
            st.M[:TAPE0] = m
            st.M[TAPE0: TAPE0 + cells] = np.asarray(d["tapes"], dtype=np.int64)
            st.M[vm.MARK0: vm.MARK0 + cells] = np.asarray(d["marks"], dtype=np.int64)
            undo = np.asarray(d["undo"], dtype=np.int64)
            st.M[S0: S0 + undo.shape[0]] = undo
        st.F[:] = np.asarray(d["F"], dtype=np.float64)
        return st

    def _load_legacy(self, m: np.ndarray) -> None:
        """``m`` in the old memory map (30 tapes, then the code), cut after its used undo stack."""
        old, M = vm.LEGACY, self.M
        M[:vm.NREG] = m[:vm.NREG]
        M[vm.R_NTAPES] = MAXTASK
        M[Q0: LNEXT0] = m[old.q0: old.q0 + (LNEXT0 - Q0)]
        M[LNEXT0: LNEXT0 + MAXTASK + 2] = m[old.lnext0: old.lnext0 + MAXTASK + 2]
        M[LPREV0: LPREV0 + MAXTASK + 2] = m[old.lprev0: old.lprev0 + MAXTASK + 2]
        M[TAPE0: TAPE0 + old.ncells] = m[old.tape0: old.tape0 + old.ncells]
        M[vm.MARK0: vm.MARK0 + old.ncells] = m[old.mark0: old.mark0 + old.ncells]
        sp = int(M[vm.R_SP])
        shift = TAPE0 - old.tape0  # flat indices of tape cells move with the tapes
        S = m[old.s0 + 2: old.s0 + 2 * sp + 2].reshape(-1, 2)
        U = M[S0 + 2: S0 + 2 * sp + 2].reshape(-1, 2)
        U[:, 0] = S[:, 0] + shift
        U[:, 1] = S[:, 1]
        if M[R_ROW] != 0:
            M[R_ROW] += shift


def begin_ring(st: SearchState, lo: int, hi: int, start: int) -> bool:
    """The original's searchring set-up: tasks lo..hi (a ring, hi first), every ip := start.

    Returns False (and changes nothing else) when the ring has more tasks than T allows to start.
    """
    R, tape = st.R, st.tape
    unsolved = hi - lo + 1
    R[R_UNSOLVED] = unsolved
    if unsolved > R[R_T]:
        return False
    st.lprev[hi] = lo
    st.lnext[lo] = hi
    for task in range(lo, hi + 1):  # unrecorded: this is the tapes' initial state
        cp = tape[task * ROW - ACP]
        tape[task * ROW - (ACP + cp + 1)] = start
    R[vm.R_PUSHEN] = 1
    set_task(st.M, hi)
    R[R_TIME] = 0
    st.F[F_P] = 1.0
    st.F[F_TP] = float(R[R_T]) * 1.0
    R[R_DONE] = 0
    return True


def end_ring(st: SearchState, lo: int, hi: int) -> None:
    """Reset every tape and reopen the ring into the plain task list."""
    reset_all(st.M)
    st.lnext[lo] = lo - 1
    st.lprev[hi] = hi + 1


def lsearch(st: SearchState, lo: int, hi: int, start: int, T_max: int,
            budget: int = 1 << 62) -> tuple[bool, int]:
    """Plain Levin search: T = 1, 2, 4, ... up to T_max, one ring lo..hi from address ``start``.

    ``st`` must hold the machine (code q up to a_frozen = start-1, tapes initialised). Returns
    (solved, T at the end).
    """
    T = 1
    while T_max >= T:
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


ensure_fresh([search_kernel, search_core])
