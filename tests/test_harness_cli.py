"""The CLI end to end: runs, SIGKILL and resume, Ctrl-C, bad input, reports, benchmarks."""

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
from metahook.harness.registry import get_experiment

TOY = ["toy-counter", "--quiet"]


def _metrics(folder: Path) -> dict:
    m = read_json(folder / "result.json")["metrics"]
    m.pop("wall_s")
    return m


def test_run_writes_the_design_layout(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = cli("run", *TOY, "--out", str(out), "--seed", "3", "--set", "steps=40")
    assert proc.returncode == 0, proc.stderr
    doc = read_json(out / "result.json")
    assert {"experiment", "scale", "seed", "status", "metrics", "reference", "versions"} <= set(doc)
    assert doc["experiment"] == "toy-counter" and doc["seed"] == 3 and doc["status"] == "ok"
    assert doc["reference"]["mean_increment"]["unit"] == "per step"
    assert {"metahook", "python", "numpy", "numba", "torch"} <= set(doc["versions"])
    assert read_json(out / "config.json")["config"]["steps"] == 40
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 40 and json.loads(lines[-1])["counter"] == doc["metrics"]["final"]
    assert (out / "plots" / "counter.png").stat().st_size > 1000
    assert not (out / "checkpoint").exists()
    # same seed, same result; another seed, another result
    again = tmp_path / "again"
    assert cli("run", *TOY, "--out", str(again), "--seed", "3", "--set", "steps=40").returncode == 0
    assert _metrics(again) == _metrics(out)
    other = tmp_path / "other"
    assert cli("run", *TOY, "--out", str(other), "--seed", "4", "--set", "steps=40").returncode == 0
    assert _metrics(other) != _metrics(out)


def _start_slow(out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "metahook", "run", *TOY, "--out", str(out), "--seed", "11",
         "--set", "steps=80", "--set", "sleep_s=0.05", "--checkpoint-every", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_progress(out: Path, proc: subprocess.Popen[str], lines: int) -> None:
    deadline = time.time() + 120
    metrics = out / "metrics.jsonl"
    while time.time() < deadline:
        if metrics.exists() and len(metrics.read_text().splitlines()) >= lines:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("run made no progress")


def test_sigkill_then_resume_gives_the_uninterrupted_result(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    assert cli("run", *TOY, "--out", str(whole), "--seed", "11", "--set", "steps=80"
               ).returncode == 0

    killed = tmp_path / "killed"
    proc = _start_slow(killed)
    _wait_for_progress(killed, proc, 25)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "result.json").exists()
    assert (killed / "checkpoint" / "latest.json").exists()

    resumed = cli("run", "toy-counter", "--quiet", "--out", str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _metrics(killed) == _metrics(whole)
    assert (killed / "metrics.jsonl").read_text() == (whole / "metrics.jsonl").read_text()
    assert not (killed / "checkpoint").exists()


def test_ctrl_c_writes_a_checkpoint_and_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _start_slow(out)
    _wait_for_progress(out, proc, 10)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "checkpoint saved" in err
    assert not (out / "result.json").exists()
    assert cli("run", *TOY, "--out", str(out), "--resume").returncode == 0
    whole = tmp_path / "whole"
    assert cli("run", *TOY, "--out", str(whole), "--seed", "11", "--set", "steps=80"
               ).returncode == 0
    assert _metrics(out) == _metrics(whole)


def _one_line_exit_2(proc: subprocess.CompletedProcess[str] | tuple[int, str, str],
                     *fragments: str) -> None:
    code, out, err = ((proc.returncode, proc.stdout, proc.stderr)
                      if isinstance(proc, subprocess.CompletedProcess) else proc)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["run", "no-such-experiment"], ["unknown experiment 'no-such-experiment'",
                                         "valid:", "toy-counter"]),
        (["run", "toy-counter", "--set", "nope=1"], ["unknown config key 'nope'",
                                                     "valid: plot, sleep_s, steps"]),
        (["run", "toy-counter", "--set", "steps=many"], ["bad value 'many' for steps",
                                                         "expected int"]),
        (["run", "toy-counter", "--set", "steps=0"], ["steps must be >= 1"]),
        (["run", "toy-counter", "--scale", "huge"], ["invalid choice: 'huge'", "quick"]),
        (["run", "toy-counter", "--resume"], ["no run to resume"]),
    ],
)
def test_bad_run_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                       fragments: list[str]) -> None:
    out = tmp_path / "out"
    _one_line_exit_2(cli_inproc(capsys, *args, "--out", str(out)), *fragments)
    assert not out.exists()


def test_unknown_experiment_in_a_subprocess(tmp_path: Path) -> None:
    """The issue's own check, exactly as a user types it (with and without --out)."""
    _one_line_exit_2(cli("run", "no-such-experiment", "--out", str(tmp_path / "o")),
                     "unknown experiment 'no-such-experiment'", "valid:", "toy-counter")
    assert not (tmp_path / "o").exists()
    _one_line_exit_2(cli("run", "no-such-experiment", cwd=tmp_path),
                     "unknown experiment 'no-such-experiment'", "valid:", "toy-counter")
    _one_line_exit_2(cli("run", "toy-counter", cwd=tmp_path), "--out DIR is required")
    assert not any(tmp_path.iterdir())


def test_bad_input_on_other_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_exit_2(cli_inproc(capsys, "bench", "no-such-bench"),
                     "unknown benchmark", "valid:", "harness")
    _one_line_exit_2(cli_inproc(capsys, "reproduce", "--out", str(tmp_path / "r"), "--only",
                                "nope"), "unknown experiment 'nope'")
    assert not (tmp_path / "r").exists()
    _one_line_exit_2(cli_inproc(capsys, "report", str(tmp_path / "missing")),
                     "is not a folder of runs")
    _one_line_exit_2(cli_inproc(capsys, "frobnicate"), "invalid choice")


def test_resume_refuses_missing_or_corrupt_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    proc = _start_slow(out)
    _wait_for_progress(out, proc, 10)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = sorted(p.name for p in out.rglob("*"))
    npz = next((out / "checkpoint").glob("*.npz"))
    npz.write_bytes(b"garbage")
    resume = ("run", *TOY, "--out", str(out), "--resume")
    _one_line_exit_2(cli_inproc(capsys, *resume), "corrupt checkpoint")
    assert sorted(p.name for p in out.rglob("*")) == before
    # an existing run is never overwritten by a fresh one
    _one_line_exit_2(cli_inproc(capsys, "run", *TOY, "--out", str(out)), "already holds files")
    # a resume may not change the saved run
    _one_line_exit_2(cli_inproc(capsys, *resume, "--seed", "1"), "seed 11")
    assert sorted(p.name for p in out.rglob("*")) == before
    # without a checkpoint, --resume starts the run again from the beginning (saying so)
    for f in (out / "checkpoint").iterdir():
        f.unlink()
    code, _, err = cli_inproc(capsys, *resume)
    assert code == 0, err
    assert "starting the run from the beginning" in err
    whole = tmp_path / "whole"
    assert cli("run", *TOY, "--out", str(whole), "--seed", "11", "--set", "steps=80"
               ).returncode == 0
    assert _metrics(out) == _metrics(whole)
    assert (out / "metrics.jsonl").read_text() == (whole / "metrics.jsonl").read_text()


def test_list_reproduce_report_bench(tmp_path: Path) -> None:
    listed = cli("list", "--json")
    assert listed.returncode == 0
    names = {e["name"] for e in json.loads(listed.stdout)}
    assert "toy-counter" in names
    out = tmp_path / "repro"
    proc = cli("reproduce", "--out", str(out), "--only", "toy-counter", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "toy-counter" in proc.stdout and "HTML report" in proc.stdout
    page = (out / "report.html").read_text()
    assert "toy-counter" in page and "data:image/png;base64," in page
    # the quick scale's smoke criterion (mean increment near 4.5), and the report shows it
    ok, why = get_experiment("toy-counter").smoke(read_json(out / "toy-counter" / "result.json")
                                                  ["metrics"])
    assert ok, why
    assert "passed: mean increment" in page
    again = cli("report", str(out), "--out", str(tmp_path / "r.html"))
    assert again.returncode == 0, again.stderr
    assert "toy-counter" in (tmp_path / "r.html").read_text()  # links to docs/ are relative
    bench = cli("bench", "harness", "--quick")
    assert bench.returncode == 0, bench.stderr
    doc = json.loads(bench.stdout)
    assert doc["benchmark"] == "harness" and doc["figures"]["log_lines_per_s"] > 0
    assert doc["machine"]["cores"] >= 1


def test_python_dash_m_and_version() -> None:
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("metahook ")


def test_list_name_and_run_help_show_config_keys_and_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = cli_inproc(capsys, "list", "toy-counter")
    assert code == 0, err
    assert "Random walk with checkpoints" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()
            if line.startswith("  ") and line.split()[0] in ("key", "steps", "sleep_s", "plot")}
    assert rows["key"] == ["type", "quick", "full"]
    assert rows["steps"] == ["int", "200", "100000"]
    assert rows["sleep_s"] == ["finite", "float", "0.0", "0.0"]
    assert rows["plot"] == ["bool", "true", "true"]
    assert "mean_increment: 4.5 per step" in out and "E[U{0..9}] = 4.5" in out
    code, out, _ = cli_inproc(capsys, "list", "toy-counter", "--json")
    info = json.loads(out)
    assert info["config"][0] == {"key": "steps", "type": "int", "quick": "200", "full": "100000"}
    assert info["reference"]["mean_increment"]["value"] == 4.5
    code, out, _ = cli_inproc(capsys, "run", "toy-counter", "--help")
    assert code == 0 and "usage: metahook run" in out and "steps    int" in out
    code, out, _ = cli_inproc(capsys, "run", "--help")
    assert code == 0 and "toy-counter" in out  # the experiment names
    _one_line_exit_2(cli_inproc(capsys, "list", "nope"), "unknown experiment 'nope'", "valid:")
    _one_line_exit_2(cli_inproc(capsys, "run", "nope", "--help"), "unknown experiment 'nope'")


def test_bench_help_lists_the_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    from metahook.harness.bench import benchmark_names

    code, out, _ = cli_inproc(capsys, "bench", "--help")
    assert code == 0
    listed = out.split("benchmarks:")[-1].replace(",", " ").split()
    assert listed == benchmark_names() and "harness" in listed
