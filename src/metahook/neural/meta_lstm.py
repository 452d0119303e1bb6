"""The meta-LSTM: a recurrent net that learns a learning algorithm in its activations.

S. Hochreiter, A. S. Younger, P. R. Conwell, "Learning to learn using gradient descent",
ICANN 2001, LNCS 2130, pp. 87-94 (and Younger, Hochreiter & Conwell, "Meta-learning with
backpropagation", IJCNN 2001).

The *supervisory* system is an LSTM trained by gradient descent (BPTT) over many episodes, each
episode a stream of exemplars of one function f drawn from a family.  At step j it receives
``(x_j, y_{j-1})`` -- the current input and the *previous* target -- and outputs ``y_hat_j``, its
prediction of ``y_j = f(x_j)`` before it sees it.  The meta-objective is the cumulative online
error ``sum_j (y_hat_j - y_j)^2``, which punishes slow learners and over-fitting learners alike.
After meta-training the weights are frozen: the *subordinate* system -- the learning algorithm
that now runs in the LSTM's activations -- fits a new f from the stream alone, without any
gradient.

Glossary: ``x_j`` input, ``y_j`` target, ``y_{j-1}`` the previous target fed back as input,
``y_hat_j`` the prediction; the cell (``torch.nn.LSTM``) is the standard LSTM with forget gates.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

LSTMState = tuple[Tensor, Tensor, Tensor]  # (h, c, last target)


class MetaLSTM(nn.Module):
    """LSTM meta-learner fed ``(x_j, y_{j-1})``; ``forward(x, y, state) -> (y_hat, state)``.

    ``x: (B, T, d_x)``, ``y: (B, T, d_y)`` (the targets; ``y[:, j]`` is only used as input at step
    ``j + 1``), ``y_hat: (B, T, d_y)``.  ``state = (h, c, y_last)``; ``None`` starts an episode
    (zero state, previous target 0).
    """

    def __init__(self, d_x: int = 2, d_y: int = 1, hidden: int = 32, layers: int = 1) -> None:
        super().__init__()
        self.lstm = nn.LSTM(d_x + d_y, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, d_y)
        self.d_y = d_y

    def forward(
        self, x: Tensor, y: Tensor, state: LSTMState | None = None
    ) -> tuple[Tensor, LSTMState]:
        B = x.shape[0]
        y_last = x.new_zeros(B, 1, self.d_y) if state is None else state[2]
        y_prev = torch.cat([y_last, y[:, :-1]], dim=1)
        hc = None if state is None else (state[0], state[1])
        out, (h, c) = self.lstm(torch.cat([x, y_prev], dim=-1), hc)
        return self.head(out), (h, c, y[:, -1:])

    def n_weights(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @torch.no_grad()
    def learn_online(self, x: Tensor, y: Tensor) -> Tensor:
        """Frozen weights: run one stream and return the predictions made before each target."""
        was = self.training
        self.eval()
        y_hat, _ = self(x, y)
        self.train(was)
        return y_hat
