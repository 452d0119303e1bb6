"""Fitness of recurrent networks in the T-maze (see :mod:`metahook.envs.tmaze`), for H-ESP.

A network (3 inputs, the observation; one tanh output y) walks the maze twice, once per goal arm.
Its output's sign picks the move that matters in each cell: in the corridor y > 0 steps east and
y ≤ 0 west; at the junction y > 0 turns north and y ≤ 0 south (Bakker's four actions, reduced to
the two that are not a bump into a wall). Each walk is cut off after ``4·N + 10`` steps.

Fitness, summed over the two walks (at most 4): ``progress + reached·(1 + s·y_J)/2``, where
progress is the farthest cell reached divided by N, s = ±1 the signal and y_J the output at the
junction; so the search is paid for getting there and then for turning the right way, graded by
how far y_J leans the right way. A network **solves** a corridor length when both walks end in
the goal arm. Every network walked is one evaluation (both walks together).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from metahook.envs.tmaze import EAST, NORTH, SOUTH, WEST, tmaze_move, tmaze_observation
from metahook.evolution.network import NetSpec, net_step
from metahook.evolution.problem import BatchResult


@njit(cache=True)
def tmaze_walk(genome: np.ndarray, h: int, recurrent: bool, bias: bool, length: int,
               signal: int, max_steps: int) -> tuple[float, int, float]:
    """One walk: ``(progress, outcome, y_at_junction)``; outcome +1 goal, −1 wrong, 0 none."""
    u = np.empty(3)
    act = np.zeros(max(h, 1))
    new = np.empty(max(h, 1))
    pos = 0
    far = 0
    for _ in range(max_steps):
        tmaze_observation(pos, length, signal, u)
        y = net_step(genome, 3, h, recurrent, bias, u, act, new)
        a = (NORTH if y > 0.0 else SOUTH) if pos >= length else (EAST if y > 0.0 else WEST)
        pos, outcome = tmaze_move(pos, length, signal, a)
        if pos > far:
            far = pos
        if outcome != 0:
            return far / length, outcome, y
    return far / length, 0, 0.0


@njit(cache=True)
def tmaze_batch(genomes: np.ndarray, h: int, recurrent: bool, bias: bool, length: int,
                max_steps: int, fitness: np.ndarray) -> int:
    """Evaluate rows in order; stop at the first network that solves; return rows evaluated."""
    for r in range(genomes.shape[0]):
        total = 0.0
        good = 0
        for signal in (1, -1):
            prog, outcome, y = tmaze_walk(genomes[r], h, recurrent, bias, length, signal,
                                          max_steps)
            total += prog
            if outcome != 0:
                total += 0.5 * (1.0 + signal * y)
            if outcome > 0:
                good += 1
        fitness[r] = total
        if good == 2:
            return r + 1
    return genomes.shape[0]


@dataclass(frozen=True)
class TMazeProblem:
    """The T-maze of one corridor length as an evolution
    :class:`~metahook.evolution.problem.Problem` (see the module docstring)."""

    length: int = 10
    n_in: int = 3  # the observation

    @property
    def max_steps(self) -> int:
        return 4 * self.length + 10

    def evaluate(self, spec: NetSpec, genomes: np.ndarray,
                 tested: dict[bytes, int] | None = None) -> BatchResult:
        if spec.n_in != 3:
            raise ValueError(f"T-maze networks have 3 inputs, got {spec.n_in}")
        g = np.ascontiguousarray(genomes, dtype=np.float64)
        fit = np.zeros(g.shape[0])
        n = tmaze_batch(g, spec.h, spec.recurrent, spec.bias, self.length, self.max_steps, fit)
        res = BatchResult(fit[:n], np.zeros(n, dtype=np.int64), n)
        if n and n <= g.shape[0] and self.solves(spec, g[n - 1]):
            res.solved_index = n - 1
        return res

    def solves(self, spec: NetSpec, genome: np.ndarray) -> bool:
        g = np.ascontiguousarray(genome, dtype=np.float64)
        return all(tmaze_walk(g, spec.h, spec.recurrent, spec.bias, self.length, s,
                              self.max_steps)[1] > 0 for s in (1, -1))

    def solution_score(self, spec: NetSpec, genome: np.ndarray) -> int:
        return -1
