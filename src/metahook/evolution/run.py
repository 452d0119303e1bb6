"""One evolutionary run as an object the harness can step and checkpoint: :class:`Evolution`.

An :class:`Evolution` is an algorithm (:mod:`~metahook.evolution.base`) on a problem
(:mod:`~metahook.evolution.problem`) under an evaluation budget
(:mod:`~metahook.evolution.budget`), from a starting network shape and a seeded
``numpy.random.Generator``. It runs the papers' protocol: generation after generation (ask,
evaluate, tell) until a network solves the problem or the cap of evaluations is spent. The
stepping contract::

    run = Evolution(algorithm, problem, spec, rng, max_evaluations)
    run.advance(evaluations=1000)     # whole generations until >= 1000 more evaluations, or done
    data = run.state_dict()           # between two advances: JSON plus .npz, never pickle
    run2 = Evolution(algorithm, problem, spec, np.random.default_rng(), max_evaluations)
    run2.load_state_dict(data)        # run2 continues exactly as run would
    record = run.record()             # RunRecord: solved, evaluations, generations, ...

:func:`evolve` is the whole run in one call. Algorithms that drive their own loop
(:class:`~metahook.evolution.base.Driver`, the EvoTorch baselines) run to the end in their first
``advance`` and cannot be checkpointed half-way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from metahook.evolution.base import Algorithm, Driver
from metahook.evolution.budget import EvaluationBudget, RunRecord
from metahook.evolution.network import NetSpec
from metahook.evolution.problem import BatchResult, Problem


class Evolution:
    """One run of ``algorithm`` on ``problem`` (see the module docstring)."""

    def __init__(self, algorithm: Algorithm | Driver, problem: Problem, spec: NetSpec,
                 rng: np.random.Generator, max_evaluations: int,
                 on_generation: Callable[[int, int, float], None] | None = None) -> None:
        self.algorithm = algorithm
        self.problem = problem
        self.spec = spec
        self.rng = rng
        self.budget = EvaluationBudget(problem, max_evaluations, on_generation)
        self.budget.hidden = spec.h
        self.driver: Driver | None = None
        self.algo: Algorithm | None = None
        if isinstance(algorithm, Driver):
            self.driver = algorithm
        else:
            self.algo = algorithm
        self.driven = False  # a driver's loop has run
        self.state: Any = None if self.algo is None else self.algo.init(spec, rng)

    @property
    def done(self) -> bool:
        """A network solved the problem or the evaluation cap is spent."""
        return self.budget.done

    @property
    def evaluations(self) -> int:
        return self.budget.evals

    def step(self) -> BatchResult:
        """One generation: ask, evaluate (the budget may cut the batch), tell unless done."""
        assert self.algo is not None, "a Driver has no generations to step; use advance"
        spec, genomes = self.algo.ask(self.state, self.rng)
        res = self.budget.evaluate(spec, genomes)
        if not self.budget.done:
            self.algo.tell(self.state, res.fitness, self.rng)
        return res

    def advance(self, evaluations: int) -> RunRecord:
        """Run whole generations until ``evaluations`` more evaluations were spent (the last
        generation may go past it) or the run is done; return the record so far.

        A :class:`~metahook.evolution.base.Driver` runs to the end whatever ``evaluations`` is.
        """
        if self.driver is not None:
            if not self.driven and not self.done:
                self.driven = True
                self.driver.drive(self.budget, self.spec, self.rng)
            return self.record()
        target = self.budget.evals + evaluations
        while not self.done and self.budget.evals < target:
            self.step()
        return self.record()

    def record(self) -> RunRecord:
        return self.budget.record()

    def state_dict(self) -> dict[str, Any]:
        """The run between two generations: the algorithm's state, the generator's state and the
        budget's counters (nested dicts, lists, numbers and numpy arrays; no pickle)."""
        if self.driver is not None and self.driven and not self.done:
            raise RuntimeError(f"{self.driver.name} drives its own loop and cannot be "
                               f"checkpointed half-way")
        return {"algorithm": self.algorithm.name, "spec": dataclasses.asdict(self.spec),
                "state": None if self.algo is None else self.algo.state_dict(self.state),
                "rng": dict(self.rng.bit_generator.state), "budget": self.budget.state_dict(),
                "driven": self.driven}

    def load_state_dict(self, data: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` output (same algorithm, problem and cap)."""
        if data["algorithm"] != self.algorithm.name:
            raise ValueError(f"checkpoint is of algorithm {data['algorithm']!r}, "
                             f"this run is {self.algorithm.name!r}")
        if self.algo is not None:
            self.state = self.algo.load_state_dict(data["state"])
        self.rng.bit_generator.state = data["rng"]
        self.budget.load_state_dict(data["budget"])
        self.driven = bool(data["driven"])


def evolve(algo: Algorithm | Driver, problem: Problem, spec: NetSpec, rng: np.random.Generator,
           max_evaluations: int,
           on_generation: Callable[[int, int, float], None] | None = None) -> RunRecord:
    """Run ``algo`` on ``problem`` until solved or ``max_evaluations`` evaluations were spent.

    The record's ``generalization`` is the solution's score on the problem's own test (the 625
    starts of the double pole without velocities), -1 where the problem has none.
    """
    run = Evolution(algo, problem, spec, rng, max_evaluations, on_generation)
    return run.advance(max_evaluations)
