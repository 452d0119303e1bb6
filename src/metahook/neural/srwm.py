"""Self-referential weight matrices: nets that read and rewrite their own weights.

**SRWM 1993** -- J. Schmidhuber, "A 'self-referential' weight matrix", ICANN 1993, pp. 446-451
(and "An introspective network that can learn to run its own weight change algorithm", 1993).
A fully recurrent net observes its own errors and addresses, reads and changes *every* one of its
own weights, including those that do the reading and changing, through special units:

- input units: the external input ``x_t``, the ``eval`` units (the previous step's target, so the
  net can observe its errors), and the ``val`` unit (the value of the weight the net analysed at
  the previous step);
- output units: the external output ``y_t``, the *analysis address* ``ana_t`` (``a`` units),
  the *modification address* ``mod_t`` (``a`` units) and the modification value ``delta_t``.

Every connection ``c`` has a fixed binary address ``adr_c`` of ``a = ceil(log2 n_conn)`` bits.
Addressing is soft: ``g(p, adr) = prod_b (p_b if adr_b else 1 - p_b)``, a distribution over all
``2^a`` addresses that is exact when ``p`` is binary.  Then
``val_{t+1} = sum_c w_c g(ana_t, adr_c)`` and ``w_c <- w_c + delta_t g(mod_t, adr_c)``.
Cost per step O(n_conn log n_conn), as in the paper.  Gap (see docs/neural.md): the paper
derives an exact gradient algorithm of that per-step cost that runs forward in time; we train by
backpropagation through time with autograd (the same gradient, memory linear in the sequence
length), and the soft address match is our choice.

**Modern SRWM** -- K. Irie, I. Schlag, R. Csordas, J. Schmidhuber, "A modern self-referential
weight matrix that learns to modify itself", ICML 2022.  Per head one matrix ``W_{t-1}`` maps
``x_t`` to the output ``y_t``, a query ``q_t``, a key ``k_t`` and four learning rates ``beta_t``::

    [y_t, q_t, k_t, beta_t] = W_{t-1} x_t ;  q_t, k_t <- softmax ;  beta_t <- sigmoid
    v_t = W_{t-1} k_t ;  v^_t = W_{t-1} q_t          (the matrix queries itself)
    W_t = W_{t-1} + sigma(beta_t) (v^_t - v_t) k_t^T   (beta_t[i] for the i-th block of rows)

so every block -- including the one that emits the learning rates -- is rewritten at run time.
``W_0`` is a trained parameter.

Glossary: ``W`` the self-referential matrix; ``adr`` connection addresses; ``ana``/``mod``
analysis/modification addresses; ``val`` the analysed weight value; ``delta`` the modification
value; ``eval`` the error-observing inputs; ``beta`` the self-invented learning rates.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class ModernSRWM(nn.Module):
    """Multi-head modern SRWM layer: ``forward(x, state) -> (y, state)``.

    ``x: (B, T, d_in)`` -> input projection -> ``H`` heads of size ``d`` -> each head's
    self-referential matrix ``(3 d + 4, d)`` -> output projection -> ``y: (B, T, d_out)``.
    ``state``: the heads' current matrices ``(B, H, 3 d + 4, d)`` (``W_0`` when ``None``).
    ``in_proj=False`` (the authors' few-shot layer) splits ``x`` itself into the heads (then
    ``d_in`` must be ``H d``): the self-referential matrices are the layer's only input weights;
    ``out_bias=False`` drops the output projection's bias, as there.
    """

    block: Tensor

    def __init__(self, d_in: int, d_out: int, *, n_heads: int = 1, d_head: int = 16,
                 in_proj: bool = True, out_bias: bool = True) -> None:
        super().__init__()
        self.n_heads, self.d_head = n_heads, d_head
        self.rows = 3 * d_head + 4
        if not in_proj and d_in != n_heads * d_head:
            raise ValueError(f"without an input projection d_in ({d_in}) must be n_heads * "
                             f"d_head ({n_heads * d_head})")
        self.inp: nn.Module = (nn.Linear(d_in, n_heads * d_head, bias=False) if in_proj
                               else nn.Identity())
        self.W0 = nn.Parameter(torch.randn(n_heads, self.rows, d_head) / math.sqrt(d_head))
        self.out = nn.Linear(n_heads * d_head, d_out, bias=out_bias)
        d = d_head
        block = torch.tensor([0] * d + [1] * d + [2] * d + [3] * 4)
        self.register_buffer("block", block, persistent=False)

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B, T, _ = x.shape
        H, d = self.n_heads, self.d_head
        xs = self.inp(x).view(B, T, H, d)
        W = self.W0.expand(B, H, self.rows, d) if state is None else state
        ys = []
        for t in range(T):
            xt = xs[:, t]
            out = torch.einsum("bhrd,bhd->bhr", W, xt)
            y, q, k, b = out.split([d, d, d, 4], dim=-1)
            q, k, b = torch.softmax(q, -1), torch.softmax(k, -1), torch.sigmoid(b)
            v_k = torch.einsum("bhrd,bhd->bhr", W, k)
            v_q = torch.einsum("bhrd,bhd->bhr", W, q)
            lr = b[..., self.block]  # (B, H, rows): one learning rate per block of rows
            W = W + (lr * (v_q - v_k))[..., :, None] * k[..., None, :]
            ys.append(y)
        y_all = torch.stack(ys, dim=1).reshape(B, T, H * d)
        return self.out(y_all), W


def soft_address(p: Tensor, adr: Tensor) -> Tensor:
    """``g(p, adr_c) = prod_b (p_b if adr_cb else 1 - p_b)`` for all connections ``c``.

    ``p: (B, a)`` in (0, 1), ``adr: (n_conn, a)`` in {0, 1}; returns ``(B, n_conn)``, which sums
    to 1 over all ``2^a`` addresses (so over ``n_conn <= 2^a`` connections to at most 1).
    """
    eps = 1e-6
    lp, lq = torch.log(p.clamp(eps, 1 - eps)), torch.log1p(-p.clamp(eps, 1 - eps))
    return torch.exp(lp @ adr.T + lq @ (1 - adr).T)


class SRWM1993(nn.Module):
    """The 1993 self-referential weight matrix; see the module docstring.

    ``forward(x, y_prev, state) -> (y, state)``: ``x: (B, T, n_in)``; ``y_prev: (B, T, n_out)``
    the ``eval`` inputs (the previous step's target, zeros where none); ``y: (B, T, n_out)``.
    ``state = (W, h, val)``: the per-sequence weight matrix ``(B, n_nonin, n_src)``, the
    non-input units' activations ``(B, n_nonin)`` and the analysed value ``(B, 1)``.

    Units (columns of ``W``): ``[x, eval, val, bias, previous non-input activations]``; rows:
    ``[hidden (tanh), y (linear), ana (sigmoid), mod (sigmoid), delta (tanh * delta_scale)]``.
    """

    adr: Tensor

    def __init__(
        self, n_in: int, n_out: int, n_hidden: int = 8, delta_scale: float = 1.0
    ) -> None:
        super().__init__()
        self.n_in, self.n_out, self.n_hidden = n_in, n_out, n_hidden
        # the address width depends on the number of connections, which depends on it: iterate
        a = 1
        while True:
            n_nonin = n_hidden + n_out + 2 * a + 1
            n_src = n_in + n_out + 2 + n_nonin
            if 2**a >= n_nonin * n_src:
                break
            a += 1
        self.a, self.n_nonin, self.n_src = a, n_nonin, n_src
        self.n_conn = n_nonin * n_src
        self.delta_scale = delta_scale
        self.W0 = nn.Parameter(torch.randn(n_nonin, n_src) / math.sqrt(n_src))
        codes = torch.arange(self.n_conn)[:, None] >> torch.arange(a)[None, :] & 1
        self.register_buffer("adr", codes.float(), persistent=False)

    def _split(self, act: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        h, y, ana, mod, delta = act.split([self.n_hidden, self.n_out, self.a, self.a, 1], -1)
        return torch.tanh(h), y, torch.sigmoid(ana), torch.sigmoid(mod), \
            self.delta_scale * torch.tanh(delta)

    def forward(
        self, x: Tensor, y_prev: Tensor, state: tuple[Tensor, Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
        B, T, _ = x.shape
        if state is None:
            W = self.W0.expand(B, -1, -1)
            prev = x.new_zeros(B, self.n_nonin)
            val = x.new_zeros(B, 1)
        else:
            W, prev, val = state
        ones = x.new_ones(B, 1)
        adr = self.adr.to(x.dtype)
        ys = []
        for t in range(T):
            src = torch.cat([x[:, t], y_prev[:, t], val, ones, prev], dim=-1)
            act = torch.einsum("bij,bj->bi", W, src)
            h, y, ana, mod, delta = self._split(act)
            flat = W.reshape(B, self.n_conn)
            val = (flat * soft_address(ana, adr)).sum(-1, keepdim=True)  # analyse a weight
            flat = flat + delta * soft_address(mod, adr)  # modify a weight
            W = flat.view(B, self.n_nonin, self.n_src)
            prev = torch.cat([h, y, ana, mod, delta], dim=-1)
            ys.append(y)
        return torch.stack(ys, dim=1), (W, prev, val)
