"""A 2-D gripper world with a cup, observed only as rendered 20 x 20 images.

The world of the ``ccsa-arm`` experiment: a 2-D counterpart (ours) of the iCub scene of
Kompella, Stollenga, Luciw & Schmidhuber, "Continual curiosity-driven skill acquisition from
high-dimensional video inputs for humanoid robots", Artificial Intelligence 247 (2017), where the
robot learned to topple, grasp and pick-and-place a cup. It is not the paper's task.

Specification:

- a grid of ``W = 8`` columns by ``H = 6`` rows (row 0 on the table); a gripper at ``(hx, hy)``,
  open or closed; a cup, home at column ``CX = 5``, standing in cells ``(CX, 0), (CX, 1)``; a
  mat under column ``MX = 1``;
- cup states: ``UPRIGHT`` (at home), ``TOPPLED`` (lying on the table: cells ``(CX, 0)`` and
  ``(CX + d, 0)``, ``d`` the side it fell to), ``HELD`` (hanging under the gripper: ``(hx, hy -
  1), (hx, hy - 2)``), ``PLACED`` (standing on the mat: ``(MX, 0), (MX, 1)``);
- actions: 0 left, 1 right, 2 up, 3 down, 4 close, 5 open. A move leaves the grid or enters a
  cell of a standing or lying cup: the gripper stays. Moving right into the upright cup with the
  gripper open topples it to the right (ours: from the left side only, so that one slow variable,
  upright or lying, describes the cup). While the cup is held the gripper cannot go
  below row 2. Closing at ``(CX, 2)`` (just above the upright cup) grasps it and
  lifts it (the gripper goes up to row ``LIFT = 4``); opening while
  holding it over the mat (``hx = MX``) places it there; opening elsewhere does nothing (ours:
  the cup does not drop);
- the image: each cell is 2 x 2 pixels, the grid's lower-left corner at pixel (row 17, col 2);
  gripper 0.6 (open) or 1.0 (closed); cup 1.0; mat a line of 0.5 under column ``MX``; plus
  i.i.d. normal pixel noise of ``noise_std`` (drawn by the caller's generator).

:func:`step` and :func:`render` are compiled (numba); ``step.py_func`` and ``render.py_func`` are
the pure-Python reference (the same source run by the interpreter).
"""

from __future__ import annotations

import numpy as np
from numba import njit

W, H = 8, 6
CX, MX = 5, 1
LIFT = 4  # the row a grasp lifts the gripper to
SIDE = 20
DIM = SIDE * SIDE
UPRIGHT, TOPPLED, HELD, PLACED = 0, 1, 2, 3
LEFT, RIGHT, UP, DOWN, CLOSE, OPEN = range(6)
N_ACTIONS = 6
# state vector: hx, hy, grip (0 open, 1 closed), cup state, topple side (-1, 0, 1)
HX, HY, GRIP, CUP, SIDE_ = range(5)


def initial(hx: int, hy: int, cup: int = UPRIGHT, grip: int = 0) -> np.ndarray:
    """A state: gripper at ``(hx, hy)``, the cup in state ``cup`` (HELD: under the gripper)."""
    return np.array([hx, hy, grip, cup, 0], dtype=np.int64)


@njit(cache=True)
def _occupied(s: np.ndarray, x: int, y: int) -> bool:
    c = s[CUP]
    if c == UPRIGHT:
        return x == CX and y <= 1
    if c == TOPPLED:
        return y == 0 and (x == CX or x == CX + s[SIDE_])
    if c == PLACED:
        return x == MX and y <= 1
    return False


@njit(cache=True)
def step(s: np.ndarray, a: int, min_row: int) -> int:
    """Apply action ``a`` to the state ``s`` in place; the gripper stays at rows >= ``min_row``.
    Returns the event: 0 none, 1 toppled, 2 grasped, 3 placed."""
    if a == CLOSE:
        s[GRIP] = 1
        if s[CUP] == UPRIGHT and s[HX] == CX and s[HY] == 2:
            s[CUP] = HELD
            s[HY] = LIFT
            return 2
        return 0
    if a == OPEN:
        if s[CUP] == HELD:
            if s[HX] == MX:
                s[CUP] = PLACED
                s[GRIP] = 0
                return 3
            return 0
        s[GRIP] = 0
        return 0
    dx = -1 if a == LEFT else (1 if a == RIGHT else 0)
    dy = 1 if a == UP else (-1 if a == DOWN else 0)
    nx, ny = s[HX] + dx, s[HY] + dy
    low = max(min_row, 2) if s[CUP] == HELD else min_row
    if nx < 0 or nx >= W or ny < low or ny >= H:
        return 0
    if _occupied(s, nx, ny):
        if s[CUP] == UPRIGHT and dx == 1 and s[GRIP] == 0:
            s[CUP] = TOPPLED
            s[SIDE_] = dx
            return 1
        return 0
    s[HX], s[HY] = nx, ny
    return 0


@njit(cache=True)
def _cell(img: np.ndarray, x: int, y: int, v: float) -> None:
    if 0 <= x < W and 0 <= y < H:
        r, c = 17 - 2 * y, 2 + 2 * x
        for i in range(2):
            for j in range(2):
                img[r + i - 1, c + j] = max(img[r + i - 1, c + j], v)


@njit(cache=True)
def render(s: np.ndarray, img: np.ndarray) -> None:
    """Draw the state ``s`` into ``img`` (20 x 20, overwritten), without noise."""
    img[:, :] = 0.0
    for j in range(2):
        img[18, 2 + 2 * MX + j] = 0.5
    c = s[CUP]
    if c == UPRIGHT:
        _cell(img, CX, 0, 1.0)
        _cell(img, CX, 1, 1.0)
    elif c == TOPPLED:
        _cell(img, CX, 0, 1.0)
        _cell(img, CX + s[SIDE_], 0, 1.0)
    elif c == HELD:
        _cell(img, s[HX], s[HY] - 1, 1.0)
        _cell(img, s[HX], s[HY] - 2, 1.0)
    else:
        _cell(img, MX, 0, 1.0)
        _cell(img, MX, 1, 1.0)
    _cell(img, s[HX], s[HY], 1.0 if s[GRIP] == 1 else 0.6)


def free_cells(cup: int, min_row: int) -> list[tuple[int, int]]:
    """Cells where a gripper may start with the cup in state ``cup`` (not HELD)."""
    s = initial(0, 0, cup)
    return [(x, y) for x in range(W) for y in range(min_row, H) if not _occupied(s, x, y)]
