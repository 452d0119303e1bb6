"""The function-approximation curriculum f1..f5 of ML97 experiment 3 (incremental self-improvement).

Schmidhuber, Zhao & Wiering, Machine Learning 28:105-130 (1997), section 4.2 (experiment 3).

Specification ([paper] = stated in ML97; the rest is ours, see docs/ssa.md, Deviations):

- Five target functions of three real inputs [paper]::

      f1 = x + y          f2 = x + y - z        f3 = (x + y - z)^2
      f4 = (x + y - z)^4  f5 = (x + y - z)^8

- Trial ``i`` poses one function ``g_i``. At its start the inputs ``x, y, z`` are written into
  work cells 0, 1, 2 [paper] -- and, in our reading of "the environment writes inputs into
  work cells", kept there: they are written again before every instruction, so a program that
  overwrites them cannot lose them (nor fake them). We draw them uniformly from [-1, 1] (each
  trial anew), redrawn (up to :data:`MAX_DRAWS` times) while ``|g_i(x, y, z)| < 0.01``, so
  that an output cell that happens to hold 0 cannot pass the test (``(x+y-z)^8`` is below the
  tolerance whenever ``|x+y-z| < 0.32``, a quarter of all draws). After every instruction the
  learner's answer is read from work cell 6 [paper]; the trial ends when
  ``|g_i(x, y, z) - c_6| < 0.0001`` [paper], with reward :data:`SOLVED_REWARD` (the paper's value
  was lost in every copy we could read; any positive constant gives the same SSA decisions
  up to scale). All other rewards are 0. Nothing else is reset between trials [paper: one life].
- Curriculum [paper]: a pointer ``ptr = 1`` and a counter ``c = 100``; each trial poses
  ``f_ptr`` with probability ``c/100`` and ``f_(ptr+1)`` otherwise. Whenever the *reward
  intake over the last two trials* (reward per time step) exceeds 0.05, ``c`` is decremented
  (our reading of the paper's "reward acceleration"); when ``c`` reaches 0, ``ptr`` is
  incremented and ``c`` reset to 100. From ``f5`` on only ``f5`` is posed.

:func:`pose` and :func:`target` are numba functions used by the compiled life loop
(:mod:`metahook.rsi.function_life`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metahook.core.jit import NO_REFCOUNT

N_FUNCTIONS = 5
SOLVED_REWARD = 1.0
TOLERANCE = 1e-4
INPUT_CELLS = (0, 1, 2)
OUTPUT_CELL = 6
MIN_ABS_TARGET = 0.01
MAX_DRAWS = 16
UNIFORMS_PER_TRIAL = 3 * MAX_DRAWS
CURRICULUM_C = 100
INTAKE_THRESHOLD = 0.05


@njit(cache=True, **NO_REFCOUNT)
def target(f: int, x: float, y: float, z: float) -> float:
    """``f_f(x, y, z)`` for ``f`` in 1..5."""
    s = x + y - z
    if f == 1:
        return x + y
    if f == 2:
        return s
    if f == 3:
        return s * s
    if f == 4:
        return (s * s) * (s * s)
    s4 = (s * s) * (s * s)
    return s4 * s4


@njit(cache=True, **NO_REFCOUNT)
def pose(ptr: int, c: int, u: float) -> int:
    """The function of the next trial: ``f_ptr`` with probability ``c/100`` else ``f_(ptr+1)``."""
    if ptr >= N_FUNCTIONS:
        return N_FUNCTIONS
    return ptr if u < c / CURRICULUM_C else ptr + 1


@njit(cache=True, **NO_REFCOUNT)
def draw_inputs(f: int, xyz: np.ndarray, c: np.ndarray, u: np.ndarray,
                upos: np.ndarray) -> None:
    """Draw ``x, y, z`` into ``xyz`` (kept by the environment: the target is computed from these,
    not from the cells, which the learner may overwrite) and write them into ``c[0..2]``:
    uniform in [-1, 1], redrawn while the target is tiny."""
    for _ in range(MAX_DRAWS):
        p = upos[0]
        for k in range(3):
            xyz[k] = 2.0 * u[p + k] - 1.0
        upos[0] = p + 3
        if abs(target(f, xyz[0], xyz[1], xyz[2])) >= MIN_ABS_TARGET:
            break
    for k in range(3):
        c[k] = xyz[k]


def formulas() -> list[str]:
    return ["x+y", "x+y-z", "(x+y-z)^2", "(x+y-z)^4", "(x+y-z)^8"]


def check_targets(rng: np.random.Generator, n: int = 100) -> bool:
    """Self-check of :func:`target` against numpy (used by the tests)."""
    x, y, z = rng.uniform(-1, 1, size=(3, n))
    want = [x + y, x + y - z, (x + y - z) ** 2, (x + y - z) ** 4, (x + y - z) ** 8]
    got = [[target(f, a, b, c) for a, b, c in zip(x, y, z, strict=True)] for f in range(1, 6)]
    return all(np.allclose(g, w) for g, w in zip(got, want, strict=True))
