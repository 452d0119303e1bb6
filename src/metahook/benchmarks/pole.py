"""``metahook bench pole``: simulated double-pole steps per second, numba against pure Python.

One step is one action: two RK4 integration steps of the coupled double-pole equations
(:mod:`metahook.envs.pole`). ``steps_per_s_jit`` times :func:`~metahook.envs.pole.step_batch`
(compiled, a batch of 1024 carts, per CPU-second; every cart is stepped at every step, also after
its poles fell, when large angles make the sine and cosine slower);
``steps_per_s_jit_restarting`` times the same with each fallen cart put back to the start state
before the next step, as an evaluation starts a new episode; ``steps_per_s_reference`` times the
pure-Python reference :func:`~metahook.envs.pole.pole_step_reference`;
``evaluations_per_s_damping`` times whole 1000-step damping-fitness evaluations of a recurrent
network (the cost unit of the papers).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from metahook.envs.pole import pole_step_reference, start_state, step_batch
from metahook.evolution.network import NetSpec
from metahook.evolution.pole_fitness import PoleProblem
from metahook.harness.bench import register_benchmark


def _steps_per_cpu_s(actions: np.ndarray, T: int, restart: bool) -> float:
    """Step every cart T times from the start state, per CPU-second (other jobs count less).
    With ``restart``, a cart whose poles fell is put back to the start state before the next
    step (a new episode); without, it goes on being stepped."""
    B = actions.shape[0]
    states = np.tile(start_state(), (B, 1))
    done = np.zeros(B, dtype=np.bool_)
    t0 = time.process_time()
    for _ in range(T):
        if restart and done.any():
            states[done] = start_state()
        done[:] = False
        step_batch(states, actions, 2, True, done)
    return B * T / (time.process_time() - t0)


@register_benchmark("pole", "double-pole simulator steps per second (numba vs pure Python)")
def bench(quick: bool) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    B, T = 1024, (50 if quick else 500)
    actions = rng.uniform(-1, 1, B)
    step_batch(np.tile(start_state(), (B, 1)), actions, 2, True, np.zeros(B, np.bool_))  # compile
    jit = _steps_per_cpu_s(actions, T, restart=False)
    restarting = _steps_per_cpu_s(actions, T, restart=True)

    n = 2_000 if quick else 20_000
    s: tuple[float, ...] = tuple(start_state())
    t0 = time.perf_counter()
    for i in range(n):
        s, fell = pole_step_reference(s, 0.5 if i % 2 else -0.5, 2)
        if fell:
            s = tuple(start_state())
    ref = n / (time.perf_counter() - t0)

    problem = PoleProblem(n_poles=2, markov=False, fitness="damping")
    spec = NetSpec(problem.n_in, 3, True, False)
    genomes = rng.normal(size=(200 if quick else 2000, spec.n_weights))
    problem.evaluate(spec, genomes[:2])  # compile
    t0 = time.perf_counter()
    res = problem.evaluate(spec, genomes)
    dt = time.perf_counter() - t0
    return {
        "steps_per_s_jit": round(jit),
        "steps_per_s_jit_restarting": round(restarting),
        "steps_per_s_reference": round(ref),
        "speedup": round(jit / ref, 1),
        "evaluations_per_s_damping": round(res.n_evaluated / dt),
        "network_steps_per_s_damping": round(float(res.steps.sum()) / dt),
    }
