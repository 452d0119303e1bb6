"""Information gain: how far one experiment moved the agent's estimate of a transition distribution.

Storck, Hochreiter & Schmidhuber, "Reinforcement driven information acquisition in
non-deterministic environments" (RDIA), ICANN'95, vol. 2, pp. 159-164, section 2: the reward of
an experiment ``(s, a) -> s'`` is the distance between the estimated distribution of the next
state of ``(s, a)`` after the experiment and before it -- the Kullback-Leibler distance
KL(after || before) [paper, equation 1], or the change of the distribution's entropy, which the
paper ranks as related but less informative [equation 2]; its Table 1 also shows a variant built
on (weighted) changes of the probabilities, which it does not define further. Only the row of
``(s, a)`` changes, so the reward costs O(n).

The estimates are the paper's ML estimates, zero for a pair never tried (:mod:`.model`). Before
the first experiment of a pair and at a next state never seen before, ``before`` has zeros where
``after`` has not, and KL(after || before) is infinite. We read the paper's definitions as its
Table 1 demands (docs/curiosity.md, Deviations):

- :func:`kl_gain` sums ``after * ln(after / before)`` over the next states where both are
  positive, each term as its magnitude (``absolute=True``, the default): with that convention the
  paper's own distance reproduces its table. ``absolute=False`` keeps the signs (then a new next
  state makes the reward negative).
- :func:`entropy_change` is ``|H(after) - H(before)|`` with ``0 ln 0 = 0`` (an empty row has
  entropy 0); the signed difference repels the agent from the noisy state and does not reproduce
  the table.
- :func:`probability_change` is ``sum |after - before|``, our reading of that variant.

A deterministic experiment pays nothing once it has been made once (its row is one 1 and zeros
ever after), so these rewards send the agent to where its estimates still move.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metahook.curiosity.base import Stateless


def kl_gain(before: np.ndarray, after: np.ndarray, absolute: bool = True) -> float:
    """KL(after || before) over the next states where both estimates are positive (see module)."""
    both = (before > 0) & (after > 0)
    terms = after[both] * np.log(after[both] / before[both])
    return float(np.abs(terms).sum() if absolute else terms.sum())


def entropy(p: np.ndarray) -> float:
    """``-sum p ln p`` over the positive entries of ``p`` (nats; an all-zero row has 0)."""
    q = p[p > 0]
    return float(-(q * np.log(q)).sum())


def entropy_change(before: np.ndarray, after: np.ndarray) -> float:
    """``|H(after) - H(before)|`` [paper equation 2, as a magnitude]."""
    return abs(entropy(after) - entropy(before))


def probability_change(before: np.ndarray, after: np.ndarray) -> float:
    """``sum_k |after_k - before_k|``: how much probability the experiment moved."""
    return float(np.abs(after - before).sum())


class InformationGain(Stateless):
    """Reward = :func:`kl_gain` of the row of the experiment (RDIA, equation 1)."""

    def __init__(self, absolute: bool = True) -> None:
        self.absolute = absolute
        self.name = "infogain" if absolute else "infogain_signed"

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> float:
        return kl_gain(model.before(s, a, s_next), model.estimate(s, a), self.absolute)


class EntropyChange(Stateless):
    """Reward = :func:`entropy_change` of the row of the experiment (RDIA, equation 2)."""

    name = "entropy"

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> float:
        return entropy_change(model.before(s, a, s_next), model.estimate(s, a))


class ProbabilityChange(Stateless):
    """Reward = :func:`probability_change` of the row (RDIA's "prob. diff." column, our reading)."""

    name = "probdiff"

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> float:
        return probability_change(model.before(s, a, s_next), model.estimate(s, a))
