"""VizDoom TakeCover, headless, with frames resized to 64×64: the World Models Doom task.

Kempka et al., "ViZDoom" (2016): the ``take_cover`` scenario shipped with the ``vizdoom`` package
(``take_cover.cfg``, skill 4). The player stands at one side of a room; monsters on the other side
throw fireballs; the player can only move left or right. Reward 1 per game tic survived; the
episode ends when the player dies or, here, after ``max_steps`` tics (2100, the limit of the
World Models paper, whose task counts as solved above 750 steps on average).

Spec (ours where the paper is silent):

| item | value |
|---|---|
| action | 0 = MOVE_LEFT, 1 = stay (no button), 2 = MOVE_RIGHT; one game tic per step (no skip) |
| observation | the 160×120 RGB screen, resized (bilinear) to 64×64×3 uint8 |
| reward | +1 per step survived |
| end | death (``terminated``) or ``max_steps`` steps (``truncated``) |
| seed | ``reset(seed)`` seeds the game's random stream; episodes after it continue that stream |

A uniformly random action per step survives 216 ± 91 steps (30 episodes, seed 3; the paper's
random policy: 210 ± 108). The window is never shown; nothing needs a display.
:class:`TakeCoverBatch` runs several games side by side for batched controllers.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from PIL import Image

MAX_STEPS = 2100
N_ACTIONS = 3
_BUTTONS = ([1, 0], [0, 0], [0, 1])


def available() -> bool:
    """Whether the ``vizdoom`` wheel imports here."""
    try:
        import vizdoom  # noqa: F401
    except ImportError:
        return False
    return True


def resize64(screen: np.ndarray) -> np.ndarray:
    """An RGB screen ``(H, W, 3)`` uint8 -> ``(64, 64, 3)`` uint8 (bilinear)."""
    return np.asarray(Image.fromarray(screen).resize((64, 64), Image.Resampling.BILINEAR))


class TakeCover:
    """One headless TakeCover game (see the module docstring)."""

    def __init__(self, max_steps: int = MAX_STEPS, seed: int = 0, hud: bool = False,
                 flashes: bool = False) -> None:
        import vizdoom as vzd

        if max_steps < 1:
            raise ValueError("max_steps must be >= 1")
        self.max_steps = max_steps
        g = vzd.DoomGame()
        g.load_config(os.path.join(vzd.scenarios_path, "take_cover.cfg"))
        # the engine's own settings file, which it would otherwise write into the working folder
        g.set_doom_config_path(os.path.join(tempfile.gettempdir(), "metahook_vizdoom.ini"))
        g.set_window_visible(False)
        g.set_screen_resolution(vzd.ScreenResolution.RES_160X120)
        g.set_screen_format(vzd.ScreenFormat.RGB24)
        g.set_episode_timeout(0)  # the step limit is ours (max_steps)
        g.set_sound_enabled(False)
        g.set_render_hud(hud)
        g.set_render_screen_flashes(flashes)
        g.set_seed(int(seed) % (2 ** 31))
        g.init()
        self.game = g
        self.t = 0
        self.frame = np.zeros((64, 64, 3), np.uint8)

    def reset(self, seed: int | None = None) -> np.ndarray:
        if seed is not None:
            self.game.set_seed(int(seed) % (2 ** 31))
        self.game.new_episode()
        self.t = 0
        self.frame = resize64(self.game.get_state().screen_buffer)
        return self.frame

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        """(frame, reward, terminated, truncated); after death the last frame is repeated."""
        if not 0 <= int(action) < N_ACTIONS:
            raise ValueError(f"action must be 0, 1 or 2, got {action}")
        self.game.make_action(list(_BUTTONS[int(action)]))
        self.t += 1
        if self.game.is_episode_finished():
            return self.frame, 1.0, True, False
        self.frame = resize64(self.game.get_state().screen_buffer)
        return self.frame, 1.0, False, self.t >= self.max_steps

    def close(self) -> None:
        self.game.close()


class TakeCoverBatch:
    """``n`` games stepped together; each plays its own sequence of episodes.

    Game ``j`` is seeded with ``seed + j``; :meth:`play` hands out ``episodes`` episodes over the
    games (game ``j`` plays episodes ``j, j + n, ...``), so the result does not depend on timing.
    """

    def __init__(self, n: int, seed: int, max_steps: int = MAX_STEPS) -> None:
        self.games = [TakeCover(max_steps, seed + j) for j in range(n)]

    def close(self) -> None:
        for g in self.games:
            g.close()
