"""world-models-carracing: C's weight counts and actions, the real-game fitness as a Problem
(seeded, the same over processes as inline), the quick pipeline and its bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from conftest import cli_inproc
from metahook.envs import carracing
from metahook.evolution.network import NetSpec
from metahook.experiments import world_models_carracing as wmc
from metahook.harness.registry import get_experiment
from metahook.harness.runner import run_experiment
from metahook.neural import world_models as wm

needs_box2d = pytest.mark.skipif(not carracing.available(),
                                 reason="the box2d or pygame-ce wheel is missing")


@pytest.fixture(autouse=True)
def _one_thread() -> Any:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_controller_sizes_and_action_mapping() -> None:
    """867 weights on [z, h] (the paper's count), 99 on z alone (32 · 3 + 3), and a hidden
    layer of 40 units: 33 · 40 + 41 · 3."""
    assert wmc.n_weights("full", 32, 256, 40) == 867
    assert wmc.n_weights("v_only", 32, 256, 40) == 99
    assert wmc.n_weights("v_hidden", 32, 256, 40) == 1_443
    a = wmc.car_action(np.array([-0.5, -1.0, -0.3]))
    assert np.allclose(a, [-0.5, 0.0, 0.0])
    a = wmc.car_action(np.array([1.0, 1.0, 0.4]))
    assert np.allclose(a, [1.0, 1.0, 0.4])


def _payload() -> dict[str, Any]:
    vae = wm.ConvVAE(8, (4, 4, 8, 8))
    m = wm.MDNRNN(8, 3, 8, 5)
    return {"z_dim": 8, "channels": (4, 4, 8, 8), "vae": vae.state_dict(), "m": m.state_dict(),
            "m_hidden": 8, "v_hidden_units": 4, "hold_max": 5}


@pytest.mark.slow
@needs_box2d
def test_real_fitness_is_a_seeded_problem_and_processes_agree() -> None:
    """The same genomes on the same call give the same scores; two worker processes give what
    one process gives; every variant's agent acts in the real game."""
    payload = _payload()
    runs = {}
    for workers in (1, 2):
        eps = wmc.Episodes(workers, payload)
        try:
            for variant in ("full", "v_only", "v_hidden"):
                n = wmc.n_weights(variant, 8, 8, 4)
                genomes = np.random.default_rng(1).normal(0, 0.5, (2, n))
                prob = wmc.CarRacingProblem(eps, variant, rollouts=2, max_steps=8, seed=3)
                res = prob.evaluate(NetSpec(n_in=n, h=0), genomes)
                assert res.n_evaluated == 2 and res.fitness.shape == (2,)
                assert np.all(res.steps == 16) and prob.real_steps == 32
                runs[workers, variant] = res.fitness
        finally:
            eps.close()
    for variant in ("full", "v_only", "v_hidden"):
        assert np.array_equal(runs[1, variant], runs[2, variant])
    eps = wmc.Episodes(1, payload)
    again = wmc.CarRacingProblem(eps, "full", rollouts=2, max_steps=8, seed=3)
    g = np.random.default_rng(1).normal(0, 0.5, (2, wmc.n_weights("full", 8, 8, 4)))
    assert np.array_equal(again.evaluate(NetSpec(n_in=g.shape[1], h=0), g).fitness,
                          runs[1, "full"])
    assert again.tracks() != wmc.CarRacingProblem(eps, "full", 2, 8, seed=3).tracks()


@pytest.mark.slow
@needs_box2d
def test_quick_pipeline_smoke(tmp_path: Path) -> None:
    """Real random rollouts -> V -> M -> C evolved in the real game (a smoke run: one
    generation of four controllers on 25-step episodes), V only beside it, and the random
    policy; V's and M's held-out losses must fall."""
    res = run_experiment("world-models-carracing", out=tmp_path, scale="quick", seed=0)
    assert res["status"] == "ok"
    m = res["metrics"]
    ok, why = get_experiment("world-models-carracing").smoke(m)  # type: ignore[misc]
    assert ok, why
    assert m["v_loss_last"] < m["v_loss_first"]
    assert m["m_heldout_nll_after"] < m["m_heldout_nll_before"]
    assert m["real_frames_seen"] == 4 * 61
    assert m["c_training_episodes"] == 2 * 4 and m["real_episodes_total"] == 4 + 8 + 4 + 2
    for v in ("full", "v_only"):
        assert np.isfinite(m[f"{v}_mean"]) and m[f"{v}_sd"] >= 0
    assert m["full_weights"] == (32 + 16 + 1) * 3 and m["v_only_weights"] == 99
    for name in ("score_table", "learning_curves", "frames"):
        assert (tmp_path / "plots" / f"{name}.png").stat().st_size > 0


@pytest.mark.parametrize("setting, words", [("env=doom", "unknown environment"),
                                            ("variants=full,bogus", "variants"),
                                            ("popsize=2", "popsize"),
                                            ("generations=0", "generations")])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          setting: str, words: str) -> None:
    code, _, err = cli_inproc(capsys, "run", "world-models-carracing", "--scale", "quick",
                              "--set", setting, "--out", str(tmp_path / "x"))
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


@needs_box2d
def test_rollouts_resume_from_their_cache(tmp_path: Path) -> None:
    """Each random episode is written to the cache as it finishes; a run that stopped after one
    of three episodes plays only the other two and returns the same three as an uncached run."""
    cfg = wmc.Config(rollouts=3, rollout_steps=15, workers=1)
    fresh = wmc.collect(cfg, seed=5)
    cache = tmp_path / "rollouts"
    wmc.collect(wmc.Config(rollouts=1, rollout_steps=15, workers=1), seed=5, cache=cache)
    assert sorted(p.name for p in cache.iterdir()) == ["episode-00000.npz"]
    before = (cache / "episode-00000.npz").stat().st_mtime_ns
    resumed = wmc.collect(cfg, seed=5, cache=cache)
    assert (cache / "episode-00000.npz").stat().st_mtime_ns == before  # read back, not replayed
    assert len(list(cache.iterdir())) == 3
    for (f1, a1, r1), (f2, a2, r2) in zip(fresh, resumed, strict=True):
        assert np.array_equal(f1, f2) and np.array_equal(a1, a2) and r1 == r2
