"""Prediction error: reward what the world model failed to predict.

Schmidhuber, "Making the world differentiable" (TR FKI-126-90, TU Munich 1990) and "A possibility
for implementing curiosity and boredom in model-building neural controllers" (SAB 1991): the
controller is rewarded where the model's prediction of the next input was wrong, so it seeks out
what the model does not know yet. Its well-known flaw, discussed in those papers and later named
the "noisy TV" problem (Burda et al., ICLR 2019): where the outcome is pure noise the error never
goes away, and the agent stays there.

Tabular form (ours): the model predicts the distribution of the next state of ``(s, a)``, its ML
estimate *before* the experiment (:mod:`.model`; all zeros for a pair never tried), and the
error is the squared distance to the next state that came, as a one-hot vector::

    error = sum_k (1[k = s'] - before_k)^2     (0 .. 2)

We take the squared error (the error of the 1990 model networks) rather than the surprise
``-ln before[s']``, which is infinite for every outcome not seen yet. A deterministic pair costs 1
on its first experiment and 0 after; a pair whose next state is uniform over n states keeps
costing about ``1 - 1/n`` for ever.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metahook.curiosity.base import Stateless


def squared_error(before: np.ndarray, s_next: int) -> float:
    """``sum_k (1[k = s_next] - before_k)^2``: the error of predicting ``before`` for ``s_next``."""
    target = np.zeros(before.shape[0])
    target[s_next] = 1.0
    return float(((target - before) ** 2).sum())


class PredictionError(Stateless):
    """Reward = :func:`squared_error` of the model's prediction before the experiment."""

    name = "prediction_error"

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> float:
        return squared_error(model.before(s, a, s_next), int(s_next))
