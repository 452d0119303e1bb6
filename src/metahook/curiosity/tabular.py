"""The curious agent fused with a tabular environment in one compiled loop, for millions of steps.

:func:`curious_steps` is :class:`.agent.CuriousQ` living in an environment given by its cumulative
transition table (:func:`metahook.envs.rdia.cumulative`), with every reward of the family
computed in O(1) from statistics kept beside the counts of each row (their readable definitions
are the modules :mod:`.info_gain`, :mod:`.prediction_error` and :mod:`.learning_progress`; a test
holds the two paths to the same walk). For a row with ``n`` experiments and counts ``c_j``, of
which the experiment adds one to ``c = c_k``:

- KL terms: the next states other than ``k`` contribute ``(n - c) / (n + 1) * ln((n + 1) / n)``
  in magnitude, ``k`` itself ``(c + 1) / (n + 1) * ln((c + 1) n / (c (n + 1)))`` (if ``c > 0``);
- entropy: ``H = ln n - sum_j c_j ln c_j / n`` (0 for a row with fewer than two outcomes seen,
  whose ``sum_j c_j ln c_j`` is not kept until it has two);
- probability change: ``2 (n - c) / (n (n + 1))``, and 1 for the first experiment of a pair;
- squared prediction error before the update: ``1 - 2 c / n + sum_j c_j^2 / n^2`` (1 if n = 0).

It also keeps the sum of the entropies of all estimated rows (the estimated information content)
and the step at which it first reached each of some thresholds (the paper's Table 2), and counts,
per window of steps, the visits to one watched state and the intrinsic reward earned there.

:class:`CuriousRun` is one agent's life as a checkpointable job: its arrays, its two random
streams (agent and environment: two uniforms per step for the agent, one for the environment,
so the slicing of a run into ``advance`` calls never changes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT
from metahook.core.seeding import restore_generator
from metahook.core.state import restore_arrays
from metahook.envs.rdia import cumulative, sample_next
from metahook.rl.q_lambda import q_select

RANDOM, INFOGAIN, INFOGAIN_SIGNED, ENTROPY, PROBDIFF, PREDICTION_ERROR, LEARNING_PROGRESS = range(7)
KINDS: dict[str, int] = {
    "random": RANDOM, "infogain": INFOGAIN, "infogain_signed": INFOGAIN_SIGNED,
    "entropy": ENTROPY, "probdiff": PROBDIFF, "prediction_error": PREDICTION_ERROR,
    "learning_progress": LEARNING_PROGRESS,
}
# statistics kept for every row (s, a), beside its counts
SUM_CLNC, SUM_C2, DISTINCT, RUNNING_ERROR = range(4)
# walk: where the agent is and how many experiments it made
STATE, TIME = range(2)


@njit(cache=True, **NO_REFCOUNT)
def row_entropy(n: float, sum_clnc: float, distinct: float) -> float:
    """The entropy of a row with ``n`` experiments (0 unless two outcomes were seen)."""
    if distinct < 2.0:
        return 0.0
    return float(np.log(n) - sum_clnc / n)


@njit(cache=True, **NO_REFCOUNT)
def curious_steps(cum: np.ndarray, det: np.ndarray, kind: int, params: np.ndarray,
                  Q: np.ndarray, C: np.ndarray, N: np.ndarray, stats: np.ndarray,
                  walk: np.ndarray, info: np.ndarray, u_agent: np.ndarray, u_env: np.ndarray,
                  steps: int, watch: int, window: int, win_visits: np.ndarray,
                  win_reward: np.ndarray, thresholds: np.ndarray, hits: np.ndarray) -> int:
    """``steps`` experiments (see the module docstring); returns the number made.

    ``det[s, a]`` is the next state of a deterministic pair (-1 for the others: they sample
    from ``cum``). ``params`` = (alpha, gamma, mu, beta); ``u_agent`` holds two uniforms per
    step, ``u_env`` one. ``info[0]`` is the running sum of the entropies of the estimated rows;
    ``hits[i]`` is set to the number of experiments after which it first reached
    ``thresholds[i]`` (ascending).
    """
    alpha, gamma, mu, beta = params[0], params[1], params[2], params[3]
    s, t = walk[STATE], walk[TIME]
    nxt = 0
    while nxt < hits.shape[0] and hits[nxt] >= 0:
        nxt += 1
    for i in range(steps):
        a = q_select(Q, s, mu, u_agent[2 * i], u_agent[2 * i + 1])
        k = det[s, a] if det[s, a] >= 0 else sample_next(cum, s, a, u_env[i])
        c, nb = float(C[s, a, k]), float(N[s, a])
        err = 0.0
        if kind in (PREDICTION_ERROR, LEARNING_PROGRESS):
            err = 1.0 if nb == 0.0 else 1.0 - 2.0 * c / nb + stats[s, a, SUM_C2] / (nb * nb)
        distinct = stats[s, a, DISTINCT]
        hb = row_entropy(nb, stats[s, a, SUM_CLNC], distinct)
        C[s, a, k] += 1
        N[s, a] += 1
        stats[s, a, SUM_C2] += 2.0 * c + 1.0
        if c == 0.0:
            distinct += 1.0
            stats[s, a, DISTINCT] = distinct
            if distinct == 2.0:  # the row's one outcome so far had all nb experiments
                stats[s, a, SUM_CLNC] = nb * np.log(nb)
        elif distinct >= 2.0:  # (sum c ln c matters only once two outcomes were seen)
            stats[s, a, SUM_CLNC] += (c + 1.0) * np.log(c + 1.0) - c * np.log(c)
        ha = row_entropy(nb + 1.0, stats[s, a, SUM_CLNC], distinct)
        info[0] += ha - hb
        r = 0.0
        if kind in (INFOGAIN, INFOGAIN_SIGNED):
            if nb > 0.0:
                rest = (nb - c) / (nb + 1.0) * np.log((nb + 1.0) / nb)
                own = 0.0
                if c > 0.0:
                    own = (c + 1.0) / (nb + 1.0) * np.log((c + 1.0) * nb / (c * (nb + 1.0)))
                r = rest + abs(own) if kind == INFOGAIN else own - rest
        elif kind == ENTROPY:
            r = abs(ha - hb)
        elif kind == PROBDIFF:
            r = 1.0 if nb == 0.0 else 2.0 * (nb - c) / (nb * (nb + 1.0))
        elif kind == PREDICTION_ERROR:
            r = err
        elif kind == LEARNING_PROGRESS:
            e_run = stats[s, a, RUNNING_ERROR]
            r = beta * (e_run - err)
            stats[s, a, RUNNING_ERROR] = e_run + beta * (err - e_run)
        if kind != RANDOM:
            best = Q[k, 0]
            for b in range(1, Q.shape[1]):
                if Q[k, b] > best:
                    best = Q[k, b]
            Q[s, a] += alpha * (r + gamma * best - Q[s, a])
        if s == watch:
            w = t // window
            if w < win_visits.shape[0]:
                win_visits[w] += 1
                win_reward[w] += r
        s = k
        t += 1
        while nxt < hits.shape[0] and info[0] >= thresholds[nxt]:
            hits[nxt] = t
            nxt += 1
    walk[STATE], walk[TIME] = s, t
    return steps


def deterministic_next(P: np.ndarray) -> np.ndarray:
    """``det[s, a]``: the next state where ``P[s, a]`` is certain, else -1."""
    certain = P.max(axis=2) == 1.0
    return np.where(certain, P.argmax(axis=2), -1).astype(np.int64)


class CuriousRun:
    """One curious (or random) agent's life in the environment ``P``, advanced in experiments.

    ``agent_rng`` and ``env_rng`` are its two random streams; ``watch`` is the state whose visits
    are counted per ``window`` experiments, for ``n_windows`` windows; ``thresholds`` are
    information contents (nats) whose first crossings are recorded.
    """

    PIECE = 1 << 14  # experiments per call of the kernel

    def __init__(self, P: np.ndarray, kind: str, agent_rng: np.random.Generator,
                 env_rng: np.random.Generator, *, alpha: float = 0.5, gamma: float = 0.9,
                 mu: float = 0.1, beta: float = 0.1, watch: int = -1, window: int = 1024,
                 n_windows: int = 0, thresholds: Sequence[float] = ()) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown agent {kind!r}; have {', '.join(KINDS)}")
        n, m = P.shape[0], P.shape[1]
        self.kind = kind
        self.cum = cumulative(P)
        self.det = deterministic_next(P)
        self.agent_rng, self.env_rng = agent_rng, env_rng
        self.params = np.array([alpha, gamma, 1.0 if kind == "random" else mu, beta])
        self.watch = n - 1 if watch < 0 else watch
        self.window = int(window)
        self.Q = np.zeros((n, m))
        self.C = np.zeros((n, m, n), dtype=np.int64)
        self.N = np.zeros((n, m), dtype=np.int64)
        self.stats = np.zeros((n, m, 4))
        self.stats[:, :, RUNNING_ERROR] = 1.0  # the empty model's error
        self.walk = np.zeros(2, dtype=np.int64)
        self.info = np.zeros(1)
        self.win_visits = np.zeros(n_windows, dtype=np.int64)
        self.win_reward = np.zeros(n_windows)
        self.thresholds = np.asarray(sorted(thresholds), dtype=np.float64)
        self.hits = np.full(len(self.thresholds), -1, dtype=np.int64)
        self._u_agent, self._u_env = np.empty(2 * self.PIECE), np.empty(self.PIECE)

    @property
    def experiments(self) -> int:
        return int(self.walk[TIME])

    @property
    def state(self) -> int:
        return int(self.walk[STATE])

    def advance(self, steps: int) -> None:
        """``steps`` more experiments."""
        while steps > 0:  # in pieces whose uniforms stay in the cache
            k = min(steps, self.PIECE)
            u_agent = self.agent_rng.random(out=self._u_agent[: 2 * k])
            u_env = self.env_rng.random(out=self._u_env[:k])
            curious_steps(self.cum, self.det, KINDS[self.kind], self.params, self.Q, self.C,
                          self.N, self.stats, self.walk, self.info, u_agent, u_env, k,
                          self.watch, self.window, self.win_visits, self.win_reward,
                          self.thresholds, self.hits)
            steps -= k

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "agent_rng": self.agent_rng.bit_generator.state,
                "env_rng": self.env_rng.bit_generator.state, "Q": self.Q, "C": self.C,
                "N": self.N, "stats": self.stats, "walk": self.walk, "info": self.info,
                "win_visits": self.win_visits, "win_reward": self.win_reward, "hits": self.hits}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        if st["kind"] != self.kind:
            raise ValueError(f"checkpoint of agent {st['kind']!r}, not {self.kind!r}")
        restore_generator(self.agent_rng, st["agent_rng"])
        restore_generator(self.env_rng, st["env_rng"])
        restore_arrays(self, st, {"Q": np.float64, "C": np.int64, "N": np.int64,
                                  "stats": np.float64, "walk": np.int64, "info": np.float64})
        self.win_visits = np.asarray(st["win_visits"], dtype=np.int64)
        self.win_reward = np.asarray(st["win_reward"], dtype=np.float64)
        self.hits = np.asarray(st["hits"], dtype=np.int64)
