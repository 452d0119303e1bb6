"""Function families for learning to learn in the activations (Hochreiter, Younger & Conwell 2001).

A *task* is one function f drawn from a family; an *episode* is a stream of exemplars
``(x_j, f(x_j))`` of that one function, with the inputs drawn afresh at every step.  A meta-learner
sees ``x_j`` together with the previous target ``y_{j-1}`` and must predict ``y_j`` before it sees
it; its meta-objective is the cumulative online error over the stream.

Families (all inputs and coefficients drawn independently per task / per step):

``quadratic``
    ``f(x1, x2) = a x1^2 + b x2^2 + c x1 x2 + d x1 + e x2 + f``, the six coefficients uniform in
    ``[-1, 1]``, inputs uniform in ``[-1, 1]^2``.  Targets are not rescaled (their standard
    deviation over tasks and inputs is about 0.85).  Six numbers determine a task, so an ideal
    learner is exact after six exemplars.
``boolean``
    one of the 16 Boolean functions of two inputs, chosen uniformly; inputs are the bits coded as
    ``-1/+1``, the target is the function's value coded as ``-1/+1``.  Four distinct inputs
    exist, so an ideal learner is exact once it has seen each of them.

``sample(family, n_tasks, length, rng)`` returns ``x: (n_tasks, length, 2)``,
``y: (n_tasks, length, 1)`` (float32) and the task parameters.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Family = Literal["quadratic", "boolean"]
FAMILIES: tuple[str, ...] = ("quadratic", "boolean")
N_COEFFS = 6


def quadratic_features(x: np.ndarray) -> np.ndarray:
    """``[x1^2, x2^2, x1 x2, x1, x2, 1]`` for inputs ``(..., 2)``: f is linear in these."""
    x1, x2 = x[..., 0], x[..., 1]
    return np.stack([x1 * x1, x2 * x2, x1 * x2, x1, x2, np.ones_like(x1)], axis=-1)


def sample_quadratic(
    n_tasks: int, length: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    coeffs = rng.uniform(-1.0, 1.0, size=(n_tasks, N_COEFFS))
    x = rng.uniform(-1.0, 1.0, size=(n_tasks, length, 2))
    y = np.einsum("ntk,nk->nt", quadratic_features(x), coeffs)[..., None]
    return x.astype(np.float32), y.astype(np.float32), coeffs


def sample_boolean(
    n_tasks: int, length: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = rng.integers(0, 16, size=n_tasks)  # truth table: bit (2 b1 + b2) of the index
    bits = rng.integers(0, 2, size=(n_tasks, length, 2))
    row = 2 * bits[..., 0] + bits[..., 1]
    out = (table[:, None] >> row) & 1
    x = 2.0 * bits - 1.0
    y = (2.0 * out - 1.0)[..., None]
    return x.astype(np.float32), y.astype(np.float32), table


def sample(
    family: str, n_tasks: int, length: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Episodes of ``family``: ``(x, y, params)``; see the module docstring."""
    if family == "quadratic":
        return sample_quadratic(n_tasks, length, rng)
    if family == "boolean":
        return sample_boolean(n_tasks, length, rng)
    raise ValueError(f"unknown function family {family!r}; valid: {', '.join(FAMILIES)}")
