"""How OOPS's speculative dispatcher scales: a recorded run replayed through its schedule.

:class:`metahook.search.parallel.ParallelOOPS` parallelises OOPS (Schmidhuber, Optimal Ordered
Problem Solver, Machine Learning 54, 2004) over whole searches: for task n the single-process run
tries ``prolongation(1), fresh(1), prolongation(2), fresh(2), ...`` (T doubling) until one
succeeds, and each search is a pure function of the state frozen after task n-1. This module
computes, without running anything, how long a run whose per-search costs are known would take
on ``W`` workers under that dispatcher's rules:

1. searches are dispatched in sequence order, each to a free worker, at most ``lookahead = 4 W``
   beyond the next search to merge;
2. results are merged in sequence order; the first success ends the task (the searches after it
   are cancelled and, dispatched later than every search before it, never delay those);
3. the next task's searches start when its predecessor's success is merged (the frozen code of
   task n is the start of task n+1); a search of cost 0 (a fresh search with T < n, which the
   dispatcher skips, or one whose ring is empty) needs no worker.

Time is counted in the machine's time steps (the paper's cost measure), every worker running at
the same rate; dispatch and merge overheads, the cancellation latency and the rare searches run
again because ``topt``/``topSp`` could not be resolved are left out. On one worker the replay
gives the sequential time exactly (tested), so ``speed-up = sequential / replay(W)``.

Where the per-search costs are not recorded (a long run logs one line per solved task: its
(T, kind) and the cumulative time steps), :func:`split_task` spreads a task's recorded total
over its searches in the shape measured on shorter tasks (:func:`measure_search_costs`): a
search's cost proportional to its T, a fresh search ``fresh_ratio`` times a prolongation of the
same T, the successful search cut at ``last_fraction`` of its full cost.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

LOOKAHEAD_PER_WORKER = 4
"""``ParallelOOPS.lookahead = 4 * workers``."""


@dataclass(frozen=True)
class TaskRecord:
    """One solved task of a recorded run: where it was solved and what it cost in all."""

    phase: str
    n: int
    T: int  # the time limit of the successful search
    kind: str  # "prolongation" or "fresh"
    cost: int  # time steps from the previous task's success to this one's


def search_sequence(T_star: int, kind_star: str) -> list[tuple[int, str]]:
    """The searches a task runs, in order, through the successful ``(T_star, kind_star)``."""
    if T_star < 1 or T_star & (T_star - 1) or kind_star not in ("prolongation", "fresh"):
        raise ValueError(f"bad successful search ({T_star}, {kind_star!r})")
    out: list[tuple[int, str]] = []
    T = 1
    while True:
        for kind in ("prolongation", "fresh"):
            out.append((T, kind))
            if (T, kind) == (T_star, kind_star):
                return out
        T *= 2


def split_task(task: TaskRecord, fresh_ratio: float, last_fraction: float) -> list[float]:
    """``task.cost`` spread over its searches (see the module docstring); skipped fresh searches
    (T < n) cost 0. The costs sum to ``task.cost``."""
    seq = search_sequence(task.T, task.kind)
    w = np.array([0.0 if (kind == "fresh" and task.n > T) else
                  float(T) * (fresh_ratio if kind == "fresh" else 1.0) for T, kind in seq])
    w[-1] *= last_fraction
    return list(task.cost * w / w.sum()) if w.sum() > 0 else [float(task.cost)]


def task_time(costs: Sequence[float], workers: int,
              lookahead: int | None = None) -> float:
    """Time from a task's first dispatch to the merge of its last search (the success) on
    ``workers`` workers; ``lookahead`` defaults to the dispatcher's ``4 * workers``."""
    if workers < 1:
        raise ValueError("workers must be >= 1")
    look = LOOKAHEAD_PER_WORKER * workers if lookahead is None else lookahead
    free = [0.0] * workers  # when each worker is next free (a heap)
    merged: list[float] = []  # merge time of each search
    last_dispatch = 0.0
    for j, c in enumerate(costs):
        gate = merged[j - look] if j >= look else 0.0
        if c > 0:
            start = max(free[0], gate, last_dispatch)
            heapq.heapreplace(free, start + c)
            finish = start + c
        else:  # skipped: no worker
            start = finish = max(gate, last_dispatch)
        last_dispatch = start
        merged.append(max(merged[-1] if merged else 0.0, finish))
    return merged[-1] if merged else 0.0


def replay(tasks: Iterable[Sequence[float]], workers: int,
           lookahead: int | None = None) -> float:
    """Time of a whole run (tasks one after another) on ``workers`` workers."""
    return float(sum(task_time(c, workers, lookahead) for c in tasks))


def scaling(tasks: Sequence[Sequence[float]], workers: Iterable[int]) -> list[dict[str, float]]:
    """Per worker count: the replayed time, the speed-up over one worker and the efficiency
    (speed-up / workers)."""
    seq = replay(tasks, 1)
    rows = []
    for w in workers:
        t = replay(tasks, w)
        rows.append({"workers": w, "time_steps": t, "speedup": seq / t,
                     "efficiency": seq / t / w})
    return rows


def read_run(metrics: Path) -> list[TaskRecord]:
    """The solved tasks of an OOPS run's ``metrics.jsonl`` (one line per solved task with
    ``phase``, ``n``, ``T``, ``kind`` and the cumulative ``totalt``)."""
    out, before = [], 0
    for line in Path(metrics).read_text().splitlines():
        d = json.loads(line)
        if "totalt" not in d or "T" not in d:
            continue
        out.append(TaskRecord(str(d["phase"]), int(d["n"]), int(d["T"]), str(d["kind"]),
                              int(d["totalt"]) - before))
        before = int(d["totalt"])
    return out


def measure_search_costs(phase: str, n_max: int) -> list[dict[str, Any]]:
    """Run OOPS on ``phase`` tasks 1..``n_max`` in this process and record every search: its
    task, T, kind, cost in time steps and whether it succeeded (the costs sum to the run's
    ``totalt``). Takes as long as the run itself."""
    from metahook.machines.forth import vm
    from metahook.search.oops import OOPS, PROLONG

    oops = OOPS(phases=((phase, n_max),))
    R = oops.st.R
    rows: list[dict[str, Any]] = []
    before = [0]
    next_stage, freeze = oops._next_stage, oops._freeze

    def mark(solved: bool) -> None:  # called as a search ends, before the state moves on
        total = int(R[vm.R_TOTALT])
        rows.append({"n": oops.n, "T": int(R[vm.R_T]), "solved": solved,
                     "kind": "prolongation" if oops.stage == PROLONG else "fresh",
                     "cost": total - before[0]})
        before[0] = total

    def on_next_stage() -> None:
        mark(False)
        next_stage()

    def on_freeze() -> Any:
        mark(True)
        return freeze()

    oops._next_stage = on_next_stage  # type: ignore[method-assign]
    oops._freeze = on_freeze  # type: ignore[method-assign]
    while not oops.finished:
        oops.advance(10**9)
    return rows


def by_task(rows: Sequence[dict[str, Any]]) -> list[list[float]]:
    """Measured search rows grouped into tasks (each ending at its successful search)."""
    tasks: list[list[float]] = [[]]
    for r in rows:
        tasks[-1].append(float(r["cost"]))
        if r["solved"]:
            tasks.append([])
    return [t for t in tasks if t]


def fresh_ratio(rows: Sequence[dict[str, Any]], min_T: int = 1 << 20) -> float:
    """The median cost of a fresh search over the prolongation of the same task and T, among
    failed searches with ``T >= min_T`` (where both grow in proportion to T)."""
    prol = {(r["n"], r["T"]): r["cost"] for r in rows
            if r["kind"] == "prolongation" and not r["solved"]}
    ratios = [r["cost"] / prol[(r["n"], r["T"])] for r in rows
              if r["kind"] == "fresh" and not r["solved"] and r["T"] >= min_T
              and prol.get((r["n"], r["T"]), 0) > 0]
    if not ratios:
        raise ValueError(f"no fresh/prolongation pair with T >= {min_T}")
    return float(np.median(ratios))
