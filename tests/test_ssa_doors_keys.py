"""ssa-doors-keys quick scale end to end: every life runs, learns something, and reports."""

from __future__ import annotations

from pathlib import Path

from conftest import cli, read_json
from metahook.harness.registry import get_experiment


def test_quick_scale_smoke_only_runs_all_lives_and_reports(tmp_path: Path) -> None:
    """Smoke only for the headline: the speed-up (factor 52 in the full run) needs about 10^9
    basic cycles to show (docs/ssa.md: 3 of 4 lives had sped up by then), the quick life has
    10^8, and its first-to-last ratio (1.2 at seed 0) is within the noise of ~370 trials; SSA off
    gets worse only later too. What the quick scale can show: the paper's starting point (a goal
    every ~300,000 cycles), self-modifications made and some kept by SSA, every baseline run."""
    out = tmp_path / "run"
    proc = cli("run", "ssa-doors-keys", "--scale", "quick", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    doc = read_json(out / "result.json")
    m = doc["metrics"]
    # the smoke criterion: the SMP agents under SSA finished many trials (>= 200) at the paper's
    # starting length (~300,000 cycles), modified themselves (> 50) and kept some blocks (>= 1);
    # every baseline life reached the goal at least once
    ok, why = get_experiment("ssa-doors-keys").smoke(m)
    assert ok, why
    assert why.startswith("smoke only: the speed-up needs ~10^9 cycles")
    assert m["speedup"] is not None and m["trial_length_last"] is not None
    assert sum(m["wins_A_B"]) == m["trials"][0]
    # every baseline life ran its budget
    for name in ("smp_no_ssa", "q_lambda", "q_lambda_ssa"):
        assert m[f"{name}_cycles"] == [6_000_000]
    # the paper's figures stand beside ours
    assert doc["reference"]["speedup"]["value"] == 60
    assert doc["reference"]["trial_length_first"]["value"] == 300_000
    for plot in ("trial_length", "trial_length_vs_cycles", "stack_size"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 5_000
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert any('"phase": "smp_ssa"' in line for line in lines)
