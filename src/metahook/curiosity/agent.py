"""The curious agent, written for reading: Q-learning on an intrinsic reward alone.

RDIA (Storck, Hochreiter & Schmidhuber, ICANN'95) learns, with Q-learning, a policy that makes
the experiments its reward values most; the environment pays nothing. Per step, in state ``s``
(the paper's parameters: α = 0.5, γ = 0.9, μ = 0.1 for the small environment)::

    a  = a uniform action with probability μ, else the greedy one (lowest index among ties)
    s' = the environment's answer
    model.update(s, a, s');  r = reward.reward(model, s, a, s')
    Q[s, a] += α (r + γ max_b Q[s', b] - Q[s, a])

The greedy choice and the draw read two uniforms per step from the stream the agent is given
(:func:`metahook.rl.q_lambda.q_select`), so the fused loop of :mod:`.tabular` that reads the same
stream is tested against this agent step for step. With ``reward=None`` the agent is the
paper's random search: every action uniform (μ = 1), no learning but the model's counts.

The agent has the :class:`metahook.rl.agent.Agent` methods, but :func:`live` is its loop: it
learns from a transition before it chooses the next action, as Q-learning is written (the shared
``run_episode`` chooses first, for Watkins's trace cut, which one-step Q-learning does not need).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np

from metahook.curiosity.base import IntrinsicReward
from metahook.curiosity.model import TransitionCounts
from metahook.rl.q_lambda import q_select


class CuriousQ:
    """One-step Q-learning on ``reward`` over a :class:`TransitionCounts` world model."""

    def __init__(self, n_states: int, n_actions: int, reward: IntrinsicReward | None,
                 uniforms: Iterator[float], *, alpha: float = 0.5, gamma: float = 0.9,
                 mu: float = 0.1) -> None:
        self.model = TransitionCounts(n_states, n_actions)
        self.Q = np.zeros((n_states, n_actions))
        self.intrinsic = reward
        self.uniforms = uniforms
        self.alpha, self.gamma = alpha, gamma
        self.mu = 1.0 if reward is None else mu
        self.last_reward = 0.0

    def act(self, observation: Any) -> int:
        u1, u2 = next(self.uniforms), next(self.uniforms)
        return int(q_select(self.Q, int(observation), self.mu, u1, u2))

    def learn(self, observation: Any, action: Any, reward: float, next_observation: Any,
              next_action: Any, terminated: bool) -> None:
        """Count the experiment, reward it intrinsically (the environment's reward is ignored)
        and make one Q-learning update."""
        s, a, s2 = int(observation), int(action), int(next_observation)
        self.model.update(s, a, s2)
        if self.intrinsic is None:
            self.last_reward = 0.0
            return
        r = self.intrinsic.reward(self.model, s, a, s2)
        self.last_reward = r
        self.Q[s, a] += self.alpha * (r + self.gamma * self.Q[s2].max() - self.Q[s, a])

    def end_episode(self) -> None:
        return None


def live(env: gym.Env[Any, Any], agent: CuriousQ, steps: int, seed: int | None = None
         ) -> list[int]:
    """``steps`` experiments of ``agent`` in ``env`` (act, step, learn); the states visited."""
    obs, _ = env.reset(seed=seed)
    s = int(obs)
    path = [s]
    for _ in range(steps):
        a = agent.act(s)
        nxt, reward, _, _, _ = env.step(a)
        agent.learn(s, a, float(reward), nxt, None, False)
        s = int(nxt)
        path.append(s)
    return path
