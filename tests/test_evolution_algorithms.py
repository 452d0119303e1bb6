"""ESP, H-ESP, CoSyNE and CMA-ES through one ask/tell API; operators; the study runner."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.evolution.base import rank
from metahook.evolution.cmaes import CMAES
from metahook.evolution.cosyne import CoSyNE
from metahook.evolution.esp import ESP, HESP
from metahook.evolution.network import NetSpec
from metahook.evolution.pole_fitness import PoleProblem
from metahook.evolution.run import evolve
from metahook.evolution.study import RunSpec, execute, summarize

ALGORITHMS = {
    "cosyne": lambda: CoSyNE(m=12),
    "cosyne-all": lambda: CoSyNE(m=12, permute_prob=False),
    "esp": lambda: ESP(n=8, trials=3, stagnation=3),
    "hesp": lambda: HESP(n=8, trials=3, stagnation=3, level2_size=6, level2_offspring=4),
    "cmaes": lambda: CMAES(sigma0=0.5),
}
SPEC = NetSpec(n_in=3, h=2, recurrent=True, bias=True)
TARGET = np.linspace(-0.5, 0.5, SPEC.n_weights)


def _sphere(genomes: np.ndarray, spec: NetSpec) -> np.ndarray:
    """Toy fitness: −‖w − target‖² (only for the fixed shape; other shapes score low)."""
    if genomes.shape[1] != TARGET.size:
        return -10.0 - np.sum(genomes**2, axis=1)
    return -np.sum((genomes - TARGET) ** 2, axis=1)


def _drive(name: str, seed: int, gens: int) -> tuple[list[np.ndarray], float, float]:
    algo = ALGORITHMS[name]()
    rng = np.random.default_rng(seed)
    state = algo.init(SPEC, rng)
    asks = []
    first = best = -np.inf
    for g in range(gens):
        spec, genomes = algo.ask(state, rng)
        assert genomes.ndim == 2 and genomes.shape[1] == spec.n_weights
        assert np.isfinite(genomes).all()
        fit = _sphere(genomes, spec)
        if g == 0:
            first = float(fit.max())
        best = max(best, float(fit.max()))
        asks.append(genomes.copy())
        algo.tell(state, fit, rng)
    return asks, first, best


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_algorithm_speaks_ask_tell_and_improves(name: str) -> None:
    asks, first, best = _drive(name, seed=1, gens=40)
    assert best > first  # selection works on a smooth toy problem
    again, _, _ = _drive(name, seed=1, gens=40)
    assert all(np.array_equal(a, b) for a, b in zip(asks, again, strict=True))  # seeded
    other, _, _ = _drive(name, seed=2, gens=2)
    assert not np.array_equal(other[0], asks[0])


def test_cmaes_ignores_global_numpy_random_state() -> None:
    np.random.seed(1)
    a, _, _ = _drive("cmaes", seed=3, gens=5)
    np.random.seed(99)
    b, _, _ = _drive("cmaes", seed=3, gens=5)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_algorithm_solves_the_single_pole(name: str) -> None:
    problem = PoleProblem(n_poles=1, markov=True, solve_steps=10_000)
    spec = NetSpec(problem.n_in, 1, False, False)
    rec = evolve(ALGORITHMS[name](), problem, spec, np.random.default_rng(0), 20_000)
    assert rec.solved and rec.evaluations < 20_000


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.booleans())
def test_cosyne_permutation_only_moves_weights_within_subpopulations(seed: int,
                                                                     by_fitness: bool) -> None:
    rng = np.random.default_rng(seed)
    algo = CoSyNE(m=12, permute_prob=by_fitness)
    state = algo.init(SPEC, rng)
    before = state.P.copy()
    fit = rng.normal(size=12)
    order = rank(fit, np.random.default_rng(seed + 1))
    algo.tell(state, fit, rng)
    survivors = 12 - algo.l
    kept = before[np.sort(order[:survivors])]
    # every column of the survivors holds the same multiset of weights as before
    for i in range(SPEC.n_weights):
        assert sorted(state.P[:survivors, i]) == sorted(kept[:, i])
    # the best network is never broken up under fitness-proportional marking
    if by_fitness:
        assert any(np.array_equal(row, before[np.argmax(fit)]) for row in state.P[:survivors])


def test_rank_breaks_ties_at_random_but_orders_by_fitness() -> None:
    f = np.array([1.0, 3.0, 3.0, 0.0])
    seen = {tuple(rank(f, np.random.default_rng(s))[:2]) for s in range(20)}
    assert seen == {(1, 2), (2, 1)}
    assert rank(f, np.random.default_rng(0))[-1] == 3


def test_esp_network_size_adaptation_removes_and_adds_neurons() -> None:
    rng = np.random.default_rng(0)
    algo = ESP(n=8, trials=2, stagnation=1)
    spec = NetSpec(3, 3, True, False)
    state = algo.init(spec, rng)
    _, nets = algo.ask(state, rng)
    algo.tell(state, np.arange(nets.shape[0], dtype=float), rng)  # sets a best network
    state.bursts_without_gain = 2
    state.since_improved = 0
    _, nets = algo.ask(state, rng)
    algo.tell(state, np.zeros(nets.shape[0]), rng)  # stagnates: lesion phase next
    assert state.phase == "lesion"
    lspec, lesioned = algo.ask(state, rng)
    assert lspec.h == 2 and lesioned.shape == (3, lspec.n_weights)
    # neuron 1 is useless (its lesion keeps the fitness), the others matter
    best = state.best_fitness
    algo.tell(state, np.array([best - 1, best, best - 1]), rng)
    assert state.spec.h == 2 and state.pops.shape == (2, 8, state.spec.neuron_length)
    assert state.best.shape == (state.spec.n_weights,)
    # every neuron matters: a neuron is added
    state.phase = "lesion"
    _, lesioned = algo.ask(state, rng)
    algo.tell(state, np.full(lesioned.shape[0], state.best_fitness - 1), rng)
    assert state.spec.h == 3 and state.pops.shape == (3, 8, state.spec.neuron_length)
    spec2, nets = algo.ask(state, rng)
    assert nets.shape == (16, spec2.n_weights)


def test_hesp_level2_keeps_the_best_networks() -> None:
    rng = np.random.default_rng(0)
    algo = HESP(n=8, trials=2, level2_size=4, level2_offspring=3)
    state = algo.init(SPEC, rng)
    for _ in range(6):
        _, nets = algo.ask(state, rng)
        algo.tell(state, _sphere(nets, SPEC), rng)
    assert state.level2.shape == (4, SPEC.n_weights)
    assert np.all(np.diff(state.level2_fitness) <= 0)
    np.testing.assert_allclose(_sphere(state.level2, SPEC), state.level2_fitness)


def _specs(seed: int) -> list[RunSpec]:
    problem = PoleProblem(n_poles=1, markov=True, solve_steps=2_000)
    net = NetSpec(problem.n_in, 0, False, False)
    return [RunSpec("cosyne-all", i, CoSyNE(m=8, permute_prob=False), problem, net, seed, 5_000)
            for i in range(4)]


def test_study_results_do_not_depend_on_workers_or_order() -> None:
    serial = sorted(execute(_specs(7), "process", 1), key=lambda r: r["key"])
    parallel = sorted(execute(_specs(7), "process", 2), key=lambda r: r["key"])
    strip = [{k: v for k, v in r.items() if k != "wall_s"} for r in serial]
    assert strip == [{k: v for k, v in r.items() if k != "wall_s"} for r in parallel]
    assert all(r["solved"] for r in serial)
    s = summarize(serial, 5_000)
    ev = [r["evaluations"] for r in serial]
    assert s["solved"] == 4 and s["max_evaluations"] == max(ev)
    assert s["median_evaluations"] == float(np.median(ev))
    assert s["mean_evaluations"] == s["mean_evaluations_at_cap"] == float(np.mean(ev))
    # cosyne-all simulates all m = 8 rows every generation (the last one possibly cut short when
    # a network solves): m x generations bounds each run's evaluations from above
    assert all(8 * (r["generations"] - 1) < r["evaluations"] <= 8 * r["generations"]
               for r in serial)
    assert s["mean_evaluations"] <= 8 * s["mean_generations"]


def test_study_on_a_local_ray_cluster() -> None:
    pytest.importorskip("ray")
    serial = sorted(execute(_specs(3)[:2], "process", 1), key=lambda r: r["key"])
    remote = sorted(execute(_specs(3)[:2], "ray", 2), key=lambda r: r["key"])
    assert [r["evaluations"] for r in remote] == [r["evaluations"] for r in serial]


@pytest.mark.parametrize("name", ["cosyne", "esp", "hesp"])
def test_state_survives_a_harness_checkpoint(name: str, tmp_path) -> None:
    from metahook.evolution.base import load_state_dict, state_dict
    from metahook.harness import checkpoint as ckpt

    algo = ALGORITHMS[name]()
    rng = np.random.default_rng(4)
    state = algo.init(SPEC, rng)
    for _ in range(3):
        spec, nets = algo.ask(state, rng)
        algo.tell(state, _sphere(nets, spec), rng)
    ckpt.save(tmp_path, {"algo": state_dict(state), "rng": ckpt.rng_state(rng)}, 1)
    loaded, _ = ckpt.load(tmp_path)
    state2 = load_state_dict(type(state), loaded["algo"])
    rng2 = np.random.default_rng(0)
    ckpt.set_rng_state(rng2, loaded["rng"])
    for _ in range(3):  # the restored run continues exactly like the original
        spec, a = algo.ask(state, rng)
        spec2, b = algo.ask(state2, rng2)
        assert spec == spec2 and np.array_equal(a, b)
        algo.tell(state, _sphere(a, spec), rng)
        algo.tell(state2, _sphere(b, spec2), rng2)
