"""Proximal policy optimisation with an extrinsic and an intrinsic value head, in one file.

Schulman, Wolski, Dhariwal, Radford & Klimov, "Proximal policy optimization algorithms",
arXiv:1707.06347 (2017): the clipped surrogate objective (their equation 7) with generalised
advantage estimation (Schulman et al., ICLR 2016), several epochs of minibatch updates on each
rollout. Two value heads and the treatment of intrinsic rewards follow Burda, Edwards, Storkey &
Klimov, "Exploration by random network distillation" (RND), ICLR 2019, section 2.3-2.4:

- the extrinsic return is episodic (γ_E, cut at episode ends) and the intrinsic return is not
  (γ_I, the value bootstraps across an episode's end: to a curious agent a reset is just one more
  transition);
- each head has its own advantage; the policy follows ``c_E A_E + c_I A_I`` (the paper:
  c_E = 2, c_I = 1);
- intrinsic rewards are divided by a running estimate of the standard deviation of the
  intrinsic *returns* (:class:`RewardForwardFilter` feeds :class:`RunningMeanStd`), so their
  scale stays put while the reward itself shrinks or grows.

Every hyperparameter is a field of :class:`PPOConfig`, as in a CleanRL script. The pieces
(:class:`ActorCritic`, :func:`gae`, :func:`ppo_update`, the normalisers) are functions over
tensors, so an experiment's loop reads top to bottom: act, step, compute the intrinsic reward,
normalise it, estimate advantages, update. Randomness: actions are sampled with the
``torch.Generator`` passed in, minibatches shuffled with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class PPOConfig:
    lr: float = 5e-4
    epochs: int = 4  # passes over each rollout
    minibatches: int = 4
    clip: float = 0.2  # ε of the clipped objective
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    gamma_ext: float = 0.999  # episodic [RND]
    gamma_int: float = 0.99  # non-episodic [RND]
    lam: float = 0.95  # GAE λ
    ext_coef: float = 2.0  # c_E [RND]
    int_coef: float = 1.0  # c_I [RND]
    hidden: int = 64

    def validate(self) -> None:
        if not (self.lr > 0 and self.epochs >= 1 and self.minibatches >= 1 and self.clip > 0
                and 0 <= self.gamma_ext < 1 and 0 <= self.gamma_int < 1 and 0 <= self.lam <= 1
                and self.hidden >= 1):
            raise ValueError("PPO: lr > 0, epochs >= 1, minibatches >= 1, clip > 0, "
                             "0 <= gamma < 1, 0 <= lam <= 1, hidden >= 1 required")


class ActorCritic(nn.Module):
    """A tanh MLP torso with a policy head and two value heads (extrinsic, intrinsic)."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 64) -> None:
        super().__init__()
        self.torso = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(),
                                   nn.Linear(hidden, hidden), nn.Tanh())
        self.pi = nn.Linear(hidden, n_actions)
        self.v_ext = nn.Linear(hidden, 1)
        self.v_int = nn.Linear(hidden, 1)
        with torch.no_grad():  # small initial policy logits: a near-uniform start
            self.pi.weight.mul_(0.01)
            self.pi.bias.zero_()

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h = self.torso(obs)
        return self.pi(h), self.v_ext(h).squeeze(-1), self.v_int(h).squeeze(-1)

    def act(self, obs: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Sample actions; return (actions, their log-probabilities, v_ext, v_int)."""
        with torch.no_grad():
            logits, ve, vi = self(obs)
            logp_all = torch.log_softmax(logits, -1)
            a = torch.multinomial(logp_all.exp(), 1, generator=gen).squeeze(-1)
            return a, logp_all.gather(-1, a[:, None]).squeeze(-1), ve, vi


class RunningMeanStd:
    """Running mean and variance over batches (the parallel-variance update of Chan et al.)."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape)
        self.var = np.ones(shape)
        self.count = 1e-4

    def update(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        bm, bv, bn = x.mean(axis=0), x.var(axis=0), x.shape[0]
        delta, tot = bm - self.mean, self.count + bn
        m2 = self.var * self.count + bv * bn + delta**2 * self.count * bn / tot
        self.mean = self.mean + delta * bn / tot
        self.var = m2 / tot
        self.count = tot

    @property
    def std(self) -> np.ndarray:
        return np.asarray(np.sqrt(self.var))

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.mean = np.asarray(st["mean"], dtype=np.float64)
        self.var = np.asarray(st["var"], dtype=np.float64)
        self.count = float(st["count"])


class RewardForwardFilter:
    """The discounted running sum of intrinsic rewards per copy, never reset [RND]: its values
    are the non-episodic returns whose standard deviation scales the rewards."""

    def __init__(self, gamma: float) -> None:
        self.gamma = gamma
        self.rewems: np.ndarray | None = None

    def update(self, r: np.ndarray) -> np.ndarray:
        self.rewems = r.copy() if self.rewems is None else self.rewems * self.gamma + r
        return self.rewems


def normalise_intrinsic(r: np.ndarray, filt: RewardForwardFilter, rms: RunningMeanStd
                        ) -> np.ndarray:
    """Rewards ``r[T, n]`` of one rollout divided by the running std of the non-episodic
    intrinsic returns (RND, section 2.4)."""
    returns = np.stack([filt.update(r[t]) for t in range(r.shape[0])])
    rms.update(returns.reshape(-1))
    return np.asarray(r / np.sqrt(rms.var + 1e-8))


def gae(rewards: Tensor, values: Tensor, next_value: Tensor, dones: Tensor, gamma: float,
        lam: float, episodic: bool) -> tuple[Tensor, Tensor]:
    """Advantages and returns ``[T, n]`` by GAE(λ). ``dones[t]``: the episode ended with step
    ``t``; an episodic stream cuts the bootstrap there, a non-episodic one runs on."""
    T = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(T)):
        nv = next_value if t == T - 1 else values[t + 1]
        nonterminal = (1.0 - dones[t]) if episodic else torch.ones_like(dones[t])
        delta = rewards[t] + gamma * nv * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv, adv + values


def ppo_update(net: ActorCritic, opt: torch.optim.Optimizer, cfg: PPOConfig, obs: Tensor,
               actions: Tensor, logp_old: Tensor, adv: Tensor, ret_ext: Tensor, ret_int: Tensor,
               gen: torch.Generator) -> dict[str, float]:
    """Epochs of minibatch updates on one rollout (all tensors flattened to ``[B, ...]``);
    ``adv`` is the combined advantage. Returns the last minibatch's losses."""
    B = obs.shape[0]
    mb = B // cfg.minibatches
    out: dict[str, float] = {}
    for _ in range(cfg.epochs):
        perm = torch.randperm(B, generator=gen)
        for k in range(cfg.minibatches):
            idx = perm[k * mb:(k + 1) * mb]
            logits, ve, vi = net(obs[idx])
            logp_all = torch.log_softmax(logits, -1)
            logp = logp_all.gather(-1, actions[idx, None]).squeeze(-1)
            ratio = (logp - logp_old[idx]).exp()
            a = adv[idx]
            a = (a - a.mean()) / (a.std() + 1e-8)
            pg = torch.max(-a * ratio, -a * ratio.clamp(1 - cfg.clip, 1 + cfg.clip)).mean()
            v_loss = 0.5 * ((ve - ret_ext[idx]) ** 2).mean() + 0.5 * ((vi - ret_int[idx]) ** 2
                                                                      ).mean()
            ent = -(logp_all.exp() * logp_all).sum(-1).mean()
            loss = pg + cfg.vf_coef * v_loss - cfg.ent_coef * ent
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), cfg.max_grad_norm)
            opt.step()
            out = {"pg_loss": pg.item(), "v_loss": v_loss.item(), "entropy": ent.item()}
    return out
