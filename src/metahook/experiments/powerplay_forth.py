"""powerplay-forth: PowerPlay growing a repertoire of self-invented tasks on the OOPS language.

Schmidhuber, "PowerPlay: training an increasingly general problem solver by continually searching
for the simplest still unsolvable problem", Frontiers in Psychology 4:313 (2013). The loop
(:mod:`metahook.rsi.powerplay.core`) runs on the OOPS machine's domain
(:mod:`metahook.rsi.powerplay.forth`): tasks ``x -> ...y`` on the machine's tapes, modifications
found by OOPS's bias-optimal search (prolongations of the current solver, or fresh programs that
may call the frozen earlier ones), compression tasks that demand the whole repertoire in fewer
steps. The paper reports no experiment of its own on this language, so there is no figure to
match; the run reports what PowerPlay's claims predict: the repertoire grows, compression tasks
occur, dependency tracking keeps re-testing small, and nothing is forgotten.

The run directory gets ``repertoire.json`` (the tasks, each with its solver steps) and
``solver.npz`` (the final solver's code, frozen-program list and entry), written atomically
after every acceptance; ``metahook powerplay verify RUN_DIR`` re-runs every task on that solver
through the machine's interpreter alone and reports the failures (``forgetting``).
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from metahook.envs.powerplay_tasks import ForthTask
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
from metahook.machines.forth import vm
from metahook.rsi.powerplay.core import Acceptance, PowerPlay, Settings
from metahook.rsi.powerplay.forth import FIRST_CODE, ForthDomain, SolverImage, run_solver
from metahook.search.oops import OOPS

PAPER = ("J. Schmidhuber, PowerPlay: training an increasingly general problem solver by "
         "continually searching for the simplest still unsolvable problem, Frontiers in "
         "Psychology 4:313, 2013 (arXiv 1112.5309)")


@dataclass(frozen=True)
class Config:
    tasks: int = 12  # stop after this many acceptances (compression ones included)
    task_steps: int = 1000  # a solver must solve a task within this many time steps
    min_share: int = 256  # pairs whose share of a phase is smaller wait for a later phase
    first_phase: int = 8  # phase k gives a pair 2^(k - bits) steps
    max_phase: int = 30  # give up when a phase beyond this finds nothing
    max_share: int = 1 << 24  # no pair gets more steps
    track_dependencies: bool = True
    compression: bool = True
    order: str = "simplest"  # or "random" (the ablation)
    random_bits: int = 12
    max_time_steps: int = 0  # stop once PowerPlay's total time reaches this (0: no cap)
    ablation: bool = True  # then the same time with tasks invented in random order
    transfer_n: int = 1  # then OOPS on 1^n2^n n = 1..transfer_n with / without the grown solver
    transfer_max_steps: int = 10**10

    def validate(self) -> None:
        for name in ("tasks", "task_steps", "min_share"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.max_time_steps < 0 or not 0 <= self.transfer_n <= 30:
            raise ValueError("max_time_steps must be >= 0 and transfer_n in 0..30")
        self.settings().validate()

    def settings(self) -> Settings:
        return Settings(first_phase=self.first_phase, max_phase=self.max_phase,
                        max_share=self.max_share, track_dependencies=self.track_dependencies,
                        compression=self.compression, order=self.order,
                        random_bits=self.random_bits)


def save_solver(out: Path, pp: PowerPlay[ForthTask], domain: ForthDomain) -> None:
    """``repertoire.json`` and ``solver.npz`` of the run directory, written atomically."""
    tasks = [{**t.to_json(), "steps": s} for t, s in zip(pp.repertoire, pp.steps, strict=True)]
    atomic_write_json(out / "repertoire.json",
                      {"task_steps": domain.task_steps, "tasks": tasks,
                       "solver": domain.image().text()})
    buf = io.BytesIO()
    arrays = domain.image().to_arrays()
    np.savez(buf, code=arrays["code"], old=arrays["old"], entry=arrays["entry"])
    atomic_write_bytes(out / "solver.npz", buf.getvalue())


def verify(run_dir: Path) -> dict[str, int]:
    """Every repertoire task of a saved run re-run on its saved solver (interpreter only)."""
    rep = json.loads((run_dir / "repertoire.json").read_text(encoding="utf-8"))
    with np.load(run_dir / "solver.npz") as z:
        image = SolverImage.from_arrays(dict(z))
    failed = sum(not run_solver(image, ForthTask.from_json(t), int(rep["task_steps"])).solved
                 for t in rep["tasks"])
    return {"tasks": len(rep["tasks"]), "failed": int(failed)}


def run(ctx: RunContext, cfg: Config) -> Result:
    domain = ForthDomain(task_steps=cfg.task_steps, min_share=cfg.min_share)
    pp: PowerPlay[ForthTask] = PowerPlay(domain, cfg.settings(), seed=ctx.seed)
    rnd_domain = ForthDomain(task_steps=cfg.task_steps, min_share=cfg.min_share)
    rnd: PowerPlay[ForthTask] = PowerPlay(rnd_domain, replace(cfg.settings(), order="random"),
                                          seed=ctx.seed)
    state = ctx.restore() or {}
    wall: list[float] = [float(w) for w in state.get("wall", [])]
    if "powerplay" in state:
        pp.load_state_dict(state["powerplay"])
    if "random" in state:
        rnd.load_state_dict(state["random"])
    t0 = time.perf_counter() - (wall[-1] if wall else 0.0)

    def snapshot() -> dict[str, Any]:
        return {"powerplay": pp.state_dict(), "random": rnd.state_dict(), "wall": list(wall)}

    while len(pp.accepted) < cfg.tasks and not pp.finished:
        if cfg.max_time_steps and pp.total_steps >= cfg.max_time_steps:
            break
        for acc in pp.advance(1):
            wall.append(time.perf_counter() - t0)
            ctx.log(acc.index, **_row(acc), wall_s=round(wall[-1], 3))
            save_solver(ctx.out, pp, domain)
        ctx.progress(len(pp.accepted), cfg.tasks,
                     f"phase {pp.phase}  repertoire {len(pp.repertoire)}  "
                     f"time {pp.total_steps:.3e}")
        ctx.checkpoint(snapshot)
    save_solver(ctx.out, pp, domain)
    check = verify(ctx.out)
    metrics = metrics_of(pp, domain, check, wall)
    if cfg.ablation:  # the same PowerPlay time, tasks tried in random order from a uniform pool
        budget = pp.total_steps
        while rnd.total_steps < budget and not rnd.finished and len(rnd.accepted) < cfg.tasks:
            rnd.advance(1)
            ctx.progress(len(rnd.accepted), cfg.tasks, f"ablation: random order, time "
                         f"{rnd.total_steps:.3e} of {budget:.3e}")
            ctx.checkpoint(snapshot)
        metrics.update(ablation_metrics(rnd, budget))
    if cfg.transfer_n:
        ctx.progress(0, 1, f"transfer: 1^n2^n n = 1..{cfg.transfer_n}")
        metrics.update(transfer(domain, cfg.transfer_n, cfg.transfer_max_steps))
    plot_acceptances(ctx, pp.accepted, "powerplay_forth")
    return Result(metrics=metrics)


def ablation_metrics(rnd: PowerPlay[ForthTask], budget: int) -> dict[str, Any]:
    """What random task invention achieved within the simplest-first run's time."""
    new = [a for a in rnd.accepted if a.steps_total <= budget]
    return {"random_order_tasks_total": len(new),
            "random_order_tasks_compression": sum(a.compression for a in new),
            "random_order_time_steps": rnd.total_steps,
            "random_order_tasks": [_row(a)["task"] for a in new]}


def solver_segments(domain: ForthDomain) -> list[list[int]]:
    """The grown solver as OOPS's frozen programs: every superseded solver (an entry of the
    frozen-program list after the 7 declared ones), then the current solver, in address order."""
    st = domain.st
    oldp = int(st.R[vm.R_OLDP])
    segments = [(int(a), int(n)) for a, n in st.OLD[8:oldp + 1]]
    segments.append((domain.a_last, domain.a_frozen - domain.a_last + 1))
    out, at = [], FIRST_CODE
    for a, n in segments:
        if a != at:
            raise AssertionError(f"frozen code not contiguous at {at} (segment starts at {a})")
        out.append([int(t) for t in st.qQ[a:a + n]])
        at = a + n
    return [seg for seg in out if seg]


def transfer(domain: ForthDomain, n: int, max_steps: int) -> dict[str, Any]:
    """OOPS on the external tasks 1^n2^n n = 1..n (the OOPS paper's first phase), from a fresh
    machine and from the PowerPlay-grown solver frozen in front (``OOPS.preload``): time steps
    to solve each n (the search's ``totalt``), up to ``max_steps``."""
    out: dict[str, Any] = {}
    for label, frozen in (("fresh", []), ("grown", solver_segments(domain))):
        oops = OOPS(phases=(("1n2n", n),))
        if frozen:
            oops.preload(frozen)
        while not oops.finished and oops.counters()["totalt"] < max_steps:
            oops.advance(5_000_000)
        for s in oops.solved:
            out[f"transfer_{label}_time_steps_n{s.n}"] = s.totalt
        out[f"transfer_{label}_solved"] = len(oops.solved)
    return out


def _row(acc: Acceptance) -> dict[str, Any]:
    row = asdict(acc)
    row.pop("index")
    row["task"] = "compress" if acc.task is None else ForthTask.from_json(acc.task).text()
    return row


def metrics_of(pp: PowerPlay[ForthTask], domain: ForthDomain, check: dict[str, int],
               wall: list[float]) -> dict[str, Any]:
    return {
        **acceptance_metrics(pp, check, wall),
        "prolongations": sum(a.kind == "prolongation" for a in pp.accepted),
        "search_prefixes": domain.counters()["prefs"],
        "solver_code_tokens": len(domain.image().code) - 76,
        "accepted": [_row(a) for a in pp.accepted],
    }


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """At least 10 tasks, one of them compression, verified with no task forgotten."""
    ok, why = repertoire_smoke(m)
    return ok, (f"{why}, re-tested {m['retested_per_acceptance_mean']:.2f} per acceptance "
                f"(all: {m['retested_full_per_acceptance_mean']:.2f})")


EXPERIMENT = register_powerplay(
    "powerplay-forth",
    "PowerPlay on the OOPS language: self-invented tasks, OOPS-searched solver "
    "changes, compression tasks, dependency tracking, verified repertoire.",
    PAPER, Config,
    {"quick": Config(tasks=12), "full": Config(tasks=40, transfer_n=3)},
    run, smoke,
)
