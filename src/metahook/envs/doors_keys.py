"""Two agents, two doors, two keys: the partially observable environment (POE) of LTL97 / ML97.

Schmidhuber, Zhao & Schraudolph, "Reinforcement learning with self-modifying policies", Learning
to Learn, Kluwer 1997, section 4 (LTL97); Schmidhuber, Zhao & Wiering, Machine Learning 28 (1997),
section 4.3 (ML97).

Specification (facts stated by the papers are marked [paper]; the rest is our design, chosen to
match them -- see docs/ssa.md, Deviations):

- World: a continuous 800 x 600 pixel plane [paper: "600 x 800 pixels"], x to the east (0..800),
  y to the south (0..600); its border is a wall.
- Agents A and B: discs 30 px across [paper], each facing one of 8 directions [paper]
  (0 = north, then clockwise in 45-degree steps). Agents do not collide with each other.
- Room A (north-east, x >= 560, y <= 240) is closed by walls; its only entry is door A, a 60 px
  gap in its south wall (x 650..710, y 230..240). Room B (south-west, x <= 240, y >= 360); its
  only entry is door B, a 60 px gap in its east wall (x 230..240, y 450..510) [paper: each door is
  the only entry to its room]. Four rectangular obstacles stand in the open area between
  [paper: "obstacles"]; :data:`WALLS` lists every wall.
- Key A lies in the south-east corner, key B inside room A, the goal inside room B [paper]. Keys
  are discs of radius 10, the goal a disc of radius 15 (:data:`KEYS`, :data:`GOAL`).
- Trial start [paper]: both agents placed at random near the north-west corner (centres uniform
  in [20, 80] x [20, 80]) and rotated at random; both doors closed; both keys at their places.
- Actions (each one *basic step* of one agent):
  ``MOVE`` -- move ``step_px`` px forward; a move that would overlap a wall, a closed door or
  the border does not happen. Bumping into one's own closed door while carrying one's own key
  opens it [paper: door A can only be opened with key A]; it stays open until the trial ends.
  An agent whose disc overlaps its own key takes it [paper: key A is useful only to A]. An agent
  whose disc overlaps the goal ends the trial [paper].
  ``TURN(a)`` -- turn by ``a`` x 45 degrees clockwise (``a`` = 4 turns around).
  ``TURN_KEY(a)`` / ``TURN_DOOR(a)`` / ``TURN_GOAL(a)`` -- face the direction (of the 8) nearest to
  the line from the agent to its own key / its own door / the goal, then turn by ``a`` x 45
  degrees [paper: "turn relative to key, door or goal"]; facing a carried key leaves the
  direction alone.
  ``LOOK_OBSTACLE`` / ``LOOK_KEY`` / ``LOOK_DOOR`` / ``LOOK_GOAL`` -- sense whether a wall, closed
  door or the border / its own key (not carried) / its own door / the goal lies up to
  ``sense_px`` = 50 px [paper] ahead: along the ray from the front of the disc in the facing
  direction, not hidden behind a nearer obstacle. Returns 1 or 0 ("active" sight [paper]).
- Rewards [paper]: -0.0001 to the acting agent for every move or turn (executed or not); when an
  agent touches the goal it gets 5.0 and the other agent 3.0; then a new trial starts. There is
  no maximum trial length and time is never reset [paper]; the agents are not told that a trial
  ended.

Two interfaces: numba functions over flat arrays (:func:`dk_reset`, :func:`dk_act`), used by the
experiments' compiled loops; and :class:`DoorsKeysEnv`, a PettingZoo ``ParallelEnv`` over the same
functions. In the parallel API both agents act each step, A first, B second (B acts in the new
trial if A ended one); the environment never terminates (a trial's end is reported in ``infos``),
each observation is the agent's four sensor bits plus whether it carries its key.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from numba import njit
from pettingzoo import ParallelEnv

from metahook.core.jit import NO_REFCOUNT

WIDTH, HEIGHT = 800.0, 600.0
AGENT_R = 15.0
KEY_R = 10.0
GOAL_R = 15.0
SENSE_PX = 50.0
START_BOX = (20.0, 80.0)  # agents' centres start uniform in [20, 80] x [20, 80]

# walls and obstacles: (x0, y0, x1, y1)
WALLS = np.array(
    [
        # room A (north-east): west wall, south wall left and right of door A
        [560.0, 0.0, 570.0, 240.0],
        [560.0, 230.0, 650.0, 240.0],
        [710.0, 230.0, 800.0, 240.0],
        # room B (south-west): north wall, east wall above and below door B
        [0.0, 360.0, 240.0, 370.0],
        [230.0, 360.0, 240.0, 450.0],
        [230.0, 510.0, 240.0, 600.0],
        # obstacles in the open area
        [300.0, 120.0, 420.0, 160.0],
        [380.0, 300.0, 420.0, 480.0],
        [560.0, 380.0, 680.0, 420.0],
        [100.0, 220.0, 200.0, 260.0],
    ]
)
DOORS = np.array([[650.0, 230.0, 710.0, 240.0], [230.0, 450.0, 240.0, 510.0]])  # door A, door B
KEYS = np.array([[770.0, 570.0], [740.0, 60.0]])  # key A (south-east corner), key B (room A)
GOAL = np.array([60.0, 540.0])  # inside room B

PENALTY = -0.0001
GOAL_REWARD = 5.0
HELPER_REWARD = 3.0

# actions
MOVE, TURN, TURN_KEY, TURN_DOOR, TURN_GOAL, LOOK_OBSTACLE, LOOK_KEY, LOOK_DOOR, LOOK_GOAL = range(9)
ACTION_NAMES = ("Move", "Turn", "TurnRelKey", "TurnRelDoor", "TurnRelGoal",
                "LookObstacle", "LookKey", "LookDoor", "LookGoal")
ACTION_ARITY = (0, 1, 1, 1, 1, 1, 1, 1, 1)

# fstate: positions; istate: directions, carried keys, open doors, counters
FX, FY = 0, 2  # fstate[FX + agent], fstate[FY + agent]
N_FSTATE = 4
DIR, CARRY, DOOR_OPEN, TRIALS, WINS, MOVES, BUMPS = 0, 2, 4, 6, 7, 9, 11
N_ISTATE = 13
# res: what dk_act reports
RES_R0, RES_R1, RES_END, RES_SENSED = range(4)

_S = 1.0 / math.sqrt(2.0)
DX = np.array([0.0, _S, 1.0, _S, 0.0, -_S, -1.0, -_S])
DY = np.array([-1.0, -_S, 0.0, _S, 1.0, _S, 0.0, -_S])


@njit(cache=True, **NO_REFCOUNT)
def _disc_hits_rect(x: float, y: float, r: float, rect: np.ndarray) -> bool:
    nx = min(max(x, rect[0]), rect[2])
    ny = min(max(y, rect[1]), rect[3])
    return (x - nx) ** 2 + (y - ny) ** 2 < r * r


@njit(cache=True, **NO_REFCOUNT)
def _ray_rect(px: float, py: float, dx: float, dy: float, length: float,
              rect: np.ndarray) -> float:
    """Distance along the ray to where it enters ``rect`` (inf if not within ``length``)."""
    tmin = 0.0
    tmax = length
    for axis in range(2):
        p = px if axis == 0 else py
        d = dx if axis == 0 else dy
        lo = rect[axis]
        hi = rect[axis + 2]
        if abs(d) < 1e-12:
            if p < lo or p > hi:
                return np.inf
        else:
            t1 = (lo - p) / d
            t2 = (hi - p) / d
            if t1 > t2:
                t1, t2 = t2, t1
            tmin = max(tmin, t1)
            tmax = min(tmax, t2)
            if tmin > tmax:
                return np.inf
    return tmin


@njit(cache=True, **NO_REFCOUNT)
def _ray_disc(px: float, py: float, dx: float, dy: float, length: float,
              cx: float, cy: float, r: float) -> float:
    fx = px - cx
    fy = py - cy
    b = fx * dx + fy * dy
    cc = fx * fx + fy * fy - r * r
    if cc <= 0.0:
        return 0.0
    disc = b * b - cc
    if disc < 0.0:
        return np.inf
    t = -b - math.sqrt(disc)
    if t < 0.0 or t > length:
        return np.inf
    return t


@njit(cache=True, **NO_REFCOUNT)
def _ray_border(px: float, py: float, dx: float, dy: float, length: float) -> float:
    t = np.inf
    if dx > 1e-12:
        t = min(t, (WIDTH - px) / dx)
    elif dx < -1e-12:
        t = min(t, -px / dx)
    if dy > 1e-12:
        t = min(t, (HEIGHT - py) / dy)
    elif dy < -1e-12:
        t = min(t, -py / dy)
    return t if t <= length else np.inf


@njit(cache=True, **NO_REFCOUNT)
def _nearest_obstacle(px: float, py: float, dx: float, dy: float, length: float,
                      walls: np.ndarray, doors: np.ndarray, istate: np.ndarray,
                      skip_door: int) -> float:
    best = _ray_border(px, py, dx, dy, length)
    for i in range(walls.shape[0]):
        best = min(best, _ray_rect(px, py, dx, dy, length, walls[i]))
    for k in range(2):
        if k != skip_door and istate[DOOR_OPEN + k] == 0:
            best = min(best, _ray_rect(px, py, dx, dy, length, doors[k]))
    return best


@njit(cache=True, **NO_REFCOUNT)
def _blocked(x: float, y: float, walls: np.ndarray, doors: np.ndarray,
             istate: np.ndarray) -> int:
    """-1 if a disc at (x, y) is free; else 0/1 for closed door A/B, 2 for a wall or border."""
    if x < AGENT_R or x > WIDTH - AGENT_R or y < AGENT_R or y > HEIGHT - AGENT_R:
        return 2
    for i in range(walls.shape[0]):
        if _disc_hits_rect(x, y, AGENT_R, walls[i]):
            return 2
    for k in range(2):
        if istate[DOOR_OPEN + k] == 0 and _disc_hits_rect(x, y, AGENT_R, doors[k]):
            return k
    return -1


@njit(cache=True, **NO_REFCOUNT)
def _direction_to(x: float, y: float, tx: float, ty: float) -> int:
    """The one of the 8 directions (0 = north, clockwise) nearest to the line towards (tx, ty)."""
    ang = math.atan2(tx - x, -(ty - y))  # 0 = north, positive clockwise
    k = math.floor(ang / (math.pi / 4.0) + 0.5)
    return k % 8


@njit(cache=True, **NO_REFCOUNT)
def dk_reset(fstate: np.ndarray, istate: np.ndarray, u: np.ndarray, upos: np.ndarray) -> None:
    """Start a trial: agents near the north-west corner, random rotation; doors closed, keys back.

    Reads 6 uniforms from ``u[upos[0]:]``.
    """
    lo, hi = START_BOX
    for a in range(2):
        fstate[FX + a] = lo + (hi - lo) * u[upos[0]]
        fstate[FY + a] = lo + (hi - lo) * u[upos[0] + 1]
        istate[DIR + a] = min(7, int(8.0 * u[upos[0] + 2]))
        istate[CARRY + a] = 0
        istate[DOOR_OPEN + a] = 0
        upos[0] += 3


@njit(cache=True, **NO_REFCOUNT)
def dk_act(
    fstate: np.ndarray, istate: np.ndarray, agent: int, action: int, arg: int,
    step_px: float, walls: np.ndarray, doors: np.ndarray, keys: np.ndarray, goal: np.ndarray,
    res: np.ndarray,
) -> None:
    """One action of ``agent`` (0 = A, 1 = B). Fills ``res`` = (reward A, reward B, trial ended,
    sensed). The caller starts the next trial (:func:`dk_reset`) when ``res[RES_END]`` is 1."""
    res[0] = 0.0
    res[1] = 0.0
    res[RES_END] = 0.0
    res[RES_SENSED] = 0.0
    x = fstate[FX + agent]
    y = fstate[FY + agent]
    d = istate[DIR + agent]
    if action == MOVE:
        res[agent] += PENALTY
        istate[MOVES + agent] += 1
        nx = x + step_px * DX[d]
        ny = y + step_px * DY[d]
        hit = _blocked(nx, ny, walls, doors, istate)
        if hit >= 0:
            istate[BUMPS + agent] += 1
            if hit == agent and istate[CARRY + agent] != 0:
                istate[DOOR_OPEN + agent] = 1
            return
        fstate[FX + agent] = nx
        fstate[FY + agent] = ny
        if istate[CARRY + agent] == 0:
            kx = keys[agent, 0]
            ky = keys[agent, 1]
            if (nx - kx) ** 2 + (ny - ky) ** 2 < (AGENT_R + KEY_R) ** 2:
                istate[CARRY + agent] = 1
        if (nx - goal[0]) ** 2 + (ny - goal[1]) ** 2 < (AGENT_R + GOAL_R) ** 2:
            res[agent] += GOAL_REWARD
            res[1 - agent] += HELPER_REWARD
            res[RES_END] = 1.0
            istate[TRIALS] += 1
            istate[WINS + agent] += 1
        return
    if action <= TURN_GOAL:
        res[agent] += PENALTY
        turn = arg % 8
        if action == TURN:
            istate[DIR + agent] = (d + turn) % 8
        elif action == TURN_KEY:
            if istate[CARRY + agent] == 0:
                base = _direction_to(x, y, keys[agent, 0], keys[agent, 1])
                istate[DIR + agent] = (base + turn) % 8
        elif action == TURN_DOOR:
            cx = 0.5 * (doors[agent, 0] + doors[agent, 2])
            cy = 0.5 * (doors[agent, 1] + doors[agent, 3])
            istate[DIR + agent] = (_direction_to(x, y, cx, cy) + turn) % 8
        else:
            istate[DIR + agent] = (_direction_to(x, y, goal[0], goal[1]) + turn) % 8
        return
    # sensing: the ray from the front of the disc, SENSE_PX long
    dx = DX[d]
    dy = DY[d]
    px = x + AGENT_R * dx
    py = y + AGENT_R * dy
    if action == LOOK_OBSTACLE:
        t = _nearest_obstacle(px, py, dx, dy, SENSE_PX, walls, doors, istate, -1)
        res[RES_SENSED] = 1.0 if t <= SENSE_PX else 0.0
        return
    if action == LOOK_KEY:
        if istate[CARRY + agent] != 0:
            return
        t = _ray_disc(px, py, dx, dy, SENSE_PX, keys[agent, 0], keys[agent, 1], KEY_R)
        skip = -1
    elif action == LOOK_DOOR:
        t = _ray_rect(px, py, dx, dy, SENSE_PX, doors[agent])
        skip = agent
    else:
        t = _ray_disc(px, py, dx, dy, SENSE_PX, goal[0], goal[1], GOAL_R)
        skip = -1
    if t <= SENSE_PX:
        block = _nearest_obstacle(px, py, dx, dy, SENSE_PX, walls, doors, istate, skip)
        if t <= block:
            res[RES_SENSED] = 1.0


@njit(cache=True, **NO_REFCOUNT)
def dk_observe(fstate: np.ndarray, istate: np.ndarray, agent: int, walls: np.ndarray,
               doors: np.ndarray, keys: np.ndarray, goal: np.ndarray, res: np.ndarray,
               obs: np.ndarray) -> None:
    """The agent's four sensor bits and whether it carries its key (sensing costs no reward)."""
    for k in range(4):
        dk_act(fstate, istate, agent, LOOK_OBSTACLE + k, 0, 0.0, walls, doors, keys, goal, res)
        obs[k] = int(res[RES_SENSED])
    obs[4] = istate[CARRY + agent]


class DoorsKeysEnv(ParallelEnv):
    """PettingZoo parallel API over the numba core; see the module docstring.

    Actions (``Discrete(7)``): 0 move, 1 turn right (45 degrees), 2 turn left, 3 turn around,
    4 face own key, 5 face own door, 6 face the goal. Observations (``MultiBinary(5)``):
    obstacle / own key / own door / goal within 50 px ahead, own key carried.
    """

    metadata: ClassVar[dict[str, Any]] = {"name": "doors_keys_v0", "render_modes": []}
    ACTIONS = ((MOVE, 0), (TURN, 1), (TURN, 7), (TURN, 4), (TURN_KEY, 0), (TURN_DOOR, 0),
               (TURN_GOAL, 0))

    def __init__(self, step_px: float = 40.0) -> None:
        if not 0.0 < step_px < 60.0:
            raise ValueError("step_px must be in (0, 60)")
        self.step_px = float(step_px)
        self.possible_agents = ["agent_A", "agent_B"]
        self.agents: list[str] = []
        self._obs_space = spaces.MultiBinary(5)
        self._act_space = spaces.Discrete(len(self.ACTIONS))
        self.fstate = np.zeros(N_FSTATE)
        self.istate = np.zeros(N_ISTATE, dtype=np.int64)
        self._res = np.zeros(4)
        self._rng = np.random.default_rng()
        self.steps = 0

    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    def _start_trial(self) -> None:
        u = self._rng.random(6)
        dk_reset(self.fstate, self.istate, u, np.zeros(1, dtype=np.int64))

    def _obs(self, a: int) -> np.ndarray:
        obs = np.zeros(5, dtype=np.int8)
        dk_observe(self.fstate, self.istate, a, WALLS, DOORS, KEYS, GOAL, self._res, obs)
        return obs

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.istate[:] = 0
        self.steps = 0
        self._start_trial()
        return {a: self._obs(i) for i, a in enumerate(self.agents)}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, int]) -> tuple[
        dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        rewards = {a: 0.0 for a in self.agents}
        trial_end = False
        for i, name in enumerate(self.possible_agents):
            act = int(actions[name])
            if not 0 <= act < len(self.ACTIONS):
                raise ValueError(f"action {act} for {name} out of range 0..{len(self.ACTIONS) - 1}")
            action, arg = self.ACTIONS[act]
            dk_act(self.fstate, self.istate, i, action, arg, self.step_px, WALLS, DOORS, KEYS,
                   GOAL, self._res)
            rewards["agent_A"] += float(self._res[0])
            rewards["agent_B"] += float(self._res[1])
            if self._res[RES_END]:
                trial_end = True
                self._start_trial()
        self.steps += 1
        obs = {a: self._obs(i) for i, a in enumerate(self.agents)}
        infos = {a: {"trial_end": trial_end, "trials": int(self.istate[TRIALS])}
                 for a in self.agents}
        no = {a: False for a in self.agents}
        return obs, rewards, no, dict(no), infos

    def state(self) -> np.ndarray:
        return np.concatenate([self.fstate, self.istate.astype(np.float64)])
