"""Predictability minimization (PM): code units that escape their predictors.

Schmidhuber, "Learning factorial codes by predictability minimization", Neural Computation 4(6):
863-879, 1992 (TR CU-CS-565-91); Schmidhuber, Eldracher & Foltin, "Semilinear predictability
minimization produces well-known feature detectors", Neural Computation 8(4):773-786, 1996.

Glossary (the papers' names):

- ``x^p``: the ``p``-th input pattern; ``y^p_i``: the ``i``-th *code unit* (representational unit,
  a logistic unit in [0, 1]) in response to it. The *representational modules* may share hidden
  units (``code_hidden``).
- ``P_i``: the *predictor* of code unit ``i``: a net (``pred_hidden`` hidden units, or none) that
  sees every code unit but ``y_i`` and is trained to emit ``E(y_i | {y_k, k != i})`` by
  minimising ``E_P = 1/2 sum_p sum_i (P^p_i - y^p_i)^2``.
- ``V_C = 1/2 sum_p sum_i (P^p_i - y^p_i)^2``: the same sum, which the code units *maximise*
  (the 1992 paper's "local conditioned variance maximization"): a code unit can only escape its
  predictor by coding what the other units do not. With perfect predictors the global maxima
  of ``V_C`` are the binary factorial codes (for P = (1, 2, 2, 4)/9 the factorial code F gives
  ``V_C`` = 2, the invertible non-factorial code B 19/10; :func:`v_c_exact`).

Algorithm (1992, section 6): off-line, PASS 1 trains the predictors for a few epochs (5 in the
paper's experiments) by gradient descent on ``E_P`` with the code fixed, PASS 2 changes the code
weights by one epoch of gradient *ascent* on ``V_C`` (error signals pass through the predictors'
input units, whose weights stay fixed); on-line, one pattern drives both passes at once and the
predictors learn 10 times faster than the code units. Semilinear PM (1996) has no hidden units,
sends no error through the predictors' inputs (code unit ``i`` maximises ``(P_i - y_i)^2`` as a
function of ``y_i`` alone, a delta rule) and learns predictors and code simultaneously.

Every network here is a batch of ``runs`` independent networks (leading tensor dimension), so the
paper's 10 test runs of an experiment are one computation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

OBJECTIVES = ("v_c", "variance")
BINARY_TOL = 0.05  # 1992, sec. 7: binary = every activation within 0.05 of 0 or of 1


def _uniform(gen: torch.Generator, shape: tuple[int, ...], scale: float) -> torch.Tensor:
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2.0 - 1.0) * scale


class PMNets:
    """``runs`` independent PM systems: a code net (``n_in`` inputs, ``code_hidden`` shared
    hidden units, ``n_code`` logistic code units) and ``n_code`` predictors (``n_code - 1``
    inputs, ``pred_hidden`` hidden units each, one logistic output).

    ``semilinear``: no error from ``V_C`` through the predictors' input units (1996, heuristic
    simplification 1). Weights start uniform in ``[-init, init]``.
    """

    def __init__(self, runs: int, n_in: int, n_code: int, code_hidden: int, pred_hidden: int,
                 gen: torch.Generator, *, init: float = 1.0, semilinear: bool = False,
                 objective: str = "v_c") -> None:
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}; have {', '.join(OBJECTIVES)}")
        if min(runs, n_in, n_code) < 1 or min(code_hidden, pred_hidden) < 0:
            raise ValueError("runs, n_in, n_code >= 1 and code_hidden, pred_hidden >= 0 required")
        if n_code < 2:
            raise ValueError("PM needs at least two code units (one to predict from the other)")
        self.runs, self.n_in, self.n_code = runs, n_in, n_code
        self.code_hidden, self.pred_hidden, self.semilinear = code_hidden, pred_hidden, semilinear
        self.objective = objective
        r, n = runs, n_code
        code: dict[str, torch.Tensor] = {}
        if code_hidden:
            code["W1"] = _uniform(gen, (r, n_in, code_hidden), init)
            code["b1"] = _uniform(gen, (r, code_hidden), init)
            code["W2"] = _uniform(gen, (r, code_hidden, n), init)
        else:
            code["W2"] = _uniform(gen, (r, n_in, n), init)
        code["b2"] = _uniform(gen, (r, n), init)
        pred: dict[str, torch.Tensor] = {}
        if pred_hidden:
            pred["U1"] = _uniform(gen, (r, n, n, pred_hidden), init)
            pred["c1"] = _uniform(gen, (r, n, pred_hidden), init)
            pred["U2"] = _uniform(gen, (r, n, pred_hidden), init)
        else:
            pred["U2"] = _uniform(gen, (r, n, n), init)
        pred["c2"] = _uniform(gen, (r, n), init)
        self.code, self.pred = code, pred
        self.mask = 1.0 - torch.eye(n, dtype=torch.float64)  # P_i never sees y_i

    # ------------------------------------------------------------------ forward
    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """Code units ``(runs, batch, n_code)`` for inputs ``(runs, batch, n_in)``."""
        h = x
        if self.code_hidden:
            h = torch.sigmoid(torch.bmm(x, self.code["W1"]) + self.code["b1"][:, None])
        return torch.sigmoid(torch.bmm(h, self.code["W2"]) + self.code["b2"][:, None])

    def predictions(self, y: torch.Tensor) -> torch.Tensor:
        """Predictor outputs ``P_i`` ``(runs, batch, n_code)``; ``P_i`` sees every ``y_k``,
        ``k != i``."""
        masked = y[:, :, None, :] * self.mask  # (r, b, i, k)
        if self.pred_hidden:
            h = torch.sigmoid(torch.einsum("rbik,rikh->rbih", masked, self.pred["U1"])
                              + self.pred["c1"][:, None])
            return torch.sigmoid(torch.einsum("rbih,rih->rbi", h, self.pred["U2"])
                                 + self.pred["c2"][:, None])
        return torch.sigmoid(torch.einsum("rbik,rik->rbi", masked, self.pred["U2"])
                             + self.pred["c2"][:, None])

    # ------------------------------------------------------------------ learning
    def predictor_step_reference(self, y: torch.Tensor, weights: torch.Tensor,
                                 lr: float) -> None:
        """PASS 1 by autograd (the reference of :meth:`predictor_step`)."""
        params = list(self.pred.values())
        for p in params:
            p.requires_grad_(True)
        y = y.detach()
        err = 0.5 * (((self.predictions(y) - y) ** 2).sum(-1) * weights).sum()
        grads = torch.autograd.grad(err, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p.sub_(lr * g)
        for p in params:
            p.requires_grad_(False)

    def code_step_reference(self, x: torch.Tensor, weights: torch.Tensor, lr: float) -> None:
        """PASS 2 by autograd (the reference of :meth:`code_step`)."""
        params = list(self.code.values())
        for p in params:
            p.requires_grad_(True)
        y = self.codes(x)
        seen = y.detach() if self.semilinear else y
        pred = self.predictions(seen)
        if self.objective == "v_c":
            t = 0.5 * (((pred - y) ** 2).sum(-1) * weights).sum()
        else:
            mean = (y * weights[:, None]).sum(1, keepdim=True) / weights.sum()
            t = 0.5 * ((((y - mean) ** 2 - (pred - mean) ** 2).sum(-1)) * weights).sum()
        grads = torch.autograd.grad(t, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p.add_(lr * g)
        for p in params:
            p.requires_grad_(False)

    # ------------------------------------------------------------------ hand-derived gradients
    def _pred_forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None,
                                                       torch.Tensor]:
        m = y[:, :, None, :] * self.mask
        if self.pred_hidden:
            q = torch.sigmoid(torch.einsum("rbik,rikh->rbih", m, self.pred["U1"])
                              + self.pred["c1"][:, None])
            p = torch.sigmoid(torch.einsum("rbih,rih->rbi", q, self.pred["U2"])
                              + self.pred["c2"][:, None])
            return m, q, p
        p = torch.sigmoid(torch.einsum("rbik,rik->rbi", m, self.pred["U2"])
                          + self.pred["c2"][:, None])
        return m, None, p

    def _pred_backward(self, m: torch.Tensor, q: torch.Tensor | None, p: torch.Tensor,
                       dp: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Gradients of a loss with ``dL/dP = dp``: for the predictor weights, and for their
        input units ``y`` (masked, summed over the predictors)."""
        dg2 = dp * p * (1.0 - p)
        g: dict[str, torch.Tensor] = {"c2": dg2.sum(1)}
        if q is not None:
            g["U2"] = torch.einsum("rbi,rbih->rih", dg2, q)
            dg1 = dg2[..., None] * self.pred["U2"][:, None] * q * (1.0 - q)
            g["U1"] = torch.einsum("rbih,rbik->rikh", dg1, m)
            g["c1"] = dg1.sum(1)
            dm = torch.einsum("rbih,rikh->rbik", dg1, self.pred["U1"])
        else:
            g["U2"] = torch.einsum("rbi,rbik->rik", dg2, m)
            dm = dg2[..., None] * self.pred["U2"][:, None]
        return g, (dm * self.mask).sum(2)

    @torch.no_grad()
    def predictor_step(self, y: torch.Tensor, weights: torch.Tensor, lr: float) -> None:
        """PASS 1: one gradient-descent step on ``E_P`` (pattern ``p`` counted ``weights[p]``
        times) for codes ``y`` held fixed."""
        m, q, p = self._pred_forward(y)
        g, _ = self._pred_backward(m, q, p, (p - y) * weights[:, None])
        for k, v in g.items():
            self.pred[k].sub_(lr * v)

    @torch.no_grad()
    def code_step(self, x: torch.Tensor, weights: torch.Tensor, lr: float) -> None:
        """PASS 2: one gradient-ascent step on the code objective (``V_C``, or its variance form
        ``1/2 sum_p sum_i [(y_i - mean y_i)^2 - (P_i - mean y_i)^2]``) for the code weights
        (predictors fixed; error signals through the predictors' input units unless
        ``semilinear``)."""
        h = x
        if self.code_hidden:
            h = torch.sigmoid(torch.bmm(x, self.code["W1"]) + self.code["b1"][:, None])
        y = torch.sigmoid(torch.bmm(h, self.code["W2"]) + self.code["b2"][:, None])
        m, q, p = self._pred_forward(y)
        wb = weights[:, None]
        if self.objective == "v_c":
            e = (p - y) * wb
            dy = -e  # d V_C / d y_i as the predicted unit
            dp = e
        else:  # 1/2 sum_p w_p sum_i [(y_i - mean_i)^2 - (P_i - mean_i)^2]
            mean = (y * wb).sum(1, keepdim=True) / weights.sum()
            dp = -(p - mean) * wb
            dy = (y - mean) * wb - dp.sum(1, keepdim=True) * wb / weights.sum()
        if not self.semilinear:
            _, dy_in = self._pred_backward(m, q, p, dp)
            dy = dy + dy_in  # ... and as an input unit of the other predictors
        da2 = dy * y * (1.0 - y)
        g = {"W2": torch.bmm(h.transpose(1, 2), da2), "b2": da2.sum(1)}
        if self.code_hidden:
            da1 = torch.bmm(da2, self.code["W2"].transpose(1, 2)) * h * (1.0 - h)
            g["W1"] = torch.bmm(x.transpose(1, 2), da1)
            g["b1"] = da1.sum(1)
        for k, v in g.items():
            self.code[k].add_(lr * v)

    def offline_epoch(self, x: torch.Tensor, weights: torch.Tensor, lr_pred: float,
                      lr_code: float, pred_epochs: int) -> None:
        """One epoch of the code units after ``pred_epochs`` epochs of the predictors (1992,
        section 6, off-line version; every weight change after a sweep over the ensemble)."""
        with torch.no_grad():
            y = self.codes(x)
        for _ in range(pred_epochs):
            self.predictor_step(y, weights, lr_pred)
        self.code_step(x, weights, lr_code)

    def online_step(self, x: torch.Tensor, lr_pred: float, lr_code: float) -> None:
        """On-line version: the same single pattern per run (``x``: ``(runs, 1, n_in)``) drives
        PASS 1 and PASS 2, and both change their weights at once."""
        one = torch.ones(1, dtype=torch.float64)
        with torch.no_grad():
            y = self.codes(x)  # before either change
        self.code_step(x, one, lr_code)  # against the predictors before their change
        self.predictor_step(y, one, lr_pred)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {**{f"code.{k}": v.numpy().copy() for k, v in self.code.items()},
                **{f"pred.{k}": v.numpy().copy() for k, v in self.pred.items()}}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        for k in self.code:
            self.code[k] = torch.as_tensor(np.asarray(st[f"code.{k}"]), dtype=torch.float64)
        for k in self.pred:
            self.pred[k] = torch.as_tensor(np.asarray(st[f"pred.{k}"]), dtype=torch.float64)


# ---------------------------------------------------------------------- the factorial criterion
@dataclass(frozen=True)
class CodeReport:
    """What the 1992 paper counts about one run's code for the ``K`` input patterns."""

    binary: bool  # every unit binary or constant (quasi-binary, 1992 sec. 3)
    used_units: int  # units that are not constant
    distinct: int  # distinct binary output patterns among the K inputs
    invertible: bool  # distinct == number of distinct inputs
    independent: bool  # P(code) = product of the used units' marginals
    factorial: bool  # quasi-binary, invertible and independent

    def as_dict(self) -> dict[str, Any]:
        return {"binary": self.binary, "used_units": self.used_units, "distinct": self.distinct,
                "invertible": self.invertible, "independent": self.independent,
                "factorial": self.factorial}


def code_report(y: np.ndarray, probs: np.ndarray, tol: float = BINARY_TOL) -> CodeReport:
    """The factorial-code criterion on one run's code ``y`` ``(K, n)`` for ``K`` distinct input
    patterns of probabilities ``probs``.

    A unit is binary when every activation lies within ``tol`` of 0 or of 1, constant (unused;
    the 1992 Occam experiment's "one unused unit") when all its activations lie within ``tol`` of
    each other. The code is factorial when every unit is one or the other, the binary codes of
    the ``K`` patterns are all different (invertible), and the probability of every code word is
    the product of its symbols' probabilities.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(probs, dtype=float)
    if y.ndim != 2 or p.shape != (y.shape[0],) or y.shape[0] < 1:
        raise ValueError(f"codes must be (K, n) and probs (K,); got {y.shape} and {p.shape}")
    if np.any(p < 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError("probs must be non-negative and sum to 1")
    near = (np.abs(y) <= tol) | (np.abs(y - 1.0) <= tol)
    binary_unit = near.all(axis=0)
    constant = (y.max(axis=0) - y.min(axis=0)) <= tol
    quasi = bool(np.all(binary_unit | constant))
    used = ~constant
    bits = (y[:, used] > 0.5).astype(np.int64)
    words = [tuple(row) for row in bits]
    distinct = len(set(words))
    invertible = distinct == y.shape[0]
    m = int(used.sum())
    marg = np.array([p[bits[:, j] == 1].sum() for j in range(m)])
    joint: dict[tuple[int, ...], float] = {}
    for w, pk in zip(words, p, strict=True):
        joint[w] = joint.get(w, 0.0) + float(pk)
    independent = True
    for w in itertools.product((0, 1), repeat=m):
        prod = float(np.prod([marg[j] if w[j] else 1.0 - marg[j] for j in range(m)]))
        if abs(joint.get(w, 0.0) - prod) > 1e-9:
            independent = False
            break
    return CodeReport(binary=quasi, used_units=m, distinct=distinct, invertible=invertible,
                      independent=independent, factorial=quasi and invertible and independent)


def v_c_exact(y: np.ndarray, counts: np.ndarray) -> float:
    """``V_C = 1/2 sum_p sum_i (E(y_i | y_k, k != i) - y^p_i)^2`` with perfect predictors (the
    conditional expectations computed exactly) over an epoch presenting pattern ``p``
    ``counts[p]`` times."""
    y = np.asarray(y, dtype=float)
    c = np.asarray(counts, dtype=float)
    if y.ndim != 2 or c.shape != (y.shape[0],):
        raise ValueError(f"codes must be (K, n) and counts (K,); got {y.shape} and {c.shape}")
    total = 0.0
    for i in range(y.shape[1]):
        others = [tuple(np.round(np.delete(row, i), 12)) for row in y]
        for ctx in set(others):
            idx = [k for k, o in enumerate(others) if o == ctx]
            w = c[idx]
            mean = float((w * y[idx, i]).sum() / w.sum())
            total += float((w * (y[idx, i] - mean) ** 2).sum())
    return 0.5 * total


# ---------------------------------------------------------------------- semilinear PM (1996)
class SemilinearPM:
    """Semilinear PM (1996): ``runs`` independent systems of logistic code units
    ``y_i = sigma(sum_j V_ij x_j + b_i)``, each seeing only the inputs its ``field`` mask
    allows, and logistic predictors ``P_i = sigma(sum_{k != i} U_ik y_k + c_i)``. Per pattern
    (or mini-batch, summed), simultaneously: ``U -= lr_pred * d(P_i - y_i)^2/dU`` (delta rule)
    and ``V += lr_code * d(P_i - y_i)^2/dV`` through ``y_i`` alone (no error through the
    predictors' inputs)."""

    def __init__(self, runs: int, field: np.ndarray, gen: torch.Generator, *,
                 init: float = 0.01) -> None:
        f = torch.as_tensor(np.asarray(field, dtype=np.float64))
        if f.ndim != 2 or f.shape[0] < 2 or runs < 1:
            raise ValueError("field must be (n_code >= 2, n_in) and runs >= 1")
        n, m = f.shape
        self.field = f
        self.V = _uniform(gen, (runs, n, m), init) * f
        self.b = torch.zeros(runs, n, dtype=torch.float64)
        self.U = torch.zeros(runs, n, n, dtype=torch.float64)
        self.c = torch.zeros(runs, n, dtype=torch.float64)
        self.mask = 1.0 - torch.eye(n, dtype=torch.float64)

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """``(runs, batch, n_code)`` for inputs ``(runs, batch, n_in)``."""
        return torch.sigmoid(torch.einsum("rbj,rij->rbi", x, self.V) + self.b[:, None])

    def predictions(self, y: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.einsum("rbk,rik->rbi", y, self.U * self.mask)
                             + self.c[:, None])

    @torch.no_grad()
    def step(self, x: torch.Tensor, lr_pred: float, lr_code: float) -> torch.Tensor:
        """One simultaneous update from patterns ``x`` ``(runs, batch, n_in)``; returns the
        squared prediction errors ``(runs, n_code)`` summed over the batch (before the update)."""
        y = self.codes(x)
        p = self.predictions(y)
        e = p - y
        dp = 2.0 * e * p * (1.0 - p)  # d(P - y)^2 / d(net of P)
        self.U -= lr_pred * torch.einsum("rbi,rbk->rik", dp, y) * self.mask
        self.c -= lr_pred * dp.sum(1)
        dy = -2.0 * e * y * (1.0 - y)  # d(P - y)^2 / d(net of y), P held fixed
        self.V += lr_code * torch.einsum("rbi,rbj->rij", dy, x) * self.field
        self.b += lr_code * dy.sum(1)
        return (e ** 2).sum(1)

    def state_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k).numpy().copy() for k in ("V", "b", "U", "c")}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        for k in ("V", "b", "U", "c"):
            setattr(self, k, torch.as_tensor(np.asarray(st[k]), dtype=torch.float64))


def amari_index(m: np.ndarray) -> float:
    """Amari et al.'s (1996) performance index of ``m = W A`` (unmixing times mixing), scaled
    to [0, 1]: 0 exactly when ``m`` is a scaled permutation (the sources recovered)."""
    a = np.abs(np.asarray(m, dtype=float))
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 2:
        raise ValueError(f"need a square matrix of size >= 2; got {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a.max(axis=1) == 0) or np.any(a.max(axis=0) == 0):
        raise ValueError("matrix has a zero row/column or non-finite entries")
    n = a.shape[0]
    rows = (a / a.max(axis=1, keepdims=True)).sum(axis=1) - 1.0
    cols = (a / a.max(axis=0, keepdims=True)).sum(axis=0) - 1.0
    return float((rows.sum() + cols.sum()) / (2.0 * n * (n - 1)))
