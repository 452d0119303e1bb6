"""The Ray backend gives the process backend's results: pole studies (one Ray task per run) and
``metahook reproduce`` (one Ray task per experiment), also when a worker process is killed
mid-study, and when a study or a run resumes from its checkpoint.

One local Ray (two CPUs, no dashboard) serves the whole module; the code under test finds it
initialised and uses it.
"""

from __future__ import annotations

import copy
import dataclasses
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
from metahook.core.ray_pool import check_backend, ray_address  # noqa: E402
from metahook.evolution.pole_fitness import PoleProblem  # noqa: E402
from metahook.evolution.study import RunSpec, run_all  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def ray_cluster() -> Iterator[None]:
    yield from local_ray(__name__)  # the killing problem below is shipped by value


_untimed = untimed


class MemoryCheckpointer:
    """A :class:`~metahook.core.sweep.Checkpointer` keeping its checkpoints in memory; with
    ``stop_after`` it raises once that many records were checkpointed (a run killed there)."""

    def __init__(self, saved: dict[str, Any] | None = None, stop_after: int | None = None):
        self.rng = np.random.default_rng(0)
        self.saved = copy.deepcopy(saved)
        self.stop_after = stop_after

    def restore(self) -> dict[str, Any] | None:
        return copy.deepcopy(self.saved)

    def checkpoint(self, make_state: Callable[[], dict[str, Any]], force: bool = False) -> None:
        self.saved = copy.deepcopy(make_state())
        if self.stop_after is not None and len(self.saved["done"]) >= self.stop_after:
            raise KeyboardInterrupt("stopped")


@dataclasses.dataclass(frozen=True)
class KillOnce:
    """The wrapped problem, except that its first evaluation in a process kills that process
    unless ``marker`` exists (it is created first, so Ray's retry of the task runs normally)."""

    inner: PoleProblem
    marker: str

    def evaluate(self, spec: Any, genomes: Any, tested: Any = None) -> Any:
        if not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.evaluate(spec, genomes, tested)

    def solution_score(self, spec: Any, genome: Any) -> int:
        return self.inner.solution_score(spec, genome)

    def __getattr__(self, name: str) -> Any:
        if name in ("inner", "marker") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.inner, name)


def _specs(kill_marker: str | None = None, kill_index: int = 1) -> list[RunSpec]:
    """Two methods x two runs of the single pole, small caps (a few seconds in all)."""
    from metahook.experiments._pole_common import build
    from metahook.experiments.pole_single import Config

    cfg = Config(methods=("cosyne", "cmaes"), runs=2, max_evaluations=2_000)
    problem = PoleProblem(n_poles=1, markov=True, fitness="standard")
    specs = []
    for method in cfg.methods:
        algo, net = build(method, cfg, problem.n_in)
        for i in range(cfg.runs):
            p: Any = problem
            if kill_marker is not None and method == "cmaes" and i == kill_index:
                p = KillOnce(problem, kill_marker)
            specs.append(RunSpec(method, i, algo, p, net, 7, cfg.max_evaluations))
    return specs


@pytest.fixture(scope="module")
def local_records() -> dict[str, Any]:
    return run_all(MemoryCheckpointer(), _specs(), "process", 1)


def test_study_on_ray_equals_the_process_backend(local_records: dict[str, Any]) -> None:
    on_ray = run_all(MemoryCheckpointer(), _specs(), "ray", 2)
    assert list(on_ray) == list(local_records)
    assert _untimed(on_ray) == _untimed(local_records)
    assert any(r["solved"] for r in on_ray.values())  # the runs did something


def test_a_killed_worker_is_retried_and_the_study_ends_identically(
        tmp_path: Path, local_records: dict[str, Any]) -> None:
    marker = tmp_path / "killed-once"
    logged: list[str] = []
    on_ray = run_all(MemoryCheckpointer(), _specs(str(marker)), "ray", 2,
                     lambda key, rec, n: logged.append(key))
    assert marker.is_file()  # a worker process was really killed by the run cmaes/1
    assert int(marker.read_text()) != os.getpid()
    assert sorted(logged) == sorted(local_records)  # every run recorded once
    assert _untimed(on_ray) == _untimed(local_records)


def test_a_study_stopped_midway_resumes_on_ray_to_the_same_records(
        tmp_path: Path, local_records: dict[str, Any]) -> None:
    first = MemoryCheckpointer(stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        run_all(first, _specs(), "ray", 2)
    assert first.saved is not None and len(first.saved["done"]) == 2
    marker = tmp_path / "killed-once"  # and a worker dies during the resumed part
    resumed = run_all(MemoryCheckpointer(first.saved), _specs(str(marker)), "ray", 2)
    assert _untimed(resumed) == _untimed(local_records)


def _result(folder: Path) -> dict[str, Any]:
    doc = json.loads((folder / "result.json").read_text())
    assert doc["status"] == "ok", doc.get("error")
    return _untimed(doc)


def test_reproduce_on_ray_gives_the_same_result_json(tmp_path: Path) -> None:
    from metahook.harness.reproduce import reproduce

    names = ["hsearch-demo", "toy-counter"]
    local = reproduce(tmp_path / "local", only=names, workers=1, live=False)
    on_ray = reproduce(tmp_path / "ray", only=names, workers=2, live=False, backend="ray")
    assert [s["status"] for s in local] == [s["status"] for s in on_ray] == ["ok", "ok"]
    for name in names:
        a, b = _result(tmp_path / "local" / name), _result(tmp_path / "ray" / name)
        assert a == b
        assert (tmp_path / "local" / name / "metrics.jsonl").read_bytes() == \
            (tmp_path / "ray" / name / "metrics.jsonl").read_bytes()


def test_a_retried_reproduce_task_continues_the_run_from_its_checkpoint(tmp_path: Path) -> None:
    """What Ray does after an experiment's worker died: the task runs again on the folder the
    dead attempt left (config.json, a checkpoint, no result.json) and continues that run."""
    import time

    from metahook.harness.reproduce import _ray_job, _Relay
    from metahook.harness.runner import run_experiment

    slow = ["sleep_s=0.01", "steps=120"]
    whole = tmp_path / "whole"
    run_experiment("toy-counter", out=whole, overrides=slow)
    died = tmp_path / "died"
    t0 = time.monotonic()
    with pytest.raises(Exception, match="interrupt"):
        run_experiment("toy-counter", out=died, overrides=slow, checkpoint_every_s=0.0,
                       stop_check=lambda: time.monotonic() - t0 > 0.4, handle_sigint=False)
    assert (died / "checkpoint").is_dir() and not (died / "result.json").exists()
    relay = ray.remote(num_cpus=0)(_Relay).remote()
    summary = _ray_job("toy-counter", "quick", 0, str(died), False, relay)
    assert summary["status"] == "ok"
    assert _result(died) == _result(whole)
    assert (died / "metrics.jsonl").read_bytes() == (whole / "metrics.jsonl").read_bytes()
    started = [m for m in ray.get(relay.take.remote()) if m[0] == "start"]
    assert started and started[0][1] == "toy-counter"


def test_bad_backend_input_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r"
    cases = [
        ["reproduce", "--backend", "foo", "--out", str(out)],
        ["reproduce", "--ray-address", "127.0.0.1:6379", "--out", str(out),
         "--only", "toy-counter"],
        ["run", "toy-counter", "--ray-address", "127.0.0.1:6379", "--out", str(out)],
        ["run", "pole-single", "--ray-address", "127.0.0.1:6379", "--out", str(out)],
        ["run", "pole-single", "--set", "backend=dask", "--out", str(out)],
    ]
    for argv in cases:
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own checks (--backend's choices)
            code = exc.code
        assert code == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "error" in err, (argv, err)
        assert not out.exists()
    with pytest.raises(ValueError, match="unknown backend 'foo'; valid: process, ray"):
        check_backend("foo")
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert ray_address() == "10.0.0.1:6379" and ray_address("a:1") == "a:1"
    monkeypatch.delenv("RAY_ADDRESS")
    assert ray_address() is None


def test_run_ray_address_reaches_the_run_as_RAY_ADDRESS_and_is_put_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from metahook.cli import _check_ray_address

    monkeypatch.setenv("RAY_ADDRESS", "before:1")
    args = argparse.Namespace(name="pole-double", resume=False, out="unused", scale="full",
                              set=["backend=ray"], ray_address="10.0.0.5:6379")
    restore = _check_ray_address(args)
    assert os.environ["RAY_ADDRESS"] == "10.0.0.5:6379" and ray_address() == "10.0.0.5:6379"
    restore()
    assert os.environ["RAY_ADDRESS"] == "before:1"
    monkeypatch.delenv("RAY_ADDRESS")
    restore = _check_ray_address(args)
    restore()
    assert "RAY_ADDRESS" not in os.environ
