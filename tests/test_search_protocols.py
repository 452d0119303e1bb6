"""The search package's protocols: every search resumes to the same end; task sets are data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from metahook.envs import oops_tasks as ot
from metahook.envs import pomaze as pm
from metahook.harness import checkpoint as ckpt
from metahook.machines.forth.layout import ADP, MAXTASK
from metahook.search.als import ALS, LevinRun, LevinSearch, uniform_policy
from metahook.search.direct import ProgramRunner
from metahook.search.hsearch import ProofSearch, proof_search
from metahook.search.oops import OOPS
from metahook.search.protocols import ProgramSearch, TaskSet


def _roundtrip(tmp_path: Path, state: dict[str, Any]) -> dict[str, Any]:
    """Through the harness's checkpoint files (JSON + .npz): the state must be plain data."""
    ckpt.save(tmp_path, {"user": state}, 1)
    loaded, _ = ckpt.load(tmp_path)
    return loaded["user"]


def _resumed(make: Any, slices: list[int], tmp_path: Path) -> tuple[Any, list[Any]]:
    """Run ``make()`` slice by slice, through a checkpoint into a new object after each."""
    search = make()
    events: list[Any] = []
    k = 0
    while not search.finished:
        events += search.advance(slices[k % len(slices)])
        k += 1
        fresh = make()
        fresh.load_state_dict(_roundtrip(tmp_path, search.state_dict()))
        search = fresh
    return search, events


def test_oops_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    whole = OOPS(phases=(("1n2n", 2),))
    assert isinstance(whole, ProgramSearch)
    ev_whole = whole.advance(1 << 40)
    search, events = _resumed(lambda: OOPS(phases=(("1n2n", 2),)), [1_234_567, 3_000_001],
                              tmp_path)
    key = [(e.n, e.program, e.totalt, e.prefs, e.insts, e.topt, e.topSp) for e in ev_whole]
    assert [(e.n, e.program, e.totalt, e.prefs, e.insts, e.topt, e.topSp) for e in events] == key
    assert search.counters() == whole.counters()


def test_levin_run_and_als_resumed_equal_uninterrupted(tmp_path: Path) -> None:
    grid, s, goals = pm.maze_exp2()
    start = (s[0], s[1], 1)
    ls = LevinSearch(grid, 5, 4)
    P = uniform_policy(5, 4)
    run = LevinRun(ls, P, start, goals[2], max_phase=40)
    assert isinstance(run, ProgramSearch)
    whole = ls.search(P, start, goals[2])
    run2, ev = _resumed(lambda: LevinRun(ls, P, start, goals[2]), [1, 2], tmp_path)
    assert (run2.found, run2.steps, run2.path, run2.program.tolist()) == (
        whole[0], whole[1], whole[2], whole[3].tolist())
    assert len(ev) == 1 and ev[0]["program"] == whole[3].tolist()

    tasks = [(start, g) for g in goals[:4]] * 2

    def make() -> ALS:
        return ALS(grid, tasks, gamma=0.3, l_max=5, maxr=4, max_steps=2_000_000)

    als = make()
    assert isinstance(als, ProgramSearch)
    ev_whole = als.advance(1 << 20)
    assert als.finished and len(ev_whole) == len(tasks) - als.failures
    resumed, ev_res = _resumed(make, [3, 5, 1], tmp_path)
    assert [e.__dict__ for e in ev_res] == [e.__dict__ for e in ev_whole]
    assert np.array_equal(resumed.P, als.P) and resumed.steps == als.steps
    # adapting the bias pays: the second round of the same goals costs less than the first
    first = sum(e.steps for e in ev_whole if e.task < 4)
    assert sum(e.steps for e in ev_whole if e.task >= 4) < first


def test_proof_search_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    whole = proof_search(2)
    ps = ProofSearch(2)
    assert isinstance(ps, ProgramSearch)
    resumed, _ = _resumed(lambda: ProofSearch(2), [1, 2], tmp_path)
    assert resumed.trace == whole


def test_task_sets_are_registered_kernels_and_a_new_one_needs_no_kernel_edit() -> None:
    for ts in (ot.ONE_N_TWO_N, ot.HANOI):
        assert isinstance(ts, TaskSet) and len(ts) == MAXTASK == 30  # the original's limit
        assert ot.task_set(ts.name) is ts and ot.task_set(ts.code) is ts
    assert ot.task_set("1n2n").code == ot.GOAL_1N2N and ot.TASKS["hanoi"] == ot.GOAL_HANOI

    @ot.goal_kernel
    def goal_double(M, row, task):
        """The top of ds is 2n."""
        d = M[row - ADP]
        return d >= 1 and M[row - (ADP + d)] == 2 * task

    def verify(tape: np.ndarray, n: int) -> bool:
        ds = ot.ds_of(tape, n)
        return len(ds) >= 1 and ds[-1] == 2 * n

    name = "test-double"
    ts = ot.TASK_SETS.get(name) or ot.register_task_set(ot.OOPSTaskSet(
        name, 901, goal_double, lambda tape, n: (n,), ("c2", "mul"), verify,
        max_tasks=4))
    with pytest.raises(ValueError, match="already registered"):
        ot.register_task_set(ts)
    oops = OOPS(phases=((name, 4),))
    events = oops.advance(1 << 36)
    assert oops.finished and [e.n for e in events] == [1, 2, 3, 4]
    for e in events:  # each solver, run on its own, passes the independent verifier
        pr = ProgramRunner(e.program, name, e.n)
        assert pr.run().stop == "solved" and ts.verify(pr.tape, e.n)
    with pytest.raises(ValueError, match=r"n must be in 1\.\.4"):
        OOPS(phases=((name, 5),))
    with pytest.raises(ValueError, match="max_tasks"):
        ot.OOPSTaskSet("no-tasks", 902, goal_double, lambda tape, n: (n,), max_tasks=0)
    # more tasks than the original's 30 tapes: the machine gets as many tapes as needed
    assert len(ot.OOPSTaskSet("many", 902, goal_double, lambda tape, n: (n,),
                              max_tasks=MAXTASK + 1)) == 31
