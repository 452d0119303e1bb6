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
    """``hid`` (R, T, H) and ``out`` (R, T, O) of ``R`` nets on ``inp`` (R, T, I) from ``h0``.
    Each unit sums its bias, its nonzero inputs and the state in index order."""
    R, T, n_in = inp.shape
    nz = np.empty(n_in, np.int64)
    for r in range(R):
        for t in range(T):
            n_nz = _nonzero(inp[r, t], nz)
            hp = h0[r] if t == 0 else hid[r, t - 1]
            _hidden(w_ih, w_hh, b_h, r, inp[r, t], nz, n_nz, hp, hid[r, t])
            _output(w_io, w_ho, b_o, r, inp[r, t], nz, n_nz, hid[r, t], out[r, t])


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
    nz = np.empty(n_in, np.int64)
    gv = np.empty(O, np.float64)
    on = np.empty(O, np.bool_)
    loss = 0.0
    for r in range(R):
        for k in range(H):
            dh[k] = 0.0
        for t in range(T - 1, -1, -1):
            n_nz = _nonzero(inp[r, t], nz)
            any_on = False
            for j in range(O):
                e = out[r, t, j] - target[r, t, j]
                w = weight[r, t, j]
                on[j] = w != 0.0
                if not on[j]:
                    gv[j] = 0.0
                    continue
                any_on = True
                loss += 0.5 * w * e * e
                gv[j] = w * e * out[r, t, j] * (1.0 - out[r, t, j])
            if any_on:
                for j in range(O):
                    if on[j]:
                        g_bo[r, 0, j] += gv[j]
                for a in range(n_nz):
                    k = nz[a]
                    v = inp[r, t, k]
                    for j in range(O):
                        if on[j]:
                            g_io[r, k, j] += v * gv[j]
                for k in range(H):
                    hk = hid[r, t, k]
                    acc = dh[k]
                    for j in range(O):
                        if on[j]:
                            g_ho[r, k, j] += hk * gv[j]
                            acc += gv[j] * w_ho[r, k, j]
                    dh[k] = acc
            cut = t == 0 or (bptt > 0 and t % bptt == 0)
            # dh now holds dL/dh(t); turn it into the pre-activation gradient in place
            for j in range(H):
                dh[j] *= hid[r, t, j] * (1.0 - hid[r, t, j])
            for j in range(H):
                g_bh[r, 0, j] += dh[j]
            for a in range(n_nz):
                k = nz[a]
                v = inp[r, t, k]
                for j in range(H):
                    g_ih[r, k, j] += v * dh[j]
            for k in range(H):
                hp = h0[r, k] if t == 0 else hid[r, t - 1, k]
                for j in range(H):
                    g_hh[r, k, j] += hp * dh[j]
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


# ---------------------------------------------------------------------------- the chunkers
# HistoryCompressor's levels >= 1 take an input only where the level below failed, one raw step
# at a time; in PyTorch that is a dozen tiny tensor operations (and an autograd graph) per level
# and step. :func:`chunkers` does a whole piece of raw steps for every run at once, in the order
# :meth:`HistoryCompressor._chunkers` does (the PyTorch reference), over the levels' own arrays.


@njit(cache=True)
def _nonzero(inp: np.ndarray, idx: np.ndarray) -> int:
    """The indices of ``inp``'s nonzero entries into ``idx``; returns their number."""
    n = 0
    for k in range(inp.shape[0]):
        if inp[k] != 0.0:
            idx[n] = k
            n += 1
    return n


@njit(cache=True)
def _hidden(w_ih: np.ndarray, w_hh: np.ndarray, b_h: np.ndarray, r: int, inp: np.ndarray,
            nz: np.ndarray, n_nz: int, h: np.ndarray, out: np.ndarray) -> None:
    """Run ``r``'s new hidden state from input ``inp`` (nonzero at ``nz[:n_nz]``) and state
    ``h`` into ``out``: per unit the bias, then the inputs, then the state, in index order."""
    H = out.shape[0]
    for j in range(H):
        out[j] = b_h[r, 0, j]
    for a in range(n_nz):
        k = nz[a]
        v = inp[k]
        for j in range(H):
            out[j] += v * w_ih[r, k, j]
    for k in range(H):
        v = h[k]
        for j in range(H):
            out[j] += v * w_hh[r, k, j]
    for j in range(H):
        out[j] = _sig(out[j])


@njit(cache=True)
def _output(w_io: np.ndarray, w_ho: np.ndarray, b_o: np.ndarray, r: int, inp: np.ndarray,
            nz: np.ndarray, n_nz: int, h: np.ndarray, out: np.ndarray) -> None:
    """Run ``r``'s outputs from input ``inp`` (nonzero at ``nz[:n_nz]``) and the new hidden
    state ``h`` into ``out``."""
    O = out.shape[0]
    for j in range(O):
        out[j] = b_o[r, 0, j]
    for a in range(n_nz):
        k = nz[a]
        v = inp[k]
        for j in range(O):
            out[j] += v * w_io[r, k, j]
    for k in range(h.shape[0]):
        v = h[k]
        for j in range(O):
            out[j] += v * w_ho[r, k, j]
    for j in range(O):
        out[j] = _sig(out[j])


@njit(cache=True)
def chunkers(w: list, g: list, bufs: list, st: list, seen: list, inp: np.ndarray,
             tcode: np.ndarray, x: np.ndarray, d: np.ndarray, fx0: np.ndarray,
             fd0: np.ndarray, busy: np.ndarray, dm_any: np.ndarray, a_pred: np.ndarray,
             tp_valid: np.ndarray, learn: bool, distill: bool, scales: np.ndarray,
             tol: np.float32, thr: np.float32, masks: np.ndarray, sys_ans: np.ndarray,
             states0: np.ndarray, events: np.ndarray) -> None:
    """Levels ``1 .. k-1`` over a piece of ``T`` raw steps of ``R`` runs (``q = l - 1``).

    Per level ``q``: ``w[6q:6q+6]`` its weights (``w_ih, w_hh, b_h, w_io, w_ho, b_o``),
    ``g[6q:6q+6]`` their gradients (added to), ``bufs[q]`` its last ``bptt`` inputs (R, B, I),
    ``st[4q:4q+4]`` its stored state before the buffer, state, outputs and distillation target
    (R, .), ``seen[q]`` its inputs so far (R,); all updated in place. ``inp`` (R, T, n_pred) A's
    inputs, ``tcode`` (T, n_time) the time code, ``x``, ``d`` the normal inputs and targets,
    ``fx0``, ``fd0`` (R, T) A's failures, ``busy`` the steps where any run's A failed or a
    target is present, ``dm_any`` those with a target, ``a_pred`` (R, T, n_d) A's target
    predictions. ``tp_valid[q]``: level ``q`` has a distillation target (set on its first
    busy step). Out: ``masks`` (k-1, R, T), ``sys_ans`` (R, T, n_d) at ``dm_any`` steps,
    ``states0`` (R, T, S_1) level 1's state after each step (when ``distill``), ``events``
    (k-1,) inputs per level. Each input: the error of the level's last prediction, recomputed
    from its buffer (BPTT over the ``bptt`` buffered steps, times ``scales[q]``), then its
    failure (``tol``) with its stored outputs, then the input taken.
    """
    nq = len(bufs)
    R, T, n_pred = inp.shape
    n_d = d.shape[2]
    n_x = n_pred - n_d
    half = np.float32(0.5)
    hmax = 1
    imax = 1
    omax = 1
    for q in range(nq):
        hmax = max(hmax, w[6 * q + 1].shape[1])
        imax = max(imax, w[6 * q].shape[1])
        omax = max(omax, w[6 * q + 3].shape[2])
    bmax = bufs[0].shape[1]
    hs = np.empty((bmax + 1, hmax), np.float32)
    dh = np.empty(2 * hmax, np.float32)
    yv = np.empty(omax, np.float32)
    gv = np.empty(omax, np.float32)
    vin = np.empty(imax, np.float32)
    tmp = np.empty(hmax, np.float32)
    nzs = np.empty((bmax + 1, imax), np.int64)  # nonzero inputs of the buffer rows, the input
    nns = np.zeros(bmax + 1, np.int64)
    valid0 = tp_valid.copy()
    valid = np.empty(nq, np.bool_)
    for r in range(R):
        for q in range(nq):
            valid[q] = valid0[q]
        for t in range(T):
            if busy[t]:
                if dm_any[t]:  # the system's answer: the lowest confident level, else the top
                    chosen = -1
                    for c in range(nq):
                        ok = True
                        for u in range(n_d):
                            p = a_pred[r, t, u] if c == 0 else st[4 * (c - 1) + 2][r, n_x + u]
                            if not abs(p - half) >= thr:
                                ok = False
                        if ok:
                            chosen = c
                            break
                    for u in range(n_d):
                        if chosen == 0:
                            sys_ans[r, t, u] = a_pred[r, t, u]
                        elif chosen > 0:
                            sys_ans[r, t, u] = st[4 * (chosen - 1) + 2][r, n_x + u]
                        else:
                            sys_ans[r, t, u] = st[4 * (nq - 1) + 2][r, n_x + u]
                mask = fx0[r, t] or fd0[r, t]
                dvalid = fd0[r, t]
                for q in range(nq):
                    masks[q, r, t] = mask
                    if not mask:
                        continue
                    w_ih, w_hh, b_h = w[6 * q], w[6 * q + 1], w[6 * q + 2]
                    w_io, w_ho, b_o = w[6 * q + 3], w[6 * q + 4], w[6 * q + 5]
                    buf = bufs[q]
                    base, h, y, tp = st[4 * q], st[4 * q + 1], st[4 * q + 2], st[4 * q + 3]
                    B = buf.shape[1]
                    n_in = buf.shape[2]
                    H = w_hh.shape[1]
                    O = w_io.shape[2]
                    events[q] += 1
                    for k in range(n_pred):
                        vin[k] = inp[r, t, k]
                    for k in range(n_in - n_pred):
                        vin[n_pred + k] = tcode[t, k]
                    v = vin[:n_in]
                    for j in range(B):
                        nns[j] = _nonzero(buf[r, j], nzs[j])
                    nns[B] = _nonzero(v, nzs[B])
                    if learn and seen[q][r] > 0:
                        # the prediction made at the last input, recomputed over the buffer
                        for k in range(H):
                            hs[0, k] = base[r, k]
                        for j in range(B):
                            _hidden(w_ih, w_hh, b_h, r, buf[r, j], nzs[j], nns[j], hs[j, :H],
                                    hs[j + 1, :H])
                        _output(w_io, w_ho, b_o, r, buf[r, B - 1], nzs[B - 1], nns[B - 1],
                                hs[B, :H], yv[:O])
                        use_tp = distill and valid[q] and q + 1 < nq
                        sc = scales[q]
                        g_ih, g_hh, g_bh = g[6 * q], g[6 * q + 1], g[6 * q + 2]
                        g_io, g_ho, g_bo = g[6 * q + 3], g[6 * q + 4], g[6 * q + 5]
                        last = buf[r, B - 1]
                        for o in range(O):  # the outputs' pre-activation gradients
                            if o < n_x:
                                e = yv[o] - x[r, t, o]
                            elif o < n_pred:
                                e = yv[o] - d[r, t, o - n_x] if dvalid else np.float32(0.0)
                            else:
                                e = yv[o] - tp[r, o - n_pred] if use_tp else np.float32(0.0)
                            gv[o] = sc * e * yv[o] * (1.0 - yv[o])
                        for o in range(O):
                            g_bo[r, 0, o] += gv[o]
                        for a in range(nns[B - 1]):
                            k = nzs[B - 1, a]
                            for o in range(O):
                                g_io[r, k, o] += last[k] * gv[o]
                        for k in range(H):
                            hk = hs[B, k]
                            acc = np.float32(0.0)
                            for o in range(O):
                                g_ho[r, k, o] += hk * gv[o]
                                acc += gv[o] * w_ho[r, k, o]
                            dh[k] = acc
                        for j in range(B, 0, -1):
                            for m in range(H):
                                dh[m] *= hs[j, m] * (1.0 - hs[j, m])
                            bj = buf[r, j - 1]
                            for m in range(H):
                                g_bh[r, 0, m] += dh[m]
                            for a in range(nns[j - 1]):
                                k = nzs[j - 1, a]
                                for m in range(H):
                                    g_ih[r, k, m] += bj[k] * dh[m]
                            for k in range(H):
                                hk = hs[j - 1, k]
                                for m in range(H):
                                    g_hh[r, k, m] += hk * dh[m]
                            if j > 1:
                                for k in range(H):
                                    acc = np.float32(0.0)
                                    for m in range(H):
                                        acc += w_hh[r, k, m] * dh[m]
                                    dh[hmax + k] = acc
                                for k in range(H):
                                    dh[k] = dh[hmax + k]
                    # its failure, judged by the outputs stored at its last input
                    fx = False
                    for o in range(n_x):
                        if abs(y[r, o] - x[r, t, o]) >= tol:
                            fx = True
                    fd = False
                    if dvalid:
                        for o in range(n_d):
                            if abs(y[r, n_x + o] - d[r, t, o]) >= tol:
                                fd = True
                    # take the input: advance the stored state, shift the buffer, step
                    if seen[q][r] >= B:
                        _hidden(w_ih, w_hh, b_h, r, buf[r, 0], nzs[0], nns[0], base[r], tmp[:H])
                        for k in range(H):
                            base[r, k] = tmp[k]
                    for j in range(B - 1):
                        for k in range(n_in):
                            buf[r, j, k] = buf[r, j + 1, k]
                    for k in range(n_in):
                        buf[r, B - 1, k] = v[k]
                    _hidden(w_ih, w_hh, b_h, r, v, nzs[B], nns[B], h[r], tmp[:H])
                    for k in range(H):
                        h[r, k] = tmp[k]
                    _output(w_io, w_ho, b_o, r, v, nzs[B], nns[B], h[r], y[r])
                    seen[q][r] += 1
                    mask = fx or fd
                    dvalid = fd
                if distill:  # each chunker's distillation target: the state above, now
                    for q in range(nq - 1):
                        if masks[q, r, t] or not valid[q]:
                            h2, y2 = st[4 * (q + 1) + 1], st[4 * (q + 1) + 2]
                            tp = st[4 * q + 3]
                            H2 = h2.shape[1]
                            for k in range(H2):
                                tp[r, k] = h2[r, k]
                            for k in range(n_pred):
                                tp[r, H2 + k] = y2[r, k]
                            valid[q] = True
            if distill:
                h1, y1 = st[1], st[2]
                H1 = h1.shape[1]
                for k in range(H1):
                    states0[r, t, k] = h1[r, k]
                for k in range(n_pred):
                    states0[r, t, H1 + k] = y1[r, k]
    anybusy = False
    for t in range(T):
        if busy[t]:
            anybusy = True
    if anybusy and distill:
        for q in range(nq - 1):
            tp_valid[q] = True
