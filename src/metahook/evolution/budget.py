"""The evaluation budget of one evolutionary run, and the record of how the run ended.

The papers' cost measure is the number of *evaluations*: every network whose fitness was measured
counts one (Gomez, Schmidhuber & Miikkulainen, JMLR 9, 2008, sec. 6). A run stops at the first
network that solves the problem or when the cap is spent. :class:`EvaluationBudget` is where that
counting happens, for the ask/tell algorithms (through :class:`~metahook.evolution.run.Evolution`)
and for the EvoTorch baselines alike (they call it from inside their EvoTorch ``Problem``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahook.evolution.network import NetSpec
from metahook.evolution.problem import BatchResult, Problem


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
    """Evaluates batches of networks on a problem, counting evaluations against a cap.

    Every network whose fitness was measured is one evaluation; a batch larger than what is left
    of the cap is cut to fit. The budget is *done* once a network solved the problem or the cap is
    spent.
    """

    def __init__(self, problem: Problem, max_evaluations: int,
                 on_generation: Callable[[int, int, float], None] | None = None) -> None:
        self.problem = problem
        self.max_evaluations = max_evaluations
        self.on_generation = on_generation
        self.evals = 0
        self.batches = 0
        self.exhausted = max_evaluations <= 0
        self.solved = False
        self.hidden = -1  # hidden neurons of the last network shape evaluated
        self.generalization = -1
        self.tested: dict[bytes, int] = {}
        self.wall_before = 0.0  # seconds spent before a resume
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
        res = self.problem.evaluate(spec, genomes, self.tested)
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
                self.generalization = self.problem.solution_score(spec,
                                                                  genomes[res.solved_index])
        elif truncated or self.evals >= self.max_evaluations:
            self.exhausted = True
        return res

    @property
    def wall_s(self) -> float:
        return self.wall_before + time.perf_counter() - self.t0

    def record(self) -> RunRecord:
        return RunRecord(self.solved, self.evals, self.batches, self.hidden,
                         self.generalization if self.solved else -1, self.wall_s)

    def state_dict(self) -> dict[str, Any]:
        """The counters (the champion-test cache ``tested`` is left out: it saves time only)."""
        return {"max_evaluations": self.max_evaluations, "evals": self.evals,
                "batches": self.batches, "exhausted": self.exhausted, "solved": self.solved,
                "hidden": self.hidden, "generalization": self.generalization,
                "wall_s": self.wall_s}

    def load_state_dict(self, data: dict[str, Any]) -> None:
        if int(data["max_evaluations"]) != self.max_evaluations:
            raise ValueError(f"checkpoint has an evaluation cap of {data['max_evaluations']}, "
                             f"this run {self.max_evaluations}")
        self.evals = int(data["evals"])
        self.batches = int(data["batches"])
        self.exhausted = bool(data["exhausted"])
        self.solved = bool(data["solved"])
        self.hidden = int(data["hidden"])
        self.generalization = int(data["generalization"])
        self.wall_before = float(data["wall_s"])
        self.t0 = time.perf_counter()
