"""Fast weight programmers: a slow net that programs the weights of a fast net, 1991 to 2025.

Papers:

- J. Schmidhuber, "Learning to control fast-weight memories: an alternative to dynamic recurrent
  networks", Neural Computation 4(1):131-139, 1992 (TR 1991).  A slow feed-forward net emits, at
  every step, two activation patterns FROM and TO; their outer product is *added* to the weight
  matrix of a fast net, which then processes the input: ``W_t = W_{t-1} + TO_t FROM_t^T``,
  ``y_t = W_t x_t``.
- J. Schmidhuber, "Reducing the ratio between learning complexity and number of time varying
  variables in fully recurrent nets", ICANN 1993.  A recurrent net whose O(H) outputs control the
  O(H^2) fast recurrent weights through outer products.
- J. Ba, G. Hinton, V. Mnih, J. Leibo, C. Ionescu, "Using fast weights to attend to the recent
  past", NIPS 2016.  ``A(t) = lam A(t-1) + eta h(t) h(t)^T``; the next hidden state settles in an
  inner loop ``h_{s+1} = f(LN(W h(t) + C x(t) + A(t) h_s))`` for S steps, ``h(t+1) = h_S``.
- I. Schlag, K. Irie, J. Schmidhuber, "Linear Transformers are secretly fast weight programmers",
  ICML 2021.  Linear attention is the sum rule ``S_t = S_{t-1} + phi(k_t) v_t^T``; the delta rule
  ``S_t = S_{t-1} + beta_t phi(k_t) (v_t - S_{t-1}^T phi(k_t))^T`` can edit what is stored; DPFP.
- S. Yang, B. Wang, Y. Zhang, Y. Shen, Y. Kim, "Parallelizing linear transformers with the delta
  rule over sequence length", NeurIPS 2024 (the chunkwise WY/UT form), and S. Yang, J. Kautz,
  A. Hatamizadeh, "Gated delta networks", ICLR 2025 (a decay ``alpha_t`` in front of the delta
  rule).

Conventions (row form, as in flash-linear-attention): tensors are ``(B, H, T, d)``; the state
``S`` is ``(B, H, d_k, d_v)``; the output is ``o_t = S_t^T q_t``; ``beta`` is ``(B, H, T)``;
``log_alpha`` (gated variants) is ``(B, H, T)`` with ``log_alpha <= 0``.

Every rule has a step-by-step reference (``*_recurrent``) and a chunkwise-parallel form
(``*_chunkwise``).  Chunkwise delta rule for one chunk of C tokens with incoming state S
(``g`` = cumulative log decay inside the chunk, 0 without gating)::

    A   = strict_tril(diag(beta) K K^T * exp(g_i - g_j))       # C x C
    T   = (I + A)^{-1} diag(beta)                              # the "UT transform"
    W   = T (exp(g) * K),  U = T V                             # WY representation
    U'  = U - W S                                              # the pseudo-values
    O   = (exp(g) * Q) S + (tril(Q K^T * exp(g_i - g_j))) U'
    S'  = exp(g_C) S + (exp(g_C - g) * K)^T U'

All chunk-local quantities are computed for every chunk at once; only the last three lines run
sequentially over the T/C chunks.

Glossary: ``W``/``S`` fast weights (state); ``k`` key (FROM), ``v`` value (TO), ``q`` query (the
fast net's input); ``beta`` the learning rate of the delta rule; ``alpha`` the decay of the gated
rule; ``phi`` the feature map (``d_dot`` its output size); ``lam``, ``eta`` Ba et al.'s decay and
fast learning rate; ``S`` (Ba) the number of inner settling steps.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

Rule = Literal["sum", "delta", "gated_delta"]
Kernel = Literal["recurrent", "chunkwise"]
FeatureMap = Literal["elu_sum", "l2", "identity", "dpfp1", "dpfp2", "dpfp3", "softmax"]

RULES: tuple[str, ...] = ("sum", "delta", "gated_delta")
KERNELS: tuple[str, ...] = ("recurrent", "chunkwise")
FEATURE_MAPS: tuple[str, ...] = ("elu_sum", "l2", "identity", "dpfp1", "dpfp2", "dpfp3", "softmax")


# --------------------------------------------------------------------------- feature maps
def dpfp(x: Tensor, nu: int) -> Tensor:
    """Deterministic parameter-free projection (Schlag et al. 2021): ``d -> 2 d nu``.

    ``r = [relu(x), relu(-x)]``; the features are ``r_i * r_{i+j mod 2d}`` for ``j = 1..nu``.
    """
    r = torch.cat([F.relu(x), F.relu(-x)], dim=-1)
    return torch.cat([r * torch.roll(r, shifts=j, dims=-1) for j in range(1, nu + 1)], dim=-1)


def feature_map(x: Tensor, kind: str) -> Tensor:
    """Apply ``phi`` of kind ``kind`` (see ``FEATURE_MAPS``) to the last dimension.

    ``elu_sum`` and ``dpfp*`` are sum-normalised as in Schlag et al. 2021, ``l2`` is the
    L2-normalised identity used by DeltaNet (Yang et al. 2024).
    """
    if kind == "identity":
        return x
    if kind == "l2":
        return F.normalize(x, p=2.0, dim=-1)
    if kind == "softmax":
        return torch.softmax(x, dim=-1)
    if kind == "elu_sum":
        phi = F.elu(x) + 1.0
    elif kind.startswith("dpfp") and kind[4:].isdigit():
        phi = dpfp(x, int(kind[4:]))
    else:
        raise ValueError(f"unknown feature map {kind!r}; valid: {', '.join(FEATURE_MAPS)}")
    return phi / phi.sum(dim=-1, keepdim=True).clamp_min(1e-6)


def feature_dim(d_key: int, kind: str) -> int:
    """``d_dot``: the size of ``phi(k)`` for keys of size ``d_key``."""
    if kind.startswith("dpfp"):
        return 2 * d_key * int(kind[4:])
    return d_key


# --------------------------------------------------------------------------- checks
def _check(q: Tensor, k: Tensor, v: Tensor, beta: Tensor | None, log_alpha: Tensor | None) -> None:
    if q.dim() != 4 or q.shape != k.shape or v.shape[:3] != k.shape[:3]:
        raise ValueError(
            f"expected q, k of shape (B, H, T, d_k) and v of shape (B, H, T, d_v); "
            f"got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    for name, t in (("beta", beta), ("log_alpha", log_alpha)):
        if t is not None and t.shape != k.shape[:3]:
            raise ValueError(f"{name} must have shape (B, H, T) = {tuple(k.shape[:3])}")


def _initial(S0: Tensor | None, k: Tensor, v: Tensor) -> Tensor:
    B, H, _, dk = k.shape
    if S0 is None:
        return k.new_zeros(B, H, dk, v.shape[-1])
    if S0.shape != (B, H, dk, v.shape[-1]):
        raise ValueError(f"initial state must have shape {(B, H, dk, v.shape[-1])}")
    return S0


# --------------------------------------------------------------------------- recurrent references
def sum_rule_recurrent(
    q: Tensor, k: Tensor, v: Tensor, initial_state: Tensor | None = None,
    log_alpha: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Sum rule (linear attention), one step at a time: ``S_t = a_t S_{t-1} + k_t v_t^T``."""
    _check(q, k, v, None, log_alpha)
    return _recurrent(q, k, v, None, initial_state, log_alpha)


def delta_rule_recurrent(
    q: Tensor, k: Tensor, v: Tensor, beta: Tensor, initial_state: Tensor | None = None,
    log_alpha: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Delta rule, one step at a time (the reference for :func:`delta_rule_chunkwise`).

    ``S <- a_t S``; ``v_old = S^T k_t``; ``S <- S + beta_t k_t (v_t - v_old)^T``; ``o_t = S^T q_t``.
    """
    _check(q, k, v, beta, log_alpha)
    return _recurrent(q, k, v, beta, initial_state, log_alpha)


def _recurrent(q: Tensor, k: Tensor, v: Tensor, beta: Tensor | None,
               initial_state: Tensor | None, log_alpha: Tensor | None) -> tuple[Tensor, Tensor]:
    """The step-by-step loop of both rules: the sum rule when ``beta`` is None."""
    S = _initial(initial_state, k, v)
    outs = []
    for t in range(q.shape[2]):
        if log_alpha is not None:
            S = S * log_alpha[:, :, t, None, None].exp()
        k_t = k[:, :, t]
        if beta is None:
            S = S + k_t[..., :, None] * v[:, :, t, None, :]
        else:
            v_old = torch.einsum("bhk,bhkv->bhv", k_t, S)
            delta = beta[:, :, t, None] * (v[:, :, t] - v_old)
            S = S + k_t[..., :, None] * delta[..., None, :]
        outs.append(torch.einsum("bhk,bhkv->bhv", q[:, :, t], S))
    return torch.stack(outs, dim=2), S


# --------------------------------------------------------------------------- chunkwise forms
def _chunk(x: Tensor, C: int) -> Tensor:
    """(B, H, T, ...) with T a multiple of C -> (B, H, T/C, C, ...)."""
    B, H, T = x.shape[:3]
    return x.reshape(B, H, T // C, C, *x.shape[3:])


def _pad_time(x: Tensor, pad: int) -> Tensor:
    if pad == 0:
        return x
    shape = list(x.shape)
    shape[2] = pad
    return torch.cat([x, x.new_zeros(shape)], dim=2)


def _chunkwise(
    q: Tensor, k: Tensor, v: Tensor, beta: Tensor | None, S0: Tensor | None,
    log_alpha: Tensor | None, C: int,
) -> tuple[Tensor, Tensor]:
    """Shared chunkwise engine; ``beta is None`` selects the sum rule."""
    _check(q, k, v, beta, log_alpha)
    if C < 1:
        raise ValueError("chunk_size must be >= 1")
    T = q.shape[2]
    S = _initial(S0, k, v)
    pad = (-T) % C
    # Padded steps have k = 0 and beta = 0 (no write) and log_alpha = 0 (no decay).
    q, k, v = (_pad_time(x, pad) for x in (q, k, v))
    qc, kc, vc = _chunk(q, C), _chunk(k, C), _chunk(v, C)
    idx = torch.arange(C, device=q.device)
    causal = idx[:, None] >= idx[None, :]
    if log_alpha is not None:
        g = _chunk(_pad_time(log_alpha, pad), C).cumsum(dim=-1)  # (B, H, N, C)
        diff = (g[..., :, None] - g[..., None, :]).masked_fill(~causal, -math.inf)
        decay = diff.exp()  # exp(g_i - g_j) for i >= j, else 0
        g_last = g[..., -1:]  # (B, H, N, 1)
        q_in = qc * g.exp()[..., None]
        k_in = kc * g.exp()[..., None]
        k_out = kc * (g_last - g).exp()[..., None]
        chunk_decay = g_last.squeeze(-1).exp()  # (B, H, N)
    else:
        decay = causal.to(q.dtype)
        q_in, k_in, k_out, chunk_decay = qc, kc, kc, None
    Aqk = (qc @ kc.transpose(-1, -2)) * decay  # tril incl. diagonal
    if beta is not None:
        bc = _chunk(_pad_time(beta, pad), C)  # (B, H, N, C)
        strict = decay * (~torch.eye(C, dtype=torch.bool, device=q.device))
        A = (kc @ kc.transpose(-1, -2)) * strict * bc[..., :, None]
        eye = torch.eye(C, dtype=q.dtype, device=q.device)
        Tm = torch.linalg.solve_triangular(eye + A, torch.diag_embed(bc), upper=False,
                                           unitriangular=True)
        W = Tm @ k_in
        U = Tm @ vc
    else:
        W, U = None, vc
    outs = []
    for n in range(qc.shape[2]):
        u = U[:, :, n] if W is None else U[:, :, n] - W[:, :, n] @ S
        outs.append(q_in[:, :, n] @ S + Aqk[:, :, n] @ u)
        if chunk_decay is not None:
            S = S * chunk_decay[:, :, n, None, None]
        S = S + k_out[:, :, n].transpose(-1, -2) @ u
    o = torch.stack(outs, dim=2).reshape(q.shape[0], q.shape[1], -1, v.shape[-1])
    return o[:, :, :T], S


def sum_rule_chunkwise(
    q: Tensor, k: Tensor, v: Tensor, initial_state: Tensor | None = None,
    log_alpha: Tensor | None = None, chunk_size: int = 64,
) -> tuple[Tensor, Tensor]:
    """Chunkwise-parallel sum rule; equal to :func:`sum_rule_recurrent`."""
    return _chunkwise(q, k, v, None, initial_state, log_alpha, chunk_size)


def delta_rule_chunkwise(
    q: Tensor, k: Tensor, v: Tensor, beta: Tensor, initial_state: Tensor | None = None,
    log_alpha: Tensor | None = None, chunk_size: int = 64,
) -> tuple[Tensor, Tensor]:
    """Chunkwise-parallel (gated) delta rule; equal to :func:`delta_rule_recurrent`."""
    return _chunkwise(q, k, v, beta, initial_state, log_alpha, chunk_size)


def fast_weight_attention(
    rule: str, kernel: str, q: Tensor, k: Tensor, v: Tensor, beta: Tensor | None = None,
    log_alpha: Tensor | None = None, initial_state: Tensor | None = None, chunk_size: int = 64,
) -> tuple[Tensor, Tensor]:
    """Dispatch on ``rule`` (sum | delta | gated_delta) and ``kernel`` (recurrent | chunkwise)."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; valid: {', '.join(RULES)}")
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; valid: {', '.join(KERNELS)}")
    if rule == "gated_delta" and log_alpha is None:
        raise ValueError("the gated delta rule needs log_alpha")
    if rule != "sum" and beta is None:
        raise ValueError(f"the {rule} rule needs beta")
    if rule == "sum":
        if kernel == "recurrent":
            return sum_rule_recurrent(q, k, v, initial_state, log_alpha)
        return sum_rule_chunkwise(q, k, v, initial_state, log_alpha, chunk_size)
    assert beta is not None
    la = log_alpha if rule == "gated_delta" else None
    if kernel == "recurrent":
        return delta_rule_recurrent(q, k, v, beta, initial_state, la)
    return delta_rule_chunkwise(q, k, v, beta, initial_state, la, chunk_size)


# --------------------------------------------------------------------------- modules
class FastWeightLayer(nn.Module):
    """Multi-head fast weight layer: linear attention, DeltaNet or gated DeltaNet.

    ``forward(x, state) -> (y, state)`` with ``x: (B, T, d_in)``, ``y: (B, T, d_out)`` and
    ``state: (B, H, d_dot, d_head)`` (the fast weights; zeros when ``None``).  Keys and queries go
    through ``phi``; ``beta_t = sigmoid(W_beta x_t)``; gated: ``alpha_t = sigmoid(W_alpha x_t)``.
    """

    def __init__(
        self, d_in: int, d_out: int, *, n_heads: int = 1, d_head: int = 32,
        rule: str = "delta", feature: str = "l2", kernel: str = "chunkwise",
        chunk_size: int = 64,
    ) -> None:
        super().__init__()
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; valid: {', '.join(RULES)}")
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; valid: {', '.join(KERNELS)}")
        if feature not in FEATURE_MAPS:
            raise ValueError(f"unknown feature map {feature!r}; valid: {', '.join(FEATURE_MAPS)}")
        self.rule, self.feature, self.kernel, self.chunk_size = rule, feature, kernel, chunk_size
        self.n_heads, self.d_head = n_heads, d_head
        self.d_dot = feature_dim(d_head, feature)
        self.qkv = nn.Linear(d_in, 3 * n_heads * d_head, bias=False)
        self.beta = nn.Linear(d_in, n_heads) if rule != "sum" else None
        self.alpha = nn.Linear(d_in, n_heads) if rule == "gated_delta" else None
        self.out = nn.Linear(n_heads * d_head, d_out)

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B, T, _ = x.shape
        H, D = self.n_heads, self.d_head
        q, k, v = self.qkv(x).view(B, T, 3, H, D).permute(2, 0, 3, 1, 4)
        q, k = feature_map(q, self.feature), feature_map(k, self.feature)
        beta = torch.sigmoid(self.beta(x)).transpose(1, 2) if self.beta is not None else None
        log_alpha = F.logsigmoid(self.alpha(x)).transpose(1, 2) if self.alpha is not None else None
        o, S = fast_weight_attention(self.rule, self.kernel, q, k, v, beta, log_alpha, state,
                                     self.chunk_size)
        return self.out(o.transpose(1, 2).reshape(B, T, H * D)), S


class LinearAttention(FastWeightLayer):
    """Linear attention = the sum rule of Schlag et al. 2021 (ELU+1, sum-normalised)."""

    def __init__(self, d_in: int, d_out: int, **kw: object) -> None:
        kw.setdefault("feature", "elu_sum")
        super().__init__(d_in, d_out, rule="sum", **kw)  # type: ignore[arg-type]


class DeltaNet(FastWeightLayer):
    """DeltaNet: the delta rule with a learned, input-dependent ``beta``."""

    def __init__(self, d_in: int, d_out: int, **kw: object) -> None:
        super().__init__(d_in, d_out, rule="delta", **kw)  # type: ignore[arg-type]


class GatedDeltaNet(FastWeightLayer):
    """Gated DeltaNet: a learned decay ``alpha_t`` in front of the delta rule."""

    def __init__(self, d_in: int, d_out: int, **kw: object) -> None:
        super().__init__(d_in, d_out, rule="gated_delta", **kw)  # type: ignore[arg-type]


class FastWeightProgrammer1992(nn.Module):
    """Schmidhuber 1992: a slow feed-forward net writes additive outer products into a fast net.

    At step t the slow net maps ``x_t`` to FROM (size ``d_in``) and TO (size ``d_out``) patterns,
    ``W_t = W_{t-1} + TO_t FROM_t^T`` and the fast net answers ``y_t = W_t x_t``.  ``state`` is
    the fast net's weight matrix ``(B, d_out, d_in)`` (zeros when ``None``).
    """

    def __init__(self, d_in: int, d_out: int, d_slow: int = 32) -> None:
        super().__init__()
        self.slow = nn.Sequential(nn.Linear(d_in, d_slow), nn.Tanh(),
                                  nn.Linear(d_slow, d_in + d_out))
        self.d_in, self.d_out = d_in, d_out
        self.kernel: str = "chunkwise"

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B = x.shape[0]
        patterns = torch.tanh(self.slow(x))
        frm, to = patterns[..., : self.d_in], patterns[..., self.d_in:]
        S0 = None if state is None else state.transpose(1, 2)[:, None]
        q, k, v = x[:, None], frm[:, None], to[:, None]
        if self.kernel == "recurrent":
            o, S = sum_rule_recurrent(q, k, v, S0)
        else:
            o, S = sum_rule_chunkwise(q, k, v, S0)
        return o[:, 0], S[:, 0].transpose(1, 2).reshape(B, self.d_out, self.d_in)


def _hidden_and_fast_weights(x: Tensor, d_hidden: int, state: tuple[Tensor, Tensor] | None
                             ) -> tuple[Tensor, Tensor]:
    """``state`` = (hidden state (B, H), fast weights (B, H, H)), zeros when None."""
    if state is not None:
        return state
    B = x.shape[0]
    return x.new_zeros(B, d_hidden), x.new_zeros(B, d_hidden, d_hidden)


class OuterProductRNN1993(nn.Module):
    """Schmidhuber 1993: a recurrent net whose O(H) outputs program its O(H^2) recurrent weights.

    ``h_t = tanh(U x_t + (R + F_{t-1}) h_{t-1} + b)``,
    ``F_t = F_{t-1} + tanh(P h_t) tanh(Q h_t)^T``, ``y_t = V h_t``.  ``state = (h, F)``.
    """

    def __init__(self, d_in: int, d_hidden: int, d_out: int) -> None:
        super().__init__()
        self.inp = nn.Linear(d_in, d_hidden)
        self.rec = nn.Linear(d_hidden, d_hidden, bias=False)
        self.to_from = nn.Linear(d_hidden, 2 * d_hidden, bias=False)
        self.readout = nn.Linear(d_hidden, d_out)
        self.d_hidden = d_hidden

    def forward(
        self, x: Tensor, state: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        T = x.shape[1]
        h, Fw = _hidden_and_fast_weights(x, self.d_hidden, state)
        ux = self.inp(x)
        hs = []
        for t in range(T):
            h = torch.tanh(ux[:, t] + self.rec(h) + torch.einsum("bij,bj->bi", Fw, h))
            to, frm = torch.tanh(self.to_from(h)).chunk(2, dim=-1)
            Fw = Fw + to[:, :, None] * frm[:, None, :]
            hs.append(h)
        return self.readout(torch.stack(hs, dim=1)), (h, Fw)


class BaFastWeights(nn.Module):
    """Ba et al. 2016: a recurrent net with a decaying Hebbian fast memory and inner settling loop.

    ``A(t) = lam A(t-1) + eta h(t) h(t)^T``;
    ``h_0 = f(W h(t) + C x(t))``, ``h_{s+1} = f(LN(W h(t) + C x(t) + A(t) h_s))`` for ``s < S``,
    ``h(t+1) = h_S``; ``f`` is ReLU.  ``state = (h, A)``.
    """

    def __init__(
        self, d_in: int, d_hidden: int, d_out: int, *, lam: float = 0.95, eta: float = 0.5,
        inner_steps: int = 1, layer_norm: bool = True,
    ) -> None:
        super().__init__()
        self.W = nn.Linear(d_hidden, d_hidden, bias=False)
        self.C = nn.Linear(d_in, d_hidden)
        self.ln = nn.LayerNorm(d_hidden) if layer_norm else nn.Identity()
        self.readout = nn.Linear(d_hidden, d_out)
        self.lam, self.eta, self.inner_steps, self.d_hidden = lam, eta, inner_steps, d_hidden
        with torch.no_grad():  # IRNN-style start: identity recurrent weights scaled down
            self.W.weight.copy_(0.05 * torch.eye(d_hidden))

    def forward(
        self, x: Tensor, state: tuple[Tensor, Tensor] | None = None, form: str = "auto"
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``form``: ``matrix`` keeps ``A`` as a (B, H, H) tensor; ``attention`` never builds it
        inside the sequence and computes ``A(t) h_s`` as ``eta sum_tau lam^(t-tau) h(tau)
        (h(tau) . h_s)`` over the stored hidden states (cheaper while T < H); ``auto`` picks."""
        if form == "auto":
            form = "attention" if x.shape[1] <= self.d_hidden else "matrix"
        if form == "attention":
            return self._forward_attention(x, state)
        if form != "matrix":
            raise ValueError(f"unknown form {form!r}; valid: auto, matrix, attention")
        T = x.shape[1]
        h, A = _hidden_and_fast_weights(x, self.d_hidden, state)
        cx = self.C(x)
        hs = []
        for t in range(T):
            A = self.lam * A + self.eta * h[:, :, None] * h[:, None, :]
            z = self.W(h) + cx[:, t]
            hs_ = F.relu(z)
            for _ in range(self.inner_steps):
                hs_ = F.relu(self.ln(z + torch.einsum("bij,bj->bi", A, hs_)))
            h = hs_
            hs.append(h)
        return self.readout(torch.stack(hs, dim=1)), (h, A)

    def _forward_attention(
        self, x: Tensor, state: tuple[Tensor, Tensor] | None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        B, T, _ = x.shape
        Hd = self.d_hidden
        h = x.new_zeros(B, Hd) if state is None else state[0]
        A0 = None if state is None else state[1]
        lam, eta = self.lam, self.eta
        cx = self.C(x)
        # decay weights eta lam^(T-1) .. eta lam^0; step t uses the last t+1 of them
        w_all = eta * lam ** torch.arange(T - 1, -1, -1, dtype=x.dtype, device=x.device)
        hist = [h]  # h(-1) .. h(t-1): the states stored in A(t)
        for t in range(T):
            P = torch.stack(hist, dim=1)  # (B, t+1, H)
            w = w_all[T - 1 - t :]
            z = self.W(h) + cx[:, t]
            hs_ = F.relu(z)
            for _ in range(self.inner_steps):
                # products and sums rather than batched matmuls: these matrices are tiny, and
                # elementwise ops are ~1.4x faster here (forward + backward) than bmm's
                dots = (P * hs_[:, None, :]).sum(-1) * w  # (B, t+1)
                Ah = (P * dots[:, :, None]).sum(1)
                if A0 is not None:
                    Ah = Ah + lam ** (t + 1) * torch.einsum("bij,bj->bi", A0, hs_)
                hs_ = F.relu(self.ln(z + Ah))
            h = hs_
            hist.append(h)
        P = torch.stack(hist[:-1], dim=1)  # the states in A(T-1), the last one used
        A = torch.einsum("bk,bki,bkj->bij", w_all.expand(B, T), P, P)
        if A0 is not None:
            A = A + lam**T * A0
        return self.readout(torch.stack(hist[1:], dim=1)), (h, A)
