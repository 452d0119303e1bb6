"""CarRacing-v3 (Gymnasium, Box2D), headless, frames resized to 64×64: the World Models car task.

Gymnasium's ``CarRacing-v3``: a top-down car on a random track of tiles; reward −0.1 per frame
and +1000/N per track tile visited (N tiles); continuous action (steer in [−1, 1], gas and brake
in [0, 1]); 96×96×3 observations. The episode ends when every tile was visited, the car leaves
the playfield (reward −100), or after 1,000 steps (Gymnasium's time limit). The World Models
paper used CarRacing-v0 (gym 0.9), whose rules differed in details (v1 onward changed the
termination and reward bookkeeping); "solved" there meant an average of 900 over 100 episodes.

Each 96×96 frame is resized (bilinear) to 64×64×3 uint8 as in the paper. Rendering draws on an
off-screen pygame surface; no display is needed (``SDL_VIDEODRIVER=dummy`` is set if unset).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from PIL import Image

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

MAX_STEPS = 1000


def available() -> bool:
    """Whether Box2D and pygame import here (the ``box2d`` and ``pygame-ce`` wheels)."""
    try:
        import Box2D  # noqa: F401
        import pygame  # noqa: F401
    except ImportError:
        return False
    return True


def resize64(frame: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(frame).resize((64, 64), Image.Resampling.BILINEAR))


class CarRacing:
    """A thin wrapper: ``reset(seed) -> frame``, ``step(action) -> (frame, reward, terminated,
    truncated)`` with 64×64×3 uint8 frames."""

    def __init__(self, max_steps: int = MAX_STEPS) -> None:
        import gymnasium as gym

        if max_steps < 1:
            raise ValueError("max_steps must be >= 1")
        self.env: Any = gym.make("CarRacing-v3", max_episode_steps=max_steps)

    def reset(self, seed: int | None = None) -> np.ndarray:
        obs, _ = self.env.reset(seed=seed)
        return resize64(obs)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool]:
        a = np.asarray(action, dtype=np.float32).reshape(3)
        if not np.all(np.isfinite(a)):
            raise ValueError("action must be finite")
        obs, r, term, trunc, _ = self.env.step(np.clip(a, [-1, 0, 0], [1, 1, 1]))
        return resize64(obs), float(r), bool(term), bool(trunc)

    def close(self) -> None:
        self.env.close()
