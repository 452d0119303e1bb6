"""The IJCNN 1991 curious model builder: its reward's defining properties, the compiled loop
against the readable one, and seeded, sliceable, resumable lives."""

from __future__ import annotations

import numpy as np
import pytest

from metahook.curiosity.model_building import KINDS, CuriousModelBuilder, ModelBuildingRun
from metahook.envs.reactive_grid import (
    deterministic_states,
    moves,
    react,
    reactions,
)


def _world(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return moves(), reactions(np.random.default_rng(seed)), deterministic_states("row")


def test_the_grid_moves_and_reacts_as_specified() -> None:
    nxt, value, det = _world()
    assert nxt[0, 0] == 0 and nxt[0, 1] == 1 and nxt[0, 2] == 10 and nxt[0, 3] == 0
    assert nxt[99, 1] == 99 and nxt[99, 3] == 98
    assert det.sum() == 10 and det[:10].all()
    assert set(np.unique(value)) <= {-1.0, 1.0}
    assert react(value, det, 3, 2, 0.1) == value[3, 2] == react(value, det, 3, 2, 0.9)
    assert react(value, det, 50, 0, 0.1) == 1.0 and react(value, det, 50, 0, 0.9) == -1.0


def test_model_improvement_pays_nothing_on_an_unlearnable_stream() -> None:
    """On a fair coin the confidence settles at M's error and the reward averages out to 0,
    while the prediction error stays at about 1 for ever; on a deterministic reaction the
    rewards are positive and add up to how far C fell."""
    rng = np.random.default_rng(1)
    agent = CuriousModelBuilder(1, 1, "curious", rng, eta_m=0.05, eta_c=0.05)
    coins = np.where(rng.random(40_000) < 0.5, 1.0, -1.0)
    rewards, errors = [], []
    for x in coins:
        errors.append((x - agent.W[0, 0]) ** 2)
        rewards.append(agent.learn(0, 0, float(x), 0))
    late = np.array(rewards[20_000:])
    assert abs(late.mean()) < 2e-4 and late.std() > 1e-3
    assert abs(np.mean(errors[20_000:]) - 1.0) < 0.05
    det = CuriousModelBuilder(1, 1, "curious", rng, eta_m=0.05, eta_c=0.05)
    paid = [det.learn(0, 0, 1.0, 0) for _ in range(300)]
    assert paid[0] == 0.0 and all(r > 0 for r in paid[1:])
    assert sum(paid) == pytest.approx(1.0 - det.C[0, 0])


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_compiled_life_is_the_readable_one(kind: str) -> None:
    nxt, value, det = _world(2)
    run = ModelBuildingRun(nxt, value, det, kind, np.random.default_rng(3),
                           np.random.default_rng(4), eps=0.2)
    readable = CuriousModelBuilder(100, 4, kind, np.random.default_rng(3), eps=0.2)
    ua, ue = np.random.default_rng(3), np.random.default_rng(4)
    ua.uniform(0.0, 0.01, (100, 4))  # the Q initialisation drawn by both
    n = 2000
    u_agent, u_env = ua.random(2 * n), ue.random(n)
    run.advance(n)
    s = 0
    for i in range(n):
        a = readable.act(s, u_agent[2 * i], u_agent[2 * i + 1])
        x = react(value, det, s, a, u_env[i])
        readable.learn(s, a, x, int(nxt[s, a]))
        s = int(nxt[s, a])
    assert run.walk[0] == s and run.steps == n
    np.testing.assert_allclose(run.W, readable.W, atol=1e-12)
    np.testing.assert_allclose(run.C, readable.C, atol=1e-12)
    np.testing.assert_allclose(run.Q, readable.Q, atol=1e-12)


def test_lives_are_seeded_and_survive_slicing_and_checkpoints() -> None:
    nxt, value, det = _world(5)

    def life() -> ModelBuildingRun:
        return ModelBuildingRun(nxt, value, det, "curious", np.random.default_rng(6),
                                np.random.default_rng(7))

    whole = life()
    whole.advance(3000)
    first = life()
    first.advance(1100)
    resumed = life()
    resumed.load_state_dict(first.state_dict())
    resumed.advance(1900)
    for name in ("W", "C", "Q", "walk", "visits", "reward"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(resumed, name))
    assert whole.error() < 40.0 == life().error()
