"""What an evolutionary run optimises: a :class:`Problem` that scores a population of networks.

EvoTorch's split (Toklu et al., 2023): the problem, the population and the search algorithm are
kept apart, so one algorithm runs on every problem and one problem under every algorithm. A
problem here is anything with two methods::

    res = problem.evaluate(spec, genomes, tested)   # score the rows of ``genomes`` (in order)
    score = problem.solution_score(spec, genome)    # the solution's score on the problem's own test

``spec`` is the network shape (:class:`~metahook.evolution.network.NetSpec`) and ``genomes`` a
``(k, spec.n_weights)`` array, one network per row: the :class:`~metahook.evolution.base.Population`
an algorithm's ``ask`` returns. Each network whose fitness was measured is one *evaluation*, the
papers' cost measure; a problem may stop early at the first network that solves it, so
:class:`BatchResult` says how many rows it evaluated. Problems so far:
:class:`~metahook.evolution.pole_fitness.PoleProblem` (the pole-balancing variants) and
:class:`~metahook.evolution.tmaze_fitness.TMazeProblem` (Bakker's T-maze); world-model controllers
and Meta-GP are meant to plug in the same way.

The word is EvoTorch's; "task" means something else in OOPS (a task of the task sequence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from metahook.evolution.network import NetSpec


@dataclass
class BatchResult:
    """What one call of :meth:`Problem.evaluate` found."""

    fitness: np.ndarray  # one per network evaluated (a prefix of the batch where it stopped early)
    steps: np.ndarray
    n_evaluated: int
    solved_index: int = -1  # row of the network that solved the problem, -1 if none
    generalization: int = -1  # starts passed by the tested champion (damping), -1 if untested


class Problem(Protocol):
    """What an evolutionary run needs of the problem it optimises (see the module docstring)."""

    def evaluate(self, spec: NetSpec, genomes: np.ndarray,
                 tested: dict[bytes, int] | None = None) -> BatchResult:
        """Score the rows of ``genomes`` in order (higher: better).

        ``tested`` is the run's cache of champion tests already made, keyed by the genome's bytes;
        a problem without such tests ignores it. It changes no count, only the wall-clock time.
        """
        ...

    def solution_score(self, spec: NetSpec, genome: np.ndarray) -> int:
        """The solution's score on the problem's own test (e.g. the 625 generalization starts of
        the double pole without velocities), -1 where the problem has none."""
        ...
