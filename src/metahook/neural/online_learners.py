"""Baselines that learn one function online from the same exemplar stream as the meta-learner.

- :func:`online_backprop`: "standard backprop" of Hochreiter et al. 2001 -- a small MLP per task,
  one SGD step on ``(y_hat_j - y_j)^2`` after each exemplar, at a fixed learning rate.  Many tasks
  run side by side as a batch of independent networks (their losses do not interact).
- :func:`online_least_squares`: the ideal learner for a family that is linear in known features
  (ridge regression refit after every exemplar); a lower bound, not a method from the paper.

Both predict ``y_j`` *before* seeing it, so their squared errors are online errors, comparable
with the meta-LSTM's.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def online_backprop(
    x: Tensor, y: Tensor, lr: float, hidden: int = 20, generator: torch.Generator | None = None
) -> Tensor:
    """Online SGD of a ``d_x -> hidden (tanh) -> d_y`` MLP per task; returns ``y_hat (B, T, d_y)``.

    Weights start as in ``torch.nn.Linear`` (uniform in ``+-1/sqrt(fan_in)``).
    """
    B, T, dx = x.shape
    dy = y.shape[-1]
    x, y = x.double(), y.double()

    def uniform(*shape: int, fan_in: int) -> Tensor:
        bound = 1.0 / fan_in**0.5
        u = torch.rand(*shape, generator=generator, dtype=torch.float64)
        return ((2 * u - 1) * bound).requires_grad_()

    W1, b1 = uniform(B, hidden, dx, fan_in=dx), uniform(B, hidden, fan_in=dx)
    W2, b2 = uniform(B, dy, hidden, fan_in=hidden), uniform(B, dy, fan_in=hidden)
    params = [W1, b1, W2, b2]
    preds = []
    for t in range(T):
        h = torch.tanh(torch.einsum("bhi,bi->bh", W1, x[:, t]) + b1)
        out = torch.einsum("boh,bh->bo", W2, h) + b2
        preds.append(out.detach())
        loss = ((out - y[:, t]) ** 2).sum()  # a sum over tasks: each task's gradient is its own
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p -= lr * g
    return torch.stack(preds, dim=1).float()


def online_least_squares(features: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> np.ndarray:
    """Ridge regression refit after every exemplar: ``features (B, T, k)``, ``y (B, T)``."""
    B, T, k = features.shape
    A = np.broadcast_to(ridge * np.eye(k), (B, k, k)).copy()
    b = np.zeros((B, k))
    preds = np.zeros((B, T))
    for t in range(T):
        w = np.linalg.solve(A, b[..., None])[..., 0]
        phi = features[:, t]
        preds[:, t] = np.einsum("bk,bk->b", w, phi)
        A += phi[:, :, None] * phi[:, None, :]
        b += phi * y[:, t, None]
    return preds
