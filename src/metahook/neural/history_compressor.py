"""The neural history compressor: an automatizer A, chunkers above it, and the collapse into A.

Schmidhuber, "Learning complex, extended sequences using the principle of history compression",
Neural Computation 4(2):234-242 (1992); TR FKI-148-91 "Neural sequence chunkers" (1991); the
2-net system's details: people.idsia.ch/~juergen/chunker/node6.html, its three error terms:
people.idsia.ch/~juergen/nipschunker/node4.html.

Glossary (the paper's Table 1): ``x(t)`` the normal input (local, one unit per symbol), ``d(t)``
the teacher's target (zero when there is none, ``delta_d(t)`` says whether there is one),
``i_A(t) = x(t) o d(t)`` A's input; ``p_A``, ``d_A`` A's predictions of its next normal input and
next target; ``h_C`` C's hidden units, ``p_C``, ``d_C`` C's predictions; ``time(t)`` a unique
representation of the time step, fed to C beside the unpredicted input.

The algorithm, per time step ``t`` (every level is a recurrent net; level 0 is A):

1. Level 0 sees ``i(t)``. It *fails* when the prediction it made at ``t - 1`` misses ``x(t)`` (some
   unit off by ``tol`` or more) or misses a present target ``d(t)``.
2. Only then ``i(t)`` (with ``time(t)``) goes up to level 1: level 1 is first trained on the error
   of the prediction it made at its previous input (many raw steps ago), then updates its state.
   Level 1 fails in the same way, and so on up the stack: each level sees only what the levels
   below could not predict, a reduced description of the history.
3. Every level but the top one has extra outputs that are trained to equal the state (hidden and
   prediction units) of the level above: A's third error term, the *distillation* term. A level
   that learns it carries, step by step, what the level above knows, so it can in the end
   predict by itself what once only the level above could ("collapsing" the hierarchy).

Error terms of level ``l``: its next input's normal part; the target part when a target is there
and (for ``l > 0``) the level below failed on it; the state of level ``l + 1`` (distillation).
Each level is trained by BPTT truncated to ``bptt`` of *its own* steps (the paper's "error was
propagated a maximum of 3 steps into the past"): level 0 cuts its graph every ``bptt`` steps;
higher levels recompute their last ``bptt`` steps from a stored state whenever an input comes.
Weights change by plain gradient descent once per training sequence.

Nets are sigmoid, fully connected as the paper's section on the 2-net system describes: inputs to
hidden and output units, hidden to hidden and output units, plus biases. ``runs`` independent
systems are computed side by side as one batched tensor computation (per-run weight matrices,
``torch.bmm``), so 17 runs cost little more than one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from metahook.neural import history_compressor_kernels as kernels


class BatchedRNN(nn.Module):
    """``runs`` independent sigmoid recurrent nets with the same shape, one weight set per run.

    ``h(t) = s(W_ih i(t) + W_hh h(t-1) + b_h)``, ``y(t) = s(W_io i(t) + W_ho h(t) + b_o)`` with
    ``s`` the logistic function. Weights start uniform in ``[-init, init]`` from ``generator``.
    """

    def __init__(self, runs: int, n_in: int, n_hidden: int, n_out: int,
                 generator: torch.Generator, init: float = 0.2) -> None:
        super().__init__()
        self.runs, self.n_in, self.n_hidden, self.n_out = runs, n_in, n_hidden, n_out

        def u(*shape: int) -> nn.Parameter:
            w = (torch.rand(*shape, generator=generator) * 2 - 1) * init
            return nn.Parameter(w)

        self.w_ih = u(runs, n_in, n_hidden)
        self.w_hh = u(runs, n_hidden, n_hidden)
        self.b_h = u(runs, 1, n_hidden)
        self.w_io = u(runs, n_in, n_out)
        self.w_ho = u(runs, n_hidden, n_out)
        self.b_o = u(runs, 1, n_out)

    def initial(self) -> Tensor:
        """The state before any input: all hidden units at 0."""
        return torch.zeros(self.runs, self.n_hidden)

    def cell(self, i: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """One step: input ``i`` (runs, n_in), state ``h`` -> (new state, outputs)."""
        i3, h3 = i.unsqueeze(1), h.unsqueeze(1)
        h_new = torch.sigmoid(torch.baddbmm(self.b_h, i3, self.w_ih) + torch.bmm(h3, self.w_hh))
        y = torch.sigmoid(torch.baddbmm(self.b_o, i3, self.w_io) + torch.bmm(h_new, self.w_ho))
        return h_new.squeeze(1), y.squeeze(1)

    def unroll(self, i: Tensor, h: Tensor, bptt: int | None = None) -> tuple[Tensor, Tensor]:
        """Run a whole sequence ``i`` (runs, T, n_in) from state ``h``: (states, outputs), each
        (runs, T, .). The graph is cut every ``bptt`` steps (never when None). Same values as
        ``T`` calls of :meth:`cell`; the input terms are computed for all steps at once."""
        T = i.shape[1]
        drive = torch.baddbmm(self.b_h, i, self.w_ih)
        hs = []
        h3 = h.unsqueeze(1)
        for t in range(T):
            if bptt is not None and t % bptt == 0:
                h3 = h3.detach()
            h3 = torch.sigmoid(torch.baddbmm(drive[:, t:t + 1], h3, self.w_hh))
            hs.append(h3)
        hid = torch.cat(hs, 1)
        y = torch.sigmoid(torch.baddbmm(self.b_o, i, self.w_io) + torch.bmm(hid, self.w_ho))
        return hid, y

    def _arrays(self) -> list[np.ndarray]:
        """The parameters as numpy arrays that share their memory."""
        return [p.detach().numpy() for p in (self.w_ih, self.w_hh, self.b_h, self.w_io,
                                             self.w_ho, self.b_o)]

    def forward_np(self, i: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`unroll` without a graph, compiled (:mod:`history_compressor_kernels`)."""
        R, T, _ = i.shape
        hid = np.empty((R, T, self.n_hidden), np.float32)
        out = np.empty((R, T, self.n_out), np.float32)
        w = self._arrays()
        kernels.forward(*w, np.ascontiguousarray(i.numpy()),  # type: ignore[call-arg]
                        np.ascontiguousarray(h.numpy()), hid, out)
        return torch.from_numpy(hid), torch.from_numpy(out)

    def sgd_np(self, i: Tensor, h: Tensor, hid: Tensor, out: Tensor, target: Tensor,
               weight: Tensor, bptt: int | None, lr: float) -> float:
        """One gradient step on ``0.5 * sum(weight * (out - target)**2)`` for a sequence that
        :meth:`forward_np` ran (BPTT cut every ``bptt`` steps, never when None), compiled;
        the same step as :meth:`unroll`, autograd and :meth:`sgd`. Returns the loss."""
        w_ih, w_hh, b_h, w_io, w_ho, b_o = self._arrays()
        grads = [np.zeros_like(a) for a in (w_ih, w_hh, b_h, w_io, w_ho, b_o)]
        loss = kernels.backward(  # type: ignore[call-arg]
            w_hh, w_ho, np.ascontiguousarray(i.numpy()), np.ascontiguousarray(h.numpy()),
            hid.numpy(), out.numpy(), np.ascontiguousarray(target.numpy(), np.float32),
            np.ascontiguousarray(weight.numpy(), np.float32), bptt or 0, *grads,
            np.zeros(2 * self.n_hidden))
        for a, g in zip((w_ih, w_hh, b_h, w_io, w_ho, b_o), grads, strict=True):
            np.subtract(a, lr * g, out=a)
        return float(loss)

    def self_connections(self) -> Tensor:
        """The diagonal of every run's hidden-to-hidden matrix, (runs, n_hidden)."""
        return torch.diagonal(self.w_hh.detach(), dim1=1, dim2=2)

    def sgd(self, lr: float) -> None:
        """Plain gradient descent on the accumulated gradient, which is then cleared."""
        with torch.no_grad():
            for p in self.parameters():
                if p.grad is not None:
                    p.sub_(lr * p.grad)
                    p.grad = None


def sq(a: Tensor, b: Tensor) -> Tensor:
    """Half the squared error summed over the last axis, per run."""
    return 0.5 * ((a - b) ** 2).sum(-1)


def time_code(t: int, n_time: int) -> Tensor:
    """A unique representation of step ``t``: the binary code of ``t mod 2**n_time``."""
    return torch.tensor([(t >> k) & 1 for k in range(n_time)], dtype=torch.float32)


@dataclass
class Level:
    """A chunker's running state (levels >= 1): its last ``bptt`` inputs, the state before them
    (no graph), its state and outputs after its last input, and the distillation target that was
    current at its last input."""

    net: BatchedRNN
    buf: Tensor  # (runs, bptt, n_in)
    base: Tensor  # (runs, H): state before buf[:, 0]
    h: Tensor  # (runs, H): state after the last input
    y: Tensor  # (runs, O): outputs after the last input
    target_prev: Tensor | None  # (runs, S_above): the level above's state at the last input
    seen: Tensor  # (runs,) number of inputs so far


class HistoryCompressor:
    """A ``len(hidden)``-level history compressor over ``runs`` independent systems.

    ``n_x`` normal input units (one per symbol), ``n_d`` target units, ``hidden[l]`` hidden units
    of level ``l`` (level 0 is the automatizer A). ``distill``: train each level to predict the
    state of the level above (the third term of A's error). ``n_time``: units of the unique time
    representation fed to the chunkers (0: none). ``lrs[l]``: level ``l``'s learning rate.
    ``fast``: A's forward and backward passes compiled (same numbers as the PyTorch path).
    ``fast_chunkers``: the chunkers' steps compiled too (:func:`history_compressor_kernels.
    chunkers`; the PyTorch path of :meth:`_chunkers` is the reference, equal to float
    tolerance).
    ``confident``: how near 0 or 1 a level's target prediction must be for the system to answer
    with it rather than with a level above (default ``tol``).
    """

    def __init__(self, runs: int, n_x: int, n_d: int, hidden: Sequence[int],
                 generator: torch.Generator, *, lrs: Sequence[float], bptt: int = 3,
                 tol: float = 0.3, n_time: int = 0, distill: bool = True,
                 init: float = 0.2, fast: bool = True, confident: float | None = None,
                 fast_chunkers: bool = False) -> None:
        if len(hidden) < 1 or len(lrs) != len(hidden):
            raise ValueError("need one learning rate per level and at least one level")
        if bptt < 1 or not tol > 0:
            raise ValueError("bptt >= 1 and tol > 0 required")
        self.runs, self.n_x, self.n_d, self.bptt, self.tol = runs, n_x, n_d, bptt, tol
        self.n_time, self.distill, self.lrs = n_time, distill, list(lrs)
        self.fast = fast  # A's passes compiled (else PyTorch autograd, the reference)
        self.fast_chunkers = fast_chunkers  # the chunkers' steps compiled (else PyTorch)
        self.confident = tol if confident is None else confident
        k = len(hidden)
        self.n_pred = n_x + n_d
        # the state a level shows the level below: hidden units and prediction outputs
        self.state_size = [hidden[l] + self.n_pred for l in range(k)]
        self.nets: list[BatchedRNN] = []
        for l in range(k):
            n_in = self.n_pred + (n_time if l > 0 else 0)
            n_out = self.n_pred + (self.state_size[l + 1] if distill and l + 1 < k else 0)
            self.nets.append(BatchedRNN(runs, n_in, hidden[l], n_out, generator, init))
        self.events = [0] * k  # inputs seen per level, summed over runs
        self._np_key: tuple[object, ...] | None = None  # see _chunkers_np
        self._np_lists: tuple[Any, ...] = ()
        self._tp_scratch: list[Tensor | None] = [None] * (k - 1)
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Every level back to its state before any input."""
        a = self.nets[0]
        self.h0 = a.initial()
        self.y0 = torch.full((self.runs, a.n_out), 0.5)
        self.levels: list[Level] = []
        for net in self.nets[1:]:
            self.levels.append(Level(
                net, torch.zeros(self.runs, self.bptt, net.n_in), net.initial(), net.initial(),
                torch.full((self.runs, net.n_out), 0.5), None,
                torch.zeros(self.runs, dtype=torch.long)))

    def level_state(self, l: int) -> Tensor:
        """Level ``l``'s state (hidden units and prediction outputs), no graph."""
        if l == 0:
            return torch.cat([self.h0.detach(), self.y0[:, :self.n_pred]], 1)
        lv = self.levels[l - 1]
        return torch.cat([lv.h, lv.y[:, :self.n_pred]], 1)

    def _fails(self, y: Tensor, x: Tensor, d: Tensor, dm: Tensor) -> tuple[Tensor, Tensor]:
        """(failed on the normal input, failed on a present target), per run (and step)."""
        fx = (y[..., :self.n_x] - x).abs().amax(-1) >= self.tol
        if self.n_d:
            fd = dm & ((y[..., self.n_x:self.n_pred] - d).abs().amax(-1) >= self.tol)
        else:
            fd = torch.zeros_like(fx)
        return fx, fd

    def _answer(self, preds: list[Tensor]) -> Tensor:
        """The system's answer for a target from each level's prediction: the lowest level
        that is confident (within ``confident`` of 0 or 1 on every target unit), else the top
        one."""
        ans = preds[-1].clone()
        done = torch.zeros(self.runs, dtype=torch.bool)
        for p in preds[:-1]:
            conf = ((p - 0.5).abs() >= 0.5 - self.confident).all(1) & ~done
            ans[conf] = p[conf]
            done |= conf
        return ans

    def _chunkers(self, t: int, i0: Tensor, x: Tensor, d: Tensor, fx: Tensor, fd: Tensor,
                  learn: bool) -> tuple[Tensor, list[Tensor]]:
        """Levels 1..k-1 at raw step ``t``: each takes the input where the level below failed.
        Returns (their loss, scaled to level 0's learning rate; the input mask per level)."""
        k = len(self.nets)
        mask, dvalid = fx | fd, fd
        masks: list[Tensor] = []
        loss = torch.zeros(())
        for l in range(1, k):
            masks.append(mask)
            if not bool(mask.any()):
                mask = dvalid = torch.zeros_like(mask)
                continue
            lv = self.levels[l - 1]
            self.events[l] += int(mask.sum())
            i = i0
            if self.n_time:
                i = torch.cat([i0, time_code(t, self.n_time).expand(self.runs, -1)], 1)
            if learn:  # the error of the prediction made at this level's previous input
                h, y = lv.base, lv.y
                for j in range(self.bptt):
                    h, y = lv.net.cell(lv.buf[:, j], h)
                err = sq(y[:, :self.n_x], x) + sq(y[:, self.n_x:self.n_pred], d) * dvalid
                if self.distill and lv.target_prev is not None:
                    err = err + sq(y[:, self.n_pred:], lv.target_prev)
                had = (lv.seen > 0) & mask
                loss = loss + (err * had).sum() * (self.lrs[l] / self.lrs[0])
            nfx, nfd = self._fails(lv.y, x, d, dvalid)
            m1 = mask.unsqueeze(1)
            with torch.no_grad():  # take the input: shift the buffer, advance the stored states
                base_next, _ = lv.net.cell(lv.buf[:, 0], lv.base)
                full = (lv.seen >= self.bptt).unsqueeze(1)
                lv.base = torch.where(m1 & full, base_next, lv.base)
                shifted = torch.cat([lv.buf[:, 1:], i.unsqueeze(1)], 1)
                lv.buf = torch.where(m1.unsqueeze(2), shifted, lv.buf)
                h_new, y_new = lv.net.cell(i, lv.h)
                lv.h = torch.where(m1, h_new, lv.h)
                lv.y = torch.where(m1, y_new, lv.y)
            lv.seen = lv.seen + mask.long()
            mask, dvalid = mask & (nfx | nfd), mask & nfd
        if self.distill:  # each chunker's distillation target: the state above, now
            for l in range(1, k - 1):
                lv = self.levels[l - 1]
                cur = self.level_state(l + 1)
                m1 = masks[l - 1].unsqueeze(1)
                lv.target_prev = cur if lv.target_prev is None else torch.where(
                    m1, cur, lv.target_prev)
        return loss, masks

    def _chunkers_np(self, t0: int, i_all: Tensor, s: Stream, fx: Tensor, fd: Tensor,
                     a_ans: Tensor, learn: bool) -> tuple[Tensor, Tensor, Tensor]:
        """Levels 1..k-1 over a whole sequence, compiled: the steps :meth:`sequence` takes
        with :meth:`_chunkers` and :meth:`_answer`, the chunkers' gradients left in their
        ``.grad`` when ``learn``. Returns (the system's answers, the input masks per level,
        level 1's state after each step)."""
        from numba.typed import List

        R, T, _ = s.x.shape
        nq = len(self.levels)
        valid = np.zeros(nq, np.bool_)
        tps: list[Tensor] = []
        tensors: list[Tensor] = []
        for q, lv in enumerate(self.levels):
            lv.buf, lv.base = lv.buf.contiguous(), lv.base.contiguous()
            lv.h, lv.y = lv.h.contiguous(), lv.y.contiguous()
            valid[q] = lv.target_prev is not None
            if lv.target_prev is None:  # a place for it, kept until it is set
                above = self.state_size[q + 2] if self.distill and q + 1 < nq else 0
                scratch = self._tp_scratch[q]
                if scratch is None or scratch.shape != (R, above):
                    scratch = self._tp_scratch[q] = torch.zeros(R, above)
                tp = scratch
            else:
                tp = lv.target_prev = lv.target_prev.contiguous()
            tps.append(tp)
            tensors += [*lv.net.parameters(), lv.buf, lv.base, lv.h, lv.y, tp, lv.seen]
        # the typed lists of the arrays (costly to build) are kept while no array is replaced
        key = tuple((t.data_ptr(), t.shape) for t in tensors)
        if self._np_key != key:
            ws, gs, bufs, sts, seen = List(), List(), List(), List(), List()
            grads: list[list[np.ndarray]] = []
            for q, lv in enumerate(self.levels):
                arrs = lv.net._arrays()
                grads.append([np.zeros_like(a) for a in arrs])
                for a, g in zip(arrs, grads[-1], strict=True):
                    ws.append(a)
                    gs.append(g)
                bufs.append(lv.buf.numpy())
                for part in (lv.base, lv.h, lv.y, tps[q]):
                    sts.append(part.numpy())
                seen.append(lv.seen.numpy())
            self._np_key, self._np_lists = key, (ws, gs, bufs, sts, seen, grads)
        ws, gs, bufs, sts, seen, grads = self._np_lists
        for gl in grads:
            for g in gl:
                g.fill(0.0)
        tcode = (torch.stack([time_code(t0 + t, self.n_time) for t in range(T)])
                 if self.n_time else torch.zeros(T, 0))
        busy = ((fx | fd).any(0) | s.dm.any(0)).numpy()
        masks = np.zeros((nq, R, T), np.bool_)
        sys_ans = np.ascontiguousarray(a_ans.numpy(), np.float32).copy()
        st0 = np.empty((R, T, self.state_size[1]), np.float32)
        events = np.zeros(nq, np.int64)
        scales = np.array([self.lrs[q + 1] / self.lrs[0] for q in range(nq)], np.float32)
        kernels.chunkers(
            ws, gs, bufs, sts, seen, np.ascontiguousarray(i_all.numpy(), np.float32),
            np.ascontiguousarray(tcode.numpy(), np.float32),
            np.ascontiguousarray(s.x.numpy(), np.float32),
            np.ascontiguousarray(s.d.numpy(), np.float32),
            np.ascontiguousarray(fx.numpy()), np.ascontiguousarray(fd.numpy()), busy,
            np.ascontiguousarray(s.dm.any(0).numpy()),
            np.ascontiguousarray(a_ans.numpy(), np.float32), valid, learn, self.distill,
            scales, np.float32(self.tol), np.float32(0.5 - self.confident), masks, sys_ans,
            st0, events)
        for q, lv in enumerate(self.levels):
            self.events[q + 1] += int(events[q])
            if valid[q] and lv.target_prev is None:
                lv.target_prev = tps[q]
                self._tp_scratch[q] = None
            if learn:
                for p, g in zip(lv.net.parameters(), grads[q], strict=True):
                    p.grad = torch.from_numpy(g)
        if not self.distill:
            st0.fill(0.0)
        return torch.from_numpy(sys_ans), torch.from_numpy(masks), torch.from_numpy(st0)

    def sequence(self, s: Stream, nxt: Stream | None = None, t0: int = 0,
                 learn: bool = True) -> dict[str, Tensor]:
        """One training sequence ``s`` (one gradient step at its end when ``learn``); ``nxt``
        gives the step after its last one (the error of A's last prediction). ``t0``: the raw
        time of its first step. Returns per run and step: A's own answer for the target and
        the system's (both made before the step's input), and each chunker's input mask.

        A's forward pass never reads the chunkers, so it runs over the whole sequence first;
        the chunkers then run at the steps where A failed; last come A's three error terms.
        """
        R, T, _ = s.x.shape
        k = len(self.nets)
        a = self.nets[0]
        i_all = torch.cat([s.x, s.d], 2)
        h_start = self.h0
        if self.fast:
            hid, y = a.forward_np(i_all, h_start)
        else:
            with torch.set_grad_enabled(learn):
                hid, y = a.unroll(i_all, h_start, self.bptt)
        prev = torch.cat([self.y0.unsqueeze(1), y[:, :-1].detach()], 1)  # predictions of step t
        fx, fd = self._fails(prev, s.x, s.d, s.dm)
        a_ans = prev[..., self.n_x:self.n_pred]
        sys_ans = a_ans.clone()
        states = [self.level_state(1).unsqueeze(1).expand(R, T, -1).clone()] if k > 1 else []
        loss_c = torch.zeros(())
        masks = torch.zeros(max(k - 1, 0), R, T, dtype=torch.bool)
        if k > 1 and self.fast_chunkers:
            sys_ans, masks, st0 = self._chunkers_np(t0, i_all, s, fx, fd, a_ans, learn)
            if self.distill:
                states = [st0]
        elif k > 1:
            busy = ((fx | fd).any(0) | s.dm.any(0)).nonzero().flatten().tolist()
            for t in busy:
                if bool(s.dm[:, t].any()):
                    preds = [prev[:, t, self.n_x:self.n_pred]]
                    preds += [lv.y[:, self.n_x:self.n_pred] for lv in self.levels]
                    sys_ans[:, t] = self._answer(preds)
                lc, m = self._chunkers(t0 + t, i_all[:, t], s.x[:, t], s.d[:, t], fx[:, t],
                                       fd[:, t], learn)
                loss_c = loss_c + lc
                masks[:, :, t] = torch.stack(m)
                if self.distill and bool(m[0].any()):
                    states[0][:, t:] = self.level_state(1).unsqueeze(1)
        self.events[0] += R * T
        if learn:
            xn, dn, w_pred = next_targets(s, nxt)
            parts, weights = [xn, dn], [w_pred]
            if self.distill and k > 1:
                parts.append(states[0])
                weights.append(torch.ones_like(states[0]))
            target, weight = torch.cat(parts, 2), torch.cat(weights, 2)
            if self.fast:
                a.sgd_np(i_all, h_start, hid, y, target, weight, self.bptt, self.lrs[0])
                if loss_c.requires_grad:
                    loss_c.backward()
            else:
                (0.5 * (weight * (y - target) ** 2).sum() + loss_c).backward()
                a.sgd(self.lrs[0])
            for net in self.nets[1:]:
                net.sgd(self.lrs[0])
        self.h0 = hid[:, -1].detach()
        self.y0 = y[:, -1].detach()
        return {"a": a_ans, "system": sys_ans, "masks": masks}


@dataclass
class Stream:
    """Raw steps for ``runs`` systems: one-hot inputs ``x`` (runs, T, n_x), targets ``d``
    (runs, T, n_d) present where ``dm`` (runs, T)."""

    x: Tensor
    d: Tensor
    dm: Tensor


def next_targets(s: Stream, nxt: Stream | None) -> tuple[Tensor, Tensor, Tensor]:
    """What each step's prediction is scored against: the next step's input and target, and
    the weight of each output unit's error (runs, T, n_x + n_d): 1 on the normal input, the
    presence of the target on the target units; 0 after the last step when ``nxt`` is None."""
    if nxt is not None:
        xn = torch.cat([s.x[:, 1:], nxt.x[:, :1]], 1)
        dn = torch.cat([s.d[:, 1:], nxt.d[:, :1]], 1)
        dmn = torch.cat([s.dm[:, 1:], nxt.dm[:, :1]], 1).float()
        xw = torch.ones(xn.shape[:2])
    else:
        xn = torch.cat([s.x[:, 1:], s.x[:, -1:]], 1)
        dn = torch.cat([s.d[:, 1:], s.d[:, -1:]], 1)
        dmn = torch.cat([s.dm[:, 1:].float(), torch.zeros_like(s.dm[:, :1], dtype=torch.float)], 1)
        xw = torch.ones(xn.shape[:2])
        xw[:, -1] = 0
    weight = torch.cat([xw.unsqueeze(2).expand_as(xn), dmn.unsqueeze(2).expand_as(dn)], 2)
    return xn, dn, weight


def a_alone(net: BatchedRNN, h: Tensor, y_prev: Tensor, s: Stream, n_x: int
            ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The automatizer by itself (no chunker anywhere) on ``s``, from state ``h`` and last
    outputs ``y_prev``: (its answer for the target before every step, its hidden states, its
    last state, its last outputs)."""
    with torch.no_grad():
        hid, y = net.unroll(torch.cat([s.x, s.d], 2), h)
    prev = torch.cat([y_prev.unsqueeze(1), y[:, :-1]], 1)
    return prev[..., n_x:n_x + s.d.shape[2]], hid, hid[:, -1], y[:, -1]


def run_plain(net: BatchedRNN, h: Tensor, y_prev: Tensor | None, s: Stream, nxt: Stream | None,
              lr: float, bptt: int | None = None, learn: bool = True, fast: bool = True
              ) -> tuple[Tensor, Tensor, Tensor]:
    """A conventional recurrent net on one training sequence: predicts its next input and target
    at every step; BPTT over the whole sequence (``bptt=None``) or cut every ``bptt`` steps;
    one gradient step at the end. ``y_prev`` is the prediction it made at the step before.
    ``fast``: compiled passes; else PyTorch autograd, step by step (the reference).
    Returns (next state, its target answers per step, the prediction it made at the last step).
    """
    T = s.x.shape[1]
    n_x = s.x.shape[2]
    ans = []
    total = torch.zeros(())
    if y_prev is None:
        y_prev = torch.full((net.runs, net.n_out), 0.5)
    if fast:
        i_all = torch.cat([s.x, s.d], 2)
        hid, y = net.forward_np(i_all, h)
        prev = torch.cat([y_prev.unsqueeze(1), y[:, :-1]], 1)
        if learn:
            xn, dn, weight = next_targets(s, nxt)
            target = torch.cat([xn, dn], 2)
            net.sgd_np(i_all, h, hid, y, target, weight, bptt, lr)
        return hid[:, -1].clone(), prev[..., n_x:].clone(), y[:, -1].clone()
    with torch.set_grad_enabled(learn):
        h = h.detach()
        for t in range(T):
            ans.append(y_prev[:, n_x:].detach())
            if bptt is not None and t % bptt == 0:
                h = h.detach()
            h, y = net.cell(torch.cat([s.x[:, t], s.d[:, t]], 1), h)
            if t + 1 < T:
                xn, dn, dmn = s.x[:, t + 1], s.d[:, t + 1], s.dm[:, t + 1]
            elif nxt is not None:
                xn, dn, dmn = nxt.x[:, 0], nxt.d[:, 0], nxt.dm[:, 0]
            else:
                xn, dn, dmn = y[:, :n_x].detach(), s.d[:, t], torch.zeros_like(s.dm[:, t])
            if learn:
                total = total + sq(y[:, :n_x], xn).sum() + (sq(y[:, n_x:], dn) * dmn).sum()
            y_prev = y
    if learn:
        total.backward()
        net.sgd(lr)
    return h.detach(), torch.stack(ans, 1), y_prev.detach()


class BatchedLSTM(nn.Module):
    """``runs`` independent ``torch.nn.LSTM`` nets computed as one: a single LSTM whose weight
    matrices are block-diagonal (run ``r``'s inputs feed only run ``r``'s gates), the blocks kept
    exactly so by masking their gradients; a sigmoid read-out per run. Each block starts as a
    ``torch.nn.LSTM`` of ``n_hidden`` units would (uniform in ``+-1/sqrt(n_hidden)``)."""

    def __init__(self, runs: int, n_in: int, n_hidden: int, n_out: int,
                 generator: torch.Generator) -> None:
        super().__init__()
        self.runs, self.n_in, self.n_hidden, self.n_out = runs, n_in, n_hidden, n_out
        big = runs * n_hidden
        self.lstm = nn.LSTM(runs * n_in, big, batch_first=True)
        k = 1.0 / math.sqrt(n_hidden)
        m_ih = torch.zeros(4 * big, runs * n_in)
        m_hh = torch.zeros(4 * big, big)
        for g in range(4):
            for r in range(runs):
                rows = slice(g * big + r * n_hidden, g * big + (r + 1) * n_hidden)
                m_ih[rows, r * n_in:(r + 1) * n_in] = 1
                m_hh[rows, r * n_hidden:(r + 1) * n_hidden] = 1
        with torch.no_grad():
            for p in self.lstm.parameters():
                p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * k)
            w_ih = self.lstm.get_parameter("weight_ih_l0")
            w_hh = self.lstm.get_parameter("weight_hh_l0")
            w_ih.mul_(m_ih)
            w_hh.mul_(m_hh)
        w_ih.register_hook(lambda g: g * m_ih)
        w_hh.register_hook(lambda g: g * m_hh)
        w_o = (torch.rand(runs, n_hidden, n_out, generator=generator) * 2 - 1) * k
        self.w_o = nn.Parameter(w_o)
        self.b_o = nn.Parameter(torch.zeros(runs, 1, n_out))

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``x`` (runs, T, n_in) -> outputs (runs, T, n_out) and the LSTM state."""
        R, T, _ = x.shape
        flat = x.permute(1, 0, 2).reshape(1, T, R * self.n_in)
        out, st = self.lstm(flat, state)
        h = out.reshape(T, R, self.n_hidden).permute(1, 0, 2)
        return torch.sigmoid(torch.bmm(h, self.w_o) + self.b_o), st


def run_lstm(net: BatchedLSTM, opt: torch.optim.Optimizer | None,
             state: tuple[Tensor, Tensor] | None, y_prev: Tensor | None, s: Stream,
             nxt: Stream | None) -> tuple[tuple[Tensor, Tensor], Tensor, Tensor]:
    """The LSTM on one training sequence, BPTT over all of it, one optimizer step (none when
    ``opt`` is None). Returns (state, target answers per step, last prediction)."""
    n_x = s.x.shape[2]
    inp = torch.cat([s.x, s.d], 2)
    with torch.set_grad_enabled(opt is not None):
        y, st = net(inp, state)
        if y_prev is None:
            y_prev = torch.full((net.runs, net.n_out), 0.5)
        prev = torch.cat([y_prev.unsqueeze(1), y[:, :-1].detach()], 1)
        ans = prev[:, :, n_x:]
        if opt is not None:
            xn, dn, weight = next_targets(s, nxt)
            loss = 0.5 * (weight * (y - torch.cat([xn, dn], 2)) ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return (st[0].detach(), st[1].detach()), ans.detach(), y[:, -1].detach()


class SolveTracker:
    """Consecutive correct target predictions per run, and the training sequence at which a
    run first completed ``window`` of them (-1: not yet)."""

    def __init__(self, runs: int, window: int) -> None:
        self.streak = torch.zeros(runs, dtype=torch.long)
        self.solved_at = torch.full((runs,), -1, dtype=torch.long)
        self.window = window
        self.correct = 0
        self.seen = 0

    def add(self, ok: Tensor, seq: int) -> None:
        """Record one target per run (``ok``: correct or not) seen in training sequence ``seq``."""
        self.streak = torch.where(ok, self.streak + 1, 0)
        hit = (self.solved_at < 0) & (self.streak >= self.window)
        self.solved_at[hit] = seq
        self.correct += int(ok.sum())
        self.seen += ok.numel()

    def all_solved(self) -> bool:
        return bool((self.solved_at >= 0).all())
