"""Curious Dr. MISFA: curiosity-driven, modular, incremental slow feature analysis.

Kompella, Luciw, Stollenga, Pape & Schmidhuber, "Curious Dr. MISFA", Frontiers in Neurorobotics
7:9 (2013); its successor CCSA (Kompella, Stollenga, Luciw & Schmidhuber, Artificial
Intelligence 247:313-335, 2017) drives skill learning with it. ``n`` observation streams; an
internal reinforcement learner whose states are the streams and whose actions are ``stay`` and
``switch`` (to another stream drawn at random) watches one chunk of ``tau`` frames at a time:

1. **gating**: each frozen abstraction (a slow-feature module with its clustering) measures its
   estimation error ``xi`` on the chunk; below ``delta``, the stream is already encoded: the
   chunk trains nothing and pays nothing (``gate_by_stream``: the streams are the agent's own
   options, and a stream is encoded once an abstraction was learned from it);
2. otherwise the stream's **adaptive module** (any learner with ``update`` / ``outputs``; the
   experiments use :class:`metahook.neural.incsfa.IncSFA` with a plastic schedule) measures
   ``xi`` on the chunk, then learns from it, and so does its **robust online clustering** (ROC)
   of the slow outputs. ``xi`` is the ROC used as an estimator: the mean distance between the
   output ``y(t)`` and the centre that ``y(t-1)`` fell into, over the outputs' RMS -- small only
   once the output is slow and the clusters cover it; white noise keeps it high for ever. (Ours:
   one candidate module per stream; the paper's single adaptive module is trained by whichever
   stream is watched, and in our runs that interference kept the learner from committing);
3. the **intrinsic reward** is the module's progress on the stream: how much slower its
   (standardised) output on the stream's *probe* (the first chunk ever seen of it, kept) has
   become since the stream's last chunk was learned, so an unlearnable stream pays about nothing,
   learning the stream pays, and forgetting it while watching others costs (ours: the paper
   rewards the decrease of ``xi`` on the chunks themselves; on our chunks that signal was
   dominated by sampling noise and by the clustering lagging behind the module);
4. Q-learning with an epsilon-greedy policy on (stream, stay/switch);
5. when ``xi`` stays below ``delta`` on ``patience`` chunks in a row of one stream (whose module
   has learned from at least ``min_train`` chunks), that
   stream's module is **frozen** with its clustering as a new abstraction of the stream; a fresh
   module takes its place and the learner's values and exploration are reset.

Streams are thereby learned one after another in order of increasing difficulty, and a noise
stream is never encoded. The ROC and the rule for ``xi`` are ours (the paper's ROC has more
machinery: merging and outlier handling); see docs/ccsa.md, Deviations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numba import njit


class SlowModule(Protocol):
    """What MISFA needs of an abstraction learner."""

    def update(self, X: np.ndarray) -> None: ...

    def outputs(self, X: np.ndarray) -> np.ndarray: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, st: dict[str, Any]) -> None: ...


@njit(cache=True)
def roc_update(Y: np.ndarray, centres: np.ndarray, counts: np.ndarray, n_active: np.ndarray,
               spawn: float, rate: float) -> None:
    """The ROC's learning over outputs ``Y`` (n x dim), in place: ``centres`` (n_max x dim) and
    ``counts`` hold ``n_active[0]`` centres. (``roc_update.py_func`` is the pure-Python
    reference.)"""
    n_max, dim = centres.shape
    for t in range(Y.shape[0]):
        m = n_active[0]
        if m == 0:
            for q in range(dim):
                centres[0, q] = Y[t, q]
            counts[0] = 1.0
            n_active[0] = 1
            continue
        best, bd = 0, np.inf
        for i in range(m):
            d = 0.0
            for q in range(dim):
                d += (centres[i, q] - Y[t, q]) ** 2
            if d < bd:
                best, bd = i, d
        if np.sqrt(bd) <= spawn:
            for q in range(dim):
                centres[best, q] += rate * (Y[t, q] - centres[best, q])
            counts[best] += 1.0
            continue
        if m >= n_max:  # merge the two closest centres to make room
            bi, bj, bd2 = 0, 1, np.inf
            for i in range(m):
                for j in range(i + 1, m):
                    d = 0.0
                    for q in range(dim):
                        d += (centres[i, q] - centres[j, q]) ** 2
                    if d < bd2:
                        bi, bj, bd2 = i, j, d
            ni, nj = counts[bi], counts[bj]
            for q in range(dim):
                centres[bi, q] = (ni * centres[bi, q] + nj * centres[bj, q]) / (ni + nj)
            counts[bi] = ni + nj
            for q in range(dim):
                centres[bj, q] = centres[m - 1, q]
            counts[bj] = counts[m - 1]
            m -= 1
        for q in range(dim):
            centres[m, q] = Y[t, q]
        counts[m] = 1.0
        n_active[0] = m + 1


class ROC:
    """Robust online clustering of slow outputs: up to ``n_max`` centres; the nearest centre
    moves by ``rate`` toward each output; a new centre is spawned for an output farther than
    ``spawn`` from all; when full, the two nearest centres merge to make room (robust to drift
    and outliers)."""

    def __init__(self, dim: int, n_max: int = 8, spawn: float = 0.3, rate: float = 0.02) -> None:
        self.dim, self.n_max, self.spawn, self.rate = dim, n_max, spawn, rate
        self._c = np.zeros((n_max, dim))
        self._n = np.zeros(n_max)
        self._m = np.zeros(1, dtype=np.int64)

    @property
    def centres(self) -> np.ndarray:
        return self._c[: self._m[0]]

    def nearest(self, Y: np.ndarray) -> np.ndarray:
        d = ((Y[:, None, :] - self.centres[None, :, :]) ** 2).sum(axis=2)
        return np.argmin(d, axis=1)

    def error(self, Y: np.ndarray) -> float:
        """Mean distance of ``y(t)`` to the centre nearest ``y(t-1)``, over the outputs' RMS
        (scale-free: a module whose outputs merely shrink gains nothing; inf with no centres)."""
        if self._m[0] == 0 or len(Y) < 2:
            return float("inf")
        w = self.nearest(Y[:-1])
        rms = float(np.sqrt(np.mean(Y * Y)))
        err = float(np.linalg.norm(Y[1:] - self.centres[w], axis=1).mean())
        return err / rms if rms > 1e-12 else float("inf")

    def update(self, Y: np.ndarray) -> None:
        roc_update(np.ascontiguousarray(Y, dtype=np.float64), self._c, self._n, self._m,
                   self.spawn, self.rate)

    def state_dict(self) -> dict[str, Any]:
        return {"centres": self._c.copy(), "counts": self._n.copy(), "n": self._m.copy()}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self._c[...] = np.asarray(st["centres"], dtype=np.float64).reshape(self.n_max, self.dim)
        self._n[...] = np.asarray(st["counts"], dtype=np.float64)
        self._m[...] = np.asarray(st["n"], dtype=np.int64)


@dataclass(frozen=True)
class MISFAParams:
    """Curious Dr. MISFA's hyperparameters (ours where the paper's are not known)."""

    delta: float = 0.5  # xi below which a stream counts as encoded
    patience: int = 5  # chunks in a row below delta before a module is frozen
    min_train: int = 20  # chunks a module must have learned from before it may be frozen
    gate_by_stream: bool = False  # gate a stream by who encoded it, not by estimation error
    alpha: float = 0.2  # Q-learning rate
    gamma: float = 0.3  # discount
    eps0: float = 1.0  # exploration after each reset ...
    eps_min: float = 0.05  # ... decaying to this floor ...
    eps_decay: float = 0.98  # ... by this factor per chunk
    reward_scale: float = 10.0  # the progress (drop of xi) is multiplied by this
    roc_max: int = 8
    roc_spawn: float = 0.3
    roc_rate: float = 0.02

    def validate(self) -> None:
        if not (self.delta > 0 and self.patience >= 1 and self.min_train >= 0
                and 0 < self.alpha <= 1
                and 0 <= self.gamma < 1 and 0 <= self.eps_min <= self.eps0 <= 1
                and 0 < self.eps_decay <= 1 and self.reward_scale > 0):
            raise ValueError("misfa: delta > 0, patience >= 1, 0 < alpha <= 1, 0 <= gamma < 1, "
                             "0 <= eps_min <= eps0 <= 1, 0 < eps_decay <= 1 required")
        if self.roc_max < 2 or self.roc_spawn <= 0 or not 0 < self.roc_rate <= 1:
            raise ValueError("misfa: roc_max >= 2, roc_spawn > 0, 0 < roc_rate <= 1 required")


STAY, SWITCH = 0, 1


@dataclass
class Abstraction:
    """A frozen module, its clustering, the stream it encodes and when it was frozen."""

    module: SlowModule
    roc: ROC
    stream: int
    chunk: int
    signature: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _delta(Y: np.ndarray) -> np.ndarray:
    """Slowness of each output over a chunk: mean squared difference after standardising."""
    Y = (Y - Y.mean(axis=0)) / np.maximum(Y.std(axis=0), 1e-12)
    return np.asarray(np.mean(np.diff(Y, axis=0) ** 2, axis=0))


def _signature(module: SlowModule) -> np.ndarray:
    """All of a module's state as one vector (to check that a frozen module never changes)."""
    st = module.state_dict()
    return np.concatenate([np.ravel(np.asarray(st[k], dtype=np.float64)) for k in sorted(st)])


class CuriousDrMISFA:
    """The agent: call :meth:`act` for the stream to watch next, then :meth:`observe` with that
    stream's chunk. ``make_module()`` builds a fresh adaptive module; ``n_out`` its outputs."""

    def __init__(self, n_streams: int, make_module: Callable[[], SlowModule], n_out: int,
                 params: MISFAParams, rng: np.random.Generator) -> None:
        params.validate()
        if n_streams < 2:
            raise ValueError("misfa: at least two streams required")
        self.n, self.make_module, self.n_out, self.p, self.rng = (n_streams, make_module, n_out,
                                                                  params, rng)
        self.abstractions: list[Abstraction] = []
        self.chunks = 0
        self.stream = int(rng.integers(n_streams))
        self.last_action = STAY
        self.modules = [self.make_module() for _ in range(n_streams)]
        self.rocs = [self._roc() for _ in range(n_streams)]
        self.probes: list[np.ndarray | None] = [None] * n_streams
        self.xi_last = np.full(n_streams, np.nan)
        self.below = np.zeros(n_streams, dtype=np.int64)  # per stream: last chunks below delta
        self.trained = np.zeros(n_streams, dtype=np.int64)  # per stream: chunks learned from
        self._fresh()

    def _roc(self) -> ROC:
        return ROC(self.n_out, self.p.roc_max, self.p.roc_spawn, self.p.roc_rate)

    def _fresh(self) -> None:
        self.Q = np.zeros((self.n, 2))
        self.eps = self.p.eps0

    def add_stream(self) -> int:
        """Offer one more stream (a new option's observations, in CCSA); return its index."""
        self.n += 1
        self.Q = np.vstack([self.Q, np.zeros((1, 2))])
        self.xi_last = np.append(self.xi_last, np.nan)
        self.probes.append(None)
        self.below = np.append(self.below, 0)
        self.trained = np.append(self.trained, 0)
        self.modules.append(self.make_module())
        self.rocs.append(self._roc())
        return self.n - 1

    def act(self) -> int:
        """Choose stay or switch in the current stream; return the stream to watch next."""
        if self.rng.random() < self.eps:
            a = int(self.rng.integers(2))
        else:
            q = self.Q[self.stream]
            a = int(self.rng.choice(np.flatnonzero(q == q.max())))
        self.prev, self.last_action = self.stream, a
        if a == SWITCH:
            other = int(self.rng.integers(self.n - 1))
            self.stream = other + (other >= self.stream)
        return self.stream

    def encoded_by(self, X: np.ndarray) -> int | None:
        """The index of a frozen abstraction that encodes the chunk ``X`` (of the current stream),
        or None. With ``gate_by_stream``, the abstraction learned from the current stream."""
        for i, ab in enumerate(self.abstractions):
            if self.p.gate_by_stream:
                if ab.stream == self.stream:
                    return i
            elif ab.roc.error(ab.module.outputs(X)) < self.p.delta:
                return i
        return None

    def observe(self, X: np.ndarray) -> dict[str, Any]:
        """Process the chunk ``X`` of the stream chosen by :meth:`act`; learn; maybe freeze."""
        s = self.stream
        self.chunks += 1
        gated = self.encoded_by(X)
        xi = float("nan")
        reward = 0.0
        frozen = False
        if gated is None:
            probe = self.probes[s]
            if probe is None:
                probe = self.probes[s] = np.array(X, dtype=np.float64)
            module, roc = self.modules[s], self.rocs[s]
            xi = roc.error(module.outputs(X))
            module.update(X)
            slow = float(np.sum(_delta(module.outputs(probe))))
            if np.isfinite(self.xi_last[s]):
                reward = self.p.reward_scale * (self.xi_last[s] - slow)
            self.xi_last[s] = slow
            roc.update(module.outputs(X))
            self.trained[s] += 1
            self.below[s] = self.below[s] + 1 if xi < self.p.delta else 0
        else:
            self.below[s] = 0
        # Q-learning on the transition (prev stream, last action) -> s with this reward
        a, sp = self.last_action, self.prev
        target = reward + self.p.gamma * self.Q[s].max()
        self.Q[sp, a] += self.p.alpha * (target - self.Q[sp, a])
        self.eps = max(self.p.eps_min, self.eps * self.p.eps_decay)
        if self.below[s] >= self.p.patience and self.trained[s] >= self.p.min_train:
            ab = Abstraction(self.modules[s], self.rocs[s], s, self.chunks)
            ab.signature = _signature(ab.module)
            self.abstractions.append(ab)
            frozen = True
            self.modules[s], self.rocs[s] = self.make_module(), self._roc()
            self.xi_last[s] = np.nan
            self.below[s] = self.trained[s] = 0
            self._fresh()
        return {"stream": s, "action": a, "xi": xi, "reward": reward,
                "gated": -1 if gated is None else gated, "frozen": frozen}

    def unchanged(self) -> bool:
        """True when every frozen module still holds exactly the state it was frozen with."""
        return all(np.array_equal(_signature(ab.module), ab.signature)
                   for ab in self.abstractions)

    def state_dict(self) -> dict[str, Any]:
        return {"modules": [m.state_dict() for m in self.modules],
                "rocs": [r.state_dict() for r in self.rocs],
                "Q": self.Q.copy(), "xi_last": self.xi_last.copy(), "below": self.below.copy(),
                "trained": self.trained.copy(),
                "eps": self.eps, "chunks": self.chunks, "stream": self.stream,
                "last_action": self.last_action, "prev": getattr(self, "prev", self.stream),
                "probes": [np.zeros((0, 0)) if p is None else p for p in self.probes],
                "abstractions": [{"module": ab.module.state_dict(), "roc": ab.roc.state_dict(),
                                  "stream": ab.stream, "chunk": ab.chunk,
                                  "signature": ab.signature} for ab in self.abstractions]}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.Q = np.asarray(st["Q"], dtype=np.float64).reshape(-1, 2)
        self.n = len(self.Q)
        self.modules = [self.make_module() for _ in range(self.n)]
        self.rocs = [self._roc() for _ in range(self.n)]
        for m, r, ms, rs in zip(self.modules, self.rocs, st["modules"], st["rocs"], strict=True):
            m.load_state_dict(ms)
            r.load_state_dict(rs)
        self.xi_last = np.asarray(st["xi_last"], dtype=np.float64)
        self.below = np.asarray(st["below"], dtype=np.int64)
        self.trained = np.asarray(st["trained"], dtype=np.int64)
        self.eps, self.chunks = float(st["eps"]), int(st["chunks"])
        self.stream, self.last_action = int(st["stream"]), int(st["last_action"])
        self.prev = int(st["prev"])
        self.probes = [None if np.asarray(p).size == 0 else np.asarray(p, dtype=np.float64)
                       for p in st["probes"]]
        self.abstractions = []
        for a in st["abstractions"]:
            m = self.make_module()
            m.load_state_dict(a["module"])
            roc = ROC(self.n_out, self.p.roc_max, self.p.roc_spawn, self.p.roc_rate)
            roc.load_state_dict(a["roc"])
            self.abstractions.append(Abstraction(m, roc, int(a["stream"]), int(a["chunk"]),
                                                 np.asarray(a["signature"], dtype=np.float64)))
