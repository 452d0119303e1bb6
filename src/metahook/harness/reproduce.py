"""``metahook reproduce``: every registered experiment, in parallel over the cores, then the report.

Each experiment runs in its own worker process (``spawn``; one thread per worker for numpy,
torch and numba so the workers do not oversubscribe the cores) into ``DIR/<name>/``, which
``reproduce`` owns and replaces. Workers send progress through a queue; the parent shows a live
rich progress display with one bar per experiment. A failing experiment is recorded with status
``error`` and does not stop the others.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from metahook.harness.errors import UsageError, choices
from metahook.harness.registry import SCALES, experiment_names
from metahook.harness.runner import remove_run, run_experiment

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def _init_worker() -> None:
    for var in _THREAD_VARS:
        os.environ[var] = "1"


def _job(name: str, scale: str, seed: int, out: str, q: Any) -> dict[str, Any]:
    def sink(done: float, total: float, description: str) -> None:
        q.put((name, done, total, description))

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    doc = run_experiment(name, out=Path(out), scale=scale, seed=seed, progress_sink=sink,
                         catch_errors=True, checkpoint_every_s=60.0)
    q.put((name, 1.0, 1.0, doc["status"]))
    return {k: doc[k] for k in ("experiment", "status")} | {"wall_s": doc["metrics"]["wall_s"]}


def _record_crash(folder: Path, name: str, scale: str, seed: int, error: str) -> None:
    """A worker died outside ``run_experiment``: leave a result.json saying so."""
    from metahook.harness.checkpoint import atomic_write_json
    from metahook.harness.registry import get_experiment
    from metahook.harness.versions import versions

    exp = get_experiment(name)
    atomic_write_json(folder / "result.json", {
        "experiment": name, "system": exp.system, "paper": exp.paper, "scale": scale,
        "seed": seed, "status": "error", "error": error, "metrics": {},
        "reference": {k: r.to_json() for k, r in exp.reference.items()}, "versions": versions(),
    })


def select(only: list[str] | None) -> list[str]:
    names = experiment_names()
    if not only:
        return names
    unknown = [n for n in only if n not in names]
    if unknown:
        raise UsageError(f"unknown experiment {unknown[0]!r}; valid: {choices(names)}")
    return list(dict.fromkeys(only))


def reproduce(
    out: Path,
    scale: str = "quick",
    only: list[str] | None = None,
    seed: int = 0,
    workers: int | None = None,
    live: bool = True,
) -> list[dict[str, Any]]:
    """Run the selected experiments into ``out/<name>`` in parallel; return their summaries."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if scale not in SCALES:
        raise UsageError(f"unknown scale {scale!r}; valid: {choices(list(SCALES))}")
    names = select(only)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        remove_run(out / name)
    workers = max(1, min(workers or os.cpu_count() or 1, len(names)))
    ctx = mp.get_context("spawn")
    manager = ctx.Manager()
    q = manager.Queue()
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.fields[name]:<24}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), TextColumn("{task.description}"),
        console=console, disable=not live, transient=False,
    )
    tasks = {n: progress.add_task("queued", total=1.0, name=n) for n in names}
    summaries: list[dict[str, Any]] = []
    started: set[str] = set()
    with progress, ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
        futures: dict[Future[dict[str, Any]], str] = {
            pool.submit(_job, n, scale, seed, str(out / n), q): n for n in names
        }
        pending = set(futures)
        while pending:
            try:
                while True:
                    name, done, total, desc = q.get(timeout=0.1)
                    if name not in started:
                        started.add(name)
                        progress.reset(tasks[name], total=total, description=desc)
                    progress.update(tasks[name], completed=done, total=total, description=desc)
            except queue.Empty:
                pass
            for fut in [f for f in pending if f.done()]:
                pending.discard(fut)
                name = futures[fut]
                try:
                    summary = fut.result()
                except Exception as exc:  # a worker that died outside the run
                    summary = {"experiment": name, "status": "error", "wall_s": None,
                               "error": f"{type(exc).__name__}: {exc}"}
                    _record_crash(out / name, name, scale, seed, summary["error"])
                summaries.append(summary)
                progress.update(tasks[name], completed=1.0, total=1.0,
                                description=summary["status"])
            time.sleep(0.05)
    manager.shutdown()
    return sorted(summaries, key=lambda s: s["experiment"])
