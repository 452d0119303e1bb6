"""Shared driver of the OOPS experiments (``oops-1n2n``, ``oops-hanoi``, ``oops-full``).

Runs :class:`metahook.search.oops.OOPS` in slices of ``slice_insts`` tokens, logging every solved
task with the program's counters, checkpointing between slices (the whole machine and search
state) and resuming from a checkpoint to the same result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from metahook.core.ray_pool import check_backend
from metahook.harness.api import Experiment, RunContext, plots, register
from metahook.machines.forth.asm import assemble
from metahook.references import original_run, refs
from metahook.search.direct import PAPER_FROZEN
from metahook.search.oops import OOPS, Solved
from metahook.search.parallel import ParallelOOPS

PAPER = ("J. Schmidhuber, Optimal Ordered Problem Solver, Machine Learning 54:211-254, 2004 "
         "(TR IDSIA-12-02, arXiv cs/0207097)")
# The original program's counters at each task its own run solved (metahook/references/oops.toml):
# totalt for every task, prefs where that run reported them exactly.
PROGRAM_TOTALT = {task: row.totalt for task, row in original_run().items()}
PROGRAM_PREFS = {task: row.prefs for task, row in original_run().items() if row.prefs is not None}


def register_oops(name: str, description: str, config: type, scales: dict[str, Any],
                  run: Any, smoke: Any) -> Experiment:
    """Register one of the OOPS experiments: the paper, system and reference figures
    (``metahook/references/oops.toml``, keyed by the experiment's name) are the same for all."""
    return register(Experiment(name=name, system="OOPS", paper=PAPER, description=description,
                               config=config, scales=scales, run=run, smoke=smoke,
                               reference=refs("oops", name)))


@dataclass(frozen=True)
class SearchBudget:
    """The execution settings every OOPS experiment's config shares (its own fields come after)."""

    slice_insts: int = 20_000_000  # tokens between checkpoints / progress updates
    max_time_steps: int = 0  # stop once totalt reaches this (0: no cap)
    workers: int = 1  # processes for the search (METAHOOK_WORKERS overrides); same results
    backend: str = "process"  # or "ray": the workers (workers > 1) are Ray actors; same results

    def validate(self) -> None:
        if self.slice_insts < 1:
            raise ValueError("slice_insts must be >= 1")
        if self.max_time_steps < 0:
            raise ValueError("max_time_steps must be >= 0")
        if self.workers < 1:
            raise ValueError("workers must be >= 1")
        check_backend(self.backend)


def workers_for(cfg_workers: int) -> int:
    """Worker processes: the config's, unless METAHOOK_WORKERS overrides it (results are the same
    for any number, so it is an execution setting, like a thread count)."""
    env = os.environ.get("METAHOOK_WORKERS", "")
    return max(1, int(env)) if env.isdigit() else max(1, cfg_workers)


def drive(ctx: RunContext, oops: OOPS, budget: SearchBudget) -> dict[str, Any]:
    """Run ``oops`` to the end (or the step cap), logging and checkpointing; return metrics.

    With ``workers > 1`` the searches run in worker processes (:mod:`metahook.search.parallel`),
    or Ray actors with ``backend="ray"``; the result is identical. A checkpoint of
    either kind resumes with any number of workers.
    """
    slice_insts, max_time_steps = budget.slice_insts, budget.max_time_steps
    workers = workers_for(budget.workers)
    state = ctx.restore()
    wall: dict[str, float] = {}
    par: ParallelOOPS | None = None
    if state is not None:
        wall = {k: float(v) for k, v in state["wall"].items()}
        if "inflight" in state:
            par = ParallelOOPS.from_state_dict(state, workers, backend=budget.backend)
            oops = par.oops
        else:
            oops = OOPS.from_state_dict(state["oops"])
    if par is None and workers > 1:
        par = ParallelOOPS(oops, workers, backend=budget.backend)
    total_n = sum(n for _, n in oops.phases)
    capped = False
    try:
        _loop(ctx, oops, par, slice_insts, max_time_steps, wall, total_n)
    finally:
        if par is not None:
            par.close()
    if max_time_steps and not oops.finished:
        capped = True
    metrics = metrics_of(oops, wall, capped)
    if par is not None:
        metrics["parallel_reruns"] = par.reruns
    return metrics


def _loop(ctx: RunContext, oops: OOPS, par: ParallelOOPS | None, slice_insts: int,
          max_time_steps: int, wall: dict[str, float], total_n: int) -> None:
    while not oops.finished:
        if max_time_steps and oops.counters()["totalt"] >= max_time_steps:
            return
        events = par.advance(5.0) if par is not None else oops.advance(slice_insts)
        for k, e in enumerate(events):
            wall[f"{e.phase}:{e.n}"] = ctx.wall_s
            ctx.log(len(oops.solved) - len(events) + k + 1, **e.to_json(),
                    wall_s=round(ctx.wall_s, 3))
        c = oops.counters()
        ctx.progress(len(oops.solved), total_n,
                     f"{oops.where()}  totalt {c['totalt']:.3e}  prefs {c['prefs']:.3e}")

        def snapshot(o: OOPS = oops, w: dict[str, float] = wall) -> dict[str, Any]:
            if par is not None:
                return {**par.state_dict(), "wall": dict(w)}
            return {"oops": o.state_dict(), "wall": dict(w)}

        ctx.checkpoint(snapshot)


def metrics_of(oops: OOPS, wall: dict[str, float], capped: bool) -> dict[str, Any]:
    c = oops.counters()
    timeline = []
    for s in oops.solved:
        row = s.to_json()
        row["wall_s"] = round(wall.get(f"{s.phase}:{s.n}", float("nan")), 3)
        timeline.append(row)
    out: dict[str, Any] = {
        "max_n_solved": {ph: max([s.n for s in oops.solved if s.phase == ph], default=0)
                         for ph, _ in oops.phases},
        "prefixes_tested": c["prefs"], "instructions": c["insts"], "time_steps": c["totalt"],
        "topt": c["topt"], "topSp": c["topSp"], "off_memory_scans": c["off_memory_scans"],
        "finished": oops.finished, "stopped_at": oops.where(), "step_cap_reached": capped,
        "timeline": timeline,
    }
    for s in oops.solved:
        out[f"time_steps_{s.phase}_n{s.n}"] = s.totalt
        out[f"prefs_{s.phase}_n{s.n}"] = s.prefs
        key = (s.phase, s.n)
        if key in PROGRAM_TOTALT:
            out[f"matches_program_{s.phase}_n{s.n}"] = (
                s.totalt == PROGRAM_TOTALT[key]
                and (key not in PROGRAM_PREFS or s.prefs == PROGRAM_PREFS[key]))
    return out


def timeline_plot(ctx: RunContext, oops_metrics: dict[str, Any], name: str) -> None:
    rows = oops_metrics["timeline"]
    if rows:
        plots.save(timeline_figure(rows), ctx.plot_path(name))


def timeline_figure(rows: list[dict[str, Any]]) -> Any:
    """Tasks solved against total time steps: ours, with the original program's marked."""
    fig, ax = plots.figure()
    for phase, marker in (("1n2n", "o"), ("hanoi", "s")):
        pts = [(r["totalt"], r["n"]) for r in rows if r["phase"] == phase]
        if pts:
            ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", marker=marker,
                    markersize=3, label=f"ours: {phase}")
    prog = sorted((v, k[1], k[0]) for k, v in PROGRAM_TOTALT.items())
    for phase, marker in (("1n2n", "x"), ("hanoi", "+")):
        pts = [(v, n) for v, n, ph in prog if ph == phase]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, color="k",
                   s=60, label=f"original program: {phase}", zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel("total time steps (totalt)")
    ax.set_ylabel("task n solved")
    ax.legend()
    return fig


def paper_frozen() -> list[list[int]]:
    return [assemble(p) for p in PAPER_FROZEN]


__all__ = [
    "PAPER",
    "Solved",
    "drive",
    "metrics_of",
    "paper_frozen",
    "register_oops",
    "timeline_figure",
    "timeline_plot",
]
