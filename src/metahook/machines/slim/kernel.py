"""The SLIM net's fast path: numba kernels over preallocated arrays.

One kernel family serves both experiments. Inputs are always read from a 2-D grey image through a
retina window at a position ``(y, x)`` (the window's top-left pixel), once per step; input unit
``k`` reads the retina cell ``(k // rx, k % rx)``. Clamped input units (a task's command, not in
``inputs``) hold the value ``clamp`` gives them at time 0 for the whole run. A plain pattern run
is the special case of a ``1 x n_in`` image, a ``1 x n_in`` retina at ``(0, 0)`` and no motor
units, so the pattern is clamped on the inputs for the whole run. Motor units carry a
displacement ``(dy, dx)``; after each step the fovea moves by the sum of the displacements of the
active units (non-motor units carry ``(0, 0)``) and is clamped so that the retina stays inside the
image.

The kernels allocate nothing (numba's reference counting is off,
:data:`metahook.core.jit.NO_REFCOUNT`); the callers in :mod:`metahook.machines.slim.machine` pass
all scratch space in. The semantics are given in the package docstring;
:mod:`metahook.machines.slim.reference` is the independent slow reference they are tested against.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _read_retina(
    act: np.ndarray, inputs: np.ndarray, image: np.ndarray, rx: int, y: int, x: int
) -> None:
    for k in range(inputs.shape[0]):
        act[inputs[k]] = image[y + k // rx, x + k % rx]


@njit(cache=True, inline='always', **NO_REFCOUNT)
def _clamp(v: int, hi: int) -> int:
    if v < 0:
        return 0
    if v > hi:
        return hi
    return v


@njit(cache=True, **NO_REFCOUNT)
def slim_run(
    W: np.ndarray,            # (n, n) float64, W[src, dst]
    group: np.ndarray,        # (n,) int64, WTA group of each unit, -1 for input units
    theta: np.ndarray,        # (n,) float64 thresholds
    inputs: np.ndarray,       # (n_in,) int64 input units, in retina order
    halt: int,                # the halt unit
    clamp: np.ndarray,        # (n,) float64 activations at time 0 (non-zero only on clamped units)
    image: np.ndarray,        # (H, Wd) float64
    rx: int,                  # retina width (its height is n_in // rx)
    y0: int,                  # start position of the retina's top-left pixel
    x0: int,
    motor_dy: np.ndarray,     # (n,) int64 displacement of each unit when active (0 if no motor)
    motor_dx: np.ndarray,     # (n,) int64
    max_steps: int,
    act: np.ndarray,          # out (n,) float64: activations at the end of the run
    net: np.ndarray,          # scratch (n,) float64
    flag: np.ndarray,         # scratch (n,) bool, all False on entry and on exit
    touched: np.ndarray,      # scratch (n,) int64
    best: np.ndarray,         # scratch (n_groups,) int64, all -1 on entry and on exit
    used: np.ndarray,         # out (n, n) bool, OR-ed into (caller clears it)
    considered: np.ndarray,   # out (n,) bool, OR-ed into (caller clears it)
    pos: np.ndarray,          # out (2,) int64: final (y, x)
) -> tuple[bool, int]:
    """Run the net on one task; return ``(halted, steps)``. See the package docstring."""
    n = W.shape[0]
    ry = inputs.shape[0] // rx
    ymax = image.shape[0] - ry
    xmax = image.shape[1] - rx
    y = y0
    x = x0
    for i in range(n):
        act[i] = clamp[i]
    _read_retina(act, inputs, image, rx, y, x)
    halted = False
    t = 0
    while t < max_steps:
        # 1. spread: every active unit sends along its non-zero outgoing connections
        n_t = 0
        for j in range(n):
            a = act[j]
            if a != 0.0:
                considered[j] = True
                for i in range(n):
                    w = W[j, i]
                    if w != 0.0 and group[i] >= 0:
                        used[j, i] = True
                        if not flag[i]:
                            flag[i] = True
                            net[i] = 0.0
                            touched[n_t] = i
                            n_t += 1
                        net[i] += a * w
        # 2. winner-take-all among the reached units of each group
        for q in range(n_t):
            i = touched[q]
            if net[i] > theta[i]:
                g = group[i]
                b = best[g]
                if b < 0 or net[i] > net[b] or (net[i] == net[b] and i < b):
                    best[g] = i
        # 3. the new state: only this step's winners are active
        for i in range(n):
            if group[i] >= 0:
                act[i] = 0.0
        dy = 0
        dx = 0
        for q in range(n_t):
            i = touched[q]
            if best[group[i]] == i:
                act[i] = 1.0
                dy += motor_dy[i]
                dx += motor_dx[i]
        for q in range(n_t):
            i = touched[q]
            best[group[i]] = -1
            flag[i] = False
        # 4. the motors move the fovea; the inputs read the retina at the new position
        y = _clamp(y + dy, ymax)
        x = _clamp(x + dx, xmax)
        _read_retina(act, inputs, image, rx, y, x)
        t += 1
        if act[halt] != 0.0:
            halted = True
            break
    pos[0] = y
    pos[1] = x
    return halted, t


@njit(cache=True, **NO_REFCOUNT)
def slim_run_batch(
    W: np.ndarray,
    group: np.ndarray,
    theta: np.ndarray,
    inputs: np.ndarray,
    halt: int,
    clamps: np.ndarray,       # (n_clamps, n) float64 time-0 activations (see slim_run)
    clamp_of: np.ndarray,     # (n_tasks,) int64: the clamp row of each task
    images: np.ndarray,       # (n_images, H, Wd) float64
    image_of: np.ndarray,     # (n_tasks,) int64: the image of each task
    rx: int,
    starts: np.ndarray,       # (n_tasks, 2) int64 start positions
    motor_dy: np.ndarray,
    motor_dx: np.ndarray,
    max_steps: int,
    net: np.ndarray,
    flag: np.ndarray,
    touched: np.ndarray,
    best: np.ndarray,
    halted: np.ndarray,       # out (n_tasks,) bool
    steps: np.ndarray,        # out (n_tasks,) int64
    states: np.ndarray,       # out (n_tasks, n) float64
    used: np.ndarray,         # out (n_tasks, n, n) bool, zero on entry
    considered: np.ndarray,   # out (n_tasks, n) bool, zero on entry
    final_pos: np.ndarray,    # out (n_tasks, 2) int64
) -> None:
    """:func:`slim_run` for every task, one after the other, on the same net."""
    for k in range(image_of.shape[0]):
        h, t = slim_run(W, group, theta, inputs, halt, clamps[clamp_of[k]],
                        images[image_of[k]], rx, starts[k, 0], starts[k, 1], motor_dy,
                        motor_dx, max_steps, states[k], net, flag, touched, best, used[k],
                        considered[k], final_pos[k])
        halted[k] = h
        steps[k] = t
