"""ICM, the intrinsic curiosity module: prediction error in a feature space the agent controls.

Pathak, Agrawal, Efros & Darrell, "Curiosity-driven exploration by self-supervised prediction",
ICML 2017, section 2. Written from the paper:

- an encoder ``phi`` maps an observation to features;
- the *inverse model* predicts the action from the features of two successive observations,
  ``a_hat = g(phi(s_t), phi(s_t+1))``, trained by cross-entropy ``L_I`` (their equation 3);
  it is what shapes the features: they need to hold only what the action changes, so
  "factors of variation that do not affect the agent" (noise it does not cause) can drop out;
- the *forward model* predicts the next features, ``phi_hat = f(phi(s_t), a_t)``, trained by
  ``L_F = 1/2 ||phi_hat - phi(s_t+1)||^2`` (equation 5);
- the intrinsic reward is ``r_t = eta/2 ||phi_hat(s_t+1) - phi(s_t+1)||^2`` (equation 6);
- the module minimises ``(1 - beta) L_I + beta L_F`` with ``beta = 0.2`` (equation 7); both
  losses train the encoder (the paper stops no gradient).

The paper's encoder is four convolutions (32 filters, 3 x 3, stride 2, ELU) on 42 x 42 frames and
its two models have one hidden layer of 256 units; our observations are short binary vectors
(:mod:`metahook.envs.noisy_tv`), so the encoder is an ELU MLP and the hidden layers are smaller
(docs/curiosity.md, Deviations). Known pitfall checked by a test: the features must not collapse
to a constant (which would make every forward error, and so the reward, vanish); the inverse
loss prevents it.

Interface (:mod:`.base`): :class:`ICM` is the model; its :meth:`ICM.update` records each
experience's reward *before* the module learns from the batch (as the paper pays the reward of a
transition with the module that saw it), and :class:`ICMReward` reads it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from metahook.curiosity.base import Stateless
from metahook.curiosity.neural import mlp, one_hot


class ICM:
    """The encoder, inverse model and forward model, trained together (see module)."""

    def __init__(self, obs_dim: int, n_actions: int, gen: torch.Generator, *, features: int = 32,
                 hidden: int = 128, beta: float = 0.2, eta: float = 1.0, lr: float = 1e-3,
                 epochs: int = 2, minibatch: int = 256) -> None:
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta must be in [0, 1], got {beta}")
        self.n_actions, self.beta, self.eta = n_actions, beta, eta
        self.epochs, self.minibatch, self.gen = epochs, minibatch, gen
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            self.phi = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ELU(),
                                     nn.Linear(hidden, features), nn.ELU())
            self.inverse = mlp(2 * features, hidden, n_actions, layers=1)
            self.forward_model = mlp(features + n_actions, hidden, features, layers=1)
        params = [*self.phi.parameters(), *self.inverse.parameters(),
                  *self.forward_model.parameters()]
        self.opt = torch.optim.Adam(params, lr=lr)
        self.before = torch.zeros(0)
        self.last_losses = (0.0, 0.0)

    def losses(self, s: Tensor, a: Tensor, s_next: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(per-experience forward error 1/2 ||phi_hat - phi'||^2, mean L_I, mean L_F)."""
        f, f2 = self.phi(s), self.phi(s_next)
        logits = self.inverse(torch.cat([f, f2], -1))
        l_inv = F.cross_entropy(logits, a.long())
        pred = self.forward_model(torch.cat([f, one_hot(a, self.n_actions)], -1))
        err = 0.5 * ((pred - f2) ** 2).sum(-1)
        return err, l_inv, err.mean()

    def intrinsic(self, s: Tensor, a: Tensor, s_next: Tensor) -> Tensor:
        """``[B]``: eta/2 ||phi_hat(s') - phi(s')||^2 under the module as it is."""
        with torch.no_grad():
            return self.eta * self.losses(s, a, s_next)[0]

    def update(self, s: Tensor, a: Tensor, s_next: Tensor) -> None:
        """Record the rewards before learning, then ``epochs`` passes of minibatches on the
        batch, minimising (1 - beta) L_I + beta L_F."""
        self.before = self.intrinsic(s, a, s_next)
        B = s.shape[0]
        mb = min(self.minibatch, B)
        for _ in range(self.epochs):
            perm = torch.randperm(B, generator=self.gen)
            for k in range(0, B - mb + 1, mb):
                i = perm[k:k + mb]
                _, l_inv, l_fwd = self.losses(s[i], a[i], s_next[i])
                loss = (1 - self.beta) * l_inv + self.beta * l_fwd
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                self.last_losses = (l_inv.item(), l_fwd.item())

    def state_dict(self) -> dict[str, Any]:
        return {"phi": self.phi.state_dict(), "inverse": self.inverse.state_dict(),
                "forward": self.forward_model.state_dict(),
                "opt": self.opt.state_dict()["state"]}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.phi.load_state_dict(st["phi"])
        self.inverse.load_state_dict(st["inverse"])
        self.forward_model.load_state_dict(st["forward"])
        sd = self.opt.state_dict()
        sd["state"] = {int(k): v for k, v in st["opt"].items()}
        self.opt.load_state_dict(sd)


class ICMReward(Stateless):
    """Reward = ICM's forward error in feature space, before the module's update."""

    name = "icm"

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> np.ndarray:
        return np.asarray(model.before.numpy(), dtype=np.float64)
