"""The search: exact counts of the original program, reference agreement, slicing, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metahook.envs.oops_tasks import GOAL_1N2N, GOAL_HANOI, init_all
from metahook.harness import checkpoint as ckpt
from metahook.machines.forth import reference as ref
from metahook.machines.forth import vm
from metahook.machines.forth.asm import assemble
from metahook.search.direct import CHAIN_1N2N, SOLVER_1N2N
from metahook.search.levin import RUNNING, SOLVED, SearchState, begin_ring, end_ring, lsearch
from metahook.search.oops import OOPS, prewired_state, reset_task_list
from oops_helpers import ORIGINAL_RUN, original_counts, original_steps_into_hanoi

# The original program's counters (totalt, prefs, insts, topt, topSp) and programs, n = 1..3.
ORIGINAL = [original_counts("1n2n", n) for n in (1, 2, 3)]


def test_first_three_tasks_match_the_original_program_exactly() -> None:
    oops = OOPS(phases=(("1n2n", 3),))
    events = oops.advance(1 << 40)
    assert oops.finished
    got = [(e.n, e.text(), e.totalt, e.prefs, e.insts, e.topt, e.topSp) for e in events]
    assert got == ORIGINAL
    assert [e.kind for e in events] == ["prolongation"] * 3
    assert [e.T for e in events] == [2**22, 2**28, 2**32]


def test_slicing_and_checkpoints_do_not_change_the_result(tmp_path: Path) -> None:
    oops = OOPS(phases=(("1n2n", 2),))
    events = []
    saved = False
    while not oops.finished:
        events += oops.advance(77_777)
        if not saved and oops.counters()["totalt"] > 3_000_000:  # mid-search for n = 2
            ckpt.save(tmp_path, {"user": oops.state_dict()}, 1)
            state, _ = ckpt.load(tmp_path)
            oops = OOPS.from_state_dict(state["user"])
            saved = True
    assert saved
    got = [(e.n, e.text(), e.totalt, e.prefs, e.insts, e.topt, e.topSp) for e in events]
    assert got == ORIGINAL[:2]


def test_hanoi_phase_starts_like_the_original() -> None:
    # The original run entered the Hanoi phase with the chain as old program 8 and the 30-task
    # solver as the last solver; Hanoi n=1 fell to the fresh one-token program `mvdsk`, 452 time
    # steps later, at T = 512 -- superseding the solver, which became old program 9.
    oops = OOPS(phases=(("hanoi", 1),))
    oops.preload([assemble(CHAIN_1N2N), assemble(SOLVER_1N2N)])
    (e,) = oops.advance(1 << 30)
    assert (e.text(), e.kind, e.totalt, e.T) == (ORIGINAL_RUN[("hanoi", 1)].program, "fresh",
                                                  original_steps_into_hanoi(1), 512)
    assert int(oops.st.R[vm.R_OLDP]) == 9
    assert list(oops.st.OLD[9]) == [103, 5] and list(oops.st.OLD[8]) == [77, 26]


def _jit_state(goal: int, frozen: list[list[int]]) -> SearchState:
    st = prewired_state(1 << 16)
    oops = OOPS.__new__(OOPS)
    oops.st = st
    OOPS.preload(oops, frozen) if frozen else None
    st.R[vm.R_PUSHEN] = 0
    reset_task_list(st)
    init_all(st.tape, goal)
    st.R[vm.R_GOAL] = goal
    return st


def _ref_search(st: SearchState, goal: int) -> ref.Search:
    qp = int(st.R[vm.R_AFROZEN])
    oldp = int(st.R[vm.R_OLDP])
    s = ref.Search([int(x) for x in st.qQ[1:qp + 1]],
                   [(int(st.OLD[k, 0]), int(st.OLD[k, 1])) for k in range(1, oldp + 1)],
                   qp, goal)
    s.mem = st.tape.tolist()
    return s


@pytest.mark.parametrize(("goal", "frozen", "lo", "hi", "start", "T_max"), [
    (GOAL_1N2N, [], 1, 1, 77, 2**20),  # plain Levin search for 1^1 2^1
    (GOAL_1N2N, [], 1, 3, 77, 2**21),  # a ring of three tasks
    (GOAL_1N2N, ["chain4"], 5, 5, 77, 2**22),  # prolonging the chain of tasks 1..4 on task 5
    (GOAL_HANOI, ["chain", "solver"], 1, 2, 108, 2**20),  # Hanoi ring after the 1^n2^n phase
    (GOAL_HANOI, ["chain", "solver"], 3, 3, 103, 2**22),  # prolonging the 1^n2^n solver
])
def test_reference_search_agrees_round_by_round(goal: int, frozen: list[str], lo: int, hi: int,
                                                start: int, T_max: int) -> None:
    chain = CHAIN_1N2N.split()
    text = {"chain": " ".join(chain), "chain4": " ".join(chain[:19]), "solver": SOLVER_1N2N}
    progs = [assemble(text[f]) for f in frozen]
    st = _jit_state(goal, progs)
    rs = _ref_search(st, goal)
    T = 1
    while T_max >= T:
        st.R[vm.R_T] = T
        st.R[vm.R_QP] = st.R[vm.R_AFROZEN]
        jit_solved = False
        if begin_ring(st, lo, hi, start):
            status = RUNNING
            while status == RUNNING:
                status = st.slice(1 << 40)
            jit_solved = status == SOLVED
            program = [int(x) for x in st.qQ[start:int(st.R[vm.R_QP]) + 1]]
            end_ring(st, lo, hi)
        ref_solved = rs.run_ring(list(range(lo, hi + 1)), start, T)
        R = st.R
        jit = (jit_solved, int(R[vm.R_PREFS]), int(R[vm.R_INSTS]), int(R[vm.R_TOTALT]),
               int(R[vm.R_TOPT]), int(R[vm.R_TOPSP]))
        assert jit == (ref_solved, rs.prefs, rs.insts, rs.totalt, rs.topt, rs.top_sp), T
        if jit_solved:
            assert program == rs.q[start:rs.qp + 1]
            break
        T *= 2
    assert int(st.R[vm.R_INSTS]) > 20_000  # the comparison covered real work


def test_lsearch_finds_the_first_1n2n_solution() -> None:
    st = _jit_state(GOAL_1N2N, [])
    solved, T = lsearch(st, 1, 1, 77, 2**24)
    assert solved and T == 2**22
    assert int(st.R[vm.R_TOTALT]) < 480_000  # the paper: "within 480,000 time steps"


def test_parallel_search_is_identical_and_resumable(tmp_path: Path) -> None:
    from metahook.search.parallel import ParallelOOPS

    oops = OOPS(phases=(("1n2n", 2),))
    events = []
    while oops.counters()["totalt"] < 2_000_000:  # start single-process, stop mid-search
        events += oops.advance(50_000)
    assert oops.active
    par = ParallelOOPS(oops, workers=2, snapshot_s=0.2)
    try:
        events += par.advance(2.0)
        ckpt.save(tmp_path, {"user": par.state_dict()}, 1)  # mid-run, with worker snapshots
    finally:
        par.close()
    state, _ = ckpt.load(tmp_path)
    par = ParallelOOPS.from_state_dict(state["user"], workers=2)
    try:
        while not par.oops.finished:
            events += par.advance(2.0)
    finally:
        par.close()
    got = [(e.n, e.text(), e.totalt, e.prefs, e.insts, e.topt, e.topSp) for e in events]
    assert got == ORIGINAL[:2]


def test_same_source_runs_as_plain_python() -> None:
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json\n"
        "from metahook.envs.oops_tasks import init_all\n"
        "from metahook.machines.forth import vm\n"
        "from metahook.search.levin import lsearch\n"
        "from metahook.search.oops import prewired_state, reset_task_list\n"
        "st = prewired_state(1 << 14); st.R[vm.R_PUSHEN] = 0; reset_task_list(st)\n"
        "init_all(st.tape, 1); st.R[vm.R_GOAL] = 1\n"
        "lsearch(st, 1, 1, 77, 2**13)\n"
        "print(json.dumps([int(st.R[k]) for k in (vm.R_TOTALT, vm.R_PREFS, vm.R_INSTS)]))\n"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300, check=True)
    st = _jit_state(GOAL_1N2N, [])
    lsearch(st, 1, 1, 77, 2**13)
    jit = [int(st.R[k]) for k in (vm.R_TOTALT, vm.R_PREFS, vm.R_INSTS)]
    assert json.loads(out.stdout) == jit and jit[0] > 1000


def _records(seq: list[int], x: int) -> int:
    for v in seq:  # the original's rule: refresh when a value exceeds twice the record
        if v > 2 * x:
            x = v
    return x


@given(seq=st.lists(st.integers(min_value=0, max_value=10_000), max_size=40),
       lower=st.integers(min_value=0, max_value=3_000),
       extra=st.integers(min_value=0, max_value=3_000))
def test_parallel_record_resolution_is_never_wrong(seq: list[int], lower: int, extra: int) -> None:
    from metahook.search.parallel import ParallelOOPS

    true_in = lower + extra  # the true value is never below the bound the worker used
    res = {"absolute": False, "topt_in": lower, "topt": _records(seq, lower),
           "maxt": max(seq, default=0)}
    got = ParallelOOPS._resolve(res, true_in, "topt", "topt_in", "maxt")
    assert got is None or got == _records(seq, true_in)
    if extra == 0:
        assert got == _records(seq, true_in)


def test_parallel_rapid_successive_solves_match() -> None:
    from metahook.search.parallel import ParallelOOPS

    def make() -> OOPS:
        o = OOPS(phases=(("1n2n", 12),))
        o.preload([assemble(CHAIN_1N2N), assemble(SOLVER_1N2N)])  # solves every n at once
        return o

    seq = make()
    seq_events = seq.advance(1 << 40)
    par = ParallelOOPS(make(), workers=2)
    try:
        par_events = []
        while not par.oops.finished:
            par_events += par.advance(2.0)
    finally:
        par.close()
    key = [(e.n, e.text(), e.kind, e.T, e.totalt, e.prefs, e.insts, e.topt, e.topSp)
           for e in seq_events]
    assert len(key) == 12 and all(e.text() == SOLVER_1N2N for e in seq_events)
    assert [(e.n, e.text(), e.kind, e.T, e.totalt, e.prefs, e.insts, e.topt, e.topSp)
            for e in par_events] == key


def test_parallel_speculation_is_bounded_and_stops_at_the_T_limit() -> None:
    """Searches that end at once must not run T past the program's limit while a merge waits."""
    from metahook.machines.forth.layout import MAXLOLO
    from metahook.search.oops import FRESH, PROLONG
    from metahook.search.parallel import ParallelOOPS

    par = ParallelOOPS(OOPS(phases=(("1n2n", 3),)), workers=2)  # no pool until advance()
    jobs = []
    while (job := par._next_job()) is not None:
        jobs.append(job)
    assert len(jobs) == par.lookahead == 8  # nothing merged: the window is full
    assert [(j.T, j.kind) for j in jobs[:4]] == [(1, PROLONG), (1, FRESH), (2, PROLONG),
                                                  (2, FRESH)]
    ts = []
    for _ in range(200):
        par.next_merge = par.seq  # as if all merged: the cursor goes on, up to the limit only
        job = par._next_job()
        if job is None:
            break
        ts.append(job.T)
    assert ts and max(ts) < MAXLOLO and max(ts) >= MAXLOLO // 2  # the original's last T
    assert par._next_job() is None


def test_single_process_stops_where_the_search_order_ends() -> None:
    """OOPS and the parallel dispatcher share one search order; past its last T the run ends."""
    from metahook.machines.forth.layout import MAXLOLO
    from metahook.search.oops import FRESH, PROLONG, next_search

    assert next_search(4, PROLONG) == (4, FRESH)
    assert next_search(4, FRESH) == (8, PROLONG)
    last = 1 << (MAXLOLO // 2 - 1).bit_length()  # the first power of two >= MAXLOLO // 2
    assert next_search(last, FRESH) is None
    oops = OOPS(phases=(("1n2n", 3),))
    oops.st.R[vm.R_T], oops.stage = last, FRESH
    oops._next_stage()
    assert oops.finished and int(oops.st.R[vm.R_T]) == last
