"""PowerPlay on the OOPS language: tasks on the machine's tapes, modifications by OOPS's search.

Schmidhuber, PowerPlay (Frontiers in Psychology 4:313, 2013), Sec. 4's implementation on a
universal self-modifying language, with the Optimal Ordered Problem Solver (Machine Learning
54:211-254, 2004) as the bias-optimal search of solver modifications:

* **solver** ``s``: the frozen code of the OOPS machine (:mod:`metahook.machines.forth`) and its
  entry ``a_last``; ``s`` runs a task by starting at ``a_last`` on the task's tape and passes when
  the task's goal holds within ``task_steps`` time steps (:mod:`metahook.envs.powerplay_tasks`).
* **tasks** ``(x, y)``: start with ``ds = x``, make ``ds`` end with ``y``; enumerated by their
  description length (:func:`metahook.envs.powerplay_tasks.tasks_up_to`).
* **modification** for a task given the share ``T`` of a phase, in OOPS's own order: first a
  *prolongation* (the search on the new task alone from ``a_last``: the frozen solver runs first
  and every token it requests beyond ``a_frozen`` is searched), then a *fresh* program (the search
  on the ring of every repertoire task plus the new one, from ``a_frozen + 1``; it may call the
  earlier solvers, which become entries of the frozen-program list ``old``). The found code is
  frozen, never edited: reuse shows as calls to frozen code.
* **compression task**: a fresh program on the ring of the repertoire whose goal also requires
  the ring's total time to stay below the current solver's total (a cap the goal kernel reads).
* **components** (for dependency tracking): ``ENTRY`` (0), the solver's entry, and every code
  address ``>= 77`` (the first address after the 7 prewired programs, which never change). A
  task's used set is its entry plus the code addresses its run executed; a prolongation changes
  only addresses beyond ``a_frozen``, which no solved task's run reached, so it re-tests nothing;
  a fresh program changes the entry, so every task is re-run.

:func:`run_solver` runs a solver image on a task through the machine's interpreter alone (no
search code); ``metahook powerplay verify`` uses it on a saved run.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from metahook.envs.oops_tasks import ds_of
from metahook.envs.powerplay_tasks import (
    POWERPLAY,
    ForthTask,
    check_output,
    set_cap,
    tasks_up_to,
    write_task,
)
from metahook.machines.forth import vm
from metahook.machines.forth.asm import disassemble
from metahook.machines.forth.layout import ACP, MAX_TAPES, MAXTASK, ROW
from metahook.rsi.powerplay.core import Candidate, Outcome
from metahook.search.direct import STOP_BUDGET, STOP_HALTED, STOP_SOLVED, STOP_TIME, run_slice
from metahook.search.levin import SOLVED, SearchState, begin_ring, end_ring, set_task
from metahook.search.oops import freeze_solver, prewired_state, reset_task_list

ENTRY = 0  # the component "the solver's entry address"
FIRST_CODE = 77  # first code address after the prewired programs
RUNNER_STACK = 1 << 12
_EXECUTED = (STOP_BUDGET, STOP_SOLVED, STOP_HALTED)  # stops after running the instruction


@dataclass
class SolverImage:
    """What a solver is, as data: code ``q[1..end]``, the frozen-program list, the entry."""

    code: np.ndarray  # int64, q[1..end]
    old: np.ndarray  # int64 (k, 2): frozen programs 1..k as (start, size)
    entry: int

    @classmethod
    def of(cls, st: SearchState, entry: int, end: int) -> SolverImage:
        oldp = int(st.R[vm.R_OLDP])
        return cls(st.qQ[1:end + 1].copy(), st.OLD[1:oldp + 1].copy(), int(entry))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"code": self.code, "old": self.old, "entry": np.array([self.entry])}

    @classmethod
    def from_arrays(cls, d: dict[str, Any]) -> SolverImage:
        return cls(np.asarray(d["code"], dtype=np.int64),
                   np.asarray(d["old"], dtype=np.int64).reshape(-1, 2),
                   int(np.asarray(d["entry"]).reshape(-1)[0]))

    def text(self) -> str:
        """The solver's code from its entry."""
        return disassemble([int(t) for t in self.code[self.entry - 1:]])


class SolverRunner:
    """A one-tape machine that runs solver images on tasks (the interpreter, no search)."""

    def __init__(self) -> None:
        self.st = prewired_state(RUNNER_STACK, n_tapes=1)
        self._image: SolverImage | None = None

    def load(self, image: SolverImage) -> None:
        if self._image is image:
            return
        st, R = self.st, self.st.R
        end = len(image.code)
        st.qQ[1:end + 1] = image.code
        st.OLD[1:len(image.old) + 1] = image.old
        R[vm.R_OLDP] = len(image.old)
        R[vm.R_QP] = end
        R[vm.R_AFROZEN] = end
        R[vm.R_ALAST] = image.entry
        self._image = image

    def run(self, image: SolverImage, task: ForthTask, max_steps: int,
            trace: bool = False) -> Outcome:
        """``image`` on ``task`` for at most ``max_steps`` time steps (the goal tested after
        every instruction); with ``trace``, the code addresses executed become ``used``."""
        self.load(image)
        st, R, F = self.st, self.st.R, self.st.F
        write_task(st.tape, 1, task)
        st.tape[ROW - (ACP + 1)] = image.entry
        R[vm.R_GOAL] = POWERPLAY.code
        R[vm.R_TIME] = 0
        R[vm.R_T] = max_steps
        R[vm.R_PUSHEN] = 0
        R[vm.R_UNSOLVED] = 1
        R[vm.R_SP] = 0
        F[vm.F_P] = 1.0
        F[vm.F_TP] = float(max_steps)
        set_task(st.M, 1)
        used = {ENTRY}
        if trace:
            tape = st.tape
            while True:
                ip = int(tape[ROW - (ACP + 1 + int(tape[ROW - ACP]))])
                code = int(run_slice(st.M, st.F, 1))
                if code in _EXECUTED and ip >= FIRST_CODE:
                    used.add(ip)
                if code != STOP_BUDGET:
                    break
        else:
            code = int(run_slice(st.M, st.F, max_steps + 1))
        solved = code == STOP_SOLVED
        if solved and not check_output(ds_of(st.tape, 1), task):
            raise AssertionError(f"goal kernel and verifier disagree on {task.text()}")
        out_of_time = code == STOP_TIME or (code == STOP_HALTED
                                            and int(R[vm.R_WHY]) == vm.H_TIME)
        return Outcome(solved, int(R[vm.R_TIME]), frozenset(used) if trace else frozenset(),
                       timed_out=out_of_time)


def run_solver(image: SolverImage, task: ForthTask, max_steps: int) -> Outcome:
    """Run a solver image on one task on a machine of its own (``metahook powerplay verify``)."""
    return SolverRunner().run(image, task, max_steps)


class ForthDomain:
    """PowerPlay's solver and task space on the OOPS machine (see the module docstring)."""

    def __init__(self, task_steps: int = 1000, min_share: int = 2,
                 stack_capacity: int = 1 << 21) -> None:
        if task_steps < 1:
            raise ValueError("task_steps must be >= 1")
        if min_share < 1:
            raise ValueError("min_share must be >= 1")
        self.task_steps = task_steps
        # Pairs with a smaller share are skipped: below a few hundred steps the interpreter's
        # per-pair overhead (a Python call, tape set-up) exceeds the pair's own time.
        self.min_share = min_share
        self.st = prewired_state(stack_capacity, n_tapes=MAXTASK)
        R = self.st.R
        R[vm.R_PUSHEN] = 0
        reset_task_list(self.st)
        R[vm.R_GOAL] = POWERPLAY.code
        R[vm.R_PUSHEN] = 1
        self.runner = SolverRunner()
        self._tasks: list[tuple[ForthTask, int]] = []
        self._tasks_bits = -1
        self._image: SolverImage | None = None

    # ------------------------------------------------------------ the solver
    @property
    def a_frozen(self) -> int:
        return int(self.st.R[vm.R_AFROZEN])

    @property
    def a_last(self) -> int:
        return int(self.st.R[vm.R_ALAST])

    def image(self) -> SolverImage:
        """The current solver."""
        if self._image is None:
            self._image = SolverImage.of(self.st, self.a_last, self.a_frozen)
        return self._image

    def tasks(self, max_bits: int) -> list[tuple[ForthTask, int]]:
        if max_bits > self._tasks_bits:
            self._tasks = [(t, t.bits) for t in tasks_up_to(max_bits)]
            self._tasks_bits = max_bits
        end = bisect.bisect_right(self._tasks, max_bits, key=lambda tb: tb[1])
        return self._tasks[:end]

    def run(self, task: ForthTask, candidate: Candidate | None, trace: bool,
            max_steps: int | None = None) -> Outcome:
        image = self.image() if candidate is None else candidate.info["_image"]
        limit = self.task_steps if max_steps is None else min(max_steps, self.task_steps)
        out = self.runner.run(image, task, limit, trace)
        if out.timed_out and limit == self.task_steps:
            return replace(out, timed_out=False)  # out of the task's own time: a failure
        return out

    # ------------------------------------------------------------ the search
    def _ensure_tapes(self, n: int) -> None:
        st = self.st
        if n > st.n_tapes:
            if n > MAX_TAPES:
                raise ValueError(f"the machine has room for {MAX_TAPES} tasks")
            st.grow(min(MAX_TAPES, max(n, 2 * st.n_tapes)))
            reset_task_list(st)

    def _ring(self, lo: int, hi: int, start: int, T: int) -> bool:
        st, R = self.st, self.st.R
        R[vm.R_T] = T
        R[vm.R_QP] = R[vm.R_AFROZEN]
        R[vm.R_ACURRENT] = start
        if not begin_ring(st, lo, hi, start):
            return False
        status = st.slice(1 << 62)
        end_ring(st, lo, hi)
        return status == SOLVED

    def search(self, task: ForthTask | None, share: int, repertoire: Sequence[ForthTask],
               cap: int) -> tuple[Candidate | None, int]:
        st, R = self.st, self.st.R
        n = len(repertoire)
        before = int(R[vm.R_TOTALT])
        T = share
        kind = ""
        if task is None:
            for i in range(1, n + 1):
                set_cap(st.tape, i, cap)
            if self._ring(1, n, self.a_frozen + 1, T):
                kind = "fresh"
            for i in range(1, n + 1):
                set_cap(st.tape, i, 0)
        else:
            self._ensure_tapes(n + 1)
            write_task(st.tape, n + 1, task)
            if self.a_last <= self.a_frozen and self._ring(n + 1, n + 1, self.a_last, T):
                kind = "prolongation"
            elif self._ring(1, n + 1, self.a_frozen + 1, T):
                kind = "fresh"
        spent = int(R[vm.R_TOTALT]) - before
        if not kind:
            R[vm.R_QP] = R[vm.R_AFROZEN]
            return None, spent
        qp, start = int(R[vm.R_QP]), int(R[vm.R_ACURRENT])
        changed = set(range(self.a_frozen + 1, qp + 1))
        if kind == "fresh":
            changed.add(ENTRY)
        image = SolverImage.of(self.st, start, qp)
        info = {"_image": image, "program": disassemble([int(t) for t in st.qQ[start:qp + 1]]),
                "new_code": disassemble([int(t) for t in st.qQ[self.a_frozen + 1:qp + 1]]),
                "start": start, "end": qp, "T": T}
        return Candidate(frozenset(changed), spent, kind, info), spent

    def accept(self, candidate: Candidate) -> None:
        freeze_solver(self.st)
        candidate.info.pop("_image", None)
        self._image = None

    def discard(self, candidate: Candidate) -> None:
        self.st.R[vm.R_QP] = self.st.R[vm.R_AFROZEN]
        candidate.info.pop("_image", None)

    def counters(self) -> dict[str, int]:
        R = self.st.R
        return {"totalt": int(R[vm.R_TOTALT]), "prefs": int(R[vm.R_PREFS]),
                "insts": int(R[vm.R_INSTS])}

    # ------------------------------------------------------------ data
    def task_json(self, task: ForthTask) -> dict[str, list[int]]:
        return task.to_json()

    def task_from_json(self, data: Any) -> ForthTask:
        return ForthTask.from_json(data)

    def state_dict(self) -> dict[str, Any]:
        return {"task_steps": self.task_steps, "machine": self.st.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.task_steps = int(state["task_steps"])
        self.st = SearchState.from_state_dict(state["machine"])
        self._image = None


__all__ = ["ENTRY", "FIRST_CODE", "ForthDomain", "SolverImage", "SolverRunner", "run_solver"]
