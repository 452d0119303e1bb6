"""What every program search and every task set in :mod:`metahook.search` offers.

Two protocols (structural types: a class conforms by having the members, it inherits nothing).

:class:`ProgramSearch` -- a long-running search over the programs of a machine, driven in
budgeted slices. Levin (1973) and Solomonoff (1984) define the search these share: phase
``i = 1, 2, ...`` gives every program ``p`` up to ``2^i P(p)`` steps; Schmidhuber, Zhao & Wiering
(Machine Learning 28:105-130, 1997) adapt ``P`` after each success (ALS); Schmidhuber (Optimal
Ordered Problem Solver, Machine Learning 54:211-254, 2004) searches a growing sequence of tasks
and lets later programs call earlier ones (OOPS); Hutter (IJFCS 13(3):431-443, 2002) searches
proofs of programs' correctness and time bounds (HSEARCH). Each is advanced by
``advance(<unit>)``, whose parameter names what the budget counts (``tokens`` for OOPS,
``phases`` for Levin search over the maze language, ``proofs`` for HSEARCH's proof search), and
returns the events of that slice (tasks solved, proofs found); slicing never changes the result.
``state_dict()`` returns plain data (numbers, strings, lists, dicts, numpy arrays) and
``load_state_dict(state)`` restores it into an instance built with the same constructor
arguments, so a search interrupted and resumed ends exactly as an uninterrupted one.

:class:`TaskSet` -- the problems a search solves: for task ``i`` an initial state, a goal test
and an independent verifier. The goal test runs inside the search's compiled loop (after every
instruction, in OOPS), so it is a compiled kernel, registered with the set, never an integer code
dispatched in an if-chain; the verifier is plain Python and checks a final state without the
machine's help. The number of tasks is the set's own (``len``), not a constant of the search, so
a repertoire can grow (Schmidhuber, PowerPlay, Frontiers in Psychology 4:313, 2013).

Implementations: :class:`metahook.search.oops.OOPS` (``advance(tokens)``),
:class:`metahook.search.als.LevinRun` and :class:`metahook.search.als.ALS` (``advance(phases)``),
:class:`metahook.search.hsearch.ProofSearch` (``advance(proofs)``), and the readable reference
:class:`metahook.search.naive.NaiveLevinSearch` (``advance(phases)``); task sets:
:class:`metahook.envs.oops_tasks.OOPSTaskSet` and :class:`metahook.search.naive.Problem`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ProgramSearch(Protocol):
    """A program search driven in budgeted slices, its state plain data (see the module doc)."""

    @property
    def finished(self) -> bool:
        """True when the search has nothing left to do (solved everything, or gave up)."""
        ...

    def advance(self, budget: int, /) -> Sequence[Any]:
        """Run for about ``budget`` units (named by the implementation's parameter); return the
        events of this slice (e.g. the tasks solved), in order."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue, as plain data."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (made by :meth:`state_dict` of an equally built search)."""
        ...


@runtime_checkable
class TaskSet(Protocol):
    """Tasks ``1..len(self)`` for one machine: initial state, compiled goal, verifier."""

    name: str

    def __len__(self) -> int:
        """How many tasks the set poses (may grow)."""
        ...

    @property
    def goal(self) -> Any:
        """The compiled goal test, called by the search's kernel on the machine's memory."""
        ...

    def initial_state(self, memory: Any, task: int) -> Any:
        """Set up task ``task``'s initial state (in ``memory``, or returned)."""
        ...

    def verify(self, memory: Any, task: int) -> bool:
        """Independent plain-Python check that ``memory`` holds a solution of ``task``."""
        ...


__all__ = ["ProgramSearch", "TaskSet"]
