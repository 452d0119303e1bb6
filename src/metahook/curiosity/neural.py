"""The neural world model of the curiosity family, and the rewards it pays (PyTorch).

The tabular rewards of this package (:mod:`.prediction_error`, :mod:`.learning_progress`,
:mod:`.info_gain`) read a table of counts; these read a neural network that predicts the next
observation from the observation and the action. The interface is the package's
(:mod:`.base`)::

    model.update(s, a, s_next)              # the model learns from a batch of experiences
    r = reward.reward(model, s, a, s_next)  # one reward per experience (a numpy array)

with ``s``, ``s_next`` float tensors ``[B, obs_dim]`` of binary observations and ``a`` a long
tensor ``[B]``. :class:`NeuralWorldModel` records, for the batch it learns from, its code length
of each experience *before* the update (and its predicted probabilities), so a reward can compare
before and after.

The model (ours; the 1990/91 papers used recurrent and feedforward nets on their own tasks):
an MLP from the observation and the one-hot action to one logit per bit of the next observation,
each bit a Bernoulli variable. Its *code length* of an experience is the number of bits an
arithmetic coder driven by the model needs for the next observation,
``sum_k -log2 p(bit_k)``, the quantity compression progress is defined on (Schmidhuber 2008/2010,
see :mod:`.compression_progress`). It learns online from a stored history (a ring buffer of the
last ``history`` experiences): the new batch joins the history, and each update takes
``epochs * B / minibatch`` Adam steps on minibatches drawn uniformly from the whole history, so
a new experience weighs no more than an old one. Training on the history is what lets the model
settle where the outcome is noise -- at the noise's entropy -- instead of chasing (and partly
memorising) every new sample.

The rewards of this module, each the neural form of a tabular one:

- :class:`NeuralPredictionError` (Schmidhuber 1990, "Making the world differentiable", TR
  FKI-126-90; SAB 1991): the code length of the experience before the update, the model's
  surprise. Drawn to noise: there it never falls below the noise's entropy.
- :class:`NeuralLearningProgress` (Schmidhuber, "Curious model-building control systems", IJCNN
  1991; "Adaptive confidence and adaptive curiosity", TR FKI-149-91): a *confidence module*
  learns the model's expected code length for each input, and the reward is how far that
  expectation fell with the update, ``C_before(s, a) - C_after(s, a)``. Where the outcome is
  noise the expected error settles at the noise's entropy and the reward averages out to 0.
- :class:`NeuralInformationGain` (after Storck, Hochreiter & Schmidhuber, ICANN'95): the KL
  distance from the model's predicted distribution of the next observation before the update
  to the one after, ``KL(after || before)`` in bits, summed over the independent bits. With a
  model that learns at a constant step size it does not fall to zero on noise (the prediction
  keeps jittering), only to a floor set by the step size (docs/curiosity.md, Deviations).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from metahook.curiosity.base import Stateless

LN2 = float(np.log(2.0))


def one_hot(a: Tensor, n_actions: int) -> Tensor:
    return F.one_hot(a.long(), n_actions).float()


def mlp(n_in: int, hidden: int, n_out: int, layers: int = 2, act: type[nn.Module] = nn.ReLU
        ) -> nn.Sequential:
    """``layers`` hidden layers of ``hidden`` units with activation ``act``, then a linear
    output."""
    mods: list[nn.Module] = []
    d = n_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), act()]
        d = hidden
    mods.append(nn.Linear(d, n_out))
    return nn.Sequential(*mods)


def bernoulli_kl_bits(p: Tensor, q: Tensor, eps: float = 1e-6) -> Tensor:
    """``sum_k KL(Bernoulli(p_k) || Bernoulli(q_k))`` in bits, per row."""
    p, q = p.clamp(eps, 1 - eps), q.clamp(eps, 1 - eps)
    kl = p * (p / q).log() + (1 - p) * ((1 - p) / (1 - q)).log()
    return kl.sum(-1) / LN2


class NeuralWorldModel:
    """Predicts the next observation's bits from the observation and the action (see module).

    After :meth:`update`, ``before_bits`` (``[B]``) and ``before_probs`` (``[B, obs_dim]``) hold
    the code length and the predicted probabilities of the batch's experiences under the model
    as it was before.
    """

    def __init__(self, obs_dim: int, n_actions: int, gen: torch.Generator, *, hidden: int = 128,
                 lr: float = 1e-3, epochs: int = 2, minibatch: int = 256,
                 history: int = 32_768) -> None:
        if min(hidden, epochs, minibatch, history) < 1 or lr <= 0:
            raise ValueError("hidden, epochs, minibatch, history >= 1 and lr > 0 required")
        self.obs_dim, self.n_actions, self.gen = obs_dim, n_actions, gen
        self.epochs, self.minibatch, self.capacity = epochs, minibatch, history
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            self.net = mlp(obs_dim + n_actions, hidden, obs_dim)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.h_s = torch.zeros(history, obs_dim)
        self.h_a = torch.zeros(history, dtype=torch.long)
        self.h_s2 = torch.zeros(history, obs_dim)
        self.h_n = 0  # experiences stored so far (the ring holds min(h_n, capacity))
        self.before_bits = torch.zeros(0)
        self.before_probs = torch.zeros(0, obs_dim)

    def logits(self, s: Tensor, a: Tensor) -> Tensor:
        return self.net(torch.cat([s, one_hot(a, self.n_actions)], -1))

    def probs(self, s: Tensor, a: Tensor) -> Tensor:
        with torch.no_grad():
            return torch.sigmoid(self.logits(s, a))

    def code_length(self, s: Tensor, a: Tensor, s_next: Tensor) -> Tensor:
        """``[B]``: bits to encode ``s_next`` given ``s`` and ``a`` under the model."""
        with torch.no_grad():
            return self._bits(s, a, s_next)

    def _bits(self, s: Tensor, a: Tensor, s_next: Tensor) -> Tensor:
        ce = F.binary_cross_entropy_with_logits(self.logits(s, a), s_next, reduction="none")
        return ce.sum(-1) / LN2

    def _store(self, s: Tensor, a: Tensor, s_next: Tensor) -> None:
        idx = (self.h_n + torch.arange(s.shape[0])) % self.capacity
        self.h_s[idx], self.h_a[idx], self.h_s2[idx] = s, a.long(), s_next
        self.h_n += s.shape[0]

    def history(self) -> tuple[Tensor, Tensor, Tensor]:
        """The stored history (oldest entries overwritten once full)."""
        n = min(self.h_n, self.capacity)
        return self.h_s[:n], self.h_a[:n], self.h_s2[:n]

    def update(self, s: Tensor, a: Tensor, s_next: Tensor) -> None:
        """Record the code lengths before, store the batch, learn (see the module docstring)."""
        self.before_bits = self.code_length(s, a, s_next)
        self.before_probs = self.probs(s, a)
        self._store(s, a, s_next)
        n_hist = min(self.h_n, self.capacity)
        mb = min(self.minibatch, n_hist)
        for _ in range(self.epochs * max(1, s.shape[0] // mb)):
            j = torch.randint(0, n_hist, (mb,), generator=self.gen)
            loss = self._bits(self.h_s[j], self.h_a[j], self.h_s2[j]).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict()["state"],
                "h_s": self.h_s, "h_a": self.h_a, "h_s2": self.h_s2, "h_n": self.h_n}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.net.load_state_dict(st["net"])
        sd = self.opt.state_dict()
        sd["state"] = {int(k): v for k, v in st["opt"].items()}
        self.opt.load_state_dict(sd)
        self.h_s, self.h_a, self.h_s2 = st["h_s"].clone(), st["h_a"].clone(), st["h_s2"].clone()
        self.h_n = int(st["h_n"])


class NeuralPredictionError(Stateless):
    """Reward = the model's code length of the experience before it learned from it (bits)."""

    name = "prediction_error"

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> np.ndarray:
        return np.asarray(model.before_bits.numpy(), dtype=np.float64)


class NeuralInformationGain(Stateless):
    """Reward = KL(after || before) of the model's predicted next-observation bits (bits)."""

    name = "information_gain"

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> np.ndarray:
        kl = bernoulli_kl_bits(model.probs(s, a), model.before_probs)
        return np.asarray(kl.numpy(), dtype=np.float64)


class NeuralLearningProgress:
    """Reward = fall of the confidence module's expected code length at the experience's input.

    The confidence module (IJCNN 1991) is an MLP from the observation and action to the world
    model's expected code length there; it learns by regression on the code lengths the model
    had before its update (``steps`` Adam steps of full-batch squared error per update).
    """

    name = "learning_progress"

    def __init__(self, obs_dim: int, n_actions: int, gen: torch.Generator, *, hidden: int = 64,
                 lr: float = 1e-3, steps: int = 8, prior: float | None = None) -> None:
        self.n_actions, self.steps = n_actions, steps
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            self.net = mlp(obs_dim + n_actions, hidden, 1)
        last = self.net[-1]
        assert isinstance(last, nn.Linear)
        with torch.no_grad():
            last.weight.mul_(0.01)
            last.bias.fill_(float(obs_dim) if prior is None else prior)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)

    def expected(self, s: Tensor, a: Tensor) -> Tensor:
        """``[B]``: the confidence module's expected code length (bits)."""
        with torch.no_grad():
            return self.net(torch.cat([s, one_hot(a, self.n_actions)], -1)).squeeze(-1)

    def reward(self, model: Any, s: Any, a: Any, s_next: Any) -> np.ndarray:
        before = self.expected(s, a)
        x = torch.cat([s, one_hot(a, self.n_actions)], -1)
        target = model.before_bits
        for _ in range(self.steps):
            loss = ((self.net(x).squeeze(-1) - target) ** 2).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        return np.asarray((before - self.expected(s, a)).numpy(), dtype=np.float64)

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict()["state"]}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.net.load_state_dict(st["net"])
        sd = self.opt.state_dict()
        sd["state"] = {int(k): v for k, v in st["opt"].items()}
        self.opt.load_state_dict(sd)
