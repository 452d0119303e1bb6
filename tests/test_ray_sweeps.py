"""Sweeps (:mod:`metahook.core.sweep`) and SSA lives (:mod:`metahook.rsi.lives`) on the Ray
backend give the local backend's results: one Ray task per job of ``run_jobs`` (a life) and per
record of ``collect``, also when a sweep is stopped
half-way and resumed (from a checkpoint of either backend), and when a worker process dies.

One local Ray (two CPUs, no dashboard) serves the whole module.
"""

from __future__ import annotations

import copy
import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ray_helpers import local_ray, untimed

ray = pytest.importorskip("ray")

from metahook.cli import main  # noqa: E402
from metahook.core.sweep import collect, run_jobs, source  # noqa: E402
from metahook.harness.runner import run_experiment  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def ray_cluster() -> Iterator[None]:
    yield from local_ray(__name__)  # the toy jobs below are shipped by value


_untimed = untimed


class Ctx:
    """A run context kept in memory: seed, shared stream, log lines, checkpoints; with
    ``stop_after`` it raises once that many jobs were checkpointed as done."""

    def __init__(self, saved: dict[str, Any] | None = None, stop_after: int | None = None):
        self.seed, self.scale = 3, "quick"
        self.rng = np.random.default_rng(0)
        self.saved = copy.deepcopy(saved)
        self.stop_after = stop_after
        self.lines: list[str] = []

    def restore(self) -> dict[str, Any] | None:
        return copy.deepcopy(self.saved)

    def checkpoint(self, make_state: Callable[[], dict[str, Any]], force: bool = False) -> None:
        self.saved = copy.deepcopy(make_state())
        if self.stop_after is not None and len(self.saved["done"]) >= self.stop_after:
            raise KeyboardInterrupt("stopped")

    def log(self, step: int | float, **values: Any) -> None:
        self.lines.append(json.dumps({"step": step, **values}, sort_keys=True))

    def progress(self, done: float, total: float, description: str = "") -> None:
        pass


class Walk:
    """A toy job: a random walk of ``n`` chunks seeded by its index and the run's seed; with
    ``kill_marker`` its first chunk kills the worker process unless the marker exists."""

    def __init__(self, index: int, seed: int, kill_marker: str | None = None) -> None:
        self.rng = np.random.default_rng([seed, index])
        self.x, self.chunks, self.kill_marker = 0.0, 0, kill_marker

    def step(self, n: int) -> bool:
        if self.kill_marker and not os.path.exists(self.kill_marker):
            Path(self.kill_marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        if self.chunks >= n:
            return False
        self.x += float(self.rng.normal(size=100).sum())
        self.chunks += 1
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"x": self.x, "chunks": self.chunks,
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, st: dict[str, Any]) -> None:
        self.x, self.chunks = float(st["x"]), int(st["chunks"])
        self.rng.bit_generator.state = st["rng"]


KEYS = [f"walk/{i}" for i in range(5)]


def _walks(ctx: Ctx, backend: str, kill: str | None = None, draw_shared: bool = False,
           stop_mid_job: int | None = None) -> dict[str, Any]:
    def make(j: int, shared: dict[str, Any]) -> Walk:
        return Walk(j, ctx.seed + shared["offset"], kill if j == 3 else None)

    def step(j: int, w: Walk) -> bool:
        if draw_shared:
            ctx.rng.random()
        if stop_mid_job is not None and j == stop_mid_job and w.chunks == 2:
            ctx.saved = {"index": j, "done": done_so_far(ctx), "job": w.state_dict(),
                         "shared": {"offset": 10}}
            raise KeyboardInterrupt("stopped inside a job")
        ctx.log(j * 100 + w.chunks, job=KEYS[j], chunk=w.chunks)
        return w.step(4 + j)

    def summarise(j: int, w: Walk) -> dict[str, Any]:
        ctx.log(j, job=KEYS[j], x=w.x)
        return {"x": w.x, "chunks": w.chunks}

    return run_jobs(ctx, KEYS, make, step, summarise, shared=lambda: {"offset": 10},
                    backend=backend)


def done_so_far(ctx: Ctx) -> dict[str, Any]:
    return {} if ctx.saved is None else dict(ctx.saved["done"])


@pytest.fixture(scope="module")
def local_walks() -> tuple[dict[str, Any], list[str]]:
    ctx = Ctx()
    return _walks(ctx, "process"), ctx.lines


def test_run_jobs_on_ray_equals_the_process_backend_line_for_line(
        local_walks: tuple[dict[str, Any], list[str]]) -> None:
    ctx = Ctx()
    on_ray = _walks(ctx, "ray")
    assert list(on_ray) == KEYS and on_ray == local_walks[0]
    assert ctx.lines == local_walks[1]  # the jobs' log lines, replayed in the order of keys
    assert [r["chunks"] for r in on_ray.values()] == [4, 5, 6, 7, 8]


def test_run_jobs_stopped_midway_resumes_to_the_same_result(
        tmp_path: Path, local_walks: tuple[dict[str, Any], list[str]]) -> None:
    first = Ctx(stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        _walks(first, "ray")
    assert first.saved is not None and 2 <= len(first.saved["done"]) < len(KEYS)
    kept = len(first.lines)
    second = Ctx(first.saved)  # resumed on Ray, a worker dying on the way
    second.lines = list(first.lines)
    marker = tmp_path / "killed"
    resumed = _walks(second, "ray", kill=str(marker))
    assert marker.is_file() and int(marker.read_text()) != os.getpid()
    assert resumed == local_walks[0]
    assert len(second.lines) > kept


def test_a_job_left_half_done_by_a_local_run_continues_on_ray(
        local_walks: tuple[dict[str, Any], list[str]]) -> None:
    first = Ctx()
    with pytest.raises(KeyboardInterrupt):
        _walks(first, "process", stop_mid_job=2)
    assert first.saved is not None and first.saved["job"]["chunks"] == 2
    assert _walks(Ctx(first.saved), "ray") == local_walks[0]


def test_a_job_drawing_from_the_shared_stream_is_refused_on_ray() -> None:
    with pytest.raises(RuntimeError, match=r"shared stream ctx\.rng"):
        _walks(Ctx(), "ray", draw_shared=True)


def test_collect_with_a_ray_source_equals_the_local_source() -> None:
    def one(key: str, ctx: Ctx) -> dict[str, Any]:
        w = Walk(KEYS.index(key), ctx.seed)
        while w.step(3):
            pass
        ctx.log(KEYS.index(key), job=key, x=w.x)
        return {"x": w.x}

    results = []
    for backend in ("process", "ray"):
        ctx = Ctx()
        results.append((collect(ctx, KEYS, source(ctx, lambda k, c=ctx: one(k, c), backend)),
                        sorted(ctx.lines)))
    assert results[0] == results[1] and list(results[1][0]) == KEYS


def test_curiosity_1991_on_ray_gives_the_same_result_json(tmp_path: Path) -> None:
    tiny = ["seeds=2", "steps=1000", "log_every=250", "plots=false"]
    docs = {}
    for backend in ("process", "ray"):
        docs[backend] = run_experiment("curiosity-1991", out=tmp_path / backend,
                                       overrides=[*tiny, f"backend={backend}"])
        assert docs[backend]["status"] == "ok", docs[backend].get("error")
    a, b = (json.loads((tmp_path / k / "result.json").read_text()) for k in ("process", "ray"))
    assert _untimed(a) == _untimed(b)
    assert a["metrics"]["error_initial"] > 0
    assert (tmp_path / "process" / "metrics.jsonl").read_bytes() == \
        (tmp_path / "ray" / "metrics.jsonl").read_bytes()


def test_ssa_lives_on_ray_give_the_same_result_json(tmp_path: Path) -> None:
    """Two short SSA lives of is-function-approx (``metahook.rsi.lives``), one Ray task each."""
    tiny = ["runs=2", "time_steps=2000000", "baseline_time_steps=0", "chunk_steps=1000000",
            "head_trials=5", "tail_trials=10"]
    for backend in ("process", "ray"):
        doc = run_experiment("is-function-approx", out=tmp_path / backend,
                             overrides=[*tiny, f"backend={backend}"])
        assert doc["status"] == "ok", doc.get("error")
    a, b = (json.loads((tmp_path / k / "result.json").read_text()) for k in ("process", "ray"))
    assert _untimed(a) == _untimed(b)
    assert a["metrics"]["time_steps"] == [2_000_000, 2_000_001]  # both lives ran their budget
    assert (tmp_path / "process" / "metrics.jsonl").read_bytes() == \
        (tmp_path / "ray" / "metrics.jsonl").read_bytes()


def test_a_bad_backend_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    for name in ("curiosity-1991", "is-function-approx", "ssa-doors-keys",
                 "world-models-carracing"):
        assert main(["run", name, "--set", "backend=dask", "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "unknown backend 'dask'" in err, err
        assert not out.exists()


def test_carracing_episodes_and_rollouts_on_ray_equal_the_local_ones() -> None:
    """world-models-carracing's real episodes (C's fitness, the random policy) and its random
    rollouts as Ray tasks: the same rewards, steps, frames and actions as played inline."""
    from metahook.envs import carracing
    from metahook.evolution.network import NetSpec
    from metahook.experiments import world_models_carracing as wmc
    from metahook.neural import world_models as wm

    if not carracing.available():
        pytest.skip("the box2d or pygame-ce wheel is missing")
    payload = {"z_dim": 8, "channels": (4, 4, 8, 8), "m_hidden": 8, "v_hidden_units": 4,
               "vae": wm.ConvVAE(8, (4, 4, 8, 8)).state_dict(),
               "m": wm.MDNRNN(8, 3, 8, 5).state_dict(), "hold_max": 5}
    fitness = {}
    for backend in ("process", "ray"):
        eps = wmc.Episodes(1 if backend == "process" else 2, payload, backend)
        try:
            n = wmc.n_weights("full", 8, 8, 4)
            genomes = np.random.default_rng(1).normal(0, 0.5, (2, n))
            prob = wmc.CarRacingProblem(eps, "full", rollouts=2, max_steps=8, seed=3)
            res = prob.evaluate(NetSpec(n_in=n, h=0), genomes)
            assert np.all(res.steps == 16)
            fitness[backend, "full"] = res.fitness
            fitness[backend, "random"] = np.array(eps.map([("random", None, 7, 8, 1)]))
        finally:
            eps.close()
    for key in ("full", "random"):
        assert np.array_equal(fitness["process", key], fitness["ray", key]), key
    assert ray.is_initialized()  # the module's cluster was used and left running
    cfg = wmc.Config(rollouts=2, rollout_steps=10, workers=1)
    local = wmc.collect(cfg, seed=5)
    on_ray = wmc.collect(wmc.Config(rollouts=2, rollout_steps=10, workers=2, backend="ray"),
                         seed=5)
    for (f1, a1, r1), (f2, a2, r2) in zip(local, on_ray, strict=True):
        assert np.array_equal(f1, f2) and np.array_equal(a1, a2) and r1 == r2
