"""Helpers shared by the OOPS tests: the original program's counters; run a program on both
interpreters and compare."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metahook.envs.oops_tasks import (
    TASK_SETS,
    OOPSTaskSet,
    ds_of,
    goal_kernel,
    register_task_set,
)
from metahook.machines.forth import reference as ref
from metahook.machines.forth import vm
from metahook.machines.forth.asm import assemble
from metahook.machines.forth.layout import ADP
from metahook.references import ProgramRow, original_run
from metahook.search.direct import PAPER_FROZEN, STOP_NAMES, ProgramRunner, run_slice

FROZEN = [assemble(p) for p in PAPER_FROZEN]

# The original program's own run: (phase, n) -> its counters and the program it found, read from
# metahook/references/oops.toml (the one copy of these figures).
ORIGINAL_RUN: dict[tuple[str, int], ProgramRow] = original_run()


def original_counts(phase: str, n: int) -> tuple[int, str, int, int | None, int | None, int, int]:
    """The original run at task ``phase`` n: (n, program, totalt, prefs, insts, topt, topSp)."""
    r = ORIGINAL_RUN[(phase, n)]
    return (r.n, r.program, r.totalt, r.prefs, r.insts, r.topt, r.topSp)


def original_steps_into_hanoi(n: int) -> int:
    """The original run's totalt at Hanoi ``n``, counted from the start of the Hanoi phase."""
    return ORIGINAL_RUN[("hanoi", n)].totalt - ORIGINAL_RUN[("1n2n", 30)].totalt


@dataclass
class Outcome:
    stop: str
    why: int
    steps: int
    insts: int
    t: int
    undo: list[tuple[int, int]]
    cells: dict[int, int]
    topt: int
    top_sp: int
    moves: int


def run_jit(program: Sequence[int], goal: int, n: int, frozen: Sequence[Sequence[int]],
            max_steps: int, extended: bool = False) -> tuple[Outcome, ProgramRunner]:
    pr = ProgramRunner(list(program), goal, n, max_steps, extended=extended, frozen=frozen,
                       stack_capacity=1 << 14)
    code = int(run_slice(pr.st.M, pr.st.F, 1 << 40))
    M = pr.st.M
    S = pr.st.undo
    undo = [(int(i) - vm.TAPE0, int(v)) for i, v in S]
    cells = {i: int(M[vm.TAPE0 + i]) for i, _ in undo}
    return Outcome(STOP_NAMES[code], int(M[vm.R_WHY]) if code == 2 else 0,
                   int(M[vm.R_TOTALT]), int(M[vm.R_INSTS]), int(M[vm.R_TIME]), undo, cells,
                   int(M[vm.R_TOPT]), int(M[vm.R_TOPSP]), int(M[vm.R_MOVES])), pr


def step_ref(m: ref.Machine, goal: int | None = None) -> str:
    """Step the reference machine until it ends (code end, bad ip, time, halt, or solved when a
    ``goal`` is given); the stop's name."""
    while True:
        if m.ip == m.qp + 1:
            return "end"
        if not m.valid_ip():
            return "bad-ip"
        if float(m.t + 1) > m.TP:
            return "time"
        m.step()
        if goal is not None and m.solved(goal):
            return "solved"
        if m.halt:
            return "halted"


def run_ref(pr: ProgramRunner, goal: int, max_steps: int, extended: bool = False
            ) -> tuple[Outcome, ref.Machine]:
    """The reference on the same initial machine as ``pr`` (built, not yet run)."""
    st = pr.st
    qp = int(st.R[vm.R_QP])
    oldp = int(st.R[vm.R_OLDP])
    m = ref.Machine([int(x) for x in st.qQ[1:qp + 1]],
                    [(int(st.OLD[k, 0]), int(st.OLD[k, 1])) for k in range(1, oldp + 1)],
                    n_tokens=int(st.R[vm.R_NQS]))
    m.mem = st.tape.tolist()
    m.task = pr.n
    m.T = max_steps
    m.P = 1.0
    m.record = True
    stop = step_ref(m, goal)
    cells = {k: m.mem[k] for k, _ in m.undo}
    return Outcome(stop, m.why if stop == "halted" else 0, m.totalt, m.insts, m.t,
                   list(m.undo), cells, m.topt, m.top_sp, m.moves), m


def compare(program: Sequence[int], goal: int, n: int, frozen: Sequence[Sequence[int]],
            max_steps: int, full_tape: bool = False, extended: bool = False) -> Outcome:
    """Run both interpreters; assert they agree on everything; return the outcome."""
    a, pr_done = run_jit(program, goal, n, frozen, max_steps, extended)
    pr = ProgramRunner(list(program), goal, n, max_steps, extended=extended, frozen=frozen,
                       stack_capacity=1 << 14)
    b, m = run_ref(pr, goal, max_steps, extended)
    assert a == b, (program, goal, n, max_steps, a, b)
    if full_tape:
        assert np.array_equal(pr_done.st.tape, np.asarray(m.mem, dtype=np.int64))
    return a


# A toy task set with more tasks than the original's 30 tapes, its parts importable (so that
# ParallelOOPS's fresh worker processes can register it from its spec): task n's ds = [n], the
# goal is "the top of ds is 2n" (solved by `c2 mul`).
DOUBLE_NAME, DOUBLE_CODE, DOUBLE_TASKS = "test-double-64", 903, 64


@goal_kernel
def goal_double(M, row, task):  # type: ignore[no-untyped-def]
    """The top of ds is 2n."""
    d = M[row - ADP]
    return d >= 1 and M[row - (ADP + d)] == 2 * task


def inputs_n(tape: np.ndarray, n: int) -> Sequence[int]:
    return (n,)


def verify_double(tape: np.ndarray, n: int) -> bool:
    ds = ds_of(tape, n)
    return len(ds) >= 1 and ds[-1] == 2 * n


def double_set() -> OOPSTaskSet:
    """The toy set, registered at run time (once per process)."""
    return TASK_SETS.get(DOUBLE_NAME) or register_task_set(OOPSTaskSet(
        DOUBLE_NAME, DOUBLE_CODE, goal_double, inputs_n, ("c2", "mul"), verify_double,
        max_tasks=DOUBLE_TASKS))
