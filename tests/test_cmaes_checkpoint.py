"""CMA-ES checkpointed without pickle: pycma's state rebuilt by replaying every recorded call."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metahook.evolution.cmaes import CMAES, CMAState
from metahook.evolution.network import NetSpec
from metahook.harness import checkpoint as ckpt

SPEC = NetSpec(n_in=3, h=2, recurrent=True, bias=True)
TARGET = np.linspace(-0.5, 0.5, SPEC.n_weights)


def _fitness(genomes: np.ndarray, flat: bool) -> np.ndarray:
    if flat:  # a flat landscape makes pycma stop (tolflatfitness), so the wrapper restarts
        return np.zeros(genomes.shape[0])
    return -np.sum((genomes - TARGET) ** 2, axis=1)


def _run(algo: CMAES, state: CMAState, rng: np.random.Generator, gens: int,
         flat: bool = False) -> None:
    for _ in range(gens):
        _, genomes = algo.ask(state, rng)
        algo.tell(state, _fitness(genomes, flat), rng)


def _copy(rng: np.random.Generator) -> np.random.Generator:
    out = np.random.default_rng()
    out.bit_generator.state = rng.bit_generator.state
    return out


@pytest.mark.parametrize("flat", [False, True])
def test_resume_gives_the_identical_next_population(flat: bool, tmp_path: Path) -> None:
    algo = CMAES(sigma0=0.5)
    rng = np.random.default_rng(11)
    state = algo.init(SPEC, rng)
    _run(algo, state, rng, 25, flat)
    assert (state.restarts >= 1) == flat  # the flat run went through a restart
    ckpt.save(tmp_path, {"algo": algo.state_dict(state), "rng": ckpt.rng_state(rng)}, 1)
    # the checkpoint is JSON plus .npz (ckpt.load reads the arrays with allow_pickle=False)
    json.loads((tmp_path / "ckpt-000001.json").read_text())
    loaded, _ = ckpt.load(tmp_path)

    fresh = CMAES(sigma0=0.5)
    resumed = fresh.load_state_dict(loaded["algo"])
    rng2 = np.random.default_rng(0)
    ckpt.set_rng_state(rng2, loaded["rng"])
    assert resumed.restarts == state.restarts
    expected = algo.ask(state, rng).genomes  # the uninterrupted run's next ask
    got = fresh.ask(resumed, rng2).genomes
    assert np.array_equal(got, expected)
    # and both go on identically: tell, ask again
    algo.tell(state, _fitness(expected, flat), rng)
    fresh.tell(resumed, _fitness(got, flat), rng2)
    assert np.array_equal(fresh.ask(resumed, rng2).genomes, algo.ask(state, rng).genomes)


def test_resume_between_ask_and_tell() -> None:
    algo = CMAES(sigma0=0.5)
    rng = np.random.default_rng(3)
    state = algo.init(SPEC, rng)
    _run(algo, state, rng, 5)
    _, asked = algo.ask(state, rng)  # checkpoint taken after an ask, before its tell
    resumed = algo.load_state_dict(algo.state_dict(state))
    assert np.array_equal(np.array(resumed.asked), asked)
    rng2 = _copy(rng)
    algo.tell(state, _fitness(asked, False), rng)
    algo.tell(resumed, _fitness(asked, False), rng2)
    assert np.array_equal(algo.ask(state, rng).genomes, algo.ask(resumed, rng2).genomes)


def test_a_replay_that_diverges_or_other_settings_are_refused() -> None:
    algo = CMAES(sigma0=0.5)
    rng = np.random.default_rng(4)
    state = algo.init(SPEC, rng)
    _run(algo, state, rng, 6)
    data = algo.state_dict(state)
    data["events"][-1]["fitness"] = data["events"][-1]["fitness"][::-1].copy()  # tampered
    with pytest.raises(ValueError, match="did not rebuild"):
        algo.load_state_dict(data)
    with pytest.raises(ValueError, match="sigma0"):
        CMAES(sigma0=1.0).load_state_dict(algo.state_dict(state))
