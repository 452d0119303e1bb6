"""The OOPS language: instruction table, assembler, published programs, halting."""

from __future__ import annotations

import math

import pytest

from metahook.envs.oops_tasks import GOAL_1N2N, GOAL_HANOI, GOAL_NONE, check_1n2n, check_hanoi
from metahook.machines.forth import instructions as ins
from metahook.machines.forth import layout as mem
from metahook.machines.forth import vm
from metahook.machines.forth.asm import UnknownToken, assemble, disassemble
from metahook.search.direct import (
    CHAIN_1N2N,
    PAPER_FROZEN,
    SOLVER_1N2N,
    SOLVER_HANOI,
    run_program,
    token_probabilities,
)

FROZEN = [assemble(p) for p in PAPER_FROZEN]


def test_table_has_the_original_numbering() -> None:
    registered = [i for i in ins.INSTRUCTIONS if i.registered]
    assert len(registered) == 73 and len(ins.PRIMITIVES) == 66 and len(ins.DECLARED) == 7
    expect = {1: "1toD", 2: "2toD", 3: "mvdsk", 4: "xAD", 5: "xSA", 6: "bsf", 7: "boostq",
              26: "intpf", 27: "def", 32: "ret", 36: "grt", 44: "cpn", 48: "cpnb", 52: "pushdp",
              54: "toD", 58: "c0", 63: "c5", 64: "exec", 65: "qot", 66: "nop", 67: "fak",
              71: "defnp", 72: "calltp", 73: "endnp"}
    for k, nm in expect.items():
        assert ins.name(k) == nm
    assert ins.number("oldSQ") == 7 and ins.number("x23") == 4 and ins.number("x34") == 5
    assert sum(len(d.body) for d in ins.DECLARED) == 76  # q[1..76]; search code from 77
    assert all(not i.registered for i in ins.EXTENSION) and ins.EXTENSION[0].number == 74
    assert list(vm.DECL_START) == [1, 11, 25, 33, 44, 58, 65]


def test_layout_matches_the_program() -> None:
    assert (mem.ACP, mem.ADP, mem.ADDP, mem.AFNP, mem.ATASK) == (-3000, -2699, -2498, -2297, -995)
    assert (mem.APATP, mem.ACURP, mem.AQUOTEFLAG) == (-994, -993, -167)
    assert (mem.AENV, mem.AWORK) == (-166, -73)


def test_assembler_round_trip_and_aliases() -> None:
    for i in ins.INSTRUCTIONS:
        assert assemble(i.name) == [i.number]
        for a in i.aliases:
            assert assemble(a) == [i.number]
    text = "c3 dec boostq defnp c4 calltp c3 c5 calltp endnp"
    assert disassemble(assemble("(c3 dec boostq)(defnp c4 calltp c3 c5 calltp endnp)")) == text
    with pytest.raises(UnknownToken) as e:
        assemble("c3 boostqq")
    assert "boostq" in e.value.suggestions


def test_published_1n2n_solver_solves_1_to_30() -> None:
    prog = assemble(SOLVER_1N2N)
    for n in range(1, 31):
        r = run_program(prog, GOAL_1N2N, n)
        assert r.stop == "solved" and check_1n2n(r.Ds, n)
        assert r.steps == 14 * n + 40


def test_published_hanoi_solver_optimal_moves() -> None:
    prog = assemble(SOLVER_HANOI)
    for n in range(1, 21):
        r = run_program(prog, GOAL_HANOI, n, frozen=FROZEN)
        assert r.stop == "solved" and check_hanoi(r.pegs, n)
        assert r.moves == 2**n - 1
        assert r.steps == 31 * 2**n - 7 * n + 25


def test_hanoi_solver_needs_the_1n2n_solver_frozen() -> None:
    r = run_program(assemble(SOLVER_HANOI), GOAL_HANOI, 3)  # no frozen program 9
    assert r.stop == "halted" and r.halt_reason == "no such frozen program" and r.insts == 3


def test_prolongation_chain_programs() -> None:
    words = CHAIN_1N2N.split()
    cuts = [2, 6, 11, 19, 26]  # P1..P5 of the paper's timeline
    steps = [16, 39, 65, 83, 97]
    for k, (cut, s) in enumerate(zip(cuts, steps, strict=True), start=1):
        prog = assemble(" ".join(words[:cut]))
        r = run_program(prog, GOAL_1N2N, k)
        assert r.stop == "solved" and r.steps == s, (k, r)
        if k < 5:  # each shorter program runs to its end on the next instance
            assert run_program(prog, GOAL_1N2N, k + 1).stop == "end"
    assert run_program(assemble(CHAIN_1N2N), GOAL_1N2N, 6).stop != "solved"


def test_hanoi_solver_probability_matches_paper() -> None:
    probs = token_probabilities(assemble(SOLVER_HANOI), GOAL_HANOI, 1, frozen=FROZEN)
    assert math.isclose(math.prod(probs[:3]), (74 / 511) ** 3, rel_tol=1e-12)
    assert math.isclose(math.prod(probs[3:]), (74 / 876) ** 7, rel_tol=1e-12)
    assert round(math.prod(probs[:3]), 4) == 0.0030 and round(math.prod(probs[3:]) * 1e8, 1) == 3.1


@pytest.mark.parametrize(("text", "reason"), [
    ("del", "stack underflow"),
    ("c1 c0 div", "division by zero"),
    ("ret", "ret in main frame"),
    ("c5 dof", "no such function"),
    ("c5 c5 mul c5 mul c5 mul c5 mul c5 mul c5 mul c5 mul c5 mul c5 mul c5 mul c5 mul c5 mul "
     "c5 mul", "value out of range"),
    ("c5 c5 mul getq", "no such frozen program"),
    ("c0 exec", "exec of invalid token"),
    ("mvdsk", "bad peg"),
    ("c1 c5 c5 mul c5 mul by2 cpnb", "copy out of bounds"),
    ("c5 c5 mul c5 mul by2 cpn", "stack overflow"),
])
def test_illegal_operations_halt_with_reason(text: str, reason: str) -> None:
    r = run_program(assemble(text), GOAL_NONE, 1)
    assert r.stop == "halted" and r.halt_reason == reason


def test_exec_runs_a_token_and_quote_pushes_numbers() -> None:
    r = run_program(assemble("c1 exec"), GOAL_NONE, 1)  # exec 1 runs 1toD
    assert r.stop == "end" and r.Ds == [1]
    r = run_program(assemble("qot c3 dec boostq qot"), GOAL_NONE, 1)
    assert r.ds == [61, 14, 7]


def test_call_depth_and_invalid_tokens_stop_cleanly() -> None:
    r = run_program(assemble("c0 bsf"), GOAL_NONE, 1)  # code on ds: ds[1] = 1 = 1toD ...
    assert r.stop in ("halted", "bad-ip", "end", "time")
    r = run_program(assemble("fak"), GOAL_NONE, 1)  # no argument on ds
    assert r.stop == "halted" and r.halt_reason == "stack underflow"
    r = run_program(assemble("c5 fak"), GOAL_NONE, 1)  # recursion through the call stack
    assert r.stop == "end" and r.ds == [120]
    r = run_program(assemble("c999"), GOAL_NONE, 1)
    assert r.ds == [999]
    r = run_program(assemble("c2 c3 testexp"), GOAL_NONE, 1)  # [6x(4y-1)]^2, x=2, y=3
    assert r.ds == [(6 * 2 * (4 * 3 - 1)) ** 2]
    r = run_program(assemble("c4 fak2"), GOAL_NONE, 1)  # through a self-made function
    assert r.ds[-1] == 24
    r = run_program(assemble("c0 c1 sub pip"), GOAL_NONE, 1)  # continue at 0: a tape cell
    assert r.stop == "bad-ip" and r.ip == 0
    r = run_program(assemble("c4 c0 pip"), GOAL_NONE, 1)  # continue at 1: fak, in main
    assert r.stop == "halted" and r.halt_reason == "ret in main frame" and r.ds == [24]
    r = run_program(assemble("up bsf"), GOAL_NONE, 1, max_steps=10_000)  # runs on into ds
    assert r.stop in ("halted", "bad-ip", "time")


def test_docs_instruction_table_is_generated_from_the_table() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "oops.md").read_text()
    inside = doc.split("<!-- BEGIN INSTRUCTION TABLE -->\n")[1].split("\n<!-- END")[0]
    assert inside == ins.markdown_table()


@pytest.mark.skipif(not __import__("os").environ.get("METAHOOK_LONG_TESTS"),
                    reason="6.7e10 time steps (~20 CPU-minutes); set METAHOOK_LONG_TESTS=1")
def test_published_hanoi_solver_up_to_30() -> None:
    prog = assemble(SOLVER_HANOI)
    for n in range(21, 31):
        r = run_program(prog, GOAL_HANOI, n, frozen=FROZEN)
        assert r.stop == "solved" and check_hanoi(r.pegs, n) and r.moves == 2**n - 1
        assert r.steps == 31 * 2**n - 7 * n + 25


def test_cache_guard_drops_only_the_machines_stale_entries(tmp_path: object) -> None:
    from pathlib import Path
    from types import SimpleNamespace

    from metahook.machines.forth import cachecheck

    folder = Path(str(tmp_path))
    for name in ("levin.search_core-1.py311.nbi", "vm.step-2.py311.1.nbc", "als.run-3.py311.nbi"):
        (folder / name).write_text("x")
    fake = SimpleNamespace(_cache=SimpleNamespace(_cache_path=str(folder)))
    cachecheck._checked.discard(str(folder))
    cachecheck.ensure_fresh([fake], also=[])  # no stamp yet: the machine's entries go, not others
    assert sorted(p.name for p in folder.iterdir()) == ["als.run-3.py311.nbi", cachecheck.STAMP]
    (folder / "levin.x-1.py311.nbi").write_text("x")
    cachecheck._checked.discard(str(folder))
    cachecheck.ensure_fresh([fake], also=[])  # stamp matches: nothing removed
    assert (folder / "levin.x-1.py311.nbi").exists()


# ---------------------------------------------------------------- search-level differential fuzz
def _fuzz_case(rng: object, extended: bool) -> tuple[object, object, int, int, int, int]:
    """A random search set-up on both machines: random frozen programs, random (per-task)
    token distributions, a random ring and start; returns (jit state, reference, lo, hi, start,
    T)."""
    import numpy as np

    from metahook.envs.oops_tasks import init_all
    from metahook.machines.forth import reference as ref
    from metahook.search.oops import OOPS, prewired_state, reset_task_list

    assert isinstance(rng, np.random.Generator)
    goal = int(rng.choice([GOAL_NONE, GOAL_1N2N, GOAL_HANOI]))
    top = ins.N_EXTENDED if extended else 73
    frozen = [[int(rng.integers(58, 64)) if rng.random() < 0.35 else int(rng.integers(1, top + 1))
               for _ in range(int(rng.integers(1, 12)))] for _ in range(int(rng.integers(0, 3)))]
    st = prewired_state(1 << 18, extended=extended)
    oops = OOPS.__new__(OOPS)
    oops.st = st
    if frozen:
        OOPS.preload(oops, frozen)
    st.R[vm.R_PUSHEN] = 0
    reset_task_list(st)
    init_all(st.tape, goal)
    st.R[vm.R_GOAL] = goal
    hi = int(rng.integers(1, 5))
    lo = int(rng.integers(1, hi + 1))
    for task in range(lo, hi + 1):  # a random distribution: mostly equal, a few tokens boosted
        p = np.ones(mem.NSQ + 1, dtype=np.int64)
        p[0] = 0
        for i in rng.integers(1, mem.NSQ + 1, size=int(rng.integers(0, 12))):
            p[i] += int(rng.choice([1, 7, 73, 200]))
        if rng.random() < 0.2:
            p[1:] = rng.integers(1, 9, size=mem.NSQ)
        row = task * mem.ROW
        st.tape[row - (mem.ACURP + 1)] = int(p.sum())
        st.tape[row - (mem.ACURP + 2)] = int(p[1:].max())
        for i in range(1, mem.NSQ + 1):
            st.tape[row - (mem.ACURP + 2 + i)] = int(p[i])
    qp = int(st.R[vm.R_AFROZEN])
    oldp = int(st.R[vm.R_OLDP])
    rs = ref.Search([int(x) for x in st.qQ[1:qp + 1]],
                    [(int(st.OLD[k, 0]), int(st.OLD[k, 1])) for k in range(1, oldp + 1)],
                    qp, goal)
    rs.mem = st.tape.tolist()
    if extended:  # the appendix instructions, as ref.Machine(n_tokens=...) registers them
        rs.n_tokens = int(st.R[vm.R_NQS])
        for i in ins.EXTENSION:
            rs.ops[i.number] = getattr(rs, "op_" + ref._ident(i.name))
    T = int(2 ** rng.uniform(4, 13.5)) * (hi - lo + 1)
    return st, rs, lo, hi, qp + 1, T


def _fuzz(n_prefixes: int, seed: int) -> tuple[int, int]:
    """Searches on random set-ups until ``n_prefixes`` prefixes were tested; the compiled search
    and the reference must agree on the outcome, every counter, the program found and the
    tapes afterwards. Returns (prefixes, searches)."""
    import numpy as np

    from metahook.search.levin import RUNNING, SOLVED, begin_ring, end_ring

    rng = np.random.default_rng(seed)
    total = searches = 0
    while total < n_prefixes:
        st, rs, lo, hi, start, T = _fuzz_case(rng, extended=rng.random() < 0.1)
        st.R[vm.R_T] = T
        st.R[vm.R_QP] = st.R[vm.R_AFROZEN]
        assert begin_ring(st, lo, hi, start)
        status = RUNNING
        while status == RUNNING:  # small slices: the search resumes mid-way often
            status = st.slice(int(rng.integers(1, 5000)))
        program = [int(x) for x in st.qQ[start:int(st.R[vm.R_QP]) + 1]]
        end_ring(st, lo, hi)
        solved = rs.run_ring(list(range(lo, hi + 1)), start, T)
        R = st.R
        got = (status == SOLVED, int(R[vm.R_PREFS]), int(R[vm.R_INSTS]), int(R[vm.R_TOTALT]),
               int(R[vm.R_TOPT]), int(R[vm.R_TOPSP]))
        assert got == (solved, rs.prefs, rs.insts, rs.totalt, rs.topt, rs.top_sp), (seed, searches)
        if solved:
            assert program == rs.q[start:rs.qp + 1]
        assert st.tape.tolist() == rs.mem
        total += rs.prefs
        searches += 1
    return total, searches


def test_search_fuzz_agrees_with_the_reference() -> None:
    prefixes, searches = _fuzz(5_000, 19)
    assert prefixes >= 5_000 and searches >= 5


@pytest.mark.skipif(not __import__("os").environ.get("METAHOOK_LONG_TESTS"),
                    reason="1e5 random prefixes against the pure-Python reference (minutes); "
                           "set METAHOOK_LONG_TESTS=1")
def test_search_fuzz_long() -> None:
    prefixes, _ = _fuzz(100_000, 20260705)
    assert prefixes >= 100_000
