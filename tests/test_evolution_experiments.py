"""Each evolution experiment's quick scale, run in-process, with assertions on its outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

from metahook.harness import UsageError
from metahook.harness.registry import get_experiment
from metahook.harness.runner import run_experiment


def _run(name: str, tmp_path: Path, *overrides: str) -> dict:
    doc = run_experiment(name, out=tmp_path / name, scale="quick", seed=0,
                         overrides=list(overrides))
    assert doc["status"] == "ok"
    assert list((tmp_path / name / "plots").glob("*.png"))
    return doc["metrics"]


def test_pole_single_quick(tmp_path: Path) -> None:
    m = _run("pole-single", tmp_path)
    for method in ("cosyne", "cosyne_all", "esp", "cmaes"):
        assert m[f"{method}_solved"] == 5
    # the paper's order of magnitude: CoSyNE and CMA-ES need hundreds, not thousands
    assert m["cosyne_all_mean_evaluations"] < 1000
    assert m["cmaes_mean_evaluations"] < 1000
    # the headline of Table 1 (the smoke criterion): CoSyNE, both variants, needs fewer
    # evaluations than ESP (paper 98 vs 289; seeds 0-3 of this quick scale: 3 to 25 times fewer)
    ok, why = get_experiment("pole-single").smoke(m)
    assert ok, why


def test_pole_double_quick(tmp_path: Path) -> None:
    m = _run("pole-double", tmp_path)
    assert m["cmaes_solved"] == 4 and m["esp_solved"] == 4
    assert m["cosyne_all_solved"] >= 3
    assert m["cosyne_all_median_evaluations"] < 2000
    # the headline of Table 3 (the smoke criterion): CoSyNE's median under half of ESP's (paper
    # 954 vs 3,800 evaluations; seeds 0-3 of this quick scale: medians 356-891 vs 4,421-6,818);
    # CMA-ES also ahead of ESP
    ok, why = get_experiment("pole-double").smoke(m)
    assert ok, why


def test_pole_double_nv_quick(tmp_path: Path) -> None:
    m = _run("pole-double-nv", tmp_path)
    assert m["fitness"] == "damping"
    # the headline of Table 4: CoSyNE solves the hardest task (a solution also balances from at
    # least 200 of the 625 generalization starts) within a few thousand evaluations (paper: 3,416
    # on average). Quick scale, 3 runs capped at 20,000: seed 0 solves 2, seeds 1-3 all 3; the
    # full run: 49 of 50 within 100,000. The smoke criterion: at least 2 of 3 runs solved, median
    # under 10,000 evaluations.
    ok, why = get_experiment("pole-double-nv").smoke(m)
    assert ok, why


def test_hesp_tmaze_quick(tmp_path: Path) -> None:
    """The headline (GECCO 2005, abstract): H-ESP learns memory over up to thousands of steps;
    here every H-ESP run solves the 1000-step corridor. (H-ESP needed fewer evaluations than ESP
    summed over the three lengths on seeds 0-2, but not at every length on every seed: with 5 runs
    that comparison is too noisy to assert.)"""
    m = _run("hesp-tmaze", tmp_path)
    ok, why = get_experiment("hesp-tmaze").smoke(m)  # all 5 runs solved the 1000-step corridor
    assert ok, why
    assert m["esp_N1000_solved"] == 5 and m["cosyne_all_N1000_solved"] == 5


def test_bad_config_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="valid: cosyne"):
        run_experiment("pole-double", out=tmp_path / "x", overrides=["methods=neat"])
    with pytest.raises(UsageError, match="backend"):
        run_experiment("pole-double", out=tmp_path / "y", overrides=["backend=spark"])
    assert not (tmp_path / "x").exists()
