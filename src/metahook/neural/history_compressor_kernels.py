"""Compiled forward and backward passes of :class:`metahook.neural.history_compressor.BatchedRNN`.

The automatizer and the conventional net run every raw step of every training sequence; as
PyTorch graphs their tiny matrices cost far more in per-operation overhead than in arithmetic.
These numba loops compute the same thing over preallocated float32 arrays (the parameters' own
memory, shared with torch): :func:`forward` unrolls ``runs`` sigmoid nets over a sequence,
:func:`backward` is BPTT cut every ``bptt`` steps (as :meth:`BatchedRNN.unroll` cuts its graph)
for the loss ``0.5 * sum(w * (y - target)**2)``. The PyTorch path (``unroll`` + autograd) is the
reference; ``tests/test_history_compressor.py`` holds them equal.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


@njit(cache=True)
def forward(w_ih: np.ndarray, w_hh: np.ndarray, b_h: np.ndarray, w_io: np.ndarray,
            w_ho: np.ndarray, b_o: np.ndarray, inp: np.ndarray, h0: np.ndarray,
            hid: np.ndarray, out: np.ndarray) -> None:
    """``hid`` (R, T, H) and ``out`` (R, T, O) of ``R`` nets on ``inp`` (R, T, I) from ``h0``."""
    R, T, n_in = inp.shape
    H = w_hh.shape[1]
    O = w_io.shape[2]
    for r in range(R):
        for t in range(T):
            for j in range(H):
                s = b_h[r, 0, j]
                for k in range(n_in):
                    if inp[r, t, k] != 0.0:
                        s += inp[r, t, k] * w_ih[r, k, j]
                for k in range(H):
                    hp = h0[r, k] if t == 0 else hid[r, t - 1, k]
                    s += hp * w_hh[r, k, j]
                hid[r, t, j] = _sig(s)
            for j in range(O):
                s = b_o[r, 0, j]
                for k in range(n_in):
                    if inp[r, t, k] != 0.0:
                        s += inp[r, t, k] * w_io[r, k, j]
                for k in range(H):
                    s += hid[r, t, k] * w_ho[r, k, j]
                out[r, t, j] = _sig(s)


@njit(cache=True)
def backward(w_hh: np.ndarray, w_ho: np.ndarray, inp: np.ndarray, h0: np.ndarray,
             hid: np.ndarray, out: np.ndarray, target: np.ndarray, weight: np.ndarray,
             bptt: int, g_ih: np.ndarray, g_hh: np.ndarray, g_bh: np.ndarray,
             g_io: np.ndarray, g_ho: np.ndarray, g_bo: np.ndarray, dh: np.ndarray) -> float:
    """Add to the ``g_*`` arrays the gradient of ``0.5 * sum(weight * (out - target)**2)``,
    errors flowing back through the state except across steps ``t`` with ``t % bptt == 0``
    (``bptt = 0``: never cut); the state before the sequence is a constant. ``dh`` (2 H,)
    is scratch space. Returns the loss."""
    R, T, n_in = inp.shape
    H = w_hh.shape[1]
    O = w_ho.shape[2]
    loss = 0.0
    for r in range(R):
        for k in range(H):
            dh[k] = 0.0
        for t in range(T - 1, -1, -1):
            for j in range(O):
                e = out[r, t, j] - target[r, t, j]
                w = weight[r, t, j]
                if w == 0.0:
                    continue
                loss += 0.5 * w * e * e
                g = w * e * out[r, t, j] * (1.0 - out[r, t, j])
                g_bo[r, 0, j] += g
                for k in range(n_in):
                    if inp[r, t, k] != 0.0:
                        g_io[r, k, j] += inp[r, t, k] * g
                for k in range(H):
                    g_ho[r, k, j] += hid[r, t, k] * g
                    dh[k] += g * w_ho[r, k, j]
            cut = t == 0 or (bptt > 0 and t % bptt == 0)
            # dh now holds dL/dh(t); turn it into the pre-activation gradient in place
            for j in range(H):
                dh[j] *= hid[r, t, j] * (1.0 - hid[r, t, j])
            for j in range(H):
                g = dh[j]
                g_bh[r, 0, j] += g
                for k in range(n_in):
                    if inp[r, t, k] != 0.0:
                        g_ih[r, k, j] += inp[r, t, k] * g
                for k in range(H):
                    hp = h0[r, k] if t == 0 else hid[r, t - 1, k]
                    g_hh[r, k, j] += hp * g
            if cut:
                for k in range(H):
                    dh[k] = 0.0
            else:  # dL/dh(t-1) from this step, through W_hh (built in the scratch's 2nd half)
                for k in range(H):
                    acc = 0.0
                    for j in range(H):
                        acc += w_hh[r, k, j] * dh[j]
                    dh[H + k] = acc
                for k in range(H):
                    dh[k] = dh[H + k]
    return loss
