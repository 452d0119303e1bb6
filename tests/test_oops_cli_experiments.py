"""`metahook forth` and the quick scales of oops-1n2n, oops-hanoi and oops-full."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import cli
from metahook.harness.registry import get_experiment
from metahook.harness.runner import run_experiment
from oops_helpers import ORIGINAL_RUN, original_steps_into_hanoi

# The original program's totalt at 1^n2^n n = 1, 2, 3.
FIRST_THREE = [ORIGINAL_RUN[("1n2n", n)].totalt for n in (1, 2, 3)]


def test_forth_runs_the_published_hanoi_solver() -> None:
    p = cli("forth", "c3 dec boostq defnp c4 calltp c3 c5 calltp endnp", "--task", "hanoi:6")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["verdict"] == "solved" and out["moves"] == 63 and out["steps"] == 31 * 64 - 42 + 25
    assert out["pegs"] == [[], [], [6, 5, 4, 3, 2, 1]]


def test_forth_bad_token_and_task_exit_2() -> None:
    p = cli("forth", "defnp c1 calltpp c2 endnp", "--task", "1n2n:3")
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and "calltp" in p.stderr
    p = cli("forth", "c1", "--task", "towers:3")
    assert p.returncode == 2 and "hanoi:N" in p.stderr


def test_forth_trace_and_halt_reason() -> None:
    p = cli("forth", "c1 c0 div", "--trace")
    out = json.loads(p.stdout)
    assert out["stop"] == "halted" and out["halt_reason"] == "division by zero"
    assert [r["token"] for r in out["trace"]] == ["c1", "c0", "div"]


def test_oops_1n2n_quick_reproduces_the_original_counts(tmp_path: Path) -> None:
    doc = run_experiment("oops-1n2n", out=tmp_path / "r", scale="quick", seed=0)
    m = doc["metrics"]
    assert doc["status"] == "ok" and m["max_n_solved"] == 3
    # the smoke criterion: n = 1..3 with the original program's counters; the published solver
    ok, why = get_experiment("oops-1n2n").smoke(m)
    assert ok, why
    assert [m[f"time_steps_1n2n_n{n}"] for n in (1, 2, 3)] == FIRST_THREE
    assert (tmp_path / "r" / "plots" / "timeline.png").stat().st_size > 5_000


def test_oops_hanoi_quick(tmp_path: Path) -> None:
    doc = run_experiment("oops-hanoi", out=tmp_path / "h", scale="quick", seed=0)
    m = doc["metrics"]
    # the smoke criterion: Hanoi n = 1 at the original program's count; the published solver
    ok, why = get_experiment("oops-hanoi").smoke(m)
    assert ok, why
    assert m["max_n_solved"] == 1 and m["timeline"][0]["program"] == "mvdsk"
    assert m["time_steps_hanoi_n1"] == original_steps_into_hanoi(1)  # 452 steps into the phase
    assert m["solver_solves_1_to_16"]
    assert abs(m["prefix_probability"] - 0.003) < 5e-5
    assert abs(m["suffix_probability"] - 3.1e-8) < 5e-10
    assert m["solver_steps_by_n"] == [31 * 2**n - 7 * n + 25 for n in range(1, 17)]
    assert (tmp_path / "h" / "plots" / "solver_steps.png").stat().st_size > 5_000


def test_oops_full_quick_is_the_first_phase_with_the_original_counts(tmp_path: Path) -> None:
    doc = run_experiment("oops-full", out=tmp_path / "f", scale="quick", seed=0)
    m = doc["metrics"]
    assert doc["status"] == "ok" and m["max_n_solved"] == {"1n2n": 3}
    ok, why = get_experiment("oops-full").smoke(m)  # the original program's counters
    assert ok, why
    assert [row["program"] for row in m["timeline"]][:1] == ["defnp 2toD"]
    assert [m[f"time_steps_1n2n_n{n}"] for n in (1, 2, 3)] == FIRST_THREE
    assert (tmp_path / "f" / "plots" / "timeline.png").stat().st_size > 5_000
