"""The ask/tell interface shared by ESP, H-ESP, CoSyNE and the CMA-ES baseline, and the loop.

Every algorithm is an object with three methods over an explicit state (evosax's manner)::

    state = algo.init(spec, rng)                 # spec: the network shape to start from
    spec, genomes = algo.ask(state, rng)         # networks to evaluate, one flat genome per row
    algo.tell(state, fitness, rng)               # a fitness per row of that ask (higher: better)

``ask`` may return a different network shape from one call to the next (ESP adapts the number of
hidden neurons). Randomness comes only from the ``numpy.random.Generator`` passed in.
:func:`evolve` runs an algorithm on a :class:`~metahook.evolution.pole_fitness.PoleTask`
until a network solves it or the evaluation budget runs out, counting evaluations (the papers'
cost measure): every network whose fitness was measured is one evaluation.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

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


def evolve(algo: Algorithm, task: Task, spec: NetSpec, rng: np.random.Generator,
           max_evaluations: int,
           on_generation: Callable[[int, int, float], None] | None = None) -> RunRecord:
    """Run ``algo`` on ``task`` until solved or ``max_evaluations`` evaluations were spent.

    The record's ``generalization`` is the solution's score on the task's own test (the 625
    starts of the double pole without velocities), -1 where the task has none.
    """
    t0 = time.perf_counter()
    state = algo.init(spec, rng)
    evals = 0
    gen = 0
    cur = spec
    tested: dict[bytes, int] = {}
    while evals < max_evaluations:
        cur, genomes = algo.ask(state, rng)
        budget = max_evaluations - evals
        truncated = genomes.shape[0] > budget
        if truncated:
            genomes = genomes[:budget]
        res = task.evaluate(cur, genomes, tested)
        evals += res.n_evaluated
        gen += 1
        if on_generation is not None:
            on_generation(gen, evals, float(res.fitness.max()) if res.n_evaluated else 0.0)
        if res.solved_index >= 0:
            score = res.generalization
            if score < 0:
                score = task.solution_score(cur, genomes[res.solved_index])
            return RunRecord(True, evals, gen, cur.h, score, time.perf_counter() - t0)
        if truncated:
            break
        algo.tell(state, res.fitness, rng)
    return RunRecord(False, evals, gen, cur.h, -1, time.perf_counter() - t0)
