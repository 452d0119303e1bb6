"""Tabular Q(λ), a base learner that SSA can wrap (the papers' "TD(λ) Q-learning" baseline).

Watkins's Q(λ) with replacing eligibility traces (Watkins 1989; Sutton & Barto 2018, section 12.10),
the family of "TD(λ) Q-learning variants (Lin 1993)" that ML97 section 4.3 reports failing on the
doors-and-keys task. Per step, from observation ``s`` with action ``a`` (ε-greedy), reward ``r``
and next observation ``s'``::

    δ = r + γ max_b Q[s', b] - Q[s, a]
    E[s, a] = 1                                   (replacing trace)
    Q += α δ E
    E *= γλ  if the next action is greedy, else E = 0   (Watkins's cut)

Under SSA (``ssa_on``) every row ``Q[x]`` about to change is first saved on the SSA stack (once per
block, :func:`metahook.core.ssa_stack.ssa_save`), so an SSA call can undo whole blocks of
Q-updates that were not followed by faster reward intake; the learner itself is unchanged. Rows
are states, the row width is the number of actions.

Glossary: ``Q`` the action values, ``E`` the traces, α the step size, γ the discount, λ the trace
decay, ε the exploration rate.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT
from metahook.core.ssa_stack import ssa_save


@njit(cache=True, **NO_REFCOUNT)
def q_greedy(Q: np.ndarray, s: int) -> int:
    """The greedy action in ``s`` (lowest index among ties)."""
    best = 0
    for b in range(1, Q.shape[1]):
        if Q[s, b] > Q[s, best]:
            best = b
    return best


@njit(cache=True, **NO_REFCOUNT)
def q_select(Q: np.ndarray, s: int, eps: float, u1: float, u2: float) -> int:
    """ε-greedy: with probability ``eps`` (``u1 < eps``) a uniform action (from ``u2``)."""
    if u1 < eps:
        return min(Q.shape[1] - 1, int(u2 * Q.shape[1]))
    return q_greedy(Q, s)


@njit(cache=True, **NO_REFCOUNT)
def q_lambda_update(
    Q: np.ndarray, E: np.ndarray, s: int, a: int, r: float, s2: int, a2: int,
    alpha: float, gamma: float, lam: float,
    ssa_on: bool, tags: np.ndarray, entries: np.ndarray, mark: np.ndarray, counts: np.ndarray,
) -> int:
    """One Watkins Q(λ) update for the transition ``(s, a, r, s2)`` with next action ``a2``.

    Returns the number of rows pushed on the SSA stack (-1 if it was full: nothing changed).
    """
    greedy = q_greedy(Q, s2)
    delta = r + gamma * Q[s2, greedy] - Q[s, a]
    for b in range(Q.shape[1]):
        E[s, b] = 0.0
    E[s, a] = 1.0
    pushed = 0
    if ssa_on:
        for x in range(Q.shape[0]):
            live = False
            for b in range(Q.shape[1]):
                if E[x, b] != 0.0:
                    live = True
                    break
            if live:
                k = ssa_save(tags, entries, mark, counts, Q, x)
                if k < 0:
                    return -1
                pushed += k
    keep = gamma * lam if Q[s2, a2] == Q[s2, greedy] else 0.0
    for x in range(Q.shape[0]):
        for b in range(Q.shape[1]):
            e = E[x, b]
            if e != 0.0:
                Q[x, b] += alpha * delta * e
                e *= keep
                E[x, b] = e if e > 1e-8 else 0.0
    return pushed
