"""C's fitness inside M's dream (Ha & Schmidhuber, World Models, 2018): a ``Problem``.

The controller of :mod:`metahook.neural.world_models` is evolved inside the MDN-RNN M alone:
from a latent of a real frame, C acts on ``[z, h(, c)]``, M samples the next latent at
temperature tau and whether the agent died, one reward per step survived. Here, in the evolution
layer, so that any ask/tell algorithm of the project (pycma's CMA-ES in particular) runs on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from metahook.evolution.network import NetSpec
from metahook.evolution.problem import BatchResult
from metahook.neural.world_models import (
    BUTTONS,
    MDNRNN,
    controller_act,
    mdn_sample,
    takecover_action,
)

DONE_RULES = ("threshold", "sample")


@dataclass
class DreamProblem:
    """C's fitness inside M's dream of TakeCover (see the module docstring): a ``Problem``.

    ``z0``: latents of real first frames to start dreams from; each genome is scored by the mean
    number of steps it survives over ``rollouts`` dreams. ``seed`` and the call count fix the
    dreams' random stream, so the same calls give the same scores. ``done``: how a dream ends:
    ``"threshold"`` when M's done probability exceeds 1/2 (the authors' code: a positive done
    logit), ``"sample"`` by a Bernoulli draw from it each step.
    """

    m: MDNRNN
    z0: np.ndarray
    tau: float
    rollouts: int
    max_steps: int
    with_cell: bool = True
    bias: bool = False
    seed: int = 0
    calls: int = 0
    done: str = "threshold"

    def __post_init__(self) -> None:
        if self.tau <= 0:
            raise ValueError(f"temperature tau must be > 0, got {self.tau}")
        if self.done not in DONE_RULES:
            raise ValueError(f"done must be one of {', '.join(DONE_RULES)}, got {self.done!r}")

    @torch.no_grad()
    def dream(self, genomes: np.ndarray, gen: torch.Generator, record: int = 0
              ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Steps survived by each of ``(k, P)`` genomes in each of ``rollouts`` dreams
        ``(k, rollouts)``; and, for the first ``record`` dreams, their latents ``(T, z)``."""
        k = len(genomes)
        params = torch.from_numpy(np.repeat(genomes, self.rollouts, axis=0)).float()

        def choose(z: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            feats = [z, h[0], c[0]] if self.with_cell else [z, h[0]]
            return takecover_action(controller_act(params, torch.cat(feats, 1), 1, self.bias))

        steps, trace = self._unroll(k * self.rollouts, choose, gen, record)
        return steps.reshape(k, self.rollouts), trace

    @torch.no_grad()
    def dream_policy(self, act: Callable[[list[int]], np.ndarray], n: int,
                     gen: torch.Generator) -> np.ndarray:
        """Steps survived in ``n`` dreams by a policy that does not look at M's state:
        ``act(idx)`` gives the actions (0 left, 1 stay, 2 right) of the dreams ``idx``."""
        every = list(range(n))

        def choose(z: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            return torch.from_numpy(np.asarray(act(every), dtype=np.int64))

        return self._unroll(n, choose, gen, 0)[0]

    def _unroll(self, B: int, choose: Callable[[torch.Tensor, torch.Tensor, torch.Tensor],
                                               torch.Tensor],
                gen: torch.Generator, record: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """``B`` dreams side by side, ``choose(z, h, c)`` acting; steps survived by each."""
        m = self.m
        start = torch.randint(len(self.z0), (B,), generator=gen)
        z = torch.from_numpy(self.z0)[start]
        h = torch.zeros(1, B, m.hidden)
        c = torch.zeros(1, B, m.hidden)
        alive = torch.ones(B, dtype=torch.bool)
        steps = torch.zeros(B)
        trace: list[list[np.ndarray]] = [[] for _ in range(record)]
        for _ in range(self.max_steps):
            act = choose(z, h, c)
            logpi, mu, logsig, done_logit, (h, c) = m(z.unsqueeze(1),
                                                      BUTTONS[act].unsqueeze(1), (h, c))
            steps += alive.float()
            z = mdn_sample(logpi[:, 0], mu[:, 0], logsig[:, 0], self.tau, gen)
            for r in range(record):
                if alive[r]:
                    trace[r].append(z[r].numpy().copy())
            if done_logit is not None:
                if self.done == "threshold":
                    died = done_logit[:, 0] > 0
                else:
                    died = torch.rand(B, generator=gen) < torch.sigmoid(done_logit[:, 0])
                alive &= ~died
            if not alive.any():
                break
        return steps.numpy(), [np.array(t) for t in trace]

    def evaluate(self, spec: NetSpec, genomes: np.ndarray,
                 tested: dict[bytes, int] | None = None) -> BatchResult:
        gen = torch.Generator()
        gen.manual_seed(self.seed * 1_000_003 + self.calls)
        self.calls += 1
        steps, _ = self.dream(np.asarray(genomes, dtype=np.float32), gen)
        fit = steps.mean(axis=1)
        return BatchResult(fitness=fit, steps=steps.sum(axis=1), n_evaluated=len(genomes))

    def solution_score(self, spec: NetSpec, genome: np.ndarray) -> int:
        return -1
