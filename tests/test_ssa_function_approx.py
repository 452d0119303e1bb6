"""is-function-approx: the f1..f5 curriculum and the quick scale end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import cli, read_json
from metahook.envs import functions_curriculum as fc
from metahook.harness.registry import get_experiment


def test_targets_and_curriculum() -> None:
    assert fc.check_targets(np.random.default_rng(0))
    assert fc.pose(1, 100, 0.999) == 1 and fc.pose(1, 0, 0.0) == 2 and fc.pose(5, 50, 0.9) == 5
    # inputs: uniform in [-1, 1], never a near-zero target (which cell 6 = 0 would "solve")
    rng = np.random.default_rng(1)
    xyz, c = np.zeros(3), np.zeros(7)
    u = rng.random(200_000)
    upos = np.zeros(1, dtype=np.int64)
    small = 0
    for _ in range(2000):
        fc.draw_inputs(5, xyz, c, u, upos)
        assert np.all(np.abs(xyz) <= 1) and np.array_equal(c[:3], xyz)
        small += abs(fc.target(5, *xyz)) < fc.MIN_ABS_TARGET
    assert small < 5  # only when 16 redraws all failed


def test_quick_scale(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = cli("run", "is-function-approx", "--scale", "quick", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    m = read_json(out / "result.json")["metrics"]
    assert m["trials"][0] > 5_000 and m["time_steps"][0] >= 40_000_000
    assert m["self_modifications"] > 100 and m["surviving_blocks"] >= 1
    # the headline (the smoke criterion): with SSA the SMP answers f1 faster at the end of its
    # life than the SSA-off SMP does (seeds 0-2: 70-128 time steps per trial against
    # 3,600-56,000)
    ok, why = get_experiment("is-function-approx").smoke(m)
    assert ok, why
    # ... fast enough for the curriculum to move on to f2 (and f1 is solved faster than at first)
    assert m["curriculum_ptr"] >= 2 and m["f1_speedup"] > 2
    assert (out / "plots" / "trial_length.png").stat().st_size > 5_000
    # the investigation's figures: the policy's course around each curriculum step (read from
    # the run's own policy rows), the policy at death against its stage's shortest program, the
    # instructions executed per stage, and the ceiling table
    course = m["policy_course_per_run"][0]
    assert course["switches"] and course["switches"][0]["to"] == 2
    sw = course["switches"][0]
    assert 0 < sw["min_pmax_mean_after"] <= sw["pmax_mean"] <= course["pmax_mean_max"] <= 1
    assert len(m["final_cell_pmax_per_run"][0]) == 20
    share = m["op_share_per_run"][0]["ptr1"]
    assert abs(sum(share.values()) - 1) < 1e-3 and set(share) >= {"IncProb", "Add", "JumpHome"}
    assert m["counters_per_run"][0]["refused"] >= 0 and m["stack_at_ptr_per_run"][0]["f2"] > 0
    best = m["ceiling_steps"][f"{m['best_reachable_pmax']:.4g}"]
    assert all(s is not None for s in best)  # the best reachable policy passes every stage


def test_curriculum_ceiling_with_frozen_policies() -> None:
    """The ceiling measurement: IncProb from a uniform cell reaches 1 - 6 (1/7) 0.3^2 (the MinP
    guard refuses the third), a deterministic stage-4 program makes every trial 16, 20 or 24 time
    steps (4 per instruction; no slot left for JumpHome in 20 cells) but for coincidences, and a
    frozen policy at the best reachable probability passes every stage while a near-uniform one
    passes none."""
    from metahook.experiments.is_function_approx import Config
    from metahook.rsi.function_life import (
        INSTRUCTIONS,
        FunctionCurriculumLife,
        best_reachable_pmax,
        frozen_stage_steps,
        policy_for,
        stage_program,
    )

    best = best_reachable_pmax(0.3, 0.004, 7)
    assert abs(best - (1 - 6 * 0.09 / 7)) < 1e-12
    params = Config().params(False)
    life = FunctionCurriculumLife(params, seed=3)
    life.smp.P[:] = policy_for(stage_program(4), 1.0, INSTRUCTIONS.n_ops)
    life.freeze()
    life.loop_regs[0] = 4  # LOOP_PTR
    life.advance(200_000)
    lengths = life.trials[5:, 0].astype(int)
    # (a few shorter or longer ones where cell 6 matches early or late by coincidence, |s| ~ 1)
    assert np.isin(lengths, [16, 20, 24]).mean() > 0.99 and len(lengths) > 5_000
    for stage in range(1, 5):
        good = policy_for(stage_program(stage), best, INSTRUCTIONS.n_ops)
        steps, trials = frozen_stage_steps(good, params, stage, cap=5_000_000, seed=stage)
        assert steps is not None and trials >= 100
    flat = policy_for(stage_program(3), 0.2, INSTRUCTIONS.n_ops)
    assert frozen_stage_steps(flat, params, 3, cap=2_000_000, seed=0)[0] is None
    with pytest.raises(ValueError, match="SSA-off"):
        FunctionCurriculumLife(Config().params(True), seed=0).freeze()


@pytest.mark.parametrize("label", ["full", "minp0005"])
def test_ledger_policy_course_is_its_own_log(label: str) -> None:
    """The ledger runs' policy courses (docs/ssa.md quotes them) are what course_from_log reads
    from the same run's metrics.jsonl."""
    from metahook.experiments.is_function_approx import course_from_log

    run = Path(__file__).resolve().parent.parent / "results" / "is-function-approx" / label
    m = read_json(run / "result.json")["metrics"]
    runs = len(m["curriculum_ptr_per_run"])
    assert m["policy_course_per_run"] == [
        course_from_log(run / "metrics.jsonl", "ssa", r) for r in range(runs)]
