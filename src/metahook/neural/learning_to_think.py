"""Learning to think: a controller C that queries a recurrent world model M before it acts.

Schmidhuber, "On learning to think: algorithmic information theory for novel combinations of
reinforcement learning controllers and recurrent neural world models", arXiv:1511.09249 (2015).
The report describes a framework (no experiment): an RNN world model M is trained on the whole
history of the agent's interaction to predict its next inputs (and rewards); a controller C,
with a much smaller search space, is trained by reinforcement learning or evolution while M's
weights are frozen, and C and M are trained in alternation (C acts for a while with M frozen, then
M is retrained on the longer history, a "sleep phase"). C may exploit M in several ways: read M's
activations as its own inputs (sec. 5.1-5.2; the World Models controller of 2018 is of this kind),
or, with learnable connections to and from (a copy of) M, send sequences of inputs into M and read
M's answers before it acts, so that C "learns to think" with M (sec. 5.3): C learns to address and
extract the algorithmic information M has already learned, which may be far cheaper than
learning the rewarding behaviour from scratch.

This module holds the pieces for one instance, on the T-maze of :mod:`metahook.envs.tmaze`
(Bakker 2002; a deep-memory POMDP: the goal arm is shown only at the start):

- :class:`TMazeModel`, M: ``torch.nn.LSTM`` over ``[o_t, onehot(a_t)]`` with two heads, the
  next observation's three bits (logits) and the outcome of the step (logits of nothing / goal /
  wrong arm). Trained by teacher forcing on whole episodes (:func:`model_loss`).
- :func:`answer`: what C reads back from one step of M, ``[p_goal, p_wrong, σ(ô)]`` (5 numbers).
- Three controllers, evolved as flat weight vectors (:func:`n_params`):
  ``no_m``  an Elman RNN on the observation alone (C without M: it must find its own memory);
  ``final_h``  a linear map from ``[o_t, h_M, 1]`` (C reads M's current hidden state only);
  ``think``  before each real action, ``k`` query steps: step j feeds a copy of M, started
  from M's current state, the observation (then M's predicted observation) and the action
  ``q_j = argmax W_q [o_t, h_M, ans_{j-1}, 1]``; M's answer ``ans_j`` comes back; the real
  action is ``argmax W_a [o_t, h_M, ans_k, 1]``. The queries never touch the real world.
- :func:`rollout`: many controllers at once, both goal arms each, in one batch (numpy T-maze
  step :func:`tmaze_step_batch`, checked against the numba reference ``tmaze_move``).

Glossary: o observation, a action (0 N, 1 E, 2 S, 3 W), h_M M's LSTM hidden state, q query
action, ans M's answer, k query steps per real step, L corridor length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from metahook.envs.tmaze import EAST, GOAL_REWARD, NORTH, WEST, WRONG_REWARD

VARIANTS = ("no_m", "final_h", "think")
OBS, ACTS, ANS = 3, 4, 5  # observation bits, actions, numbers in one answer of M
NOTHING, GOAL, WRONG = 0, 1, 2  # outcome classes of a step


# ----------------------------------------------------------------------------- the task, batched
def tmaze_obs_batch(pos: np.ndarray, signal: np.ndarray, length: int) -> np.ndarray:
    """Observations ``(B, 3)`` of the T-maze (the table of :mod:`metahook.envs.tmaze`)."""
    out = np.empty((len(pos), OBS), np.float32)
    start, junction = pos == 0, pos >= length
    north = signal > 0
    out[:, 0] = np.where(start, north, np.where(junction, 0.0, 1.0))
    out[:, 1] = np.where(start | junction, 1.0, 0.0)
    out[:, 2] = np.where(start, ~north, np.where(junction, 0.0, 1.0))
    return out


def tmaze_step_batch(pos: np.ndarray, signal: np.ndarray, action: np.ndarray, length: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(new_pos, outcome)`` for a batch, as :func:`metahook.envs.tmaze.tmaze_move` per row:
    outcome +1 goal arm, −1 the other arm, 0 still walking."""
    at_j = pos >= length
    turn = at_j & (action != EAST) & (action != WEST)
    outcome = np.where(turn, np.where((action == NORTH) == (signal > 0), 1, -1), 0)
    new = pos.copy()
    new[~turn & (action == EAST) & (pos < length)] += 1
    new[~turn & (action == WEST) & (pos > 0)] -= 1
    return new, outcome.astype(np.int64)


# ----------------------------------------------------------------------------- M
class TMazeModel(nn.Module):
    """M: an LSTM reading ``[o_t, onehot(a_t)]``, predicting ``o_{t+1}`` and the step's outcome."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.lstm = nn.LSTM(OBS + ACTS, hidden, batch_first=True)
        self.head = nn.Linear(hidden, OBS + 3)

    def forward(self, o: torch.Tensor, a: torch.Tensor,
                state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``o`` ``(B, T, 3)``, ``a`` one-hot ``(B, T, 4)`` -> (next-obs logits ``(B, T, 3)``,
        outcome logits ``(B, T, 3)``, (h, c))."""
        y, st = self.lstm(torch.cat([o, a], -1), state)
        out = self.head(y)
        return out[..., :OBS], out[..., OBS:], st


def answer(obs_logits: torch.Tensor, out_logits: torch.Tensor) -> torch.Tensor:
    """M's answer to one query step: ``[p_goal, p_wrong, σ(ô)]`` ``(B, 5)``."""
    p = F.softmax(out_logits, -1)
    return torch.cat([p[:, GOAL:GOAL + 1], p[:, WRONG:WRONG + 1], torch.sigmoid(obs_logits)], -1)


@dataclass
class Episodes:
    """A growing history of real episodes, padded to ``max_steps``."""

    obs: np.ndarray  # (N, max_steps + 1, 3)
    act: np.ndarray  # (N, max_steps) int
    outcome: np.ndarray  # (N, max_steps) class NOTHING / GOAL / WRONG
    mask: np.ndarray  # (N, max_steps) 1 inside the episode

    @classmethod
    def empty(cls, max_steps: int) -> Episodes:
        return cls(np.zeros((0, max_steps + 1, OBS), np.float32),
                   np.zeros((0, max_steps), np.int64), np.zeros((0, max_steps), np.int64),
                   np.zeros((0, max_steps), np.float32))

    def extend(self, other: Episodes) -> None:
        self.obs = np.concatenate([self.obs, other.obs])
        self.act = np.concatenate([self.act, other.act])
        self.outcome = np.concatenate([self.outcome, other.outcome])
        self.mask = np.concatenate([self.mask, other.mask])

    def __len__(self) -> int:
        return len(self.mask)


def model_loss(m: TMazeModel, ep: Episodes, idx: np.ndarray
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, next-observation BCE, outcome cross-entropy) on episodes ``idx``, teacher forced,
    averaged over the steps inside the episodes."""
    obs = torch.from_numpy(ep.obs[idx])
    act = F.one_hot(torch.from_numpy(ep.act[idx]), ACTS).float()
    mask = torch.from_numpy(ep.mask[idx])
    ol, cl, _ = m(obs[:, :-1], act)
    bce = F.binary_cross_entropy_with_logits(ol, obs[:, 1:], reduction="none").sum(-1)
    ce = F.cross_entropy(cl.reshape(-1, 3), torch.from_numpy(ep.outcome[idx]).reshape(-1),
                         reduction="none").reshape(mask.shape)
    n = mask.sum().clamp(min=1.0)
    bce, ce = (bce * mask).sum() / n, (ce * mask).sum() / n
    return bce + ce, bce, ce


# ----------------------------------------------------------------------------- C
def n_inputs(variant: str, m_hidden: int) -> int:
    """Inputs of C's linear maps (bias included; the RNN's recurrent inputs not)."""
    if variant == "no_m":
        return OBS + 1
    if variant == "final_h":
        return OBS + m_hidden + 1
    return OBS + m_hidden + ANS + 1


def n_params(variant: str, m_hidden: int, c_hidden: int) -> int:
    """Weights C's search evolves: no_m an Elman RNN (``c_hidden`` units) -> 4 action logits;
    final_h one 4 × (3 + H + 1) map; think a query map and an action map, 4 × (3 + H + 5 + 1)
    each."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    if variant == "no_m":
        return c_hidden * (OBS + c_hidden + 1) + ACTS * (c_hidden + 1)
    k = n_inputs(variant, m_hidden)
    return ACTS * k * (2 if variant == "think" else 1)


def _affine(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Batched ``W x``: ``w`` ``(B, out, in)``, ``x`` ``(B, in)``."""
    return torch.bmm(w, x.unsqueeze(-1)).squeeze(-1)


@dataclass
class RolloutResult:
    """Per controller (both walks summed or combined) and the episodes for M's history."""

    fitness: np.ndarray  # (n,)
    solved: np.ndarray  # (n,) bool: both walks ended in the goal arm
    steps: np.ndarray  # (n,) real steps of both walks
    episodes: Episodes  # 2n episodes, controller i's walks at rows 2i (north) and 2i+1 (south)
    queries: int  # query steps made into M (computation, not real steps)


@torch.no_grad()
def rollout(variant: str, params: np.ndarray, m: TMazeModel | None, length: int,
            max_steps: int, k: int = 1, c_hidden: int = 4) -> RolloutResult:
    """Each row of ``params`` walks the T-maze twice (goal north, then south), all at once.

    C acts greedily (argmax of its four logits). Fitness per walk: the farthest cell reached
    over ``length``, plus 2 when the walk ends in the goal arm (at most 3 per walk); solved when
    both walks end in the goal arm. M is only read, never trained here.
    """
    n = len(params)
    B = 2 * n
    P = torch.from_numpy(np.repeat(np.asarray(params, np.float32), 2, axis=0))
    signal = np.tile(np.array([1, -1]), n)
    pos = np.zeros(B, np.int64)
    far = np.zeros(B, np.int64)
    outcome = np.zeros(B, np.int64)
    alive = np.ones(B, bool)
    steps = np.zeros(B, np.int64)
    ep = Episodes(np.zeros((B, max_steps + 1, OBS), np.float32),
                  np.zeros((B, max_steps), np.int64), np.zeros((B, max_steps), np.int64),
                  np.zeros((B, max_steps), np.float32))
    queries = 0
    H = m.hidden if m is not None else 0
    if variant != "no_m" and m is None:
        raise ValueError(f"variant {variant} needs M")
    if variant == "no_m":
        ni = OBS + c_hidden + 1
        w_in = P[:, :c_hidden * ni].reshape(B, c_hidden, ni)
        w_out = P[:, c_hidden * ni:].reshape(B, ACTS, c_hidden + 1)
        hc = torch.zeros(B, c_hidden)
    else:
        ni = n_inputs(variant, H)
        w_a = P[:, :ACTS * ni].reshape(B, ACTS, ni)
        w_q = P[:, ACTS * ni:].reshape(B, ACTS, ni) if variant == "think" else None
    state: tuple[torch.Tensor, torch.Tensor] | None = None
    h_m = torch.zeros(B, H)
    one = torch.ones(B, 1)
    o_np = tmaze_obs_batch(pos, signal, length)
    ep.obs[:, 0] = o_np
    for t in range(max_steps):
        o = torch.from_numpy(o_np)
        if variant == "no_m":
            hc = torch.tanh(_affine(w_in, torch.cat([o, hc, one], 1)))
            logits = _affine(w_out, torch.cat([hc, one], 1))
        elif variant == "final_h":
            logits = _affine(w_a, torch.cat([o, h_m, one], 1))
        else:
            assert m is not None and w_q is not None
            ans = torch.zeros(B, ANS)
            qo, qstate = o, state
            for _ in range(k):
                q = _affine(w_q, torch.cat([o, h_m, ans, one], 1)).argmax(1)
                ol, cl, qstate = m(qo.unsqueeze(1), F.one_hot(q, ACTS).float().unsqueeze(1),
                                   qstate)
                ans = answer(ol[:, 0], cl[:, 0])
                qo = ans[:, 2:]
                queries += int(alive.sum())
            logits = _affine(w_a, torch.cat([o, h_m, ans, one], 1))
        a = logits.argmax(1).numpy()
        new, res = tmaze_step_batch(pos, signal, a, length)
        pos = np.where(alive, new, pos)
        far = np.maximum(far, pos)
        res = np.where(alive, res, 0)
        ep.act[alive, t] = a[alive]
        ep.outcome[alive, t] = np.where(res[alive] > 0, GOAL, np.where(res[alive] < 0, WRONG,
                                                                        NOTHING))
        ep.mask[alive, t] = 1.0
        steps += alive
        outcome = np.where(alive, res, outcome)
        o_np = tmaze_obs_batch(pos, signal, length)
        ep.obs[alive, t + 1] = o_np[alive]
        if m is not None and variant != "no_m":
            _, _, state = m(o.unsqueeze(1), F.one_hot(torch.from_numpy(a), ACTS).float()
                            .unsqueeze(1), state)
            h_m = state[0][0]
        alive &= res == 0
        if not alive.any():
            break
    per_walk = far / length + 2.0 * (outcome > 0)
    fitness = per_walk.reshape(n, 2).sum(1)
    solved = np.asarray((outcome > 0).reshape(n, 2).all(1))
    return RolloutResult(fitness, solved, steps.reshape(n, 2).sum(1), ep, queries)


def walk_return(outcome: np.ndarray) -> np.ndarray:
    """The environment's own reward of each walk (4 goal, −0.1 wrong arm, 0 cut off)."""
    return np.where(outcome > 0, GOAL_REWARD, np.where(outcome < 0, WRONG_REWARD, 0.0))


@torch.no_grad()
def junction_knowledge(m: TMazeModel, length: int) -> float:
    """How well M knows the goal arm: walk straight east to the junction with each signal and ask
    M what turning north gives; the fraction of the two signals for which M's p_goal is above
    0.5 exactly when north is the goal arm (1.0: M has learned the task's memory)."""
    correct = 0
    for s in (1, -1):
        pos = np.zeros(1, np.int64)
        sig = np.array([s])
        state = None
        for _ in range(length):
            o = torch.from_numpy(tmaze_obs_batch(pos, sig, length))[:, None]
            a = F.one_hot(torch.tensor([[EAST]]), ACTS).float()
            _, _, state = m(o, a, state)
            pos = pos + 1
        o = torch.from_numpy(tmaze_obs_batch(pos, sig, length))[:, None]
        _, cl, _ = m(o, F.one_hot(torch.tensor([[NORTH]]), ACTS).float(), state)
        p_goal = float(F.softmax(cl[0, 0], -1)[GOAL])
        correct += int((p_goal > 0.5) == (s > 0))
    return correct / 2.0
