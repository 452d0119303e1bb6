"""The T-maze: a deep-memory POMDP (Bakker 2002; used for H-ESP by Gomez & Schmidhuber 2005).

A corridor of ``length`` cells ends in a T-junction. At the start cell the agent sees a signal
that says which arm of the T (north or south) holds the goal; from then on the corridor looks the
same everywhere, so the agent must carry one bit over ``length`` steps and turn the right way at
the junction.

| cell | observation |
|---|---|
| start, goal north | (1, 1, 0) |
| start, goal south | (0, 1, 1) |
| corridor | (1, 0, 1) |
| junction | (0, 1, 0) |

Actions (``Discrete(4)``): 0 north, 1 east, 2 south, 3 west. In the corridor east and west move
one cell (west stops at the start), north and south bump into the wall. At the junction north or
south ends the episode: reward 4 for the goal arm, −0.1 for the other; every other step costs
nothing, an episode is cut off after ``max_steps`` (truncated). Positions run 0 .. ``length``
(the junction).

:func:`tmaze_observation` and :func:`tmaze_move` are numba functions so that the neuroevolution
fitness can run whole episodes compiled; :class:`TMazeEnv` is the Gymnasium interface.

Glossary: N corridor length (= the memory span in steps), signal +1 goal north, −1 goal south.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from numba import njit

NORTH, EAST, SOUTH, WEST = 0, 1, 2, 3
GOAL_REWARD = 4.0
WRONG_REWARD = -0.1


@njit(cache=True)
def tmaze_observation(pos: int, length: int, signal: int, out: np.ndarray) -> None:
    """Observation at ``pos`` (see the table in the module docstring)."""
    if pos == 0:
        out[0] = 1.0 if signal > 0 else 0.0
        out[1] = 1.0
        out[2] = 0.0 if signal > 0 else 1.0
    elif pos < length:
        out[0] = 1.0
        out[1] = 0.0
        out[2] = 1.0
    else:
        out[0] = 0.0
        out[1] = 1.0
        out[2] = 0.0


@njit(cache=True)
def tmaze_move(pos: int, length: int, signal: int, action: int) -> tuple[int, int]:
    """``(new_pos, outcome)``: outcome 0 still walking, +1 reached the goal, −1 the wrong arm."""
    if pos >= length and action != EAST and action != WEST:
        went_north = action == NORTH
        return pos, 1 if went_north == (signal > 0) else -1
    if action == EAST and pos < length:
        return pos + 1, 0
    if action == WEST and pos > 0:
        return pos - 1, 0
    return pos, 0


class TMazeEnv(gym.Env[np.ndarray, np.int64]):
    """Gymnasium interface to the T-maze (see the module docstring).

    ``reset(options={"signal": +1 or -1})`` fixes the goal arm; otherwise it is drawn from the
    env's ``np_random``.
    """

    def __init__(self, length: int = 10, max_steps: int | None = None) -> None:
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        self.length = length
        self.max_steps = max_steps if max_steps is not None else 4 * length + 10
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(3,), dtype=np.float64)
        self.action_space = gym.spaces.Discrete(4)
        self.pos = 0
        self.signal = 1
        self.steps = 0
        self._obs = np.zeros(3)

    def _observation(self) -> np.ndarray:
        tmaze_observation(self.pos, self.length, self.signal, self._obs)
        return self._obs.copy()

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options and "signal" in options:
            if options["signal"] not in (1, -1):
                raise ValueError("signal must be +1 (north) or -1 (south)")
            self.signal = int(options["signal"])
        else:
            self.signal = 1 if self.np_random.random() < 0.5 else -1
        self.pos = 0
        self.steps = 0
        return self._observation(), {"signal": self.signal}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = int(action)
        if not 0 <= a < 4:
            raise ValueError(f"action must be in 0..3, got {action}")
        self.pos, outcome = tmaze_move(self.pos, self.length, self.signal, a)
        self.steps += 1
        reward = GOAL_REWARD if outcome > 0 else WRONG_REWARD if outcome < 0 else 0.0
        terminated = outcome != 0
        truncated = not terminated and self.steps >= self.max_steps
        return self._observation(), reward, terminated, truncated, {"outcome": outcome}
