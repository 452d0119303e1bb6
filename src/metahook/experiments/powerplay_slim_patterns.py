"""powerplay-slim-patterns: PowerPlay inventing pattern-recognition tasks for a SLIM net.

Srivastava, Steunebrink & Schmidhuber, "First experiments with PowerPlay", Neural Networks
41:130-136 (2013), arXiv 1210.8385 (and its ICDL 2012 version): a self-delimiting (SLIM) net
keeps inventing the simplest pattern-classification task it cannot solve yet, together with a
change of a few weights that solves it and every earlier task. Here the loop
(:mod:`metahook.rsi.powerplay.core`) runs on :class:`metahook.rsi.powerplay.slim.PatternDomain`:
a task is a non-zero binary pattern on the input units and the output unit that must win when the
net halts; a modification sets one or two weights, found by Levin search; compression tasks ask
for fewer used connections (or as many and fewer steps) over the whole repertoire. The papers'
net sizes and encodings are unknown here, so their counts are context, not targets (see the
references file).

Metrics beyond the common ones (:func:`metahook.experiments.powerplay_common.acceptance_metrics`):
``reuse_share`` is redefined for SLIM nets as the share of new tasks whose solution (the new net's
run) uses at least one connection that existed before the change (the core's component-based flag
counts considered units too, so it is almost always true here); ``connections_*`` count non-zero
and used connections; ``hidden_units_used`` the hidden units some repertoire task's run
considered; ``two_weight_changes`` the acceptances that needed a pair of changes.

The run directory gets ``repertoire.json`` (tasks with their steps) and ``net.npz`` (the final
net, the images and the motor table), written atomically after every acceptance; at the end every
task is re-run on that net by the pure-Python reference (:mod:`metahook.machines.slim.reference`):
``forgetting`` counts the failures.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metahook.experiments.powerplay_common import (
    acceptance_metrics,
    plot_acceptances,
    register_powerplay,
    repertoire_smoke,
)
from metahook.harness.api import (
    Result,
    RunContext,
    atomic_write_bytes,
    atomic_write_json,
)
from metahook.rsi.powerplay.core import Acceptance, PowerPlay, Settings
from metahook.rsi.powerplay.slim import (
    DEFAULT_VALUES,
    MAX_CHANGES,
    PatternDomain,
    SlimDomain,
    reference_failures,
)

PAPER = ("R. K. Srivastava, B. R. Steunebrink, J. Schmidhuber, First experiments with PowerPlay, "
         "Neural Networks 41:130-136, 2013 (arXiv 1210.8385); J. Schmidhuber, PowerPlay, "
         "Frontiers in Psychology 4:313, 2013")


@dataclass(frozen=True)
class Loop:
    """The PowerPlay knobs both SLIM experiments share (each config extends them)."""

    tasks: int = 12  # stop after this many acceptances (compression ones included)
    first_phase: int = 0  # 0: the first phase in which the simplest task gets min_share
    max_phase: int = 30  # give up when a phase beyond this finds nothing
    track_dependencies: bool = True
    compression: bool = True
    max_changes: int = MAX_CHANGES  # weights a modification may change (1 or 2)
    values: tuple[float, ...] = DEFAULT_VALUES  # the weight values a change may set
    max_time_steps: int = 0  # stop once PowerPlay's total time reaches this (0: no cap)

    def check_loop(self) -> None:
        if self.tasks < 1:
            raise ValueError("tasks must be >= 1")
        if self.first_phase < 0 or self.max_phase < max(1, self.first_phase):
            raise ValueError("need 0 <= first_phase <= max_phase")
        if not 1 <= self.max_changes <= MAX_CHANGES:
            raise ValueError(f"max_changes must be in 1..{MAX_CHANGES}")
        if self.max_time_steps < 0:
            raise ValueError("max_time_steps must be >= 0")

    def settings(self, domain: SlimDomain) -> Settings:
        first = self.first_phase or first_phase_of(domain)
        return Settings(first_phase=first, max_phase=max(first, self.max_phase),
                        max_share=1 << 62, track_dependencies=self.track_dependencies,
                        compression=self.compression)


@dataclass(frozen=True)
class Config(Loop):
    n_in: int = 6  # input units (pattern bits)
    classes: int = 4  # output units (one WTA group)
    hidden: tuple[int, ...] = (4, 4)  # hidden WTA group sizes
    task_steps: int = 6  # a task must be solved within this many net steps

    def validate(self) -> None:
        self.check_loop()
        if not 1 <= self.n_in <= 12 or self.classes < 2 or self.task_steps < 1:
            raise ValueError("need 1 <= n_in <= 12, classes >= 2, task_steps >= 1")
        if any(h < 1 for h in self.hidden):
            raise ValueError("hidden group sizes must be >= 1")

    def domain(self, seed: int) -> PatternDomain:
        return PatternDomain(n_in=self.n_in, classes=self.classes, hidden=self.hidden,
                             task_steps=self.task_steps, values=self.values, seed=seed,
                             max_changes=self.max_changes)


def first_phase_of(domain: SlimDomain) -> int:
    """The first phase in which the simplest task's share reaches ``min_share``."""
    simplest = min(b for _, b in domain.tasks(1 << 20))
    return simplest + (domain.min_share - 1).bit_length()


# ---------------------------------------------------------------------- files and verification
def save_net(out: Path, pp: PowerPlay[Any], domain: SlimDomain) -> None:
    """``repertoire.json`` and ``net.npz`` of the run directory, written atomically."""
    tasks = [{**domain.task_json(t), "steps": s}
             for t, s in zip(pp.repertoire, pp.steps, strict=True)]
    atomic_write_json(out / "repertoire.json", {"kind": domain.kind, "tasks": tasks,
                                                "task_steps": domain.task_steps})
    buf = io.BytesIO()
    np.savez(buf, **domain.export())  # type: ignore[arg-type]
    atomic_write_bytes(out / "net.npz", buf.getvalue())


def verify(run_dir: Path) -> dict[str, int]:
    """Every repertoire task of a saved run re-run on its saved net by the reference."""
    rep = json.loads((run_dir / "repertoire.json").read_text(encoding="utf-8"))
    with np.load(run_dir / "net.npz") as z:
        arrays = dict(z)
    return {"tasks": len(rep["tasks"]), "failed": reference_failures(arrays, rep["tasks"])}


# ---------------------------------------------------------------------- the loop
def row_of(acc: Acceptance, text: Any) -> dict[str, Any]:
    """One acceptance as a log line (``text`` renders a task's JSON)."""
    row = asdict(acc)
    row.pop("index")
    row["task"] = "compress" if acc.task is None else text(acc.task)
    return row


def run_slim(ctx: RunContext, cfg: Loop, domain: SlimDomain, text: Any,
             plot_name: str) -> tuple[PowerPlay[Any], dict[str, Any]]:
    """PowerPlay on ``domain`` until ``cfg.tasks`` acceptances, the last phase or the time cap;
    checkpointed every phase; returns the loop and the common plus SLIM metrics."""
    pp: PowerPlay[Any] = PowerPlay(domain, cfg.settings(domain), seed=ctx.seed)
    state = ctx.restore()
    wall: list[float] = []
    if state is not None:
        pp.load_state_dict(state["powerplay"])
        wall = [float(w) for w in state["wall"]]
    t0 = time.perf_counter() - (float(state["elapsed"]) if state is not None else 0.0)

    def snapshot() -> dict[str, Any]:
        return {"powerplay": pp.state_dict(), "wall": list(wall),
                "elapsed": time.perf_counter() - t0}

    while len(pp.accepted) < cfg.tasks and not pp.finished:
        if cfg.max_time_steps and pp.total_steps >= cfg.max_time_steps:
            break
        for acc in pp.advance(1):
            wall.append(time.perf_counter() - t0)
            ctx.log(acc.index, **row_of(acc, text), wall_s=round(wall[-1], 3))
            save_net(ctx.out, pp, domain)
        ctx.progress(len(pp.accepted), cfg.tasks,
                     f"phase {pp.phase}  repertoire {len(pp.repertoire)}  "
                     f"time {pp.total_steps:.3e}")
        ctx.checkpoint(snapshot)
    save_net(ctx.out, pp, domain)
    check = verify(ctx.out)
    plot_acceptances(ctx, pp.accepted, plot_name)
    return pp, {**acceptance_metrics(pp, check, wall), **slim_metrics(pp, domain)}


def slim_metrics(pp: PowerPlay[Any], domain: SlimDomain) -> dict[str, Any]:
    """What a SLIM net's repertoire looks like (see the module docstring)."""
    n = domain.net.n
    nn = n * n
    new = [a for a in pp.accepted if not a.compression]
    per_task = [sum(1 for c in u if c < nn) for u in pp.used]
    considered = set().union(*[{c - nn for c in u if c >= nn} for u in pp.used]) if pp.used \
        else set()
    hidden = {int(u) for u in np.flatnonzero(domain.net.group >= 2)}
    return {
        "reuse_share": sum(a.info.get("old_connections_used", 0) > 0 for a in new)
        / max(1, len(new)),
        "retested_total": sum(a.retested for a in pp.accepted),
        "retested_full_total": sum(a.retested_full for a in pp.accepted),
        "connections_nonzero": domain.connections(),
        "connections_used_total": sum(per_task),
        "connections_used_per_task_mean": float(np.mean(per_task)) if per_task else 0.0,
        "hidden_units_used": len(considered & hidden),
        "two_weight_changes": sum(a.info.get("k", 0) == 2 for a in pp.accepted),
        "net_units": n,
        "task_space": domain.n_tasks,
    }


def run(ctx: RunContext, cfg: Config) -> Result:
    domain = cfg.domain(ctx.seed)
    pp, metrics = run_slim(ctx, cfg, domain, _text, "powerplay_slim_patterns")
    labels = [int(t.label) for t in pp.repertoire]
    metrics["classes_used"] = len(set(labels))
    metrics["accepted"] = [row_of(a, _text) for a in pp.accepted]
    return Result(metrics=metrics)


def _text(data: Any) -> str:
    return "".join(str(int(b)) for b in data["pattern"]) + f"->{int(data['label'])}"


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """At least 10 acceptances, one a compression, nothing forgotten (reference check), and
    dependency tracking re-tests fewer tasks than re-testing all would."""
    ok, why = repertoire_smoke(m)
    ok = ok and m["retested_total"] < m["retested_full_total"]
    return ok, f"{why}, re-tested {m['retested_total']} of {m['retested_full_total']}"


EXPERIMENT = register_powerplay(
    "powerplay-slim-patterns",
    "PowerPlay on a SLIM net: self-invented pattern-recognition tasks, weight "
    "changes by Levin search, compression tasks, dependency tracking, repertoire "
    "verified by the reference net.",
    PAPER, Config,
    {"quick": Config(tasks=12),
     "full": Config(tasks=1000, n_in=8, max_phase=44, max_time_steps=2_500_000_000)},
    run, smoke,
)
