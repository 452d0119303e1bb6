"""Curious Dr. MISFA and CCSA: the clustering's compiled loop against its Python source, the
estimation error's defining property, the gripper world's rules, the streams' difficulty, and
both experiments' quick scales through the harness."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from metahook.curiosity.misfa import ROC, CuriousDrMISFA, MISFAParams, roc_update
from metahook.envs import push_arm as pa
from metahook.envs.video_streams import StreamSpec, VideoStream, omega
from metahook.harness.registry import get_experiment
from metahook.harness.runner import run_experiment
from metahook.neural.incsfa import IncSFA, IncSFAParams


def test_roc_compiled_is_its_python_source() -> None:
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.standard_normal((500, 2)), axis=0) * 0.2
    out = []
    for fn in (roc_update, roc_update.py_func):
        c, n, m = np.zeros((5, 2)), np.zeros(5), np.zeros(1, dtype=np.int64)
        fn(y, c, n, m, 0.3, 0.05)
        out.append((c.copy(), n.copy(), int(m[0])))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12)
    np.testing.assert_array_equal(out[0][1], out[1][1])
    assert out[0][2] == out[1][2] == 5


def test_estimation_error_is_low_for_a_slow_signal_and_high_for_noise() -> None:
    t = np.arange(2000)
    slow = np.sin(2 * np.pi * t / 200)[:, None]
    noise = np.random.default_rng(1).standard_normal((2000, 1))
    for y, lo, hi in ((slow, 0.0, 0.3), (noise, 0.9, 2.0)):
        roc = ROC(1)
        roc.update(y)
        assert lo <= roc.error(y) <= hi
    roc = ROC(1, n_max=8)
    roc.update(10 * slow)  # a wide signal: centres spawn, then the nearest merge
    assert len(roc.centres) == 8 and roc.error(10 * slow) < 0.3


def test_streams_are_graded_and_noise_is_hardest() -> None:
    om = [omega(StreamSpec(a), np.random.default_rng(2), 3000) for a in (1.0, 0.3, 0.0)]
    assert om == sorted(om) and om[0] < 0.05 and om[-1] > 0.4
    s = VideoStream(StreamSpec(1.0), np.random.default_rng(3))
    a, b = s.chunk(30), s.chunk(30)
    assert a.shape == b.shape == (30, 400) and s.t == 60


def test_gripper_world_rules() -> None:
    s = pa.initial(pa.CX - 1, 0)
    assert pa.step(s, pa.RIGHT, 0) == 1 and s[pa.CUP] == pa.TOPPLED and s[pa.HX] == pa.CX - 1
    s = pa.initial(pa.CX + 1, 1)
    assert pa.step(s, pa.LEFT, 0) == 0 and s[pa.CUP] == pa.UPRIGHT  # from the right: blocked
    s = pa.initial(pa.CX, 2)
    assert pa.step(s, pa.CLOSE, 2) == 2 and s[pa.CUP] == pa.HELD and s[pa.HY] == pa.LIFT
    assert pa.step(s, pa.OPEN, 2) == 0 and s[pa.CUP] == pa.HELD  # not over the mat
    for _ in range(pa.CX - pa.MX):
        pa.step(s, pa.LEFT, 2)
    for _ in range(5):
        pa.step(s, pa.DOWN, 0)
    assert s[pa.HY] == 2  # a held cup keeps the gripper at row 2 or above
    assert pa.step(s, pa.OPEN, 2) == 3 and s[pa.CUP] == pa.PLACED


@pytest.mark.parametrize("cup", [pa.UPRIGHT, pa.TOPPLED, pa.HELD, pa.PLACED])
def test_render_compiled_is_its_python_source(cup: int) -> None:
    s = pa.initial(3, 4, cup, grip=1)
    s[pa.SIDE_] = 1
    a, b = np.zeros((20, 20)), np.zeros((20, 20))
    pa.render(s, a)
    pa.render.py_func(s, b)
    np.testing.assert_array_equal(a, b)
    assert a.max() == 1.0 and (a == 0.5).sum() == 2


def test_misfa_freezes_and_gates_a_learned_stream() -> None:
    """One easy stream and noise: the easy one is encoded, its module never changes again, its
    chunks are gated afterwards, and the noise stream is not encoded."""
    rng = np.random.default_rng(4)
    streams = [VideoStream(StreamSpec(1.0), np.random.default_rng(5)),
               VideoStream(StreamSpec(0.0), np.random.default_rng(6))]
    p = IncSFAParams(k=5, j=1, r=2000.0, eta_m0=0.001, eta_m_min=0.001, t_m=1e12)
    agent = CuriousDrMISFA(2, lambda: IncSFA(400, p, rng), 1, MISFAParams(delta=0.7), rng)
    gated = 0
    for _ in range(400):
        info = agent.observe(streams[agent.act()].chunk(100))
        gated += info["gated"] >= 0
    assert [ab.stream for ab in agent.abstractions] == [0]
    assert agent.unchanged() and gated > 0


def test_misfa_streams_quick_scale(tmp_path: Path) -> None:
    res = run_experiment("misfa-streams", out=tmp_path, scale="quick", seed=0)
    m = res["metrics"]
    ok, why = get_experiment("misfa-streams").smoke(m)  # type: ignore[misc]
    assert ok, why
    assert m["noise_encoded_seeds"] == 0
    assert m["abstractions_unchanged_seeds"] == m["seeds"]
    assert m["latent_corr_min"] > 0.7  # each abstraction tracks its stream's slow latent
    assert m["omega_by_rank"] == sorted(m["omega_by_rank"])
    for solved, capped in zip(m["frozen_chunk_by_rank"], m["frozen_chunk_capped_by_rank"],
                              strict=True):  # unencoded seeds count at the cap: never lower
        assert solved is None or capped >= solved


def test_ccsa_arm_quick_scale(tmp_path: Path) -> None:
    res = run_experiment("ccsa-arm", out=tmp_path, scale="quick", seed=0)
    m = res["metrics"]
    ok, why = get_experiment("ccsa-arm").smoke(m)  # type: ignore[misc]
    assert ok, why
    assert m["distinct_skills"] >= 2
    assert set(m["skills_acquired"]) <= {"topple", "grasp", "place"}


def test_step_compiled_is_its_python_source() -> None:
    """Random walks from random starts: the compiled world step equals its Python source."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        cup = int(rng.choice([pa.UPRIGHT, pa.TOPPLED, pa.PLACED]))
        hx, hy = pa.free_cells(cup, 0)[int(rng.integers(len(pa.free_cells(cup, 0))))]
        a, b = pa.initial(hx, hy, cup), pa.initial(hx, hy, cup)
        for _ in range(40):
            act, low = int(rng.integers(pa.N_ACTIONS)), int(rng.integers(0, 3))
            assert pa.step(a, act, low) == pa.step.py_func(b, act, low)
            assert np.array_equal(a, b)


@pytest.mark.parametrize("name, bad", [("misfa-streams", "seeds=0"),
                                       ("ccsa-arm", "skill_gamma=1.0")])
def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, name: str, bad: str) -> None:
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "metahook", "run", name, "--scale", "quick",
                          "--out", str(out), "--set", bad], capture_output=True, text=True)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not out.exists()
