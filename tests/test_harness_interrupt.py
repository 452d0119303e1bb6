"""Interruptions: Ctrl-C on reproduce (to the parent alone or the whole group) and on forth,
a run killed before its first checkpoint, and forth's output into a pipe closed early."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli, cli_inproc, read_json
from metahook.harness.runner import run_experiment

SLOW = ["--set", "steps=120", "--set", "sleep_s=0.05", "--set", "plot=false"]


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _wait_for_lines(path: Path, proc: subprocess.Popen[str], more_than: int) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        if _lines(path) > more_than:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no progress in {path}")


def _metrics(folder: Path) -> dict:
    return {k: v for k, v in read_json(folder / "result.json")["metrics"].items()
            if k != "wall_s"}


def _default_sigint() -> None:
    # an ignored SIGINT is inherited through exec, and Python then never raises
    # KeyboardInterrupt: start the child as a terminal would, whatever the test runner's state
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args: list[str], new_session: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "metahook", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=new_session,
                            preexec_fn=_default_sigint)


@pytest.mark.slow
def test_reproduce_ctrl_c_marks_runs_interrupted_and_resume_finishes_them(
    tmp_path: Path,
) -> None:
    """A slow toy-counter run in a reproduce folder (its saved config sleeps per step):
    reproduce --resume continues it; SIGINT to the parent alone, then to the whole process
    group, stops it with exit 130 and status interrupted; a last --resume ends it with the
    uninterrupted run's result, and one more keeps it as it is."""
    runs = tmp_path / "runs"
    folder = runs / "toy-counter"
    first = _start(["run", "toy-counter", "--quiet", "--out", str(folder), *SLOW,
                    "--checkpoint-every", "0"])
    _wait_for_lines(folder / "metrics.jsonl", first, 5)
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=60) == 130

    resume = ["reproduce", "--quiet", "--only", "toy-counter", "--out", str(runs), "--resume"]
    for group in (False, True):
        lines = _lines(folder / "metrics.jsonl")
        proc = _start(resume, new_session=group)
        _wait_for_lines(folder / "metrics.jsonl", proc, lines + 3)
        if group:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        else:
            proc.send_signal(signal.SIGINT)  # kill -INT to the parent alone
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert "interrupted: 1 of 1 experiments unfinished (toy-counter)" in err
        assert "Traceback" not in err
        doc = read_json(folder / "result.json")
        assert doc["status"] == "interrupted"
        assert (folder / "checkpoint" / "latest.json").is_file()
        assert _lines(folder / "metrics.jsonl") > lines

    done = cli(*resume)
    assert done.returncode == 0, done.stderr
    whole = run_experiment("toy-counter", out=tmp_path / "whole",
                           overrides=["steps=120", "plot=false"])
    assert read_json(folder / "result.json")["status"] == "ok"
    assert _metrics(folder) == {k: v for k, v in whole["metrics"].items() if k != "wall_s"}
    assert (folder / "metrics.jsonl").read_text() == (tmp_path / "whole" /
                                                       "metrics.jsonl").read_text()
    kept = (folder / "result.json").read_bytes()
    again = cli(*resume)
    assert again.returncode == 0, again.stderr
    assert (folder / "result.json").read_bytes() == kept


def test_resume_of_a_run_killed_before_its_first_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"

    def kill(done: float, total: float, description: str) -> None:
        if done >= 6:
            raise KeyboardInterrupt  # as SIGKILL would leave it: no checkpoint, no result

    with pytest.raises(KeyboardInterrupt):
        run_experiment("toy-counter", out=out, seed=3, overrides=["steps=30", "plot=false"],
                       checkpoint_every_s=1000.0, progress_sink=kill)
    assert not (out / "checkpoint").exists() and not (out / "result.json").exists()
    code, _, err = cli_inproc(capsys, "run", "toy-counter", "--quiet", "--out", str(out),
                              "--resume")
    assert code == 0, err
    notices = [line for line in err.splitlines() if line.startswith("metahook: no checkpoint")]
    assert len(notices) == 1 and "starting the run from the beginning" in notices[0]
    whole = run_experiment("toy-counter", out=tmp_path / "whole", seed=3,
                           overrides=["steps=30", "plot=false"])
    assert _metrics(out) == {k: v for k, v in whole["metrics"].items() if k != "wall_s"}
    assert (out / "metrics.jsonl").read_text() == (tmp_path / "whole" /
                                                    "metrics.jsonl").read_text()


def test_forth_obeys_ctrl_c() -> None:
    """An endless loop with a 10^12-step limit stops on SIGINT, printing the state reached.

    A short run first fills numba's cache; then the SIGINT comes once the process is inside the
    machine's loop (a later try waits longer, for a loaded machine: start-up time is no verdict).
    """
    subprocess.run([sys.executable, "-m", "metahook", "forth", "c1"], capture_output=True,
                   check=True, timeout=600)
    steps = 0
    for wait in (6, 20, 60):
        proc = _start(["forth", "ip2ds c1 jmp1", "--max-steps", "1e12"])
        time.sleep(wait)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        # a signal that lands in compiled or C code (numba loading or compiling on a cold or
        # stale cache) is handled when that returns: allow it minutes on a loaded machine
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 130, err
        assert err.strip().count("\n") == 0, err
        if not out:  # the signal came during start-up (imports): one line, no state to print
            assert err.strip() == "metahook: error: interrupted", err
            continue
        assert "interrupted after" in err
        doc = json.loads(out)
        assert doc["stop"] == "interrupted"
        steps = doc["steps"]
        if steps > 0:  # stopped inside the loop, not during start-up
            break
    assert steps > 0


def test_forth_checks_for_ctrl_c_between_slices(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In process: a SIGINT arriving at the third slice stops the run there (2 slices done)."""
    import metahook.search.direct as runner

    slices = []
    real = runner.run_slice

    def slice_then_ctrl_c(M: object, F: object, budget: int) -> int:
        slices.append(budget)
        if len(slices) == 3:
            signal.raise_signal(signal.SIGINT)  # KeyboardInterrupt at the next bytecode
        return int(real(M, F, 1000))

    monkeypatch.setattr(runner, "run_slice", slice_then_ctrl_c)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code, out, err = cli_inproc(capsys, "forth", "ip2ds c1 jmp1", "--max-steps", "1e12")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 130 and len(slices) == 3, err
    doc = json.loads(out)
    assert doc["stop"] == "interrupted" and doc["insts"] == 2000


def test_forth_default_step_limit() -> None:
    from metahook.cli import build_parser

    args = build_parser().parse_args(["forth", "c1"])
    assert args.max_steps == 10**8
    assert build_parser().parse_args(["forth", "c1", "--max-steps", "2e9"]).max_steps == 2 * 10**9


def test_forth_trace_into_a_pipe_closed_early() -> None:
    """`metahook forth ... --trace | head -c 100`: no BrokenPipeError traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "metahook", "forth", "ip2ds c1 jmp1", "--trace",
         "--trace-limit", "20000", "--max-steps", "100000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    head = proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert head.startswith(b'{"program"')
    assert proc.returncode == 0 and err == "", err
