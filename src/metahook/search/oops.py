"""The Optimal Ordered Problem Solver (OOPS), as the original experiment program runs it.

Schmidhuber, "Optimal Ordered Problem Solver", Machine Learning 54:211-254 (2004), Method 4.2,
Sec. 6. Tasks n = 1, 2, ... are solved in order; for task n, with T = 1, 2, 4, ...:

1. **prolongation**: a search (:mod:`metahook.search.levin`) on task n alone, from ``a_last``
   (the start of the most recent solver): the frozen solver runs first, and every token it
   requests beyond ``a_frozen`` is searched; then
2. **fresh**: a search on the ring of tasks 1..n (skipped while n > T), from ``a_frozen + 1``.

Both use the full T (the program has no T/2 split). On success the code up to qp is frozen
(``a_frozen := qp``); when a fresh program supersedes the previous solver, the code from the
old ``a_last`` up to the new start becomes one entry of the frozen-program list ``old`` (after the
7 declared programs), which ``boostq``, ``getq``, ``insq`` and ``oldq`` can refer to.

The experiment has two phases: 1^n2^n for n = 1..30, then Towers of Hanoi for n = 1..30, each
phase starting from its own initial distribution (see :mod:`metahook.envs.oops_tasks`). The
frozen code carries over.

:class:`OOPS` holds the whole state in numpy arrays and a few integers; :meth:`OOPS.advance`
runs it for a budget of tokens and returns the tasks solved meanwhile, so a caller can
checkpoint (``state_dict``/``load_state_dict``) between calls with no effect on the result: it
is a :class:`metahook.search.protocols.ProgramSearch`. A phase names a registered task set
(:class:`metahook.envs.oops_tasks.OOPSTaskSet`), whose goal kernel the search compiles in; a
phase may pose as many tasks as its set allows (``max_tasks``, the original's 30 by default).

Glossary: ``a_last`` start of the last solver, ``a_frozen`` end of frozen code, ``old`` list of
frozen programs, ``T`` time limit of a round, ``prefs``/``insts``/``totalt``/``topt``/``topSp``
the program's counters (see :mod:`metahook.search.levin`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.envs.oops_tasks import (
    GOAL_1N2N,
    GOAL_HANOI,
    TASK_NAMES,
    TASK_SETS,
    init_all,
    task_set,
)
from metahook.machines.forth import instructions as ins
from metahook.machines.forth import vm
from metahook.machines.forth.asm import disassemble
from metahook.machines.forth.layout import MAXLOLO, MAXTASK, NQ, NSQ, STACKSIZE
from metahook.search.levin import (
    EXHAUSTED,
    RUNNING,
    SOLVED,
    SearchState,
    begin_ring,
    end_ring,
)

PROLONG = 0
FRESH = 1


def next_search(T: int, kind: int) -> tuple[int, int] | None:
    """The search after (T, kind) in the original's order: prolongation(T), fresh(T),
    prolongation(2T), ...; None after its last T (the program's "T: CRASH")."""
    if kind == PROLONG:
        return T, FRESH
    if T >= MAXLOLO // 2:
        return None
    return 2 * T, PROLONG


@dataclass
class Solved:
    """One solved task: where, what, and the program's counters at that moment."""

    phase: str
    n: int
    program: list[int]  # token numbers, q[start..end]
    start: int
    end: int
    kind: str  # "prolongation" or "fresh"
    T: int
    totalt: int
    prefs: int
    insts: int
    topt: int
    topSp: int

    def text(self) -> str:
        return disassemble(self.program)

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.phase, "n": self.n, "program": self.text(), "start": self.start,
                "end": self.end, "kind": self.kind, "T": self.T, "totalt": self.totalt,
                "prefs": self.prefs, "insts": self.insts, "topt": self.topt, "topSp": self.topSp}


def prewired_state(stack_capacity: int = STACKSIZE, extended: bool = False,
                   n_tapes: int = MAXTASK) -> SearchState:
    """A machine with ``n_tapes`` task tapes and the 7 declared programs written into q[1..76]
    (frozen programs 1..7)."""
    st = SearchState(stack_capacity, n_tapes)
    R = st.R
    qp = 0
    for k, d in enumerate(ins.DECLARED, start=1):
        st.OLD[k] = (qp + 1, len(d.body))
        for nm in d.body:
            qp += 1
            st.qQ[qp] = ins.number(nm)
    assert np.array_equal(st.OLD[1:8, 0], vm.DECL_START)
    R[vm.R_QP] = qp
    R[vm.R_AFROZEN] = qp
    R[vm.R_ALAST] = qp + 1
    R[vm.R_OLDP] = len(ins.DECLARED)
    R[vm.R_NDECL] = len(ins.DECLARED)
    R[vm.R_NQS] = ins.N_EXTENDED if extended else NQ
    R[vm.R_NSQS] = NSQ
    R[vm.R_UPSQ] = NSQ
    st.M[vm.QSP0 + qp] = 0
    return st


def freeze_solver(st: SearchState) -> None:
    """Freeze the program just found, q[a_current..qp], as the solver (``a_frozen := qp``); a
    fresh program that supersedes the solver starting at ``a_last`` turns the code from ``a_last``
    up to its start into a new entry of the frozen-program list ``old``; ``a_last := a_current``."""
    R = st.R
    qp, acurrent = int(R[vm.R_QP]), int(R[vm.R_ACURRENT])
    R[vm.R_AFROZEN] = qp
    if R[vm.R_ALAST] != acurrent:
        R[vm.R_OLDP] += 1
        st.OLD[R[vm.R_OLDP]] = (R[vm.R_ALAST], acurrent - R[vm.R_ALAST])
    R[vm.R_ALAST] = acurrent
    st.M[vm.QSP0 + qp] = 0


def reset_task_list(st: SearchState) -> None:
    """The open chain of all tasks (next = i-1, prev = i+1); no task solved."""
    for i in range(1, st.n_tapes + 1):
        st.lnext[i] = i - 1
        st.lprev[i] = i + 1
    st.R[vm.R_ANCHOR] = 0


class OOPS:
    """OOPS over a sequence of task phases; see the module docstring.

    ``phases`` is a sequence of (task name, highest n), e.g. ``(("1n2n", 30), ("hanoi", 30))``.
    The machine has ``n_tapes`` task tapes: by default the original's 30, or the highest n of
    the phases if that is more (extra tapes never change the counters; see
    :mod:`metahook.machines.forth.layout`).
    """

    def __init__(self, phases: tuple[tuple[str, int], ...] = (("1n2n", 30), ("hanoi", 30)),
                 stack_capacity: int = STACKSIZE, n_tapes: int | None = None) -> None:
        for task, n_max in phases:
            if task not in TASK_SETS:
                raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASK_SETS)}")
            limit = task_set(task).max_tasks
            if not 1 <= n_max <= limit:
                raise ValueError(f"n must be in 1..{limit}, got {n_max}")
        if not phases:
            raise ValueError("at least one phase is needed")
        self.phases = tuple((str(t), int(n)) for t, n in phases)
        highest = max(n for _, n in self.phases)
        if n_tapes is None:
            n_tapes = max(MAXTASK, highest)
        if n_tapes < highest:
            raise ValueError(f"n_tapes={n_tapes} is fewer than the highest task {highest}")
        self.st = prewired_state(stack_capacity, n_tapes=n_tapes)
        self.phase = 0
        self.n = 1
        self.stage = PROLONG
        self.active = False
        self.finished = False
        self.solved: list[Solved] = []
        self._start_phase()
        self.st.R[vm.R_T] = 1

    def preload(self, solvers: list[list[int]]) -> None:
        """Freeze ``solvers`` as if earlier tasks had been solved by them, each a fresh program.

        Each solver is written after the frozen code; every one but the last becomes an entry of
        the frozen-program list (as a superseded solver does), the last is ``a_last``. Used to
        start a phase from the code an earlier phase froze; the counters stay at zero.
        """
        st, R = self.st, self.st.R
        for k, prog in enumerate(solvers):
            start = int(R[vm.R_AFROZEN]) + 1
            for j, tok in enumerate(prog):
                st.qQ[start + j] = tok
            R[vm.R_QP] = start + len(prog) - 1
            R[vm.R_ACURRENT] = start
            if k == 0 and R[vm.R_ALAST] == start:
                R[vm.R_AFROZEN] = R[vm.R_QP]
                st.M[vm.QSP0 + R[vm.R_QP]] = 0
                continue
            R[vm.R_AFROZEN] = R[vm.R_QP]
            if R[vm.R_ALAST] != start:
                R[vm.R_OLDP] += 1
                st.OLD[R[vm.R_OLDP]] = (R[vm.R_ALAST], start - R[vm.R_ALAST])
            R[vm.R_ALAST] = start
            st.M[vm.QSP0 + R[vm.R_QP]] = 0

    # ------------------------------------------------------------ phases
    @property
    def goal(self) -> int:
        """The code of the current phase's task set (the machine's ``R_GOAL``)."""
        return task_set(self.phases[self.phase][0]).code

    def _start_phase(self) -> None:
        st = self.st
        st.R[vm.R_PUSHEN] = 0
        reset_task_list(st)
        init_all(st.tape, self.goal)
        st.R[vm.R_GOAL] = self.goal
        st.R[vm.R_PUSHEN] = 1

    # ------------------------------------------------------------ the loop
    def advance(self, tokens: int) -> list[Solved]:
        """Run for about ``tokens`` executed tokens (or until finished); return the tasks solved."""
        st, R = self.st, self.st.R
        events: list[Solved] = []
        start_insts = int(R[vm.R_INSTS])
        while not self.finished:
            left = tokens - (int(R[vm.R_INSTS]) - start_insts)
            if left <= 0:
                break
            if not self.active:
                if self.stage == PROLONG:
                    R[vm.R_ACURRENT] = R[vm.R_ALAST]
                    lo = hi = self.n
                else:
                    R[vm.R_ACURRENT] = R[vm.R_AFROZEN] + 1
                    lo, hi = 1, self.n
                if not begin_ring(st, lo, hi, int(R[vm.R_ACURRENT])):
                    self._next_stage()
                    continue
                self.active = True
            status = st.slice(left)
            if status == RUNNING:
                break
            lo, hi = (self.n, self.n) if self.stage == PROLONG else (1, self.n)
            end_ring(st, lo, hi)
            self.active = False
            if status == SOLVED:
                events.append(self._freeze())
            else:
                assert status == EXHAUSTED
                self._next_stage()
        self.solved.extend(events)
        return events

    def _next_stage(self) -> None:
        nxt = next_search(int(self.st.R[vm.R_T]), self.stage)
        if nxt is None:
            self.stage, self.finished = PROLONG, True
            return
        self.st.R[vm.R_T], self.stage = nxt

    def _freeze(self) -> Solved:
        st, R = self.st, self.st.R
        qp = int(R[vm.R_QP])
        acurrent = int(R[vm.R_ACURRENT])
        ev = Solved(phase=self.phases[self.phase][0], n=self.n,
                    program=[int(x) for x in st.qQ[acurrent:qp + 1]], start=acurrent, end=qp,
                    kind="prolongation" if self.stage == PROLONG else "fresh", T=int(R[vm.R_T]),
                    totalt=int(R[vm.R_TOTALT]), prefs=int(R[vm.R_PREFS]),
                    insts=int(R[vm.R_INSTS]), topt=int(R[vm.R_TOPT]), topSp=int(R[vm.R_TOPSP]))
        freeze_solver(st)
        # next task
        self.n += 1
        self.stage = PROLONG
        R[vm.R_T] = 1
        if self.n > self.phases[self.phase][1]:
            self.phase += 1
            self.n = 1
            if self.phase >= len(self.phases):
                self.finished = True
            else:
                self._start_phase()
        return ev

    # ------------------------------------------------------------ counters
    def counters(self) -> dict[str, int]:
        R = self.st.R
        return {"totalt": int(R[vm.R_TOTALT]), "prefs": int(R[vm.R_PREFS]),
                "insts": int(R[vm.R_INSTS]), "topt": int(R[vm.R_TOPT]),
                "topSp": int(R[vm.R_TOPSP]), "T": int(R[vm.R_T]),
                "off_memory_scans": int(R[vm.R_OFFMEM])}

    def where(self) -> str:
        if self.finished:
            return "finished"
        task = self.phases[self.phase][0]
        stage = "prolongation" if self.stage == PROLONG else "fresh"
        return f"{task} n={self.n} T=2^{int(self.st.R[vm.R_T]).bit_length() - 1} {stage}"

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "phases": [[t, n] for t, n in self.phases],
            "phase": self.phase, "n": self.n, "stage": self.stage, "active": self.active,
            "finished": self.finished,
            "solved": [dict(s.__dict__) for s in self.solved],
            "machine": self.st.state_dict(),
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Continue from ``d`` (the phases are the checkpoint's)."""
        self.phases = tuple((str(t), int(n)) for t, n in d["phases"])
        self.st = SearchState.from_state_dict(d["machine"])
        self.phase = int(d["phase"])
        self.n = int(d["n"])
        self.stage = int(d["stage"])
        self.active = bool(d["active"])
        self.finished = bool(d["finished"])
        self.solved = [Solved(**{**s, "program": [int(x) for x in s["program"]]})
                       for s in d["solved"]]

    @classmethod
    def from_state_dict(cls, d: dict[str, Any]) -> OOPS:
        obj = cls.__new__(cls)
        obj.load_state_dict(d)
        return obj


__all__ = ["GOAL_1N2N", "GOAL_HANOI", "OOPS", "TASK_NAMES", "Solved", "freeze_solver",
           "next_search", "prewired_state"]
