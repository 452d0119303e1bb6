"""The intrinsic rewards on hand-made cases, the RDIA environments, the fused curious loop against
the readable agent, and the curiosity-rdia experiment (smoke criterion, determinism, resume)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from metahook.curiosity.agent import CuriousQ, live
from metahook.curiosity.base import IntrinsicReward
from metahook.curiosity.info_gain import (
    EntropyChange,
    InformationGain,
    ProbabilityChange,
    entropy,
    kl_gain,
)
from metahook.curiosity.learning_progress import LearningProgress
from metahook.curiosity.model import TransitionCounts, information_content, summed_distance
from metahook.curiosity.prediction_error import PredictionError, squared_error
from metahook.curiosity.tabular import KINDS, CuriousRun
from metahook.envs.rdia import (
    BIG,
    INFORMATION_CONTENT_BIG,
    SMALL,
    RDIAEnv,
    transitions,
)
from metahook.envs.rdia import information_content as true_information_content
from metahook.harness.registry import get_experiment
from metahook.harness.runner import run_experiment
from resume_helpers import check_killed_and_resumed

LN10 = math.log(10)


def _counts(row: list[int], n: int | None = None) -> TransitionCounts:
    """A model with one state/action pair (0, 0) whose next-state counts are ``row``."""
    n = len(row) if n is None else n
    model = TransitionCounts(n, 1)
    for k, c in enumerate(row):
        for _ in range(c):
            model.update(0, 0, k)
    return model


def _after(row: list[int], k: int, reward: IntrinsicReward) -> float:
    """The reward of one more experiment of (0, 0) that led to ``k``, counts ``row`` before."""
    model = _counts(row)
    model.update(0, 0, k)
    return reward.reward(model, 0, 0, k)


# ----------------------------------------------------------------------------- the rewards
def test_kl_gain_of_a_known_update() -> None:
    # counts (1, 1, 0) and the next state 0: before (1/2, 1/2, 0), after (2/3, 1/3, 0)
    up, down = 2 / 3 * math.log(4 / 3), 1 / 3 * math.log(3 / 2)
    assert _after([1, 1, 0], 0, InformationGain(absolute=False)) == pytest.approx(up - down)
    assert _after([1, 1, 0], 0, InformationGain()) == pytest.approx(up + down)
    assert up - down == pytest.approx(0.0566330)  # KL(after || before), the signed sum
    # a next state never seen: its term is left out (its KL term would be infinite)
    assert _after([2, 0], 1, InformationGain(absolute=False)) == pytest.approx(
        2 / 3 * math.log(2 / 3))
    assert _after([2, 0], 1, InformationGain()) == pytest.approx(2 / 3 * math.log(3 / 2))


def test_kl_gain_is_the_kl_where_the_estimate_has_full_support() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        row = rng.integers(1, 6, size=5).tolist()
        k = int(rng.integers(5))
        before = np.array(row) / sum(row)
        after = np.array(row, dtype=float)
        after[k] += 1
        after /= after.sum()
        kl = float((after * np.log(after / before)).sum())
        assert kl_gain(before, after, absolute=False) == pytest.approx(kl)
        assert _after(row, k, InformationGain(absolute=False)) == pytest.approx(kl)
        assert kl >= 0.0


@pytest.mark.parametrize("reward", [InformationGain(), InformationGain(absolute=False),
                                    EntropyChange(), ProbabilityChange()])
def test_a_known_deterministic_experiment_gains_nothing(reward: IntrinsicReward) -> None:
    assert _after([0, 0, 5], 2, reward) == 0.0
    if reward.name != "probdiff":  # the first experiment: from no distribution to a certain one
        assert _after([0, 0, 0], 2, reward) == 0.0


def test_entropy_change() -> None:
    h_after = entropy(np.array([2 / 3, 1 / 3]))
    assert h_after == pytest.approx(-(2 / 3) * math.log(2 / 3) - (1 / 3) * math.log(1 / 3))
    assert _after([1, 1], 0, EntropyChange()) == pytest.approx(math.log(2) - h_after)
    # from a uniform estimate, the entropy change equals KL(after || before)
    assert _after([1, 1], 0, EntropyChange()) == pytest.approx(
        _after([1, 1], 0, InformationGain(absolute=False)))
    # a second outcome: entropy goes up from 0 to ln 2; the reward is its magnitude
    assert _after([1, 0], 1, EntropyChange()) == pytest.approx(math.log(2))


def test_probability_change() -> None:
    assert _after([1, 1], 0, ProbabilityChange()) == pytest.approx(1 / 3)
    assert _after([0, 0, 0], 1, ProbabilityChange()) == 1.0  # from all zeros to one certain


def test_prediction_error() -> None:
    assert squared_error(np.array([0.5, 0.5]), 0) == pytest.approx(0.5)
    assert _after([0, 0, 0], 1, PredictionError()) == 1.0  # the empty model predicts nothing
    assert _after([4, 0, 0], 0, PredictionError()) == 0.0  # learned
    # a uniform source keeps costing about 1 - 1/n however much the model has seen
    assert _after([100] * 10, 3, PredictionError()) == pytest.approx(0.9)


def test_learning_progress_pays_what_the_error_fell() -> None:
    beta = 0.25
    lp, model = LearningProgress(beta), TransitionCounts(2, 1)
    rewards = []
    for _ in range(6):  # a deterministic pair: error 1 (empty model), then 0 for ever
        model.update(0, 0, 1)
        rewards.append(lp.reward(model, 0, 0, 1))
    assert rewards[0] == 0.0
    assert rewards[1:] == pytest.approx([beta * (1 - beta) ** j for j in range(5)])
    assert sum(rewards) == pytest.approx(1 - (1 - beta) ** 5)


def test_learning_progress_is_zero_on_an_unlearnable_stream() -> None:
    lp = LearningProgress(0.1)
    lp.E = np.full((1, 1), 0.5)  # the running error already at the stream's error
    model = _counts([3, 3])
    rewards = []
    for k in (0, 1) * 50:  # the estimate stays about (1/2, 1/2): error 1/2 +- O(1/n)
        model.update(0, 0, k)
        rewards.append(lp.reward(model, 0, 0, k))
    assert abs(np.mean(rewards)) < 1e-3
    # a long uniform stream: the rewards add up to the fall of the running error (1 -> 0.9),
    # and in the second half they average out to nothing, while prediction error stays at 0.9
    lp, pe, model = LearningProgress(0.1), PredictionError(), TransitionCounts(10, 1)
    rng = np.random.default_rng(1)
    lp_r, pe_r = [], []
    for k in rng.integers(10, size=20_000).tolist():
        model.update(0, 0, k)
        lp_r.append(lp.reward(model, 0, 0, k))
        pe_r.append(pe.reward(model, 0, 0, k))
    assert lp.E is not None
    assert sum(lp_r) == pytest.approx(1.0 - lp.E[0, 0])
    assert abs(np.mean(lp_r[10_000:])) < 1e-4
    assert np.mean(pe_r[10_000:]) == pytest.approx(0.9, abs=0.01)


def test_rewards_checkpoint_their_state() -> None:
    lp = LearningProgress(0.3)
    model = _counts([2, 1])
    model.update(0, 0, 0)
    lp.reward(model, 0, 0, 0)
    other = LearningProgress()
    other.load_state_dict(lp.state_dict())
    assert other.beta == 0.3 and other.E is not None and lp.E is not None
    assert np.array_equal(other.E, lp.E)
    for r in (InformationGain(), EntropyChange(), PredictionError()):
        assert r.state_dict() == {}


# ----------------------------------------------------------------------------- the environments
def test_the_small_environment_is_the_papers() -> None:
    P = transitions(SMALL)
    assert np.allclose(P.sum(axis=2), 1.0)
    for s in range(9):
        for a in range(9):
            assert P[s, a, s] == 1.0
        assert P[s, 9, s + 1] == 1.0
    assert np.all(P[9] == 0.1)
    assert np.count_nonzero(P.max(axis=2) == 1.0) == 90
    env = RDIAEnv(SMALL)
    env.reset(seed=3)
    seen = np.zeros(SMALL)
    for _ in range(5000):  # every action in state 10 goes to a uniform state
        env.state = 9
        seen[int(env.step(int(env.np_random.integers(SMALL)))[0])] += 1
    assert seen.min() > 400 and seen.max() < 600
    env.reset()
    assert [int(env.step(9)[0]) for _ in range(3)] == [1, 2, 3]
    assert int(env.step(4)[0]) == 3


def test_the_bigger_environment_has_the_papers_information_content() -> None:
    P = transitions(BIG)
    assert true_information_content(P) == pytest.approx(INFORMATION_CONTENT_BIG, abs=1e-6)
    assert true_information_content(P) == pytest.approx(100 * math.log(100))


def test_the_env_follows_the_gymnasium_api() -> None:
    check_env(RDIAEnv(SMALL, max_steps=20), skip_render_check=True)


def test_the_summed_distance_starts_at_the_papers_first_row() -> None:
    P = transitions(SMALL)
    model = TransitionCounts(SMALL, SMALL)
    assert summed_distance(P, model.C) == pytest.approx(90 * LN10)
    model.update(0, 3, 0)  # one deterministic experiment
    assert summed_distance(P, model.C) == pytest.approx(204.93, abs=0.005)
    for s in range(9):  # everything learned, state 10's rows exactly uniform
        for a in range(10):
            model.update(s, a, int(P[s, a].argmax()))
    model.C[9] = 7
    model.N[9] = 70
    assert summed_distance(P, model.C) == pytest.approx(0.0, abs=1e-12)
    assert information_content(model.C) == pytest.approx(true_information_content(P))


# ----------------------------------------------------------------------------- the fused loop
_READABLE: dict[str, Any] = {
    "random": lambda: None, "infogain": InformationGain,
    "infogain_signed": lambda: InformationGain(absolute=False), "entropy": EntropyChange,
    "probdiff": ProbabilityChange, "prediction_error": PredictionError,
    "learning_progress": lambda: LearningProgress(0.1),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_fused_loop_is_the_readable_agent_step_for_step(kind: str) -> None:
    steps = 6000
    u_agent = np.random.default_rng(11).random(2 * steps)
    env = RDIAEnv(SMALL)
    env.reset(seed=0)
    env.np_random = np.random.default_rng(12)
    agent = CuriousQ(SMALL, SMALL, _READABLE[kind](), iter(u_agent.tolist()))
    path = live(env, agent, steps)
    assert path.count(9) >= 5  # it met the noise
    run = CuriousRun(transitions(SMALL), kind, np.random.default_rng(11),
                     np.random.default_rng(12), n_windows=steps // 1024 + 1)
    run.advance(1000)
    run.advance(steps - 1000)
    assert run.experiments == steps and run.state == path[-1]
    assert np.array_equal(run.C, agent.model.C) and np.array_equal(run.N, agent.model.N)
    assert np.allclose(run.Q, agent.Q, rtol=1e-9, atol=1e-12)
    assert run.info[0] == pytest.approx(information_content(agent.model.C), abs=1e-9)
    assert int(run.win_visits.sum()) == path[:-1].count(9)


def test_slicing_and_checkpoints_do_not_change_a_run() -> None:
    P = transitions(SMALL)

    def fresh() -> CuriousRun:
        return CuriousRun(P, "infogain", np.random.default_rng(5), np.random.default_rng(6),
                          n_windows=8, thresholds=[5.0, 20.0])

    whole = fresh()
    whole.advance(8000)
    cut = fresh()
    cut.advance(3001)
    saved = cut.state_dict()
    resumed = fresh()
    resumed.load_state_dict(saved)
    for piece in (1, 999, 3999):
        resumed.advance(piece)
    for key, value in whole.state_dict().items():
        if key.endswith("rng"):
            assert value == resumed.state_dict()[key]
        elif key != "kind":
            assert np.array_equal(value, resumed.state_dict()[key]), key
    assert whole.hits[0] > 0


# ----------------------------------------------------------------------------- the experiment
@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("rdia") / "quick"
    return run_experiment("curiosity-rdia", out=out, scale="quick", seed=0) | {"_out": out}


def test_the_quick_run_shows_table_1s_direction(quick: dict[str, Any]) -> None:
    m = quick["metrics"]
    ok, why = get_experiment("curiosity-rdia").smoke(m)  # type: ignore[misc]
    assert ok, why
    for agent in ("random", "infogain", "entropy", "probdiff"):
        assert m[f"kl_sum_{agent}_at_1"] == pytest.approx(89 * LN10)
    assert m["infogain_below_random_from"] <= 16384
    # the paper's slow start: RDIA first has to find the state where there is something to learn
    assert m["kl_sum_infogain_at_1024"] > m["kl_sum_random_at_1024"]
    # drawn to the noise: prediction error near the bound, information gain's reward fading
    assert 0.12 < m["prediction_error_time_in_s10_last_row"] <= m["share_bound_s10"]
    pe = m["prediction_error_reward_per_s10_visit_by_row"]
    ig = m["infogain_reward_per_s10_visit_by_row"]
    assert pe["32768"] == pytest.approx(0.9, abs=0.02)
    assert ig["32768"] < ig["4096"] / 5
    assert m["learning_progress_time_in_s10"] < 0.06
    for plot in ("kl_sum", "time_in_s10", "reward_per_s10_visit"):
        assert (quick["_out"] / "plots" / f"{plot}.png").exists()


def test_the_experiment_is_seeded(tmp_path: Path) -> None:
    sets = ["seeds=2", "experiments=1024", "agents=random,infogain,learning_progress",
            "plots=false"]
    a = run_experiment("curiosity-rdia", out=tmp_path / "a", scale="quick", seed=3, overrides=sets)
    b = run_experiment("curiosity-rdia", out=tmp_path / "b", scale="quick", seed=3, overrides=sets)
    c = run_experiment("curiosity-rdia", out=tmp_path / "c", scale="quick", seed=4, overrides=sets)

    def strip(m: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in m.items() if "wall" not in k}

    assert strip(a["metrics"]) == strip(b["metrics"])
    assert strip(a["metrics"]) != strip(c["metrics"])


def test_a_killed_run_resumes_to_the_same_result(tmp_path: Path) -> None:
    check_killed_and_resumed(
        "curiosity-rdia",
        ["seeds=2", "experiments=4096", "chunk=1000", "agents=random,infogain", "big_seeds=1",
         "big_agents=random,entropy", "big_margins=456,455", "big_chunk=200000",
         "big_max_experiments=600000", "plots=false"],
        stop_at=4.5, tmp_path=tmp_path)
