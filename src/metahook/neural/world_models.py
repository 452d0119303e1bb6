"""World Models: V (convolutional VAE), M (MDN-RNN) and C (linear controller), in PyTorch.

Ha & Schmidhuber, "World Models" (arXiv 1803.10122, 2018; NeurIPS 2018 as "Recurrent World Models
Facilitate Policy Evolution"; interactive version worldmodels.github.io). The agent has three
parts, trained one after the other:

1. **V** (:class:`ConvVAE`) compresses a 64×64×3 frame ``o`` into a latent ``z``: four 4×4
   stride-2 convolutions (32, 64, 128, 256 channels, ReLU) to 2×2×256, a linear layer each for the
   mean μ and log-variance of ``z``; the decoder maps ``z`` through a linear layer to 1×1×1024 and
   four transposed convolutions (kernels 5, 5, 6, 6; 128, 64, 32, 3 channels) back to 64×64×3
   (sigmoid). Loss: summed squared reconstruction error plus the KL term, the latter not pushed
   below ``kl_tolerance · dim z`` nats ("free bits"). With these widths V has 4,348,547 weights
   for ``z = 32`` (CarRacing) and 4,446,915 for ``z = 64`` (TakeCover), the paper's counts.
2. **M** (:class:`MDNRNN`) is an LSTM over ``[z_t, a_t]`` whose hidden state ``h_t`` feeds a
   mixture-density head: for each dimension of ``z_{t+1}`` a mixture of ``K = 5`` Gaussians
   (weights π, means μ, log-sd log σ), plus, for TakeCover, the logit of ``done_{t+1}``. Loss: the
   negative log-likelihood of the next ``z`` (and the binary cross-entropy of ``done``). Sampling
   at temperature τ (:func:`mdn_sample`) divides the mixture logits by τ and scales σ by √τ:
   τ → 0 makes M nearly deterministic, τ > 1 more uncertain than it learned to be.
3. **C** (:func:`controller_act`) is linear on M's view of the world: ``a = tanh(W [z, h] + b)``
   (CarRacing: 3 outputs, 867 weights with ``h`` of 256) or, for TakeCover, ``a = tanh(W [z, h,
   c])`` with the LSTM's cell state ``c`` and no bias (1 output, 1,088 weights with 512 units: the
   paper's count). C's weights are evolved by CMA-ES (:mod:`metahook.evolution.cmaes`, pycma).

**Dreams.** :class:`metahook.evolution.dream.DreamProblem` (in the evolution layer, which may
build on this one) scores controllers inside M alone: from a latent ``z_0`` of a real frame, C
acts on ``[z, h(, c)]``, M samples ``z_{t+1}`` at temperature τ and ``done_{t+1}`` (a Bernoulli
draw of M's done probability), one reward per step survived, up to ``max_steps``; many dreams
run as one batch (population × rollouts).

Glossary: o frame, z latent, a action, h / c LSTM hidden / cell state, K mixture components,
τ temperature, π / μ / σ mixture weights, means and standard deviations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from metahook.neural.training import seeded

PAPER_CHANNELS = (32, 64, 128, 256)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------- V
class ConvVAE(nn.Module):
    """V: the convolutional VAE of the paper (see the module docstring); ``channels`` scales it."""

    def __init__(self, z_dim: int, channels: tuple[int, int, int, int] = PAPER_CHANNELS) -> None:
        super().__init__()
        c1, c2, c3, c4 = channels
        self.z_dim = z_dim
        self.channels = tuple(channels)
        self.encoder = nn.Sequential(
            nn.Conv2d(3, c1, 4, 2), nn.ReLU(), nn.Conv2d(c1, c2, 4, 2), nn.ReLU(),
            nn.Conv2d(c2, c3, 4, 2), nn.ReLU(), nn.Conv2d(c3, c4, 4, 2), nn.ReLU(), nn.Flatten())
        self.mu = nn.Linear(4 * c4, z_dim)
        self.logvar = nn.Linear(4 * c4, z_dim)
        self.dense = nn.Linear(z_dim, 4 * c4)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(4 * c4, c3, 5, 2), nn.ReLU(), nn.ConvTranspose2d(c3, c2, 5, 2),
            nn.ReLU(), nn.ConvTranspose2d(c2, c1, 6, 2), nn.ReLU(),
            nn.ConvTranspose2d(c1, 3, 6, 2), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: frames ``(B, 3, 64, 64)`` in [0, 1] -> (μ, log σ²) of ``z``."""
        e = self.encoder(x)
        return self.mu(e), self.logvar(e)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.dense(z).view(z.shape[0], -1, 1, 1))

    def forward(self, x: torch.Tensor, gen: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        eps = torch.randn(mu.shape, generator=gen)
        return self.decode(mu + eps * torch.exp(0.5 * logvar)), mu, logvar


def vae_loss(x: torch.Tensor, recon: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             kl_tolerance: float = 0.5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, reconstruction, KL), batch means; the KL is floored at ``kl_tolerance · dim z``."""
    rec = ((recon - x) ** 2).sum(dim=(1, 2, 3)).mean()
    kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(dim=1)).mean()
    floor = kl_tolerance * mu.shape[1]
    return rec + torch.clamp(kl, min=floor), rec, kl


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 frames ``(B, 64, 64, 3)`` -> float ``(B, 3, 64, 64)`` in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0


def train_vae(vae: ConvVAE, frames: np.ndarray, *, epochs: int, batch: int, lr: float,
              gen: torch.Generator, kl_tolerance: float = 0.5, max_frames: int = 0
              ) -> list[float]:
    """Adam on shuffled minibatches of ``frames`` (uint8, ``(N, 64, 64, 3)``); the loss per epoch.

    ``max_frames > 0`` trains each epoch on that many frames drawn at random (all when 0).
    """
    opt = torch.optim.Adam(vae.parameters(), lr=lr)
    curve = []
    n = len(frames)
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen).numpy()
        if max_frames:
            order = order[:max_frames]
        total = 0.0
        for i in range(0, len(order), batch):
            x = frames_to_tensor(frames[np.sort(order[i:i + batch])])
            recon, mu, logvar = vae(x, gen)
            loss, _, _ = vae_loss(x, recon, mu, logvar, kl_tolerance)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(x)
        curve.append(total / len(order))
    return curve


@torch.no_grad()
def encode_frames(vae: ConvVAE, frames: np.ndarray, batch: int = 256
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(μ, log σ²) of every frame, float32 ``(N, z)`` each."""
    mus, lvs = [], []
    for i in range(0, len(frames), batch):
        mu, lv = vae.encode(frames_to_tensor(frames[i:i + batch]))
        mus.append(mu.numpy())
        lvs.append(lv.numpy())
    return np.concatenate(mus).astype(np.float32), np.concatenate(lvs).astype(np.float32)


# ----------------------------------------------------------------------------- M
class MDNRNN(nn.Module):
    """M: ``torch.nn.LSTM`` plus a mixture-density head (see the module docstring)."""

    def __init__(self, z_dim: int, a_dim: int, hidden: int, n_gauss: int = 5,
                 predict_done: bool = False) -> None:
        super().__init__()
        self.z_dim, self.a_dim, self.hidden, self.n_gauss = z_dim, a_dim, hidden, n_gauss
        self.predict_done = predict_done
        self.lstm = nn.LSTM(z_dim + a_dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 3 * n_gauss * z_dim + int(predict_done))

    def split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                torch.Tensor | None]:
        """Head output ``(..., P)`` -> (log π, μ, log σ) each ``(..., z, K)`` and done logits."""
        k, zd = self.n_gauss, self.z_dim
        mix = out[..., :3 * k * zd].reshape(*out.shape[:-1], zd, 3 * k)
        logpi = F.log_softmax(mix[..., :k], dim=-1)
        done = out[..., -1] if self.predict_done else None
        return logpi, mix[..., k:2 * k], mix[..., 2 * k:].clamp(-7.0, 5.0), done

    def forward(self, z: torch.Tensor, a: torch.Tensor,
                state: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[Any, ...]:
        """``z`` ``(B, T, z)``, ``a`` ``(B, T, a)`` -> (log π, μ, log σ, done logits, (h, c))."""
        y, st = self.lstm(torch.cat([z, a], dim=-1), state)
        return (*self.split(self.head(y)), st)


def seeded_mdnrnn(z_dim: int, a_dim: int, hidden: int, n_gauss: int = 5,
                  predict_done: bool = False, seed: int = 0) -> MDNRNN:
    """An :class:`MDNRNN` whose initial weights are drawn from ``seed`` (global RNG untouched)."""
    return seeded(lambda: MDNRNN(z_dim, a_dim, hidden, n_gauss, predict_done), seed)


def mdn_nll(logpi: torch.Tensor, mu: torch.Tensor, logsigma: torch.Tensor,
            target: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of ``target`` ``(..., z)`` under the mixtures, per dimension."""
    t = target.unsqueeze(-1)
    logp = -0.5 * ((t - mu) / logsigma.exp()) ** 2 - logsigma - LOG_SQRT_2PI
    return -torch.logsumexp(logpi + logp, dim=-1)


def mdn_sample(logpi: torch.Tensor, mu: torch.Tensor, logsigma: torch.Tensor, tau: float,
               gen: torch.Generator | None = None) -> torch.Tensor:
    """Draw ``z`` from the mixtures at temperature ``tau`` (logits / τ, σ · √τ)."""
    if tau <= 0:
        raise ValueError(f"temperature tau must be > 0, got {tau}")
    probs = F.softmax(logpi / tau, dim=-1)
    flat = probs.reshape(-1, probs.shape[-1])
    k = torch.multinomial(flat, 1, generator=gen).reshape((*probs.shape[:-1], 1))
    m = mu.gather(-1, k).squeeze(-1)
    s = logsigma.gather(-1, k).squeeze(-1).exp() * math.sqrt(tau)
    return m + s * torch.randn(m.shape, generator=gen)


@dataclass
class Sequences:
    """Episodes for M: V's (μ, log σ²) per frame, the actions and done flags, cut in windows."""

    mu: np.ndarray  # (N, T+1, z)
    logvar: np.ndarray  # (N, T+1, z)
    action: np.ndarray  # (N, T, a)
    done: np.ndarray  # (N, T): done after action t
    mask: np.ndarray  # (N, T): 1 where step t is part of the episode


def make_sequences(episodes: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                   seq_len: int) -> Sequences:
    """Cut episodes ``(mu (T+1, z), logvar, actions (T, a), done (T,))`` into windows of
    ``seq_len`` transitions (the last window of an episode padded and masked)."""
    mus, lvs, acts, dones, masks = [], [], [], [], []
    for mu, lv, a, d in episodes:
        T = len(a)
        for s in range(0, T, seq_len):
            n = min(seq_len, T - s)
            pm = np.zeros((seq_len + 1, mu.shape[1]), np.float32)
            pl = np.zeros_like(pm)
            pm[:n + 1], pl[:n + 1] = mu[s:s + n + 1], lv[s:s + n + 1]
            pa = np.zeros((seq_len, a.shape[1]), np.float32)
            pa[:n] = a[s:s + n]
            pd = np.zeros(seq_len, np.float32)
            pd[:n] = d[s:s + n]
            mk = np.zeros(seq_len, np.float32)
            mk[:n] = 1
            mus.append(pm)
            lvs.append(pl)
            acts.append(pa)
            dones.append(pd)
            masks.append(mk)
    return Sequences(np.stack(mus), np.stack(lvs), np.stack(acts), np.stack(dones),
                     np.stack(masks))


def m_loss(m: MDNRNN, seq: Sequences, idx: np.ndarray, gen: torch.Generator | None,
           done_weight: float = 1.0, sample_z: bool = True, done_pos_weight: float = 1.0
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, z NLL per dimension, done BCE) of M on the windows ``idx`` (teacher forcing).

    Each ``z`` is drawn from V's posterior N(μ, σ²) when ``sample_z`` (the paper's data), else μ.
    ``done_pos_weight`` weighs the steps where the agent died in the done BCE (the World Models
    authors' code weighs them 10: deaths are rare, about one step in 300 of a random rollout).
    """
    mu = torch.from_numpy(seq.mu[idx])
    if sample_z:
        z = mu + torch.randn(mu.shape, generator=gen) * torch.exp(
            0.5 * torch.from_numpy(seq.logvar[idx]))
    else:
        z = mu
    a = torch.from_numpy(seq.action[idx])
    mask = torch.from_numpy(seq.mask[idx])
    logpi, mmu, logsig, done_logit, _ = m(z[:, :-1], a)
    nll = (mdn_nll(logpi, mmu, logsig, z[:, 1:]).mean(-1) * mask).sum() / mask.sum()
    bce = torch.zeros(())
    if m.predict_done and done_logit is not None:
        d = torch.from_numpy(seq.done[idx])
        pw = torch.tensor(float(done_pos_weight))
        bce = (F.binary_cross_entropy_with_logits(done_logit, d, reduction="none", pos_weight=pw)
               * mask).sum() / mask.sum()
    return nll + done_weight * bce, nll, bce


def train_m(m: MDNRNN, seq: Sequences, *, epochs: int, batch: int, lr: float,
            gen: torch.Generator, done_weight: float = 1.0, grad_clip: float = 1.0,
            done_pos_weight: float = 1.0) -> list[tuple[float, float]]:
    """Adam over shuffled windows; per epoch the mean (z NLL, done BCE) over its batches."""
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    curve = []
    n = len(seq.mask)
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen).numpy()
        tot_nll = tot_bce = 0.0
        nb = 0
        for i in range(0, n, batch):
            loss, nll, bce = m_loss(m, seq, order[i:i + batch], gen, done_weight,
                                    done_pos_weight=done_pos_weight)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(m.parameters(), grad_clip)
            opt.step()
            tot_nll += float(nll.detach())
            tot_bce += float(bce.detach())
            nb += 1
        curve.append((tot_nll / nb, tot_bce / nb))
    return curve


# ----------------------------------------------------------------------------- C
def controller_inputs(z_dim: int, hidden: int, with_cell: bool) -> int:
    return z_dim + hidden * (2 if with_cell else 1)


def controller_size(z_dim: int, hidden: int, n_out: int, with_cell: bool, bias: bool) -> int:
    """Weights of the linear controller (867 for CarRacing, 1,088 for TakeCover in the paper)."""
    return (controller_inputs(z_dim, hidden, with_cell) + int(bias)) * n_out


def controller_act(params: torch.Tensor, feats: torch.Tensor, n_out: int, bias: bool
                   ) -> torch.Tensor:
    """``tanh(W feats + b)`` for a batch: ``params`` ``(B, P)``, ``feats`` ``(B, n_in)``."""
    n_in = feats.shape[1]
    W = params[:, :n_in * n_out].reshape(-1, n_out, n_in)
    y = torch.bmm(W, feats.unsqueeze(-1)).squeeze(-1)
    if bias:
        y = y + params[:, n_in * n_out:n_in * n_out + n_out]
    return torch.tanh(y)


def takecover_action(a: torch.Tensor) -> torch.Tensor:
    """C's output in [−1, 1] -> 0 (left) below −1/3, 2 (right) above 1/3, else 1 (stay)."""
    return (a[:, 0] > -1.0 / 3).long() + (a[:, 0] > 1.0 / 3).long()


BUTTONS = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])  # MOVE_LEFT, MOVE_RIGHT pressed


# ----------------------------------------------------------------------------- 1990
class RecurrentModel(nn.Module):
    """M of Schmidhuber (1990), "Making the world differentiable" (FKI-126-90): a recurrent net
    (here ``torch.nn.LSTM``) that reads the controller's input and action ``[x_t, a_t]`` and
    predicts the change of the input ``x_{t+1} − x_t`` and the pain signal (the logit of
    "the pole fell" at ``t + 1``)."""

    def __init__(self, obs_dim: int, hidden: int) -> None:
        super().__init__()
        self.obs_dim, self.hidden = obs_dim, hidden
        self.lstm = nn.LSTM(obs_dim + 1, hidden, batch_first=True)
        self.out = nn.Linear(hidden, obs_dim + 1)

    def forward(self, x: torch.Tensor, a: torch.Tensor,
                state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``x`` ``(B, T, obs)``, ``a`` ``(B, T, 1)`` -> (Δx, pain logit ``(B, T)``, state)."""
        y, st = self.lstm(torch.cat([x, a], -1), state)
        o = self.out(y)
        return o[..., :-1], o[..., -1], st


class Controller1990(nn.Module):
    """C: a feedforward tanh net from the observation to the force in [−1, 1]."""

    def __init__(self, obs_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1),
                                 nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def model_loss(m: RecurrentModel, obs: torch.Tensor, act: torch.Tensor, fell: torch.Tensor,
               mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, squared error of Δx, pain BCE) on windows ``obs`` ``(B, T+1, d)``, ``act``
    ``(B, T, 1)``, ``fell`` ``(B, T)``, ``mask`` ``(B, T)`` (teacher forcing)."""
    dx, logit, _ = m(obs[:, :-1], act)
    se = (((dx - (obs[:, 1:] - obs[:, :-1])) ** 2).sum(-1) * mask).sum() / mask.sum()
    bce = (F.binary_cross_entropy_with_logits(logit, fell, reduction="none")
           * mask).sum() / mask.sum()
    return se * 100.0 + bce, se, bce


def pain_through_model(c: Controller1990, m: RecurrentModel, x0: torch.Tensor,
                       horizon: int) -> torch.Tensor:
    """C's expected pain over ``horizon`` steps imagined by the frozen M from states ``x0``:
    Σ_t P(alive before t) · P(fall at t), the gradient flowing through M into C (1990's
    "backpropagation through the model")."""
    x = x0
    state = None
    alive = torch.ones(x0.shape[0])
    pain = torch.zeros(x0.shape[0])
    for _ in range(horizon):
        a = c(x)
        dx, logit, state = m(x.unsqueeze(1), a.unsqueeze(1), state)
        p = torch.sigmoid(logit[:, 0])
        pain = pain + alive * p
        alive = alive * (1 - p)
        x = x + dx[:, 0]
    return pain.mean()
