"""World Models: V, M and C have the paper's sizes; M's mixture density and temperature; the dream
as a Problem; the real TakeCover game; the quick pipeline and its bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from conftest import cli_inproc
from metahook.envs import carracing
from metahook.envs import vizdoom_takecover as doom
from metahook.evolution.dream import DreamProblem
from metahook.evolution.network import NetSpec
from metahook.experiments import world_models_takecover as wmt
from metahook.harness.registry import get_experiment
from metahook.harness.runner import run_experiment
from metahook.neural import world_models as wm
from resume_helpers import check_killed_and_resumed

needs_vizdoom = pytest.mark.skipif(not doom.available(),
                                   reason="the vizdoom wheel is not installed here")


@pytest.fixture(autouse=True)
def _one_thread() -> Any:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _n(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_v_m_and_c_have_the_papers_weight_counts() -> None:
    """4,348,547 / 4,446,915 (V), 422,368 / 1,678,785 (M), 867 / 1,088 (C): CarRacing /
    TakeCover. torch's LSTM keeps two bias vectors where the paper's had one (4·hidden more)."""
    assert _n(wm.ConvVAE(32)) == 4_348_547
    assert _n(wm.ConvVAE(64)) == 4_446_915
    assert _n(wm.MDNRNN(32, 3, 256)) - 4 * 256 == 422_368
    assert _n(wm.MDNRNN(64, 2, 512, predict_done=True)) - 4 * 512 == 1_678_785
    assert wm.controller_size(32, 256, 3, with_cell=False, bias=True) == 867
    assert wm.controller_size(64, 512, 1, with_cell=True, bias=False) == 1_088
    vae = wm.ConvVAE(16, (4, 4, 8, 8))
    recon, mu, logvar = vae(torch.rand(3, 3, 64, 64))
    assert recon.shape == (3, 3, 64, 64) and mu.shape == logvar.shape == (3, 16)


def test_mdn_nll_is_the_mixture_log_density() -> None:
    """Differential: our per-dimension NLL against torch.distributions' mixture."""
    g = torch.Generator().manual_seed(0)
    logpi = torch.log_softmax(torch.randn(4, 6, 5, generator=g), -1)
    mu, logsig = torch.randn(4, 6, 5, generator=g), 0.3 * torch.randn(4, 6, 5, generator=g)
    x = torch.randn(4, 6, generator=g)
    mix = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=logpi),
        torch.distributions.Normal(mu, logsig.exp()))
    assert torch.allclose(wm.mdn_nll(logpi, mu, logsig, x), -mix.log_prob(x), atol=1e-5)


def test_temperature_sharpens_or_widens_the_samples_and_must_be_positive() -> None:
    g = torch.Generator().manual_seed(1)
    n = 4000
    logpi = torch.log(torch.tensor([0.7, 0.3])).expand(n, 1, 2)
    mu = torch.tensor([0.0, 5.0]).expand(n, 1, 2)
    logsig = torch.zeros(n, 1, 2)
    cold = wm.mdn_sample(logpi, mu, logsig, 0.01, g)[:, 0]
    warm = wm.mdn_sample(logpi, mu, logsig, 1.0, g)[:, 0]
    hot = wm.mdn_sample(logpi, mu, logsig, 1.3, g)[:, 0]
    assert cold.abs().max() < 0.5  # one mode, almost no noise
    assert 0.2 < float((warm > 2.5).float().mean()) < 0.4  # the learned weights
    assert float(hot.std()) > float(warm.std()) > float(cold.std())
    for tau in (0.0, -1.0):
        with pytest.raises(ValueError, match="tau"):
            wm.mdn_sample(logpi, mu, logsig, tau, g)


def _toy_episodes(rng: np.random.Generator, n: int = 24, T: int = 40) -> list[Any]:
    """z rotates by an angle set by the action: learnable from (z, a)."""
    eps = []
    for _ in range(n):
        ang = rng.uniform(0, 2 * np.pi)
        a = rng.integers(0, 3, T)
        zs = [ang]
        for t in range(T):
            zs.append(zs[-1] + 0.3 * (a[t] - 1) + 0.1)
        z = np.stack([np.cos(zs), np.sin(zs)], 1).astype(np.float32)
        done = np.zeros(T, np.float32)
        done[-1] = 1
        eps.append((z, np.full_like(z, -8.0), wm.BUTTONS[torch.from_numpy(a)].numpy(), done))
    return eps


def test_m_learns_to_predict_the_next_latent() -> None:
    seq = wm.make_sequences(_toy_episodes(np.random.default_rng(0)), 20)
    assert seq.mu.shape == (48, 21, 2) and seq.mask.sum() == 24 * 40
    m = wm.seeded_mdnrnn(2, 2, 16, predict_done=True, seed=0)
    gen = torch.Generator().manual_seed(0)
    curve = wm.train_m(m, seq, epochs=15, batch=8, lr=1e-2, gen=gen)
    assert curve[-1][0] < curve[0][0] - 1.0  # z NLL per dimension falls by > 1 nat
    assert curve[-1][1] < curve[0][1]


def _small_dream() -> tuple[wm.MDNRNN, np.ndarray, np.ndarray, NetSpec]:
    """A small seeded M, five start latents and three random controllers for it."""
    m = wm.seeded_mdnrnn(4, 2, 8, predict_done=True, seed=0)
    z0 = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    n_w = wm.controller_size(4, 8, 1, with_cell=True, bias=False)
    genomes = np.random.default_rng(1).normal(size=(3, n_w))
    return m, z0, genomes, NetSpec(n_in=n_w, h=0)


def test_the_dream_is_a_problem_with_seeded_scores() -> None:
    m, z0, genomes, spec = _small_dream()
    with torch.no_grad():
        for bias, steps in ((30.0, 1.0), (-30.0, 50.0)):
            m.head.bias[-1] = bias  # done certain / impossible
            res = DreamProblem(m, z0, 1.0, 4, 50).evaluate(spec, genomes)
            assert res.n_evaluated == 3 and np.all(res.fitness == steps)
        m.head.bias[-1] = -3.0
    a = DreamProblem(m, z0, 1.15, 4, 50, seed=3, done="sample").evaluate(spec, genomes)
    b = DreamProblem(m, z0, 1.15, 4, 50, seed=3, done="sample").evaluate(spec, genomes)
    assert np.array_equal(a.fitness, b.fitness) and np.all((a.fitness >= 1) & (a.fitness <= 50))
    assert a.fitness.mean() < 40  # a done probability near 1/20 ends most dreams of 50 steps
    with pytest.raises(ValueError, match="tau"):
        DreamProblem(m, z0, 0.0, 4, 50)
    with pytest.raises(ValueError, match="done must be one of threshold, sample"):
        DreamProblem(m, z0, 1.0, 4, 50, done="coin")


def test_the_thresholded_dream_ends_when_done_is_more_likely_than_not() -> None:
    """The authors' dream ends when M's done logit is positive: no draw, so a controller that
    keeps M's done probability below 1/2 lives to the step limit, one above it dies at once."""
    m, z0, genomes, spec = _small_dream()
    with torch.no_grad():
        m.head.weight[-1] = 0.0
        for bias, steps in ((-0.05, 50.0), (0.05, 1.0), (-3.0, 50.0)):
            m.head.bias[-1] = bias
            res = DreamProblem(m, z0, 1.15, 4, 50, seed=3).evaluate(spec, genomes)
            assert np.all(res.fitness == steps), (bias, res.fitness)


def test_fixed_policies_act_as_named_and_held_actions_last_1_to_hold_max_steps() -> None:
    rng = np.random.default_rng(0)
    for name, a in (("left", 0), ("stay", 1), ("right", 2)):
        assert np.all(wmt._FixedAgent(name, 3, rng, 10).act([0, 2]) == a)
    assert set(wmt._FixedAgent("random", 2, rng, 10).act(list(range(300)))) == {0, 1, 2}
    held = wmt._FixedAgent("held", 2, rng, 4)
    acts, left = [], []
    for _ in range(400):
        acts.append(held.act([0, 1]))
        left.append(held.hold.copy())  # steps the current action still has to run
    a, h = np.array(acts), np.array(left)
    for j in range(2):
        starts = np.flatnonzero(np.r_[True, h[:-1, j] == 0])  # a draw happens after a run ends
        lengths = np.diff(np.r_[starts, len(h)])[:-1]
        assert set(lengths) == {1, 2, 3, 4}  # held 1..hold_max steps, uniformly drawn
        for s0, n in zip(starts, lengths, strict=False):
            assert len(set(a[s0:s0 + n, j])) == 1 and h[s0, j] == n - 1
        assert set(a[:, j]) == {0, 1, 2}
    held.hold[0] = 3
    held.reset(0)
    assert held.hold[0] == 0  # a new episode draws a new action at once


def test_a_fixed_policy_dreams_like_a_controller_that_acts_the_same() -> None:
    m = wm.seeded_mdnrnn(4, 2, 8, predict_done=True, seed=0)
    with torch.no_grad():
        m.head.bias[-1] = -0.05
        m.head.weight[-1] *= 20
    z0 = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    dp = DreamProblem(m, z0, 1.15, 6, 200)
    zeros = np.zeros((1, wm.controller_size(4, 8, 1, with_cell=True, bias=False)), np.float32)
    by_c, _ = dp.dream(zeros, torch.Generator().manual_seed(3))  # tanh(0) = 0: stay
    stay = wmt._FixedAgent("stay", 6, np.random.default_rng(0), 10)
    by_policy = dp.dream_policy(stay.act, 6, torch.Generator().manual_seed(3))
    assert np.array_equal(by_c[0], by_policy) and 1 < by_policy.mean() < 200


def test_death_steps_weigh_done_pos_weight_times_in_ms_loss() -> None:
    seq = wm.make_sequences(_toy_episodes(np.random.default_rng(0)), 20)
    m = wm.seeded_mdnrnn(2, 2, 16, predict_done=True, seed=0)
    idx = np.arange(len(seq.mask))
    with torch.no_grad():
        _, _, bce1 = wm.m_loss(m, seq, idx, None, sample_z=False)
        _, _, bce10 = wm.m_loss(m, seq, idx, None, sample_z=False, done_pos_weight=10.0)
        _, _, _, dl, _ = m(torch.from_numpy(seq.mu[:, :-1]), torch.from_numpy(seq.action))
    d, mask = torch.from_numpy(seq.done), torch.from_numpy(seq.mask)
    pos = (-torch.nn.functional.logsigmoid(dl) * d * mask).sum() / mask.sum()
    assert d.sum() > 0 and float(pos) > 0
    assert float(bce10) == pytest.approx(float(bce1) + 9 * float(pos), rel=1e-5)


@needs_vizdoom
def test_takecover_frames_actions_and_seeds() -> None:
    def episode(seed: int) -> tuple[int, np.ndarray]:
        g = doom.TakeCover(max_steps=300, seed=seed)
        f = g.reset()
        assert f.shape == (64, 64, 3) and f.dtype == np.uint8
        rng = np.random.default_rng(0)
        t, end = 0, False
        while not end:
            f, r, term, trunc = g.step(int(rng.integers(3)))
            t += 1
            end = term or trunc
            assert r == 1.0
        with pytest.raises(ValueError, match="action"):
            g.step(3)
        g.close()
        return t, f

    (t1, f1), (t2, f2) = episode(5), episode(5)
    assert t1 == t2 <= 300 and np.array_equal(f1, f2)


@pytest.mark.slow
@needs_vizdoom
def test_quick_pipeline(tmp_path: Path) -> None:
    """Real rollouts -> V -> M -> C in the dream -> C and the random policy in the real game."""
    res = run_experiment("world-models-takecover", out=tmp_path, scale="quick", seed=0)
    assert res["status"] == "ok"
    m = res["metrics"]
    ok, why = get_experiment("world-models-takecover").smoke(m)  # type: ignore[misc]
    assert ok, why
    assert m["m_heldout_nll_after"] < m["m_heldout_nll_before"]
    assert m["m_heldout_done_bce_after"] < m["m_heldout_done_bce_before"]
    assert m["v_loss_last"] < m["v_loss_first"]
    assert 100 < m["random_mean"] < 400  # the paper's random policy: 210 +- 108
    assert 1 <= m["actual_mean_tau_1.15"] <= 1000 and m["virtual_mean_tau_1.15"] >= 1
    for p in wmt.POLICIES:
        assert 1 <= m[f"policy_{p}_actual_mean"] <= 1000
        assert 1 <= m[f"policy_{p}_virtual_mean_tau_1.15"] <= 1000
    assert m["policy_random_actual_mean"] == m["random_mean"]
    assert m["iterations"] == 2 and 1 <= m["iter_1_real_mean"] <= 1000  # one round of C's data
    for name in ("tau_table", "learning_curves", "frames", "policies"):
        assert (tmp_path / "plots" / f"{name}.png").stat().st_size > 0


@pytest.mark.slow
@needs_vizdoom
def test_the_iterative_procedure_resumes_to_the_same_result(tmp_path: Path) -> None:
    """Killed right after its first round of the paper's iterative procedure (C's real rollouts
    added to M's data, M trained on), the run resumes and ends as an uninterrupted one."""
    check_killed_and_resumed("world-models-takecover", ["iterations=3", "plots=false"],
                             stop_at=0.0, tmp_path=tmp_path, seed=0)


@pytest.mark.parametrize("setting, words", [("env=doom2", "unknown environment"),
                                            ("taus=0.0,1.15", "tau"),
                                            ("taus=-1", "tau"),
                                            ("dream_done=coin", "threshold, sample"),
                                            ("done_pos_weight=0", "done_pos_weight"),
                                            ("iter_tau=0", "iter_tau"),
                                            ("iterations=0", "iterations")])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          setting: str, words: str) -> None:
    code, _, err = cli_inproc(capsys, "run", "world-models-takecover", "--scale", "quick",
                              "--set", setting, "--out", str(tmp_path / "x"))
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


@pytest.mark.skipif(not carracing.available(), reason="the box2d or pygame-ce wheel is missing")
def test_carracing_runs_headless_with_64px_frames() -> None:
    env = carracing.CarRacing(max_steps=30)
    f = env.reset(seed=1)
    assert f.shape == (64, 64, 3) and f.dtype == np.uint8
    total, t, end = 0.0, 0, False
    while not end:
        f, r, term, trunc = env.step(np.array([0.0, 0.5, 0.0]))
        total, t, end = total + r, t + 1, term or trunc
    assert t == 30 and f.shape == (64, 64, 3) and np.isfinite(total)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 0, 0]))
    env.close()


def test_1990_pain_flows_through_the_frozen_model_into_the_controller() -> None:
    m = wm.RecurrentModel(4, 8)
    c = wm.Controller1990(4, 4)
    for p in m.parameters():
        p.requires_grad_(False)
    loss = wm.pain_through_model(c, m, torch.randn(5, 4), horizon=6)
    loss.backward()
    assert 0 < float(loss.detach()) < 6
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in c.parameters())
    assert all(p.grad is None for p in m.parameters())


@pytest.mark.slow
def test_1990_quick_controller_learns_through_the_model(tmp_path: Path) -> None:
    res = run_experiment("world-model-1990", out=tmp_path, scale="quick", seed=0)
    m = res["metrics"]
    ok, why = get_experiment("world-model-1990").smoke(m)  # type: ignore[misc]
    assert ok, why
    assert m["model_final_test_mean"] > m["model_first_test_mean"]
    assert m["cmaes_mean_steps_capped"] <= m["budget"]
    assert (tmp_path / "plots" / "learning_curves.png").stat().st_size > 0


def test_1990_bad_input_is_one_line_and_exit_2(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli_inproc(capsys, "run", "world-model-1990", "--scale", "quick", "--set",
                              "methods=cmaes", "--out", str(tmp_path / "x"))
    assert code == 2 and "methods" in err and len(err.strip().splitlines()) == 1
