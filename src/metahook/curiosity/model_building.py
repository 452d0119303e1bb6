"""The curious model-building control system of IJCNN 1991: world model, confidence, Q-learning.

Schmidhuber, "Curious model-building control systems", IJCNN 1991 (Singapore), vol. 2,
pp. 1458-1463 (web copy: people.idsia.ch/~juergen/curioussingapore/), and "Adaptive confidence
and adaptive curiosity" (TR FKI-149-91, TU Munich 1991). Four adaptive modules [paper]:

- ``M``, the world model: predicts the world's reaction to an experiment ``(s, a)``;
- ``C``, the confidence module: learns the expected error of ``M`` on each input (the paper's
  "method 3", modelling the expected error, trained by gradient descent to emit ``M``'s error);
- ``Q``, evaluating state/action pairs by Q-learning, and the controller ``A`` that picks the
  action (here: the greedy action of ``Q``, or a uniform one with probability ``eps``);
- the reward of the controller is the change of ``C``'s output that the experience caused: how
  much the assumed reliability of ``M``'s predictions for that input improved (the paper: the
  curiosity goal is the expected discounted sum of ``-Δo_C``, ``Δo_C`` the change of ``C``'s
  response to the input caused by adjusting ``C``).

In the paper's experiments all four are back-propagation networks with local input and output
representations and no hidden units (its conclusion leaves hidden units and non-local
representations to later work). With a local (one-hot) input, such a network is a linear layer
whose weights for one input are the entries of a table, and a gradient step on its squared error
is the delta rule on that entry. Per step, in state ``s`` (``u1, u2``: the agent's uniforms)::

    a  = uniform (from u2) if u1 < eps, else argmax_b Q[s, b]     (A)
    x  = the world's reaction to (s, a); s' = where the move led
    e  = (x - W[s, a])^2;   W[s, a] += eta_m (x - W[s, a])          (M and its error)
    r  = C[s, a] - C'[s, a] = eta_c (C[s, a] - e);  C'[s, a] = C[s, a] + eta_c (e - C[s, a])
    Q[s, a] += alpha (r + gamma max_b Q[s', b] - Q[s, a])            (Q-learning, U(s') = max Q)

``M`` starts at 0 (the paper: random initialisation; ours: zero, so every reaction in {-1, +1}
costs the untrained model exactly 1), ``C`` starts at 1, the untrained model's error (so a first
experiment neither pays nor costs), ``Q`` uniform in ``[0, q_init)`` (random initialisation).
Where the reaction is a fair coin, ``M`` cannot beat its start and ``C`` settles at the error it
makes, so the reward is 0 in expectation: the system gets bored. Where it is deterministic,
``M``'s error falls by the factor ``(1 - eta_m)^2`` per experiment and ``C`` follows it down,
which pays.

Kinds: ``curious`` (the reward above), ``prediction_error`` (reward = ``e``, the 1990 reward,
drawn to the coins), ``random`` (the paper's baseline: every action uniform, no Q-learning; ``M``
and ``C`` learn alike).

:class:`CuriousModelBuilder` is the readable per-step form; :func:`mbc_steps` the same life in
one compiled loop (a test holds the two to the same walk, weights and rewards);
:class:`ModelBuildingRun` one life as a checkpointable job.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT
from metahook.core.seeding import restore_generator
from metahook.core.state import restore_arrays
from metahook.envs.reactive_grid import react
from metahook.rl.q_lambda import q_select

RANDOM, CURIOUS, PREDICTION_ERROR = range(3)
KINDS: dict[str, int] = {"random": RANDOM, "curious": CURIOUS,
                         "prediction_error": PREDICTION_ERROR}
# params
ETA_M, ETA_C, ALPHA, GAMMA, EPS = range(5)
# walk
STATE, TIME = range(2)


def model_error(W: np.ndarray, value: np.ndarray, det: np.ndarray) -> float:
    """The paper's criterion E(t): the summed squared difference between the deterministic
    reactions and ``M``'s predictions of them (over every action in every deterministic state)."""
    return float(((W[det] - value[det]) ** 2).sum())


class CuriousModelBuilder:
    """The four modules, written for reading (see the module docstring for the step)."""

    def __init__(self, n_states: int, n_actions: int, kind: str, rng: np.random.Generator, *,
                 eta_m: float = 0.05, eta_c: float = 0.05, alpha: float = 0.5,
                 gamma: float = 0.9, eps: float = 0.1, q_init: float = 0.01) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; have {', '.join(KINDS)}")
        self.kind = kind
        self.W = np.zeros((n_states, n_actions))  # M
        self.C = np.ones((n_states, n_actions))  # C: expected squared error of M
        self.Q = rng.uniform(0.0, q_init, (n_states, n_actions))
        self.eta_m, self.eta_c, self.alpha, self.gamma = eta_m, eta_c, alpha, gamma
        self.eps = 1.0 if kind == "random" else eps

    def act(self, s: int, u1: float, u2: float) -> int:
        return int(q_select(self.Q, s, self.eps, u1, u2))

    def learn(self, s: int, a: int, x: float, s_next: int) -> float:
        """M, C and Q learn from the experience; returns the controller's reward."""
        e = (x - self.W[s, a]) ** 2
        self.W[s, a] += self.eta_m * (x - self.W[s, a])
        c_before = self.C[s, a]
        self.C[s, a] += self.eta_c * (e - self.C[s, a])
        if self.kind == "random":
            return 0.0
        r = c_before - self.C[s, a] if self.kind == "curious" else e
        self.Q[s, a] += self.alpha * (r + self.gamma * self.Q[s_next].max() - self.Q[s, a])
        return float(r)


@njit(cache=True, **NO_REFCOUNT)
def mbc_steps(nxt: np.ndarray, value: np.ndarray, det: np.ndarray, kind: int,
              params: np.ndarray, W: np.ndarray, C: np.ndarray, Q: np.ndarray,
              walk: np.ndarray, u_agent: np.ndarray, u_env: np.ndarray, steps: int,
              visits: np.ndarray, reward: np.ndarray) -> int:
    """``steps`` steps of :class:`CuriousModelBuilder` in the reactive grid (compiled).

    ``u_agent`` holds two uniforms per step, ``u_env`` one; ``visits[s, a]`` counts experiments
    and ``reward[s, a]`` sums the controller's rewards per pair.
    """
    eta_m, eta_c, alpha, gamma, eps = (params[ETA_M], params[ETA_C], params[ALPHA],
                                       params[GAMMA], params[EPS])
    s, t = walk[STATE], walk[TIME]
    for i in range(steps):
        a = q_select(Q, s, eps, u_agent[2 * i], u_agent[2 * i + 1])
        x = react(value, det, s, a, u_env[i])
        s2 = nxt[s, a]
        d = x - W[s, a]
        e = d * d
        W[s, a] += eta_m * d
        c0 = C[s, a]
        C[s, a] += eta_c * (e - c0)
        visits[s, a] += 1
        if kind != RANDOM:
            r = c0 - C[s, a] if kind == CURIOUS else e
            reward[s, a] += r
            best = Q[s2, 0]
            for b in range(1, Q.shape[1]):
                if Q[s2, b] > best:
                    best = Q[s2, b]
            Q[s, a] += alpha * (r + gamma * best - Q[s, a])
        s = s2
        t += 1
    walk[STATE], walk[TIME] = s, t
    return steps


class ModelBuildingRun:
    """One life of the system in a reactive grid (``nxt``, ``value``, ``det``), in steps.

    ``agent_rng`` draws the Q initialisation and two uniforms per step, ``env_rng`` one uniform
    per step, so slicing the life into :meth:`advance` calls never changes it.
    """

    PIECE = 1 << 14

    def __init__(self, nxt: np.ndarray, value: np.ndarray, det: np.ndarray, kind: str,
                 agent_rng: np.random.Generator, env_rng: np.random.Generator, *,
                 eta_m: float = 0.05, eta_c: float = 0.05, alpha: float = 0.5,
                 gamma: float = 0.9, eps: float = 0.1, q_init: float = 0.01) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; have {', '.join(KINDS)}")
        n, m = nxt.shape
        self.kind, self.nxt, self.value, self.det = kind, nxt, value, det
        self.agent_rng, self.env_rng = agent_rng, env_rng
        self.params = np.array([eta_m, eta_c, alpha, gamma, 1.0 if kind == "random" else eps])
        self.W = np.zeros((n, m))
        self.C = np.ones((n, m))
        self.Q = agent_rng.uniform(0.0, q_init, (n, m))
        self.walk = np.zeros(2, dtype=np.int64)
        self.visits = np.zeros((n, m), dtype=np.int64)
        self.reward = np.zeros((n, m))

    @property
    def steps(self) -> int:
        return int(self.walk[TIME])

    def error(self) -> float:
        """E(t), :func:`model_error`."""
        det_pairs = np.repeat(self.det[:, None], self.W.shape[1], axis=1)
        return model_error(self.W, self.value, det_pairs)

    def advance(self, steps: int) -> None:
        while steps > 0:
            k = min(steps, self.PIECE)
            u_agent = self.agent_rng.random(2 * k)
            u_env = self.env_rng.random(k)
            mbc_steps(self.nxt, self.value, self.det, KINDS[self.kind], self.params, self.W,
                      self.C, self.Q, self.walk, u_agent, u_env, k, self.visits, self.reward)
            steps -= k

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "agent_rng": self.agent_rng.bit_generator.state,
                "env_rng": self.env_rng.bit_generator.state, "W": self.W, "C": self.C,
                "Q": self.Q, "walk": self.walk, "visits": self.visits, "reward": self.reward}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        if st["kind"] != self.kind:
            raise ValueError(f"checkpoint of kind {st['kind']!r}, not {self.kind!r}")
        restore_generator(self.agent_rng, st["agent_rng"])
        restore_generator(self.env_rng, st["env_rng"])
        restore_arrays(self, st, {"W": np.float64, "C": np.float64, "Q": np.float64,
                                  "walk": np.int64, "visits": np.int64, "reward": np.float64})
