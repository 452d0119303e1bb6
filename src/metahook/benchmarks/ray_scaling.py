"""``metahook bench ray-scaling``: one pole table on one process, then on a local Ray cluster
with one and with two worker processes, back to back.

The table is ``pole-single`` at full scale (Gomez, Schmidhuber & Miikkulainen, JMLR 9, 2008,
Table 1: five methods x 50 independent runs = 250 runs); ``--quick`` runs its quick scale. The
three runs go one after another into temporary folders through the harness (so each is exactly
``metahook run pole-single --scale full --set backend=... --set workers=...``), with the load
average (``os.getloadavg``) read before and after each: on a shared machine the timings mean
little without it (on a machine loaded beyond its cores a process gets a share of them, and two
worker processes get two shares whether or not a core is free). ``runs_s`` is the sum of the
runs' own wall times, measured inside the workers, and ``concurrency`` = ``runs_s`` / wall: how
many runs were in progress on average. The Ray runs include starting and stopping the local
Ray (reported apart as ``ray_start_s``, measured once before). The results of the three runs
are compared (every metric but the timing ones) and must agree.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from metahook.harness.bench import register_benchmark
from metahook.harness.runner import run_experiment

EXPERIMENT = "pole-single"


def _untimed(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if not k.endswith("wall_s")}


def _ray_start_s() -> float:
    """Seconds to start and stop a local Ray of one CPU (what each Ray run pays once)."""
    from metahook.core.ray_pool import ray_session

    t0 = time.perf_counter()
    with ray_session(num_cpus=1):
        pass
    return round(time.perf_counter() - t0, 1)


@register_benchmark("ray-scaling", "a 250-run pole table on 1 process vs a local Ray cluster "
                    "with 1 and 2 workers (wall time, load average, results compared)")
def bench(quick: bool) -> dict[str, Any]:
    scale = "quick" if quick else "full"
    settings = [("process", 1), ("ray", 1), ("ray", 2)]
    figures: dict[str, Any] = {"experiment": EXPERIMENT, "scale": scale,
                               "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                               "cpus": os.cpu_count(), "ray_start_s": _ray_start_s()}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend, workers in settings:
            label = f"{backend}_{workers}"
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            doc = run_experiment(EXPERIMENT, out=Path(tmp) / label, scale=scale,
                                 overrides=[f"backend={backend}", f"workers={workers}"],
                                 checkpoint_every_s=60.0, handle_sigint=False)
            wall = time.perf_counter() - t0
            m = doc["metrics"]
            runs_s = sum(v * m["runs_per_method"] for k, v in m.items()
                         if k.endswith("_mean_wall_s") and v is not None)
            figures[f"{label}_runs_s"] = round(runs_s, 1)
            figures[f"{label}_concurrency"] = round(runs_s / wall, 2)
            figures[f"{label}_wall_s"] = round(wall, 1)
            figures[f"{label}_load_before"] = round(load0, 2)
            figures[f"{label}_load_after"] = round(os.getloadavg()[0], 2)
            if doc["status"] != "ok":
                raise RuntimeError(f"{EXPERIMENT} on {label} ended {doc['status']}")
            results.append(_untimed(doc["metrics"]))
    base = figures["process_1_wall_s"]
    figures["speedup_ray_1"] = round(base / figures["ray_1_wall_s"], 2)
    figures["speedup_ray_2"] = round(base / figures["ray_2_wall_s"], 2)
    figures["runs"] = results[0]["runs_per_method"] * sum(
        1 for k in results[0] if k.endswith("_runs"))
    figures["results_identical"] = all(r == results[0] for r in results)
    return figures
