"""Many independent evolutionary runs of several methods, spread over processes or a Ray cluster.

A *study* is the papers' protocol for one table column: each method runs ``runs`` times from
independent seeds on one :class:`~metahook.evolution.problem.Problem` (a pole variant, a
T-maze), and the mean and median number of evaluations to solve are reported. Runs share
nothing, so they are farmed out:

- ``backend="process"``: a ``concurrent.futures.ProcessPoolExecutor`` over ``workers`` processes
  (``workers=1`` runs them in this process, which is what the quick scales do);
- ``backend="ray"``: one Ray task per run (:func:`metahook.core.ray_pool.ray_imap`): the cluster
  at ``RAY_ADDRESS`` (``metahook run --ray-address``), the one this process already joined, or
  else a local Ray started with ``workers`` CPUs. A run whose worker process dies is run again
  by Ray and gives the same record.

Each run's seed is derived from the study seed, the method's name and the run's index
(``numpy.random.SeedSequence``), so a run's result does not depend on which worker ran it or in
which order, and a study resumed from a checkpoint ends where an uninterrupted one would.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from metahook.core.ray_pool import THREAD_VARS, check_backend, ray_imap
from metahook.core.sweep import Checkpointer, collect
from metahook.evolution.base import Algorithm, Driver
from metahook.evolution.budget import RunRecord
from metahook.evolution.network import NetSpec
from metahook.evolution.problem import Problem
from metahook.evolution.run import evolve


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs (picklable, sent to a worker)."""

    method: str
    index: int
    algo: Algorithm | Driver
    problem: Problem
    net: NetSpec
    seed: int
    max_evaluations: int

    @property
    def key(self) -> str:
        return f"{self.method}/{self.index}"


def run_seed(study_seed: int, method: str, index: int) -> np.random.SeedSequence:
    """The seed of run ``index`` of ``method`` in a study seeded ``study_seed``."""
    return np.random.SeedSequence([study_seed, zlib.crc32(method.encode()), index])


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Execute one run; returns its :class:`RunRecord` as JSON plus its key."""
    rng = np.random.default_rng(run_seed(spec.seed, spec.method, spec.index))
    rec: RunRecord = evolve(spec.algo, spec.problem, spec.net, rng, spec.max_evaluations)
    return {"key": spec.key, **rec.to_json()}


def _init_worker() -> None:
    for var in THREAD_VARS:
        os.environ[var] = "1"


def execute(specs: list[RunSpec], backend: Literal["process", "ray"] = "process",
            workers: int = 1) -> Iterator[dict[str, Any]]:
    """Yield each run's result as it finishes (order may differ from ``specs``)."""
    check_backend(backend)
    if not specs:
        return
    workers = workers or os.cpu_count() or 1
    if backend == "ray":
        yield from ray_imap(run_one, specs, num_cpus=workers)
        return
    if workers == 1:
        for s in specs:
            yield run_one(s)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(specs)),
                             initializer=_init_worker) as pool:
        pending: set[Future[dict[str, Any]]] = {pool.submit(run_one, s) for s in specs}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()


def run_all(ctx: Checkpointer, specs: list[RunSpec], backend: Literal["process", "ray"] = "process",
            workers: int = 1,
            on_record: Callable[[str, dict[str, Any], int], None] | None = None
            ) -> dict[str, dict[str, Any]]:
    """Every run of ``specs``, resumable: ``{spec.key: record}`` in the order of ``specs``.

    The runs still missing from the last checkpoint are executed (:func:`execute`) and every
    record is checkpointed as it arrives, after ``on_record(key, record, n_done)``.
    """
    by_key = {s.key: s for s in specs}

    def compute(missing: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for rec in execute([by_key[k] for k in missing], backend, workers):
            yield rec.pop("key"), rec

    return collect(ctx, list(by_key), compute, on_record)


def summarize(records: Iterable[dict[str, Any]], max_evaluations: int) -> dict[str, Any]:
    """Mean / median evaluations over solved runs (and the mean over all runs, unsolved ones at the
    cap), failures, mean generalization score."""
    recs = list(records)
    solved = [r for r in recs if r["solved"]]
    ev = np.array([r["evaluations"] for r in solved], dtype=float)
    gen = [r["generalization"] for r in solved if r["generalization"] >= 0]
    out: dict[str, Any] = {
        "runs": len(recs),
        "solved": len(solved),
        "mean_evaluations": float(ev.mean()) if ev.size else None,
        # every run, an unsolved one counted at the cap: the mean that cannot hide failures
        "mean_evaluations_at_cap": (float(np.mean([r["evaluations"] if r["solved"]
                                                   else max_evaluations for r in recs]))
                                    if recs else None),
        "median_evaluations": float(np.median(ev)) if ev.size else None,
        "std_evaluations": float(ev.std(ddof=1)) if ev.size > 1 else None,
        "max_evaluations": int(ev.max()) if ev.size else None,
        "mean_generalization": float(np.mean(gen)) if gen else None,
        "mean_hidden": float(np.mean([r["hidden"] for r in solved])) if solved else None,
        # generations to solve (solved runs): with a fixed population m, m x this is the count
        # of a loop that simulates every network of every generation
        "mean_generations": (float(np.mean([r["generations"] for r in solved]))
                             if solved else None),
        "mean_wall_s": float(np.mean([r["wall_s"] for r in recs])) if recs else None,
        "evaluation_cap": max_evaluations,
    }
    return out


ProgressFn = Callable[[int, int], None]
