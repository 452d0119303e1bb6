"""``metahook bench oops-dispatch``: OOPS's speculative dispatcher replayed for 1..256 workers.

Deterministic (time steps, not seconds; :mod:`metahook.search.dispatch_sim`):

1. measure every search of the ``1n2n`` tasks 1..5 (``--quick``: 1..3) in this process, each
   search's cost in time steps (:func:`~metahook.search.dispatch_sim.measure_search_costs`);
2. replay those tasks through the dispatcher's schedule for 1, 2, 4, ..., 256 workers;
3. the same tasks with their per-search costs *modelled* from their recorded totals
   (:func:`~metahook.search.dispatch_sim.split_task`; the fresh/prolongation cost ratio measured
   in step 1, the successful search cut at half its cost), to check the model against step 2;
4. the full 60-task run (``oops-full``), whose metrics log only each task's total, replayed with
   the model; ``last_fraction`` 0.1 and 1.0 bound how much the unknown point where the
   successful search stops matters.

The full run's per-task record is read from the ledger (``results/oops-full/full``) where it is
committed, else from :data:`FULL_RUN_SNAPSHOT`.
"""

from __future__ import annotations

import time
from typing import Any

from metahook.harness.bench import register_benchmark
from metahook.search import dispatch_sim as ds

WORKERS = (1, 2, 4, 8, 16, 32, 64, 128, 256)

# The oops-full run (``metahook run oops-full --scale full --seed 0``, one worker) as its
# metrics.jsonl stood on 2026-12-05 05:33 UTC, still running: (phase, n, T of the successful
# search, its kind, cumulative time steps). 1n2n 1..30 and hanoi 1..2 solved.
FULL_RUN_SNAPSHOT: tuple[tuple[str, int, int, str, int], ...] = (
    ("1n2n", 1, 4194304, "prolongation", 478354),
    ("1n2n", 2, 268435456, "prolongation", 9990653),
    ("1n2n", 3, 4294967296, "prolongation", 98224738),
    ("1n2n", 4, 137438953472, "prolongation", 1984964822),
    ("1n2n", 5, 8589934592, "prolongation", 2115682953),
    ("1n2n", 6, 2199023255552, "fresh", 29620691084),
    ("1n2n", 7, 256, "prolongation", 29620691523),
    ("1n2n", 8, 256, "prolongation", 29620691976),
    ("1n2n", 9, 256, "prolongation", 29620692443),
    ("1n2n", 10, 256, "prolongation", 29620692924),
    ("1n2n", 11, 256, "prolongation", 29620693418),
    ("1n2n", 12, 256, "prolongation", 29620693922),
    ("1n2n", 13, 256, "prolongation", 29620694436),
    ("1n2n", 14, 256, "prolongation", 29620694960),
    ("1n2n", 15, 256, "prolongation", 29620695494),
    ("1n2n", 16, 512, "prolongation", 29620696359),
    ("1n2n", 17, 512, "prolongation", 29620697238),
    ("1n2n", 18, 512, "prolongation", 29620698131),
    ("1n2n", 19, 512, "prolongation", 29620699038),
    ("1n2n", 20, 512, "prolongation", 29620699959),
    ("1n2n", 21, 512, "prolongation", 29620700894),
    ("1n2n", 22, 512, "prolongation", 29620701842),
    ("1n2n", 23, 512, "prolongation", 29620702800),
    ("1n2n", 24, 512, "prolongation", 29620703768),
    ("1n2n", 25, 512, "prolongation", 29620704746),
    ("1n2n", 26, 512, "prolongation", 29620705734),
    ("1n2n", 27, 512, "prolongation", 29620706732),
    ("1n2n", 28, 512, "prolongation", 29620707740),
    ("1n2n", 29, 512, "prolongation", 29620708758),
    ("1n2n", 30, 512, "prolongation", 29620709786),
    ("hanoi", 1, 512, "fresh", 29620710238),
    ("hanoi", 2, 2199023255552, "fresh", 129952631316),
)


def full_run_tasks() -> tuple[list[ds.TaskRecord], str]:
    """The full run's solved tasks and where they were read."""
    from metahook.harness.ledger import find_ledger

    ledger = find_ledger()
    if ledger is not None and (ledger / "oops-full" / "full" / "metrics.jsonl").is_file():
        return ds.read_run(ledger / "oops-full" / "full" / "metrics.jsonl"), "ledger"
    out, before = [], 0
    for phase, n, T, kind, totalt in FULL_RUN_SNAPSHOT:
        out.append(ds.TaskRecord(phase, n, T, kind, totalt - before))
        before = totalt
    return out, "snapshot 2026-12-05 05:33 UTC"


def _curve(tasks: list[list[float]]) -> dict[str, list[float]]:
    rows = ds.scaling(tasks, WORKERS)
    return {"speedup": [round(r["speedup"], 3) for r in rows],
            "efficiency": [round(r["efficiency"], 4) for r in rows]}


def run(quick: bool) -> dict[str, Any]:
    """The figures (see the module docstring); also what ``benchmarks/plot_scaling.py`` plots."""
    n_max = 3 if quick else 5
    t0 = time.perf_counter()
    rows = ds.measure_search_costs("1n2n", n_max)
    measure_s = time.perf_counter() - t0
    measured = ds.by_task(rows)
    rho = ds.fresh_ratio(rows)
    solved = [r for r in rows if r["solved"]]
    records = [ds.TaskRecord("1n2n", r["n"], r["T"], r["kind"], round(sum(t)))
               for r, t in zip(solved, measured, strict=True)]
    modelled = [ds.split_task(t, rho, 0.5) for t in records]
    full, source = full_run_tasks()
    out: dict[str, Any] = {
        "workers": list(WORKERS),
        "measured_tasks": f"1n2n 1..{n_max}",
        "measured_searches": len(rows),
        "measured_time_steps": int(sum(r["cost"] for r in rows)),
        "measure_wall_s": round(measure_s, 1),
        "fresh_ratio": round(rho, 3),
        "measured": _curve(measured),
        "measured_modelled": _curve(modelled),
        "full_run_source": source,
        "full_run_tasks": len(full),
        "full_run_time_steps": sum(t.cost for t in full),
    }
    for frac in (0.1, 0.5, 1.0):
        out[f"full_run_last_{frac}"] = _curve([ds.split_task(t, rho, frac) for t in full])
    return out


@register_benchmark("oops-dispatch", "OOPS's speculative dispatcher replayed for 1..256 workers "
                    "on measured per-search costs and on the full run (time steps; speed-up)")
def bench(quick: bool) -> dict[str, Any]:
    return run(quick)
