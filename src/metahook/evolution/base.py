"""The ask/tell interface shared by ESP, H-ESP, CoSyNE and the CMA-ES baseline, and the loop.

Every algorithm is an object with three methods over an explicit state (evosax's manner)::

    state = algo.init(spec, rng)                 # spec: the network shape to start from
    spec, genomes = algo.ask(state, rng)         # networks to evaluate, one flat genome per row
    algo.tell(state, fitness, rng)               # a fitness per row of that ask (higher: better)

``ask`` may return a different network shape from one call to the next (ESP adapts the number of
hidden neurons). Randomness comes only from the ``numpy.random.Generator`` passed in.
:func:`evolve` runs an algorithm on a :class:`~metahook.evolution.pole_fitness.PoleTask`
until a network solves it or the evaluation budget runs out, counting evaluations (the papers'
cost measure): every network whose fitness was measured is one evaluation. Algorithms that run
their own loop (the EvoTorch baselines, :class:`Driver`) evaluate through the same
:class:`EvaluationBudget` instead.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from metahook.evolution.network import NetSpec
from metahook.evolution.pole_fitness import BatchResult


class Task(Protocol):
    """What :func:`evolve` needs of a task (:class:`PoleTask`, the T-maze task)."""

    def evaluate(self, spec: NetSpec, genomes: np.ndarray,
                 tested: dict[bytes, int] | None = None) -> BatchResult: ...

    def solution_score(self, spec: NetSpec, genome: np.ndarray) -> int: ...


class Algorithm(Protocol):
    @property
    def name(self) -> str: ...

    def init(self, spec: NetSpec, rng: np.random.Generator) -> Any: ...

    def ask(self, state: Any, rng: np.random.Generator) -> tuple[NetSpec, np.ndarray]: ...

    def tell(self, state: Any, fitness: np.ndarray, rng: np.random.Generator) -> None: ...


def state_dict(state: Any) -> dict[str, Any]:
    """An algorithm state (a dataclass of arrays and numbers) as a plain nested dict.

    The result is what the harness's checkpoints store (JSON plus ``.npz``); CMA-ES keeps its
    state inside pycma's object and is not covered.
    """
    return dataclasses.asdict(state)


def load_state_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a state of dataclass type ``cls`` from :func:`state_dict` output."""
    kwargs = dict(data)
    kwargs["spec"] = NetSpec(**kwargs["spec"])
    for f in dataclasses.fields(cls):
        if isinstance(kwargs.get(f.name), list):
            kwargs[f.name] = np.asarray(kwargs[f.name])
    return cls(**kwargs)


def cauchy_mutate(genomes: np.ndarray, prob: float, alpha: float,
                  rng: np.random.Generator) -> None:
    """Add Cauchy noise (scale ``alpha``) to each weight of ``genomes`` with prob. ``prob``."""
    mask = rng.random(genomes.shape) < prob
    genomes[mask] += alpha * rng.standard_cauchy(int(mask.sum()))


def rank(fitness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices from best to worst; ties broken at random."""
    return np.lexsort((rng.random(size=(len(fitness),)), -np.asarray(fitness, dtype=float)))


@dataclass
class RunRecord:
    """The outcome of one evolutionary run."""

    solved: bool
    evaluations: int
    generations: int
    hidden: int  # hidden neurons of the solution (or of the last network shape)
    generalization: int  # starts of 625 passed by the solution (damping), -1 if not measured
    wall_s: float

    def to_json(self) -> dict[str, Any]:
        return {"solved": self.solved, "evaluations": self.evaluations,
                "generations": self.generations, "hidden": self.hidden,
                "generalization": self.generalization, "wall_s": round(self.wall_s, 4)}


class EvaluationBudget:
    """Evaluates batches of networks on a task, counting evaluations against a cap.

    Every network whose fitness was measured is one evaluation; a batch larger than what is left
    of the cap is cut to fit. The budget is *done* once a network solved the task or the cap is
    spent. :func:`evolve` drives the ask/tell algorithms through it; the EvoTorch baselines call
    it from inside their EvoTorch ``Problem``, so both count the same way.
    """

    def __init__(self, task: Task, max_evaluations: int,
                 on_generation: Callable[[int, int, float], None] | None = None) -> None:
        self.task = task
        self.max_evaluations = max_evaluations
        self.on_generation = on_generation
        self.evals = 0
        self.batches = 0
        self.exhausted = max_evaluations <= 0
        self.solved = False
        self.hidden = -1  # hidden neurons of the last network shape evaluated
        self.generalization = -1
        self.tested: dict[bytes, int] = {}
        self.t0 = time.perf_counter()

    @property
    def done(self) -> bool:
        return self.solved or self.exhausted

    def evaluate(self, spec: NetSpec, genomes: np.ndarray) -> BatchResult:
        """Evaluate (a prefix of) ``genomes``; sets ``solved`` / ``exhausted`` when done."""
        budget = self.max_evaluations - self.evals
        truncated = genomes.shape[0] > budget
        if truncated:
            genomes = genomes[:budget]
        res = self.task.evaluate(spec, genomes, self.tested)
        self.evals += res.n_evaluated
        self.batches += 1
        self.hidden = spec.h
        if self.on_generation is not None:
            best = float(res.fitness.max()) if res.n_evaluated else 0.0
            self.on_generation(self.batches, self.evals, best)
        if res.solved_index >= 0:
            self.solved = True
            self.generalization = res.generalization
            if self.generalization < 0:
                self.generalization = self.task.solution_score(spec, genomes[res.solved_index])
        elif truncated or self.evals >= self.max_evaluations:
            self.exhausted = True
        return res

    def record(self) -> RunRecord:
        return RunRecord(self.solved, self.evals, self.batches, self.hidden,
                         self.generalization if self.solved else -1,
                         time.perf_counter() - self.t0)


@runtime_checkable
class Driver(Protocol):
    """An algorithm that runs its own loop (EvoTorch's searchers) over an evaluation budget."""

    @property
    def name(self) -> str: ...

    def drive(self, budget: EvaluationBudget, spec: NetSpec, rng: np.random.Generator) -> None: ...


def evolve(algo: Algorithm | Driver, task: Task, spec: NetSpec, rng: np.random.Generator,
           max_evaluations: int,
           on_generation: Callable[[int, int, float], None] | None = None) -> RunRecord:
    """Run ``algo`` on ``task`` until solved or ``max_evaluations`` evaluations were spent.

    The record's ``generalization`` is the solution's score on the task's own test (the 625
    starts of the double pole without velocities), -1 where the task has none.
    """
    budget = EvaluationBudget(task, max_evaluations, on_generation)
    budget.hidden = spec.h
    if isinstance(algo, Driver):
        algo.drive(budget, spec, rng)
        return budget.record()
    state = algo.init(spec, rng)
    while not budget.done:
        cur, genomes = algo.ask(state, rng)
        res = budget.evaluate(cur, genomes)
        if not budget.done:
            algo.tell(state, res.fitness, rng)
    return budget.record()
