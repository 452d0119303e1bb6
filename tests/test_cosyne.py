"""CoSyNE's permutation marking and its skipping of intact networks (Gomez et al., JMLR 2008)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.evolution.cosyne import CoSyNE
from metahook.evolution.network import NetSpec
from metahook.evolution.pole_fitness import PoleProblem
from metahook.evolution.run import evolve

SPEC = NetSpec(n_in=3, h=2, recurrent=True, bias=True)
TARGET = np.linspace(-0.5, 0.5, SPEC.n_weights)


def _fitness(genomes: np.ndarray) -> np.ndarray:
    """A deterministic toy fitness: −‖w − target‖²."""
    return -np.sum((genomes - TARGET) ** 2, axis=1)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=30), st.integers(1, 40))
def test_marking_probability_is_the_papers_normalised_over_the_survivors(
        f: list[float], n: int) -> None:
    fit = np.sort(np.array(f))[::-1]
    p = CoSyNE().marking_probability(fit, n)
    assert ((p >= 0) & (p <= 1)).all()
    if fit[0] > fit[-1]:
        assert p[0] == 0.0 and p[-1] == 1.0  # the best stays, the worst survivor always moves
        q = (fit - fit[-1]) / (fit[0] - fit[-1])
        assert np.allclose((1 - p) ** n, q)  # a network stays intact with probability q
        assert (np.diff(p) >= -1e-12).all()  # the lower the fitness, the likelier marked
    else:
        assert (p == 1).all()
    assert (CoSyNE(permute_prob=False).marking_probability(fit, n) == 1).all()


def _drive(algo: CoSyNE, seed: int, gens: int) -> tuple[list[np.ndarray], int]:
    """The population after each generation, and how many networks were handed out."""
    rng = np.random.default_rng(seed)
    state = algo.init(SPEC, rng)
    pops, asked = [], 0
    for _ in range(gens):
        _, genomes = algo.ask(state, rng)
        asked += genomes.shape[0]
        algo.tell(state, _fitness(genomes), rng)
        pops.append(state.P.copy())
    return pops, asked


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_skipping_intact_networks_changes_the_count_never_the_search(seed: int) -> None:
    """Differential: under a deterministic fitness, evaluating every row and evaluating only the
    changed rows plus the best give the same populations, generation by generation."""
    every, n_every = _drive(CoSyNE(m=12, skip_intact=False), seed, 30)
    skip, n_skip = _drive(CoSyNE(m=12), seed, 30)
    assert all(np.array_equal(a, b) for a, b in zip(every, skip, strict=True))
    assert n_every == 12 * 30 and n_skip < n_every


def test_ask_hands_out_the_changed_rows_and_the_best() -> None:
    algo = CoSyNE(m=12)
    rng = np.random.default_rng(3)
    state = algo.init(SPEC, rng)
    _, genomes = algo.ask(state, rng)
    assert genomes.shape[0] == 12  # nothing is known before the first generation
    algo.tell(state, _fitness(genomes), rng)
    _, again = algo.ask(state, rng)
    assert state.fresh is not None and state.fitness is not None
    assert state.fresh[0] and state.fresh[12 - algo.l:].all()  # the best and the offspring
    assert np.array_equal(again, state.P[state.fresh])
    # an intact row keeps the fitness it was evaluated with
    for r in np.flatnonzero(~state.fresh):
        assert state.fitness[r] == _fitness(state.P[r:r + 1])[0]


def test_permute_all_evaluates_every_row_every_generation() -> None:
    _, asked = _drive(CoSyNE(m=12, permute_prob=False), 5, 20)
    assert asked == 12 * 20


def test_the_papers_variant_solves_the_double_pole_within_the_published_mean() -> None:
    """Double pole with velocities (Table 3: 954 evaluations on average): a few runs of the
    fitness-proportional variant, each within a few thousand evaluations."""
    problem = PoleProblem(n_poles=2, markov=True)
    spec = NetSpec(problem.n_in, 0, False, False)
    evals = [evolve(CoSyNE(), problem, spec, np.random.default_rng(s), 20_000) for s in range(3)]
    assert all(r.solved for r in evals)
    assert np.median([r.evaluations for r in evals]) < 2_000
