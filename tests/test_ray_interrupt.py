"""Ctrl-C on ``metahook reproduce --backend ray``: SIGINT to the parent stops the running
experiment at its next checkpoint (through the stop actor), exits 130 and marks the run
``interrupted``; ``--resume`` on Ray then finishes it with the uninterrupted run's metrics.

The command runs in a subprocess with its own local Ray (one CPU).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

from conftest import cli, read_json
from metahook.harness.runner import run_experiment

SLOW = ["--set", "steps=120", "--set", "sleep_s=0.05", "--set", "plot=false"]


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a terminal starts a command


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "metahook", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def _wait_for_lines(path: Path, proc: subprocess.Popen[str], more_than: int) -> None:
    deadline = time.time() + 240  # a local Ray starts in 10-20 s on a loaded machine
    while time.time() < deadline:
        if _lines(path) > more_than:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no progress in {path}")


def _untimed(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "wall_s"}


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("METAHOOK_LONG_TESTS"),
                    reason="two local Ray starts (about 70 s of a core); set METAHOOK_LONG_TESTS=1")
def test_ctrl_c_on_reproduce_with_ray_then_resume_on_ray(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    folder = runs / "toy-counter"
    first = _start(["run", "toy-counter", "--quiet", "--out", str(folder), *SLOW,
                    "--checkpoint-every", "0"])  # a slow run to continue (its saved config)
    _wait_for_lines(folder / "metrics.jsonl", first, 3)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=60) == 130

    resume = ["reproduce", "--quiet", "--only", "toy-counter", "--out", str(runs), "--resume",
              "--backend", "ray", "--workers", "1"]
    lines = _lines(folder / "metrics.jsonl")
    proc = _start(resume)
    _wait_for_lines(folder / "metrics.jsonl", proc, lines + 3)  # running in the Ray worker
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted: 1 of 1 experiments unfinished (toy-counter)" in err
    assert "Traceback" not in err
    assert read_json(folder / "result.json")["status"] == "interrupted"
    assert (folder / "checkpoint" / "latest.json").is_file()
    stopped_at = _lines(folder / "metrics.jsonl")
    assert lines + 3 < stopped_at < 120  # it ran on Ray, and stopped before the end

    done = cli(*resume, timeout=400)
    assert done.returncode == 0, done.stderr
    whole = run_experiment("toy-counter", out=tmp_path / "whole",
                           overrides=["steps=120", "plot=false"])
    assert read_json(folder / "result.json")["status"] == "ok"
    assert _untimed(read_json(folder / "result.json")["metrics"]) == _untimed(whole["metrics"])
    assert (folder / "metrics.jsonl").read_text() == \
        (tmp_path / "whole" / "metrics.jsonl").read_text()
