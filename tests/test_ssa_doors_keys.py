"""ssa-doors-keys quick scale end to end: every life runs, learns something, and reports."""

from __future__ import annotations

import math
from pathlib import Path

from conftest import cli, read_json


def test_quick_scale_runs_all_lives_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = cli("run", "ssa-doors-keys", "--scale", "quick", "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    doc = read_json(out / "result.json")
    m = doc["metrics"]
    # the SMP agents under SSA finished many trials, modified themselves, and kept some
    assert m["trials"][0] >= 200
    assert m["self_modifications"] > 50
    assert m["surviving_blocks"] >= 1 and m["stack_size"] > m["surviving_blocks"]
    assert 100_000 < m["trial_length_first"] < 1_000_000  # the paper: ~300,000 at first
    assert math.isfinite(m["speedup"]) and m["speedup"] > 0
    assert sum(m["wins_A_B"]) == m["trials"][0]
    # every baseline life ran its budget and reached the goal at least once
    for name in ("smp_no_ssa", "q_lambda", "q_lambda_ssa"):
        assert m[f"{name}_cycles"] == [6_000_000]
        assert m[f"{name}_trials"][0] >= 1
    # the paper's figures stand beside ours
    assert doc["reference"]["speedup"]["value"] == 60
    assert doc["reference"]["trial_length_first"]["value"] == 300_000
    for plot in ("trial_length", "trial_length_vs_cycles", "stack_size"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 5_000
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert any('"phase": "smp_ssa"' in line for line in lines)
