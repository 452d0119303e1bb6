"""The quick scales of godel-bandit and hsearch-demo, end to end through the CLI."""

from __future__ import annotations

from pathlib import Path

from conftest import cli, read_json
from metahook.harness.registry import get_experiment


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
