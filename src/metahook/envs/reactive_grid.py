"""The reactive 2-D world of the IJCNN 1991 curiosity experiment: 100 states, partly random.

Schmidhuber, "Curious model-building control systems", IJCNN 1991 (Singapore), vol. 2,
pp. 1458-1463, section 5 (web copy: people.idsia.ch/~juergen/curioussingapore/node7.html).
The paper says only [paper]: the agent moves around in a two-dimensional world with 100 states;
the world is reactive; its reactions, which the world model has to predict, are partly random
and partly deterministic; the quality of the model is the summed squared difference between the
values of the possible deterministic reactions and the model's predictions. Everything else below
is our reading (docs/curiosity.md, Deviations).

Specification.

- States: the cells of a ``side`` x ``side`` grid (``side = 10``: 100 states), numbered
  ``s = y * side + x``; the agent starts in state 0 (the corner ``x = y = 0``). No episodes.
- Actions: 0 north (``y - 1``), 1 east (``x + 1``), 2 south (``y + 1``), 3 west (``x - 1``).
  The move is always carried out; a move into the border leaves the agent where it is
  (:func:`moves`). So the agent controls where it goes everywhere.
- Reactions: every experiment (a state/action pair) makes the world react with a value in
  {-1, +1}. In a *deterministic* state each action's reaction is fixed: the world's own
  ``value[s, a]``, drawn once, each sign with probability 1/2, from the stream the world is built
  with (:func:`reactions`). In a *random* state the reaction is a fresh fair coin, +1 if the
  step's uniform ``u < 1/2`` and -1 otherwise: nothing about it can be learned (its best
  prediction is 0, the untrained model's, with squared error 1).
- Layouts (:data:`LAYOUTS`, which states are deterministic): ``row``, the first row (10 states,
  40 deterministic pairs; the default); ``block9``, the 3 x 3 corner; ``quarter``, the 5 x 5
  corner; ``half``, the western half. All other states react at random.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT

SIDE = 10
N_ACTIONS = 4
MOVES = ((0, -1), (1, 0), (0, 1), (-1, 0))  # (dx, dy) of north, east, south, west

LAYOUTS: dict[str, Callable[[int, int, int], bool]] = {  # (x, y, side) -> deterministic?
    "row": lambda x, y, side: y == 0,
    "block9": lambda x, y, side: x < 3 and y < 3,
    "quarter": lambda x, y, side: x < side // 2 and y < side // 2,
    "half": lambda x, y, side: x < side // 2,
}


def moves(side: int = SIDE) -> np.ndarray:
    """``nxt[s, a]``: the state the move ``a`` leads to from ``s`` (the border stops it)."""
    if side < 2:
        raise ValueError(f"the grid needs side >= 2, got {side}")
    nxt = np.zeros((side * side, N_ACTIONS), dtype=np.int64)
    for s in range(side * side):
        x, y = s % side, s // side
        for a, (dx, dy) in enumerate(MOVES):
            nx, ny = x + dx, y + dy
            nxt[s, a] = ny * side + nx if 0 <= nx < side and 0 <= ny < side else s
    return nxt


def deterministic_states(layout: str = "row", side: int = SIDE) -> np.ndarray:
    """Boolean mask over states: True where the reactions are deterministic."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; have {', '.join(LAYOUTS)}")
    rule = LAYOUTS[layout]
    return np.array([rule(s % side, s // side, side) for s in range(side * side)])


def reactions(rng: np.random.Generator, side: int = SIDE) -> np.ndarray:
    """``value[s, a]`` in {-1, +1}, each sign with probability 1/2 (deterministic states)."""
    return np.where(rng.random((side * side, N_ACTIONS)) < 0.5, 1.0, -1.0)


@njit(cache=True, **NO_REFCOUNT)
def react(value: np.ndarray, det: np.ndarray, s: int, a: int, u: float) -> float:
    """The world's reaction to action ``a`` in state ``s``, for the step's uniform ``u``."""
    if det[s]:
        return float(value[s, a])
    return 1.0 if u < 0.5 else -1.0
