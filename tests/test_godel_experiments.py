"""The quick scales of godel-bandit and hsearch-demo, end to end through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import cli, read_json
from metahook.harness import checkpoint as ckpt
from metahook.harness.registry import get_experiment
from metahook.harness.runner import run_experiment


def test_godel_bandit_quick(tmp_path: Path) -> None:
    out = tmp_path / "gb"
    proc = cli("run", "godel-bandit", "--scale", "quick", "--quiet", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    m = read_json(out / "result.json")["metrics"]
    # the headline (the smoke criterion): one provable self-rewrite and no false switch (seeds
    # 0-2 alike)
    ok, why = get_experiment("godel-bandit").smoke(m)
    assert ok, why
    assert m["switchprogs"] == ["SETPOL 5 SETSIG 0"]  # best arm, proof search switched off
    assert m["initial_policy_reward"] < m["lifetime_reward"] < m["oracle_reward"]
    assert m["lifetime_reward"] > 5 * m["unmodified_machine_reward"]
    assert m["true_targets_rejected_too_late"] >= 1
    assert m["targets_rejected_switchprog_replaced"] >= 1
    assert m["unprovable_targets"] > 10 and m["kernel_rejections"] == 0
    # late in life: losing rewrites declined, none taken, never worse than not switching
    assert m["late_declines_of_losing_rewrites"] >= 1 and m["late_switches_that_lose"] == 0
    assert m["min_gain_over_unmodified"] >= 0
    assert any(m["sweep_switched"]) and not all(m["sweep_switched"])
    assert (out / "plots" / "life.png").stat().st_size > 5000
    assert (out / "plots" / "late_life.png").stat().st_size > 5000


def test_hsearch_demo_quick(tmp_path: Path) -> None:
    out = tmp_path / "hs"
    proc = cli("run", "hsearch-demo", "--scale", "quick", "--quiet", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    m = read_json(out / "result.json")["metrics"]
    # the headline (Hutter 2002, Theorem 1; the smoke criterion): time <= 5 t_p + c on every
    # input size, every output correct
    ok, why = get_experiment("hsearch-demo").smoke(m)
    assert ok, why
    assert m["fastest_steps_per_word"] == 6 and m["spec_steps_per_word"] == 82
    assert m["doubling_ratio_max"] <= 5
    assert m["total_over_t_best_largest_n"] < 1.4
    assert m["speedup_over_spec_largest_n"] > 8
    assert (out / "plots" / "hsearch_time.png").stat().st_size > 5000


def test_godel_bandit_killed_and_resumed_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    """Killed inside a life (checkpointed mid-life, proof store and all) or inside the late-life
    sweep (whose worlds come from the first life's switch time) and resumed, the run ends with the
    metrics of an uninterrupted one."""
    overrides = ["means=0.1,0.5,0.9", "T=40000", "sweep_lives=2", "sweep_span=2000"]
    whole = run_experiment("godel-bandit", out=tmp_path / "whole", scale="quick", seed=2,
                           overrides=overrides)
    assert whole["metrics"]["switches"] == 1 and len(whole["metrics"]["sweep_rest"]) == 2

    def strip(m: dict) -> dict:
        return {k: v for k, v in m.items() if "wall" not in k}

    for stop_at, stage in ((0.3, "lives"), (1.5, "sweep")):  # inside a life of each sweep
        def killer(done: float, total: float, desc: str, stop_at: float = stop_at) -> None:
            if done >= stop_at:
                raise KeyboardInterrupt

        out = tmp_path / f"cut{stop_at}"
        with pytest.raises(KeyboardInterrupt):
            run_experiment("godel-bandit", out=out, scale="quick", seed=2, overrides=overrides,
                           checkpoint_every_s=0.0, progress_sink=killer)
        saved = ckpt.load(out / "checkpoint")[0]["user"]
        assert saved[stage]["job"]["gm"]["hardware"]["time"] > 0  # a life saved in its middle
        resumed = run_experiment("godel-bandit", out=out, resume=True)
        assert strip(resumed["metrics"]) == strip(whole["metrics"])
