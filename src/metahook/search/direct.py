"""Run one program of the OOPS language on one task, without search (``metahook forth``).

The program is written into code ``q`` right after the prewired declared programs (from address
77, where the search writes its programs), the task's tape is set up as the experiment does, and
the machine runs with time limit ``max_steps`` (T = max_steps, P = 1) until one of:

* ``solved``: the task's goal test passed (after the instruction that completed it);
* ``halted``: an instruction halted (the reason is reported);
* ``end``: the ip reached the end of the program (where the search would request a new token);
* ``bad-ip``: the ip left the code or the tape, or points at a cell holding no token number;
* ``time``: the next instruction would exceed ``max_steps``.

The counters are those of the search: ``insts`` tokens executed, ``steps`` time steps. Frozen
programs (``frozen``) can be placed before the program, as the search would have frozen them;
``PAPER_FROZEN`` is what the original run had frozen when it found its Hanoi solver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
from numba import njit

from metahook.envs.oops_tasks import (
    GOAL_NONE,
    Ds_of,
    OOPSTaskSet,
    call_goal,
    ds_of,
    init_distribution,
    init_task,
    pegs_of,
    task_set,
)
from metahook.machines.forth import vm
from metahook.machines.forth.asm import disassemble
from metahook.machines.forth.cachecheck import ensure_fresh
from metahook.machines.forth.layout import ACP, ADP, MAXTASK, ROW
from metahook.machines.forth.pointers import f64_ptr, i64_ptr
from metahook.search.levin import SearchState, set_task, specialised

STOP_SOLVED, STOP_HALTED, STOP_END, STOP_BADIP, STOP_TIME, STOP_BUDGET = 1, 2, 3, 4, 5, 6
STOP_NAMES = {STOP_SOLVED: "solved", STOP_HALTED: "halted", STOP_END: "end",
              STOP_BADIP: "bad-ip", STOP_TIME: "time", STOP_BUDGET: "budget"}


@njit(cache=True)
def run_core(M, F, budget, goal):
    """Run the current task until it stops or ``budget`` tokens ran; returns a STOP_* code.

    ``goal`` is the key of the task set whose goal kernel is compiled in (see
    :func:`metahook.envs.oops_tasks.call_goal`)."""
    done = 0
    M[vm.R_HALT] = 0
    M[vm.R_WHY] = 0
    while True:
        if vm.frame(M, 1) == M[vm.R_QP] + 1:
            return STOP_END
        if not vm.ip_ok(M):
            return STOP_BADIP
        if float(M[vm.R_TIME] + 1) > F[vm.F_TP]:
            return STOP_TIME
        if done >= budget:
            return STOP_BUDGET
        vm.step(M, F)
        done += 1
        if call_goal(goal, M, M[vm.R_ROW], M[vm.R_TASK]):
            return STOP_SOLVED
        if M[vm.R_HALT] != 0:
            return STOP_HALTED


@njit(cache=True)
def run_kernel(M_arr, F_arr, budget, goal):
    numba.literally(goal)
    return run_core(i64_ptr(M_arr), f64_ptr(F_arr), budget, goal)


def run_slice(M_arr: np.ndarray, F_arr: np.ndarray, budget: int) -> int:
    """Run the machine in ``M_arr``/``F_arr`` under the task set in its ``R_GOAL`` register
    until it stops or ``budget`` tokens ran; a STOP_* code (see :func:`run_core`)."""
    key = task_set(int(M_arr[vm.R_GOAL])).key
    return int(specialised(run_kernel, key)(M_arr, F_arr, budget, key))


ensure_fresh([run_core, run_kernel])


@dataclass
class RunResult:
    stop: str
    halt_reason: str
    insts: int
    steps: int
    ds: list[int]
    Ds: list[int]
    pegs: list[list[int]]
    moves: int
    ip: int
    trace: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {"stop": self.stop, "halt_reason": self.halt_reason, "insts": self.insts,
               "steps": self.steps, "ds": self.ds, "Ds": self.Ds, "ip": self.ip}
        if any(self.pegs):
            out["pegs"] = self.pegs
            out["moves"] = self.moves
        if self.trace:
            out["trace"] = self.trace
        return out


class ProgramRunner:
    """A machine with ``program`` at q[77..] and task ``n`` of kind ``goal`` on its tape.

    ``n`` may be up to the task set's ``max_tasks``; the machine has the original's 30 tapes, or
    ``n`` if that is more."""

    def __init__(self, program: list[int], goal: int | str | OOPSTaskSet = GOAL_NONE, n: int = 1,
                 max_steps: int = 10**12, extended: bool = False,
                 frozen: Sequence[Sequence[int]] = (), stack_capacity: int = 1 << 20) -> None:
        from metahook.search.oops import prewired_state

        ts = task_set(goal)
        if not 1 <= n <= ts.max_tasks:
            raise ValueError(f"n must be in 1..{ts.max_tasks}, got {n}")
        self.st = st = prewired_state(stack_capacity, extended=extended,
                                      n_tapes=max(MAXTASK, n))
        R = st.R
        a = int(R[vm.R_QP])
        for prog in frozen:  # frozen programs old[8], old[9], ... before the program
            R[vm.R_OLDP] += 1
            st.OLD[R[vm.R_OLDP]] = (a + 1, len(prog))
            for tok in prog:
                a += 1
                st.qQ[a] = tok
        self.start = a + 1
        for tok in program:
            a += 1
            st.qQ[a] = tok
        R[vm.R_QP] = a
        R[vm.R_AFROZEN] = a
        self.goal, self.n = ts.code, n
        init_task(st.tape, n, ts)
        init_distribution(st.tape, n, ts)
        st.tape[n * ROW - (ACP + 1)] = self.start
        R[vm.R_GOAL] = ts.code
        R[vm.R_T] = max_steps
        st.F[vm.F_P] = 1.0
        st.F[vm.F_TP] = float(max_steps)
        R[vm.R_PUSHEN] = 1
        R[vm.R_UNSOLVED] = 1
        set_task(st.M, n)

    def run(self, budget: int = 1 << 62, trace: bool = False, trace_limit: int = 10_000
            ) -> RunResult:
        st, R = self.st, self.st.R
        records: list[dict[str, Any]] = []
        if trace:
            code = 0
            while len(records) < trace_limit:
                before = self._where()
                code = int(run_slice(st.M, st.F, 1))
                if code != STOP_BUDGET:
                    if int(R[vm.R_INSTS]) > before["insts"]:
                        records.append(self._traced(before))
                    break
                records.append(self._traced(before))
            else:
                code = STOP_BUDGET
        else:
            code = int(run_slice(st.M, st.F, budget))
        return self.result(code, records)

    def _where(self) -> dict[str, Any]:
        st, R = self.st, self.st.R
        ip = int(st.tape[self.n * ROW - (ACP + 1 + st.tape[self.n * ROW - ACP])])
        tok = int(st.qQ[ip]) if ip > 0 else int(st.tape[self.n * ROW - ip])
        return {"ip": ip, "token": tok, "insts": int(R[vm.R_INSTS])}

    def _traced(self, before: dict[str, Any]) -> dict[str, Any]:
        st = self.st
        rec = {"ip": before["ip"], "token": disassemble([before["token"]]),
               "t": int(st.R[vm.R_TIME]), "ds": ds_of(st.tape, self.n)[-8:],
               "Ds": Ds_of(st.tape, self.n)[-8:],
               "depth": int(st.tape[self.n * ROW - ACP]) // 3}
        if st.R[vm.R_HALT]:
            rec["halt"] = vm.HALT_REASONS[int(st.R[vm.R_WHY])]
        return rec

    def result(self, code: int, records: list[dict[str, Any]] | None = None) -> RunResult:
        st, R = self.st, self.st.R
        ip = int(st.tape[self.n * ROW - (ACP + 1 + st.tape[self.n * ROW - ACP])])
        return RunResult(
            stop=STOP_NAMES[code],
            halt_reason=vm.HALT_REASONS[int(R[vm.R_WHY])] if code == STOP_HALTED else "",
            insts=int(R[vm.R_INSTS]), steps=int(R[vm.R_TOTALT]),
            ds=ds_of(st.tape, self.n), Ds=Ds_of(st.tape, self.n), pegs=pegs_of(st.tape, self.n),
            moves=int(R[vm.R_MOVES]), ip=ip, trace=records or [])

    @property
    def tape(self) -> np.ndarray:
        return self.st.tape

    @property
    def dp(self) -> int:
        return int(self.st.tape[self.n * ROW - ADP])


def run_program(program: list[int], goal: int | str | OOPSTaskSet = GOAL_NONE, n: int = 1,
                max_steps: int = 10**12, trace: bool = False,
                frozen: Sequence[Sequence[int]] = ()) -> RunResult:
    """Run ``program`` (token numbers) on task n of kind ``goal``; see the module docstring."""
    return ProgramRunner(program, goal, n, max_steps, frozen=frozen).run(trace=trace)


def token_probabilities(program: Sequence[int], goal: int | str | OOPSTaskSet, n: int = 1,
                        frozen: Sequence[Sequence[int]] = ()) -> list[float]:
    """Probability of each token of ``program`` when the search would request it on task n.

    The program is grown one token at a time, as the search grows it; each token's probability
    is its numerator over the denominator of the requesting task's current (possibly self-
    modified) distribution. Raises ValueError if a prefix halts or solves before its end.
    """
    from metahook.machines.forth.layout import ACURP, NSQ

    runner = ProgramRunner([], goal, n, frozen=frozen)
    st, R = runner.st, runner.st.R
    probs: list[float] = []
    for tok in program:
        code = int(run_slice(st.M, st.F, 1 << 62))
        if code != STOP_END:
            raise ValueError(f"prefix stopped ({STOP_NAMES[code]}) before token {len(probs) + 1}")
        r = n * ROW
        off = ACURP + int(st.tape[r - ACURP]) * (NSQ + 2)
        probs.append(int(st.tape[r - (off + 2 + tok)]) / int(st.tape[r - (off + 1)]))
        R[vm.R_QP] += 1
        st.qQ[R[vm.R_QP]] = tok
    return probs


# What the original run had frozen when it searched Hanoi n >= 2 (old[8], old[9], then the Hanoi
# n=1 solver): the 1^n2^n chain of n = 1..5, the 30-task solver, and `mvdsk`.
CHAIN_1N2N = ("defnp 2toD grt c2 c2 endnp boostq delD delD bsf 2toD fromD delD delD delD fromD "
              "bsf by2 bsf by2 fromD delD delD fromD cpnb bsf")
SOLVER_1N2N = "defnp c1 calltp c2 endnp"
SOLVER_HANOI = "c3 dec boostq defnp c4 calltp c3 c5 calltp endnp"
PAPER_FROZEN = (CHAIN_1N2N, SOLVER_1N2N, "mvdsk")


__all__ = ["ProgramRunner", "RunResult", "SearchState", "run_program"]
