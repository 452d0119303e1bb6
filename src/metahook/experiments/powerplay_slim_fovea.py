"""powerplay-slim-fovea: PowerPlay inventing action sequences for a SLIM net with a moving fovea.

Srivastava, Steunebrink & Schmidhuber, "First experiments with PowerPlay", Neural Networks
41:130-136 (2013), arXiv 1210.8385 (and its ICDL 2012 version): a SLIM net whose inputs see a
small window (fovea) of a static image and whose motor units move it keeps inventing tasks it
cannot solve yet, i.e. new action sequences. Here the loop (:mod:`metahook.rsi.powerplay.core`)
runs on :class:`metahook.rsi.powerplay.slim.FoveaDomain`: scikit-learn's ``china.jpg`` (shipped
with it, nothing downloaded) in grey, averaged to ``grid * 3`` pixels square and binarised by
local contrast; a 3x3 retina; four motor units moving it by one window; a task is a start window
and a target window (halt with the retina there). Modifications and compression tasks as in
powerplay-slim-patterns (:mod:`metahook.experiments.powerplay_slim_patterns`, whose loop, files
and metrics this module shares).

Fovea metrics: ``action_sequences_novel`` counts the new tasks whose solution's trajectory (the
windows visited from the start until halting) differs from every earlier accepted solution's (the
paper's "novel action sequences", as far as we can tell; distinct tasks have distinct start or
target windows, so here it equals ``tasks_new``); ``move_sequences_distinct`` is the stricter
count of distinct move sequences (the moves of each step, "no move" included, wherever they
start); ``moves_max`` / ``moves_mean`` count the actual moves of those solutions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metahook.experiments.powerplay_common import register_powerplay, repertoire_smoke
from metahook.experiments.powerplay_slim_patterns import (
    PAPER,
    Loop,
    row_of,
    run_slim,
)
from metahook.harness.api import Result, RunContext
from metahook.rsi.powerplay.core import Acceptance
from metahook.rsi.powerplay.slim import FoveaDomain


@dataclass(frozen=True)
class Config(Loop):
    grid: int = 8  # windows per side; the image is grid * 3 pixels square
    hidden: tuple[int, ...] = (4, 4)  # hidden WTA group sizes
    task_steps: int = 12  # a task must be solved within this many net steps
    max_move: int = 7  # targets at most this many windows away on each axis
    commands: int = 2  # command units: a task may clamp one of 2^commands - 1 patterns on them

    def validate(self) -> None:
        self.check_loop()
        if not 2 <= self.grid <= 32 or self.task_steps < 1 or self.max_move < 0:
            raise ValueError("need 2 <= grid <= 32, task_steps >= 1, max_move >= 0")
        if not 0 <= self.commands <= 4:
            raise ValueError("need 0 <= commands <= 4")
        if any(h < 1 for h in self.hidden):
            raise ValueError("hidden group sizes must be >= 1")

    def domain(self, seed: int) -> FoveaDomain:
        return FoveaDomain(retina=(3, 3), grid=self.grid, hidden=self.hidden,
                           task_steps=self.task_steps, max_move=self.max_move,
                           values=self.values, seed=seed, max_changes=self.max_changes,
                           commands=self.commands)


def _text(data: Any) -> str:
    s, t = data["start"], data["target"]
    cmd = f" c{data['command']}" if data.get("command") else ""
    return f"({s[0]},{s[1]}){cmd}->({t[0]},{t[1]})"


def action_metrics(accepted: list[Acceptance]) -> dict[str, Any]:
    """Novel action sequences among the accepted new tasks' solutions (see the docstring)."""
    paths: set[tuple[tuple[int, int], ...]] = set()
    seqs: set[tuple[tuple[int, int], ...]] = set()
    novel = 0
    moves: list[int] = []
    for a in accepted:
        if a.compression:
            continue
        seq = tuple((int(m[0]), int(m[1])) for m in a.info.get("moves", []))
        y, x = (int(v) for v in a.task["start"])
        path = [(y, x)]
        for dy, dx in seq:
            y, x = y + dy, x + dx
            path.append((y, x))
        if tuple(path) not in paths:
            paths.add(tuple(path))
            novel += 1
        seqs.add(seq)
        moves.append(sum(1 for m in seq if m != (0, 0)))
    return {"action_sequences_novel": novel,
            "move_sequences_distinct": len(seqs),
            "moves_max": max(moves, default=0),
            "moves_mean": sum(moves) / len(moves) if moves else 0.0}


def run(ctx: RunContext, cfg: Config) -> Result:
    domain = cfg.domain(ctx.seed)
    pp, metrics = run_slim(ctx, cfg, domain, _text, "powerplay_slim_fovea")
    metrics.update(action_metrics(pp.accepted))
    metrics["start_windows"] = len(domain.starts)
    metrics["accepted"] = [row_of(a, _text) for a in pp.accepted]
    return Result(metrics=metrics)


def smoke(m: dict[str, Any]) -> tuple[bool, str]:
    """At least 10 acceptances, one a compression, a solution that moves the fovea, nothing
    forgotten (reference check), and dependency tracking re-tests fewer tasks than all."""
    ok, why = repertoire_smoke(m)
    ok = ok and m["moves_max"] >= 1 and m["retested_total"] < m["retested_full_total"]
    return ok, (f"{why}, {m['action_sequences_novel']} novel action sequences (longest "
                f"{m['moves_max']} moves), re-tested {m['retested_total']} of "
                f"{m['retested_full_total']}")


EXPERIMENT = register_powerplay(
    "powerplay-slim-fovea",
    "PowerPlay on a SLIM net with a fovea over a grey image: self-invented tasks "
    "'halt with the fovea on a window', weight changes by Levin search, novel "
    "action sequences, compression tasks, verified repertoire.",
    PAPER, Config,
    {"quick": Config(tasks=14, grid=4, max_move=3, max_phase=30),
     "full": Config(tasks=1000, max_phase=44, max_time_steps=2_500_000_000)},
    run, smoke,
)
