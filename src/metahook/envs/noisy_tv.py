"""A grid room with a learnable wall of pictures and a noisy TV, for curiosity-driven agents.

The "noisy TV" is the standard trap of prediction-error curiosity (Burda, Edwards, Pathak,
Storkey, Darrell & Efros, "Large-scale study of curiosity-driven learning", ICLR 2019): a source
of noise that a world model can never predict keeps paying a reward that is the model's error.
This environment puts such a TV beside something a world model *can* learn, so that an agent
whose reward is learning progress has a reason to leave the TV. No external reward: the agent
has only its curiosity. We wrote it for metahook (MiniGrid would need pygame-ce, 12 MB, and its
per-step Python cost; the spaces and API are Gymnasium's).

Specification (all constants below):

- A room of ``WIDTH x HEIGHT`` = 11 x 7 cells, no inner walls; a move into the outer wall
  leaves the agent where it is. The agent starts every episode in ``START`` = (5, 3) (x, y).
- Actions (``N_ACTIONS`` = 5): 0 up (y - 1), 1 down (y + 1), 2 left (x - 1), 3 right (x + 1),
  4 press (stay where it is; in front of the TV in the ``remote`` variant it changes the
  channel).
- A screen of ``BITS`` = 16 binary pixels shows what the agent looks at on the cell it has
  reached:
  - the *picture wall*, the cells with x < ``PICTURE_COLUMNS`` = 4 (28 cells): a fixed picture
    per cell, 16 random bits drawn once from ``LAYOUT_SEED`` (the same in every run). A world
    model can learn them all (28 pictures), but has to visit every cell to do so;
  - the *TV*, the cells ``TV_CELLS`` = (10, 2), (10, 3) and (10, 4), the middle of the right
    wall, five steps from the start (the nearest pictures are two steps away):
    - variant ``look``: 16 fresh uniform random bits on every step the agent stands there,
      whatever it does (noise that comes with looking);
    - variant ``remote``: the current channel, 16 bits kept by the environment (all zero after
      ``reset``); the action ``press`` on a TV cell switches to a fresh uniform channel, every
      other action leaves the channel as it is (noise the agent's action makes);
  - anywhere else: all zeros.
- Observation (``Box(0, 1, (OBS_DIM,), float32)``, ``OBS_DIM`` = 11 + 7 + 16 = 34): the
  one-hot x, the one-hot y, and the screen.
- Reward 0 always; ``terminated`` never; ``truncated`` after ``max_steps`` (default 100) steps.
- Randomness: the TV's bits only, drawn from the env's generator on each step where noise
  appears (``look``: every step on a TV cell; ``remote``: every press there), as one
  ``integers(0, 2, (k, BITS))`` call for the k copies that need it, in copy order.

:class:`NoisyTVEnv` is the Gymnasium environment; :class:`NoisyTVVec` steps ``n`` copies at once
with numpy (resetting each copy when it truncates, as Gymnasium's vector envs do in their
"same-step" mode: the observation returned is the new episode's first one), drawing its noise
from one generator in the order of the copies. A test holds the two to the same walk.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

WIDTH, HEIGHT = 11, 7
BITS = 16
N_ACTIONS = 5
UP, DOWN, LEFT, RIGHT, PRESS = range(5)
START = (5, 3)
PICTURE_COLUMNS = 4
TV_CELLS = ((10, 2), (10, 3), (10, 4))
LAYOUT_SEED = 20_240_614
OBS_DIM = WIDTH + HEIGHT + BITS
VARIANTS = ("look", "remote")
N_CELLS = WIDTH * HEIGHT
_DX = np.array([0, 0, -1, 1, 0])
_DY = np.array([-1, 1, 0, 0, 0])


def pictures() -> np.ndarray:
    """The picture wall: ``[x, y, BITS]`` bits (zeros for x >= PICTURE_COLUMNS), fixed."""
    pics = np.zeros((WIDTH, HEIGHT, BITS), dtype=np.float32)
    rng = np.random.default_rng(LAYOUT_SEED)
    pics[:PICTURE_COLUMNS] = rng.integers(0, 2, size=(PICTURE_COLUMNS, HEIGHT, BITS))
    return pics


def tv_mask() -> np.ndarray:
    """``[x, y]`` booleans: the TV's cells."""
    m = np.zeros((WIDTH, HEIGHT), dtype=bool)
    for x, y in TV_CELLS:
        m[x, y] = True
    return m


def observe(x: np.ndarray, y: np.ndarray, screen: np.ndarray) -> np.ndarray:
    """Observations ``[n, OBS_DIM]`` for positions ``x``, ``y`` and screens ``[n, BITS]``."""
    n = x.shape[0]
    obs = np.zeros((n, OBS_DIM), dtype=np.float32)
    obs[np.arange(n), x] = 1.0
    obs[np.arange(n), WIDTH + y] = 1.0
    obs[:, WIDTH + HEIGHT:] = screen
    return obs


def learnable_transitions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every experience whose outcome a world model can learn and must explore to learn: a
    move (or press) that ends on the picture wall, from a cell whose own screen is known (not a
    TV cell). Returns the observations before, the actions and the observations after (all
    deterministic), ``[n, OBS_DIM]``, ``[n]``, ``[n, OBS_DIM]``."""
    pics, tv = pictures(), tv_mask()
    xs, ys, acts = [], [], []
    for x in range(WIDTH):
        for y in range(HEIGHT):
            if tv[x, y]:
                continue
            for a in range(N_ACTIONS):
                nx = min(max(x + _DX[a], 0), WIDTH - 1)
                if nx < PICTURE_COLUMNS:
                    xs.append(x)
                    ys.append(y)
                    acts.append(a)
    px, py, pa = np.array(xs), np.array(ys), np.array(acts)
    nx = np.clip(px + _DX[pa], 0, WIDTH - 1)
    ny = np.clip(py + _DY[pa], 0, HEIGHT - 1)
    return observe(px, py, pics[px, py]), pa, observe(nx, ny, pics[nx, ny])


class NoisyTVVec:
    """``n`` copies of the environment stepped together (see the module docstring)."""

    def __init__(self, n: int, variant: str = "look", max_steps: int = 100,
                 rng: np.random.Generator | None = None) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; valid: {', '.join(VARIANTS)}")
        if n < 1 or max_steps < 1:
            raise ValueError("n >= 1 and max_steps >= 1 required")
        self.n, self.variant, self.max_steps = n, variant, max_steps
        self.rng = np.random.default_rng() if rng is None else rng
        self.pics, self.tv = pictures(), tv_mask()
        self.x = np.full(n, START[0], dtype=np.int64)
        self.y = np.full(n, START[1], dtype=np.int64)
        self.t = np.zeros(n, dtype=np.int64)
        self.channel = np.zeros((n, BITS), dtype=np.float32)
        self.screen = np.zeros((n, BITS), dtype=np.float32)

    def reset(self) -> np.ndarray:
        self.x[:], self.y[:], self.t[:] = START[0], START[1], 0
        self.channel[:] = 0.0
        self._show(np.ones(self.n, dtype=bool), np.zeros(self.n, dtype=np.int64))
        return observe(self.x, self.y, self.screen)

    def _show(self, which: np.ndarray, actions: np.ndarray) -> None:
        """Set the screens of the copies ``which`` for where they stand (the noise of all copies
        that need it drawn in one call, ``[k, BITS]``, in copy order)."""
        x, y = self.x, self.y
        self.screen[which] = self.pics[x[which], y[which]]
        on_tv = which & self.tv[x, y]
        if self.variant == "look":
            k = int(on_tv.sum())
            if k:
                self.screen[on_tv] = self.rng.integers(0, 2, (k, BITS))
        elif on_tv.any():
            pressed = on_tv & (actions == PRESS)
            k = int(pressed.sum())
            if k:
                self.channel[pressed] = self.rng.integers(0, 2, (k, BITS))
            self.screen[on_tv] = self.channel[on_tv]

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                  np.ndarray]:
        """Move every copy; returns (observations after, the cells ``x * HEIGHT + y`` reached,
        truncated flags, the observations of the cells reached before any reset)."""
        a = np.asarray(actions, dtype=np.int64)
        self.x = np.clip(self.x + _DX[a], 0, WIDTH - 1)
        self.y = np.clip(self.y + _DY[a], 0, HEIGHT - 1)
        self.t += 1
        self._show(np.ones(self.n, dtype=bool), a)
        reached = observe(self.x, self.y, self.screen)
        cells = self.x * HEIGHT + self.y
        trunc = self.t >= self.max_steps
        if trunc.any():
            self.x[trunc], self.y[trunc], self.t[trunc] = START[0], START[1], 0
            self.channel[trunc] = 0.0
            self._show(trunc, np.zeros(self.n, dtype=np.int64))
            return observe(self.x, self.y, self.screen), cells, trunc, reached
        return reached.copy(), cells, trunc, reached


class NoisyTVEnv(gym.Env[np.ndarray, int]):
    """The Gymnasium environment (one copy of :class:`NoisyTVVec`)."""

    def __init__(self, variant: str = "look", max_steps: int = 100) -> None:
        self.variant, self.max_steps = variant, max_steps
        self.observation_space = gym.spaces.Box(0.0, 1.0, (OBS_DIM,), np.float32)
        self.action_space = gym.spaces.Discrete(N_ACTIONS)  # type: ignore[assignment]
        self._vec = NoisyTVVec(1, variant, max_steps)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._vec.rng = self.np_random
        return self._vec.reset()[0], {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        v = self._vec
        t = int(v.t[0])
        _, cells, _, reached = v.step(np.array([int(action)]))
        truncated = t + 1 >= self.max_steps
        if truncated:  # the single env does not reset itself: keep the cell reached
            v.x[0], v.y[0] = divmod(int(cells[0]), HEIGHT)
            v.t[0] = self.max_steps
        return reached[0].copy(), 0.0, False, truncated, {"cell": int(cells[0])}
