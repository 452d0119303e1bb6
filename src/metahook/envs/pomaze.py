"""Partially observable mazes and the macro-instruction language of ML97 experiments 1 and 2.

Schmidhuber, Zhao & Wiering, Machine Learning 28:105-130 (1997), sections 3.2-3.3 (ML97);
Wiering & Schmidhuber, "Solving POMDPs with Levin search and EIRA", ICML 1996 (ICML96).

Specification ([paper] = stated; the rest is ours, see docs/ssa.md, Deviations):

- A maze is a grid of free fields and walls, bordered by walls. The agent stands on a free field
  facing north, east, south or west; it senses only whether the fields in front, to its left and
  to its right are free (a partially observable maze, POM).
- Nine primitive instructions [paper]. Codes 0..7 are "REPEAT step forward UNTIL *condition*,
  THEN rotate towards *direction*" with condition in {front blocked, left field free, right
  field free} and direction in {left, right, none} [paper] -- nine pairs, of which we drop
  (front blocked, none), which is "walk to the wall" and is also (left free, none) or (right
  free, none) in a corridor's end. The loop steps first and tests after (do-while); a step into
  a wall does not happen and ends the loop. Code 8 is ``Jump(address, nr_times)`` [paper]: jump
  to ``address`` -- ``nr_times`` times in all, counted by a hidden counter of that instruction,
  which is reset when the jump falls through -- with ``nr_times`` in 1..MAXR [paper].
- Time: one step per instruction executed plus one per field walked.
- The maze of experiment 1 has 952 free fields [paper] and a shortest path of 127 steps from
  start to goal [paper]. The papers' maze pictures were not available to us; ours is carved on a
  19 x 25 lattice (a 39 x 51 grid) around a zigzag route -- east along the top, two lattice cells
  south, west, south, ... -- whose corners are walled straight ahead, with the rest of the
  lattice carved depth-first (fixed seed) as side branches, and three extra openings that keep
  the start-goal distance (949 + 3 = 952 free fields). S is the north-west field; G lies on the
  route, 127 steps away (:func:`maze_exp1`). Many fields look alike to the agent (corridors,
  junctions to side branches), which is what defeats reactive learners.
- The primitive agent of the Q(λ) baseline (ours; the papers' TD/Q baselines are not specified
  further): it senses three bits (front, left, right field free: 8 observations) and acts with
  forward (a step, if the field ahead is free), turn left, turn right; reaching the goal gives
  reward 1 and restarts the agent at S facing east (:func:`senses`, :func:`primitive_move`,
  :class:`POMazeEnv`).
- The maze of experiment 2 is 23 x 23 [paper]: an 11 x 11 lattice carved the same way, with
  seven goals on the route, numbered by increasing distance from the start [paper]
  (:func:`maze_exp2`).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT

# directions: 0 north, 1 east, 2 south, 3 west (clockwise)
DR = np.array([-1, 0, 1, 0], dtype=np.int64)
DC = np.array([0, 1, 0, -1], dtype=np.int64)
FRONT_BLOCKED, LEFT_FREE, RIGHT_FREE = 0, 1, 2
ROT_LEFT, ROT_RIGHT, ROT_NONE = 0, 1, 2
# the eight REPEAT instructions: (condition, rotation)
REPEATS = np.array([[c, r] for c in range(3) for r in range(3) if (c, r) != (0, 2)],
                   dtype=np.int64)
JUMP = 8
N_INSTR = 9
NAMES = (
    *(f"Fwd-until-{('front-blocked', 'left-free', 'right-free')[c]}-turn-"
      f"{('left', 'right', 'none')[r]}" for c, r in REPEATS),
    "Jump",
)


@njit(cache=True, **NO_REFCOUNT)
def free(grid: np.ndarray, r: int, c: int) -> bool:
    return 0 <= r < grid.shape[0] and 0 <= c < grid.shape[1] and grid[r, c] == 0


@njit(cache=True, **NO_REFCOUNT)
def condition(grid: np.ndarray, r: int, c: int, d: int, cond: int) -> bool:
    if cond == FRONT_BLOCKED:
        return not free(grid, r + DR[d], c + DC[d])
    side = (d + 3) % 4 if cond == LEFT_FREE else (d + 1) % 4
    return free(grid, r + DR[side], c + DC[side])


@njit(cache=True, **NO_REFCOUNT)
def run_repeat(grid: np.ndarray, pos: np.ndarray, code: int, goal_r: int, goal_c: int,
               budget: int) -> int:
    """Execute REPEAT instruction ``code`` from ``pos = (r, c, d)`` in place.

    Returns the steps walked; a negative value ``-(k + 1)`` if the goal was reached after ``k``
    steps. Stops after ``budget`` steps (the caller charges them).
    """
    cond = REPEATS[code, 0]
    rot = REPEATS[code, 1]
    r, c, d = pos[0], pos[1], pos[2]
    steps = 0
    while steps < budget:
        nr, nc = r + DR[d], c + DC[d]
        if not free(grid, nr, nc):
            break
        r, c = nr, nc
        steps += 1
        if r == goal_r and c == goal_c:
            pos[0], pos[1] = r, c
            return -(steps + 1)
        if condition(grid, r, c, d, cond):
            break
    if rot == ROT_LEFT:
        d = (d + 3) % 4
    elif rot == ROT_RIGHT:
        d = (d + 1) % 4
    pos[0], pos[1], pos[2] = r, c, d
    return steps


# ---- the primitive agent of the Q(λ) baseline: sees three bits, moves one field or turns
FORWARD, TURN_LEFT, TURN_RIGHT = 0, 1, 2
N_SENSES = 8  # observations: front free + 2 left free + 4 right free
N_PRIMITIVES = 3


@njit(cache=True, **NO_REFCOUNT)
def senses(grid: np.ndarray, r: int, c: int, d: int) -> int:
    """The agent's observation: bit 0 front free, bit 1 left free, bit 2 right free."""
    fb = 1 if free(grid, r + DR[d], c + DC[d]) else 0
    lb = 1 if free(grid, r + DR[(d + 3) % 4], c + DC[(d + 3) % 4]) else 0
    rb = 1 if free(grid, r + DR[(d + 1) % 4], c + DC[(d + 1) % 4]) else 0
    return fb + 2 * lb + 4 * rb


@njit(cache=True, **NO_REFCOUNT)
def primitive_move(grid: np.ndarray, r: int, c: int, d: int, action: int
                   ) -> tuple[int, int, int]:
    """One primitive action: step forward (if the field ahead is free), turn left or right."""
    if action == FORWARD:
        if free(grid, r + DR[d], c + DC[d]):
            return r + DR[d], c + DC[d], d
        return r, c, d
    if action == TURN_LEFT:
        return r, c, (d + 3) % 4
    return r, c, (d + 1) % 4


_MOVES = {"N": (-1, 0), "E": (0, 1), "S": (1, 0), "W": (0, -1)}


def _carve(rows: int, cols: int, route: str, rng: np.random.Generator) -> np.ndarray:
    """A perfect maze on a rows x cols lattice (grid (2 rows + 1) x (2 cols + 1), 1 = wall)
    whose path from the north-west cell is the lattice walk ``route`` (letters N/E/S/W).

    The route is carved first; where it turns, the wall straight ahead stays closed (so that
    "forward until front blocked" stops exactly at the corner). The rest of the lattice is then
    carved depth-first from the route's cells, which keeps the maze a tree: the route is the
    only way between any two of its cells.
    """
    grid = np.ones((2 * rows + 1, 2 * cols + 1), dtype=np.int8)
    seen = np.zeros((rows, cols), dtype=bool)
    protected: set[tuple[int, int]] = set()
    r, c = 0, 0
    seen[0, 0] = True
    grid[1, 1] = 0
    cells = [(0, 0)]
    for k, m in enumerate(route):
        dr, dc = _MOVES[m]
        nr, nc = r + dr, c + dc
        if not (0 <= nr < rows and 0 <= nc < cols) or seen[nr, nc]:
            raise ValueError(f"route leaves the lattice or crosses itself at step {k}")
        grid[2 * r + 1 + dr, 2 * c + 1 + dc] = 0
        grid[2 * nr + 1, 2 * nc + 1] = 0
        seen[nr, nc] = True
        if k + 1 < len(route) and route[k + 1] != m:  # a corner: keep the wall ahead closed
            protected.add((2 * nr + 1 + dr, 2 * nc + 1 + dc))
        r, c = nr, nc
        cells.append((r, c))
    stack = list(cells)
    while stack:
        r, c = stack[-1]
        nbrs = [(r + dr, c + dc) for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1))
                if 0 <= r + dr < rows and 0 <= c + dc < cols and not seen[r + dr, c + dc]
                and (2 * r + 1 + dr, 2 * c + 1 + dc) not in protected]
        if not nbrs:
            stack.pop()
            continue
        nr, nc = nbrs[int(rng.integers(len(nbrs)))]
        grid[2 * r + 1 + (nr - r), 2 * c + 1 + (nc - c)] = 0
        grid[2 * nr + 1, 2 * nc + 1] = 0
        seen[nr, nc] = True
        stack.append((nr, nc))
    if not seen.all():  # cells walled off by protected walls: open them to any free neighbour
        for r, c in zip(*np.nonzero(~seen), strict=True):
            grid[2 * r + 1, 2 * c + 1] = 0
            for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
                if 0 <= r + dr < rows and 0 <= c + dc < cols and seen[r + dr, c + dc]:
                    grid[2 * r + 1 + dr, 2 * c + 1 + dc] = 0
                    break
    return grid


def _zigzag(cols: int, legs: int, down: int = 1) -> str:
    """A boustrophedon route: east along the top row, ``down`` cells south, west, south, ..."""
    route = ""
    for k in range(legs):
        route += ("E" if k % 2 == 0 else "W") * (cols - 1)
        if k + 1 < legs:
            route += "S" * down
    return route


def distances(grid: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    """Breadth-first distances (in steps) from ``start``; -1 where unreachable."""
    dist = np.full(grid.shape, -1, dtype=np.int64)
    dist[start] = 0
    q = deque([start])
    while q:
        r, c = q.popleft()
        for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
            nr, nc = r + dr, c + dc
            if grid[nr, nc] == 0 and dist[nr, nc] < 0:
                dist[nr, nc] = dist[r, c] + 1
                q.append((nr, nc))
    return dist


def maze_exp1() -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """The 952-free-field maze of experiment 1: (grid, start, goal); shortest path 127 steps.

    A 19 x 25 lattice (39 x 51 grid) carved around a zigzag route from the north-west corner
    (east along the top, two cells south, west, ...), plus three extra openings that do not
    shorten the way from start to goal; the goal lies on the route, 127 steps from the start.
    """
    rng = np.random.default_rng(1997)
    route = _zigzag(25, 4, down=2)
    grid = _carve(19, 25, route, rng)
    start = (1, 1)
    goal = _on_route(route, 127)
    base = distances(grid, start)[goal]
    cand = [(r, c) for r in range(1, grid.shape[0] - 1) for c in range(1, grid.shape[1] - 1)
            if grid[r, c] == 1 and ((grid[r - 1, c] == 0 and grid[r + 1, c] == 0) or
                                    (grid[r, c - 1] == 0 and grid[r, c + 1] == 0))]
    opened = 0
    for k in rng.permutation(len(cand)):
        if opened == 3:
            break
        grid[cand[int(k)]] = 0
        if distances(grid, start)[goal] == base:
            opened += 1
        else:
            grid[cand[int(k)]] = 1
    return grid, start, goal


def _on_route(route: str, d: int) -> tuple[int, int]:
    """The grid field ``d`` steps along ``route`` (lattice moves of 2 grid steps) from (1, 1)."""
    r, c = 1, 1
    for m in route:
        for _ in range(2):
            if d == 0:
                return r, c
            r, c = r + _MOVES[m][0], c + _MOVES[m][1]
            d -= 1
    if d == 0:
        return r, c
    raise ValueError("the route is shorter than the distance asked for")


def maze_exp2() -> tuple[np.ndarray, tuple[int, int], list[tuple[int, int]]]:
    """The 23 x 23 maze of experiment 2: (grid, start, seven goals by increasing distance).

    An 11 x 11 lattice carved around a zigzag route (as in :func:`maze_exp1`); the goals lie on
    the route at 12, 26, 44, 62, 80, 98 and 116 steps from the start.
    """
    rng = np.random.default_rng(1996)
    route = _zigzag(11, 6, down=2)
    grid = _carve(11, 11, route, rng)
    start = (1, 1)
    goals = [_on_route(route, d) for d in (12, 26, 44, 62, 80, 98, 116)]
    return grid, start, goals


class POMazeEnv(gym.Env[np.int64, np.int64]):
    """Gymnasium interface to a partially observable maze with primitive actions.

    The agent starts at ``start`` facing east and observes :func:`senses` (``Discrete(8)``);
    actions (``Discrete(3)``): forward, turn left, turn right (:func:`primitive_move`). Reaching
    ``goal`` gives reward 1 and ends the episode; every other step gives 0. ``max_steps``
    truncates (None: never). Defaults: the maze of experiment 1 (:func:`maze_exp1`).
    """

    def __init__(self, grid: np.ndarray | None = None, start: tuple[int, int] | None = None,
                 goal: tuple[int, int] | None = None, max_steps: int | None = None) -> None:
        if grid is None:
            grid, s, g = maze_exp1()
            start = s if start is None else start
            goal = g if goal is None else goal
        if start is None or goal is None:
            raise ValueError("a maze given as a grid needs its start and goal")
        self.grid = np.asarray(grid, dtype=np.int8)
        for name, (r, c) in (("start", start), ("goal", goal)):
            if not free(self.grid, r, c):
                raise ValueError(f"{name} {(r, c)} is not a free field of the maze")
        self.start, self.goal, self.max_steps = start, goal, max_steps
        self.observation_space = gym.spaces.Discrete(N_SENSES)
        self.action_space = gym.spaces.Discrete(N_PRIMITIVES)
        self.pos = (start[0], start[1], 1)
        self.steps = 0

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.int64, dict[str, Any]]:
        super().reset(seed=seed)
        self.pos = (self.start[0], self.start[1], 1)
        self.steps = 0
        return np.int64(senses(self.grid, *self.pos)), {}

    def step(self, action: Any) -> tuple[np.int64, float, bool, bool, dict[str, Any]]:
        a = int(action)
        if not 0 <= a < N_PRIMITIVES:
            raise ValueError(f"action must be in 0..{N_PRIMITIVES - 1}, got {action}")
        self.pos = primitive_move(self.grid, *self.pos, a)
        self.steps += 1
        at_goal = (self.pos[0], self.pos[1]) == self.goal
        truncated = not at_goal and self.max_steps is not None and self.steps >= self.max_steps
        return (np.int64(senses(self.grid, *self.pos)), 1.0 if at_goal else 0.0, at_goal,
                truncated, {"position": self.pos})
