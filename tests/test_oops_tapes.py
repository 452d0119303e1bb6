"""The number of task tapes is a parameter of the OOPS machine's memory (PowerPlay's growing
repertoire needs more than the original's 30); the original's counters do not depend on it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from metahook.envs import oops_tasks as ot
from metahook.machines.forth import vm
from metahook.machines.forth.asm import assemble
from metahook.machines.forth.layout import MAX_TAPES, MAXTASK
from metahook.search.direct import ProgramRunner
from metahook.search.levin import SearchState
from metahook.search.oops import OOPS
from metahook.search.parallel import ParallelOOPS
from oops_helpers import DOUBLE_NAME, DOUBLE_TASKS, double_set, goal_double


def _key(events: list[Any]) -> list[tuple[Any, ...]]:
    return [(e.phase, e.n, e.program, e.kind, e.T, e.totalt, e.prefs, e.insts, e.topt, e.topSp)
            for e in events]


@pytest.fixture(scope="module")
def whole() -> tuple[list[Any], dict[str, int]]:
    """OOPS on 1^n2^n n = 1..2 with the original's 30 tapes."""
    o = OOPS(phases=(("1n2n", 2),))
    assert o.st.n_tapes == MAXTASK == 30
    ev = o.advance(1 << 40)
    assert o.finished
    return ev, o.counters()


def test_tape_room() -> None:
    assert vm.DSIZE == 31  # the Hanoi peg, whatever the number of tapes
    st = SearchState(1 << 10, 64)
    assert st.n_tapes == st.M[vm.R_NTAPES] == 64
    assert st.tape.shape == (65 * 3001,) and st.lnext.shape == (66,)
    assert vm.MOFF == vm.NCELLS == (MAX_TAPES + 1) * 3001 and vm.S0 == vm.MARK0 + vm.NCELLS
    d = st.state_dict()  # only the tapes in use
    assert d["tapes"].shape == d["marks"].shape == (65 * 3001,) and d["M"].shape == (vm.TAPE0,)
    st.grow(100)
    assert st.n_tapes == 100 and st.tape.shape == (101 * 3001,)
    with pytest.raises(ValueError, match="shrink"):
        st.grow(99)
    with pytest.raises(ValueError, match="n_tapes"):
        SearchState(1 << 10, MAX_TAPES + 1)


def test_more_tapes_same_counters(whole: tuple[list[Any], dict[str, int]]) -> None:
    ev, counters = whole
    o = OOPS(phases=(("1n2n", 2),), n_tapes=64)
    assert o.st.n_tapes == 64
    assert _key(o.advance(1 << 40)) == _key(ev) and o.counters() == counters
    with pytest.raises(ValueError, match="fewer than the highest task"):
        OOPS(phases=(("1n2n", 5),), n_tapes=4)


def test_grown_and_legacy_checkpoints_continue_exactly(
        whole: tuple[list[Any], dict[str, int]]) -> None:
    ev, counters = whole
    # grown from 30 to 64 tapes in the middle of a search (undo stack and ring in use)
    o = OOPS(phases=(("1n2n", 2),))
    events = o.advance(3_000_001)
    assert o.active and o.st.R[vm.R_SP] > 0
    o.st.grow(64)
    assert o.st.n_tapes == 64
    events += o.advance(1 << 40)
    assert _key(events) == _key(ev) and o.counters() == counters

    # a checkpoint in the memory map from before the number of tapes was a parameter
    o = OOPS(phases=(("1n2n", 2),))
    events = o.advance(3_000_001)
    d = o.state_dict()
    m = d["machine"]
    d["machine"] = {"M": _legacy(o.st), "F": m["F"], "stack_capacity": m["stack_capacity"]}
    o2 = OOPS.from_state_dict(d)
    m2 = o2.st.state_dict()
    assert all(np.array_equal(m2[k], m[k]) for k in ("M", "tapes", "marks", "undo"))
    events += o2.advance(1 << 40)
    assert _key(events) == _key(ev) and o2.counters() == counters


def _legacy(st: SearchState) -> np.ndarray:
    """``st.M`` (30 tapes) in the memory map from before, cut after its used undo stack."""
    old, M = vm.LEGACY, st.M
    sp = int(M[vm.R_SP])
    m = np.zeros(old.s0 + 2 * (sp + 1), dtype=np.int64)
    m[:vm.R_NTAPES] = M[:vm.R_NTAPES]  # the registers of then
    m[old.q0: old.lnext0] = M[vm.Q0: vm.LNEXT0]
    m[old.lnext0: old.lnext0 + 32] = M[vm.LNEXT0: vm.LNEXT0 + 32]
    m[old.lprev0: old.lprev0 + 32] = M[vm.LPREV0: vm.LPREV0 + 32]
    m[old.tape0: old.tape0 + old.ncells] = M[vm.TAPE0: vm.TAPE0 + old.ncells]
    m[old.mark0: old.mark0 + old.ncells] = M[vm.MARK0: vm.MARK0 + old.ncells]
    U = m[old.s0 + 2:].reshape(-1, 2)
    U[:, 0] = st.undo[:, 0] - vm.TAPE0 + old.tape0
    U[:, 1] = st.undo[:, 1]
    m[vm.R_ROW] += old.tape0 - vm.TAPE0
    return m


def test_64_tapes_toy_set_solved_and_verified() -> None:
    ts = double_set()
    assert len(ts) == DOUBLE_TASKS == 64 > MAXTASK
    n_max = 40
    o = OOPS(phases=((DOUBLE_NAME, n_max),), stack_capacity=1 << 16, n_tapes=64)
    events = o.advance(1 << 40)
    assert o.finished and [e.n for e in events] == list(range(1, n_max + 1))
    for e in events:  # each solver, run on its own, passes the independent verifier
        pr = ProgramRunner(e.program, DOUBLE_NAME, e.n)
        assert pr.run().stop == "solved" and ts.verify(pr.tape, e.n), e.n
    pr = ProgramRunner(assemble("c2 mul"), DOUBLE_NAME, 64)  # the last tape
    assert pr.st.n_tapes == 64
    assert pr.run().stop == "solved" and ts.verify(pr.tape, 64)
    with pytest.raises(ValueError, match=r"n must be in 1\.\.64"):
        ProgramRunner(assemble("c2 mul"), DOUBLE_NAME, 65)
    with pytest.raises(ValueError, match=r"n must be in 1\.\.30"):
        OOPS(phases=(("hanoi", 31),))  # a Hanoi peg holds 30 disks


def test_task_set_spec_roundtrip() -> None:
    ts = double_set()
    spec = ot.task_set_spec(ts)
    assert spec["goal"] == f"{goal_double.py_func.__module__}:goal_double"
    assert spec["inputs"] and spec["verify"] and spec["max_tasks"] == 64
    assert ot.register_spec(spec) is ts  # known already: nothing to do
    with pytest.raises(ValueError, match="already registered"):
        ot.register_spec({**spec, "code": 904})  # the name is taken by another set

    @ot.goal_kernel
    def local_goal(M, row, task):  # type: ignore[no-untyped-def]
        return False

    local = ot.TASK_SETS.get("test-local") or ot.register_task_set(
        ot.OOPSTaskSet("test-local", 905, local_goal, lambda tape, n: ()))
    with pytest.raises(ValueError, match="not importable"):
        ot.task_set_spec(local)


def test_parallel_oops_with_a_task_set_registered_at_run_time() -> None:
    double_set()
    single = OOPS(phases=((DOUBLE_NAME, 3),), stack_capacity=1 << 16)
    ev = single.advance(1 << 40)
    po = ParallelOOPS(OOPS(phases=((DOUBLE_NAME, 3),), stack_capacity=1 << 16), workers=2)
    try:
        events: list[Any] = []
        for _ in range(120):
            if po.finished:
                break
            events += po.advance(1.0)
        assert po.finished and [e.n for e in events] == [1, 2, 3]
        assert _key(events) == _key(ev) and po.oops.counters() == single.counters()
    finally:
        po.close()
