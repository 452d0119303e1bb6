"""The pole simulator and fitness kernels: ODE cross-check, fast vs slow, Gymnasium API."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from metahook.envs import pole
from metahook.evolution.network import NetSpec, net_step, net_step_reference
from metahook.evolution.pole_fitness import (
    GENERALIZATION_LEVELS,
    GENERALIZATION_RANGES,
    PoleProblem,
    damping_value,
    episode,
    generalization_score,
)

finite = st.floats(-1.0, 1.0, allow_nan=False)
states = st.tuples(
    st.floats(-2.0, 2.0), st.floats(-1.5, 1.5), st.floats(-0.5, 0.5), st.floats(-2.0, 2.0),
    st.floats(-0.5, 0.5), st.floats(-3.0, 3.0),
)


def _rhs(n_poles: int, force: float, friction: bool):
    def f(_t: float, y: np.ndarray) -> np.ndarray:
        out = np.empty(6)
        pole.derivatives(np.asarray(y, dtype=float), force, n_poles, friction, out)
        return out

    return f


def _ode_rhs_independent(n_poles: int, force: float):
    """Wieland's equations written out again from the docstring, frictionless cart."""
    g = pole.GRAVITY

    def f(_t: float, y: np.ndarray) -> np.ndarray:
        poles = [(pole.POLE1_MASS, pole.POLE1_HALF, y[2], y[3])]
        if n_poles == 2:
            poles.append((pole.POLE2_MASS, pole.POLE2_HALF, y[4], y[5]))
        fe = sum(m * l * w * w * math.sin(th) + 0.75 * m * math.cos(th)
                 * (pole.MU_P * w / (m * l) - g * math.sin(th)) for m, l, th, w in poles)
        me = sum(m * (1 - 0.75 * math.cos(th) ** 2) for m, l, th, w in poles)
        xa = (force + fe) / (pole.CART_MASS + me)
        acc = [-0.75 * (xa * math.cos(th) - g * math.sin(th) + pole.MU_P * w / (m * l)) / l
               for m, l, th, w in poles]
        dy = [y[1], xa, y[3], acc[0], 0.0, 0.0]
        if n_poles == 2:
            dy[4], dy[5] = y[5], acc[1]
        return np.array(dy)

    return f


@pytest.mark.parametrize("n_poles", [1, 2])
def test_rk4_step_matches_scipy_solution_of_the_same_equations(n_poles: int) -> None:
    rng = np.random.default_rng(0)
    work = np.empty((5, 6))
    for _ in range(20):
        s0 = rng.uniform([-1, -1, -0.3, -1, -0.3, -2], [1, 1, 0.3, 1, 0.3, 2])
        if n_poles == 1:
            s0[4:] = 0.0
        a = float(rng.uniform(-1, 1))
        s = s0.copy()
        pole.pole_step(s, a, n_poles, False, work)
        sol = solve_ivp(_ode_rhs_independent(n_poles, pole.force_of(a)), (0.0, 0.02), s0,
                        method="DOP853", rtol=1e-11, atol=1e-12)
        # RK4's truncation error at τ = 0.01 s: ~1e-5 for the fast short pole, far below the
        # effect of any wrong term (a 10/256 N force alone moves ẋ by ~1e-3 in 0.02 s)
        np.testing.assert_allclose(s, sol.y[:, -1], rtol=0, atol=2e-5)
        wrong = solve_ivp(_ode_rhs_independent(n_poles, pole.force_of(a) + 0.05), (0.0, 0.02),
                          s0, method="DOP853", rtol=1e-11, atol=1e-12)
        assert np.abs(s - wrong.y[:, -1]).max() > 5e-4


def test_rk4_with_cart_friction_matches_scipy_away_from_rest() -> None:
    rng = np.random.default_rng(1)
    work = np.empty((5, 6))
    for _ in range(10):
        s0 = rng.uniform([-1, 0.3, -0.2, -1, -0.2, -1], [1, 1.0, 0.2, 1, 0.2, 1])
        s = s0.copy()
        pole.pole_step(s, 0.3, 2, True, work)
        sol = solve_ivp(_rhs(2, pole.force_of(0.3), True), (0.0, 0.02), s0, method="DOP853",
                        rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(s, sol.y[:, -1], rtol=0, atol=2e-5)
    # a trajectory of 50 actions (1 s, the long pole falling from 0.07 rad) stays close too
    s0 = pole.start_state()
    s = s0.copy()
    for _ in range(50):
        pole.pole_step(s, 0.0, 2, False, work)
    sol = solve_ivp(_ode_rhs_independent(2, pole.MIN_FORCE), (0.0, 1.0), s0, method="DOP853",
                    rtol=1e-11, atol=1e-12)
    assert abs(s[2]) > 0.2  # it did move
    np.testing.assert_allclose(s, sol.y[:, -1], rtol=0, atol=5e-5)


@settings(max_examples=60, deadline=None)
@given(states, finite, st.sampled_from([1, 2]), st.booleans())
def test_fast_step_equals_pure_python_reference(s: tuple[float, ...], a: float, n_poles: int,
                                                friction: bool) -> None:
    work = np.empty((5, 6))
    fast = np.array(s, dtype=float)
    if n_poles == 1:
        fast[4:] = 0.0
    ref_state, ref_failed = pole.pole_step_reference(tuple(fast), a, n_poles, friction)
    failed = pole.pole_step(fast, a, n_poles, friction, work)
    np.testing.assert_allclose(fast, ref_state, rtol=1e-12, atol=1e-12)
    assert failed == ref_failed


def test_force_is_clipped_and_floored() -> None:
    assert pole.force_of(2.0) == 10.0 and pole.force_of(-3.0) == -10.0
    assert pole.force_of(0.0) == pytest.approx(10 / 256)
    assert pole.force_of(-1e-6) == pytest.approx(-10 / 256)
    assert pole.force_of(0.5) == pytest.approx(5.0)


def test_failure_limits() -> None:
    s = np.zeros(6)
    s[0] = 2.41
    assert pole.failed(s, 2)
    s[0], s[2] = 0.0, math.radians(13)
    assert pole.failed(s, 1) and not pole.failed(s, 2)
    s[2], s[4] = 0.0, math.radians(37)
    assert pole.failed(s, 2)


def test_step_batch_equals_single_steps() -> None:
    rng = np.random.default_rng(2)
    states = rng.uniform(-0.2, 0.2, (16, 6))
    actions = rng.uniform(-1, 1, 16)
    done = np.zeros(16, dtype=np.bool_)
    done[3] = True
    batch = states.copy()
    pole.step_batch(batch, actions, 2, True, done)
    work = np.empty((5, 6))
    for b in range(16):
        s = states[b].copy()
        if b != 3:
            pole.pole_step(s, actions[b], 2, True, work)
        np.testing.assert_array_equal(batch[b], s)


def test_gymnasium_env_contract() -> None:
    from gymnasium.utils.env_checker import check_env

    env = pole.PoleBalancingEnv(n_poles=2, markov=False, max_steps=20)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3,)
    np.testing.assert_allclose(obs, [0.0, 0.07 / math.radians(12), 0.0])
    total, t = 0.0, 0
    while True:
        obs, r, term, trunc, _ = env.step(np.array([0.0]))
        total += r
        t += 1
        if term or trunc:
            break
    assert trunc and not term and t == 20 and total == 20.0
    env = pole.PoleBalancingEnv(n_poles=1, markov=True)
    env.reset(options={"state": [0, 0, 0.5, 0, 0, 0]})
    assert env.step(np.array([0.0]))[2]  # 0.5 rad > 12°: fails at once
    with pytest.raises(ValueError):
        pole.PoleBalancingEnv(n_poles=3)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 3), st.booleans(), st.booleans(), st.integers(0, 10_000))
def test_network_step_fast_equals_reference(h: int, recurrent: bool, bias: bool,
                                            seed: int) -> None:
    spec = NetSpec(3, h, recurrent, bias)
    rng = np.random.default_rng(seed)
    g = rng.normal(size=spec.n_weights)
    act = np.zeros(max(h, 1))
    new = np.empty(max(h, 1))
    ref_act = np.zeros(h)
    for _ in range(5):
        u = rng.normal(size=3)
        y = net_step(g, 3, h, recurrent, bias, u, act, new)
        y_ref, ref_act = net_step_reference(g, spec, u, ref_act)
        assert y == pytest.approx(y_ref, abs=1e-12)
        if h:
            np.testing.assert_allclose(act[:h], ref_act, atol=1e-12)


def _rollout_reference(g: np.ndarray, spec: NetSpec, n_poles: int, markov: bool,
                       s0: np.ndarray, max_steps: int) -> tuple[int, list[float]]:
    """Episode through the Gymnasium env and the numpy network (slow path)."""
    env = pole.PoleBalancingEnv(n_poles, markov, max_steps=max_steps)
    obs, _ = env.reset(options={"state": s0})
    act = np.zeros(spec.h)
    w = [abs(s0[0]) + abs(s0[1]) + abs(s0[2]) + abs(s0[3])]
    t = 0
    while t < max_steps:
        y, act = net_step_reference(g, spec, obs, act)
        obs, _, term, _, info = env.step(np.array([y]))
        if term:
            break
        t += 1
        s = info["state"]
        w.append(abs(s[0]) + abs(s[1]) + abs(s[2]) + abs(s[3]))
    return t, w


def test_episode_and_damping_fitness_match_the_slow_path() -> None:
    rng = np.random.default_rng(3)
    spec = NetSpec(3, 3, True, False)
    G = rng.normal(size=(20_000, spec.n_weights)) * 2
    ts = np.array([episode(g, 3, 3, True, False, 2, False, True, pole.start_state(), 300)[0]
                   for g in G])
    picks = list(np.flatnonzero(ts >= 100)[:3]) + list(np.flatnonzero(ts < 100)[:3])
    assert len(picks) == 6
    for r in picks:
        g = G[r]
        t, wsum = episode(g, 3, 3, True, False, 2, False, True, pole.start_state(), 300)
        t_ref, w = _rollout_reference(g, spec, 2, False, pole.start_state(), 300)
        assert t == t_ref
        if t >= 100:
            assert wsum == pytest.approx(sum(w[t - 100: t + 1]), rel=1e-6)
            assert damping_value(t, wsum, 300) == pytest.approx(
                0.1 * t / 300 + 0.9 * 0.75 / sum(w[t - 100: t + 1]), rel=1e-6)
        else:
            assert damping_value(t, wsum, 300) == pytest.approx(0.1 * t / 300)


def test_generalization_score_matches_the_slow_path() -> None:
    rng = np.random.default_rng(4)
    spec = NetSpec(3, 2, True, False)
    g = rng.normal(size=spec.n_weights)
    levels = np.array([0.05, 0.5, 0.95])
    fast = generalization_score(g, 3, 2, True, False, 2, False, True, levels,
                                GENERALIZATION_RANGES, 15)
    slow = 0
    for a in levels:
        for b in levels:
            for c in levels:
                for d in levels:
                    s0 = np.zeros(6)
                    s0[:4] = (2 * np.array([a, b, c, d]) - 1) * GENERALIZATION_RANGES
                    slow += _rollout_reference(g, spec, 2, False, s0, 15)[0] >= 15
    assert fast == slow
    assert GENERALIZATION_LEVELS.size ** 4 == 625


def test_task_counts_standard_evaluations_up_to_the_solver() -> None:
    problem = PoleProblem(n_poles=1, markov=True, solve_steps=500)
    spec = NetSpec(4, 0, False, False)
    rng = np.random.default_rng(5)
    res = problem.evaluate(spec, rng.normal(size=(400, 4)) * 3)
    assert res.solved_index == res.n_evaluated - 1 >= 0
    assert res.steps[-1] == 500 and (res.steps[:-1] < 500).all()
    with pytest.raises(ValueError):
        problem.evaluate(NetSpec(3, 0, False, False), np.zeros((1, 3)))


@pytest.mark.parametrize("n_poles", [1, 2])
@pytest.mark.parametrize("friction", [True, False])
def test_scalar_fast_path_is_bit_identical_to_the_array_path(n_poles: int, friction: bool) -> None:
    """pole_step and step_batch integrate in scalars; they must equal, to the last bit, two
    _rk4 steps on arrays (the form the results were first computed with)."""
    rng = np.random.default_rng(n_poles + 2 * friction)
    work = np.empty((5, 6))
    B = 64
    states = np.tile(pole.start_state(), (B, 1)) + rng.normal(0, 0.05, (B, 6))
    if n_poles == 1:
        states[:, 4:] = 0.0
    slow = states.copy()
    done = np.zeros(B, dtype=np.bool_)
    done_slow = np.zeros(B, dtype=np.bool_)
    for _ in range(200):
        actions = rng.uniform(-1.2, 1.2, B)
        single = states.copy()
        fell = [pole.pole_step(single[b], actions[b], n_poles, friction, work) for b in range(B)]
        pole.step_batch(states, actions, n_poles, friction, done)
        for b in range(B):
            if not done_slow[b]:
                for _ in range(pole.SUBSTEPS):
                    pole._rk4(slow[b], pole.force_of(actions[b]), n_poles, friction, work)
                done_slow[b] = pole.failed(slow[b], n_poles)
                assert fell[b] == done_slow[b]
                assert np.array_equal(single[b], slow[b])
        assert np.array_equal(states, slow) and np.array_equal(done, done_slow)


def test_pole_bench_quick_reports_every_figure() -> None:
    from metahook.benchmarks.pole import bench

    figures = bench(True)
    assert set(figures) == {"steps_per_s_jit", "steps_per_s_jit_restarting",
                            "steps_per_s_reference", "speedup", "evaluations_per_s_damping",
                            "network_steps_per_s_damping"}
    assert all(v > 0 for v in figures.values())
