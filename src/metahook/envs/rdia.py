"""The environments of RDIA: a chain of deterministic states and one state of pure noise.

Storck, Hochreiter & Schmidhuber, "Reinforcement driven information acquisition in
non-deterministic environments", ICANN'95, vol. 2, pp. 159-164 (EC2 & Cie, Paris, 1995),
section 3; the paper's web copy is people.idsia.ch/~juergen/curiosityparis/ (node3).

Specification ([paper] = stated there; the rest is ours, see docs/curiosity.md, Deviations).
States S_1..S_n and actions a_1..a_n are numbered 0..n-1 here.

- The small environment [paper]: n = 10 states, m = 10 actions, so 100 possible experiments
  (state/action pairs). In S_1..S_9 the actions a_1..a_9 leave the state unchanged and a_10 moves
  to the next state (S_i -> S_i+1; S_9 -> S_10). In S_10 every action leads to each of the ten
  states with probability 1/10. Every other transition has probability 0.
- The bigger environment: n = 100 states, m = 100 actions, 10,000 experiments [paper]. Its
  transition table is in the paper's formula, which its web copy does not render; we take the
  same pattern with n = 100 (a_1..a_99 stay, a_100 moves on, S_100 jumps uniformly). That is the
  reading the paper's text supports (only the last state holds much to learn, and random
  exploration spends most of its time on the others [paper]); and it gives the paper's
  information content, the sum of the entropies of all true transition distributions,
  460.517019 nats [paper] = 100 ln 100 (:func:`information_content`).
- The agent starts in S_1 (ours: the paper does not say; a deterministic first experiment is
  what makes every agent's first summed distance of its Table 1 equal, 204.93 = 89 ln 10).
  There are no external rewards and no episodes: the agent lives on.
- Randomness: one uniform u in [0, 1) per step, whatever the state; the next state is the first
  k whose cumulative probability exceeds u (:func:`sample_next`). The fused loops of
  :mod:`metahook.curiosity.tabular` read the same uniforms, so :class:`RDIAEnv` and they walk the
  same path from the same stream.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT

SMALL, BIG = 10, 100
INFORMATION_CONTENT_BIG = 460.517019  # [paper], nats


def transitions(n: int = SMALL) -> np.ndarray:
    """The true transition probabilities ``P[s, a, s']`` of the environment with ``n`` states and
    ``n`` actions (``n = 10``: the small one, ``n = 100``: the bigger one)."""
    if n < 2:
        raise ValueError(f"the environment needs at least 2 states, got {n}")
    P = np.zeros((n, n, n))
    for s in range(n - 1):
        for a in range(n - 1):
            P[s, a, s] = 1.0
        P[s, n - 1, s + 1] = 1.0
    P[n - 1, :, :] = 1.0 / n
    return P


def cumulative(P: np.ndarray) -> np.ndarray:
    """``P``'s cumulative sums over next states, the last one set to exactly 1."""
    cum = np.cumsum(P, axis=2)
    cum[:, :, -1] = 1.0
    return cum


def entropies(P: np.ndarray) -> np.ndarray:
    """The entropy (nats) of every row ``P[s, a]``; zero-probability terms count 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, -P * np.log(np.where(P > 0, P, 1.0)), 0.0)
    return np.asarray(terms.sum(axis=2))


def information_content(P: np.ndarray) -> float:
    """The sum of the entropies of all rows of ``P`` [paper's "information content"]."""
    return float(entropies(P).sum())


@njit(cache=True, **NO_REFCOUNT)
def sample_next(cum: np.ndarray, s: int, a: int, u: float) -> int:
    """The next state for uniform ``u``: the first ``k`` with ``cum[s, a, k] > u``."""
    lo, hi = 0, cum.shape[2] - 1
    while lo < hi:  # binary search; the last entry is exactly 1 > u
        mid = (lo + hi) // 2
        if cum[s, a, mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo


class RDIAEnv(gym.Env[np.int64, np.int64]):
    """Gymnasium interface to the environment with ``n`` states (10: small, 100: bigger).

    Observation and action spaces are ``Discrete(n)``; the reward is always 0 (curiosity is the
    agent's own affair) and the episode never ends unless ``max_steps`` truncates it. ``reset``
    puts the agent in S_1 (state 0). Each step reads one uniform from ``self.np_random``.
    """

    def __init__(self, n: int = SMALL, max_steps: int | None = None) -> None:
        self.n = int(n)
        self.P = transitions(self.n)
        self.cum = cumulative(self.P)
        self.observation_space = gym.spaces.Discrete(self.n)
        self.action_space = gym.spaces.Discrete(self.n)
        self.max_steps = max_steps
        self.state, self.steps = 0, 0

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.int64, dict[str, Any]]:
        super().reset(seed=seed)
        self.state, self.steps = 0, 0
        return np.int64(self.state), {}

    def step(self, action: Any) -> tuple[np.int64, float, bool, bool, dict[str, Any]]:
        a = int(action)
        if not 0 <= a < self.n:
            raise ValueError(f"action must be in 0..{self.n - 1}, got {action}")
        u = float(self.np_random.random())
        self.state = int(np.searchsorted(self.cum[self.state, a], u, side="right"))
        self.steps += 1
        truncated = self.max_steps is not None and self.steps >= self.max_steps
        return np.int64(self.state), 0.0, False, truncated, {}


__all__ = ["BIG", "INFORMATION_CONTENT_BIG", "SMALL", "RDIAEnv", "cumulative", "entropies",
           "information_content", "sample_next", "transitions"]
