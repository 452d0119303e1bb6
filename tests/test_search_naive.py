"""The plain-Python Levin search: Levin's guarantee on toy problems, the maze kernel's results."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.envs import pomaze as pm
from metahook.search.als import LevinSearch, MazeProblem, uniform_policy
from metahook.search.naive import MORE, SOLVED, STOPPED, NaiveLevinSearch
from metahook.search.protocols import ProgramSearch

OPS = ("inc", "dbl", "sq")


@dataclass
class Acc:
    value: int = 0
    ip: int = 0
    t: int = 0


@dataclass
class Arith:
    """A toy machine: an accumulator (0 at the start); ``inc`` adds 1, ``dbl`` doubles, ``sq``
    squares, each at its own cost in steps; the goal is ``target``, tested after every token."""

    probs: tuple[float, ...]
    costs: tuple[int, ...]
    target: int
    max_length: int

    def choices(self, prefix: Any) -> list[tuple[str, float]]:
        return list(zip(OPS, self.probs, strict=True))

    def start(self) -> Acc:
        return Acc()

    def run(self, s: Acc, program: list[str], limit: float) -> str:
        while s.ip < len(program):
            k = OPS.index(program[s.ip])
            s.t += self.costs[k]
            if s.t > limit:
                return STOPPED
            s.value = (s.value + 1, 2 * s.value, s.value * s.value)[k]
            s.ip += 1
            if s.value == self.target:
                return SOLVED
        return MORE


def _solutions(pr: Arith) -> list[tuple[float, tuple[str, ...]]]:
    """Every program that reaches the target exactly at its last token: (t / P, program)."""
    out = []
    for n in range(1, pr.max_length + 1):
        for prog in itertools.product(OPS, repeat=n):
            s = pr.start()
            if pr.run(s, list(prog), float("inf")) == SOLVED and s.ip == n:
                P = 1.0
                for tok in prog:
                    P *= pr.probs[OPS.index(tok)]
                out.append((s.t / P, prog))
    return out


@settings(max_examples=60, deadline=None)
@given(weights=st.tuples(*[st.integers(1, 10)] * 3), costs=st.tuples(*[st.integers(1, 5)] * 3),
       target=st.integers(1, 40), max_length=st.integers(1, 5))
def test_finds_a_program_within_twice_the_best_levin_complexity(weights, costs, target,
                                                               max_length) -> None:
    total = sum(weights)
    pr = Arith(tuple(w / total for w in weights), costs, target, max_length)
    best = min(_solutions(pr), default=None)
    search = NaiveLevinSearch(pr, max_phase=60)
    found = search.search()
    if best is None:
        assert found is None
        return
    assert found is not None
    s = pr.start()
    assert pr.run(s, found.program, float("inf")) == SOLVED
    P = 1.0
    for tok in found.program:
        P *= pr.probs[OPS.index(tok)]
    # Levin: found in the first phase whose T admits some program; the best one fits in phase
    # ceil(log2(t*/P*)), so t(q)/P(q) <= 2^phase < 2 t*/P*
    assert s.t / P <= 2.0**found.phase
    assert s.t / P < 2 * best[0] * (1 + 1e-9)
    assert 2.0 ** (found.phase - 1) < best[0] * (1 + 1e-9)


def test_the_naive_search_is_a_program_search_and_resumes() -> None:
    pr = Arith((0.5, 0.3, 0.2), (1, 2, 3), 36, 5)
    whole = NaiveLevinSearch(pr)
    assert isinstance(whole, ProgramSearch)
    found = whole.search()
    assert found is not None
    first = NaiveLevinSearch(pr)
    events = first.advance(3)
    again = NaiveLevinSearch(pr)
    again.load_state_dict(first.state_dict())
    while not again.finished:
        events += again.advance(2)
    assert [e.program for e in events] == [found.program]
    assert again.state_dict() == whole.state_dict()


def test_the_naive_search_finds_the_maze_kernels_program_at_its_step_count() -> None:
    grid, s, goals = pm.maze_exp2()
    l_max, maxr = 4, 3
    start = (s[0], s[1], 1)
    ls = LevinSearch(grid, l_max, maxr)
    P = uniform_policy(l_max, maxr)
    P[1, 8] = 0.4  # a skewed bias: positions differ
    P[1, :8] = 0.6 / 8
    for goal in goals[:3]:
        found, steps, path, prog = ls.search(P, start, goal)
        ref = NaiveLevinSearch(MazeProblem(grid, P, start, goal, l_max, maxr)).search()
        assert found and ref is not None
        assert [list(t) for t in ref.program] == prog.tolist()
        assert ref.steps == steps and ref.state.walked == path
