"""One evolutionary run as an object: advance(evaluations), state_dict, load_state_dict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metahook.evolution.network import NetSpec
from metahook.evolution.pole_fitness import PoleProblem
from metahook.evolution.registry import algorithm_entry
from metahook.evolution.run import Evolution, evolve
from metahook.harness import checkpoint as ckpt

PROBLEM = PoleProblem(n_poles=2, markov=True, solve_steps=2_000)
HYPER = {"cosyne_m": 12, "esp_n": 10, "esp_trials": 4, "level2_size": 6}
CAP = 4_000


def _start(name: str, seed: int) -> Evolution:
    entry = algorithm_entry(name)
    h = 1 if entry.evolves == "neurons" else 0
    spec = NetSpec(PROBLEM.n_in, h, False, False)
    return Evolution(entry.make(HYPER), PROBLEM, spec, np.random.default_rng(seed), CAP)


def _strip(rec: object) -> dict:
    return {k: v for k, v in vars(rec).items() if k != "wall_s"}


@pytest.mark.parametrize("name", ["cosyne", "esp", "hesp", "cmaes"])
def test_a_resumed_run_ends_like_an_uninterrupted_one(name: str, tmp_path: Path) -> None:
    whole = _start(name, 2)
    full = whole.advance(CAP)
    assert whole.done
    half = full.evaluations // 2
    run = _start(name, 2)
    rec = run.advance(half)
    assert half <= rec.evaluations < full.evaluations  # whole generations: may go past half
    assert not run.done
    ckpt.save(tmp_path, {"run": run.state_dict()}, 1)
    resumed = _start(name, 99)  # another seed: everything comes from the checkpoint
    resumed.load_state_dict(ckpt.load(tmp_path)[0]["run"])
    assert resumed.evaluations == rec.evaluations
    while not resumed.done:
        resumed.advance(500)
    assert _strip(resumed.record()) == _strip(full)


def test_evolve_is_one_advance_over_the_whole_budget() -> None:
    run = _start("cosyne-all", 0)
    steps = []
    while not run.done:
        steps.append(run.advance(200).evaluations)
    rec = evolve(algorithm_entry("cosyne-all").make(HYPER), PROBLEM,
                 NetSpec(PROBLEM.n_in, 0, False, False), np.random.default_rng(0), CAP)
    assert _strip(run.record()) == _strip(rec)
    assert steps == sorted(steps) and len(steps) >= 1


def test_a_checkpoint_of_another_run_is_refused() -> None:
    data = _start("cosyne", 0).state_dict()
    with pytest.raises(ValueError, match="algorithm 'cosyne'"):
        _start("esp", 0).load_state_dict(data)
    other = Evolution(algorithm_entry("cosyne").make(HYPER), PROBLEM,
                      NetSpec(PROBLEM.n_in, 0, False, False), np.random.default_rng(0), CAP + 1)
    with pytest.raises(ValueError, match="evaluation cap"):
        other.load_state_dict(data)
