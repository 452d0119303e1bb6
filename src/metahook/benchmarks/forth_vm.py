"""``metahook bench forth-vm``: speed of the OOPS machine on the paper's own search workload.

The workload is OOPS's search for 1^n2^n n = 1..3 from scratch (98,224,738 time steps,
80,568,452 tokens, 35,574,057 prefixes; ``--quick``: n = 1..2, 9,990,653 steps). Figures:

* ``steps_per_s_jit``, ``insts_per_s_jit``, ``prefixes_per_s_jit``: the compiled search, one
  process, CPU time (compilation excluded);
* ``steps_per_s_reference``: the pure-Python reference search (:mod:`.reference`) on the first
  rounds of the same search (T <= 2^16 for task 1), CPU time;
* ``steps_per_s_parallel_2``: the parallel search with 2 worker processes, wall-clock time, on
  the same workload (compare with ``wall_s_jit``; the machine's other load shows in both). On
  this workload the last, winning search dominates and cannot be split, so two processes cannot
  do much better than one;
* ``original_program_steps_per_s``: the paper's ~1e6 steps/s on its 600 MHz PC, for context.
"""

from __future__ import annotations

import time
from typing import Any

from metahook.envs.oops_tasks import GOAL_1N2N, init_all
from metahook.harness.bench import register_benchmark
from metahook.machines.forth import reference as ref
from metahook.machines.forth import vm
from metahook.search.oops import OOPS, prewired_state, reset_task_list
from metahook.search.parallel import ParallelOOPS


def _jit(n_max: int) -> tuple[dict[str, int], float, float]:
    oops = OOPS(phases=(("1n2n", n_max),))
    c0, w0 = time.process_time(), time.perf_counter()
    while not oops.finished:
        oops.advance(1 << 40)
    return oops.counters(), time.process_time() - c0, time.perf_counter() - w0


def _reference(T_max: int) -> tuple[int, int, float]:
    st = prewired_state(1 << 16)
    st.R[vm.R_PUSHEN] = 0
    reset_task_list(st)
    init_all(st.tape, GOAL_1N2N)
    qp = int(st.R[vm.R_AFROZEN])
    s = ref.Search([int(x) for x in st.qQ[1:qp + 1]],
                   [(int(st.OLD[k, 0]), int(st.OLD[k, 1])) for k in range(1, 8)], qp, GOAL_1N2N)
    s.mem = st.tape.tolist()
    c0 = time.process_time()
    T = 1
    while T_max >= T:
        s.run_ring([1], 77, T)
        s.run_ring([1], 77, T)
        T *= 2
    return s.totalt, s.insts, time.process_time() - c0


def _parallel(n_max: int, workers: int) -> tuple[dict[str, int], float]:
    po = ParallelOOPS(OOPS(phases=(("1n2n", n_max),)), workers=workers)
    po.advance(0.0)  # start the workers (spawn, imports) before timing
    time.sleep(3.0)
    t0 = time.perf_counter()
    while not po.oops.finished:
        po.advance(1.0)
    wall = time.perf_counter() - t0
    po.close()
    return po.oops.counters(), wall


@register_benchmark("forth-vm", "OOPS machine: time steps/s on the 1^n2^n n<=3 search, JIT vs "
                    "pure-Python reference, and the parallel search")
def bench(quick: bool) -> dict[str, Any]:
    n_max = 2 if quick else 3
    _jit(1)  # compile (or load the cache) outside the timing
    c, cpu, wall = _jit(n_max)
    r_steps, r_insts, r_cpu = _reference(2**13 if quick else 2**16)
    p, p_wall = _parallel(n_max, 2)
    assert p == c, "parallel search must give the same counters"
    return {
        "workload": f"OOPS search, 1^n2^n n=1..{n_max} from scratch",
        "time_steps": c["totalt"], "instructions": c["insts"], "prefixes": c["prefs"],
        "cpu_s_jit": round(cpu, 3),
        "wall_s_jit": round(wall, 3),
        "steps_per_s_jit": round(c["totalt"] / cpu),
        "insts_per_s_jit": round(c["insts"] / cpu),
        "prefixes_per_s_jit": round(c["prefs"] / cpu),
        "steps_per_s_reference": round(r_steps / r_cpu),
        "insts_per_s_reference": round(r_insts / r_cpu),
        "jit_over_reference": round((c["totalt"] / cpu) / (r_steps / r_cpu), 1),
        "wall_s_parallel_2": round(p_wall, 3),
        "steps_per_s_parallel_2": round(c["totalt"] / p_wall),
        "original_program_steps_per_s": 1_000_000,
    }
