"""Levin search in plain Python: the readable reference beside the fused kernels.

Levin, "Universal sequential search problems", Problems of Information Transmission 9(3):265-266
(1973); in the form of Schmidhuber, Zhao & Wiering, Machine Learning 28:105-130 (1997), sec. 3.1:

    for phase i = 1, 2, 3, ...:   T = 2^i
        run every program p, in turn, for at most T * P(p) steps, until one solves the task.

A program is a sequence of tokens; ``P(p)`` is the product of its tokens' probabilities, each
given by the problem for the position it fills (:meth:`Problem.choices`). Programs are
generated lazily, as the fused kernels (:func:`metahook.search.als.ls_phase`,
:func:`metahook.search.levin.search_core`) generate them: a token is chosen only when execution
first asks for the position it fills, and programs sharing a prefix share its execution (a
depth-first walk over prefixes, the machine's state copied at every branch). A phase is charged
the steps actually executed: each prefix's steps beyond its parent's, cut at its own limit
``T * P``. Within a phase the first solution in depth-first order wins.

The guarantee this buys (Levin; ML97 sec. 3.1): if some program ``p*`` solves the task in
``t*`` steps, a solution is found by phase ``ceil(log2(t*/P(p*)))``, and the program ``q`` found
has ``t(q)/P(q) <= 2 t*/P(p*)`` (``tests/test_search_naive.py`` checks both on random toy
problems, and that on the maze language the reference finds the kernel's program at the kernel's
step count).

This module is for reading and for testing the kernels; it is slow on purpose (one Python call
per instruction of the problem's machine).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# what Problem.run reports
SOLVED = "solved"  # the goal was reached
MORE = "more"  # execution asks for the token after the program's last one
STOPPED = "stopped"  # out of time (t > limit), halted, or off the program's end for good


class MachineState(Protocol):
    """A machine's state as the search sees it: copied at branches, ``t`` its time used."""

    t: int


class Problem(Protocol):
    """One task for one machine, as Levin search needs it.

    ``choices(prefix)``: the tokens that may fill position ``len(prefix)`` after ``prefix``, in
    the order they are tried, each with its probability (they need not sum to 1: tokens that
    cannot run there are simply left out). ``start()``: the machine's initial state (``t = 0``).
    ``run(state, program, limit)``: continue ``state`` -- stopped where it asked for token
    ``len(program) - 1`` -- executing ``program`` until it solves the task (:data:`SOLVED`), asks
    for one more token (:data:`MORE`) or stops (:data:`STOPPED`, e.g. once ``state.t > limit``);
    ``state`` is changed in place. ``max_length``: the longest program considered.
    """

    max_length: int

    def choices(self, prefix: Sequence[Any]) -> Sequence[tuple[Any, float]]: ...

    def start(self) -> Any: ...

    def run(self, state: Any, program: Sequence[Any], limit: float) -> str: ...


@dataclass
class Found:
    """A solution: the program, the phase that found it, the search's steps so far, the state."""

    program: list[Any]
    phase: int
    steps: int
    state: Any


def levin_phase(problem: Problem, T: float) -> tuple[Found | None, int]:
    """One phase: every program ``p`` gets at most ``T * P(p)`` steps. Returns (the first
    solution in depth-first order or None, the steps executed)."""
    steps = 0

    def expand(prefix: list[Any], P: float, state: Any) -> Found | None:
        nonlocal steps
        for token, p in problem.choices(prefix):
            limit = P * p * T  # this prefix's time limit
            if limit <= state.t:  # its parent already used it up
                continue
            child = copy.deepcopy(state)
            program = [*prefix, token]
            outcome = problem.run(child, program, limit)
            steps += min(child.t, int(limit)) - state.t
            if outcome == SOLVED:
                return Found(program, 0, 0, child)
            if outcome == MORE and len(program) < problem.max_length:
                found = expand(program, P * p, child)
                if found is not None:
                    return found
        return None

    return expand([], 1.0, problem.start()), steps


class NaiveLevinSearch:
    """Levin search on ``problem``, phase ``i`` with ``T = 2^i`` for ``i = 1..max_phase``.

    A :class:`metahook.search.protocols.ProgramSearch`: ``advance(phases)`` runs that many
    phases (or until a solution); ``steps`` counts every step executed so far.
    """

    def __init__(self, problem: Problem, max_phase: int = 40) -> None:
        self.problem, self.max_phase = problem, max_phase
        self.phase = 0  # phases done
        self.steps = 0
        self.found: Found | None = None

    @property
    def finished(self) -> bool:
        return self.found is not None or self.phase >= self.max_phase

    def advance(self, phases: int) -> list[Found]:
        """Run up to ``phases`` more phases; return the solution if one was found."""
        for _ in range(phases):
            if self.finished:
                break
            self.phase += 1
            found, steps = levin_phase(self.problem, float(2.0**self.phase))
            self.steps += steps
            if found is not None:
                found.phase, found.steps = self.phase, self.steps
                self.found = found
                return [found]
        return []

    def search(self) -> Found | None:
        """Run to the end; the solution or None."""
        while not self.finished:
            self.advance(1)
        return self.found

    def state_dict(self) -> dict[str, Any]:
        f = self.found
        return {"phase": self.phase, "steps": self.steps,
                "found": None if f is None else {"program": list(f.program), "phase": f.phase,
                                                 "steps": f.steps}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.phase, self.steps = int(state["phase"]), int(state["steps"])
        f = state["found"]
        self.found = None if f is None else Found(list(f["program"]), int(f["phase"]),
                                                  int(f["steps"]), None)


__all__ = ["MORE", "SOLVED", "STOPPED", "Found", "NaiveLevinSearch", "Problem", "levin_phase"]
