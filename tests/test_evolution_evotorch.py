"""EvoTorch's SNES, PGPE and CoSyNE as pole baselines: solving, seeding, counting, no package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from metahook.evolution.network import NetSpec
from metahook.evolution.pole_fitness import BatchResult, PoleProblem
from metahook.evolution.run import evolve
from metahook.harness import UsageError
from metahook.harness.runner import run_experiment

KINDS = ("snes", "pgpe", "cosyne")
SINGLE = PoleProblem(n_poles=1, markov=True)
LINEAR = NetSpec(SINGLE.n_in, 0, False, False)


class Recording:
    """A problem that passes through to a PoleProblem and keeps every batch it was asked for."""

    def __init__(self, problem: PoleProblem) -> None:
        self.problem = problem
        self.batches: list[np.ndarray] = []
        self.counted = 0

    def evaluate(self, spec: NetSpec, genomes: np.ndarray,
                 tested: dict[bytes, int] | None = None) -> BatchResult:
        self.batches.append(np.array(genomes))
        res = self.problem.evaluate(spec, genomes, tested)
        self.counted += res.n_evaluated
        return res

    def solution_score(self, spec: NetSpec, genome: np.ndarray) -> int:
        return self.problem.solution_score(spec, genome)


def _run(kind: str, seed: int, problem: PoleProblem = SINGLE, spec: NetSpec = LINEAR,
         cap: int = 5_000) -> tuple:
    pytest.importorskip("evotorch")
    from metahook.evolution.evotorch_es import EvoTorchES

    rec_problem = Recording(problem)
    rec = evolve(EvoTorchES(kind), rec_problem, spec, np.random.default_rng(seed), cap)
    return rec, rec_problem


@pytest.mark.parametrize("kind", KINDS)
def test_evotorch_method_solves_the_single_pole_and_is_seeded(kind: str) -> None:
    rec, problem = _run(kind, seed=0)
    assert rec.solved and rec.evaluations < 1_000  # 100,000 steps balanced
    assert rec.evaluations == problem.counted  # every network evaluated is counted, nothing else
    assert rec.generations == len(problem.batches)
    again, problem2 = _run(kind, seed=0)
    assert again.evaluations == rec.evaluations
    assert all(np.array_equal(a, b) for a, b in zip(problem.batches, problem2.batches, strict=True))
    _, other = _run(kind, seed=1)
    assert not np.array_equal(other.batches[0], problem.batches[0])


@pytest.mark.parametrize("kind", KINDS)
def test_evotorch_method_stops_exactly_at_the_evaluation_cap(kind: str) -> None:
    double = PoleProblem(n_poles=2, markov=True)
    rec, problem = _run(kind, seed=0, problem=double,
                        spec=NetSpec(double.n_in, 0, False, False),
                        cap=37)
    assert not rec.solved and rec.evaluations == problem.counted == 37
    assert rec.generalization == -1


def test_evotorch_methods_run_in_the_pole_study(tmp_path: Path) -> None:
    pytest.importorskip("evotorch")
    doc = run_experiment("pole-single", out=tmp_path / "ps", scale="quick", seed=0,
                         overrides=["methods=snes,pgpe,evotorch-cosyne", "runs=2"])
    m = doc["metrics"]
    for method in ("snes", "pgpe", "evotorch_cosyne"):
        assert m[f"{method}_solved"] == 2
        assert m[f"{method}_mean_evaluations"] < 1_000


def test_missing_evotorch_is_one_clear_usage_error(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from metahook.evolution.evotorch_es import EvoTorchES, EvoTorchMissing

    monkeypatch.setitem(sys.modules, "evotorch", None)  # import evotorch now raises ImportError
    with pytest.raises(UsageError) as err:
        run_experiment("pole-double", out=tmp_path / "x", overrides=["methods=cmaes,pgpe"])
    msg = str(err.value)
    assert "\n" not in msg and "'pgpe'" in msg and "evotorch" in msg
    assert "pip install 'metahook[evotorch]'" in msg
    assert not (tmp_path / "x").exists()
    with pytest.raises(EvoTorchMissing, match="'snes' needs the optional package evotorch"):
        evolve(EvoTorchES("snes"), SINGLE, LINEAR, np.random.default_rng(0), 100)
    # the methods that do not need it still run
    doc = run_experiment("pole-single", out=tmp_path / "ok", scale="quick", seed=0,
                         overrides=["methods=cmaes", "runs=1"])
    assert doc["metrics"]["cmaes_solved"] == 1


def test_metahook_imports_without_evotorch() -> None:
    code = ("import sys; sys.modules['evotorch'] = None\n"
            "import metahook.experiments.pole_single, metahook.evolution.evotorch_es\n"
            "import metahook.experiments._pole_common as c\n"
            "from metahook.evolution.registry import ALGORITHMS\n"
            "assert all(ALGORITHMS[m].requires is None for m in c.PoleStudyConfig().methods)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
