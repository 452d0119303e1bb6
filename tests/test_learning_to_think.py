"""learning-to-think: the batched T-maze against its numba reference, M, C's query steps into
M, the quick scale (a smoke run) and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import cli_inproc
from metahook.envs.tmaze import EAST, NORTH, SOUTH, tmaze_move, tmaze_observation
from metahook.experiments.learning_to_think import Config
from metahook.harness.registry import get_experiment
from metahook.harness.runner import run_experiment
from metahook.neural import learning_to_think as ltt
from metahook.neural.training import seeded


@settings(max_examples=60, deadline=None)
@given(length=st.integers(1, 12), data=st.data())
def test_batched_tmaze_matches_the_numba_reference(length: int, data: st.DataObject) -> None:
    n = 16
    pos = np.array(data.draw(st.lists(st.integers(0, length), min_size=n, max_size=n)))
    signal = np.array(data.draw(st.lists(st.sampled_from([1, -1]), min_size=n, max_size=n)))
    action = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    new, outcome = ltt.tmaze_step_batch(pos, signal, action, length)
    obs = ltt.tmaze_obs_batch(pos, signal, length)
    ref = np.empty(3)
    for i in range(n):
        assert (new[i], outcome[i]) == tmaze_move(int(pos[i]), length, int(signal[i]),
                                                  int(action[i]))
        tmaze_observation(int(pos[i]), length, int(signal[i]), ref)
        np.testing.assert_array_equal(obs[i], ref)


def test_parameter_counts_and_unknown_variant() -> None:
    assert ltt.n_params("no_m", 16, 4) == 4 * (3 + 4 + 1) + 4 * (4 + 1)
    assert ltt.n_params("final_h", 16, 4) == 4 * (3 + 16 + 1)
    assert ltt.n_params("think", 16, 4) == 2 * 4 * (3 + 16 + 5 + 1)
    with pytest.raises(ValueError, match="unknown variant"):
        ltt.n_params("oracle", 16, 4)


def _scripted_history(length: int, max_steps: int, repeats: int) -> ltt.Episodes:
    """Walks straight east, then north or south, both signals: every combination."""
    ep = ltt.Episodes.empty(max_steps)
    for _ in range(repeats):
        for s in (1, -1):
            for turn in (NORTH, SOUTH):
                one = ltt.Episodes.empty(max_steps)
                one.obs = np.zeros((1, max_steps + 1, 3), np.float32)
                one.act = np.zeros((1, max_steps), np.int64)
                one.outcome = np.zeros((1, max_steps), np.int64)
                one.mask = np.zeros((1, max_steps), np.float32)
                pos = np.zeros(1, np.int64)
                sig = np.array([s])
                for t in range(length + 1):
                    one.obs[0, t] = ltt.tmaze_obs_batch(pos, sig, length)[0]
                    a = EAST if t < length else turn
                    pos, res = ltt.tmaze_step_batch(pos, sig, np.array([a]), length)
                    one.act[0, t] = a
                    one.mask[0, t] = 1
                    one.outcome[0, t] = ltt.GOAL if res[0] > 0 else (
                        ltt.WRONG if res[0] < 0 else ltt.NOTHING)
                one.obs[0, length + 1] = ltt.tmaze_obs_batch(pos, sig, length)[0]
                ep.extend(one)
    return ep


def _trained_model(length: int, hidden: int = 8) -> ltt.TMazeModel:
    torch.manual_seed(0)
    m = seeded(lambda: ltt.TMazeModel(hidden), 0)
    hist = _scripted_history(length, length + 3, 1)
    opt = torch.optim.Adam(m.parameters(), lr=2e-2)
    idx = np.arange(len(hist))
    for _ in range(300):
        loss, _, _ = ltt.model_loss(m, hist, idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return m


def _querying_controller(hidden: int) -> np.ndarray:
    """A hand-made ``think`` C: query "north"; walk east while the corridor's bits say so; at the
    junction turn north when M answers p_goal > 0.5, else south."""
    ni = ltt.n_inputs("think", hidden)
    w_a = np.zeros((4, ni), np.float32)
    w_q = np.zeros((4, ni), np.float32)
    pg, bias = 3 + hidden, ni - 1  # input index of M's p_goal and of the bias
    w_a[EAST, 0] = w_a[EAST, 2] = 2.0
    w_a[NORTH, pg], w_a[NORTH, bias] = 4.0, -2.0
    w_a[SOUTH, pg], w_a[SOUTH, bias] = -4.0, 2.0
    w_q[NORTH, bias] = 1.0
    return np.concatenate([w_a.ravel(), w_q.ravel()])[None]


def test_m_learns_the_maze_and_a_querying_controller_uses_it() -> None:
    length = 3
    m = _trained_model(length)
    assert ltt.junction_knowledge(m, length) == 1.0
    c = _querying_controller(m.hidden)
    r = ltt.rollout("think", c, m, length, length + 3, k=1)
    assert r.solved.all() and r.steps[0] == 2 * (length + 1)
    assert r.queries == r.steps[0]  # one query step per real step, none in the real world
    np.testing.assert_array_equal(r.episodes.mask.sum(1), [length + 1, length + 1])
    # the same controller with an untrained M cannot know the arm: at most one walk succeeds
    blank = seeded(lambda: ltt.TMazeModel(m.hidden), 1)
    assert not ltt.rollout("think", c, blank, length, length + 3, k=1).solved.all()


def test_rollout_is_deterministic_and_counts_real_steps() -> None:
    rng = np.random.default_rng(0)
    m = seeded(lambda: ltt.TMazeModel(8), 0)
    for v in ltt.VARIANTS:
        p = rng.normal(0, 1, (5, ltt.n_params(v, 8, 3)))
        a = ltt.rollout(v, p, None if v == "no_m" else m, 4, 12, k=2, c_hidden=3)
        b = ltt.rollout(v, p, None if v == "no_m" else m, 4, 12, k=2, c_hidden=3)
        np.testing.assert_array_equal(a.fitness, b.fitness)
        assert a.steps.sum() == a.episodes.mask.sum()
        assert ((a.steps >= 2) & (a.steps <= 24)).all()
        assert (a.queries > 0) == (v == "think")


@pytest.mark.slow
def test_quick_scale_is_a_smoke_run_m_learns_and_c_queries(tmp_path: Path) -> None:
    """Smoke test: the quick budget (one seed, 6,000 real steps) is too small to show which
    controller learns faster; it checks the pipeline (M's sleep phases cut its loss, C queries M,
    the costs add up), not the direction."""
    res = run_experiment("learning-to-think", out=tmp_path, scale="quick", seed=0)
    m = res["metrics"]
    ok, why = get_experiment("learning-to-think").smoke(m)  # type: ignore[misc]
    assert ok, why
    for v in ltt.VARIANTS:
        assert 0 < m[f"{v}_mean_steps_capped"] <= m["budget"]
        assert m[f"{v}_solved"] in (0, 1)
    assert m["final_h_m_ce_last"] < m["final_h_m_ce_untrained"]
    assert m["no_m_queries_mean"] == 0 and m["think_queries_mean"] > 0
    assert (tmp_path / "plots" / "learning_curves.png").stat().st_size > 0


@pytest.mark.parametrize("bad", [{"variants": ("no_m",)}, {"variants": ("think", "oracle")},
                                 {"max_steps": 5}, {"k": 0}, {"m_outcome_share": 1.5},
                                 {"popsize": 1}, {"m_lr": 0.0}])
def test_bad_config_is_one_line(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError) as err:
        Config(**bad).validate()  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli_inproc(capsys, "run", "learning-to-think", "--scale", "quick", "--set",
                              "k=0", "--out", str(tmp_path / "x"))
    assert code == 2 and "k must be" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
