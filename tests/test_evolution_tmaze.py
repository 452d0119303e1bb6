"""The T-maze: Gymnasium contract, the compiled walk against a walk through the env."""

from __future__ import annotations

import numpy as np
import pytest

from metahook.envs.tmaze import EAST, NORTH, SOUTH, WEST, TMazeEnv
from metahook.evolution.network import NetSpec, net_step_reference
from metahook.evolution.tmaze_fitness import TMazeProblem, tmaze_walk


def test_tmaze_env_rules() -> None:
    from gymnasium.utils.env_checker import check_env

    check_env(TMazeEnv(5), skip_render_check=True)
    env = TMazeEnv(3)
    obs, info = env.reset(options={"signal": -1})
    assert obs.tolist() == [0, 1, 1] and info["signal"] == -1
    assert env.step(NORTH)[0].tolist() == [0, 1, 1]  # a bump: still at the start
    assert env.step(WEST)[0].tolist() == [0, 1, 1]
    for _ in range(2):
        assert env.step(EAST)[0].tolist() == [1, 0, 1]
    obs, r, term, trunc, _ = env.step(EAST)
    assert r == 0.0 and not trunc
    assert obs.tolist() == [0, 1, 0] and not term
    _, r, term, _, info = env.step(SOUTH)
    assert term and r == 4.0 and info["outcome"] == 1
    env.reset(options={"signal": 1})
    for _ in range(3):
        env.step(EAST)
    assert env.step(SOUTH)[1] == pytest.approx(-0.1)
    env = TMazeEnv(2, max_steps=4)
    env.reset(seed=0)
    assert [env.step(WEST)[3] for _ in range(4)] == [False, False, False, True]
    with pytest.raises(ValueError):
        TMazeEnv(0)


def _walk_reference(g: np.ndarray, spec: NetSpec, length: int, signal: int,
                    max_steps: int) -> tuple[float, int, float]:
    env = TMazeEnv(length, max_steps=max_steps)
    obs, _ = env.reset(options={"signal": signal})
    act = np.zeros(spec.h)
    far = 0
    for _ in range(max_steps):
        y, act = net_step_reference(g, spec, obs, act)
        at_junction = env.pos >= length
        a = (NORTH if y > 0 else SOUTH) if at_junction else (EAST if y > 0 else WEST)
        obs, _, term, _, info = env.step(a)
        far = max(far, env.pos)
        if term:
            return far / length, info["outcome"], y
    return far / length, 0, 0.0


def test_compiled_walk_equals_walk_through_the_env() -> None:
    rng = np.random.default_rng(0)
    spec = NetSpec(3, 2, True, True)
    outcomes = set()
    for _ in range(60):
        g = rng.normal(size=spec.n_weights) * 2
        for signal in (1, -1):
            fast = tmaze_walk(g, 2, True, True, 6, signal, 34)
            slow = _walk_reference(g, spec, 6, signal, 34)
            assert fast[:2] == pytest.approx(slow[:2]) and fast[2] == pytest.approx(slow[2])
            outcomes.add(fast[1])
    assert outcomes == {-1, 0, 1}


def test_task_reports_the_solving_network() -> None:
    problem = TMazeProblem(20)
    spec = NetSpec(3, 2, True, True)
    G = np.random.default_rng(1).normal(size=(5000, spec.n_weights)) * 3
    res = problem.evaluate(spec, G)
    assert res.solved_index == res.n_evaluated - 1 >= 0
    assert problem.solves(spec, G[res.solved_index])
    assert not any(problem.solves(spec, g) for g in G[: res.solved_index])
    assert (res.fitness >= 0).all() and (res.fitness <= 4).all()
    assert res.fitness[-1] > 3.0  # both walks reached the junction and turned right
