"""``metahook bench godel``: Gödel machine cycles, proof steps and HSEARCH's kernels per second."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import numpy as np

from metahook.harness.bench import register_benchmark
from metahook.rsi.godel.machine import Setup, live
from metahook.search import hsearch as hs


def _timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


@register_benchmark("godel", "Gödel machine: cycles/s, z3+kernel proof steps/s; HSEARCH: "
                    "candidates/s, interpreter steps/s (numba vs Python)")
def bench(quick: bool) -> dict[str, Any]:
    means = tuple(Fraction(m, 10) for m in (1, 3, 5, 6, 4, 9))
    T = 200_000 if quick else 1_000_000
    setup = Setup(means=means, T=T)
    life, wall = _timed(lambda: live(setup, np.random.default_rng(0), audit=False))
    st = life.hardware.stats
    switch_t = life.switches[0]["t1"] if life.switches else T
    slow, wall_slow = _timed(lambda: live(setup, np.random.default_rng(0), audit=False,
                                          fast=False))
    assert slow.reward == life.reward
    # HSEARCH: A's enumeration (numba) and C's interpreter (numba vs the Python reference)
    trace, wall_a = _timed(lambda: hs.proof_search(3))
    n = 1 << (20 if quick else 22)
    xs = np.random.default_rng(0).integers(0, hs.MASK + 1, n).astype(np.int64)
    p = min((f.program for f in trace.found), key=lambda q: q.cost)
    out = np.empty_like(xs)
    args = (np.array(p.ops), np.array(p.a), np.array(p.b), hs.OP_COST)
    hs.run_program(*args, xs[:8], out[:8], 1 << 62)  # compile
    steps, wall_c = _timed(lambda: hs.run_program(*args, xs, out, 1 << 62))
    m = 20_000
    _, wall_ref = _timed(lambda: [hs.program_reference(p, int(x)) for x in xs[:m]])
    return {
        "lifetime_cycles": T,
        "life_wall_s": round(wall, 3),
        "cycles_per_s": round(T / wall),
        "cycles_per_s_step_by_step": round(T / wall_slow),
        "search_cycles_before_switch": st.search_cycles,
        "switch_t1": switch_t,
        "techniques_per_s": round(st.techniques_run / wall, 1),
        "z3_lin_calls": st.prover.calls,
        "z3_lin_calls_per_s": round(st.prover.calls / wall, 1),
        "hsearch_candidates": trace.candidates,
        "hsearch_A_wall_s": round(wall_a, 3),
        "hsearch_z3_proofs": trace.survivors,
        "interpreter_steps_per_s_numba": round(steps / wall_c),
        "interpreter_steps_per_s_python": round(m * p.time(1) / wall_ref),
    }
