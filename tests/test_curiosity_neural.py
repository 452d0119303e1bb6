"""The neural curiosity rewards on tiny hand-made streams (compression progress, learning
progress, information gain, ICM, RND), PPO's pieces, the noisy-TV room, and the
curiosity-noisy-tv experiment (seeded, and its smoke criterion at a small scale)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from metahook.curiosity.compression_progress import (
    CompressionProgress,
    history_progress,
    zlib_progress,
)
from metahook.curiosity.icm import ICM, ICMReward
from metahook.curiosity.neural import (
    NeuralInformationGain,
    NeuralLearningProgress,
    NeuralPredictionError,
    NeuralWorldModel,
    bernoulli_kl_bits,
)
from metahook.curiosity.rnd import CLIP, RND, RNDReward
from metahook.envs import noisy_tv as tv
from metahook.rl.ppo import RewardForwardFilter, RunningMeanStd, gae, normalise_intrinsic

D, A, B = 6, 2, 64  # observation bits, actions, batch


@pytest.fixture(autouse=True)
def _one_thread() -> Any:
    """Tiny networks: one intra-op thread (idle-spinning threads cost more than they give)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _gen(seed: int = 0) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def _batch(g: torch.Generator, noisy: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``B`` experiences from one of two inputs: the next observation is a fixed function of the
    action (learnable), or uniform random bits (noise)."""
    s = torch.zeros(B, D)
    s[:, 0] = 1.0
    a = torch.randint(0, A, (B,), generator=g)
    if noisy:
        s2 = torch.randint(0, 2, (B, D), generator=g).float()
    else:
        s2 = torch.stack([torch.tensor([1, 0, 1, 1, 0, 0.0]), torch.tensor([0, 1, 1, 0, 1, 1.0])]
                         )[a]
    return s, a, s2


def _model(g: torch.Generator, lr: float = 1e-2) -> NeuralWorldModel:
    return NeuralWorldModel(D, A, g, hidden=16, lr=lr, epochs=2, minibatch=32, history=4096)


# ----------------------------------------------------------------------------- the world model
def test_the_world_model_codes_in_bits() -> None:
    m = _model(_gen())
    with torch.no_grad():
        for p in m.net.parameters():
            p.zero_()  # every bit predicted at 1/2: one bit each
    s, a, s2 = _batch(_gen(1), noisy=False)
    assert torch.allclose(m.code_length(s, a, s2), torch.full((B,), float(D)))
    assert float(bernoulli_kl_bits(torch.tensor([[0.5]]), torch.tensor([[0.25]]))) == \
        pytest.approx(0.5 * math.log2(2) + 0.5 * math.log2(0.5 / 0.75))


# ----------------------------------------------------------------------------- compression progress
def test_compression_progress_is_positive_only_when_the_model_improves() -> None:
    cp = CompressionProgress()
    # a model that cannot change (learning rate 0): not one bit of progress
    frozen = _model(_gen(), lr=1e-12)
    s, a, s2 = _batch(_gen(1), noisy=False)
    frozen.update(s, a, s2)
    assert np.abs(cp.reward(frozen, s, a, s2)).max() < 1e-4
    # a learnable stream: every early update saves bits on the experiences it learned from
    g = _gen(2)
    m = _model(_gen(3))
    first = []
    for _ in range(5):
        s, a, s2 = _batch(g, noisy=False)
        m.update(s, a, s2)
        first.append(cp.reward(m, s, a, s2).mean())
    assert min(first) > 0.1
    # pure noise, once the model has coded plenty of it: progress about zero on average,
    # while prediction error stays at about one bit per noisy bit
    noise = _model(_gen(4), lr=3e-3)
    late, pe = [], []
    for k in range(80):
        s, a, s2 = _batch(g, noisy=True)
        noise.update(s, a, s2)
        if k >= 40:
            late.append(cp.reward(noise, s, a, s2).mean())
            pe.append(NeuralPredictionError().reward(noise, s, a, s2).mean())
    assert abs(np.mean(late)) < 0.02 * np.mean(first)
    assert np.mean(pe) == pytest.approx(D, rel=0.05)


def test_history_progress_sums_the_experiences_terms_on_the_first_update() -> None:
    m = _model(_gen())
    before = {k: v.clone() for k, v in m.net.state_dict().items()}
    s, a, s2 = _batch(_gen(1), noisy=False)
    m.update(s, a, s2)  # the history holds exactly this batch
    total = history_progress(m, before)
    assert total == pytest.approx(float(CompressionProgress().reward(m, s, a, s2).sum()),
                                  rel=1e-4)
    assert total > 0


def test_zlib_progress_pays_for_what_the_history_explains() -> None:
    rng = np.random.default_rng(0)
    pattern = bytes(rng.integers(0, 256, 200, dtype=np.uint8))
    assert zlib_progress(pattern, pattern) > 800  # seen before: nearly free
    assert zlib_progress(pattern, bytes(rng.integers(0, 256, 200, dtype=np.uint8))) < 100


# ----------------------------------------------------------------------------- learning progress
def test_learning_progress_is_zero_on_an_unlearnable_stream() -> None:
    g = _gen(5)
    m = _model(_gen(6), lr=3e-3)
    lp = NeuralLearningProgress(D, A, _gen(7), hidden=16, lr=1e-2, steps=8)
    rewards = []
    for _ in range(50):
        s, a, s2 = _batch(g, noisy=True)
        m.update(s, a, s2)
        rewards.append(lp.reward(m, s, a, s2).mean())
    late = np.array(rewards[25:])
    assert abs(late.mean()) < 0.01 * D
    # a learnable stream: the expected error falls, and the reward is what it fell
    m2 = _model(_gen(8))
    lp2 = NeuralLearningProgress(D, A, _gen(9), hidden=16, lr=1e-2, steps=8)
    early = []
    for _ in range(15):
        s, a, s2 = _batch(g, noisy=False)
        m2.update(s, a, s2)
        early.append(lp2.reward(m2, s, a, s2).mean())
    assert sum(early) > 0.5 * D * 0.5  # most of the fall of the expected code length


def test_information_gain_is_zero_when_the_model_does_not_move() -> None:
    frozen = _model(_gen(), lr=1e-12)
    s, a, s2 = _batch(_gen(1), noisy=False)
    frozen.update(s, a, s2)
    assert np.abs(NeuralInformationGain().reward(frozen, s, a, s2)).max() < 1e-6
    m = _model(_gen())
    m.update(s, a, s2)
    assert NeuralInformationGain().reward(m, s, a, s2).min() > 0


# ----------------------------------------------------------------------------- ICM
def test_icm_learns_the_inverse_and_forward_models_and_pays_its_forward_error() -> None:
    g = _gen(10)
    icm = ICM(D, A, _gen(11), features=8, hidden=32, lr=3e-3, epochs=2, minibatch=32)
    s, a, s2 = _batch(g, noisy=False)
    _, inv0, fwd0 = icm.losses(s, a, s2)
    assert inv0.item() == pytest.approx(math.log(A), abs=0.2)
    for _ in range(60):
        s, a, s2 = _batch(g, noisy=False)
        icm.update(s, a, s2)
    # the reward is eta/2 ||phi_hat - phi'||^2 of the module before its update
    with torch.no_grad():
        f, f2 = icm.phi(s), icm.phi(s2)
    expected = icm.intrinsic(s, a, s2)
    s_, a_, s2_ = _batch(g, noisy=False)
    icm.update(s_, a_, s2_)
    assert np.allclose(ICMReward().reward(icm, s_, a_, s2_), icm.before.numpy())
    _, inv, fwd = icm.losses(s, a, s2)
    assert inv.item() < 0.1  # the action is read off the next observation
    assert fwd.item() < 0.1 * max(fwd0.item(), 1e-3) or fwd.item() < 1e-3
    assert float((f2 - f).abs().sum(-1).min()) > 1e-3  # features did not collapse
    assert float(expected.mean()) >= 0


# ----------------------------------------------------------------------------- RND
def test_rnd_normalises_observations_and_rewards() -> None:
    rng = np.random.default_rng(0)
    obs = rng.normal(3.0, 2.0, size=(4000, D))
    rnd = RND(D, _gen(12), embedding=8, hidden=16)
    rnd.init_normaliser(obs)
    z = rnd.normalise(torch.from_numpy(obs).float()).numpy()
    assert np.abs(z.mean(axis=0)).max() < 0.05 and np.abs(z.std(axis=0) - 1).max() < 0.05
    assert rnd.normalise(torch.full((1, D), 1e6)).max() == CLIP  # clipped to [-5, 5]
    # running statistics over batches equal those of the concatenation
    rms = RunningMeanStd((D,))
    for part in np.array_split(obs, 7):
        rms.update(part)
    assert np.allclose(rms.mean, obs.mean(axis=0), atol=1e-6)
    assert np.allclose(rms.var, obs.var(axis=0), rtol=1e-3)
    # rewards are divided by the std of the non-episodic discounted returns, never reset
    r = np.ones((3, 2))
    filt, rrms = RewardForwardFilter(0.5), RunningMeanStd()
    out = normalise_intrinsic(r, filt, rrms)
    returns = np.array([1, 1, 1.5, 1.5, 1.75, 1.75])
    assert np.allclose(out, r / np.sqrt(returns.var() * 6 / (6 + 1e-4) + 1e-8), rtol=1e-3)
    assert filt.rewems is not None and np.allclose(filt.rewems, [1.75, 1.75])


def test_rnd_error_falls_on_familiar_observations_only() -> None:
    g = _gen(13)
    rnd = RND(D, _gen(14), embedding=8, hidden=32, lr=3e-3, epochs=4, minibatch=32)
    familiar = torch.zeros(B, D)
    familiar[:, :2] = 1.0
    rnd.init_normaliser(torch.randint(0, 2, (512, D), generator=g).float().numpy())
    novel = torch.ones(B, D)
    start = float(rnd.error(familiar).mean())
    for _ in range(50):
        rnd.update(familiar, torch.zeros(B), familiar)
    assert float(rnd.error(familiar).mean()) < 0.05 * start
    assert float(rnd.error(novel).mean()) > 10 * float(rnd.error(familiar).mean())
    rnd.update(familiar, torch.zeros(B), novel)
    assert np.allclose(RNDReward().reward(rnd, familiar, None, novel), rnd.before.numpy())


# ----------------------------------------------------------------------------- PPO's advantages
def test_gae_cuts_episodic_returns_at_resets_only() -> None:
    r = torch.tensor([[1.0], [1.0], [1.0]])
    v = torch.zeros(3, 1)
    done = torch.tensor([[0.0], [1.0], [0.0]])
    nv = torch.tensor([10.0])
    adv_e, _ = gae(r, v, nv, done, gamma=0.5, lam=1.0, episodic=True)
    adv_i, _ = gae(r, v, nv, done, gamma=0.5, lam=1.0, episodic=False)
    assert adv_e[:, 0].tolist() == pytest.approx([1.5, 1.0, 6.0])
    assert adv_i[:, 0].tolist() == pytest.approx([1 + 0.5 + 0.25 * 6, 1 + 0.5 * 6, 6.0])


# ----------------------------------------------------------------------------- the room
def test_the_room_follows_the_gymnasium_api_and_its_specification() -> None:
    env = tv.NoisyTVEnv("look", max_steps=30)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (tv.OBS_DIM,) and obs[tv.START[0]] == 1
    assert obs[tv.WIDTH + tv.START[1]] == 1 and not obs[tv.WIDTH + tv.HEIGHT:].any()
    for _ in range(5):  # right five times: onto the TV's middle cell, a noisy screen
        obs, *_ = env.step(tv.RIGHT)
    assert obs[tv.WIDTH - 1] == 1
    screens = [env.step(tv.RIGHT)[0][-tv.BITS:] for _ in range(4)]  # into the wall: stays
    assert len({s.tobytes() for s in screens}) == 4
    for _ in range(10):
        obs, *_ = env.step(tv.LEFT)
    assert obs[0] == 1 and obs[-tv.BITS:].tolist() == tv.pictures()[0, tv.START[1]].tolist()
    ls, _, ls2 = tv.learnable_transitions()
    # columns 0-2: every action (3 x 7 x 5); column 3: all but right (7 x 4); column 4: left (7)
    assert len(ls) == 105 + 28 + 7
    assert (ls2[:, :tv.PICTURE_COLUMNS].sum(axis=1) == 1).all()


def test_the_remote_changes_the_channel_and_nothing_else_does() -> None:
    vec = tv.NoisyTVVec(1, "remote", 100, np.random.default_rng(0))
    vec.reset()
    for _ in range(5):
        vec.step(np.array([tv.RIGHT]))
    assert not vec.screen.any()  # channel 0 until pressed
    vec.step(np.array([tv.PRESS]))
    first = vec.screen.copy()
    assert first.any()
    vec.step(np.array([tv.UP]))  # another TV cell: the same channel
    assert (vec.screen == first).all()
    vec.step(np.array([tv.PRESS]))
    assert not (vec.screen == first).all()


def test_the_vector_room_walks_as_the_single_one() -> None:
    rng = np.random.default_rng(1)
    acts = rng.integers(0, tv.N_ACTIONS, 60)
    for variant in tv.VARIANTS:
        env = tv.NoisyTVEnv(variant, max_steps=200)
        obs, _ = env.reset(seed=3)
        vec = tv.NoisyTVVec(1, variant, 200, np.random.default_rng(3))
        vobs = vec.reset()
        assert (obs == vobs[0]).all()
        for a in acts:
            obs = env.step(int(a))[0]
            vobs = vec.step(np.array([a]))[0]
            assert (obs == vobs[0]).all(), variant


# ----------------------------------------------------------------------------- the experiment
def _tiny() -> Any:
    from metahook.experiments.curiosity_noisy_tv import Config

    return Config(rewards=("prediction_error",), variants=("remote",), seeds=1, steps=256,
                  n_envs=4, rollout=16, model_history=512, model_minibatch=32)


def test_a_run_is_seeded() -> None:
    from metahook.experiments.curiosity_noisy_tv import live

    cfg = _tiny()
    a, b, c = (live(cfg, "remote", r, 0, s) for r, s in
               (("compression_progress", 0), ("compression_progress", 0),
                ("compression_progress", 1)))
    assert a["curves"] == b["curves"]
    assert a["curves"] != c["curves"]
