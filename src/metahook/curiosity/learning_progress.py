"""Learning progress: reward the decrease of the model's error, not the error itself.

Schmidhuber, "Curious model-building control systems", IJCNN 1991 (Singapore), vol. 2,
pp. 1458-1463, and "Adaptive confidence and adaptive curiosity" (TR FKI-149-91): a confidence
module learns the model's expected error for each situation, and the controller is rewarded by
the change of that predicted reliability -- the model's *improvement*. Where the outcome is noise
the expected error settles at its irreducible level and the reward dies out (boredom); where the
model can still learn, the error falls and the reward flows.

Tabular form (ours): for every experiment ``(s, a)`` a running estimate ``E[s, a]`` of the
model's squared prediction error (:func:`.prediction_error.squared_error` of the prediction before
the experiment), moved by ``beta`` towards each new error; it starts at 1, the error of the empty
model. The reward is the decrease of that estimate::

    e = squared_error(before, s')
    r = E[s, a] - E'[s, a] = beta * (E[s, a] - e),   E'[s, a] = E[s, a] + beta * (e - E[s, a])

So the rewards of a pair add up to how far its expected error fell (a deterministic pair:
1 - (1 - beta)^k after k more experiments, tending to 1), and on a stream whose error has settled
at ``E`` the reward is 0 in expectation, however large ``E`` is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metahook.curiosity.prediction_error import squared_error


class LearningProgress:
    """Reward = decrease of the running error estimate of the experiment's pair (see module)."""

    name = "learning_progress"

    def __init__(self, beta: float = 0.1) -> None:
        if not 0.0 < beta <= 1.0:
            raise ValueError(f"beta must be in (0, 1], got {beta}")
        self.beta = beta
        self.E: np.ndarray | None = None

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> float:
        if self.E is None:
            self.E = np.ones(model.N.shape)
        e = squared_error(model.before(s, a, s_next), int(s_next))
        r = self.beta * (self.E[s, a] - e)
        self.E[s, a] += self.beta * (e - self.E[s, a])
        return float(r)

    def state_dict(self) -> dict[str, Any]:
        return {"beta": self.beta, "E": self.E if self.E is not None else np.zeros(0)}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.beta = float(st["beta"])
        E = np.asarray(st["E"], dtype=np.float64)
        self.E = E if E.size else None
