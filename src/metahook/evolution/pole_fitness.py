"""Fitness functions of the pole-balancing benchmark: standard, damping, generalization test.

Gomez, Schmidhuber & Miikkulainen (JMLR 9, 2008), after Gruau, Whitley & Pyeatt (1996):

- **Standard fitness**: the number of time steps t (0.02 s each) that the network keeps the poles
  up from the standard start. A network that reaches 100,000 steps (about 33 simulated minutes)
  solves the task; evolution stops at that evaluation.
- **Damping fitness** (no velocity inputs, Gruau et al.): an episode of at most 1000 steps scores
  ``0.1·f1 + 0.9·f2`` with ``f1 = t/1000`` and, for t ≥ 100,
  ``f2 = 0.75 / Σ_{i=t−100}^{t} (|x_i| + |ẋ_i| + |θ1_i| + |θ̇1_i|)`` (0 for t < 100): it rewards
  bringing the cart and the long pole to rest instead of keeping them up by jiggling.
  After every generation the best network that balanced the 1000 steps is tested: it must balance
  100,000 steps from the standard start and then pass the **generalization test**: from each of
  625 starts (x, ẋ, θ1, θ̇1 each at 0.05, 0.25, 0.5, 0.75, 0.95 of ±2.16 m, ±1.35 m/s, ±3.6°,
  ±8.6°/s; the short pole upright and at rest) it must balance 1000 steps, and at least 200 of
  the 625 must succeed. The tests are not counted as evaluations (as in the papers).

Everything that steps the simulator runs in numba kernels (:func:`episode`,
:func:`evaluate_batch`, :func:`generalization_score`); :class:`PoleProblem` is the thin Python
front that the evolution loop calls (a :class:`~metahook.evolution.problem.Problem`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numba import njit

from metahook.envs.pole import obs_dim, observe, pole_step, start_state
from metahook.evolution.network import NetSpec, net_step
from metahook.evolution.problem import BatchResult

SOLVE_STEPS = 100_000
DAMPING_STEPS = 1000
DAMPING_WINDOW = 101  # i = t-100 .. t, as printed by Gruau et al. and Gomez et al.
GENERALIZATION_LEVELS = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
GENERALIZATION_RANGES = np.array([2.16, 1.35, math.radians(3.6), math.radians(8.6)])
GENERALIZATION_NEEDED = 200


@njit(cache=True)
def episode(genome: np.ndarray, n_in: int, h: int, recurrent: bool, bias: bool,
            n_poles: int, markov: bool, cart_friction: bool, s0: np.ndarray,
            max_steps: int) -> tuple[int, float]:
    """Run one episode from ``s0``: ``(t, window_sum)``.

    ``t`` is the number of steps balanced (at most ``max_steps``); ``window_sum`` is
    Σ (|x| + |ẋ| + |θ1| + |θ̇1|) over the states t−100 .. t (the damping fitness's denominator).
    """
    s = s0.copy()
    work = np.empty((5, 6))
    u = np.empty(2 * (1 + n_poles))
    act = np.zeros(max(h, 1))
    new = np.empty(max(h, 1))
    ring = np.zeros(DAMPING_WINDOW)
    ring[0] = abs(s[0]) + abs(s[1]) + abs(s[2]) + abs(s[3])
    t = 0
    while t < max_steps:
        observe(s, n_poles, markov, u)
        y = net_step(genome, n_in, h, recurrent, bias, u, act, new)
        if pole_step(s, y, n_poles, cart_friction, work):
            break
        t += 1
        ring[t % DAMPING_WINDOW] = abs(s[0]) + abs(s[1]) + abs(s[2]) + abs(s[3])
    total = 0.0
    if t >= DAMPING_WINDOW - 1:
        for i in range(DAMPING_WINDOW):
            total += ring[i]
    return t, total


@njit(cache=True)
def damping_value(t: int, window_sum: float, episode_steps: int) -> float:
    """Gruau et al.'s damping fitness ``0.1 t/1000 + 0.9 f2`` of one episode."""
    f1 = t / episode_steps
    f2 = 0.0
    if t >= DAMPING_WINDOW - 1 and window_sum > 0.0:
        f2 = 0.75 / window_sum
    return 0.1 * f1 + 0.9 * f2


@njit(cache=True)
def evaluate_batch(genomes: np.ndarray, n_in: int, h: int, recurrent: bool, bias: bool,
                   n_poles: int, markov: bool, cart_friction: bool, s0: np.ndarray,
                   max_steps: int, damping: bool, steps: np.ndarray,
                   fitness: np.ndarray) -> int:
    """Evaluate the rows of ``genomes`` in order into ``steps`` and ``fitness``.

    Standard fitness (``damping`` False) stops at the first network that balances ``max_steps``
    and returns how many were evaluated; damping evaluates all rows.
    """
    k = genomes.shape[0]
    for r in range(k):
        t, wsum = episode(genomes[r], n_in, h, recurrent, bias, n_poles, markov, cart_friction,
                          s0, max_steps)
        steps[r] = t
        if damping:
            fitness[r] = damping_value(t, wsum, max_steps)
        else:
            fitness[r] = t
            if t >= max_steps:
                return r + 1
    return k


@njit(cache=True)
def generalization_score(genome: np.ndarray, n_in: int, h: int, recurrent: bool, bias: bool,
                         n_poles: int, markov: bool, cart_friction: bool,
                         levels: np.ndarray, ranges: np.ndarray, steps: int) -> int:
    """How many of the 625 generalization starts the network balances for ``steps`` steps."""
    passed = 0
    s0 = np.zeros(6)
    for a in range(levels.shape[0]):
        for b in range(levels.shape[0]):
            for c in range(levels.shape[0]):
                for d in range(levels.shape[0]):
                    s0[0] = (2.0 * levels[a] - 1.0) * ranges[0]
                    s0[1] = (2.0 * levels[b] - 1.0) * ranges[1]
                    s0[2] = (2.0 * levels[c] - 1.0) * ranges[2]
                    s0[3] = (2.0 * levels[d] - 1.0) * ranges[3]
                    s0[4] = 0.0
                    s0[5] = 0.0
                    t, _ = episode(genome, n_in, h, recurrent, bias, n_poles, markov,
                                   cart_friction, s0, steps)
                    if t >= steps:
                        passed += 1
    return passed


@dataclass(frozen=True)
class PoleProblem:
    """One pole-balancing variant and its fitness as a
    :class:`~metahook.evolution.problem.Problem` (see the module docstring)."""

    n_poles: int = 2
    markov: bool = True
    fitness: Literal["standard", "damping"] = "standard"
    solve_steps: int = SOLVE_STEPS
    episode_steps: int = DAMPING_STEPS
    generalization_needed: int = GENERALIZATION_NEEDED
    cart_friction: bool = True

    @property
    def n_in(self) -> int:
        return obs_dim(self.n_poles, self.markov)

    def _args(self, spec: NetSpec) -> tuple[int, int, bool, bool, int, bool, bool]:
        return (spec.n_in, spec.h, spec.recurrent, spec.bias, self.n_poles, self.markov,
                self.cart_friction)

    def evaluate(self, spec: NetSpec, genomes: np.ndarray,
                 tested: dict[bytes, int] | None = None) -> BatchResult:
        """Evaluate a batch of networks; each evaluated network is one evaluation.

        ``tested`` (optional) remembers the champion tests already run, keyed by the genome's
        bytes: a champion that survives unchanged into the next generation (CoSyNE never breaks
        up its best network) is not simulated for 100,000 steps again. The tests are not
        evaluations, so this changes no count, only the wall-clock time.
        """
        if spec.n_in != self.n_in:
            raise ValueError(f"network has {spec.n_in} inputs, problem gives {self.n_in}")
        g = np.ascontiguousarray(genomes, dtype=np.float64)
        k = g.shape[0]
        steps = np.zeros(k, dtype=np.int64)
        fit = np.zeros(k)
        damping = self.fitness == "damping"
        max_steps = self.episode_steps if damping else self.solve_steps
        n = evaluate_batch(g, *self._args(spec), start_state(), max_steps, damping, steps, fit)
        res = BatchResult(fit[:n], steps[:n], n)
        if not damping:
            if n and steps[n - 1] >= self.solve_steps:
                res.solved_index = n - 1
            return res
        order = np.argsort(-fit, kind="stable")
        for r in order:
            if steps[r] >= self.episode_steps:
                key = spec.h.to_bytes(2, "little") + g[r].tobytes()
                if tested is not None and key in tested:
                    score = tested[key]
                else:
                    score = self.champion_test(spec, g[r])
                    if tested is not None:
                        tested[key] = score
                res.generalization = score
                if score >= self.generalization_needed:
                    res.solved_index = int(r)
                break
        return res

    def solution_score(self, spec: NetSpec, genome: np.ndarray) -> int:
        """Generalization score of a solution (double pole without velocities), else -1."""
        if self.n_poles == 2 and not self.markov:
            return self.generalization(spec, genome)
        return -1

    def champion_test(self, spec: NetSpec, genome: np.ndarray) -> int:
        """Damping protocol: -1 if it fails 100,000 steps, else its generalization score."""
        t, _ = episode(np.ascontiguousarray(genome, dtype=np.float64), *self._args(spec),
                       start_state(), self.solve_steps)
        if t < self.solve_steps:
            return -1
        return self.generalization(spec, genome)

    def generalization(self, spec: NetSpec, genome: np.ndarray) -> int:
        """Starts (of 625) from which the network balances 1000 steps."""
        return int(generalization_score(np.ascontiguousarray(genome, dtype=np.float64),
                                        *self._args(spec), GENERALIZATION_LEVELS,
                                        GENERALIZATION_RANGES, self.episode_steps))
