"""The agent loop, the maze environment, and the fused Q(λ) maze loop against the readable agent."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from metahook.envs.pomaze import POMazeEnv, maze_exp2, primitive_move, senses
from metahook.rl.agent import TabularQLambda, run_episode
from metahook.rl.pomaze_q import EPISODES, new_walk, q_lambda_maze_steps

QP = (0.1, 0.99, 0.9, 0.1)  # alpha, gamma, lambda, epsilon


def _fused(grid: np.ndarray, start: tuple[int, int], goal: tuple[int, int], u: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    Q, E = np.zeros((8, 3)), np.zeros((8, 3))
    walk, out = new_walk(start), np.zeros(1000, dtype=np.int64)
    q_lambda_maze_steps(grid, start[0], start[1], goal[0], goal[1], Q, E, u, np.array(QP), walk,
                        out, np.zeros((1, 4)), np.zeros((1, 4)), np.zeros(8, dtype=np.int64),
                        np.zeros(7, dtype=np.int64))
    return Q, E, out[: int(walk[EPISODES])].tolist()


@pytest.mark.parametrize("goal_index,seed", [(0, 0), (1, 1), (2, 2)])
def test_the_fused_loop_is_the_readable_agent_step_for_step(goal_index: int, seed: int) -> None:
    grid, start, goals = maze_exp2()
    goal = goals[goal_index]
    u = np.random.default_rng(seed).random(2 * 40_000)
    _, _, lengths = _fused(grid, start, goal, u)
    assert len(lengths) >= 3
    n = sum(lengths[:3])  # compare at the end of the third episode
    Q_fused, E_fused, first = _fused(grid, start, goal, u[: 2 * n])
    assert first == lengths[:3]

    agent = TabularQLambda(8, 3, iter(u.tolist()), alpha=QP[0], gamma=QP[1], lam=QP[2],
                           eps=QP[3])
    env = POMazeEnv(grid, start, goal)
    episodes = [run_episode(env, agent) for _ in range(3)]
    assert [e.steps for e in episodes] == lengths[:3]
    assert all(e.terminated and e.total_reward == 1.0 for e in episodes)
    assert np.array_equal(agent.Q, Q_fused) and np.array_equal(agent.E, E_fused)


def test_the_maze_env_follows_the_gymnasium_api() -> None:
    grid, start, goals = maze_exp2()
    check_env(POMazeEnv(grid, start, goals[0], max_steps=50), skip_render_check=True)


def test_the_env_walks_senses_and_ends_at_the_goal() -> None:
    grid, start, goals = maze_exp2()
    env = POMazeEnv(grid, start, goals[0], max_steps=10_000)
    obs, _ = env.reset()
    assert obs == senses(grid, start[0], start[1], 1)
    # walk the shortest route greedily by breadth-first distances to the goal
    from metahook.envs.pomaze import distances
    dist = distances(grid, goals[0])
    terminated, steps = False, 0
    while not terminated:
        r, c, d = env.pos
        best = min(range(3), key=lambda a: (dist[primitive_move(grid, r, c, d, a)[:2]], a != 0))
        obs, reward, terminated, truncated, info = env.step(best)
        steps += 1
        assert not truncated and steps < 200
    assert reward == 1.0 and info["position"][:2] == goals[0]


def test_bad_actions_and_fields_are_refused() -> None:
    grid, start, goals = maze_exp2()
    env = POMazeEnv(grid, start, goals[0])
    env.reset()
    with pytest.raises(ValueError, match=r"action must be in 0\.\.2"):
        env.step(3)
    with pytest.raises(ValueError, match="is not a free field"):
        POMazeEnv(grid, (0, 0), goals[0])


def test_truncation_at_max_steps() -> None:
    grid, start, goals = maze_exp2()
    env = POMazeEnv(grid, start, goals[-1], max_steps=5)
    agent = TabularQLambda(8, 3, iter(np.random.default_rng(0).random(1000).tolist()))
    episode = run_episode(env, agent)
    assert episode.steps == 5 and not episode.terminated
