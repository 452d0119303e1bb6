"""Agents over Gymnasium environments, and the one loop that runs an episode.

An :class:`Agent` chooses an action for an observation (``act``) and learns from a transition
(``learn``); :func:`run_episode` is the loop: reset, then act / step / learn until the episode
ends, and it returns what the episode took. :class:`TabularQLambda` is Watkins's Q(λ) with
replacing traces (Sutton & Barto 2018, section 12.10) on a discrete observation, written for
reading; its updates are the compiled kernels of :mod:`metahook.rl.q_lambda`, and its ε-greedy
choices read two uniforms per step from the stream it is given, so a fused loop that reads the
same stream (:mod:`metahook.rl.pomaze_q`) can be tested against it step for step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from metahook.rl.q_lambda import q_lambda_update, q_select


class Agent(Protocol):
    """What :func:`run_episode` needs of an agent."""

    def act(self, observation: Any) -> Any: ...

    def learn(self, observation: Any, action: Any, reward: float, next_observation: Any,
              next_action: Any, terminated: bool) -> None: ...

    def end_episode(self) -> None: ...


@dataclass
class Episode:
    """What one episode took: primitive steps, the sum of rewards, how it ended."""

    steps: int
    total_reward: float
    terminated: bool


def run_episode(env: gym.Env[Any, Any], agent: Agent, max_steps: int | None = None,
                seed: int | None = None) -> Episode:
    """One episode of ``agent`` in ``env``.

    The agent chooses its next action *before* it learns from the transition that led there
    (so that Watkins's trace cut can see whether that action is greedy); on termination it
    learns from the last transition with no next action.
    """
    obs, _ = env.reset(seed=seed)
    action = agent.act(obs)
    steps, total = 0, 0.0
    while max_steps is None or steps < max_steps:
        nxt, reward, terminated, truncated, _ = env.step(action)
        steps += 1
        total += float(reward)
        if terminated:
            agent.learn(obs, action, float(reward), nxt, None, True)
            agent.end_episode()
            return Episode(steps, total, True)
        next_action = agent.act(nxt)
        agent.learn(obs, action, float(reward), nxt, next_action, False)
        obs, action = nxt, next_action
        if truncated:
            break
    agent.end_episode()
    return Episode(steps, total, False)


class TabularQLambda:
    """Watkins's Q(λ) with replacing traces over ``n_states`` x ``n_actions`` (no SSA).

    ``uniforms`` yields the uniforms in [0, 1) that the ε-greedy choices read, two per choice.
    A terminal transition moves ``Q[s, a]`` towards the reward by ``alpha`` and clears the
    traces.
    """

    def __init__(self, n_states: int, n_actions: int, uniforms: Iterator[float], *,
                 alpha: float = 0.1, gamma: float = 0.99, lam: float = 0.9,
                 eps: float = 0.1) -> None:
        self.Q = np.zeros((n_states, n_actions))
        self.E = np.zeros((n_states, n_actions))
        self.alpha, self.gamma, self.lam, self.eps = alpha, gamma, lam, eps
        self.uniforms = uniforms
        self._no_stack = (np.zeros((1, 4)), np.zeros((1, 4)), np.zeros(8, dtype=np.int64),
                          np.zeros(7, dtype=np.int64))

    def act(self, observation: Any) -> int:
        u1, u2 = next(self.uniforms), next(self.uniforms)
        return int(q_select(self.Q, int(observation), self.eps, u1, u2))

    def learn(self, observation: Any, action: Any, reward: float, next_observation: Any,
              next_action: Any, terminated: bool) -> None:
        s, a = int(observation), int(action)
        if terminated:
            self.Q[s, a] += self.alpha * (reward - self.Q[s, a])
            return
        q_lambda_update(self.Q, self.E, s, a, reward, int(next_observation), int(next_action),
                        self.alpha, self.gamma, self.lam, False, *self._no_stack)

    def end_episode(self) -> None:
        self.E[:] = 0.0
