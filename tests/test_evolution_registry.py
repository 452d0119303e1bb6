"""The one API test: every algorithm in ``ALGORITHMS`` through the same interface (evosax's manner).

For each registered ask/tell algorithm: a few generations on a tiny problem, ``ask`` returns a
:class:`Population` (an array of genomes of the right shape), fitness is told back, and
``state_dict`` -> harness checkpoint (JSON plus ``.npz``, no pickle) -> ``load_state_dict`` gives
the identical next population. The EvoTorch searchers (``Driver``) run their own loop inside
EvoTorch, whose state lives in torch objects between ``step()`` calls that we do not control, so a
driven run cannot be checkpointed half-way: for them the test checks the run through
:class:`Evolution` and that a finished run's state round-trips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metahook.evolution.base import Driver, Population
from metahook.evolution.cmaes import CMAES
from metahook.evolution.cosyne import CoSyNE
from metahook.evolution.esp import ESP, HESP
from metahook.evolution.network import NetSpec
from metahook.evolution.problem import BatchResult
from metahook.evolution.registry import ALGORITHMS, check_methods, make_algorithm
from metahook.evolution.run import Evolution
from metahook.harness import checkpoint as ckpt

SPEC = NetSpec(n_in=3, h=2, recurrent=True, bias=True)
TARGET = np.linspace(-0.5, 0.5, SPEC.n_weights)
SMALL = {"cosyne_m": 8, "esp_n": 8, "esp_trials": 2, "level2_size": 6, "cmaes_sigma0": 0.5}


class Sphere:
    """A tiny problem: fitness −‖w − target‖² (other network shapes score low); never solved."""

    def evaluate(self, spec: NetSpec, genomes: np.ndarray,
                 tested: dict[bytes, int] | None = None) -> BatchResult:
        if genomes.shape[1] != TARGET.size:
            fit = -10.0 - np.sum(genomes**2, axis=1)
        else:
            fit = -np.sum((genomes - TARGET) ** 2, axis=1)
        return BatchResult(fit, np.zeros(len(fit), dtype=np.int64), len(fit))

    def solution_score(self, spec: NetSpec, genome: np.ndarray) -> int:
        return -1


def _copy(rng: np.random.Generator) -> np.random.Generator:
    out = np.random.default_rng()
    out.bit_generator.state = rng.bit_generator.state
    return out


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_every_registered_algorithm_speaks_the_api(name: str, tmp_path: Path) -> None:
    algo = make_algorithm(name, SMALL)
    assert algo.name == name
    if isinstance(algo, Driver):
        _driver_contract(algo, tmp_path)
        return
    rng = np.random.default_rng(5)
    state = algo.init(SPEC, rng)
    problem = Sphere()
    for _ in range(4):
        pop = algo.ask(state, rng)
        assert isinstance(pop, Population)
        assert pop.genomes.ndim == 2 and pop.genomes.shape[1] == pop.spec.n_weights
        assert pop.genomes.shape[0] >= 1 and np.isfinite(pop.genomes).all()
        algo.tell(state, problem.evaluate(*pop).fitness, rng)
    ckpt.save(tmp_path, {"algo": algo.state_dict(state)}, 1)
    loaded, _ = ckpt.load(tmp_path)
    state2 = algo.load_state_dict(loaded["algo"])
    rng2 = _copy(rng)
    for _ in range(3):  # the restored state continues exactly like the original
        a, b = algo.ask(state, rng), algo.ask(state2, rng2)
        assert a.spec == b.spec and np.array_equal(a.genomes, b.genomes)
        algo.tell(state, problem.evaluate(*a).fitness, rng)
        algo.tell(state2, problem.evaluate(*b).fitness, rng2)


def _driver_contract(algo: Driver, tmp_path: Path) -> None:
    pytest.importorskip("evotorch")
    run = Evolution(algo, Sphere(), SPEC, np.random.default_rng(5), 60)
    rec = run.advance(10)  # a driver runs to the end in its first advance
    assert run.done and rec.evaluations == 60 and not rec.solved
    ckpt.save(tmp_path, {"run": run.state_dict()}, 1)
    again = Evolution(algo, Sphere(), SPEC, np.random.default_rng(0), 60)
    again.load_state_dict(ckpt.load(tmp_path)[0]["run"])
    assert again.done and again.advance(10).evaluations == 60


def test_unknown_method_is_one_line_listing_the_valid_names() -> None:
    with pytest.raises(ValueError) as err:
        make_algorithm("neat")
    msg = str(err.value)
    assert "\n" not in msg and "'neat'" in msg
    assert msg.endswith("valid: " + ", ".join(ALGORITHMS))
    with pytest.raises(ValueError, match="'\\(none\\)'"):
        check_methods(())


def test_registry_builds_what_the_experiments_ran() -> None:
    """The registry's factories give the very algorithms the experiments built by hand before
    (the quick runs' metrics were compared before and after, identical)."""
    from metahook.experiments import hesp_tmaze
    from metahook.experiments._pole_common import PoleStudyConfig, build

    cfg = PoleStudyConfig()
    assert build("cosyne", cfg, 4) == (CoSyNE(m=20, mutation_prob=0.3, alpha=0.3),
                                       NetSpec(4, 0, False, False))
    assert build("cosyne-all", cfg, 4)[0] == CoSyNE(permute_prob=False, name="cosyne-all")
    assert build("esp", cfg, 4) == (ESP(n=40, trials=10), NetSpec(4, 1, False, False))
    assert build("hesp", cfg, 4)[0] == HESP(n=40, trials=10)
    assert build("cmaes", cfg, 4)[0] == CMAES(sigma0=1.0)
    tcfg = hesp_tmaze.Config()
    assert hesp_tmaze._algo("esp", tcfg) == ESP(n=20, trials=5, adapt_size=False)
    assert hesp_tmaze._algo("hesp", tcfg) == HESP(n=20, trials=5, level2_size=20)
    assert hesp_tmaze._algo("cosyne-all", tcfg) == CoSyNE(m=20, permute_prob=False,
                                                          name="cosyne-all")
