"""What the PowerPlay experiments share: their summary metrics and their plots.

The measurements of the PowerPlay papers' claims (Schmidhuber, Frontiers in Psychology 4:313,
2013; Srivastava, Steunebrink & Schmidhuber, Neural Networks 41:130-136, 2013), from the
acceptances of any domain (:class:`metahook.rsi.powerplay.core.Acceptance`): repertoire size
against total search time, time per acceptance against repertoire size, tasks re-tested per
acceptance with and without dependency tracking, the share of new solutions that reuse earlier
components, compression vs non-compression tasks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metahook.harness.api import Experiment, RunContext, plots, register
from metahook.references import refs
from metahook.rsi.powerplay.core import Acceptance, PowerPlay


def register_powerplay(name: str, description: str, paper: str, config: type,
                       scales: dict[str, Any], run: Any, smoke: Any) -> Experiment:
    """Register a PowerPlay experiment (system "PowerPlay"; its reference figures are the
    ``[<name>.*]`` tables of ``metahook/references/powerplay.toml``)."""
    return register(Experiment(name=name, system="PowerPlay", paper=paper,
                               description=description, config=config, scales=scales, run=run,
                               smoke=smoke, reference=refs("powerplay", name)))


def repertoire_smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """What every PowerPlay quick run must show: at least 10 acceptances, one of them a
    compression task, and a verified repertoire with nothing forgotten."""
    ok = (m["tasks_total"] >= 10 and m["tasks_compression"] >= 1 and m["forgetting"] == 0
          and m["verified_tasks"] == m["repertoire"])
    return ok, (f"{m['tasks_total']} tasks ({m['tasks_compression']} compression), forgetting "
                f"{m['forgetting']}")


def acceptance_metrics(pp: PowerPlay[Any], check: dict[str, int],
                       wall: list[float]) -> dict[str, Any]:
    """The summary every PowerPlay experiment reports (``check``: the verify count)."""
    acc = pp.accepted
    n = max(1, len(acc))
    new = [a for a in acc if not a.compression]
    return {
        "tasks_total": len(acc),
        "tasks_compression": sum(a.compression for a in acc),
        "tasks_new": len(new),
        "repertoire": len(pp.repertoire),
        "retested_per_acceptance_mean": sum(a.retested for a in acc) / n,
        "retested_full_per_acceptance_mean": sum(a.retested_full for a in acc) / n,
        "reuse_share": sum(a.reuse for a in new) / max(1, len(new)),
        "forgetting": check["failed"],
        "verified_tasks": check["tasks"],
        "time_steps_total": pp.total_steps,
        "time_steps_invention": pp.cost["invention"],
        "time_steps_search": pp.cost["search"],
        "time_steps_demo": pp.cost["demo"],
        "solver_steps": sum(pp.steps),
        "finished_without_task": pp.finished,
        "final_phase": pp.phase,
        "wall_s_total": wall[-1] if wall else 0.0,
    }


def plot_acceptances(ctx: RunContext, acc: list[Acceptance], name: str) -> None:
    """Three panels: tasks against time, time per acceptance, tasks re-tested."""
    if not acc:
        return
    fig, _ = plots.figure(13.0, 3.8)
    fig.clf()
    axes = fig.subplots(1, 3)
    ax = axes[0]
    steps = [a.steps_total for a in acc]
    ax.step(steps, range(1, len(acc) + 1), where="post", color="black", label="all tasks")
    ax.step(steps, np.cumsum([not a.compression for a in acc]), where="post",
            color="tab:blue", label="new (non-compression)")
    ax.set_xscale("log")
    ax.set_xlabel("PowerPlay time (machine steps, all searches and runs)")
    ax.set_ylabel("tasks accepted")
    ax.legend()
    ax = axes[1]
    per = np.diff([0, *steps])
    ax.scatter([a.repertoire for a in acc], per,
               c=["tab:orange" if a.compression else "tab:blue" for a in acc], s=14)
    ax.set_yscale("log")
    ax.set_xlabel("repertoire size before the acceptance")
    ax.set_ylabel("time for this acceptance (steps)")
    ax.set_title("blue: new task, orange: compression")
    ax = axes[2]
    ax.plot([a.retested_full for a in acc], label="re-tested without tracking")
    ax.plot([a.retested for a in acc], label="re-tested with dependency tracking")
    ax.set_xlabel("acceptance")
    ax.set_ylabel("tasks re-tested")
    ax.legend()
    plots.save(fig, ctx.plot_path(name))
