"""Incremental slow feature analysis (IncSFA) and batch SFA, its reference.

Kompella, Luciw & Schmidhuber, "Incremental slow feature analysis: adaptive low-complexity slow
feature updating from high-dimensional input streams", Neural Computation 24(11):2994-3024
(2012). Slow feature analysis (Wiskott & Sejnowski 2002) finds weight vectors ``w_j`` whose
outputs ``y_j = w_j . (x - mean)`` have unit variance, are decorrelated, and change as slowly as
possible: ``Delta(y_j) = <ydot_j^2>`` minimal. Batch SFA whitens ``x`` (PCA #1) and takes the
minor components of the whitened derivative ``zdot`` (PCA #2). IncSFA does both incrementally,
at a cost linear in the input dimension ``D`` per frame and without covariance matrices:

1. the mean ``xbar`` is an amnesic running average;
2. CCIPCA (Weng, Zhang & Hwang 2003) updates ``K`` principal-component estimates ``v_i`` of
   ``u_1 = x - xbar``: ``v_i <- (1 - eta) v_i + eta (u_i . v_i / |v_i|) u_i`` and deflates
   ``u_{i+1} = u_i - (u_i . vhat_i) vhat_i``; ``|v_i|`` estimates the eigenvalue ``lambda_i``;
   the whitened input is ``z_i = vhat_i . u_1 / sqrt(lambda_i)``;
3. CIMCA (Peng's minor-component rule with sequential addition) updates ``J`` vectors on
   ``zdot(t) = z(t) - z(t-1)``: ``w_j <- 1.5 w_j - eta_m C_j w_j - eta_m (w_j . w_j) w_j`` with
   ``C_j = zdot zdot^T + gamma sum_{i<j} what_i what_i^T`` (the added term pushes ``w_j`` off
   the slower features already found); ``|w_j| -> 1``.

The rates follow the paper's schedules: CCIPCA's is Weng's amnesic average ``eta(t) = (1 +
l(t)) / t`` with ``l(t) = 0`` up to ``t1``, rising linearly to ``c`` at ``t2``, then ``c + (t -
t2) / r`` -- for large ``t`` the rate tends to ``1 / r``, so a finite ``r`` keeps the whitening
plastic (the adaptive IncSFA of Curious Dr. MISFA); MCA's rate falls from ``eta_m0`` to the
floor ``eta_m_min`` as ``eta_m0 / (1 + t / t_m)``.

:func:`incsfa_update` is the compiled per-frame loop over a chunk (numba, arrays updated in
place); :class:`IncSFA` holds the state and is the readable interface; :func:`incsfa_update_ref`
is the same loop in plain numpy, one frame at a time (the differential test runs both).
:func:`batch_sfa` solves the generalized eigenproblem ``Cdot w = Delta C w`` with
``scipy.linalg.eigh`` after a rank-revealing PCA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
from numba import njit

# Indices into the float parameter vector of the compiled update.
_T1, _T2, _C, _R, _ETA0, _ETA_MIN, _T_M, _GAMMA = range(8)


@dataclass(frozen=True)
class IncSFAParams:
    """IncSFA's hyperparameters (the paper's names where it has them)."""

    k: int = 6  # CCIPCA components kept for whitening (K)
    j: int = 1  # slow features (J)
    t1: float = 20.0  # amnesic schedule: l(t) = 0 up to t1 ...
    t2: float = 200.0  # ... rises linearly to c at t2 ...
    c: float = 2.0  # ... (c: the amnesic parameter, 2 in the paper and in Weng et al.)
    r: float = 1e12  # ... then grows by 1 every r frames (r finite: plastic whitening)
    eta_m0: float = 0.01  # MCA rate at t = 0
    eta_m_min: float = 1e-4  # MCA rate floor
    t_m: float = 2000.0  # MCA rate: eta_m0 / (1 + t / t_m), never below eta_m_min
    gamma: float = 4.0  # sequential addition; above the largest eigenvalue of <zdot zdot^T>

    def validate(self) -> None:
        if self.k < 1 or self.j < 1 or self.j > self.k:
            raise ValueError("incsfa: 1 <= j <= k required")
        if not (0 < self.t1 < self.t2 and self.c >= 0 and self.r > 0):
            raise ValueError("incsfa: 0 < t1 < t2, c >= 0, r > 0 required")
        if not (0 < self.eta_m_min <= self.eta_m0 < 0.5 and self.t_m > 0 and self.gamma > 0):
            raise ValueError("incsfa: 0 < eta_m_min <= eta_m0 < 0.5, t_m > 0, gamma > 0 required")

    def vector(self) -> np.ndarray:
        return np.array([self.t1, self.t2, self.c, self.r, self.eta_m0, self.eta_m_min, self.t_m,
                         self.gamma], dtype=np.float64)


def amnesic(t: float, t1: float, t2: float, c: float, r: float) -> float:
    """Weng's amnesic function l(t) (the CCIPCA rate is (1 + l) / t)."""
    if t <= t1:
        return 0.0
    if t <= t2:
        return c * (t - t1) / (t2 - t1)
    return c + (t - t2) / r


@njit(cache=True)
def _amnesic(t: float, t1: float, t2: float, c: float, r: float) -> float:
    if t <= t1:
        return 0.0
    if t <= t2:
        return c * (t - t1) / (t2 - t1)
    return c + (t - t2) / r


@njit(cache=True, fastmath=True)
def incsfa_update(X: np.ndarray, mean: np.ndarray, V: np.ndarray, W: np.ndarray,
                  zprev: np.ndarray, counters: np.ndarray, p: np.ndarray,
                  u: np.ndarray, z: np.ndarray, zd: np.ndarray, cw: np.ndarray) -> None:
    """Update IncSFA's state in place with the frames ``X`` (n x D), in order.

    ``counters = [t, has_prev]``; ``u`` (D), ``z``, ``zd``, ``cw`` (K) are scratch space.
    """
    n, d = X.shape
    k = V.shape[0]
    jn = W.shape[0]
    for s in range(n):
        counters[0] += 1.0
        t = counters[0]
        ell = _amnesic(t, p[_T1], p[_T2], p[_C], p[_R])
        rate = min(1.0, (1.0 + ell) / t)
        for q in range(d):
            mean[q] += rate * (X[s, q] - mean[q])
            u[q] = X[s, q] - mean[q]
        # whitened input with the current estimates (before they learn from this frame)
        for i in range(k):
            nv = 0.0
            dot = 0.0
            for q in range(d):
                nv += V[i, q] * V[i, q]
                dot += V[i, q] * u[q]
            nv = np.sqrt(nv)
            z[i] = dot / nv / np.sqrt(nv) if nv > 1e-12 else 0.0
        # CCIPCA with deflation (u is deflated in place)
        for i in range(k):
            nv = 0.0
            for q in range(d):
                nv += V[i, q] * V[i, q]
            nv = np.sqrt(nv)
            if nv < 1e-12 or t <= i + 1:
                for q in range(d):
                    V[i, q] = u[q]
                nv = 0.0
                for q in range(d):
                    nv += u[q] * u[q]
                nv = np.sqrt(nv)
            else:
                dot = 0.0
                for q in range(d):
                    dot += u[q] * V[i, q]
                g = rate * dot / nv
                nv2 = 0.0
                for q in range(d):
                    V[i, q] = (1.0 - rate) * V[i, q] + g * u[q]
                    nv2 += V[i, q] * V[i, q]
                nv = np.sqrt(nv2)
            if nv > 1e-12:
                dot = 0.0
                for q in range(d):
                    dot += u[q] * V[i, q]
                dot /= nv * nv
                for q in range(d):
                    u[q] -= dot * V[i, q]
        if counters[1] > 0.0 and t > p[_T2]:
            eta = max(p[_ETA_MIN], p[_ETA0] / (1.0 + t / p[_T_M]))
            nz = 0.0
            for i in range(k):
                zd[i] = z[i] - zprev[i]
                nz += zd[i] * zd[i]
            # a step never larger than the rule's stability bound (early whitening is rough)
            eta = min(eta, 0.5 / (nz + p[_GAMMA] + 1.0))
            for j in range(jn):
                # C_j w_j = zd (zd . w_j) + gamma sum_{i<j} what_i (what_i . w_j)
                dot = 0.0
                ww = 0.0
                for i in range(k):
                    dot += zd[i] * W[j, i]
                    ww += W[j, i] * W[j, i]
                for i in range(k):
                    cw[i] = zd[i] * dot
                for jj in range(j):
                    nw = 0.0
                    dw = 0.0
                    for i in range(k):
                        nw += W[jj, i] * W[jj, i]
                        dw += W[jj, i] * W[j, i]
                    if nw > 1e-12:
                        f = p[_GAMMA] * dw / nw
                        for i in range(k):
                            cw[i] += f * W[jj, i]
                for i in range(k):
                    W[j, i] = 1.5 * W[j, i] - eta * cw[i] - eta * ww * W[j, i]
        for i in range(k):
            zprev[i] = z[i]
        counters[1] = 1.0


def incsfa_update_ref(X: np.ndarray, mean: np.ndarray, V: np.ndarray, W: np.ndarray,
                      zprev: np.ndarray, counters: np.ndarray, p: np.ndarray) -> None:
    """:func:`incsfa_update` written plainly with numpy vector operations (the reference)."""
    k = V.shape[0]
    for x in X:
        counters[0] += 1.0
        t = counters[0]
        rate = min(1.0, (1.0 + amnesic(t, *p[[_T1, _T2, _C, _R]])) / t)
        mean += rate * (x - mean)
        u = x - mean
        norms = np.linalg.norm(V, axis=1)
        safe = np.where(norms > 1e-12, norms, 1.0)
        z = np.where(norms > 1e-12, (V @ u) / safe / np.sqrt(safe), 0.0)
        for i in range(k):
            nv = float(np.linalg.norm(V[i]))
            if nv < 1e-12 or t <= i + 1:
                V[i] = u
            else:
                V[i] = (1.0 - rate) * V[i] + rate * float(u @ V[i]) / nv * u
            nv = float(np.linalg.norm(V[i]))
            if nv > 1e-12:
                u = u - float(u @ V[i]) / nv**2 * V[i]
        if counters[1] > 0.0 and t > p[_T2]:
            eta = max(p[_ETA_MIN], p[_ETA0] / (1.0 + t / p[_T_M]))
            zd = z - zprev
            eta = min(eta, 0.5 / (float(zd @ zd) + p[_GAMMA] + 1.0))
            for j in range(W.shape[0]):
                w = W[j].copy()
                cw = zd * float(zd @ w)
                for jj in range(j):
                    prev = W[jj]
                    nw = float(prev @ prev)
                    if nw > 1e-12:
                        cw = cw + p[_GAMMA] * float(prev @ w) / nw * prev
                W[j] = 1.5 * w - eta * cw - eta * float(w @ w) * w
        zprev[:] = z
        counters[1] = 1.0


class IncSFA:
    """One IncSFA node on ``dim``-dimensional input: learn from frames, give slow outputs.

    ``W`` starts as random unit vectors drawn from ``rng``; ``V`` from the first frames (CCIPCA's
    initialisation). ``outputs(X)`` is linear in ``X`` with the current estimates; ``directions()``
    gives the slow features as weight vectors on the input, comparable with :func:`batch_sfa`.
    """

    def __init__(self, dim: int, params: IncSFAParams, rng: np.random.Generator) -> None:
        params.validate()
        self.dim, self.params = dim, params
        self.mean = np.zeros(dim)
        self.V = np.zeros((params.k, dim))
        w = rng.standard_normal((params.j, params.k))
        self.W = w / np.linalg.norm(w, axis=1, keepdims=True)
        self.zprev = np.zeros(params.k)
        self.counters = np.zeros(2)
        self._p = params.vector()
        self._scratch = (np.zeros(dim), np.zeros(params.k), np.zeros(params.k),
                         np.zeros(params.k))

    @property
    def t(self) -> int:
        return int(self.counters[0])

    def update(self, X: np.ndarray) -> None:
        """Learn from the frames ``X`` (n x dim), one after another."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"incsfa: frames must be n x {self.dim}, got {X.shape}")
        incsfa_update(X, self.mean, self.V, self.W, self.zprev, self.counters, self._p,
                      *self._scratch)

    def whitening(self) -> np.ndarray:
        """K x dim: rows ``vhat_i / sqrt(lambda_i)`` (zero rows for components not yet seen)."""
        n = np.linalg.norm(self.V, axis=1)
        ok = n > 1e-12
        s = np.zeros_like(self.V)
        s[ok] = self.V[ok] / (n[ok] ** 1.5)[:, None]
        return s

    def directions(self) -> np.ndarray:
        """J x dim: the slow features as weight vectors on the (centred) input."""
        w = self.W / np.linalg.norm(self.W, axis=1, keepdims=True)
        return w @ self.whitening()

    def outputs(self, X: np.ndarray) -> np.ndarray:
        """n x J slow outputs of the frames ``X`` with the current estimates (no learning)."""
        return (np.asarray(X, dtype=np.float64) - self.mean) @ self.directions().T

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.copy(), "V": self.V.copy(), "W": self.W.copy(),
                "zprev": self.zprev.copy(), "counters": self.counters.copy()}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        for key in ("mean", "V", "W", "zprev", "counters"):
            getattr(self, key)[...] = np.asarray(st[key], dtype=np.float64)


def batch_sfa(X: np.ndarray, j: int, rank_tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray,
                                                                       np.ndarray]:
    """Batch linear SFA of the signal ``X`` (T x D): ``(W, Delta, mean)``.

    ``W`` (j x D) holds the ``j`` slowest features, scaled to unit output variance and ordered by
    ``Delta`` (the mean squared difference of consecutive outputs, ascending). Directions of ``X``
    with variance below ``rank_tol`` times the largest are dropped first.
    """
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    xc = X - mean
    cov = xc.T @ xc / len(xc)
    lam, vec = scipy.linalg.eigh(cov)
    keep = lam > rank_tol * lam.max()
    if keep.sum() < j:
        raise ValueError(f"batch_sfa: the signal has rank {int(keep.sum())} < j = {j}")
    white = vec[:, keep] / np.sqrt(lam[keep])
    zd = np.diff(xc @ white, axis=0)
    dcov = zd.T @ zd / len(zd)
    delta, u = scipy.linalg.eigh(dcov, subset_by_index=[0, j - 1])
    return (white @ u).T, delta, mean


def slowness(y: np.ndarray) -> np.ndarray:
    """Delta of each column of ``y`` after scaling it to zero mean and unit variance."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    y = (y - y.mean(axis=0)) / np.maximum(y.std(axis=0), 1e-12)
    return np.mean(np.diff(y, axis=0) ** 2, axis=0)


def direction_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """|cos| of the angle between two weight vectors (a feature's sign is arbitrary)."""
    return float(abs(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def wiskott_toy(n: int = 2000) -> np.ndarray:
    """Wiskott & Sejnowski's toy signal over one period ``t in [0, 2 pi)``, quadratically
    expanded: ``x1 = sin t + cos^2 11t``, ``x2 = cos 11t``, columns ``x1, x2, x1^2, x1 x2, x2^2``.
    Its slowest feature is ``sin t`` (= ``x1 - x2^2``)."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    x1 = np.sin(t) + np.cos(11 * t) ** 2
    x2 = np.cos(11 * t)
    return np.stack([x1, x2, x1 * x1, x1 * x2, x2 * x2], axis=1)
