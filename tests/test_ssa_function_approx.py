"""is-function-approx: the f1..f5 curriculum and the quick scale end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
