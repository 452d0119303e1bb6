"""The world model of the tabular curiosity rewards: transition counts and their ML estimates.

Storck, Hochreiter & Schmidhuber, ICANN'95, section 2 ("Collecting ML estimates"): for every
experiment (state/action pair) the agent counts how often it made it, ``N[s, a]``, and how often
it led to each next state, ``C[s, a, s']``. The estimate of the transition probability is
``C[s, a, s'] / N[s, a]``, and 0 for a pair never tried [paper, which calls the choice
arbitrary: such a row is no probability distribution yet].

Every tabular reward of :mod:`metahook.curiosity` is a function of the row of the pair just tried
before and after its update, and both are read from the counts: :meth:`TransitionCounts.before`
undoes the last count in the row.

:func:`summed_distance` is the yardstick of the paper's Table 1 (see its docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class TransitionCounts:
    """Counts ``C[s, a, s']`` and ``N[s, a]`` of an agent's experiments, and their estimates."""

    def __init__(self, n_states: int, n_actions: int) -> None:
        self.C = np.zeros((n_states, n_actions, n_states), dtype=np.int64)
        self.N = np.zeros((n_states, n_actions), dtype=np.int64)

    def update(self, s: int, a: int, s_next: int) -> None:
        """Count the experiment ``(s, a)`` that led to ``s_next``."""
        self.C[s, a, s_next] += 1
        self.N[s, a] += 1

    def estimate(self, s: int, a: int) -> np.ndarray:
        """The ML estimate of ``P[s, a, :]`` (all zeros for a pair never tried)."""
        n = int(self.N[s, a])
        return self.C[s, a] / n if n else np.zeros(self.C.shape[2])

    def before(self, s: int, a: int, s_next: int) -> np.ndarray:
        """The estimate of ``P[s, a, :]`` before the last update, which counted ``s_next``."""
        c = self.C[s, a].copy()
        if c[s_next] < 1:
            raise ValueError(f"({s}, {a}) -> {s_next} was never counted")
        c[s_next] -= 1
        n = int(c.sum())
        return c / n if n else np.zeros(c.shape[0])

    def state_dict(self) -> dict[str, Any]:
        return {"C": self.C, "N": self.N}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.C = np.asarray(st["C"], dtype=np.int64)
        self.N = np.asarray(st["N"], dtype=np.int64)


def estimates(C: np.ndarray) -> np.ndarray:
    """ML estimates of every row of the counts ``C[s, a, s']`` (zeros for untried pairs)."""
    N = C.sum(axis=2, keepdims=True)
    return np.asarray(np.where(N > 0, C / np.maximum(N, 1), 0.0))


def summed_distance(P: np.ndarray, C: np.ndarray) -> float:
    """The paper's Table 1 yardstick: the "sum of Kullback-Leibler distances between estimated
    and true probability distributions" of all experiments, as we reconstructed it.

    The paper gives no formula. The plain KL(P || estimate) is infinite as long as any row lacks
    an outcome, the reverse one as long as any pair is untried, yet the table starts at 204.93
    and stays finite. One formula reproduces both its first row and its random-exploration
    column (see docs/curiosity.md): every term ``|p ln(p / q)|`` over the outcomes with true
    probability ``p > 0``, where the estimate ``q`` of an outcome not seen yet (or of an untried
    pair) counts as ``1 / n``. For the small environment before its first experiment that is
    90 ln 10 (the 90 deterministic pairs; the noisy pairs are uniform, as is ``1 / n``), and after
    one experiment in S_1 it is 89 ln 10 = 204.93, the paper's first row for every agent.
    """
    n = P.shape[2]
    q = estimates(C)
    q = np.where(q > 0, q, 1.0 / n)
    mask = P > 0
    return float(np.abs(P[mask] * np.log(P[mask] / q[mask])).sum())


def information_content(C: np.ndarray) -> float:
    """The sum of the entropies (nats) of the estimated rows (untried rows count 0)."""
    q = estimates(C)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, -q * np.log(np.where(q > 0, q, 1.0)), 0.0)
    return float(terms.sum())
