"""Differential tests: the compiled interpreter against the independent pure-Python reference.

10,000 generated programs (random token strings, and mutations of the published solvers) run on
1^n2^n, Hanoi and bare tapes, with and without the paper's frozen programs, under tight and loose
time limits; both interpreters must agree on the stop, the halt reason, every counter, the undo
log (order and old values) and every changed cell. Hypothesis then throws arbitrary integer
sequences (invalid token numbers included) at the compiled interpreter.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metahook.envs.oops_tasks import GOAL_1N2N, GOAL_HANOI, GOAL_NONE
from metahook.machines.forth import instructions as ins
from metahook.machines.forth import vm
from metahook.machines.forth.asm import assemble
from metahook.search.direct import CHAIN_1N2N, SOLVER_1N2N, SOLVER_HANOI
from oops_helpers import FROZEN, compare, run_jit

SEEDS = [assemble(p) for p in (SOLVER_1N2N, SOLVER_HANOI, CHAIN_1N2N,
                               "defnp c4 calltp c3 c5 calltp endnp", "c3 dec boostq")]
N_PROGRAMS = 10_000


def generate(rng: np.random.Generator, extended: bool) -> list[int]:
    top = ins.N_EXTENDED if extended else 73
    if rng.random() < 0.3:  # a published program, mutated
        prog = list(SEEDS[int(rng.integers(len(SEEDS)))])
        for _ in range(int(rng.integers(1, 4))):
            k = int(rng.integers(len(prog) + 1))
            r = rng.random()
            tok = int(rng.integers(1, top + 1))
            if r < 0.4 and k < len(prog):
                prog[k] = tok
            elif r < 0.8:
                prog.insert(k, tok)
            elif k < len(prog):
                del prog[k]
        return prog or [1]
    length = int(rng.integers(1, 40))
    pushes = rng.random(length) < 0.35
    return [int(rng.integers(58, 64)) if p else int(rng.integers(1, top + 1)) for p in pushes]


def test_ten_thousand_programs_agree() -> None:
    rng = np.random.default_rng(20020701)
    stops: dict[str, int] = {}
    reasons: set[int] = set()
    for k in range(N_PROGRAMS):
        extended = rng.random() < 0.05
        program = generate(rng, extended)
        goal = int(rng.choice([GOAL_NONE, GOAL_1N2N, GOAL_HANOI]))
        n = int(rng.integers(1, 7))
        frozen = FROZEN if rng.random() < 0.7 else []
        max_steps = int(rng.integers(1, 80)) if rng.random() < 0.3 else 20_000
        out = compare(program, goal, n, frozen, max_steps, full_tape=(k % 500 == 0),
                      extended=extended)
        stops[out.stop] = stops.get(out.stop, 0) + 1
        reasons.add(out.why)
    # the generator reaches every way of stopping and most halt reasons
    assert set(stops) >= {"halted", "end", "bad-ip", "time", "solved"}, stops
    assert len(reasons) >= 14, sorted(reasons)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=st.lists(st.integers(min_value=-3, max_value=100), min_size=0, max_size=60),
       goal=st.sampled_from([GOAL_NONE, GOAL_1N2N, GOAL_HANOI]),
       n=st.integers(min_value=1, max_value=30),
       max_steps=st.integers(min_value=1, max_value=100_000),
       use_frozen=st.booleans())
def test_arbitrary_token_sequences_never_crash(program: list[int], goal: int, n: int,
                                              max_steps: int, use_frozen: bool) -> None:
    out, pr = run_jit(program, goal, n, FROZEN if use_frozen else [], max_steps)
    assert out.stop in ("solved", "halted", "end", "bad-ip", "time")
    assert 0 <= out.why < len(vm.HALT_REASONS)
    assert out.insts <= out.steps <= max_steps + 1
    if out.stop != "halted":  # a clean state: every stack pointer inside its stack
        assert 0 <= pr.dp <= 200


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=st.lists(st.integers(min_value=0, max_value=75), min_size=1, max_size=40),
       goal=st.sampled_from([GOAL_NONE, GOAL_1N2N, GOAL_HANOI]),
       n=st.integers(min_value=1, max_value=8))
def test_arbitrary_sequences_agree_with_reference(program: list[int], goal: int, n: int) -> None:
    compare(program, goal, n, FROZEN, 5_000)


def test_scan_past_the_tapes_is_counted_and_agrees() -> None:
    from metahook.machines.forth import layout as mem
    from metahook.search.direct import ProgramRunner, run_slice
    from oops_helpers import run_ref

    def setup() -> ProgramRunner:
        pr = ProgramRunner(assemble("findb"), GOAL_1N2N, 7, max_steps=1_000_000,
                           stack_capacity=1 << 14)
        row = 7 * mem.ROW
        pr.st.tape[row - (mem.ADP + 1)] = 999_999  # a value found nowhere in memory
        pr.st.tape[row - (mem.ACP + 2)] = 5  # main frame's base above the stack: scan from ds[6]
        return pr

    pr = setup()
    code = int(run_slice(pr.st.M, pr.st.F, 1 << 40))
    R = pr.st.R
    assert int(R[vm.R_OFFMEM]) == 1 and code == 3  # the program then ends normally
    assert int(R[vm.R_TOTALT]) == 1_000_000  # the unfound scan ran to the time limit
    ref_out, m = run_ref(setup(), GOAL_1N2N, 1_000_000)
    assert ref_out.steps == int(R[vm.R_TOTALT]) and m.dp == pr.dp
    assert m.cell(mem.ADP + m.dp) == int(pr.st.tape[7 * mem.ROW - (mem.ADP + pr.dp)])
