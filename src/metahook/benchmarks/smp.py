"""``metahook bench smp``: SMP + doors-and-keys steps per second, compiled and reference.

One *step* is one SMP instruction of one agent, including the environment action it triggers;
the agents take turns, so a step is also one basic cycle of the experiment. The compiled path is
the life loop of ``ssa-doors-keys`` (:class:`metahook.rsi.doors_keys_life.DoorsKeysLife` with its
default constants, those of the experiment's full scale; SSA on); the reference path runs the
pure-Python SMP (:mod:`metahook.machines.smp.reference`) with the environment's step as plain
Python (``dk_act.py_func``) on the same task. Both start from a fresh life. On a shared machine
read the per-CPU-second figures (``process_time``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from metahook.envs import doors_keys as dk
from metahook.harness.bench import register_benchmark
from metahook.machines.smp.reference import ReferenceSMP
from metahook.rsi.doors_keys_life import INSTRUCTIONS, DoorsKeysLife, DoorsKeysParams


def _jit_steps_per_s(cycles: int) -> tuple[float, float, int]:
    life = DoorsKeysLife(DoorsKeysParams(), "smp", True, seed=0)
    life.advance(10_000, 10**9)  # compile outside the timing
    t0, c0 = time.perf_counter(), time.process_time()
    life.advance(10_000 + cycles, 10**9)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return cycles / wall, cycles / cpu, life.n_trials


def _reference_steps_per_s(steps: int) -> tuple[float, float]:
    cfg = DoorsKeysParams()
    p = cfg.smp_params(True)
    agents = [ReferenceSMP(INSTRUCTIONS, p.n_cells, 0, p.lam, p.minp, p.eval_delay,
                           p.prepeval_unit, p.sms_max_steps, True, p.eval_max_steps)
              for _ in range(2)]
    rng = np.random.default_rng(0)
    u = rng.random(4 * steps + 64).tolist()
    fs = np.zeros(dk.N_FSTATE)
    ist = np.zeros(dk.N_ISTATE, dtype=np.int64)
    res = np.zeros(4)
    dk.dk_reset.py_func(fs, ist, rng.random(6), np.zeros(1, dtype=np.int64))
    act = dk.dk_act.py_func
    pos = 0
    w = INSTRUCTIONS.width
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(steps):
        a = i % 2
        name, out, pos = agents[a].step(u, pos)
        if name != "env":
            continue
        act(fs, ist, a, out[0], out[1], cfg.step_px, dk.WALLS, dk.DOORS, dk.KEYS, dk.GOAL, res)
        if out[0] >= dk.LOOK_OBSTACLE:
            if res[dk.RES_SENSED]:
                agents[a].IP = (out[1] * w) % p.n_cells
        elif res[dk.RES_END]:
            for b in range(2):
                agents[b].reward(res[b], True)
            dk.dk_reset.py_func(fs, ist, rng.random(6), np.zeros(1, dtype=np.int64))
        else:
            agents[a].reward(res[a], False)
    return steps / (time.perf_counter() - t0), steps / (time.process_time() - c0)


@register_benchmark("smp", "SMP + doors-and-keys steps per second: numba life loop vs reference")
def bench(quick: bool) -> dict[str, Any]:
    jit, jit_cpu, trials = _jit_steps_per_s(4_000_000 if quick else 100_000_000)
    ref, ref_cpu = _reference_steps_per_s(10_000 if quick else 100_000)
    return {
        "steps_per_s_jit": round(jit),
        "steps_per_s_reference": round(ref),
        "jit_over_reference": round(jit_cpu / ref_cpu, 1),
        "steps_per_cpu_s_jit": round(jit_cpu),
        "steps_per_cpu_s_reference": round(ref_cpu),
        "trials_in_jit_run": trials,
    }
