"""RND, random network distillation: the error of predicting a fixed random network's output.

Burda, Edwards, Storkey & Klimov, "Exploration by random network distillation", ICLR 2019
(arXiv:1810.12894), sections 2.2-2.4. Written from the paper:

- a *target* network ``f`` with random weights, fixed for ever, maps an observation to an
  embedding; a *predictor* ``f_hat`` is trained by gradient descent to match it,
  ``||f_hat(x) - f(x)||^2``, on the observations the agent sees;
- the intrinsic reward of a transition is that error on the next observation: large on
  observations unlike those seen before, small on familiar ones (a count-like novelty signal
  that needs no model of the dynamics, so it cannot be fooled by a stochastic transition -- but,
  the paper notes, it is still drawn to observations that keep being new, such as a TV whose
  pictures never repeat);
- *observation normalisation*: every dimension is whitened by a running mean and standard
  deviation and clipped to [-5, 5] before either network sees it; the statistics are
  initialised by stepping a random agent for a while before training (:meth:`RND.init_normaliser`)
  and updated with every batch;
- *reward normalisation* and the two value heads (intrinsic returns non-episodic, the reward
  divided by a running standard deviation of those returns) belong to the agent:
  :func:`metahook.rl.ppo.normalise_intrinsic` and :class:`metahook.rl.ppo.ActorCritic`.

The paper's networks are convolutional (target: three convolutions and a linear layer; predictor:
the same with two more linear layers); ours are MLPs of the same shape on our binary
observations (leaky ReLU; the predictor two layers deeper), embedding size 64. The predictor
learns from every experience of a batch (the paper, with 128 parallel environments, used a random
quarter of them).

Interface (:mod:`.base`): :class:`RND` is the model (``update(s, a, s_next)`` records each
experience's error before the predictor learns, then trains it on the batch's next
observations); :class:`RNDReward` reads it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from metahook.curiosity.base import Stateless
from metahook.curiosity.neural import mlp
from metahook.rl.ppo import RunningMeanStd

CLIP = 5.0  # [paper]


class RND:
    """Target, predictor and the observation normaliser (see module)."""

    def __init__(self, obs_dim: int, gen: torch.Generator, *, embedding: int = 64,
                 hidden: int = 128, lr: float = 1e-3, epochs: int = 2, minibatch: int = 256
                 ) -> None:
        self.epochs, self.minibatch, self.gen = epochs, minibatch, gen
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            self.target = mlp(obs_dim, hidden, embedding, layers=2, act=nn.LeakyReLU)
            self.predictor = mlp(obs_dim, hidden, embedding, layers=4, act=nn.LeakyReLU)
        for p in self.target.parameters():
            p.requires_grad_(False)
        self.opt = torch.optim.Adam(self.predictor.parameters(), lr=lr)
        self.obs_rms = RunningMeanStd((obs_dim,))
        self.before = torch.zeros(0)

    def init_normaliser(self, obs: np.ndarray) -> None:
        """Start the observation statistics from a random agent's observations ``[n, obs_dim]``."""
        self.obs_rms.update(obs)

    def normalise(self, x: Tensor) -> Tensor:
        mean = torch.as_tensor(self.obs_rms.mean, dtype=torch.float32)
        std = torch.as_tensor(self.obs_rms.std, dtype=torch.float32)
        return ((x - mean) / (std + 1e-8)).clamp(-CLIP, CLIP)

    def error(self, x: Tensor) -> Tensor:
        """``[B]``: ``||f_hat(x) - f(x)||^2`` (mean over the embedding) of raw observations."""
        with torch.no_grad():
            z = self.normalise(x)
            return ((self.predictor(z) - self.target(z)) ** 2).mean(-1)

    def update(self, s: Tensor, a: Tensor, s_next: Tensor) -> None:
        """Record the errors on ``s_next`` before learning; update the observation statistics
        with the batch; ``epochs`` passes of minibatches training the predictor."""
        self.before = self.error(s_next)
        self.obs_rms.update(s_next.numpy())
        z = self.normalise(s_next)
        with torch.no_grad():
            y = self.target(z)
        B = z.shape[0]
        mb = min(self.minibatch, B)
        for _ in range(self.epochs):
            perm = torch.randperm(B, generator=self.gen)
            for k in range(0, B - mb + 1, mb):
                i = perm[k:k + mb]
                loss = ((self.predictor(z[i]) - y[i]) ** 2).mean()
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()

    def state_dict(self) -> dict[str, Any]:
        return {"target": self.target.state_dict(), "predictor": self.predictor.state_dict(),
                "opt": self.opt.state_dict()["state"], "obs_rms": self.obs_rms.state_dict()}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.target.load_state_dict(st["target"])
        self.predictor.load_state_dict(st["predictor"])
        sd = self.opt.state_dict()
        sd["state"] = {int(k): v for k, v in st["opt"].items()}
        self.opt.load_state_dict(sd)
        self.obs_rms.load_state_dict(st["obs_rms"])


class RNDReward(Stateless):
    """Reward = the predictor's error on the next observation, before its update."""

    name = "rnd"

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> np.ndarray:
        return np.asarray(model.before.numpy(), dtype=np.float64)
