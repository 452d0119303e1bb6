"""Cart-pole balancing with one or two poles (Wieland 1991), as in the neuroevolution benchmarks.

The benchmark of Gomez, Schmidhuber & Miikkulainen (JMLR 9, 2008) and of the NEAT, ESP and CMA-ES
papers before it: one or two poles hinged side by side on a cart that runs on a 4.8 m track. The
controller pushes the cart with a force every 0.02 s and must keep every pole up and the cart on
the track. Without velocity inputs (``markov=False``) it sees only the cart position and the pole
angles, so it needs memory to infer the velocities.

## Equations of motion (Wieland's effective-mass form)

State ``s = (x, ẋ, θ1, θ̇1, θ2, θ̇2)``; for one pole ``θ2, θ̇2`` stay 0 and the sums run over one
pole. With ``g = 9.8`` m/s² and, for each pole i, mass ``m_i`` and half-length ``l_i``::

    F̃_i = m_i l_i θ̇_i² sin θ_i + ¾ m_i cos θ_i (μp θ̇_i / (m_i l_i) − g sin θ_i)   (effective force)
    m̃_i = m_i (1 − ¾ cos² θ_i)                                                   (effective mass)
    ẍ   = (F − μc sgn ẋ + Σ_i F̃_i) / (M + Σ_i m̃_i)
    θ̈_i = −¾ (ẍ cos θ_i − g sin θ_i + μp θ̇_i / (m_i l_i)) / l_i

| constant | value |
|---|---|
| cart mass M | 1.0 kg |
| long pole m1, l1 (half-length) | 0.1 kg, 0.5 m |
| short pole m2, l2 (two poles only) | 0.01 kg, 0.05 m |
| cart-track friction μc | 0.0005 |
| pole-hinge friction μp | 0.000002 |
| integration | fourth-order Runge-Kutta, τ = 0.01 s, two steps per action (0.02 s) |
| force | F = 10·a N for an action a in [−1, 1], clipped to ±10 N; \\|F\\| at least 10/256 N |
| failure | \\|x\\| > 2.4 m, or a pole past 12° (one pole) / 36° (either of two poles) |
| start | all zero except the long pole at θ1 = 0.07 rad (≈ 4°) |

## Observations

Scaled by ``OBS_SCALE`` (x / 2.4 m, ẋ / 1 m/s, θ / 12°, θ̇ / 1 rad/s), Markov:
``(x, ẋ, θ1, θ̇1[, θ2, θ̇2])``; without velocities: ``(x, θ1[, θ2])``. The papers say only that the
inputs were scaled to about [−1, 1]; these scales are our choice.

## API

- :class:`PoleBalancingEnv`: a ``gymnasium.Env`` (Box action of shape (1,) in [−1, 1], reward 1 per
  step balanced, ``terminated`` on failure, ``truncated`` after ``max_steps``).
- :func:`pole_step` (numba) advances one state in place by one action; :func:`step_batch` advances
  a batch of states; :func:`pole_step_reference` is the slow, independent pure-Python reference.
- :func:`derivatives` gives the right-hand side of the ODE, used by the tests with scipy's solver.

Glossary: τ integration step; F̃_i, m̃_i effective force and mass of pole i; μc, μp friction
coefficients; a the action (network output), F the force.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from numba import njit

# ----------------------------------------------------------------------------- constants
GRAVITY = 9.8
CART_MASS = 1.0
POLE1_MASS = 0.1
POLE1_HALF = 0.5
POLE2_MASS = 0.01
POLE2_HALF = 0.05
MU_C = 0.0005
MU_P = 0.000002
TAU = 0.01
SUBSTEPS = 2
FORCE_MAG = 10.0
MIN_FORCE = 10.0 / 256.0
TRACK_LIMIT = 2.4
ANGLE_LIMIT_1 = math.radians(12.0)
ANGLE_LIMIT_2 = math.radians(36.0)
START_ANGLE = 0.07
# x, ẋ, θ1, θ̇1, θ2, θ̇2
OBS_SCALE = np.array([2.4, 1.0, math.radians(12.0), 1.0, math.radians(12.0), 1.0])


def start_state() -> np.ndarray:
    """The standard start: everything at rest, the long pole at 0.07 rad."""
    s = np.zeros(6)
    s[2] = START_ANGLE
    return s


def obs_dim(n_poles: int, markov: bool) -> int:
    return (2 if markov else 1) * (1 + n_poles)


# ----------------------------------------------------------------------------- fast path
@njit(cache=True)
def force_of(action: float) -> float:
    """Force in N for an action in [−1, 1]: clipped to ±10 N, |F| at least 10/256 N."""
    f = FORCE_MAG * action
    if f > FORCE_MAG:
        f = FORCE_MAG
    elif f < -FORCE_MAG:
        f = -FORCE_MAG
    if 0.0 <= f < MIN_FORCE:
        f = MIN_FORCE
    elif -MIN_FORCE < f < 0.0:
        f = -MIN_FORCE
    return f


@njit(cache=True)
def derivatives(s: np.ndarray, force: float, n_poles: int, cart_friction: bool,
                out: np.ndarray) -> None:
    """ds/dt of Wieland's equations at state ``s`` under ``force``, written into ``out``."""
    c1 = math.cos(s[2])
    s1 = math.sin(s[2])
    ml1 = POLE1_MASS * POLE1_HALF
    fr1 = MU_P * s[3] / ml1
    f_eff = ml1 * s[3] * s[3] * s1 + 0.75 * POLE1_MASS * c1 * (fr1 - GRAVITY * s1)
    m_eff = POLE1_MASS * (1.0 - 0.75 * c1 * c1)
    c2 = 0.0
    s2 = 0.0
    fr2 = 0.0
    if n_poles > 1:
        c2 = math.cos(s[4])
        s2 = math.sin(s[4])
        ml2 = POLE2_MASS * POLE2_HALF
        fr2 = MU_P * s[5] / ml2
        f_eff += ml2 * s[5] * s[5] * s2 + 0.75 * POLE2_MASS * c2 * (fr2 - GRAVITY * s2)
        m_eff += POLE2_MASS * (1.0 - 0.75 * c2 * c2)
    cart_fr = 0.0
    if cart_friction:
        if s[1] > 0.0:
            cart_fr = MU_C
        elif s[1] < 0.0:
            cart_fr = -MU_C
    xacc = (force - cart_fr + f_eff) / (CART_MASS + m_eff)
    out[0] = s[1]
    out[1] = xacc
    out[2] = s[3]
    out[3] = -0.75 * (xacc * c1 - GRAVITY * s1 + fr1) / POLE1_HALF
    if n_poles > 1:
        out[4] = s[5]
        out[5] = -0.75 * (xacc * c2 - GRAVITY * s2 + fr2) / POLE2_HALF
    else:
        out[4] = 0.0
        out[5] = 0.0


@njit(cache=True)
def _rk4(s: np.ndarray, force: float, n_poles: int, cart_friction: bool,
         work: np.ndarray) -> None:
    k1 = work[0]
    k2 = work[1]
    k3 = work[2]
    k4 = work[3]
    tmp = work[4]
    derivatives(s, force, n_poles, cart_friction, k1)
    for i in range(6):
        tmp[i] = s[i] + 0.5 * TAU * k1[i]
    derivatives(tmp, force, n_poles, cart_friction, k2)
    for i in range(6):
        tmp[i] = s[i] + 0.5 * TAU * k2[i]
    derivatives(tmp, force, n_poles, cart_friction, k3)
    for i in range(6):
        tmp[i] = s[i] + TAU * k3[i]
    derivatives(tmp, force, n_poles, cart_friction, k4)
    for i in range(6):
        s[i] += TAU / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])


@njit(cache=True, forceinline=True)
def _deriv(x1, x3, x4, x5, xa, force, n_poles, cart_friction):
    """:func:`derivatives` on scalars (``x1`` = ẋ, ``xa`` = θ1, ``x3`` = θ̇1, ``x4`` = θ2,
    ``x5`` = θ̇2; the cart position does not enter): (ẍ, θ̈1, θ̈2), with the same operations in
    the same order, so the results are the same to the last bit."""
    c1 = math.cos(xa)
    s1 = math.sin(xa)
    ml1 = POLE1_MASS * POLE1_HALF
    fr1 = MU_P * x3 / ml1
    f_eff = ml1 * x3 * x3 * s1 + 0.75 * POLE1_MASS * c1 * (fr1 - GRAVITY * s1)
    m_eff = POLE1_MASS * (1.0 - 0.75 * c1 * c1)
    c2 = 0.0
    s2 = 0.0
    fr2 = 0.0
    if n_poles > 1:
        c2 = math.cos(x4)
        s2 = math.sin(x4)
        ml2 = POLE2_MASS * POLE2_HALF
        fr2 = MU_P * x5 / ml2
        f_eff += ml2 * x5 * x5 * s2 + 0.75 * POLE2_MASS * c2 * (fr2 - GRAVITY * s2)
        m_eff += POLE2_MASS * (1.0 - 0.75 * c2 * c2)
    cart_fr = 0.0
    if cart_friction:
        if x1 > 0.0:
            cart_fr = MU_C
        elif x1 < 0.0:
            cart_fr = -MU_C
    xacc = (force - cart_fr + f_eff) / (CART_MASS + m_eff)
    a1 = -0.75 * (xacc * c1 - GRAVITY * s1 + fr1) / POLE1_HALF
    a2 = 0.0
    if n_poles > 1:
        a2 = -0.75 * (xacc * c2 - GRAVITY * s2 + fr2) / POLE2_HALF
    return xacc, a1, a2


@njit(cache=True, forceinline=True)
def _rk4_scalar(y0, y1, y2, y3, y4, y5, force, n_poles, cart_friction):
    """One RK4 step of length TAU on scalars; the same arithmetic as :func:`_rk4`."""
    h = 0.5 * TAU
    # k1
    b1, d1, f1 = _deriv(y1, y3, y4, y5, y2, force, n_poles, cart_friction)
    a1, c1, e1 = y1, y3, y5 if n_poles > 1 else 0.0
    # k2 (the cart position does not enter the derivatives)
    t1, t2, t3, t4, t5 = (y1 + h * b1, y2 + h * c1, y3 + h * d1, y4 + h * e1, y5 + h * f1)
    b2, d2, f2 = _deriv(t1, t3, t4, t5, t2, force, n_poles, cart_friction)
    a2, c2, e2 = t1, t3, t5 if n_poles > 1 else 0.0
    # k3
    t1, t2, t3, t4, t5 = (y1 + h * b2, y2 + h * c2, y3 + h * d2, y4 + h * e2, y5 + h * f2)
    b3, d3, f3 = _deriv(t1, t3, t4, t5, t2, force, n_poles, cart_friction)
    a3, c3, e3 = t1, t3, t5 if n_poles > 1 else 0.0
    # k4
    t1, t2, t3, t4, t5 = (y1 + TAU * b3, y2 + TAU * c3, y3 + TAU * d3, y4 + TAU * e3,
                          y5 + TAU * f3)
    b4, d4, f4 = _deriv(t1, t3, t4, t5, t2, force, n_poles, cart_friction)
    a4, c4, e4 = t1, t3, t5 if n_poles > 1 else 0.0
    g = TAU / 6.0
    return (y0 + g * (a1 + 2.0 * a2 + 2.0 * a3 + a4), y1 + g * (b1 + 2.0 * b2 + 2.0 * b3 + b4),
            y2 + g * (c1 + 2.0 * c2 + 2.0 * c3 + c4), y3 + g * (d1 + 2.0 * d2 + 2.0 * d3 + d4),
            y4 + g * (e1 + 2.0 * e2 + 2.0 * e3 + e4), y5 + g * (f1 + 2.0 * f2 + 2.0 * f3 + f4))


@njit(cache=True)
def failed(s: np.ndarray, n_poles: int) -> bool:
    """True when the cart left the track or a pole fell past its limit."""
    if abs(s[0]) > TRACK_LIMIT:
        return True
    if n_poles == 1:
        return abs(s[2]) > ANGLE_LIMIT_1
    return abs(s[2]) > ANGLE_LIMIT_2 or abs(s[4]) > ANGLE_LIMIT_2


@njit(cache=True)
def pole_step(s: np.ndarray, action: float, n_poles: int, cart_friction: bool,
              work: np.ndarray) -> bool:
    """Apply ``action`` for 0.02 s (two RK4 steps) to ``s`` in place; return True on failure.

    ``work`` is a preallocated (5, 6) scratch array (kept for callers; the state is integrated in
    scalars, bit for bit as :func:`_rk4` does it).
    """
    return _pole_step_scalar(s, action, n_poles, cart_friction)


@njit(cache=True, forceinline=True)
def _pole_step_scalar(s, action, n_poles, cart_friction):
    force = force_of(action)
    y0, y1, y2, y3, y4, y5 = s[0], s[1], s[2], s[3], s[4], s[5]
    for _ in range(SUBSTEPS):
        y0, y1, y2, y3, y4, y5 = _rk4_scalar(y0, y1, y2, y3, y4, y5, force, n_poles,
                                             cart_friction)
    s[0] = y0
    s[1] = y1
    s[2] = y2
    s[3] = y3
    s[4] = y4
    s[5] = y5
    return failed(s, n_poles)


@njit(cache=True)
def observe(s: np.ndarray, n_poles: int, markov: bool, out: np.ndarray) -> None:
    """Write the scaled observation of ``s`` into ``out`` (see the module docstring)."""
    k = 0
    for i in range(2 * (1 + n_poles)):
        if markov or i % 2 == 0:
            out[k] = s[i] / OBS_SCALE[i]
            k += 1


@njit(cache=True)
def step_batch(states: np.ndarray, actions: np.ndarray, n_poles: int, cart_friction: bool,
               done: np.ndarray) -> None:
    """Advance every state of ``states`` (B, 6) whose ``done`` flag is False by its action.

    Failed states get ``done`` set and are not advanced further.
    """
    for b in range(states.shape[0]):
        if done[b]:
            continue
        force = force_of(actions[b])
        y0, y1, y2, y3, y4, y5 = (states[b, 0], states[b, 1], states[b, 2], states[b, 3],
                                  states[b, 4], states[b, 5])
        for _ in range(SUBSTEPS):
            y0, y1, y2, y3, y4, y5 = _rk4_scalar(y0, y1, y2, y3, y4, y5, force, n_poles,
                                                 cart_friction)
        states[b, 0] = y0
        states[b, 1] = y1
        states[b, 2] = y2
        states[b, 3] = y3
        states[b, 4] = y4
        states[b, 5] = y5
        if abs(y0) > TRACK_LIMIT:  # failed(), on the scalars
            done[b] = True
        elif n_poles == 1:
            done[b] = abs(y2) > ANGLE_LIMIT_1
        else:
            done[b] = abs(y2) > ANGLE_LIMIT_2 or abs(y4) > ANGLE_LIMIT_2


# ----------------------------------------------------------------------------- slow reference
def pole_step_reference(
    s: tuple[float, ...], action: float, n_poles: int, cart_friction: bool = True
) -> tuple[tuple[float, ...], bool]:
    """Independent pure-Python version of :func:`pole_step` (tuples, the ``math`` module).

    Returns ``(new_state, failed)``. Written separately from the fast path so that the
    differential test compares two implementations, not one.
    """
    f = max(-FORCE_MAG, min(FORCE_MAG, FORCE_MAG * action))
    if 0.0 <= f < MIN_FORCE:
        f = MIN_FORCE
    elif -MIN_FORCE < f < 0.0:
        f = -MIN_FORCE
    poles = [(POLE1_MASS, POLE1_HALF)] + ([(POLE2_MASS, POLE2_HALF)] if n_poles > 1 else [])

    def rhs(y: tuple[float, ...]) -> tuple[float, ...]:
        angles = [(y[2], y[3]), (y[4], y[5])][: len(poles)]
        num = f - (MU_C * math.copysign(1.0, y[1]) if cart_friction and y[1] != 0 else 0.0)
        den = CART_MASS
        for (m, half), (th, om) in zip(poles, angles, strict=True):
            num += m * half * om * om * math.sin(th) + 0.75 * m * math.cos(th) * (
                MU_P * om / (m * half) - GRAVITY * math.sin(th))
            den += m * (1.0 - 0.75 * math.cos(th) ** 2)
        xacc = num / den
        acc = [-0.75 * (xacc * math.cos(th) - GRAVITY * math.sin(th) + MU_P * om / (m * half))
               / half for (m, half), (th, om) in zip(poles, angles, strict=True)]
        acc += [0.0] * (2 - len(acc))
        return (y[1], xacc, y[3], acc[0], y[5] if n_poles > 1 else 0.0, acc[1])

    y = tuple(float(v) for v in s)
    for _ in range(SUBSTEPS):
        k1 = rhs(y)
        k2 = rhs(tuple(a + 0.5 * TAU * b for a, b in zip(y, k1, strict=True)))
        k3 = rhs(tuple(a + 0.5 * TAU * b for a, b in zip(y, k2, strict=True)))
        k4 = rhs(tuple(a + TAU * b for a, b in zip(y, k3, strict=True)))
        y = tuple(a + TAU / 6.0 * (b1 + 2 * b2 + 2 * b3 + b4)
                  for a, b1, b2, b3, b4 in zip(y, k1, k2, k3, k4, strict=True))
    limit = ANGLE_LIMIT_1 if n_poles == 1 else ANGLE_LIMIT_2
    fell = abs(y[0]) > TRACK_LIMIT or abs(y[2]) > limit or (n_poles > 1 and abs(y[4]) > limit)
    return y, fell


# ----------------------------------------------------------------------------- Gymnasium
class PoleBalancingEnv(gym.Env[np.ndarray, np.ndarray]):
    """Gymnasium interface to the pole-balancing task (see the module docstring).

    Args: ``n_poles`` (1 or 2), ``markov`` (velocities observed), ``max_steps`` (truncation,
    100,000 by default as in the success criterion), ``cart_friction``.
    ``reset(options={"state": s})`` starts from a given 6-vector instead of the standard start.
    """

    def __init__(self, n_poles: int = 2, markov: bool = True, max_steps: int = 100_000,
                 cart_friction: bool = True) -> None:
        if n_poles not in (1, 2):
            raise ValueError(f"n_poles must be 1 or 2, got {n_poles}")
        self.n_poles = n_poles
        self.markov = markov
        self.max_steps = max_steps
        self.cart_friction = cart_friction
        d = obs_dim(n_poles, markov)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(d,), dtype=np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float64)
        self.state = start_state()
        self.steps = 0
        self._work = np.empty((5, 6))
        self._obs = np.empty(d)

    def _observation(self) -> np.ndarray:
        observe(self.state, self.n_poles, self.markov, self._obs)
        return self._obs.copy()

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options and "state" in options:
            st = np.asarray(options["state"], dtype=np.float64)
            if st.shape != (6,):
                raise ValueError(f"state must have shape (6,), got {st.shape}")
            self.state = st.copy()
        else:
            self.state = start_state()
        self.steps = 0
        return self._observation(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        a = float(np.asarray(action, dtype=np.float64).reshape(-1)[0])
        fell = pole_step(self.state, a, self.n_poles, self.cart_friction, self._work)
        self.steps += 1
        truncated = (not fell) and self.steps >= self.max_steps
        return self._observation(), 1.0, bool(fell), bool(truncated), {"state": self.state.copy()}
